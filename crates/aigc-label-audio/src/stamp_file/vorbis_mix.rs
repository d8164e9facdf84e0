//! `--mix` into Ogg Vorbis: only the pages under the cue are re-encoded, in the same stream.
//!
//! A Vorbis packet is coded with the codebooks of its stream's setup header, and an encoder
//! cannot be handed another stream's codebooks. But libvorbis (the encoder nearly every Vorbis
//! file comes from) builds its setup header from its rate settings alone, for a given rate
//! and channel count: the setting whose setup header is byte for byte the stream's is found by
//! encoding a moment of silence at each quality step and at the bitrates the stream declares
//! (a stream made at a set bitrate, see [`managed`]), and packets encoded at that setting
//! decode with the stream's own headers. A stream whose setup header no setting reproduces is
//! refused.
//!
//! The run of pages under each cue (see `super::ogg_mix`, whose run selection and page writer
//! this shares) is decoded, mixed and re-encoded with [`WARM_UP`] of the sound before it. A
//! Vorbis packet's samples depend on its block size and its neighbour's (a packet ends at its
//! block's centre), so the new packets must stand on the stream's block grid where they meet
//! it: the new block before the first kept new packet has the centre and size of the original
//! block before the run, the last kept new block those of the run's last original block, and
//! the blocks either side of each join agree with the window shapes their neighbours were coded
//! for. Each packet's block size is read from its mode, against the modes at the end of the
//! setup header. Granule positions (a packet's block centre) are kept, so timing and length do
//! not change; every page outside the run is copied byte for byte.

use std::io::Write;
use std::path::Path;

use aigc_label_core::io::Source;
use aigc_label_core::{Error, Limits, Result};

use super::ogg::{Opened, Stored, encoded_pages, first_audio_page, load, paginate_with, vorbis_head};
use super::ogg_mix::{Run, Stream, same_pages};
use super::{Stamped, ffmpeg};
use crate::cue::{At, Cue, Ducking, Mixer, PcmSpec, Rendered};
use crate::ogg::page::CONTINUED;

const FORMAT: &str = "ogg";

/// Long blocks of the original sound the encoder is fed before a run (their packets dropped).
const WARM_UP: u64 = 8;

/// Most bytes of pages a run may hold (a minute of Vorbis at its highest quality is under 4 MiB).
const MAX_RUN_BYTES: u64 = 16 << 20;

/// libvorbis quality settings tried, most common first.
const QUALITIES: [&str; 12] = ["3", "5", "4", "6", "2", "1", "0", "7", "8", "9", "10", "-1"];

/// The block flag of each mode of a Vorbis setup header (Vorbis I section 4.2.4, the last field
/// before the framing bit). The modes are read backwards from the framing bit, as the fields
/// before them (codebooks, floors, residues) can only be read by decoding them: each mode is 41
/// bits (block flag, a window type and a transform type of 16 zero bits each, a mapping number),
/// preceded by the mode count less one in 6 bits. `None` when no count fits.
fn mode_blockflags(setup: &[u8]) -> Option<Vec<bool>> {
    let bit = |i: usize| -> Option<bool> { Some((setup.get(i / 8)? >> (i % 8)) & 1 == 1) };
    let bits =
        |i: usize, n: usize| -> Option<u64> { (0..n).try_fold(0u64, |v, k| Some(v | (u64::from(bit(i + k)?) << k))) };
    let last = *setup.last().filter(|&&b| b != 0)?;
    let framing = (setup.len() - 1) * 8 + (7 - last.leading_zeros() as usize);
    let mut candidates = 0;
    while candidates < 64 {
        let Some(start) = framing.checked_sub(41 * (candidates + 1)) else {
            break;
        };
        if bits(start + 1, 32)? != 0 {
            break;
        }
        candidates += 1;
    }
    (1..=candidates).rev().find_map(|count| {
        let start = framing.checked_sub(41 * count + 6)?;
        (bits(start, 6)? == count as u64 - 1).then(|| {
            (0..count)
                .map(|m| bit(framing - 41 * (count - m)).unwrap_or(false))
                .collect()
        })
    })
}

