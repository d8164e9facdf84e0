//! AAC in MP4/M4A (and the AAC sound track of a video file): the cue is encoded by ffmpeg's
//! `aac` encoder with the track's own AudioSpecificConfig (AAC-LC, sample rate, channel
//! configuration, 1024-sample frames; the bitrate from `esds`), checked against it, so the one
//! `esds` the track has describes the new frames too, and the container writer of
//! `aigc_label_video::bmff::track` puts the frames into the track. The original frames keep
//! their bytes.
//!
//! **Insert** (audio-only files). An AAC frame decodes by overlap-adding with the frame before
//! it, so two encodings only join cleanly where one side is silent or both carry the same sound:
//! - at the start, the cue's frames go before the first original frame, which was encoded to
//!   follow silence. The cue is padded with silence to whole frames and the track's one edit
//!   (`elst`) now starts after the cue's own encoder priming (1024 samples), so the output
//!   begins with the cue's first sample. The content's priming samples, which its edit used to
//!   skip, now play between the cue and the content: near-silence that belongs to the cue's
//!   tail, so the content keeps every sample and the output is the source plus the cue;
//! - at the end, the cue's frames follow the last original frame (whose decode duration becomes
//!   a whole frame again), and the edit stretches to the cue's end; the content's end padding
//!   and the cue's priming play as a short silence before the cue;
//! - in the middle, at the frame boundary nearest the asked time: the two frames either side
//!   are decoded and re-encoded with the cue between them (the frames before and after the
//!   re-encoded ones then meet the same sound they were encoded next to, as in a mix), and the
//!   edit grows by the cue.
//!
//! Inserting into the sound of a video file is refused: it would put sound and picture out of
//! step.
//!
//! **Mix** (anywhere; the way for a video's sound track). The frames under the cue and its
//! ducking ramps, plus one on each side, are decoded (edit list ignored, so the frame grid is
//! the file's), mixed with the cue and re-encoded on the same grid (the encoder is fed from one
//! frame before the span, so its first kept frame has a warmed-up predecessor), and replace the
//! original frames one for one with the same durations. Outside the span every frame is the
//! original, and timing does not change.

use std::io::Write;
use std::path::Path;

use aigc_label_core::io::Bytes;
use aigc_label_core::{Error, Limits, Result};
use aigc_label_video::bmff::track::{Change, EditEntry, NewSample, TrackFile, handlers, scale};

use super::{Stamped, ffmpeg, folder_of};
use crate::cue::{At, Cue, Ducking, Mixer, Mode, PcmSpec, Rendered, resolve};

const FORMAT: &str = "m4a";

/// Samples per AAC-LC frame.
pub(super) const FRAME: u64 = 1024;

/// Samples of priming ffmpeg's `aac` encoder puts before the first input sample (its
/// `initial_padding`).
const ENCODER_DELAY: u64 = 1024;

/// Frames the encoder is fed before a re-encoded span (see [`reencode`]).
const WARM_UP: u64 = 3;

/// The least bitrate the cue is encoded at, per channel (see [`encode`]).
const MIN_BITRATE_PER_CHANNEL: u32 = 64_000;

/// The sampling frequencies an AudioSpecificConfig indexes.
const RATES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000, 7_350,
];

/// What the track's AudioSpecificConfig says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Config {
    object_type: u8,
    rate_index: u8,
    channels: u8,
}

impl Config {
    fn rate(&self) -> u32 {
        RATES.get(usize::from(self.rate_index)).copied().unwrap_or(0)
    }
}

/// An MPEG-4 descriptor's tag and body at the start of `b` (ISO/IEC 14496-1 §8.3.3: a tag
/// byte, then a size in up to four 7-bit groups).
fn descriptor<'a>(b: &mut Bytes<'a>) -> Option<(u8, &'a [u8])> {
    let tag = b.u8()?;
    let mut len = 0usize;
    for _ in 0..4 {
        let x = b.u8()?;
        len = (len << 7) | usize::from(x & 0x7f);
        if x & 0x80 == 0 {
            break;
        }
    }
    Some((tag, b.take(len)?))
}

