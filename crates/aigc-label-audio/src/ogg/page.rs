//! Ogg pages (RFC 3533 section 6): reading headers, checking and computing the page CRC, and
//! laying packets out on new pages.
//!
//! The page CRC is the direct (MSB-first, non-reflected) CRC-32 with polynomial `0x04C11DB7`,
//! initial value 0 and no final XOR, computed over the whole page with the CRC field zeroed. It
//! is not the reflected CRC-32 of zlib and `crc32fast`, so it has its own table here.

use std::ops::Range;

use aigc_label_core::io::Source;
use aigc_label_core::{Error, Result};

/// Header flag: the page starts with the continuation of a packet.
pub(crate) const CONTINUED: u8 = 0x01;
/// Header flag: first page of a logical stream.
pub(crate) const BOS: u8 = 0x02;
/// Header flag: last page of a logical stream.
pub(crate) const EOS: u8 = 0x04;
/// Bytes of the page header before the lacing values.
const FIXED: usize = 27;
/// Most lacing values on one page.
const MAX_SEGMENTS: usize = 255;
/// Offset of the CRC field in the page header.
const CRC_AT: usize = 22;
/// The granule position of a page on which no packet ends.
pub(crate) const NO_GRANULE: u64 = u64::MAX;

const CRC_TABLE: [u32; 256] = crc_table();

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut r = (i as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            r = if r & 0x8000_0000 != 0 {
                (r << 1) ^ 0x04c1_1db7
            } else {
                r << 1
            };
            bit += 1;
        }
        table[i] = r;
        i += 1;
    }
    table
}

/// The Ogg CRC of `parts` taken as one byte string.
pub(crate) fn crc(parts: &[&[u8]]) -> u32 {
    let mut c = 0u32;
    for part in parts {
        for &b in *part {
            c = (c << 8) ^ CRC_TABLE[usize::from((c >> 24) as u8 ^ b)];
        }
    }
    c
}

/// One page header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    /// Offset of the page in the stream (0 for pages built here).
    pub offset: u64,
    /// `CONTINUED`, `BOS`, `EOS`.
    pub flags: u8,
    /// Granule position.
    pub granule: u64,
    /// Logical stream serial number.
    pub serial: u32,
    /// Page sequence number.
    pub seq: u32,
    /// The CRC as stored.
    pub crc: u32,
    /// The lacing values.
    pub lacing: Vec<u8>,
}

impl Page {
    /// Reads a page header at the current position, leaving `src` at the page body.
    ///
    /// # Errors
    /// [`Error::Malformed`] without the `OggS` capture pattern or with a version other than 0;
    /// [`Error::Truncated`] when the header or body runs past the end; I/O errors.
    pub fn read(src: &mut Source) -> Result<Page> {
        let offset = src.pos();
        let head: [u8; FIXED] = src.read_array("Ogg page header")?;
        if &head[..4] != b"OggS" {
            return Err(Error::malformed("ogg", offset, "no OggS capture pattern"));
        }
        if head[4] != 0 {
            return Err(Error::malformed(
                "ogg",
                offset + 4,
                "Ogg stream structure version is not 0",
            ));
        }
        let u32_at = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        let nseg = usize::from(head[26]);
        let mut lacing = vec![0u8; nseg];
        let got = src.read_up_to(&mut lacing)?;
        if got < nseg {
            return Err(src.truncated("Ogg lacing values"));
        }
        let page = Page {
            offset,
            flags: head[5],
            granule: u64::from(u32_at(6)) | (u64::from(u32_at(10)) << 32),
            serial: u32_at(14),
            seq: u32_at(18),
            crc: u32_at(CRC_AT),
            lacing,
        };
        if page.body_len() > src.remaining() {
            return Err(Error::truncated("ogg", offset, "Ogg page body runs past the end"));
        }
        Ok(page)
    }

    /// Bytes in the page body.
    pub fn body_len(&self) -> u64 {
        self.lacing.iter().map(|&l| u64::from(l)).sum()
    }

    /// Offset of the page body.
    pub fn body_offset(&self) -> u64 {
        self.offset + (FIXED + self.lacing.len()) as u64
    }

    /// The file range of the page header, lacing values included.
    pub fn header_range(&self) -> Range<u64> {
        self.offset..self.body_offset()
    }

