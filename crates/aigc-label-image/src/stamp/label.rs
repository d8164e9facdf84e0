//! [`PreparedLabel`]: a label rasterised once, blended many times.

use ab_glyph::{Font, PxScale};
use aigc_label_core::{Error, Result};
use image::Rgba;

use super::font::check_coverage;
use super::raster::{Raster, box_size, glyph_run, layout, padding, rasterise, size_for_ink, zeroed};
use super::style::{Position, Style};

/// A rectangle of an image, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Rect {
    /// True if pixel (`x`, `y`) lies inside.
    pub fn contains(&self, x: u32, y: u32) -> bool {
        x >= self.x
            && y >= self.y
            && u64::from(x) < u64::from(self.x) + u64::from(self.width)
            && u64::from(y) < u64::from(self.y) + u64::from(self.height)
    }
}

/// A label rasterised for one (text, style, font, image size): coverage masks, colours and size,
/// ready to be blended into any number of images or frames of that size.
///
/// Rasterising (laying out glyphs, finding the font size that meets the 5% rule, drawing
/// outlines) costs far more than blending, so a video pipeline prepares once and blends per
/// frame. Blending into RGBA and RGB buffers is provided ([`PreparedLabel::blend_rgba8`],
/// [`PreparedLabel::draw`]); other pixel layouts (YUV I420/NV12 frames) can be blended from the
/// public parts:
///
/// - [`width`](Self::width) x [`height`](Self::height) pixels, placed by
///   [`placement`](Self::placement);
/// - [`glyph_coverage`](Self::glyph_coverage) and [`backing_coverage`](Self::backing_coverage):
///   one byte per pixel, row-major, 0 (none) to 255 (full);
/// - [`text_colour`](Self::text_colour) and [`backing_colour`](Self::backing_colour), straight
///   alpha; the backing is drawn first, the glyphs over it;
/// - [`layer`](Self::layer): both composited into one premultiplied RGBA layer, so that for an
///   opaque destination `out = layer.rgb + dst * (255 - layer.a) / 255` per channel. Because
///   colour conversion to Y'CbCr is affine, the same formula works per plane with the layer
///   colour converted (offsets scaled by alpha), which is how a YUV blend can reuse it.
#[derive(Debug, Clone)]
pub struct PreparedLabel {
    width: u32,
    height: u32,
    glyph: Vec<u8>,
    backing: Vec<u8>,
    layer: Vec<u8>,
    /// `255 - alpha` of the layer, repeated for each of a pixel's four bytes, so the RGBA blend
    /// is one element-wise pass over three byte rows, which compilers vectorise.
    inverse: Vec<u8>,
    text_colour: Rgba<u8>,
    backing_colour: Rgba<u8>,
    font_px: f32,
    ink_height: u32,
    position: Position,
    margin: u32,
    min_height_fraction: f32,
}

impl PreparedLabel {
    /// Rasterises `style.text` in `font` for an image of `image_width` x `image_height`.
    ///
    /// The CJK ink height is the larger of `style.min_height_fraction` of the shortest side
    /// (at least 5%) and `style.min_ink_px`. If the label with its margin does not fit, the
    /// margin is dropped, then the padding shrinks to one pixel; if it still does not fit, this
    /// fails: the ink is never drawn smaller than the rules ask.
    ///
    /// # Errors
    /// [`Error::Parameter`] when the style fails [`Style::validate`], the font lacks a glyph of
    /// the text, the image has a zero side, or the image is too small to hold the label.
    /// [`Error::Limit`] when the masks cannot be allocated.
    pub fn new<F: Font>(style: &Style, font: &F, image_width: u32, image_height: u32) -> Result<Self> {
        style.validate()?;
        check_coverage(font, &style.text)?;
        if image_width == 0 || image_height == 0 {
            return Err(Error::parameter(
                "image size",
                format!("cannot label an empty image ({image_width}x{image_height})"),
            ));
        }
        let short = image_width.min(image_height);
        let target = rule_ink(style.min_height_fraction, short).max(style.min_ink_px);
        let run = glyph_run(font, &style.text);
        let (scale, ink) = size_for_ink(font, &run, target)?;
        let glyphs = layout(font, &run, scale);
        let (pad, min_pad) = padding(style, ink);
        let margin = style.margin.resolve(short);
        let fits = |margin: u32, pad: u32| {
            let (w, h) = box_size(&glyphs, pad);
            fits_at(style.position, w, h, margin, image_width, image_height)
        };
        let (margin, pad) = [(margin, pad), (0, pad), (0, min_pad)]
            .into_iter()
            .find(|&(m, p)| fits(m, p))
            .ok_or_else(|| {
                let (w, h) = box_size(&glyphs, min_pad);
                Error::parameter(
                    "image size",
                    format!(
                        "image {image_width}x{image_height} is too small for the label {:?}: with CJK ink {ink} px \
                         tall (the larger of {:.0}% of the shortest side and Style::min_ink_px = {}) it needs \
                         {w}x{h} px; lower min_ink_px or use a shorter text",
                        style.text,
                        style.min_height_fraction * 100.0,
                        style.min_ink_px
                    ),
                )
            })?;
        let raster = rasterise(&glyphs, pad, style, ink)?;
        Self::from_raster(raster, style, font_em_px(font, scale), margin)
    }

