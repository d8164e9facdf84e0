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
//! `--mix` (anywhere) re-encodes just the frames under the cue and its ducking ramp and copies
//! the rest; see [`MixJob`] and `MixJob::run_at`.
//!
//! The cue's encoder padding and the content's encoder delay meet at a joint: the output is the
//! source plus the cue plus, at each joint, under a frame and the encoder delay of near-silence
//! (and the filler frames after a cue in the middle, one to three).

use std::io::Write;

use std::path::Path;

use aigc_label_core::io::Source;
use aigc_label_core::{Error, Result};

use super::{Stamped, ffmpeg};
use crate::cue::{At, Cue, Ducking, Mixer, Mode, PcmSpec, Rendered, resolve};
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

/// How far past the tags the first frame is looked for.
const SYNC_REACH: u64 = 64 << 10;

/// The offset of the first frame header within `reach` bytes from `from` that a second header
/// of the same stream (of `like`, when given) follows.
fn sync(src: &mut Source, from: u64, reach: u64, like: Option<&Header>) -> Result<Option<u64>> {
    let end = from.saturating_add(reach).min(src.len());
    let mut buf = vec![0u8; 64 << 10];
    let mut at = from;
    while at < end {
        src.seek_to(at)?;
        let got = src.read_up_to(&mut buf)?;
        if got < 4 {
            break;
        }
        let window = buf.get(..got).unwrap_or_default();
        for i in 0..got.saturating_sub(3) {
            let pos = at + i as u64;
            if pos >= end {
                return Ok(None);
            }
            let Some(h) = window.get(i..).and_then(Header::parse) else {
                continue;
            };
            if like.is_some_and(|l| !l.same_stream(&h)) {
                continue;
            }
            let next = pos + h.len as u64;
            if next + 4 > src.len() {
                continue;
            }
            src.seek_to(next)?;
            let head: [u8; 4] = src.read_array("MPEG audio frame header")?;
            if Header::parse(&head).is_some_and(|n| n.same_stream(&h)) {
                return Ok(Some(pos));
            }
            src.seek_to(at + got as u64)?;
        }
        at += got.saturating_sub(3) as u64;
    }
    Ok(None)
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
    // Some writers leave padding or junk between the tag and the first frame: the first frame
    // is the first header within reach that another one follows (bytes before it are kept).
    let start = match sync(src, start, SYNC_REACH, None)? {
        Some(at) => at,
        None => {
            return Err(Error::unsupported(
                "mp3",
                "no MPEG audio layer III frames (stamp handles MP3, not MP1/MP2 or ADTS AAC)",
            ));
        }
    };
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
                return Err(Error::unsupported(
                    "mp3",
                    "MP3 with a Fraunhofer VBRI header: its seek table cannot be rebuilt yet",
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
    // A damaged frame or a tag in the middle would end the walk early, and a cue at the end
    // would land in the middle: refuse a file with more of the stream after the break.
    if let Some(at) = sync(src, pos, src.len().saturating_sub(pos), Some(&first))? {
        return Err(Error::unsupported(
            "mp3",
            format!("the MPEG audio stream breaks off at offset {pos} and goes on at {at}: repair it first"),
        ));
    }
    Ok(Walk {
        start,
        first,
        info,
        frames,
        end: pos,
    })
}

/// [`walk`], for [`super::fuzz_readers`].
pub(super) fn fuzz_walk(src: &mut Source) -> Result<usize> {
    walk(src).map(|w| w.frames.len())
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
            return Err(Error::unsupported("mp3", "LAME encoded the cue in another layout"));
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
        return Err(Error::unsupported("mp3", "LAME wrote no frames for the cue"));
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

/// LAME's priming at the start of what it encodes: its encoder delay plus the decoder's.
const LAME_LEAD: u64 = 576 + DECODER_DELAY;

/// Most frames added to the re-encoded span when the frame after it needs more reservoir bytes
/// than the span leaves free.
const MIX_TRIES: usize = 8;

/// Mixing the cue in at the start ([`MixJob::run`]; away from it, `MixJob::run_at`): the frames
/// under the cue (and its ducking ramp) are decoded,
/// mixed and re-encoded by LAME, and the frames after them are copied. Samples line up because
/// LAME's priming lands exactly on the stream's own: new frame `j` decodes to the samples
/// original frame `j` did. The first original frame kept usually takes the start of its data
/// from the frames before it (the bit reservoir); those bytes are written into the unused end of
/// the last re-encoded frames' main data, which decoders skip as ancillary data.
struct MixJob<'a> {
    path: &'a Path,
    walk: &'a Walk,
    header: &'a Header,
    spec: &'a PcmSpec,
    lead: u64,
    /// Samples of LAME's priming the decoder plays before content sample 0: none in an MP3
    /// file (the Info frame's delay is `lead`, which the decoder skips), all of it in MP3 in
    /// another container, which does not say how long it is.
    priming: u64,
    cbr: bool,
}

impl MixJob<'_> {
    /// LAME's options for the re-encode: the file's bitrate when it is constant.
    fn codec(&self) -> Vec<String> {
        let mut codec: Vec<String> = ["-c:a", "libmp3lame", "-id3v2_version", "0", "-write_xing", "0"]
            .map(String::from)
            .to_vec();
        if self.cbr {
            codec.extend(["-b:a".into(), format!("{}k", self.header.bitrate_kbps)]);
        } else {
            codec.extend(["-q:a".into(), "2".into()]);
        }
        codec
    }

    /// The re-encoded span from the first frame for a cue at content sample `p` (near the
    /// start), as an insert replacing its frames, and LAME's encoder delay.
    fn run(&self, src: &mut Source, rendered: &Rendered, ducking: &Ducking, p: u64) -> Result<(Insert, u16)> {
        let spf = self.header.samples();
        let n = self.walk.frames.len();
        let ch = usize::from(self.spec.channels);
        let ramp = self.spec.frame_at(ducking.ramp.as_secs_f64());
        // Frames to re-encode: through the cue and its ramp, plus one.
        let first = ((p + rendered.frames() + ramp + self.lead + self.priming).div_ceil(spf) as usize + 1).min(n);
        let tools = ffmpeg::tools()?;
        // The decoded samples (trimmed by `lead`); the re-encode is fed from `skip` on so that
        // LAME's priming covers the samples the original's priming covered.
        let skip = LAME_LEAD.saturating_sub(self.lead) as usize;
        let most = (first + MIX_TRIES) as u64 * spf;
        let decoded = ffmpeg::decode_head(&tools, self.path, self.spec.channels, most)?;
        let codec = self.codec();
        let codec: Vec<&str> = codec.iter().map(String::as_str).collect();
        for b in first..=(first + MIX_TRIES).min(n) {
            // Two frames more than the span are encoded (and dropped) so that LAME sees the
            // signal go on rather than end: it keeps its bit reservoir instead of flushing it.
            let len = (b as u64 * spf).saturating_sub(LAME_LEAD) as usize;
            let more = ((b + 2) as u64 * spf).saturating_sub(LAME_LEAD) as usize;
            if decoded.len() < (skip + len) * ch {
                break;
            }
            let end = ((skip + more) * ch).min(decoded.len() / ch * ch);
            let mut pcm = decoded.get(skip * ch..end).unwrap_or_default().to_vec();
            let mut mixer = Mixer::new(rendered, self.spec, vec![p.saturating_sub(skip as u64)], ducking)?;
            mixer.apply(&mut pcm)?;
            let encoded = ffmpeg::encode_pcm(&tools, &pcm, self.spec, &codec, "mp3")?;
            let Some((mut bytes, mut lens)) = frames_of(&encoded, self.header) else {
                return Err(Error::unsupported("mp3", "LAME re-encoded the span in another layout"));
            };
            if lens.len() < b {
                return Err(Error::unsupported(
                    "mp3",
                    format!("LAME made {} frames of {b} frames of samples", lens.len()),
                ));
            }
            lens.truncate(b);
            bytes.truncate(lens.iter().sum::<u64>() as usize);
            let need = self.walk.frames.get(b).map_or(0, |f| usize::from(f.main_data_begin));
            let reservoir = reservoir_before(src, self.walk, b, need)?;
            // In a VBR file a frame may be of any bitrate: the last re-encoded frame grows to
            // the largest, and the bytes it gains at its end are free.
            let fits = write_reservoir(&mut bytes, &lens, &reservoir)
                || (!self.cbr && enlarge_last(&mut bytes, &mut lens) && write_reservoir(&mut bytes, &lens, &reservoir));
            if fits {
                return Ok((
                    Insert {
                        at: 0,
                        replace: b,
                        bytes,
                        lens,
                    },
                    576,
                ));
            }
        }
        Err(Error::unsupported(
            "mp3",
            "no frame after the cue whose bit reservoir fits the re-encoded frames: insert the cue instead",
        ))
    }
}

impl MixJob<'_> {
    /// The re-encoded spans for cues at `positions` (content samples, ascending), and LAME's
    /// encoder delay when a span starts with the stream.
    fn inserts(
        &self,
        src: &mut Source,
        rendered: &Rendered,
        ducking: &Ducking,
        positions: &[u64],
    ) -> Result<(Vec<Insert>, Option<u16>)> {
        let spf = self.header.samples();
        let ramp = self.spec.frame_at(ducking.ramp.as_secs_f64());
        let mut inserts: Vec<Insert> = Vec::with_capacity(positions.len());
        let mut new_delay = None;
        for &p in positions {
            // A span that would start in the first frame starts with the stream.
            let insert = if (p.saturating_sub(ramp) + self.lead + self.priming) / spf <= 1 {
                let (insert, delay) = self.run(src, rendered, ducking, p)?;
                new_delay = Some(delay);
                insert
            } else {
                self.run_at(src, rendered, ducking, p)?
            };
            if inserts.last().is_some_and(|last| insert.at < last.at + last.replace) {
                return Err(Error::unsupported(
                    "mp3",
                    "cues too close together to mix into MP3 one by one: leave more time between them",
                ));
            }
            inserts.push(insert);
        }
        Ok((inserts, new_delay))
    }
}

