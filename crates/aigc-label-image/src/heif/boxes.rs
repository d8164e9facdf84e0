//! ISO-BMFF box headers (ISO/IEC 14496-12 4.2): the top-level walk over a stream, and the walk
//! over the children of a box held in memory.

use std::ops::Range;

use aigc_label_core::io::{Bytes, Source};
use aigc_label_core::{Error, Limits, Result};

use super::FORMAT;

/// A box found in the stream or in a buffer. Positions are file offsets for top-level boxes
/// and buffer offsets for children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BoxRef {
    pub kind: [u8; 4],
    pub start: u64,
    /// Header length: 8, or 16 with a 64-bit size.
    pub header: u64,
    pub end: u64,
    /// The size field was 0: the box runs to the end of its container.
    pub open_ended: bool,
}

impl BoxRef {
    pub fn is(&self, kind: &[u8; 4]) -> bool {
        &self.kind == kind
    }

    /// The box's payload as a buffer range (for children of a buffered box).
    pub fn payload_in(&self) -> Range<usize> {
        usize::try_from(self.start + self.header).unwrap_or(usize::MAX)..usize::try_from(self.end).unwrap_or(usize::MAX)
    }

    pub fn range_in(&self) -> Range<usize> {
        usize::try_from(self.start).unwrap_or(usize::MAX)..usize::try_from(self.end).unwrap_or(usize::MAX)
    }

    /// Decodes a header from the first bytes of a box at `start` in a container ending at
    /// `limit`; `head` holds at least the bytes that remain, up to 16.
    fn parse(head: &[u8], start: u64, limit: u64) -> Result<BoxRef> {
        let mut b = Bytes::new(head);
        let (Some(size), Some(kind)) = (b.u32_be(), b.take(4)) else {
            return Err(Error::truncated(FORMAT, start, "box header"));
        };
        let mut kind_arr = [0u8; 4];
        kind_arr.copy_from_slice(kind);
        let (size, header, open_ended) = match size {
            0 => (limit - start, 8, true),
            1 => {
                let large = b
                    .u64_be()
                    .ok_or_else(|| Error::truncated(FORMAT, start, "64-bit box size"))?;
                (large, 16, false)
            }
            n => (u64::from(n), 8, false),
        };
        if size < header {
            return Err(Error::malformed(FORMAT, start, "box size smaller than its header"));
        }
        let end = start
            .checked_add(size)
            .filter(|&end| end <= limit)
            .ok_or_else(|| Error::truncated(FORMAT, start, "box runs past the end of its container"))?;
        Ok(BoxRef {
            kind: kind_arr,
            start,
            header,
            end,
            open_ended,
        })
    }
}

/// Counts structures against [`Limits::max_structures`].
pub(super) struct Budget {
    left: u64,
    limit: u64,
}

impl Budget {
    pub fn new(limits: &Limits) -> Self {
        Budget {
            left: limits.max_structures,
            limit: limits.max_structures,
        }
    }

    /// Takes `n` from the budget.
    pub fn take(&mut self, n: u64, offset: u64) -> Result<()> {
        self.left = self.left.checked_sub(n).ok_or(Error::Limit {
            format: FORMAT,
            offset,
            what: "boxes, items and extents",
            found: self.limit.saturating_add(1),
            limit: self.limit,
        })?;
        Ok(())
    }
}

/// Every top-level box of the stream, in order. The stream must be whole boxes to its end.
pub(super) fn top_level(src: &mut Source<'_>, budget: &mut Budget) -> Result<Vec<BoxRef>> {
    let (boxes, _) = walk_top_level(src, budget, false)?;
    Ok(boxes)
}

/// As [`top_level`], but a box whose header or size runs past the end of the file ends the
/// walk instead of failing: the whole boxes before it, and the offset of the cut one.
pub(super) fn top_level_lenient(src: &mut Source<'_>, budget: &mut Budget) -> Result<(Vec<BoxRef>, Option<u64>)> {
    walk_top_level(src, budget, true)
}

fn walk_top_level(src: &mut Source<'_>, budget: &mut Budget, lenient: bool) -> Result<(Vec<BoxRef>, Option<u64>)> {
    let mut boxes = Vec::new();
    let mut at = 0;
    src.seek_to(0)?;
    while at < src.len() {
        budget.take(1, at)?;
        src.seek_to(at)?;
        let mut head = [0u8; 16];
        let got = src.read_up_to(&mut head)?;
        let found = match BoxRef::parse(head.get(..got).unwrap_or_default(), at, src.len()) {
            Err(Error::Truncated { .. }) if lenient && at > 0 => return Ok((boxes, Some(at))),
            other => other?,
        };
        at = found.end;
        boxes.push(found);
    }
    Ok((boxes, None))
}

