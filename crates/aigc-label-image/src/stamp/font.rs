//! The bundled label font, and what a caller's own font must offer.
//!
//! `AIGC Label Sans Bold` is a 13 KB subset of Noto Sans CJK SC Bold (SIL Open Font License
//! 1.1, renamed as the licence asks of modified versions; see `fonts/README.md` and
//! `fonts/OFL.txt` in this crate). It holds the label characters `人工智能生成合成`, a few words
//! of common label phrasings, CJK punctuation such as `【】`, and printable ASCII. It is compiled
//! in, so stamping never looks for system fonts. Other text needs a caller's font:
//! [`ab_glyph::FontVec::try_from_vec`] or [`ab_glyph::FontRef::try_from_slice`], wrapped in
//! [`FontArc`].

use std::sync::OnceLock;

use ab_glyph::{Font, FontArc, FontRef};
use aigc_label_core::{Error, Result};

/// The bundled font file (OpenType/CFF), for callers that want the bytes.
pub const BUNDLED_FONT: &[u8] = include_bytes!("../../fonts/AigcLabelSans-Bold.otf");

/// The bundled font, parsed once.
///
/// # Panics
/// Never in practice: the bytes are compiled in and a unit test parses them; a build with a
/// damaged font file fails that test.
pub fn bundled_font() -> FontArc {
    static FONT: OnceLock<FontArc> = OnceLock::new();
    FONT.get_or_init(|| {
        #[allow(clippy::expect_used)]
        let font = FontRef::try_from_slice(BUNDLED_FONT).expect("the bundled font parses (unit-tested)");
        FontArc::new(font)
    })
    .clone()
}

/// Checks that `font` has a glyph for every character of `text` (spaces aside), so no label is
/// drawn with missing-glyph boxes.
///
/// # Errors
/// [`Error::Parameter`] naming the first character the font lacks.
pub fn check_coverage<F: Font>(font: &F, text: &str) -> Result<()> {
    match text.chars().find(|&c| !c.is_whitespace() && font.glyph_id(c).0 == 0) {
        None => Ok(()),
        Some(c) => Err(Error::parameter(
            "font",
            format!(
                "the label font has no glyph for {c:?} (U+{:04X}); pass a font that covers the label text",
                u32::from(c)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_font_covers_the_label_characters() {
        let font = bundled_font();
        check_coverage(&font, "人工智能生成合成【】AI0123456789abcxyzABCXYZ.,:;!?()-").unwrap();
        assert!(
            check_coverage(&font, "AI生成🙂")
                .unwrap_err()
                .to_string()
                .contains("U+1F642")
        );
    }

    #[test]
    fn bundled_font_is_renamed() {
        // The OFL reserves "Source" for the original and Noto is a trademark: the subset's names
        // (name table, CFF) say AIGC Label Sans; the original PostScript name is gone.
        let text = String::from_utf8_lossy(BUNDLED_FONT);
        assert!(text.contains("AIGC Label Sans"));
        assert!(text.contains("AIGCLabelSans-Bold"));
        assert!(!text.contains("NotoSansCJK"));
        assert!(BUNDLED_FONT.len() < 64 << 10, "keep the subset small");
    }
}
