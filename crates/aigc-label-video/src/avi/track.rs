//! Rewriting the sound of an AVI file: some of the sound stream's chunks get new bodies, every
//! other byte is copied.
//!
//! This is the container half of the audible label in the sound of an AVI video
//! (`aigc_label_audio`'s `stamp_file` with `--mix`): the codec mixer (MP3, or PCM mixed in
//! place) makes the new frames, and each takes the place of an old chunk (`##wb`) of the first
//! sound stream. AVI has no timestamps, so timing is the chunks' order and sizes, which the mix
//! keeps one for one. What moves, as in the video splice: the `movi` list and `RIFF` sizes, and
//! in `idx1` every offset after a changed chunk and each changed chunk's size. Files with
//! OpenDML indexes (`indx`, `ix##`), several `RIFF` parts or `rec ` lists are refused.

use std::io::Write;
use std::ops::Range;

use aigc_label_core::container::riff::{Chunk, Chunks, Order, push_chunk};
use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::{Error, Limits, Result};

use crate::common::{Budget, Rewrites, moved, shift, write_rewritten};

const FORMAT: &str = "avi";
/// Largest sound chunk read whole.
const MAX_CHUNK: u64 = 16 << 20;

fn unsupported(what: impl Into<String>) -> Error {
    Error::unsupported(FORMAT, what.into())
}

fn le16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2).map_or(0, |v| u16::from_le_bytes([v[0], v[1]]))
}

pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |v| u32::from_le_bytes([v[0], v[1], v[2], v[3]]))
}

/// What the sound stream's `strf` (a `WAVEFORMATEX`) says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WaveFormat {
    /// `wFormatTag`: 1 PCM, 3 float, 0x55 MP3, 0xFF AAC, ...
    pub format_tag: u16,
    /// `nChannels`.
    pub channels: u16,
    /// `nSamplesPerSec`.
    pub sample_rate: u32,
    /// `nBlockAlign`: bytes per sample frame (PCM).
    pub block_align: u16,
    /// `wBitsPerSample`.
    pub bits: u16,
}

/// The first sound stream of an AVI file and its chunks, ready to rewrite.
#[derive(Debug, Clone)]
pub struct AviSound {
    riff: Chunk,
    movi: Chunk,
    idx1: Option<Chunk>,
    /// The stream's format.
    pub format: WaveFormat,
    /// The bodies of the stream's chunks, in file order (empty ones included).
    pub chunks: Vec<Range<u64>>,
    /// The chunks as walked (id, start, stored length).
    raw: Vec<Chunk>,
}

/// The chunks of `range` (a file or a list's body), each within it.
pub(crate) fn walk(src: &mut Source<'_>, range: Range<u64>, budget: &mut Budget) -> Result<Vec<Chunk>> {
    let mut walk = Chunks::new(Order::Little, range.start, range.end);
    let mut out = Vec::new();
    while let Some(c) = walk.next(src, budget, None)? {
        if !c.fits {
            return Err(unsupported("a chunk runs past its list"));
        }
        out.push(c);
    }
    Ok(out)
}

/// The type of list `c` (`hdrl`, `movi`, ...).
pub(crate) fn list_type(src: &mut Source<'_>, c: &Chunk) -> Result<[u8; 4]> {
    src.seek_to(c.body_start())?;
    src.read_array("list type")
}

/// The one `RIFF` `AVI ` chunk of a file of `len` bytes; several parts (OpenDML) are refused.
pub(crate) fn riff_avi(src: &mut Source<'_>, len: u64, budget: &mut Budget) -> Result<Chunk> {
    let top = walk(src, 0..len, budget)?;
    let riff = match top.as_slice() {
        [riff] if &riff.id == b"RIFF" => *riff,
        [first, ..] if &first.id == b"RIFF" => return Err(unsupported("several RIFF parts (OpenDML)")),
        _ => return Err(Error::malformed(FORMAT, 0, "not one RIFF AVI")),
    };
    if &list_type(src, &riff)? != b"AVI " {
        return Err(Error::malformed(FORMAT, 8, "not RIFF AVI"));
    }
    Ok(riff)
}

