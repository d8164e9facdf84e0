//! Blending a [`PreparedLabel`] into pixel buffers. Only the label's rectangle is read or
//! written; pixels the label does not cover (layer alpha 0) keep their exact values.
//!
//! 8-bit RGBA and RGB take an integer path (exact rounding, no per-pixel branches on opaque
//! rows) because they are what generation pipelines hold and what video frames are; other
//! `DynamicImage` variants take a floating-point path.

use aigc_label_core::{Error, Result};
use image::{DynamicImage, ImageBuffer, Pixel, RgbImage, RgbaImage};

use super::label::{PreparedLabel, Rect};

impl PreparedLabel {
    /// Blends the label into a row-major 8-bit RGBA buffer (straight alpha) of `width` x
    /// `height` pixels whose rows start `stride` bytes apart, and returns where it went.
    ///
    /// Opaque destination pixels get `label over pixel`; translucent ones get the Porter-Duff
    /// "over" of the label on them, so a transparent image gains the label with its own alpha.
    ///
    /// # Errors
    /// As [`PreparedLabel::placement`]; [`Error::Parameter`] when `stride` is under `width * 4`
    /// or the buffer is shorter than `height` rows.
    pub fn blend_rgba8(&self, pixels: &mut [u8], width: u32, height: u32, stride: usize) -> Result<Rect> {
        self.blend_rows(pixels, width, height, stride, 4, blend_row_rgba)
    }

    /// As [`PreparedLabel::blend_rgba8`], for 8-bit RGB buffers (3 bytes a pixel).
    ///
    /// # Errors
    /// As [`PreparedLabel::blend_rgba8`], with `width * 3` for the stride.
    pub fn blend_rgb8(&self, pixels: &mut [u8], width: u32, height: u32, stride: usize) -> Result<Rect> {
        self.blend_rows(pixels, width, height, stride, 3, blend_row_rgb)
    }

    /// Blends the label into `image`.
    ///
    /// # Errors
    /// As [`PreparedLabel::placement`].
    pub fn draw_rgba(&self, image: &mut RgbaImage) -> Result<Rect> {
        let (w, h) = image.dimensions();
        self.blend_rgba8(image, w, h, w as usize * 4)
    }

    /// Blends the label into `image`.
    ///
    /// # Errors
    /// As [`PreparedLabel::placement`].
    pub fn draw_rgb(&self, image: &mut RgbImage) -> Result<Rect> {
        let (w, h) = image.dimensions();
        self.blend_rgb8(image, w, h, w as usize * 3)
    }

    /// Blends the label into `image`, whatever its pixel type: 8-bit RGB(A) take the fast path;
    /// grey images get the label's luma (Rec. 709 weights, as `image` converts); 16-bit and
    /// float images are blended in floating point at their own depth.
    ///
    /// # Errors
    /// As [`PreparedLabel::placement`]; [`Error::Unsupported`] for pixel types `image` adds later.
    pub fn draw(&self, image: &mut DynamicImage) -> Result<Rect> {
        match image {
            DynamicImage::ImageRgba8(i) => self.draw_rgba(i),
            DynamicImage::ImageRgb8(i) => self.draw_rgb(i),
            DynamicImage::ImageLuma8(i) => self.blend_generic(i),
            DynamicImage::ImageLumaA8(i) => self.blend_generic(i),
            DynamicImage::ImageLuma16(i) => self.blend_generic(i),
            DynamicImage::ImageLumaA16(i) => self.blend_generic(i),
            DynamicImage::ImageRgb16(i) => self.blend_generic(i),
            DynamicImage::ImageRgba16(i) => self.blend_generic(i),
            DynamicImage::ImageRgb32F(i) => self.blend_generic(i),
            DynamicImage::ImageRgba32F(i) => self.blend_generic(i),
            other => Err(Error::unsupported(
                "image",
                format!("drawing labels onto {:?} images", other.color()),
            )),
        }
    }

