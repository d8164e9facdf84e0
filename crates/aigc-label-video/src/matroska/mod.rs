//! Matroska and WebM: a `Tags/Tag/SimpleTag` with `TagName` `AIGC` and the JSON as `TagString`,
//! in a `Tag` whose `Targets` cover the whole file (spec section 4; RFC 9559 §5.1.8).
//!
//! Matroska positions (`SeekHead` entries, `Cues`) are relative to the Segment's data, so the
//! writer never moves an element: every change is made in place, and fits into space the file
//! already has, in this order of preference:
//! 1. a `Tags` element holding no other Tag grows (or keeps its size) into the `Void` that
//!    follows it: re-labelling a file we labelled before lands here, or in 1b;
//!    1b. a `Tags` element that ends the Segment (with or without a `Void` after it) takes any
//!    new size, since nothing after it can move; the Segment size (if known) follows;
//! 2. a `Void` before the first Cluster large enough for a new `Tags` element is overwritten;
//! 3. a new `Tags` element is appended at the end of the Segment, the Segment size (if known)
//!    is updated, and a `Seek` entry for it is added to the `SeekHead`, which grows into the
//!    `Void` after it (muxers reserve one there); unknown-size Segments are fine.
//!
//! So a label rewrite never moves a Cluster or changes a stored position, and a content
//! binding covers all of them (see `binding_exclusions` for the few bytes it leaves out).
//!
//! A `Tags` element of our own (cases 1, 1b, 2 and 3) holds our Tag and then a `Void` inside it,
//! the room later labels take without a rewrite ([`InPlace`]): [`Limits::label_room`]
//! bytes when the element is appended or grows, whatever the space leaves when it fills one.
//!
//! Elements that lose an `AIGC` tag keep their size (the rest becomes `Void`), and every
//! rebuilt element that starts with a CRC-32 gets its CRC recomputed.

mod binding;
pub(crate) mod ebml;
mod in_place;
pub mod track;

use std::ops::Range;

use aigc_label_core::check::Check;
use aigc_label_core::container::Drains;
use aigc_label_core::in_place::{InPlace, SECTOR, in_one_sector};
use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::plan::{Piece, Plan as EditPlan, PlanBuilder};
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result};

use self::ebml::{Child, Element, FORMAT, children, element, fill, fix_crc, id, read_element, void};
use crate::common::{Budget, Patch, STRUCTURE_SIZE, check_depth, found, label_json, text, within};

/// The spec's place, named in findings about copies elsewhere.
const SPEC_PLACE: &str = "Tags/Tag/SimpleTag AIGC";
/// The tag name.
const KEY: &[u8] = b"AIGC";

/// The Matroska / WebM carrier.
#[derive(Debug, Clone, Copy, Default)]
pub struct Matroska;

/// A Segment child with its extent resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Level1 {
    id: u32,
    start: u64,
    end: u64,
    /// Where the size field says the element ends, when that is past the Segment's end and the
    /// element was cut at the next Segment-level element instead (see [`segment`]).
    claimed_end: Option<u64>,
}

impl Level1 {
    fn len(&self) -> u64 {
        self.end - self.start
    }
}

/// The first Segment and its children.
struct Segment {
    el: Element,
    end: u64,
    kids: Vec<Level1>,
    /// Where the Segment's size says it ends, when that is past the end of the file (it is
    /// then read up to the end of the file).
    claimed_end: Option<u64>,
}

impl Segment {
    /// Input position of a Segment-relative position 0 (SeekHead and Cues positions count
    /// from here).
    fn data_start(&self) -> u64 {
        self.el.data_start()
    }

    /// `structure.truncated` warnings for the Segment and for `e`, when their sizes ran past the end.
    fn damage(&self, e: &Level1) -> Vec<Check> {
        let mut out = Vec::new();
        let mut warn = |what: &str, start: u64, claimed: u64, end: u64| {
            out.push(Check::warn(
                STRUCTURE_SIZE,
                format!(
                    "{what} at byte {start} claims to end at byte {claimed}, past the end of its parent; read up to byte {end} (embed writes its true size)"
                ),
            ));
        };
        if let Some(claimed) = self.claimed_end {
            warn("the Segment", self.el.start, claimed, self.end);
        }
        if let Some(claimed) = e.claimed_end {
            warn("the Tags element", e.start, claimed, e.end);
        }
        out
    }
}

/// Reads the first Segment and walks its children.
///
/// Damaged sizes are read the way ffmpeg reads them: a Segment whose size runs past the end of
/// the file ends at the end of the file, and a child whose size runs past the Segment's end is
/// read as if its size were unknown (up to the next Segment-level element ID), with the claimed
/// end kept for a `structure.truncated` warning. A writer (`strict`) accepts that for the Segment
/// (it writes the Segment's true size) and for a `Tags` element (which it rewrites whole);
/// anything else past the end means data is missing, and is refused.
fn segment(src: &mut Source<'_>, limits: &Limits, strict: bool) -> Result<Segment> {
    segment_with(src, limits, strict, &mut |_, _, _| Ok(()))
}

