//! One registry, capabilities on the carrier: what each registered format offers besides
//! reading and writing its label (an in-place update, a trace scanner, a stamper) is asked of
//! the carrier itself, and a container holding several media stamps by what the file holds.

use std::fs::File;

use aigc_label::core::stamp::Medium;
use aigc_label::{Carrier, Limits, registry};
use aigc_label_testutil::fixture;

/// The formats with each capability, as the registry reports them.
fn with(has: impl Fn(&dyn Carrier) -> bool) -> Vec<&'static str> {
    let mut formats: Vec<_> = registry()
        .carriers()
        .iter()
        .filter(|c| has(**c))
        .map(|c| c.format())
        .collect();
    formats.sort_unstable();
    formats
}

#[test]
fn the_registry_reports_each_formats_capabilities() {
    // Other formats gain in-place updates over time; these have them.
    let in_place = with(|c| c.in_place().is_some());
    for format in [
        "flac", "heif", "jpeg", "matroska", "mp3", "mp4", "pdf", "png", "tiff", "webp",
    ] {
        assert!(in_place.contains(&format), "{format} in {in_place:?}");
    }
    // GIF cannot switch inside one sector (see the image crate's `gif` notes).
    assert!(!in_place.contains(&"gif"), "{in_place:?}");
    assert_eq!(
        with(|c| c.traces().is_some()),
        ["heif", "jpeg", "markdown", "mp4", "png"]
    );
    assert_eq!(
        with(|c| c.stamp().is_some()),
        [
            "aiff", "avi", "flac", "flv", "gif", "jpeg", "markdown", "matroska", "mp3", "mp4", "ogg", "png", "tiff",
            "wav", "webp"
        ]
    );
}

/// The medium the detected carrier's stamper capability picks for `path`.
fn medium(path: &str) -> Medium {
    let path = fixture(path);
    let carrier = aigc_label::detect_file(&path).unwrap().expect("detected");
    let stamp = carrier.stamp().expect("a stamper");
    stamp
        .medium(&mut File::open(&path).unwrap(), &Limits::default())
        .unwrap()
}

#[test]
fn an_mp4_stamps_as_video_and_an_m4a_as_audio() {
    assert_eq!(medium("video/mp4_video_only.mp4"), Medium::Video);
    assert_eq!(medium("video/mov_plain.mov"), Medium::Video);
    assert_eq!(medium("video/m4a_tagged.m4a"), Medium::Audio);
    assert_eq!(medium("png/rgb.png"), Medium::Image);
    assert_eq!(medium("video/mkv_plain.mkv"), Medium::Video);
}
