//! MP3: the cue is encoded by LAME (through ffmpeg) with the file's MPEG version, sample rate,
//! channel count and, for a constant-bitrate file, its bitrate, and its frames are put between
//! the input's frames, which are copied byte for byte.
//!
//! - Frame boundaries: a cue goes before the first audio frame (`start`), after the last one
//!   (`end`), or, in the middle, at the frame boundary nearest the asked time. The frame after
//!   a middle boundary usually takes the start of its data from the frames before it (MPEG
//!   audio's bit reservoir, `main_data_begin`); silent frames that carry exactly those bytes
//!   follow the cue (see [`filler`]), so that frame finds its data and decodes as before.
//! - The Xing / Info frame LAME writes first is kept and corrected: its frame and byte counts,
//!   its seek table (TOC) rebuilt from the new frame positions, and in the LAME extension the
//!   encoder delay (the cue's, when the file now starts with it), the end padding (the cue's,
//!   when the file now ends with it), the music length, the music CRC and the tag's own CRC, so
//!   players still cut the priming and padding samples (gapless playback).
//! - ID3v2 tags before the audio and whatever follows it (ID3v1, an appended ID3v2 tag, APE)
//!   are copied unchanged, the implicit label among them.
//!
//! The cue's encoder padding and the content's encoder delay meet at a joint: the output is the
//! source plus the cue plus, at each joint, under a frame and the encoder delay of near-silence
//! (and the filler frames after a cue in the middle, one to three).

use std::io::Write;

use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::{Error, Result};

use super::{Stamped, ffmpeg};
use crate::cue::{At, Cue, Mode, PcmSpec, Rendered};
use crate::id3::TagHeader;

const FORMAT: &str = "mp3";

/// Samples a decoder adds after the encoder delay LAME records (the MDCT and filter bank).
const DECODER_DELAY: u64 = 529;

/// One MPEG audio layer III frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    /// 1 for MPEG-1, 2 for MPEG-2 and MPEG-2.5 (the same frame layout).
    version: u8,
    sample_rate: u32,
    bitrate_kbps: u32,
    mono: bool,
    crc: bool,
    len: usize,
}

