//! The AVI splice for MPEG-4 Part 2 (ffmpeg's default AVI video): new `##dc` chunks for the
//! frames before the first I-VOP at or after the label's end, every other byte copied.
//!
//! AVI has no timestamps: the `n`-th video chunk of `movi` is shown at `n` frame periods (an
//! empty chunk is a dropped frame that keeps its slot). With no B-frames, chunks come in
//! presentation order and an I-VOP is a clean cut, so the `n`-th new frame takes the `n`-th
//! non-empty chunk before the cut, and empty chunks stay. With `--at` windows every chunk is
//! read and any stretches between keyframes are replaced ([`write_at`]). What moves:
//! - the `movi` list and the `RIFF` sizes;
//! - `idx1`: every offset after a replaced chunk, the replaced chunks' sizes and keyframe
//!   flags (offsets relative to `movi`, as ffmpeg and most writers store them, or absolute).
//!
//! H.264 (an Annex B byte stream, as ffmpeg stores it in AVI) is cut at an IDR picture, and its
//! parameter sets travel in band: x264 repeats them before each IDR, so the cut brings the
//! source's back. The new segment's first frame carries its own SPS and PPS under ids the
//! source's in-band sets do not use, and, when the cut does not repeat the source's, those too
//! (see `spliced_avi`).
//!
//! MPEG-4 Part 2 keeps its decoder configuration (the VOL header) in band, in the first frame
//! only, and the decoder applies the last one it saw to every later frame. So the copied frames
//! after the cut are decoded with the new segment's VOL: the splice goes ahead only when it is
//! byte for byte the source's. Files with OpenDML indexes (`indx`, `ix##`), several `RIFF`
//! parts or `rec ` lists are left to the whole re-encode.

use std::io::Write;
use std::ops::Range;

use aigc_label_core::container::riff::{Chunk, Order};
use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::{Error, Limits, Result};

use super::opening::NewFrame;
use crate::avi::track::{Resized, le32, list_type, riff_avi, walk};
use crate::common::Budget;

const FORMAT: &str = "avi";
/// Largest chunk read whole (to look at its VOP type).
const MAX_FRAME: u64 = 64 << 20;

fn unsupported(what: impl Into<String>) -> Error {
    Error::unsupported(FORMAT, what.into())
}

/// A video chunk of `movi`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub chunk: Chunk,
    /// Its slot: the frame period it is shown in.
    pub slot: u64,
    /// The stream can be cut before it (an I-VOP, or an IDR picture), noted when every frame
    /// is read (for `--at` windows).
    pub clean: bool,
    /// H.264: it carries an SPS and a PPS in band.
    pub has_sets: bool,
}

/// An AVI file ready to splice.
pub(crate) struct Avi {
    riff: Chunk,
    movi: Chunk,
    idx1: Option<Chunk>,
    /// The non-empty video chunks before the cut, then the cut.
    pub frames: Vec<Frame>,
    /// Whether the last of `frames` is the cut.
    pub cut: bool,
    /// Non-empty video chunks after the cut.
    pub later: u64,
    /// The VOL header (start code to the next start code) of the first frame.
    pub vol: Vec<u8>,
    /// H.264: the SPS and PPS NAL units the frames before the cut carry, in order.
    pub sets: Vec<Vec<u8>>,
    /// H.264: whether the cut carries an SPS and a PPS of its own.
    pub cut_has_sets: bool,
    /// Frame period: `scale / rate` seconds.
    pub scale: u32,
    pub rate: u32,
}

/// The start codes (`00 00 01 xx`) of an MPEG-4 Part 2 stream: (offset, code).
fn start_codes(data: &[u8]) -> Vec<(usize, u8)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(w) = data.get(i..i + 4) {
        if w[0] == 0 && w[1] == 0 && w[2] == 1 {
            out.push((i, w[3]));
            i += 3;
        } else {
            i += 1;
        }
    }
    out
}

/// True when the frame's VOP is intra-coded (`vop_coding_type` 0).
pub(crate) fn is_intra(frame: &[u8]) -> bool {
    start_codes(frame)
        .iter()
        .find(|(_, c)| *c == 0xB6)
        .and_then(|(at, _)| frame.get(at + 4))
        .is_some_and(|b| b >> 6 == 0)
}

/// The VOL header of a frame: from its start code (`0x20`-`0x2F`) to the next start code.
pub(crate) fn vol(frame: &[u8]) -> Option<&[u8]> {
    let codes = start_codes(frame);
    let i = codes.iter().position(|(_, c)| (0x20..=0x2F).contains(c))?;
    let start = codes.get(i)?.0;
    let end = codes.get(i + 1).map_or(frame.len(), |c| c.0);
    frame.get(start..end)
}

