//! Helpers shared by this crate's integration tests: embedding into temp files and asking
//! ffmpeg/ffprobe what they see.
#![allow(dead_code)]

#[cfg(feature = "stamp")]
pub mod stamp;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use aigc_label_core::inspect::Options;
use aigc_label_core::{Carrier, Label, Limits};

/// Embeds `label` into `input` with `carrier` (through core's `embed_with`, which applies the
/// producer rule) and checks the output with core's `verify`.
pub fn embed(carrier: &dyn Carrier, input: &[u8], label: &Label) -> Vec<u8> {
    let options = Options::default();
    let mut out = Vec::new();
    aigc_label_core::embed::embed_with(carrier, &mut Cursor::new(input), &mut out, label, &options)
        .unwrap_or_else(|e| panic!("{}: embed failed: {e}", carrier.format()));
    aigc_label_core::embed::readback(carrier, &mut Cursor::new(&out), label, &options).expect("verify");
    out
}

/// Writes `bytes` to a temporary file named `name` and returns the directory guard and path.
pub fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write temp");
    (dir, path)
}

/// The whole witness check for one fixture: embed, then ffprobe shows our value, every stream
/// decodes to the same frames, and ffmpeg decodes the output without a message.
pub fn witness(carrier: &dyn Carrier, fixture: &Path) {
    let input = std::fs::read(fixture).expect("read fixture");
    let label = aigc_label_testutil::sample_label();
    let out = embed(carrier, &input, &label);
    let name = fixture.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let (_dir, path) = temp_file(name, &out);
    let Some(tag) = ffprobe_aigc(&path) else { return };
    assert_eq!(
        tag,
        aigc_label_core::json::to_json(&label, aigc_label_core::json::Shape::Bare),
        "{name}: ffprobe sees a different AIGC tag"
    );
    let before = framemd5(fixture).unwrap_or_default();
    let after = framemd5(&path).unwrap_or_default();
    assert!(!before.is_empty(), "{name}: no frames decoded");
    assert_eq!(before, after, "{name}: decoded frames differ after embedding");
    let messages = decode_messages(&path).unwrap_or_default();
    assert!(messages.is_empty(), "{name}: ffmpeg reports: {messages}");
}

/// The bytes of `file` a content binding covers: everything outside `carrier`'s exclusions, in
/// order.
pub fn covered(carrier: &dyn Carrier, file: &[u8]) -> Vec<u8> {
    aigc_label_testutil::covered_by(carrier, file)
}

/// Three labels for rewrite tests: `A`, the size of a label with a producer's signature
/// envelope; `B`, 5 KB longer (a platform's fields and signatures, and more than any padding a
/// writer keeps); `C`, much shorter than `A`.
pub fn binding_labels() -> [Label; 3] {
    let mut a = aigc_label_testutil::sample_label();
    a.reserved_code1 = "S".repeat(600);
    let mut b = a
        .clone()
        .propagated("001191110108551385082Q20000", "platform-upload-0000000042");
    b.reserved_code2 = "P".repeat(5000);
    let c = Label::new("001191440300708461136T1XGW3", "c");
    [a, b, c]
}

/// Writes `label` into `input` with `carrier` and checks that exactly that label is found, in
/// a structure the exclusions leave out.
pub fn write(carrier: &dyn Carrier, input: &[u8], label: &Label) -> Vec<u8> {
    let limits = Limits::default();
    let mut out = Vec::new();
    carrier
        .write(&mut Cursor::new(input), &mut out, label, &limits)
        .unwrap_or_else(|e| panic!("{}: write: {e}", carrier.format()));
    let found = carrier.find(&mut Cursor::new(&out), &limits).unwrap();
    let json = aigc_label_core::json::to_json(label, aigc_label_core::json::Shape::Bare);
    assert_eq!(found.len(), 1, "{}: one copy", carrier.format());
    assert_eq!(found[0].text, json);
    let excluded = carrier.binding_exclusions(&mut Cursor::new(&out), &limits).unwrap();
    assert!(
        excluded
            .iter()
            .any(|r| r.start <= found[0].range.start && found[0].range.end <= r.end),
        "{}: the label's structure {:?} is not excluded: {excluded:?}",
        carrier.format(),
        found[0].range
    );
    out
}