    /// Walks the rectangle's rows of an interleaved 8-bit buffer with `row_fn`.
    fn blend_rows(
        &self,
        pixels: &mut [u8],
        width: u32,
        height: u32,
        stride: usize,
        channels: usize,
        row_fn: fn(&mut [u8], &[u8], &[u8]),
    ) -> Result<Rect> {
        let rect = self.placement(width, height)?;
        let row_bytes = width as usize * channels;
        let needed = (height as usize).checked_sub(1).map(|rows| rows * stride + row_bytes);
        if stride < row_bytes || needed.is_some_and(|n| pixels.len() < n) {
            return Err(Error::parameter(
                "pixel buffer",
                format!(
                    "pixel buffer of {} bytes with stride {stride} cannot hold {width}x{height} pixels of {channels} \
                     bytes",
                    pixels.len()
                ),
            ));
        }
        let start = rect.x as usize * channels;
        let len = rect.width as usize * channels;
        for ly in 0..rect.height {
            let offset = (rect.y + ly) as usize * stride + start;
            let rows = (
                pixels.get_mut(offset..offset + len),
                self.layer_row(ly),
                self.inverse_row(ly),
            );
            if let (Some(dst), Some(layer), Some(inverse)) = rows {
                row_fn(dst, layer, inverse);
            }
        }
        Ok(rect)
    }

    /// Floating-point blend for any `ImageBuffer` whose channels are 1 (grey), 2 (grey +
    /// alpha), 3 (RGB) or 4 (RGBA).
    fn blend_generic<P>(&self, image: &mut ImageBuffer<P, Vec<P::Subpixel>>) -> Result<Rect>
    where
        P: Pixel,
        P::Subpixel: Unit,
    {
        let (w, h) = image.dimensions();
        let rect = self.placement(w, h)?;
        let n = usize::from(P::CHANNEL_COUNT);
        let samples: &mut [P::Subpixel] = image;
        for ly in 0..rect.height {
            let offset = ((rect.y + ly) as usize * w as usize + rect.x as usize) * n;
            let (Some(dst), Some(layer)) = (
                samples.get_mut(offset..offset + rect.width as usize * n),
                self.layer_row(ly),
            ) else {
                continue;
            };
            for (px, l) in dst.chunks_exact_mut(n).zip(layer.chunks_exact(4)) {
                if l[3] != 0 {
                    blend_pixel_unit(px, l);
                }
            }
        }
        Ok(rect)
    }
}

/// `round(x / 255)` for `x <= 255 * 255`, exactly, without division.
#[inline(always)]
fn div255(x: u16) -> u8 {
    // x + 128 <= 65153 and t + (t >> 8) <= 65407: no overflow in u16.
    let t = x.wrapping_add(128);
    (t.wrapping_add(t >> 8) >> 8) as u8
}

/// `layer over dst` for one opaque destination channel: `l + dst * inv / 255`, where the layer
/// is premultiplied and `inv = 255 - alpha`. Never exceeds 255 since `l <= alpha`.
#[inline(always)]
fn over(l: u8, d: u8, inv: u16) -> u8 {
    // d * inv <= 255 * 255 fits u16.
    l.saturating_add(div255(u16::from(d).wrapping_mul(inv)))
}

fn blend_row_rgb(dst: &mut [u8], layer: &[u8], _inverse: &[u8]) {
    for (d, l) in dst.chunks_exact_mut(3).zip(layer.chunks_exact(4)) {
        let inv = u16::from(!l[3]);
        d[0] = over(l[0], d[0], inv);
        d[1] = over(l[1], d[1], inv);
        d[2] = over(l[2], d[2], inv);
    }
}

