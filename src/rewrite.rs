//! Full rewrites at the speed of the disk: a carrier's [`Plan`] executed between two files.
//!
//! The carrier's scan streams its output into a [`FileSink`] as it walks (see
//! [`aigc_label_core::plan`]): new bytes and the small ranges it has just read go through the
//! output's buffer; a large range (media payload the scan skipped) is left as a hole and copied
//! once the scan is done, between the file handles themselves. A range whose input and output
//! offsets are aligned alike within a page goes through `std::io::copy`, which on Linux becomes
//! `copy_file_range`: the kernel copies without the bytes passing through this process, and a
//! file system that can share blocks (reflinks on XFS, Btrfs) shares them instead of copying.
//! Other ranges, and inputs or outputs held in memory, are copied in large blocks.
//!
//! Checking the output then needs only what this process wrote: the new bytes are read back and
//! compared, and the carrier reads the structure that points at them. The copied ranges are not
//! read again (see [`check_new_bytes`]).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::sync::Arc;

use aigc_label_core::io::Source;
use aigc_label_core::plan::{Plan, Sink};

use crate::atomic::BufStream;
use crate::{Error, FileReader, Result};

/// Ranges at least this long are copied between the files after the scan, not through it.
const DEFER: u64 = 1 << 20;

/// The atomic writer's temporary file as a streaming plan's sink: it can be cut back (a
/// refuted guess), and it leaves large ranges for [`FileSink::finish`] to copy between files.
pub(crate) struct FileSink<'s, 'f> {
    out: &'s mut BufStream<&'f File>,
    /// The output's length so far, holes included.
    len: u64,
    /// Input ranges still to copy, each with its offset in the output.
    holes: Vec<(Range<u64>, u64)>,
    /// The input is a file read from the disk, so ranges can be copied between the files.
    defer: bool,
    /// The input's bytes, when it is held in memory: ranges are copied straight from them.
    held: Option<Arc<Vec<u8>>>,
}

impl<'s, 'f> FileSink<'s, 'f> {
    /// A sink writing `out` from its start; `input` is the file being read.
    pub(crate) fn new(out: &'s mut BufStream<&'f File>, input: &FileReader) -> Self {
        FileSink {
            out,
            len: 0,
            holes: Vec::new(),
            defer: input.on_disk(),
            held: input.held(),
        }
    }

    /// Copies the ranges left as holes from `input`, and leaves the output at its end.
    ///
    /// # Errors
    /// [`Error::Truncated`] when the input is shorter than the plan says (it changed since the
    /// scan); I/O errors.
    pub(crate) fn finish(self, input: &mut FileReader) -> Result<()> {
        let mut block = Vec::new();
        for (range, at) in &self.holes {
            let len = range.end.saturating_sub(range.start);
            let copied = file_copy(input, self.out, range.start, *at, len, &mut block)?;
            if copied != len {
                return Err(Error::truncated(
                    "copy",
                    range.start.saturating_add(copied),
                    "the input ended before a range the plan copies; it changed while being read",
                ));
            }
        }
        self.out.seek(SeekFrom::Start(self.len))?;
        self.out.flush()?;
        Ok(())
    }
}

impl Write for FileSink<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.len = self.len.saturating_add(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl Sink for FileSink<'_, '_> {
    fn copy_range(&mut self, src: &mut Source<'_>, range: Range<u64>) -> Result<()> {
        let len = range.end.saturating_sub(range.start);
        if let Some(held) = self.held.clone() {
            // One copy from the input's bytes to the output's, with no block in between.
            let bytes = usize::try_from(range.start)
                .ok()
                .zip(usize::try_from(range.end).ok())
                .and_then(|(start, end)| held.get(start..end))
                .ok_or_else(|| Error::truncated(src.format(), range.start, "copied range"))?;
            src.seek_to(range.end)?;
            self.write_all(bytes)?;
            return Ok(());
        }
        if !self.defer || len < DEFER {
            src.seek_to(range.start)?;
            return src.copy_to(self, len, "copied range");
        }
        if range.end > src.len() {
            return Err(Error::truncated(src.format(), range.start, "copied range"));
        }
        // Written over later: moving past it leaves a hole the copy fills.
        self.len = self.len.saturating_add(len);
        self.out.seek(SeekFrom::Start(self.len))?;
        self.holes.push((range.start..range.end, self.len - len));
        Ok(())
    }

    fn can_rewind(&self) -> bool {
        true
    }

    fn patch(&mut self, at: u64, bytes: &[u8]) -> Result<()> {
        // A hole is copied after the scan: one the patch falls in keeps only its parts on
        // either side, so the copy does not write over the patch (a TIFF's header or IFD
        // entry inside a large copied range).
        let end = at.saturating_add(bytes.len() as u64);
        let mut after = Vec::new();
        self.holes.retain_mut(|(range, out_at)| {
            let out_end = out_at.saturating_add(range.end - range.start);
            if out_end <= at || *out_at >= end {
                return true;
            }
            if end < out_end {
                after.push((range.start + (end - *out_at)..range.end, end));
            }
            let keep = at.saturating_sub(*out_at);
            range.end = range.start + keep;
            keep > 0
        });
        self.holes.extend(after);
        self.out.seek(SeekFrom::Start(at))?;
        self.out.write_all(bytes)?;
        self.out.seek(SeekFrom::Start(self.len))?;
        Ok(())
    }

    fn rewind(&mut self, len: u64) -> Result<()> {
        self.holes.retain_mut(|(range, at)| {
            let keep = len.saturating_sub(*at).min(range.end - range.start);
            range.end = range.start + keep;
            keep > 0
        });
        self.out.truncate(len)?;
        self.len = len;
        Ok(())
    }
}

/// Copies `len` bytes at `start` of the input file to offset `at` of the output file, on the
/// file handles themselves (through this process when either is held in memory); returns how
/// many were copied.
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
) -> Result<u64> {
    let Some(to) = output.file_for_copy()? else {
        input.seek(SeekFrom::Start(start))?;
        output.seek(SeekFrom::Start(at))?;
        return copy_blocks(input, output, len, block);
    };
    to.seek(SeekFrom::Start(at))?;
    let Some(mut from) = input.file_for_copy() else {
        input.seek(SeekFrom::Start(start))?;
        return copy_blocks(input, to, len, block);
    };
    from.seek(SeekFrom::Start(start))?;
    if start % PAGE == at % PAGE {
        Ok(io::copy(&mut from.take(len), to)?)
    } else {
        copy_blocks(&mut from, to, len, block)
    }
}

/// The page size the kernel copies by, for the alignment test.
const PAGE: u64 = 4096;

/// Size of the blocks copied through this process.
const BLOCK: usize = 256 << 10;

/// Copies up to `len` bytes from `from` to `to` in blocks of [`BLOCK`]; returns how many.
fn copy_blocks(from: &mut dyn Read, to: &mut dyn Write, len: u64, block: &mut Vec<u8>) -> Result<u64> {
    if block.is_empty() {
        block.try_reserve_exact(BLOCK).map_err(io::Error::other)?;
        block.resize(BLOCK, 0);
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
