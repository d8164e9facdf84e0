//! AVI (RIFF `AVI `): the `AIGC` chunk of the `LIST`/`INFO` list (spec section 4).
//!
//! The `INFO` list sits between `hdrl` and `movi`, where muxers put it. Writing replaces or adds
//! the `AIGC` child of the first top-level `INFO` list, keeping its other children byte for byte
//! (or adds an `INFO` list right after `hdrl`), and then fits the size change so that nothing
//! moves when it can:
//! - a `JUNK` chunk right after gives or takes the bytes (ffmpeg leaves one before `movi`);
//! - a shrink with no `JUNK` after is padded with NULs inside the `AIGC` string.
//!
//! Otherwise `movi` and everything after move. `idx1` offsets relative to `movi` (the usual
//! convention) stay valid; absolute ones (a convention some writers use) are moved; OpenDML
//! indexes, whose offsets are always absolute (`indx` super index entries and the `qwBaseOffset`
//! of each `ix##` standard index they point to), are moved too. Other copies of the label
//! (a top-level `AIGC` chunk, `AIGC` in another `INFO` list) become `JUNK` of the same size.

pub mod track;

use std::ops::Range;

use aigc_label_core::container::Drains;
use aigc_label_core::container::riff::{self, Chunks, Order};
use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::plan::{Piece, Plan as EditPlan, PlanBuilder};
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result};

use crate::common::{Budget, Exclusions, Patch, found, label_json, plan_patched, text, within, zeros};

/// Format name used in errors.
const FORMAT: &str = "avi";
/// The chunk id of the label.
const KEY: &[u8; 4] = b"AIGC";
/// The spec's place, for findings about copies elsewhere.
const SPEC_PLACE: &str = "LIST INFO AIGC";

/// The AVI carrier.
#[derive(Debug, Clone, Copy, Default)]
pub struct Avi;

/// A RIFF chunk as found in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Chunk {
    id: [u8; 4],
    /// For `LIST` and `RIFF`: the list type.
    list: Option<[u8; 4]>,
    start: u64,
    /// Declared data size (without the pad byte).
    size: u64,
}

impl Chunk {
    fn data_start(&self) -> u64 {
        self.start + 8
    }

    /// End including the pad byte to an even offset.
    fn end(&self) -> u64 {
        self.data_start() + self.size + (self.size & 1)
    }

    fn is_list(&self, typ: &[u8; 4]) -> bool {
        self.list.as_ref() == Some(typ)
    }
}

/// An AVI chunk from the container layer's walk: `LIST` and `RIFF` get their list type, and
/// the chunk's data must end by its parent's end (its pad byte may be missing).
fn avi_chunk(src: &mut Source<'_>, c: riff::Chunk) -> Result<Chunk> {
    let list = if &c.id == b"LIST" || &c.id == b"RIFF" {
        if c.size < 4 {
            return Err(Error::malformed(FORMAT, c.start, "list shorter than its type"));
        }
        Some(src.read_array::<4>("list type")?)
    } else {
        None
    };
    if !c.fits {
        return Err(Error::truncated(FORMAT, c.start, "chunk runs past its parent"));
    }
    Ok(Chunk {
        id: c.id,
        list,
        start: c.start,
        size: c.size,
    })
}

/// The chunks inside `range`, at most `Limits::max_structures` of them.
fn children(src: &mut Source<'_>, range: Range<u64>, budget: &mut Budget) -> Result<Vec<Chunk>> {
    let mut out = Vec::new();
    let mut walk = Chunks::new(Order::Little, range.start, range.end);
    while let Some(c) = walk.next(src, budget, None)? {
        out.push(avi_chunk(src, c)?);
    }
    Ok(out)
}

/// The first `RIFF AVI ` and its top-level chunks.
struct Layout {
    riff: Chunk,
    top: Vec<Chunk>,
}

fn layout(src: &mut Source<'_>, budget: &mut Budget, strict: bool) -> Result<Layout> {
    let start = src.pos();
    let header = riff::read_chunk(src, Order::Little, start, u64::MAX, None)?;
    let riff = avi_chunk(src, header)?;
    if !riff.is_list(b"AVI ") {
        return Err(Error::malformed(FORMAT, 0, "not a RIFF AVI file"));
    }
    let declared_end = riff.data_start() + riff.size;
    if strict && declared_end > src.len() {
        return Err(Error::truncated(FORMAT, 4, "RIFF size runs past the end of the file"));
    }
    let end = declared_end.min(src.len());
    let top = children(src, riff.data_start() + 4..end, budget)?;
    Ok(Layout { riff, top })
}

