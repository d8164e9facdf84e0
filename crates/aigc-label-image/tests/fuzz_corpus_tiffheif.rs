//! Replays the `tiff` and `heif` fuzz targets' seed corpora (and any saved crashes) on stable
//! Rust, with the same property the fuzz targets check (and that `binding_exclusions` accepts
//! exactly what `find` accepts), and checks that the crafted seeds are read (a seed the reader
//! rejects outright explores little).

use std::cell::Cell;
use std::io::Cursor;

use aigc_label_core::{Carrier, Limits};
use aigc_label_image::{Heif, Tiff};
use aigc_label_testutil::{fuzz_carrier, replay_corpus};

/// Replays `target` through `carrier`; returns (inputs, inputs `find` reads, labels found).
fn replay(target: &str, carrier: &dyn Carrier) -> (usize, usize, usize) {
    let (readable, labels) = (Cell::new(0), Cell::new(0));
    let ran = replay_corpus(target, |data| {
        let found = carrier.find(&mut Cursor::new(data), &Limits::default());
        let excluded = carrier.binding_exclusions(&mut Cursor::new(data), &Limits::default());
        assert_eq!(
            found.is_ok(),
            excluded.is_ok(),
            "the binding's walk accepts what find accepts"
        );
        if let Ok(found) = found {
            readable.set(readable.get() + 1);
            labels.set(labels.get() + found.len());
        }
        fuzz_carrier(carrier, data);
    });
    (ran, readable.get(), labels.get())
}

#[test]
fn tiff_fuzz_corpus_holds_the_carrier_property() {
    let (ran, readable, labels) = replay("tiff", &Tiff);
    assert!(ran >= 10, "only {ran} corpus files");
    // Three seeds are cut files (strips past the end, or a regression input), which read as errors.
    assert!(readable + 3 >= ran, "{readable} of {ran} seeds read");
    assert!(labels >= 8, "{labels} labels in the seeds");
}

#[test]
fn heif_fuzz_corpus_holds_the_carrier_property() {
    let (ran, readable, labels) = replay("heif", &Heif);
    assert!(ran >= 10, "only {ran} corpus files");
    // Two regression inputs read as errors: one declares an item twice, one gives an item
    // thousands of extents that take no bytes.
    assert_eq!(readable + 2, ran, "every heif seed but two is well-formed");
    assert!(labels >= 6, "{labels} labels in the seeds");
}
