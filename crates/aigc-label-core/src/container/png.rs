//! PNG chunks (PNG specification, third edition, section 5.3): the signature and the chunk
//! header the PNG carrier and the trace scanner share.
//!
//! A chunk is a 4-byte big-endian data length (at most 2^31-1), a 4-byte type, the data and a
//! 4-byte CRC. [`ChunkHeader::read`] reads a header and [`ChunkHeader::fault`] says what is
//! wrong with it, if anything, against the bytes that remain; the format decides what a fault
//! means (an error before `IEND`, the start of trailing data after it).

use crate::Result;
use crate::io::Source;

/// The eight bytes every PNG stream starts with.
pub const SIGNATURE: [u8; 8] = *b"\x89PNG\r\n\x1a\n";

/// Largest data length a chunk may declare: 2^31-1.
pub const MAX_CHUNK_LEN: u64 = 0x7FFF_FFFF;

/// Length, type and CRC fields around a chunk's data.
pub const CHUNK_OVERHEAD: u64 = 12;

/// One chunk's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkHeader {
    /// Offset of the length field.
    pub offset: u64,
    /// Declared data length.
    pub len: u64,
    /// The chunk type.
    pub kind: [u8; 4],
}

/// What is wrong with a chunk header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The length is over 2^31-1.
    TooLong,
    /// The type is not four ASCII letters.
    NotLetters,
    /// The data and CRC run past the end of the stream.
    PastEnd,
}

impl ChunkHeader {
    /// Reads the 8-byte header at the source's position, leaving the source at the data.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] when fewer than 8 bytes remain; I/O errors.
    #[inline]
    pub fn read(src: &mut Source<'_>) -> Result<ChunkHeader> {
        let offset = src.pos();
        let [l0, l1, l2, l3, t0, t1, t2, t3] = src.read_array::<8>("chunk header")?;
        Ok(ChunkHeader {
            offset,
            len: u64::from(u32::from_be_bytes([l0, l1, l2, l3])),
            kind: [t0, t1, t2, t3],
        })
    }

    /// The first fault of this header, in the order above, given the bytes that remain after it.
    #[inline]
    pub fn fault(&self, remaining: u64) -> Option<Fault> {
        if self.len > MAX_CHUNK_LEN {
            Some(Fault::TooLong)
        } else if !self.kind.iter().all(u8::is_ascii_alphabetic) {
            Some(Fault::NotLetters)
        } else if self.len + 4 > remaining {
            Some(Fault::PastEnd)
        } else {
            None
        }
    }

    /// Offset just past the chunk's CRC.
    #[inline]
    pub fn end(&self) -> u64 {
        self.offset + CHUNK_OVERHEAD + self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn headers_and_their_faults() {
        let mut cur = Cursor::new(b"\0\0\0\x02tEXtab\0\0\0\0".to_vec());
        let mut src = Source::new(&mut cur, "png").unwrap();
        let h = ChunkHeader::read(&mut src).unwrap();
        assert_eq!((h.offset, h.len, h.kind, h.end()), (0, 2, *b"tEXt", 14));
        assert_eq!(h.fault(src.remaining()), None);
        assert_eq!(h.fault(5), Some(Fault::PastEnd));
        let long = ChunkHeader { len: 1 << 31, ..h };
        assert_eq!(long.fault(u64::MAX), Some(Fault::TooLong));
        let odd = ChunkHeader { kind: *b"tE1t", ..h };
        assert_eq!(odd.fault(u64::MAX), Some(Fault::NotLetters));
        assert!(ChunkHeader::read(&mut src).is_err(), "fewer than 8 bytes left");
    }
}
