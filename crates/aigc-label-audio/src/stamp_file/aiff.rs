//! AIFF / AIFC: the cue's samples go straight into `SSND`, in the file's own sample encoding.
//!
//! The sound data is read and written a block of frames at a time. Inserting copies every
//! input frame unchanged and adds the cue's frames at each position; mixing changes only the
//! frames under the cue and its ducking ramps. `COMM`'s frame count is updated; every other
//! chunk, `SSND`'s offset and block size fields and its leading offset bytes are kept.

use std::io::{BufWriter, Seek, Write};

use aigc_label_core::io::{CountingWriter, ReadSeek, Source};
use aigc_label_core::{Error, Limits, Result};

use super::{StampProgress, Stamped};
use crate::cue::{At, Cue, Inserter, Mixer, Mode, PcmSpec, Rendered, Sample, resolve};
use crate::riff::{self, Chunk, Flavour, Piece, Plan, Walker};

const FORMAT: &str = "aiff";

/// Frames decoded, stamped and encoded at a time.
const BLOCK_FRAMES: u64 = 4096;

/// How the sound data stores one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// Big-endian two's complement integer of this many bytes (AIFF, AIFC `NONE` / `twos`).
    BigInt(u8),
    /// Little-endian two's complement integer of this many bytes (AIFC `sowt`).
    LittleInt(u8),
    /// Big-endian IEEE 754 single precision (AIFC `fl32` / `FL32`).
    Float32,
}

impl Encoding {
    fn bytes(self) -> usize {
        match self {
            Encoding::BigInt(n) | Encoding::LittleInt(n) => usize::from(n),
            Encoding::Float32 => 4,
        }
    }
}

/// What `COMM` says.
#[derive(Debug, Clone, Copy)]
struct Comm {
    channels: u16,
    frames: u32,
    rate: u32,
    encoding: Encoding,
}

/// Reads `COMM`'s body (18 bytes for AIFF, at least 22 for AIFC).
fn parse_comm(body: &[u8], aifc: bool, offset: u64) -> Result<Comm> {
    let bad = |what: &'static str| Error::malformed(FORMAT, offset, what);
    let field = |r: std::ops::Range<usize>| body.get(r).ok_or_else(|| bad("COMM chunk too short"));
    let channels = u16::from_be_bytes(field(0..2)?.try_into().map_err(|_| bad("COMM"))?);
    let frames = u32::from_be_bytes(field(2..6)?.try_into().map_err(|_| bad("COMM"))?);
    let bits = u16::from_be_bytes(field(6..8)?.try_into().map_err(|_| bad("COMM"))?);
    let rate = extended_to_rate(field(8..18)?).ok_or_else(|| bad("COMM sample rate"))?;
    let int_bytes = u8::try_from(bits.div_ceil(8))
        .ok()
        .filter(|b| (1..=4).contains(b))
        .ok_or_else(|| Error::unsupported("aiff", format!("AIFF with {bits}-bit samples")))?;
    let encoding = if aifc {
        match field(18..22)? {
            b"NONE" | b"twos" => Encoding::BigInt(int_bytes),
            b"sowt" => Encoding::LittleInt(int_bytes),
            b"fl32" | b"FL32" => Encoding::Float32,
            other => {
                return Err(Error::unsupported(
                    "aiff",
                    format!("AIFC compression {:?}", String::from_utf8_lossy(other)),
                ));
            }
        }
    } else {
        Encoding::BigInt(int_bytes)
    };
    if channels == 0 {
        return Err(bad("COMM with zero channels"));
    }
    Ok(Comm {
        channels,
        frames,
        rate,
        encoding,
    })
}

/// The sample rate from an 80-bit IEEE 754 extended number, rounded to whole hertz; `None`
/// outside 1 Hz .. 4 GHz.
fn extended_to_rate(b: &[u8]) -> Option<u32> {
    let exp = i32::from(u16::from_be_bytes([*b.first()?, *b.get(1)?]) & 0x7fff);
    let mantissa = u64::from_be_bytes(b.get(2..10)?.try_into().ok()?);
    if b.first()? & 0x80 != 0 || mantissa == 0 {
        return None;
    }
    let value = mantissa as f64 * 2f64.powi(exp - 16383 - 63);
    (1.0..=f64::from(u32::MAX))
        .contains(&value)
        .then(|| value.round() as u32)
}

