//! ISO-BMFF (MP4, MOV, M4V, M4A, 3GP): the `AIGC` key in `moov/udta/meta` (spec section 4).
//!
//! The walker here is our own rather than the `mp4` crate's: that crate reads a file into its
//! own model and writes a new file from it, so it cannot rewrite one box while copying the rest
//! byte for byte, and it drops boxes it does not know. We need the opposite: touch `moov` (and
//! a few offset fields), stream everything else.
//!
//! Writing keeps every layout valid:
//! - `moov` after `mdat`: the new `moov` is written where the old one was, at the end; nothing
//!   else moves.
//! - `moov` before `mdat` (fast start): the size change is absorbed by our padding box inside
//!   `meta`, or by an adjacent top-level `free`/`skip` box; only when neither can absorb it does
//!   `moov` grow, and then every absolute offset pointing past it is moved (`stco`/`co64`,
//!   `saio`, `iloc`, `tfhd`, `tfra`, `sidx`), promoting `stco` to `co64` when needed.
//! - fragmented files: the label goes into the initial `moov`; fragments are copied intact
//!   except for the offset fields that must move.
//!
//! `mdat` is streamed with [`Source::copy_to`] and never loaded.
//!
//! The structure [`Carrier::find`] and [`Carrier::write`] report for the spec's carrier is the
//! whole `moov/udta/meta` box (with its padding), not just the `ilst` item, as the XMP packet is
//! for JPEG and PNG: a content binding leaves it out, together with the few size fields, padding
//! and offsets a rewrite moves (see `binding_exclusions`).

mod binding;
pub(crate) mod boxes;
mod in_place;
mod meta;
mod offsets;
mod plan;
pub(crate) mod table;
pub mod track;

use std::ops::Range;

use aigc_label_core::check::Check;
use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::plan::{Plan as EditPlan, PlanBuilder};
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result, xmp};

use self::boxes::{FORMAT, Header, Node, parse_tree};
use self::meta::Place;
use self::offsets::{ChunkTable, Field, Shift};
use crate::common::{Budget, Patch, STRUCTURE_SIZE, found};
use aigc_label_core::container::bmff::StreamBoxes;

pub use aigc_label_core::in_place::Update;

/// The UUID of the XMP box (Adobe XMP specification part 3, §1.2.7).
const XMP_UUID: [u8; 16] = [
    0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC,
];

/// The spec's place, named in `carrier.place` findings for copies found elsewhere.
const SPEC_PLACE: &str = "moov/udta/meta mdta AIGC";

/// Major brands of HEIF/AVIF still images, which carry labels as XMP items (the image crate's
/// business), not in `moov`.
const IMAGE_BRANDS: [&[u8; 4]; 9] = [
    b"mif1", b"msf1", b"heic", b"heix", b"heim", b"heis", b"avif", b"avis", b"avio",
];

/// The ISO base media file format carrier: MP4, MOV, M4V, M4A, 3GP.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bmff;

/// Stamped as video when a track's handler is `vide`, as audio otherwise (an M4A, a video file
/// with its picture removed): what the file holds, not its extension, picks the stamper. A cover
/// picture is not a track (MP4 keeps it in the `covr` tag). A file whose tracks cannot be listed
/// goes to the video stamper, which has a whole-file fallback and its own messages.
impl aigc_label_core::stamp::Stamp for Bmff {
    fn medium(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<aigc_label_core::stamp::Medium> {
        use aigc_label_core::stamp::Medium;
        Ok(match track::handlers(input, limits) {
            Ok(handlers) if !handlers.contains(b"vide") => Medium::Audio,
            _ => Medium::Video,
        })
    }
}

impl Carrier for Bmff {
    fn info(&self) -> &'static aigc_label_core::Info {
        &aigc_label_core::Info {
            format: FORMAT,
            media_type: "video/mp4",
            extensions: &["mp4", "mov", "m4v", "m4a", "3gp", "3g2", "qt"],
        }
    }

    fn in_place(&self) -> Option<&dyn aigc_label_core::in_place::InPlace> {
        Some(self)
    }