/// The NAL units of an H.264 Annex B frame (between `00 00 01` start codes; a 4-byte start
/// code's leading zero is trailing padding of the unit before, trimmed).
pub(crate) fn annexb_units(frame: &[u8]) -> Vec<&[u8]> {
    let codes: Vec<usize> = start_codes(frame).iter().map(|(at, _)| *at).collect();
    codes
        .iter()
        .enumerate()
        .filter_map(|(i, &at)| {
            let end = codes.get(i + 1).map_or(frame.len(), |&e| e);
            let unit = frame.get(at + 3..end)?;
            let trimmed = unit.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
            unit.get(..trimmed).filter(|u| !u.is_empty())
        })
        .collect()
}

/// Splits a raw MPEG-4 Part 2 stream (ffmpeg's `-f m4v`) into frames: each holds one VOP and
/// the headers before it.
pub(crate) fn m4v_frames(data: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut seen_vop = false;
    for (at, code) in start_codes(data) {
        if seen_vop && code != 0xB2 {
            out.push(start..at);
            start = at;
            seen_vop = false;
        }
        seen_vop |= code == 0xB6;
    }
    if seen_vop {
        out.push(start..data.len());
    }
    out
}

/// Reads `input`'s structure and the video chunks of stream `nth` up to the first I-VOP (IDR
/// picture for `h264`) shown at least `until` seconds after the first frame; with an infinite
/// `until`, every chunk, each marked [`Frame::clean`] where the stream can be cut.
pub(crate) fn open(input: &mut dyn ReadSeek, nth: usize, until: f64, h264: bool, limits: &Limits) -> Result<Avi> {
    let mut src = Source::new(input, FORMAT)?;
    let mut budget = Budget::new(limits);
    let len = src.len();
    let riff = riff_avi(&mut src, len, &mut budget)?;
    let kids = walk(&mut src, riff.body_start() + 4..riff.body_end(), &mut budget)?;
    let (mut hdrl, mut movi, mut idx1) = (None, None, None);
    for c in &kids {
        match &c.id {
            b"LIST" => match &list_type(&mut src, c)? {
                b"hdrl" => hdrl = hdrl.or(Some(*c)),
                b"movi" => movi = movi.or(Some(*c)),
                _ => {}
            },
            b"idx1" => idx1 = idx1.or(Some(*c)),
            _ => {}
        }
    }
    let (Some(hdrl), Some(movi)) = (hdrl, movi) else {
        return Err(Error::malformed(FORMAT, 12, "no hdrl or movi list"));
    };
    // The stream header of stream `nth`.
    let mut strls = Vec::new();
    for c in walk(&mut src, hdrl.body_start() + 4..hdrl.body_end(), &mut budget)? {
        if &c.id == b"LIST" && &list_type(&mut src, &c)? == b"strl" {
            strls.push(c);
        }
    }
    let strl = strls.get(nth).ok_or_else(|| unsupported(format!("no stream {nth}")))?;
    let (mut scale, mut rate) = (0, 0);
    for c in walk(&mut src, strl.body_start() + 4..strl.body_end(), &mut budget)? {
        match &c.id {
            b"strh" => {
                src.seek_to(c.body_start())?;
                let h = src.read_vec(c.size, "strh", limits)?;
                if h.get(..4) != Some(b"vids") {
                    return Err(unsupported(format!("stream {nth} is not video")));
                }
                (scale, rate) = (le32(&h, 20), le32(&h, 24));
            }
            b"indx" => return Err(unsupported("an OpenDML index")),
            _ => {}
        }
    }
    if scale == 0 || rate == 0 {
        return Err(Error::malformed(FORMAT, strl.start, "stream without a frame rate"));
    }
    let tag = format!("{nth:02}");
    let mut frame_limits = limits.clone();
    frame_limits.max_metadata_bytes = MAX_FRAME;
    let (mut frames, mut cut, mut later, mut vol_bytes) = (Vec::new(), false, 0u64, Vec::new());
    let (mut sets, mut cut_has_sets) = (Vec::new(), false);
    let mut slot = 0u64;
    for c in walk(&mut src, movi.body_start() + 4..movi.body_end(), &mut budget)? {
        if &c.id == b"LIST" || c.id.starts_with(b"ix") {
            return Err(unsupported("rec lists or OpenDML indexes in movi"));
        }
        if c.id.get(..2) != Some(tag.as_bytes()) || !matches!(c.id.get(2..), Some(b"dc" | b"db")) {
            continue;
        }
        let this = slot;
        slot += 1;
        if c.size == 0 {
            continue;
        }
        if cut {
            later += 1;
            continue;
        }
        let seconds = this as f64 * f64::from(scale) / f64::from(rate);
        let every = until.is_infinite();
        let (mut clean, mut has_sets) = (false, false);
        if h264 {
            // Every frame before the cut is read: its in-band parameter sets are noted.
            src.seek_to(c.body_start())?;
            let bytes = src.read_vec(c.size, "video chunk", &frame_limits)?;
            let units = annexb_units(&bytes);
            let types: Vec<u8> = units.iter().filter_map(|u| u.first().map(|h| h & 0x1F)).collect();
            clean = !frames.is_empty() && types.contains(&5);
            has_sets = types.contains(&7) && types.contains(&8);
            cut = clean && seconds >= until && !every;
            if cut {
                cut_has_sets = types.contains(&7) && types.contains(&8);
            } else {
                // The last definition of each id is the one in force.
                for u in units {
                    let Some(key) = super::avc::set_key(u) else { continue };
                    sets.retain(|s: &Vec<u8>| super::avc::set_key(s) != Some(key));
                    sets.push(u.to_vec());
                }
            }
        } else if frames.is_empty() || seconds >= until || every {
            src.seek_to(c.body_start())?;
            let bytes = src.read_vec(c.size, "video chunk", &frame_limits)?;
            if frames.is_empty() {
                vol_bytes = vol(&bytes).unwrap_or_default().to_vec();
            } else {
                clean = is_intra(&bytes);
                cut = clean && !every;
            }
        }
        frames.push(Frame {
            chunk: c,
            slot: this,
            clean: clean || frames.is_empty(),
            has_sets,
        });
    }
    Ok(Avi {
        riff,
        movi,
        idx1,
        frames,
        cut,
        later,
        vol: vol_bytes,
        sets,
        cut_has_sets,
        scale,
        rate,
    })
}