/// A Vorbis stream's block sizes and modes, to size its packets.
pub(super) struct Blocks {
    short: u64,
    long: u64,
    modes: Vec<bool>,
}

impl Blocks {
    pub(super) fn new(ident: &[u8], setup: &[u8]) -> Result<Blocks> {
        let sizes = *ident
            .get(28)
            .ok_or_else(|| Error::malformed(FORMAT, 0, "short Vorbis identification header"))?;
        let modes = mode_blockflags(setup)
            .ok_or_else(|| Error::unsupported("ogg", "a Vorbis setup header whose modes cannot be read"))?;
        Ok(Blocks {
            short: 1 << (sizes & 0x0f).min(13),
            long: 1 << (sizes >> 4).min(13),
            modes,
        })
    }

    /// The block size of an audio packet: its mode's (the bits after the packet-type bit, as
    /// many as the mode count needs).
    pub(super) fn size(&self, packet: &[u8]) -> Result<u64> {
        let bad = || Error::malformed(FORMAT, 0, "a Vorbis audio packet of no known mode");
        let first = *packet.first().ok_or_else(bad)?;
        if first & 1 != 0 {
            return Err(bad());
        }
        let width = usize::BITS - self.modes.len().saturating_sub(1).leading_zeros();
        let word = u16::from(first) | (u16::from(packet.get(1).copied().unwrap_or(0)) << 8);
        let mode = usize::from((word >> 1) & ((1u16 << width) - 1));
        Ok(if *self.modes.get(mode).ok_or_else(bad)? {
            self.long
        } else {
            self.short
        })
    }

    /// Each packet's block size, and its centre (its granule position) when the block before
    /// the first has size `before` and centre `at`.
    fn centres(&self, packets: &[Vec<u8>], before: u64, at: u64) -> Result<Vec<(u64, u64)>> {
        let mut out = Vec::with_capacity(packets.len());
        let (mut size, mut centre) = (before, at);
        for p in packets {
            let s = self.size(p)?;
            centre += (size + s) / 4;
            size = s;
            out.push((s, centre));
        }
        Ok(out)
    }
}

/// The packets of pages `range`, whole (the first page must start a packet), per page.
fn page_packets(
    src: &mut Source,
    pages: &[Stored],
    range: std::ops::Range<usize>,
    limits: &Limits,
) -> Result<Vec<Vec<Vec<u8>>>> {
    let mut carry = Vec::new();
    let mut out = Vec::new();
    for p in pages.get(range).unwrap_or_default() {
        out.push(load(src, p, limits)?.packets(&mut carry));
    }
    Ok(out)
}

/// The last packet ending on page `k` (read from the page it starts on).
fn last_packet_on(src: &mut Source, pages: &[Stored], audio: usize, k: usize, limits: &Limits) -> Result<Vec<u8>> {
    let mut from = k;
    while from > audio
        && pages
            .get(from)
            .is_some_and(|p| p.page.flags & CONTINUED != 0 && p.packet_ends() <= 1)
    {
        from -= 1;
    }
    page_packets(src, pages, from..k + 1, limits)?
        .into_iter()
        .flatten()
        .next_back()
        .ok_or_else(|| Error::malformed(FORMAT, 0, "no Vorbis packet before the cue"))
}

