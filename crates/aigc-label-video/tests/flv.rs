//! FLV carrier: fixtures made by ffmpeg, witnessed by ffprobe and ffmpeg.

mod common;

use aigc_label_testutil::{fixtures, round_trip};
use aigc_label_video::Flv;

#[test]
fn every_fixture_round_trips() {
    for path in fixtures("video", &["flv"]) {
        round_trip(&Flv, &std::fs::read(&path).unwrap());
    }
}

#[test]
fn ffprobe_sees_the_label_and_frames_are_unchanged() {
    for path in fixtures("video", &["flv"]) {
        common::witness(&Flv, &path);
    }
}

/// The numbers of `keyframes.filepositions` in an FLV's bytes.
fn filepositions(flv: &[u8]) -> Vec<u64> {
    let key = b"filepositions";
    let at = flv.windows(key.len()).position(|w| w == key).expect("filepositions") + key.len();
    assert_eq!(flv[at], 0x0A, "strict array");
    let count = u32::from_be_bytes(flv[at + 1..at + 5].try_into().unwrap()) as usize;
    (0..count)
        .map(|i| {
            let p = at + 5 + i * 9;
            assert_eq!(flv[p], 0);
            f64::from_be_bytes(flv[p + 1..p + 9].try_into().unwrap()) as u64
        })
        .collect()
}

#[test]
fn keyframe_positions_follow_the_tags_they_point_to() {
    let input = std::fs::read(aigc_label_testutil::fixture("video/flv_keyframes.flv")).unwrap();
    let out = common::embed(&Flv, &input, &aigc_label_testutil::sample_label());
    let before = filepositions(&input);
    let after = filepositions(&out);
    assert!(!before.is_empty());
    let delta = out.len() as u64 - input.len() as u64;
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(*a, b + delta);
        // A video tag header, the same bytes as before.
        assert_eq!(out[*a as usize] & 0x1F, 9);
        assert_eq!(out[*a as usize..*a as usize + 64], input[*b as usize..*b as usize + 64]);
    }
}

#[test]
fn previous_tag_sizes_stay_right() {
    for path in fixtures("video", &["flv"]) {
        let out = common::embed(
            &Flv,
            &std::fs::read(&path).unwrap(),
            &aigc_label_testutil::sample_label(),
        );
        let mut pos = 9 + 4;
        while pos + 11 <= out.len() {
            let size = u32::from_be_bytes([0, out[pos + 1], out[pos + 2], out[pos + 3]]) as usize;
            let prev = u32::from_be_bytes(out[pos + 11 + size..pos + 15 + size].try_into().unwrap()) as usize;
            assert_eq!(
                prev,
                size + 11,
                "{}: PreviousTagSize after tag at {pos}",
                path.display()
            );
            pos += 15 + size;
        }
        assert_eq!(pos, out.len());
    }
}

#[test]
fn a_file_without_on_meta_data_gets_one_first() {
    // Header, PreviousTagSize0, one audio tag of 2 bytes.
    let mut flv = b"FLV\x01\x04\x00\x00\x00\x09\x00\x00\x00\x00".to_vec();
    flv.extend_from_slice(&[8, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0xAF, 0x01, 0, 0, 0, 13]);
    let out = common::embed(&Flv, &flv, &aigc_label_testutil::sample_label());
    assert_eq!(out[13], 18, "script tag first");
    assert!(out.ends_with(&flv[13..]), "the audio tag follows unchanged");
}

/// A file without `onMetaData` refutes the plan's guess that it has one: the streamed write is
/// cut back to the first tag and written again, and gives the bytes the plain write gives.
#[test]
fn a_file_without_on_meta_data_streams_the_same_bytes_as_the_plain_write() {
    let mut flv = b"FLV\x01\x04\x00\x00\x00\x09\x00\x00\x00\x00".to_vec();
    for _ in 0..3 {
        // An audio tag of one byte and its PreviousTagSize.
        flv.extend_from_slice(&[8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x2F]);
        flv.extend_from_slice(&12u32.to_be_bytes());
    }
    let label = aigc_label_testutil::sample_label();
    aigc_label_testutil::plan_agrees(&Flv, &flv, &label, &aigc_label_core::Limits::default());
    let out = common::embed(&Flv, &flv, &label);
    assert!(
        out.ends_with(&flv[13..]),
        "the tags follow the new onMetaData unchanged"
    );
}
