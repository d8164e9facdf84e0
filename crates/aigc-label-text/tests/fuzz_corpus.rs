//! Replays the seed corpora (and any saved crash artifacts) of the markdown, pdf and ooxml fuzz
//! targets through the same property the fuzzers check, on stable Rust; for PDF and OOXML also
//! through the content binding's property.

use std::io::Cursor;
use std::ops::Range;

use aigc_label_core::{Carrier, Limits};
use aigc_label_testutil::{fuzz_carrier, replay_corpus, sample_label};
use aigc_label_text::{Markdown, Ooxml, Pdf};

fn covered(file: &[u8], ranges: &[Range<u64>]) -> Vec<u8> {
    (0..file.len())
        .filter(|&i| !ranges.iter().any(|r| r.contains(&(i as u64))))
        .map(|i| file[i])
        .collect()
}

/// `binding_exclusions` never panics; once a label is written, rewriting it with a much longer
/// one leaves the covered bytes as they were.
fn binding_property(carrier: &dyn Carrier, data: &[u8]) {
    let limits = Limits::default();
    let _ = carrier.binding_exclusions(&mut Cursor::new(data), &limits);
    let mut a = Vec::new();
    if carrier.find(&mut Cursor::new(data), &limits).is_err()
        || carrier
            .write(&mut Cursor::new(data), &mut a, &sample_label(), &limits)
            .is_err()
    {
        return;
    }
    let mut longer = sample_label();
    longer.reserved_code1 = "0123456789abcdef".repeat(64);
    let mut b = Vec::new();
    carrier
        .write(&mut Cursor::new(&a), &mut b, &longer, &limits)
        .expect("our own output can be relabelled");
    let ex = |f: &[u8]| carrier.binding_exclusions(&mut Cursor::new(f), &limits).unwrap();
    assert!(covered(&a, &ex(&a)) == covered(&b, &ex(&b)), "covered bytes changed");
}

#[test]
fn markdown_corpus() {
    replay_corpus("markdown", |d| fuzz_carrier(&Markdown, d));
}

#[test]
fn pdf_corpus() {
    replay_corpus("pdf", |d| {
        fuzz_carrier(&Pdf, d);
        binding_property(&Pdf, d);
    });
}

#[test]
fn ooxml_corpus() {
    replay_corpus("ooxml", |d| {
        fuzz_carrier(&Ooxml, d);
        binding_property(&Ooxml, d);
    });
}
