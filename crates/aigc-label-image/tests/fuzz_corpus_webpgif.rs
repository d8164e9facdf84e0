//! Replays the seed corpora of the `webp` and `gif` fuzz targets (and any saved crashes) on
//! stable Rust, with the same property the fuzz targets check.

use aigc_label_image::{Gif, WebP};
use aigc_label_testutil::{fuzz_carrier, replay_corpus};

#[test]
fn webp_fuzz_corpus_holds_the_carrier_property() {
    let ran = replay_corpus("webp", |data| fuzz_carrier(&WebP, data));
    assert!(ran >= 10, "only {ran} corpus files");
}

#[test]
fn gif_fuzz_corpus_holds_the_carrier_property() {
    let ran = replay_corpus("gif", |data| fuzz_carrier(&Gif, data));
    assert!(ran >= 10, "only {ran} corpus files");
}
