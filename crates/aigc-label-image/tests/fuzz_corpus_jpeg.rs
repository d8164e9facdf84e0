//! Replays the `jpeg` fuzz target's seed corpus (and any saved crash artifacts) on stable Rust,
//! with the same property the fuzz target checks.

#[test]
fn jpeg_corpus_replays() {
    let count = aigc_label_testutil::replay_corpus("jpeg", |data| {
        aigc_label_testutil::fuzz_carrier(&aigc_label_image::Jpeg, data)
    });
    assert!(count >= 10, "only {count} corpus inputs");
}
