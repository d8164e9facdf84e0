//! Where a label lands in a stored image: prepared for the displayed size (after any EXIF
//! orientation), then looked up pixel by pixel in stored coordinates. The in-place stampers
//! (JPEG blocks, PNG image data) draw through this.

use aigc_label_core::Result;
use image::metadata::Orientation;

use super::{PreparedLabel, Rect, Stamped, Stamper};

/// A label placed on a `width` x `height` stored image shown with `orientation`.
pub(super) struct Placed {
    label: PreparedLabel,
    /// The label's rectangle as displayed.
    rect: Rect,
    orientation: Orientation,
    width: u32,
    height: u32,
    /// The label's bounding box in stored coordinates, inclusive corners.
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl Placed {
    pub fn new(stamper: &Stamper, width: u32, height: u32, orientation: Orientation) -> Result<Placed> {
        let (dw, dh) = if swaps(orientation) {
            (height, width)
        } else {
            (width, height)
        };
        let label = stamper.prepare(dw, dh)?;
        let rect = label.placement(dw, dh)?;
        let back = super::file::inverse(orientation);
        let (ax, ay) = to_display(back, dw, dh, rect.x, rect.y);
        let (bx, by) = to_display(back, dw, dh, rect.x + rect.width - 1, rect.y + rect.height - 1);
        Ok(Placed {
            label,
            rect,
            orientation,
            width,
            height,
            x0: ax.min(bx),
            y0: ay.min(by),
            x1: ax.max(bx),
            y1: ay.max(by),
        })
    }

    /// What to report.
    pub fn stamped(&self) -> Stamped {
        Stamped::new(&self.label, self.rect)
    }

    /// The label's pixel index over stored pixel (`x`, `y`), if the label covers it.
    fn index(&self, x: u32, y: u32) -> Option<usize> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let (dx, dy) = to_display(self.orientation, self.width, self.height, x, y);
        if !self.rect.contains(dx, dy) {
            return None;
        }
        Some((dy - self.rect.y) as usize * self.rect.width as usize + (dx - self.rect.x) as usize)
    }

    /// The label's premultiplied RGBA over stored pixel (`x`, `y`), when its alpha is not 0.
    pub fn layer_at(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        let i = self.index(x, y)? * 4;
        let l = self.label.layer().get(i..i + 4)?;
        (l[3] != 0).then(|| [l[0], l[1], l[2], l[3]])
    }

    /// Glyph and backing coverage over stored pixel (`x`, `y`).
    pub fn coverage_at(&self, x: u32, y: u32) -> Option<(u8, u8)> {
        let i = self.index(x, y)?;
        Some((
            *self.label.glyph_coverage().get(i)?,
            *self.label.backing_coverage().get(i)?,
        ))
    }

    pub fn label(&self) -> &PreparedLabel {
        &self.label
    }
}

/// True when `o` exchanges width and height.
fn swaps(o: Orientation) -> bool {
    matches!(
        o,
        Orientation::Rotate90 | Orientation::Rotate270 | Orientation::Rotate90FlipH | Orientation::Rotate270FlipH
    )
}

/// Where stored pixel (`x`, `y`) of a `w` x `h` image appears once `o` is applied.
pub(super) fn to_display(o: Orientation, w: u32, h: u32, x: u32, y: u32) -> (u32, u32) {
    match o {
        Orientation::NoTransforms => (x, y),
        Orientation::Rotate90 => (h - 1 - y, x),
        Orientation::Rotate180 => (w - 1 - x, h - 1 - y),
        Orientation::Rotate270 => (y, w - 1 - x),
        Orientation::FlipHorizontal => (w - 1 - x, y),
        Orientation::FlipVertical => (x, h - 1 - y),
        Orientation::Rotate90FlipH => (y, x),
        Orientation::Rotate270FlipH => (h - 1 - y, w - 1 - x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_mapping_matches_image_orientation() {
        let (w, h) = (5u32, 3u32);
        for e in 1..=8 {
            let o = Orientation::from_exif(e).unwrap();
            let mut img = image::DynamicImage::ImageLuma16(image::ImageBuffer::from_fn(w, h, |x, y| {
                image::Luma([(x + w * y) as u16])
            }));
            img.apply_orientation(o);
            let img = img.to_luma16();
            for y in 0..h {
                for x in 0..w {
                    let (dx, dy) = to_display(o, w, h, x, y);
                    assert_eq!(img.get_pixel(dx, dy).0[0], (x + w * y) as u16, "orientation {e}");
                }
            }
        }
    }
}
