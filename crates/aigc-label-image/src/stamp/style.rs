//! How a label looks: text, position, margin, colours, backing, and the size rule.
//!
//! The defaults satisfy GB 45438-2025 section 5 for images: the label text names AI and
//! generation, sits at a corner, and its CJK ink is at least 5% of the image's shortest side.
//! Legibility (WCAG 2 contrast ratio of at least 4.5:1 between glyphs and what surrounds them)
//! comes from the backing: by default a dark plate at 80% opacity under white text, which keeps
//! more than 12:1 over any background, white, black or noise.

use std::fmt;
use std::str::FromStr;

use aigc_label_core::{Error, Result};
use image::Rgba;

use super::text::{DEFAULT_TEXT, check_label_text};

/// The smallest ink height the standard allows, as a fraction of the image's shortest side
/// (GB 45438-2025 section 5: text height at least 5% of the shortest side).
pub const MIN_HEIGHT_FRACTION: f32 = 0.05;

/// The contrast ratio every accepted style keeps between its glyphs and their backing
/// (WCAG 2 level AA for normal text).
pub const MIN_CONTRAST: f64 = 4.5;

/// Where the label sits: a corner or the centre of an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Position {
    /// Top-left corner.
    TopLeft,
    /// Centre of the top edge.
    Top,
    /// Top-right corner.
    TopRight,
    /// Centre of the right edge.
    Right,
    /// Bottom-right corner (the default: where viewers look for a credit or watermark).
    #[default]
    BottomRight,
    /// Centre of the bottom edge.
    Bottom,
    /// Bottom-left corner.
    BottomLeft,
    /// Centre of the left edge.
    Left,
}

impl Position {
    /// Every position, clockwise from the top-left corner.
    pub const ALL: [Position; 8] = [
        Position::TopLeft,
        Position::Top,
        Position::TopRight,
        Position::Right,
        Position::BottomRight,
        Position::Bottom,
        Position::BottomLeft,
        Position::Left,
    ];

    /// The kebab-case name [`FromStr`] accepts: `top-left`, `top`, ..., `left`.
    pub fn as_str(self) -> &'static str {
        match self {
            Position::TopLeft => "top-left",
            Position::Top => "top",
            Position::TopRight => "top-right",
            Position::Right => "right",
            Position::BottomRight => "bottom-right",
            Position::Bottom => "bottom",
            Position::BottomLeft => "bottom-left",
            Position::Left => "left",
        }
    }

    /// Horizontal anchor: 0 left, 1 centre, 2 right.
    pub(crate) fn column(self) -> u8 {
        match self {
            Position::TopLeft | Position::Left | Position::BottomLeft => 0,
            Position::Top | Position::Bottom => 1,
            Position::TopRight | Position::Right | Position::BottomRight => 2,
        }
    }

    /// Vertical anchor: 0 top, 1 middle, 2 bottom.
    pub(crate) fn row(self) -> u8 {
        match self {
            Position::TopLeft | Position::Top | Position::TopRight => 0,
            Position::Left | Position::Right => 1,
            Position::BottomLeft | Position::Bottom | Position::BottomRight => 2,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Position {
    type Err = Error;

    /// Parses `top-left`, `top`, `top-right`, `right`, `bottom-right`, `bottom`, `bottom-left`,
    /// `left` (case-insensitive; `_` or a space may stand for `-`).
    fn from_str(s: &str) -> Result<Self> {
        let wanted = s.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        Position::ALL.into_iter().find(|p| p.as_str() == wanted).ok_or_else(|| {
            let names: Vec<&str> = Position::ALL.iter().map(|p| p.as_str()).collect();
            Error::parameter(
                "position",
                format!("unknown label position {s:?}; expected one of {}", names.join(", ")),
            )
        })
    }
}

/// A length that may scale with the image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Length {
    /// Exactly this many pixels.
    Px(u32),
    /// This fraction of the image's shortest side, rounded to whole pixels.
    ShortSide(f32),
}

impl Length {
    /// The length in pixels for an image whose shortest side is `short_side`.
    pub fn resolve(self, short_side: u32) -> u32 {
        match self {
            Length::Px(px) => px,
            // `as` saturates for out-of-range floats; validation keeps the fraction in [0, 1].
            Length::ShortSide(f) => (f * short_side as f32).round().max(0.0) as u32,
        }
    }

    fn validate(self, what: &str) -> Result<()> {
        match self {
            Length::ShortSide(f) if !(0.0..=1.0).contains(&f) => Err(Error::parameter(
                "style",
                format!("{what} fraction {f} is outside 0..=1"),
            )),
            _ => Ok(()),
        }
    }
}

/// What sits behind the glyphs and carries the contrast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backing {
    /// A rectangle behind the whole label. Alpha below 255 lets the image show through.
    Plate {
        /// Plate colour, straight (not premultiplied) alpha.
        colour: Rgba<u8>,
    },
    /// A halo around each glyph, about a tenth of the ink height wide; covers less of the image
    /// than a plate.
    Outline {
        /// Outline colour, straight alpha.
        colour: Rgba<u8>,
    },
}

