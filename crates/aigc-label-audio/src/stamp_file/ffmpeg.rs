//! The encoders and decoders this module borrows from ffmpeg (through `aigc-label-ffmpeg`):
//! PCM in over a pipe, the codec's bytes out, and the reverse.
//!
//! ffmpeg does the codec work only: its output is parsed and spliced by our own container
//! writers, so the frames of the input never pass through it.

use std::io::{Read, Write};
use std::path::Path;

use aigc_label_core::{Error, Result};
use aigc_label_ffmpeg::Tools;

use crate::cue::{PcmSpec, Rendered};

/// Maps an ffmpeg run's failure to the crate's error: a missing program is
/// [`Error::Unsupported`] naming the package to install, anything else an I/O error carrying
/// the end of ffmpeg's messages.
pub(super) fn error(e: aigc_label_ffmpeg::Error) -> Error {
    match e {
        e @ aigc_label_ffmpeg::Error::Missing { .. } => {
            Error::unsupported("ffmpeg", format!("stamping encoded audio needs ffmpeg: {e}"))
        }
        e => Error::Io(std::io::Error::other(e.to_string())),
    }
}

/// Finds ffmpeg and ffprobe.
pub(super) fn tools() -> Result<Tools> {
    Tools::find().map_err(error)
}

/// Encodes `cue` (32-bit float PCM in its own layout) with the codec options `codec` into the
/// container `format`, and returns what ffmpeg wrote.
pub(super) fn encode_cue(tools: &Tools, cue: &Rendered, codec: &[&str], format: &str) -> Result<Vec<u8>> {
    encode_pcm(tools, cue.as_f32(), &cue.spec(), codec, format)
}

/// Encodes interleaved 32-bit float PCM of `spec` with the codec options `codec` into the
/// container `format`, and returns what ffmpeg wrote.
pub(super) fn encode_pcm(
    tools: &Tools,
    samples: &[f32],
    spec: &PcmSpec,
    codec: &[&str],
    format: &str,
) -> Result<Vec<u8>> {
    let spec = *spec;
    let pcm: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut job = tools.ffmpeg(pcm_input_args("f32le", &spec));
    job.args(["-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact"])
        .args(codec)
        .args(["-f", format, "pipe:1"])
        .pipe_stdin()
        .pipe_stdout();
    let mut running = job.spawn().map_err(error)?;
    let stdin = running.take_stdin();
    let stdout = running.take_stdout();
    let mut out = Vec::new();
    let fed = std::thread::scope(|s| {
        let feeder = s.spawn(move || -> std::io::Result<()> {
            if let Some(mut stdin) = stdin {
                stdin.write_all(&pcm)?;
            }
            Ok(())
        });
        if let Some(mut stdout) = stdout {
            stdout.read_to_end(&mut out)?;
        }
        feeder
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the pipe writer panicked")))
    });
    let waited = running.wait().map_err(error);
    // A failed encoder closes its pipe first: its own message says why.
    waited?;
    fed?;
    Ok(out)
}

/// ffmpeg's arguments for raw PCM of `spec` in sample format `fmt` on stdin.
pub(super) fn pcm_input_args(fmt: &str, spec: &PcmSpec) -> Vec<String> {
    vec![
        "-f".into(),
        fmt.into(),
        "-ar".into(),
        spec.sample_rate.to_string(),
        "-ac".into(),
        spec.channels.to_string(),
        "-i".into(),
        "pipe:0".into(),
    ]
}

