//! Ogg Opus and Ogg Vorbis: the cue goes in as Ogg pages of its own, and the input's pages keep
//! their packets byte for byte.
//!
//! - **Opus** (RFC 7845): the cue is encoded by libopus (through ffmpeg) with the stream's
//!   channel count, and its audio packets become pages of the *same* logical stream: before the
//!   first audio page (`start`), after the last one (`end`) or at the page boundary nearest a
//!   time in the middle. Opus packets need no stream-wide setup, so they mix freely. The pages
//!   after a cue get granule positions shifted by the cue's samples and new sequence numbers
//!   (and so new CRCs); their bodies are unchanged. At the start, `OpusHead`'s pre-skip becomes
//!   the cue's (the decoder now starts with the cue's encoder lookahead, and skips it); in the
//!   middle and at the end that lookahead (312 samples, 6.5 ms) plays before the cue; at the end, the last
//!   original page's granule position loses its end trimming (a page that is no longer last
//!   must count every sample of its packets) and the cue's last page carries the trimming and
//!   the end-of-stream flag.
//! - **Vorbis**: every audio packet is coded with the codebooks of the stream's setup header,
//!   and an encoder cannot be told to use another stream's codebooks, so the cue cannot join the
//!   stream. It goes in as a stream of its own, chained before (`start`) or after (`end`) the
//!   input (RFC 3533 section 4, "chaining"), which Vorbis players and ffmpeg play through. The
//!   input's packets are copied byte for byte; the granule positions of the link after the cue
//!   run on from the cue's (and so its pages get new CRCs). A cue in the middle of a Vorbis file would need the
//!   stream cut into two links, and is refused.
//!
//! `--mix` re-encodes the pages under the cue in the same stream (`super::ogg_mix` for Opus,
//! `super::vorbis_mix` for Vorbis).
//!
//! Headers other than `OpusHead` (`OpusTags` and the Vorbis comment and setup headers, with an
//! implicit label in a comment) are copied unchanged.

use std::io::Write;
use std::path::Path;

use aigc_label_core::io::Source;
use aigc_label_core::{Error, Limits, Result};

use super::{Stamped, ffmpeg};
use crate::cue::{At, Cue, Mode, PcmSpec, Rendered};
use crate::ogg::page::{CONTINUED, EOS, NO_GRANULE, Page};

const FORMAT: &str = "ogg";

/// A page with its body.
#[derive(Debug, Clone)]
pub(super) struct Stored {
    pub(super) page: Page,
    pub(super) body: Vec<u8>,
}

impl Stored {
    /// The complete packets that end on this page (a packet continued from earlier pages counts
    /// here, with only its last part in `body`).
    pub(super) fn packet_ends(&self) -> usize {
        self.page.lacing.iter().filter(|&&l| l < 255).count()
    }

    /// The page's packets, joined with `carry` (the unfinished packet of the pages before);
    /// leaves in `carry` the packet this page leaves unfinished.
    pub(super) fn packets(&self, carry: &mut Vec<u8>) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for (seg, ends) in self.page.segments(&self.body) {
            carry.extend_from_slice(seg);
            if ends {
                out.push(std::mem::take(carry));
            }
        }
        out
    }

    pub(super) fn encode(&self) -> Vec<u8> {
        self.page.encode(&self.body)
    }
}

/// Every page of the Ogg stream in `src`, checked to be one logical stream (at most
/// [`Limits::max_structures`]). With `bodies` false the bodies are left in the file (empty
/// here; [`load`] reads one), so a long file is never held in memory.
pub(super) fn read_pages(src: &mut Source, limits: &Limits, bodies: bool) -> Result<Vec<Stored>> {
    src.seek_to(0)?;
    let mut pages: Vec<Stored> = Vec::new();
    while !src.at_end() {
        if pages.len() as u64 >= limits.max_structures {
            return Err(Error::Limit {
                format: FORMAT,
                offset: src.pos(),
                what: "Ogg pages",
                found: pages.len() as u64,
                limit: limits.max_structures,
            });
        }
        let page = Page::read(src)?;
        let body = if bodies {
            src.read_vec(page.body_len(), "Ogg page body", limits)?
        } else {
            src.skip(page.body_len(), "Ogg page body")?;
            Vec::new()
        };
        if pages.first().is_some_and(|p| p.page.serial != page.serial) {
            return Err(Error::unsupported(
                "ogg",
                "stamp handles Ogg files with one logical stream (no chained or multiplexed streams)",
            ));
        }
        pages.push(Stored { page, body });
    }
    Ok(pages)
}

