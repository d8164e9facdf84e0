//! Rewriting the blocks of one track of a Matroska/WebM file: some of its blocks get new
//! payloads, every other byte of the file is copied.
//!
//! This is the container half of the audible label in the sound of a Matroska or WebM video
//! (`aigc_label_audio`'s `stamp_file` with `--mix`): the codec mixer re-encodes the packets
//! under the cue and this module puts them where the old ones were, one for one, each keeping
//! its track number, timestamp and flags (a `BlockGroup` keeps its other children:
//! `BlockDuration`, `DiscardPadding`, references). So timing does not change and every other
//! block, of this track or another, keeps its bytes. What moves, as in the video splice:
//! - each Cluster holding a replaced block is rebuilt (its CRC-32 recomputed) and changes size;
//! - every position pointing past such a Cluster moves: `SeekHead` entries, `Cues`'
//!   `CueClusterPosition` (a Cue into a rebuilt Cluster loses its optional
//!   `CueRelativePosition`), and the Segment's size. An index before the Clusters keeps its
//!   size (padded with a `Void`, or grown into the `Void` after it); when it cannot, the write
//!   is refused.
//!
//! Laced blocks (several packets in one block, as mkvmerge stores audio) are refused: the
//! caller says to remux without lacing.

use std::io::Write;
use std::ops::Range;

use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::{Error, Limits, Result};

use crate::common::{Rewrites, moved, write_rewritten};

use super::ebml::id::{
    BLOCK, BLOCK_GROUP, CLUSTER_TIMESTAMP, CODEC_ID, CODEC_PRIVATE, SIMPLE_BLOCK, TIMESTAMP_SCALE, TRACK_ENTRY,
    TRACK_NUMBER, TRACK_TYPE,
};
use super::ebml::{self, Element, children, element_sized, fix_crc, id, read_element, size_width, uint_element, void};

const FORMAT: &str = "matroska";
const CODEC_DELAY: u32 = 0x56AA;
const AUDIO: u32 = 0xE1;
const SAMPLING_FREQUENCY: u32 = 0xB5;
const CHANNELS: u32 = 0x9F;
const DISCARD_PADDING: u32 = 0x75A2;
const CUE_POINT: u32 = 0xBB;
const CUE_TRACK_POSITIONS: u32 = 0xB7;
const CUE_CLUSTER_POSITION: u32 = 0xF1;
const CUE_RELATIVE_POSITION: u32 = 0xF0;
/// Matroska's track type for audio.
pub const AUDIO_TRACK: u64 = 2;
/// Largest Cluster rebuilt in memory.
const MAX_CLUSTER: u64 = 256 << 20;
/// Largest block [`MatroskaTrack::read_block`] reads.
const MAX_BLOCK: u64 = 16 << 20;

fn unsupported(what: impl Into<String>) -> Error {
    Error::unsupported(FORMAT, what.into())
}

fn too_many(what: &'static str, limits: &Limits) -> Error {
    Error::Limit {
        format: FORMAT,
        offset: 0,
        what,
        found: limits.max_structures.saturating_add(1),
        limit: limits.max_structures,
    }
}

/// A Matroska unsigned integer (its first 8 bytes, big-endian).
pub(crate) fn uint(data: &[u8]) -> u64 {
    data.iter().take(8).fold(0, |a, &b| (a << 8) | u64::from(b))
}

/// One block of the track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackBlock {
    /// The SimpleBlock or BlockGroup element in the file.
    pub element: Range<u64>,
    /// The frame bytes (after the block header).
    pub payload: Range<u64>,
    /// Absolute timestamp in Segment ticks ([`MatroskaTrack::scale`] nanoseconds each).
    pub ts: i64,
    /// The `DiscardPadding` of its BlockGroup in nanoseconds (0 for none): sound at the end
    /// of the block the decoder drops.
    pub discard_ns: i64,
    /// Index of its Cluster among the Segment's children.
    cluster: usize,
}