/// Writes the file with the first `new.len()` of [`Avi::frames`] replaced by `new`.
pub(crate) fn write(
    input: &mut dyn ReadSeek,
    avi: &Avi,
    new: &[NewFrame<'_>],
    limits: &Limits,
    out: &mut dyn Write,
) -> Result<()> {
    let at: Vec<usize> = (0..new.len()).collect();
    write_at(input, avi, &at, new, limits, out)
}

/// Writes the file with `frames[at[i]]` of [`Avi::frames`] replaced by `new[i]` (`at`
/// ascending).
pub(crate) fn write_at(
    input: &mut dyn ReadSeek,
    avi: &Avi,
    at: &[usize],
    new: &[NewFrame<'_>],
    limits: &Limits,
    out: &mut dyn Write,
) -> Result<()> {
    let replaced = super::opening::replaced(&avi.frames, at, new.len())?;
    let mut src = Source::new(input, FORMAT)?;
    // (old range, new bytes), in file order.
    let mut edits: Vec<(Range<u64>, Vec<u8>)> = Vec::with_capacity(new.len() + 3);
    for (f, n) in replaced.iter().zip(new) {
        let mut chunk = Vec::with_capacity(n.bytes.len() + 9);
        aigc_label_core::container::riff::push_chunk(Order::Little, &mut chunk, &f.chunk.id, n.bytes)?;
        edits.push((f.chunk.start..f.chunk.start + f.chunk.stored_len(), chunk));
    }
    let resized = replaced
        .iter()
        .zip(new)
        .map(|(f, n)| {
            Ok(Resized {
                start: f.chunk.start,
                len: u32::try_from(n.bytes.len()).map_err(|_| unsupported("a frame over 4 GiB"))?,
                key: Some(n.key),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    crate::avi::track::finish(&mut src, &avi.riff, &avi.movi, avi.idx1, edits, &resized, limits, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vops_and_frames() {
        // VOL (0x20) + VOP I (0xB6, type 00), then a VOP P (type 01).
        let s = [0, 0, 1, 0x20, 9, 0, 0, 1, 0xB6, 0x10, 7, 0, 0, 1, 0xB6, 0x50, 8];
        let frames = m4v_frames(&s);
        assert_eq!(frames, vec![0..11, 11..17]);
        assert!(is_intra(&s[0..11]));
        assert!(!is_intra(&s[11..17]));
        assert_eq!(vol(&s[0..11]), Some(&s[0..5]));
        assert_eq!(vol(&s[11..17]), None);
    }
}