    fn traces(&self) -> Option<&'static dyn aigc_label_core::traces::TraceScanner> {
        Some(&aigc_label_core::traces::BmffScanner)
    }

    fn stamp(&self) -> Option<&dyn aigc_label_core::stamp::Stamp> {
        Some(self)
    }

    fn sniff(&self, head: &[u8]) -> bool {
        let size = head.get(..4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]));
        match (size, head.get(4..8)) {
            (Some(_), Some(b"ftyp")) => head
                .get(8..12)
                .is_none_or(|brand| !IMAGE_BRANDS.iter().any(|b| b.as_slice() == brand)),
            (Some(size), Some(b"moov" | b"mdat" | b"free" | b"skip" | b"wide" | b"pnot")) => size == 1 || size >= 8,
            _ => false,
        }
    }

    fn find(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Found>> {
        let mut src = Source::new(input, FORMAT)?;
        let mut budget = Budget::new(limits);
        let top = walk_top(&mut src, &mut budget, false)?;
        let mut out = Vec::new();
        for h in &top.boxes {
            match &h.kind {
                b"moov" => {
                    let buf = read_box(&mut src, h, limits)?;
                    let tree = parse_tree(&buf, h.start, limits, &mut budget)?;
                    out.extend(moov_copies(h, &buf, &tree, limits)?);
                }
                b"uuid" => out.extend(uuid_copies(&mut src, h, limits)?),
                _ => {}
            }
            if out.len() >= limits.max_copies {
                out.truncate(limits.max_copies);
                break;
            }
        }
        Ok(out)
    }

    /// One walk of the top-level boxes and one read of `moov` (and of any XMP `uuid` box):
    /// the output is the new `moov` and the few patched offsets as new bytes, and every other
    /// box, `mdat` included, as copied ranges.
    fn plan(
        &self,
        input: &mut dyn ReadSeek,
        label: &Label,
        limits: &Limits,
        out: PlanBuilder<'_>,
    ) -> Result<Option<EditPlan>> {
        plan::edit_plan(input, label, limits, out).map(Some)
    }

    /// Left out of a content binding (everything else is covered, `mdat` and every other
    /// box of `moov` included):
    /// - the structure holding each label copy: for the spec's carrier the whole
    ///   `moov/udta/meta` box with the `mdta` handler (its `hdlr`, `keys`, `ilst` and the
    ///   `free` padding our writer keeps in it; the other items in that box, iTunes tags and
    ///   cover art included, since the label joins the file's one `meta`, are left out with
    ///   it, as an XMP packet's other properties are in JPEG and PNG); for copies found
    ///   elsewhere the item or box holding the text, and a top-level XMP `uuid` box whole;
    /// - the 32-bit size (and 64-bit `largesize`) of `moov` and of every box between `moov`
    ///   and that structure (`udta`), which change when the label's size does;
    /// - a top-level `free`/`skip` box right before or after `moov`, padding the writer
    ///   shrinks or grows when the `meta` box's own padding cannot absorb a change;
    /// - when media follows `moov` (fast start, fragmented files), the offset values that
    ///   point past `moov`'s end and so move when it changes size: `stco`/`co64` entries,
    ///   `saio` and `iloc` offsets, `tfhd` base data offsets, `tfra` fragment offsets, a
    ///   `sidx` first offset. The media they point to, and the sample tables that say how it
    ///   is cut (`stsz`, `stsc`, `stts`, `trun`), stay covered; what the binding does not see
    ///   is where each chunk starts, so only a change of those positions (to other covered
    ///   bytes) goes unnoticed. That is the price of a binding a platform's longer label
    ///   cannot break (spec section 3): with offsets covered, any rewrite that outgrows the
    ///   padding would move every chunk and break the producer's binding.
    ///
    /// Not covered by the rule: a rewrite that pushes a 32-bit offset past 4 GiB promotes
    /// `stco` to `co64`, which changes the table's type and length.
    fn binding_exclusions(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Range<u64>>> {
        let mut src = Source::new(input, FORMAT)?;
        binding::exclusions(&mut src, limits)
    }
}

/// Input bytes `range` with each patch that falls in it put in place of the bytes it covers
/// (`patches` sorted, not overlapping).
fn plan_patched(out: &mut PlanBuilder, range: Range<u64>, patches: &[Patch]) -> Result<()> {
    let mut at = range.start;
    let first = patches.partition_point(|p| p.pos < range.start);
    for patch in patches.get(first..).unwrap_or_default() {
        let patch_end = patch.pos.saturating_add(patch.bytes.len() as u64);
        if patch_end > range.end {
            break;
        }
        if patch.pos < at {
            return Err(Error::malformed(FORMAT, patch.pos, "overlapping offset fields"));
        }
        out.copy(at..patch.pos);
        out.put(&patch.bytes);
        at = patch_end;
    }
    out.copy(at..range.end);
    Ok(())
}

/// A resized `free` box: its header, the first bytes of its old payload, then zeros if it grew.
fn plan_free(out: &mut PlanBuilder, h: &Header, size: u64) {
    if size == 0 {
        return;
    }
    out.put(&free_header(h, size));
    let (old_len, new_len) = (h.size() - h.header_len, size - h.header_len);
    out.copy(h.payload_start()..h.payload_start() + old_len.min(new_len));
    let zeros = usize::try_from(new_len.saturating_sub(old_len)).unwrap_or(0);
    out.put(&vec![0u8; zeros]);
}

/// The label copies in a loaded `moov` box, as [`Carrier::find`] reports them.
fn moov_copies(h: &Header, buf: &[u8], tree: &Node, limits: &Limits) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    for copy in meta::copies(tree, buf, limits)? {
        let range = tree.at(copy.structure()).map_or(0..0, |n| n.range.clone());
        let wild = (copy.place != Place::UdtaMdta).then_some(SPEC_PLACE);
        let mut f = found(copy.place.name(), absolute(h, &range), copy.text, wild);
        f.checks.extend(clamped_check(h));
        out.push(f);
    }
    Ok(out)
}