/// The page walk and header lookup, for [`super::fuzz_readers`].
pub(super) fn fuzz_pages(src: &mut Source, limits: &Limits) -> Result<usize> {
    let pages = read_pages(src, limits, false)?;
    if let Some(first) = pages.first() {
        let _ = load(src, first, limits)?.packets(&mut Vec::new());
    }
    first_audio_page(&pages, 2)
}

/// `page` (read by [`read_pages`] without its body) with its body.
pub(super) fn load(src: &mut Source, page: &Stored, limits: &Limits) -> Result<Stored> {
    src.seek_to(page.page.body_offset())?;
    let body = src.read_vec(page.page.body_len(), "Ogg page body", limits)?;
    Ok(Stored {
        page: page.page.clone(),
        body,
    })
}

/// Index of the first audio page: the page after the one on which header packet `headers`
/// (counted from 1) ends.
pub(super) fn first_audio_page(pages: &[Stored], headers: usize) -> Result<usize> {
    let mut ended = 0;
    for (i, p) in pages.iter().enumerate() {
        ended += p.packet_ends();
        if ended >= headers {
            return Ok(i + 1);
        }
    }
    Err(Error::malformed(
        FORMAT,
        0,
        "the Ogg stream ends inside its header packets",
    ))
}

/// The audio packets (after the two header packets) of an Opus stream read with its bodies.
pub(super) fn audio_packets(pages: &[Stored]) -> Result<Vec<Vec<u8>>> {
    let first = first_audio_page(pages, 2)?;
    let mut carry = Vec::new();
    Ok(pages
        .get(first..)
        .unwrap_or_default()
        .iter()
        .flat_map(|p| p.packets(&mut carry))
        .collect())
}

/// Samples (at 48 kHz) an Opus packet decodes to (RFC 6716 section 3.1); 0 for an empty or
/// malformed one.
pub(super) fn opus_samples(packet: &[u8]) -> u64 {
    let Some(&toc) = packet.first() else { return 0 };
    let config = toc >> 3;
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => packet.get(1).map_or(0, |c| u64::from(c & 0x3f)),
    };
    frame * frames
}

/// Stamps the Ogg file `input` into `output`.
pub(super) fn stamp(input: &Path, output: &mut dyn Write, cue: &Cue, at: &[At], mode: &Mode) -> Result<Stamped> {
    let limits = Limits::default();
    let mut file = std::fs::File::open(input)?;
    let mut src = Source::new(&mut file, FORMAT)?;
    let pages = read_pages(&mut src, &limits, false)?;
    let first = pages
        .first()
        .ok_or_else(|| Error::malformed(FORMAT, 0, "no Ogg page"))?;
    let ident = load(&mut src, first, &limits)?
        .packets(&mut Vec::new())
        .into_iter()
        .next()
        .ok_or_else(|| Error::malformed(FORMAT, 0, "no identification header"))?;
    let opus_stream = ident.starts_with(b"OpusHead");
    let vorbis_stream = ident.starts_with(b"\x01vorbis");
    let file = Opened {
        path: input,
        src: &mut src,
        pages: &pages,
        ident: &ident,
    };
    if let (Mode::Mix(ducking), true) = (mode, opus_stream || vorbis_stream) {
        let mix = if opus_stream {
            super::ogg_mix::opus
        } else {
            super::vorbis_mix::vorbis
        };
        return mix(file, output, cue, at, ducking);
    }
    if opus_stream {
        opus(file, output, cue, at)
    } else if vorbis_stream {
        vorbis(file, output, cue, at)
    } else {
        Err(Error::unsupported(
            "ogg",
            "stamp handles Ogg Opus and Ogg Vorbis (not this codec)",
        ))
    }
}

/// An Ogg file opened for stamping, as every stamper of a codec takes it: its path (for ffmpeg),
/// its source, its pages (headers read) and its identification header.
pub(super) struct Opened<'f, 'a> {
    pub(super) path: &'f Path,
    pub(super) src: &'f mut Source<'a>,
    pub(super) pages: &'f [Stored],
    pub(super) ident: &'f [u8],
}

/// The pages of the cue as ffmpeg encoded them, its identification header, and its audio
/// packets.
fn encode_ogg(rendered: &Rendered, codec: &[&str]) -> Result<(Vec<Stored>, Vec<u8>)> {
    let tools = ffmpeg::tools()?;
    encoded_pages(ffmpeg::encode_cue(&tools, rendered, codec, "ogg")?)
}

