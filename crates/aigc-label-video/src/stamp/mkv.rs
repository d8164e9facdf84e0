//! The Matroska/WebM splice for VP8, VP9, AV1, H.264 and HEVC: new SimpleBlocks for the video frames
//! before the first keyframe at or after the label's end, every other byte copied.
//!
//! VP8 and VP9 keyframes reset every reference and their frames are stored in presentation
//! order (VP9's hidden frames travel inside superframes), so a keyframe is always a clean cut
//! and the `n`-th new frame takes the place of the `n`-th old block: same track, same
//! timestamp, the new keyframe flag, no codec private data to reconcile. AV1 temporal units
//! likewise (hidden frames inside the unit); a key frame is a cut only when its unit carries
//! a sequence header, as libaom and SVT-AV1 write one at each: the new units bring their own
//! sequence header in band, and the cut's brings the source's back, so `av1C` stays as it was.
//!
//! H.264 (`V_MPEG4/ISO/AVC`) is cut only at an IDR picture: every frame before it in decode
//! order is shown before it and none after it refers back, so the blocks before it hold
//! exactly the frames shown before it. Their blocks are stored in decode order with
//! presentation timestamps; the new segment has no B-frames, so the `n`-th new frame takes the
//! `n`-th smallest of the replaced timestamps. Its SPS and PPS join the track's
//! `CodecPrivate` (an `avcC` record) under ids the source does not use, exactly as the MP4
//! splice does (the `avc` module), which rewrites the Tracks element. HEVC
//! (`V_MPEGH/ISO/HEVC`) likewise, cut at an IRAP picture whose next block is not shown before
//! it (no leading pictures), its new VPS/SPS/PPS renumbered (x265 cannot choose ids; see the
//! `hevc` module) and added to the `hvcC` record. With `--at` windows the
//! whole track is read, each block marked where it can be cut, and any set of blocks replaced
//! ([`write_at`]). What moves:
//! - each Cluster holding a replaced block is rebuilt (its other blocks, audio included, copied
//!   in place; its CRC-32 recomputed) and changes size;
//! - every position that points past such a Cluster moves: SeekHead entries, Cues'
//!   `CueClusterPosition` (a Cue into a rebuilt Cluster loses its optional
//!   `CueRelativePosition`), and the Segment's size. A SeekHead or Cues before the Clusters
//!   must keep its size (a shorter one is padded with a Void); otherwise the file is left to
//!   the whole re-encode.

use std::io::Write;
use std::ops::Range;

use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::{Error, Limits, Result};

use super::opening::NewFrame;
use crate::common::Rewrites;
use crate::matroska::track::{self, uint};

use crate::matroska::ebml::id::{
    BLOCK, BLOCK_GROUP, CLUSTER_TIMESTAMP, CODEC_ID, CODEC_PRIVATE, SIMPLE_BLOCK, TIMESTAMP_SCALE, TRACK_ENTRY,
    TRACK_NUMBER, TRACK_TYPE,
};
use crate::matroska::ebml::{self, Element, children, element_sized, fix_crc, read_element, size_width};

const FORMAT: &str = "matroska";
/// Matroska's codec ID for H.264 with an `avcC` record in `CodecPrivate`.
pub(crate) const H264: &str = "V_MPEG4/ISO/AVC";
/// Matroska's codec ID for HEVC with an `hvcC` record in `CodecPrivate`.
pub(crate) const HEVC: &str = "V_MPEGH/ISO/HEVC";
/// Matroska's codec ID for AV1.
const AV1: &str = "V_AV1";
/// Largest Cluster rebuilt in memory.
const MAX_CLUSTER: u64 = 256 << 20;

fn unsupported(what: impl Into<String>) -> Error {
    Error::unsupported("matroska", what.into())
}

/// A video block of the track being stamped.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// The SimpleBlock element in the file.
    pub range: Range<u64>,
    /// Track number, timestamp and flags, as stored.
    pub head: Vec<u8>,
    /// Absolute timestamp in Segment ticks.
    pub ts: i64,
    pub key: bool,
    /// The track can be cut before it (the first frame, or a clean keyframe).
    pub clean: bool,
    /// Index of its Cluster in [`Mkv::level1`].
    pub cluster: usize,
    /// Its Cluster's timestamp.
    pub cluster_ts: i64,
}

