//! Absolute file offsets held in boxes, and moving them when `moov` grows or shrinks in front of
//! the data they point to.
//!
//! Every field that can hold a file position is described as a [`Field`]: where it is, how wide
//! it is, and what it points to. Relocation shifts every pointed-to position at or after the end
//! of the old `moov` by the size change, which is exactly the set of bytes that move. Covered
//! (ISO/IEC 14496-12): `stco`/`co64` (§8.7.5, with `stco` promoted to `co64` when a shifted offset
//! no longer fits 32 bits), `saio` in a sample table (§8.7.9), `iloc` construction method 0
//! (§8.11.3), `tfhd` explicit base-data-offset (§8.8.7), `tfra` (§8.8.10) and `sidx`, whose
//! offset is relative to its own end (§8.16.3).

use std::ops::Range;

use aigc_label_core::io::Bytes;
use aigc_label_core::{Error, Result};

use super::boxes::{Body, FORMAT, Node};
use crate::common::be_uint;

/// One offset field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field {
    /// Where the field is: an index in a box payload, or an absolute input offset.
    pub at: u64,
    /// Width in bytes (4 or 8, or what an `iloc` declares).
    pub width: usize,
    /// The position the stored value is relative to (0 for absolute fields).
    pub anchor: u64,
    /// The position the field points to (`anchor + value`).
    pub target: u64,
}

impl Field {
    /// Whether the stored value changes when every position at or after `from` moves: exactly
    /// one of the target and the anchor is at or after it.
    pub fn moves_past(&self, from: u64) -> bool {
        (self.target >= from) != (self.anchor >= from)
    }
}

/// How positions move: everything at or after `from` moves by `delta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shift {
    /// First input offset that moves (the end of the old `moov`).
    pub from: u64,
    /// Bytes it moves by.
    pub delta: i64,
}

impl Shift {
    /// Where input position `pos` ends up in the output.
    pub fn apply(&self, pos: u64) -> Option<u64> {
        if pos >= self.from {
            pos.checked_add_signed(self.delta)
        } else {
            Some(pos)
        }
    }

    /// The field's new value, or `None` when it does not change.
    ///
    /// # Errors
    /// When the new value does not fit the field.
    pub fn relocate(&self, f: &Field) -> Result<Option<u64>> {
        if self.delta == 0 {
            return Ok(None);
        }
        let (target, anchor) = match (self.apply(f.target), self.apply(f.anchor)) {
            (Some(t), Some(a)) => (t, a),
            _ => return Err(Error::malformed(FORMAT, f.at, "offset out of range after shifting")),
        };
        let value = target
            .checked_sub(anchor)
            .ok_or_else(|| Error::malformed(FORMAT, f.at, "offset before its anchor"))?;
        if value == f.target - f.anchor {
            return Ok(None);
        }
        if f.width < 8 && value >> (8 * f.width) != 0 {
            return Err(Error::capacity(
                "mp4",
                format!(
                    "a {}-byte offset field at {} cannot hold {value} after moving the data",
                    f.width, f.at
                ),
            ));
        }
        Ok(Some(value))
    }
}

/// Writes `value` big-endian into `buf[at..at + width]`.
pub(crate) fn put(buf: &mut [u8], at: usize, width: usize, value: u64) {
    if let Some(slot) = buf.get_mut(at..at + width) {
        for (i, b) in slot.iter_mut().rev().enumerate() {
            *b = value.checked_shr(8 * i as u32).unwrap_or(0) as u8;
        }
    }
}

fn bad(what: &'static str) -> Error {
    Error::malformed(FORMAT, 0, what)
}

/// The entries of an `stco` (4-byte) or `co64` (8-byte) payload: (index, width, value).
fn chunk_offsets(payload: &[u8], width: usize) -> Result<impl Iterator<Item = u64> + '_> {
    let mut b = Bytes::new(payload);
    b.take(4).ok_or_else(|| bad("chunk offset table header"))?;
    let count = b.u32_be().ok_or_else(|| bad("chunk offset count"))? as usize;
    let entries = b
        .take(count.checked_mul(width).ok_or_else(|| bad("chunk offset count"))?)
        .ok_or_else(|| bad("chunk offset table shorter than its count"))?;
    Ok(entries.chunks_exact(width).map(be_uint))
}

