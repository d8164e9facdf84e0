//! Edit plans: what a carrier's single scan of a file tells the writer.
//!
//! A carrier that can plan ([`crate::Carrier::plan`]) walks its input once and hands back the
//! label copies it met (so embedding needs no separate inspection pass) and the output as a list
//! of [`Piece`]s: ranges of the input copied unchanged, and the few new bytes (the label's
//! structure, the sizes and offsets that point at it). Whoever executes the plan chooses how to
//! move the ranges: [`Plan::write_to`] copies them in blocks through any `Write`, the facade
//! lets the kernel copy them between files. Checking the result needs only the new bytes and
//! what points at them, since every other byte is a copy.
//!
//! # Streaming
//!
//! A builder made with [`PlanBuilder::streaming`] writes the plan's output while the scan is
//! still walking: at each step the carrier calls [`PlanBuilder::drain`], which writes every
//! piece that is final (all those before the first slot still open) to the [`Sink`], copying
//! each range while the structure the scan just read is still in the input's buffer
//! ([`crate::io::SeekBuf`] keeps it across seeks). On a file of many small structures the
//! input is then read once, not once to scan and again to copy.
//!
//! A slot whose bytes depend on something later (an XMP packet that may still come) blocks the
//! drain. A carrier that knows the likely answer reserves it with [`PlanBuilder::guess`]: when
//! the sink can be cut back ([`Sink::can_rewind`]), the drain writes the guess and goes on; if
//! the slot is later filled with other bytes, those are patched in when they have the guess's
//! length (a size field), else the output is cut back to the slot and the rest is written again
//! from the plan (the input after the slot is then read twice, once: no guess is written after
//! a cut). A sink that cannot be cut back (a plain `Write`) never writes past a guess, so its
//! output is the same, built as before: scanned first, copied after.
//!
//! A carrier whose edits are known only once its walk is over (offsets and sizes in a header
//! before the structures they describe) may plan what it walks as copies and then put the
//! edits over them: bytes of the same length with [`PlanBuilder::overwrite`] (output already
//! written is patched), a structure that changes size with [`PlanBuilder::truncate`] (the
//! output is cut back to it), a layout it cannot take in one walk with
//! [`PlanBuilder::restart`]. It puts a guess first, so that a sink that can be neither
//! patched nor cut back writes nothing before the end.
//!
//! Every label copy the carrier hands to [`PlanBuilder::drain`] goes through the embed step's
//! check (another producer's label stops the write) before any further byte is written.

use std::io::Write;
use std::ops::Range;

