//! FLAC: the label is the Vorbis comment field `AIGC=` in the `VORBIS_COMMENT` metadata block
//! (spec section 4; FLAC format, `METADATA_BLOCK`).
//!
//! The block is created after `STREAMINFO` when the file has none. The change in metadata size
//! is taken from (or given to) the first `PADDING` block, so in the usual case the audio frames
//! stay at the same offset; when the padding is too small the metadata is rewritten and the
//! frames move, with a fresh padding block for later updates ([`Limits::label_room`], 4 KiB by
//! default). The padding is kept right after the comment block holding the label, where
//! an update in place ([`crate::in_place`]) finds room to update the label without rewriting the file. The
//! last-metadata-block flag is set on whichever block ends up last. Other blocks (`STREAMINFO`, `SEEKTABLE` — whose offsets are
//! relative to the first frame and so stay valid —, `PICTURE`, `APPLICATION`, `CUESHEET`) are
//! copied byte for byte, and the frames in large blocks.
//!
//! The label's structure is the `AIGC=` field itself (its length prefix and bytes); the vendor
//! string and every other field stay covered by a content binding (see
//! [`Flac::binding_exclusions`](aigc_label_core::Carrier::binding_exclusions)).

use std::ops::Range;

use aigc_label_core::container::Drains;
use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::plan::{Piece, Plan as EditPlan, PlanBuilder, Slot};
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result};

use crate::common::{Budget, Exclusions, found, text_of};
use crate::in_place::{self, InPlace, Plan, Steps};
use crate::vorbis_comment;

/// The FLAC carrier (native FLAC streams starting with `fLaC`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Flac;

const FORMAT: &str = "flac";
const STREAMINFO: u8 = 0;
const PADDING: u8 = 1;
const VORBIS_COMMENT: u8 = 4;
const INVALID: u8 = 127;
/// Largest metadata block body (a 24-bit length).
const MAX_BLOCK: u64 = (1 << 24) - 1;
/// Vendor string of a comment block we create.
const VENDOR: &str = "aigc-label";

/// One metadata block header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    kind: u8,
    offset: u64,
    len: u64,
}

impl Block {
    fn body(&self) -> u64 {
        self.offset + 4
    }

    fn end(&self) -> u64 {
        self.body() + self.len
    }

    /// `span`, a range in the block's body, as a file range.
    fn in_file(&self, span: &Range<usize>) -> Range<u64> {
        self.body() + span.start as u64..self.body() + span.end as u64
    }
}