/// The runs of entries of an `stco`/`co64` payload (`width` 4 or 8) that point at or after
/// `from`, as index ranges within the payload: the bytes a size change of `moov` rewrites.
pub(crate) fn moving_entries(payload: &[u8], width: usize, from: u64) -> Result<Vec<Range<usize>>> {
    let mut runs: Vec<Range<usize>> = Vec::new();
    for (i, v) in chunk_offsets(payload, width)?.enumerate() {
        if v < from {
            continue;
        }
        let at = 8 + i * width;
        match runs.last_mut() {
            Some(last) if last.end == at => last.end = at + width,
            _ => runs.push(at..at + width),
        }
    }
    Ok(runs)
}

/// Offset fields of a `saio` payload (indices within the payload).
pub(crate) fn saio_fields(payload: &[u8]) -> Result<Vec<Field>> {
    let mut b = Bytes::new(payload);
    let version = b.u8().ok_or_else(|| bad("saio header"))?;
    let flags = b.take(3).map(be_uint).ok_or_else(|| bad("saio header"))?;
    if flags & 1 != 0 {
        b.take(8).ok_or_else(|| bad("saio aux info type"))?;
    }
    let count = b.u32_be().ok_or_else(|| bad("saio count"))? as usize;
    let width = if version == 0 { 4 } else { 8 };
    let mut out = Vec::new();
    for _ in 0..count {
        let at = b.pos() as u64;
        let value = b
            .take(width)
            .map(be_uint)
            .ok_or_else(|| bad("saio shorter than its count"))?;
        out.push(Field {
            at,
            width,
            anchor: 0,
            target: value,
        });
    }
    Ok(out)
}

/// Offset fields of an `iloc` payload: for each item stored in this file (construction method 0,
/// data reference 0), its base offset and its extent offsets.
pub(crate) fn iloc_fields(payload: &[u8]) -> Result<Vec<Field>> {
    let mut b = Bytes::new(payload);
    let version = b.u8().ok_or_else(|| bad("iloc header"))?;
    b.take(3).ok_or_else(|| bad("iloc header"))?;
    let sizes = b.u16_be().ok_or_else(|| bad("iloc sizes"))?;
    let (offset_size, length_size) = (usize::from(sizes >> 12), usize::from((sizes >> 8) & 0xF));
    let (base_size, index_size) = (usize::from((sizes >> 4) & 0xF), usize::from(sizes & 0xF));
    let index_size = if version >= 1 { index_size } else { 0 };
    if [offset_size, length_size, base_size, index_size]
        .iter()
        .any(|s| ![0, 4, 8].contains(s))
    {
        return Err(bad("iloc field size not 0, 4 or 8"));
    }
    let count = if version < 2 {
        b.u16_be().map(u32::from)
    } else {
        b.u32_be()
    }
    .ok_or_else(|| bad("iloc count"))?;
    let mut out = Vec::new();
    for _ in 0..count {
        b.take(if version < 2 { 2 } else { 4 })
            .ok_or_else(|| bad("iloc item id"))?;
        let method = if version >= 1 {
            b.u16_be().ok_or_else(|| bad("iloc method"))? & 0xF
        } else {
            0
        };
        let data_ref = b.u16_be().ok_or_else(|| bad("iloc data reference"))?;
        let base_at = b.pos() as u64;
        let base = b.take(base_size).map(be_uint).ok_or_else(|| bad("iloc base offset"))?;
        let in_file = method == 0 && data_ref == 0;
        if in_file && base_size > 0 {
            out.push(Field {
                at: base_at,
                width: base_size,
                anchor: 0,
                target: base,
            });
        }
        let extents = b.u16_be().ok_or_else(|| bad("iloc extent count"))?;
        for _ in 0..extents {
            b.take(index_size).ok_or_else(|| bad("iloc extent index"))?;
            let at = b.pos() as u64;
            let offset = b
                .take(offset_size)
                .map(be_uint)
                .ok_or_else(|| bad("iloc extent offset"))?;
            b.take(length_size).ok_or_else(|| bad("iloc extent length"))?;
            if in_file && offset_size > 0 {
                out.push(Field {
                    at,
                    width: offset_size,
                    anchor: base,
                    target: base.checked_add(offset).ok_or_else(|| bad("iloc offset overflow"))?,
                });
            }
        }
    }
    Ok(out)
}

