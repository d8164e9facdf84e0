//! EBML (RFC 8794): variable-size integers, element headers read from a stream or a buffer,
//! and element writing.
//!
//! Element IDs are 1 to 4 bytes and sizes 1 to 8 (§4); a size of all ones is "unknown" (§6.2).
//! Every size is checked against the bytes the parent has left before it is used.

use std::ops::Range;

use aigc_label_core::io::Source;
use aigc_label_core::{Error, Result};

/// Format name used in errors.
pub(crate) const FORMAT: &str = "matroska";

/// Element IDs used here (Matroska specification, RFC 9559 §5.1).
pub(crate) mod id {
    pub const EBML: u32 = 0x1A45_DFA3;
    pub const SEGMENT: u32 = 0x1853_8067;
    pub const SEEK_HEAD: u32 = 0x114D_9B74;
    pub const SEEK: u32 = 0x4DBB;
    pub const SEEK_ID: u32 = 0x53AB;
    pub const SEEK_POSITION: u32 = 0x53AC;
    pub const VOID: u32 = 0xEC;
    pub const CRC32: u32 = 0xBF;
    pub const INFO: u32 = 0x1549_A966;
    pub const TRACKS: u32 = 0x1654_AE6B;
    pub const CLUSTER: u32 = 0x1F43_B675;
    pub const CUES: u32 = 0x1C53_BB6B;
    pub const CHAPTERS: u32 = 0x1043_A770;
    pub const ATTACHMENTS: u32 = 0x1941_A469;
    pub const TAGS: u32 = 0x1254_C367;
    pub const TAG: u32 = 0x7373;
    pub const TARGETS: u32 = 0x63C0;
    pub const TARGET_TYPE_VALUE: u32 = 0x68CA;
    pub const SIMPLE_TAG: u32 = 0x67C8;
    pub const TAG_NAME: u32 = 0x45A3;
    pub const TAG_STRING: u32 = 0x4487;
    // Track entries and blocks (the track writer and the video splice).
    pub const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
    pub const TRACK_ENTRY: u32 = 0xAE;
    pub const TRACK_NUMBER: u32 = 0xD7;
    pub const TRACK_TYPE: u32 = 0x83;
    pub const CLUSTER_TIMESTAMP: u32 = 0xE7;
    pub const SIMPLE_BLOCK: u32 = 0xA3;
    pub const BLOCK_GROUP: u32 = 0xA0;
    pub const BLOCK: u32 = 0xA1;
    pub const CODEC_ID: u32 = 0x86;
    pub const CODEC_PRIVATE: u32 = 0x63A2;
}

/// The IDs that end an unknown-size Cluster: any Segment child.
pub(crate) fn is_level1(i: u32) -> bool {
    matches!(
        i,
        id::SEEK_HEAD | id::INFO | id::TRACKS | id::CLUSTER | id::CUES | id::CHAPTERS | id::ATTACHMENTS | id::TAGS
    )
}

/// An element header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Element {
    /// The ID, marker bits included (as IDs are written).
    pub id: u32,
    /// Offset of the first ID byte.
    pub start: u64,
    /// ID and size bytes.
    pub hdr_len: u64,
    /// Data size; `None` when unknown.
    pub size: Option<u64>,
}

impl Element {
    /// Offset of the first data byte.
    pub fn data_start(&self) -> u64 {
        self.start + self.hdr_len
    }

    /// Offset just past the element (for a known size).
    pub fn end(&self) -> Option<u64> {
        self.size.map(|s| self.data_start() + s)
    }
}

/// Length of a variable-size integer from its first byte (1 to 8), or `None` for 0x00.
fn vint_len(first: u8) -> Option<usize> {
    (first != 0).then(|| first.leading_zeros() as usize + 1)
}