/// What the track entry says about the sound (0 where it says nothing).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AudioFields {
    /// `SamplingFrequency` in Hz.
    pub sample_rate: f64,
    /// `Channels`.
    pub channels: u64,
    /// `CodecDelay` in nanoseconds.
    pub codec_delay_ns: u64,
}

/// One track of a Matroska/WebM file, its blocks found, ready to rewrite.
#[derive(Debug, Clone)]
pub struct MatroskaTrack {
    segment: Element,
    level1: Vec<Element>,
    /// Nanoseconds per timestamp tick (`TimestampScale`).
    pub scale: u64,
    /// The track's `CodecID` (`A_OPUS`, `A_VORBIS`, `A_AAC`, ...).
    pub codec_id: String,
    /// The track's `CodecPrivate` (empty when it has none).
    pub private: Vec<u8>,
    /// The audio fields of the track entry.
    pub audio: AudioFields,
    /// Every block of the track, in file order.
    pub blocks: Vec<TrackBlock>,
}

/// A block header: track number, relative timestamp, flags and the header's length, from the
/// start of a block (the track writer's and the video splice's).
pub(crate) fn block_header(h: &[u8], at: u64) -> Result<(u64, i16, u8, usize)> {
    let vlen = h.first().map_or(9, |b| b.leading_zeros() as usize + 1);
    let (Some(tn), Some(ts), Some(&flags)) = (
        h.get(..vlen).filter(|_| vlen <= 8),
        h.get(vlen..vlen + 2),
        h.get(vlen + 2),
    ) else {
        return Err(Error::malformed(FORMAT, at, "block header"));
    };
    let number = uint(tn) & !(0x80u64 << (8 * (vlen - 1)));
    Ok((number, i16::from_be_bytes([ts[0], ts[1]]), flags, vlen + 3))
}

