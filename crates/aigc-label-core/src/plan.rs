//! Edit plans: what a carrier's single scan of a file tells the writer.
//!
//! A carrier that can plan ([`crate::Carrier::plan`]) walks its input once and hands back the
//! label copies it met (so embedding needs no separate inspection pass) and the output as a list
//! of [`Piece`]s: ranges of the input copied unchanged, and the few new bytes (the label's
//! structure, the sizes and offsets that point at it). Whoever executes the plan chooses how to
//! move the ranges: [`Plan::write_to`] copies them in blocks through any `Write`, the facade
//! lets the kernel copy them between files. Checking the result needs only the new bytes and
//! what points at them, since every other byte is a copy.

use std::io::Write;
use std::ops::Range;

use crate::Result;
use crate::carrier::{Found, Written};
use crate::io::{ReadSeek, Source};

/// One piece of a planned output, in output order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Input bytes copied unchanged.
    Copy(Range<u64>),
    /// Bytes the carrier made: the label's structure, changed sizes, offsets or CRCs.
    New(Vec<u8>),
}

impl Piece {
    /// The piece's length in the output.
    pub fn len(&self) -> u64 {
        match self {
            Piece::Copy(range) => range.end.saturating_sub(range.start),
            Piece::New(bytes) => bytes.len() as u64,
        }
    }

    /// True for a piece of no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A carrier's plan for one write: the label copies found in the input, and the output as
/// pieces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    format: &'static str,
    /// Every label copy the scan met, as [`crate::Carrier::find`] would report them.
    pub found: Vec<Found>,
    pieces: Vec<Piece>,
    label_range: Range<u64>,
}

impl Plan {
    /// The pieces, in output order.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// Where the structure holding the new label sits in the output.
    pub fn label_range(&self) -> Range<u64> {
        self.label_range.clone()
    }

    /// The output's length.
    pub fn output_len(&self) -> u64 {
        self.pieces.iter().map(Piece::len).sum()
    }

    /// The new bytes with their offsets in the output: what a read-back check re-reads.
    pub fn new_bytes(&self) -> impl Iterator<Item = (u64, &[u8])> {
        let mut at = 0u64;
        self.pieces.iter().filter_map(move |piece| {
            let here = at;
            at = at.saturating_add(piece.len());
            match piece {
                Piece::New(bytes) => Some((here, bytes.as_slice())),
                Piece::Copy(_) => None,
            }
        })
    }

    /// Writes the planned output: copies the input's ranges in blocks, writes the new bytes.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] when a range runs past the end of `input`; I/O errors.
    pub fn write_to(&self, input: &mut dyn ReadSeek, output: &mut dyn Write) -> Result<Written> {
        let mut src = Source::new(input, self.format)?;
        for piece in &self.pieces {
            match piece {
                Piece::Copy(range) => {
                    src.seek_to(range.start)?;
                    src.copy_to(output, range.end.saturating_sub(range.start), "copied range")?;
                }
                Piece::New(bytes) => output.write_all(bytes)?,
            }
        }
        output.flush()?;
        Ok(self.written())
    }

    /// What [`Plan::write_to`] reports, for executors of their own.
    pub fn written(&self) -> Written {
        Written {
            label_range: self.label_range(),
            bytes_written: self.output_len(),
        }
    }
}

/// Builds a [`Plan`] while a carrier walks its input: copies of adjacent ranges join into one
/// piece and new bytes into one buffer, so a file of a million untouched chunks plans as one
/// range. New bytes go in with `Write`; a slot reserved with [`PlanBuilder::reserve`] takes
/// bytes known only later (a label whose place comes before the structures it merges).
#[derive(Debug)]
pub struct PlanBuilder {
    format: &'static str,
    pieces: Vec<Piece>,
    len: u64,
    /// The last piece is a reserved slot.
    slot_last: bool,
}

/// A place in a plan for bytes given later, from [`PlanBuilder::reserve`].
#[derive(Debug)]
#[must_use]
pub struct Slot(usize);

impl PlanBuilder {
    /// An empty plan for a file of `format` (named in errors).
    pub fn new(format: &'static str) -> Self {
        PlanBuilder {
            format,
            pieces: Vec::new(),
            len: 0,
            slot_last: false,
        }
    }