impl Carrier for Flac {
    fn info(&self) -> &'static aigc_label_core::Info {
        &aigc_label_core::Info {
            format: FORMAT,
            media_type: "audio/flac",
            extensions: &["flac"],
        }
    }

    fn in_place(&self) -> Option<&dyn aigc_label_core::in_place::InPlace> {
        Some(self)
    }

    fn stamp(&self) -> Option<&dyn aigc_label_core::stamp::Stamp> {
        Some(&aigc_label_core::stamp::Medium::Audio)
    }

    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(b"fLaC")
    }

    fn find(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Found>> {
        let mut src = Source::new(input, FORMAT)?;
        let blocks = read_blocks(&mut src, limits)?;
        let mut out = Vec::new();
        for block in blocks.iter().filter(|b| b.kind == VORBIS_COMMENT) {
            let body = read_body(&mut src, block, limits)?;
            let comments = vorbis_comment::parse(&body, FORMAT, block.body(), limits)?;
            for (value, span) in comments.label_fields() {
                let range = block.in_file(&span);
                out.push(found("VORBIS_COMMENT AIGC", range, text_of(value), Vec::new()));
            }
        }
        out.truncate(limits.max_copies);
        Ok(out)
    }

    /// One walk of the metadata blocks: the comment blocks are read (their label copies
    /// reported) and rebuilt, padding resized; every other block and the frames are copied
    /// ranges.
    fn plan(
        &self,
        input: &mut dyn ReadSeek,
        label: &Label,
        limits: &Limits,
        out: PlanBuilder<'_>,
    ) -> Result<Option<EditPlan>> {
        edit_plan(input, label, limits, out).map(Some)
    }

    /// Which bytes of a FLAC file a content binding leaves out; everything else (`fLaC`,
    /// `STREAMINFO`, `SEEKTABLE`, `PICTURE`, `APPLICATION`, `CUESHEET`, the vendor string and
    /// every other Vorbis comment, the audio frames) is covered:
    ///
    /// - every `AIGC=` field (its 32-bit length and its bytes);
    /// - in the first `VORBIS_COMMENT` block (which writing gives the label) and in any block
    ///   holding a label: the block header (last-block flag and length) and the field count;
    /// - every `PADDING` block, header and body: writing takes the label's growth from the first
    ///   one (or gives it the space a shorter label frees), may drop it or add one, and one that
    ///   follows may become the first;
    /// - when the last metadata block other than padding is not a comment block, its first byte
    ///   (type and last-block flag), because padding may be added after it or removed from after
    ///   it.
    ///
    /// When the padding cannot absorb the change the frames move, but their bytes, read in
    /// order, do not change.
    fn binding_exclusions(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Range<u64>>> {
        let mut src = Source::new(input, FORMAT)?;
        let blocks = read_blocks(&mut src, limits)?;
        let mut out = Exclusions::new(FORMAT, limits);
        let mut first_comments = true;
        // The last block writing always keeps, and whether its header is already left out.
        let mut last_kept: Option<(Block, bool)> = None;
        for block in &blocks {
            match block.kind {
                PADDING => out.push(block.offset..block.end())?,
                VORBIS_COMMENT => {
                    let body = read_body(&mut src, block, limits)?;
                    let comments = vorbis_comment::parse(&body, FORMAT, block.body(), limits)?;
                    let rewritten = first_comments || comments.has_label();
                    if rewritten {
                        out.push(block.offset..block.body())?;
                        out.push(block.in_file(&comments.count_span()))?;
                        for (_, span) in comments.label_fields() {
                            out.push(block.in_file(&span))?;
                        }
                    }
                    first_comments = false;
                    last_kept = Some((*block, rewritten));
                }
                _ => last_kept = Some((*block, false)),
            }
        }
        if let Some((block, false)) = last_kept {
            out.push(block.offset..block.offset + 1)?;
        }
        Ok(out.into_vec())
    }
}

/// Updates the label in place when the room is there, so that the update writes about the
/// label's size instead of the whole file; see [`crate::in_place`] for the order of
/// the writes that keeps every moment readable as the old label or the new one.
///
/// The room: the first `VORBIS_COMMENT` block (the one [`Flac`]'s write gives the label) and the
/// `PADDING` blocks right before and after it form one run of blocks. The new comment block
/// (every other field kept, the label last, as a rewrite makes it) is written inside padding
/// of that run, followed by a padding header for the rest of the run; then the 4-byte header
/// of the run's first block is rewritten: as the new comment block's header when the first
/// block is padding and the new block fits in its body, otherwise as a padding header whose
/// length skips over the old comment block to the new one. The run keeps its size, so no
/// frame moves, and a content binding holds as it does across a rewrite (the padding and the
/// comment block's header, count and label are what it leaves out).
///
/// The plan asks for a rewrite ([`Update::Rewrite`](crate::in_place::Update::Rewrite)) when
/// there is no comment block, a second block holds a label, the padding around the comment
/// block is too small, or the header to switch would straddle a 512-byte sector.
impl InPlace for Flac {
    fn plan(&self, file: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan> {
        let mut src = Source::new(file, FORMAT)?;
        let blocks = read_blocks(&mut src, limits)?;
        in_place_steps(&mut src, &blocks, &to_json(label, Shape::Bare), limits)
    }
}

/// The writes of an in-place update, or why there are none.
fn in_place_steps(src: &mut Source, blocks: &[Block], json: &str, limits: &Limits) -> Result<Plan> {
    let Some(vc) = blocks.iter().position(|b| b.kind == VORBIS_COMMENT) else {
        return Ok(Err("no VORBIS_COMMENT block to update"));
    };
    let mut body_of = None;
    for (i, block) in blocks.iter().enumerate().filter(|(_, b)| b.kind == VORBIS_COMMENT) {
        let body = read_body(src, block, limits)?;
        let comments = vorbis_comment::parse(&body, FORMAT, block.body(), limits)?;
        if i == vc {
            body_of = Some(comments.rebuild(Some(json))?);
        } else if comments.has_label() {
            return Ok(Err("a second VORBIS_COMMENT block holds a label"));
        }
    }
    let Some((body, span)) = body_of else {
        return Ok(Err("no VORBIS_COMMENT block to update"));
    };
    let m = body.len() as u64;
    if m > MAX_BLOCK {
        return Ok(Err("label too large for a FLAC metadata block"));
    }
    // The run: the comment block and the padding blocks around it.
    let is_pad = |i: &usize| blocks.get(*i).is_some_and(|b| b.kind == PADDING);
    let first = (0..vc).rev().take_while(|i| is_pad(i)).last().unwrap_or(vc);
    let last = (vc + 1..blocks.len()).take_while(|i| is_pad(i)).last().unwrap_or(vc);
    let (Some(head), Some(tail), Some(old)) = (blocks.get(first), blocks.get(last), blocks.get(vc)) else {
        return Ok(Err("no VORBIS_COMMENT block to update"));
    };
    let (start, end) = (head.offset, tail.end());
    let run_is_last = last + 1 == blocks.len();
    if !in_place::in_one_sector(start, 4) {
        return Ok(Err("the header to switch straddles a disk sector"));
    }
    // Where the new block's header goes: at the run's start when the first block is padding
    // with room for the new body and a padding header after it; else at the start of a
    // padding block's body in the run with room for all of it (or exactly to the run's end).
    let fits = |q: u64, room_end: u64| q + 4 + m + 4 <= room_end || (q + 4 + m == end && end <= room_end);
    let at = if first != vc && head.len >= m + 4 {
        Some(start)
    } else {
        blocks
            .get(first..=last)
            .unwrap_or_default()
            .iter()
            .find(|b| b.kind == PADDING && b.offset > start && fits(b.body(), b.end()))
            .map(Block::body)
    };
    let Some(q) = at else {
        return Ok(Err("the padding next to the VORBIS_COMMENT block is too small"));
    };
    let new_end = q + 4 + m;
    let vc_last = new_end == end && run_is_last;
    let vc_header = block_header(VORBIS_COMMENT, vc_last, m)?;
    let mut prepare = Vec::new();
    let mut keep = vec![start..start + 4, q..new_end];
    if new_end < end {
        prepare.push((new_end, block_header(PADDING, run_is_last, end - new_end - 4)?.to_vec()));
        keep.push(new_end..new_end + 4);
    }
    let switch = if q == start {
        prepare.insert(0, (q + 4, body));
        (start, vc_header.to_vec())
    } else {
        let mut block = vc_header.to_vec();
        block.extend_from_slice(&body);
        prepare.insert(0, (q, block));
        (start, block_header(PADDING, false, q - start - 4)?.to_vec())
    };
    // Zeroed afterwards: the old block and the old padding headers, where they are padding now.
    let mut scrub = Vec::new();
    for stale in std::iter::once(old.offset..old.end()).chain(
        blocks
            .get(first..=last)
            .unwrap_or_default()
            .iter()
            .map(|b| b.offset..b.offset + 4),
    ) {
        scrub.extend(in_place::subtract(stale, &keep));
    }
    Ok(Ok(Steps::single_switch(
        prepare,
        switch,
        &scrub,
        q + 4 + span.start as u64..q + 4 + span.end as u64,
    )))
}

/// Plans [`Flac::write`]'s output, collecting the copies [`Flac::find`] reports on the way:
/// in one walk that a streaming builder writes as it goes ([`Walk`]) when the metadata's
/// layout agrees with what the walk guessed, else again from the whole layout.
fn edit_plan(input: &mut dyn ReadSeek, label: &Label, limits: &Limits, mut out: PlanBuilder<'_>) -> Result<EditPlan> {
    let mut src = Source::new(input, FORMAT)?;
    let json = to_json(label, Shape::Bare);
    if let Some((found, label_range)) = Walk::run(&mut src, &json, limits, &mut out)? {
        return Ok(out.finish(found, label_range));
    }
    out.restart()?;
    let blocks = read_blocks(&mut src, limits)?;
    let (layout, found) = final_layout(&mut src, &blocks, &json, limits)?;
    out.copy(0..4);
    let mut label_range = 0..0;
    for (i, item) in layout.iter().enumerate() {
        if let Some(range) = render(&mut out, item, i + 1 == layout.len(), &blocks)? {
            label_range = range;
        }
    }
    let frames = blocks.last().map_or(4, Block::end);
    out.copy(frames..src.len());
    Ok(out.finish(found, label_range))
}

/// The output's metadata blocks and the label copies of the input (see [`layout`]), with the
/// padding fitted and placed after the label's block.
fn final_layout(src: &mut Source, blocks: &[Block], json: &str, limits: &Limits) -> Result<(Vec<Out>, Vec<Found>)> {
    let (mut layout, mut found) = layout(src, blocks, json, limits)?;
    found.truncate(limits.max_copies);
    fit_padding(&mut layout, blocks, limits.label_room.min(MAX_BLOCK));
    pad_after_label(&mut layout);
    Ok((layout, found))
}

/// Plans output block `item` (the last metadata block when `last`) of an input whose blocks
/// are `blocks`; returns where the new label sits when the block holds it.
fn render(out: &mut PlanBuilder<'_>, item: &Out, last: bool, blocks: &[Block]) -> Result<Option<Range<u64>>> {
    let header = block_header(item.kind(), last, item.len())?;
    match item {
        // A block whose last-block flag stays as it was is copied whole, header included.
        Out::Copy(block) if last == (blocks.last() == Some(block)) => out.copy(block.offset..block.end()),
        Out::Copy(block) => {
            out.put(&header);
            out.copy(block.body()..block.end());
        }
        Out::Comments { body, label } => {
            out.put(&header);
            let body_start = out.position();
            out.put(body);
            if let Some(span) = label {
                return Ok(Some(body_start + span.start as u64..body_start + span.end as u64));
            }
        }
        Out::Padding(len) => {
            out.put(&header);
            out.put(&zeros(*len)?);
        }
    }
    Ok(None)
}

/// Bytes walked past the last decision before the walk guesses a slot's bytes: pending output
/// stays within what the input's buffer keeps.
const GUESS_AFTER: u64 = 2 << 10;

/// What the walk planned, in output order, to check against the final layout.
#[derive(Debug)]
enum Rec {
    /// A block planned with its last-block flag clear.
    Item(Box<Out>),
    /// An input block copied whole, its last-block flag clear (as [`Rec::Item`], smaller: a
    /// worst case holds one per block).
    Copy(Block),
    /// The new comment block's place, after `STREAMINFO`.
    New(Slot),
    /// The padding's place after the new comment block.
    PadAfterNew(Slot),
    /// The padding's place after the first comment block.
    PadAfterFirst(Slot),
    /// A slot filled with nothing once the walk met a comment block.
    Filled,
}

/// One walk of the metadata blocks that plans each as it is read, so that a streaming
/// builder writes it while it is in the input's buffer. Two places depend on what comes
/// later: a new comment block after `STREAMINFO` (when the file has none) and the padding
/// after the label's block (resized by every comment block rebuilt). The walk reserves both,
/// and guesses them once it has walked [`GUESS_AFTER`] bytes without an answer: no new block
/// (so a file without a comment block is cut back there at the end, and read twice), and
/// the padding as the blocks walked so far make it. The last block
/// is planned at the end, when its flag is known. Then the final layout (the one the two-pass
/// plan writes) is compared with what was planned: when they differ (a padding block that
/// fits no slot, a last-block flag that moved to a block already written), the walk gives up
/// and the plan is made again from the start.
struct Walk<'j> {
    json: &'j str,
    recs: Vec<Rec>,
    /// A comment block was met (the first one gets the label).
    labelled: bool,
    first_pad: Option<Block>,
    /// Metadata bytes (headers included) of the blocks walked, and of their planned output
    /// (the first padding as it is).
    old_len: u64,
    new_len: u64,
    /// Where the walk was at the last decision (the new block's place, the label's block).
    decided_at: u64,
    /// The new comment block's place was guessed empty.
    bet: bool,
    /// Where in `recs` the new block's slot is, and the padding slot to guess next.
    new_rec: Option<usize>,
    pad_rec: Option<usize>,
    pad_guessed: bool,
}

impl Walk<'_> {
    /// Plans the output; `None` when the walk's layout was wrong (`out` must restart).
    fn run(
        src: &mut Source,
        json: &str,
        limits: &Limits,
        out: &mut PlanBuilder<'_>,
    ) -> Result<Option<(Vec<Found>, Range<u64>)>> {
        let mut reader = BlockReader::new(src, limits)?;
        // A guess first: a sink that cannot be cut back writes nothing before the end.
        let head = out.guess(Piece::Copy(0..4));
        let mut walk = Walk {
            json,
            recs: Vec::new(),
            labelled: false,
            first_pad: None,
            old_len: 0,
            new_len: 0,
            decided_at: 0,
            bet: false,
            new_rec: None,
            pad_rec: None,
            pad_guessed: false,
        };
        let mut blocks = Vec::new();
        let mut met = Vec::new();
        let mut drains = Drains::default();
        let mut label_range = None;
        loop {
            drains.drain(out, src, &met)?;
            let (block, last) = reader.next(src, limits)?;
            blocks.push(block);
            if last {
                break;
            }
            walk.old_len += 4 + block.len;
            if let Some(range) = walk.plan(src, out, block, blocks.len() == 1, limits, &mut met)? {
                label_range = Some(range);
            }
            walk.guess(out, src.pos(), limits)?;
        }
        let (layout, found) = final_layout(src, &blocks, json, limits)?;
        let Some(matched) = walk.settle(out, &layout, &blocks, &mut label_range)? else {
            return Ok(None);
        };
        for (i, item) in layout.iter().enumerate().skip(matched) {
            if let Some(range) = render(out, item, i + 1 == layout.len(), &blocks)? {
                label_range = Some(range);
            }
        }
        let frames = blocks.last().map_or(4, Block::end);
        out.copy(frames..src.len());
        out.fill_copy(head, 0..4);
        Ok(label_range.map(|range| (found, range)))
    }

    /// Plans `block` (not the last; `first` for `STREAMINFO`); returns where the label sits
    /// when this block gets it. Label copies met go to `met`, for the embed step's check.
    fn plan(
        &mut self,
        src: &mut Source,
        out: &mut PlanBuilder<'_>,
        block: Block,
        first: bool,
        limits: &Limits,
        met: &mut Vec<Found>,
    ) -> Result<Option<Range<u64>>> {
        match block.kind {
            VORBIS_COMMENT => {
                let body = read_body(src, &block, limits)?;
                let comments = vorbis_comment::parse(&body, FORMAT, block.body(), limits)?;
                met.extend(comments.label_fields().map(|(value, span)| {
                    found("VORBIS_COMMENT AIGC", block.in_file(&span), text_of(value), Vec::new())
                }));
                let value = (!self.labelled).then_some(self.json);
                if value.is_none() && !comments.has_label() {
                    self.copy(out, block);
                    return Ok(None);
                }
                let (body, span) = comments.rebuild(value)?;
                self.new_len += 4 + body.len() as u64;
                out.put(&block_header(VORBIS_COMMENT, false, body.len() as u64)?);
                let at = out.position();
                out.put(&body);
                self.recs.push(Rec::Item(Box::new(Out::Comments {
                    body,
                    label: value.is_some().then(|| span.clone()),
                })));
                if value.is_none() {
                    return Ok(None);
                }
                // The file has a comment block: no new one, no padding after it.
                self.labelled = true;
                for at in [self.new_rec, self.new_rec.map(|i| i + 1)].into_iter().flatten() {
                    if let Some(Rec::New(slot) | Rec::PadAfterNew(slot)) =
                        self.recs.get_mut(at).map(|rec| std::mem::replace(rec, Rec::Filled))
                    {
                        let _ = out.fill(slot, Vec::new());
                    }
                }
                self.pad_rec = Some(self.recs.len());
                self.pad_guessed = false;
                self.recs.push(Rec::PadAfterFirst(out.reserve()));
                self.decided_at = src.pos();
                Ok(Some(at + span.start as u64..at + span.end as u64))
            }
            PADDING if self.first_pad.is_none() => {
                // Planned where the label's block is, in a slot.
                self.first_pad = Some(block);
                self.new_len += 4 + block.len;
                Ok(None)
            }
            _ => {
                self.copy(out, block);
                if first {
                    self.new_rec = Some(self.recs.len());
                    self.recs.push(Rec::New(out.reserve()));
                    self.recs.push(Rec::PadAfterNew(out.reserve()));
                    self.decided_at = block.end();
                }
                Ok(None)
            }
        }
    }

    /// Plans `block` copied whole (its last-block flag is clear).
    fn copy(&mut self, out: &mut PlanBuilder<'_>, block: Block) {
        self.new_len += 4 + block.len;
        out.copy(block.offset..block.end());
        self.recs.push(Rec::Copy(block));
    }

    /// Guesses the open slots the walk has gone far enough past (`pos`) to bet on: no new
    /// comment block (encoders write one, and the label goes there wherever it comes), then
    /// the padding after the label's block (at once when the first padding block is known).
    fn guess(&mut self, out: &mut PlanBuilder<'_>, pos: u64, limits: &Limits) -> Result<()> {
        let due = pos >= self.decided_at.saturating_add(GUESS_AFTER);
        if !due && self.first_pad.is_none() {
            return Ok(());
        }
        if due && !self.labelled && !self.bet {
            for at in [self.new_rec, self.new_rec.map(|i| i + 1)].into_iter().flatten() {
                if let Some(Rec::New(slot) | Rec::PadAfterNew(slot)) = self.recs.get(at) {
                    out.guess_for(slot, Piece::New(Vec::new()));
                }
            }
            self.bet = true;
        }
        if self.pad_guessed {
            return Ok(());
        }
        let Some(Rec::PadAfterNew(slot) | Rec::PadAfterFirst(slot)) = self.pad_rec.and_then(|i| self.recs.get(i))
        else {
            return Ok(());
        };
        let fresh = limits.label_room.min(MAX_BLOCK);
        let piece = match (
            fit(self.first_pad.map(|b| b.len), self.old_len, self.new_len, fresh),
            self.first_pad,
        ) {
            (Fit::Same, Some(pad)) => Piece::Copy(pad.offset..pad.end()),
            (Fit::Len(n) | Fit::Add(n), _) => {
                let mut bytes = block_header(PADDING, false, n)?.to_vec();
                bytes.extend_from_slice(&zeros(n)?);
                Piece::New(bytes)
            }
            (Fit::Drop | Fit::Same, _) => Piece::New(Vec::new()),
        };
        out.guess_for(slot, piece);
        self.pad_guessed = true;
        Ok(())
    }

    /// Checks what the walk planned against the final `layout`, filling its slots with their
    /// final bytes; returns how many of the layout's blocks are planned, or `None` when the
    /// walk planned something else.
    fn settle(
        self,
        out: &mut PlanBuilder<'_>,
        layout: &[Out],
        blocks: &[Block],
        label_range: &mut Option<Range<u64>>,
    ) -> Result<Option<usize>> {
        let mut j = 0;
        let has_comments = blocks.iter().any(|b| b.kind == VORBIS_COMMENT);
        for rec in self.recs {
            let item = layout.get(j);
            let last = j + 1 == layout.len();
            match rec {
                Rec::Filled => {}
                Rec::Copy(block) => {
                    if item != Some(&Out::Copy(block)) || last {
                        return Ok(None);
                    }
                    j += 1;
                }
                Rec::Item(planned) => {
                    if item != Some(&*planned) || last {
                        return Ok(None);
                    }
                    j += 1;
                }
                Rec::New(slot) => match item {
                    Some(Out::Comments {
                        body,
                        label: Some(span),
                    }) if !has_comments => {
                        let mut bytes = block_header(VORBIS_COMMENT, last, body.len() as u64)?.to_vec();
                        bytes.extend_from_slice(body);
                        let at = out.fill(slot, bytes).start + 4;
                        *label_range = Some(at + span.start as u64..at + span.end as u64);
                        j += 1;
                    }
                    _ => {
                        let _ = out.fill(slot, Vec::new());
                        if !has_comments {
                            return Ok(None);
                        }
                    }
                },
                Rec::PadAfterNew(slot) if has_comments => {
                    let _ = out.fill(slot, Vec::new());
                }
                Rec::PadAfterNew(slot) | Rec::PadAfterFirst(slot) => match item {
                    Some(pad @ Out::Padding(len)) => {
                        let mut bytes = block_header(PADDING, last, pad.len())?.to_vec();
                        bytes.extend_from_slice(&zeros(*len)?);
                        let _ = out.fill(slot, bytes);
                        j += 1;
                    }
                    Some(Out::Copy(pad)) if pad.kind == PADDING && last == (blocks.last() == Some(pad)) => {
                        out.fill_copy(slot, pad.offset..pad.end());
                        j += 1;
                    }
                    Some(Out::Copy(pad)) if pad.kind == PADDING => return Ok(None),
                    _ => {
                        let _ = out.fill(slot, Vec::new());
                    }
                },
            }
        }
        Ok(Some(j))
    }
}

