//! FLAC: decoded and re-encoded losslessly (ffmpeg's FLAC decoder and encoder, the cue placed in
//! between as 32-bit integer PCM), so every original sample comes back bit for bit; the
//! metadata blocks of the input are kept in their order with their bytes, except:
//! - `STREAMINFO` is the new stream's (block and frame sizes, total samples, the MD5 of the new
//!   audio);
//! - a `SEEKTABLE` keeps its size but holds placeholder points only, since its offsets pointed
//!   into the old frames (players then seek by bisection, as without a table).
//!
//! `VORBIS_COMMENT` (the implicit label among its fields), `PICTURE`, `APPLICATION`, `CUESHEET`
//! and `PADDING` are copied unchanged.

use std::io::Write;
use std::path::Path;

use aigc_label_core::io::Source;
use aigc_label_core::{Error, Limits, Result};

use super::{StampProgress, Stamped, ffmpeg};
use crate::cue::{At, Cue, Inserter, Mixer, Mode, PcmSpec, Rendered, resolve};

const FORMAT: &str = "flac";

const STREAMINFO: u8 = 0;
const SEEKTABLE: u8 = 3;

/// A metadata block: its type, where its header starts, its body length, the last-block flag.
#[derive(Debug, Clone, Copy)]
struct Block {
    kind: u8,
    offset: u64,
    len: u64,
    last: bool,
}

/// The metadata blocks of the FLAC stream in `src`, and where the frames start.
fn blocks(src: &mut Source) -> Result<(Vec<Block>, u64)> {
    src.seek_to(0)?;
    let magic: [u8; 4] = src.read_array("fLaC marker")?;
    if &magic != b"fLaC" {
        return Err(src.malformed("no fLaC marker (FLAC in Ogg is not handled)"));
    }
    let mut out = Vec::new();
    loop {
        let offset = src.pos();
        let h: [u8; 4] = src.read_array("metadata block header")?;
        let len = u64::from(u32::from_be_bytes([0, h[1], h[2], h[3]]));
        let last = h[0] & 0x80 != 0;
        src.skip(len, "metadata block")?;
        out.push(Block {
            kind: h[0] & 0x7f,
            offset,
            len,
            last,
        });
        if last {
            return Ok((out, src.pos()));
        }
    }
}

/// [`blocks`], for [`super::fuzz_readers`].
pub(super) fn fuzz_blocks(src: &mut Source) -> Result<usize> {
    blocks(src).map(|(b, _)| b.len())
}

