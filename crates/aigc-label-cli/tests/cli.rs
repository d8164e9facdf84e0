//! The `aigc-label` command end to end: output forms and exit statuses.

mod common;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use common::{PRODUCER, assert_valid, bin, code, json_lines, run, sample};

fn embed(input: &Path, output: &Path, producer: &str, id: &str) -> Output {
    run(&[
        "embed",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
        "--producer",
        producer,
        "--produce-id",
        id,
    ])
}

#[test]
fn embed_then_inspect_json_reports_all_seven_fields() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["sample.png", "sample.jpg"] {
        let out = dir.path().join(name);
        let result = embed(&sample(name), &out, PRODUCER, "cli-0001");
        assert_eq!(code(&result), 0, "{}", String::from_utf8_lossy(&result.stderr));

        let result = run(&["inspect", "--json", out.to_str().unwrap()]);
        assert_eq!(code(&result), 0);
        let lines = json_lines(&result);
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(line["verdict"], "compliant");
        assert_eq!(line["class"], "is");
        assert_eq!(line["error"], Value::Null);
        let labels = line["labels"].as_array().unwrap();
        assert_eq!(labels.len(), 1);
        let fields = &labels[0]["fields"];
        assert_eq!(fields.as_object().unwrap().len(), 7);
        assert_eq!(fields["Label"], "1");
        assert_eq!(fields["ContentProducer"], PRODUCER);
        assert_eq!(fields["ProduceID"], "cli-0001");
        assert_eq!(fields["ContentPropagator"], PRODUCER);
        assert_eq!(fields["PropagateID"], "cli-0001");
        assert_eq!(fields["ReservedCode1"], "");
        for check in labels[0]["checks"].as_array().unwrap() {
            assert_eq!(check["ok"], true, "{check}");
            assert!(check["id"].as_str().unwrap().contains('.'));
        }
    }
}

#[test]
fn exit_status_is_the_worst_over_all_files() {
    let dir = tempfile::tempdir().unwrap();
    let labelled = dir.path().join("labelled.png");
    assert_eq!(code(&embed(&sample("sample.png"), &labelled, PRODUCER, "x-1")), 0);
    let zero = dir.path().join("zero.png");
    std::fs::write(&zero, b"").unwrap();

    let labelled = labelled.to_str().unwrap();
    let unlabelled = sample("sample.jpg");
    let unlabelled = unlabelled.to_str().unwrap();
    assert_eq!(code(&run(&["inspect", labelled])), 0);
    assert_eq!(code(&run(&["inspect", labelled, unlabelled])), 1);
    let result = run(&["inspect", "--json", unlabelled, zero.to_str().unwrap(), labelled]);
    assert_eq!(code(&result), 3);
    let lines = json_lines(&result);
    assert_eq!(lines.len(), 3, "every file is reported even after a failure");
    // Results arrive as files finish, so look each one up by name.
    let line = |file: &str| {
        lines
            .iter()
            .find(|l| l["file"] == file)
            .unwrap_or_else(|| panic!("{file} missing"))
    };
    assert_eq!(line(unlabelled)["verdict"], "unlabelled");
    let zero = line(zero.to_str().unwrap());
    assert_eq!(zero["verdict"], "unreadable");
    assert!(!zero["error"].as_str().unwrap().is_empty());
    assert_eq!(line(labelled)["verdict"], "compliant");
}

#[test]
fn malformed_files_exit_3_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let png = std::fs::read(sample("sample.png")).unwrap();
    let mut bad_crc = png.clone();
    bad_crc[29] ^= 0xff; // inside the IHDR CRC
    let mut lying = png.clone();
    lying[8..12].copy_from_slice(&0x7fff_fff0u32.to_be_bytes()); // IHDR length far past the end
    let mut random = b"\x89PNG\r\n\x1a\n".to_vec();
    random.extend((0..200u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let cases: [(&str, Vec<u8>); 5] = [
        ("truncated.png", png[..png.len() / 2].to_vec()),
        ("badcrc.png", bad_crc),
        ("lying.png", lying),
        ("random.png", random),
        ("notimage.bin", b"hello, world".to_vec()),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let result = run(&["inspect", path.to_str().unwrap()]);
        assert_eq!(code(&result), 3, "{name}: {}", String::from_utf8_lossy(&result.stdout));
        let text = String::from_utf8_lossy(&result.stdout);
        assert!(text.contains("unreadable: "), "{name}: {text}");
        assert!(!String::from_utf8_lossy(&result.stderr).contains("panicked"), "{name}");
    }
}

#[test]
fn two_copies_exit_2() {
    let fixture = aigc_label_testutil::fixtures("png", &["png"])
        .into_iter()
        .find(|p| p.file_name().unwrap().to_string_lossy().contains("two"))
        .expect("a two-copy PNG fixture");
    let result = run(&["inspect", "--json", fixture.to_str().unwrap()]);
    assert_eq!(code(&result), 2);
    let line = &json_lines(&result)[0];
    assert_eq!(line["verdict"], "non-compliant");
    assert!(line["labels"].as_array().unwrap().len() >= 2);
}

#[test]
fn embed_refuses_bad_labels_and_foreign_labels() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    // A name instead of a provider code fails strict validation: usage error.
    let result = embed(&sample("sample.png"), &out, "doubao", "x");
    assert_eq!(code(&result), 64);
    assert!(String::from_utf8_lossy(&result.stderr).contains("producer.code"));
    assert!(!out.exists(), "nothing is written when the label is refused");

    // --lenient accepts it.
    let result = run(&[
        "embed",
        sample("sample.png").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--producer",
        "doubao",
        "--produce-id",
        "x",
        "--lenient",
    ]);
    assert_eq!(code(&result), 0, "{}", String::from_utf8_lossy(&result.stderr));

    // Another producer may not replace that label; the file is left as it was.
    let before = std::fs::read(&out).unwrap();
    let result = embed(&out, &out, PRODUCER, "y");
    assert_eq!(code(&result), 2);
    assert!(String::from_utf8_lossy(&result.stderr).contains("doubao"));
    assert_eq!(std::fs::read(&out).unwrap(), before);
}

