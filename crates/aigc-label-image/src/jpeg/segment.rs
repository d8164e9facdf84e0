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

use aigc_label_core::container::Budget;
use aigc_label_core::container::jpeg::{self, Segments, stands_alone};
use aigc_label_core::io::Source;
use aigc_label_core::{Error, Limits, Result};

#[cfg(test)]
use aigc_label_core::container::jpeg::TEM;
pub(super) use aigc_label_core::container::jpeg::{SOI, SOS, Segment};

use super::FORMAT;

/// End of image.
const EOI: u8 = jpeg::EOI;
/// APP0: JFIF / JFXX.
pub(super) const APP0: u8 = 0xE0;
/// APP1: EXIF and XMP.
pub(super) const APP1: u8 = 0xE1;

/// Walks the segments of one stream over the container layer's segment walk; see the module
/// docs for what it checks.
#[derive(Debug)]
pub(super) struct Walker {
    segments: Segments,
    /// Made on the first step, from the limits it is given.
    budget: Option<Budget>,
    frame_seen: bool,
}

impl Walker {
    /// Checks the SOI marker at the start of `src`.
    ///
    /// # Errors
    /// [`Error::Malformed`] without SOI; [`Error::Truncated`] for a stream under two bytes.
    pub fn new(src: &mut Source<'_>) -> Result<Self> {
        Ok(Walker {
            segments: Segments::new(src)?,
            budget: None,
            frame_seen: false,
        })
    }

    /// Offset of the segment the next call to [`Walker::next`] reads.
    pub fn position(&self) -> u64 {
        self.segments.position()
    }

    /// The next segment, up to and including the first SOS; leaves `src` at its payload.
    /// Callers stop calling once they get SOS.
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::Truncated`] or [`Error::Limit`] as listed in the module
    /// docs; I/O errors.
    pub fn next(&mut self, src: &mut Source<'_>, limits: &Limits) -> Result<Segment> {
        let budget = self
            .budget
            .get_or_insert_with(|| Budget::counting(limits, "marker segments before SOS"));
        let m = self.segments.marker(src, budget)?;
        let segment = match m.code {
            0x00 => return Err(src_error(m.marker_at, "FF 00 outside entropy-coded data")),
            SOI => return Err(src_error(m.marker_at, "a second SOI marker")),
            EOI => return Err(src_error(m.marker_at, "EOI before any SOS: the file has no image data")),
            code if stands_alone(code) => self.segments.alone(src, m),
            _ => self.segments.with_length(src, m)?,
        };
        if is_frame_header(m.code) {
            self.frame_seen = true;
        }
        if m.code == SOS {
            self.check_scan_header(src, m.marker_at, &segment.payload)?;
        }
        Ok(segment)
    }

    /// B.2.3: `Ls = 6 + 2 * Ns` with `1 <= Ns <= 4`, and a frame header must come first.
    fn check_scan_header(&self, src: &mut Source<'_>, marker_at: u64, payload: &std::ops::Range<u64>) -> Result<()> {
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