/// The AudioSpecificConfig and average bitrate of an `mp4a` sample entry's `esds`.
fn esds_config(entry: &[u8]) -> Result<(Config, u32)> {
    let bad = |why: &str| Error::unsupported(FORMAT, format!("AAC sample entry: {why}"));
    if entry.get(4..8) != Some(b"mp4a") {
        return Err(bad("not mp4a (stamp handles AAC in MP4)"));
    }
    // The esds box follows the 28 bytes of the audio sample entry (36 with its header); a
    // QuickTime version 1 or 2 entry has more fields before it, so look for it by name.
    let at = entry
        .windows(4)
        .skip(32)
        .position(|w| w == b"esds")
        .map(|p| p + 32)
        .ok_or_else(|| bad("no esds"))?;
    let size = entry
        .get(at - 4..at)
        .map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize);
    let esds = entry
        .get(at + 8..(at - 4).saturating_add(size))
        .ok_or_else(|| bad("esds cut short"))?;
    let mut b = Bytes::new(esds);
    let (tag, es) = descriptor(&mut b).ok_or_else(|| bad("esds"))?;
    if tag != 3 {
        return Err(bad("no ES descriptor"));
    }
    let mut b = Bytes::new(es);
    b.take(2).ok_or_else(|| bad("ES descriptor"))?;
    let flags = b.u8().ok_or_else(|| bad("ES descriptor"))?;
    if flags & 0x80 != 0 {
        b.take(2);
    }
    if flags & 0x40 != 0 {
        let n = b.u8().unwrap_or(0);
        b.take(usize::from(n));
    }
    if flags & 0x20 != 0 {
        b.take(2);
    }
    let (tag, dc) = descriptor(&mut b).ok_or_else(|| bad("decoder config"))?;
    if tag != 4 {
        return Err(bad("no decoder config descriptor"));
    }
    let mut d = Bytes::new(dc);
    let object = d.u8().ok_or_else(|| bad("decoder config"))?;
    if object != 0x40 {
        return Err(bad(&format!("object type 0x{object:02x} is not MPEG-4 audio")));
    }
    d.take(4); // stream type, buffer size
    d.u32_be(); // max bitrate
    let bitrate = d.u32_be().ok_or_else(|| bad("decoder config"))?;
    let (tag, asc) = descriptor(&mut d).ok_or_else(|| bad("no AudioSpecificConfig"))?;
    if tag != 5 {
        return Err(bad("no AudioSpecificConfig"));
    }
    Ok((asc_config(asc)?, bitrate))
}

/// What an AudioSpecificConfig says, checked to be one this can encode (AAC-LC, an indexed
/// sample rate, a channel configuration, 1024-sample frames).
pub(super) fn asc_config(asc: &[u8]) -> Result<Config> {
    let bad = |why: &str| Error::unsupported(FORMAT, format!("AAC AudioSpecificConfig: {why}"));
    let (&a, &c) = (
        asc.first().ok_or_else(|| bad("ASC"))?,
        asc.get(1).ok_or_else(|| bad("ASC"))?,
    );
    let config = Config {
        object_type: a >> 3,
        rate_index: ((a & 7) << 1) | (c >> 7),
        channels: (c >> 3) & 0xf,
    };
    if config.object_type != 2 {
        return Err(bad(&format!(
            "audio object type {} (stamp encodes AAC-LC, type 2)",
            config.object_type
        )));
    }
    if config.rate() == 0 {
        return Err(bad("an explicit sample rate"));
    }
    if !(1..=7).contains(&config.channels) || c & 0x04 != 0 {
        return Err(bad(
            "a channel layout in a program config element, or 960-sample frames",
        ));
    }
    Ok(config)
}