use crate::carrier::{Found, Written};
use crate::io::{ReadSeek, Source};
use crate::{Error, Result};

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

    /// Writes the piece from its byte `skip` on to `sink`, reading a copied range from `src`.
    fn write_from(&self, skip: u64, src: &mut Source<'_>, sink: &mut dyn Sink) -> Result<()> {
        match self {
            Piece::New(bytes) => {
                let skip = usize::try_from(skip).unwrap_or(usize::MAX);
                sink.write_all(bytes.get(skip..).unwrap_or_default())?;
            }
            Piece::Copy(range) => {
                let start = range.start.saturating_add(skip);
                if start < range.end {
                    sink.copy_range(src, start..range.end)?;
                }
            }
        }
        Ok(())
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
    /// Output bytes a streaming scan wrote (after any cut back): the rest starts here.
    streamed: u64,
    /// The sink holds more than `streamed` bytes: a guess was refuted after the last drain.
    cut_pending: bool,
    /// Guesses refuted after they were written, to overwrite with their bytes (same length).
    patches: Vec<(u64, Vec<u8>)>,
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

    /// How many of the output's first bytes a streaming scan has already written to its sink
    /// ([`PlanBuilder::streaming`]); 0 for a plan built without a sink.
    pub fn streamed(&self) -> u64 {
        self.streamed
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
    /// The whole output, whatever a streaming scan wrote elsewhere.
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

    /// Writes what the streaming scan that built this plan has not written yet to `sink`, the
    /// sink it streamed to: the output from [`Plan::streamed`] on (cutting the sink back there
    /// first when a guess was refuted after the last drain).
    ///
    /// # Errors
    /// As [`Plan::write_to`]; an error of [`Sink::rewind`].
    pub fn write_rest(&self, input: &mut dyn ReadSeek, sink: &mut dyn Sink) -> Result<Written> {
        let mut src = Source::new(input, self.format)?;
        if self.cut_pending {
            sink.rewind(self.streamed)?;
        }
        for (at, bytes) in &self.patches {
            sink.patch(*at, bytes)?;
        }
        let mut at = 0u64;
        for piece in &self.pieces {
            let end = at.saturating_add(piece.len());
            if end > self.streamed {
                piece.write_from(self.streamed.saturating_sub(at), &mut src, sink)?;
            }
            at = end;
        }
        sink.flush()?;
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

/// Where a streaming plan's output goes: a `Write` that can also copy input ranges its own way
/// and, optionally, cut the output back to an earlier length.
///
/// The length counts from where this write began (a sink over a non-empty vector counts from
/// the vector's length then).
pub trait Sink: Write {
    /// Copies input bytes `range` to the output. The default reads them through `src` in
    /// blocks; a sink between two files may have the kernel copy them instead.
    ///
    /// # Errors
    /// [`Error::Truncated`] when the range runs past the input; I/O errors.
    fn copy_range(&mut self, src: &mut Source<'_>, range: Range<u64>) -> Result<()> {
        src.seek_to(range.start)?;
        src.copy_to(self, range.end.saturating_sub(range.start), "copied range")
    }

    /// True when [`Sink::rewind`] and [`Sink::patch`] work, so a streaming scan may write past
    /// a guess.
    fn can_rewind(&self) -> bool {
        false
    }

    /// Overwrites the output's bytes from offset `at` with `bytes`, all of them written already;
    /// writing goes on at the end. A guess refuted by bytes of its own length is put right this
    /// way (a size field, a flags byte), without cutting the output back.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a sink that cannot (the default); I/O errors.
    fn patch(&mut self, at: u64, bytes: &[u8]) -> Result<()> {
        let _ = (at, bytes);
        Err(Error::unsupported("output", "this output cannot be patched"))
    }

    /// Cuts the output back to its first `len` bytes; writing goes on from there.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a sink that cannot (the default); I/O errors.
    fn rewind(&mut self, len: u64) -> Result<()> {
        let _ = len;
        Err(Error::unsupported("output", "this output cannot be cut back"))
    }
}

/// Any `Write` as a [`Sink`] that cannot be cut back: a streaming scan writes what is final
/// and never writes past a guess.
#[derive(Debug)]
pub struct Plain<W>(pub W);

impl<W: Write> Write for Plain<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.0.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl<W: Write> Sink for Plain<W> {}

/// A vector as a [`Sink`]: the output is appended to it, and cutting back truncates it.
#[derive(Debug)]
pub struct VecSink<'a> {
    vec: &'a mut Vec<u8>,
    base: usize,
}

impl<'a> VecSink<'a> {
    /// Appends to `vec`, from its current length.
    pub fn new(vec: &'a mut Vec<u8>) -> Self {
        let base = vec.len();
        VecSink { vec, base }
    }
}

impl Write for VecSink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.vec.try_reserve(buf.len()).map_err(std::io::Error::other)?;
        self.vec.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Sink for VecSink<'_> {
    fn can_rewind(&self) -> bool {
        true
    }

    fn rewind(&mut self, len: u64) -> Result<()> {
        let end = usize::try_from(len).ok().and_then(|len| self.base.checked_add(len));
        match end {
            Some(end) if end <= self.vec.len() => {
                self.vec.truncate(end);
                Ok(())
            }
            _ => Err(Error::parameter("len", "cut back past the end of the output")),
        }
    }

    fn patch(&mut self, at: u64, bytes: &[u8]) -> Result<()> {
        let start = usize::try_from(at).ok().and_then(|at| self.base.checked_add(at));
        let place = start
            .and_then(|start| Some(start..start.checked_add(bytes.len())?))
            .and_then(|range| self.vec.get_mut(range));
        match place {
            Some(place) => {
                place.copy_from_slice(bytes);
                Ok(())
            }
            None => Err(Error::parameter("at", "patch past the end of the output")),
        }
    }
}

/// A streaming builder's destination: the sink, and the check every label copy the scan meets
/// must pass before more output is written (the embed step's producer rule).
pub struct Output<'a> {
    sink: &'a mut dyn Sink,
    check: &'a mut dyn FnMut(&Found) -> Result<()>,
    speculate: bool,
}

impl std::fmt::Debug for Output<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output").field("speculate", &self.speculate).finish()
    }
}

impl<'a> Output<'a> {
    /// Writes to `sink`, checking each label copy with `check`; writes past guesses when the
    /// sink can be cut back.
    pub fn new(sink: &'a mut dyn Sink, check: &'a mut dyn FnMut(&Found) -> Result<()>) -> Self {
        let speculate = sink.can_rewind();
        Output { sink, check, speculate }
    }
}

/// Pending output below this size waits for the next drain.
const DRAIN_BATCH: u64 = 1 << 10;