    /// The file range of the page sequence number and the CRC that follows it.
    pub fn seq_and_crc_range(&self) -> Range<u64> {
        self.offset + 18..self.offset + CRC_AT as u64 + 4
    }

    /// Offset just past the page.
    pub fn end(&self) -> u64 {
        self.body_offset() + self.body_len()
    }

    /// The header bytes with the CRC field as given.
    fn header_bytes(&self, crc: u32) -> Vec<u8> {
        let mut h = Vec::with_capacity(FIXED + self.lacing.len());
        h.extend_from_slice(b"OggS\0");
        h.push(self.flags);
        h.extend_from_slice(&self.granule.to_le_bytes());
        h.extend_from_slice(&self.serial.to_le_bytes());
        h.extend_from_slice(&self.seq.to_le_bytes());
        h.extend_from_slice(&crc.to_le_bytes());
        h.push(self.lacing.len() as u8);
        h.extend_from_slice(&self.lacing);
        h
    }

    /// The CRC this page should carry with `body`.
    pub fn compute_crc(&self, body: &[u8]) -> u32 {
        crc(&[&self.header_bytes(0), body])
    }

    /// True when the stored CRC matches `body`.
    pub fn crc_ok(&self, body: &[u8]) -> bool {
        self.compute_crc(body) == self.crc
    }

    /// The whole page, header and `body`, with a freshly computed CRC.
    pub fn encode(&self, body: &[u8]) -> Vec<u8> {
        let mut out = self.header_bytes(self.compute_crc(body));
        out.extend_from_slice(body);
        out
    }

    /// Splits `body` into segments: each is `(bytes, ends_a_packet)`.
    pub fn segments<'a>(&'a self, body: &'a [u8]) -> impl Iterator<Item = (&'a [u8], bool)> + 'a {
        let mut at = 0usize;
        self.lacing.iter().map(move |&l| {
            let end = (at + usize::from(l)).min(body.len());
            let seg = &body[at.min(end)..end];
            at = end;
            (seg, l < 255)
        })
    }
}

/// What the pages built by [`paginate`] share with the pages they replace.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Template {
    /// Logical stream serial number.
    pub serial: u32,
    /// Sequence number of the first page.
    pub first_seq: u32,
    /// Granule position of pages on which a packet ends.
    pub granule: u64,
    /// Set `EOS` on the last page.
    pub eos: bool,
}

/// Lays `packets` out on as few pages as the 255-lacing-value limit allows, the first packet
/// starting a fresh page and the last one ending its page (as header packets must). Pages on
/// which no packet ends get granule position -1 (RFC 3533 section 6).
pub(crate) fn paginate(packets: &[&[u8]], t: Template) -> Vec<Vec<u8>> {
    // Each lacing value with the packet bytes it covers.
    let mut segments: Vec<(u8, &[u8])> = Vec::new();
    for packet in packets {
        let mut rest = *packet;
        loop {
            let n = rest.len().min(255);
            let (seg, tail) = rest.split_at(n);
            segments.push((n as u8, seg));
            rest = tail;
            if n < 255 {
                break;
            }
        }
    }
    let chunks: Vec<&[(u8, &[u8])]> = segments.chunks(MAX_SEGMENTS).collect();
    let mut pages = Vec::with_capacity(chunks.len());
    let mut continued = false;
    for (i, chunk) in chunks.iter().enumerate() {
        let ends_packet = chunk.iter().any(|&(l, _)| l < 255);
        let mut flags = if continued { CONTINUED } else { 0 };
        if t.eos && i + 1 == chunks.len() {
            flags |= EOS;
        }
        let page = Page {
            offset: 0,
            flags,
            granule: if ends_packet { t.granule } else { NO_GRANULE },
            serial: t.serial,
            seq: t.first_seq.wrapping_add(i as u32),
            crc: 0,
            lacing: chunk.iter().map(|&(l, _)| l).collect(),
        };
        let body: Vec<u8> = chunk.iter().flat_map(|&(_, s)| s.iter().copied()).collect();
        pages.push(page.encode(&body));
        continued = chunk.last().is_some_and(|&(l, _)| l == 255);
    }
    pages
}

