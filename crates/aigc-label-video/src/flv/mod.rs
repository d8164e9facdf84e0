//! FLV (Adobe Flash Video File Format Specification 10.1, Annex E): the `AIGC` string property
//! of the `onMetaData` script tag's ECMA array (spec section 4).
//!
//! Only script tags are read; audio and video tags are skipped by seeking and copied in blocks.
//! Writing rebuilds the script tags that change: the first `onMetaData` gets the property
//! (replacing an old one; other properties are kept byte for byte), any other script tag that
//! held an `AIGC` property loses it, and each rebuilt tag gets its `DataSize` and trailing
//! `PreviousTagSize` right. Later tags shift but are otherwise byte-exact. FLV has no absolute
//! offsets except those some muxers store in `onMetaData` itself (`keyframes.filepositions`,
//! and `filesize`); both are updated. A file without `onMetaData` gets one as its first tag.
//!
//! A content binding therefore leaves out only the label's script tag and the
//! `PreviousTagSize` after it (see `binding_exclusions`).

pub(crate) mod amf;
pub mod track;

use std::ops::Range;

use aigc_label_core::container::Drains;
use aigc_label_core::io::{Bytes, ReadSeek, Source};
use aigc_label_core::plan::{Piece, Plan as EditPlan, PlanBuilder, Slot as PlanSlot};
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result};

use self::amf::{Property, marker};
use crate::common::{Budget, Exclusions, found, label_json, text};

/// Format name used in errors.
const FORMAT: &str = "flv";
/// Tag type of script data.
const SCRIPT: u8 = 18;
/// Tag header length.
const TAG_HEADER: u64 = 11;
/// The property name.
const KEY: &[u8] = b"AIGC";
/// The script tag that carries the label.
const ON_META_DATA: &[u8] = b"onMetaData";

/// The FLV carrier.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flv;

/// A tag as found in the input.
#[derive(Debug, Clone, Copy)]
struct Tag {
    start: u64,
    size: u64,
}

impl Tag {
    /// Reads the tag header at `src`'s position: the tag, and the header (its first byte holds
    /// the tag type and the filter flag).
    fn read(src: &mut Source<'_>) -> Result<(Tag, [u8; 11])> {
        let start = src.pos();
        let h: [u8; 11] = src.read_array("tag header")?;
        let size = u64::from(u32::from_be_bytes([0, h[1], h[2], h[3]]));
        Ok((Tag { start, size }, h))
    }

    fn data_start(&self) -> u64 {
        self.start + TAG_HEADER
    }

    /// End of the tag data (where its `PreviousTagSize` starts).
    fn data_end(&self) -> u64 {
        self.data_start() + self.size
    }

    /// End of the tag including its `PreviousTagSize`.
    fn end(&self) -> u64 {
        self.data_end() + 4
    }
}