/// The pages of an Ogg stream ffmpeg wrote, and its identification header.
pub(super) fn encoded_pages(bytes: Vec<u8>) -> Result<(Vec<Stored>, Vec<u8>)> {
    let mut cursor = std::io::Cursor::new(bytes);
    let mut src = Source::new(&mut cursor, FORMAT)?;
    let pages = read_pages(&mut src, &Limits::default(), true)?;
    let ident = pages
        .first()
        .map(|p| p.packets(&mut Vec::new()))
        .and_then(|p| p.into_iter().next())
        .ok_or_else(|| Error::malformed(FORMAT, 0, "ffmpeg wrote no Ogg identification header"))?;
    Ok((pages, ident))
}

/// The layout an `OpusHead` declares (48 kHz, as Opus always decodes) and its pre-skip; a
/// multistream mapping (more than one Opus stream per packet) is refused, as the cue is
/// encoded as one stream.
pub(super) fn opus_head(ident: &[u8]) -> Result<(PcmSpec, u64)> {
    let channels = u16::from(
        *ident
            .get(9)
            .ok_or_else(|| Error::malformed(FORMAT, 0, "short OpusHead"))?,
    );
    let mapping = ident.get(18).copied().unwrap_or(0);
    if mapping != 0 && channels > 2 {
        return Err(Error::unsupported("ogg", "Opus with a multistream channel mapping"));
    }
    let spec = PcmSpec::new(48_000, channels);
    super::check_layout(&spec)?;
    Ok((spec, pre_skip_of(ident)))
}

/// The pre-skip of an `OpusHead` (0 when it is too short to hold one).
pub(super) fn pre_skip_of(ident: &[u8]) -> u64 {
    ident
        .get(10..12)
        .map_or(0, |b| u64::from(u16::from_le_bytes([b[0], b[1]])))
}

