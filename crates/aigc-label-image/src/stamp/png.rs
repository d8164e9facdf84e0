//! Stamping PNG in place: the image data is decoded at its own colour type and bit depth, the
//! label drawn into the samples, and only the IDAT chunks re-encoded (with the `png` crate);
//! every other chunk (text, XMP with any implicit label, ICC, EXIF, pHYs, unknown ones) is copied
//! byte for byte where it was.
//!
//! Palette images keep their palette: the label is drawn in four colours (text, an opaque plate
//! and two shades between them for anti-aliasing), each an existing palette entry when one
//! matches exactly, else appended while the palette has room, else the nearest entry as long as
//! text and plate keep [`MIN_CONTRAST`] (or the palette's darkest and lightest entries); failing
//! that the image is promoted to truecolour and the report says so. Interlaced images come back non-interlaced (the encoder writes rows in
//! order only), also reported. Animated PNG answers `None` (the caller's fallback).

use std::io::Cursor;

use aigc_label_core::{Error, Result};
use image::metadata::Orientation;

use super::place::Placed;
use super::{MIN_CONTRAST, Stamped, Stamper, contrast_ratio};

/// A PNG stamped in place.
pub(super) struct Stamp {
    pub bytes: Vec<u8>,
    pub stamped: Stamped,
    /// What happened to the palette, for palette images.
    pub palette: Option<PaletteChange>,
    /// The input was interlaced (Adam7); the output is not.
    pub deinterlaced: bool,
    pub has_icc: bool,
    pub has_exif: bool,
}

/// What stamping a palette image did to its palette.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaletteChange {
    /// Every label colour was already in the palette, or the nearest entries had the contrast.
    Reused,
    /// This many colours were appended to the palette.
    Extended(usize),
    /// The palette had no room and its nearest colours lacked contrast: the image was promoted
    /// to 8-bit truecolour (RGB, or RGBA when the palette had transparency); PLTE, tRNS and hIST
    /// were dropped and bKGD converted.
    Promoted,
}

struct Chunk {
    kind: [u8; 4],
    /// The whole chunk: length, type, data, CRC.
    whole: std::ops::Range<usize>,
    data: std::ops::Range<usize>,
}

fn malformed(what: &str) -> Error {
    Error::malformed("png", 0, what.to_string())
}

fn chunks(bytes: &[u8]) -> Result<Vec<Chunk>> {
    if bytes.get(..8) != Some(b"\x89PNG\r\n\x1a\n") {
        return Err(malformed("signature"));
    }
    let mut out = Vec::new();
    let mut pos = 8;
    while pos < bytes.len() {
        let head = bytes
            .get(pos..pos + 8)
            .ok_or_else(|| malformed("truncated chunk header"))?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind = [head[4], head[5], head[6], head[7]];
        let end = pos
            .checked_add(12)
            .and_then(|p| p.checked_add(len))
            .filter(|&e| e <= bytes.len());
        let end = end.ok_or_else(|| malformed("chunk past the end"))?;
        out.push(Chunk {
            kind,
            whole: pos..end,
            data: pos + 8..end - 4,
        });
        pos = end;
        if &kind == b"IEND" {
            break;
        }
    }
    Ok(out)
}

