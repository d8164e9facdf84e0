//! JPEG marker segments (ITU-T T.81 Annex B.1.1), from SOI towards the first SOS: the walk the
//! JPEG carrier and the trace scanner share.
//!
//! A JPEG file before its first scan is a run of marker segments: `FF`, any number of `FF` fill
//! bytes (B.1.1.2), a marker code, and for most markers a 16-bit big-endian length that counts
//! itself but not the marker. The walk reads a marker ([`Segments::marker`]), and the format
//! says whether a length follows ([`Segments::with_length`]) or the marker stands alone
//! ([`Segments::alone`]): formats differ on markers that should not appear (a second SOI, `FF
//! 00`), so the choice is theirs. A length is checked against the bytes that remain before the
//! walk moves past it.

use std::ops::Range;

use super::Budget;
use crate::io::Source;
use crate::{Error, Result};

/// Start of image.
pub const SOI: u8 = 0xD8;
/// End of image.
pub const EOI: u8 = 0xD9;
/// Start of scan: the entropy-coded data follows its header.
pub const SOS: u8 = 0xDA;
/// Temporary private use marker; stands alone like RSTn (B.1.1.3).
pub const TEM: u8 = 0x01;

/// A marker as the walk met it: where its segment starts, and its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    /// First byte that belongs to the segment: its first fill byte, or the `FF` of the marker.
    pub start: u64,
    /// Offset of the `FF` directly before the marker code (after any fill bytes).
    pub marker_at: u64,
    /// The marker code (`E1` for APP1, ...).
    pub code: u8,
}

/// One marker segment. Offsets are from the start of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// First byte that belongs to the segment: its first fill byte, or the `FF` of the marker.
    pub start: u64,
    /// Offset of the `FF` directly before the marker code (after any fill bytes).
    pub marker_at: u64,
    /// The marker code (`E1` for APP1, ...).
    pub marker: u8,
    /// The bytes after the length field; empty for markers that stand alone.
    pub payload: Range<u64>,
}

impl Segment {
    /// Bytes in the payload.
    #[inline]
    pub fn payload_len(&self) -> u64 {
        self.payload.end - self.payload.start
    }

    /// The segment from its marker to the end of its payload, fill bytes excluded.
    #[inline]
    pub fn range(&self) -> Range<u64> {
        self.marker_at..self.payload.end
    }

    /// The segment with its fill bytes.
    #[inline]
    pub fn whole(&self) -> Range<u64> {
        self.start..self.payload.end
    }
}

/// True for the markers that carry no length: TEM and RST0-RST7 (B.1.1.3).
#[inline]
pub fn stands_alone(code: u8) -> bool {
    matches!(code, TEM | 0xD0..=0xD7)
}

/// The walk over one stream's marker segments.
#[derive(Debug)]
pub struct Segments {
    next_at: u64,
    /// The two bytes after the last marker's code, read with it (a length field, for most
    /// markers), so the common segment costs one read instead of three.
    after_code: Option<u16>,
}

impl Segments {
    /// Checks the SOI marker at the start of `src` and stands after it.
    ///
    /// # Errors
    /// [`Error::Malformed`] without SOI; [`Error::Truncated`] for a stream under two bytes.
    #[inline]
    pub fn new(src: &mut Source<'_>) -> Result<Self> {
        src.seek_to(0)?;
        let soi = src.read_array::<2>("SOI marker")?;
        if soi != [0xFF, SOI] {
            return Err(Error::malformed(src.format(), 0, "missing SOI marker FF D8"));
        }
        Ok(Segments {
            next_at: 2,
            after_code: None,
        })
    }

    /// Offset of the segment the next call to [`Segments::marker`] reads.
    #[inline]
    pub fn position(&self) -> u64 {
        self.next_at
    }

