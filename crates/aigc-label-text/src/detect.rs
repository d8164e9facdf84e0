//! Finding explicit label text such as `【AI生成】` in a piece of text, for platforms deciding
//! whether content is "suspected". The rule lives in [`aigc_label_core::explicit`], shared with
//! the trace scanners; see [`find_labels`] for what counts as a label.

pub use aigc_label_core::explicit::{LabelMatch, MAX_MATCHES, MatchKind, contains_label, find_labels};

/// True if `label` has the two parts GB 45438 §5 requires of an explicit label: an AI element
/// (`AI` as a Latin word in any width, or `人工智能`) and a generation element (`生成` or `合成`),
/// anywhere in the text. This is the test for text *we* write; [`find_labels`] is the stricter
/// test for text others wrote.
///
/// ```
/// use aigc_label_text::detect::has_label_elements;
/// assert!(has_label_elements("本回答由人工智能模型生成，仅供参考"));
/// assert!(!has_label_elements("OpenAI 生成"));
/// ```
pub fn has_label_elements(label: &str) -> bool {
    aigc_label_core::explicit::check_label_text(label).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_elements() {
        assert!(has_label_elements("【AI生成】"));
        assert!(has_label_elements("本回答由人工智能模型生成，仅供参考"));
        assert!(has_label_elements("ＡＩ合成"));
        assert!(!has_label_elements("AIGC"));
        assert!(!has_label_elements("机器生成"));
        assert!(!has_label_elements("OpenAI 生成"));
        assert!(!has_label_elements("人工智能"));
    }
}