/// Stamps a PNG in place, or answers `None` for APNG and interlaced files.
pub(super) fn stamp(bytes: &[u8], stamper: &Stamper, max_decoded_bytes: u64) -> Result<Option<Stamp>> {
    let list = chunks(bytes)?;
    let find = |k: &[u8; 4]| {
        list.iter()
            .find(|c| &c.kind == k)
            .and_then(|c| bytes.get(c.data.clone()))
    };
    if find(b"acTL").is_some() {
        return Ok(None);
    }
    let ihdr = find(b"IHDR")
        .filter(|d| d.len() == 13)
        .ok_or_else(|| malformed("IHDR"))?;
    // Adam7 is decoded to whole rows; the encoder writes rows in order only, so the image data
    // comes back non-interlaced (IHDR says so, and the report).
    let deinterlaced = ihdr[12] != 0;
    let orientation = find(b"eXIf")
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);

    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::IDENTITY);
    decoder.set_limits(png::Limits {
        bytes: usize::try_from(max_decoded_bytes).unwrap_or(usize::MAX),
    });
    let mut reader = decoder.read_info().map_err(png_error)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| malformed("image too large"))?;
    let mut pixels = Vec::new();
    pixels
        .try_reserve_exact(size)
        .map_err(|_| malformed("image too large"))?;
    pixels.resize(size, 0);
    let frame = reader.next_frame(&mut pixels).map_err(png_error)?;
    let info = reader.info();
    let (width, height) = (info.width, info.height);
    let layout = Layout {
        colour: frame.color_type,
        depth: frame.bit_depth as u8,
        stride: frame.line_size,
    };
    let mut palette: Vec<u8> = info.palette.as_deref().map(<[u8]>::to_vec).unwrap_or_default();
    let trns: Option<Vec<u8>> = info.trns.as_deref().map(<[u8]>::to_vec);
    let placed = Placed::new(stamper, width, height, orientation)?;

    let mut change = None;
    let mut layout = layout;
    if layout.colour == png::ColorType::Indexed {
        match draw_indexed(&placed, &mut pixels, &layout, &mut palette) {
            Some(c) => change = Some(c),
            None => {
                (pixels, layout) = promote(&pixels, &layout, width, height, &palette, trns.as_deref())?;
                change = Some(PaletteChange::Promoted);
            }
        }
    }
    if layout.colour != png::ColorType::Indexed {
        draw_direct(&placed, &mut pixels, &layout, 0);
    }

    let idat = encode(&pixels, &layout, width, height, &palette)?;
    let promoted = change == Some(PaletteChange::Promoted);
    let mut out = Vec::new();
    out.try_reserve(bytes.len() + idat.len())
        .map_err(|_| malformed("output too large"))?;
    out.extend_from_slice(&bytes[..8]);
    let mut idat_written = false;
    for c in &list {
        let data = bytes.get(c.data.clone()).unwrap_or_default();
        match &c.kind {
            b"IDAT" => {
                if !idat_written {
                    out.extend_from_slice(&idat);
                    idat_written = true;
                }
            }
            b"IHDR" if promoted || deinterlaced => {
                let mut d = data.to_vec();
                if promoted {
                    d[8] = 8;
                    d[9] = if layout.colour == png::ColorType::Rgba { 6 } else { 2 };
                }
                d[12] = 0;
                write_chunk(&mut out, b"IHDR", &d)?;
            }
            b"PLTE" if promoted => {}
            b"tRNS" | b"hIST" if promoted => {}
            b"bKGD" if promoted => {
                if let Some(&i) = data.first()
                    && let Some(rgb) = palette.get(usize::from(i) * 3..usize::from(i) * 3 + 3)
                {
                    write_chunk(&mut out, b"bKGD", &[0, rgb[0], 0, rgb[1], 0, rgb[2]])?;
                }
            }
            b"PLTE" if matches!(change, Some(PaletteChange::Extended(_))) => write_chunk(&mut out, b"PLTE", &palette)?,
            b"hIST" if matches!(change, Some(PaletteChange::Extended(_))) => {
                // One frequency per palette entry: the new entries get 0 (unknown).
                let mut d = data.to_vec();
                d.resize(palette.len() / 3 * 2, 0);
                write_chunk(&mut out, b"hIST", &d)?;
            }
            _ => out.extend_from_slice(bytes.get(c.whole.clone()).unwrap_or_default()),
        }
    }
    Ok(Some(Stamp {
        bytes: out,
        stamped: placed.stamped(),
        palette: change,
        deinterlaced,
        has_icc: find(b"iCCP").is_some(),
        has_exif: find(b"eXIf").is_some(),
    }))
}

fn png_error(e: png::DecodingError) -> Error {
    match e {
        png::DecodingError::IoError(io) => Error::Io(io),
        png::DecodingError::LimitsExceeded => Error::Limit {
            format: "png",
            offset: 0,
            what: "decoded image bytes",
            found: 0,
            limit: 0,
        },
        other => Error::malformed("png", 0, other.to_string()),
    }
}

/// Appends one chunk, with its length and CRC, as the carrier writes chunks.
fn write_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) -> Result<()> {
    out.extend_from_slice(&crate::png::chunk_bytes(kind, &[data], 0)?);
    Ok(())
}

/// Sample layout of decoded rows.
#[derive(Clone, Copy)]
pub(super) struct Layout {
    pub colour: png::ColorType,
    pub depth: u8,
    pub stride: usize,
}

impl Layout {
    fn channels(&self) -> usize {
        self.colour.samples()
    }

    fn max(&self) -> f32 {
        ((1u32 << self.depth) - 1) as f32
    }

