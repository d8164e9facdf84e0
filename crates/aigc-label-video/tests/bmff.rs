//! ISO-BMFF carrier: fixtures made by ffmpeg, witnessed by ffprobe and ffmpeg.

mod common;

use aigc_label_testutil::{fixtures, round_trip};
use aigc_label_video::Bmff;

#[test]
fn every_fixture_round_trips() {
    for path in fixtures("video", &["mp4", "mov", "m4a"]) {
        let input = std::fs::read(&path).unwrap();
        eprintln!("{}", path.display());
        round_trip(&Bmff, &input);
    }
}

#[test]
fn ffprobe_sees_the_label_and_frames_are_unchanged() {
    for path in fixtures("video", &["mp4", "mov", "m4a"]) {
        common::witness(&Bmff, &path);
    }
}
