//! The watermark on image files: marked, re-encoded with metadata and label kept, read back.
#![cfg(all(feature = "watermark", feature = "stamp"))]

use aigc_label::image::stamp::{Carried, FileOptions};
use aigc_label::watermark::{DEFAULT_PSNR, payload_for};
use aigc_label::watermark_file::{detect_watermark_file, watermark_file};
use aigc_label::{Label, Options, inspect_file};
use aigc_label_testutil::fixture;

#[test]
fn marked_files_keep_metadata_and_label_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let label = Label::new("001191440300708461136T1XGW3", "wm-file-1");
    let options = FileOptions::default();
    for name in ["metadata.jpg", "rgb-text.png", "metadata.webp", "grey16.png"] {
        let input = fixture(&format!("stamp/{name}"));
        assert_eq!(
            detect_watermark_file(&input, &options).unwrap(),
            None,
            "{name} unmarked"
        );
        let output = dir.path().join(name);
        let report = watermark_file(&input, &output, &label, DEFAULT_PSNR, &options).unwrap();
        assert_eq!(report.frames, 1);
        if name.starts_with("metadata") {
            assert_eq!(report.exif, Carried::Kept, "{name}");
        }
        assert!(report.implicit.is_some(), "{name}");
        let found = detect_watermark_file(&output, &options).unwrap();
        assert_eq!(found.map(|d| d.payload), Some(payload_for(&label)), "{name}");
        let copies = inspect_file(&output, &Options::default()).unwrap().copies;
        assert_eq!(copies.first().and_then(|c| c.label()), Some(label.clone()), "{name}");
    }
    // Not an image: an error naming the file, nothing written.
    let text = dir.path().join("note.txt");
    std::fs::write(&text, "hello").unwrap();
    assert!(detect_watermark_file(&text, &options).is_err());
}

/// An upload whose label was stripped but whose pixels carry the watermark is "suspected", and
/// the trace names the producer's label through the caller's lookup.
#[cfg(feature = "trust")]
#[test]
fn a_watermark_is_a_trace_of_generation() {
    use aigc_label::trust::propagate::{Decision, Request};
    use aigc_label::trust::traces::TraceKind;
    use aigc_label::watermark::embed_at_psnr;
    use aigc_label::watermark_file::{propagate_file_watermarked, traces_file};

    let dir = tempfile::tempdir().unwrap();
    let label = Label::new("001191440300708461136T1XGW3", "wm-trace-1");
    let payload = payload_for(&label);
    // A marked picture without any label: as if a platform had stripped the metadata.
    let input = dir.path().join("stripped.png");
    let mut source = std::fs::File::open(fixture("stamp/rgba.png")).unwrap();
    let mut marked = std::fs::File::create(&input).unwrap();
    let options = FileOptions::default();
    aigc_label::image::stamp::repaint_file(&mut source, &mut marked, None, &options, &mut |img| {
        *img = embed_at_psnr(img, payload, DEFAULT_PSNR);
    })
    .unwrap();
    drop(marked);
    let lookup = |p: u64| (p == payload).then(|| label.clone());

    let traces = traces_file(&input, &aigc_label::Limits::default(), &lookup).unwrap();
    assert_eq!(traces.len(), 1, "{traces:?}");
    assert_eq!(traces[0].kind, TraceKind::Watermark);
    assert!(traces[0].detail.contains("wm-trace-1"), "{}", traces[0].detail);

    let request = Request {
        platform: "001191110108551385082Q20000",
        propagate_id: "upload-9",
        declared_by_user: false,
        signer: None,
        bind: false,
    };
    let output = dir.path().join("stored.png");
    let outcome = propagate_file_watermarked(&input, &output, &request, &Options::default(), &lookup).unwrap();
    assert!(
        matches!(outcome.decision, Decision::Suspected { .. }),
        "{:?}",
        outcome.decision
    );
    assert_eq!(outcome.label.unwrap().value, aigc_label::LabelValue::Suspected);
    // The plain propagation sees no trace in the metadata: nothing to add.
    let plain =
        aigc_label::propagate_file(&input, dir.path().join("plain.png"), &request, &Options::default()).unwrap();
    assert_eq!(plain.decision, Decision::Nothing);
}