/// The label copies in a top-level XMP `uuid` box.
fn uuid_copies(src: &mut Source<'_>, h: &Header, limits: &Limits) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    if let Some(packet) = read_xmp_uuid(src, h, limits)? {
        for hit in xmp::find_aigc(&packet, limits)? {
            let checks = hit.checks();
            let mut f = found("uuid XMP TC260:AIGC", h.start..h.end, hit.value, Some(SPEC_PLACE));
            f.checks.extend(checks);
            out.push(f);
        }
    }
    Ok(out)
}

/// Top-level boxes (trailing bytes after them are copied as they are).
struct Top {
    boxes: Vec<Header>,
}

/// Walks the top-level boxes. A reader (`strict` false) stops at a box whose header is cut off,
/// and cuts a box whose size runs past the end of the file at the end (its
/// [`Header::claimed_end`] set), so a damaged upload still yields the labels in it. A writer
/// (`strict` true) accepts that only for a `moov` box, which it rewrites whole with its true
/// size (a repair); any other box past the end means media is missing, and is refused.
fn walk_top(src: &mut Source<'_>, budget: &mut Budget, strict: bool) -> Result<Top> {
    let mut boxes = Vec::new();
    let mut end = src.pos();
    let len = src.len();
    // One walk over all the boxes, so a run of small boxes is read a few headers at a time.
    let mut walk = StreamBoxes::new(src, budget, end, len);
    while let Some(h) = next_top(&mut walk, strict)? {
        end = h.end;
        boxes.push(h);
    }
    if boxes.is_empty() {
        return Err(Error::malformed(FORMAT, end, "no box"));
    }
    src.seek_to(end)?;
    Ok(Top { boxes })
}

/// The top-level box at `pos`, as [`walk_top`] walks them: `None` where the walk ends (fewer
/// than 8 bytes left, or, for a reader, a box it cannot read).
fn top_box(src: &mut Source<'_>, budget: &mut Budget, pos: u64, strict: bool) -> Result<Option<Header>> {
    let len = src.len();
    next_top(&mut StreamBoxes::new(src, budget, pos, len), strict)
}

/// The next box of a walk of the top level, as [`top_box`] says.
fn next_top(walk: &mut StreamBoxes<'_, '_>, strict: bool) -> Result<Option<Header>> {
    if walk.remaining() < 8 {
        return Ok(None);
    }
    match walk.next() {
        Some(Ok(h)) if strict && h.claimed_end.is_some() && &h.kind != b"moov" => Err(Error::truncated(
            FORMAT,
            h.start,
            format!(
                "box {} claims {} bytes but {} remain in the file; only a moov box that runs past the end is repaired, so the file is not rewritten",
                boxes::fourcc(h.kind),
                h.claimed_end.unwrap_or(h.end) - h.start,
                h.size()
            ),
        )),
        Some(Ok(h)) => Ok(Some(h)),
        // The structure budget holds for readers too.
        Some(Err(e @ Error::Limit { .. })) => Err(e),
        Some(Err(e)) if strict => Err(e),
        _ => Ok(None),
    }
}