fn blend_row_rgba(dst: &mut [u8], layer: &[u8], inverse: &[u8]) {
    if dst.chunks_exact(4).all(|p| p[3] == 255) {
        // Opaque row: one element-wise pass. The formula on the alpha byte keeps it at 255
        // (alpha + 255 - alpha).
        for ((d, &l), &inv) in dst.iter_mut().zip(layer).zip(inverse) {
            *d = over(l, *d, u16::from(inv));
        }
    } else {
        for (d, l) in dst.chunks_exact_mut(4).zip(layer.chunks_exact(4)) {
            if l[3] != 0 {
                blend_pixel_unit(d, l);
            }
        }
    }
}

/// A channel type the floating-point path can blend: values map to 0..=1 (floats pass through).
trait Unit: Copy {
    fn to_unit(self) -> f32;
    fn from_unit(v: f32) -> Self;
}

impl Unit for u8 {
    fn to_unit(self) -> f32 {
        f32::from(self) / 255.0
    }
    fn from_unit(v: f32) -> Self {
        (v * 255.0).round().clamp(0.0, 255.0) as u8
    }
}

impl Unit for u16 {
    fn to_unit(self) -> f32 {
        f32::from(self) / 65535.0
    }
    fn from_unit(v: f32) -> Self {
        (v * 65535.0).round().clamp(0.0, 65535.0) as u16
    }
}

impl Unit for f32 {
    fn to_unit(self) -> f32 {
        self
    }
    fn from_unit(v: f32) -> Self {
        v
    }
}

/// Porter-Duff "over" of one premultiplied layer pixel `l` on a straight-alpha pixel `px` with 1
/// to 4 channels. Grey pixels take the luma of the layer colour.
fn blend_pixel_unit<T: Unit>(px: &mut [T], l: &[u8]) {
    let la = f32::from(l[3]) / 255.0;
    let rgb = [
        f32::from(l[0]) / 255.0,
        f32::from(l[1]) / 255.0,
        f32::from(l[2]) / 255.0,
    ];
    let luma = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
    let (colour_channels, has_alpha) = match px.len() {
        1 => (1, false),
        2 => (1, true),
        3 => (3, false),
        4 => (3, true),
        _ => return,
    };
    let da = if has_alpha { px[px.len() - 1].to_unit() } else { 1.0 };
    let out_a = la + da * (1.0 - la);
    if out_a <= 0.0 {
        return;
    }
    for (i, c) in px.iter_mut().take(colour_channels).enumerate() {
        let lc = if colour_channels == 1 { luma } else { rgb[i] };
        *c = T::from_unit((lc + c.to_unit() * da * (1.0 - la)) / out_a);
    }
    if has_alpha {
        if let Some(a) = px.last_mut() {
            *a = T::from_unit(out_a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inverse(layer: &[u8]) -> Vec<u8> {
        layer.chunks_exact(4).flat_map(|p| [!p[3]; 4]).collect()
    }

    #[test]
    fn div255_is_exact() {
        for x in 0..=(255u32 * 255) {
            assert_eq!(u32::from(div255(x as u16)), (x + 127) / 255, "{x}");
        }
    }

    #[test]
    fn uncovered_and_covered_pixels() {
        let mut row = [10, 20, 30, 255, 10, 20, 30, 255, 10, 20, 30, 255];
        let layer = [0, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 204];
        blend_row_rgba(&mut row, &layer, &inverse(&layer));
        assert_eq!(&row[0..4], &[10, 20, 30, 255]);
        assert_eq!(&row[4..8], &[255, 255, 255, 255]);
        assert_eq!(&row[8..12], &[2, 4, 6, 255]);
    }

    #[test]
    fn translucent_destination_gets_porter_duff_over() {
        let mut row = [200, 200, 200, 0, 200, 200, 200, 128];
        let layer = [0, 0, 0, 204, 255, 255, 255, 255];
        blend_row_rgba(&mut row, &layer, &inverse(&layer));
        assert_eq!(row, [0, 0, 0, 204, 255, 255, 255, 255]);
    }
}