    fn from_raster(raster: Raster, style: &Style, font_px: f32, margin: u32) -> Result<Self> {
        let text_colour = style.text_colour;
        let backing_colour = style.backing.colour();
        let mut layer = zeroed(raster.glyph.len().saturating_mul(4))?;
        let mut inverse = zeroed(layer.len())?;
        let pixels = layer.chunks_exact_mut(4).zip(inverse.chunks_exact_mut(4));
        for ((px, inv), (&g, &b)) in pixels.zip(raster.glyph.iter().zip(&raster.backing)) {
            let premultiplied = composite(text_colour, g, backing_colour, b);
            px.copy_from_slice(&premultiplied);
            inv.fill(!premultiplied[3]);
        }
        Ok(PreparedLabel {
            width: raster.width,
            height: raster.height,
            glyph: raster.glyph,
            backing: raster.backing,
            layer,
            inverse,
            text_colour,
            backing_colour,
            font_px,
            ink_height: raster.ink_height,
            position: style.position,
            margin,
            min_height_fraction: style.min_height_fraction,
        })
    }

    /// Label width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Label height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Font size in pixels per em.
    pub fn font_px(&self) -> f32 {
        self.font_px
    }

    /// Measured ink height of the CJK glyphs: rows where a CJK glyph pixel is at least half
    /// covered.
    pub fn ink_height(&self) -> u32 {
        self.ink_height
    }

    /// Glyph coverage, `width * height` bytes, row-major.
    pub fn glyph_coverage(&self) -> &[u8] {
        &self.glyph
    }

    /// Backing (plate or outline) coverage, `width * height` bytes, row-major.
    pub fn backing_coverage(&self) -> &[u8] {
        &self.backing
    }

    /// Glyphs over backing as premultiplied RGBA, `width * height * 4` bytes, row-major.
    pub fn layer(&self) -> &[u8] {
        &self.layer
    }

    /// Row `y` of [`PreparedLabel::layer`], `width * 4` bytes; `None` past the last row.
    pub fn layer_row(&self, y: u32) -> Option<&[u8]> {
        let row = self.width as usize * 4;
        self.layer.get(y as usize * row..(y as usize + 1) * row)
    }

    /// Row `y` of the `255 - alpha` bytes matching [`PreparedLabel::layer_row`].
    pub(crate) fn inverse_row(&self, y: u32) -> Option<&[u8]> {
        let row = self.width as usize * 4;
        self.inverse.get(y as usize * row..(y as usize + 1) * row)
    }

    /// Glyph colour, straight alpha.
    pub fn text_colour(&self) -> Rgba<u8> {
        self.text_colour
    }

    /// Backing colour, straight alpha.
    pub fn backing_colour(&self) -> Rgba<u8> {
        self.backing_colour
    }