impl Carrier for Avi {
    fn info(&self) -> &'static aigc_label_core::Info {
        &aigc_label_core::Info {
            format: FORMAT,
            media_type: "video/x-msvideo",
            extensions: &["avi"],
        }
    }

    fn stamp(&self) -> Option<&dyn aigc_label_core::stamp::Stamp> {
        Some(&aigc_label_core::stamp::Medium::Video)
    }

    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(b"RIFF") && head.get(8..12) == Some(b"AVI ")
    }

    fn find(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Found>> {
        let mut src = Source::new(input, FORMAT)?;
        let mut budget = Budget::new(limits);
        let layout = layout(&mut src, &mut budget, false)?;
        let copies = copies(&mut src, &layout, &mut budget)?;
        found_copies(&mut src, &copies, limits)
    }

    /// One walk of the top-level chunks (and the lists that may hold a label): the copies are
    /// reported, the `INFO` list rebuilt, and every other byte planned as a copied range with
    /// the offsets that move patched.
    fn plan(
        &self,
        input: &mut dyn ReadSeek,
        label: &Label,
        limits: &Limits,
        out: PlanBuilder<'_>,
    ) -> Result<Option<EditPlan>> {
        edit_plan(input, label, limits, out).map(Some)
    }

    /// Left out of a content binding (everything else is covered: `hdrl`, the other `INFO`
    /// items, `movi` and `idx1`):
    /// - each `AIGC` chunk holding a label copy (header, string and pad byte);
    /// - the `RIFF` size at offset 4, and the size of the first top-level `INFO` list, where
    ///   the writer puts the label: both change with the label's size;
    /// - the `JUNK` chunk right after that list (or after `hdrl`, where a new list goes), whose
    ///   bytes the writer gives to the list or takes back so that nothing after it moves;
    /// - when that padding cannot absorb a change and `movi` moves, the offsets that point
    ///   past the list: `idx1` entries when they are absolute (relative ones, the usual kind,
    ///   do not change and stay covered), OpenDML super index entries and `ix##` base offsets.
    ///   The chunks they point to stay covered.
    fn binding_exclusions(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Range<u64>>> {
        let mut src = Source::new(input, FORMAT)?;
        let mut budget = Budget::new(limits);
        let layout = layout(&mut src, &mut budget, false)?;
        let mut out = Exclusions::new(FORMAT, src.len(), limits);
        out.field(4, 4)?;
        for c in copies(&mut src, &layout, &mut budget)?.iter().take(limits.max_copies) {
            out.add(c.chunk.start..c.chunk.end())?;
        }
        let target = layout.top.iter().position(|c| c.is_list(b"INFO"));
        let anchor = target.or_else(|| layout.top.iter().position(|c| c.is_list(b"hdrl")));
        let Some(list) = anchor.and_then(|i| layout.top.get(i)).copied() else {
            return Ok(out.into_ranges());
        };
        if target.is_some() {
            out.field(list.start + 4, 4)?;
        }
        let from = list.end();
        if let Some(junk) = layout.top.iter().find(|c| c.start == from && &c.id == b"JUNK") {
            out.add(junk.start..junk.end())?;
        }
        let mut moving = Vec::new();
        let walked = offset_fields(&mut src, &layout, &mut budget, &mut |f| {
            if f.value >= from {
                moving.push(f.pos..f.pos + u64::from(f.width));
            }
            Ok(())
        });
        match walked {
            // The writer refuses to move indexes it cannot read, so they never change: covered.
            Err(e) if e.is_input_fault() => {}
            Err(e) => return Err(e),
            Ok(()) => {
                for r in moving {
                    out.add(r)?;
                }
            }
        }
        Ok(out.into_ranges())
    }
}

/// The label copies `copies` as [`Avi::find`] reports them.
fn found_copies(src: &mut Source<'_>, copies: &[Copy], limits: &Limits) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    for (i, c) in copies.iter().enumerate().take(limits.max_copies) {
        out.push(found_copy(src, c, i == 0, limits)?);
    }
    Ok(out)
}

