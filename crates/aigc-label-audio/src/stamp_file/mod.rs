//! Stamping the audible label into encoded audio files: [`stamp_file`].
//!
//! The cue is placed by the container's own rules, and the original audio stays as it was
//! wherever the cue does not touch it:
//! - AIFF / AIFC: PCM, so the cue's samples are spliced into `SSND` directly (no encoder); the
//!   frames of the input are copied byte for byte, `COMM`'s frame count is fixed up, and every
//!   other chunk (the `ID3 ` chunk holding an implicit label among them) is kept.
//! - WAV: through [`crate::cue::stamp_wav_file`].
//! - MP3: LAME frames of the cue between the original frames; the Info/Xing frame corrected;
//!   `--mix` re-encodes only the frames under the cue, anywhere.
//! - FLAC: decoded and re-encoded losslessly, every metadata block kept.
//! - AAC in MP4/M4A: the cue's AAC frames (the track's own AudioSpecificConfig) before or
//!   after the original frames, the edit list skipping the encoder's priming; `--mix`
//!   re-encodes only the frames under the cue, anywhere, and is how the sound track of a video
//!   file is stamped (inserting would put it out of step with the picture).
//! - Ogg Opus: the cue's packets join the same logical stream; `--mix` re-encodes only the
//!   pages under the cue (see `ogg_mix`). Ogg Vorbis: the cue is chained as a link of its own
//!   (a Vorbis stream's packets need its own codebooks); `--mix` re-encodes only the pages under
//!   the cue with libvorbis at the setting that reproduces the stream's codebooks (see
//!   `vorbis_mix`).
//! - The sound of a Matroska/WebM (Opus, Vorbis, AAC), FLV (AAC, MP3) or AVI (MP3, 16-bit PCM) video:
//!   `--mix` only, the packets under the cue re-encoded by the mixer of the codec's own file
//!   format (Ogg Opus, MP4 AAC, MP3) and put in place of the originals, one for one (see
//!   `matroska`, `flv`, `avi`).
//!
//! Encoding and decoding go through ffmpeg (`aigc-label-ffmpeg`: a subprocess found on `PATH`,
//! PCM over pipes); a missing ffmpeg is an [`Error::Unsupported`] naming the package. Its output
//! is parsed and spliced by the container writers here, so the input's frames never pass
//! through it. The cue is rendered for the file's own sample rate and channel count, so no
//! resampling happens to the content.

mod aac;
mod aiff;
mod avi;
mod ffmpeg;
mod flac;
mod flv;
mod matroska;
mod mp3;
mod ogg;
mod ogg_mix;
mod opus_frames;
mod vorbis_bridge;
mod vorbis_mix;

use std::io::{BufWriter, Read, Write};
use std::path::Path;

use aigc_label_core::{Error, Result};

use crate::cue::{At, Cue, Mode, PcmSpec, Rendered, resolve};

/// What [`stamp_file`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stamped {
    /// The container (`aiff`, `wav`, `mp3`, `m4a` for AAC in MP4, ...).
    pub format: &'static str,
    /// The audio's layout.
    pub spec: PcmSpec,
    /// Frames (samples per channel) the cue lasts in the output, once per position.
    pub cue_frames: u64,
    /// Frames of audio in the input.
    pub input_frames: u64,
    /// Where the cues went, as frames of the input (a frame or page boundary near the asked
    /// position for MP3 and Opus).
    pub positions: Vec<u64>,
}

/// Reads the audio file `input`, places `cue` at `at` by `mode` and writes `output` in the same
/// format, keeping every piece of metadata the input had (an implicit label among it). The
/// output is written to a temporary file beside it and renamed into place, so a failure leaves
/// no half-written file.
///
/// # Errors
/// [`Error::Unsupported`] for a format or an encoding this cannot stamp (the message names it);
/// [`Error::Parameter`] for invalid cue settings or positions past the end; malformed input;
/// I/O errors.
pub fn stamp_file(input: &Path, output: &Path, cue: &Cue, at: &[At], mode: &Mode) -> Result<Stamped> {
    stamp_file_with_progress(input, output, cue, at, mode, &mut |_| {})
}

