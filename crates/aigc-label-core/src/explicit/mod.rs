//! The text rule every explicit label obeys (GB 45438-2025 section 5): it names AI and
//! generation.
//!
//! Image banners, text prompts and video overlays all check their text here, so that a label
//! accepted by one stamper is accepted by every other. [`find_labels`] is the stricter test for
//! text others wrote: a label phrase standing on its own, not any sentence about generative AI.

use crate::{Error, Result};

mod find;

pub use find::{LabelMatch, MAX_MATCHES, MatchKind, contains_label, find_labels};

/// Spellings of the generation element.
const GENERATION_ELEMENTS: [&str; 2] = ["生成", "合成"];

/// Checks that `text` may serve as an explicit label: it contains an AI element (`人工智能` or
/// `AI`) and a generation element (`生成` and/or `合成`), as GB 45438-2025 section 5 requires for
/// every explicit label (`AI生成`, `人工智能合成`, `本图片由AI生成` all pass; `AI` or `机器生成`
/// do not).
///
/// `AI` counts as a Latin word in either case and in full-width form (`ＡＩ`), but not inside a
/// longer Latin word (`AIGC生成` and `said 生成` do not pass).
///
/// # Errors
/// [`Error::Parameter`] naming the missing element.
///
/// ```
/// use aigc_label_core::explicit::check_label_text;
/// assert!(check_label_text("人工智能生成").is_ok());
/// assert!(check_label_text("机器生成").is_err());
/// ```
pub fn check_label_text(text: &str) -> Result<()> {
    let has_ai = text.contains("人工智能") || has_ai_word(text);
    let has_generation = GENERATION_ELEMENTS.iter().any(|e| text.contains(e));
    let missing = match (has_ai, has_generation) {
        (true, true) => return Ok(()),
        (false, true) => "an AI element (人工智能 or AI)",
        (true, false) => "a generation element (生成 or 合成)",
        (false, false) => "an AI element (人工智能 or AI) and a generation element (生成 or 合成)",
    };
    Err(Error::parameter(
        "label text",
        format!("{text:?} lacks {missing}, which GB 45438-2025 section 5 requires in every explicit label"),
    ))
}

/// True if `text` holds `AI` (any case, ASCII or full-width) not joined to other Latin letters.
fn has_ai_word(text: &str) -> bool {
    let folded: Vec<char> = text.chars().map(fold_width).collect();
    let latin = |i: Option<&char>| i.is_some_and(|c| c.is_ascii_alphabetic());
    folded.windows(2).enumerate().any(|(i, pair)| {
        pair[0].eq_ignore_ascii_case(&'a')
            && pair[1].eq_ignore_ascii_case(&'i')
            && !latin(i.checked_sub(1).and_then(|p| folded.get(p)))
            && !latin(folded.get(i + 2))
    })
}

/// Full-width ASCII forms (U+FF01..U+FF5E) to ASCII.
fn fold_width(c: char) -> char {
    match u32::from(c) {
        0xFF01..=0xFF5E => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_standard_forms() {
        for text in [
            "AI生成",
            "人工智能生成",
            "人工智能合成",
            "AI合成",
            "【AI生成】",
            "本图片由ＡＩ生成",
            "AI生成合成",
        ] {
            assert!(check_label_text(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn rejects_texts_missing_an_element() {
        for (text, needle) in [
            ("生成", "AI element"),
            ("AI", "generation element"),
            ("AIGC生成", "AI element"),
            ("said 生成", "AI element"),
            ("", "AI element (人工智能 or AI) and"),
            ("机器合成", "AI element"),
            ("人工生成", "AI element"),
        ] {
            let err = check_label_text(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