/// The label copy `c` as [`Avi::find`] reports it; `first` when no copy is reported before
/// it (the first copy of the first top-level `INFO` list is the one in place).
fn found_copy(src: &mut Source<'_>, c: &Copy, first: bool, limits: &Limits) -> Result<Found> {
    src.seek_to(c.chunk.data_start())?;
    let value = src.read_vec(c.chunk.size, "INFO value", limits)?;
    let wild = (!first || !c.in_top_info).then_some(SPEC_PLACE);
    let place = if c.in_top_info { SPEC_PLACE } else { c.place };
    Ok(found(place, c.chunk.start..c.chunk.end(), text(&value), wild))
}

/// Plans [`Avi::write`]'s output, collecting the copies [`Avi::find`] reports on the way: in
/// one walk that a streaming builder writes as it goes ([`walk_plan`]) when the label fits
/// without moving `movi`, else from the whole layout ([`layout_plan`]).
fn edit_plan(input: &mut dyn ReadSeek, label: &Label, limits: &Limits, mut out: PlanBuilder<'_>) -> Result<EditPlan> {
    let mut src = Source::new(input, FORMAT)?;
    let len = src.len();
    let plan = match walk_plan(&mut src, label, limits, &mut out)? {
        Some((found, label_range)) => out.finish(found, label_range),
        None => {
            out.restart()?;
            layout_plan(&mut src, label, limits, out)?
        }
    };
    within(&plan, len, FORMAT)?;
    Ok(plan)
}

/// Where the new `INFO` list goes, once the walk has met it: in place of the first top-level
/// `INFO` list, or (when the file has none) right after `hdrl`.
struct Anchor {
    /// The `INFO` list replaced, or `hdrl`.
    chunk: Chunk,
    /// The new list, and where its `AIGC` chunk starts.
    info: Vec<u8>,
    aigc_at: usize,
    /// The bytes the new list replaces (0 after `hdrl`).
    old_len: u64,
}

/// The label copies one walk meets, kept as [`Avi::find`] orders them.
#[derive(Default)]
struct Met {
    /// Copies in the first top-level `INFO` list (the spec's place), reported first.
    top: Vec<Found>,
    /// Every other copy.
    others: Vec<Found>,
    /// Every copy read, in walk order, for the embed step's check.
    walked: Vec<Found>,
}

impl Met {
    /// Records `c` (its size checked against the limits; its value read while fewer than
    /// `max_copies` of its kind are kept, all [`Avi::find`] reports).
    fn add(&mut self, src: &mut Source<'_>, c: &Copy, limits: &Limits) -> Result<()> {
        limits.check_metadata(FORMAT, c.chunk.start, c.chunk.size)?;
        let kind = if c.in_top_info { &mut self.top } else { &mut self.others };
        if kind.len() < limits.max_copies {
            let copy = found_copy(src, c, c.in_top_info && kind.is_empty(), limits)?;
            kind.push(copy.clone());
            self.walked.push(copy);
        }
        Ok(())
    }

    /// The copies as [`Avi::find`] reports them.
    fn into_found(self, limits: &Limits) -> Vec<Found> {
        let mut found = self.top;
        found.extend(self.others);
        found.truncate(limits.max_copies);
        found
    }
}