/// The bitrates an identification header declares (Vorbis I §4.2.2): maximum, nominal and
/// minimum, each 0 or -1 when unset.
fn declared_bitrates(ident: &[u8]) -> [i32; 3] {
    let at = |i: usize| {
        ident
            .get(i..i + 4)
            .map_or(0, |b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    [at(16), at(20), at(24)]
}

/// ffmpeg's options for libvorbis's bitrate management at the bitrates `ident` declares, when
/// it declares a nominal one: what a stream made with `-b:a` (and `-minrate`/`-maxrate`) was
/// made with. libvorbis derives the setup header of a managed stream from a fractional setting
/// between its quality steps (44.1 kHz mono at 64 kbit/s sits between qualities 1 and 2 and has
/// a setup header neither makes), so the same bitrates are the way to get it back.
fn managed(ident: &[u8]) -> Option<Vec<String>> {
    let [max, nominal, min] = declared_bitrates(ident);
    if nominal <= 0 {
        return None;
    }
    let mut args = vec!["-b:a".to_string(), nominal.to_string()];
    if max > 0 {
        args.extend(["-maxrate".to_string(), max.to_string()]);
    }
    if min > 0 {
        args.extend(["-minrate".to_string(), min.to_string()]);
    }
    Some(args)
}

/// The libvorbis rate settings (ffmpeg options) whose setup header is `setup`, for `spec`:
/// a quality step, or the bitrates the identification header declares. A stream made at a
/// quality declares no minimum or maximum (0), one made at a bitrate -1 or the bitrate, so
/// the likelier kind is tried first.
fn settings(tools: &aigc_label_ffmpeg::Tools, spec: &PcmSpec, ident: &[u8], setup: &[u8]) -> Result<Vec<String>> {
    let silence = vec![0f32; usize::from(spec.channels) * 4096];
    let channels = spec.channels.to_string();
    let qualities = QUALITIES.iter().map(|q| vec!["-q:a".to_string(), (*q).to_string()]);
    let by_bitrate = managed(ident).into_iter();
    let [max, _, min] = declared_bitrates(ident);
    let candidates: Vec<Vec<String>> = if max == 0 && min == 0 {
        qualities.chain(by_bitrate).collect()
    } else {
        by_bitrate.chain(qualities).collect()
    };
    for rate in candidates {
        let mut codec = vec!["-c:a", "libvorbis", "-ac", &channels];
        codec.extend(rate.iter().map(String::as_str));
        // A bitrate libvorbis cannot manage at this rate and channel count fails to open.
        let Ok(bytes) = ffmpeg::encode_pcm(tools, &silence, spec, &codec, "ogg") else {
            continue;
        };
        let (pages, _) = encoded_pages(bytes)?;
        if headers(&pages)?.get(2).is_some_and(|s| s == setup) {
            return Ok(rate);
        }
    }
    Err(Error::unsupported(
        "ogg",
        "mixing into a Vorbis stream whose setup header neither a libvorbis quality step nor its declared bitrates \
         reproduce (another encoder or libvorbis version made it): insert the cue instead",
    ))
}

/// The header packets of a stream read with its bodies.
fn headers(pages: &[Stored]) -> Result<Vec<Vec<u8>>> {
    let audio = first_audio_page(pages, 3)?;
    let mut carry = Vec::new();
    Ok(pages
        .get(..audio)
        .unwrap_or_default()
        .iter()
        .flat_map(|p| p.packets(&mut carry))
        .collect())
}

/// Mixes `cue` into the Vorbis stream of `file` at `at`, writing the result to `output` (see
/// the module's text).
pub(super) fn vorbis(file: Opened, output: &mut dyn Write, cue: &Cue, at: &[At], ducking: &Ducking) -> Result<Stamped> {
    let Opened {
        path,
        src,
        pages,
        ident,
    } = file;
    let limits = Limits::default();
    let spec = vorbis_head(ident)?;
    let audio = first_audio_page(pages, 3)?;
    let setup = page_packets(src, pages, 0..audio, &limits)?
        .into_iter()
        .flatten()
        .nth(2)
        .ok_or_else(|| Error::malformed(FORMAT, 0, "no Vorbis setup header"))?;
    let blocks = Blocks::new(ident, &setup)?;
    let stream = Stream {
        pages,
        audio,
        pre_skip: 0,
        spec,
    };
    let mut mix = stream.mix(cue, at, ducking)?;
    let q = settings(&mix.tools, &spec, ident, &setup)?;
    let runs = &mut mix.runs;
    let mut replaced = Vec::with_capacity(runs.len());
    for i in 0..runs.len() {
        let mut tries = 0;
        let new_pages = loop {
            let Some(run) = runs.get(i) else { break Vec::new() };
            let (side, error) = match remix(
                &mix.tools,
                path,
                src,
                &stream,
                &blocks,
                run,
                &q,
                &mix.rendered,
                ducking,
                mix.content,
                &limits,
            )? {
                Remixed::Pages(pages) => break pages,
                Remixed::Missed(side, error) => (side, error),
            };
            // The run grows by a page on the side where the blocks missed, within its
            // neighbours.
            let lower = i.checked_sub(1).and_then(|j| runs.get(j)).map_or(stream.audio, |r| r.b);
            let upper = runs.get(i + 1).map_or(pages.len(), |r| r.a);
            let moved = match side {
                Side::Start => (lower..run.a).rev().find(|&k| stream.boundary(k)),
                Side::End => (run.b + 1..=upper).find(|&k| stream.boundary(k)),
            };
            tries += 1;
            match (moved, runs.get_mut(i)) {
                (Some(k), Some(run)) if tries <= MORE_PAGES => match side {
                    Side::Start => run.a = k,
                    Side::End => run.b = k,
                },
                _ => return Err(error),
            }
        };
        replaced.push(new_pages);
    }
    mix.finish(src, output, &stream, replaced, "vorbis", &limits)
}

/// Pages a run may grow by, on either side, when libvorbis's blocks miss the stream's there.
const MORE_PAGES: usize = 2;

/// Where a run's new blocks missed the stream's.
enum Side {
    Start,
    End,
}

/// What [`remix`] made of a run.
enum Remixed {
    Pages(Vec<Stored>),
    /// The new blocks do not meet the stream's at this end of the run.
    Missed(Side, Error),
}

/// The run's pages re-encoded with its cues mixed in.
#[allow(clippy::too_many_arguments)]
fn remix(
    tools: &aigc_label_ffmpeg::Tools,
    path: &Path,
    src: &mut Source,
    stream: &Stream,
    blocks: &Blocks,
    run: &Run,
    q: &[String],
    rendered: &Rendered,
    ducking: &Ducking,
    content: u64,
    limits: &Limits,
) -> Result<Remixed> {
    let pages = stream.pages;
    let n = pages.len();
    let unsupported = |what: &str| Error::unsupported("ogg", format!("mixing into Vorbis: {what}"));
    // The original block before the run, the run's packets, and the block after it.
    let start = stream
        .start(run.a)
        .ok_or_else(|| Error::malformed(FORMAT, 0, "no granule position before the cue"))?;
    let first_audio = run.a == stream.audio;
    let before = if first_audio {
        None
    } else {
        Some(blocks.size(&last_packet_on(src, pages, stream.audio, run.a - 1, limits)?)?)
    };
    // The run's packets are held in memory: a run of pages far larger than seconds of sound
    // take (a crafted file without granule positions) is refused before they are read.
    let bytes: u64 = pages
        .get(run.a..run.b)
        .unwrap_or_default()
        .iter()
        .map(|p| p.page.body_len())
        .sum();
    if bytes > MAX_RUN_BYTES {
        return Err(unsupported("pages under the cue that hold more than 16 MiB"));
    }
    let per_page = page_packets(src, pages, run.a..run.b, limits)?;
    let ends: Vec<usize> = per_page.iter().map(Vec::len).collect();
    let old: Vec<Vec<u8>> = per_page.into_iter().flatten().collect();
    let old_sizes: Vec<u64> = old.iter().map(|p| blocks.size(p)).collect::<Result<_>>()?;
    let after = if run.b < n {
        let first = page_packets(src, pages, run.b..run.b + 1, limits)?
            .into_iter()
            .flatten()
            .next()
            .ok_or_else(|| Error::malformed(FORMAT, 0, "no Vorbis packet after the cue"))?;
        Some(blocks.size(&first)?)
    } else {
        None
    };
    // The run's last centre: the granule position of its last page (at the stream's end, the
    // centres run on past the trimmed end).
    let old_centres = match before {
        Some(size) => blocks.centres(&old, size, start)?,
        // The stream's first packet is centred on its start (it decodes to no samples).
        None => {
            let first = old_sizes.first().copied().unwrap_or(blocks.short);
            let mut c = vec![(first, start)];
            c.extend(blocks.centres(old.get(1..).unwrap_or_default(), first, start)?);
            c
        }
    };
    let last = old_centres.last().map_or(start, |c| c.1);
    if run.b < n && pages.get(run.b - 1).map(|p| p.page.granule) != Some(last) {
        return Err(unsupported("granule positions that do not follow the block sizes"));
    }
    if last.saturating_sub(start) > 60 * u64::from(stream.spec.sample_rate) {
        return Err(unsupported("pages under the cue that hold more than 60 s"));
    }
    // The encoder's input: from WARM_UP long blocks before the run's start (its grid then
    // lands on the stream's: libvorbis starts with a short block centred on its first sample,
    // then long blocks; see the checks below), through a few long blocks past the run.
    let lead = (blocks.short + blocks.long) / 4 + WARM_UP * blocks.long / 2;
    let base = if first_audio { 0 } else { start as i64 - lead as i64 };
    let fed = (last as i64 - base) as u64 + 4 * blocks.long;
    let mut pcm = ffmpeg::decode_window(tools, path, stream.spec.channels, base, fed)?;
    let cues: Vec<u64> = run
        .cues
        .iter()
        .map(|&p| u64::try_from(p as i64 - base).map_err(|_| unsupported("a cue before its run")))
        .collect::<Result<_>>()?;
    Mixer::new(rendered, &stream.spec, cues, ducking)?.apply(&mut pcm)?;
    let channels = stream.spec.channels.to_string();
    let mut codec = vec!["-c:a", "libvorbis", "-ac", &channels];
    codec.extend(q.iter().map(String::as_str));
    let (encoded, _) = encoded_pages(ffmpeg::encode_pcm(tools, &pcm, &stream.spec, &codec, "ogg")?)?;
    let audio = first_audio_page(&encoded, 3)?;
    let mut carry = Vec::new();
    let new: Vec<Vec<u8>> = encoded
        .get(audio..)
        .unwrap_or_default()
        .iter()
        .flat_map(|p| p.packets(&mut carry))
        .collect();
    // Centres on the content's time line (the first new packet's block is centred on `base`).
    let new_sizes: Vec<u64> = new.iter().map(|p| blocks.size(p)).collect::<Result<_>>()?;
    let mut new_centres = vec![(new_sizes.first().copied().unwrap_or(0), base)];
    new_centres.extend(
        blocks
            .centres(
                new.get(1..).unwrap_or_default(),
                new_sizes.first().copied().unwrap_or(0),
                0,
            )?
            .into_iter()
            .map(|(s, c)| (s, (base + c as i64))),
    );
    let at = |centre: i64| new_centres.iter().position(|c| c.1 == centre);
    // The first kept new packet follows a new block like the original one before the run.
    let from = if first_audio {
        0
    } else {
        let missed = || {
            Remixed::Missed(
                Side::Start,
                unsupported("libvorbis's blocks missed the stream's before the cue"),
            )
        };
        let Some(k) = at(start as i64) else {
            return Ok(missed());
        };
        if Some(new_centres.get(k).map_or(0, |c| c.0)) != before || new_sizes.get(k + 1) != old_sizes.first() {
            return Ok(missed());
        }
        k + 1
    };
    // The last kept new packet: the run's last block, with the block after it alike.
    let to = match after {
        Some(next) => {
            let missed = || {
                Remixed::Missed(
                    Side::End,
                    unsupported("libvorbis's blocks missed the stream's after the cue"),
                )
            };
            let Some(k) = at(last as i64) else {
                return Ok(missed());
            };
            if new_sizes.get(k) != old_sizes.last() || new_sizes.get(k + 1) != Some(&next) {
                return Ok(missed());
            }
            k + 1
        }
        // At the stream's end: as many packets as the run had when they stand where its did,
        // else every packet up to the content's end.
        None => {
            let same = new_centres
                .get(from..from + old_centres.len())
                .is_some_and(|c| c.iter().zip(&old_centres).all(|(n, o)| n.1 == o.1 as i64));
            if same {
                from + old_centres.len()
            } else {
                new_centres
                    .iter()
                    .position(|c| c.1 >= content as i64)
                    .map_or(new.len(), |k| k + 1)
            }
        }
    };
    let kept = new.get(from..to).unwrap_or_default().to_vec();
    if kept.is_empty() || kept.iter().any(|p| p.len() >= 255 * 255) {
        return Err(unsupported("libvorbis re-encoded the run in no usable packets"));
    }
    let centres: Vec<u64> = new_centres
        .get(from..to)
        .unwrap_or_default()
        .iter()
        .map(|c| c.1.max(0) as u64)
        .collect();
    // The same pages when the packets line up one for one, else fresh ones.
    let originals = pages.get(run.a..run.b).unwrap_or_default();
    if centres.len() == old_centres.len()
        && centres.iter().zip(&old_centres).all(|(a, b)| *a == b.1)
        && let Some(same) = same_pages(originals, &ends, &kept)
    {
        return Ok(Remixed::Pages(same));
    }
    let serial = pages.first().map_or(0, |p| p.page.serial);
    let end = (run.b >= n).then_some(content);
    Ok(Remixed::Pages(paginate_with(&kept, &centres, serial, start, end)))
}

/// The Vorbis readers of the mix without ffmpeg, for [`super::fuzz_readers`]: the header
/// packets, the modes at the end of the setup header, and every audio packet's block size and
/// centre.
pub(super) fn fuzz(src: &mut Source, limits: &Limits) -> Result<usize> {
    let pages = super::ogg::read_pages(src, limits, false)?;
    let audio = first_audio_page(&pages, 3)?;
    let headers: Vec<Vec<u8>> = page_packets(src, &pages, 0..audio, limits)?
        .into_iter()
        .flatten()
        .collect();
    let (Some(ident), Some(setup)) = (headers.first(), headers.get(2)) else {
        return Ok(0);
    };
    let blocks = Blocks::new(ident, setup)?;
    let end = pages.len().min(audio + 4);
    let packets: Vec<Vec<u8>> = page_packets(src, &pages, audio..end, limits)?
        .into_iter()
        .flatten()
        .collect();
    Ok(blocks.centres(&packets, blocks.short, 0)?.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_read_back_from_the_framing_bit() {
        // Two modes (short, long) after some setup bits: count-1 = 1 in 6 bits, then per mode
        // a block flag, 32 zero bits and a mapping number of 8 bits, then the framing bit.
        let mut bits: Vec<bool> = vec![true, false, true, true, false]; // earlier fields
        let push = |bits: &mut Vec<bool>, v: u64, n: usize| bits.extend((0..n).map(|k| (v >> k) & 1 == 1));
        push(&mut bits, 1, 6);
        for (flag, mapping) in [(false, 0), (true, 1)] {
            push(&mut bits, u64::from(flag), 1);
            push(&mut bits, 0, 32);
            push(&mut bits, mapping, 8);
        }
        bits.push(true);
        let mut bytes = vec![0u8; bits.len().div_ceil(8)];
        for (i, b) in bits.iter().enumerate() {
            bytes[i / 8] |= u8::from(*b) << (i % 8);
        }
        assert_eq!(mode_blockflags(&bytes), Some(vec![false, true]));
        let blocks = Blocks {
            short: 256,
            long: 2048,
            modes: vec![false, true],
        };
        assert_eq!(blocks.size(&[0b10]).unwrap(), 2048);
        assert_eq!(blocks.size(&[0b00]).unwrap(), 256);
        assert!(blocks.size(&[1]).is_err(), "a header packet");
        assert!(mode_blockflags(&[]).is_none());
    }
}
