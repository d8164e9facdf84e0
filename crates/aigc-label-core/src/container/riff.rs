//! RIFF and IFF chunks (Microsoft RIFF; EBU Tech 3306 RF64; EA IFF 85 `FORM`, which AIFF uses):
//! the walk over a run of chunks in a stream, for WAV, AIFF, AVI and WebP.
//!
//! A chunk is a four-character code, a 32-bit body size (little-endian in RIFF, big-endian in
//! IFF) and the body, padded to an even length. RF64 and BW64 files write `0xFFFFFFFF` as a
//! size and give the real one in the `ds64` chunk ([`Ds64`]).
//!
//! The walker reports what a chunk declares and whether it fits ([`Chunk::fits`]); a format
//! decides what a chunk running past its parent means (an error, or a cut upload to read up to
//! the cut). The walker itself never moves past its own end, and a child walker made with
//! [`Chunks::children`] never past its parent's body.

use super::Budget;
use crate::io::{Bytes, Source};
use crate::{Error, Limits, Result};

/// Bytes of a chunk header: code and size.
pub const CHUNK_HEADER: u64 = 8;

/// The 32-bit size that means "see ds64" in RF64 / BW64 files.
pub const SIZE_IN_DS64: u32 = u32::MAX;

/// Bytes of the ds64 chunk body up to and including the table length.
const DS64_FIXED: u64 = 28;

pub use super::Order;

/// One chunk as the walker met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    /// The four-character code.
    pub id: [u8; 4],
    /// Offset of the chunk header.
    pub start: u64,
    /// The body size (from `ds64` where the header says so).
    pub size: u64,
    /// The body lies within the walker's end (its pad byte may not).
    pub fits: bool,
    /// The body is odd-sized and its pad byte lies within the walker's end.
    pub pad: bool,
}

impl Chunk {
    /// Offset of the body.
    #[inline]
    pub fn body_start(&self) -> u64 {
        self.start + CHUNK_HEADER
    }

    /// Offset just past the body, as declared (saturating).
    #[inline]
    pub fn body_end(&self) -> u64 {
        self.body_start().saturating_add(self.size)
    }

    /// Offset just past the body and its pad byte, as declared (saturating).
    #[inline]
    pub fn padded_end(&self) -> u64 {
        self.body_end().saturating_add(self.size & 1)
    }

    /// Bytes the chunk occupies in the file: header, body and the pad byte if present.
    #[inline]
    pub fn stored_len(&self) -> u64 {
        CHUNK_HEADER + self.size + u64::from(self.pad)
    }

    /// True when the body is odd-sized and its pad byte is missing (the last chunk of some files).
    #[inline]
    pub fn missing_pad(&self) -> bool {
        self.size % 2 == 1 && !self.pad
    }
}

/// A walk over the chunks between two stream offsets. It holds no reader: each step is given
/// the stream, so a format can read a chunk's body between steps.
#[derive(Debug, Clone)]
pub struct Chunks {
    order: Order,
    pos: u64,
    end: u64,
}

impl Chunks {
    /// The chunks from `start` to `end`, sizes in `order`.
    #[inline]
    pub fn new(order: Order, start: u64, end: u64) -> Self {
        Chunks { order, pos: start, end }
    }

    /// The chunks of `parent`'s body (a chunk this walk returned) after `skip` bytes (a list
    /// type), within this walk's end.
    #[inline]
    pub fn children(&self, parent: &Chunk, skip: u64) -> Chunks {
        let end = parent.body_end().min(self.end);
        Chunks {
            order: self.order,
            pos: parent.body_start().saturating_add(skip).min(end),
            end,
        }
    }

    /// Offset where the next chunk would start.
    #[inline]
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// Offset where the walk ends.
    #[inline]
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Bytes left to walk.
    #[inline]
    pub fn remaining(&self) -> u64 {
        self.end.saturating_sub(self.pos)
    }

    /// The next chunk, with `src` left at its body; `None` when fewer than 8 bytes remain (a few
    /// stray bytes at the end are tolerated; see [`Chunks::pos`]). The budget is charged first.
    /// The walk moves on past the body and pad byte, at most to its end.
    ///
    /// # Errors
    /// [`Error::Malformed`] for an RF64 size that `ds64` does not give; limits; truncation and
    /// I/O errors.
    #[inline]
    pub fn next(&mut self, src: &mut Source<'_>, budget: &mut Budget, ds64: Option<&Ds64>) -> Result<Option<Chunk>> {
        if self.remaining() < CHUNK_HEADER {
            return Ok(None);
        }
        budget.tick(src.format(), self.pos)?;
        let chunk = read_chunk(src, self.order, self.pos, self.end, ds64)?;
        self.pos = chunk.padded_end().min(self.end);
        Ok(Some(chunk))
    }
}