/// Plans the output in one walk of the top-level chunks, each planned as soon as it is read
/// (and drained while it is in the input's buffer). The walk decides where the label goes from
/// what it has met: the first `INFO` list, or a new one after `hdrl` when no `INFO` list came
/// before the chunk after `hdrl`. Returns `None`, to be planned again from the whole layout,
/// when that was wrong (an `INFO` list comes later) or when the new list does not fit without
/// moving what follows: moved index offsets may sit anywhere, and the `RIFF` size before them
/// changes. The header is planned as a guess (it holds the unchanged size), so that a sink that
/// cannot be cut back writes nothing before the walk has succeeded.
fn walk_plan(
    src: &mut Source<'_>,
    label: &Label,
    limits: &Limits,
    out: &mut PlanBuilder<'_>,
) -> Result<Option<(Vec<Found>, Range<u64>)>> {
    let mut budget = Budget::new(limits);
    let header = riff::read_chunk(src, Order::Little, 0, u64::MAX, None)?;
    let riff = avi_chunk(src, header)?;
    if !riff.is_list(b"AVI ") {
        return Err(Error::malformed(FORMAT, 0, "not a RIFF AVI file"));
    }
    let len = src.len();
    let declared_end = riff.data_start() + riff.size;
    if declared_end > len {
        return Err(Error::truncated(FORMAT, 4, "RIFF size runs past the end of the file"));
    }
    let size = u32::try_from(riff.size).map_err(|_| Error::capacity("avi", "the RIFF list would exceed 4 GiB"))?;
    let head = [&b"RIFF"[..], &size.to_le_bytes(), b"AVI "].concat();
    let slot = out.guess(Piece::New(head.clone()));
    let json = label_json(label);
    let mut walk = Chunks::new(Order::Little, riff.data_start() + 4, declared_end);
    let mut drains = Drains::default();
    let mut met = Met::default();
    let mut first_info = true;
    let mut pending: Option<Anchor> = None;
    let mut after_hdrl = false;
    let mut label_range = None;
    let mut cursor = riff.data_start() + 4;
    loop {
        drains.drain(out, src, &met.walked)?;
        let Some(c) = walk.next(src, &mut budget, None)? else {
            break;
        };
        let c = avi_chunk(src, c)?;
        out.copy(cursor..c.start);
        cursor = c.end().min(len);
        let target = c.is_list(b"INFO") && first_info;
        if target && label_range.is_some() {
            // The file has an INFO list after all: the label belongs there.
            return Ok(None);
        }
        let mut copies = Vec::new();
        chunk_copies(src, &c, &mut first_info, &mut budget, &mut copies)?;
        for copy in &copies {
            met.add(src, copy, limits)?;
        }
        if target {
            // The first INFO list (right after hdrl, or before it): rebuilt with the label.
            let (info, aigc_at) = rebuild_info(src, &c, &json, limits, &mut budget)?;
            let old_len = c.end() - c.start;
            pending = Some(Anchor {
                chunk: c,
                info,
                aigc_at,
                old_len,
            });
            continue;
        }
        let mut resized = None;
        if let Some(anchor) = pending.take() {
            match place(out, anchor, Some(&c)) {
                Some((range, junk)) => (label_range, resized) = (Some(range), junk),
                None => return Ok(None),
            }
        }
        match resized {
            Some((j, total)) => put_junk(out, &j, total)?,
            None => plan_patched(out, len, c.start..cursor, &junk_all(&copies))?,
        }
        if c.is_list(b"hdrl") && label_range.is_none() && !after_hdrl {
            after_hdrl = true;
            let (info, aigc_at) = new_info(&json);
            pending = Some(Anchor {
                chunk: c,
                info,
                aigc_at,
                old_len: 0,
            });
        }
    }
    if let Some(anchor) = pending.take() {
        match place(out, anchor, None) {
            Some((range, _)) => label_range = Some(range),
            None => return Ok(None),
        }
    }
    let Some(label_range) = label_range else {
        return Err(Error::malformed(FORMAT, 12, "no hdrl list"));
    };
    out.copy(cursor..len);
    let _ = out.fill(slot, head);
    Ok(Some((met.into_found(limits), label_range)))
}

/// Plans the new list of `anchor` where it goes (after `hdrl`, already planned, or in place of
/// the `INFO` list), `next` being the chunk that follows; returns where the list sits and the
/// `JUNK` chunk resized to make room. `None` when the list does not fit without moving `next`.
fn place(out: &mut PlanBuilder<'_>, anchor: Anchor, next: Option<&Chunk>) -> Option<(Range<u64>, Option<Resized>)> {
    let Anchor {
        chunk,
        mut info,
        aigc_at,
        old_len,
    } = anchor;
    let (delta, junk) = fit(&mut info, aigc_at, old_len, chunk.end(), next);
    if delta != 0 {
        return None;
    }
    let at = out.position();
    out.put(&info);
    Some((at..at + info.len() as u64, junk))
}

/// Patches that turn every copy of `copies` into `JUNK`, sorted by position.
fn junk_all(copies: &[Copy]) -> Vec<Patch> {
    let mut patches: Vec<Patch> = copies.iter().flat_map(|c| junk(&c.chunk)).collect();
    patches.sort_by_key(|p| p.pos);
    patches
}