impl MatroskaTrack {
    /// Reads the structure of `input` and every block of its first track of type `kind`
    /// ([`AUDIO_TRACK`] for sound).
    ///
    /// # Errors
    /// A file with no such track, elements of unknown size in the Segment, laced blocks of
    /// the track, more structures than `limits` allows; malformed input; I/O errors.
    pub fn open(input: &mut dyn ReadSeek, kind: u64, limits: &Limits) -> Result<MatroskaTrack> {
        let mut src = Source::new(input, FORMAT)?;
        let len = src.len();
        let head = read_element(&mut src, len)?;
        if head.id != id::EBML {
            return Err(Error::malformed(FORMAT, 0, "no EBML header"));
        }
        src.seek_to(
            head.end()
                .ok_or_else(|| unsupported("an EBML header of unknown size"))?,
        )?;
        let segment = read_element(&mut src, len)?;
        if segment.id != id::SEGMENT {
            return Err(Error::malformed(FORMAT, segment.start, "no Segment"));
        }
        let seg_end = segment
            .end()
            .ok_or_else(|| unsupported("a Segment of unknown size (a live recording)"))?;
        let level1 = level1(&mut src, seg_end, limits)?;
        let mut track = MatroskaTrack {
            segment,
            level1: Vec::new(),
            scale: 1_000_000,
            codec_id: String::new(),
            private: Vec::new(),
            audio: AudioFields::default(),
            blocks: Vec::new(),
        };
        let mut number = None;
        for el in level1.iter().filter(|e| e.id == id::INFO || e.id == id::TRACKS) {
            src.seek_to(el.start)?;
            let buf = src.read_vec(el.end().unwrap_or(el.start) - el.start, "element", limits)?;
            let kids = children(&buf, el.hdr_len as usize..buf.len(), el.start)?;
            if el.id == id::INFO {
                if let Some(c) = kids.iter().find(|c| c.id == TIMESTAMP_SCALE) {
                    track.scale = uint(buf.get(c.data.clone()).unwrap_or_default()).max(1);
                }
                continue;
            }
            for entry in kids.iter().filter(|c| c.id == TRACK_ENTRY) {
                let fields = children(&buf, entry.data.clone(), el.start)?;
                let bytes = |id| ebml::field(&buf, &fields, id);
                if number.is_some() || uint(bytes(TRACK_TYPE)) != kind {
                    continue;
                }
                number = Some(uint(bytes(TRACK_NUMBER)));
                track.codec_id = String::from_utf8_lossy(bytes(CODEC_ID))
                    .trim_end_matches('\0')
                    .to_string();
                track.private = bytes(CODEC_PRIVATE).to_vec();
                track.audio.codec_delay_ns = uint(bytes(CODEC_DELAY));
                if let Some(audio) = fields.iter().find(|c| c.id == AUDIO) {
                    for f in children(&buf, audio.data.clone(), el.start)? {
                        let v = buf.get(f.data.clone()).unwrap_or_default();
                        match f.id {
                            SAMPLING_FREQUENCY => {
                                track.audio.sample_rate = match v.len() {
                                    4 => f64::from(f32::from_be_bytes([v[0], v[1], v[2], v[3]])),
                                    8 => f64::from_bits(uint(v)),
                                    _ => 0.0,
                                }
                            }
                            CHANNELS => track.audio.channels = uint(v),
                            _ => {}
                        }
                    }
                }
            }
        }
        let number = number.ok_or_else(|| unsupported(format!("no track of type {kind}")))?;
        for (ci, el) in level1.iter().enumerate().filter(|(_, e)| e.id == id::CLUSTER) {
            let end = el.end().unwrap_or(el.start);
            src.seek_to(el.data_start())?;
            let mut cluster_ts = 0i64;
            while src.pos() < end && end - src.pos() >= 2 {
                let child = read_element(&mut src, end)?;
                let child_end = child.end().unwrap_or(end);
                // The Block inside a BlockGroup, or the SimpleBlock itself.
                let mut discard_ns = 0i64;
                let block = match child.id {
                    CLUSTER_TIMESTAMP => {
                        let b = src.read_vec(child_end - child.data_start(), "timestamp", limits)?;
                        cluster_ts = i64::try_from(uint(&b)).unwrap_or(i64::MAX);
                        None
                    }
                    SIMPLE_BLOCK => Some(child.data_start()..child_end),
                    BLOCK_GROUP => {
                        let mut found = None;
                        while src.pos() < child_end && child_end - src.pos() >= 2 {
                            let inner = read_element(&mut src, child_end)?;
                            let inner_end = inner.end().unwrap_or(child_end);
                            if inner.id == BLOCK {
                                found = Some(inner.data_start()..inner_end);
                            } else if inner.id == DISCARD_PADDING {
                                let b = src.read_vec(inner_end - inner.data_start(), "DiscardPadding", limits)?;
                                // A signed integer of up to 8 bytes.
                                let raw = uint(&b);
                                let bits = 8 * b.len().clamp(1, 8) as u32;
                                discard_ns = if bits < 64 && raw >> (bits - 1) & 1 == 1 {
                                    (raw | (u64::MAX << bits)) as i64
                                } else {
                                    raw as i64
                                };
                            }
                            src.seek_to(inner_end)?;
                        }
                        found
                    }
                    _ => None,
                };
                if let Some(block) = block {
                    src.seek_to(block.start)?;
                    let mut h = [0u8; 11];
                    let n = src.read_up_to(&mut h)?;
                    let h = h.get(..n.min((block.end - block.start) as usize)).unwrap_or_default();
                    let (tn, rel, flags, hdr) = block_header(h, block.start)?;
                    if tn == number {
                        if flags & 0x06 != 0 {
                            return Err(unsupported(
                                "laced blocks (remux with `mkvmerge --disable-lacing` or ffmpeg first)",
                            ));
                        }
                        track.blocks.push(TrackBlock {
                            element: child.start..child_end,
                            payload: block.start + hdr as u64..block.end,
                            ts: cluster_ts.saturating_add(i64::from(rel)),
                            discard_ns,
                            cluster: ci,
                        });
                        if track.blocks.len() as u64 > limits.max_structures {
                            return Err(too_many("blocks of the track", limits));
                        }
                    }
                }
                src.seek_to(child_end)?;
            }
        }
        track.level1 = level1;
        Ok(track)
    }

