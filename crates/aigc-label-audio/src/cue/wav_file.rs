//! Stamping a cue into a WAV file: `hound` decodes and re-encodes the PCM (8- to 32-bit integer,
//! 32-bit float, any channel count), streamed in blocks, and the result is spliced back into the
//! input's own chunk layout.
//!
//! `hound` writes only `fmt ` and `data`, so its output alone would lose every other chunk
//! (`LIST`, `bext`, `id3 `, an implicit `AIGC` label, unknown ones). Instead, the samples it
//! writes go to a temporary file, and the output is the input with its `data` chunk's body
//! replaced by them: every other chunk keeps its bytes and its place; only the sizes change (the
//! RIFF size, the `data` size, and a `fact` chunk's sample count when the cue was inserted).

use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use aigc_label_core::io::{CountingWriter, ReadSeek, Source};
use aigc_label_core::{Error, Limits, Result};

use super::place::{Inserter, Mixer, resolve};
use super::{At, Cue, Mode, PcmSpec, Rendered, Sample, hound_error};
use crate::riff::{self, Chunk, Piece, Plan, Walker};

/// Frames read, stamped and written at a time.
const CHUNK_FRAMES: usize = 4096;

/// Reads a WAV stream, places `cue` at `at` by `mode`, and writes the result as WAV with the
/// same sample format and every chunk of the input (`LIST`, `bext`, `id3 `, `AIGC`, unknown
/// ones) kept byte for byte in its place; only the samples in `data` and the sizes change.
/// Returns the layout of the audio.
///
/// An implicit label the input holds is kept as it is; a content binding in it covered the old
/// samples, so it no longer matches: stamp first, then embed the label (or embed again).
///
/// # Errors
/// [`aigc_label_core::Error::Malformed`] / [`aigc_label_core::Error::Unsupported`] for WAV data
/// `hound` cannot read (RF64 among them); [`aigc_label_core::Error::Parameter`] for invalid cue
/// settings or positions past the end; I/O errors.
pub fn stamp_wav<R: Read + Seek, W: Write>(input: R, output: W, cue: &Cue, at: &[At], mode: &Mode) -> Result<PcmSpec> {
    stamp_via(input, output, tempfile::tempfile()?, cue, at, mode)
}

/// [`stamp_wav`] with `samples`, an empty temporary file, holding hound's output until the
/// splice.
fn stamp_via<R: Read + Seek, W: Write>(
    mut input: R,
    mut output: W,
    mut samples: std::fs::File,
    cue: &Cue,
    at: &[At],
    mode: &Mode,
) -> Result<PcmSpec> {
    input.seek(SeekFrom::Start(0))?;
    let spec = {
        let mut buffered = BufWriter::new(&mut samples);
        let spec = stamp_samples(BufReader::new(&mut input), &mut buffered, cue, at, mode)?;
        buffered.flush()?;
        spec
    };
    splice(&mut input, &mut samples, &mut output)?;
    Ok(spec)
}

