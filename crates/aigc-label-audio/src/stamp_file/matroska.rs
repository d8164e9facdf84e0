//! The sound track of a Matroska/WebM file (`--mix` only): the codec's mixer re-encodes the
//! packets under the cue, and `aigc_label_video::matroska::track` puts them in place of the
//! originals, one for one, each block keeping its timestamp and flags. Every other block (the
//! picture, the rest of the sound) keeps its bytes, and timing does not change.
//!
//! Handled: Opus (`A_OPUS`), through the same packet mixer as Ogg Opus (`ogg_mix`), packets of
//! several frames included; Vorbis (`A_VORBIS`), through the Ogg Vorbis mixer on the packets
//! laid out as a temporary Ogg stream (`vorbis_bridge`); AAC-LC (`A_AAC`), through the mixer
//! of AAC in MP4 (`aac`). Inserting is refused (it would put sound and picture out of
//! step), as are codecs without a mixer here; the message says what to do instead.

use std::io::Write;
use std::path::Path;

use aigc_label_core::{Error, Limits, Result};
use aigc_label_video::matroska::track::{AUDIO_TRACK, MatroskaTrack};

use super::aac::{FRAME, Sound, mix_spans};
use super::ogg::{opus_head, opus_samples};
use super::ogg_mix::Plan;
use super::{Stamped, ffmpeg};
use crate::cue::{At, Cue, Ducking, Mode, PcmSpec, Rendered, resolve};

const FORMAT: &str = "matroska";

/// Samples (48 kHz) between the ducked sound and either end of a re-encoded run (as in
/// `ogg_mix`, whose reasons hold for packets in any container).
const MARGIN: u64 = 1920;

/// Stamps the sound track of the Matroska/WebM file at `path` into `output`.
pub(super) fn stamp(
    path: &Path,
    output: &mut dyn Write,
    out_path: &Path,
    cue: &Cue,
    at: &[At],
    mode: &Mode,
) -> Result<Stamped> {
    let limits = Limits::default();
    let track = MatroskaTrack::open(&mut std::fs::File::open(path)?, AUDIO_TRACK, &limits)?;
    let ducking = super::mix_only(mode, FORMAT, "a Matroska/WebM file")?;
    match track.codec_id.as_str() {
        "A_OPUS" => opus(path, &track, output, cue, at, ducking, &limits),
        "A_VORBIS" => vorbis(path, out_path, &track, output, cue, at, ducking, &limits),
        id if id.starts_with("A_AAC") => aac(path, &track, output, cue, at, ducking, &limits),
        other => Err(Error::unsupported(
            FORMAT,
            format!(
                "mixing a cue into {other} sound in Matroska/WebM (handled: Opus, Vorbis, AAC); convert the sound \
                 (ffmpeg -c:v copy -c:a libopus) or stamp the sound track on its own"
            ),
        )),
    }
}

/// The Opus mix: the packets' start positions (granule positions, pre-skip included) from
/// their TOC bytes, runs of packets around each cue, each re-encoded by [`Plan::reencode`].
fn opus(
    path: &Path,
    track: &MatroskaTrack,
    output: &mut dyn Write,
    cue: &Cue,
    at: &[At],
    ducking: &Ducking,
    limits: &Limits,
) -> Result<Stamped> {
    let (spec, pre_skip) = opus_head(&track.private)?;
    let mut file = std::fs::File::open(path)?;
    // Each packet's first sample, as a granule position; the TOC byte (and the frame count
    // byte) is all that is read of a packet.
    let mut starts = Vec::with_capacity(track.blocks.len() + 1);
    let mut granule = 0u64;
    for (i, block) in track.blocks.iter().enumerate() {
        starts.push(granule);
        let head = read_head(&mut file, block.payload.clone())?;
        let d = opus_samples(&head);
        if d == 0 {
            return Err(Error::malformed(
                FORMAT,
                block.payload.start,
                format!("Opus packet {i}"),
            ));
        }
        granule += d;
    }
    starts.push(granule);
    let discard = track
        .blocks
        .last()
        .map_or(0, |b| u64::try_from(b.discard_ns).unwrap_or(0) * 48 / 1_000_000);
    let content = granule.saturating_sub(pre_skip).saturating_sub(discard);
    let rendered = Rendered::new(cue, &spec)?;
    let positions = resolve(at, &spec, content, rendered.frames(), &Mode::Mix(*ducking))?;
    let runs = runs(&starts, &positions, pre_skip, rendered.frames(), &spec, ducking);
    let tools = ffmpeg::tools()?;
    let mut new: Vec<(usize, Vec<u8>)> = Vec::new();
    for (a, b, cues) in runs {
        let mut packets = Vec::with_capacity(b - a);
        for i in a..b {
            packets.push(track.read_block(&mut file, i)?);
        }
        let refs: Vec<&[u8]> = packets.iter().map(Vec::as_slice).collect();
        let start = starts.get(a).copied().unwrap_or(0);
        let plan = Plan::of_packets(&refs, start)?;
        let coded = plan.reencode(&tools, &spec, pre_skip, path, &rendered, &cues, ducking)?;
        new.extend((a..b).zip(coded));
    }
    let replace: Vec<(usize, &[u8])> = new.iter().map(|(i, p)| (*i, p.as_slice())).collect();
    track.write(&mut file, &replace, limits, output)?;
    Ok(Stamped {
        format: FORMAT,
        spec,
        cue_frames: rendered.frames(),
        input_frames: content,
        positions,
    })
}