    /// The output's length so far: the offset the next piece starts at.
    pub fn position(&self) -> u64 {
        self.len
    }

    /// Copies input bytes `range` unchanged.
    pub fn copy(&mut self, range: Range<u64>) {
        if range.end <= range.start {
            return;
        }
        self.len = self.len.saturating_add(range.end - range.start);
        if let Some(Piece::Copy(last)) = self.pieces.last_mut() {
            if last.end == range.start {
                last.end = range.end;
                return;
            }
        }
        self.pieces.push(Piece::Copy(range));
        self.slot_last = false;
    }

    /// Appends new bytes.
    pub fn put(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.len = self.len.saturating_add(bytes.len() as u64);
        // A reserved slot is filled later, replacing its piece: never extend it.
        if let Some(Piece::New(last)) = self.pieces.last_mut().filter(|_| !self.slot_last) {
            last.extend_from_slice(bytes);
            return;
        }
        self.pieces.push(Piece::New(bytes.to_vec()));
        self.slot_last = false;
    }

    /// Leaves a place for bytes given later with [`PlanBuilder::fill`].
    pub fn reserve(&mut self) -> Slot {
        self.pieces.push(Piece::New(Vec::new()));
        self.slot_last = true;
        Slot(self.pieces.len() - 1)
    }

    /// Puts `bytes` in `slot`; returns where they sit in the output.
    pub fn fill(&mut self, slot: Slot, bytes: Vec<u8>) -> Range<u64> {
        let start: u64 = self.pieces.iter().take(slot.0).map(Piece::len).sum();
        let end = start.saturating_add(bytes.len() as u64);
        self.len = self.len.saturating_add(bytes.len() as u64);
        if let Some(piece) = self.pieces.get_mut(slot.0) {
            *piece = Piece::New(bytes);
        }
        start..end
    }

    /// Puts the input bytes `range` in `slot`, unchanged (a structure that turned out not to be
    /// the one replaced).
    pub fn fill_copy(&mut self, slot: Slot, range: Range<u64>) {
        let piece = Piece::Copy(range);
        self.len = self.len.saturating_add(piece.len());
        if let Some(place) = self.pieces.get_mut(slot.0) {
            *place = piece;
        }
    }

    /// The finished plan, with the label copies the scan found and where the new label's
    /// structure sits in the output.
    pub fn finish(mut self, found: Vec<Found>, label_range: Range<u64>) -> Plan {
        self.pieces.retain(|p| !p.is_empty());
        Plan {
            format: self.format,
            found,
            pieces: self.pieces,
            label_range,
        }
    }
}

impl Write for PlanBuilder {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.put(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn adjacent_pieces_join_and_the_plan_writes_its_output() {
        let mut b = PlanBuilder::new("test");
        b.copy(0..2);
        b.copy(2..4);
        let slot = b.reserve();
        b.put(b"x");
        b.write_all(b"y").unwrap();
        b.copy(6..8);
        let label = b.fill(slot, b"LABEL".to_vec());
        assert_eq!(label, 4..9);
        let plan = b.finish(Vec::new(), label);
        assert_eq!(
            plan.pieces(),
            [
                Piece::Copy(0..4),
                Piece::New(b"LABEL".to_vec()),
                Piece::New(b"xy".to_vec()),
                Piece::Copy(6..8)
            ]
        );
        assert_eq!(plan.output_len(), 13);
        let news: Vec<(u64, &[u8])> = plan.new_bytes().collect();
        assert_eq!(news, [(4, &b"LABEL"[..]), (9, &b"xy"[..])]);
        let mut out = Vec::new();
        let written = plan.write_to(&mut Cursor::new(b"abcdefgh".to_vec()), &mut out).unwrap();
        assert_eq!(out, b"abcdLABELxygh");
        assert_eq!(written.bytes_written, 13);
        assert_eq!(written.label_range, 4..9);
    }

    #[test]
    fn a_range_past_the_input_is_refused() {
        let mut b = PlanBuilder::new("test");
        b.copy(0..10);
        let plan = b.finish(Vec::new(), 0..0);
        let result = plan.write_to(&mut Cursor::new(vec![0u8; 4]), &mut Vec::new());
        assert!(matches!(result, Err(crate::Error::Truncated { .. })));
    }
}