/// Whether every frame of `walk` has the same bitrate.
fn constant_bitrate(src: &mut Source, walk: &Walk) -> Result<bool> {
    let mut rate = None;
    for f in &walk.frames {
        src.seek_to(f.offset)?;
        let h: [u8; 4] = src.read_array("MPEG audio frame header")?;
        let kbps = Header::parse(&h).map(|h| h.bitrate_kbps);
        if rate.is_some_and(|r| Some(r) != kbps) {
            return Ok(false);
        }
        rate = kbps;
    }
    Ok(true)
}

/// `--mix` into MP3 frames another container stores one to a payload (FLV audio tags, AVI
/// `##wb` chunks), at `payloads` of the file at `path`: the frames are walked where they lie
/// and re-encoded as in an MP3 file ([`MixJob`]; the bit reservoir runs through the frames in
/// order whatever lies between them). The container has no Info frame, so decoders play the
/// encoder's priming: the content is taken to start after LAME's (as ffmpeg encodes MP3 for
/// these containers). Returns what was stamped (in the
/// `mp3` format's name) and the new frame for each payload replaced, by index.
///
/// # Errors
/// A payload that is not one whole layer III frame of the same stream as the first;
/// as [`stamp`].
pub(super) fn mix_frames(
    path: &Path,
    file: &mut std::fs::File,
    payloads: &[std::ops::Range<u64>],
    cue: &Cue,
    at: &[At],
    ducking: &Ducking,
) -> Result<(Stamped, super::NewFrames)> {
    let mut src = Source::new(file, FORMAT)?;
    let mut frames = Vec::with_capacity(payloads.len());
    let mut first: Option<Header> = None;
    for r in payloads {
        src.seek_to(r.start)?;
        let mut head = [0u8; 6];
        let got = src.read_up_to(&mut head)?;
        let h = Header::parse(head.get(..got).unwrap_or_default())
            .filter(|h| h.len as u64 == r.end - r.start && first.is_none_or(|f| f.same_stream(h)))
            .ok_or_else(|| {
                Error::unsupported(
                    "mp3",
                    "MP3 stored other than one whole layer III frame to a packet: remux it (ffmpeg -c copy) first",
                )
            })?;
        first.get_or_insert(h);
        frames.push(Frame {
            offset: r.start,
            len: h.len as u32,
            main_data_begin: h.main_data_begin(&head).unwrap_or(0),
        });
    }
    let header = first.ok_or_else(|| Error::unsupported("mp3", "no MP3 frames"))?;
    let walk = Walk {
        start: payloads.first().map_or(0, |r| r.start),
        first: header,
        info: None,
        frames,
        end: payloads.last().map_or(0, |r| r.end),
    };
    let spec = PcmSpec::new(header.sample_rate, if header.mono { 1 } else { 2 });
    super::check_layout(&spec)?;
    let content = (walk.frames.len() as u64 * header.samples()).saturating_sub(LAME_LEAD);
    let cbr = constant_bitrate(&mut src, &walk)?;
    let rendered = Rendered::new(cue, &spec)?;
    let mode = Mode::Mix(*ducking);
    let positions = resolve(at, &spec, content, rendered.frames(), &mode)?;
    let mut job = MixJob {
        path,
        walk: &walk,
        header: &header,
        spec: &spec,
        lead: 0,
        priming: LAME_LEAD,
        cbr,
    };
    // A constant-bitrate stream whose bit reservoir is full leaves the re-encoded frames no
    // room for the bytes the next original frame borrows. The container times each frame by
    // itself (no Info frame or seek table assumes a bitrate), so the span may then be coded
    // at a variable bitrate, its last frame enlarged to make the room.
    let (inserts, _) = match job.inserts(&mut src, &rendered, ducking, &positions) {
        Err(Error::Unsupported(_)) if cbr => {
            job.cbr = false;
            job.inserts(&mut src, &rendered, ducking, &positions)?
        }
        other => other?,
    };
    let mut new = Vec::new();
    for insert in inserts {
        let mut at = 0usize;
        for (j, &len) in insert.lens.iter().enumerate() {
            let frame = insert
                .bytes
                .get(at..at + len as usize)
                .ok_or_else(|| Error::malformed(FORMAT, 0, "a re-encoded frame's length"))?;
            new.push((insert.at + j, frame.to_vec()));
            at += len as usize;
        }
    }
    let stamped = Stamped {
        format: FORMAT,
        spec,
        cue_frames: rendered.frames(),
        input_frames: content,
        positions,
    };
    Ok((stamped, new))
}

