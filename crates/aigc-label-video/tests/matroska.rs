//! Matroska/WebM carrier: fixtures made by ffmpeg, witnessed by ffprobe and ffmpeg.

mod common;

use aigc_label_testutil::{fixtures, round_trip};
use aigc_label_video::Matroska;

#[test]
fn every_fixture_round_trips() {
    for path in fixtures("video", &["mkv", "webm"]) {
        round_trip(&Matroska, &std::fs::read(&path).unwrap());
    }
}

#[test]
fn ffprobe_sees_the_label_and_frames_are_unchanged() {
    for path in fixtures("video", &["mkv", "webm"]) {
        common::witness(&Matroska, &path);
    }
}
