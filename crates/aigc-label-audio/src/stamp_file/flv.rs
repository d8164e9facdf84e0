//! The sound track of an FLV file (`--mix` only): the codec's mixer re-encodes the frames under
//! the cue, and `aigc_label_video::flv::track` puts each new frame into the tag of the old one,
//! which keeps its timestamp and header bytes. Every other tag keeps its bytes, and timing does
//! not change.
//!
//! Handled: AAC-LC (through the mixer of AAC in MP4, `aac`) and MP3 (through the MP3 file
//! mixer, `mp3`, one frame per tag). Inserting is refused (it would put sound and picture out
//! of step).

use std::io::Write;
use std::path::Path;

use aigc_label_core::{Error, Limits, Result};
use aigc_label_video::flv::track::{FlvAudio, SOUND_AAC};

use super::aac::{FRAME, Sound, asc_config, mix_spans};
use super::{NewFrames, Stamped, ffmpeg};
use crate::cue::{At, Cue, Mode, Rendered, resolve};

const FORMAT: &str = "flv";

/// The sound format (upper four bits of an audio tag's first byte) of MP3, and of MP3 at 8 kHz.
const SOUND_MP3: [u8; 2] = [2, 14];

/// Stamps the sound of the FLV file at `path` into `output`.
pub(super) fn stamp(path: &Path, output: &mut dyn Write, cue: &Cue, at: &[At], mode: &Mode) -> Result<Stamped> {
    let limits = Limits::default();
    let flv = FlvAudio::open(&mut std::fs::File::open(path)?, &limits)?;
    let ducking = super::mix_only(mode, FORMAT, "an FLV file")?;
    let sound = flv
        .tags
        .first()
        .map(|t| t.sound >> 4)
        .ok_or_else(|| Error::unsupported(FORMAT, "an FLV file without sound"))?;
    if flv.tags.iter().any(|t| t.sound >> 4 != sound) {
        return Err(Error::unsupported(FORMAT, "an FLV file whose sound changes codec"));
    }
    let mut file = std::fs::File::open(path)?;
    let (stamped, new) = if sound == SOUND_AAC {
        aac(path, &flv, &mut file, cue, at, ducking)?
    } else if SOUND_MP3.contains(&sound) {
        let payloads: Vec<_> = flv.tags.iter().map(|t| t.payload.clone()).collect();
        let (mixed, new) = super::mp3::mix_frames(path, &mut file, &payloads, cue, at, ducking)?;
        (
            Stamped {
                format: FORMAT,
                ..mixed
            },
            new,
        )
    } else {
        return Err(Error::unsupported(
            FORMAT,
            format!(
                "mixing a cue into FLV sound of format {sound} (handled: AAC, MP3); convert the sound \
                 (ffmpeg -c:v copy -c:a aac) first"
            ),
        ));
    };
    let replace: Vec<(usize, &[u8])> = new.iter().map(|(i, b)| (*i, b.as_slice())).collect();
    flv.write(&mut file, &replace, &limits, output)?;
    Ok(stamped)
}

/// The AAC mix: the track's AudioSpecificConfig from its sequence header tag; FLV has no edit
/// list, so the encoder's priming frame plays first and the content is taken to start after
/// it (as in Matroska).
fn aac(
    path: &Path,
    flv: &FlvAudio,
    file: &mut std::fs::File,
    cue: &Cue,
    at: &[At],
    ducking: &crate::cue::Ducking,
) -> Result<(Stamped, NewFrames)> {
    let header = flv
        .tags
        .iter()
        .position(|t| t.aac_type == Some(0))
        .ok_or_else(|| Error::unsupported(FORMAT, "AAC sound without its sequence header"))?;
    let config = asc_config(&flv.read_payload(file, header)?)?;
    // Tag indexes of the frames, in order.
    let frames: Vec<usize> = (0..flv.tags.len())
        .filter(|&i| flv.tags.get(i).is_some_and(|t| t.aac_type == Some(1)))
        .collect();
    if frames.first().is_some_and(|&f| f < header) {
        return Err(Error::unsupported(FORMAT, "AAC frames before the sequence header"));
    }
    let bytes: u64 = frames
        .iter()
        .filter_map(|&i| flv.tags.get(i))
        .map(|t| t.payload.end - t.payload.start)
        .sum();
    let sound = Sound::new(config, frames.len() as u64, bytes, FRAME)?;
    let content = (frames.len() as u64 * FRAME).saturating_sub(sound.priming);
    let rendered = Rendered::new(cue, &sound.spec)?;
    let positions = resolve(at, &sound.spec, content, rendered.frames(), &Mode::Mix(*ducking))?;
    let tools = ffmpeg::tools()?;
    let spans = mix_spans(&sound, path, &[], &rendered, &positions, ducking, &tools)?;
    let mut new = Vec::new();
    for (from, coded) in spans {
        for (k, frame) in coded.into_iter().enumerate() {
            let tag = frames
                .get(from + k)
                .ok_or_else(|| Error::malformed(FORMAT, 0, "a re-encoded frame past the last"))?;
            new.push((*tag, frame));
        }
    }
    Ok((
        Stamped {
            format: FORMAT,
            spec: sound.spec,
            cue_frames: rendered.frames(),
            input_frames: content,
            positions,
        },
        new,
    ))
}
