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

use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::{Error, Limits, Result};

use super::avc;
use super::mkv::{block_pps_id, note_pps};
use super::opening::NewFrame;
use crate::common::{Budget, Rewrites, shift, write_rewritten};
use crate::flv::track::patch_meta;

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
    let mut edits: Rewrites = Vec::with_capacity(new.len() + 1);
    src.seek_to(flv.header.data_start())?;
    let first: [u8; 1] = src.read_array("sequence header")?;
    let mut data = vec![first[0], 0, 0, 0, 0];
    data.extend_from_slice(record);
    edits.push((flv.header.start..flv.header.end(), tag(VIDEO, flv.header.dts, &data)?));
    for (old, n) in replaced.iter().zip(new) {
        let cts = n.ts.saturating_sub(old.dts);
        let cts = i32::try_from(cts)
            .ok()
            .filter(|c| (0..1 << 23).contains(c))
            .ok_or_else(|| unsupported("a composition offset out of range"))?;
        let mut data = vec![if n.key { 0x17 } else { 0x27 }, 1];
        data.extend_from_slice(&cts.to_be_bytes()[1..]);
        data.extend_from_slice(n.bytes);
        edits.push((old.start..old.end(), tag(VIDEO, old.dts, &data)?));
    }
    edits.sort_by_key(|(r, _)| r.start);
    let total = shift(&edits, u64::MAX);
    let new_len = u64::try_from(i128::from(old_len) + total).map_err(|_| Error::malformed(FORMAT, 0, "size"))?;
    // Where a keyframe position lands: a replaced tag's goes to the new keyframe at or before it.
    let position = |pos: u64| -> Option<u64> {
        let target = match replaced.iter().position(|f| f.start == pos) {
            Some(i) => {
                let j = new.get(..=i)?.iter().rposition(|n| n.key)?;
                replaced.get(j)?.start
            }
            None if edits.iter().any(|(r, _)| r.start < pos && pos < r.end) => return None,
            None => pos,
        };
        u64::try_from(i128::from(target) + shift(&edits, target)).ok()
    };
    // onMetaData's numbers, patched in place (their width does not change). Script tags are
    // never replaced, so the patches do not overlap the edits.
    let mut patched: Rewrites = Vec::new();
    for s in &flv.scripts {
        src.seek_to(s.data_start())?;
        let mut data = src.read_vec(s.size, "script data", limits)?;
        if patch_meta(&mut data, limits, old_len, new_len, total, b"videosize", &position) {
            patched.push((s.data_start()..s.data_start() + s.size, data));
        }
    }
    edits.extend(patched);
    edits.sort_by_key(|(r, _)| r.start);
    write_rewritten(&mut src, 0, &edits, out)
}
