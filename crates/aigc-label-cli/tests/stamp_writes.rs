//! What `stamp` leaves on disk: an output only when every step succeeded (the explicit label,
//! then the implicit one), never a half-labelled file, never a temporary file, and an existing
//! file at the output path untouched by a failed run.

mod common;

use std::path::Path;

use common::{PRODUCER, code, run};

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn stamp(input: &Path, output: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["stamp", input.to_str().unwrap(), "-o", output.to_str().unwrap()];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn plain_text_with_an_implicit_label_fails_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("a.txt");
    std::fs::write(&input, "答案。\n").unwrap();
    let out = dir.path().join("out.txt");
    let result = stamp(&input, &out, &["--producer", PRODUCER, "--produce-id", "x-1"]);
    assert_eq!(code(&result), 3, "{}", String::from_utf8_lossy(&result.stderr));
    let message = String::from_utf8_lossy(&result.stderr);
    assert!(message.contains("implicit label"), "{message}");
    assert_eq!(names(dir.path()), ["a.txt"], "no output, no temporary file");

    // An existing file at the output path stays as it was.
    std::fs::write(&out, "keep me").unwrap();
    let result = stamp(&input, &out, &["--producer", PRODUCER, "--produce-id", "x-1"]);
    assert_eq!(code(&result), 3);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
    assert_eq!(names(dir.path()), ["a.txt", "out.txt"]);
}

#[test]
fn a_failed_implicit_step_leaves_no_stamped_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("a.md");
    std::fs::write(&input, "# 标题\n\n正文。\n").unwrap();
    let out = dir.path().join("out.md");
    // The explicit label goes in first; the implicit one is refused (a producer code must have
    // 27 characters), so the run fails after the stamp was written to the staged file.
    let result = stamp(&input, &out, &["--producer", "short", "--produce-id", "x-1"]);
    assert_ne!(code(&result), 0);
    assert_eq!(names(dir.path()), ["a.md"], "no output, no temporary file");

    std::fs::write(&out, "keep me").unwrap();
    let result = stamp(&input, &out, &["--producer", "short", "--produce-id", "x-1"]);
    assert_ne!(code(&result), 0);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
}

#[test]
fn a_successful_run_writes_both_labels_with_the_input_permissions() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("a.md");
    std::fs::write(&input, "# 标题\n\n正文。\n").unwrap();
    std::fs::set_permissions(&input, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = dir.path().join("out.md");
    let result = stamp(&input, &out, &["--producer", PRODUCER, "--produce-id", "x-1"]);
    assert_eq!(code(&result), 0, "{}", String::from_utf8_lossy(&result.stderr));
    assert_eq!(names(dir.path()), ["a.md", "out.md"]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("ProduceID: \"x-1\"") && text.contains("【AI生成】"),
        "{text}"
    );
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode, 0o644,
        "the output has the input's permissions, not a temporary file's"
    );
}

#[test]
fn wav_with_a_refused_implicit_label_writes_nothing() {
    let wav = aigc_label_testutil::fixtures("audio", &["wav"])
        .into_iter()
        .next()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cued.wav");
    let result = stamp(&wav, &out, &["--producer", "short", "--produce-id", "x-1"]);
    assert_ne!(code(&result), 0);
    assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
}

#[test]
fn crlf_markdown_stays_crlf_through_both_labels() {
    let dir = tempfile::tempdir().unwrap();
    let input = aigc_label_testutil::fixture("text/crlf.md");
    for position in ["start", "end", "both"] {
        let out = dir.path().join(format!("{position}.md"));
        let result = stamp(
            &input,
            &out,
            &["--position", position, "--producer", PRODUCER, "--produce-id", "crlf-1"],
        );
        assert_eq!(code(&result), 0, "{}", String::from_utf8_lossy(&result.stderr));
        let bytes = std::fs::read(&out).unwrap();
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' {
                assert_eq!(bytes.get(i.wrapping_sub(1)), Some(&b'\r'), "{position}: LF at {i}");
            }
        }
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.contains("AIGC:\r\n") && text.contains("【AI生成】\r\n"),
            "{text:?}"
        );
        assert!(text.contains("Line one\r\n\r\nLine two\r\n"), "{text:?}");
    }
}

#[test]
fn encoded_audio_gets_the_cue_and_the_implicit_label_in_one_run() {
    if aigc_label_testutil::tool("ffmpeg").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "stamp_cbr.mp3",
        "stamp_24.flac",
        "stamp.opus",
        "stamp_vorbis.ogg",
        "sox.aiff",
    ] {
        let input = aigc_label_testutil::fixture(&format!("audio/{name}"));
        let out = dir.path().join(format!("cued-{name}"));
        let id = format!("cue-{name}");
        // A Vorbis cue is a chained stream of its own: the start or the end only.
        let at = if name.ends_with(".ogg") {
            "start,end"
        } else {
            "start,50%"
        };
        let result = stamp(&input, &out, &["--at", at, "--producer", PRODUCER, "--produce-id", &id]);
        assert_eq!(code(&result), 0, "{name}: {}", String::from_utf8_lossy(&result.stderr));
        let said = String::from_utf8_lossy(&result.stderr);
        assert!(said.contains("cue of 1.560 s inserted at 0.000 s, "), "{name}: {said}");
        let bytes = std::fs::read(&out).unwrap();
        assert!(
            bytes.windows(id.len()).any(|w| w == id.as_bytes()),
            "{name}: the implicit label is in the output"
        );
        assert!(
            bytes.len() > std::fs::metadata(&input).unwrap().len() as usize,
            "{name}"
        );
    }
    // Mixing into Opus works; a cue past the end is refused, and nothing is written.
    let out = dir.path().join("mixed.opus");
    let opus = aigc_label_testutil::fixture("audio/stamp_mix.opus");
    let result = stamp(&opus, &out, &["--mix", "--at", "99s"]);
    assert_ne!(code(&result), 0);
    assert!(!out.exists());
    let result = stamp(&opus, &out, &["--mix", "--at", "2s"]);
    assert_eq!(code(&result), 0, "{}", String::from_utf8_lossy(&result.stderr));
    let said = String::from_utf8_lossy(&result.stderr);
    assert!(said.contains("opus cue of 1.560 s mixed in at 2.000 s"), "{said}");
}
