//! `aigc-label stamp` on AAC in MP4 (issue 14): an M4A (no video track) goes to the audio
//! stamper and gets the cue inserted; a video with `--cue` gets the label in the picture and
//! the cue mixed into its sound, which keeps its frame count and its step with the picture; so
//! do WebM (Opus), Matroska (AAC), FLV (AAC) and AVI (MP3) videos.

mod common;

use std::path::Path;

use aigc_label_testutil::media;
use common::{PRODUCER, code, run};

/// True when ffmpeg and ffprobe are installed; otherwise prints SKIPPED (and fails under
/// `CI=true`).
fn have_ffmpeg() -> bool {
    aigc_label_testutil::tool("ffmpeg").is_some() && aigc_label_testutil::tool("ffprobe").is_some()
}

/// What `ffmpeg -v error` prints decoding `path`, and the MD5 of each packet of stream `map`.
fn decode(path: &Path, map: &str) -> (String, Vec<String>) {
    let errors = media::decode_messages(path, "error", None).unwrap_or_default();
    let packets = media::framemd5(path, map, media::Packets::Copied).unwrap_or_default();
    (errors, packets.into_iter().map(|(_, md5)| md5).collect())
}

/// Checks that the sound of `output` is the sound of `input` with the cue mixed into its
/// opening: it decodes cleanly, one packet for one, the first 10 differ and over half of them,
/// at the end, are the source's (4 s of sound; the cue and its ramps take under 2 s).
fn assert_cue_mixed(name: &str, input: &Path, output: &Path) {
    let (errors, after) = decode(output, "0:a:0");
    assert_eq!(errors, "", "{name}");
    let (_, before) = decode(input, "0:a:0");
    assert_eq!(after.len(), before.len(), "{name}: one sound packet for one");
    assert_ne!(after[..10], before[..10], "{name}: the opening packets carry the cue");
    let same_tail = before
        .iter()
        .rev()
        .zip(after.iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    assert!(
        same_tail > before.len() / 2,
        "{name}: {same_tail} of {} packets kept",
        before.len()
    );
}

#[test]
fn an_m4a_gets_the_cue_inserted_and_the_implicit_label() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = aigc_label_testutil::fixture("audio/stamp.m4a");
    let output = dir.path().join("out.m4a");
    let out = run(&[
        "stamp",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
        "--producer",
        PRODUCER,
        "--produce-id",
        "song-1",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 0, "{stderr}");
    assert!(stderr.contains("m4a cue of 1.602 s inserted at 0.000 s"), "{stderr}");
    assert!(stderr.contains("implicit label written"), "{stderr}");
    let (errors, after) = decode(&output, "0:a:0");
    assert_eq!(errors, "");
    let (_, before) = decode(&input, "0:a:0");
    assert_eq!(
        after[after.len() - before.len()..],
        before[..],
        "the original frames follow the cue"
    );
    let inspect = run(&["inspect", output.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&inspect.stdout).starts_with("compliant"),
        "{inspect:?}"
    );
}

#[test]
fn a_video_with_cue_gets_the_picture_label_and_the_cue_mixed_into_its_sound() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = aigc_label_testutil::fixture("video/stamp/h264_gop1s.mp4");
    let output = dir.path().join("out.mp4");
    let out = run(&[
        "stamp",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
        "--cue",
        "rhythm",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 0, "{stderr}");
    assert!(stderr.contains("h264 label on 50 frames"), "{stderr}");
    assert!(
        stderr.contains("rhythm cue of 1.560 s mixed into the sound"),
        "{stderr}"
    );
    assert_cue_mixed("h264_gop1s.mp4", &input, &output);
}

#[test]
fn inserting_into_the_sound_of_a_video_is_refused() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = aigc_label_testutil::fixture("video/stamp/h264_gop1s.mp4");
    let output = dir.path().join("out.mp4");
    let stamped = aigc_label::audio::stamp_file(
        &input,
        &output,
        &aigc_label::audio::cue::Cue::default(),
        &[aigc_label::audio::cue::At::Start],
        &aigc_label::audio::cue::Mode::Insert,
    );
    let err = stamped.unwrap_err().to_string();
    assert!(err.contains("out of step"), "{err}");
    assert!(!output.exists());
}

#[test]
fn an_avi_with_cue_gets_the_cue_mixed_into_its_mp3_sound() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = aigc_label_testutil::fixture("video/stamp/mpeg4_gop1s.avi");
    let output = dir.path().join("out.avi");
    let out = run(&[
        "stamp",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
        "--cue",
        "rhythm",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 0, "{stderr}");
    assert!(
        stderr.contains("rhythm cue of 1.560 s mixed into the sound"),
        "{stderr}"
    );
    let (errors, after) = decode(&output, "0:a:0");
    assert_eq!(errors, "");
    let (_, before) = decode(&input, "0:a:0");
    assert_eq!(after.len(), before.len(), "one sound frame for one");
    assert_ne!(after[..10], before[..10], "the opening frames carry the cue");
    assert_eq!(after[100..], before[100..], "the frames after the cue are the source's");
}

#[test]
fn webm_mkv_and_flv_with_cue_get_the_picture_label_and_the_cue_mixed_into_their_sound() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, codec) in [
        ("vp9_gop1s.webm", "vp9"),
        ("h264_gop1s.mkv", "h264"),
        ("h264_gop1s.flv", "h264"),
    ] {
        let input = aigc_label_testutil::fixture(&format!("video/stamp/{name}"));
        let output = dir.path().join(format!("out-{name}"));
        let out = run(&[
            "stamp",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "--cue",
            "rhythm",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code(&out), 0, "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("{codec} label on 50 frames")),
            "{name}: {stderr}"
        );
        assert!(
            stderr.contains("rhythm cue of 1.560 s mixed into the sound"),
            "{name}: {stderr}"
        );
        assert_cue_mixed(name, &input, &output);
        // The picture: spliced (its packets after the keyframe at 2 s are the source's).
        let (_, video_after) = decode(&output, "0:v:0");
        let (_, video_before) = decode(&input, "0:v:0");
        assert_eq!(video_after.len(), video_before.len(), "{name}");
        assert_ne!(video_after[..50], video_before[..50], "{name}: the label is drawn");
        assert_eq!(
            video_after[50..],
            video_before[50..],
            "{name}: the picture after the splice"
        );
    }
}
