//! The sound track of an AVI file (`--mix` only): new frames take the place of the old ones in
//! the sound stream's chunks (`aigc_label_video::avi::track`), one for one; every other chunk
//! keeps its bytes, and as AVI times sound by its chunks, timing does not change.
//!
//! - MP3 (`wFormatTag` 0x55): through the MP3 file mixer (`mp3::mix_frames`), one frame to a
//!   chunk, as ffmpeg and most muxers store it.
//! - 16-bit PCM (`wFormatTag` 1): no codec: the chunks under the cue are mixed in place, every
//!   sample away from the cue and its ramps keeping its value, and keep their sizes.
//!
//! Inserting is refused (it would put sound and picture out of step), as are other codecs.

use std::io::Write;
use std::path::Path;

use aigc_label_core::{Error, Limits, Result};
use aigc_label_video::avi::track::AviSound;

use super::{NewFrames, Stamped};
use crate::cue::{At, Cue, Ducking, Mixer, Mode, PcmSpec, Rendered, resolve};

const FORMAT: &str = "avi";
const WAVE_FORMAT_PCM: u16 = 1;
const WAVE_FORMAT_MP3: u16 = 0x55;

/// Stamps the sound of the AVI file at `path` into `output`.
pub(super) fn stamp(path: &Path, output: &mut dyn Write, cue: &Cue, at: &[At], mode: &Mode) -> Result<Stamped> {
    let limits = Limits::default();
    let avi = AviSound::open(&mut std::fs::File::open(path)?, &limits)?;
    let ducking = super::mix_only(mode, FORMAT, "an AVI file")?;
    let mut file = std::fs::File::open(path)?;
    let (stamped, new) = match avi.format.format_tag {
        WAVE_FORMAT_MP3 => {
            // Empty chunks (a muxer's placeholders) hold no frame.
            let full: Vec<usize> = (0..avi.chunks.len())
                .filter(|&i| avi.chunks.get(i).is_some_and(|c| c.end > c.start))
                .collect();
            let payloads: Vec<_> = full.iter().filter_map(|&i| avi.chunks.get(i).cloned()).collect();
            let (mixed, new) = super::mp3::mix_frames(path, &mut file, &payloads, cue, at, ducking)?;
            let new = new
                .into_iter()
                .map(|(k, f)| full.get(k).map(|&i| (i, f)))
                .collect::<Option<NewFrames>>()
                .ok_or_else(|| Error::malformed(FORMAT, 0, "a re-encoded frame past the last"))?;
            (
                Stamped {
                    format: FORMAT,
                    ..mixed
                },
                new,
            )
        }
        WAVE_FORMAT_PCM if avi.format.bits == 16 => pcm16(&avi, &mut file, cue, at, ducking)?,
        tag => {
            return Err(Error::unsupported(
                FORMAT,
                format!(
                    "mixing a cue into AVI sound of format 0x{tag:04x}, {} bits (handled: MP3, 16-bit PCM); convert \
                     the sound (ffmpeg -c:v copy -c:a libmp3lame) first",
                    avi.format.bits
                ),
            ));
        }
    };
    let replace: Vec<(usize, &[u8])> = new.iter().map(|(i, b)| (*i, b.as_slice())).collect();
    avi.write(&mut file, &replace, &limits, output)?;
    Ok(stamped)
}

/// Most sample frames of PCM mixed in one piece (60 s at 48 kHz): a cue and its ramps, in
/// chunks of a fraction of a second each.
const MAX_SPAN: u64 = 60 * 48_000;

/// The 16-bit PCM mix: for each cue, the chunks holding it and its ramps are read, mixed and
/// written back at their sizes.
fn pcm16(
    avi: &AviSound,
    file: &mut std::fs::File,
    cue: &Cue,
    at: &[At],
    ducking: &Ducking,
) -> Result<(Stamped, NewFrames)> {
    let f = avi.format;
    let spec = PcmSpec::new(f.sample_rate, f.channels);
    super::check_layout(&spec)?;
    let frame_bytes = u64::from(f.channels) * 2;
    if u64::from(f.block_align) != frame_bytes {
        return Err(Error::unsupported(
            FORMAT,
            "16-bit PCM whose block align is not 2 bytes a channel",
        ));
    }
    // Each chunk's first sample frame, and the end.
    let mut starts = Vec::with_capacity(avi.chunks.len() + 1);
    let mut frames = 0u64;
    for c in &avi.chunks {
        starts.push(frames);
        frames += (c.end - c.start) / frame_bytes;
    }
    starts.push(frames);
    let rendered = Rendered::new(cue, &spec)?;
    let positions = resolve(at, &spec, frames, rendered.frames(), &Mode::Mix(*ducking))?;
    let ramp = spec.frame_at(ducking.ramp.as_secs_f64());
    let n = avi.chunks.len();
    // Runs of chunks `a..b` holding cues with their ramps, overlapping runs merged.
    let mut runs: Vec<(usize, usize, Vec<u64>)> = Vec::new();
    for &p in &positions {
        let (lo, hi) = (p.saturating_sub(ramp), p + rendered.frames() + ramp);
        let a = starts.iter().take(n).rposition(|&s| s <= lo).unwrap_or(0);
        let b = starts.iter().position(|&s| s >= hi).unwrap_or(n).clamp(a, n);
        match runs.last_mut() {
            Some(last) if a < last.1 => {
                last.1 = last.1.max(b);
                last.2.push(p);
            }
            _ => runs.push((a, b, vec![p])),
        }
    }
    let mut new: NewFrames = Vec::new();
    for (a, b, cues) in runs {
        let first = starts.get(a).copied().unwrap_or(0);
        if starts.get(b).copied().unwrap_or(frames) - first > MAX_SPAN {
            return Err(Error::unsupported(FORMAT, "PCM chunks of more than 60 s under the cue"));
        }
        let mut samples: Vec<i16> = Vec::new();
        let mut bodies = Vec::with_capacity(b - a);
        for i in a..b {
            let body = avi.read_chunk(file, i)?;
            samples.extend(body.chunks_exact(2).map(|s| i16::from_le_bytes([s[0], s[1]])));
            bodies.push(body);
        }
        // Every cue of the run starts at or after its first chunk (`a` was chosen so).
        let cues: Vec<u64> = cues.iter().map(|&q| q.saturating_sub(first)).collect();
        let whole = samples.len() / usize::from(f.channels) * usize::from(f.channels);
        Mixer::new(&rendered, &spec, cues, ducking)?.apply(samples.get_mut(..whole).unwrap_or_default())?;
        let mut mixed = samples.iter();
        for (k, mut body) in bodies.into_iter().enumerate() {
            // Each chunk's whole samples take the mixed values; an odd trailing byte (never
            // in valid 16-bit PCM) stays as it was.
            for pair in body.chunks_exact_mut(2) {
                if let Some(s) = mixed.next() {
                    pair.copy_from_slice(&s.to_le_bytes());
                }
            }
            new.push((a + k, body));
        }
    }
    Ok((
        Stamped {
            format: FORMAT,
            spec,
            cue_frames: rendered.frames(),
            input_frames: frames,
            positions,
        },
        new,
    ))
}