impl Carrier for Flv {
    fn info(&self) -> &'static aigc_label_core::Info {
        &aigc_label_core::Info {
            format: FORMAT,
            media_type: "video/x-flv",
            extensions: &["flv"],
        }
    }

    fn stamp(&self) -> Option<&dyn aigc_label_core::stamp::Stamp> {
        Some(&aigc_label_core::stamp::Medium::Video)
    }

    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(b"FLV\x01")
    }

    fn find(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Found>> {
        let mut src = Source::new(input, FORMAT)?;
        let first = read_header(&mut src)?;
        let (tags, _) = script_tags(&mut src, first, limits)?;
        let mut out = Vec::new();
        for tag in tags {
            let data = read_data(&mut src, &tag, limits)?;
            if let Some(script) = Script::parse(&data, limits) {
                script.copies(&data, &tag, &mut out);
            }
            if out.len() >= limits.max_copies {
                break;
            }
        }
        out.truncate(limits.max_copies);
        Ok(out)
    }

    /// One walk of the tags: the script tags are read (their label copies reported) and the
    /// ones that change rebuilt; every other byte is a copied range.
    fn plan(
        &self,
        input: &mut dyn ReadSeek,
        label: &Label,
        limits: &Limits,
        out: PlanBuilder<'_>,
    ) -> Result<Option<EditPlan>> {
        edit_plan(input, label, limits, out).map(Some)
    }

    /// Left out of a content binding: each script tag holding a label copy, whole (its
    /// 11-byte header with `DataSize`, and its data: the name and every `onMetaData` property,
    /// which also holds the `filesize` and `keyframes.filepositions` numbers the writer keeps
    /// right), and the 4-byte `PreviousTagSize` after it, which repeats the tag's length.
    /// Everything else is covered: the file header and every audio, video and other script
    /// tag, byte for byte. The tags after the label move when it changes size, but FLV has no
    /// offsets outside `onMetaData`, so their bytes, read in order, stay the same.
    fn binding_exclusions(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Range<u64>>> {
        let len = Source::new(input, FORMAT)?.len();
        let mut out = Exclusions::new(FORMAT, len, limits);
        for f in self.find(input, limits)? {
            out.add(f.range.start..f.range.end.saturating_add(4))?;
        }
        Ok(out.into_ranges())
    }
}

/// Plans [`Flv::write`]'s output, collecting the copies [`Flv::find`] reports on the way: the
/// script tags that change are rebuilt (the first `onMetaData` gets the label, others lose
/// theirs, a new `onMetaData` comes first when there is none), everything else is copied.
/// Each tag is drained as the walk passes it: a rebuilt tag whose `filesize` or keyframe
/// positions depend on later tags is a guess, settled at the end (free when the later tags
/// change nothing, the usual case); a missing `onMetaData` is guessed absent (a file without
/// one is then written again from its first tag, reading the input a second time).
fn edit_plan(input: &mut dyn ReadSeek, label: &Label, limits: &Limits, mut out: PlanBuilder<'_>) -> Result<EditPlan> {
    let mut src = Source::new(input, FORMAT)?;
    let first = read_header(&mut src)?;
    let len = src.len();
    let json = label_json(label);
    out.copy(0..first);
    // A file without `onMetaData` gets one before its first tag: guessed not needed.
    let head = out.guess(Piece::New(Vec::new()));
    let mut drains = Drains::default();
    let mut found = Vec::new();
    // The rebuilt tags, each with its slot when its numbers depend on later tags.
    let mut rebuilt: Vec<Rebuilt> = Vec::new();
    let mut slots: Vec<Option<PlanSlot>> = Vec::new();
    let mut target_found = false;
    let mut label_range = 0..0;
    let mut budget = Budget::new(limits);
    let mut at = first;
    loop {
        drains.drain(&mut out, &mut src, &found)?;
        if len - at < TAG_HEADER {
            break;
        }
        budget.tick(FORMAT, at)?;
        src.seek_to(at)?;
        let (tag, header) = Tag::read(&mut src)?;
        if tag.end() > len {
            return Err(Error::truncated(FORMAT, at, "tag runs past the end of the file"));
        }
        at = tag.end();
        if header[0] & 0x1F != SCRIPT || header[0] & 0x20 != 0 {
            out.copy(tag.start..tag.end());
            continue;
        }
        let data = read_data(&mut src, &tag, limits)?;
        let Some(script) = Script::parse(&data, limits) else {
            out.copy(tag.start..tag.end());
            continue;
        };
        script.copies(&data, &tag, &mut found);
        let is_target = !target_found && data.get(script.name.clone()) == Some(ON_META_DATA);
        let has_label = script.props.iter().any(|p| data.get(p.key.clone()) == Some(KEY));
        if !is_target && !has_label {
            out.copy(tag.start..tag.end());
            continue;
        }
        target_found |= is_target;
        let (data, numbers) = script.rebuild(&data, is_target.then_some(json.as_str()));
        let r = Rebuilt {
            tag: Some(tag),
            header,
            data,
            slots: numbers,
            target: is_target,
        };
        let start = out.position();
        if is_target {
            label_range = start..start + TAG_HEADER + r.data.len() as u64;
        }
        rebuilt.push(r);
        // Its numbers as far as the tags so far tell; the last tags settle them.
        let bytes = patched(first, &rebuilt, rebuilt.len() - 1, len)?;
        match rebuilt.last().is_some_and(|r| r.slots.is_empty()) {
            true => {
                out.put(&bytes);
                slots.push(None);
            }
            false => slots.push(Some(out.guess(Piece::New(bytes)))),
        }
    }
    out.copy(at..len);
    found.truncate(limits.max_copies);
    if target_found {
        let _ = out.fill(head, Vec::new());
    } else {
        rebuilt.insert(0, new_on_meta_data(&json));
        slots.insert(0, Some(head));
    }
    for (i, slot) in slots.into_iter().enumerate() {
        if let Some(slot) = slot {
            let range = out.fill(slot, patched(first, &rebuilt, i, len)?);
            if rebuilt.get(i).is_some_and(|r| r.target) {
                label_range = range;
            }
        }
    }
    Ok(out.finish(found, label_range))
}

/// The bytes of `rebuilt[i]` with its numbers (`filesize`, keyframe positions) set for an
/// input of `len` bytes whose rebuilt tags are `rebuilt`.
fn patched(first: u64, rebuilt: &[Rebuilt], i: usize, len: u64) -> Result<Vec<u8>> {
    let shifts = Shifts::new(first, rebuilt)?;
    let new_len = len
        .checked_add_signed(shifts.total())
        .ok_or_else(|| Error::malformed(FORMAT, 0, "size"))?;
    let Some(r) = rebuilt.get(i) else {
        return Ok(Vec::new());
    };
    let mut r = Rebuilt {
        data: r.data.clone(),
        slots: r.slots.clone(),
        ..*r
    };
    r.patch_slots(&shifts, len, new_len);
    r.bytes()
}

/// Checks the FLV header and returns the offset of the first tag (after `PreviousTagSize0`).
pub(crate) fn read_header(src: &mut Source<'_>) -> Result<u64> {
    let h: [u8; 9] = src.read_array("FLV header")?;
    if &h[..3] != b"FLV" {
        return Err(Error::malformed(FORMAT, 0, "not an FLV signature"));
    }
    let offset = u64::from(u32::from_be_bytes([h[5], h[6], h[7], h[8]]));
    if offset < 9 {
        return Err(Error::malformed(FORMAT, 5, "header DataOffset smaller than the header"));
    }
    src.skip(offset - 9 + 4, "FLV header and PreviousTagSize0")?;
    Ok(src.pos())
}

/// Walks every tag from `first`, returning the script tags and the end of the last whole tag;
/// stops at a tag that runs past the end of the file (a reader's leniency: the plan of a
/// write refuses such a file).
fn script_tags(src: &mut Source<'_>, first: u64, limits: &Limits) -> Result<(Vec<Tag>, u64)> {
    let mut budget = Budget::new(limits);
    let mut tags = Vec::new();
    src.seek_to(first)?;
    while src.remaining() >= TAG_HEADER {
        budget.tick(FORMAT, src.pos())?;
        let (tag, h) = Tag::read(src)?;
        if tag.end() > src.len() {
            src.seek_to(tag.start)?;
            break;
        }
        if h[0] & 0x1F == SCRIPT && h[0] & 0x20 == 0 {
            tags.push(tag);
        }
        src.seek_to(tag.end())?;
    }
    Ok((tags, src.pos()))
}

fn read_data(src: &mut Source<'_>, tag: &Tag, limits: &Limits) -> Result<Vec<u8>> {
    src.seek_to(tag.data_start())?;
    src.read_vec(tag.size, "script data", limits)
}

/// A script tag's data: a name string and an object or ECMA array of properties.
struct Script {
    name: Range<usize>,
    /// Where the properties start (after the ECMA count) and end (before the end marker).
    props_at: Range<usize>,
    /// Where the ECMA array's count is, if it is one.
    count_at: Option<usize>,
    props: Vec<Property>,
}

impl Script {
    fn parse(data: &[u8], limits: &Limits) -> Option<Script> {
        let mut b = Bytes::new(data);
        if b.u8()? != marker::STRING {
            return None;
        }
        let len = usize::from(b.u16_be()?);
        let name = b.pos()..b.pos() + len;
        b.take(len)?;
        let count_at = match b.u8()? {
            marker::ECMA_ARRAY => {
                let at = b.pos();
                b.take(4)?;
                Some(at)
            }
            marker::OBJECT => None,
            _ => return None,
        };
        let start = b.pos();
        let props = amf::properties(&mut b, limits.max_depth, count_at.is_some())?;
        let end = props.last().map_or(start, |p| p.span.end);
        Some(Script {
            name,
            props_at: start..end,
            count_at,
            props,
        })
    }

    /// Adds the label copies of this script, the data of `tag`, to `out`.
    fn copies(&self, data: &[u8], tag: &Tag, out: &mut Vec<Found>) {
        let name = data.get(self.name.clone()).unwrap_or_default();
        for p in self.props.iter().filter(|p| data.get(p.key.clone()) == Some(KEY)) {
            let Some(value) = data.get(p.value.clone()).and_then(amf::string) else {
                continue;
            };
            let (place, wild) = if name == ON_META_DATA {
                ("onMetaData AIGC".to_string(), None)
            } else {
                (format!("script tag {} AIGC", text(name)), Some("onMetaData AIGC"))
            };
            out.push(found(place, tag.start..tag.data_end(), text(value), wild));
        }
    }

    /// The data with every `AIGC` property dropped and, if `json` is given, one added at the
    /// end; plus where `filesize` and `keyframes.filepositions` numbers ended up.
    fn rebuild(&self, data: &[u8], json: Option<&str>) -> (Vec<u8>, Vec<Slot>) {
        let mut out = data.get(..self.props_at.start).unwrap_or_default().to_vec();
        let mut slots = Vec::new();
        let mut kept = 0u32;
        for p in &self.props {
            let key = data.get(p.key.clone()).unwrap_or_default();
            if key == KEY {
                continue;
            }
            let value = data.get(p.value.clone()).unwrap_or_default();
            let value_at = out.len() + (p.value.start - p.span.start);
            slots.extend(number_slots(key, value, value_at));
            out.extend_from_slice(data.get(p.span.clone()).unwrap_or_default());
            kept += 1;
        }
        if let Some(json) = json {
            out.extend_from_slice(&(KEY.len() as u16).to_be_bytes());
            out.extend_from_slice(KEY);
            out.extend_from_slice(&amf::encode_string(json));
            kept += 1;
        }
        out.extend_from_slice(data.get(self.props_at.end..).unwrap_or_default());
        if let Some(slot) = self.count_at.and_then(|at| out.get_mut(at..at + 4)) {
            slot.copy_from_slice(&kept.to_be_bytes());
        }
        (out, slots)
    }
}

/// A number in rebuilt script data that holds a byte position or the file size.
#[derive(Debug, Clone, Copy)]
enum Slot {
    FileSize(usize),
    Position(usize),
}

/// The numbers to keep right in an `onMetaData` property: `filesize`, and each entry of
/// `keyframes.filepositions` (positions of keyframe tags, written by some muxers for seeking).
fn number_slots(key: &[u8], value: &[u8], value_at: usize) -> Vec<Slot> {
    match (key, value.first()) {
        (b"filesize", Some(&marker::NUMBER)) => vec![Slot::FileSize(value_at + 1)],
        (b"keyframes", Some(&marker::OBJECT)) => {
            let mut b = Bytes::new(value);
            b.u8();
            let props = amf::properties(&mut b, 4, false).unwrap_or_default();
            props
                .iter()
                .filter(|p| value.get(p.key.clone()) == Some(b"filepositions"))
                .flat_map(|p| {
                    let mut b = Bytes::new(value.get(p.value.clone()).unwrap_or_default());
                    let mut slots = Vec::new();
                    if b.u8() == Some(marker::STRICT_ARRAY) {
                        let count = b.u32_be().unwrap_or(0);
                        for _ in 0..count {
                            if b.u8() != Some(marker::NUMBER) {
                                break;
                            }
                            slots.push(Slot::Position(value_at + p.value.start + b.pos()));
                            if b.take(8).is_none() {
                                slots.pop();
                                break;
                            }
                        }
                    }
                    slots
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// A script tag as it will be written.
struct Rebuilt {
    /// The input tag it replaces; `None` for a new `onMetaData`.
    tag: Option<Tag>,
    /// The input tag's header (all zeros for a new tag).
    header: [u8; 11],
    data: Vec<u8>,
    slots: Vec<Slot>,
    /// Whether it holds the label.
    target: bool,
}

fn new_on_meta_data(json: &str) -> Rebuilt {
    let mut data = amf::encode_string("onMetaData");
    data.push(marker::ECMA_ARRAY);
    data.extend_from_slice(&1u32.to_be_bytes());
    data.extend_from_slice(&(KEY.len() as u16).to_be_bytes());
    data.extend_from_slice(KEY);
    data.extend_from_slice(&amf::encode_string(json));
    data.extend_from_slice(&[0, 0, marker::OBJECT_END]);
    Rebuilt {
        tag: None,
        header: [0; 11],
        data,
        slots: Vec::new(),
        target: true,
    }
}

impl Rebuilt {
    /// Size change of the file due to this tag.
    fn delta(&self) -> i64 {
        let new = self.data.len() as i64 + TAG_HEADER as i64 + 4;
        new - self.tag.map_or(0, |t| (t.end() - t.start) as i64)
    }

    fn patch_slots(&mut self, shifts: &Shifts, old_len: u64, new_len: u64) {
        for slot in &self.slots {
            let (at, new) = match *slot {
                Slot::FileSize(at) => (
                    at,
                    (read_f64(&self.data, at) == Some(old_len as f64)).then_some(new_len),
                ),
                Slot::Position(at) => (at, read_f64(&self.data, at).and_then(|v| shifts.map(v))),
            };
            if let (Some(v), Some(dst)) = (new, self.data.get_mut(at..at + 8)) {
                dst.copy_from_slice(&(v as f64).to_be_bytes());
            }
        }
    }

    /// The tag as written: the original header with the new `DataSize` (or a fresh header),
    /// the data, and the `PreviousTagSize` that must follow it.
    fn bytes(&self) -> Result<Vec<u8>> {
        let size = u32::try_from(self.data.len())
            .ok()
            .filter(|&s| s < 1 << 24)
            .ok_or_else(|| Error::capacity("flv", "script data over 16 MiB"))?;
        let mut header = self.header;
        if self.tag.is_none() {
            header[0] = SCRIPT;
        }
        header[1..4].copy_from_slice(&size.to_be_bytes()[1..]);
        let mut out = header.to_vec();
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&(size + TAG_HEADER as u32).to_be_bytes());
        Ok(out)
    }
}

fn read_f64(data: &[u8], at: usize) -> Option<f64> {
    let bytes: [u8; 8] = data.get(at..at + 8)?.try_into().ok()?;
    Some(f64::from_be_bytes(bytes))
}

/// How input positions move: each rebuilt or inserted tag moves everything from its old end.
struct Shifts(Vec<(u64, i64)>);

impl Shifts {
    fn new(first: u64, rebuilt: &[Rebuilt]) -> Result<Shifts> {
        Ok(Shifts(
            rebuilt
                .iter()
                .map(|r| (r.tag.map_or(first, |t| t.end()), r.delta()))
                .collect(),
        ))
    }

    fn total(&self) -> i64 {
        self.0.iter().map(|(_, d)| d).sum()
    }

    /// The output position of input position `pos` (a whole, non-negative number), if any.
    fn map(&self, pos: f64) -> Option<u64> {
        if !(pos >= 0.0 && pos.fract() == 0.0 && pos < 9.0e15) {
            return None;
        }
        let pos = pos as u64;
        let delta: i64 = self.0.iter().filter(|(from, _)| pos >= *from).map(|(_, d)| d).sum();
        pos.checked_add_signed(delta)
    }
}
