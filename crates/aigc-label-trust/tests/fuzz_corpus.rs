//! Replays the `securitydata` fuzz corpus (and any saved artifacts) with the fuzz property.

#[test]
fn securitydata_corpus_replays_cleanly() {
    let n = aigc_label_testutil::replay_corpus("securitydata", aigc_label_trust::fuzz::securitydata);
    assert!(n >= 10, "only {n} corpus inputs");
}
