//! The encoders and decoders this module borrows from ffmpeg (through `aigc-label-ffmpeg`):
//! PCM in over a pipe, the codec's bytes out, and the reverse.
//!
//! ffmpeg does the codec work only: its output is parsed and spliced by our own container
//! writers, so the frames of the input never pass through it.

use std::io::{Read, Write};

use aigc_label_core::{Error, Result};
use aigc_label_ffmpeg::Tools;

use crate::cue::{PcmSpec, Rendered};

/// Maps an ffmpeg run's failure to the crate's error: a missing program is
/// [`Error::Unsupported`] naming the package to install, anything else an I/O error carrying
/// the end of ffmpeg's messages.
pub(super) fn error(e: aigc_label_ffmpeg::Error) -> Error {
    match e {
        e @ aigc_label_ffmpeg::Error::Missing { .. } => {
            Error::Unsupported(format!("stamping encoded audio needs ffmpeg: {e}").into())
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
    let spec = cue.spec();
    let pcm: Vec<u8> = cue.as_f32().iter().flat_map(|s| s.to_le_bytes()).collect();
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
