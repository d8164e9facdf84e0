//! Replays the `watermark` fuzz target's corpus (`fuzz/corpus/watermark/`) on stable Rust.

#[test]
fn replay_watermark_corpus() {
    let count = aigc_label_testutil::replay_corpus("watermark", aigc_label_watermark::fuzz_detect);
    assert!(count >= 5, "only {count} corpus inputs");
}