/// A Matroska file ready to splice.
pub(crate) struct Mkv {
    pub segment: Element,
    pub level1: Vec<Element>,
    /// Nanoseconds per timestamp tick.
    pub scale: u64,
    /// The video frames up to and including the first keyframe at or after `until`.
    pub frames: Vec<Frame>,
    /// The track's `CodecID`.
    pub codec_id: String,
    /// The track's `CodecPrivate` (empty when it has none).
    pub private: Vec<u8>,
    /// Where the track's entry is: the Tracks element's index in [`Mkv::level1`] and the
    /// entry's index among its children.
    pub entry: (usize, usize),
    /// Whether the last of [`Mkv::frames`] is the cut: a keyframe (an IDR picture for H.264)
    /// at or after the label's end. Otherwise the track ended first.
    pub cut: bool,
    /// The track's blocks after the cut (counted, not kept).
    pub later: u64,
    /// H.264: the PPS ids the cut and the blocks after it name (the parameter sets the copied
    /// frames need); `None` when a block could not be read that way.
    pub kept_pps: Option<std::collections::BTreeSet<u32>>,
}

/// Notes the PPS id a kept block names; an unknown one means every set is kept.
pub(crate) fn note_pps(kept: &mut Option<std::collections::BTreeSet<u32>>, id: Option<u32>) {
    match (kept.as_mut(), id) {
        (Some(set), Some(id)) => {
            set.insert(id);
        }
        _ => *kept = None,
    }
}

/// The PPS id the H.264 frame at `range` of `src` names.
pub(crate) fn block_pps_id(src: &mut Source<'_>, range: Range<u64>, length_size: usize) -> Result<Option<u32>> {
    Nal::Avc(length_size).pps_id(src, range)
}

/// How the frames of a track of NAL units are read: H.264 (`avcC`) or HEVC (`hvcC`), with
/// the byte length of their NAL unit length fields.
#[derive(Debug, Clone, Copy)]
enum Nal {
    Avc(usize),
    Hevc(usize),
}

impl Nal {
    /// True when the frame is a keyframe the track may be cut at: an IDR picture for H.264,
    /// an IRAP picture for HEVC (whose leading pictures the timestamps rule out, see [`open`]).
    fn is_cut(self, frame: &[u8]) -> bool {
        match self {
            Nal::Avc(ls) => super::avc::is_idr(frame, ls),
            Nal::Hevc(ls) => super::hevc::is_irap(frame, ls),
        }
    }

    /// The PPS id the frame at `range` of `src` names.
    fn pps_id(self, src: &mut Source<'_>, range: Range<u64>) -> Result<Option<u32>> {
        let start = range.start;
        let mut read_at = |pos: u64, buf: &mut [u8]| -> Result<()> {
            src.seek_to(start.saturating_add(pos))?;
            let n = src.read_up_to(buf)?;
            if n < buf.len() {
                return Err(Error::truncated(FORMAT, start + pos, "frame"));
            }
            Ok(())
        };
        let size = range.end.saturating_sub(start);
        match self {
            Nal::Avc(ls) => super::avc::sample_pps_id(size, ls, &mut read_at),
            Nal::Hevc(ls) => super::hevc::sample_pps_id(size, ls, &mut read_at),
        }
    }
}

