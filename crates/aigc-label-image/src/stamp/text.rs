//! The label text rule of GB 45438-2025 section 5, shared with every other stamper through core.

pub use aigc_label_core::explicit::check_label_text;

/// The default label text, the shortest form the standard's examples use.
pub const DEFAULT_TEXT: &str = "AI生成";