    /// Reads the next marker (after any fill bytes), charging the budget first; `src` is left
    /// after the marker code, or up to two bytes further (what [`Segments::with_length`] reads
    /// next).
    ///
    /// The usual segment (`FF`, a code, no fill bytes, two more bytes in the stream) is read in
    /// one read of four bytes: a file of half a million empty segments is that many reads, not
    /// three times as many through the reader's layers.
    ///
    /// # Errors
    /// [`Error::Malformed`] when no `FF` starts it; truncation; limits; I/O errors.
    // Always inlined, here and in `with_length`: called from another crate (the JPEG carrier,
    // the trace scanner), a `Result<Marker>` / `Result<Segment>` came back through the stack,
    // copied with overlapping moves of the enum's padding that stalled store forwarding on
    // every segment: JPEG inspect of the hostile file took 52 ms instead of 22 ms (#17).
    #[inline(always)]
    pub fn marker(&mut self, src: &mut Source<'_>, budget: &mut Budget) -> Result<Marker> {
        budget.tick(src.format(), self.next_at)?;
        if src.pos() != self.next_at {
            src.seek_to(self.next_at)?;
        }
        let start = self.next_at;
        self.after_code = None;
        if src.remaining() >= 4 {
            // Read into a local buffer and taken apart as one integer: an array handed back
            // through a `Result` was stored and reloaded at an offset the store did not cover,
            // a store-forwarding stall that cost more than the read.
            let mut head = [0u8; 4];
            let n = src.read_up_to(&mut head)?;
            let word = u32::from_be_bytes(head);
            let code = (word >> 16) as u8;
            if n == 4 && word >> 24 == 0xFF && code != 0xFF {
                self.after_code = Some(word as u16);
                return Ok(Marker {
                    start,
                    marker_at: start,
                    code,
                });
            }
            src.seek_to(start)?;
        }
        let [first] = src.read_array::<1>("marker (the file ends before any SOS segment)")?;
        if first != 0xFF {
            return Err(Error::malformed(
                src.format(),
                start,
                format!("expected a marker (FF), found {first:02X}"),
            ));
        }
        let mut marker_at = start;
        // Each pass consumes a byte, so the stream's length bounds this loop.
        loop {
            let [byte] = src.read_array::<1>("marker code")?;
            if byte != 0xFF {
                return Ok(Marker {
                    start,
                    marker_at,
                    code: byte,
                });
            }
            marker_at = src.pos() - 1;
        }
    }

    /// The segment of a marker that stands alone; the walk moves on after the marker.
    #[inline]
    pub fn alone(&mut self, src: &Source<'_>, m: Marker) -> Segment {
        let _ = src;
        let at = m.marker_at + 2;
        self.next_at = at;
        Segment {
            start: m.start,
            marker_at: m.marker_at,
            marker: m.code,
            payload: at..at,
        }
    }