/// Reads the structure of `input` and the blocks of its `nth` track up to the first keyframe
/// whose time from the first frame is at least `until_ns` (for H.264, the first IDR picture);
/// with `u64::MAX`, every block.
pub(crate) fn open(input: &mut dyn ReadSeek, nth: usize, until_ns: u64, limits: &Limits) -> Result<Mkv> {
    let mut src = Source::new(input, FORMAT)?;
    let len = src.len();
    let head = read_element(&mut src, len)?;
    src.seek_to(head.end().ok_or_else(|| unsupported("EBML header of unknown size"))?)?;
    let segment = read_element(&mut src, len)?;
    let seg_end = segment.end().ok_or_else(|| unsupported("Segment of unknown size"))?;
    let level1 = track::level1(&mut src, seg_end, limits)?;
    let mut scale = 1_000_000u64;
    let mut track = None;
    let (mut codec_id, mut private, mut entry_at) = (String::new(), Vec::new(), (0, 0));
    for (li, el) in level1.iter().enumerate() {
        if el.id == ebml::id::INFO || el.id == ebml::id::TRACKS {
            src.seek_to(el.start)?;
            let buf = src.read_vec(el.end().unwrap_or(el.start) - el.start, "element", limits)?;
            let kids = children(&buf, el.hdr_len as usize..buf.len(), el.start)?;
            if el.id == ebml::id::INFO {
                if let Some(c) = kids.iter().find(|c| c.id == TIMESTAMP_SCALE) {
                    scale = uint(buf.get(c.data.clone()).unwrap_or_default()).max(1);
                }
            } else if let Some((ei, entry)) = kids.iter().enumerate().filter(|(_, c)| c.id == TRACK_ENTRY).nth(nth) {
                let fields = children(&buf, entry.data.clone(), el.start)?;
                let bytes = |id| ebml::field(&buf, &fields, id);
                codec_id = String::from_utf8_lossy(bytes(CODEC_ID))
                    .trim_end_matches('\0')
                    .to_string();
                private = bytes(CODEC_PRIVATE).to_vec();
                entry_at = (li, ei);
                let get = |id| {
                    fields
                        .iter()
                        .find(|c| c.id == id)
                        .map(|c| uint(buf.get(c.data.clone()).unwrap_or_default()))
                };
                if get(TRACK_TYPE) != Some(1) {
                    return Err(unsupported(format!("track {nth} is not video")));
                }
                track = get(TRACK_NUMBER);
            }
        }
    }
    let track = track.ok_or_else(|| unsupported(format!("no track entry {nth}")))?;
    // H.264 is cut at IDR pictures only, HEVC at IRAP pictures without leading pictures,
    // found by their NAL unit types.
    let length_size = match codec_id.as_str() {
        H264 => Some(Nal::Avc(super::avc::length_size(&private)?)),
        HEVC => Some(Nal::Hevc(super::hevc::length_size(&private)?)),
        _ => None,
    };
    // An HEVC cut whose next block is yet to show it has no leading pictures.
    let mut leading_check = false;
    let mut block_limits = limits.clone();
    block_limits.max_metadata_bytes = MAX_CLUSTER;
    let mut frames: Vec<Frame> = Vec::new();
    let mut first_ts = None;
    let mut found = false;
    let mut later = 0u64;
    let mut kept_pps = Some(std::collections::BTreeSet::new());
    for (ci, el) in level1.iter().enumerate().filter(|(_, e)| e.id == ebml::id::CLUSTER) {
        let end = el.end().unwrap_or(el.start);
        src.seek_to(el.data_start())?;
        let mut cluster_ts = 0i64;
        while src.pos() < end && end - src.pos() >= 2 {
            let child = read_element(&mut src, end)?;
            let child_end = child.end().unwrap_or(end);
            match child.id {
                CLUSTER_TIMESTAMP => {
                    let b = src.read_vec(child_end - child.data_start(), "timestamp", limits)?;
                    cluster_ts = i64::try_from(uint(&b)).unwrap_or(i64::MAX);
                }
                SIMPLE_BLOCK => {
                    let mut h = [0u8; 12];
                    let n = src.read_up_to(&mut h)?;
                    let h = h
                        .get(..n.min((child_end - child.data_start()) as usize))
                        .unwrap_or_default();
                    let (number, rel, flags, head_len) = track::block_header(h, child.start)?;
                    let at = cluster_ts.saturating_add(i64::from(rel));
                    if number == track && found && std::mem::take(&mut leading_check) {
                        if let Some(cut) = frames.last_mut().filter(|cut| at < cut.ts) {
                            // Shown before the keyframe, decoded after it: a leading picture,
                            // which may refer to frames before the keyframe. Not a cut.
                            cut.clean = false;
                            found = false;
                            later = 0;
                            kept_pps = Some(std::collections::BTreeSet::new());
                        }
                    }
                    if number == track && found {
                        later += 1;
                        if let Some(nal) = length_size {
                            let payload = child.data_start() + head_len as u64;
                            let id = match flags & 0x06 {
                                0 => nal.pps_id(&mut src, payload..child_end)?,
                                _ => None,
                            };
                            note_pps(&mut kept_pps, id);
                        }
                    } else if number == track {
                        if flags & 0x06 != 0 {
                            return Err(unsupported("laced video blocks"));
                        }
                        let first = *first_ts.get_or_insert(at);
                        let key = flags & 0x80 != 0;
                        let elapsed = u128::try_from(at.saturating_sub(first)).unwrap_or(0) * u128::from(scale);
                        // A keyframe where the track can be cut (see the module notes).
                        let mut clean = key && !frames.is_empty();
                        let payload = child.data_start() + head_len as u64;
                        if clean && (length_size.is_some() || codec_id == AV1) {
                            src.seek_to(payload)?;
                            let bytes = src.read_vec(child_end.saturating_sub(payload), "block", &block_limits)?;
                            clean = match length_size {
                                Some(nal) => nal.is_cut(&bytes),
                                None => av1_obu(&bytes, 1).is_some(),
                            };
                        }
                        let cut = clean && elapsed >= u128::from(until_ns);
                        if let (true, Some(nal)) = (cut, length_size) {
                            note_pps(&mut kept_pps, nal.pps_id(&mut src, payload..child_end)?);
                            leading_check = matches!(nal, Nal::Hevc(_));
                        }
                        frames.push(Frame {
                            range: child.start..child_end,
                            head: h.get(..head_len).unwrap_or_default().to_vec(),
                            ts: at,
                            key,
                            clean: clean || frames.is_empty(),
                            cluster: ci,
                            cluster_ts,
                        });
                        found = cut;
                    }
                }
                BLOCK_GROUP => {
                    let b = src.read_vec(child_end - child.data_start(), "BlockGroup", limits)?;
                    let kids = children(&b, 0..b.len(), child.data_start())?;
                    if let Some(block) = kids.iter().find(|c| c.id == BLOCK) {
                        let data = b.get(block.data.clone()).unwrap_or_default();
                        let vlen = data.first().map_or(9, |x| x.leading_zeros() as usize + 1);
                        let number =
                            uint(data.get(..vlen).unwrap_or_default()) & !(0x80u64 << (8 * (vlen.clamp(1, 8) - 1)));
                        if number == track && found {
                            later += 1;
                            kept_pps = None;
                        } else if number == track {
                            return Err(unsupported("video in BlockGroups"));
                        }
                    }
                }
                _ => {}
            }
            src.seek_to(child_end)?;
        }
    }
    if matches!(length_size, Some(Nal::Hevc(_))) {
        // Every block read (`--at` windows): an IRAP picture followed by one shown before it
        // has leading pictures.
        for i in 1..frames.len() {
            let next = frames.get(i + 1).map(|f| f.ts);
            if let Some(f) = frames.get_mut(i).filter(|f| next.is_some_and(|n| n < f.ts)) {
                f.clean = false;
            }
        }
    }
    Ok(Mkv {
        segment,
        level1,
        scale,
        frames,
        codec_id,
        private,
        entry: entry_at,
        cut: found,
        later,
        kept_pps,
    })
}