/// Progress of [`stamp_file_with_progress`], in frames (samples per channel) of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StampProgress {
    /// Frames handled so far.
    pub frames: u64,
    /// Frames in the input (0 when not known yet).
    pub total: u64,
}

/// [`stamp_file`], calling `progress` as the input is handled: block by block where the audio
/// is decoded and re-encoded (AIFF, FLAC), once at the end where frames are only copied.
///
/// # Errors
/// As [`stamp_file`].
pub fn stamp_file_with_progress(
    input: &Path,
    output: &Path,
    cue: &Cue,
    at: &[At],
    mode: &Mode,
    progress: &mut dyn FnMut(StampProgress),
) -> Result<Stamped> {
    let stamped = stamp_any(input, output, cue, at, mode, progress)?;
    progress(StampProgress {
        frames: stamped.input_frames,
        total: stamped.input_frames,
    });
    Ok(stamped)
}

fn stamp_any(
    input: &Path,
    output: &Path,
    cue: &Cue,
    at: &[At],
    mode: &Mode,
    progress: &mut dyn FnMut(StampProgress),
) -> Result<Stamped> {
    let mut head = [0u8; 12];
    let got = read_head(input, &mut head)?;
    let head = head.get(..got).unwrap_or_default();
    if head.get(..4) == Some(b"FORM") && matches!(head.get(8..12), Some(b"AIFF" | b"AIFC")) {
        return write_atomically(output, |out| {
            let mut file = std::fs::File::open(input)?;
            aiff::stamp(&mut file, out, cue, at, mode, progress)
        });
    }
    if head.starts_with(b"ID3")
        || head
            .first_chunk::<2>()
            .is_some_and(|h| h[0] == 0xff && h[1] & 0xe0 == 0xe0)
    {
        return write_atomically(output, |out| mp3::stamp(input, out, cue, at, mode));
    }
    if head
        .get(4..8)
        .is_some_and(|t| matches!(t, b"ftyp" | b"moov" | b"mdat" | b"free" | b"wide"))
    {
        return write_atomically(output, |out| aac::stamp(input, out, output, cue, at, mode));
    }
    if head.starts_with(b"OggS") {
        return write_atomically(output, |out| ogg::stamp(input, out, cue, at, mode));
    }
    if head.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        return write_atomically(output, |out| matroska::stamp(input, out, output, cue, at, mode));
    }
    if head.starts_with(b"FLV") {
        return write_atomically(output, |out| flv::stamp(input, out, cue, at, mode));
    }
    if head.starts_with(b"fLaC") {
        return write_atomically(output, |out| {
            flac::stamp(input, out, folder_of(output), cue, at, mode, progress)
        });
    }
    if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"AVI ") {
        return write_atomically(output, |out| avi::stamp(input, out, cue, at, mode));
    }
    if matches!(head.get(..4), Some(b"RIFF" | b"RF64" | b"BW64")) && head.get(8..12) == Some(b"WAVE") {
        let frames = hound::WavReader::open(input)
            .map_err(crate::cue::hound_error)?
            .duration();
        let spec = crate::cue::stamp_wav_file(input, output, cue, at, mode)?;
        let cue_frames = Rendered::new(cue, &spec)?.frames();
        let positions = resolve(at, &spec, u64::from(frames), cue_frames, mode)?;
        return Ok(Stamped {
            format: "wav",
            spec,
            cue_frames,
            input_frames: u64::from(frames),
            positions,
        });
    }
    Err(Error::unsupported(
        "audio",
        "stamp handles WAV, AIFF, MP3, AAC in MP4/M4A, FLAC, Ogg Vorbis and Opus audio, and mixes into the sound of Matroska/WebM, FLV and AVI videos",
    ))
}

