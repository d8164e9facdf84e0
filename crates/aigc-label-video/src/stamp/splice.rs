//! The MP4/MOV splice: new samples for the labelled stretches of the video track, every other
//! byte of the file copied.
//!
//! What changes in the output:
//! - the video track's sample table: the samples of each re-encoded range are replaced by the
//!   new ones, which keep the originals' decode times and durations (so `stts`, the edit list
//!   and every duration stay as they were) and get composition offsets that put each new frame
//!   at the presentation time of the frame it replaces. For HEVC the new samples point
//!   (`stsc`) at a new sample description appended to `stsd` beside the original, holding the
//!   encoder's `hvcC`: the original samples keep theirs and a reader that honours `stsc`
//!   switches decoder configuration at the splice. For H.264 the new SPS and PPS join the
//!   source's own `avcC` under ids it does not use (the caller builds `stsd`; see the `avc`
//!   module for why). No parameter set is repeated in band;
//! - `mdat`: the replaced samples' bytes are removed (the unlabelled frames do not linger in
//!   the file) and the new samples are inserted at the start of the `mdat` that held the first
//!   of them;
//! - every chunk offset of every track moves accordingly; `moov` is otherwise unchanged
//!   (metadata, the implicit label, chapters, other tracks).
//!
//! Per-sample tables we cannot update for the new samples (`sdtp`, `sbgp`/`sgpd`, `stps`,
//! `cslg`) are dropped from the video track: they are optional hints.
//!
//! The byte and table bookkeeping (removed and inserted bytes, `mdat` sizes, chunk offsets,
//! the rebuilt sample table) is the track splicer's, [`TrackFile::splice`], which the AAC cue
//! goes through too; this module says what the video's new samples are.

use std::io::Write;

use aigc_label_core::io::ReadSeek;
use aigc_label_core::{Error, Limits, Result};

use super::encode::Segment;
use crate::bmff::boxes::{Body, Node};
use crate::bmff::table::Sample;
use crate::bmff::track::{Run, TrackFile, set, stbl_mut};

/// An MP4 file ready to splice: the video track opened by the track splicer.
pub(crate) type Mp4 = TrackFile;

/// Reads the structure of `input` and the samples of the `nth` track (the stream index ffmpeg
/// gives it: tracks are numbered in `moov` order).
///
/// # Errors
/// [`Error::Unsupported`] for what the splice does not handle (fragmented files, a track that
/// is not video); malformed structure.
pub(crate) fn open(input: &mut dyn ReadSeek, nth: usize, limits: &Limits) -> Result<Mp4> {
    TrackFile::open_video(input, nth, limits)
}

/// A re-encoded range: samples `[from, to)` of the track (decode order) replaced by `segment`,
/// whose samples use sample description `desc` (1-based).
pub(crate) struct Replaced {
    pub from: usize,
    pub to: usize,
    pub segment: Segment,
    pub desc: u32,
}

/// Writes the spliced file: the new samples at the start of the `mdat` that held the first
/// replaced one, each taking the decode time and duration of the sample it replaces and the
/// presentation time of the frame shown in its place; `stsd` as the track's sample
/// descriptions.
///
/// # Errors
/// [`Error::Unsupported`] when a replaced sample lies outside an `mdat` or shares bytes with
/// another track's chunk; I/O errors.
pub(crate) fn write(
    input: &mut dyn ReadSeek,
    mp4: &Mp4,
    replaced: &[Replaced],
    stsd: &[u8],
    out: &mut dyn Write,
) -> Result<()> {
    let first = replaced
        .first()
        .and_then(|r| mp4.samples.get(r.from))
        .ok_or_else(|| Error::parameter("video", "nothing to splice"))?;
    let at = mp4
        .mdat_payload_holding(first.offset)
        .ok_or_else(|| Error::unsupported("mp4", "the first re-encoded sample is not inside an mdat box"))?;
    let dts = decode_times(&mp4.samples);
    let cts = presentation(&mp4.samples);
    let mut runs = Vec::with_capacity(replaced.len());
    for r in replaced {
        let mut samples = Vec::new();
        samples
            .try_reserve_exact(r.segment.samples.len())
            .map_err(|_| Error::parameter("video", "out of memory for the sample table"))?;
        for (j, (range, sync)) in r.segment.samples.iter().enumerate() {
            let i = r.from + j;
            let (Some(orig), Some(&d), Some(&c)) = (mp4.samples.get(i), dts.get(i), cts.get(i)) else {
                return Err(Error::parameter("video", "segment has more frames than its range"));
            };
            let bytes = r.segment.data.get(range.clone()).unwrap_or_default();
            let size = u32::try_from(bytes.len()).map_err(|_| Error::parameter("video", "encoded frame over 4 GiB"))?;
            let entry = Sample {
                offset: 0,
                size,
                duration: orig.duration,
                cts_offset: c.saturating_sub(d),
                sync: *sync,
                desc: r.desc,
            };
            samples.push((entry, bytes));
        }
        runs.push(Run {
            from: r.from,
            to: r.to,
            samples,
        });
    }
    let finish = |moov: &mut Node, _: &[Sample]| -> Result<()> {
        let stbl = stbl_mut(moov, mp4.trak)?;
        set(stbl, b"stsd", Some(stsd.to_vec()), None);
        for typ in [b"sdtp", b"sbgp", b"sgpd", b"stps", b"cslg"] {
            for k in stbl.kids.iter_mut().filter(|k| k.live() && &k.typ == typ) {
                k.body = Body::Removed;
            }
        }
        Ok(())
    };
    mp4.splice(input, &runs, at, &[], &finish, out)
}

/// Each sample's decode time.
pub(crate) fn decode_times(samples: &[Sample]) -> Vec<i64> {
    let mut t = 0i64;
    samples
        .iter()
        .map(|s| {
            let d = t;
            t = t.saturating_add(i64::from(s.duration));
            d
        })
        .collect()
}

/// For each decode position `i`, the `i`-th smallest presentation time: in a range that cuts
/// cleanly, the time of the frame shown `i`-th, which the `i`-th new (B-frame-free) sample
/// takes.
pub(crate) fn presentation(samples: &[Sample]) -> Vec<i64> {
    let dts = decode_times(samples);
    let mut cts: Vec<i64> = samples
        .iter()
        .zip(&dts)
        .map(|(s, d)| d.saturating_add(s.cts_offset))
        .collect();
    cts.sort_unstable();
    cts
}

/// The positions (decode order) where the track can be cut: 0, the end, and every sync sample
/// that no earlier sample is shown after and that is shown before every later sample (so it has
/// no leading pictures, which in an open GOP reference the group before it).
pub(crate) fn cut_points(samples: &[Sample]) -> Vec<usize> {
    let dts = decode_times(samples);
    let cts: Vec<i64> = samples
        .iter()
        .zip(&dts)
        .map(|(s, d)| d.saturating_add(s.cts_offset))
        .collect();
    let mut suffix_min = vec![i64::MAX; cts.len() + 1];
    for i in (0..cts.len()).rev() {
        suffix_min[i] = suffix_min[i + 1].min(cts[i]);
    }
    let mut out = vec![0];
    let mut prefix_max = i64::MIN;
    for (i, s) in samples.iter().enumerate() {
        if i > 0 && s.sync && prefix_max < suffix_min[i] && suffix_min[i] == cts[i] {
            out.push(i);
        }
        prefix_max = prefix_max.max(cts[i]);
    }
    out.push(samples.len());
    out
}
