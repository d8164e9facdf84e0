//! The FLV splice for H.264 (Adobe Flash Video File Format Specification 10.1, Annex E): new
//! video tags for the frames before the first IDR picture at or after the label's end, every
//! other tag copied byte for byte.
//!
//! FLV stores each frame's decode time (the tag timestamp) and composition offset, so unlike
//! Matroska the new segment needs no B-frames: the `n`-th new tag keeps the decode time of the
//! `n`-th tag it replaces and shows the `n`-th earliest of their presentation times (never
//! before its decode time: at most `n` of the replaced frames are shown before the `n`-th is
//! decoded). The new SPS and PPS join the AVC sequence header's `avcC` record under ids the
//! source does not use (the `avc` module), so no frame carries parameter sets in band.
//! Audio and script tags stay where they were, between the video tags.
//!
//! FLV has no byte offsets outside `onMetaData`; there `filesize`, `datasize`, `videosize`,
//! `lastkeyframelocation` and `keyframes.filepositions` are fixed-width numbers, patched in
//! place. A keyframe position inside the re-encoded stretch points at the new keyframe before
//! it (the first new tag), so seeking there starts from a frame that decodes.

use std::io::Write;

use aigc_label_core::io::{Bytes, ReadSeek, Source};
use aigc_label_core::{Error, Limits, Result};

use super::avc;
use super::mkv::{block_pps_id, note_pps};
use super::opening::NewFrame;
use crate::common::Budget;
use crate::flv::amf::{self, marker};

const FORMAT: &str = "flv";
const TAG_HEADER: u64 = 11;
const VIDEO: u8 = 9;
const SCRIPT: u8 = 18;
const AVC: u8 = 7;
/// Largest video tag read whole (to look at its NAL unit types).
const MAX_FRAME: u64 = 64 << 20;

fn unsupported(what: impl Into<String>) -> Error {
    Error::unsupported(FORMAT, what.into())
}

/// A tag of the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tag {
    pub start: u64,
    /// Its data's size.
    pub size: u64,
    /// Decode time in ms.
    pub dts: i64,
    /// Composition offset in ms (video frames).
    pub cts: i64,
    pub key: bool,
    /// A video frame the stream can be cut before: an IDR picture (noted when every frame is
    /// read, for `--at` windows).
    pub clean: bool,
}

impl Tag {
    fn data_start(&self) -> u64 {
        self.start + TAG_HEADER
    }

    /// End of the tag and its `PreviousTagSize`.
    fn end(&self) -> u64 {
        self.data_start() + self.size + 4
    }
}

/// An FLV file ready to splice.
pub(crate) struct Flv {
    /// The AVC sequence header tag and its `avcC` record.
    pub header: Tag,
    pub record: Vec<u8>,
    /// The video frames (decode order) up to and including the cut.
    pub frames: Vec<Tag>,
    /// Whether the last of `frames` is the cut (an IDR at or after the label's end).
    pub cut: bool,
    /// Video frames after the cut.
    pub later: u64,
    /// Script tags (for `onMetaData`).
    pub scripts: Vec<Tag>,
    /// The PPS ids the cut and the frames after it name; `None` when one could not be read.
    pub kept_pps: Option<std::collections::BTreeSet<u32>>,
}