/// Reads the header of the chunk at `start`, in a parent that ends at `end`, with `src` left at
/// its body. No budget is charged: this is for a file's first header; walks use [`Chunks`].
///
/// # Errors
/// [`Error::Malformed`] for an RF64 size that `ds64` does not give; truncation; I/O errors.
#[inline]
pub fn read_chunk(src: &mut Source<'_>, order: Order, start: u64, end: u64, ds64: Option<&Ds64>) -> Result<Chunk> {
    if src.pos() != start {
        src.seek_to(start)?;
    }
    let head: [u8; 8] = src.read_array("chunk header")?;
    let id = [head[0], head[1], head[2], head[3]];
    let size32 = order.read_size([head[4], head[5], head[6], head[7]]);
    let size = match ds64 {
        Some(ds) if size32 == SIZE_IN_DS64 => ds
            .size_of(&id)
            .ok_or_else(|| Error::malformed(src.format(), start + 4, "chunk size 0xFFFFFFFF without a ds64 entry"))?,
        _ => u64::from(size32),
    };
    let mut chunk = Chunk {
        id,
        start,
        size,
        fits: false,
        pad: false,
    };
    let body_end = chunk.body_end();
    chunk.fits = body_end <= end;
    chunk.pad = size % 2 == 1 && body_end < end;
    Ok(chunk)
}

/// The 64-bit sizes of an RF64 / BW64 file (EBU Tech 3306).
#[derive(Debug, Clone, Default)]
pub struct Ds64 {
    /// The RIFF body size (everything after the 8-byte RIFF header).
    pub riff_size: u64,
    /// The `data` chunk size.
    pub data_size: u64,
    /// Sizes of other chunks whose 32-bit size field says "see ds64".
    pub table: Vec<([u8; 4], u64)>,
    /// Offset just past the `ds64` chunk.
    pub end: u64,
}

impl Ds64 {
    /// Reads the `ds64` chunk, which must come first (at offset 12, where `src` stands).
    ///
    /// # Errors
    /// [`Error::Malformed`] when it is missing or short; truncation; limits; I/O errors.
    #[inline]
    pub fn read(src: &mut Source<'_>, limits: &Limits) -> Result<Ds64> {
        let head: [u8; 8] = src.read_array("ds64 chunk header")?;
        if &head[..4] != b"ds64" {
            return Err(Error::malformed(
                src.format(),
                12,
                "RF64 file without a ds64 chunk first",
            ));
        }
        let size = u64::from(u32::from_le_bytes([head[4], head[5], head[6], head[7]]));
        if size < DS64_FIXED {
            return Err(Error::malformed(src.format(), 16, "ds64 chunk shorter than 28 bytes"));
        }
        let body = src.read_vec(size, "ds64 chunk", limits)?;
        let bad = || Error::malformed(src.format(), 20, "ds64 chunk shorter than its table");
        let mut b = Bytes::new(&body);
        let riff_size = u64_le(&mut b).ok_or_else(bad)?;
        let data_size = u64_le(&mut b).ok_or_else(bad)?;
        let _sample_count = u64_le(&mut b).ok_or_else(bad)?;
        let entries = b.u32_le().ok_or_else(bad)?;
        let mut table = Vec::new();
        for _ in 0..entries {
            let (Some(id), Some(size)) = (b.take(4), u64_le(&mut b)) else {
                return Err(bad());
            };
            table.push(([id[0], id[1], id[2], id[3]], size));
        }
        Ok(Ds64 {
            riff_size,
            data_size,
            table,
            end: 20 + size + size % 2,
        })
    }

    /// The size `ds64` gives chunk `id`.
    #[inline]
    pub fn size_of(&self, id: &[u8; 4]) -> Option<u64> {
        if id == b"data" {
            return Some(self.data_size);
        }
        self.table.iter().find(|(t, _)| t == id).map(|&(_, s)| s)
    }
}

#[inline]
fn u64_le(b: &mut Bytes<'_>) -> Option<u64> {
    let lo = b.u32_le()?;
    let hi = b.u32_le()?;
    Some(u64::from(lo) | (u64::from(hi) << 32))
}