impl AviSound {
    /// Reads the structure of `input` and the chunks of its first sound (`auds`) stream.
    ///
    /// # Errors
    /// No sound stream; OpenDML indexes, several `RIFF` parts, `rec ` lists; more chunks than
    /// `limits` allows; malformed input; I/O errors.
    pub fn open(input: &mut dyn ReadSeek, limits: &Limits) -> Result<AviSound> {
        let mut src = Source::new(input, FORMAT)?;
        let mut budget = Budget::new(limits);
        let len = src.len();
        let riff = riff_avi(&mut src, len, &mut budget)?;
        let (mut hdrl, mut movi, mut idx1) = (None, None, None);
        for c in walk(&mut src, riff.body_start() + 4..riff.body_end(), &mut budget)? {
            match &c.id {
                b"LIST" => match &list_type(&mut src, &c)? {
                    b"hdrl" => hdrl = hdrl.or(Some(c)),
                    b"movi" => movi = movi.or(Some(c)),
                    _ => {}
                },
                b"idx1" => idx1 = idx1.or(Some(c)),
                _ => {}
            }
        }
        let (Some(hdrl), Some(movi)) = (hdrl, movi) else {
            return Err(Error::malformed(FORMAT, 12, "no hdrl or movi list"));
        };
        let mut stream = None;
        let mut format = WaveFormat::default();
        let mut n = 0usize;
        for c in walk(&mut src, hdrl.body_start() + 4..hdrl.body_end(), &mut budget)? {
            if &c.id != b"LIST" || &list_type(&mut src, &c)? != b"strl" {
                continue;
            }
            let (mut auds, mut strf, mut indx) = (false, None, false);
            for k in walk(&mut src, c.body_start() + 4..c.body_end(), &mut budget)? {
                src.seek_to(k.body_start())?;
                match &k.id {
                    b"strh" => auds = src.read_vec(k.size.min(4), "strh", limits)? == b"auds",
                    b"strf" => strf = Some(src.read_vec(k.size, "strf", limits)?),
                    b"indx" => indx = true,
                    _ => {}
                }
            }
            if auds && stream.is_none() {
                if indx {
                    return Err(unsupported("an OpenDML index"));
                }
                let f = strf.ok_or_else(|| Error::malformed(FORMAT, c.start, "a sound stream without strf"))?;
                format = WaveFormat {
                    format_tag: le16(&f, 0),
                    channels: le16(&f, 2),
                    sample_rate: le32(&f, 4),
                    block_align: le16(&f, 12),
                    bits: le16(&f, 14),
                };
                stream = Some(n);
            }
            n += 1;
        }
        let stream = stream.ok_or_else(|| unsupported("no sound stream"))?;
        let tag = format!("{stream:02}");
        let (mut chunks, mut raw) = (Vec::new(), Vec::new());
        for c in walk(&mut src, movi.body_start() + 4..movi.body_end(), &mut budget)? {
            if &c.id == b"LIST" || c.id.starts_with(b"ix") {
                return Err(unsupported("rec lists or OpenDML indexes in movi"));
            }
            if c.id.get(..2) == Some(tag.as_bytes()) && c.id.get(2..) == Some(b"wb") {
                chunks.push(c.body_start()..c.body_end());
                raw.push(c);
            }
        }
        Ok(AviSound {
            riff,
            movi,
            idx1,
            format,
            chunks,
            raw,
        })
    }

    /// The body of chunk `i`.
    ///
    /// # Errors
    /// An index past the chunks, a chunk over 16 MiB; I/O errors.
    pub fn read_chunk(&self, input: &mut dyn ReadSeek, i: usize) -> Result<Vec<u8>> {
        let c = self
            .chunks
            .get(i)
            .ok_or_else(|| Error::parameter("chunk", "past the sound chunks"))?;
        crate::common::read_payload(input, FORMAT, c.clone(), MAX_CHUNK, "sound chunk")
    }

    /// Writes the file with the body of chunk `i` replaced by `bytes` for each `(i, bytes)` of
    /// `new` (`i` ascending), every other byte copied but the sizes and offsets that move.
    ///
    /// # Errors
    /// An index past the chunks or out of order, sizes past 4 GiB; I/O errors.
    pub fn write(
        &self,
        input: &mut dyn ReadSeek,
        new: &[(usize, &[u8])],
        limits: &Limits,
        out: &mut dyn Write,
    ) -> Result<()> {
        let mut src = Source::new(input, FORMAT)?;
        let mut edits: Rewrites = Vec::with_capacity(new.len() + 3);
        let mut resized: Vec<Resized> = Vec::new();
        for &(i, bytes) in new {
            let c = self
                .raw
                .get(i)
                .ok_or_else(|| Error::parameter("chunk", "a new body past the sound chunks"))?;
            let start = c.start;
            if edits.last().is_some_and(|(r, _)| r.end > start) {
                return Err(Error::parameter("chunk", "new bodies out of order"));
            }
            let mut chunk = Vec::with_capacity(bytes.len() + 9);
            push_chunk(Order::Little, &mut chunk, &c.id, bytes)?;
            edits.push((start..start + c.stored_len(), chunk));
            resized.push(Resized {
                start,
                len: u32::try_from(bytes.len()).map_err(|_| unsupported("a chunk over 4 GiB"))?,
                key: None,
            });
        }
        finish(
            &mut src, &self.riff, &self.movi, self.idx1, edits, &resized, limits, out,
        )
    }
}
/// `AVIIF_KEYFRAME` in an `idx1` entry's flags.
const KEYFRAME: u32 = 0x10;