#[test]
fn in_place_update_by_the_same_producer() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("img.jpg");
    std::fs::copy(sample("sample.jpg"), &file).unwrap();
    assert_eq!(code(&embed(&file, &file, PRODUCER, "first")), 0);
    assert_eq!(code(&embed(&file, &file, PRODUCER, "second")), 0);
    let result = run(&["inspect", "--json", file.to_str().unwrap()]);
    let line = &json_lines(&result)[0];
    assert_eq!(line["labels"].as_array().unwrap().len(), 1);
    assert_eq!(line["labels"][0]["fields"]["ProduceID"], "second");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary files are left behind");
}

#[test]
fn usage_errors_exit_64() {
    assert_eq!(code(&run(&[])), 64);
    assert_eq!(code(&run(&["inspect"])), 64);
    assert_eq!(code(&run(&["embed", "a.png"])), 64);
    assert_eq!(code(&run(&["frobnicate"])), 64);
    assert_eq!(code(&run(&["--help"])), 0);
}

/// A folder made under `-o` for a file whose embed then fails is removed again: a failed batch
/// leaves no empty tree behind (as `propagate --out-dir` does).
#[test]
fn a_failed_embed_leaves_no_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("in");
    std::fs::create_dir_all(tree.join("bad/deeper")).unwrap();
    std::fs::copy(sample("sample.png"), tree.join("a.png")).unwrap();
    std::fs::write(tree.join("bad/deeper/c.png"), b"\x89PNG\r\n\x1a\nbroken").unwrap();
    let out_dir = dir.path().join("out");
    let result = run(&[
        "embed",
        tree.to_str().unwrap(),
        "-o",
        out_dir.to_str().unwrap(),
        "--producer",
        PRODUCER,
        "--produce-id",
        "batch-{stem}",
    ]);
    assert_eq!(code(&result), 3, "{}", String::from_utf8_lossy(&result.stderr));
    assert!(out_dir.join("a.png").is_file(), "the good file is labelled");
    assert!(
        !out_dir.join("bad").exists(),
        "the folders made for the failed file are gone"
    );
}

#[test]
fn json_lines_validate_against_the_committed_schema() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("in");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::copy(sample("sample.png"), tree.join("a.png")).unwrap();
    std::fs::copy(sample("sample.jpg"), tree.join("sub/b.jpg")).unwrap();
    std::fs::write(tree.join("sub/c.png"), b"\x89PNG\r\n\x1a\nbroken").unwrap();

    let out_dir = dir.path().join("out");
    let result = run(&[
        "embed",
        "--json",
        tree.to_str().unwrap(),
        "-o",
        out_dir.to_str().unwrap(),
        "--producer",
        PRODUCER,
        "--produce-id",
        "batch-{stem}",
    ]);
    assert_eq!(code(&result), 3, "the broken file fails, the others are labelled");
    if let Some(lines) = assert_valid(&result) {
        assert_eq!(lines, 4);
    }
    assert!(
        out_dir.join("a.png").is_file() && out_dir.join("sub/b.jpg").is_file(),
        "the tree is mirrored"
    );
    assert!(!out_dir.join("sub/c.png").exists(), "a failed file leaves no output");

    let two = aigc_label_testutil::fixtures("png", &["png"]);
    let mut args = vec!["inspect", "--json", out_dir.to_str().unwrap(), tree.to_str().unwrap()];
    args.extend(two.iter().map(|p| p.to_str().unwrap()));
    let result = run(&args);
    let lines = json_lines(&result);
    assert_eq!(lines.len(), 5 + two.len());
    if let Some(lines) = assert_valid(&result) {
        assert_eq!(lines, 6 + two.len());
    }
    let verdicts: Vec<&str> = lines.iter().map(|l| l["verdict"].as_str().unwrap()).collect();
    for v in ["compliant", "unlabelled", "unreadable"] {
        assert!(verdicts.contains(&v), "{v} missing from {verdicts:?}");
    }
}