fn opus(file: Opened, output: &mut dyn Write, cue: &Cue, at: &[At]) -> Result<Stamped> {
    let Opened { src, pages, ident, .. } = file;
    let limits = Limits::default();
    let (spec, pre_skip) = opus_head(ident)?;
    let channels = spec.channels;
    let rendered = Rendered::new(cue, &spec)?;
    let (cue_pages, cue_ident) = encode_ogg(
        &rendered,
        &["-c:a", "libopus", "-b:a", "64k", "-ac", &channels.to_string()],
    )?;
    let cue_pre_skip = pre_skip_of(&cue_ident) as u16;
    // The cue's audio packets and their samples.
    let cue_packets = audio_packets(&cue_pages)?;
    let cue_total: u64 = cue_packets.iter().map(|p| opus_samples(p)).sum();
    // The cue's last granule position trims its encoder padding (when it ends the stream).
    let cue_end = cue_pages.last().map_or(cue_total, |p| p.page.granule);

    let audio = first_audio_page(pages, 2)?;
    let n = pages.len();
    let last_granule = pages.last().map_or(0, |p| p.page.granule);
    let content = last_granule.saturating_sub(pre_skip);
    // Where the cues go, as page indices (a cue at k goes before page k).
    let mut slots: Vec<usize> = Vec::new();
    for a in at {
        let k = match a {
            At::Start => audio,
            At::End => n,
            middle => {
                let sample = middle.frame_in(&spec, content).unwrap_or(0);
                if sample > content {
                    return Err(Error::parameter(
                        "audio",
                        format!("cue position {sample} is past the content's {content} samples"),
                    ));
                }
                // The first page boundary at or after the time (granule = samples before it).
                (audio..n)
                    .find(|&k| {
                        pages.get(k - 1).is_some_and(|p| {
                            p.page.granule != NO_GRANULE && p.page.granule >= sample.saturating_add(pre_skip)
                        })
                    })
                    .unwrap_or(n)
            }
        };
        slots.push(k);
    }
    slots.sort_unstable();
    slots.dedup();

    // The exact sample count at the end of the last page, for a page that stops being last.
    let untrimmed_end = {
        let before = pages
            .iter()
            .rev()
            .skip(1)
            .find(|p| p.page.granule != NO_GRANULE)
            .map_or(0, |p| p.page.granule);
        let last = match pages.last() {
            Some(p) => load(src, p, &limits)?,
            None => return Err(Error::malformed(FORMAT, 0, "no Ogg page")),
        };
        // A packet continued onto the last page ends there: only its end is on the page, but
        // its TOC byte (all opus_samples reads) is at its start, on an earlier page.
        let mut carry = Vec::new();
        if last.page.flags & CONTINUED != 0 {
            for p in pages.iter().rev().skip(1) {
                let body = load(src, p, &limits)?;
                let mut tail = Vec::new();
                body.packets(&mut tail);
                tail.extend_from_slice(&carry);
                carry = tail;
                if p.page.flags & CONTINUED == 0 || p.packet_ends() > 0 {
                    break;
                }
            }
        }
        let at_end: u64 = last.packets(&mut carry).iter().map(|p| opus_samples(p)).sum();
        before.saturating_add(at_end)
    };

    let serial = pages.first().map_or(0, |p| p.page.serial);
    let mut seq = 0u32;
    let mut shift = 0u64;
    let mut write = |out: &mut dyn Write, mut stored: Stored| -> Result<()> {
        stored.page.seq = seq;
        seq = seq.wrapping_add(1);
        out.write_all(&stored.encode())?;
        Ok(())
    };
    let cue_pages_for = |start_granule: u64, last: bool| -> Vec<Stored> {
        paginate_packets(
            &cue_packets,
            serial,
            start_granule,
            if last {
                Some(start_granule.saturating_add(cue_end))
            } else {
                None
            },
        )
    };
    let mut positions = Vec::new();
    for (k, p) in pages.iter().enumerate() {
        if slots.contains(&k) {
            let input_start = if k == audio {
                0
            } else {
                pages.get(k - 1).map_or(0, |p| p.page.granule)
            };
            let start = if k == audio {
                0
            } else {
                input_start.saturating_add(shift)
            };
            positions.push(input_start.saturating_sub(pre_skip).min(content));
            for page in cue_pages_for(start, false) {
                write(output, page)?;
            }
            shift = shift.saturating_add(cue_total);
        }
        let mut page = load(src, p, &limits)?;
        if k == 0 && slots.first() == Some(&audio) {
            // OpusHead: the stream now starts with the cue's encoder lookahead.
            if let Some(b) = page.body.get_mut(10..12) {
                b.copy_from_slice(&cue_pre_skip.to_le_bytes());
            }
        }
        if k >= audio && page.page.granule != NO_GRANULE {
            if k + 1 == n && slots.contains(&n) {
                page.page.granule = untrimmed_end;
                page.page.flags &= !EOS;
            }
            page.page.granule = page.page.granule.saturating_add(shift);
        }
        write(output, page)?;
    }
    if slots.contains(&n) {
        let start = untrimmed_end.saturating_add(shift);
        positions.push(content);
        for page in cue_pages_for(start, true) {
            write(output, page)?;
        }
    }
    Ok(Stamped {
        format: "opus",
        spec,
        cue_frames: rendered.frames(),
        input_frames: content,
        positions,
    })
}

/// Writes `pages` with granule positions past 0 moved on by `by` (CRCs recomputed).
fn write_shifted(output: &mut dyn Write, pages: &[Stored], by: u64) -> Result<()> {
    for p in pages {
        let mut p = p.clone();
        if p.page.granule != NO_GRANULE && p.page.granule > 0 {
            p.page.granule = p.page.granule.saturating_add(by);
        }
        output.write_all(&p.encode())?;
    }
    Ok(())
}

/// Lays `packets` out on pages of stream `serial`, each page as full as 255 lacing values allow
/// with whole packets, its granule position `start` plus the samples of the packets ending on
/// it. With `end`, the last page gets that granule position (end trimming) and `EOS`.
pub(super) fn paginate_packets(packets: &[Vec<u8>], serial: u32, start: u64, end: Option<u64>) -> Vec<Stored> {
    let ends: Vec<u64> = packets
        .iter()
        .scan(start, |at, p| {
            *at = at.saturating_add(opus_samples(p));
            Some(*at)
        })
        .collect();
    paginate_with(packets, &ends, serial, start, end)
}