/// The children of the box held in `buf` within `range` (buffer offsets).
pub(super) fn children(buf: &[u8], range: Range<usize>, budget: &mut Budget) -> Result<Vec<BoxRef>> {
    let mut out = Vec::new();
    let mut at = range.start;
    while at < range.end {
        budget.take(1, at as u64)?;
        let head = buf.get(at..range.end.min(at + 16)).unwrap_or_default();
        let found = BoxRef::parse(head, at as u64, range.end as u64)?;
        if found.open_ended {
            // Size 0 means "to the end of the file" (ISO/IEC 14496-12 4.2): only the last
            // top-level box may say it.
            return Err(Error::malformed(
                FORMAT,
                at as u64,
                "a box inside another box has size 0",
            ));
        }
        at = usize::try_from(found.end).unwrap_or(usize::MAX);
        out.push(found);
    }
    Ok(out)
}

/// Version and flags of a full box (ISO/IEC 14496-12 4.2), then the cursor after them.
pub(super) fn full_box<'a>(buf: &'a [u8], b: &BoxRef) -> Result<(u8, u32, Bytes<'a>)> {
    let payload = buf.get(b.payload_in()).unwrap_or_default();
    let mut cur = Bytes::new(payload);
    let word = cur
        .u32_be()
        .ok_or_else(|| Error::truncated(FORMAT, b.start, "full box version and flags"))?;
    Ok(((word >> 24) as u8, word & 0x00FF_FFFF, cur))
}

/// A box header for a payload of `len` bytes: 32-bit size when it fits, else 64-bit.
pub(super) fn header(kind: &[u8; 4], len: usize) -> Vec<u8> {
    let total = len as u64 + 8;
    match u32::try_from(total) {
        Ok(size) => [&size.to_be_bytes()[..], kind].concat(),
        Err(_) => [&1u32.to_be_bytes()[..], kind, &(total + 8).to_be_bytes()].concat(),
    }
}

/// A full box: header, version, flags and `body`.
pub(super) fn full(kind: &[u8; 4], version: u8, flags: u32, body: &[u8]) -> Vec<u8> {
    let word = (u32::from(version) << 24) | (flags & 0x00FF_FFFF);
    let mut out = header(kind, body.len() + 4);
    out.extend_from_slice(&word.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Reads a big-endian unsigned number of `width` bytes (0, 2, 4 or 8; 0 reads as 0).
pub(super) fn uint(cur: &mut Bytes<'_>, width: u8) -> Option<u64> {
    match width {
        0 => Some(0),
        2 => cur.u16_be().map(u64::from),
        4 => cur.u32_be().map(u64::from),
        8 => cur.u64_be(),
        _ => None,
    }
}

/// Appends `value` as a big-endian number of `width` bytes, or `None` when it does not fit.
pub(super) fn put_uint(out: &mut Vec<u8>, value: u64, width: u8) -> Option<()> {
    let width = usize::from(width);
    if width < 8 && value >> (width * 8) != 0 {
        return None;
    }
    let bytes = value.to_be_bytes();
    out.extend_from_slice(bytes.get(8 - width..)?);
    Some(())
}

/// Overwrites `width` bytes at `at` in `buf` with `value`, or `None` when it does not fit.
pub(super) fn set_uint(buf: &mut [u8], at: usize, value: u64, width: u8) -> Option<()> {
    let mut bytes = Vec::with_capacity(8);
    put_uint(&mut bytes, value, width)?;
    buf.get_mut(at..at.checked_add(bytes.len())?)?.copy_from_slice(&bytes);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_and_reject_lies() {
        let b = BoxRef::parse(b"\0\0\0\x10abcd", 0, 100).unwrap();
        assert_eq!((b.kind, b.header, b.end), (*b"abcd", 8, 16));
        let b = BoxRef::parse(b"\0\0\0\x01abcd\0\0\0\0\0\0\0\x20", 4, 100).unwrap();
        assert_eq!((b.header, b.end), (16, 36));
        let b = BoxRef::parse(b"\0\0\0\0abcd", 10, 100).unwrap();
        assert!(b.open_ended);
        assert_eq!(b.end, 100);
        assert!(BoxRef::parse(b"\0\0\0\x04abcd", 0, 100).is_err());
        assert!(BoxRef::parse(b"\0\0\0\xffabcd", 0, 100).is_err());
        assert!(BoxRef::parse(b"\0\0\0\x01abcd\xff\xff\xff\xff\xff\xff\xff\xff", 8, 100).is_err());
        assert!(BoxRef::parse(b"\0\0\0", 0, 100).is_err());
    }

    #[test]
    fn numbers_fit_or_refuse() {
        let mut out = Vec::new();
        assert_eq!(put_uint(&mut out, 0x1_0000, 2), None);
        put_uint(&mut out, 0xABCD, 2).unwrap();
        put_uint(&mut out, 0, 0).unwrap();
        assert_eq!(put_uint(&mut out, 7, 0), None);
        assert_eq!(out, [0xAB, 0xCD]);
        assert_eq!(uint(&mut Bytes::new(&out), 2), Some(0xABCD));
        assert_eq!(uint(&mut Bytes::new(&out), 3), None);
        assert_eq!(header(b"mdat", 2).len(), 8);
    }
}