/// How final one part of a plan under construction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fill {
    /// Final: the drain may write it.
    Final,
    /// A slot not filled yet: the drain stops before it.
    Open,
    /// A slot holding the carrier's guess: written only by a sink that can be cut back.
    Guess,
}

/// Builds a [`Plan`] while a carrier walks its input: copies of adjacent ranges join into one
/// piece and new bytes into one buffer, so a file of a million untouched chunks plans as one
/// range. New bytes go in with `Write`; a slot reserved with [`PlanBuilder::reserve`] takes
/// bytes known only later (a label whose place comes before the structures it merges).
///
/// Made with [`PlanBuilder::streaming`], it also writes the final pieces as the scan goes (see
/// the [module documentation](self)).
#[derive(Debug)]
pub struct PlanBuilder<'a> {
    format: &'static str,
    parts: Vec<(Piece, Fill)>,
    len: u64,
    out: Option<Output<'a>>,
    /// The next output byte to drain: a part, and how many of its bytes are written.
    cursor: (usize, u64),
    /// Output bytes drained (the cursor's offset in the output).
    drained: u64,
    /// Label copies already checked, of those handed to [`PlanBuilder::drain`].
    checked: usize,
    /// A drained guess was refuted: the sink must be cut back to `drained` before writing.
    cut_pending: bool,
    /// Drained guesses refuted by bytes of their length: (output offset, bytes) to overwrite.
    patches: Vec<(u64, Vec<u8>)>,
    /// Pending output below this size waits for the next drain ([`DRAIN_BATCH`]).
    batch: u64,
}

/// A place in a plan for bytes given later, from [`PlanBuilder::reserve`] or
/// [`PlanBuilder::guess`].
#[derive(Debug)]
#[must_use]
pub struct Slot(usize);

impl PlanBuilder<'static> {
    /// An empty plan for a file of `format` (named in errors), written by whoever executes it.
    pub fn new(format: &'static str) -> Self {
        PlanBuilder {
            format,
            parts: Vec::new(),
            len: 0,
            out: None,
            cursor: (0, 0),
            drained: 0,
            checked: 0,
            cut_pending: false,
            patches: Vec::new(),
            batch: DRAIN_BATCH,
        }
    }
}

impl<'a> PlanBuilder<'a> {
    /// An empty plan whose final pieces [`PlanBuilder::drain`] writes to `out` as the scan goes.
    pub fn streaming(format: &'static str, out: Output<'a>) -> Self {
        PlanBuilder {
            out: Some(out),
            ..PlanBuilder::new(format)
        }
    }

    /// The output's length so far: the offset the next piece starts at (open slots count as
    /// empty, guesses by their length).
    pub fn position(&self) -> u64 {
        self.len
    }

    /// Copies input bytes `range` unchanged.
    pub fn copy(&mut self, range: Range<u64>) {
        if range.end <= range.start {
            return;
        }
        self.len = self.len.saturating_add(range.end - range.start);
        if let Some((Piece::Copy(last), Fill::Final)) = self.parts.last_mut() {
            if last.end == range.start {
                last.end = range.end;
                return;
            }
        }
        self.parts.push((Piece::Copy(range), Fill::Final));
    }

    /// Appends new bytes.
    pub fn put(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.len = self.len.saturating_add(bytes.len() as u64);
        // A slot is filled later, replacing its piece: never extend it.
        if let Some((Piece::New(last), Fill::Final)) = self.parts.last_mut() {
            last.extend_from_slice(bytes);
            return;
        }
        self.parts.push((Piece::New(bytes.to_vec()), Fill::Final));
    }

    /// Leaves a place for bytes given later with [`PlanBuilder::fill`]; a streaming drain
    /// stops before it until then.
    pub fn reserve(&mut self) -> Slot {
        self.parts.push((Piece::New(Vec::new()), Fill::Open));
        Slot(self.parts.len() - 1)
    }

    /// Leaves a place holding `likely`, the bytes the carrier expects it to get: a streaming
    /// drain into a sink that can be cut back writes it and goes on. Filling the slot with
    /// other bytes later cuts the output back to the slot (see the module documentation); a
    /// guess never filled stays as it is.
    pub fn guess(&mut self, likely: Piece) -> Slot {
        self.len = self.len.saturating_add(likely.len());
        self.parts.push((likely, Fill::Guess));
        Slot(self.parts.len() - 1)
    }