/// What fitting the metadata does to the first padding block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fit {
    /// Nothing changes.
    Same,
    /// The first padding block gets this length.
    Len(u64),
    /// The first padding block goes away.
    Drop,
    /// A padding block of this length is added.
    Add(u64),
}

/// See [`fit_padding`]: the first padding block's length `pad` (`None` without one), the
/// metadata's length before (`old`) and after the change (`new`), the padding a growth that
/// does not fit gets (`fresh`).
fn fit(pad: Option<u64>, old: u64, new: u64, fresh: u64) -> Fit {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match (pad, new.cmp(&old)) {
        (_, Equal) => Fit::Same,
        (Some(len), Greater) => {
            let grow = new - old;
            if grow <= len {
                Fit::Len(len - grow)
            } else if grow == len + 4 || fresh == 0 {
                Fit::Drop
            } else {
                Fit::Len(fresh)
            }
        }
        (Some(len), Less) => Fit::Len((len + (old - new)).min(MAX_BLOCK)),
        (None, Less) if old - new >= 4 => Fit::Add(old - new - 4),
        (None, Greater) if fresh > 0 => Fit::Add(fresh),
        (None, _) => Fit::Same,
    }
}

/// Reads the body of `block`.
fn read_body(src: &mut Source, block: &Block, limits: &Limits) -> Result<Vec<u8>> {
    src.seek_to(block.body())?;
    src.read_vec(block.len, "metadata block", limits)
}

