//! Replays the seed corpora (and any saved crash artifacts) of the markdown, pdf and ooxml fuzz
//! targets through the property the fuzzers check (which includes the content binding's), on
//! stable Rust.

use aigc_label_testutil::{fuzz_carrier, replay_corpus};
use aigc_label_text::{Markdown, Ooxml, Pdf};

#[test]
fn markdown_corpus() {
    replay_corpus("markdown", |d| fuzz_carrier(&Markdown, d));
}

#[test]
fn pdf_corpus() {
    replay_corpus("pdf", |d| fuzz_carrier(&Pdf, d));
}

#[test]
fn ooxml_corpus() {
    replay_corpus("ooxml", |d| fuzz_carrier(&Ooxml, d));
}