    /// Gives an open `slot` (from [`PlanBuilder::reserve`]) the bytes it will likely get, once
    /// the carrier knows them: from now on it is a guess, as if made by [`PlanBuilder::guess`].
    /// A slot already filled or guessed is left as it is.
    pub fn guess_for(&mut self, slot: &Slot, likely: Piece) {
        if let Some((place, fill @ Fill::Open)) = self.parts.get_mut(slot.0) {
            self.len = self.len.saturating_add(likely.len());
            *place = likely;
            *fill = Fill::Guess;
        }
    }

    /// Puts `bytes` in `slot`; returns where they sit in the output.
    pub fn fill(&mut self, slot: Slot, bytes: Vec<u8>) -> Range<u64> {
        let start = self.start_of(slot.0);
        let end = start.saturating_add(bytes.len() as u64);
        self.settle(slot.0, Piece::New(bytes), start);
        start..end
    }

    /// Puts the input bytes `range` in `slot`, unchanged (a structure that turned out not to be
    /// the one replaced).
    pub fn fill_copy(&mut self, slot: Slot, range: Range<u64>) {
        let start = self.start_of(slot.0);
        self.settle(slot.0, Piece::Copy(range), start);
    }

    /// True when bytes already drained can still be changed ([`PlanBuilder::overwrite`],
    /// [`PlanBuilder::truncate`]): the builder streams into a sink that can be patched and cut
    /// back. A carrier that learns late what changes in bytes it planned early (a pointer-based
    /// format, whose fields may sit anywhere) drains only then; without, its output is written
    /// after the scan.
    pub fn can_revise(&self) -> bool {
        self.out.as_ref().is_some_and(|o| o.sink.can_rewind())
    }

    /// The output offset of part `index`.
    fn start_of(&self, index: usize) -> u64 {
        self.parts.iter().take(index).map(|(p, _)| p.len()).sum()
    }

    /// Makes `piece` the final content of the slot at `index`, which starts at output offset
    /// `start`; a drained guess that differs is patched (same length, new bytes) or cut back.
    fn settle(&mut self, index: usize, piece: Piece, start: u64) {
        let Some((place, fill)) = self.parts.get_mut(index) else {
            return;
        };
        let drained_past = self.cursor.0 > index || (self.cursor.0 == index && self.cursor.1 > 0);
        let whole = self.cursor.0 > index || self.cursor.1 >= place.len();
        let refuted = *fill == Fill::Guess && drained_past && *place != piece;
        let patch = match &piece {
            Piece::New(bytes) if refuted && whole && bytes.len() as u64 == place.len() => Some(bytes.clone()),
            _ => None,
        };
        self.len = self.len.saturating_sub(place.len()).saturating_add(piece.len());
        *place = piece;
        *fill = Fill::Final;
        if let Some(bytes) = patch {
            self.patches.push((start, bytes));
        } else if refuted {
            // The output past `start` was written from the guess: write it again from here,
            // and guess no more, so the input is read at most twice.
            self.cursor = (index, 0);
            self.drained = start;
            self.cut_pending = true;
            self.patches
                .retain(|(at, bytes)| at.saturating_add(bytes.len() as u64) <= start);
            if let Some(out) = self.out.as_mut() {
                out.speculate = false;
            }
        }
    }

    /// Drops everything planned so far, for a carrier whose walk met what refutes an assumption
    /// its pieces were planned on (a layout it can only take in one walk): it plans again from
    /// an empty output, and the sink is cut back to where this write began before anything
    /// more is written; no guess is written afterwards. A carrier that may restart puts a guess
    /// first, so that a sink that cannot be cut back has written nothing yet.
    ///
    /// # Errors
    /// As [`PlanBuilder::truncate`].
    pub fn restart(&mut self) -> Result<()> {
        self.truncate(0)?;
        if let Some(out) = self.out.as_mut() {
            out.speculate = false;
        }
        Ok(())
    }

    /// Drops the output planned from offset `at` on (a piece across `at` keeps its first
    /// part), so that planning goes on from there: a structure planned as copied turned out to
    /// be replaced by bytes of another length. When the streaming output got past `at`, it is
    /// cut back there before more is written, and no guess is written afterwards. Slots past
    /// `at` go with their parts.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when output past `at` was written to a sink that cannot be cut
    /// back ([`PlanBuilder::can_revise`]).
    pub fn truncate(&mut self, at: u64) -> Result<()> {
        if self.drained > at && !self.can_revise() {
            return Err(Error::unsupported("output", "written output cannot be cut back"));
        }
        let keep = self.split_at(at);
        self.parts.truncate(keep);
        self.len = self.len.min(at);
        if self.drained > at {
            self.cut_pending = true;
            self.drained = at;
            self.patches
                .retain(|(p, bytes)| p.saturating_add(bytes.len() as u64) <= at);
            if let Some(out) = self.out.as_mut() {
                out.speculate = false;
            }
        }
        self.cursor = self.cursor_at(self.drained);
        Ok(())
    }