    /// Where the label goes in an image of `image_width` x `image_height`.
    ///
    /// A label may be reused for other image sizes as long as it still meets the rules there.
    ///
    /// # Errors
    /// [`Error::Parameter`] when the label does not fit, or its ink is under the style's height
    /// fraction of that image's shortest side (prepare a new label for that size).
    pub fn placement(&self, image_width: u32, image_height: u32) -> Result<Rect> {
        let needed = rule_ink(self.min_height_fraction, image_width.min(image_height));
        if self.ink_height < needed {
            return Err(Error::parameter(
                "image size",
                format!(
                    "this label ({} px ink) was prepared for a smaller image; {image_width}x{image_height} needs {needed} \
                     px: prepare it again for this size",
                    self.ink_height
                ),
            ));
        }
        if !fits_at(
            self.position,
            self.width,
            self.height,
            self.margin,
            image_width,
            image_height,
        ) {
            return Err(Error::parameter(
                "image size",
                format!(
                    "a {}x{} label does not fit a {image_width}x{image_height} image",
                    self.width, self.height
                ),
            ));
        }
        let along = |anchor: u8, image: u32, size: u32| match anchor {
            0 => self.margin,
            1 => (image - size) / 2,
            _ => image - size - self.margin,
        };
        Ok(Rect {
            x: along(self.position.column(), image_width, self.width),
            y: along(self.position.row(), image_height, self.height),
            width: self.width,
            height: self.height,
        })
    }
}

/// The ink height the size rule asks for: `fraction` of `short_side`, rounded up, at least 1.
/// (A thousandth of a pixel is forgiven, so 0.05 x 1080, inexact in binary, is 54, not 55.)
fn rule_ink(fraction: f32, short_side: u32) -> u32 {
    ((f64::from(fraction) * f64::from(short_side) - 1e-3).ceil() as u32).max(1)
}

/// True if a `w` x `h` label at `position` with `margin` fits the image. Edge-centred positions
/// need the margin on one axis only.
fn fits_at(position: Position, w: u32, h: u32, margin: u32, image_w: u32, image_h: u32) -> bool {
    let need = |anchor: u8, size: u32| u64::from(size) + if anchor == 1 { 0 } else { u64::from(margin) };
    need(position.column(), w) <= u64::from(image_w) && need(position.row(), h) <= u64::from(image_h)
}

/// Font size in pixels per em for ab_glyph's `scale` (which is ascent-to-descent height).
fn font_em_px<F: Font>(font: &F, scale: PxScale) -> f32 {
    let height = font.height_unscaled();
    match font.units_per_em() {
        Some(upem) if height > 0.0 => scale.y * upem / height,
        _ => scale.y,
    }
}

/// Text at coverage `g` over backing at coverage `b`, as premultiplied RGBA.
fn composite(text: Rgba<u8>, g: u8, backing: Rgba<u8>, b: u8) -> [u8; 4] {
    let unit = |v: u8| f32::from(v) / 255.0;
    let ta = unit(text.0[3]) * unit(g);
    let ba = unit(backing.0[3]) * unit(b) * (1.0 - ta);
    let alpha = ((ta + ba) * 255.0).round().clamp(0.0, 255.0) as u8;
    let channel = |i: usize| {
        let c = unit(text.0[i]) * ta + unit(backing.0[i]) * ba;
        ((c * 255.0).round().clamp(0.0, 255.0) as u8).min(alpha)
    };
    [channel(0), channel(1), channel(2), alpha]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_is_exact_at_the_extremes() {
        let white = Rgba([255, 255, 255, 255]);
        let plate = Rgba([0, 0, 0, 204]);
        assert_eq!(composite(white, 255, plate, 255), [255, 255, 255, 255]);
        assert_eq!(composite(white, 0, plate, 255), [0, 0, 0, 204]);
        assert_eq!(composite(white, 0, plate, 0), [0, 0, 0, 0]);
    }

    #[test]
    fn rule_ink_rounds_up() {
        assert_eq!(rule_ink(0.05, 1080), 54);
        assert_eq!(rule_ink(0.05, 64), 4);
        assert_eq!(rule_ink(0.05, 1), 1);
    }
}