/// Decodes the first audio stream of `input` to 32-bit integer PCM of `spec`'s layout, passes
/// each block through `process` (samples in, samples to encode appended to the output vector),
/// then `finish`, and encodes the result with `codec` into `output`.
///
/// The decoder writes into one pipe and the encoder reads from another, so neither waits on the
/// other: this thread moves the blocks between them.
pub(super) fn transcode(
    tools: &Tools,
    input: &Path,
    spec: &PcmSpec,
    codec: &[&str],
    output: &Path,
    mut process: impl FnMut(&mut Vec<i32>, &mut Vec<i32>) -> Result<()>,
    finish: impl FnOnce(&mut Vec<i32>),
) -> Result<()> {
    let mut decoder = tools.ffmpeg(["-i".as_ref(), input.as_os_str()]);
    decoder
        .args(["-map", "0:a:0", "-f", "s32le", "-c:a", "pcm_s32le", "pipe:1"])
        .pipe_stdout();
    let mut encoder = tools.ffmpeg(pcm_input_args("s32le", spec));
    encoder
        .args(["-fflags", "+bitexact", "-flags:a", "+bitexact"])
        .args(codec)
        .arg(output)
        .pipe_stdin();
    let mut decoding = decoder.spawn().map_err(error)?;
    let mut encoding = match encoder.spawn().map_err(error) {
        Ok(e) => e,
        Err(e) => {
            decoding.kill();
            return Err(e);
        }
    };
    let moved = (|| -> Result<()> {
        let mut from = decoding
            .take_stdout()
            .ok_or_else(|| Error::Io(std::io::Error::other("ffmpeg decoder without stdout")))?;
        let mut to = encoding
            .take_stdin()
            .ok_or_else(|| Error::Io(std::io::Error::other("ffmpeg encoder without stdin")))?;
        let frame_bytes = 4 * usize::from(spec.channels);
        let mut raw = vec![0u8; BLOCK_FRAMES * frame_bytes];
        let mut filled = 0;
        let mut samples = Vec::new();
        let mut out = Vec::new();
        let mut bytes = Vec::new();
        let mut send = |to: &mut dyn Write, out: &mut Vec<i32>| -> Result<()> {
            bytes.clear();
            bytes.extend(out.iter().flat_map(|s| s.to_le_bytes()));
            to.write_all(&bytes)?;
            out.clear();
            Ok(())
        };
        loop {
            let n = from.read(&mut raw[filled..])?;
            filled += n;
            if n > 0 && filled < raw.len() {
                continue;
            }
            let whole = filled / frame_bytes * frame_bytes;
            samples.clear();
            samples.extend(
                raw[..whole]
                    .chunks_exact(4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
            if !samples.is_empty() {
                process(&mut samples, &mut out)?;
                send(&mut to, &mut out)?;
            }
            raw.copy_within(whole..filled, 0);
            filled -= whole;
            if n == 0 {
                break;
            }
        }
        finish(&mut out);
        send(&mut to, &mut out)?;
        Ok(())
    })();
    let decoded = decoding.wait().map_err(error);
    let encoded = encoding.wait().map_err(error);
    decoded?;
    encoded?;
    moved
}

/// The first `frames` frames of the first audio stream of `input` as ffmpeg decodes them
/// (interleaved 32-bit float, `channels` per frame; fewer when the stream is shorter). The
/// decoder is stopped once they are read.
pub(super) fn decode_head(tools: &Tools, input: &Path, channels: u16, frames: u64) -> Result<Vec<f32>> {
    decode_head_with(tools, &[], input, channels, frames)
}

/// [`decode_head`] with input options before `-i` (`-ignore_editlist 1` for every decoded
/// sample of an MP4 track, encoder priming included).
pub(super) fn decode_head_with(
    tools: &Tools,
    input_options: &[&str],
    input: &Path,
    channels: u16,
    frames: u64,
) -> Result<Vec<f32>> {
    decode_range_with(tools, input_options, input, channels, 0..frames)
}

/// Frames `range` of the first audio stream of `input` as ffmpeg decodes them (interleaved
/// 32-bit float, `channels` per frame; fewer when the stream ends first). The frames before
/// the range are read and dropped as they come, so only the range is held in memory; the
/// decoder is stopped once it is read.
pub(super) fn decode_range(
    tools: &Tools,
    input: &Path,
    channels: u16,
    range: std::ops::Range<u64>,
) -> Result<Vec<f32>> {
    decode_range_with(tools, &[], input, channels, range)
}

/// `frames` frames of the first audio stream of `input` from frame `from` on, through
/// [`decode_range`]: silence stands for frames before the start (`from` may be negative) and
/// past the end.
pub(super) fn decode_window(tools: &Tools, input: &Path, channels: u16, from: i64, frames: u64) -> Result<Vec<f32>> {
    let ch = usize::from(channels);
    let start = u64::try_from(from).unwrap_or(0);
    let end = u64::try_from(from.saturating_add_unsigned(frames)).unwrap_or(0);
    let got = decode_range(tools, input, channels, start..end)?;
    let mut out = vec![0f32; usize::try_from(frames).unwrap_or(usize::MAX).saturating_mul(ch)];
    // Frames before the stream's start, silent.
    let silent = if from < 0 { from.unsigned_abs() } else { 0 };
    let silent = usize::try_from(silent).unwrap_or(usize::MAX).saturating_mul(ch);
    if let Some(dst) = out.get_mut(silent..) {
        let n = dst.len().min(got.len());
        if let (Some(d), Some(g)) = (dst.get_mut(..n), got.get(..n)) {
            d.copy_from_slice(g);
        }
    }
    Ok(out)
}

/// [`decode_range`] with input options before `-i`.
fn decode_range_with(
    tools: &Tools,
    input_options: &[&str],
    input: &Path,
    channels: u16,
    range: std::ops::Range<u64>,
) -> Result<Vec<f32>> {
    let mut decoder = tools.ffmpeg(input_options);
    decoder.args(["-i".as_ref(), input.as_os_str()]);
    decoder
        .args(["-map", "0:a:0", "-f", "f32le", "-c:a", "pcm_f32le", "pipe:1"])
        .pipe_stdout();
    let mut running = decoder.spawn().map_err(error)?;
    let frame_bytes = u64::from(channels).saturating_mul(4);
    let skip = range.start.saturating_mul(frame_bytes);
    let want = range.end.saturating_sub(range.start).saturating_mul(frame_bytes);
    let mut bytes = Vec::new();
    let read = match running.take_stdout() {
        Some(mut stdout) => std::io::copy(&mut (&mut stdout).take(skip), &mut std::io::sink())
            .and_then(|_| stdout.take(want).read_to_end(&mut bytes))
            .map_err(Error::Io),
        None => Ok(0),
    };
    if (bytes.len() as u64) < want {
        running.wait().map_err(error)?;
    } else {
        running.kill();
    }
    read?;
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// Frames moved between the decoder and the encoder at a time.
const BLOCK_FRAMES: usize = 4096;