    /// Puts `bytes` in place of as many planned output bytes at offset `at` (a size field, a
    /// structure rewritten at its own size), found to change only once the walk is over. Output
    /// a streaming sink has already written there is patched.
    ///
    /// # Errors
    /// [`Error::Parameter`] when the bytes run past the output planned so far, or meet a slot
    /// (fill slots first) or written output the sink cannot patch.
    pub fn overwrite(&mut self, at: u64, bytes: &[u8]) -> Result<()> {
        let end = at.saturating_add(bytes.len() as u64);
        if end > self.len {
            return Err(Error::parameter("at", "overwrite past the planned output"));
        }
        if bytes.is_empty() {
            return Ok(());
        }
        let first = self.split_at(at);
        if self
            .parts
            .get(first..)
            .unwrap_or_default()
            .iter()
            .any(|(_, fill)| *fill != Fill::Final)
        {
            return Err(Error::parameter("at", "overwrite over a slot"));
        }
        let last = self.split_at(end);
        let written = self.drained.saturating_sub(at).min(bytes.len() as u64) as usize;
        if written > 0 {
            if !self.can_revise() {
                return Err(Error::unsupported("output", "written output cannot be patched"));
            }
            self.patches
                .push((at, bytes.get(..written).unwrap_or_default().to_vec()));
        }
        self.parts
            .splice(first..last, [(Piece::New(bytes.to_vec()), Fill::Final)]);
        self.cursor = self.cursor_at(self.drained);
        Ok(())
    }

    /// Splits the part across output offset `at` in two; returns the index of the part that
    /// starts there (the number of parts when `at` is the end).
    fn split_at(&mut self, at: u64) -> usize {
        let mut start = 0u64;
        for i in 0..self.parts.len() {
            let Some((piece, fill)) = self.parts.get(i) else {
                break;
            };
            let len = piece.len();
            if at == start {
                return i;
            }
            if at < start.saturating_add(len) {
                let cut = at - start;
                let (head, tail) = match piece {
                    Piece::Copy(r) => (Piece::Copy(r.start..r.start + cut), Piece::Copy(r.start + cut..r.end)),
                    Piece::New(b) => {
                        let (h, t) = b.split_at(usize::try_from(cut).unwrap_or(b.len()).min(b.len()));
                        (Piece::New(h.to_vec()), Piece::New(t.to_vec()))
                    }
                };
                let fill = *fill;
                if let Some(part) = self.parts.get_mut(i) {
                    *part = (head, fill);
                }
                self.parts.insert(i + 1, (tail, fill));
                return i + 1;
            }
            start = start.saturating_add(len);
        }
        self.parts.len()
    }

    /// The drain cursor for output offset `at`: the part holding it and the offset in it (the
    /// end of the last part at the end).
    fn cursor_at(&self, at: u64) -> (usize, u64) {
        let mut start = 0u64;
        for (i, (piece, _)) in self.parts.iter().enumerate() {
            let len = piece.len();
            if at < start.saturating_add(len) || i + 1 == self.parts.len() {
                return (i, at.saturating_sub(start).min(len));
            }
            start = start.saturating_add(len);
        }
        (0, 0)
    }

    /// Writes every final piece not written yet to the streaming output (nothing without one),
    /// after checking the label copies in `found` not seen before; `src` is left where it was.
    /// Carriers call it once per structure walked, so each copied range is still in the
    /// input's buffer.
    ///
    /// # Errors
    /// The check's error (another producer's label); errors reading `src` or writing the sink.
    pub fn drain(&mut self, src: &mut Source<'_>, found: &[Found]) -> Result<()> {
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        for copy in found.get(self.checked..).unwrap_or_default() {
            (out.check)(copy)?;
        }
        self.checked = self.checked.max(found.len());
        // A few structures' bytes at a time: each drain costs a few calls, and what is pending
        // stays within the buffer's kept tail (see `SeekBuf`).
        if self.len.saturating_sub(self.drained) < self.batch && !self.cut_pending && self.patches.is_empty() {
            return Ok(());
        }
        if self.cut_pending {
            out.sink.rewind(self.drained)?;
            self.cut_pending = false;
        }
        for (at, bytes) in self.patches.drain(..) {
            out.sink.patch(at, &bytes)?;
        }
        let back = src.pos();
        let mut moved = false;
        while let Some((piece, fill)) = self.parts.get(self.cursor.0) {
            if *fill == Fill::Open || (*fill == Fill::Guess && !out.speculate) {
                break;
            }
            let len = piece.len();
            if self.cursor.1 < len {
                piece.write_from(self.cursor.1, src, out.sink)?;
                moved |= matches!(piece, Piece::Copy(_));
                self.drained = self.drained.saturating_add(len - self.cursor.1);
            }
            // The last part may still grow (adjacent copies join): stay on it.
            if self.cursor.0 + 1 == self.parts.len() {
                self.cursor.1 = len;
                break;
            }
            self.cursor = (self.cursor.0 + 1, 0);
        }
        if moved {
            src.seek_to(back)?;
        }
        Ok(())
    }