/// Reads the tags of `input` up to the first IDR picture shown at least `until_ms` after the
/// first frame (and counts the video frames after it); with `i64::MAX`, every frame, each
/// IDR picture marked [`Tag::clean`].
pub(crate) fn open(input: &mut dyn ReadSeek, until_ms: i64, limits: &Limits) -> Result<Flv> {
    let mut src = Source::new(input, FORMAT)?;
    crate::flv::read_header(&mut src)?;
    let mut budget = Budget::new(limits);
    let mut frame_limits = limits.clone();
    frame_limits.max_metadata_bytes = MAX_FRAME;
    let (mut header, mut record) = (None, Vec::new());
    let (mut frames, mut scripts) = (Vec::new(), Vec::new());
    let (mut cut, mut later) = (false, 0u64);
    let mut kept_pps = Some(std::collections::BTreeSet::new());
    let mut first_pts = None;
    while src.remaining() >= TAG_HEADER {
        budget.tick(FORMAT, src.pos())?;
        let start = src.pos();
        let h: [u8; 11] = src.read_array("tag header")?;
        let size = u64::from(u32::from_be_bytes([0, h[1], h[2], h[3]]));
        let dts = i64::from(i32::from_be_bytes([h[7], h[4], h[5], h[6]]));
        let mut tag = Tag {
            start,
            size,
            dts,
            cts: 0,
            key: false,
            clean: false,
        };
        if tag.end() > src.len() {
            return Err(unsupported("a tag runs past the end of the file"));
        }
        let kind = h[0] & 0x1F;
        if h[0] & 0x20 != 0 && kind != SCRIPT {
            return Err(unsupported("encrypted tags"));
        }
        if kind == SCRIPT {
            scripts.push(tag);
        } else if kind == VIDEO && cut {
            // Frames only: not a sequence header or end of sequence.
            let v: [u8; 2] = src.read_array("video tag header")?;
            if v[1] == 1 {
                later += 1;
                let range = tag.data_start() + 5..tag.data_start() + size;
                let id = match size >= 5 {
                    true => block_pps_id(&mut src, range, avc::length_size(&record)?)?,
                    false => None,
                };
                note_pps(&mut kept_pps, id);
            }
        } else if kind == VIDEO {
            let v: [u8; 5] = src.read_array("video tag header")?;
            if v[0] & 0x0F != AVC || size < 5 {
                return Err(unsupported("video that is not H.264"));
            }
            tag.key = v[0] >> 4 == 1;
            tag.cts = i64::from(i32::from_be_bytes([v[2], v[3], v[4], 0]) >> 8);
            match v[1] {
                0 if header.is_none() && frames.is_empty() => {
                    record = src.read_vec(size - 5, "AVC sequence header", limits)?;
                    header = Some(tag);
                }
                0 => return Err(unsupported("a second AVC sequence header before the cut")),
                1 if header.is_none() => return Err(unsupported("a frame before the AVC sequence header")),
                1 => {
                    let pts = dts.saturating_add(tag.cts);
                    let first = *first_pts.get_or_insert(pts);
                    let ls = avc::length_size(&record)?;
                    let every = until_ms == i64::MAX;
                    if tag.key && !frames.is_empty() && (every || pts.saturating_sub(first) >= until_ms) {
                        let bytes = src.read_vec(size - 5, "video frame", &frame_limits)?;
                        tag.clean = avc::is_idr(&bytes, ls);
                        cut = tag.clean && !every;
                        if cut {
                            let range = tag.data_start() + 5..tag.data_start() + size;
                            note_pps(&mut kept_pps, block_pps_id(&mut src, range, ls)?);
                        }
                    }
                    frames.push(tag);
                }
                // Every frame read: the end of sequence (last) is copied like any other tag.
                2 if until_ms == i64::MAX => {}
                _ => return Err(unsupported("an AVC end of sequence before the cut")),
            }
        }
        src.seek_to(tag.end())?;
    }
    let header = header.ok_or_else(|| unsupported("no AVC sequence header before the first frame"))?;
    Ok(Flv {
        header,
        record,
        frames,
        cut,
        later,
        scripts,
        kept_pps,
    })
}

/// One tag replaced.
struct Edit {
    old: std::ops::Range<u64>,
    new: Vec<u8>,
}

