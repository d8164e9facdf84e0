//! Replays the `json`, `xmp` and `seekbuf` fuzz targets' seed corpora (and any saved crash artifacts) on
//! stable Rust, with the same properties the fuzz targets check.
//!
//! The seeds in `fuzz/corpus/xmp/` are hand-made packets in every form the reader accepts
//! (element, attribute, other prefixes, default namespace, CDATA, entities, two copies, bare
//! `x:xmpmeta` / `rdf:RDF`, structured values, Extended XMP) plus tricky and broken ones, and two
//! packets written by exiftool 12.57 (`exiftool_*.xmp`: `-XMP-dc:Title`, `-XMP-xmp:CreatorTool`
//! and, for `exiftool_labelled.xmp`, `-XMP-TC260:AIGC` with `tests/exiftool/tc260.config`).

#[test]
fn json_corpus_replays() {
    let count = aigc_label_testutil::replay_corpus("json", aigc_label_testutil::fuzz_json);
    assert!(count >= 10, "only {count} corpus inputs");
}

#[test]
fn xmp_corpus_replays() {
    let count = aigc_label_testutil::replay_corpus("xmp", aigc_label_testutil::fuzz_xmp);
    assert!(count >= 10, "only {count} corpus inputs");
}

#[test]
fn seekbuf_corpus_replays() {
    let count = aigc_label_testutil::replay_corpus("seekbuf", aigc_label_testutil::fuzz_seekbuf);
    assert!(count >= 5, "only {count} corpus inputs");
}
