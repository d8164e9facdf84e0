//! `aigc-label stamp` on video files (issue 14): the run says how it wrote the file, the
//! implicit label lands in the output, and without ffmpeg the error names it and writes nothing.

mod common;

use common::{PRODUCER, bin, code, run};

#[test]
fn an_mp4_is_spliced_and_labelled_both_ways() {
    if aigc_label_testutil::tool("ffmpeg").is_none() || aigc_label_testutil::tool("ffprobe").is_none() {
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
        "--duration",
        "2",
        "--producer",
        PRODUCER,
        "--produce-id",
        "clip-1",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 0, "{stderr}");
    assert!(
        stderr.contains("h264 label on 50 frames; 50 frames re-encoded, 50 copied unchanged from 2.000 s"),
        "{stderr}"
    );
    assert!(stderr.contains("implicit label written"), "{stderr}");
    let inspect = run(&["inspect", output.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&inspect.stdout).starts_with("compliant"),
        "{inspect:?}"
    );
}

#[test]
fn without_ffmpeg_the_error_names_it_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let input = aigc_label_testutil::fixture("video/stamp/h264_gop1s.mp4");
    let output = dir.path().join("out.mp4");
    let out = bin()
        .env("PATH", dir.path())
        .args(["stamp", input.to_str().unwrap(), "-o", output.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(code(&out), 0);
    assert!(stderr.contains("ffmpeg not found on PATH"), "{stderr}");
    assert!(stderr.contains("apt-get install ffmpeg"), "{stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_label_window_under_two_seconds_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = aigc_label_testutil::fixture("video/stamp/h264_gop1s.mp4");
    let output = dir.path().join("out.mp4");
    let out = run(&[
        "stamp",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
        "--duration",
        "1",
    ]);
    assert_ne!(code(&out), 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 2 s"));
    assert!(!output.exists());
}