impl Backing {
    /// The backing's colour.
    pub fn colour(self) -> Rgba<u8> {
        match self {
            Backing::Plate { colour } | Backing::Outline { colour } => colour,
        }
    }
}

impl Default for Backing {
    /// Black at 80% opacity: over white it shows as RGB 51, giving white text 12.6:1.
    fn default() -> Self {
        Backing::Plate {
            colour: Rgba([0, 0, 0, 204]),
        }
    }
}

/// Everything about how a label is drawn. [`Style::default`] is compliant as it stands.
///
/// Fields are public; [`Style::validate`] (run by every drawing entry point) rejects values that
/// would break the standard: a text without the required elements, a height fraction under 5%,
/// or colours whose worst-case contrast is under 4.5:1.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Style {
    /// The label text, one line. Default [`DEFAULT_TEXT`] (`AI生成`).
    pub text: String,
    /// Corner or edge centre. Default bottom-right.
    pub position: Position,
    /// Distance from the image edges. Default 2% of the shortest side.
    pub margin: Length,
    /// Glyph colour, straight alpha. Default opaque white.
    pub text_colour: Rgba<u8>,
    /// Plate or outline behind the glyphs.
    pub backing: Backing,
    /// Ink height of the CJK glyphs as a fraction of the shortest side; at least
    /// [`MIN_HEIGHT_FRACTION`] (the default), larger on request.
    pub min_height_fraction: f32,
    /// Legibility floor: the CJK ink is never drawn shorter than this many pixels, even where
    /// 5% of the shortest side would be less (default 10). Images too small to hold the label at
    /// this size get an error; lower it to stamp smaller images (the 5% rule still applies).
    pub min_ink_px: u32,
    /// Space between the ink and the plate's edge, as a fraction of the CJK ink height
    /// (default 0.35). Shrunk automatically when the label would not fit otherwise.
    pub padding: f32,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            text: DEFAULT_TEXT.to_string(),
            position: Position::default(),
            margin: Length::ShortSide(0.02),
            text_colour: Rgba([255, 255, 255, 255]),
            backing: Backing::default(),
            min_height_fraction: MIN_HEIGHT_FRACTION,
            min_ink_px: 10,
            padding: 0.35,
        }
    }
}

impl Style {
    /// The default style with `text`.
    ///
    /// # Errors
    /// [`Error::Parameter`] when `text` fails [`check_label_text`].
    pub fn with_text(text: impl Into<String>) -> Result<Self> {
        let text = text.into();
        check_label_text(&text)?;
        Ok(Style {
            text,
            ..Style::default()
        })
    }

    /// This style at `position`.
    pub fn at(mut self, position: Position) -> Self {
        self.position = position;
        self
    }

    /// This style with `backing`.
    pub fn backing(mut self, backing: Backing) -> Self {
        self.backing = backing;
        self
    }

    /// This style with glyphs in `colour`.
    pub fn text_colour(mut self, colour: Rgba<u8>) -> Self {
        self.text_colour = colour;
        self
    }

    /// This style with `margin`.
    pub fn margin(mut self, margin: Length) -> Self {
        self.margin = margin;
        self
    }

    /// This style with CJK ink at least `fraction` of the shortest side.
    pub fn min_height_fraction(mut self, fraction: f32) -> Self {
        self.min_height_fraction = fraction;
        self
    }

    /// The lowest contrast ratio between glyphs and backing this style can show, over any
    /// background: each colour is composited over black and over white (the extremes, since
    /// compositing is monotonic in the background), and the closest pair is taken.
    pub fn worst_case_contrast(&self) -> f64 {
        let text = luminance_range(self.text_colour);
        let back = luminance_range(self.backing.colour());
        if text.0 >= back.1 {
            (text.0 + 0.05) / (back.1 + 0.05)
        } else if back.0 >= text.1 {
            (back.0 + 0.05) / (text.1 + 0.05)
        } else {
            1.0
        }
    }

