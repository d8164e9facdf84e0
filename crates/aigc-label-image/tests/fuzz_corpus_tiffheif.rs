//! Replays the `tiff` and `heif` fuzz targets' seed corpora (and any saved crashes) on stable
//! Rust, with the same property the fuzz targets check.

use aigc_label_image::Tiff;
use aigc_label_testutil::{fuzz_carrier, replay_corpus};

#[test]
fn tiff_fuzz_corpus_holds_the_carrier_property() {
    let ran = replay_corpus("tiff", |data| fuzz_carrier(&Tiff, data));
    assert!(ran >= 10, "only {ran} corpus files");
}