/// Decodes an element header from `bytes`; `None` when the bytes do not hold a whole header.
/// Errors for IDs longer than 4 bytes or sizes longer than 8 (the 0x00 first byte).
pub(crate) fn parse_header(bytes: &[u8], at: u64) -> Result<Option<(u32, usize, Option<u64>)>> {
    let bad = |what: &'static str| Error::malformed(FORMAT, at, what);
    let Some(&first) = bytes.first() else { return Ok(None) };
    let id_len = vint_len(first)
        .filter(|&l| l <= 4)
        .ok_or_else(|| bad("element ID longer than 4 bytes"))?;
    let Some(id_bytes) = bytes.get(..id_len) else {
        return Ok(None);
    };
    let id = id_bytes.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b));
    let Some(&size_first) = bytes.get(id_len) else {
        return Ok(None);
    };
    let size_len = vint_len(size_first).ok_or_else(|| bad("element size longer than 8 bytes"))?;
    let Some(size_bytes) = bytes.get(id_len..id_len + size_len) else {
        return Ok(None);
    };
    let mask = if size_len == 8 { 0 } else { 0xFFu8 >> size_len };
    let mut value = u64::from(size_first & mask);
    for &b in size_bytes.get(1..).unwrap_or_default() {
        value = (value << 8) | u64::from(b);
    }
    let all_ones = (1u64 << (7 * size_len)) - 1;
    let size = (value != all_ones).then_some(value);
    Ok(Some((id, id_len + size_len, size)))
}

/// Reads the element header at the source's position. A known size must end by `parent_end`.
pub(crate) fn read_element(src: &mut Source<'_>, parent_end: u64) -> Result<Element> {
    let el = read_element_unchecked(src)?;
    if el.end().is_some_and(|e| e > parent_end) {
        return Err(past_parent(&el));
    }
    Ok(el)
}

/// The error for an element whose size runs past its parent.
pub(crate) fn past_parent(el: &Element) -> Error {
    Error::truncated(FORMAT, el.start, format!("element {:X} runs past its parent", el.id))
}

/// Reads the element header at the source's position, whatever its size says; the caller
/// checks the size against the parent (and may cut it, see `matroska::segment`).
pub(crate) fn read_element_unchecked(src: &mut Source<'_>) -> Result<Element> {
    let start = src.pos();
    let mut head = [0u8; 12];
    let n = src.read_up_to(&mut head)?;
    let (id, hdr_len, size) = parse_header(head.get(..n).unwrap_or_default(), start)?
        .ok_or_else(|| Error::truncated(FORMAT, start, "element header"))?;
    let el = Element {
        id,
        start,
        hdr_len: hdr_len as u64,
        size,
    };
    src.seek_to(el.data_start())?;
    Ok(el)
}

/// A child element inside a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Child {
    /// The ID.
    pub id: u32,
    /// The whole element.
    pub range: Range<usize>,
    /// Its data.
    pub data: Range<usize>,
}

/// The children of the master element whose data is `buf[range]`; unknown sizes are refused
/// (only Segment and Cluster may have them, and neither is buffered). `at` is the buffer's
/// offset in the file, for messages.
pub(crate) fn children(buf: &[u8], range: Range<usize>, at: u64) -> Result<Vec<Child>> {
    let mut out = Vec::new();
    let mut pos = range.start;
    while let Some(child) = next_child(buf, pos, range.end, at)? {
        pos = child.range.end;
        out.push(child);
    }
    Ok(out)
}

/// The data of the first of `fields` (children read from `buf`) with id `id`; empty when there
/// is none.
pub(crate) fn field<'a>(buf: &'a [u8], fields: &[Child], id: u32) -> &'a [u8] {
    fields
        .iter()
        .find(|c| c.id == id)
        .and_then(|c| buf.get(c.data.clone()))
        .unwrap_or_default()
}

/// As [`children`], but stops quietly at the first child that cannot be read.
pub(crate) fn children_until_damaged(buf: &[u8], range: Range<usize>, at: u64) -> Vec<Child> {
    let mut out = Vec::new();
    let mut pos = range.start;
    while let Ok(Some(child)) = next_child(buf, pos, range.end, at) {
        pos = child.range.end;
        out.push(child);
    }
    out
}

