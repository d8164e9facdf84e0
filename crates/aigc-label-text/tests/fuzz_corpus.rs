//! Replays the seed corpora (and any saved crash artifacts) of the markdown, pdf and ooxml fuzz
//! targets through the property the fuzzers check (which includes the content binding's), on
//! stable Rust, and the PDF in-place update's property on the PDF corpora.

use aigc_label_testutil::in_place::fuzz_in_place_as_rewrite;
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

/// The in-place update's property (see `pdf_in_place`) on both PDF corpora.
#[test]
fn pdf_in_place_corpus() {
    for target in ["pdf", "pdf_in_place"] {
        replay_corpus(target, |d| fuzz_in_place_as_rewrite(&Pdf, d));
    }
}

#[test]
fn ooxml_corpus() {
    replay_corpus("ooxml", |d| fuzz_carrier(&Ooxml, d));
}