/// Plans [`Avi::write`]'s output from the whole layout, which a walk reads first: where the new
/// list moves `movi`, the index offsets that point past it are patched.
fn layout_plan(src: &mut Source<'_>, label: &Label, limits: &Limits, mut out: PlanBuilder<'_>) -> Result<EditPlan> {
    src.seek_to(0)?;
    let mut budget = Budget::new(limits);
    let layout = layout(src, &mut budget, true)?;
    let copies = copies(src, &layout, &mut budget)?;
    for c in &copies {
        limits.check_metadata(FORMAT, c.chunk.start, c.chunk.size)?;
    }
    let found = found_copies(src, &copies, limits)?;
    let json = label_json(label);

    // The INFO list that gets the label, and where it goes.
    let target = layout.top.iter().position(|c| c.is_list(b"INFO"));
    let hdrl = layout.top.iter().position(|c| c.is_list(b"hdrl"));
    let ((mut info, aigc_at), replaced) = match target.and_then(|i| layout.top.get(i)) {
        Some(c) => (rebuild_info(src, c, &json, limits, &mut budget)?, Some(*c)),
        None => (new_info(&json), None),
    };
    // Copies the new INFO list replaces; the rest become JUNK.
    let mut patches: Vec<Patch> = copies
        .iter()
        .filter(|c| replaced.is_none_or(|r| !(r.start < c.chunk.start && c.chunk.end() <= r.end())))
        .flat_map(|c| junk(&c.chunk))
        .collect();
    let old_len = replaced.map_or(0, |c| c.end() - c.start);
    let anchor = match (target, hdrl) {
        (Some(t), _) => t,
        (None, Some(h)) => h,
        (None, None) => return Err(Error::malformed(FORMAT, 12, "no hdrl list")),
    };
    let insert_at = layout.top.get(anchor).map_or(12, Chunk::end);
    let (delta, resized_junk) = fit(&mut info, aigc_at, old_len, insert_at, layout.top.get(anchor + 1));
    if delta != 0 {
        patches.extend(moved_offsets(src, &layout, insert_at, delta, &mut budget)?);
    }
    patches.sort_by_key(|p| p.pos);

    let new_riff_size = u32::try_from(layout.riff.size as i64 + delta)
        .map_err(|_| Error::capacity("avi", "the RIFF list would exceed 4 GiB"))?;
    let len = src.len();
    out.put(b"RIFF");
    out.put(&new_riff_size.to_le_bytes());
    out.put(b"AVI ");
    let mut label_range = 0..0;
    let mut cursor = 12;
    for (i, c) in layout.top.iter().enumerate() {
        plan_patched(&mut out, len, cursor..c.start, &patches)?;
        cursor = c.end().min(len);
        if Some(i) == target {
            label_range = out.position()..out.position() + info.len() as u64;
            out.put(&info);
        } else if let Some((j, total)) = resized_junk.filter(|(j, _)| j == c) {
            put_junk(&mut out, &j, total)?;
        } else {
            plan_patched(&mut out, len, c.start..cursor, &patches)?;
        }
        if target.is_none() && i == anchor {
            label_range = out.position()..out.position() + info.len() as u64;
            out.put(&info);
        }
    }
    plan_patched(&mut out, len, cursor..len, &patches)?;
    Ok(out.finish(found, label_range))
}

/// A `JUNK` chunk and the total size it takes to make room for a new list.
type Resized = (Chunk, u64);

/// Fits the new `INFO` list `info` (its `AIGC` chunk at `aigc_at`) in place of `old_len`
/// bytes ending at `insert_at`, where `next` follows: a `JUNK` chunk there gives or takes the
/// difference when it can, else a shrink pads the label's string. Returns how far everything
/// after `insert_at` moves, and the `JUNK` chunk with its new total size.
fn fit(
    info: &mut Vec<u8>,
    aigc_at: usize,
    old_len: u64,
    insert_at: u64,
    next: Option<&Chunk>,
) -> (i64, Option<Resized>) {
    let mut delta = info.len() as i64 - old_len as i64;
    let next_junk = next.copied().filter(|c| &c.id == b"JUNK" && c.start == insert_at);
    let mut resized_junk = None;
    if delta != 0 {
        if let Some(j) = next_junk {
            let total = (j.end() - j.start) as i64 - delta;
            if total == 0 || total >= 8 {
                resized_junk = Some((j, total as u64));
                delta = 0;
            }
        }
    }
    if delta < 0 {
        pad_value(info, aigc_at, (-delta) as usize);
        delta = 0;
    }
    (delta, resized_junk)
}

/// Plans `JUNK` chunk `j` resized to `total` bytes (nothing for 0): its data kept as far as it
/// goes, then zeros.
fn put_junk(out: &mut PlanBuilder<'_>, j: &Chunk, total: u64) -> Result<()> {
    if total > 0 {
        out.put(b"JUNK");
        out.put(&((total - 8) as u32).to_le_bytes());
        let kept = j.size.min(total - 8);
        out.copy(j.data_start()..j.data_start() + kept);
        out.put(&zeros(total - 8 - kept)?);
    }
    Ok(())
}