    /// Sample `c` of pixel (`x`, `y`).
    fn get(&self, px: &[u8], x: usize, y: usize, c: usize) -> u16 {
        let index = x * self.channels() + c;
        let row = y * self.stride;
        match self.depth {
            16 => px
                .get(row + index * 2..row + index * 2 + 2)
                .map_or(0, |b| u16::from_be_bytes([b[0], b[1]])),
            8 => px.get(row + index).map_or(0, |&b| u16::from(b)),
            d => {
                let bit = index * usize::from(d);
                let byte = px.get(row + bit / 8).copied().unwrap_or(0);
                let shift = 8 - usize::from(d) - bit % 8;
                u16::from(byte >> shift) & ((1 << d) - 1)
            }
        }
    }

    fn set(&self, px: &mut [u8], x: usize, y: usize, c: usize, v: u16) {
        let index = x * self.channels() + c;
        let row = y * self.stride;
        match self.depth {
            16 => {
                if let Some(b) = px.get_mut(row + index * 2..row + index * 2 + 2) {
                    b.copy_from_slice(&v.to_be_bytes());
                }
            }
            8 => {
                if let Some(b) = px.get_mut(row + index) {
                    *b = v as u8;
                }
            }
            d => {
                let bit = index * usize::from(d);
                let shift = 8 - usize::from(d) - bit % 8;
                let mask = (((1u16 << d) - 1) as u8) << shift;
                if let Some(b) = px.get_mut(row + bit / 8) {
                    *b = (*b & !mask) | (((v as u8) << shift) & mask);
                }
            }
        }
    }
}

/// Blends the label into grey, grey+alpha, RGB and RGBA samples of any depth.
/// `px` holds whole rows from row `top` of the image (all of it for `top` 0).
pub(super) fn draw_direct(placed: &Placed, px: &mut [u8], layout: &Layout, top: u32) {
    let max = layout.max();
    let (grey, alpha) = match layout.colour {
        png::ColorType::Grayscale => (true, false),
        png::ColorType::GrayscaleAlpha => (true, true),
        png::ColorType::Rgb => (false, false),
        _ => (false, true),
    };
    let rows = (px.len() / layout.stride.max(1)) as u32;
    if rows == 0 {
        return;
    }
    for y in placed.y0.max(top)..=placed.y1.min(top + rows - 1) {
        for x in placed.x0..=placed.x1 {
            let Some(l) = placed.layer_at(x, y) else { continue };
            let (xu, yu) = (x as usize, (y - top) as usize);
            let unit = |c: usize| f32::from(layout.get(px, xu, yu, c)) / max;
            let (rgb, a) = if grey {
                ([unit(0); 3], if alpha { unit(1) } else { 1.0 })
            } else {
                ([unit(0), unit(1), unit(2)], if alpha { unit(3) } else { 1.0 })
            };
            let la = f32::from(l[3]) / 255.0;
            let out_a = la + a * (1.0 - la);
            let blend = |i: usize| {
                if out_a <= 0.0 {
                    0.0
                } else {
                    (f32::from(l[i]) / 255.0 + rgb[i] * a * (1.0 - la)) / out_a
                }
            };
            let q = |v: f32| (v.clamp(0.0, 1.0) * max).round() as u16;
            let (r, g, b) = (blend(0), blend(1), blend(2));
            if grey {
                // Rec. 709 luma, as the `image` crate converts to grey.
                layout.set(px, xu, yu, 0, q(0.2126 * r + 0.7152 * g + 0.0722 * b));
                if alpha {
                    layout.set(px, xu, yu, 1, q(out_a));
                }
            } else {
                layout.set(px, xu, yu, 0, q(r));
                layout.set(px, xu, yu, 1, q(g));
                layout.set(px, xu, yu, 2, q(b));
                if alpha {
                    layout.set(px, xu, yu, 3, q(out_a));
                }
            }
        }
    }
}

/// Draws the label into a palette image in four colours; `None` when the palette cannot hold
/// them with enough contrast (the caller promotes).
fn draw_indexed(placed: &Placed, px: &mut [u8], layout: &Layout, palette: &mut Vec<u8>) -> Option<PaletteChange> {
    let room = (1usize << layout.depth).saturating_sub(palette.len() / 3);
    let (index, added) = label_indices(placed, palette, room, None)?;
    draw_levels(
        placed,
        (placed.x0, placed.y0, placed.x1, placed.y1),
        index,
        |x, y, i| {
            layout.set(px, x as usize, y as usize, 0, u16::from(i));
        },
    );
    Some(if added > 0 {
        PaletteChange::Extended(added)
    } else {
        PaletteChange::Reused
    })
}

