//! The marker-segment walker: ITU-T T.81 (JPEG) Annex B.1.1, from SOI up to the first SOS.
//!
//! A JPEG file before its first scan is a run of marker segments: `FF`, any number of `FF` fill
//! bytes (B.1.1.2), a marker code, and for most markers a 16-bit big-endian length that counts
//! itself but not the marker. The walker reads only those headers; the caller decides, per
//! segment, whether to buffer the payload (APP1), copy it, or seek past it.
//!
//! What the walker insists on, so that garbage is refused early rather than copied:
//! a leading SOI; `FF` where a marker must start; a length of at least 2 that fits in what
//! remains of the stream; a frame header (SOFn) before the first SOS; an SOS whose length agrees
//! with its component count (B.2.3); and at most [`Limits::max_structures`] segments.

use std::ops::Range;

use aigc_label_core::io::Source;
use aigc_label_core::{Error, Limits, Result};

use super::FORMAT;

/// Start of image.
pub(super) const SOI: u8 = 0xD8;
/// End of image.
const EOI: u8 = 0xD9;
/// Start of scan: the entropy-coded data follows its header.
pub(super) const SOS: u8 = 0xDA;
/// APP0: JFIF / JFXX.
pub(super) const APP0: u8 = 0xE0;
/// APP1: EXIF and XMP.
pub(super) const APP1: u8 = 0xE1;
/// Temporary private use marker; stands alone like RSTn (B.1.1.3).
const TEM: u8 = 0x01;

/// One marker segment as the walker met it. Offsets are from the start of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Segment {
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
    pub fn payload_len(&self) -> u64 {
        self.payload.end - self.payload.start
    }

    /// The segment from its marker to the end of its payload, fill bytes excluded.
    pub fn range(&self) -> Range<u64> {
        self.marker_at..self.payload.end
    }

    /// The segment with its fill bytes.
    pub fn whole(&self) -> Range<u64> {
        self.start..self.payload.end
    }
}

/// Walks the segments of one stream; see the module docs for what it checks.
#[derive(Debug)]
pub(super) struct Walker {
    next_at: u64,
    walked: u64,
    frame_seen: bool,
}

impl Walker {
    /// Checks the SOI marker at the start of `src`.
    ///
    /// # Errors
    /// [`Error::Malformed`] without SOI; [`Error::Truncated`] for a stream under two bytes.
    pub fn new(src: &mut Source<'_>) -> Result<Self> {
        src.seek_to(0)?;
        let soi = src.read_array::<2>("SOI marker")?;
        if soi != [0xFF, SOI] {
            return Err(Error::malformed(FORMAT, 0, "missing SOI marker FF D8"));
        }
        Ok(Walker {
            next_at: 2,
            walked: 0,
            frame_seen: false,
        })
    }

    /// Offset of the segment the next call to [`Walker::next`] reads.
    pub fn position(&self) -> u64 {
        self.next_at
    }