#[test]
fn batch_embed_reads_paths_from_stdin_and_filters_by_format() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.png");
    let b = dir.path().join("b.jpg");
    std::fs::copy(sample("sample.png"), &a).unwrap();
    std::fs::copy(sample("sample.jpg"), &b).unwrap();
    let mut child = bin()
        .args([
            "embed",
            "-",
            "--in-place",
            "--producer",
            PRODUCER,
            "--produce-id",
            "n{n}",
            "-q",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{}\n{}", a.display(), b.display()).unwrap();
    let result = child.wait_with_output().unwrap();
    assert_eq!(code(&result), 0);
    let ids: Vec<String> = [&a, &b]
        .iter()
        .map(|p| {
            let report = aigc_label::inspect_file(p, &aigc_label::Options::default()).unwrap();
            report.label().unwrap().produce_id
        })
        .collect();
    assert_eq!(ids, ["n1", "n2"]);

    // --format keeps only PNG files in a walk; the summary counts one file.
    let result = run(&["inspect", "--json", "--format", "png", dir.path().to_str().unwrap()]);
    let lines = json_lines(&result);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["format"], "png");
    // A glob that excludes PNG files keeps only the JPEG.
    let result = run(&["inspect", "--json", "-g", "!*.png", dir.path().to_str().unwrap()]);
    let lines = json_lines(&result);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["format"], "jpeg");
    // Several files with a fixed ProduceID is a usage error: ids must differ per file.
    let result = run(&[
        "embed",
        "--in-place",
        dir.path().to_str().unwrap(),
        "--producer",
        PRODUCER,
        "--produce-id",
        "same",
    ]);
    assert_eq!(code(&result), 64);
}

#[test]
fn completions_and_man_page_come_from_the_clap_definitions() {
    let result = run(&["completions", "bash"]);
    assert_eq!(code(&result), 0);
    let script = String::from_utf8(result.stdout).unwrap();
    assert!(script.contains("aigc-label") && script.contains("--produce-id"));
    let result = run(&["man"]);
    assert_eq!(code(&result), 0);
    let page = String::from_utf8(result.stdout).unwrap();
    assert!(page.contains(".TH") && page.contains("inspect"));
}

#[test]
fn stamp_draws_on_images_and_can_add_the_implicit_label() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stamped.png");
    let result = run(&[
        "stamp",
        sample("sample.png").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--position",
        "top-left",
        "--producer",
        PRODUCER,
        "--produce-id",
        "st-1",
    ]);
    assert_eq!(code(&result), 0, "{}", String::from_utf8_lossy(&result.stderr));
    let before = image::open(sample("sample.png")).unwrap().to_rgba8();
    let after = image::open(&out).unwrap().to_rgba8();
    assert_eq!(before.dimensions(), after.dimensions());
    assert_ne!(
        before.get_pixel(12, 12),
        after.get_pixel(12, 12),
        "the top-left corner carries the label"
    );
    let (w, h) = before.dimensions();
    assert_eq!(
        before.get_pixel(w - 2, h - 2),
        after.get_pixel(w - 2, h - 2),
        "the far corner is untouched"
    );
    let result = run(&["inspect", "--json", out.to_str().unwrap()]);
    assert_eq!(json_lines(&result)[0]["labels"][0]["fields"]["ProduceID"], "st-1");

    let result = run(&[
        "stamp",
        sample("sample.png").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--text",
        "hello",
    ]);
    assert_eq!(
        code(&result),
        64,
        "a text without the AI and generation elements is refused"
    );
}

#[test]
fn stamp_text_from_stdin_and_wav_files() {
    use std::io::Write as _;
    let mut child = bin()
        .args(["stamp", "-", "-o", "-", "--position", "end"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all("答案是四十二。".as_bytes())
        .unwrap();
    let result = child.wait_with_output().unwrap();
    assert_eq!(code(&result), 0);
    let text = String::from_utf8(result.stdout).unwrap();
    assert!(
        text.starts_with("答案是四十二。") && text.trim_end().ends_with("【AI生成】"),
        "{text:?}"
    );

    let wav = aigc_label_testutil::fixtures("audio", &["wav"])
        .into_iter()
        .next()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cued.wav");
    let result = run(&[
        "stamp",
        wav.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--at",
        "start",
    ]);
    assert_eq!(code(&result), 0, "{}", String::from_utf8_lossy(&result.stderr));
    let frames = |p: &Path| hound::WavReader::open(p).unwrap().duration();
    let cue_ms =
        (frames(&out) - frames(&wav)) as f64 * 1000.0 / hound::WavReader::open(&out).unwrap().spec().sample_rate as f64;
    // .- .. at 120 ms units: 1+1+3 +3 +1+1+1 = 11 units of tone and gaps, plus silence around it.
    assert!(cue_ms >= 11.0 * 120.0, "the cue adds {cue_ms} ms");
}
