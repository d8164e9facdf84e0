//! Full rewrites at the speed of the disk: a carrier's [`Plan`] executed between two files.
//!
//! The plan says which input ranges are copied unchanged and which bytes are new. Between two
//! files, a range whose input and output offsets are aligned alike within a page goes through
//! `std::io::copy` on the file handles themselves, which on Linux becomes `copy_file_range`:
//! the kernel copies without the bytes passing through this process, and a file system that
//! can share blocks (reflinks on XFS, Btrfs) shares them instead of copying. Other ranges, and
//! inputs or outputs held in memory, are copied in large blocks.
//!
//! Checking the output then needs only what this process wrote: the new bytes are read back and
//! compared, and the carrier reads the structure that points at them. The copied ranges are not
//! read again (see [`check_new_bytes`]).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use aigc_label_core::plan::{Piece, Plan};

use crate::atomic::BufStream;
use crate::{Error, FileReader, Result, Written};

/// Writes `plan`'s output from `input` to `output`: copied ranges by the kernel when both are
/// files on disk, otherwise in blocks.
///
/// # Errors
/// [`Error::Truncated`] when the input is shorter than the plan says (it changed since the
/// scan); I/O errors.
pub(crate) fn execute(plan: &Plan, input: &mut FileReader, output: &mut BufStream<&File>) -> Result<Written> {
    let mut block = Vec::new();
    let mut at = 0u64;
    for piece in plan.pieces() {
        match piece {
            Piece::New(bytes) => output.write_all(bytes)?,
            Piece::Copy(range) => {
                let len = range.end.saturating_sub(range.start);
                let copied = match file_copy(input, output, range.start, at, len, &mut block)? {
                    Some(copied) => copied,
                    None if input.whole_len().is_some() => memory_copy(input, output, range.clone())?,
                    None => {
                        input.seek(SeekFrom::Start(range.start))?;
                        copy_blocks(input, output, len, &mut block)?
                    }
                };
                if copied != len {
                    return Err(Error::truncated(
                        "copy",
                        range.start.saturating_add(copied),
                        "the input ended before a range the plan copies; it changed while being read",
                    ));
                }
            }
        }
        at = at.saturating_add(piece.len());
    }
    output.flush()?;
    Ok(plan.written())
}

/// Copies `len` bytes at `start` of the input file to offset `at` of the output file, on the
/// file handles themselves; `None` when either is held in memory.
///
/// When the two offsets sit at the same place in a page, `std::io::copy` (`copy_file_range`
/// on Linux) lets the kernel copy, and a file system with reflinks share the blocks. When they
/// do not (the label changed the size of what comes before), no file system can share blocks,
/// and the kernel's copy of misaligned pages is slower than a plain copy in large blocks (about
/// 1.5x on ext4 here), so the blocks go through this process.
fn file_copy(
    input: &mut FileReader,
    output: &mut BufStream<&File>,
    start: u64,
    at: u64,
    len: u64,
    block: &mut Vec<u8>,
) -> Result<Option<u64>> {
    let Some(mut from) = input.file_for_copy() else {
        return Ok(None);
    };
    let Some(to) = output.file_for_copy()? else {
        return Ok(None);
    };
    from.seek(SeekFrom::Start(start))?;
    if start % PAGE == at % PAGE {
        Ok(Some(io::copy(&mut from.take(len), to)?))
    } else {
        copy_blocks(&mut from, to, len, block).map(Some)
    }
}

/// Writes the input bytes `range` of a file held in memory straight from that copy (no block
/// to fill: for a small file the block's allocation cost more than the copy); returns how many
/// there were.
fn memory_copy(input: &FileReader, output: &mut BufStream<&File>, range: std::ops::Range<u64>) -> Result<u64> {
    let bytes = input.whole_range(range);
    output.write_all(bytes)?;
    Ok(bytes.len() as u64)
}

/// The page size the kernel copies by, for the alignment test.
const PAGE: u64 = 4096;

/// Size of the blocks copied through this process.
const BLOCK: usize = 256 << 10;

/// Copies up to `len` bytes from `from` to `to` in blocks of [`BLOCK`]; returns how many.
fn copy_blocks(from: &mut dyn Read, to: &mut dyn Write, len: u64, block: &mut Vec<u8>) -> Result<u64> {
    // No bigger than the copy: a small copy should not pay for zeroing a whole block.
    let want = usize::try_from(len).unwrap_or(BLOCK).min(BLOCK);
    if block.len() < want {
        block.try_reserve_exact(want - block.len()).map_err(io::Error::other)?;
        block.resize(want, 0);
    }
    let mut copied = 0u64;
    while copied < len {
        let want = usize::try_from(len - copied).unwrap_or(BLOCK).min(block.len());
        let buf = block.get_mut(..want).unwrap_or_default();
        let n = match from.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        to.write_all(buf.get(..n).unwrap_or_default())?;
        copied += n as u64;
    }
    Ok(copied)
}

/// Reads back the bytes `plan` made (the label's structure and the sizes and offsets that
/// point at it) from `output` and compares them with the plan, and checks the output's length;
/// the ranges copied from the input are not read again.
///
/// # Errors
/// [`Error::Verification`] on any difference; I/O errors.
pub(crate) fn check_new_bytes(plan: &Plan, output: &mut (impl Read + Seek)) -> Result<()> {
    let len = output.seek(SeekFrom::End(0))?;
    if len != plan.output_len() {
        return Err(Error::Verification(
            format!("the output is {len} bytes, {} were planned", plan.output_len()).into(),
        ));
    }
    let mut buf = Vec::new();
    for (at, bytes) in plan.new_bytes() {
        output.seek(SeekFrom::Start(at))?;
        buf.clear();
        buf.try_reserve_exact(bytes.len()).map_err(io::Error::other)?;
        buf.resize(bytes.len(), 0);
        output.read_exact(&mut buf)?;
        if buf != bytes {
            return Err(Error::Verification(
                format!("the {} bytes written at byte {at} read back differently", bytes.len()).into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aigc_label_core::plan::PlanBuilder;
    use std::io::Cursor;

    #[test]
    fn the_check_rereads_the_new_bytes_and_the_length() {
        let mut b = PlanBuilder::new("test");
        b.copy(0..4);
        b.put(b"new");
        b.copy(4..8);
        let plan = b.finish(Vec::new(), 4..7);
        assert!(check_new_bytes(&plan, &mut Cursor::new(b"abcdnewefgh".to_vec())).is_ok());
        // The copied ranges are not compared: only what this process made.
        assert!(check_new_bytes(&plan, &mut Cursor::new(b"ABCDnewEFGH".to_vec())).is_ok());
        for bad in [&b"abcdnowefgh"[..], b"abcdnewefg", b"abcdnewefghi"] {
            let result = check_new_bytes(&plan, &mut Cursor::new(bad.to_vec()));
            assert!(matches!(result, Err(Error::Verification(_))), "{result:?}");
        }
    }
}