/// Walks the metadata block headers, seeking past their bodies; leaves `src` at the first frame.
fn read_blocks(src: &mut Source, limits: &Limits) -> Result<Vec<Block>> {
    let mut reader = BlockReader::new(src, limits)?;
    let mut blocks = Vec::new();
    loop {
        let (block, last) = reader.next(src, limits)?;
        blocks.push(block);
        if last {
            return Ok(blocks);
        }
    }
}

/// Reads the metadata block headers one at a time, after the `fLaC` marker.
struct BlockReader {
    budget: Budget,
    first: bool,
}

impl BlockReader {
    /// Checks the marker at the start of `src`.
    fn new(src: &mut Source, limits: &Limits) -> Result<Self> {
        src.seek_to(0)?;
        let magic: [u8; 4] = src.read_array("fLaC marker")?;
        if &magic != b"fLaC" {
            return Err(src.malformed("not a FLAC stream"));
        }
        Ok(BlockReader {
            budget: Budget::new(FORMAT, limits),
            first: true,
        })
    }

    /// The next block, and whether it is the last (`src` left after its body); call it at
    /// the block's header, where the last one left `src`.
    fn next(&mut self, src: &mut Source, limits: &Limits) -> Result<(Block, bool)> {
        let offset = src.pos();
        self.budget.tick(offset, limits)?;
        let head: [u8; 4] = src.read_array("metadata block header")?;
        let kind = head[0] & 0x7f;
        let len = u64::from(u32::from_be_bytes([0, head[1], head[2], head[3]]));
        if kind == INVALID {
            return Err(Error::malformed(FORMAT, offset, "metadata block type 127 is invalid"));
        }
        if self.first && (kind != STREAMINFO || len != 34) {
            return Err(Error::malformed(
                FORMAT,
                offset,
                "first metadata block is not a 34-byte STREAMINFO",
            ));
        }
        self.first = false;
        src.skip(len, "metadata block")?;
        Ok((Block { kind, offset, len }, head[0] & 0x80 != 0))
    }
}