/// The raw AAC frames of an ADTS stream, each checked against `config`.
fn adts_frames<'a>(data: &'a [u8], config: &Config) -> Result<Vec<&'a [u8]>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        let h = data
            .get(pos..pos + 7)
            .ok_or_else(|| Error::malformed("adts", pos as u64, "frame header cut short"))?;
        if h[0] != 0xff || h[1] & 0xf6 != 0xf0 {
            return Err(Error::malformed("adts", pos as u64, "no ADTS sync word"));
        }
        let found = Config {
            object_type: (h[2] >> 6) + 1,
            rate_index: (h[2] >> 2) & 0xf,
            channels: ((h[2] & 1) << 2) | (h[3] >> 6),
        };
        if found != *config {
            return Err(Error::unsupported(
                FORMAT,
                format!("ffmpeg's aac encoder wrote {found:?} for a track of {config:?}"),
            ));
        }
        let len = (usize::from(h[3] & 3) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
        let header = if h[1] & 1 == 0 { 9 } else { 7 };
        if h[6] & 3 != 0 {
            return Err(Error::unsupported(FORMAT, "ADTS frames with several raw blocks"));
        }
        let frame = data
            .get(pos + header..pos + len)
            .filter(|_| len > header)
            .ok_or_else(|| Error::malformed("adts", pos as u64, "frame length"))?;
        out.push(frame);
        pos += len;
    }
    Ok(out)
}

/// Encodes interleaved float PCM with the track's settings into raw AAC frames.
fn encode(
    tools: &aigc_label_ffmpeg::Tools,
    pcm: &[f32],
    spec: &PcmSpec,
    config: &Config,
    bitrate: u32,
) -> Result<Vec<Vec<u8>>> {
    // ffmpeg's encoder drops a steady tone for a few milliseconds at low bitrates (seen at
    // 32 kbit/s mono): the cue gets at least 64 kbit/s a channel, more than the content may
    // have (the bitrate is not part of the AudioSpecificConfig, so the track's esds still fits).
    let floor = MIN_BITRATE_PER_CHANNEL * u32::from(config.channels);
    let rate = format!("{}", bitrate.clamp(floor, 256_000 * u32::from(config.channels)));
    let codec = ["-c:a", "aac", "-profile:a", "aac_low", "-b:a", rate.as_str()];
    let data = ffmpeg::encode_pcm(tools, pcm, spec, &codec, "adts")?;
    Ok(adts_frames(&data, config)?.into_iter().map(<[u8]>::to_vec).collect())
}

/// What a mix needs to know of an AAC sound track, in any container.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sound {
    pub(super) spec: PcmSpec,
    pub(super) config: Config,
    /// Bits per second the cue and re-encoded frames are coded at (see [`encode`]).
    pub(super) bitrate: u32,
    /// The priming samples before the content (what an MP4 edit skips).
    pub(super) priming: u64,
    /// Frames in the track.
    pub(super) frames: u64,
}

impl Sound {
    /// The sound of `config` with `frames` frames of `bytes` in all: the bitrate is their
    /// average.
    pub(super) fn new(config: Config, frames: u64, bytes: u64, priming: u64) -> Result<Sound> {
        let spec = PcmSpec::new(config.rate(), u16::from(config.channels));
        super::check_layout(&spec)?;
        let bitrate =
            u32::try_from(bytes * 8 * u64::from(spec.sample_rate) / (frames * FRAME).max(1)).unwrap_or(128_000);
        Ok(Sound {
            spec,
            config,
            bitrate,
            priming,
            frames,
        })
    }
}

/// The track to stamp and what it is.
struct Track {
    file: TrackFile,
    config: Config,
    bitrate: u32,
    spec: PcmSpec,
    /// The edit's media time: the priming samples the presentation skips.
    priming: u64,
    /// Samples presented (the edit's duration), the content.
    content: u64,
    has_video: bool,
}