/// Appends a chunk (header in `order`, body, pad byte when odd) to `out`.
///
/// # Errors
/// [`Error::Parameter`] for a body over 4 GiB.
#[inline]
pub fn push_chunk(order: Order, out: &mut Vec<u8>, id: &[u8; 4], body: &[u8]) -> Result<()> {
    let size = u32::try_from(body.len()).map_err(|_| Error::parameter("chunk", "body over 4 GiB"))?;
    out.extend_from_slice(id);
    out.extend_from_slice(&order.size_bytes(size));
    out.extend_from_slice(body);
    if size % 2 == 1 {
        out.push(0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn walk(data: &[u8], order: Order, start: u64, end: u64) -> Vec<Result<Chunk>> {
        let mut cur = Cursor::new(data.to_vec());
        let mut src = Source::new(&mut cur, "t").unwrap();
        let mut budget = Budget::new(&Limits::default());
        let mut chunks = Chunks::new(order, start, end);
        let mut out = Vec::new();
        loop {
            match chunks.next(&mut src, &mut budget, None) {
                Ok(Some(c)) => out.push(Ok(c)),
                Ok(None) => break,
                Err(e) => {
                    out.push(Err(e));
                    break;
                }
            }
        }
        out
    }

    #[test]
    fn chunks_in_both_byte_orders_with_pads_and_lies() {
        let mut data = Vec::new();
        push_chunk(Order::Little, &mut data, b"abcd", b"x").unwrap();
        push_chunk(Order::Little, &mut data, b"efgh", b"yz").unwrap();
        let found = walk(&data, Order::Little, 0, data.len() as u64);
        let ids: Vec<_> = found.iter().map(|c| c.as_ref().unwrap().id).collect();
        assert_eq!(ids, [*b"abcd", *b"efgh"]);
        assert!(found[0].as_ref().unwrap().pad && found[1].as_ref().unwrap().fits);

        let mut big = Vec::new();
        push_chunk(Order::Big, &mut big, b"COMM", &[0; 18]).unwrap();
        assert_eq!(&big[4..8], &[0, 0, 0, 18]);
        assert_eq!(
            walk(&big, Order::Big, 0, big.len() as u64)[0].as_ref().unwrap().size,
            18
        );

        // A chunk claiming more than its parent holds is reported, and the walk ends there.
        let mut liar = data.clone();
        liar[4] = 200;
        let found = walk(&liar, Order::Little, 0, liar.len() as u64);
        assert_eq!(found.len(), 1);
        assert!(!found[0].as_ref().unwrap().fits);
        // The pad byte of the last chunk may be missing.
        let cut = &data[..9];
        let c = *walk(cut, Order::Little, 0, 9)[0].as_ref().unwrap();
        assert!(c.fits && c.missing_pad());
    }

    #[test]
    fn a_child_walk_stays_in_its_parent() {
        let mut inner = b"INFO".to_vec();
        push_chunk(Order::Little, &mut inner, b"kid1", &[1; 4]).unwrap();
        let mut data = Vec::new();
        push_chunk(Order::Little, &mut data, b"LIST", &inner).unwrap();
        push_chunk(Order::Little, &mut data, b"next", &[]).unwrap();
        let mut cur = Cursor::new(data.clone());
        let mut src = Source::new(&mut cur, "t").unwrap();
        let mut budget = Budget::new(&Limits::default());
        let mut top = Chunks::new(Order::Little, 0, data.len() as u64);
        let list = top.next(&mut src, &mut budget, None).unwrap().unwrap();
        let mut kids = top.children(&list, 4);
        assert_eq!(kids.next(&mut src, &mut budget, None).unwrap().unwrap().id, *b"kid1");
        assert_eq!(kids.next(&mut src, &mut budget, None).unwrap(), None);
        assert_eq!(top.next(&mut src, &mut budget, None).unwrap().unwrap().id, *b"next");
    }

    #[test]
    fn ds64_sizes_replace_the_32_bit_ones() {
        let ds = Ds64 {
            data_size: 1 << 33,
            table: vec![(*b"big ", 7)],
            ..Ds64::default()
        };
        assert_eq!(ds.size_of(b"data"), Some(1 << 33));
        assert_eq!(ds.size_of(b"big "), Some(7));
        assert_eq!(ds.size_of(b"none"), None);
    }
}