/// The offset field of a `tfhd` payload, when it carries an explicit base-data-offset.
pub(crate) fn tfhd_field(payload: &[u8]) -> Option<Field> {
    let mut b = Bytes::new(payload);
    let flags = b.u32_be()? & 0xFF_FFFF;
    if flags & 1 == 0 {
        return None;
    }
    b.take(4)?;
    let at = b.pos() as u64;
    Some(Field {
        at,
        width: 8,
        anchor: 0,
        target: b.u64_be()?,
    })
}

/// The `moof` offsets of a `tfra` payload.
pub(crate) fn tfra_fields(payload: &[u8]) -> Result<Vec<Field>> {
    let mut b = Bytes::new(payload);
    let version = b.u8().ok_or_else(|| bad("tfra header"))?;
    b.take(7).ok_or_else(|| bad("tfra header"))?;
    let sizes = b.u32_be().ok_or_else(|| bad("tfra sizes"))?;
    let tail = ((sizes >> 4) & 3) as usize + ((sizes >> 2) & 3) as usize + (sizes & 3) as usize + 3;
    let count = b.u32_be().ok_or_else(|| bad("tfra count"))?;
    let width = if version == 1 { 8 } else { 4 };
    let mut out = Vec::new();
    for _ in 0..count {
        b.take(width).ok_or_else(|| bad("tfra time"))?;
        let at = b.pos() as u64;
        let target = b.take(width).map(be_uint).ok_or_else(|| bad("tfra moof offset"))?;
        b.take(tail).ok_or_else(|| bad("tfra entry"))?;
        out.push(Field {
            at,
            width,
            anchor: 0,
            target,
        });
    }
    Ok(out)
}

/// The first-offset field of a `sidx` payload; `end` is the input offset just past the box,
/// which the stored value is relative to.
pub(crate) fn sidx_field(payload: &[u8], end: u64) -> Option<Field> {
    let mut b = Bytes::new(payload);
    let version = b.u8()?;
    b.take(3 + 8)?;
    let width = if version == 0 { 4 } else { 8 };
    b.take(width)?;
    let at = b.pos() as u64;
    let value = b.take(width).map(be_uint)?;
    Some(Field {
        at,
        width,
        anchor: end,
        target: end.checked_add(value)?,
    })
}

/// Applies `shift` to the fields of a leaf, rewriting its payload when a value changes.
pub(crate) fn relocate_leaf(node: &mut Node, buf: &[u8], fields: &[Field], shift: &Shift) -> Result<()> {
    let mut payload: Option<Vec<u8>> = None;
    for f in fields {
        if let Some(value) = shift.relocate(f)? {
            let p = payload.get_or_insert_with(|| node.payload(buf).to_vec());
            put(p, f.at as usize, f.width, value);
        }
    }
    if let Some(p) = payload {
        node.body = Body::New(p);
    }
    Ok(())
}

/// A chunk offset table in the `moov` tree.
#[derive(Debug, Clone)]
pub(crate) struct ChunkTable {
    /// Path from `moov`.
    pub path: Vec<usize>,
    /// 8 for `co64`, 4 for `stco`.
    pub width: usize,
    /// Entry count.
    pub count: u64,
    /// Largest entry at or after the shift point, if any.
    pub max_moving: Option<u64>,
}

/// Describes the table at `path`, for the promotion decision.
pub(crate) fn chunk_table(node: &Node, buf: &[u8], path: Vec<usize>, from: u64) -> Result<ChunkTable> {
    let width = if &node.typ == b"co64" { 8 } else { 4 };
    let payload = node.payload(buf);
    let mut count = 0u64;
    let mut max_moving = None;
    for v in chunk_offsets(payload, width)? {
        count += 1;
        if v >= from {
            max_moving = max_moving.max(Some(v));
        }
    }
    Ok(ChunkTable {
        path,
        width,
        count,
        max_moving,
    })
}