/// One block of the output metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Out {
    /// An input block copied as is.
    Copy(Block),
    /// A `VORBIS_COMMENT` body, with the new label's span in it when it holds the label.
    Comments { body: Vec<u8>, label: Option<Range<usize>> },
    /// A `PADDING` block of this length.
    Padding(u64),
}

impl Out {
    fn kind(&self) -> u8 {
        match self {
            Out::Copy(b) => b.kind,
            Out::Comments { .. } => VORBIS_COMMENT,
            Out::Padding(_) => PADDING,
        }
    }

    fn len(&self) -> u64 {
        match self {
            Out::Copy(b) => b.len,
            Out::Comments { body, .. } => body.len() as u64,
            Out::Padding(n) => *n,
        }
    }
}

/// The output blocks before padding is adjusted: comment blocks rebuilt (the first one gets the
/// label; a new one follows `STREAMINFO` when there is none), everything else copied; and the
/// label copies the comment blocks held, as [`Flac::find`] reports them.
fn layout(src: &mut Source, blocks: &[Block], json: &str, limits: &Limits) -> Result<(Vec<Out>, Vec<Found>)> {
    let mut out = Vec::with_capacity(blocks.len() + 1);
    let mut copies = Vec::new();
    let mut labelled = false;
    for block in blocks {
        match block.kind {
            VORBIS_COMMENT => {
                let body = read_body(src, block, limits)?;
                let comments = vorbis_comment::parse(&body, FORMAT, block.body(), limits)?;
                copies.extend(comments.label_fields().map(|(value, span)| {
                    found("VORBIS_COMMENT AIGC", block.in_file(&span), text_of(value), Vec::new())
                }));
                let value = (!labelled).then_some(json);
                if value.is_none() && !comments.has_label() {
                    out.push(Out::Copy(*block));
                    continue;
                }
                let (body, span) = comments.rebuild(value)?;
                out.push(Out::Comments {
                    body,
                    label: value.is_some().then_some(span),
                });
                labelled = true;
            }
            _ => out.push(Out::Copy(*block)),
        }
    }
    if !labelled {
        let (body, span) = vorbis_comment::new_list(VENDOR, json)?;
        out.insert(
            1.min(out.len()),
            Out::Comments {
                body,
                label: Some(span),
            },
        );
    }
    for item in &out {
        if item.len() > MAX_BLOCK {
            return Err(Error::capacity("flac", "label too large for a metadata block"));
        }
    }
    Ok((out, copies))
}