/// Frames of the original sound LAME is fed before a span in the middle (their frames dropped),
/// so that its filter bank, psychoacoustics and bit reservoir have settled on that sound when
/// the first kept frame is coded.
const MIX_WARM_UP: usize = 4;

/// Frames a span in the middle may start earlier, when LAME's first kept frame borrows more
/// reservoir bytes than the original frame it replaces left free before it.
const MIX_EARLIER: usize = 4;

impl MixJob<'_> {
    /// Mixing away from the start: the frames `a..b` under the cue (with its ramps and a frame
    /// either side) are re-encoded, LAME fed [`MIX_WARM_UP`] frames of the sound before them
    /// with its priming lined up so that new frame `j` decodes to what original frame `a + j`
    /// did. The bit reservoir meets the original stream at both ends:
    /// - before `a`: the first new frame takes `main_data_begin` bytes from the frames before
    ///   it. In the original stream the last `main_data_begin(a)` bytes before frame `a` are
    ///   frame `a`'s own data (the reservoir runs forwards, so no earlier frame reads them);
    ///   with frame `a` replaced they are free, and the bytes the new frame borrows are written
    ///   there, into the tail of the original frames before `a` (which decode as before, their
    ///   own data untouched). When the new frame borrows more than that, the span starts a
    ///   frame earlier (up to [`MIX_EARLIER`] times);
    /// - after `b`: as at the start, the bytes frame `b` borrows are written into the unused
    ///   end of the new frames' main data, the span growing (up to [`MIX_TRIES`] frames) until
    ///   they fit.
    ///
    /// Re-encoding up to a frame whose `main_data_begin` is 0 instead would seldom end: LAME
    /// keeps its reservoir in use in nearly every frame.
    fn run_at(&self, src: &mut Source, rendered: &Rendered, ducking: &Ducking, p: u64) -> Result<Insert> {
        let spf = self.header.samples();
        let n = self.walk.frames.len();
        let ramp = self.spec.frame_at(ducking.ramp.as_secs_f64());
        let raw = p + self.lead + self.priming;
        let a0 = ((raw.saturating_sub(ramp)) / spf).saturating_sub(1) as usize;
        let first_b = (((raw + rendered.frames() + ramp).div_ceil(spf)) as usize + 1).min(n);
        let last_b = (first_b + MIX_TRIES).min(n);
        let tools = ffmpeg::tools()?;
        let codec = self.codec();
        let codec: Vec<&str> = codec.iter().map(String::as_str).collect();
        let w = MIX_WARM_UP;
        for a in (a0.saturating_sub(MIX_EARLIER).max(1)..=a0).rev() {
            // Content sample fed first: new frame `w` then decodes to original frame `a`.
            let base = (a as i64 - w as i64) * spf as i64 - self.lead as i64 + LAME_LEAD as i64;
            let fed = (w + (last_b - a) + 2) as u64 * spf;
            let mut pcm = ffmpeg::decode_window(&tools, self.path, self.spec.channels, base, fed)?;
            let cue_at = u64::try_from((p + self.priming) as i64 - base)
                .map_err(|_| Error::malformed(FORMAT, 0, "a cue before its re-encoded span"))?;
            Mixer::new(rendered, self.spec, vec![cue_at], ducking)?.apply(&mut pcm)?;
            let encoded = ffmpeg::encode_pcm(&tools, &pcm, self.spec, &codec, "mp3")?;
            let Some((bytes, lens)) = frames_of(&encoded, self.header) else {
                return Err(Error::unsupported("mp3", "LAME re-encoded the span in another layout"));
            };
            let offsets: Vec<usize> = lens
                .iter()
                .scan(0usize, |at, &l| {
                    let o = *at;
                    *at += l as usize;
                    Some(o)
                })
                .collect();
            let Some(&start) = offsets.get(w) else {
                return Err(Error::unsupported("mp3", "LAME made fewer frames than it was fed"));
            };
            let tail = bytes.get(start..).unwrap_or_default();
            let borrows = Header::parse(tail)
                .and_then(|h| h.main_data_begin(tail))
                .map_or(0, usize::from);
            let free = self.walk.frames.get(a).map_or(0, |f| usize::from(f.main_data_begin));
            if borrows > free {
                continue;
            }
            let Some(borrowed) = main_data_tail(
                bytes.get(..start).unwrap_or_default(),
                lens.get(..w).unwrap_or_default(),
                borrows,
            ) else {
                continue;
            };
            let (patched, patched_lens) = self.patch_before(src, a, &borrowed)?;
            let k = patched_lens.len();
            for b in first_b..=last_b {
                let Some(&end) = offsets
                    .get(w + b - a)
                    .or((lens.len() == w + b - a).then_some(&bytes.len()))
                else {
                    break;
                };
                let mut frames = patched.clone();
                frames.extend_from_slice(bytes.get(start..end).unwrap_or_default());
                let mut frame_lens = patched_lens.clone();
                frame_lens.extend_from_slice(lens.get(w..w + b - a).unwrap_or_default());
                let need = self.walk.frames.get(b).map_or(0, |f| usize::from(f.main_data_begin));
                let reservoir = reservoir_before(src, self.walk, b, need)?;
                let fits = write_reservoir(&mut frames, &frame_lens, &reservoir)
                    || (!self.cbr
                        && enlarge_last(&mut frames, &mut frame_lens)
                        && write_reservoir(&mut frames, &frame_lens, &reservoir));
                if fits {
                    return Ok(Insert {
                        at: a - k,
                        replace: b - (a - k),
                        bytes: frames,
                        lens: frame_lens,
                    });
                }
            }
        }
        Err(Error::unsupported(
            "mp3",
            "no span around the cue whose bit reservoir meets the original frames: insert the cue instead",
        ))
    }

    /// The original frames before frame `a` whose main data areas end with the last
    /// `borrowed.len()` bytes before it, with those bytes replaced by `borrowed`, and their
    /// lengths (none when nothing is borrowed).
    fn patch_before(&self, src: &mut Source, a: usize, borrowed: &[u8]) -> Result<(Vec<u8>, Vec<u64>)> {
        let mut frames: Vec<Vec<u8>> = Vec::new();
        let mut covered = 0usize;
        for f in self.walk.frames.get(..a).unwrap_or_default().iter().rev() {
            if covered >= borrowed.len() {
                break;
            }
            src.seek_to(f.offset)?;
            let bytes = src.read_vec(
                u64::from(f.len),
                "MPEG audio frame",
                &aigc_label_core::Limits::default(),
            )?;
            let h = Header::parse(&bytes).ok_or_else(|| src.malformed("MPEG audio frame header"))?;
            covered += bytes.len().saturating_sub(h.xing());
            frames.push(bytes);
        }
        if covered < borrowed.len() {
            return Err(src.malformed("a frame's main_data_begin points before the first frame"));
        }
        frames.reverse();
        let lens: Vec<u64> = frames.iter().map(|f| f.len() as u64).collect();
        let mut joined = frames.concat();
        // The areas' bytes from the end backwards take the borrowed bytes from the end backwards.
        let mut rest = borrowed.iter().rev();
        let mut end = joined.len();
        for frame in frames.iter().rev() {
            let start = end - frame.len();
            let area_start = Header::parse(frame).map_or(frame.len(), |h| h.xing().min(frame.len()));
            for byte in joined
                .get_mut(start + area_start..end)
                .unwrap_or_default()
                .iter_mut()
                .rev()
            {
                match rest.next() {
                    Some(&b) => *byte = b,
                    None => break,
                }
            }
            end = start;
        }
        Ok((joined, lens))
    }
}