fn open(path: &Path) -> Result<Track> {
    let limits = Limits::default();
    let has_video = handlers(&mut std::fs::File::open(path)?, &limits)?.contains(b"vide");
    let file = TrackFile::open(&mut std::fs::File::open(path)?, b"soun", &limits)?;
    let entries = file.sample_entries()?;
    let [entry] = entries.as_slice() else {
        return Err(Error::unsupported(
            FORMAT,
            "a sound track with several sample descriptions",
        ));
    };
    let (config, esds_rate) = esds_config(entry)?;
    if file.media_timescale() != config.rate() {
        return Err(Error::unsupported(
            FORMAT,
            format!(
                "a track timescale of {} for {} Hz audio",
                file.media_timescale(),
                config.rate()
            ),
        ));
    }
    let spec = PcmSpec::new(config.rate(), u16::from(config.channels));
    super::check_layout(&spec)?;
    let media = file.media_duration();
    let (priming, content) = match file.edit()? {
        Some(e) => {
            let content = scale(e.duration, file.movie_timescale(), file.media_timescale());
            (e.media_time, content.min(media.saturating_sub(e.media_time)))
        }
        None => (0, media),
    };
    let bitrate = if esds_rate > 0 {
        esds_rate
    } else {
        let bytes: u64 = file.samples().iter().map(|s| u64::from(s.size)).sum();
        u32::try_from(bytes * 8 * u64::from(spec.sample_rate) / media.max(1)).unwrap_or(128_000)
    };
    Ok(Track {
        file,
        config,
        bitrate,
        spec,
        priming,
        content,
        has_video,
    })
}

impl Track {
    /// What a mix needs of the track.
    fn sound(&self) -> Sound {
        Sound {
            spec: self.spec,
            config: self.config,
            bitrate: self.bitrate,
            priming: self.priming,
            frames: self.file.samples().len() as u64,
        }
    }
}

/// One change to the file, made in turn (a pass reads the file the previous one wrote).
enum Pass {
    /// The cue's frames before the first frame.
    Start(Vec<Vec<u8>>),
    /// The cue's frames after the last frame.
    End(Vec<Vec<u8>>),
    /// Frames `from..to` replaced one for one.
    Mix { from: usize, frames: Vec<Vec<u8>> },
    /// Frames `from..to` replaced by `frames`, `added` samples more (the cue, in the middle).
    Middle {
        from: usize,
        to: usize,
        frames: Vec<Vec<u8>>,
        added: u64,
    },
}

impl Pass {
    /// The change this pass makes to the file `track` describes.
    fn change<'a>(&'a self, track: &Track) -> Result<Change<'a>> {
        let file = &track.file;
        let samples = file.samples();
        let n = samples.len();
        let (media_ts, movie_ts) = (file.media_timescale(), file.movie_timescale());
        let full = |frames: &'a [Vec<u8>]| -> Vec<NewSample<'a>> {
            frames
                .iter()
                .map(|f| NewSample {
                    bytes: f,
                    duration: FRAME as u32,
                })
                .collect()
        };
        Ok(match self {
            Pass::Start(frames) => {
                let padded = frames.len() as u64 * FRAME - ENCODER_DELAY;
                let presented = scale(track.content + padded + track.priming, media_ts, movie_ts);
                Change {
                    from: 0,
                    to: 0,
                    samples: full(frames),
                    edit: Some(EditEntry {
                        media_time: ENCODER_DELAY,
                        duration: presented,
                    }),
                    ..Change::default()
                }
            }
            Pass::End(frames) => {
                let last = samples.last().map_or(0, |s| u64::from(s.duration));
                let whole = file.media_duration() - last + last.max(FRAME);
                let presented = (whole + frames.len() as u64 * FRAME).saturating_sub(track.priming);
                Change {
                    from: n,
                    to: n,
                    samples: full(frames),
                    durations: if last < FRAME {
                        vec![(n - 1, FRAME as u32)]
                    } else {
                        Vec::new()
                    },
                    edit: Some(EditEntry {
                        media_time: track.priming,
                        duration: scale(presented, media_ts, movie_ts),
                    }),
                }
            }
            Pass::Middle {
                from,
                to,
                frames,
                added,
            } => Change {
                from: *from,
                to: *to,
                samples: full(frames),
                edit: Some(EditEntry {
                    media_time: track.priming,
                    duration: scale(track.content + added, media_ts, movie_ts),
                }),
                ..Change::default()
            },
            Pass::Mix { from, frames } => {
                let to = from + frames.len();
                let kept = samples
                    .get(*from..to)
                    .ok_or_else(|| Error::parameter("samples", "re-encoded span past the track's end"))?;
                Change {
                    from: *from,
                    to,
                    samples: frames
                        .iter()
                        .zip(kept)
                        .map(|(f, s)| NewSample {
                            bytes: f,
                            duration: s.duration,
                        })
                        .collect(),
                    ..Change::default()
                }
            }
        })
    }
}

