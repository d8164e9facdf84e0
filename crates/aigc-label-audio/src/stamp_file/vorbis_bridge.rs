//! Vorbis packets from another container (a Matroska/WebM track) mixed into by the Ogg Vorbis
//! mixer (`vorbis_mix`), which works on Ogg pages.
//!
//! The packets are laid out as a temporary Ogg Vorbis stream (the three headers from the
//! track's `CodecPrivate`, granule positions from each packet's block size, as an Ogg muxer
//! would write them), the mixer re-encodes the pages under the cue there, and the packets of
//! its output are compared with the originals one by one: those that differ are the new
//! frames, each for the block at its place. The mixer keeps the stream's block grid where a run
//! meets it, so the packets before and after a run line up; a run whose new packets are more or
//! fewer than the old ones (libvorbis chose other block sizes inside it) cannot go into the
//! blocks one for one and is refused.

use std::io::{BufWriter, Write};
use std::path::Path;

use aigc_label_core::io::Source;
use aigc_label_core::{Error, Limits, Result};

use super::ogg::{Opened, Stored, load, paginate_with, read_pages};
use super::vorbis_mix::Blocks;
use super::{NewFrames, Stamped, folder_of};
use crate::cue::{At, Cue, Ducking};
use crate::ogg::page::BOS;

const FORMAT: &str = "vorbis";

/// Largest packet laid on one page (255 lacing values of 255 bytes, less one).
const MAX_PACKET: usize = 255 * 254;

/// Packets per run of pages written at a time.
const BATCH: usize = 64;

/// The three Vorbis headers of a Matroska `CodecPrivate` (Xiph lacing: the count less one, the
/// first two sizes in runs of 255, then the headers).
pub(super) fn xiph_headers(private: &[u8]) -> Result<[Vec<u8>; 3]> {
    let bad = || Error::malformed(FORMAT, 0, "Vorbis headers in CodecPrivate");
    let mut b = aigc_label_core::io::Bytes::new(private);
    if b.u8() != Some(2) {
        return Err(bad());
    }
    let mut sizes = [0usize; 2];
    for size in &mut sizes {
        loop {
            let v = b.u8().ok_or_else(bad)?;
            *size += usize::from(v);
            if v < 255 {
                break;
            }
        }
    }
    let ident = b.take(sizes[0]).ok_or_else(bad)?.to_vec();
    let comment = b.take(sizes[1]).ok_or_else(bad)?.to_vec();
    Ok([ident, comment, b.rest().to_vec()])
}

/// Mixes the cue into the Vorbis packets `packet(i)` (`count` of them) with `headers`,
/// through a temporary Ogg stream beside `out_path`. Returns what was stamped and the changed
/// packets by index.
pub(super) fn mix(
    headers: &[Vec<u8>; 3],
    count: usize,
    packet: &mut dyn FnMut(usize) -> Result<Vec<u8>>,
    out_path: &Path,
    cue: &Cue,
    at: &[At],
    ducking: &Ducking,
) -> Result<(Stamped, NewFrames)> {
    let [ident, comment, setup] = headers;
    if headers.iter().any(|h| h.len() > MAX_PACKET) {
        return Err(Error::unsupported(FORMAT, "Vorbis headers over 64 KiB"));
    }
    let blocks = Blocks::new(ident, setup)?;
    let limits = Limits::default();
    let folder = folder_of(out_path);
    // The stream as Ogg: the identification header alone on the first page, the other two on
    // the next, then the audio packets with their block centres as granule positions.
    let source = tempfile::NamedTempFile::new_in(folder)?;
    {
        let mut w = BufWriter::new(source.as_file());
        let serial = 1;
        let mut seq = 0u32;
        let mut put = |pages: Vec<Stored>, w: &mut dyn Write| -> Result<()> {
            for mut page in pages {
                if seq == 0 {
                    page.page.flags |= BOS;
                }
                page.page.seq = seq;
                seq += 1;
                w.write_all(&page.encode())?;
            }
            Ok(())
        };
        put(
            paginate_with(std::slice::from_ref(ident), &[0], serial, 0, None),
            &mut w,
        )?;
        put(
            paginate_with(&[comment.clone(), setup.clone()], &[0, 0], serial, 0, None),
            &mut w,
        )?;
        // The first audio packet is centred on the stream's start: it decodes to no samples.
        let (mut size, mut centre) = (0u64, 0u64);
        let mut batch = Vec::with_capacity(BATCH);
        let mut ends = Vec::with_capacity(BATCH);
        for i in 0..count {
            let p = packet(i)?;
            if p.len() > MAX_PACKET {
                return Err(Error::unsupported(FORMAT, "a Vorbis packet over 64 KiB"));
            }
            let s = blocks.size(&p)?;
            if i > 0 {
                centre += (size + s) / 4;
            }
            size = s;
            batch.push(p);
            ends.push(centre);
            if batch.len() == BATCH || i + 1 == count {
                let start = ends.first().copied().unwrap_or(centre);
                put(paginate_with(&batch, &ends, serial, start, None), &mut w)?;
                batch.clear();
                ends.clear();
            }
        }
        w.flush()?;
    }
    // The Ogg mixer, into a second temporary stream.
    let mixed = tempfile::NamedTempFile::new_in(folder)?;
    let stamped = {
        let mut input = std::fs::File::open(source.path())?;
        let mut src = Source::new(&mut input, "ogg")?;
        let pages = read_pages(&mut src, &limits, false)?;
        let opened = Opened {
            path: source.path(),
            src: &mut src,
            pages: &pages,
            ident,
        };
        let mut w = BufWriter::new(mixed.as_file());
        let stamped = super::vorbis_mix::vorbis(opened, &mut w, cue, at, ducking)?;
        w.flush()?;
        stamped
    };
    // Its packets against the originals.
    let mut output = std::fs::File::open(mixed.path())?;
    let mut src = Source::new(&mut output, "ogg")?;
    let pages = read_pages(&mut src, &limits, false)?;
    let mut carry = Vec::new();
    let mut new = Vec::new();
    let mut k = 0usize;
    for page in &pages {
        for p in load(&mut src, page, &limits)?.packets(&mut carry) {
            // Headers first (three), then the audio packets.
            if let Some(i) = k.checked_sub(3) {
                let old = if i < count { packet(i)? } else { Vec::new() };
                if old != p {
                    new.push((i, p));
                }
            }
            k += 1;
        }
    }
    if k != count + 3 {
        return Err(Error::unsupported(
            FORMAT,
            "libvorbis re-encoded the sound under the cue in more or fewer packets than the blocks it replaces",
        ));
    }
    Ok((
        Stamped {
            format: FORMAT,
            ..stamped
        },
        new,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xiph_laced_headers_come_apart() {
        let (ident, comment, setup) = (vec![1u8; 30], vec![3u8; 300], vec![5u8; 7]);
        let mut private = vec![2u8, 30, 255, 45];
        private.extend(ident.iter().chain(&comment).chain(&setup));
        assert_eq!(xiph_headers(&private).unwrap(), [ident, comment, setup]);
        assert!(xiph_headers(&private[..40]).is_err(), "cut short");
        assert!(xiph_headers(&[1, 0]).is_err(), "two headers");
        assert!(xiph_headers(&[2, 255, 255]).is_err(), "sizes running off the end");
    }
}