/// The last `n` bytes of the main data areas of `frames` (laid end to end, each `lens` long);
/// `None` when they hold fewer.
fn main_data_tail(frames: &[u8], lens: &[u64], n: usize) -> Option<Vec<u8>> {
    let mut areas: Vec<&[u8]> = Vec::new();
    let mut pos = 0usize;
    for &len in lens {
        let frame = frames.get(pos..pos + len as usize)?;
        let h = Header::parse(frame)?;
        areas.push(frame.get(h.xing()..)?);
        pos += len as usize;
    }
    let all: Vec<u8> = areas.concat();
    all.get(all.len().checked_sub(n)?..).map(<[u8]>::to_vec)
}

/// The frames LAME wrote (no Info frame asked for) and their lengths; `None` for a frame of
/// another layout.
fn frames_of(data: &[u8], header: &Header) -> Option<(Vec<u8>, Vec<u64>)> {
    let mut pos = 0;
    let mut lens = Vec::new();
    while let Some(h) = data.get(pos..).and_then(Header::parse) {
        if !h.same_stream(header) || pos + h.len > data.len() {
            return None;
        }
        lens.push(h.len as u64);
        pos += h.len;
    }
    Some((data.get(..pos)?.to_vec(), lens))
}

/// Turns the last frame of `frames` into one of the largest bitrate, its main data area grown by
/// zero bytes at the end (its data stays where it was); false when there is no such frame.
fn enlarge_last(frames: &mut Vec<u8>, lens: &mut [u64]) -> bool {
    let Some(last) = lens.last_mut() else {
        return false;
    };
    let Some(start) = frames.len().checked_sub(*last as usize) else {
        return false;
    };
    let Some(head) = frames.get(start..start + 4).and_then(|h| <[u8; 4]>::try_from(h).ok()) else {
        return false;
    };
    let mut big = head;
    big[2] = (big[2] & 0x0f) | 0xe0;
    let (Some(old), Some(new)) = (Header::parse(&head), Header::parse(&big)) else {
        return false;
    };
    if new.len <= old.len {
        return false;
    }
    if let Some(h) = frames.get_mut(start..start + 4) {
        h.copy_from_slice(&big);
    }
    frames.resize(frames.len() + (new.len - old.len), 0);
    *last = new.len as u64;
    true
}

