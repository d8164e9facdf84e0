//! Extended XMP: XMP too large for one APP1 segment, split over APP1 segments that start with
//! `http://ns.adobe.com/xmp/extension/\0` (XMP Specification Part 3, 1.1.3.1).
//!
//! Each portion carries the 32-character GUID of the whole extended packet, the packet's full
//! length and the portion's offset (both big-endian `u32`). The main packet names the GUID in
//! `xmpNote:HasExtendedXMP`. A label hidden here escapes readers that only look at the main
//! packet, so the carrier reassembles every GUID's portions and searches them too.
//!
//! Memory is bounded: the portions of all packets together may not exceed
//! [`Limits::max_metadata_bytes`]; a declared full length is never used to allocate.

use std::collections::BTreeMap;
use std::ops::Range;

use aigc_label_core::{Error, Limits, Result};

use super::FORMAT;

/// The APP1 identifier of an Extended XMP portion.
pub(super) const SIGNATURE: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";
const GUID_LEN: usize = 32;
const HEADER_LEN: usize = GUID_LEN + 8;

/// One portion, as read from its segment.
#[derive(Debug)]
struct Portion {
    guid: [u8; GUID_LEN],
    full_len: u32,
    offset: u32,
    /// The APP1 payload; the portion's data starts at [`DATA_AT`].
    payload: Vec<u8>,
    segment: Range<u64>,
}

const DATA_AT: usize = SIGNATURE.len() + HEADER_LEN;

impl Portion {
    fn data(&self) -> &[u8] {
        self.payload.get(DATA_AT..).unwrap_or_default()
    }
}

/// One reassembled extended packet.
#[derive(Debug)]
pub(super) struct Packet {
    /// The GUID, as written (normally 32 upper-case hex digits).
    pub guid: String,
    /// The portions joined in offset order.
    pub data: Vec<u8>,
    /// True when the portions cover the declared full length without gaps.
    pub complete: bool,
    /// From the first portion's segment to the end of the last one's.
    pub range: Range<u64>,
}

/// Collects portions while the segments are walked.
#[derive(Debug, Default)]
pub(super) struct Collector {
    portions: Vec<Portion>,
    bytes: u64,
}

impl Collector {
    /// Keeps `payload` (an APP1 payload starting with [`SIGNATURE`]) from `segment`. A portion
    /// too short for its header is ignored: it holds no data.
    ///
    /// # Errors
    /// [`Error::Limit`] when the portions together exceed [`Limits::max_metadata_bytes`].
    pub fn add(&mut self, payload: Vec<u8>, segment: Range<u64>, limits: &Limits) -> Result<()> {
        let Some(header) = payload.get(SIGNATURE.len()..DATA_AT) else {
            return Ok(());
        };
        let (guid, numbers) = header.split_at(GUID_LEN);
        let (Ok(guid), Some(full_len), Some(offset)) = (guid.try_into(), be32(numbers, 0), be32(numbers, 4)) else {
            return Ok(());
        };
        self.bytes += payload.len() as u64;
        if self.bytes > limits.max_metadata_bytes {
            return Err(Error::Limit {
                format: FORMAT,
                offset: segment.start,
                what: "Extended XMP size",
                found: self.bytes,
                limit: limits.max_metadata_bytes,
            });
        }
        self.portions.try_reserve(1).map_err(|_| alloc_error(segment.start))?;
        self.portions.push(Portion {
            guid,
            full_len,
            offset,
            payload,
            segment,
        });
        Ok(())
    }

    /// The packets, one per GUID, in the order their first portion appeared.
    ///
    /// # Errors
    /// [`Error::Limit`] when memory for a packet cannot be reserved.
    pub fn packets(mut self) -> Result<Vec<Packet>> {
        let mut rank: BTreeMap<[u8; GUID_LEN], usize> = BTreeMap::new();
        for portion in &self.portions {
            let next = rank.len();
            rank.entry(portion.guid).or_insert(next);
        }
        // Stable sort: portions of one GUID at equal offsets stay in file order.
        self.portions
            .sort_by_key(|p| (rank.get(&p.guid).copied().unwrap_or(usize::MAX), p.offset));
        self.portions.chunk_by(|a, b| a.guid == b.guid).map(assemble).collect()
    }
}