/// True when a VP8 or VP9 frame (the first of a VP9 superframe), or an AV1 temporal unit, is
/// a keyframe.
pub(crate) fn is_key(codec: &str, frame: &[u8]) -> bool {
    let Some(&b0) = frame.first() else { return false };
    match codec {
        "vp8" => b0 & 1 == 0,
        "av1" => av1_key(frame),
        _ => {
            // frame_marker (2), profile_low, profile_high, [reserved if profile 3],
            // show_existing_frame, frame_type (0: key).
            let profile = (((b0 >> 4) & 1) << 1) | ((b0 >> 5) & 1);
            let bit = if profile == 3 { 2 } else { 3 };
            let show_existing = (b0 >> bit) & 1;
            let frame_type = (b0 >> (bit - 1)) & 1;
            b0 >> 6 == 0b10 && show_existing == 0 && frame_type == 0
        }
    }
}

/// True when the first frame header of an AV1 temporal unit (low-overhead OBUs, each with its
/// size, as WebM and IVF store them) is a shown key frame: `show_existing_frame` 0 and
/// `frame_type` KEY_FRAME (AV1 §5.9.2; a video's sequence header has no reduced still-picture
/// header).
fn av1_key(tu: &[u8]) -> bool {
    [3, 6]
        .iter()
        .filter_map(|&kind| av1_obu(tu, kind))
        .min()
        .and_then(|at| tu.get(at))
        .is_some_and(|b| b >> 5 == 0)
}

