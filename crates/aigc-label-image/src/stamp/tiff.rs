//! Stamping TIFF in place: only the strips of the first page that the label crosses are
//! decompressed, drawn on and compressed again with the file's own method (none, LZW, Deflate)
//! and predictor; they go back where they were when they fit, else at the end of the file, and
//! only those strips' StripOffsets / StripByteCounts values change. Every other byte (tags, other
//! pages, other strips) is the input's.
//!
//! Scope: classic TIFF (not BigTIFF), strips (not tiles), chunky 8-bit grey or RGB with an
//! optional extra sample, predictor 1 or 2. Anything else answers `None` (the caller's fallback).

use std::io::{Read, Write};

use aigc_label_core::io::Bytes;
use aigc_label_core::{Error, Result};
use image::metadata::Orientation;

use super::place::Placed;
use super::png::{Layout, draw_direct};
use super::{Stamped, Stamper};

/// A TIFF stamped in place.
pub(super) struct Stamp {
    pub bytes: Vec<u8>,
    pub stamped: Stamped,
    /// Strips rewritten.
    pub strips: usize,
    /// The compression tag's value (1 none, 5 LZW, 8 or 32946 Deflate).
    pub compression: u16,
    pub has_icc: bool,
    pub has_exif: bool,
}

fn malformed(what: &str) -> Error {
    Error::malformed("tiff", 0, what.to_string())
}

/// One IFD entry: type, count, and where its value lives (inline or at an offset).
#[derive(Clone, Copy)]
struct Entry {
    kind: u16,
    count: u32,
    /// Offset in the file of the value bytes.
    at: usize,
}

struct Ifd {
    little: bool,
    entries: Vec<(u16, Entry)>,
}

impl Ifd {
    fn read(bytes: &[u8]) -> Option<Ifd> {
        let little = match bytes.get(..4)? {
            b"II\x2a\x00" => true,
            b"MM\x00\x2a" => false,
            _ => return None,
        };
        let mut b = Bytes::new(bytes);
        b.seek(4)?;
        let u16_ = |b: &mut Bytes<'_>| if little { b.u16_le() } else { b.u16_be() };
        let u32_ = |b: &mut Bytes<'_>| if little { b.u32_le() } else { b.u32_be() };
        let first = u32_(&mut b)? as usize;
        b.seek(first)?;
        let n = usize::from(u16_(&mut b)?);
        let mut entries = Vec::with_capacity(n);
        for i in 0..n {
            let tag = u16_(&mut b)?;
            let kind = u16_(&mut b)?;
            let count = u32_(&mut b)?;
            b.take(4)?; // the value or its offset, read below
            let size = match kind {
                1 | 2 | 6 | 7 => 1,
                3 | 8 => 2,
                4 | 9 | 11 | 13 => 4,
                5 | 10 | 12 => 8,
                _ => 0,
            };
            let total = (count as usize).checked_mul(size)?;
            let field = first + 2 + i * 12 + 8;
            let at = if total <= 4 {
                field
            } else {
                let mut v = Bytes::new(bytes);
                v.seek(field)?;
                u32_(&mut v)? as usize
            };
            entries.push((tag, Entry { kind, count, at }));
        }
        Some(Ifd { little, entries })
    }

    fn entry(&self, tag: u16) -> Option<Entry> {
        self.entries.iter().find(|(t, _)| *t == tag).map(|&(_, e)| e)
    }

    /// The SHORT or LONG values of `tag`.
    fn values(&self, bytes: &[u8], tag: u16) -> Option<Vec<u32>> {
        let e = self.entry(tag)?;
        let size = match e.kind {
            3 => 2,
            4 => 4,
            _ => return None,
        };
        let data = bytes.get(e.at..e.at.checked_add((e.count as usize).checked_mul(size)?)?)?;
        Some(
            data.chunks_exact(size)
                .map(|c| match (size, self.little) {
                    (2, true) => u32::from(u16::from_le_bytes([c[0], c[1]])),
                    (2, false) => u32::from(u16::from_be_bytes([c[0], c[1]])),
                    (_, true) => u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                    (_, false) => u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                })
                .collect(),
        )
    }

    fn value(&self, bytes: &[u8], tag: u16) -> Option<u32> {
        self.values(bytes, tag)?.first().copied()
    }

