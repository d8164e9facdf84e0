//! Replays the `png` fuzz target's seed corpus (and any saved crashes) on stable Rust, with the
//! same property the fuzz target checks.

use aigc_label_image::Png;
use aigc_label_testutil::{fuzz_carrier, replay_corpus};

#[test]
fn png_fuzz_corpus_holds_the_carrier_property() {
    let ran = replay_corpus("png", |data| fuzz_carrier(&Png, data));
    assert!(ran >= 10, "only {ran} corpus files");
}