/// Joins one GUID's portions (sorted by offset): duplicates and overlaps are skipped, a gap ends
/// the packet as incomplete.
fn assemble(group: &[Portion]) -> Result<Packet> {
    let full_len = group.first().map_or(0, |p| p.full_len);
    let total: usize = group.iter().map(|p| p.data().len()).sum();
    let mut data = Vec::new();
    let start = group.iter().map(|p| p.segment.start).min().unwrap_or(0);
    data.try_reserve_exact(total).map_err(|_| alloc_error(start))?;
    let mut next = 0u64;
    let mut gap = false;
    for portion in group {
        let offset = u64::from(portion.offset);
        if offset > next {
            gap = true;
            break;
        }
        let skip = usize::try_from(next - offset).unwrap_or(usize::MAX);
        if let Some(fresh) = portion.data().get(skip..) {
            data.extend_from_slice(fresh);
            next += fresh.len() as u64;
        }
    }
    Ok(Packet {
        guid: String::from_utf8_lossy(&group.first().map_or([0; GUID_LEN], |p| p.guid)).into_owned(),
        complete: !gap && next == u64::from(full_len) && group.iter().all(|p| p.full_len == full_len),
        data,
        range: start..group.iter().map(|p| p.segment.end).max().unwrap_or(start),
    })
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn alloc_error(offset: u64) -> Error {
    Error::Limit {
        format: FORMAT,
        offset,
        what: "memory for Extended XMP",
        found: 0,
        limit: 0,
    }
}

/// The GUID named by `xmpNote:HasExtendedXMP` in a main packet, as an attribute or an element;
/// `None` when the packet has none.
pub(super) fn referenced_guid(packet: &[u8]) -> Option<String> {
    const NAME: &[u8] = b"HasExtendedXMP";
    let at = packet.windows(NAME.len()).position(|w| w == NAME)? + NAME.len();
    // Skip `="`, `='` or `>` (and white space) to the value.
    let rest = packet.get(at..)?;
    let value_at = rest.iter().take(8).position(u8::is_ascii_hexdigit)?;
    let value = rest.get(value_at..value_at + GUID_LEN)?;
    value
        .iter()
        .all(u8::is_ascii_hexdigit)
        .then(|| String::from_utf8_lossy(value).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn portion(guid: &[u8; 32], full: u32, offset: u32, data: &[u8]) -> Vec<u8> {
        let mut p = SIGNATURE.to_vec();
        p.extend_from_slice(guid);
        p.extend(full.to_be_bytes());
        p.extend(offset.to_be_bytes());
        p.extend_from_slice(data);
        p
    }

    const G1: &[u8; 32] = b"0123456789ABCDEF0123456789ABCDEF";
    const G2: &[u8; 32] = b"FEDCBA9876543210FEDCBA9876543210";

    #[test]
    fn reassembles_out_of_order_and_duplicated_portions() {
        let limits = Limits::default();
        let mut c = Collector::default();
        c.add(portion(G1, 10, 5, b"56789"), 100..120, &limits).unwrap();
        c.add(portion(G2, 4, 0, b"ab"), 50..60, &limits).unwrap();
        c.add(portion(G1, 10, 0, b"01234"), 10..30, &limits).unwrap();
        c.add(portion(G1, 10, 3, b"3456"), 200..220, &limits).unwrap();
        c.add(b"http://ns.adobe.com/xmp/extension/\0short".to_vec(), 0..1, &limits)
            .unwrap();
        let packets = c.packets().unwrap();
        assert_eq!(packets.len(), 2);
        assert_eq!(packets[0].data, b"0123456789");
        assert!(packets[0].complete);
        assert_eq!(packets[0].range, 10..220);
        assert_eq!(packets[1].data, b"ab");
        assert!(!packets[1].complete);
    }

    #[test]
    fn a_gap_leaves_the_packet_incomplete() {
        let limits = Limits::default();
        let mut c = Collector::default();
        c.add(portion(G1, 10, 0, b"012"), 0..1, &limits).unwrap();
        c.add(portion(G1, 10, 5, b"56789"), 1..2, &limits).unwrap();
        let packets = c.packets().unwrap();
        assert_eq!(packets[0].data, b"012");
        assert!(!packets[0].complete);
    }

    #[test]
    fn obeys_the_metadata_limit() {
        let mut limits = Limits::default();
        limits.max_metadata_bytes = 200;
        let mut c = Collector::default();
        c.add(portion(G1, 1000, 0, &[b'x'; 100]), 0..1, &limits).unwrap();
        assert!(matches!(
            c.add(portion(G1, 1000, 100, &[b'x'; 100]), 1..2, &limits),
            Err(Error::Limit { .. })
        ));
    }

    #[test]
    fn finds_the_referenced_guid() {
        let attr = br#"<rdf:Description xmpNote:HasExtendedXMP="0123456789ABCDEF0123456789ABCDEF"/>"#;
        assert_eq!(
            referenced_guid(attr).as_deref(),
            Some("0123456789ABCDEF0123456789ABCDEF")
        );
        let elem = b"<xmpNote:HasExtendedXMP>0123456789ABCDEF0123456789ABCDEF</xmpNote:HasExtendedXMP>";
        assert_eq!(
            referenced_guid(elem).as_deref(),
            Some("0123456789ABCDEF0123456789ABCDEF")
        );
        assert_eq!(referenced_guid(b"HasExtendedXMP='12'"), None);
        assert_eq!(referenced_guid(b"<x/>"), None);
    }
}
