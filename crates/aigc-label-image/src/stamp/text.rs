//! The label text rule of GB 45438-2025 section 5: every explicit label names AI and generation.
//!
//! This check has no drawing dependency, so it is compiled without the `stamp` feature; the
//! text, audio and video stampers can call the same function.

use aigc_label_core::{Error, Result};

/// The default label text, the shortest form the standard's examples use.
pub const DEFAULT_TEXT: &str = "AI生成";

/// Spellings of the AI element. `AI` is matched in capitals (as the standard writes it), also in
/// its full-width form.
const AI_ELEMENTS: [&str; 3] = ["人工智能", "AI", "ＡＩ"];

/// Spellings of the generation element.
const GENERATION_ELEMENTS: [&str; 2] = ["生成", "合成"];

/// Checks that `text` may serve as an explicit label: it contains an AI element (`人工智能` or
/// `AI`) and a generation element (`生成` and/or `合成`), as GB 45438-2025 section 5 requires for
/// every explicit label (`AI生成`, `人工智能合成`, `本图片由AI生成` all pass; `AI` or `机器生成`
/// do not).
///
/// # Errors
/// [`Error::Parameter`] naming the missing element.
///
/// ```
/// use aigc_label_image::stamp::check_label_text;
/// assert!(check_label_text("人工智能生成").is_ok());
/// assert!(check_label_text("机器生成").is_err());
/// ```
pub fn check_label_text(text: &str) -> Result<()> {
    let has_ai = AI_ELEMENTS.iter().any(|e| text.contains(e));
    let has_generation = GENERATION_ELEMENTS.iter().any(|e| text.contains(e));
    let missing = match (has_ai, has_generation) {
        (true, true) => return Ok(()),
        (false, true) => "an AI element (人工智能 or AI)",
        (true, false) => "a generation element (生成 or 合成)",
        (false, false) => "an AI element (人工智能 or AI) and a generation element (生成 or 合成)",
    };
    Err(Error::Parameter(
        format!("label text {text:?} lacks {missing}, which GB 45438-2025 section 5 requires in every explicit label")
            .into(),
    ))
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
            ("ai生成", "AI element"),
            ("", "AI element (人工智能 or AI) and"),
            ("机器合成", "AI element"),
            ("人工生成", "AI element"),
        ] {
            let err = check_label_text(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
