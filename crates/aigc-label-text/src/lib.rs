//! Text and documents for `aigc-label`: explicit labels in text and token streams, a detector for
//! label text, and GB 45438 implicit labels in Markdown, PDF and OOXML files.
//!
//! Chat and writing services are the largest group of generators; their output leaves as plain
//! text, streamed tokens, Markdown, PDF and Office files. This crate covers each:
//!
//! - **Explicit labels** (GB 45438 §5.2): [`TextStyle`] (the label text, checked for the AI and
//!   generation elements, and its [`Position`]); [`stamp_text`], [`stamp_markdown`],
//!   [`stamp_html`]; [`stamp_stream`] for files and stdin/stdout; [`LabelStream`] for the chunk
//!   streams of a language model (iterators, and async streams with the `async` feature).
//! - **Detection**: [`detect::find_labels`] finds label text such as `【AI生成】` or
//!   `本内容由人工智能合成` in uploaded text, for platforms deciding "suspected", without firing on
//!   text that merely talks about AI.
//! - **Implicit labels**, as [`Carrier`]s: [`Markdown`] (YAML front
//!   matter), [`Pdf`] (the document information dictionary, by incremental update) and
//!   [`Ooxml`] (`docProps/custom.xml` in docx, xlsx, pptx and their templates). [`carriers()`]
//!   lists them for a registry.
//!
//! One design decision: every writer here *adds* rather than rewrites. The PDF carrier appends an
//! incremental update and never touches the original bytes (so signatures over the original
//! revision stay valid; relabelling replaces only the update it wrote itself); the OOXML carrier
//! copies every other zip entry's compressed bytes raw; the Markdown carrier edits front matter
//! line by line instead of re-serialising YAML. What the label does not own is byte-for-byte what
//! it was, which is what the spec's "do not alter the content" asks and what a reviewer can check
//! with `cmp`. It is also what makes a content binding (`Carrier::binding_exclusions`) cheap:
//! each carrier excludes its label structure and the few offset fields that move with it.
//!
//! ```
//! use std::io::Cursor;
//! use aigc_label_core::{Carrier, Label, Limits};
//! use aigc_label_text::{Markdown, LabelStream, TextStyle, Position};
//!
//! // An implicit label in Markdown front matter, plus the visible label at the end.
//! let label = Label::new("001191440300708461136T1XGW3", "answer-42");
//! let mut out = Vec::new();
//! Markdown.write(&mut Cursor::new(b"# Hi\n".to_vec()), &mut out, &label, &Limits::default())?;
//! let found = Markdown.find(&mut Cursor::new(&out), &Limits::default())?;
//! assert_eq!(found.len(), 1);
//! assert!(String::from_utf8_lossy(&out).ends_with("# Hi\n\n【AI生成】\n"));
//!
//! // An explicit label around a streamed answer.
//! let style = TextStyle::default().at(Position::End);
//! let answer: String = LabelStream::new(["你好", "！"].into_iter(), &style).collect();
//! assert_eq!(answer, "你好！\n【AI生成】");
//! # Ok::<(), aigc_label_core::Error>(())
//! ```
// A panic on uploaded bytes is a crash an uploader can trigger: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod blocks;
pub mod detect;
mod explicit;
pub mod markdown;
pub mod ooxml;
pub mod pdf;
pub mod stream;
mod util;

pub use explicit::{
    DEFAULT_LABEL, MAX_LABEL_CHARS, Position, TextKind, TextStyle, html_element, stamp, stamp_html, stamp_markdown,
    stamp_stream, stamp_text, validate_label_text,
};
pub use markdown::Markdown;
pub use ooxml::Ooxml;
pub use pdf::Pdf;
pub use stream::{LabelStream, TextChunk};

use aigc_label_core::Carrier;

/// The carriers of this crate, in the order a registry should try them: the ones with magic bytes
/// first, Markdown (which sniffs only front matter) last.
pub fn carriers() -> [&'static dyn Carrier; 3] {
    [&Pdf, &Ooxml, &Markdown]
}