/// Decodes `input` with `hound`, places the cue, and writes a plain WAV (`fmt ` and `data`).
fn stamp_samples<R: Read, W: Write + Seek>(input: R, output: W, cue: &Cue, at: &[At], mode: &Mode) -> Result<PcmSpec> {
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

/// Writes `input` with the body of its first `data` chunk replaced by the `data` body of
/// `stamped` (hound's output, same sample format). The input's `fmt ` is kept when hound laid
/// the samples out the same way (same block align), else hound's is used; a `fact` chunk gets
/// the new sample count when the number of frames changed. Every other chunk is copied.
fn splice(input: &mut dyn ReadSeek, stamped: &mut dyn ReadSeek, output: &mut dyn Write) -> Result<()> {
    let limits = Limits::default();
    let mut new = Source::new(stamped, "wav")?;
    let (_, new_chunks, _) = chunks(&mut new, &limits)?;
    let stamped_chunk = |id: &[u8; 4]| {
        new_chunks
            .iter()
            .find(|c| &c.id == id)
            .cloned()
            .ok_or_else(|| Error::malformed("wav", 0, "hound wrote no fmt or data chunk"))
    };
    let (new_fmt, new_data) = (stamped_chunk(b"fmt ")?, stamped_chunk(b"data")?);
    let new_fmt = stored(&mut new, &new_fmt, &limits)?;

    let mut src = Source::new(input, "wav")?;
    let (header, old, end) = chunks(&mut src, &limits)?;
    let old_data = old.iter().find(|c| &c.id == b"data").map(|c| c.size);
    let block_align = |fmt: &[u8]| fmt.get(20..22).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let mut plan = Plan::default();
    let mut data_done = false;
    for chunk in &old {
        match &chunk.id {
            b"fmt " => {
                let fmt = stored(&mut src, chunk, &limits)?;
                if block_align(&fmt) == block_align(&new_fmt) {
                    plan.copy(chunk);
                } else {
                    plan.rebuilt([Piece::Bytes(new_fmt.clone())]);
                }
            }
            b"data" if !data_done => {
                data_done = true;
                let mut head = b"data".to_vec();
                let size = u32::try_from(new_data.size)
                    .map_err(|_| Error::capacity("wav", "the stamped WAV data would pass 4 GiB"))?;
                head.extend_from_slice(&size.to_le_bytes());
                let pad = Piece::Bytes(if size % 2 == 1 { vec![0] } else { Vec::new() });
                let body = Piece::Other {
                    offset: new_data.body_start(),
                    len: new_data.size,
                };
                plan.rebuilt([Piece::Bytes(head), body, pad]);
            }
            b"fact" if chunk.size >= 4 && old_data != Some(new_data.size) => {
                let mut fact = stored(&mut src, chunk, &limits)?;
                let frames = block_align(&new_fmt)
                    .filter(|&b| b > 0)
                    .and_then(|b| u32::try_from(new_data.size / u64::from(b)).ok());
                if let (Some(frames), Some(field)) = (frames, fact.get_mut(8..12)) {
                    field.copy_from_slice(&frames.to_le_bytes());
                }
                plan.keep(chunk, Piece::Bytes(fact));
            }
            _ => plan.copy(chunk),
        }
    }
    plan.finish(&header, end);
    let mut out = CountingWriter::new(output);
    plan.emit(&mut src, Some(&mut new), &mut out, &header, &[])?;
    Ok(())
}

/// The header of the WAV in `src`, its top-level chunks (at most [`Limits::max_structures`], the
/// walker's budget), and where the walk stopped.
fn chunks(src: &mut Source, limits: &Limits) -> Result<(riff::Header, Vec<Chunk>, u64)> {
    let header = riff::read_header(src, limits)?;
    let mut walker = Walker::new(&header, limits);
    let mut out = Vec::new();
    while let Some(chunk) = walker.next(src, &header, limits)? {
        out.push(chunk);
    }
    Ok((header, out, walker.pos()))
}

/// The stored bytes of `chunk` (header, body, pad byte), read into memory within
/// [`Limits::max_metadata_bytes`].
fn stored(src: &mut Source, chunk: &Chunk, limits: &Limits) -> Result<Vec<u8>> {
    src.seek_to(chunk.start)?;
    src.read_vec(chunk.stored_len(), "chunk", limits)
}

/// As [`stamp_wav`], from one file to another. The output is written to a temporary file in the
/// same folder and renamed into place, so a failure never leaves a half-written file; the
/// re-encoded samples wait in another temporary file there too (not in the system's temporary
/// folder, which may be too small for them).
///
/// # Errors
/// As [`stamp_wav`].
pub fn stamp_wav_file(input: &Path, output: &Path, cue: &Cue, at: &[At], mode: &Mode) -> Result<PcmSpec> {
    let reader = std::fs::File::open(input)?;
    let dir = output
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = tempfile::NamedTempFile::new_in(dir)?;
    let mut writer = BufWriter::new(temp.as_file());
    let spec = stamp_via(reader, &mut writer, tempfile::tempfile_in(dir)?, cue, at, mode)?;
    writer.flush()?;
    drop(writer);
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