/// Palette indices for the label's four colours (plate, two anti-aliasing shades, text): an
/// entry of exactly that colour, else a new entry while `room` lasts, else the nearest entry;
/// with a full palette whose nearest entries lack [`MIN_CONTRAST`], its darkest and lightest
/// entries. `skip` (a transparent index) is never used. Returns the indices and how many entries
/// were appended, or `None` (palette unchanged) when text and plate would lack the contrast.
pub(super) fn label_indices(
    placed: &Placed,
    palette: &mut Vec<u8>,
    room: usize,
    skip: Option<u8>,
) -> Option<([u8; 4], usize)> {
    let label = placed.label();
    let text = label.text_colour().0;
    let plate = label.backing_colour().0;
    let mix = |t: f32| -> [u8; 3] {
        [0, 1, 2].map(|i| (f32::from(plate[i]) + (f32::from(text[i]) - f32::from(plate[i])) * t).round() as u8)
    };
    let wanted = [mix(0.0), mix(1.0 / 3.0), mix(2.0 / 3.0), mix(1.0)];
    let mut added = 0;
    let mut index = [0u8; 4];
    for (slot, colour) in index.iter_mut().zip(&wanted) {
        let entries = palette
            .chunks_exact(3)
            .map(|e| [e[0], e[1], e[2]])
            .enumerate()
            .filter(|&(i, _)| Some(i) != skip.map(usize::from));
        if let Some((i, _)) = entries.clone().find(|(_, e)| e == colour) {
            *slot = i as u8;
        } else if added < room {
            palette.extend_from_slice(colour);
            *slot = (palette.len() / 3 - 1) as u8;
            added += 1;
        } else {
            let distance = |e: &[u8; 3]| {
                (0..3)
                    .map(|i| (i32::from(e[i]) - i32::from(colour[i])).pow(2))
                    .sum::<i32>()
            };
            let (i, _) = entries.min_by_key(|(_, e)| distance(e))?;
            *slot = i as u8;
        }
    }
    let entry = |i: u8| {
        let at = usize::from(i) * 3;
        palette.get(at..at + 3).map(|e| [e[0], e[1], e[2]])
    };
    let (text_rgb, plate_rgb) = (entry(index[3])?, entry(index[0])?);
    if contrast_ratio(text_rgb, plate_rgb) >= MIN_CONTRAST {
        return Some((index, added));
    }
    palette.truncate(palette.len() - added * 3);
    if room > 0 {
        return None;
    }
    // A full palette whose nearest colours lack the contrast: the lightest entry for the text
    // and the darkest for the plate, with the shades nearest to their mixes, if that pair has it.
    let entries: Vec<(usize, [u8; 3])> = palette
        .chunks_exact(3)
        .map(|e| [e[0], e[1], e[2]])
        .enumerate()
        .filter(|&(i, _)| Some(i) != skip.map(usize::from))
        .collect();
    let luminance = |e: &[u8; 3]| super::relative_luminance(*e);
    let &(dark, dark_rgb) = entries
        .iter()
        .min_by(|a, b| luminance(&a.1).total_cmp(&luminance(&b.1)))?;
    let &(light, light_rgb) = entries
        .iter()
        .max_by(|a, b| luminance(&a.1).total_cmp(&luminance(&b.1)))?;
    if contrast_ratio(light_rgb, dark_rgb) < MIN_CONTRAST {
        return None;
    }
    let shade = |t: f32| -> u8 {
        let want = [0, 1, 2].map(|i| f32::from(dark_rgb[i]) + (f32::from(light_rgb[i]) - f32::from(dark_rgb[i])) * t);
        let distance = |e: &[u8; 3]| (0..3).map(|i| (f32::from(e[i]) - want[i]).powi(2)).sum::<f32>();
        entries
            .iter()
            .min_by(|a, b| distance(&a.1).total_cmp(&distance(&b.1)))
            .map_or(dark as u8, |&(i, _)| i as u8)
    };
    Some(([dark as u8, shade(1.0 / 3.0), shade(2.0 / 3.0), light as u8], 0))
}

/// Calls `set(x, y, index)` for every stored pixel of `(x0, y0, x1, y1)` (inclusive) the label
/// covers: glyph coverage in thirds over the plate, the plate where it covers at least half.
pub(super) fn draw_levels(
    placed: &Placed,
    (x0, y0, x1, y1): (u32, u32, u32, u32),
    index: [u8; 4],
    mut set: impl FnMut(u32, u32, u8),
) {
    for y in y0..=y1 {
        for x in x0..=x1 {
            let Some((g, b)) = placed.coverage_at(x, y) else {
                continue;
            };
            let level = (usize::from(g) * 3 + 127) / 255;
            if level == 0 && b < 128 {
                continue;
            }
            set(x, y, index[level.min(3)]);
        }
    }
}