/// Stamps the AIFF / AIFC file in `input` into `output`.
pub(super) fn stamp(
    input: &mut dyn ReadSeek,
    output: &mut dyn Write,
    cue: &Cue,
    at: &[At],
    mode: &Mode,
    progress: &mut dyn FnMut(StampProgress),
) -> Result<Stamped> {
    let limits = Limits::default();
    let mut src = Source::new(input, FORMAT)?;
    let header = riff::read_header(&mut src, &limits)?;
    if header.flavour != Flavour::Iff || !matches!(&header.form, b"AIFF" | b"AIFC") {
        return Err(Error::malformed(FORMAT, 0, "not an IFF FORM of type AIFF or AIFC"));
    }
    let mut walker = Walker::new(&header, &limits);
    let mut chunks = Vec::new();
    while let Some(chunk) = walker.next(&mut src, &header, &limits)? {
        chunks.push(chunk);
    }
    let find = |id: &[u8; 4]| {
        chunks
            .iter()
            .find(|c| &c.id == id)
            .cloned()
            .ok_or_else(|| Error::malformed(FORMAT, 0, format!("no {} chunk", String::from_utf8_lossy(id))))
    };
    let (comm_chunk, ssnd) = (find(b"COMM")?, find(b"SSND")?);
    let comm_bytes = stored(&mut src, &comm_chunk, &limits)?;
    let comm = parse_comm(
        comm_bytes.get(8..).unwrap_or_default(),
        &header.form == b"AIFC",
        comm_chunk.start,
    )?;
    let frame_bytes = comm.encoding.bytes() * usize::from(comm.channels);
    src.seek_to(ssnd.body_start())?;
    let ssnd_head: [u8; 8] = src.read_array("SSND offset and block size")?;
    let data_offset = u64::from(u32::from_be_bytes([
        ssnd_head[0],
        ssnd_head[1],
        ssnd_head[2],
        ssnd_head[3],
    ]));
    let data_start = 8 + data_offset;
    if data_start > ssnd.size {
        return Err(Error::malformed(FORMAT, ssnd.start, "SSND offset past the chunk"));
    }
    // The frames COMM declares, as far as SSND holds them; bytes after them are kept as they are.
    let frames = u64::from(comm.frames).min((ssnd.size - data_start) / frame_bytes as u64);
    let spec = PcmSpec::new(comm.rate, comm.channels);
    let bits = match comm.encoding {
        Encoding::BigInt(n) | Encoding::LittleInt(n) => u16::from(n) * 8,
        Encoding::Float32 => 0,
    };
    let spec = spec.with_bits(bits);
    super::check_layout(&spec)?;
    let rendered = Rendered::new(cue, &spec)?;
    let positions = resolve(at, &spec, frames, rendered.frames(), mode)?;

    // The new SSND body waits in a temporary file until the chunk sizes are known.
    let mut body = tempfile::tempfile()?;
    {
        let mut w = BufWriter::new(&mut body);
        w.write_all(&ssnd_head)?;
        src.copy_to(&mut w, data_offset, "SSND offset bytes")?;
        let job = Job {
            encoding: comm.encoding,
            spec,
            frames,
            frame_bytes,
            rendered: &rendered,
            positions: positions.clone(),
            mode,
        };
        match comm.encoding {
            Encoding::Float32 => job.run::<f32>(&mut src, &mut w, progress)?,
            _ => job.run::<i32>(&mut src, &mut w, progress)?,
        }
        let after = ssnd.size - data_start - frames * frame_bytes as u64;
        src.copy_to(&mut w, after, "SSND trailing bytes")?;
        w.flush()?;
    }
    let body_len = body.stream_position()?;
    let new_frames = frames
        + match mode {
            Mode::Insert => rendered.frames() * positions.len() as u64,
            Mode::Mix(_) => 0,
        };
    let declared = u32::try_from(u64::from(comm.frames) - frames + new_frames)
        .map_err(|_| Error::unsupported("aiff", "the stamped AIFF would hold more than 2^32 frames"))?;
    let size = u32::try_from(body_len)
        .map_err(|_| Error::unsupported("aiff", "the stamped AIFF sound data would pass 4 GiB"))?;

    let mut plan = Plan::default();
    for chunk in &chunks {
        if chunk.start == comm_chunk.start {
            let mut patched = comm_bytes.clone();
            if let Some(field) = patched.get_mut(10..14) {
                field.copy_from_slice(&declared.to_be_bytes());
            }
            plan.keep(chunk, Piece::Bytes(patched));
        } else if chunk.start == ssnd.start {
            let mut head = b"SSND".to_vec();
            head.extend_from_slice(&size.to_be_bytes());
            let pad = if size % 2 == 1 { vec![0] } else { Vec::new() };
            plan.rebuilt([
                Piece::Bytes(head),
                Piece::Other {
                    offset: 0,
                    len: body_len,
                },
                Piece::Bytes(pad),
            ]);
        } else {
            plan.copy(chunk);
        }
    }
    plan.finish(&header, walker.pos());
    let mut new = Source::new(&mut body, FORMAT)?;
    let mut out = CountingWriter::new(output);
    plan.emit(&mut src, Some(&mut new), &mut out, &header, &[])?;
    Ok(Stamped {
        format: FORMAT,
        spec,
        cue_frames: rendered.frames(),
        input_frames: frames,
        positions,
    })
}