/// Where bytes `r` of the packet data laid out by [`paginate`] sit in `pages` taken as one byte
/// string: from the offset of the first byte to just past the last, taking in the page headers
/// in between. `None` when `r` is empty or past the data.
pub(crate) fn locate(pages: &[Vec<u8>], r: Range<usize>) -> Option<Range<u64>> {
    let last = r.end.checked_sub(1).filter(|&l| l >= r.start)?;
    let mut page_start = 0usize;
    let mut data_before = 0usize;
    let (mut start, mut end) = (None, None);
    for page in pages {
        let header = FIXED + usize::from(*page.get(26)?);
        let body = page.len().checked_sub(header)?;
        let at = |i: usize| {
            (i >= data_before && i - data_before < body).then(|| (page_start + header + i - data_before) as u64)
        };
        start = start.or_else(|| at(r.start));
        end = end.or_else(|| at(last).map(|e| e + 1));
        page_start += page.len();
        data_before += body;
    }
    Some(start?..end?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn crc_matches_the_ogg_reference_value() {
        // The Ogg CRC of "123456789" (CRC-32/MPEG-2 without its init and final xor:
        // CRC-32/BZIP2-like direct table, init 0) is 0x89A1897F.
        assert_eq!(crc(&[b"123456789"]), 0x89a1_897f);
        assert_eq!(crc(&[b"1234", b"56789"]), crc(&[b"123456789"]));
    }

    #[test]
    fn packets_of_255_multiples_get_a_zero_lacing_value() {
        let p = vec![7u8; 510];
        let pages = paginate(
            &[&p],
            Template {
                serial: 1,
                first_seq: 3,
                granule: 0,
                eos: false,
            },
        );
        assert_eq!(pages.len(), 1);
        let mut c = Cursor::new(&pages[0]);
        let mut src = Source::new(&mut c, "ogg").unwrap();
        let page = Page::read(&mut src).unwrap();
        assert_eq!(page.lacing, [255, 255, 0]);
        assert_eq!(page.seq, 3);
        assert!(page.crc_ok(&pages[0][30..]));
    }

    #[test]
    fn long_packets_span_pages_with_continued_flags() {
        let big = vec![1u8; 255 * 300];
        let small = [2u8; 10];
        let pages = paginate(
            &[&big, &small],
            Template {
                serial: 9,
                first_seq: 1,
                granule: 0,
                eos: true,
            },
        );
        assert_eq!(pages.len(), 2);
        let mut all = Vec::new();
        for bytes in &pages {
            let mut c = Cursor::new(bytes);
            let mut src = Source::new(&mut c, "ogg").unwrap();
            all.push(Page::read(&mut src).unwrap());
        }
        assert_eq!(all[0].flags, 0);
        assert_eq!(all[0].granule, NO_GRANULE);
        assert_eq!(all[1].flags, CONTINUED | EOS);
        assert_eq!(all[1].granule, 0);
        assert_eq!(all[1].seq, 2);
        assert_eq!(all[1].lacing.len(), 45 + 1 + 1);
        // The small packet's bytes are found on the second page, after its header.
        let at = 255 * 300;
        let second = pages[0].len() as u64;
        let header = 27 + 47;
        assert_eq!(
            locate(&pages, at..at + 10),
            Some(second + header + 45 * 255..second + header + 45 * 255 + 10)
        );
        // A range across the page boundary takes in the second page's header.
        let boundary = 255 * 255;
        assert_eq!(
            locate(&pages, boundary - 1..boundary + 1).map(|r| r.end - r.start),
            Some(2 + header)
        );
        assert_eq!(locate(&pages, 3..3), None);
    }

    #[test]
    fn truncated_and_foreign_pages_are_errors() {
        let page = paginate(
            &[b"abc"],
            Template {
                serial: 1,
                first_seq: 0,
                granule: 0,
                eos: false,
            },
        )
        .remove(0);
        for cut in [0, 10, 27, page.len() - 1] {
            let mut c = Cursor::new(&page[..cut]);
            let mut src = Source::new(&mut c, "ogg").unwrap();
            assert!(Page::read(&mut src).is_err(), "cut at {cut}");
        }
        let mut bad = page.clone();
        bad[4] = 1;
        let mut c = Cursor::new(&bad);
        assert!(Page::read(&mut Source::new(&mut c, "ogg").unwrap()).is_err());
    }
}