/// [`paginate_packets`] with the granule position after each packet given (`ends`, one per
/// packet; `start` for a page before the first packet ends).
pub(super) fn paginate_with(
    packets: &[Vec<u8>],
    ends: &[u64],
    serial: u32,
    start: u64,
    end: Option<u64>,
) -> Vec<Stored> {
    let mut out = Vec::new();
    let mut granule = start;
    let mut lacing: Vec<u8> = Vec::new();
    let mut body = Vec::new();
    let flush = |lacing: &mut Vec<u8>, body: &mut Vec<u8>, granule: u64, out: &mut Vec<Stored>| {
        if !lacing.is_empty() {
            out.push(Stored {
                page: Page {
                    offset: 0,
                    flags: 0,
                    granule,
                    serial,
                    seq: 0,
                    crc: 0,
                    lacing: std::mem::take(lacing),
                },
                body: std::mem::take(body),
            });
        }
    };
    for (packet, &after) in packets.iter().zip(ends) {
        let segments = packet.len() / 255 + 1;
        if lacing.len() + segments > 255 {
            flush(&mut lacing, &mut body, granule, &mut out);
        }
        lacing.extend(std::iter::repeat_n(255u8, packet.len() / 255));
        lacing.push((packet.len() % 255) as u8);
        body.extend_from_slice(packet);
        granule = after;
    }
    flush(&mut lacing, &mut body, granule, &mut out);
    if let (Some(end), Some(last)) = (end, out.last_mut()) {
        last.page.granule = end;
        last.page.flags |= EOS;
    }
    out
}

/// The layout a Vorbis identification header declares.
pub(super) fn vorbis_head(ident: &[u8]) -> Result<PcmSpec> {
    let field = |r: std::ops::Range<usize>| {
        ident
            .get(r)
            .ok_or_else(|| Error::malformed(FORMAT, 0, "short Vorbis identification header"))
    };
    let channels = u16::from(field(11..12)?[0]);
    let rate = u32::from_le_bytes(
        field(12..16)?
            .try_into()
            .map_err(|_| Error::malformed(FORMAT, 0, "Vorbis"))?,
    );
    let spec = PcmSpec::new(rate, channels);
    super::check_layout(&spec)?;
    Ok(spec)
}

fn vorbis(file: Opened, output: &mut dyn Write, cue: &Cue, at: &[At]) -> Result<Stamped> {
    let Opened { src, pages, ident, .. } = file;
    let limits = Limits::default();
    let spec = vorbis_head(ident)?;
    let rendered = Rendered::new(cue, &spec)?;
    // A link of its own needs no particular bitrate: a middling quality keeps the tone edges.
    let ch = spec.channels.to_string();
    let codec = ["-c:a", "libvorbis", "-ac", &ch, "-q:a", "5"];
    let (mut cue_pages, _) = encode_ogg(&rendered, &codec)?;
    let serial = pages.first().map_or(0, |p| p.page.serial);
    // The cue link gets a serial number of its own (chained links must differ).
    let cue_serial = if cue_pages.first().map(|p| p.page.serial) == Some(serial) {
        serial ^ 0x5a5a_5a5a
    } else {
        cue_pages.first().map_or(1, |p| p.page.serial)
    };
    for p in &mut cue_pages {
        p.page.serial = cue_serial;
    }
    let (before, after) = match at {
        [At::Start] => (true, false),
        [At::End] => (false, true),
        [At::Start, At::End] | [At::End, At::Start] => (true, true),
        _ => {
            return Err(Error::unsupported(
                "ogg",
                "a cue in the middle of Ogg Vorbis: use start or end (the cue is chained as its own stream)",
            ));
        }
    };
    // Granule positions run on across the links (each link's first page says where it starts),
    // so that timestamps stay monotonic and the file's duration, read from its last page, is the
    // sum of both; a link starting past 0 is allowed (Vorbis I section A.2).
    let cue_end = cue_pages.last().map_or(0, |p| p.page.granule);
    let total = pages.last().map_or(0, |p| p.page.granule);
    let mut positions = Vec::new();
    if before {
        write_shifted(output, &cue_pages, 0)?;
        positions.push(0);
    }
    let shift = if before { cue_end } else { 0 };
    for p in pages {
        // A page with no shift is copied as stored (its CRC too, right or wrong).
        if shift == 0 {
            src.seek_to(p.page.offset)?;
            src.copy_to(output, p.page.end() - p.page.offset, "Ogg page")?;
        } else {
            write_shifted(output, &[load(src, p, &limits)?], shift)?;
        }
    }
    if after {
        write_shifted(output, &cue_pages, total.saturating_add(shift))?;
        positions.push(total);
    }
    Ok(Stamped {
        format: "vorbis",
        spec,
        cue_frames: rendered.frames(),
        input_frames: total,
        positions,
    })
}