    /// The next segment, up to and including the first SOS; leaves `src` at its payload.
    /// Callers stop calling once they get SOS.
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::Truncated`] or [`Error::Limit`] as listed in the module
    /// docs; I/O errors.
    pub fn next(&mut self, src: &mut Source<'_>, limits: &Limits) -> Result<Segment> {
        self.walked += 1;
        if self.walked > limits.max_structures {
            return Err(Error::Limit {
                format: FORMAT,
                offset: self.next_at,
                what: "marker segments before SOS",
                found: self.walked,
                limit: limits.max_structures,
            });
        }
        src.seek_to(self.next_at)?;
        let start = src.pos();
        let [first] = src.read_array::<1>("marker (the file ends before any SOS segment)")?;
        if first != 0xFF {
            return Err(src_error(start, format!("expected a marker (FF), found {first:02X}")));
        }
        let (marker_at, marker) = read_marker_code(src, start)?;
        let payload = match marker {
            0x00 => return Err(src_error(marker_at, "FF 00 outside entropy-coded data")),
            SOI => return Err(src_error(marker_at, "a second SOI marker")),
            EOI => return Err(src_error(marker_at, "EOI before any SOS: the file has no image data")),
            TEM | 0xD0..=0xD7 => src.pos()..src.pos(),
            _ => read_length(src, marker_at, marker)?,
        };
        if is_frame_header(marker) {
            self.frame_seen = true;
        }
        if marker == SOS {
            self.check_scan_header(src, marker_at, &payload)?;
        }
        self.next_at = payload.end;
        Ok(Segment {
            start,
            marker_at,
            marker,
            payload,
        })
    }

    /// B.2.3: `Ls = 6 + 2 * Ns` with `1 <= Ns <= 4`, and a frame header must come first.
    fn check_scan_header(&self, src: &mut Source<'_>, marker_at: u64, payload: &Range<u64>) -> Result<()> {
        if !self.frame_seen {
            return Err(src_error(marker_at, "SOS before any frame header (SOFn)"));
        }
        let len = payload.end - payload.start;
        if len == 0 {
            return Err(src_error(marker_at, "SOS segment without a component count"));
        }
        let [components] = src.read_array::<1>("SOS component count")?;
        if !(1..=4).contains(&components) || len != 4 + 2 * u64::from(components) {
            return Err(src_error(
                marker_at,
                format!("SOS length {} does not fit {components} components", len + 2),
            ));
        }
        src.seek_to(payload.start)
    }
}

/// Reads fill bytes and the marker code after the first `FF` at `start`; returns the offset of
/// the last `FF` and the code.
fn read_marker_code(src: &mut Source<'_>, start: u64) -> Result<(u64, u8)> {
    let mut marker_at = start;
    // Each pass consumes a byte, so the stream's length bounds this loop.
    loop {
        let [byte] = src.read_array::<1>("marker code")?;
        if byte != 0xFF {
            return Ok((marker_at, byte));
        }
        marker_at = src.pos() - 1;
    }
}

/// Reads a segment's length field and checks it against the bytes that remain.
fn read_length(src: &mut Source<'_>, marker_at: u64, marker: u8) -> Result<Range<u64>> {
    let len = u16::from_be_bytes(src.read_array::<2>("segment length")?);
    if len < 2 {
        return Err(src_error(
            marker_at,
            format!("marker FF {marker:02X}: segment length {len} is below 2"),
        ));
    }
    let n = u64::from(len - 2);
    if n > src.remaining() {
        return Err(Error::truncated(
            FORMAT,
            marker_at,
            format!(
                "marker FF {marker:02X} declares {n} payload bytes, {} remain",
                src.remaining()
            ),
        ));
    }
    Ok(src.pos()..src.pos() + n)
}

/// SOF0-SOF15 without DHT (C4), JPG (C8) and DAC (CC).
fn is_frame_header(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF)
}

fn src_error(offset: u64, what: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::malformed(FORMAT, offset, what)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// SOI, the given segments, then a minimal SOF0 and SOS.
    fn jpeg(middle: &[u8]) -> Vec<u8> {
        let mut v = vec![0xFF, SOI];
        v.extend_from_slice(middle);
        v.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 8, 0, 1, 0, 1, 1, 1, 0x11, 0]);
        v.extend_from_slice(&[0xFF, SOS, 0x00, 0x08, 1, 1, 0, 0, 63, 0, 0xAB, 0xFF, 0xD9]);
        v
    }

    fn walk(data: &[u8]) -> Result<Vec<Segment>> {
        let mut cursor = Cursor::new(data);
        let mut src = Source::new(&mut cursor, FORMAT)?;
        let mut walker = Walker::new(&mut src)?;
        let mut out = Vec::new();
        loop {
            let seg = walker.next(&mut src, &Limits::default())?;
            let done = seg.marker == SOS;
            out.push(seg);
            if done {
                return Ok(out);
            }
        }
    }

    #[test]
    fn walks_fill_bytes_and_standalone_markers() {
        let data = jpeg(&[0xFF, 0xFF, 0xFF, 0xE0, 0x00, 0x04, 1, 2, 0xFF, 0xD3, 0xFF, 0x01]);
        let segs = walk(&data).unwrap();
        let markers: Vec<u8> = segs.iter().map(|s| s.marker).collect();
        assert_eq!(markers, [APP0, 0xD3, TEM, 0xC0, SOS]);
        assert_eq!(segs[0].start, 2);
        assert_eq!(segs[0].marker_at, 4);
        assert_eq!(segs[0].payload, 8..10);
        assert_eq!(segs[1].payload, 12..12);
    }

    #[test]
    fn refuses_broken_structure() {
        let cases: [(&str, Vec<u8>); 9] = [
            ("no SOI", vec![0xFF, 0xD9, 0xFF]),
            ("short length", jpeg(&[0xFF, 0xE1, 0x00, 0x01])),
            ("lying length", jpeg(&[0xFF, 0xE1, 0xFF, 0xF0, 0, 0])),
            ("stuffed zero", jpeg(&[0xFF, 0x00])),
            ("second SOI", jpeg(&[0xFF, SOI])),
            ("EOI first", vec![0xFF, SOI, 0xFF, 0xD9]),
            ("junk byte", jpeg(&[0x12])),
            ("no SOS", vec![0xFF, SOI, 0xFF, 0xE0, 0x00, 0x02]),
            ("SOS without SOF", vec![0xFF, SOI, 0xFF, SOS, 0, 8, 1, 1, 0, 0, 63, 0]),
        ];
        for (name, data) in cases {
            assert!(walk(&data).is_err(), "{name} must fail");
        }
        let mut bad_sos = jpeg(&[]);
        let at = bad_sos.len() - 9;
        bad_sos[at] = 3; // three components in a one-component SOS length
        assert!(walk(&bad_sos).is_err());
    }

    #[test]
    fn obeys_the_segment_limit() {
        let data = jpeg(&[0xFF, 0xE2, 0, 2, 0xFF, 0xE3, 0, 2, 0xFF, 0xE4, 0, 2]);
        let mut cursor = Cursor::new(&data);
        let mut src = Source::new(&mut cursor, FORMAT).unwrap();
        let mut walker = Walker::new(&mut src).unwrap();
        let mut limits = Limits::default();
        limits.max_structures = 2;
        walker.next(&mut src, &limits).unwrap();
        walker.next(&mut src, &limits).unwrap();
        assert!(matches!(walker.next(&mut src, &limits), Err(Error::Limit { .. })));
    }
}