/// The binding contract for one input: embedding labels of any length (`A`, a longer `B`, a
/// shorter `C`), and rewriting a labelled file with any of them, in any order, leaves the
/// covered bytes the same. Returns the file labelled with `A` and the one rewritten with `B`.
pub fn assert_binding_stable(carrier: &dyn Carrier, name: &str, input: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let [a, b, c] = binding_labels();
    let with_a = write(carrier, input, &a);
    let with_b = write(carrier, &with_a, &b);
    let files = [
        ("A, then B", with_b.clone()),
        ("A, then C", write(carrier, &with_a, &c)),
        ("A, B, then C", write(carrier, &with_b, &c)),
        ("A, C, then B", write(carrier, &write(carrier, &with_a, &c), &b)),
        ("B first", write(carrier, input, &b)),
        ("C first", write(carrier, input, &c)),
    ];
    let reference = covered(carrier, &with_a);
    for (what, file) in &files {
        let got = covered(carrier, file);
        let first_diff = reference.iter().zip(&got).position(|(x, y)| x != y);
        assert!(
            got == reference,
            "{name}: covered bytes differ between A and {what} ({} vs {} bytes, first difference at \
             covered byte {first_diff:?})",
            reference.len(),
            got.len()
        );
    }
    (with_a, with_b)
}

/// The fuzz property (`aigc_label_testutil::fuzz_carrier`), plus the binding's: on any bytes
/// `binding_exclusions` returns cleanly, with ranges inside the file; on a file the carrier
/// wrote it succeeds and leaves the label's structure out.
pub fn fuzz_with_binding(carrier: &dyn Carrier, data: &[u8]) {
    aigc_label_testutil::fuzz_carrier(carrier, data);
    let limits = Limits::default();
    let within = |ranges: &[std::ops::Range<u64>], len: usize| {
        assert!(
            ranges.iter().all(|r| r.start <= r.end && r.end <= len as u64),
            "{}: exclusions outside a {len}-byte file: {ranges:?}",
            carrier.format()
        );
    };
    if let Ok(ranges) = carrier.binding_exclusions(&mut Cursor::new(data), &limits) {
        within(&ranges, data.len());
    }
    if carrier.find(&mut Cursor::new(data), &limits).is_err() {
        return;
    }
    let mut out = Vec::new();
    let label = aigc_label_testutil::sample_label();
    if carrier
        .write(&mut Cursor::new(data), &mut out, &label, &limits)
        .is_err()
    {
        return;
    }
    let ranges = carrier
        .binding_exclusions(&mut Cursor::new(&out), &limits)
        .unwrap_or_else(|e| panic!("{}: exclusions of our own output: {e}", carrier.format()));
    within(&ranges, out.len());
    for f in carrier.find(&mut Cursor::new(&out), &limits).unwrap() {
        assert!(
            ranges.iter().any(|r| r.start <= f.range.start && f.range.end <= r.end),
            "{}: label structure {:?} not excluded: {ranges:?}",
            carrier.format(),
            f.range
        );
    }
}

#[allow(unused_imports)]
pub use aigc_label_testutil::media::ffprobe_aigc;

/// `(pts, md5)` of every decoded frame of every stream.
pub fn framemd5(path: &Path) -> Option<Vec<(i64, String)>> {
    use aigc_label_testutil::media::{Packets, framemd5};
    framemd5(path, "0", Packets::Decoded)
}

/// What `ffmpeg -v error -i path -map 0 -f null -` prints (empty when every stream decodes
/// cleanly).
pub fn decode_messages(path: &Path) -> Option<String> {
    aigc_label_testutil::media::decode_messages(path, "error", Some("0"))
}