/// The Vorbis mix, through the Ogg Vorbis mixer (see `vorbis_bridge`); `out_path` names where
/// the output goes, for the temporary Ogg streams beside it.
#[allow(clippy::too_many_arguments)]
fn vorbis(
    path: &Path,
    out_path: &Path,
    track: &MatroskaTrack,
    output: &mut dyn Write,
    cue: &Cue,
    at: &[At],
    ducking: &Ducking,
    limits: &Limits,
) -> Result<Stamped> {
    let headers = super::vorbis_bridge::xiph_headers(&track.private)?;
    let mut file = std::fs::File::open(path)?;
    let (stamped, new) = super::vorbis_bridge::mix(
        &headers,
        track.blocks.len(),
        &mut |i| track.read_block(&mut file, i),
        out_path,
        cue,
        at,
        ducking,
    )?;
    let replace: Vec<(usize, &[u8])> = new.iter().map(|(i, p)| (*i, p.as_slice())).collect();
    track.write(&mut file, &replace, limits, output)?;
    Ok(Stamped {
        format: FORMAT,
        ..stamped
    })
}

/// The AAC mix: the frames under the cue re-encoded by `aac`'s mixer with the track's
/// AudioSpecificConfig (`CodecPrivate`). Matroska has no edit list: the encoder's priming
/// frame (ffmpeg's and most encoders' 1024 samples) plays as the track's first frame, so the
/// content is taken to start after it.
fn aac(
    path: &Path,
    track: &MatroskaTrack,
    output: &mut dyn Write,
    cue: &Cue,
    at: &[At],
    ducking: &Ducking,
    limits: &Limits,
) -> Result<Stamped> {
    let config = super::aac::asc_config(&track.private)?;
    let bytes: u64 = track.blocks.iter().map(|b| b.payload.end - b.payload.start).sum();
    let frames = track.blocks.len() as u64;
    let sound = Sound::new(config, frames, bytes, FRAME)?;
    let content = (frames * FRAME).saturating_sub(sound.priming);
    let rendered = Rendered::new(cue, &sound.spec)?;
    let positions = resolve(at, &sound.spec, content, rendered.frames(), &Mode::Mix(*ducking))?;
    let tools = ffmpeg::tools()?;
    let spans = mix_spans(&sound, path, &[], &rendered, &positions, ducking, &tools)?;
    let replace: Vec<(usize, &[u8])> = spans
        .iter()
        .flat_map(|(from, frames)| frames.iter().enumerate().map(move |(i, f)| (from + i, f.as_slice())))
        .collect();
    track.write(&mut std::fs::File::open(path)?, &replace, limits, output)?;
    Ok(Stamped {
        format: FORMAT,
        spec: sound.spec,
        cue_frames: rendered.frames(),
        input_frames: content,
        positions,
    })
}

/// The first bytes of the packet at `range` (its TOC byte and frame count).
fn read_head(file: &mut std::fs::File, range: std::ops::Range<u64>) -> Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(range.start))?;
    let mut head = Vec::with_capacity(2);
    file.take((range.end - range.start).min(2)).read_to_end(&mut head)?;
    Ok(head)
}

/// The runs of packets `a..b` to re-encode for cues at `positions` (content samples) of
/// `frames` each, with the cues they hold: each covers the cue, its ducking ramps and
/// [`MARGIN`] either side; overlapping runs merge. `starts` holds each packet's first granule
/// position and, last, the stream's end.
fn runs(
    starts: &[u64],
    positions: &[u64],
    pre_skip: u64,
    frames: u64,
    spec: &PcmSpec,
    ducking: &Ducking,
) -> Vec<(usize, usize, Vec<u64>)> {
    let n = starts.len().saturating_sub(1);
    let ramp = spec.frame_at(ducking.ramp.as_secs_f64());
    let mut sorted = positions.to_vec();
    sorted.sort_unstable();
    let mut out: Vec<(usize, usize, Vec<u64>)> = Vec::new();
    for p in sorted {
        let lo = (p + pre_skip).saturating_sub(ramp + MARGIN);
        let hi = p + pre_skip + frames + ramp + MARGIN;
        let a = starts
            .get(..n)
            .unwrap_or_default()
            .iter()
            .rposition(|&s| s <= lo)
            .unwrap_or(0);
        let b = starts
            .iter()
            .position(|&s| s >= hi)
            .unwrap_or(n)
            .clamp(a + 1, n.max(a + 1));
        match out.last_mut() {
            Some(last) if a < last.1 => {
                last.1 = last.1.max(b);
                last.2.push(p);
            }
            _ => out.push((a, b, vec![p])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_each_cue_with_margins_and_merge_when_they_overlap() {
        // 20 ms packets, 312 samples of pre-skip.
        let starts: Vec<u64> = (0..=100).map(|i| i * 960).collect();
        let spec = PcmSpec::new(48_000, 1);
        let ducking = Ducking::default();
        let ramp = spec.frame_at(ducking.ramp.as_secs_f64());
        let r = runs(&starts, &[0], 312, 4800, &spec, &ducking);
        assert_eq!(r.len(), 1);
        let (a, b, _) = &r[0];
        assert_eq!(*a, 0);
        assert!(starts[*b] >= 312 + 4800 + ramp + MARGIN, "{r:?}");
        assert!(starts[*b - 1] < 312 + 4800 + ramp + MARGIN, "{r:?}");
        let two = runs(&starts, &[0, 4800], 312, 4800, &spec, &ducking);
        assert_eq!(two.len(), 1, "overlapping runs merge");
        assert_eq!(two[0].2, [0, 4800]);
        let apart = runs(&starts, &[0, 80_000], 312, 4800, &spec, &ducking);
        assert_eq!(apart.len(), 2);
        let hi = 80_000 + 312 + 4800 + ramp + MARGIN;
        assert!(starts[apart[1].1] >= hi && starts[apart[1].1 - 1] < hi, "{apart:?}");
    }
}