/// The child element starting at `buf[pos]`, which must end by `end`; `None` at `end`.
fn next_child(buf: &[u8], pos: usize, end: usize, at: u64) -> Result<Option<Child>> {
    if pos >= end {
        return Ok(None);
    }
    let here = at + pos as u64;
    let rest = buf
        .get(pos..end)
        .ok_or_else(|| Error::malformed(FORMAT, at, "element range"))?;
    let (id, hdr, size) = parse_header(rest, here)?.ok_or_else(|| Error::truncated(FORMAT, here, "element header"))?;
    let size = size.ok_or_else(|| Error::malformed(FORMAT, here, "unknown size inside a buffered element"))?;
    let len = usize::try_from(size)
        .ok()
        .and_then(|s| s.checked_add(hdr))
        .filter(|&l| l <= rest.len())
        .ok_or_else(|| Error::malformed(FORMAT, here, "element runs past its parent"))?;
    Ok(Some(Child {
        id,
        range: pos..pos + len,
        data: pos + hdr..pos + len,
    }))
}

/// The bytes of an element ID (its natural width).
pub(crate) fn id_bytes(id: u32) -> Vec<u8> {
    let bytes = id.to_be_bytes();
    let skip = bytes.iter().position(|&b| b != 0).unwrap_or(3);
    bytes.get(skip..).unwrap_or_default().to_vec()
}

/// The smallest size width (1-8) that can hold `size` (all ones is reserved for "unknown").
pub(crate) fn size_width(size: u64) -> usize {
    (1..8).find(|&w| size < (1u64 << (7 * w)) - 1).unwrap_or(8)
}

/// `size` as a variable-size integer of exactly `width` bytes, if it fits.
pub(crate) fn size_bytes(size: u64, width: usize) -> Option<Vec<u8>> {
    if !(1..=8).contains(&width) || (width < 8 && size >= (1u64 << (7 * width)) - 1) {
        return None;
    }
    let mut out = size.to_be_bytes()[8 - width..].to_vec();
    if let Some(first) = out.first_mut() {
        *first |= 0x80 >> (width - 1);
    }
    Some(out)
}

/// An element with the smallest size field.
pub(crate) fn element(id: u32, data: &[u8]) -> Vec<u8> {
    element_sized(id, data, size_width(data.len() as u64)).unwrap_or_default()
}

/// An element whose size field is `width` bytes wide, if the size fits.
pub(crate) fn element_sized(id: u32, data: &[u8], width: usize) -> Option<Vec<u8>> {
    let mut out = id_bytes(id);
    out.extend_from_slice(&size_bytes(data.len() as u64, width)?);
    out.extend_from_slice(data);
    Some(out)
}

/// An unsigned integer element with the fewest bytes.
pub(crate) fn uint_element(id: u32, value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().position(|&b| b != 0).unwrap_or(7);
    element(id, bytes.get(skip..).unwrap_or_default())
}

/// Fills exactly `len` bytes: the element `id`/`data` followed by a Void for the rest, widening
/// the element's size field when one byte is left over (a Void needs at least two). `None` when
/// the element does not fit.
pub(crate) fn fill(id: u32, data: &[u8], len: usize) -> Option<Vec<u8>> {
    let min = size_width(data.len() as u64);
    let base = id_bytes(id).len() + data.len();
    for width in min..=8 {
        let used = base + width;
        let rest = len.checked_sub(used)?;
        if rest == 0 || rest >= 2 {
            let mut out = element_sized(id, data, width)?;
            out.extend_from_slice(&void(rest)?);
            return Some(out);
        }
    }
    None
}

/// Fills exactly `len` bytes with one element `id` whose data is `data` and then a Void for the
/// rest, inside it (widening the size field when one byte is left over); a leading CRC-32 child
/// is recomputed over the whole. `None` when `data` does not fit.
pub(crate) fn fill_inside(id: u32, data: &[u8], len: usize) -> Option<Vec<u8>> {
    let min = size_width(data.len() as u64);
    let base = id_bytes(id).len() + data.len();
    for width in min..=8 {
        let rest = len.checked_sub(base + width)?;
        if rest == 0 || rest >= 2 {
            let mut inner = data.to_vec();
            inner.extend_from_slice(&void(rest)?);
            fix_crc(&mut inner);
            if let Some(out) = element_sized(id, &inner, width) {
                return Some(out);
            }
        }
    }
    None
}

