//! Replays the `stamp` fuzz target's corpus (`fuzz/corpus/stamp/`: small JPEG, PNG, GIF, TIFF
//! and WebP files, truncated and bit-flipped variants) through the target's property.

#[path = "support/fuzz_stamp.rs"]
mod property;

#[test]
fn stamp_fuzz_corpus_holds_the_property() {
    let ran = aigc_label_testutil::replay_corpus("stamp", property::stamp_never_panics);
    assert!(ran >= 20, "only {ran} corpus files");
}
