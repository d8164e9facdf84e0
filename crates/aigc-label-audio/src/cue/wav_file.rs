//! Stamping a cue into a WAV file through `hound`, streamed chunk by chunk.
//!
//! `hound` decodes and encodes the PCM (8- to 32-bit integer, 32-bit float, any channel count);
//! it writes only the `fmt ` and `data` chunks, so metadata chunks of the input (`LIST`, `bext`,
//! an implicit `AIGC` label) are not carried over. Stamp first, then embed the implicit label
//! with [`crate::Wav`].

use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::Path;

use aigc_label_core::Result;

use super::place::{Inserter, Mixer, resolve};
use super::{At, Cue, Mode, PcmSpec, Rendered, Sample, hound_error};

/// Frames read, stamped and written at a time.
const CHUNK_FRAMES: usize = 4096;

/// Reads a WAV stream, places `cue` at `at` by `mode`, and writes the result as WAV with the
/// same sample format. Returns the layout of the audio.
///
/// # Errors
/// [`aigc_label_core::Error::Malformed`] / [`aigc_label_core::Error::Unsupported`] for WAV data
/// `hound` cannot read; [`aigc_label_core::Error::Parameter`] for invalid cue settings or
/// positions past the end; I/O errors.
pub fn stamp_wav<R: Read, W: Write + Seek>(input: R, output: W, cue: &Cue, at: &[At], mode: &Mode) -> Result<PcmSpec> {
    let mut reader = hound::WavReader::new(input).map_err(hound_error)?;
    let ws = reader.spec();
    let frames = u64::from(reader.duration());
    let mut writer = hound::WavWriter::new(output, ws).map_err(hound_error)?;
    let spec = match ws.sample_format {
        hound::SampleFormat::Float => {
            let spec = PcmSpec::new(ws.sample_rate, ws.channels);
            run::<f32, _, _>(&mut reader, &mut writer, &spec, frames, cue, at, mode)?;
            spec
        }
        hound::SampleFormat::Int => {
            let spec = PcmSpec::new(ws.sample_rate, ws.channels).with_bits(ws.bits_per_sample);
            run::<i32, _, _>(&mut reader, &mut writer, &spec, frames, cue, at, mode)?;
            spec
        }
    };
    writer.finalize().map_err(hound_error)?;
    Ok(spec)
}

/// As [`stamp_wav`], from one file to another. The output is written to a temporary file in the
/// same folder and renamed into place, so a failure never leaves a half-written file.
///
/// # Errors
/// As [`stamp_wav`].
pub fn stamp_wav_file(input: &Path, output: &Path, cue: &Cue, at: &[At], mode: &Mode) -> Result<PcmSpec> {
    let reader = BufReader::new(std::fs::File::open(input)?);
    let dir = output
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = tempfile::NamedTempFile::new_in(dir)?;
    let spec = stamp_wav(reader, BufWriter::new(temp.as_file()), cue, at, mode)?;
    temp.persist(output).map_err(|e| e.error)?;
    Ok(spec)
}

fn run<S, R, W>(
    reader: &mut hound::WavReader<R>,
    writer: &mut hound::WavWriter<W>,
    spec: &PcmSpec,
    frames: u64,
    cue: &Cue,
    at: &[At],
    mode: &Mode,
) -> Result<()>
where
    S: Sample + hound::Sample,
    R: Read,
    W: Write + Seek,
{
    let rendered = Rendered::new(cue, spec)?;
    let positions = resolve(at, spec, frames, rendered.frames(), mode)?;
    let chunk_len = CHUNK_FRAMES * usize::from(spec.channels);
    let mut samples = reader.samples::<S>();
    let mut chunk: Vec<S> = Vec::with_capacity(chunk_len);
    let mut out: Vec<S> = Vec::with_capacity(chunk_len);
    let write = |writer: &mut hound::WavWriter<W>, samples: &[S]| -> Result<()> {
        for &s in samples {
            writer.write_sample(s).map_err(hound_error)?;
        }
        Ok(())
    };
    match mode {
        Mode::Insert => {
            let mut inserter = Inserter::new(&rendered, spec, positions)?;
            while fill(&mut samples, &mut chunk, chunk_len)? {
                out.clear();
                inserter.push(&chunk, &mut out)?;
                write(writer, &out)?;
            }
            out.clear();
            inserter.finish(&mut out);
            write(writer, &out)?;
        }
        Mode::Mix(ducking) => {
            let mut mixer = Mixer::new(&rendered, spec, positions, ducking)?;
            while fill(&mut samples, &mut chunk, chunk_len)? {
                mixer.apply(&mut chunk)?;
                write(writer, &chunk)?;
            }
        }
    }
    Ok(())
}

/// Refills `chunk` with up to `len` samples; false when none were left.
fn fill<S: hound::Sample, I: Iterator<Item = hound::Result<S>>>(
    samples: &mut I,
    chunk: &mut Vec<S>,
    len: usize,
) -> Result<bool> {
    chunk.clear();
    for s in samples.by_ref().take(len) {
        chunk.push(s.map_err(hound_error)?);
    }
    Ok(!chunk.is_empty())
}