/// The cue's frames for an insert: the cue padded with silence to whole frames, encoded.
fn insert_plan(
    track: &Track,
    path: &Path,
    rendered: &Rendered,
    positions: &mut [u64],
    tools: &aigc_label_ffmpeg::Tools,
) -> Result<(u64, Vec<Pass>)> {
    if track.has_video {
        return Err(Error::unsupported(
            FORMAT,
            "inserting a cue into the sound of a video would put sound and picture out of step: mix it in (--mix)",
        ));
    }
    let ch = usize::from(track.spec.channels);
    let padded = rendered.frames().div_ceil(FRAME) * FRAME;
    let mut cue_pcm = rendered.as_f32().to_vec();
    cue_pcm.resize(padded as usize * ch, 0.0);
    let frames = encode(tools, &cue_pcm, &track.spec, &track.config, track.bitrate)?;
    if frames.len() as u64 != padded / FRAME + ENCODER_DELAY / FRAME {
        return Err(Error::unsupported(
            FORMAT,
            format!(
                "ffmpeg's aac encoder wrote {} frames for {padded} samples",
                frames.len()
            ),
        ));
    }
    let (mut start, mut end) = (false, false);
    let n = track.file.samples().len() as u64;
    // Cues in the middle: at the frame boundary nearest each, as original frame indexes.
    let mut middles: Vec<u64> = Vec::new();
    for p in positions.iter_mut() {
        if *p == 0 {
            start = true;
        } else if *p == track.content {
            end = true;
        } else {
            let k = (track.priming + *p + FRAME / 2) / FRAME;
            if k < 1 || k + 2 > n {
                return Err(Error::unsupported(
                    FORMAT,
                    "a cue within a frame or two of either end: put it at the start or the end",
                ));
            }
            *p = (k * FRAME).saturating_sub(track.priming);
            middles.push(k);
        }
    }
    middles.sort_unstable();
    middles.dedup();
    let last = track.file.samples().last().map_or(0, |s| u64::from(s.duration));
    let end_padding = last.max(FRAME) - last
        + track
            .file
            .media_duration()
            .saturating_sub(track.priming)
            .saturating_sub(track.content);
    let cue_frames = if start {
        padded + track.priming
    } else if end && middles.is_empty() {
        end_padding + frames.len() as u64 * FRAME
    } else {
        padded
    };
    let mut passes = Vec::new();
    if end {
        passes.push(Pass::End(frames.clone()));
    }
    if let Some(&last) = middles.last() {
        // The frames two either side of the boundary are decoded and re-encoded with the cue
        // between them, so each join meets the same sound on both sides (as in a mix). Later
        // cues first: an earlier one's frames would move them.
        let most = (last + 4) * FRAME;
        let decoded = ffmpeg::decode_head_with(tools, &["-ignore_editlist", "1"], path, track.spec.channels, most)?;
        let ch = usize::from(track.spec.channels);
        for &k in middles.iter().rev() {
            let (a, b) = (k.saturating_sub(2), (k + 2).min(n - 1));
            let frames = reencode(&track.sound(), tools, &decoded, a, b, padded / FRAME, |pcm, start| {
                let at = ((k * FRAME - start) as usize * ch).min(pcm.len());
                pcm.splice(at..at, cue_pcm.iter().copied());
                Ok(())
            })?;
            passes.push(Pass::Middle {
                from: a as usize,
                to: b as usize,
                frames,
                added: padded,
            });
        }
    }
    if start {
        passes.push(Pass::Start(frames));
    }
    Ok((cue_frames, passes))
}

