//! Stamping GIF in place: in every frame that overlaps the label, only the label's pixels get
//! new palette indices, and only that frame's image block (descriptor, colour table, LZW data)
//! is written again (with the `gif` crate). Every other block (extensions: loop count, comments,
//! XMP with any implicit label, graphic control; frames away from the label) is copied byte for
//! byte, and no pixel is re-quantised.
//!
//! Colours: the frame's palette is reused when its nearest entries to the label's four colours
//! keep [`super::MIN_CONTRAST`] between text and plate; otherwise the frame gets a local palette
//! (its own colours plus the label's) while there is room under 256 entries; a full palette
//! lends its darkest and lightest entries. A frame with no pair of colours at 4.5:1 answers
//! `None` (the caller's fallback).

use std::io::Cursor;

use aigc_label_core::{Error, Result};
use image::metadata::Orientation;

use super::place::Placed;
use super::png::{draw_levels, label_indices};
use super::{Stamped, Stamper};

/// A GIF stamped in place.
pub(super) struct Stamp {
    pub bytes: Vec<u8>,
    pub stamped: Stamped,
    /// Frames in the file.
    pub frames: usize,
    /// Frames that overlapped the label and were written again.
    pub redrawn: usize,
    /// Frames that got a local palette (or a larger one) for the label's colours.
    pub palettes_added: usize,
}

fn malformed(what: &str) -> Error {
    Error::malformed("gif", 0, what.to_string())
}

/// Byte ranges of the image blocks (from the 0x2C introducer to the end of the LZW data).
fn image_blocks(bytes: &[u8]) -> Result<Vec<std::ops::Range<usize>>> {
    let flags = *bytes.get(10).ok_or_else(|| malformed("short header"))?;
    let mut pos = 13 + if flags & 0x80 != 0 { 3 << ((flags & 7) + 1) } else { 0 };
    let sub_blocks = |mut pos: usize| -> Result<usize> {
        loop {
            let n = usize::from(*bytes.get(pos).ok_or_else(|| malformed("truncated data sub-blocks"))?);
            pos += 1 + n;
            if n == 0 {
                return Ok(pos);
            }
        }
    };
    let mut blocks = Vec::new();
    loop {
        match bytes.get(pos) {
            Some(0x21) => pos = sub_blocks(pos + 2)?,
            Some(0x2C) => {
                let start = pos;
                let flags = *bytes.get(pos + 9).ok_or_else(|| malformed("short image descriptor"))?;
                pos += 10 + if flags & 0x80 != 0 { 3 << ((flags & 7) + 1) } else { 0 };
                pos = sub_blocks(pos + 1)?; // after the LZW minimum code size
                blocks.push(start..pos);
            }
            Some(0x3B) | None => return Ok(blocks),
            Some(_) => return Err(malformed("unknown block")),
        }
    }
}

/// Stamps a GIF in place, or answers `None` when a frame's palette cannot show the label.
pub(super) fn stamp(bytes: &[u8], stamper: &Stamper, max_decoded_bytes: u64) -> Result<Option<Stamp>> {
    let blocks = image_blocks(bytes)?;
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    options.set_memory_limit(gif::MemoryLimit::Bytes(
        std::num::NonZeroU64::new(max_decoded_bytes.max(1)).unwrap_or(std::num::NonZeroU64::MIN),
    ));
    let mut decoder = options
        .read_info(Cursor::new(bytes))
        .map_err(|e| Error::malformed("gif", 0, e.to_string()))?;
    let (width, height) = (u32::from(decoder.width()), u32::from(decoder.height()));
    // The label is drawn to the canvas's scale, whatever the frames' sizes: a 653-byte GIF
    // declaring a 65488x65503 canvas had the label rendered at 800 MB (found by the stamp
    // fuzzer). A canvas is held to the decode limit, as decoded pixels are.
    let canvas = u64::from(width) * u64::from(height);
    if canvas > max_decoded_bytes {
        return Err(Error::Limit {
            format: "gif",
            offset: 6,
            what: "canvas pixels",
            found: canvas,
            limit: max_decoded_bytes,
        });
    }
    let global: Vec<u8> = decoder.global_palette().map(<[u8]>::to_vec).unwrap_or_default();
    let placed = Placed::new(stamper, width, height, Orientation::NoTransforms)?;
    let mut replacements: Vec<Option<Vec<u8>>> = Vec::new();
    let (mut redrawn, mut palettes_added, mut total) = (0, 0, 0u64);
    while let Some(frame) = decoder
        .read_next_frame()
        .map_err(|e| Error::malformed("gif", 0, e.to_string()))?
    {
        total = total.saturating_add(frame.buffer.len() as u64);
        if total > max_decoded_bytes {
            return Err(Error::Limit {
                format: "gif",
                offset: 0,
                what: "decoded frames",
                found: total,
                limit: max_decoded_bytes,
            });
        }
        let (left, top) = (u32::from(frame.left), u32::from(frame.top));
        let (fw, fh) = (u32::from(frame.width), u32::from(frame.height));
        // The label's box clipped to this frame, in canvas coordinates (inclusive).
        let (fx1, fy1) = ((left + fw).saturating_sub(1), (top + fh).saturating_sub(1));
        let (x0, y0) = (placed.x0.max(left), placed.y0.max(top));
        let (x1, y1) = (placed.x1.min(fx1), placed.y1.min(fy1));
        if fw == 0 || fh == 0 || x0 > x1 || y0 > y1 {
            replacements.push(None);
            continue;
        }
        let mut palette = frame.palette.clone().unwrap_or_else(|| global.clone());
        let had = palette.len();
        let room = 256usize.saturating_sub(palette.len() / 3);
        let Some((index, added)) = label_indices(&placed, &mut palette, room, frame.transparent) else {
            return Ok(None);
        };
        let mut pixels = frame.buffer.to_vec();
        draw_levels(&placed, (x0, y0, x1, y1), index, |x, y, i| {
            let at = (y - top) as usize * fw as usize + (x - left) as usize;
            if let Some(p) = pixels.get_mut(at) {
                *p = i;
            }
        });
        let local = if added > 0 || frame.palette.is_some() {
            palettes_added += usize::from(palette.len() > had);
            Some(palette)
        } else {
            None
        };
        replacements.push(Some(encode_block(frame, pixels, local, &global, width, height)?));
        redrawn += 1;
    }
    if replacements.len() != blocks.len() {
        return Err(malformed("frame count does not match the image blocks"));
    }
    let mut out = Vec::new();
    out.try_reserve(bytes.len() + 4096)
        .map_err(|_| malformed("output too large"))?;
    let mut pos = 0;
    for (range, replacement) in blocks.iter().zip(&replacements) {
        if let Some(block) = replacement {
            out.extend_from_slice(bytes.get(pos..range.start).unwrap_or_default());
            out.extend_from_slice(block);
            pos = range.end;
        }
    }
    out.extend_from_slice(bytes.get(pos..).unwrap_or_default());
    Ok(Some(Stamp {
        bytes: out,
        stamped: placed.stamped(),
        frames: blocks.len(),
        redrawn,
        palettes_added,
    }))
}

