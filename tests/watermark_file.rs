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