    /// Checks the style against the standard and the legibility floor.
    ///
    /// # Errors
    /// [`Error::Parameter`] when the text fails [`check_label_text`] or holds a control
    /// character, the height fraction is under [`MIN_HEIGHT_FRACTION`] (or not a number), the
    /// padding or a margin fraction is out of range, or [`Style::worst_case_contrast`] is under
    /// [`MIN_CONTRAST`].
    pub fn validate(&self) -> Result<()> {
        check_label_text(&self.text)?;
        if let Some(c) = self.text.chars().find(|c| c.is_control()) {
            return Err(Error::parameter(
                "label text",
                format!("holds control character {c:?}; labels are one line of text"),
            ));
        }
        if !(MIN_HEIGHT_FRACTION..=1.0).contains(&self.min_height_fraction) {
            return Err(Error::parameter(
                "style",
                format!(
                    "label height fraction {} is outside {MIN_HEIGHT_FRACTION}..=1; GB 45438-2025 section 5 asks for \
                     text at least 5% of the shortest side",
                    self.min_height_fraction
                ),
            ));
        }
        if !(0.0..=2.0).contains(&self.padding) {
            return Err(Error::parameter(
                "style",
                format!("label padding {} is outside 0..=2 ink heights", self.padding),
            ));
        }
        self.margin.validate("label margin")?;
        let contrast = self.worst_case_contrast();
        if contrast < MIN_CONTRAST {
            return Err(Error::parameter(
                "style",
                format!(
                    "label colours reach only {contrast:.2}:1 contrast over some backgrounds (text {:?} on backing \
                     {:?}); at least {MIN_CONTRAST}:1 is needed for a legible label",
                    self.text_colour.0,
                    self.backing.colour().0
                ),
            ));
        }
        Ok(())
    }
}

/// Relative luminance of an sRGB colour, as WCAG 2 defines it (0 black, 1 white).
pub fn relative_luminance(rgb: [u8; 3]) -> f64 {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2])
}

/// WCAG 2 contrast ratio between two sRGB colours, from 1 (same) to 21 (black on white).
pub fn contrast_ratio(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (relative_luminance(a), relative_luminance(b));
    let (hi, lo) = if la >= lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// Luminance of `colour` composited over black and over white: (darkest, lightest).
fn luminance_range(colour: Rgba<u8>) -> (f64, f64) {
    let over = |bg: u8| {
        let a = u32::from(colour.0[3]);
        let mix = |c: u8| ((u32::from(c) * a + u32::from(bg) * (255 - a) + 127) / 255) as u8;
        relative_luminance([mix(colour.0[0]), mix(colour.0[1]), mix(colour.0[2])])
    };
    let (black, white) = (over(0), over(255));
    (black.min(white), black.max(white))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_style_is_valid_and_high_contrast() {
        let style = Style::default();
        style.validate().unwrap();
        assert!(style.worst_case_contrast() > 12.0, "{}", style.worst_case_contrast());
    }

    #[test]
    fn wcag_reference_values() {
        assert!((contrast_ratio([0, 0, 0], [255, 255, 255]) - 21.0).abs() < 1e-9);
        assert!((contrast_ratio([119, 119, 119], [255, 255, 255]) - 4.48).abs() < 0.01);
    }

    #[test]
    fn rejects_low_contrast_and_small_text() {
        let grey = Style::default().text_colour(Rgba([128, 128, 128, 255]));
        assert!(grey.validate().unwrap_err().to_string().contains("contrast"));
        let faint_plate = Style::default().backing(Backing::Plate {
            colour: Rgba([0, 0, 0, 60]),
        });
        assert!(faint_plate.validate().is_err());
        let small = Style::default().min_height_fraction(0.04);
        assert!(small.validate().unwrap_err().to_string().contains("5%"));
        let nan = Style::default().min_height_fraction(f32::NAN);
        assert!(nan.validate().is_err());
        let two_lines = Style {
            text: "AI\n生成".into(),
            ..Style::default()
        };
        assert!(two_lines.validate().is_err());
    }

    #[test]
    fn positions_parse_and_print() {
        for p in Position::ALL {
            assert_eq!(p.as_str().parse::<Position>().unwrap(), p);
        }
        assert_eq!("Bottom_Left".parse::<Position>().unwrap(), Position::BottomLeft);
        assert!(
            "middle"
                .parse::<Position>()
                .unwrap_err()
                .to_string()
                .contains("top-left")
        );
    }
}