/// A Void element of exactly `len` bytes (0 gives nothing; 1 is impossible).
pub(crate) fn void(len: usize) -> Option<Vec<u8>> {
    if len == 0 {
        return Some(Vec::new());
    }
    (1..=8).find_map(|w| {
        let data = len.checked_sub(1 + w)?;
        let mut out = vec![0xEC];
        out.extend_from_slice(&size_bytes(data as u64, w)?);
        out.resize(len, 0);
        Some(out)
    })
}

/// Recomputes the CRC-32 child (RFC 9559 §6.2: IEEE CRC-32 of the parent's data after the
/// CRC element, little-endian) if the element data in `data` starts with one.
pub(crate) fn fix_crc(data: &mut [u8]) {
    if data.len() >= 6 && data[0] == 0xBF && data[1] == 0x84 {
        let crc = crc32fast::hash(&data[6..]);
        data[2..6].copy_from_slice(&crc.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_sizes() {
        assert_eq!(
            parse_header(&[0x1A, 0x45, 0xDF, 0xA3, 0x9F], 0).unwrap(),
            Some((id::EBML, 5, Some(31)))
        );
        assert_eq!(parse_header(&[0xEC, 0xFF], 0).unwrap(), Some((0xEC, 2, None)));
        assert_eq!(parse_header(&[0xEC, 0x40, 0x02], 0).unwrap(), Some((0xEC, 3, Some(2))));
        assert!(parse_header(&[0x08, 0x81], 0).is_err(), "5-byte ID");
        assert!(parse_header(&[0xEC, 0x00], 0).is_err(), "9-byte size");
        assert_eq!(parse_header(&[0x1A, 0x45], 0).unwrap(), None);
        assert_eq!(size_bytes(127, 1), None);
        assert_eq!(size_bytes(126, 1), Some(vec![0xFE]));
        assert_eq!(size_bytes(5, 8), Some(vec![1, 0, 0, 0, 0, 0, 0, 5]));
    }

    #[test]
    fn fill_and_void_cover_exact_lengths() {
        for len in 2..300 {
            assert_eq!(void(len).unwrap().len(), len);
            let v = void(len).unwrap();
            let (i, hdr, size) = parse_header(&v, 0).unwrap().unwrap();
            assert_eq!((i, hdr as u64 + size.unwrap()), (0xEC, len as u64));
        }
        assert_eq!(void(1), None);
        for len in 7..40 {
            let f = fill(id::TAGS, &[1, 2], len).unwrap();
            assert_eq!(f.len(), len, "fill {len}");
        }
        assert_eq!(fill(id::TAGS, &[1, 2], 6), None);
        assert_eq!(fill(id::TAGS, &[1, 2], 7).unwrap().len(), 7);
        assert_eq!(
            fill(id::TAGS, &[1, 2], 8).unwrap()[4],
            0x40,
            "one spare byte widens the size"
        );
    }

    #[test]
    fn fill_inside_covers_exact_lengths() {
        for len in 7..300 {
            let f = fill_inside(id::TAGS, &[0xEC, 0x80], len).unwrap();
            assert_eq!(f.len(), len, "fill_inside {len}");
            let (i, hdr, size) = parse_header(&f, 0).unwrap().unwrap();
            assert_eq!((i, hdr as u64 + size.unwrap()), (id::TAGS, len as u64));
            let kids = children(&f, hdr..f.len(), 0).unwrap();
            assert!(kids.iter().all(|k| k.id == 0xEC) && kids.len() <= 2);
        }
        assert_eq!(fill_inside(id::TAGS, &[1, 2], 6), None);
    }

    #[test]
    fn children_refuse_overruns() {
        let buf = [0xEC, 0x82, 0, 0, 0xEC, 0x85, 0];
        assert!(children(&buf, 0..4, 0).unwrap().len() == 1);
        assert!(children(&buf, 0..7, 0).is_err());
        assert_eq!(children_until_damaged(&buf, 0..7, 0).len(), 1);
        assert!(children(&buf, 0..9, 0).is_err(), "a range past the buffer");
    }
}