/// The stored bytes of `chunk`, within [`Limits::max_metadata_bytes`].
fn stored(src: &mut Source, chunk: &Chunk, limits: &Limits) -> Result<Vec<u8>> {
    src.seek_to(chunk.start)?;
    src.read_vec(chunk.stored_len(), "chunk", limits)
}

/// The sound data's stamping, block by block.
struct Job<'a> {
    encoding: Encoding,
    spec: PcmSpec,
    frames: u64,
    frame_bytes: usize,
    rendered: &'a Rendered,
    positions: Vec<u64>,
    mode: &'a Mode,
}

impl Job<'_> {
    fn run<S: Sample + Codec>(
        self,
        src: &mut Source,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(StampProgress),
    ) -> Result<()> {
        let block_len = usize::try_from(BLOCK_FRAMES).unwrap_or(4096) * self.frame_bytes;
        let mut raw = vec![0u8; block_len];
        let mut samples: Vec<S> = Vec::new();
        let mut stamped: Vec<S> = Vec::new();
        let mut encoded = Vec::new();
        let mut inserter = match self.mode {
            Mode::Insert => Some(Inserter::<S>::new(self.rendered, &self.spec, self.positions.clone())?),
            Mode::Mix(_) => None,
        };
        let mut mixer = match self.mode {
            Mode::Mix(ducking) => Some(Mixer::new(self.rendered, &self.spec, self.positions.clone(), ducking)?),
            Mode::Insert => None,
        };
        let mut left = self.frames;
        while left > 0 {
            let n = left.min(BLOCK_FRAMES);
            let len = usize::try_from(n).unwrap_or(0) * self.frame_bytes;
            let block = raw.get_mut(..len).unwrap_or_default();
            src.read_exact_into(block)?;
            samples.clear();
            S::decode(block, self.encoding, &mut samples);
            let result: &[S] = if let Some(ins) = inserter.as_mut() {
                stamped.clear();
                ins.push(&samples, &mut stamped)?;
                &stamped
            } else if let Some(mixer) = mixer.as_mut() {
                mixer.apply(&mut samples)?;
                &samples
            } else {
                &samples
            };
            encoded.clear();
            S::encode(result, self.encoding, &mut encoded);
            out.write_all(&encoded)?;
            left -= n;
            progress(StampProgress {
                frames: self.frames - left,
                total: self.frames,
            });
        }
        if let Some(ins) = inserter.as_mut() {
            stamped.clear();
            ins.finish(&mut stamped);
            encoded.clear();
            S::encode(&stamped, self.encoding, &mut encoded);
            out.write_all(&encoded)?;
        }
        Ok(())
    }
}