/// Stamps the FLAC file `input` into `output`.
/// The re-encoded stream waits in a temporary folder in `temp_in` (the output's folder, which has
/// room for the output, unlike, perhaps, the system's temporary folder).
pub(super) fn stamp(
    input: &Path,
    output: &mut dyn Write,
    temp_in: &Path,
    cue: &Cue,
    at: &[At],
    mode: &Mode,
    progress: &mut dyn FnMut(StampProgress),
) -> Result<Stamped> {
    let limits = Limits::default();
    let mut file = std::fs::File::open(input)?;
    let mut src = Source::new(&mut file, FORMAT)?;
    let (old_blocks, _) = blocks(&mut src)?;
    let info = old_blocks
        .first()
        .filter(|b| b.kind == STREAMINFO && b.len >= 34)
        .ok_or_else(|| src.malformed("the first metadata block is not STREAMINFO"))?;
    src.seek_to(info.offset + 4)?;
    let si: [u8; 34] = src.read_array("STREAMINFO")?;
    let rate = (u32::from(si[10]) << 12) | (u32::from(si[11]) << 4) | u32::from(si[12] >> 4);
    let channels = u16::from((si[12] >> 1) & 7) + 1;
    let bits = (u16::from(si[12] & 1) << 4 | u16::from(si[13] >> 4)) + 1;
    let total = (u64::from(si[13] & 0x0f) << 32) | u64::from(u32::from_be_bytes([si[14], si[15], si[16], si[17]]));
    let sample_fmt = match bits {
        16 => "s16",
        24 => "s32",
        other => return Err(Error::unsupported("flac", format!("FLAC with {other}-bit samples"))),
    };
    if total == 0 {
        return Err(Error::unsupported(
            "flac",
            "FLAC without a total sample count in STREAMINFO",
        ));
    }
    // ffmpeg hands out 32-bit samples: full scale is 32 bits whatever the file's depth.
    let spec = PcmSpec::new(rate, channels);
    super::check_layout(&spec)?;
    let rendered = Rendered::new(cue, &spec)?;
    let positions = resolve(at, &spec, total, rendered.frames(), mode)?;

    let tools = ffmpeg::tools()?;
    let dir = tempfile::tempdir_in(temp_in)?;
    let encoded = dir.path().join("stamped.flac");
    let raw_bits = bits.to_string();
    let codec = [
        "-c:a",
        "flac",
        "-sample_fmt",
        sample_fmt,
        "-bits_per_raw_sample",
        &raw_bits,
        "-map_metadata",
        "-1",
    ];
    let mut done = 0u64;
    // One of the two, as `mode` says; the finish closure takes the inserter's tail.
    let inserter = std::cell::RefCell::new(match mode {
        Mode::Insert => Some(Inserter::<i32>::new(&rendered, &spec, positions.clone())?),
        Mode::Mix(_) => None,
    });
    let mut mixer = match mode {
        Mode::Mix(ducking) => Some(Mixer::new(&rendered, &spec, positions.clone(), ducking)?),
        Mode::Insert => None,
    };
    ffmpeg::transcode(
        &tools,
        input,
        &spec,
        &codec,
        &encoded,
        |chunk, out| {
            done += (chunk.len() / usize::from(channels)) as u64;
            progress(StampProgress { frames: done, total });
            if let Some(ins) = inserter.borrow_mut().as_mut() {
                return ins.push(chunk, out);
            }
            if let Some(mixer) = mixer.as_mut() {
                mixer.apply(chunk)?;
            }
            out.append(chunk);
            Ok(())
        },
        |out| {
            if let Some(ins) = inserter.borrow_mut().as_mut() {
                ins.finish(out);
            }
        },
    )?;

    let mut new_file = std::fs::File::open(&encoded)?;
    let mut new = Source::new(&mut new_file, FORMAT)?;
    let (new_blocks, frames_start) = blocks(&mut new)?;
    let new_info = new_blocks
        .first()
        .filter(|b| b.kind == STREAMINFO && b.len == 34)
        .ok_or_else(|| Error::malformed(FORMAT, 0, "ffmpeg wrote no STREAMINFO"))?;
    new.seek_to(new_info.offset + 4)?;
    let new_si: [u8; 34] = new.read_array("STREAMINFO")?;

    output.write_all(b"fLaC")?;
    for block in &old_blocks {
        match block.kind {
            STREAMINFO => {
                output.write_all(&[block_flag(block), 0, 0, 34])?;
                output.write_all(&new_si)?;
            }
            SEEKTABLE => {
                src.seek_to(block.offset)?;
                let mut stored = src.read_vec(4 + block.len, "SEEKTABLE", &limits)?;
                for point in stored.get_mut(4..).unwrap_or_default().chunks_exact_mut(18) {
                    point[..8].fill(0xff);
                    point[8..].fill(0);
                }
                output.write_all(&stored)?;
            }
            _ => {
                src.seek_to(block.offset)?;
                src.copy_to(output, 4 + block.len, "metadata block")?;
            }
        }
    }
    new.seek_to(frames_start)?;
    new.copy_rest(output, "FLAC frames")?;
    Ok(Stamped {
        format: FORMAT,
        spec: spec.with_bits(bits),
        cue_frames: rendered.frames(),
        input_frames: total,
        positions,
    })
}

/// The first byte of a block header: its type and last-block flag.
fn block_flag(block: &Block) -> u8 {
    block.kind | if block.last { 0x80 } else { 0 }
}