/// Loads a whole box (within `Limits::max_metadata_bytes`). A box cut at the end of the file
/// ([`Header::claimed_end`]) gets a size field that matches the bytes loaded, so that it parses
/// as the box it was meant to be; a rewrite then carries the true size.
fn read_box(src: &mut Source<'_>, h: &Header, limits: &Limits) -> Result<Vec<u8>> {
    src.seek_to(h.start)?;
    let mut buf = src.read_vec(h.size(), "box", limits)?;
    if h.claimed_end.is_some() {
        let size = h.size();
        match h.header_len {
            16 => buf.get_mut(8..16).map(|f| f.copy_from_slice(&size.to_be_bytes())),
            _ => buf
                .get_mut(..4)
                .map(|f| f.copy_from_slice(&u32::try_from(size).unwrap_or(u32::MAX).to_be_bytes())),
        };
    }
    Ok(buf)
}

/// The warning for a box cut at the end of the file.
fn clamped_check(h: &Header) -> Option<Check> {
    let claimed = h.claimed_end?;
    Some(Check::warn(
        STRUCTURE_SIZE,
        format!(
            "box {} at byte {} claims {} bytes but the file holds {}; read up to the end of the file (embed rewrites it with its true size)",
            boxes::fourcc(h.kind),
            h.start,
            claimed - h.start,
            h.size()
        ),
    ))
}

/// The XMP packet of a `uuid` box, if it is the XMP UUID.
fn read_xmp_uuid(src: &mut Source<'_>, h: &Header, limits: &Limits) -> Result<Option<Vec<u8>>> {
    if h.size() < h.header_len + 16 {
        return Ok(None);
    }
    src.seek_to(h.payload_start())?;
    let uuid: [u8; 16] = src.read_array("uuid")?;
    if uuid != XMP_UUID {
        return Ok(None);
    }
    let len = h.end - src.pos();
    src.read_vec(len, "XMP packet", limits).map(Some)
}

fn absolute(h: &Header, range: &Range<usize>) -> Range<u64> {
    h.start + range.start as u64..h.start + range.end as u64
}

/// The file's one `moov` box: its index among the top-level boxes, and its header.
fn single_moov(top: &Top) -> Result<(usize, Header)> {
    let mut moovs = top.boxes.iter().enumerate().filter(|(_, h)| h.is(b"moov"));
    match (moovs.next(), moovs.next()) {
        (Some((i, h)), None) => Ok((i, *h)),
        (None, _) => Err(Error::malformed(FORMAT, 0, "no moov box")),
        (Some(_), Some((_, h))) => Err(Error::malformed(FORMAT, h.start, "more than one moov box")),
    }
}

/// Where our label's `meta` box sits in the new `moov` (re-read, as a check on what was built).
fn label_range(new_moov: &[u8], base: u64, limits: &Limits) -> Result<Range<u64>> {
    let tree = parse_tree(new_moov, base, limits, &mut Budget::new(limits))?;
    let copies = meta::copies(&tree, new_moov, limits)?;
    match copies.as_slice() {
        [one] if one.place == Place::UdtaMdta => {
            let r = tree.at(one.structure()).map_or(0..0, |n| n.range.clone());
            Ok(r.start as u64..r.end as u64)
        }
        _ => Err(Error::Verification(
            format!("mp4: the rebuilt moov holds {} label copies", copies.len()).into(),
        )),
    }
}

/// A `free`/`skip` box right after (or else right before) `moov` that can give up `grow` bytes
/// and remain a valid box (or vanish exactly): (index, new size).
fn adjacent_free(boxes: &[Header], moov_at: usize, grow: i64) -> Option<(usize, u64)> {
    let candidates = [Some(moov_at + 1), moov_at.checked_sub(1)];
    candidates.into_iter().flatten().find_map(|i| {
        let h = boxes.get(i)?;
        if !matches!(&h.kind, b"free" | b"skip") {
            return None;
        }
        let size = h.size().checked_add_signed(-grow)?;
        (size == 0 || size >= h.header_len).then_some((i, size))
    })
}