/// The image block for `frame` with new `pixels` (in display row order) and palette.
fn encode_block(
    frame: &gif::Frame<'_>,
    pixels: Vec<u8>,
    local: Option<Vec<u8>>,
    global: &[u8],
    width: u32,
    height: u32,
) -> Result<Vec<u8>> {
    let err = |e: gif::EncodingError| Error::parameter("frame", format!("gif: encoding the stamped frame: {e}"));
    let buffer = if frame.interlaced {
        interlace(&pixels, usize::from(frame.width), usize::from(frame.height))
    } else {
        pixels
    };
    let mut new = gif::Frame {
        left: frame.left,
        top: frame.top,
        width: frame.width,
        height: frame.height,
        interlaced: frame.interlaced,
        palette: local,
        buffer: buffer.into(),
        ..gif::Frame::default()
    };
    // The graphic control extension is the input's, copied; the encoder's own is dropped.
    new.transparent = None;
    let mut file = Vec::new();
    {
        let palette = if global.is_empty() { &[0u8, 0, 0][..] } else { global };
        let mut encoder = gif::Encoder::new(&mut file, width as u16, height as u16, palette).map_err(err)?;
        encoder.write_frame(&new).map_err(err)?;
    }
    let blocks = image_blocks(&file)?;
    let range = blocks.first().ok_or_else(|| malformed("encoder wrote no frame"))?;
    Ok(file.get(range.clone()).unwrap_or_default().to_vec())
}

/// Rows of a deinterlaced frame in GIF's interlaced order (passes from rows 0, 4, 2, 1).
fn interlace(pixels: &[u8], width: usize, height: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(pixels.len());
    for (start, step) in [(0, 8), (4, 8), (2, 4), (1, 2)] {
        for y in (start..height).step_by(step) {
            out.extend_from_slice(pixels.get(y * width..(y + 1) * width).unwrap_or_default());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_canvas_past_the_decode_limit_is_refused_before_the_label_is_drawn() {
        // The fuzzer's input: a 653-byte GIF declaring a 65488x65503 canvas.
        let gif = include_bytes!("../../../../fuzz/corpus/stamp/oom-2b4d159efa110abaf8f8143e87f200b10def33fe");
        let stamper = Stamper::new(crate::stamp::Style::default()).unwrap();
        let refused = stamp(gif, &stamper, 64 << 20);
        assert!(
            matches!(
                refused,
                Err(Error::Limit {
                    what: "canvas pixels",
                    ..
                })
            ),
            "{:?}",
            refused.map(|s| s.is_some())
        );
    }

    #[test]
    fn interlaced_row_order() {
        let rows: Vec<u8> = (0..10).collect();
        assert_eq!(interlace(&rows, 1, 10), vec![0, 8, 4, 2, 6, 1, 3, 5, 7, 9]);
    }

    #[test]
    fn block_walk_refuses_broken_structure() {
        assert!(image_blocks(b"GIF89a").is_err());
        let mut ok = b"GIF89a\x01\x00\x01\x00\x00\x00\x00".to_vec();
        ok.push(0x3B);
        assert!(image_blocks(&ok).unwrap().is_empty());
        let mut bad = ok.clone();
        bad.insert(13, 0x2C);
        assert!(image_blocks(&bad).is_err());
    }
}