    /// The payload of block `i`.
    ///
    /// # Errors
    /// An index past the blocks, a block over 16 MiB (far past any sound packet); I/O errors.
    pub fn read_block(&self, input: &mut dyn ReadSeek, i: usize) -> Result<Vec<u8>> {
        let block = self
            .blocks
            .get(i)
            .ok_or_else(|| Error::parameter("block", "past the track's blocks"))?;
        crate::common::read_payload(input, FORMAT, block.payload.clone(), MAX_BLOCK, "block")
    }

    /// Writes the file with the payload of block `i` replaced by `bytes` for each `(i, bytes)`
    /// of `new`, every other byte copied (see the module's text for what moves).
    ///
    /// # Errors
    /// An index past the blocks, a Cluster over 256 MiB, an index before the Clusters that
    /// would have to grow; malformed input; I/O errors.
    pub fn write(
        &self,
        input: &mut dyn ReadSeek,
        new: &[(usize, &[u8])],
        limits: &Limits,
        out: &mut dyn Write,
    ) -> Result<()> {
        let mut src = Source::new(input, FORMAT)?;
        let mut replaced: Vec<(&TrackBlock, &[u8])> = Vec::with_capacity(new.len());
        for &(i, bytes) in new {
            let block = self
                .blocks
                .get(i)
                .ok_or_else(|| Error::parameter("block", "a new block past the track's blocks"))?;
            replaced.push((block, bytes));
        }
        let mut clusters: Vec<usize> = replaced.iter().map(|(b, _)| b.cluster).collect();
        clusters.sort_unstable();
        clusters.dedup();
        let mut edits: Rewrites = Vec::new();
        for ci in clusters {
            let el = self
                .level1
                .get(ci)
                .ok_or_else(|| Error::malformed(FORMAT, 0, "cluster index"))?;
            edits.push(rebuild_cluster(&mut src, el, limits, |abs, raw| {
                match replaced.iter().find(|(b, _)| b.element.start == abs) {
                    Some((block, bytes)) => rebuilt(raw, abs, block, bytes).map(Some),
                    None => Ok(None),
                }
            })?);
        }
        finish(&mut src, &self.segment, &self.level1, edits, limits, out)
    }
}

/// The Segment's children, read from `src`'s position to `seg_end` (the Segment's end): each
/// of known size, at most `limits.max_structures` of them. The walk of every Matroska rewrite.
///
/// # Errors
/// An element of unknown size, too many elements; malformed input; I/O errors.
pub(crate) fn level1(src: &mut Source<'_>, seg_end: u64, limits: &Limits) -> Result<Vec<Element>> {
    let mut level1 = Vec::new();
    while src.pos() < seg_end && seg_end - src.pos() >= 2 {
        let el = read_element(src, seg_end)?;
        let end = el
            .end()
            .ok_or_else(|| unsupported("an element of unknown size in the Segment"))?;
        level1.push(el);
        src.seek_to(end)?;
        if level1.len() as u64 > limits.max_structures {
            return Err(too_many("Segment elements", limits));
        }
    }
    Ok(level1)
}

/// Cluster `el` read whole (at most 256 MiB: it holds media, so it has its own bound rather
/// than `limits`' metadata one) and rebuilt with each child for which `block` (given the
/// child's file offset and bytes) returns new bytes, its CRC-32 recomputed: the rewrite of
/// every Matroska writer that replaces blocks (this module's and the video splice's).
///
/// # Errors
/// A Cluster over 256 MiB; malformed input; what `block` returns; I/O errors.
pub(crate) fn rebuild_cluster(
    src: &mut Source<'_>,
    el: &Element,
    limits: &Limits,
    mut block: impl FnMut(u64, &[u8]) -> Result<Option<Vec<u8>>>,
) -> Result<(Range<u64>, Vec<u8>)> {
    let end = el.end().unwrap_or(el.start);
    if end - el.start > MAX_CLUSTER {
        return Err(unsupported("a Cluster over 256 MiB"));
    }
    let mut cluster_limits = limits.clone();
    cluster_limits.max_metadata_bytes = MAX_CLUSTER;
    src.seek_to(el.start)?;
    let buf = src.read_vec(end - el.start, "Cluster", &cluster_limits)?;
    let mut data = Vec::new();
    for child in children(&buf, el.hdr_len as usize..buf.len(), el.start)? {
        let abs = el.start + child.range.start as u64;
        let raw = buf.get(child.range.clone()).unwrap_or_default();
        match block(abs, raw)? {
            Some(new) => data.extend_from_slice(&new),
            None => data.extend_from_slice(raw),
        }
    }
    fix_crc(&mut data);
    let width = size_width(data.len() as u64).max(el.hdr_len as usize - ebml::id_bytes(el.id).len());
    let cluster = element_sized(el.id, &data, width).ok_or_else(|| unsupported("Cluster size"))?;
    Ok((el.start..end, cluster))
}