fn free_header(h: &Header, size: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(16);
    if h.header_len == 16 {
        v.extend_from_slice(&1u32.to_be_bytes());
        v.extend_from_slice(&h.kind);
        v.extend_from_slice(&size.to_be_bytes());
    } else {
        v.extend_from_slice(&u32::try_from(size).unwrap_or(u32::MAX).to_be_bytes());
        v.extend_from_slice(&h.kind);
    }
    v
}

/// Blanking patches for `TC260:AIGC` properties in top-level XMP `uuid` boxes.
fn xmp_patches(src: &mut Source<'_>, top: &Top, limits: &Limits) -> Result<Vec<Patch>> {
    let mut out = Vec::new();
    for h in top.boxes.iter().filter(|h| &h.kind == b"uuid") {
        out.extend(uuid_xmp_patches(src, h, limits)?);
    }
    Ok(out)
}

/// Blanking patches for the `TC260:AIGC` properties of the top-level box `h`, if it is an XMP
/// `uuid` box.
fn uuid_xmp_patches(src: &mut Source<'_>, h: &Header, limits: &Limits) -> Result<Vec<Patch>> {
    let mut out = Vec::new();
    if let Some(packet) = read_xmp_uuid(src, h, limits)? {
        let base = h.payload_start() + 16;
        for hit in xmp::find_aigc(&packet, limits)? {
            out.push(Patch {
                pos: base + hit.range.start as u64,
                bytes: vec![b' '; hit.range.len()],
            });
        }
    }
    Ok(out)
}

/// Moves every offset inside `moov` that points at or after `from` (the old end of `moov`),
/// promoting `stco` tables to `co64` as needed; returns the final shift.
///
/// The size change depends on which tables are promoted and promotion depends on the size
/// change, so promotion is repeated until nothing changes; each round promotes at least one
/// table, so it ends after at most one round per table.
fn relocate_moov(tree: &mut Node, buf: &[u8], from: u64, old_len: u64, grow: i64) -> Result<Shift> {
    let mut tables = Vec::new();
    let mut leaves = Vec::new();
    offset_boxes(tree, buf, &mut Vec::new(), from, &mut tables, &mut leaves)?;
    let mut promoted = vec![false; tables.len()];
    let mut delta = grow;
    loop {
        let mut changed = false;
        for (t, p) in tables.iter().zip(promoted.iter_mut()) {
            let over = t
                .max_moving
                .is_some_and(|m| m.saturating_add_signed(delta) > u64::from(u32::MAX));
            if t.width == 4 && !*p && over {
                *p = true;
                changed = true;
                delta += 4 * t.count as i64;
            }
        }
        if !changed {
            break;
        }
    }
    let shift = Shift { from, delta };
    for (t, p) in tables.iter().zip(&promoted) {
        if t.max_moving.is_some() || *p {
            if let Some(node) = tree.at_mut(&t.path) {
                offsets::rewrite_chunk_table(node, buf, t, *p, &shift)?;
            }
        }
    }
    for (path, fields) in &leaves {
        if let Some(node) = tree.at_mut(path) {
            offsets::relocate_leaf(node, buf, fields, &shift)?;
        }
    }
    if tree.emitted_len() as i64 - old_len as i64 != delta {
        return Err(Error::malformed(FORMAT, from, "moov size changed while moving offsets"));
    }
    Ok(shift)
}

type LeafFields = (Vec<usize>, Vec<Field>);

/// Finds the chunk offset tables and other offset-bearing leaves (`saio`, `iloc`) in `moov`.
/// A track whose data lives in another file (a `dref` entry without the self-contained flag)
/// keeps its offsets, which point into that file.
fn offset_boxes(
    node: &Node,
    buf: &[u8],
    path: &mut Vec<usize>,
    from: u64,
    tables: &mut Vec<ChunkTable>,
    leaves: &mut Vec<LeafFields>,
) -> Result<()> {
    if &node.typ == b"trak" && !self_contained(node, buf)? {
        return Ok(());
    }
    for (i, kid) in node.kids.iter().enumerate().filter(|(_, k)| k.live()) {
        path.push(i);
        match &kid.typ {
            b"stco" | b"co64" => tables.push(offsets::chunk_table(kid, buf, path.clone(), from)?),
            b"saio" if &node.typ == b"stbl" => leaves.push((path.clone(), offsets::saio_fields(kid.payload(buf))?)),
            b"iloc" if &node.typ == b"meta" => leaves.push((path.clone(), offsets::iloc_fields(kid.payload(buf))?)),
            _ if kid.container => offset_boxes(kid, buf, path, from, tables, leaves)?,
            _ => {}
        }
        path.pop();
    }
    Ok(())
}