    /// Writes value `index` of `tag` (SHORT or LONG) into `out`.
    fn patch(&self, out: &mut [u8], tag: u16, index: usize, v: u32) -> Option<()> {
        let e = self.entry(tag)?;
        match e.kind {
            3 => {
                let v = u16::try_from(v).ok()?;
                let at = e.at + index * 2;
                out.get_mut(at..at + 2)?
                    .copy_from_slice(&if self.little { v.to_le_bytes() } else { v.to_be_bytes() });
            }
            4 => {
                let at = e.at + index * 4;
                out.get_mut(at..at + 4)?
                    .copy_from_slice(&if self.little { v.to_le_bytes() } else { v.to_be_bytes() });
            }
            _ => return None,
        }
        Some(())
    }
}

/// Stamps the first page of a TIFF in place, or answers `None` for a layout this path does not
/// handle.
pub(super) fn stamp(bytes: &[u8], stamper: &Stamper, max_decoded_bytes: u64) -> Result<Option<Stamp>> {
    let Some(ifd) = Ifd::read(bytes) else { return Ok(None) };
    let get = |tag| ifd.value(bytes, tag);
    let (Some(width), Some(height)) = (get(256), get(257)) else {
        return Ok(None);
    };
    let spp = get(277).unwrap_or(1) as usize;
    let bits = ifd.values(bytes, 258).unwrap_or_else(|| vec![1]);
    let compression = get(259).unwrap_or(1) as u16;
    let photometric = get(262);
    let predictor = get(317).unwrap_or(1);
    let colour = match (photometric, spp) {
        (Some(1), 1) => png::ColorType::Grayscale,
        (Some(1), 2) => png::ColorType::GrayscaleAlpha,
        (Some(2), 3) => png::ColorType::Rgb,
        (Some(2), 4) => png::ColorType::Rgba,
        _ => return Ok(None),
    };
    let supported = bits.iter().all(|&b| b == 8)
        && get(284).unwrap_or(1) == 1
        && get(339).unwrap_or(1) == 1
        && ifd.entry(322).is_none()
        && matches!(compression, 1 | 5 | 8 | 32946)
        && matches!(predictor, 1 | 2);
    let (Some(offsets), Some(counts)) = (ifd.values(bytes, 273), ifd.values(bytes, 279)) else {
        return Ok(None);
    };
    if !supported || width == 0 || height == 0 {
        return Ok(None);
    }
    let rows_per_strip = get(278).unwrap_or(height).clamp(1, height);
    let strips = height.div_ceil(rows_per_strip) as usize;
    if offsets.len() != strips || counts.len() != strips {
        return Err(malformed("strip offsets and byte counts do not match the image"));
    }
    let orientation = get(274)
        .and_then(|o| Orientation::from_exif(o as u8))
        .unwrap_or(Orientation::NoTransforms);
    let placed = Placed::new(stamper, width, height, orientation)?;
    let stride = width as usize * spp;
    let layout = Layout {
        colour,
        depth: 8,
        stride,
    };
    let mut out = Vec::new();
    out.try_reserve(bytes.len() + bytes.len() / 4)
        .map_err(|_| malformed("output too large"))?;
    out.extend_from_slice(bytes);
    let mut rewritten = 0;
    let first = (placed.y0 / rows_per_strip) as usize;
    let last = (placed.y1 / rows_per_strip) as usize;
    for strip in first..=last.min(strips - 1) {
        let top = strip as u32 * rows_per_strip;
        let rows = rows_per_strip.min(height - top) as usize;
        let expected = rows * stride;
        if expected as u64 > max_decoded_bytes {
            return Err(Error::Limit {
                format: "tiff",
                offset: 0,
                what: "decoded strip bytes",
                found: expected as u64,
                limit: max_decoded_bytes,
            });
        }
        let (off, len) = (offsets[strip] as usize, counts[strip] as usize);
        let data = bytes
            .get(off..off.checked_add(len).ok_or_else(|| malformed("strip"))?)
            .ok_or_else(|| malformed("strip past the end"))?;
        let mut pixels = decompress(compression, data, expected)?;
        if predictor == 2 {
            for row in pixels.chunks_exact_mut(stride) {
                for i in spp..row.len() {
                    row[i] = row[i].wrapping_add(row[i - spp]);
                }
            }
        }
        draw_direct(&placed, &mut pixels, &layout, top);
        if predictor == 2 {
            for row in pixels.chunks_exact_mut(stride) {
                for i in (spp..row.len()).rev() {
                    row[i] = row[i].wrapping_sub(row[i - spp]);
                }
            }
        }
        let packed = compress(compression, &pixels)?;
        // Back in its own place when it fits, else at the (word-aligned) end.
        let at = if packed.len() <= len {
            off
        } else {
            if out.len() % 2 == 1 {
                out.push(0);
            }
            out.len()
        };
        if at == off {
            out[off..off + packed.len()].copy_from_slice(&packed);
        } else {
            out.extend_from_slice(&packed);
        }
        let (Ok(at32), Ok(len32)) = (u32::try_from(at), u32::try_from(packed.len())) else {
            return Ok(None);
        };
        if ifd.patch(&mut out, 273, strip, at32).is_none() || ifd.patch(&mut out, 279, strip, len32).is_none() {
            return Ok(None);
        }
        rewritten += 1;
    }
    Ok(Some(Stamp {
        bytes: out,
        stamped: placed.stamped(),
        strips: rewritten,
        compression,
        has_icc: ifd.entry(34675).is_some(),
        has_exif: ifd.entry(34665).is_some(),
    }))
}