/// Moves the positions the indexes (`SeekHead`, `Cues`) hold past `edits`, sets the Segment's
/// size, and writes the file with every edit applied: the fix-up of every Matroska rewrite
/// that changes sizes (this module's sound track writer and the video splice in
/// `stamp::mkv`). `level1` are the Segment's children.
pub(crate) fn finish(
    src: &mut Source<'_>,
    segment: &Element,
    level1: &[Element],
    mut edits: Rewrites,
    limits: &Limits,
    out: &mut dyn Write,
) -> Result<()> {
    edits.sort_by_key(|e| e.0.start);
    let seg_data = segment.data_start();
    let first_rebuilt = edits.iter().map(|e| e.0.start).min().unwrap_or(u64::MAX);
    let map = |edits: &Rewrites, x: u64| moved(edits, x).unwrap_or(x);
    for el in level1.iter().filter(|e| e.id == id::SEEK_HEAD || e.id == id::CUES) {
        let end = el.end().unwrap_or(el.start);
        src.seek_to(el.start)?;
        let buf = src.read_vec(end - el.start, "index", limits)?;
        let mut data = Vec::new();
        for entry in children(&buf, el.hdr_len as usize..buf.len(), el.start)? {
            let raw = buf.get(entry.range.clone()).unwrap_or_default();
            let rebuilt = match (el.id, entry.id) {
                (id::SEEK_HEAD, id::SEEK) => {
                    let mut e = Vec::new();
                    for f in children(&buf, entry.data.clone(), el.start)? {
                        let v = buf.get(f.data.clone()).unwrap_or_default();
                        if f.id == id::SEEK_POSITION {
                            let at = map(&edits, seg_data.saturating_add(uint(v)));
                            e.extend_from_slice(&uint_element(f.id, at.saturating_sub(seg_data)));
                        } else {
                            e.extend_from_slice(buf.get(f.range.clone()).unwrap_or_default());
                        }
                    }
                    ebml::element(entry.id, &e)
                }
                (id::CUES, CUE_POINT) => {
                    let mut e = Vec::new();
                    for f in children(&buf, entry.data.clone(), el.start)? {
                        if f.id != CUE_TRACK_POSITIONS {
                            e.extend_from_slice(buf.get(f.range.clone()).unwrap_or_default());
                            continue;
                        }
                        let fields = children(&buf, f.data.clone(), el.start)?;
                        let cluster_at = fields
                            .iter()
                            .find(|g| g.id == CUE_CLUSTER_POSITION)
                            .map(|g| seg_data.saturating_add(uint(buf.get(g.data.clone()).unwrap_or_default())));
                        let into_rebuilt = cluster_at.is_some_and(|at| edits.iter().any(|ed| ed.0.start == at));
                        let mut p = Vec::new();
                        for g in &fields {
                            match g.id {
                                CUE_CLUSTER_POSITION => {
                                    let at = map(&edits, cluster_at.unwrap_or(seg_data));
                                    p.extend_from_slice(&uint_element(g.id, at.saturating_sub(seg_data)));
                                }
                                CUE_RELATIVE_POSITION if into_rebuilt => {}
                                _ => p.extend_from_slice(buf.get(g.range.clone()).unwrap_or_default()),
                            }
                        }
                        e.extend_from_slice(&ebml::element(f.id, &p));
                    }
                    ebml::element(entry.id, &e)
                }
                _ => raw.to_vec(),
            };
            data.extend_from_slice(&rebuilt);
        }
        fix_crc(&mut data);
        let width = el.hdr_len as usize - ebml::id_bytes(el.id).len();
        let mut new = element_sized(el.id, &data, width).ok_or_else(|| unsupported("index size"))?;
        let mut old = el.start..end;
        if el.start < first_rebuilt {
            // Before the rebuilt Clusters: it keeps its size, so nothing it indexes moves
            // again; a Void right after it gives it room to grow.
            if let Some(v) = level1.iter().find(|v| v.start == end && v.id == id::VOID) {
                old.end = v.end().unwrap_or(end);
            }
            match ((old.end - old.start) as usize).checked_sub(new.len()) {
                Some(0) => {}
                Some(pad) if pad >= 2 => new.extend_from_slice(&void(pad).unwrap_or_default()),
                _ => return Err(unsupported("an index before the Clusters would have to grow")),
            }
        }
        edits.push((old, new));
    }
    edits.sort_by_key(|e| e.0.start);
    let seg_end = segment.end().unwrap_or(seg_data);
    let seg_size = map(&edits, seg_end).saturating_sub(seg_data);
    let seg_width = segment.hdr_len as usize - ebml::id_bytes(segment.id).len();
    let mut seg_head = ebml::id_bytes(segment.id);
    seg_head.extend_from_slice(&ebml::size_bytes(seg_size, seg_width).ok_or_else(|| unsupported("Segment size"))?);
    src.seek_to(0)?;
    src.copy_to(out, segment.start, "EBML header")?;
    out.write_all(&seg_head)?;
    write_rewritten(src, seg_data, &edits, out)
}