impl Header {
    fn parse(h: &[u8]) -> Option<Header> {
        let &[a, b, c, d] = h.first_chunk::<4>()?;
        if a != 0xff || b & 0xe0 != 0xe0 || (b >> 1) & 3 != 1 {
            return None; // no sync, or not layer III
        }
        let (version, rate_div) = match (b >> 3) & 3 {
            3 => (1, 1),
            2 => (2, 2),
            0 => (2, 4),
            _ => return None,
        };
        let rate_idx = usize::from((c >> 2) & 3);
        let sample_rate = [44_100, 48_000, 32_000].get(rate_idx)? / rate_div;
        let table: [u32; 15] = if version == 1 {
            [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
        } else {
            [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]
        };
        let bitrate_kbps = *table.get(usize::from(c >> 4))?;
        if bitrate_kbps == 0 {
            return None; // free format: no frame length from the header
        }
        let coefficient = if version == 1 { 144 } else { 72 };
        let len = (coefficient * bitrate_kbps * 1000 / sample_rate + u32::from((c >> 1) & 1)) as usize;
        Some(Header {
            version,
            sample_rate,
            bitrate_kbps,
            mono: d >> 6 == 3,
            crc: b & 1 == 0,
            len,
        })
    }

    fn samples(&self) -> u64 {
        if self.version == 1 { 1152 } else { 576 }
    }

    /// Offset of the side information (after the header and its CRC).
    fn side_info(&self) -> usize {
        4 + if self.crc { 2 } else { 0 }
    }

    /// Offset of a Xing / Info header: after the side information.
    fn xing(&self) -> usize {
        self.side_info()
            + match (self.version, self.mono) {
                (1, false) => 32,
                (1, true) | (_, false) => 17,
                (_, true) => 9,
            }
    }

    /// `main_data_begin` of a frame starting with `h`: how many bytes of earlier frames it uses.
    fn main_data_begin(&self, h: &[u8]) -> Option<u16> {
        let at = self.side_info();
        let (x, y) = (*h.get(at)?, *h.get(at + 1)?);
        Some(if self.version == 1 {
            (u16::from(x) << 1) | u16::from(y >> 7)
        } else {
            u16::from(x)
        })
    }

    /// Same stream parameters (a frame of another stream is where the audio ends).
    fn same_stream(&self, other: &Header) -> bool {
        self.version == other.version && self.sample_rate == other.sample_rate && self.mono == other.mono
    }
}

/// An audio frame of the input.
#[derive(Debug, Clone, Copy)]
struct Frame {
    offset: u64,
    len: u32,
    /// Bytes of the frames before it whose main data this frame uses (MPEG's bit reservoir).
    main_data_begin: u16,
}

/// The fields of a Xing / Info frame and its LAME extension this module rewrites, as offsets
/// into the frame.
#[derive(Debug, Clone, Default)]
struct Xing {
    frames: Option<usize>,
    bytes: Option<usize>,
    toc: Option<usize>,
    /// Offset of the `LAME`-style extension (delay, padding, lengths, CRCs), when present.
    lame: Option<usize>,
}

impl Xing {
    fn parse(frame: &[u8], header: &Header) -> Option<Xing> {
        let at = header.xing();
        if !matches!(frame.get(at..at + 4), Some(b"Xing" | b"Info")) {
            return None;
        }
        let flags = u32::from_be_bytes(frame.get(at + 4..at + 8)?.try_into().ok()?);
        let mut pos = at + 8;
        let mut field = |flag: u32, len: usize| {
            (flags & flag != 0).then(|| {
                let p = pos;
                pos += len;
                p
            })
        };
        let frames = field(1, 4);
        let bytes = field(2, 4);
        let toc = field(4, 100);
        let _quality = field(8, 4);
        // LAME and ffmpeg put the extension right after the four fields, 36 bytes long.
        let lame = (pos + 36 <= frame.len()
            && frame
                .get(pos..pos + 4)
                .is_some_and(|v| v.iter().all(u8::is_ascii_alphanumeric)))
        .then_some(pos);
        if pos > frame.len() {
            return None;
        }
        Some(Xing {
            frames,
            bytes,
            toc,
            lame,
        })
    }

    /// The encoder delay and end padding the LAME extension records.
    fn delay_padding(&self, frame: &[u8]) -> Option<(u16, u16)> {
        let at = self.lame? + 21;
        let b = frame.get(at..at + 3)?;
        let delay = (u16::from(b[0]) << 4) | u16::from(b[1] >> 4);
        let padding = (u16::from(b[1] & 0x0f) << 8) | u16::from(b[2]);
        Some((delay, padding))
    }

    fn set_delay_padding(&self, frame: &mut [u8], delay: u16, padding: u16) {
        if let Some(b) = self.lame.and_then(|l| frame.get_mut(l + 21..l + 24)) {
            b[0] = (delay >> 4) as u8;
            b[1] = ((delay & 0x0f) << 4) as u8 | (padding >> 8) as u8;
            b[2] = padding as u8;
        }
    }
}

fn read_u32(frame: &[u8], at: Option<usize>) -> Option<u32> {
    Some(u32::from_be_bytes(frame.get(at?..at? + 4)?.try_into().ok()?))
}

fn write_u32(frame: &mut [u8], at: Option<usize>, value: u32) {
    if let Some(b) = at.and_then(|at| frame.get_mut(at..at + 4)) {
        b.copy_from_slice(&value.to_be_bytes());
    }
}

/// CRC-16 with polynomial 0x8005, reflected, initial value 0 (the CRC of the LAME extension).
fn crc16(crc: u16, data: &[u8]) -> u16 {
    let mut crc = crc;
    for &byte in data {
        crc ^= u16::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xa001 } else { crc >> 1 };
        }
    }
    crc
}

/// A writer that only computes the CRC-16 of what passes through it.
struct CrcSink(u16);