/// A chunk given a new body, as the index must say: where it starts in the input, its new
/// body length, and for a video frame whether it is now a keyframe (`None` keeps the entry's
/// flags).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resized {
    pub start: u64,
    pub len: u32,
    pub key: Option<bool>,
}

/// Writes the file with `edits` (replaced chunks) applied and what they move fixed: the
/// `movi` and `RIFF` sizes, and in `idx1` every entry's offset and, for each chunk of
/// `resized`, its size (and keyframe flag). Shared by the sound chunk writer and the video
/// splice (`stamp::avi`).
///
/// # Errors
/// Sizes or offsets past 4 GiB; I/O errors.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish(
    src: &mut Source<'_>,
    riff: &Chunk,
    movi: &Chunk,
    idx1: Option<Chunk>,
    mut edits: Rewrites,
    resized: &[Resized],
    limits: &Limits,
    out: &mut dyn Write,
) -> Result<()> {
    let movi_size = moved(&edits, movi.body_end())
        .and_then(|e| e.checked_sub(movi.body_start()))
        .and_then(|s| u32::try_from(s).ok())
        .ok_or_else(|| unsupported("a movi list over 4 GiB"))?;
    let mut idx1_new = None;
    if let Some(idx1) = idx1 {
        src.seek_to(idx1.body_start())?;
        let mut body = src.read_vec(idx1.size, "idx1", limits)?;
        // Offsets count from the `movi` list type (the usual way) or from the file's
        // start: the first entry names the chunk it points at.
        let movi_base = movi.body_start();
        let relative = match body.get(..16) {
            Some(e) => {
                src.seek_to(u64::from(le32(e, 8)) + movi_base)?;
                let id: [u8; 4] = src.read_array("idx1 target").unwrap_or_default();
                e.get(..4) == Some(&id[..])
            }
            None => true,
        };
        let base = if relative { movi_base } else { 0 };
        for e in body.chunks_exact_mut(16) {
            let at = u64::from(le32(e, 8)) + base;
            let new_at = moved(&edits, at)
                .and_then(|p| p.checked_sub(base))
                .and_then(|p| u32::try_from(p).ok())
                .ok_or_else(|| unsupported("an idx1 offset out of range"))?;
            e[8..12].copy_from_slice(&new_at.to_le_bytes());
            if let Some(r) = resized.iter().find(|r| r.start == at) {
                if let Some(key) = r.key {
                    let flags = (le32(e, 4) & !KEYFRAME) | if key { KEYFRAME } else { 0 };
                    e[4..8].copy_from_slice(&flags.to_le_bytes());
                }
                e[12..16].copy_from_slice(&r.len.to_le_bytes());
            }
        }
        idx1_new = Some((idx1.body_start()..idx1.body_end(), body));
    }
    let riff_size = u32::try_from(i128::from(riff.body_end() - riff.body_start()) + shift(&edits, u64::MAX))
        .map_err(|_| unsupported("a RIFF over 4 GiB"))?;
    edits.push((riff.start + 4..riff.start + 8, riff_size.to_le_bytes().to_vec()));
    edits.push((movi.start + 4..movi.start + 8, movi_size.to_le_bytes().to_vec()));
    if let Some(e) = idx1_new {
        edits.push(e);
    }
    edits.sort_by_key(|(r, _)| r.start);
    write_rewritten(src, 0, &edits, out)
}

/// The fuzz property of the sound chunk rewriter: reading any bytes as AVI sound never panics,
/// and when it reads, replacing the first chunk's body writes a file whose sound chunks read
/// back, as many, the first holding the new body.
#[doc(hidden)]
pub fn fuzz(data: &[u8]) {
    let limits = Limits::default();
    let open = |i: &mut dyn ReadSeek| AviSound::open(i, &limits);
    crate::common::fuzz_track(
        data,
        &[0xff, 0xfb, 0x90],
        open,
        |a| a.chunks.len(),
        AviSound::write,
        AviSound::read_chunk,
    );
}