/// Grows or shrinks the first padding block so the metadata keeps its size, when it can; when it
/// cannot, the metadata grows and gets `fresh` bytes of padding for later updates (no padding
/// block when `fresh` is 0).
fn fit_padding(plan: &mut Vec<Out>, blocks: &[Block], fresh: u64) {
    let old: u64 = blocks.iter().map(|b| 4 + b.len).sum();
    let new: u64 = plan.iter().map(|o| 4 + o.len()).sum();
    let pad = plan.iter().position(|o| o.kind() == PADDING);
    match (pad, fit(pad.and_then(|i| plan.get(i)).map(Out::len), old, new, fresh)) {
        (_, Fit::Same) => {}
        (Some(i), Fit::Len(len)) => plan[i] = Out::Padding(len),
        (Some(i), Fit::Drop) => {
            plan.remove(i);
        }
        (_, Fit::Add(len)) => plan.push(Out::Padding(len)),
        (None, Fit::Len(_) | Fit::Drop) => {}
    }
}

/// Moves the first padding block right after the comment block holding the label, where
/// an update in place looks for room. Only padding moves: the other blocks keep their order,
/// and a content binding leaves padding out.
fn pad_after_label(plan: &mut Vec<Out>) {
    let label = plan
        .iter()
        .position(|o| matches!(o, Out::Comments { label: Some(_), .. }));
    let pad = plan.iter().position(|o| o.kind() == PADDING);
    if let (Some(label), Some(pad)) = (label, pad) {
        if pad != label + 1 {
            let item = plan.remove(pad);
            let label = if pad < label { label - 1 } else { label };
            plan.insert(label + 1, item);
        }
    }
}