/// The re-encoded spans for a mix: for each group of overlapping cues, the frames under them
/// and their ramps plus one each side, as (first frame, new frames) replacing as many.
/// `decode_options` go before ffmpeg's `-i` so that it decodes every frame of the track,
/// priming included (`-ignore_editlist 1` for MP4).
#[allow(clippy::too_many_arguments)]
pub(super) fn mix_spans(
    track: &Sound,
    path: &Path,
    decode_options: &[&str],
    rendered: &Rendered,
    positions: &[u64],
    ducking: &Ducking,
    tools: &aigc_label_ffmpeg::Tools,
) -> Result<Vec<(usize, Vec<Vec<u8>>)>> {
    let n = track.frames;
    let ramp = track.spec.frame_at(ducking.ramp.as_secs_f64());
    let cue = rendered.frames();
    // Spans as (first frame, end frame, cue positions in raw samples).
    let mut spans: Vec<(u64, u64, Vec<u64>)> = Vec::new();
    let mut sorted = positions.to_vec();
    sorted.sort_unstable();
    for p in sorted {
        let raw = track.priming + p;
        let a = (raw.saturating_sub(ramp) / FRAME).saturating_sub(1);
        let b = ((raw + cue + ramp).div_ceil(FRAME) + 1).min(n);
        if b <= a {
            return Err(Error::unsupported(FORMAT, "a cue past the last frame"));
        }
        match spans.last_mut() {
            Some(last) if a <= last.1 => {
                last.1 = last.1.max(b);
                last.2.push(raw);
            }
            _ => spans.push((a, b, vec![raw])),
        }
    }
    let most = spans.last().map_or(0, |s| s.1 + 2) * FRAME;
    let decoded = ffmpeg::decode_head_with(tools, decode_options, path, track.spec.channels, most)?;
    let mut passes = Vec::new();
    for (a, b, raws) in spans {
        let frames = reencode(track, tools, &decoded, a, b, 0, |pcm, start| {
            let at: Vec<u64> = raws
                .iter()
                .map(|&r| {
                    r.checked_sub(start).ok_or_else(|| {
                        Error::unsupported(FORMAT, "a cue over the first frame of a track without priming")
                    })
                })
                .collect::<Result<_>>()?;
            Mixer::new(rendered, &track.spec, at, ducking)?.apply(pcm)
        })?;
        passes.push((a as usize, frames));
    }
    Ok(passes)
}

/// Re-encodes the original frames `a..b` (decoded, edit list ignored, in `decoded`) after
/// `edit` changed their samples (given with the raw sample index of the first one), returning
/// `b - a + added` frames on the file's frame grid.
///
/// The encoder is fed from frame `s` on (never frame 0, the priming): its frame `j` then
/// stands for the original frame `j + s - 1`, as its first frame holds its own priming and the
/// original's block `s - 1`. `s` is [`WARM_UP`] frames before the span, and the fed sound fades
/// in over its first frame: sound starting from silence is an attack to the encoder, which
/// answers with short windows, and a kept frame next to them would not overlap-add with the
/// original frame before it (their window shapes differ).
fn reencode(
    track: &Sound,
    tools: &aigc_label_ffmpeg::Tools,
    decoded: &[f32],
    a: u64,
    b: u64,
    added: u64,
    edit: impl FnOnce(&mut Vec<f32>, u64) -> Result<()>,
) -> Result<Vec<Vec<u8>>> {
    let ch = usize::from(track.spec.channels);
    let s = a.saturating_sub(WARM_UP).max(1);
    let first = (s * FRAME) as usize * ch;
    let last = (((b + 2) * FRAME) as usize * ch).min(decoded.len() / ch * ch);
    let mut pcm = decoded.get(first..last).unwrap_or_default().to_vec();
    if s > 1 {
        for (i, frame) in pcm.chunks_mut(ch).take(FRAME as usize).enumerate() {
            let gain = 0.5 - 0.5 * (std::f32::consts::PI * i as f32 / FRAME as f32).cos();
            frame.iter_mut().for_each(|x| *x *= gain);
        }
    }
    edit(&mut pcm, s * FRAME)?;
    let frames = encode(tools, &pcm, &track.spec, &track.config, track.bitrate)?;
    let take = (a + 1 - s) as usize..(b + 1 - s + added) as usize;
    frames
        .get(take)
        .map(<[Vec<u8>]>::to_vec)
        .ok_or_else(|| Error::unsupported(FORMAT, "ffmpeg's aac encoder wrote fewer frames than the span"))
}