impl Write for CrcSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = crc16(self.0, buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The walk of an MP3 file: where the audio starts, its frames, and where it ends.
struct Walk {
    /// Offset of the first frame (after the leading ID3v2 tags).
    start: u64,
    first: Header,
    /// The Xing / Info frame's bytes, when the first frame is one.
    info: Option<(Vec<u8>, Xing)>,
    frames: Vec<Frame>,
    /// Offset just past the last frame.
    end: u64,
}

fn walk(src: &mut Source) -> Result<Walk> {
    // Leading ID3v2 tags, one after another.
    let mut start = 0u64;
    loop {
        src.seek_to(start)?;
        let mut head = [0u8; 10];
        if src.read_up_to(&mut head)? < 10 {
            break;
        }
        match TagHeader::parse(&head) {
            Some(tag) if start + tag.stored_len() <= src.len() => start += tag.stored_len(),
            _ => break,
        }
    }
    let mut pos = start;
    let mut first: Option<Header> = None;
    let mut info = None;
    let mut frames = Vec::new();
    let mut head = [0u8; 6];
    loop {
        src.seek_to(pos)?;
        if src.read_up_to(&mut head)? < head.len() {
            break;
        }
        let Some(h) = Header::parse(&head) else { break };
        if first.is_some_and(|f| !f.same_stream(&h)) || pos + h.len as u64 > src.len() {
            break;
        }
        if first.is_none() {
            first = Some(h);
            src.seek_to(pos)?;
            let bytes = src.read_vec(h.len as u64, "MPEG audio frame", &aigc_label_core::Limits::default())?;
            if bytes.get(h.xing()..h.xing() + 4) == Some(b"VBRI") {
                return Err(Error::Unsupported(
                    "MP3 with a Fraunhofer VBRI header: its seek table cannot be rebuilt yet".into(),
                ));
            }
            if let Some(x) = Xing::parse(&bytes, &h) {
                info = Some((bytes, x));
                pos += h.len as u64;
                continue;
            }
        }
        let main_data_begin = h.main_data_begin(&head).unwrap_or(0);
        frames.push(Frame {
            offset: pos,
            len: h.len as u32,
            main_data_begin,
        });
        pos += h.len as u64;
    }
    let first = first.ok_or_else(|| Error::malformed(FORMAT, start, "no MPEG audio layer III frame"))?;
    Ok(Walk {
        start,
        first,
        info,
        frames,
        end: pos,
    })
}

/// The cue as LAME frames: the audio frames (without LAME's own Info frame), their count, and
/// the delay and padding LAME recorded for them.
struct EncodedCue {
    bytes: Vec<u8>,
    /// Each frame's length.
    lens: Vec<u64>,
    delay: u16,
    padding: u16,
}

fn encode_cue(rendered: &Rendered, header: &Header, cbr: bool) -> Result<EncodedCue> {
    let tools = ffmpeg::tools()?;
    let bitrate = format!("{}k", header.bitrate_kbps);
    let mut codec = vec!["-c:a", "libmp3lame", "-id3v2_version", "0", "-write_xing", "1"];
    if cbr {
        codec.extend(["-b:a", &bitrate]);
    } else {
        codec.extend(["-q:a", "4"]);
    }
    let out = ffmpeg::encode_cue(&tools, rendered, &codec, "mp3")?;
    let mut pos = 0usize;
    let mut bytes = Vec::new();
    let mut frames = 0;
    let mut lens = Vec::new();
    let (mut delay, padding) = (576, 0);
    while let Some(h) = out.get(pos..).and_then(Header::parse) {
        let frame = out
            .get(pos..pos + h.len)
            .ok_or_else(|| Error::malformed(FORMAT, pos as u64, "LAME wrote a cut frame"))?;
        if !h.same_stream(header) {
            return Err(Error::Unsupported("LAME encoded the cue in another layout".into()));
        }
        match (pos, Xing::parse(frame, &h)) {
            (0, Some(x)) => delay = x.delay_padding(frame).map_or(delay, |d| d.0),
            _ => {
                bytes.extend_from_slice(frame);
                frames += 1;
                lens.push(h.len as u64);
            }
        }
        pos += h.len;
    }
    if frames == 0 {
        return Err(Error::Unsupported("LAME wrote no frames for the cue".into()));
    }
    // The padding in LAME's Info frame is only filled in when the output can be rewound, which
    // a pipe cannot: it is what the frames hold beyond the delay and the cue.
    let padding = (frames * header.samples())
        .checked_sub(u64::from(delay) + rendered.frames())
        .and_then(|p| u16::try_from(p).ok())
        .filter(|&p| p < 4096)
        .unwrap_or(padding);
    Ok(EncodedCue {
        bytes,
        lens,
        delay,
        padding,
    })
}

/// Where each cue goes, as indices into the frames (a cue at `k` goes before frame `k`; `n`
/// is after the last frame), and the input sample each one is at.
fn place(at: &[At], walk: &Walk, spec: &PcmSpec, delay: u64, content: u64) -> Result<Vec<usize>> {
    let n = walk.frames.len();
    let spf = walk.first.samples();
    let mut out = Vec::new();
    for a in at {
        let k = match a {
            At::Start => 0,
            At::End => n,
            middle => {
                let sample = middle.frame_in(spec, content).unwrap_or(0);
                if sample > content {
                    return Err(Error::Parameter(
                        format!("cue position {sample} is past the content's {content} frames").into(),
                    ));
                }
                (((sample + delay) as f64 / spf as f64).round() as usize).min(n)
            }
        };
        out.push(k);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// What goes in before frame `at`: the cue's frames, then the filler frames that carry the
/// reservoir bytes frame `at` reads (see [`filler`]).
struct Insert {
    at: usize,
    bytes: Vec<u8>,
    /// The length of each frame in `bytes`.
    lens: Vec<u64>,
}

/// Writes the audio frames with each insert before its frame.
fn emit_audio(src: &mut Source, out: &mut dyn Write, walk: &Walk, inserts: &[Insert]) -> Result<()> {
    let offset = |k: usize| walk.frames.get(k).map_or(walk.end, |f| f.offset);
    let mut from = 0usize;
    for insert in inserts {
        src.seek_to(offset(from))?;
        src.copy_to(out, offset(insert.at) - offset(from), "MPEG audio frames")?;
        out.write_all(&insert.bytes)?;
        from = insert.at;
    }
    src.seek_to(offset(from))?;
    src.copy_to(out, walk.end - offset(from), "MPEG audio frames")?;
    Ok(())
}

/// Silent frames that end with the `reservoir` bytes frame `k` takes from the frames before it,
/// so that it decodes as it did once the cue's frames stand in between. A frame whose side
/// information is all zero holds no main data of its own (every granule is 0 bits long: the
/// decoder outputs silence), so its whole main data area is free for those bytes. The frames
/// use the bitrate of the frame they precede (a constant-bitrate file stays constant), or the
/// largest one when the file is VBR, so that as few as possible are needed.
fn filler(template: &[u8; 4], reservoir: &[u8], cbr: bool) -> Result<(Vec<u8>, Vec<u64>)> {
    let mut head = *template;
    head[1] |= 1; // no CRC
    head[2] &= !0x02; // no padding slot
    if !cbr {
        head[2] = (head[2] & 0x0f) | 0xe0; // bitrate index 14
    }
    let h = Header::parse(&head).ok_or_else(|| Error::malformed(FORMAT, 0, "MPEG audio frame header"))?;
    let side = h.xing() - 4;
    let area = h.len.saturating_sub(4 + side);
    if area == 0 {
        return Err(Error::Unsupported(
            "MPEG audio frames too small to carry the bit reservoir".into(),
        ));
    }
    let count = reservoir.len().div_ceil(area);
    let mut main = vec![0u8; count * area - reservoir.len()];
    main.extend_from_slice(reservoir);
    let mut bytes = Vec::with_capacity(count * h.len);
    for chunk in main.chunks(area) {
        bytes.extend_from_slice(&head);
        bytes.resize(bytes.len() + side, 0);
        bytes.extend_from_slice(chunk);
    }
    Ok((bytes, vec![h.len as u64; count]))
}

/// The last `n` bytes of main data before frame `k`: the main data areas of the frames before
/// it, read backwards.
fn reservoir_before(src: &mut Source, walk: &Walk, k: usize, n: usize) -> Result<Vec<u8>> {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut need = n;
    for f in walk.frames.get(..k).unwrap_or_default().iter().rev() {
        if need == 0 {
            break;
        }
        src.seek_to(f.offset)?;
        let head: [u8; 4] = src.read_array("MPEG audio frame header")?;
        let h = Header::parse(&head).ok_or_else(|| src.malformed("MPEG audio frame header"))?;
        let area_start = f.offset + h.xing() as u64;
        let area_len = u64::from(f.len).saturating_sub(h.xing() as u64);
        let take = area_len.min(need as u64);
        src.seek_to(area_start + area_len - take)?;
        let mut part = vec![0u8; take as usize];
        let got = src.read_up_to(&mut part)?;
        if got < part.len() {
            return Err(src.truncated("MPEG audio frame"));
        }
        need -= take as usize;
        parts.push(part);
    }
    if need > 0 {
        return Err(src.malformed("a frame's main_data_begin points before the first frame"));
    }
    Ok(parts.into_iter().rev().flatten().collect())
}

/// Stamps the MP3 file at `path` (opened as `input`) into `output`.
pub(super) fn stamp(
    input: &mut dyn ReadSeek,
    output: &mut dyn Write,
    cue: &Cue,
    at: &[At],
    mode: &Mode,
) -> Result<Stamped> {
    if matches!(mode, Mode::Mix(_)) {
        return Err(Error::Unsupported(
            "mixing a cue into MP3 is not implemented yet: insert it (leave out --mix)".into(),
        ));
    }
    let mut src = Source::new(input, FORMAT)?;
    let walk = walk(&mut src)?;
    let header = walk.first;
    let spec = PcmSpec::new(header.sample_rate, if header.mono { 1 } else { 2 });
    let spf = header.samples();
    let (delay, padding) = walk
        .info
        .as_ref()
        .and_then(|(bytes, x)| x.delay_padding(bytes))
        .unwrap_or((0, 0));
    let lead = if walk.info.as_ref().is_some_and(|(_, x)| x.lame.is_some()) {
        u64::from(delay) + DECODER_DELAY
    } else {
        0
    };
    let n = walk.frames.len() as u64;
    let content = (n * spf).saturating_sub(lead + u64::from(padding));
    let mut cbr = true;
    let mut rate = None;
    for f in &walk.frames {
        src.seek_to(f.offset)?;
        let h: [u8; 4] = src.read_array("MPEG audio frame header")?;
        let kbps = Header::parse(&h).map(|h| h.bitrate_kbps);
        if rate.is_some_and(|r| Some(r) != kbps) {
            cbr = false;
            break;
        }
        rate = kbps;
    }
    let rendered = Rendered::new(cue, &spec)?;
    let encoded = encode_cue(&rendered, &header, cbr)?;
    let positions = place(at, &walk, &spec, lead, content)?;
    let mut inserts = Vec::with_capacity(positions.len());
    for &k in &positions {
        let mut bytes = encoded.bytes.clone();
        let mut lens = encoded.lens.clone();
        if let Some(f) = walk.frames.get(k).filter(|f| f.main_data_begin > 0) {
            let reservoir = reservoir_before(&mut src, &walk, k, usize::from(f.main_data_begin))?;
            src.seek_to(f.offset)?;
            let template: [u8; 4] = src.read_array("MPEG audio frame header")?;
            let (more, more_lens) = filler(&template, &reservoir, cbr)?;
            bytes.extend_from_slice(&more);
            lens.extend(more_lens);
        }
        inserts.push(Insert { at: k, bytes, lens });
    }
    let added_frames: u64 = inserts.iter().map(|i| i.lens.len() as u64).sum();
    let added_bytes: u64 = inserts.iter().map(|i| i.bytes.len() as u64).sum();

    // Leading tags, as they are.
    src.seek_to(0)?;
    src.copy_to(output, walk.start, "ID3v2 tags")?;
    if let Some((mut info, x)) = walk.info.clone() {
        let frames = u64::from(read_u32(&info, x.frames).unwrap_or(0)) + added_frames;
        let bytes = u64::from(read_u32(&info, x.bytes).unwrap_or(0)) + added_bytes;
        let too_big = || Error::Unsupported("the stamped MP3 would pass 4 GiB".into());
        let frames32 = u32::try_from(frames).map_err(|_| too_big())?;
        let bytes32 = u32::try_from(bytes).map_err(|_| too_big())?;
        write_u32(&mut info, x.frames, frames32);
        write_u32(&mut info, x.bytes, bytes32);
        if let Some(toc) = x.toc {
            let table = toc_for(&walk, &inserts, info.len() as u64, bytes);
            if let Some(t) = info.get_mut(toc..toc + 100) {
                t.copy_from_slice(&table);
            }
        }
        if let Some(lame) = x.lame {
            let new_delay = if positions.first() == Some(&0) {
                encoded.delay
            } else {
                delay
            };
            let new_padding = if positions.last() == Some(&walk.frames.len()) {
                encoded.padding
            } else {
                padding
            };
            x.set_delay_padding(&mut info, new_delay, new_padding);
            let length = u64::from(read_u32(&info, Some(lame + 28)).unwrap_or(0)) + added_bytes;
            write_u32(
                &mut info,
                Some(lame + 28),
                u32::try_from(length).map_err(|_| too_big())?,
            );
            let mut sink = CrcSink(0);
            emit_audio(&mut src, &mut sink, &walk, &inserts)?;
            if let Some(b) = info.get_mut(lame + 32..lame + 34) {
                b.copy_from_slice(&sink.0.to_be_bytes());
            }
            let tag_crc = crc16(0, info.get(..lame + 34).unwrap_or_default());
            if let Some(b) = info.get_mut(lame + 34..lame + 36) {
                b.copy_from_slice(&tag_crc.to_be_bytes());
            }
        }
        output.write_all(&info)?;
    }
    emit_audio(&mut src, output, &walk, &inserts)?;
    // Everything after the audio: ID3v1, an appended tag, APE.
    src.seek_to(walk.end)?;
    src.copy_rest(output, "MP3 trailer")?;
    let spf_positions = positions
        .iter()
        .map(|&k| (k as u64 * spf).saturating_sub(lead).min(content))
        .collect();
    Ok(Stamped {
        format: FORMAT,
        spec,
        cue_frames: rendered.frames(),
        positions: spf_positions,
    })
}

/// The Xing seek table for the output: entry `i` is the byte offset (from the Info frame, in
/// 256ths of the stream's `total` bytes) of the frame `i` percent of the way through.
fn toc_for(walk: &Walk, inserts: &[Insert], info_len: u64, total: u64) -> [u8; 100] {
    let added: usize = inserts.iter().map(|i| i.lens.len()).sum();
    let mut starts: Vec<u64> = Vec::with_capacity(walk.frames.len() + added);
    let mut pos = info_len;
    for k in 0..=walk.frames.len() {
        for insert in inserts.iter().filter(|i| i.at == k) {
            for len in &insert.lens {
                starts.push(pos);
                pos += len;
            }
        }
        if let Some(f) = walk.frames.get(k) {
            starts.push(pos);
            pos += u64::from(f.len);
        }
    }
    let mut toc = [0u8; 100];
    let n = starts.len();
    for (i, t) in toc.iter_mut().enumerate() {
        let offset = starts.get(i * n / 100).copied().unwrap_or(0);
        *t = (offset * 256 / total.max(1)).min(255) as u8;
    }
    toc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse() {
        let h = Header::parse(&[0xff, 0xfb, 0x50, 0x00]).unwrap();
        assert_eq!(
            (h.version, h.sample_rate, h.bitrate_kbps, h.mono, h.len),
            (1, 44_100, 64, false, 208)
        );
        assert_eq!(h.xing(), 36);
        let h = Header::parse(&[0xff, 0xf3, 0x40, 0xc0]).unwrap();
        assert_eq!((h.version, h.sample_rate, h.mono), (2, 22_050, true));
        assert_eq!(h.xing(), 13);
        assert!(Header::parse(&[0xff, 0xfd, 0x50, 0x00]).is_none(), "layer II");
        assert!(Header::parse(&[0xff, 0xfb, 0x00, 0x00]).is_none(), "free format");
    }

    #[test]
    fn crc16_is_the_arc_variant() {
        assert_eq!(crc16(0, b"123456789"), 0xbb3d);
    }
}