/// Bits of main data the granules of the frame starting with `frame` use (the `part2_3_length`
/// fields of its side information, ISO/IEC 11172-3 2.4.1.7 and 13818-3 2.4.1.7).
fn main_data_bits(frame: &[u8], h: &Header) -> Option<u64> {
    let side = frame.get(h.side_info()..h.xing())?;
    let bit = |at: usize| -> Option<u64> { Some(u64::from((side.get(at / 8)? >> (7 - at % 8)) & 1)) };
    let read = |at: usize, n: usize| -> Option<u64> { (0..n).try_fold(0, |v, k| Some((v << 1) | bit(at + k)?)) };
    let nch = if h.mono { 1 } else { 2 };
    let (start, granules, per) = if h.version == 1 {
        (9 + if h.mono { 5 } else { 3 } + 4 * nch, 2, 59)
    } else {
        (8 + if h.mono { 1 } else { 2 }, 1, 63)
    };
    let mut total = 0;
    for g in 0..granules * nch {
        total += read(start + g * per, 12)?;
    }
    Some(total)
}

/// Writes `reservoir` into the last bytes of the main data of `frames` (laid end to end, each
/// `lens` long) when no frame's data reaches them; false when they are in use.
fn write_reservoir(frames: &mut [u8], lens: &[u64], reservoir: &[u8]) -> bool {
    // (offset of each frame's main data area in `frames`, its length), and where the data in
    // use ends, counted in main data bytes.
    let mut areas: Vec<(usize, usize)> = Vec::new();
    let (mut pos, mut main_before, mut used_end) = (0usize, 0usize, 0usize);
    for &len in lens {
        let len = len as usize;
        let Some(h) = frames.get(pos..).and_then(Header::parse) else {
            return false;
        };
        let Some(bits) = frames.get(pos..pos + len).and_then(|f| main_data_bits(f, &h)) else {
            return false;
        };
        let begin = frames
            .get(pos..)
            .and_then(|f| h.main_data_begin(f))
            .map_or(0, usize::from);
        // (The first frames' data may start before `frames`, in bytes written elsewhere.)
        used_end = used_end.max((main_before + bits.div_ceil(8) as usize).saturating_sub(begin));
        let area = len.saturating_sub(h.xing());
        areas.push((pos + h.xing(), area));
        main_before += area;
        pos += len;
    }
    if reservoir.is_empty() {
        return true;
    }
    let Some(from) = main_before.checked_sub(reservoir.len()) else {
        return false;
    };
    if from < used_end {
        return false;
    }
    // Scatter the bytes over the areas, from main data byte `from` on.
    let mut k = 0usize;
    let mut seen = 0usize;
    for (offset, area) in areas {
        for i in 0..area {
            if seen + i >= from {
                if let (Some(dst), Some(&b)) = (frames.get_mut(offset + i), reservoir.get(k)) {
                    *dst = b;
                    k += 1;
                }
            }
        }
        seen += area;
    }
    k == reservoir.len()
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
                    return Err(Error::parameter(
                        "audio",
                        format!("cue position {sample} is past the content's {content} frames"),
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
    /// Original frames from `at` on that the insert replaces (0 when inserting; the frames
    /// re-encoded under a mixed cue).
    replace: usize,
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
        from = (insert.at + insert.replace).max(from);
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
        return Err(Error::unsupported(
            "mp3",
            "MPEG audio frames too small to carry the bit reservoir",
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
pub(super) fn stamp(path: &Path, output: &mut dyn Write, cue: &Cue, at: &[At], mode: &Mode) -> Result<Stamped> {
    let mut file = std::fs::File::open(path)?;
    let mut src = Source::new(&mut file, FORMAT)?;
    let walk = walk(&mut src)?;
    let header = walk.first;
    let spec = PcmSpec::new(header.sample_rate, if header.mono { 1 } else { 2 });
    super::check_layout(&spec)?;
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
    let cbr = constant_bitrate(&mut src, &walk)?;
    let rendered = Rendered::new(cue, &spec)?;
    if let Mode::Mix(ducking) = mode {
        let job = MixJob {
            path,
            walk: &walk,
            header: &header,
            spec: &spec,
            lead,
            priming: 0,
            cbr,
        };
        let positions = resolve(at, &spec, content, rendered.frames(), mode)?;
        let (inserts, new_delay) = job.inserts(&mut src, &rendered, ducking, &positions)?;
        return write_out(&mut src, output, &walk, &inserts, new_delay, None).map(|()| Stamped {
            format: FORMAT,
            spec,
            cue_frames: rendered.frames(),
            input_frames: content,
            positions,
        });
    }
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
        inserts.push(Insert {
            at: k,
            replace: 0,
            bytes,
            lens,
        });
    }
    let new_delay = (positions.first() == Some(&0)).then_some(encoded.delay);
    let new_padding = (positions.last() == Some(&walk.frames.len())).then_some(encoded.padding);
    write_out(&mut src, output, &walk, &inserts, new_delay, new_padding)?;
    let spf_positions = positions
        .iter()
        .map(|&k| (k as u64 * spf).saturating_sub(lead).min(content))
        .collect();
    Ok(Stamped {
        format: FORMAT,
        spec,
        cue_frames: rendered.frames(),
        input_frames: content,
        positions: spf_positions,
    })
}

/// Writes the output: the leading tags, the Info frame corrected for `inserts` (frame and byte
/// counts, TOC; in the LAME extension the delay and padding when given, the music length and
/// CRC, the tag CRC), the audio with the inserts, and the trailer.
fn write_out(
    src: &mut Source,
    output: &mut dyn Write,
    walk: &Walk,
    inserts: &[Insert],
    new_delay: Option<u16>,
    new_padding: Option<u16>,
) -> Result<()> {
    let replaced = |i: &Insert| walk.frames.get(i.at..i.at + i.replace).unwrap_or_default();
    let added_frames: i64 = inserts.iter().map(|i| i.lens.len() as i64 - i.replace as i64).sum();
    let added_bytes: i64 = inserts
        .iter()
        .map(|i| i.bytes.len() as i64 - replaced(i).iter().map(|f| i64::from(f.len)).sum::<i64>())
        .sum();
    let too_big = || Error::unsupported("mp3", "the stamped MP3 would pass 4 GiB");
    let add = |v: u32, by: i64| u32::try_from(i64::from(v) + by).map_err(|_| too_big());

    // Leading tags, as they are.
    src.seek_to(0)?;
    src.copy_to(output, walk.start, "ID3v2 tags")?;
    if let Some((mut info, x)) = walk.info.clone() {
        let frames32 = add(read_u32(&info, x.frames).unwrap_or(0), added_frames)?;
        let bytes32 = add(read_u32(&info, x.bytes).unwrap_or(0), added_bytes)?;
        write_u32(&mut info, x.frames, frames32);
        write_u32(&mut info, x.bytes, bytes32);
        let bytes = u64::from(bytes32);
        if let Some(toc) = x.toc {
            let table = toc_for(walk, inserts, info.len() as u64, bytes);
            if let Some(t) = info.get_mut(toc..toc + 100) {
                t.copy_from_slice(&table);
            }
        }
        if let Some(lame) = x.lame {
            let (delay, padding) = x.delay_padding(&info).unwrap_or((0, 0));
            x.set_delay_padding(&mut info, new_delay.unwrap_or(delay), new_padding.unwrap_or(padding));
            let length = add(read_u32(&info, Some(lame + 28)).unwrap_or(0), added_bytes)?;
            write_u32(&mut info, Some(lame + 28), length);
            let mut sink = CrcSink(0);
            emit_audio(src, &mut sink, walk, inserts)?;
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
    emit_audio(src, output, walk, inserts)?;
    // Everything after the audio: ID3v1, an appended tag, APE.
    src.seek_to(walk.end)?;
    src.copy_rest(output, "MP3 trailer")?;
    Ok(())
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
        if inserts.iter().any(|i| k >= i.at && k < i.at + i.replace) {
            continue;
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