/// `n` zero bytes, the body of a padding block (at most [`MAX_BLOCK`]).
fn zeros(n: u64) -> Result<Vec<u8>> {
    let n = usize::try_from(n.min(MAX_BLOCK)).map_err(|_| Error::capacity(FORMAT, "padding block"))?;
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| Error::capacity(FORMAT, "padding block does not fit in memory"))?;
    v.resize(n, 0);
    Ok(v)
}

fn block_header(kind: u8, last: bool, len: u64) -> Result<[u8; 4]> {
    let len = u32::try_from(len)
        .ok()
        .filter(|&l| u64::from(l) <= MAX_BLOCK)
        .ok_or_else(|| Error::capacity("flac", "metadata block over 16 MiB"))?;
    let b = len.to_be_bytes();
    Ok([kind | if last { 0x80 } else { 0 }, b[1], b[2], b[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(kind: u8, len: u64) -> Block {
        Block { kind, offset: 0, len }
    }

    fn comments(len: usize) -> Out {
        Out::Comments {
            body: vec![0; len],
            label: Some(0..len),
        }
    }

    const FRESH: u64 = 4096;

    #[test]
    fn padding_absorbs_growth_and_shrinkage() {
        let blocks = [block(0, 34), block(4, 100), block(1, 500)];
        let mut plan = vec![Out::Copy(blocks[0]), comments(300), Out::Copy(blocks[2])];
        fit_padding(&mut plan, &blocks, FRESH);
        assert_eq!(plan[2], Out::Padding(300));
        let mut plan = vec![Out::Copy(blocks[0]), comments(50), Out::Padding(500)];
        fit_padding(&mut plan, &blocks, FRESH);
        assert_eq!(plan[2], Out::Padding(550));
        // Exactly the padding block's header and body: the block goes away.
        let mut plan = vec![Out::Copy(blocks[0]), comments(604), Out::Padding(500)];
        fit_padding(&mut plan, &blocks, FRESH);
        assert_eq!(plan.len(), 2);
        // Too big: new padding for next time; the frames move.
        let mut plan = vec![Out::Copy(blocks[0]), comments(2000), Out::Padding(500)];
        fit_padding(&mut plan, &blocks, FRESH);
        assert_eq!(plan[2], Out::Padding(FRESH));
        // A file too small for fresh padding: the block goes away.
        let mut plan = vec![Out::Copy(blocks[0]), comments(2000), Out::Padding(500)];
        fit_padding(&mut plan, &blocks, 0);
        assert_eq!(plan.len(), 2);
    }

    #[test]
    fn shrinking_without_padding_adds_a_padding_block() {
        let blocks = [block(0, 34), block(4, 100)];
        let mut plan = vec![Out::Copy(blocks[0]), comments(50)];
        fit_padding(&mut plan, &blocks, FRESH);
        assert_eq!(plan[2], Out::Padding(46));
    }

    #[test]
    fn headers_mark_the_last_block() {
        assert_eq!(block_header(4, true, 0x010203).unwrap(), [0x84, 1, 2, 3]);
        assert_eq!(block_header(1, false, 5).unwrap(), [1, 0, 0, 5]);
        assert!(block_header(1, false, MAX_BLOCK + 1).is_err());
    }
}
