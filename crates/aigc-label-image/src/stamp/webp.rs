//! Stamping WebP in place: the image is decoded, the label drawn, and only the bitstream chunk
//! replaced by a lossless (VP8L) one; every other chunk (VP8X, ICCP, EXIF, XMP with any implicit
//! label, unknown chunks) is copied byte for byte in its place.
//!
//! Lossless input stays lossless. Lossy input (VP8, with ALPH) cannot stay lossy: no encoder we
//! can use writes VP8, so it becomes lossless too (pixels outside the label exactly as decoded,
//! the file larger), and the report says so. Animated WebP answers `None`.

use std::io::Cursor;

use aigc_label_core::{Error, Result};
use image::codecs::webp::{WebPDecoder, WebPEncoder};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder};

use super::place::Placed;
use super::png::{Layout, draw_direct};
use super::{Stamped, Stamper};

/// A WebP stamped in place.
pub(super) struct Stamp {
    pub bytes: Vec<u8>,
    pub stamped: Stamped,
    /// The input was lossy and is now lossless.
    pub was_lossy: bool,
    pub has_icc: bool,
    pub has_exif: bool,
}

fn malformed(what: &str) -> Error {
    Error::malformed("webp", 0, what.to_string())
}

/// (FourCC, whole chunk range with padding, data range).
type Chunk = ([u8; 4], std::ops::Range<usize>, std::ops::Range<usize>);

fn chunks(bytes: &[u8]) -> Result<Vec<Chunk>> {
    if bytes.get(..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WEBP") {
        return Err(malformed("not a RIFF WEBP file"));
    }
    let mut out = Vec::new();
    let mut pos = 12;
    while pos + 8 <= bytes.len() {
        let kind: [u8; 4] = bytes[pos..pos + 4].try_into().map_err(|_| malformed("chunk"))?;
        let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().map_err(|_| malformed("chunk"))?) as usize;
        let data_end = (pos + 8).checked_add(len).filter(|&e| e <= bytes.len());
        let data_end = data_end.ok_or_else(|| malformed("chunk past the end"))?;
        let end = (data_end + (len & 1)).min(bytes.len());
        out.push((kind, pos..end, pos + 8..data_end));
        pos = end;
    }
    Ok(out)
}

/// Stamps a WebP in place, or answers `None` for animations.
pub(super) fn stamp(bytes: &[u8], stamper: &Stamper, max_decoded_bytes: u64) -> Result<Option<Stamp>> {
    let list = chunks(bytes)?;
    let find = |k: &[u8; 4]| list.iter().find(|c| &c.0 == k).and_then(|c| bytes.get(c.2.clone()));
    if find(b"ANIM").is_some() || find(b"ANMF").is_some() {
        return Ok(None);
    }
    let was_lossy = find(b"VP8 ").is_some();
    let err = |e: image::ImageError| Error::malformed("webp", 0, e.to_string());
    let decoder = WebPDecoder::new(Cursor::new(bytes)).map_err(err)?;
    if decoder.total_bytes() > max_decoded_bytes {
        return Err(Error::Limit {
            format: "webp",
            offset: 0,
            what: "decoded image bytes",
            found: decoder.total_bytes(),
            limit: max_decoded_bytes,
        });
    }
    let image = DynamicImage::from_decoder(decoder).map_err(err)?;
    let orientation = find(b"EXIF")
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let (width, height) = (image.width(), image.height());
    let placed = Placed::new(stamper, width, height, orientation)?;
    let (mut pixels, colour, channels) = if image.color().has_alpha() {
        (image.into_rgba8().into_raw(), image::ExtendedColorType::Rgba8, 4)
    } else {
        (image.into_rgb8().into_raw(), image::ExtendedColorType::Rgb8, 3)
    };
    let layout = Layout {
        colour: if channels == 4 {
            png::ColorType::Rgba
        } else {
            png::ColorType::Rgb
        },
        depth: 8,
        stride: width as usize * channels,
    };
    draw_direct(&placed, &mut pixels, &layout, 0);
    let mut encoded = Vec::new();
    WebPEncoder::new_lossless(&mut encoded)
        .encode(&pixels, width, height, colour)
        .map_err(|e| Error::parameter("image", format!("webp: encoding the stamped image: {e}")))?;
    let vp8l = chunks(&encoded)?
        .into_iter()
        .find(|c| &c.0 == b"VP8L")
        .and_then(|c| encoded.get(c.1))
        .ok_or_else(|| malformed("the encoder wrote no VP8L chunk"))?
        .to_vec();
    let mut out = Vec::new();
    out.try_reserve(bytes.len() + vp8l.len())
        .map_err(|_| malformed("output too large"))?;
    out.extend_from_slice(bytes.get(..12).unwrap_or_default());
    let mut written = false;
    for (kind, whole, _) in &list {
        match kind {
            b"VP8L" | b"VP8 " => {
                if !written {
                    out.extend_from_slice(&vp8l);
                    written = true;
                }
            }
            // Alpha travels inside VP8L.
            b"ALPH" => {}
            _ => out.extend_from_slice(bytes.get(whole.clone()).unwrap_or_default()),
        }
    }
    let riff = u32::try_from(out.len() - 8).map_err(|_| malformed("output too large"))?;
    out[4..8].copy_from_slice(&riff.to_le_bytes());
    Ok(Some(Stamp {
        bytes: out,
        stamped: placed.stamped(),
        was_lossy,
        has_icc: find(b"ICCP").is_some(),
        has_exif: find(b"EXIF").is_some(),
    }))
}