    /// The finished plan, with the label copies the scan found and where the new label's
    /// structure sits in the output. Open slots are left empty; guesses stand.
    pub fn finish(self, found: Vec<Found>, label_range: Range<u64>) -> Plan {
        let pieces = self
            .parts
            .into_iter()
            .filter(|(p, fill)| *fill != Fill::Open && !p.is_empty())
            .map(|(p, _)| p)
            .collect();
        Plan {
            format: self.format,
            found,
            pieces,
            label_range,
            streamed: self.drained,
            cut_pending: self.cut_pending,
            patches: self.patches,
        }
    }
}

impl Write for PlanBuilder<'_> {
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

    const INPUT: &[u8] = b"abcdefghijklmnop";

    /// A walk of four steps over [`INPUT`] with a slot after the first, drained after each
    /// step into `sink`; `guess` reserves the slot with a guess of "G", and the slot ends up
    /// holding `fill`.
    fn walk(sink: &mut dyn Sink, guess: bool, fill: &[u8]) -> Plan {
        let mut input = Cursor::new(INPUT);
        let mut check = |_: &Found| Ok(());
        {
            let mut src = Source::new(&mut input, "test").unwrap();
            let mut b = PlanBuilder::streaming("test", Output::new(sink, &mut check));
            b.batch = 0;
            b.copy(0..4);
            b.drain(&mut src, &[]).unwrap();
            let slot = if guess {
                b.guess(Piece::New(b"G".to_vec()))
            } else {
                b.reserve()
            };
            for step in 1..4 {
                src.seek_to(step * 4).unwrap();
                b.copy(step * 4..step * 4 + 4);
                b.drain(&mut src, &[]).unwrap();
                assert_eq!(src.pos(), step * 4, "the drain leaves the source where it was");
            }
            let range = b.fill(slot, fill.to_vec());
            b.finish(Vec::new(), range)
        }
    }

    fn expected(fill: &[u8]) -> Vec<u8> {
        [&INPUT[..4], fill, &INPUT[4..]].concat()
    }

    #[test]
    fn a_streaming_plan_writes_what_is_final_as_it_goes() {
        let mut out = Vec::new();
        let mut sink = Plain(&mut out);
        let plan = walk(&mut sink, false, b"LABEL");
        assert_eq!(plan.streamed(), 4, "an open slot stops the drain");
        plan.write_rest(&mut Cursor::new(INPUT), &mut sink).unwrap();
        assert_eq!(out, expected(b"LABEL"));
    }

    #[test]
    fn a_plain_sink_never_writes_past_a_guess() {
        let mut out = Vec::new();
        let mut sink = Plain(&mut out);
        let plan = walk(&mut sink, true, b"G");
        assert_eq!(plan.streamed(), 4);
        plan.write_rest(&mut Cursor::new(INPUT), &mut sink).unwrap();
        assert_eq!(out, expected(b"G"));
    }

    #[test]
    fn a_right_guess_streams_everything_and_a_wrong_one_is_cut_back() {
        for fill in [&b"G"[..], b"LABEL", b""] {
            let mut out = b"prefix".to_vec();
            let mut sink = VecSink::new(&mut out);
            let plan = walk(&mut sink, true, fill);
            if fill == b"G" {
                assert_eq!(plan.streamed(), 17, "a right guess lets the drain run to the end");
            } else {
                assert_eq!(plan.streamed(), 4, "a wrong guess is written again from its slot");
            }
            let written = plan.write_rest(&mut Cursor::new(INPUT), &mut sink).unwrap();
            assert_eq!(out, [&b"prefix"[..], &expected(fill)].concat(), "{fill:?}");
            assert_eq!(written.label_range, 4..4 + fill.len() as u64);
            let mut whole = Vec::new();
            plan.write_to(&mut Cursor::new(INPUT), &mut whole).unwrap();
            assert_eq!(whole, expected(fill));
        }
    }

    #[test]
    fn a_wrong_guess_of_the_right_length_is_patched_without_cutting_back() {
        for rewinds in [true, false] {
            let mut out = Vec::new();
            let mut vec_sink = VecSink::new(&mut out);
            let mut plain_sink = Plain(Vec::new());
            let sink: &mut dyn Sink = if rewinds { &mut vec_sink } else { &mut plain_sink };
            let plan = walk(sink, true, b"H");
            assert_eq!(plan.streamed(), if rewinds { 17 } else { 4 });
            plan.write_rest(&mut Cursor::new(INPUT), sink).unwrap();
            let got = if rewinds { out } else { plain_sink.0 };
            assert_eq!(got, expected(b"H"), "rewinds: {rewinds}");
        }
    }

    #[test]
    fn an_open_slot_given_a_guess_later_streams_past_it() {
        let mut out = Vec::new();
        let mut sink = VecSink::new(&mut out);
        let mut check = |_: &Found| Ok(());
        let mut input = Cursor::new(INPUT);
        let mut src = Source::new(&mut input, "test").unwrap();
        let mut b = PlanBuilder::streaming("test", Output::new(&mut sink, &mut check));
        b.batch = 0;
        b.copy(0..4);
        let slot = b.reserve();
        b.copy(4..8);
        b.drain(&mut src, &[]).unwrap();
        assert_eq!(b.drained, 4, "an open slot blocks");
        b.guess_for(&slot, Piece::New(b"G".to_vec()));
        b.drain(&mut src, &[]).unwrap();
        assert_eq!(b.drained, 9);
        let range = b.fill(slot, b"G".to_vec());
        assert_eq!(range, 4..5);
        let plan = b.finish(Vec::new(), range);
        plan.write_rest(&mut Cursor::new(INPUT), &mut sink).unwrap();
        assert_eq!(out, [&INPUT[..4], b"G", &INPUT[4..8]].concat());
    }

    /// Copies [`INPUT`] in four steps, draining after each, then overwrites bytes 2..6 (two
    /// drained, two not) and 14..15, and cuts the output back to `cut`.
    fn revised(sink: &mut dyn Sink, cut: u64) -> Result<Plan> {
        let mut input = Cursor::new(INPUT);
        let mut check = |_: &Found| Ok(());
        let mut src = Source::new(&mut input, "test")?;
        let mut b = PlanBuilder::streaming("test", Output::new(sink, &mut check));
        b.batch = 0;
        let revise = b.can_revise();
        for step in 0..4 {
            b.copy(step * 4..step * 4 + 4);
            if revise && step < 1 {
                b.drain(&mut src, &[])?;
            }
        }
        if revise {
            assert_eq!(b.drained, 4);
        }
        b.overwrite(2, b"WXYZ")?;
        b.overwrite(14, b"Q")?;
        b.truncate(cut)?;
        if revise {
            b.drain(&mut src, &[])?;
            assert_eq!(b.drained, cut.min(16));
            b.truncate(3)?;
        }
        b.put(b"END");
        Ok(b.finish(Vec::new(), 0..0))
    }

    #[test]
    fn overwritten_and_cut_output_is_patched_or_cut_in_the_sink() {
        for cut in [16, 15, 10] {
            let mut out = Vec::new();
            let mut sink = VecSink::new(&mut out);
            let plan = revised(&mut sink, cut).unwrap();
            plan.write_rest(&mut Cursor::new(INPUT), &mut sink).unwrap();
            assert_eq!(out, b"abWEND", "cut {cut}");
            let mut whole = Vec::new();
            plan.write_to(&mut Cursor::new(INPUT), &mut whole).unwrap();
            assert_eq!(whole, b"abWEND");

            let mut plain = Plain(Vec::new());
            let plan = revised(&mut plain, cut).unwrap();
            assert_eq!(plan.streamed(), 0, "a sink that cannot be revised is not drained");
            plan.write_rest(&mut Cursor::new(INPUT), &mut plain).unwrap();
            let mut expected = b"abWXYZghijklmnQp".to_vec();
            expected.truncate(cut as usize);
            expected.extend_from_slice(b"END");
            assert_eq!(plain.0, expected, "cut {cut}");
        }
    }

    #[test]
    fn drained_output_is_not_revised_without_a_sink_that_can_be() {
        let mut input = Cursor::new(INPUT);
        let mut check = |_: &Found| Ok(());
        let mut src = Source::new(&mut input, "test").unwrap();
        let mut plain = Plain(Vec::new());
        let mut b = PlanBuilder::streaming("test", Output::new(&mut plain, &mut check));
        b.batch = 0;
        b.copy(0..8);
        b.drain(&mut src, &[]).unwrap();
        assert!(!b.can_revise());
        assert!(matches!(b.overwrite(2, b"x"), Err(Error::Unsupported(..))));
        assert!(matches!(b.truncate(4), Err(Error::Unsupported(..))));
        assert!(matches!(b.overwrite(7, b"xy"), Err(Error::Parameter { .. })));
        let _slot = b.reserve();
        b.overwrite(7, b"x").unwrap_err();
    }

    #[test]
    fn a_restart_cuts_the_output_back_to_where_the_write_began() {
        for drain_again in [true, false] {
            let mut out = b"prefix".to_vec();
            let mut sink = VecSink::new(&mut out);
            let mut check = |_: &Found| Ok(());
            let mut input = Cursor::new(INPUT);
            let mut src = Source::new(&mut input, "test").unwrap();
            let mut b = PlanBuilder::streaming("test", Output::new(&mut sink, &mut check));
            b.batch = 0;
            let _head = b.guess(Piece::New(b"G".to_vec()));
            b.copy(0..8);
            b.drain(&mut src, &[]).unwrap();
            assert_eq!(b.drained, 9, "the guess and the copy were written");
            b.restart().unwrap();
            assert_eq!(b.position(), 0);
            b.put(b"H");
            b.copy(4..8);
            if drain_again {
                b.drain(&mut src, &[]).unwrap();
            }
            let plan = b.finish(Vec::new(), 0..1);
            assert_eq!(plan.pieces(), [Piece::New(b"H".to_vec()), Piece::Copy(4..8)]);
            plan.write_rest(&mut Cursor::new(INPUT), &mut sink).unwrap();
            assert_eq!(out, b"prefixHefgh", "drain again: {drain_again}");
        }
    }

    #[test]
    fn written_output_is_overwritten_in_place_and_cut_back() {
        for rewinds in [true, false] {
            let mut out = Vec::new();
            let mut vec_sink = VecSink::new(&mut out);
            let mut plain_sink = Plain(Vec::new());
            let sink: &mut dyn Sink = if rewinds { &mut vec_sink } else { &mut plain_sink };
            let mut check = |_: &Found| Ok(());
            let mut input = Cursor::new(INPUT);
            let mut src = Source::new(&mut input, "test").unwrap();
            let mut b = PlanBuilder::streaming("test", Output::new(sink, &mut check));
            b.batch = 0;
            // A guess first, so that a plain sink writes nothing before the end.
            let head = b.guess(Piece::Copy(0..2));
            b.copy(2..8);
            b.put(b"new");
            b.copy(8..16);
            b.drain(&mut src, &[]).unwrap();
            assert_eq!(b.drained, if rewinds { 19 } else { 0 });
            b.overwrite(6, b"XYZab").unwrap();
            assert!(b.overwrite(17, b"past").is_err());
            b.truncate(14).unwrap();
            b.put(b"T");
            b.fill_copy(head, 0..2);
            b.overwrite(0, b"h").unwrap();
            let plan = b.finish(Vec::new(), 0..1);
            plan.write_rest(&mut Cursor::new(INPUT), sink).unwrap();
            let got = if rewinds { out } else { plain_sink.0 };
            let want = b"hbcdefXYZabijkT".to_vec();
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "rewinds: {rewinds}"
            );
            let mut whole = Vec::new();
            plan.write_to(&mut Cursor::new(INPUT), &mut whole).unwrap();
            assert_eq!(whole, want);
        }
    }

    #[test]
    fn the_check_stops_the_drain_before_more_is_written() {
        let mut out = Vec::new();
        let mut sink = VecSink::new(&mut out);
        let mut input = Cursor::new(INPUT);
        let mut src = Source::new(&mut input, "test").unwrap();
        let mut check = |f: &Found| match f.text.as_str() {
            "theirs" => Err(Error::AlreadyLabelled {
                producer: "someone".into(),
            }),
            _ => Ok(()),
        };
        let copy = |text: &str| Found {
            carrier: "test".into(),
            range: 0..1,
            text: text.into(),
            expected_shape: crate::json::Shape::Bare,
            checks: Vec::new(),
        };
        let mut b = PlanBuilder::streaming("test", Output::new(&mut sink, &mut check));
        b.batch = 0;
        b.copy(0..4);
        b.drain(&mut src, &[copy("ours")]).unwrap();
        b.copy(4..8);
        let result = b.drain(&mut src, &[copy("ours"), copy("theirs")]);
        assert!(matches!(result, Err(Error::AlreadyLabelled { .. })), "{result:?}");
        drop(b);
        assert_eq!(out, b"abcd");
    }
}