/// A label copy: an `AIGC` chunk, in an `INFO` list or at the top level.
struct Copy {
    chunk: Chunk,
    /// In the first top-level `INFO` list: the spec's place.
    in_top_info: bool,
    place: &'static str,
}

/// Every `AIGC` chunk: in top-level `INFO` lists, in `INFO` lists inside `hdrl`, and at the
/// top level (a variant written by tools that treat AVI like WAV).
fn copies(src: &mut Source<'_>, layout: &Layout, budget: &mut Budget) -> Result<Vec<Copy>> {
    let mut out = Vec::new();
    let mut first_info = true;
    for c in &layout.top {
        chunk_copies(src, c, &mut first_info, budget, &mut out)?;
    }
    // The spec's place first, so that it is the one reported as in place.
    out.sort_by_key(|c| !c.in_top_info);
    Ok(out)
}

/// The `AIGC` chunks of top-level chunk `c` (see [`copies`]), appended to `out`; `first_info`
/// holds until the first top-level `INFO` list has been walked.
fn chunk_copies(
    src: &mut Source<'_>,
    c: &Chunk,
    first_info: &mut bool,
    budget: &mut Budget,
    out: &mut Vec<Copy>,
) -> Result<()> {
    if c.is_list(b"INFO") {
        for k in children(src, c.data_start() + 4..c.data_start() + c.size, budget)? {
            if &k.id == KEY {
                out.push(Copy {
                    chunk: k,
                    in_top_info: *first_info,
                    place: "LIST INFO AIGC (second INFO list)",
                });
            }
        }
        *first_info = false;
    } else if c.is_list(b"hdrl") {
        for l in children(src, c.data_start() + 4..c.data_start() + c.size, budget)? {
            if l.is_list(b"INFO") {
                for k in children(src, l.data_start() + 4..l.data_start() + l.size, budget)? {
                    if &k.id == KEY {
                        out.push(Copy {
                            chunk: k,
                            in_top_info: false,
                            place: "hdrl/LIST INFO AIGC",
                        });
                    }
                }
            }
        }
    } else if &c.id == KEY {
        out.push(Copy {
            chunk: *c,
            in_top_info: false,
            place: "RIFF AIGC chunk",
        });
    }
    Ok(())
}

/// Patches that turn a chunk into `JUNK` of the same size, its data zeroed.
fn junk(c: &Chunk) -> Vec<Patch> {
    vec![
        Patch {
            pos: c.start,
            bytes: b"JUNK".to_vec(),
        },
        Patch {
            pos: c.data_start(),
            bytes: vec![0; c.size as usize],
        },
    ]
}

/// The `AIGC` chunk: the JSON as a NUL-terminated string, padded to an even size.
fn aigc_chunk(json: &str) -> Vec<u8> {
    let size = json.len() + 1;
    let mut out = Vec::with_capacity(size + 9);
    out.extend_from_slice(KEY);
    out.extend_from_slice(&(size as u32).to_le_bytes());
    out.extend_from_slice(json.as_bytes());
    out.push(0);
    if size & 1 == 1 {
        out.push(0);
    }
    out
}

/// Grows the `AIGC` string, the last chunk of a list we built, by `by` NULs (an even count, as
/// every chunk here has an even total size) so that the list keeps its old size.
fn pad_value(info: &mut Vec<u8>, aigc_at: usize, by: usize) {
    let size = info
        .get(aigc_at + 4..aigc_at + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_le_bytes) as usize;
    info.resize(info.len() + by, 0);
    if let Some(slot) = info.get_mut(aigc_at + 4..aigc_at + 8) {
        slot.copy_from_slice(&((size + by) as u32).to_le_bytes());
    }
    set_list_size(info);
}

fn set_list_size(list: &mut [u8]) {
    let size = (list.len() - 8) as u32;
    if let Some(slot) = list.get_mut(4..8) {
        slot.copy_from_slice(&size.to_le_bytes());
    }
}

/// A new `INFO` list holding only the label; and where its `AIGC` chunk starts.
fn new_info(json: &str) -> (Vec<u8>, usize) {
    let mut out = b"LIST\0\0\0\0INFO".to_vec();
    out.extend_from_slice(&aigc_chunk(json));
    set_list_size(&mut out);
    (out, 12)
}