/// The block element `raw` (a SimpleBlock, or a BlockGroup whose Block is replaced and whose
/// other children are kept) with the payload `bytes`: same header (track, timestamp, flags).
fn rebuilt(raw: &[u8], abs: u64, block: &TrackBlock, bytes: &[u8]) -> Result<Vec<u8>> {
    let with_payload = |b: &[u8], data: Range<usize>, payload_at: usize| -> Result<Vec<u8>> {
        let head = b
            .get(data.start..payload_at)
            .ok_or_else(|| Error::malformed(FORMAT, abs, "block header"))?;
        let mut body = head.to_vec();
        body.extend_from_slice(bytes);
        Ok(body)
    };
    let payload_at = usize::try_from(block.payload.start - abs).unwrap_or(usize::MAX);
    let kids = children(raw, 0..raw.len(), abs)?;
    let [me] = kids.as_slice() else {
        return Err(Error::malformed(FORMAT, abs, "block element"));
    };
    if me.id == SIMPLE_BLOCK {
        return Ok(ebml::element(
            SIMPLE_BLOCK,
            &with_payload(raw, me.data.clone(), payload_at)?,
        ));
    }
    let mut group = Vec::new();
    for c in children(raw, me.data.clone(), abs)? {
        if c.id == BLOCK && (c.data.start..c.data.end).contains(&payload_at) {
            group.extend_from_slice(&ebml::element(BLOCK, &with_payload(raw, c.data.clone(), payload_at)?));
        } else {
            group.extend_from_slice(raw.get(c.range.clone()).unwrap_or_default());
        }
    }
    Ok(ebml::element(BLOCK_GROUP, &group))
}

/// The fuzz property of the track rewriter: reading any bytes as a Matroska sound track never
/// panics, and when it reads, replacing the first block's payload writes a file whose track
/// reads back with as many blocks, the first holding the new payload.
#[doc(hidden)]
pub fn fuzz(data: &[u8]) {
    let limits = Limits::default();
    let open = |i: &mut dyn ReadSeek| MatroskaTrack::open(i, AUDIO_TRACK, &limits);
    crate::common::fuzz_track(
        data,
        &[0xfc, 0xff, 0xfe],
        open,
        |t| t.blocks.len(),
        MatroskaTrack::write,
        MatroskaTrack::read_block,
    );
}