fn tag(kind: u8, dts: i64, data: &[u8]) -> Result<Vec<u8>> {
    let size = u32::try_from(data.len())
        .ok()
        .filter(|&s| s < 1 << 24)
        .ok_or_else(|| Error::capacity(FORMAT, "a video tag over 16 MiB"))?;
    let ts = u32::try_from(dts).map_err(|_| unsupported("a negative timestamp"))?;
    let mut out = vec![kind];
    out.extend_from_slice(&size.to_be_bytes()[1..]);
    out.extend_from_slice(&ts.to_be_bytes()[1..]);
    out.push(ts.to_be_bytes()[0]);
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(data);
    out.extend_from_slice(&(size + TAG_HEADER as u32).to_be_bytes());
    Ok(out)
}

/// Writes the file with the first `new.len()` of [`Flv::frames`] replaced by `new` and the
/// sequence header holding `record`.
pub(crate) fn write(
    input: &mut dyn ReadSeek,
    flv: &Flv,
    new: &[NewFrame<'_>],
    record: &[u8],
    limits: &Limits,
    out: &mut dyn Write,
) -> Result<()> {
    let at: Vec<usize> = (0..new.len()).collect();
    write_at(input, flv, &at, new, record, limits, out)
}

/// Writes the file with `frames[at[i]]` of [`Flv::frames`] replaced by `new[i]` (`at`
/// ascending; each stretch of new frames starting with a keyframe) and the sequence header
/// holding `record`.
pub(crate) fn write_at(
    input: &mut dyn ReadSeek,
    flv: &Flv,
    at: &[usize],
    new: &[NewFrame<'_>],
    record: &[u8],
    limits: &Limits,
    out: &mut dyn Write,
) -> Result<()> {
    let replaced = super::opening::replaced(&flv.frames, at, new.len())?;
    let mut src = Source::new(input, FORMAT)?;
    let old_len = src.len();
    let mut edits = Vec::with_capacity(new.len() + 1);
    src.seek_to(flv.header.data_start())?;
    let first: [u8; 1] = src.read_array("sequence header")?;
    let mut data = vec![first[0], 0, 0, 0, 0];
    data.extend_from_slice(record);
    edits.push(Edit {
        old: flv.header.start..flv.header.end(),
        new: tag(VIDEO, flv.header.dts, &data)?,
    });
    for (old, n) in replaced.iter().zip(new) {
        let cts = n.ts.saturating_sub(old.dts);
        let cts = i32::try_from(cts)
            .ok()
            .filter(|c| (0..1 << 23).contains(c))
            .ok_or_else(|| unsupported("a composition offset out of range"))?;
        let mut data = vec![if n.key { 0x17 } else { 0x27 }, 1];
        data.extend_from_slice(&cts.to_be_bytes()[1..]);
        data.extend_from_slice(n.bytes);
        edits.push(Edit {
            old: old.start..old.end(),
            new: tag(VIDEO, old.dts, &data)?,
        });
    }
    edits.sort_by_key(|e| e.old.start);
    let shift = |pos: u64| -> i128 {
        edits
            .iter()
            .filter(|e| e.old.end <= pos)
            .map(|e| e.new.len() as i128 - i128::from(e.old.end - e.old.start))
            .sum()
    };
    let total = shift(u64::MAX);
    let new_len = u64::try_from(i128::from(old_len) + total).map_err(|_| Error::malformed(FORMAT, 0, "size"))?;
    // Where a keyframe position lands: a replaced tag's goes to the new keyframe at or before it.
    let position = |pos: u64| -> Option<u64> {
        let target = match replaced.iter().position(|f| f.start == pos) {
            Some(i) => {
                let j = new.get(..=i)?.iter().rposition(|n| n.key)?;
                replaced.get(j)?.start
            }
            None if edits.iter().any(|e| e.old.start < pos && pos < e.old.end) => return None,
            None => pos,
        };
        u64::try_from(i128::from(target) + shift(target)).ok()
    };
    // onMetaData's numbers, patched in place (their width does not change).
    let mut patched: Vec<(u64, Vec<u8>)> = Vec::new();
    for s in &flv.scripts {
        src.seek_to(s.data_start())?;
        let mut data = src.read_vec(s.size, "script data", limits)?;
        if patch_meta(&mut data, limits, old_len, new_len, total, &position) {
            patched.push((s.data_start(), data));
        }
    }
    // Script tags are never replaced, so the patches do not overlap the edits.
    let mut all: Vec<(std::ops::Range<u64>, &[u8])> = edits.iter().map(|e| (e.old.clone(), e.new.as_slice())).collect();
    all.extend(
        patched
            .iter()
            .map(|(at, data)| (*at..at + data.len() as u64, data.as_slice())),
    );
    all.sort_by_key(|(r, _)| r.start);
    super::opening::copy_edited(&mut src, 0, all.iter().map(|(r, b)| (r, *b)), out)
}

/// Patches `onMetaData`'s size and position numbers in `data`; false when it is not one.
fn patch_meta(
    data: &mut [u8],
    limits: &Limits,
    old_len: u64,
    new_len: u64,
    delta: i128,
    position: &dyn Fn(u64) -> Option<u64>,
) -> bool {
    let mut b = Bytes::new(data);
    if b.u8() != Some(marker::STRING) {
        return false;
    }
    let name_len = b.u16_be().map_or(0, usize::from);
    if b.take(name_len) != Some(b"onMetaData") {
        return false;
    }
    let ecma = match b.u8() {
        Some(marker::ECMA_ARRAY) => b.take(4).is_some(),
        Some(marker::OBJECT) => false,
        _ => return false,
    };
    let Some(props) = amf::properties(&mut b, limits.max_depth, ecma) else {
        return false;
    };
    // (where the 8 bytes of a number are, its new value)
    let mut numbers: Vec<(usize, f64)> = Vec::new();
    let src: &[u8] = data;
    let number_at = |at: usize| -> Option<f64> {
        let bytes: [u8; 8] = src.get(at..at + 8)?.try_into().ok()?;
        Some(f64::from_be_bytes(bytes))
    };
    let moved = |v: f64| -> Option<f64> {
        (v >= 0.0 && v.fract() == 0.0 && v < 9.0e15).then_some(())?;
        position(v as u64).map(|p| p as f64)
    };
    for p in &props {
        let key = src.get(p.key.clone()).unwrap_or_default();
        let value = p.value.start;
        let is_number = src.get(value) == Some(&marker::NUMBER);
        match key {
            b"filesize" if is_number && number_at(value + 1) == Some(old_len as f64) => {
                numbers.push((value + 1, new_len as f64));
            }
            b"datasize" | b"videosize" if is_number => {
                if let Some(v) = number_at(value + 1) {
                    numbers.push((value + 1, (v + delta as f64).max(0.0)));
                }
            }
            b"lastkeyframelocation" if is_number => {
                if let Some(v) = number_at(value + 1).and_then(moved) {
                    numbers.push((value + 1, v));
                }
            }
            b"keyframes" if src.get(value) == Some(&marker::OBJECT) => {
                let mut k = Bytes::new(src.get(value + 1..p.value.end).unwrap_or_default());
                for q in amf::properties(&mut k, 4, false).unwrap_or_default() {
                    if src.get(value + 1 + q.key.start..value + 1 + q.key.end) != Some(b"filepositions") {
                        continue;
                    }
                    let at = value + 1 + q.value.start;
                    let mut a = Bytes::new(src.get(at..value + 1 + q.value.end).unwrap_or_default());
                    if a.u8() != Some(marker::STRICT_ARRAY) {
                        continue;
                    }
                    let count = a.u32_be().unwrap_or(0);
                    for _ in 0..count {
                        if a.u8() != Some(marker::NUMBER) {
                            break;
                        }
                        let here = at + a.pos();
                        if let Some(v) = number_at(here).and_then(moved) {
                            numbers.push((here, v));
                        }
                        if a.take(8).is_none() {
                            break;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for (at, v) in &numbers {
        if let Some(dst) = data.get_mut(*at..*at + 8) {
            dst.copy_from_slice(&v.to_be_bytes());
        }
    }
    !numbers.is_empty()
}
