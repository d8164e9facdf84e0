//! ISO-BMFF boxes for HEIF (ISO/IEC 14496-12 4.2), over the container layer's walker: HEIF
//! refuses a box whose size runs past its container (the walker reports it, this module turns
//! it into an error), and a box of size 0 anywhere but at the top level.

use std::ops::Range;

use aigc_label_core::container::bmff::{BoxHeader, SliceBoxes, StreamBoxes};
use aigc_label_core::io::{Bytes, Source};
use aigc_label_core::{Error, Result};

pub(super) use aigc_label_core::container::Budget;
pub(super) use aigc_label_core::container::bmff::{full, header};

use super::FORMAT;

/// A box the walker found, as HEIF keeps it: a compact record, since a file may hold
/// hundreds of thousands of top-level boxes. Positions are file offsets for top-level boxes
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
}

/// `h`, or an error when its size runs past the end of its container.
fn fitted(h: BoxHeader) -> Result<BoxRef> {
    match h.claimed_end {
        Some(_) => Err(Error::truncated(
            FORMAT,
            h.start,
            "box runs past the end of its container",
        )),
        None => Ok(BoxRef {
            kind: h.kind,
            start: h.start,
            header: h.header_len,
            end: h.end,
            open_ended: h.open_ended,
        }),
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
    walk_top_level_with(src, budget, lenient, &mut |_, _| Ok(()))
}

/// As [`top_level`] (or [`top_level_lenient`]), calling `walked` with the source and the
/// boxes so far after each box: a streaming write copies each box while it is in the buffer.
/// `walked` may move the source; the walk seeks back to its place.
pub(super) fn walk_top_level_with(
    src: &mut Source<'_>,
    budget: &mut Budget,
    lenient: bool,
    walked: &mut dyn FnMut(&mut Source<'_>, &[BoxRef]) -> Result<()>,
) -> Result<(Vec<BoxRef>, Option<u64>)> {
    let mut boxes = Vec::new();
    src.seek_to(0)?;
    let mut walk = StreamBoxes::whole(src, budget);
    while let Some(found) = walk.next() {
        let at = found.as_ref().map_or(walk.pos(), |h| h.start);
        match found.and_then(fitted) {
            Err(Error::Truncated { .. }) if lenient && at > 0 => return Ok((boxes, Some(at))),
            other => boxes.push(other?),
        }
        walked(walk.source(), &boxes)?;
    }
    Ok((boxes, None))
}

/// The children of the box held in `buf` within `range` (buffer offsets).
pub(super) fn children(buf: &[u8], range: Range<usize>, budget: &mut Budget) -> Result<Vec<BoxRef>> {
    let mut out = Vec::new();
    for found in SliceBoxes::new(FORMAT, buf, range, 0, budget) {
        let found = fitted(found?)?;
        if found.open_ended {
            // Size 0 means "to the end of the file" (ISO/IEC 14496-12 4.2): only the last
            // top-level box may say it.
            return Err(Error::malformed(
                FORMAT,
                found.start,
                "a box inside another box has size 0",
            ));
        }
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
    fn children_refuse_lies_and_open_ended_boxes() {
        let mut budget = Budget::new(&Default::default());
        let whole = header(b"abcd", 8);
        let buf = [whole.clone(), vec![0; 8]].concat();
        assert_eq!(children(&buf, 0..16, &mut budget).unwrap().len(), 1);
        assert!(children(&buf, 0..12, &mut budget).is_err(), "runs past its container");
        let open = [&[0u8, 0, 0, 0][..], b"abcd"].concat();
        assert!(matches!(
            children(&open, 0..8, &mut budget),
            Err(Error::Malformed { .. })
        ));
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
