//! Rewriting the sound of an FLV file: some audio tags get new payloads, every other tag is
//! copied byte for byte.
//!
//! This is the container half of the audible label in the sound of an FLV video
//! (`aigc_label_audio`'s `stamp_file` with `--mix`): the codec mixer (AAC or MP3) re-encodes
//! the frames under the cue, and each new frame takes the place of an old one in its tag, whose
//! header (timestamp, stream id, sound format byte, AAC packet type) is kept; only its
//! `DataSize` and the `PreviousTagSize` after it change. The tags after it move, so the
//! numbers `onMetaData` holds about positions and sizes are patched in place (they keep their
//! width): `filesize`, `keyframes.filepositions` (the same slots a label write keeps right),
//! and `datasize` and `audiosize`, which grow or shrink by the change.

use std::io::Write;
use std::ops::Range;

use aigc_label_core::io::{Bytes, ReadSeek, Source};
use aigc_label_core::{Error, Limits, Result};

use super::amf::{self, marker};
use super::{FORMAT, ON_META_DATA, SCRIPT, Slot, TAG_HEADER, Tag, number_slots, read_f64, read_header};
use crate::common::{Budget, Rewrites, shift, write_rewritten};

/// Tag type of audio data.
const AUDIO: u8 = 8;
/// The sound format (upper four bits of an audio tag's first byte) of AAC.
pub const SOUND_AAC: u8 = 10;

/// One audio tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlvAudioTag {
    /// Where the tag starts (its header).
    pub start: u64,
    /// The first byte of its data: sound format, rate, size and type.
    pub sound: u8,
    /// The AAC packet type (0: the AudioSpecificConfig, 1: a frame) for AAC tags.
    pub aac_type: Option<u8>,
    /// The frame bytes (after the one or two header bytes).
    pub payload: Range<u64>,
    /// Decode time in milliseconds.
    pub ms: i64,
}

impl FlvAudioTag {
    /// Bytes of audio tag header before the payload.
    fn head_len(&self) -> u64 {
        if self.aac_type.is_some() { 2 } else { 1 }
    }

    fn end(&self) -> u64 {
        self.payload.end + 4
    }
}

/// The audio tags of an FLV file, ready to rewrite.
#[derive(Debug, Clone)]
pub struct FlvAudio {
    /// Every audio tag, in file order.
    pub tags: Vec<FlvAudioTag>,
    scripts: Vec<Tag>,
    len: u64,
}

impl FlvAudio {
    /// Walks the tags of `input`, keeping the audio and script tags.
    ///
    /// # Errors
    /// Encrypted tags, a tag running past the end; more tags than `limits` allows; malformed
    /// input; I/O errors.
    pub fn open(input: &mut dyn ReadSeek, limits: &Limits) -> Result<FlvAudio> {
        let mut src = Source::new(input, FORMAT)?;
        let first = read_header(&mut src)?;
        src.seek_to(first)?;
        let mut budget = Budget::new(limits);
        let (mut tags, mut scripts) = (Vec::new(), Vec::new());
        while src.remaining() >= TAG_HEADER {
            budget.tick(FORMAT, src.pos())?;
            let (tag, h) = Tag::read(&mut src)?;
            let start = tag.start;
            if tag.end() > src.len() {
                return Err(Error::unsupported(FORMAT, "a tag that runs past the end of the file"));
            }
            let kind = h[0] & 0x1F;
            if h[0] & 0x20 != 0 && kind != SCRIPT {
                return Err(Error::unsupported(FORMAT, "encrypted tags"));
            }
            if kind == SCRIPT {
                scripts.push(tag);
            } else if kind == AUDIO && tag.size > 0 {
                let mut head = [0u8; 2];
                let got = src.read_up_to(&mut head)?;
                let sound = head[0];
                let aac_type = (sound >> 4 == SOUND_AAC).then_some(head[1]);
                let head_len = if aac_type.is_some() { 2 } else { 1 };
                if (got as u64) < head_len || tag.size < head_len {
                    return Err(Error::malformed(FORMAT, start, "audio tag header"));
                }
                tags.push(FlvAudioTag {
                    start,
                    sound,
                    aac_type,
                    payload: tag.data_start() + head_len..tag.data_end(),
                    ms: i64::from(i32::from_be_bytes([h[7], h[4], h[5], h[6]])),
                });
            }
            src.seek_to(tag.end())?;
        }
        Ok(FlvAudio {
            tags,
            scripts,
            len: src.len(),
        })
    }

    /// The payload of audio tag `i`.
    ///
    /// # Errors
    /// An index past the tags; I/O errors.
    pub fn read_payload(&self, input: &mut dyn ReadSeek, i: usize) -> Result<Vec<u8>> {
        let tag = self
            .tags
            .get(i)
            .ok_or_else(|| Error::parameter("tag", "past the audio tags"))?;
        // A tag's size field has 24 bits: at most 16 MiB.
        crate::common::read_payload(input, FORMAT, tag.payload.clone(), 16 << 20, "audio tag")
    }