/// [`segment`], calling `each` with the Segment's header and each child as the walk meets it
/// (`src` after the child's header; `each` may read, and the walk goes on where it was).
fn segment_with(
    src: &mut Source<'_>,
    limits: &Limits,
    strict: bool,
    each: &mut dyn FnMut(&mut Source<'_>, &Element, &Level1) -> Result<()>,
) -> Result<Segment> {
    let len = src.len();
    let header = read_element(src, len)?;
    let header_end = match (header.id, header.end()) {
        (id::EBML, Some(end)) => end,
        _ => return Err(Error::malformed(FORMAT, 0, "no EBML header")),
    };
    src.seek_to(header_end)?;
    let mut budget = Budget::new(limits);
    let el = loop {
        budget.tick(FORMAT, src.pos())?;
        let el = ebml::read_element_unchecked(src)?;
        match (el.id, el.end()) {
            (id::SEGMENT, _) => break el,
            (id::VOID | id::CRC32, Some(end)) if end <= len => src.seek_to(end)?,
            _ => return Err(Error::malformed(FORMAT, el.start, "no Segment after the EBML header")),
        }
    };
    let claimed_end = el.end().filter(|&e| e > len);
    let end = el.end().map_or(len, |e| e.min(len));
    let mut kids = Vec::new();
    while end.saturating_sub(src.pos()) >= 2 {
        budget.tick(FORMAT, src.pos())?;
        let start = src.pos();
        let next = ebml::read_element_unchecked(src).and_then(|e| match e.end() {
            _ if e.data_start() > end => Err(Error::truncated(FORMAT, start, "element header cut off")),
            Some(e_end) if e_end <= end => Ok((e.id, e_end, None)),
            Some(claimed) if !strict || e.id == id::TAGS => {
                scan_cluster(src, end, &mut budget).map(|e_end| (e.id, e_end, Some(claimed)))
            }
            Some(_) => Err(Error::truncated(
                FORMAT,
                start,
                format!(
                    "element {:X} runs past the end of the Segment; only a Tags element or the Segment itself is repaired, so the file is not rewritten",
                    e.id
                ),
            )),
            None if e.id == id::CLUSTER => scan_cluster(src, end, &mut budget).map(|e_end| (e.id, e_end, None)),
            None => Err(Error::unsupported("matroska", format!("element {:X} at {start} has an unknown size", e.id))),
        });
        let (i, e_end, claimed) = match next {
            Ok(x) => x,
            Err(e) if strict => return Err(e),
            Err(_) => break,
        };
        let kid = Level1 {
            id: i,
            start,
            end: e_end,
            claimed_end: claimed,
        };
        kids.push(kid);
        each(src, &el, &kid)?;
        src.seek_to(e_end)?;
    }
    // A writer appends at the Segment's end, so its children must fill it exactly.
    if strict && src.pos() != end {
        return Err(src.malformed("the Segment's children do not fill it"));
    }
    Ok(Segment {
        el,
        end,
        kids,
        claimed_end,
    })
}

/// Finds where an element of unknown (or impossible) size ends: at the first Segment-level
/// element ID among what follows its header, or `end`.
fn scan_cluster(src: &mut Source<'_>, end: u64, budget: &mut Budget) -> Result<u64> {
    while end.saturating_sub(src.pos()) >= 2 {
        budget.tick(FORMAT, src.pos())?;
        let start = src.pos();
        let child = read_element(src, end)?;
        if ebml::is_level1(child.id) {
            return Ok(start);
        }
        let child_end = child
            .end()
            .ok_or_else(|| Error::unsupported("matroska", "unknown-size element inside a Cluster"))?;
        src.seek_to(child_end)?;
    }
    Ok(end)
}

fn load(src: &mut Source<'_>, e: &Level1, limits: &Limits) -> Result<Vec<u8>> {
    src.seek_to(e.start)?;
    src.read_vec(e.len(), "Tags", limits)
}

/// The data range of the single element filling `buf`.
fn data_range(buf: &[u8], at: u64) -> Result<Range<usize>> {
    let (_, hdr, _) = ebml::parse_header(buf, at)?.ok_or_else(|| Error::truncated(FORMAT, at, "element"))?;
    Ok(hdr..buf.len())
}

/// One `AIGC` SimpleTag in a buffered Tags element.
struct TagCopy {
    /// The SimpleTag, within the buffer.
    range: Range<usize>,
    /// The Tag holding it, within the buffer.
    tag: Range<usize>,
    text: String,
    /// In a Tag whose Targets cover the whole file, not nested in another SimpleTag.
    in_place: bool,
}

/// Whether a Tag's Targets cover the whole file: no non-zero UID, and a TargetTypeValue of 50
/// (or none, which defaults to 50).
fn whole_file(buf: &[u8], targets: &Child, at: u64) -> Result<bool> {
    for c in children(buf, targets.data.clone(), at)? {
        let value = buf.get(c.data.clone()).unwrap_or_default();
        let n = crate::common::be_uint(value.get(..value.len().min(8)).unwrap_or_default());
        match c.id {
            id::TARGET_TYPE_VALUE if n != 50 => return Ok(false),
            0x63C5 | 0x63C9 | 0x63C4 | 0x63C6 if n != 0 => return Ok(false),
            _ => {}
        }
    }
    Ok(true)
}

fn simple_tag_copies(
    buf: &[u8],
    simple: &Child,
    at: u64,
    in_place: bool,
    depth: usize,
    limits: &Limits,
    out: &mut Vec<TagCopy>,
) -> Result<()> {
    check_depth(FORMAT, at, depth, limits)?;
    let kids = children(buf, simple.data.clone(), at)?;
    let name = kids
        .iter()
        .find(|c| c.id == id::TAG_NAME)
        .and_then(|c| buf.get(c.data.clone()));
    if name == Some(KEY) {
        let value = kids
            .iter()
            .find(|c| c.id == id::TAG_STRING)
            .and_then(|c| buf.get(c.data.clone()));
        if let Some(value) = value {
            out.push(TagCopy {
                range: simple.range.clone(),
                tag: 0..0,
                text: text(value),
                in_place,
            });
        }
    }
    for nested in kids.iter().filter(|c| c.id == id::SIMPLE_TAG) {
        simple_tag_copies(buf, nested, at, false, depth + 1, limits, out)?;
    }
    Ok(())
}

/// Every `AIGC` SimpleTag in a buffered Tags element (`at` is its input offset).
fn tag_copies(buf: &[u8], at: u64, limits: &Limits) -> Result<Vec<TagCopy>> {
    let mut out = Vec::new();
    for tag in children(buf, data_range(buf, at)?, at)?
        .iter()
        .filter(|c| c.id == id::TAG)
    {
        let kids = children(buf, tag.data.clone(), at)?;
        let mut in_place = true;
        for t in kids.iter().filter(|c| c.id == id::TARGETS) {
            in_place &= whole_file(buf, t, at)?;
        }
        let first = out.len();
        for simple in kids.iter().filter(|c| c.id == id::SIMPLE_TAG) {
            simple_tag_copies(buf, simple, at, in_place, 1, limits, &mut out)?;
        }
        for copy in out.iter_mut().skip(first) {
            copy.tag = tag.range.clone();
        }
    }
    Ok(out)
}

/// The element `c` with every `AIGC` SimpleTag inside it removed; `None` when `c` itself goes
/// (an `AIGC` SimpleTag, or a Tag left without SimpleTags).
fn strip(buf: &[u8], c: &Child, at: u64, depth: usize, limits: &Limits) -> Result<Option<Vec<u8>>> {
    let whole = || buf.get(c.range.clone()).unwrap_or_default().to_vec();
    if c.id != id::TAG && c.id != id::SIMPLE_TAG {
        return Ok(Some(whole()));
    }
    check_depth(FORMAT, at, depth, limits)?;
    let kids = children(buf, c.data.clone(), at)?;
    if c.id == id::SIMPLE_TAG
        && kids
            .iter()
            .any(|k| k.id == id::TAG_NAME && buf.get(k.data.clone()) == Some(KEY))
    {
        return Ok(None);
    }
    let mut data = Vec::new();
    let mut changed = false;
    for k in &kids {
        match strip(buf, k, at, depth + 1, limits)? {
            Some(bytes) => {
                changed |= bytes.as_slice() != buf.get(k.range.clone()).unwrap_or_default();
                data.extend_from_slice(&bytes);
            }
            None => changed = true,
        }
    }
    if !changed {
        return Ok(Some(whole()));
    }
    let has_simple = children(&data, 0..data.len(), at)?
        .iter()
        .any(|k| k.id == id::SIMPLE_TAG);
    if c.id == id::TAG && !has_simple {
        return Ok(None);
    }
    Ok(Some(element(c.id, &data)))
}

/// A Tags element's data with every `AIGC` SimpleTag removed, whether anything was, and
/// whether any Tag is left.
fn strip_tags(buf: &[u8], at: u64, limits: &Limits) -> Result<(Vec<u8>, bool, bool)> {
    let mut data = Vec::new();
    let mut changed = false;
    let mut any_tag = false;
    for c in children(buf, data_range(buf, at)?, at)? {
        match strip(buf, &c, at, 1, limits)? {
            Some(bytes) => {
                changed |= bytes.as_slice() != buf.get(c.range.clone()).unwrap_or_default();
                any_tag |= c.id == id::TAG;
                data.extend_from_slice(&bytes);
            }
            None => changed = true,
        }
    }
    Ok((data, changed, any_tag))
}

/// Our Tag: empty Targets (the whole file, as ffmpeg writes global tags) and one SimpleTag.
fn label_tag(json: &str) -> Vec<u8> {
    element(id::TAG, &label_tag_body(json))
}

/// The data of our Tag ([`label_tag`]).
fn label_tag_body(json: &str) -> Vec<u8> {
    let mut simple = element(id::TAG_NAME, KEY);
    simple.extend_from_slice(&element(id::TAG_STRING, json.as_bytes()));
    let mut tag = element(id::TARGETS, &[]);
    tag.extend_from_slice(&element(id::SIMPLE_TAG, &simple));
    tag
}

/// The most room our write leaves, whatever [`Limits::label_room`] asks.
const MAX_ROOM: u64 = 1 << 20;

/// The room our write leaves inside our Tags element for updates in place.
fn label_room(limits: &Limits) -> u64 {
    limits.label_room.min(MAX_ROOM)
}

/// Our Tags element, built by [`our_tags`].
struct OurTags {
    bytes: Vec<u8>,
    /// Where our Tag starts in the file.
    tag_at: u64,
    /// Bytes of Void after our Tag.
    room: u64,
}

/// Our Tags element at `start`: `kept` (what is left of an element we take over: a CRC-32,
/// unknown children), our `tag`, and a Void after it, the room of updates in place
/// ([`in_place`]): `room` bytes, or the rest of `len` bytes when given (`None` when the Tag
/// does not fit). A small Void goes before the Tag when the Tag's header would straddle a disk
/// sector, since every later switch rewrites that header.
fn our_tags(kept: &[u8], tag: &[u8], start: u64, len: Option<u64>, room: u64) -> Option<OurTags> {
    let tag_hdr = ebml::parse_header(tag, 0).ok()??.1 as u64;
    let room = if room == 1 { 2 } else { room };
    let mut pad = 0u64;
    let mut first = None;
    for _ in 0..3 {
        let mut data = kept.to_vec();
        data.extend_from_slice(&void(usize::try_from(pad).ok()?)?);
        let before = data.len() as u64;
        data.extend_from_slice(tag);
        let bytes = match len {
            Some(len) => ebml::fill_inside(id::TAGS, &data, usize::try_from(len).ok()?)?,
            None => {
                data.extend_from_slice(&void(usize::try_from(room).ok()?)?);
                fix_crc(&mut data);
                element(id::TAGS, &data)
            }
        };
        let hdr = ebml::parse_header(&bytes, start).ok()??.1 as u64;
        let tag_at = start + hdr + before;
        let ours = OurTags {
            room: (start + bytes.len() as u64).saturating_sub(tag_at + tag.len() as u64),
            bytes,
            tag_at,
        };
        if in_one_sector(tag_at, tag_hdr) {
            return Some(ours);
        }
        first.get_or_insert(ours);
        let gap = SECTOR - tag_at % SECTOR;
        pad += if gap == 1 { gap + SECTOR } else { gap };
    }
    first
}

/// The children of a Tags element's data `kept` but its Voids (at input offset `at`, for
/// messages): the Tags element is ours, and its room is laid out anew.
fn without_voids(kept: &[u8], at: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for c in children(kept, 0..kept.len(), at)?.iter().filter(|c| c.id != id::VOID) {
        out.extend_from_slice(kept.get(c.range.clone()).unwrap_or_default());
    }
    Ok(out)
}

impl Carrier for Matroska {
    fn info(&self) -> &'static aigc_label_core::Info {
        &aigc_label_core::Info {
            format: FORMAT,
            media_type: "video/x-matroska",
            extensions: &["mkv", "webm", "mka", "mk3d"],
        }
    }

    fn stamp(&self) -> Option<&dyn aigc_label_core::stamp::Stamp> {
        Some(&aigc_label_core::stamp::Medium::Video)
    }

    fn in_place(&self) -> Option<&dyn InPlace> {
        Some(self)
    }

    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3])
    }

    fn find(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Found>> {
        let mut src = Source::new(input, FORMAT)?;
        let seg = segment(&mut src, limits, false)?;
        let mut out = Vec::new();
        for e in seg.kids.iter().filter(|e| e.id == id::TAGS) {
            let (_, found) = label_copies(&mut src, e, limits)?;
            copies_in(&seg, e, found, &mut out);
            if out.len() >= limits.max_copies {
                out.truncate(limits.max_copies);
                break;
            }
        }
        Ok(out)
    }

    /// One walk of the Segment's children: the `Tags` elements are read (their label copies
    /// reported) and the edits planned; everything else is a copied range.
    fn plan(
        &self,
        input: &mut dyn ReadSeek,
        label: &Label,
        limits: &Limits,
        out: PlanBuilder<'_>,
    ) -> Result<Option<EditPlan>> {
        edit_plan(input, label, limits, out).map(Some)
    }

    /// Left out of a content binding (everything else is covered: the EBML header, `Info`,
    /// `Tracks`, every Cluster, `Cues`, `Chapters`, every other Tag and the other SeekHead
    /// entries):
    /// - each `Tags` element holding a label copy: whole when all its Tags hold one (ours:
    ///   a label that outgrows it leaves a Void in its place); otherwise the label's
    ///   `SimpleTag`, the `Tag` holding it (the writer drops that Tag and writes its own) and
    ///   the element's size field and CRC-32 value, which change with the label's size, so
    ///   the other Tags stay covered;
    /// - the `Void` right after that `Tags` element, the room it grows into and shrinks back
    ///   to;
    /// - every `Void` before the first Cluster: where a first label, or a `SeekHead` entry
    ///   for one, is placed, and what a label that outgrows its room leaves behind. A Void
    ///   carries nothing by definition (RFC 8794 §11.3.2);
    /// - the Segment's size field, which follows a `Tags` element at the Segment's end;
    /// - in the first `SeekHead`: its size field, its CRC-32 value and each `Seek` entry
    ///   pointing at a `Tags` element that holds a label (added when one is appended), or
    ///   naming `Tags` but pointing at no Tags element (past the end of a cut file, say),
    ///   which the writer re-points at the one it appends.
    ///
    /// The writer never moves an element, so `SeekHead` and `Cues` positions never change
    /// and stay covered; a Tags element before the Clusters keeps its size (with its Void).
    /// Not covered by the rule: an `AIGC` SimpleTag that shares its `Tag` with other
    /// SimpleTags (as `ffmpeg -metadata` writes it) is split into its own `Tag` on the first
    /// rewrite, which changes the other Tag's bytes; files we wrote keep the label in a Tag of
    /// its own.
    fn binding_exclusions(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Range<u64>>> {
        let mut src = Source::new(input, FORMAT)?;
        binding::exclusions(&mut src, limits)
    }
}

/// Plans [`Matroska::write`]'s output, collecting the copies [`Matroska::find`] reports on the
/// way: same-size patches, at most one range replaced, the rest copied ranges.
///
/// The walk of the Segment's children plans each as a copy as it meets it, so that a streaming
/// builder writes it while it is in the input's buffer; the edits, known once every `Tags`
/// element has been read, are then put over what was planned: the patches have the size of
/// what they replace (overwritten in place, in the output already written too), and the one
/// range that changes size ends the Segment (the output is cut back to its start, so only
/// that range, a `Tags` element and its `Void`, is read again). The header before the
/// Segment's children is planned as a guess, so a sink that cannot be patched writes nothing
/// before the end.
fn edit_plan(input: &mut dyn ReadSeek, label: &Label, limits: &Limits, mut out: PlanBuilder<'_>) -> Result<EditPlan> {
    let mut src = Source::new(input, FORMAT)?;
    let mut head = None;
    let mut drains = Drains::default();
    let mut seg = segment_with(&mut src, limits, true, &mut |src, el, kid| {
        if head.is_none() {
            head = Some(out.guess(Piece::Copy(0..el.data_start())));
        }
        out.copy(kid.start..kid.end);
        drains.drain(&mut out, src, &[])
    })?;
    if seg.claimed_end.is_some() {
        // Repair: the Segment ends where the file does (a size patch below, or the one an
        // appended Tags element writes).
        seg.el.size = Some(seg.end - seg.data_start());
    }
    let tag = label_tag(&label_json(label));
    let mut edits = Edits::default();
    let mut copies = Vec::new();
    let labelled = holds_a_label(&mut src, &seg, limits)?;

    for (i, e) in seg.kids.iter().enumerate().filter(|(_, e)| e.id == id::TAGS) {
        let (buf, found) = label_copies(&mut src, e, limits)?;
        let holds_one = !found.is_empty();
        copies_in(&seg, e, found, &mut copies);
        // Once the file holds a label, a content binding covers every Tags element that holds
        // none (see `binding`): the label may then only take over a Tags element holding a
        // copy, a Void, or a new Tags element at the end. Taking over (or joining) another
        // one would change its size and CRC, covered bytes (a label that outgrew its room
        // before the Clusters once joined another producer's Tags at the Segment's end).
        let takeable = edits.label_at.is_none() && (holds_one || !labelled);
        let (kept, changed, any_tag) = strip_tags(&buf, e.start, limits)?;
        let room = edits.void_after(&seg, i).map_or(e.end, |v| v.end);
        // Another producer's Tags takes the label only where nothing follows it: a label
        // outgrowing the Void after it would leave again and shrink it (its size and CRC
        // changing under a binding that no longer leaves them out).
        if takeable && !any_tag {
            // Ours (or holding nothing else): our Tag with the room for updates in place,
            // inside the element, which takes the Void after it too.
            let kept = without_voids(&kept, e.start)?;
            let fits = our_tags(&kept, &tag, e.start, Some(room - e.start), 0)
                .filter(|t| room != seg.end || t.room >= label_room(limits));
            let placed = if let Some(t) = fits {
                edits.place(e.start, t.bytes, t.tag_at);
                true
            } else if room == seg.end {
                // Nothing follows: the element may change size (the Segment's follows).
                let t = our_tags(&kept, &tag, e.start, None, label_room(limits))
                    .ok_or_else(|| Error::capacity(FORMAT, "the label does not fit a Tags element"))?;
                edits.replace(&seg, e.start..room, t.bytes, t.tag_at)?;
                true
            } else {
                false
            };
            if placed {
                if room > e.end {
                    edits.used.push(i + 1);
                }
                continue;
            }
        } else if takeable && room == seg.end {
            // Another producer's Tags at the end: our Tag joins its Tags (no room: an update
            // in place needs a Tags element of our own).
            let mut data = [kept.as_slice(), &tag].concat();
            fix_crc(&mut data);
            let tag_at = |bytes: &[u8]| -> Result<u64> {
                Ok(e.start + data_range(bytes, e.start)?.start as u64 + kept.len() as u64)
            };
            if let Some(bytes) = fill(id::TAGS, &data, (room - e.start) as usize) {
                let at = tag_at(&bytes)?;
                edits.place(e.start, bytes, at);
            } else {
                // Nothing follows: the element may change size (the Segment's follows).
                let bytes = element(id::TAGS, &data);
                let at = tag_at(&bytes)?;
                edits.replace(&seg, e.start..room, bytes, at)?;
            }
            if room > e.end {
                edits.used.push(i + 1);
            }
            continue;
        }
        // A Tags element cut at the next element (its size ran past the end) is rewritten
        // with its true size even when it loses nothing.
        if changed || e.claimed_end.is_some() {
            let bytes = if any_tag {
                let mut data = kept;
                fix_crc(&mut data);
                fill(id::TAGS, &data, e.len() as usize)
            } else {
                void(e.len() as usize)
            };
            let bytes = bytes.ok_or_else(|| Error::malformed(FORMAT, e.start, "Tags element cannot be rewritten"))?;
            edits.patches.push(Patch { pos: e.start, bytes });
        }
    }
    if edits.label_at.is_none() {
        edits.place_in_void(&seg, &tag)?;
    }
    if edits.label_at.is_none() {
        edits.append(&mut src, &seg, &tag, limits)?;
    }
    if seg.claimed_end.is_some() && edits.replaced.is_none() {
        edits.patches.push(segment_size_patch(&seg, 0)?);
    }
    edits.patches.sort_by_key(|p| p.pos);

    copies.truncate(limits.max_copies);
    let len = src.len();
    // The walk planned the header (when the Segment has children) and every child, as copies.
    let header_end = seg.data_start();
    let head = match head {
        Some(slot) => slot,
        None => out.guess(Piece::Copy(0..header_end)),
    };
    let changed_from = match &edits.replaced {
        Some((range, bytes)) => {
            out.truncate(range.start)?;
            out.put(bytes);
            out.copy(range.end..len);
            range.start
        }
        None => {
            out.copy(seg.end..len);
            len
        }
    };
    if let Some(w) = edits
        .patches
        .windows(2)
        .find(|w| w[0].pos + w[0].bytes.len() as u64 > w[1].pos)
    {
        return Err(Error::malformed(FORMAT, w[1].pos, "overlapping offset fields"));
    }
    let mut header = Vec::new();
    for patch in edits.patches {
        let end = patch.pos.saturating_add(patch.bytes.len() as u64);
        if end > changed_from {
            // Inside the replaced range, which holds the new bytes already.
            continue;
        }
        if patch.pos < header_end {
            if end > header_end {
                return Err(Error::malformed(
                    FORMAT,
                    patch.pos,
                    "a patch across the Segment's header",
                ));
            }
            header.push(patch);
        } else {
            out.overwrite(patch.pos, &patch.bytes)?;
        }
    }
    if header.is_empty() {
        out.fill_copy(head, 0..header_end);
    } else {
        src.seek_to(0)?;
        let mut bytes = src.read_vec(header_end, "EBML and Segment headers", limits)?;
        for patch in header {
            let at = usize::try_from(patch.pos).unwrap_or(usize::MAX);
            if let Some(place) = bytes.get_mut(at..at.saturating_add(patch.bytes.len())) {
                place.copy_from_slice(&patch.bytes);
            }
        }
        let _ = out.fill(head, bytes);
    }
    // Nothing before the label changes length, so its input offset is its output offset.
    let at = edits.label_at.unwrap_or(0);
    let plan = out.finish(copies, at..at + tag.len() as u64);
    within(&plan, len, FORMAT)?;
    Ok(plan)
}

/// The `Tags` element `e`, buffered, and every label copy it holds: the one answer to "does
/// this Tags element hold a label" for the writer (which strips every copy, and once the file
/// holds one takes over only a Tags element that holds one) and for the content binding (which
/// leaves each such element's label bytes out, see [`binding`]). [`Limits::max_copies`] bounds
/// what `find` reports, not this: a binding that stopped looking past it left a later labelled
/// Tags element covered, and the writer then changed it.
fn label_copies(src: &mut Source<'_>, e: &Level1, limits: &Limits) -> Result<(Vec<u8>, Vec<TagCopy>)> {
    let buf = load(src, e, limits)?;
    let copies = tag_copies(&buf, e.start, limits)?;
    Ok((buf, copies))
}

/// Whether any `Tags` element of the Segment holds a label copy (what the binding leaves out
/// is then fixed: see [`binding`]).
fn holds_a_label(src: &mut Source<'_>, seg: &Segment, limits: &Limits) -> Result<bool> {
    for e in seg.kids.iter().filter(|e| e.id == id::TAGS) {
        if !label_copies(src, e, limits)?.1.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Adds `copies`, the label copies of the `Tags` element `e` of `seg`, to `out`.
fn copies_in(seg: &Segment, e: &Level1, copies: Vec<TagCopy>, out: &mut Vec<Found>) {
    for c in copies {
        let range = e.start + c.range.start as u64..e.start + c.range.end as u64;
        let (place, wild) = if c.in_place {
            (SPEC_PLACE, None)
        } else {
            ("Tags/Tag/SimpleTag AIGC (not a whole-file target)", Some(SPEC_PLACE))
        };
        let mut f = found(place, range, c.text, wild);
        f.checks.extend(seg.damage(e));
        out.push(f);
    }
}

/// What the `Seek` entry `seek` of a buffered SeekHead (at input offset `at`) points at:
/// whether its SeekID is Tags, and the input offset its SeekPosition names. Entries are read up
/// to the first damaged child.
fn seek_entry(buf: &[u8], seek: &ebml::Child, at: u64, seg: &Segment) -> (bool, Option<u64>) {
    let tags_id = ebml::id_bytes(id::TAGS);
    let mut points_at_tags = false;
    let mut target = None;
    for c in ebml::children_until_damaged(buf, seek.data.clone(), at) {
        let value = buf.get(c.data.clone()).unwrap_or_default();
        match c.id {
            id::SEEK_ID => points_at_tags = value == tags_id.as_slice(),
            id::SEEK_POSITION if value.len() <= 8 => {
                target = seg.data_start().checked_add(crate::common::be_uint(value));
            }
            _ => {}
        }
    }
    (points_at_tags, target)
}

/// The Segment's size field, rewritten for a Segment `delta` bytes longer (a known size only).
fn segment_size_patch(seg: &Segment, delta: i64) -> Result<Patch> {
    let width = (seg.el.hdr_len - 4) as usize;
    let bytes = seg
        .el
        .size
        .and_then(|size| size.checked_add_signed(delta))
        .and_then(|new| ebml::size_bytes(new, width))
        .ok_or_else(|| Error::capacity("matroska", "the Segment size field cannot hold the new size"))?;
    Ok(Patch {
        pos: seg.el.start + 4,
        bytes,
    })
}

/// Same-size replacements being planned, the one element that may change size, and where the
/// label Tag went.
#[derive(Default)]
struct Edits {
    patches: Vec<Patch>,
    /// An input range replaced by bytes of another length: a Tags element at the end of the
    /// Segment, or an empty range there where a new one is appended.
    replaced: Option<(Range<u64>, Vec<u8>)>,
    /// Indices of Segment children already spoken for (Voids taken over).
    used: Vec<usize>,
    /// Input (= output) offset of our Tag, once placed.
    label_at: Option<u64>,
}

impl Edits {
    /// The Void right after child `i`, if free.
    fn void_after<'a>(&self, seg: &'a Segment, i: usize) -> Option<&'a Level1> {
        let prev = seg.kids.get(i)?;
        seg.kids
            .get(i + 1)
            .filter(|v| v.id == id::VOID && v.start == prev.end && !self.used.contains(&(i + 1)))
    }

    /// Records a Tags element written at `pos` holding our Tag at `tag_at`.
    fn place(&mut self, pos: u64, bytes: Vec<u8>, tag_at: u64) {
        self.label_at = Some(tag_at);
        self.patches.push(Patch { pos, bytes });
    }

    /// Replaces `range`, which ends the Segment, with `bytes`, a Tags element holding our Tag
    /// at `tag_at`; the Segment size follows.
    fn replace(&mut self, seg: &Segment, range: Range<u64>, bytes: Vec<u8>, tag_at: u64) -> Result<()> {
        self.label_at = Some(tag_at);
        let delta = bytes.len() as i64 - (range.end - range.start) as i64;
        if seg.el.size.is_some() {
            self.patches.push(segment_size_patch(seg, delta)?);
        }
        self.replaced = Some((range, bytes));
        Ok(())
    }

    /// Puts a new Tags element into a Void before the first Cluster, where readers meet it
    /// without a SeekHead entry.
    fn place_in_void(&mut self, seg: &Segment, tag: &[u8]) -> Result<()> {
        let first_cluster = seg
            .kids
            .iter()
            .position(|k| k.id == id::CLUSTER)
            .unwrap_or(seg.kids.len());
        for (i, v) in seg.kids.iter().enumerate().take(first_cluster) {
            if v.id != id::VOID || self.used.contains(&i) {
                continue;
            }
            if let Some(t) = our_tags(&[], tag, v.start, Some(v.len()), 0) {
                self.used.push(i);
                self.place(v.start, t.bytes, t.tag_at);
                return Ok(());
            }
        }
        Ok(())
    }

    /// Appends a new Tags element at the end of the Segment: fixes the Segment size and adds a
    /// SeekHead entry.
    fn append(&mut self, src: &mut Source<'_>, seg: &Segment, tag: &[u8], limits: &Limits) -> Result<()> {
        let position = seg.end - seg.data_start();
        self.add_seek(src, seg, position, limits)?;
        let t = our_tags(&[], tag, seg.end, None, label_room(limits))
            .ok_or_else(|| Error::capacity(FORMAT, "the label does not fit a Tags element"))?;
        self.replace(seg, seg.end..seg.end, t.bytes, t.tag_at)
    }

    /// Adds a Seek entry for a Tags element at Segment position `position` to the first
    /// SeekHead, which grows into the Void after it.
    fn add_seek(&mut self, src: &mut Source<'_>, seg: &Segment, position: u64, limits: &Limits) -> Result<()> {
        let no_room = || Error::capacity("matroska", "no Void room for the Tags element or its SeekHead entry");
        let i = seg
            .kids
            .iter()
            .position(|k| k.id == id::SEEK_HEAD)
            .ok_or_else(no_room)?;
        let head = seg.kids.get(i).copied().ok_or_else(no_room)?;
        let room = self.void_after(seg, i).map_or(head.end, |v| v.end);
        let buf = load(src, &head, limits)?;
        let range = data_range(&buf, head.start)?;
        // An entry appended after damage would be invisible to readers (and to the binding's
        // exclusions, which would then cover it): refuse a SeekHead whose entries do not read.
        let entries = children(&buf, range, head.start)?;
        let mut entry = element(id::SEEK_ID, &ebml::id_bytes(id::TAGS));
        entry.extend_from_slice(&ebml::uint_element(id::SEEK_POSITION, position));
        let entry = element(id::SEEK, &entry);
        // A Tags entry that points at no Tags element (past the end of a cut file, say) would
        // hide ours from readers that follow the first one: it is re-pointed (a repair) rather
        // than joined by a second.
        let tags_at: Vec<u64> = seg.kids.iter().filter(|k| k.id == id::TAGS).map(|k| k.start).collect();
        let stale = entries.iter().position(|c| {
            c.id == id::SEEK
                && matches!(seek_entry(&buf, c, head.start, seg), (true, t) if t.is_none_or(|t| !tags_at.contains(&t)))
        });
        let mut data = Vec::new();
        for (j, c) in entries.iter().enumerate() {
            match stale == Some(j) {
                true => data.extend_from_slice(&entry),
                false => data.extend_from_slice(buf.get(c.range.clone()).unwrap_or_default()),
            }
        }
        if stale.is_none() {
            data.extend_from_slice(&entry);
        }
        fix_crc(&mut data);
        let bytes = fill(id::SEEK_HEAD, &data, (room - head.start) as usize).ok_or_else(no_room)?;
        if room > head.end {
            self.used.push(i + 1);
        }
        self.patches.push(Patch { pos: head.start, bytes });
        Ok(())
    }
}