/// Stamps the AAC track of the MP4 at `path` into `output` (`out_path` names where it goes,
/// for the temporary files of a run in several passes); see the module's text.
pub(super) fn stamp(
    path: &Path,
    output: &mut dyn Write,
    out_path: &Path,
    cue: &Cue,
    at: &[At],
    mode: &Mode,
) -> Result<Stamped> {
    let track = open(path)?;
    let rendered = Rendered::new(cue, &track.spec)?;
    let tools = ffmpeg::tools()?;
    let mut positions = resolve(at, &track.spec, track.content, rendered.frames(), mode)?;
    let (cue_frames, passes) = match mode {
        Mode::Insert => insert_plan(&track, path, &rendered, &mut positions, &tools)?,
        Mode::Mix(ducking) => {
            let spans = mix_spans(
                &track.sound(),
                path,
                &["-ignore_editlist", "1"],
                &rendered,
                &positions,
                ducking,
                &tools,
            )?;
            let passes = spans.into_iter().map(|(from, frames)| Pass::Mix { from, frames });
            (rendered.frames(), passes.collect())
        }
    };
    let mut current: Option<tempfile::NamedTempFile> = None;
    let count = passes.len();
    for (i, pass) in passes.iter().enumerate() {
        let input = current.as_ref().map_or(path, |t| t.path());
        let reopened;
        let this = if i == 0 {
            &track
        } else {
            reopened = open(input)?;
            &reopened
        };
        let change = pass.change(this)?;
        let mut file = std::fs::File::open(input)?;
        if i + 1 == count {
            this.file.write(&mut file, &change, output)?;
        } else {
            let next = tempfile::NamedTempFile::new_in(folder_of(out_path))?;
            let mut w = std::io::BufWriter::new(next.as_file());
            this.file.write(&mut file, &change, &mut w)?;
            w.flush()?;
            drop(w);
            current = Some(next);
        }
    }
    if count == 0 {
        std::io::copy(&mut std::fs::File::open(path)?, output)?;
    }
    Ok(Stamped {
        format: FORMAT,
        spec: track.spec,
        cue_frames,
        input_frames: track.content,
        positions,
    })
}

/// The fuzz property of the AAC path without ffmpeg: reading any bytes as an MP4 sound track
/// (its sample table, sample entry, esds and edit list) never panics, and when it reads,
/// inserting a stand-in frame at the start and replacing the first frame both write a file
/// whose track reads back with the expected sample count.
pub(super) fn fuzz(data: &[u8]) {
    use std::io::Cursor;
    let limits = Limits::default();
    let _ = handlers(&mut Cursor::new(data), &limits);
    let Ok(file) = TrackFile::open(&mut Cursor::new(data), b"soun", &limits) else {
        return;
    };
    if let Ok(entries) = file.sample_entries() {
        for e in entries {
            let _ = esds_config(e);
        }
    }
    let edit = file.edit().ok().flatten();
    let n = file.samples().len();
    let stand_in = [0x21u8, 0x10, 0x04];
    let insert = Change {
        samples: vec![NewSample {
            bytes: &stand_in,
            duration: FRAME as u32,
        }],
        edit: Some(EditEntry {
            media_time: ENCODER_DELAY,
            duration: edit.map_or(0, |e| e.duration.saturating_add(1)),
        }),
        ..Change::default()
    };
    let replace = Change {
        from: 0,
        to: 1,
        samples: insert.samples.clone(),
        ..Change::default()
    };
    for (change, count) in [(insert, n + 1), (replace, n)] {
        let mut out = Vec::new();
        if file.write(&mut Cursor::new(data), &change, &mut out).is_err() {
            continue;
        }
        let again = TrackFile::open(&mut Cursor::new(&out), b"soun", &limits)
            .unwrap_or_else(|e| panic!("a rewritten file does not read back: {e}"));
        assert_eq!(again.samples().len(), count);
        let first = again.samples().first().copied();
        let at = first.map_or(0, |s| s.offset as usize);
        assert_eq!(out.get(at..at + 3), Some(&stand_in[..]), "the new frame comes first");
    }
}