    /// Writes the file with the payload of audio tag `i` replaced by `bytes` for each
    /// `(i, bytes)` of `new` (`i` ascending), every other byte copied but the `onMetaData`
    /// numbers that follow the move (see the module's text).
    ///
    /// # Errors
    /// An index past the tags or out of order, a payload over 16 MiB; I/O errors.
    pub fn write(
        &self,
        input: &mut dyn ReadSeek,
        new: &[(usize, &[u8])],
        limits: &Limits,
        out: &mut dyn Write,
    ) -> Result<()> {
        let mut src = Source::new(input, FORMAT)?;
        // (old range, new bytes), ascending.
        let mut edits: Rewrites = Vec::with_capacity(new.len());
        for &(i, bytes) in new {
            let tag = self
                .tags
                .get(i)
                .ok_or_else(|| Error::parameter("tag", "a new payload past the audio tags"))?;
            if edits.last().is_some_and(|(r, _)| r.end > tag.start) {
                return Err(Error::parameter("tag", "new payloads out of order"));
            }
            let size = u32::try_from(tag.head_len() + bytes.len() as u64)
                .ok()
                .filter(|&s| s < 1 << 24)
                .ok_or_else(|| Error::capacity(FORMAT, "an audio tag over 16 MiB"))?;
            src.seek_to(tag.start)?;
            let mut header: [u8; 11] = src.read_array("tag header")?;
            header[1..4].copy_from_slice(&size.to_be_bytes()[1..]);
            let mut head = vec![0u8; tag.head_len() as usize];
            src.seek_to(tag.start + TAG_HEADER)?;
            if src.read_up_to(&mut head)? < head.len() {
                return Err(src.truncated("audio tag"));
            }
            let mut bytes_out = header.to_vec();
            bytes_out.extend_from_slice(&head);
            bytes_out.extend_from_slice(bytes);
            bytes_out.extend_from_slice(&(size + TAG_HEADER as u32).to_be_bytes());
            edits.push((tag.start..tag.end(), bytes_out));
        }
        let total = shift(&edits, u64::MAX);
        let position = |p: u64| u64::try_from((i128::from(p) + shift(&edits, p)).max(0)).ok();
        let new_len = u64::try_from(i128::from(self.len) + total).map_err(|_| Error::malformed(FORMAT, 0, "size"))?;
        let mut patches: Rewrites = Vec::new();
        for s in &self.scripts {
            src.seek_to(s.data_start())?;
            let mut data = src.read_vec(s.size, "script data", limits)?;
            if patch_meta(&mut data, limits, self.len, new_len, total, b"audiosize", &position) {
                patches.push((s.data_start()..s.data_end(), data));
            }
        }
        edits.extend(patches);
        edits.sort_by_key(|(r, _)| r.start);
        write_rewritten(&mut src, 0, &edits, out)
    }
}

/// Patches an `onMetaData` script in `data` after tags were rewritten (its numbers keep their
/// width): `filesize` when it was `old_len`, `datasize` and `stream_size` (`audiosize`,
/// `videosize`) by `delta`, and each byte position (`lastkeyframelocation`,
/// `keyframes.filepositions`) where `position` says it lands. False when it is not one or
/// nothing changed. Shared by the audio tag writer and the video splice (`stamp::flv`).
pub(crate) fn patch_meta(
    data: &mut [u8],
    limits: &Limits,
    old_len: u64,
    new_len: u64,
    delta: i128,
    stream_size: &[u8],
    position: &dyn Fn(u64) -> Option<u64>,
) -> bool {
    let mut b = Bytes::new(data);
    if b.u8() != Some(marker::STRING) {
        return false;
    }
    let name_len = b.u16_be().map_or(0, usize::from);
    if b.take(name_len) != Some(ON_META_DATA) {
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
    let mut numbers: Vec<(usize, f64)> = Vec::new();
    for p in &props {
        let key = data.get(p.key.clone()).unwrap_or_default();
        let value = data.get(p.value.clone()).unwrap_or_default();
        let is_number = value.first() == Some(&marker::NUMBER);
        let mut slots = number_slots(key, value, p.value.start);
        if key == b"lastkeyframelocation" && is_number {
            slots.push(Slot::Position(p.value.start + 1));
        }
        for slot in slots {
            let (at, v) = match slot {
                Slot::FileSize(at) => (
                    at,
                    (read_f64(data, at) == Some(old_len as f64)).then_some(new_len as f64),
                ),
                Slot::Position(at) => (
                    at,
                    read_f64(data, at)
                        .filter(|v| *v >= 0.0 && v.fract() == 0.0 && *v < 9.0e15)
                        .and_then(|v| position(v as u64))
                        .map(|p| p as f64),
                ),
            };
            if let Some(v) = v {
                numbers.push((at, v));
            }
        }
        if (key == b"datasize" || key == stream_size) && is_number {
            let at = p.value.start + 1;
            if let Some(v) = read_f64(data, at) {
                numbers.push((at, (v + delta as f64).max(0.0)));
            }
        }
    }
    let mut changed = false;
    for (at, v) in numbers {
        if let Some(dst) = data.get_mut(at..at + 8) {
            changed |= dst != v.to_be_bytes();
            dst.copy_from_slice(&v.to_be_bytes());
        }
    }
    changed
}

/// The fuzz property of the audio tag rewriter: reading any bytes as FLV audio never panics,
/// and when it reads, replacing the first tag's payload writes a file whose audio tags read
/// back, as many, the first holding the new payload.
#[doc(hidden)]
pub fn fuzz(data: &[u8]) {
    let limits = Limits::default();
    let open = |i: &mut dyn ReadSeek| FlvAudio::open(i, &limits);
    crate::common::fuzz_track(
        data,
        &[0xff, 0xfb, 0x90],
        open,
        |f| f.tags.len(),
        FlvAudio::write,
        FlvAudio::read_payload,
    );
}