/// Expands palette samples to 8-bit RGB (or RGBA when there is transparency).
fn promote(
    px: &[u8],
    layout: &Layout,
    width: u32,
    height: u32,
    palette: &[u8],
    trns: Option<&[u8]>,
) -> Result<(Vec<u8>, Layout)> {
    let channels = if trns.is_some() { 4 } else { 3 };
    let stride = width as usize * channels;
    let mut out = Vec::new();
    out.try_reserve_exact(stride * height as usize)
        .map_err(|_| malformed("image too large"))?;
    for y in 0..height as usize {
        for x in 0..width as usize {
            let i = usize::from(layout.get(px, x, y, 0));
            let rgb = palette.get(i * 3..i * 3 + 3).unwrap_or(&[0, 0, 0]);
            out.extend_from_slice(rgb);
            if let Some(t) = trns {
                out.push(t.get(i).copied().unwrap_or(255));
            }
        }
    }
    let colour = if trns.is_some() {
        png::ColorType::Rgba
    } else {
        png::ColorType::Rgb
    };
    Ok((
        out,
        Layout {
            colour,
            depth: 8,
            stride,
        },
    ))
}

/// Encodes the samples and returns just the IDAT chunks.
fn encode(px: &[u8], layout: &Layout, width: u32, height: u32, palette: &[u8]) -> Result<Vec<u8>> {
    let mut file = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut file, width, height);
        encoder.set_color(layout.colour);
        encoder.set_depth(png::BitDepth::from_u8(layout.depth).ok_or_else(|| malformed("bit depth"))?);
        encoder.set_compression(png::Compression::High);
        if layout.colour == png::ColorType::Indexed {
            encoder.set_palette(palette.to_vec());
        }
        let mut writer = encoder.write_header().map_err(encoding_error)?;
        writer.write_image_data(px).map_err(encoding_error)?;
        writer.finish().map_err(encoding_error)?;
    }
    let mut idat = Vec::new();
    for c in chunks(&file)? {
        if &c.kind == b"IDAT" {
            idat.extend_from_slice(file.get(c.whole).unwrap_or_default());
        }
    }
    Ok(idat)
}

fn encoding_error(e: png::EncodingError) -> Error {
    Error::parameter("image", format!("png: encoding the stamped image: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_palette_lacking_contrast_near_the_label_colours_uses_its_extremes() {
        let stamper = Stamper::new(crate::stamp::Style::default()).unwrap();
        let placed = Placed::new(&stamper, 400, 300, Orientation::NoTransforms).unwrap();
        // Nearest to the black plate is red (first of the ties), to the white text yellow:
        // 3.7:1. Blue and yellow have 8:1.
        let full = vec![255, 0, 0, 0, 0, 255, 255, 255, 0, 0, 255, 0];
        let mut palette = full.clone();
        let (index, added) = label_indices(&placed, &mut palette, 0, None).unwrap();
        assert_eq!((index[0], index[3], added), (1, 2, 0));
        assert_eq!(palette, full);
        // With room, the label's own colours are appended instead.
        let (index, added) = label_indices(&placed, &mut palette, 4, None).unwrap();
        assert_eq!((index, added), ([4, 5, 6, 7], 4));
        // Never the transparent index, and no pair with the contrast: `None`, palette unchanged.
        let mut greys = vec![100, 100, 100, 120, 120, 120];
        assert!(label_indices(&placed, &mut greys, 0, Some(0)).is_none());
        assert_eq!(greys.len(), 6);
    }

    #[test]
    fn packed_samples_read_and_write_in_place() {
        for depth in [1u8, 2, 4, 8, 16] {
            let layout = Layout {
                colour: png::ColorType::Grayscale,
                depth,
                stride: (10 * usize::from(depth)).div_ceil(8),
            };
            let mut px = vec![0u8; layout.stride * 2];
            let max = ((1u32 << depth) - 1) as u16;
            for x in 0..10 {
                layout.set(&mut px, x, 1, 0, (x as u16 * 7) & max);
            }
            for x in 0..10 {
                assert_eq!(layout.get(&px, x, 1, 0), (x as u16 * 7) & max, "depth {depth} x {x}");
                assert_eq!(layout.get(&px, x, 0, 0), 0);
            }
        }
    }
}