/// Reading exactly a block from a [`Source`].
trait ReadExact {
    fn read_exact_into(&mut self, buf: &mut [u8]) -> Result<()>;
}

impl ReadExact for Source<'_> {
    fn read_exact_into(&mut self, buf: &mut [u8]) -> Result<()> {
        let mut got = 0;
        while got < buf.len() {
            let n = self.read_up_to(&mut buf[got..])?;
            if n == 0 {
                return Err(self.truncated("sound data"));
            }
            got += n;
        }
        Ok(())
    }
}

/// Sample types the sound data decodes to: `i32` for integers (left-justified in their bytes,
/// so full scale is the container's), `f32` for floats. Decoding then encoding gives back the
/// same bytes.
trait Codec: Sized {
    fn decode(raw: &[u8], encoding: Encoding, out: &mut Vec<Self>);
    fn encode(samples: &[Self], encoding: Encoding, out: &mut Vec<u8>);
}

impl Codec for i32 {
    fn decode(raw: &[u8], encoding: Encoding, out: &mut Vec<i32>) {
        let n = encoding.bytes();
        let little = matches!(encoding, Encoding::LittleInt(_));
        out.extend(raw.chunks_exact(n).map(|b| {
            let mut v: i32 = 0;
            for k in 0..n {
                let byte = if little { b[n - 1 - k] } else { b[k] };
                v = (v << 8) | i32::from(byte);
            }
            // Sign-extend from n bytes.
            let shift = 32 - 8 * n as u32;
            (v << shift) >> shift
        }));
    }

    fn encode(samples: &[i32], encoding: Encoding, out: &mut Vec<u8>) {
        let n = encoding.bytes();
        let little = matches!(encoding, Encoding::LittleInt(_));
        for &s in samples {
            let be = s.to_be_bytes();
            let bytes = &be[4 - n..];
            if little {
                out.extend(bytes.iter().rev());
            } else {
                out.extend_from_slice(bytes);
            }
        }
    }
}

impl Codec for f32 {
    fn decode(raw: &[u8], _encoding: Encoding, out: &mut Vec<f32>) {
        out.extend(
            raw.chunks_exact(4)
                .map(|b| f32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        );
    }

    fn encode(samples: &[f32], _encoding: Encoding, out: &mut Vec<u8>) {
        for s in samples {
            out.extend_from_slice(&s.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_samples_round_trip_in_every_width_and_order() {
        let raw: Vec<u8> = (0..=255u8).cycle().take(24 * 7).collect();
        for encoding in [1, 2, 3, 4]
            .into_iter()
            .flat_map(|n| [Encoding::BigInt(n), Encoding::LittleInt(n)])
        {
            let mut samples = Vec::new();
            i32::decode(&raw, encoding, &mut samples);
            let mut back = Vec::new();
            i32::encode(&samples, encoding, &mut back);
            assert_eq!(back, raw, "{encoding:?}");
        }
        let mut s = Vec::new();
        i32::decode(&[0xff, 0xfe], Encoding::BigInt(2), &mut s);
        assert_eq!(s, [-2]);
    }

    #[test]
    fn extended_rates_parse() {
        // 44100 Hz and 8000 Hz as AIFF writers store them.
        assert_eq!(
            extended_to_rate(&[0x40, 0x0e, 0xac, 0x44, 0, 0, 0, 0, 0, 0]),
            Some(44_100)
        );
        assert_eq!(extended_to_rate(&[0x40, 0x0b, 0xfa, 0, 0, 0, 0, 0, 0, 0]), Some(8_000));
        assert_eq!(extended_to_rate(&[0xc0, 0x0b, 0xfa, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(extended_to_rate(&[0; 10]), None);
    }
}