/// A strip's samples, exactly `expected` bytes (short data is padded with zeros, as readers do).
fn decompress(compression: u16, data: &[u8], expected: usize) -> Result<Vec<u8>> {
    let mut out = vec![0u8; expected];
    match compression {
        1 => {
            let n = data.len().min(expected);
            out[..n].copy_from_slice(&data[..n]);
        }
        5 => {
            let mut decoder = weezl::decode::Decoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8);
            let (mut input, mut filled) = (data, 0);
            while filled < expected {
                let result = decoder.decode_bytes(input, &mut out[filled..]);
                filled += result.consumed_out;
                input = input.get(result.consumed_in..).unwrap_or_default();
                match result.status {
                    Err(e) => return Err(Error::malformed("tiff", 0, format!("LZW strip: {e}"))),
                    Ok(weezl::LzwStatus::Ok) if result.consumed_in + result.consumed_out > 0 => {}
                    Ok(_) => break,
                }
            }
        }
        _ => {
            let mut decoder = flate2::read::ZlibDecoder::new(data);
            let mut filled = 0;
            while filled < expected {
                match decoder.read(&mut out[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) => return Err(Error::malformed("tiff", 0, format!("Deflate strip: {e}"))),
                }
            }
        }
    }
    Ok(out)
}

fn compress(compression: u16, pixels: &[u8]) -> Result<Vec<u8>> {
    match compression {
        1 => Ok(pixels.to_vec()),
        5 => weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
            .encode(pixels)
            .map_err(|e| Error::parameter("image", format!("tiff: LZW: {e}"))),
        _ => {
            let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(pixels)?;
            Ok(encoder.finish()?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_round_trips() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8 / 16).collect();
        for method in [1, 5, 8] {
            let packed = compress(method, &data).unwrap();
            assert!(
                decompress(method, &packed, data.len()).unwrap() == data,
                "method {method}"
            );
        }
    }

    #[test]
    fn strips_outside_the_layouts_handled_answer_none_and_broken_files_do_not_panic() {
        let stamper = Stamper::new(crate::stamp::Style::default()).unwrap();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/stamp/lzw.tif");
        let bytes = std::fs::read(path).unwrap();
        assert!(stamp(&bytes, &stamper, 1 << 30).unwrap().is_some());
        // A decoded strip above the memory limit is refused.
        assert!(matches!(stamp(&bytes, &stamper, 100), Err(Error::Limit { .. })));
        // Not TIFF, or truncated anywhere: an error or `None`, never a panic.
        assert!(stamp(b"II*\0", &stamper, 1 << 30).unwrap().is_none());
        for cut in (0..bytes.len()).step_by(97) {
            let _ = stamp(&bytes[..cut], &stamper, 1 << 30);
        }
        let mut flipped = bytes.clone();
        for i in (8..flipped.len()).step_by(31) {
            flipped[i] ^= 0xA5;
        }
        let _ = stamp(&flipped, &stamper, 1 << 30);
    }
}