/// The `INFO` list with its `AIGC` children dropped and one new `AIGC` chunk at the end; and
/// where that chunk starts.
fn rebuild_info(
    src: &mut Source<'_>,
    info: &Chunk,
    json: &str,
    limits: &Limits,
    budget: &mut Budget,
) -> Result<(Vec<u8>, usize)> {
    let kids = children(src, info.data_start() + 4..info.data_start() + info.size, budget)?;
    let mut out = b"LIST\0\0\0\0INFO".to_vec();
    for k in kids.iter().filter(|k| &k.id != KEY) {
        src.seek_to(k.start)?;
        let len = k.end().min(info.data_start() + info.size) - k.start;
        out.extend_from_slice(&src.read_vec(len, "INFO item", limits)?);
        if len & 1 == 1 {
            out.push(0);
        }
    }
    let aigc_at = out.len();
    out.extend_from_slice(&aigc_chunk(json));
    set_list_size(&mut out);
    Ok((out, aigc_at))
}

/// An absolute file offset stored in an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OffsetField {
    /// Where the field is.
    pos: u64,
    /// 4 (`idx1`) or 8 (OpenDML) bytes, little-endian.
    width: u8,
    /// The offset it holds.
    value: u64,
}

/// Patches for every absolute offset at or after `from` when the bytes there move by `delta`:
/// `idx1` entries when they are absolute, and OpenDML `indx`/`ix##` offsets.
fn moved_offsets(
    src: &mut Source<'_>,
    layout: &Layout,
    from: u64,
    delta: i64,
    budget: &mut Budget,
) -> Result<Vec<Patch>> {
    let mut patches = Vec::new();
    offset_fields(src, layout, budget, &mut |f| {
        if f.value < from {
            return Ok(());
        }
        let what = if f.width == 4 { "idx1" } else { "OpenDML" };
        let new = f.value.checked_add_signed(delta).ok_or_else(|| too_far(what))?;
        let bytes = if f.width == 4 {
            u32::try_from(new).map_err(|_| too_far(what))?.to_le_bytes().to_vec()
        } else {
            new.to_le_bytes().to_vec()
        };
        patches.push(Patch { pos: f.pos, bytes });
        Ok(())
    })?;
    Ok(patches)
}

/// Calls `each` for every absolute offset field of the file: the `idx1` entries when they are
/// absolute, and the OpenDML `indx` super index entries and `ix##` base offsets.
///
/// Which fields there are must not depend on bytes a write changes, or a rewrite would find
/// another set than the binding left out. So the walk reads only structure a write leaves in
/// place or moves as a whole: the standard indexes a super index names count only when they
/// are `ix##` chunks inside a `movi` list (or after the first `RIFF`, where `AVIX` parts go),
/// none overlapping another; anything else is refused as malformed.
fn offset_fields(
    src: &mut Source<'_>,
    layout: &Layout,
    budget: &mut Budget,
    each: &mut dyn FnMut(OffsetField) -> Result<()>,
) -> Result<()> {
    let movi = layout.top.iter().find(|c| c.is_list(b"movi")).copied();
    if let (Some(idx1), Some(movi)) = (layout.top.iter().find(|c| &c.id == b"idx1"), movi) {
        if idx1_is_absolute(src, idx1, &movi)? {
            let count = idx1.size / 16;
            for i in 0..count {
                budget.tick(FORMAT, idx1.data_start() + i * 16)?;
                let pos = idx1.data_start() + i * 16 + 8;
                src.seek_to(pos)?;
                let value = u64::from(u32::from_le_bytes(src.read_array("idx1 offset")?));
                each(OffsetField { pos, width: 4, value })?;
            }
        }
    }
    let riff_end = (layout.riff.data_start() + layout.riff.size).min(src.len());
    let mut places = IndexPlaces {
        allowed: layout
            .top
            .iter()
            .filter(|c| c.is_list(b"movi"))
            .map(|c| c.data_start() + 4..(c.data_start() + c.size).min(riff_end))
            .chain(std::iter::once(riff_end..src.len()))
            .collect(),
        seen: Vec::new(),
    };
    for c in layout.top.iter().filter(|c| c.is_list(b"hdrl")) {
        for strl in children(src, c.data_start() + 4..c.data_start() + c.size, budget)?
            .iter()
            .filter(|l| l.is_list(b"strl"))
        {
            for indx in children(src, strl.data_start() + 4..strl.data_start() + strl.size, budget)?
                .iter()
                .filter(|k| &k.id == b"indx")
            {
                opendml_fields(src, indx.data_start(), indx.size, budget, &mut places, each)?;
            }
        }
    }
    places.check_disjoint()
}