/// Where the payload of the first OBU of type `kind` starts in a temporal unit.
pub(crate) fn av1_obu(tu: &[u8], kind: u8) -> Option<usize> {
    let mut pos = 0usize;
    while let Some(&header) = tu.get(pos) {
        let extension = usize::from(header & 0x04 != 0);
        if header & 0x02 == 0 {
            return None; // no obu_size: not the low-overhead format
        }
        // obu_size, leb128.
        let mut size = 0usize;
        let mut at = pos + 1 + extension;
        for i in 0..8 {
            let b = *tu.get(at)?;
            at += 1;
            size |= usize::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                break;
            }
        }
        if (header >> 3) & 0x0F == kind {
            return Some(at);
        }
        pos = at.checked_add(size)?;
    }
    None
}

/// The packets of an IVF stream (ffmpeg's `-f ivf`): 32-byte file header, then a 12-byte
/// header (size, timestamp) before each frame.
pub(crate) fn ivf_frames(data: &[u8]) -> Result<Vec<Range<usize>>> {
    if data.get(..4) != Some(b"DKIF") {
        return Err(Error::malformed("ivf", 0, "not an IVF stream"));
    }
    let header = data
        .get(6..8)
        .map_or(32, |h| usize::from(u16::from_le_bytes([h[0], h[1]])));
    let mut pos = header;
    let mut out = Vec::new();
    while let Some(h) = data.get(pos..pos + 12) {
        let size = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let start = pos + 12;
        let end = start
            .checked_add(size)
            .filter(|&e| e <= data.len())
            .ok_or_else(|| Error::malformed("ivf", pos as u64, "frame past the end"))?;
        out.push(start..end);
        pos = end;
    }
    Ok(out)
}

/// The Tracks element `buf` (all of it, starting at file offset `at`) with the `nth` entry's
/// `CodecPrivate` holding `private`.
fn tracks_with_private(buf: &[u8], hdr_len: usize, at: u64, nth: usize, private: &[u8]) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    for (i, entry) in children(buf, hdr_len..buf.len(), at)?.into_iter().enumerate() {
        if i != nth {
            data.extend_from_slice(buf.get(entry.range.clone()).unwrap_or_default());
            continue;
        }
        let mut fields = Vec::new();
        let mut replaced = false;
        for f in children(buf, entry.data.clone(), at)? {
            if f.id == CODEC_PRIVATE {
                fields.extend_from_slice(&ebml::element(CODEC_PRIVATE, private));
                replaced = true;
            } else {
                fields.extend_from_slice(buf.get(f.range.clone()).unwrap_or_default());
            }
        }
        if !replaced {
            fields.extend_from_slice(&ebml::element(CODEC_PRIVATE, private));
        }
        fix_crc(&mut fields);
        data.extend_from_slice(&ebml::element(entry.id, &fields));
    }
    fix_crc(&mut data);
    let width = size_width(data.len() as u64).max(hdr_len - ebml::id_bytes(ebml::id::TRACKS).len());
    element_sized(ebml::id::TRACKS, &data, width).ok_or_else(|| unsupported("Tracks size"))
}

