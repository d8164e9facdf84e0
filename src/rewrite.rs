//! Full rewrites at the speed of the disk: a carrier's [`Plan`] executed between two files.
//!
//! The plan says which input ranges are copied unchanged and which bytes are new. Between two
//! files the ranges go through `std::io::copy` on the file handles themselves, which on Linux
//! becomes `copy_file_range`: the kernel copies without the bytes passing through this process,
//! and a file system that can share blocks (reflinks on XFS, Btrfs) shares them instead of
//! copying. Elsewhere, and for inputs held in memory, the same call falls back to a block copy.
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
    for piece in plan.pieces() {
        match piece {
            Piece::New(bytes) => output.write_all(bytes)?,
            Piece::Copy(range) => {
                let len = range.end.saturating_sub(range.start);
                let copied = match kernel_copy(input, output, range.start, len)? {
                    Some(copied) => copied,
                    None => {
                        input.seek(SeekFrom::Start(range.start))?;
                        io::copy(&mut (&mut *input).take(len), output)?
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
    }
    output.flush()?;
    Ok(plan.written())
}

/// Copies `len` bytes at `start` of the input file to the output file with `std::io::copy` on
/// the file handles (`copy_file_range` on Linux); `None` when either is held in memory.
fn kernel_copy(input: &mut FileReader, output: &mut BufStream<&File>, start: u64, len: u64) -> Result<Option<u64>> {
    let Some(mut from) = input.file_for_copy() else {
        return Ok(None);
    };
    let Some(to) = output.file_for_copy()? else {
        return Ok(None);
    };
    from.seek(SeekFrom::Start(start))?;
    Ok(Some(io::copy(&mut from.take(len), to)?))
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