/// Whether a track's media is in this file: every `dref` entry has flag 1 (self-contained).
/// Mixed references cannot be moved correctly and are refused.
fn self_contained(trak: &Node, buf: &[u8]) -> Result<bool> {
    let dref = trak
        .child(b"mdia")
        .and_then(|n| n.child(b"minf"))
        .and_then(|n| n.child(b"dinf"))
        .and_then(|n| n.child(b"dref"));
    let Some(dref) = dref else { return Ok(true) };
    let mut b = aigc_label_core::io::Bytes::new(dref.payload(buf));
    let (Some(_), Some(count)) = (b.take(4), b.u32_be()) else {
        return Ok(true);
    };
    let (mut local, mut external) = (0u32, 0u32);
    for _ in 0..count {
        let (Some(size), Some(_), Some(flags)) = (b.u32_be(), b.take(4), b.u32_be()) else {
            break;
        };
        if flags & 1 == 1 {
            local += 1
        } else {
            external += 1
        }
        if (size as usize).checked_sub(12).and_then(|n| b.take(n)).is_none() {
            break;
        }
    }
    match (local, external) {
        (_, 0) => Ok(true),
        (0, _) => Ok(false),
        _ => Err(Error::unsupported(
            "mp4",
            "a track mixes media in this file and in other files; its offsets cannot be moved",
        )),
    }
}

/// The offset fields of top-level boxes other than `moov`, at absolute input offsets.
fn outside_offset_fields(
    src: &mut Source<'_>,
    top: &Top,
    moov_at: usize,
    limits: &Limits,
    budget: &mut Budget,
) -> Result<Vec<Field>> {
    let mut fields = Vec::new();
    for (i, h) in top.boxes.iter().enumerate() {
        if i != moov_at {
            fields.extend(box_offset_fields(src, h, limits, budget)?);
        }
    }
    Ok(fields)
}

/// The offset fields of the top-level box `h` when it holds some (`moof`/`tfhd`,
/// `mfra`/`tfra`, `sidx`, `meta`/`iloc`), at absolute input offsets.
fn box_offset_fields(src: &mut Source<'_>, h: &Header, limits: &Limits, budget: &mut Budget) -> Result<Vec<Field>> {
    let mut fields = Vec::new();
    if matches!(&h.kind, b"moof" | b"mfra" | b"sidx" | b"meta") {
        let buf = read_box(src, h, limits)?;
        let tree = parse_tree(&buf, h.start, limits, budget)?;
        collect_outside(&tree, &buf, h.start, h.end, &mut fields, 0, limits)?;
    }
    Ok(fields)
}

/// Collects offset fields from a parsed top-level box; `start`/`end` are its input offsets.
fn collect_outside(
    node: &Node,
    buf: &[u8],
    start: u64,
    end: u64,
    out: &mut Vec<Field>,
    depth: usize,
    limits: &Limits,
) -> Result<()> {
    crate::common::check_depth(FORMAT, start, depth, limits)?;
    let payload_at = start + (node.range.start + node.hdr_len) as u64;
    let payload = buf
        .get(node.range.start + node.hdr_len..node.range.end)
        .unwrap_or_default();
    let absolute = |f: Field| Field {
        at: payload_at + f.at,
        ..f
    };
    match &node.typ {
        b"tfhd" => out.extend(offsets::tfhd_field(payload).map(absolute)),
        b"tfra" => out.extend(offsets::tfra_fields(payload)?.into_iter().map(absolute)),
        b"sidx" => out.extend(offsets::sidx_field(payload, end).map(absolute)),
        b"iloc" => out.extend(offsets::iloc_fields(payload)?.into_iter().map(absolute)),
        _ => {
            for kid in node.kids.iter() {
                collect_outside(kid, buf, start, end, out, depth + 1, limits)?;
            }
        }
    }
    Ok(())
}