/// Writes the file with the first `new.len()` of [`Mkv::frames`] replaced by `new`, and the
/// track's `CodecPrivate` replaced by `private` when given.
pub(crate) fn write(
    input: &mut dyn ReadSeek,
    mkv: &Mkv,
    new: &[NewFrame<'_>],
    private: Option<&[u8]>,
    limits: &Limits,
    out: &mut dyn Write,
) -> Result<()> {
    let at: Vec<usize> = (0..new.len()).collect();
    write_at(input, mkv, &at, new, private, limits, out)
}

/// Writes the file with `frames[at[i]]` of [`Mkv::frames`] replaced by `new[i]` (`at`
/// ascending), and the track's `CodecPrivate` replaced by `private` when given.
pub(crate) fn write_at(
    input: &mut dyn ReadSeek,
    mkv: &Mkv,
    at: &[usize],
    new: &[NewFrame<'_>],
    private: Option<&[u8]>,
    limits: &Limits,
    out: &mut dyn Write,
) -> Result<()> {
    let mut src = Source::new(input, FORMAT)?;
    let replaced = super::opening::replaced(&mkv.frames, at, new.len())?;
    // Rebuilt Clusters.
    let mut edits: Rewrites = Vec::new();
    let mut clusters: Vec<usize> = replaced.iter().map(|f| f.cluster).collect();
    clusters.sort_unstable();
    clusters.dedup();
    for &ci in &clusters {
        let el = mkv
            .level1
            .get(ci)
            .ok_or_else(|| Error::malformed(FORMAT, 0, "cluster index"))?;
        edits.push(track::rebuild_cluster(&mut src, el, limits, |abs, _| {
            let Some(i) = replaced.iter().position(|f| f.range.start == abs) else {
                return Ok(None);
            };
            let (Some(frame), Some(n)) = (replaced.get(i), new.get(i)) else {
                return Err(Error::malformed(FORMAT, abs, "replaced block"));
            };
            let vlen = frame.head.len().saturating_sub(3);
            let rel = i16::try_from(n.ts.saturating_sub(frame.cluster_ts))
                .map_err(|_| unsupported("a new timestamp too far from its Cluster's"))?;
            let flags = frame.head.last().copied().unwrap_or(0);
            let mut block = frame.head.get(..vlen).unwrap_or_default().to_vec();
            block.extend_from_slice(&rel.to_be_bytes());
            block.push((flags & 0x7F & !0x06) | if n.key { 0x80 } else { 0 });
            block.extend_from_slice(n.bytes);
            Ok(Some(ebml::element(SIMPLE_BLOCK, &block)))
        })?);
    }
    if let Some(private) = private {
        let el = mkv
            .level1
            .get(mkv.entry.0)
            .filter(|e| e.id == ebml::id::TRACKS)
            .ok_or_else(|| Error::malformed(FORMAT, 0, "Tracks index"))?;
        let end = el.end().unwrap_or(el.start);
        src.seek_to(el.start)?;
        let buf = src.read_vec(end - el.start, "Tracks", limits)?;
        let new = tracks_with_private(&buf, el.hdr_len as usize, el.start, mkv.entry.1, private)?;
        edits.push((el.start..end, new));
    }
    track::finish(&mut src, &mkv.segment, &mkv.level1, edits, limits, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp9_and_vp8_keyframes() {
        // VP9 profile 0: 10 0 0 | show_existing 0 | frame_type 0.
        assert!(is_key("vp9", &[0b1000_0000]));
        assert!(!is_key("vp9", &[0b1000_0100])); // inter frame
        assert!(!is_key("vp9", &[0b1000_1000])); // show existing
        assert!(is_key("vp8", &[0x10]));
        assert!(!is_key("vp8", &[0x11]));
        assert!(!is_key("vp9", &[]));
        // AV1: a temporal delimiter (type 2, size 0), then an OBU_FRAME (type 6) whose header
        // starts show_existing_frame 0, frame_type 00 (key) or 01 (inter).
        assert!(is_key("av1", &[0x12, 0x00, 0x32, 0x01, 0x10]));
        assert!(!is_key("av1", &[0x12, 0x00, 0x32, 0x01, 0x30]));
        assert!(!is_key("av1", &[0x12, 0x00, 0x32, 0x01, 0x90]));
        assert!(!is_key("av1", &[0x12, 0x00, 0x32]));
        // A sequence header OBU (type 1) of one byte, then a frame.
        assert_eq!(av1_obu(&[0x0A, 0x01, 0xFF, 0x32, 0x00], 1), Some(2));
        assert_eq!(av1_obu(&[0x0A, 0x01, 0xFF, 0x32, 0x00], 6), Some(5));
        assert_eq!(av1_obu(&[0x0A, 0x05, 0xFF], 6), None);
    }

    #[test]
    fn ivf_packets() {
        let mut d = b"DKIF".to_vec();
        d.extend_from_slice(&[0, 0, 32, 0]);
        d.resize(32, 0);
        d.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 8]);
        assert_eq!(ivf_frames(&d).unwrap(), vec![Range { start: 44, end: 46 }]);
        d.extend_from_slice(&[9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert!(ivf_frames(&d).is_err());
    }
}