/// Where the standard indexes a super index names may be, and those met so far.
struct IndexPlaces {
    /// The `movi` lists' data, and what follows the first `RIFF`.
    allowed: Vec<Range<u64>>,
    /// Each standard index followed: its chunk header and index header.
    seen: Vec<Range<u64>>,
}

impl IndexPlaces {
    /// The size of a standard index's chunk header and index header, all the walk reads.
    const HEAD: u64 = 8 + 24;

    /// Whether the bytes at `at` may be a standard index: inside an allowed range.
    fn admits(&self, at: u64) -> bool {
        at.checked_add(Self::HEAD)
            .is_some_and(|end| self.allowed.iter().any(|r| r.start <= at && end <= r.end))
    }

    /// Refuses standard indexes that overlap: a write would patch one's header through the
    /// other's base offset.
    fn check_disjoint(&mut self) -> Result<()> {
        self.seen.sort_by_key(|r| r.start);
        match self.seen.windows(2).find(|w| w[0].end > w[1].start) {
            Some(w) => Err(Error::malformed(FORMAT, w[1].start, "OpenDML standard indexes overlap")),
            None => Ok(()),
        }
    }
}

fn too_far(what: &str) -> Error {
    Error::capacity("avi", format!("a 32-bit {what} offset cannot hold the moved position"))
}

/// Whether `idx1` holds absolute file offsets rather than offsets from the `movi` list type:
/// its first entry names a chunk inside `movi`, so an absolute offset is at least where `movi`'s
/// data starts, and a relative one (usually 4) is less. The test reads no chunk data, so a
/// write that moves `movi` (and patches absolute offsets with it) never changes its answer.
fn idx1_is_absolute(src: &mut Source<'_>, idx1: &Chunk, movi: &Chunk) -> Result<bool> {
    if idx1.size < 16 {
        return Ok(false);
    }
    src.seek_to(idx1.data_start() + 8)?;
    let offset = u64::from(u32::from_le_bytes(src.read_array("idx1 offset")?));
    Ok(offset >= movi.data_start())
}

/// The offsets of an OpenDML index at `data` (`indx` or `ix##` data): the entries of a super
/// index and, through them, each standard index's `qwBaseOffset`; or a standard index's own
/// base.
fn opendml_fields(
    src: &mut Source<'_>,
    data: u64,
    size: u64,
    budget: &mut Budget,
    places: &mut IndexPlaces,
    each: &mut dyn FnMut(OffsetField) -> Result<()>,
) -> Result<()> {
    if size < 24 {
        return Ok(());
    }
    src.seek_to(data)?;
    let h: [u8; 24] = src.read_array("OpenDML index header")?;
    let longs_per_entry = u64::from(u16::from_le_bytes([h[0], h[1]]));
    let index_type = h[3];
    let in_use = u64::from(u32::from_le_bytes([h[4], h[5], h[6], h[7]]));
    let read_u64 = |src: &mut Source<'_>, pos: u64| -> Result<OffsetField> {
        src.seek_to(pos)?;
        let value = u64::from_le_bytes(src.read_array("OpenDML offset")?);
        Ok(OffsetField { pos, width: 8, value })
    };
    match index_type {
        // AVI_INDEX_OF_INDEXES: entries of {qwOffset, dwSize, dwDuration}.
        0 => {
            let entry = longs_per_entry * 4;
            if entry < 16 || in_use.saturating_mul(entry) > size - 24 {
                return Err(Error::malformed(
                    FORMAT,
                    data,
                    "OpenDML super index entries overrun the chunk",
                ));
            }
            for i in 0..in_use {
                budget.tick(FORMAT, data + 24 + i * entry)?;
                let field = read_u64(src, data + 24 + i * entry)?;
                each(field)?;
                // The standard index it points to: an `ix##` chunk header, then its own header
                // (type 1, AVI_INDEX_OF_CHUNKS) with the base offset 12 bytes in.
                let target = field.value;
                if places.admits(target) {
                    src.seek_to(target)?;
                    let head: [u8; 32] = src.read_array("OpenDML standard index")?;
                    if head.starts_with(b"ix") && head[8 + 3] == 1 {
                        places.seen.push(target..target + IndexPlaces::HEAD);
                        each(read_u64(src, target + 8 + 12)?)?;
                    }
                }
            }
        }
        // AVI_INDEX_OF_CHUNKS: qwBaseOffset after the chunk id.
        1 => each(read_u64(src, data + 12)?)?,
        _ => {}
    }
    Ok(())
}
