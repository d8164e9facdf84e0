//! Explicit labels: visible text such as `AI生成` drawn onto images (GB 45438-2025 section 5).
//!
//! The standard asks generated images to show a text prompt at an edge or corner, naming AI and
//! generation, whose text height is at least 5% of the image's shortest side. This module draws
//! such a label onto the buffers a pipeline already holds (`RgbaImage`, `RgbImage`,
//! `DynamicImage`, raw RGBA/RGB frames) and, with [`stamp_file`], onto encoded files.
//!
//! Key types:
//! - [`Style`]: text, [`Position`] (corners and edge centres), margin, colours, [`Backing`]
//!   (plate or outline), size rule. The default is compliant and legible on any background.
//! - [`Stamper`]: a validated style with a font (the bundled one unless given another).
//! - [`PreparedLabel`]: the label rasterised once for an image size; blending it is cheap, so
//!   video frames reuse it. Its coverage masks and colours are public for YUV blenders.
//! - [`check_label_text`]: the text rule on its own (available without the `stamp` feature).
//!
//! Design decision: the font size is found by *measuring* the rasterised CJK glyphs (rows at
//! least half covered) until their ink reaches the target, rather than trusting font metrics;
//! the rule is about visible ink, and metrics differ from font to font. Tests check the result
//! again from the output pixels alone.
//!
//! The rules enforced, each with an error rather than a silent change:
//! - text: an AI element and a generation element ([`check_label_text`]); glyphs for every
//!   character in the font;
//! - size: CJK ink at least `min_height_fraction` (>= 5%) of the shortest side, and at least
//!   `min_ink_px` (default 10) for legibility; if the label does not fit, the margin goes, then
//!   the padding shrinks; then an error, never a smaller label;
//! - contrast: [`Style::worst_case_contrast`] at least 4.5:1 (WCAG 2 AA) over any background;
//! - only the label's rectangle is touched, and pixels it does not cover keep their values.
//!
//! ```
//! use aigc_label_image::stamp::{Position, Stamper, Style};
//! let mut image = image::RgbaImage::from_pixel(640, 480, image::Rgba([240, 240, 240, 255]));
//! let stamper = Stamper::new(Style::default().at(Position::BottomLeft))?;
//! let stamped = stamper.draw_rgba(&mut image)?;
//! assert!(stamped.ink_height >= 24); // 5% of 480
//! assert_eq!(stamped.rect.x, 10); // margin: 2% of 480
//! # Ok::<(), aigc_label_core::Error>(())
//! ```

mod text;

pub use text::{DEFAULT_TEXT, check_label_text};

#[cfg(feature = "stamp")]
mod blend;
#[cfg(feature = "stamp")]
mod file;
#[cfg(feature = "stamp")]
mod font;
#[cfg(feature = "stamp")]
mod gif;
#[cfg(feature = "stamp")]
mod jpeg;
#[cfg(feature = "stamp")]
mod label;
#[cfg(feature = "stamp")]
mod place;
#[cfg(feature = "stamp")]
mod png;
#[cfg(feature = "stamp")]
mod raster;
#[cfg(feature = "stamp")]
mod style;
#[cfg(feature = "stamp")]
mod tiff;
#[cfg(feature = "stamp")]
mod webp;

#[cfg(feature = "stamp")]
pub use self::{
    file::{Carried, FileOptions, FileReport, RepaintReport, Rewrite, decode_rgba, repaint_file, stamp_file},
    font::{BUNDLED_FONT, bundled_font, check_coverage},
    label::{PreparedLabel, Rect},
    png::PaletteChange,
    style::{Backing, Length, MIN_CONTRAST, MIN_HEIGHT_FRACTION, Position, Style, contrast_ratio, relative_luminance},
};
/// The font crate the stamper renders with; pass your own font as an [`ab_glyph::FontArc`].
#[cfg(feature = "stamp")]
pub use ab_glyph;

#[cfg(feature = "stamp")]
use aigc_label_core::Result;

/// What drawing a label did.
#[cfg(feature = "stamp")]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stamped {
    /// The rectangle the label occupies; no pixel outside it changed.
    pub rect: Rect,
    /// Font size in pixels per em.
    pub font_px: f32,
    /// Measured ink height of the CJK glyphs, in pixels.
    pub ink_height: u32,
}

#[cfg(feature = "stamp")]
impl Stamped {
    fn new(label: &PreparedLabel, rect: Rect) -> Self {
        Stamped {
            rect,
            font_px: label.font_px(),
            ink_height: label.ink_height(),
        }
    }
}

/// A validated [`Style`] with the font to draw it in.
#[cfg(feature = "stamp")]
#[derive(Debug, Clone)]
pub struct Stamper {
    style: Style,
    font: ab_glyph::FontArc,
}

#[cfg(feature = "stamp")]
impl Stamper {
    /// A stamper drawing `style` in the bundled font.
    ///
    /// # Errors
    /// As [`Stamper::with_font`].
    pub fn new(style: Style) -> Result<Self> {
        Stamper::with_font(style, bundled_font())
    }

    /// A stamper drawing `style` in `font`.
    ///
    /// # Errors
    /// [`aigc_label_core::Error::Parameter`] when the style fails [`Style::validate`] or the font
    /// lacks a glyph of the text.
    pub fn with_font(style: Style, font: ab_glyph::FontArc) -> Result<Self> {
        style.validate()?;
        check_coverage(&font, &style.text)?;
        Ok(Stamper { style, font })
    }

    /// The style.
    pub fn style(&self) -> &Style {
        &self.style
    }

    /// The label rasterised for `width` x `height` images (see [`PreparedLabel::new`]).
    ///
    /// # Errors
    /// As [`PreparedLabel::new`].
    pub fn prepare(&self, width: u32, height: u32) -> Result<PreparedLabel> {
        PreparedLabel::new(&self.style, &self.font, width, height)
    }

    /// Draws the label onto `image`.
    ///
    /// # Errors
    /// As [`PreparedLabel::new`].
    pub fn draw_rgba(&self, image: &mut image::RgbaImage) -> Result<Stamped> {
        let label = self.prepare(image.width(), image.height())?;
        let rect = label.draw_rgba(image)?;
        Ok(Stamped::new(&label, rect))
    }

    /// Draws the label onto `image`.
    ///
    /// # Errors
    /// As [`PreparedLabel::new`].
    pub fn draw_rgb(&self, image: &mut image::RgbImage) -> Result<Stamped> {
        let label = self.prepare(image.width(), image.height())?;
        let rect = label.draw_rgb(image)?;
        Ok(Stamped::new(&label, rect))
    }

    /// Draws the label onto `image`, whatever its pixel type (see [`PreparedLabel::draw`]).
    ///
    /// # Errors
    /// As [`PreparedLabel::new`] and [`PreparedLabel::draw`].
    pub fn draw(&self, image: &mut image::DynamicImage) -> Result<Stamped> {
        let label = self.prepare(image.width(), image.height())?;
        let rect = label.draw(image)?;
        Ok(Stamped::new(&label, rect))
    }
}