/// Rewrites a chunk offset table with `shift`, as `co64` when `promote` is set.
pub(crate) fn rewrite_chunk_table(
    node: &mut Node,
    buf: &[u8],
    table: &ChunkTable,
    promote: bool,
    shift: &Shift,
) -> Result<()> {
    let old = node.payload(buf);
    let width = if promote { 8 } else { table.width };
    let mut out = Vec::new();
    out.try_reserve_exact(8 + table.count as usize * width)
        .map_err(|_| bad("chunk offset table too large"))?;
    out.extend_from_slice(old.get(..8).ok_or_else(|| bad("chunk offset table header"))?);
    for v in chunk_offsets(old, table.width)? {
        let moved = shift
            .apply(v)
            .ok_or_else(|| bad("chunk offset out of range after shifting"))?;
        match width {
            8 => out.extend_from_slice(&moved.to_be_bytes()),
            _ => out.extend_from_slice(
                &u32::try_from(moved)
                    .map_err(|_| bad("chunk offset overflows stco"))?
                    .to_be_bytes(),
            ),
        }
    }
    if promote {
        node.typ = *b"co64";
    }
    node.body = Body::New(out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_fields_move_only_when_one_end_moves() {
        let shift = Shift { from: 100, delta: 10 };
        let abs = Field {
            at: 0,
            width: 4,
            anchor: 0,
            target: 150,
        };
        assert_eq!(shift.relocate(&abs).unwrap(), Some(160));
        let before = Field {
            at: 0,
            width: 4,
            anchor: 0,
            target: 50,
        };
        assert_eq!(shift.relocate(&before).unwrap(), None);
        let both_after = Field {
            at: 0,
            width: 4,
            anchor: 120,
            target: 150,
        };
        assert_eq!(shift.relocate(&both_after).unwrap(), None);
        let straddling = Field {
            at: 0,
            width: 4,
            anchor: 80,
            target: 150,
        };
        assert_eq!(shift.relocate(&straddling).unwrap(), Some(80));
        let overflow = Field {
            at: 0,
            width: 4,
            anchor: 0,
            target: u32::MAX as u64,
        };
        assert!(shift.relocate(&overflow).is_err());
    }

    #[test]
    fn moving_entries_are_runs_past_the_shift_point() {
        let mut p = vec![0, 0, 0, 0, 0, 0, 0, 4];
        for v in [10u32, 200, 300, 50] {
            p.extend_from_slice(&v.to_be_bytes());
        }
        assert_eq!(moving_entries(&p, 4, 100).unwrap(), vec![12usize..20]);
        assert_eq!(moving_entries(&p, 4, 0).unwrap(), vec![8usize..24]);
        assert!(moving_entries(&p[..20], 4, 0).is_err(), "count larger than the table");
        let f = Field {
            at: 0,
            width: 4,
            anchor: 120,
            target: 150,
        };
        assert!(!f.moves_past(100) && f.moves_past(130) && !f.moves_past(200));
    }

    #[test]
    fn iloc_version1_fields() {
        // version 1, offset 4 / length 4 / base 4 / index 0, one item with base 1000 and two
        // extents at 0 and 50.
        let mut p = vec![1, 0, 0, 0, 0x44, 0x40, 0, 1];
        p.extend_from_slice(&[0, 7, 0, 0, 0, 0]);
        p.extend_from_slice(&1000u32.to_be_bytes());
        p.extend_from_slice(&2u16.to_be_bytes());
        for off in [0u32, 50] {
            p.extend_from_slice(&off.to_be_bytes());
            p.extend_from_slice(&10u32.to_be_bytes());
        }
        let f = iloc_fields(&p).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!((f[0].target, f[0].anchor), (1000, 0));
        assert_eq!((f[2].target, f[2].anchor), (1050, 1000));
        assert!(iloc_fields(&p[..p.len() - 1]).is_err());
    }
}