    /// Reads the length after marker `m` and checks it against the bytes that remain; `src` is
    /// left at the payload, and the walk moves on past it.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a length below 2; [`Error::Truncated`] past the end of the
    /// stream; I/O errors.
    #[inline(always)]
    pub fn with_length(&mut self, src: &mut Source<'_>, m: Marker) -> Result<Segment> {
        let len = match self.after_code.take() {
            Some(len) if src.pos() == m.marker_at + 4 => len,
            _ => {
                if src.pos() != m.marker_at + 2 {
                    src.seek_to(m.marker_at + 2)?;
                }
                u16::from_be_bytes(src.read_array::<2>("segment length")?)
            }
        };
        if len < 2 {
            return Err(Error::malformed(
                src.format(),
                m.marker_at,
                format!("marker FF {:02X}: segment length {len} is below 2", m.code),
            ));
        }
        let n = u64::from(len - 2);
        if n > src.remaining() {
            return Err(Error::truncated(
                src.format(),
                m.marker_at,
                format!(
                    "marker FF {:02X} declares {n} payload bytes, {} remain",
                    m.code,
                    src.remaining()
                ),
            ));
        }
        let payload = src.pos()..src.pos() + n;
        self.next_at = payload.end;
        Ok(Segment {
            start: m.start,
            marker_at: m.marker_at,
            marker: m.code,
            payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use std::io::Cursor;

    #[test]
    fn segments_with_fill_bytes_lengths_and_lone_markers() {
        let data = b"\xFF\xD8\xFF\xFF\xE1\x00\x04ab\xFF\xD0\xFF\xDA\x00\x02".to_vec();
        let mut cur = Cursor::new(data);
        let mut src = Source::new(&mut cur, "jpeg").unwrap();
        let mut budget = Budget::new(&Limits::default());
        let mut walk = Segments::new(&mut src).unwrap();
        let m = walk.marker(&mut src, &mut budget).unwrap();
        assert_eq!((m.start, m.marker_at, m.code), (2, 3, 0xE1));
        let app1 = walk.with_length(&mut src, m).unwrap();
        assert_eq!((app1.payload.clone(), app1.whole()), (7..9, 2..9));
        let m = walk.marker(&mut src, &mut budget).unwrap();
        assert!(stands_alone(m.code));
        assert_eq!(walk.alone(&src, m).payload, 11..11);
        let m = walk.marker(&mut src, &mut budget).unwrap();
        assert_eq!(m.code, SOS);
        assert_eq!(walk.with_length(&mut src, m).unwrap().payload_len(), 0);
    }

    /// A reader that counts the reads it is asked for.
    struct Counting(Cursor<Vec<u8>>, usize);

    impl std::io::Read for Counting {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.1 += 1;
            self.0.read(buf)
        }
    }

    impl std::io::Seek for Counting {
        fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
            self.0.seek(pos)
        }
    }

    #[test]
    fn a_segment_costs_one_read() {
        let mut data = b"\xFF\xD8".to_vec();
        for _ in 0..1000 {
            data.extend_from_slice(b"\xFF\xEF\x00\x04ab");
        }
        data.extend_from_slice(b"\xFF\xDA\x00\x02");
        let mut reader = Counting(Cursor::new(data), 0);
        let mut n = 0;
        {
            let mut src = Source::new(&mut reader, "jpeg").unwrap();
            let mut budget = Budget::new(&Limits::default());
            let mut walk = Segments::new(&mut src).unwrap();
            loop {
                let m = walk.marker(&mut src, &mut budget).unwrap();
                let seg = walk.with_length(&mut src, m).unwrap();
                if seg.marker == SOS {
                    break;
                }
                assert_eq!(seg.payload_len(), 2);
                n += 1;
            }
        }
        assert_eq!(n, 1000);
        // SOI, then one read per segment.
        assert!(reader.1 <= 1 + 1001, "{} reads", reader.1);
    }

    #[test]
    fn lying_lengths_and_missing_markers_are_errors() {
        for (data, truncated) in [
            (&b"\xFF\xD8\xFF\xE1\x00\x09ab"[..], true),
            (&b"\xFF\xD8\xFF\xE1\x00\x01"[..], false),
            (&b"\xFF\xD8\x00"[..], false),
        ] {
            let mut cur = Cursor::new(data.to_vec());
            let mut src = Source::new(&mut cur, "jpeg").unwrap();
            let mut budget = Budget::new(&Limits::default());
            let mut walk = Segments::new(&mut src).unwrap();
            let r = walk
                .marker(&mut src, &mut budget)
                .and_then(|m| walk.with_length(&mut src, m));
            match r {
                Err(Error::Truncated { .. }) => assert!(truncated),
                Err(Error::Malformed { .. }) => assert!(!truncated),
                other => panic!("{other:?}"),
            }
        }
        let mut cur = Cursor::new(b"\x89PNG".to_vec());
        let mut src = Source::new(&mut cur, "jpeg").unwrap();
        assert!(Segments::new(&mut src).is_err());
    }
}