/// The ducking of `mode`, a mix: inserting a cue into the sound of a video (`name`, in the
/// container `format`) is refused, as it would put sound and picture out of step.
fn mix_only<'a>(mode: &'a Mode, format: &'static str, name: &str) -> Result<&'a crate::cue::Ducking> {
    match mode {
        Mode::Mix(ducking) => Ok(ducking),
        _ => Err(Error::unsupported(
            format,
            format!(
                "inserting a cue into the sound of {name} would put sound and picture out of step: mix it in (--mix)"
            ),
        )),
    }
}

/// New frames of a mix, each with the index of the packet (block, tag, chunk) it replaces.
pub(super) type NewFrames = Vec<(usize, Vec<u8>)>;

/// Most channels a stamped file may have: the cue is rendered for every one (a crafted header
/// with thousands would make that rendering huge); real files have at most a few dozen.
const MAX_CHANNELS: u16 = 32;

/// Most samples per second over all channels (384 kHz in 8 channels, 48 kHz in 32): bounds the
/// rendered cue to a few megabytes whatever a header declares.
const MAX_SAMPLES_PER_SECOND: u64 = 3_072_000;

/// Checks the layout a header declared before a cue is rendered for it.
pub(crate) fn check_layout(spec: &PcmSpec) -> Result<()> {
    if spec.channels > MAX_CHANNELS {
        return Err(Error::unsupported(
            "audio",
            format!("{} channels (stamp handles up to {MAX_CHANNELS})", spec.channels),
        ));
    }
    if u64::from(spec.sample_rate) * u64::from(spec.channels) > MAX_SAMPLES_PER_SECOND {
        return Err(Error::unsupported(
            "audio",
            format!("{} Hz in {} channels", spec.sample_rate, spec.channels),
        ));
    }
    spec.check::<f32>()
}

/// Runs the container readers of [`stamp_file`] on `data` without ffmpeg (those of the sound
/// tracks of Matroska, FLV and AVI videos among them, each rewriting a block): the MP3 frame walk,
/// the Ogg page walk (and the Vorbis modes and block sizes a mix reads), the FLAC metadata
/// blocks, the MP4 sound track (read, and rewritten with a stand-in frame), and a whole AIFF
/// stamp into memory. For the
/// fuzz target `audio_stamp`; reading never panics and stays within the limits.
#[doc(hidden)]
pub fn fuzz_readers(data: &[u8]) {
    let limits = aigc_label_core::Limits::default();
    let mut cursor = std::io::Cursor::new(data);
    if let Ok(mut src) = aigc_label_core::io::Source::new(&mut cursor, "audio") {
        let _ = mp3::fuzz_walk(&mut src);
        let _ = ogg::fuzz_pages(&mut src, &limits);
        let _ = vorbis_mix::fuzz(&mut src, &limits);
        let _ = flac::fuzz_blocks(&mut src);
    }
    aac::fuzz(data);
    aigc_label_video::matroska::track::fuzz(data);
    let _ = vorbis_bridge::xiph_headers(data);
    aigc_label_video::flv::track::fuzz(data);
    aigc_label_video::avi::track::fuzz(data);
    let mut cursor = std::io::Cursor::new(data);
    let _ = aiff::stamp(
        &mut cursor,
        &mut std::io::sink(),
        &Cue::default(),
        &[At::Start, At::Percent(5000), At::End],
        &Mode::Insert,
        &mut |_| {},
    );
}

/// Reads up to `head.len()` bytes from the start of `path`; returns how many.
fn read_head(path: &Path, head: &mut [u8]) -> Result<usize> {
    let mut file = std::fs::File::open(path)?;
    let mut got = 0;
    while got < head.len() {
        let n = file.read(&mut head[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

/// The folder `path` is in (`.` for a bare file name).
fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Writes `output` through `write` into a temporary file in the same folder, renamed into place
/// when `write` succeeded.
fn write_atomically<T>(output: &Path, write: impl FnOnce(&mut dyn Write) -> Result<T>) -> Result<T> {
    let temp = tempfile::NamedTempFile::new_in(folder_of(output))?;
    let mut writer = BufWriter::new(temp.as_file());
    let value = write(&mut writer)?;
    writer.flush()?;
    drop(writer);
    temp.persist(output).map_err(|e| e.error)?;
    Ok(value)
}
