//! Signed labels from the shell: `keygen`, `embed --sign-key`, `inspect --trust` and
//! `propagate`, with their output forms and exit statuses.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use common::{PLATFORM, PRODUCER, assert_valid, code, json_lines, run, sample};

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Makes a key pair for `provider` in `dir`; returns the key file and its trust-list line.
fn keygen(dir: &Path, name: &str, alg: &str, provider: &str, key_id: Option<&str>) -> (PathBuf, String) {
    let key = dir.join(format!("{name}.pem"));
    let mut args = vec!["keygen", "--alg", alg, "--provider", provider, "-o", path(&key)];
    if let Some(id) = key_id {
        args.extend(["--key-id", id]);
    }
    let out = run(&args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let line = String::from_utf8(out.stdout).unwrap().trim().to_string();
    (key, line)
}

/// Writes a trust list holding `lines`.
fn trust_list(dir: &Path, name: &str, lines: &[&str]) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, format!("# provider key key-id\n{}\n", lines.join("\n"))).unwrap();
    file
}

/// `embed --sign-key` with extra arguments; asserts success.
fn embed_signed(input: &Path, output: &Path, key: &Path, id: &str, extra: &[&str]) {
    let mut args = vec![
        "embed",
        path(input),
        "-o",
        path(output),
        "--producer",
        PRODUCER,
        "--produce-id",
        id,
        "--sign-key",
        path(key),
    ];
    args.extend(extra);
    let out = run(&args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// `inspect --json --trust`: the exit status and the file's line (validated against the schema).
fn inspect_trust(file: &Path, trust: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["inspect", "--json", "--trust", path(trust), path(file)];
    args.extend(extra);
    let out = run(&args);
    assert_valid(&out);
    let mut lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    (code(&out), lines.remove(0))
}

/// The verification of the file's only label copy.
fn verification(line: &Value) -> &Value {
    let labels = line["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 1, "{line}");
    &labels[0]["verification"]
}

fn check_ids(v: &Value, level: &str) -> Vec<String> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["level"] == level)
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

/// Each PNG chunk as (offset, data length, type).
fn png_chunks(png: &[u8]) -> Vec<(usize, usize, [u8; 4])> {
    let mut out = Vec::new();
    let mut at = 8;
    while at + 12 <= png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        out.push((at, len, png[at + 4..at + 8].try_into().unwrap()));
        at += 12 + len;
    }
    out
}

/// Recomputes every chunk CRC, so a change is a valid PNG and only the binding can notice it.
fn fix_png_crcs(png: &mut [u8]) {
    for (at, len, _) in png_chunks(png) {
        let crc = crc32fast::hash(&png[at + 4..at + 8 + len]);
        png[at + 8 + len..at + 12 + len].copy_from_slice(&crc.to_be_bytes());
    }
}

/// Flips one bit in the middle of the first IDAT chunk and fixes its CRC.
fn tamper_png_pixels(png: &[u8]) -> Vec<u8> {
    let mut out = png.to_vec();
    let (at, len, _) = png_chunks(png)
        .into_iter()
        .find(|(_, _, t)| t == b"IDAT")
        .expect("an IDAT chunk");
    out[at + 8 + len / 2] ^= 0x01;
    fix_png_crcs(&mut out);
    out
}

/// Flips one bit in the middle of the JPEG scan, away from any marker byte.
fn tamper_jpeg_scan(jpeg: &[u8]) -> Vec<u8> {
    let sos = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).expect("an SOS marker");
    let scan_start = sos + 2 + u16::from_be_bytes([jpeg[sos + 2], jpeg[sos + 3]]) as usize;
    let mut at = scan_start + (jpeg.len() - scan_start) / 2;
    while jpeg[at] >= 0xF0 || jpeg[at - 1] == 0xFF {
        at += 1;
    }
    let mut out = jpeg.to_vec();
    out[at] ^= 0x01;
    out
}

/// Replaces `from` with `to` (same length) in a PNG's label text and fixes the CRCs.
fn edit_png_label(png: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = png.to_vec();
    let at = out
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .unwrap_or_else(|| panic!("{from} not in the file"));
    out[at..at + to.len()].copy_from_slice(to.as_bytes());
    fix_png_crcs(&mut out);
    out
}

#[test]
fn signed_png_verifies_and_a_changed_pixel_is_content_changed() {
    let dir = tempfile::tempdir().unwrap();
    let (key, line) = keygen(dir.path(), "producer", "sm2", PRODUCER, Some("producer-2026"));
    assert!(
        line.starts_with(&format!("{PRODUCER} sm2:04")) && line.ends_with(" producer-2026"),
        "{line}"
    );
    let trust = trust_list(dir.path(), "trust.txt", &[&line]);

    let signed = dir.path().join("signed.png");
    embed_signed(&sample("sample.png"), &signed, &key, "img-1", &[]);
    let (status, line) = inspect_trust(&signed, &trust, &[]);
    assert_eq!(status, 0, "{line}");
    assert_eq!(line["verdict"], "compliant");
    assert_eq!(line["trust"], "trusted");
    let v = verification(&line);
    assert_eq!(v["verdict"], "trusted");
    assert_eq!(v["producer"]["signature"]["status"], "valid");
    assert_eq!(v["producer"]["signature"]["key_id"], "producer-2026");
    assert_eq!(v["producer"]["signature"]["algorithm"], "SM3withSM2");
    assert_eq!(v["producer"]["binding"]["status"], "match");
    assert_eq!(v["propagator"]["signature"]["status"], "absent");
    assert!(check_ids(v, "fail").is_empty(), "{v}");
    assert!(check_ids(v, "pass").contains(&"binding.match".to_string()));

    // The human form says the same, check by check.
    let out = run(&["inspect", "--trust", path(&trust), path(&signed)]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("trusted") && text.contains("signature.valid") && text.contains("binding.match"));

    // One bit of pixel data changes; the PNG stays valid, the label untouched.
    let tampered = dir.path().join("tampered.png");
    std::fs::write(&tampered, tamper_png_pixels(&std::fs::read(&signed).unwrap())).unwrap();
    let (status, line) = inspect_trust(&tampered, &trust, &[]);
    assert_eq!(status, 2, "a changed content binding is non-compliant: {line}");
    assert_eq!(line["verdict"], "compliant", "the label itself is still well-formed");
    assert_eq!(line["trust"], "tampered");
    let v = verification(&line);
    assert_eq!(
        v["producer"]["signature"]["status"], "valid",
        "the label text is unchanged"
    );
    assert_eq!(v["producer"]["binding"]["status"], "content-changed");
    assert_eq!(check_ids(v, "fail"), ["binding.changed"]);
    let out = run(&["inspect", "--trust", path(&trust), path(&tampered)]);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stdout).contains("CONTENT CHANGED"));
    // Without --trust the file is an ordinary compliant file.
    assert_eq!(code(&run(&["inspect", path(&tampered)])), 0);
}

#[test]
fn an_edited_label_field_is_an_invalid_signature() {
    let dir = tempfile::tempdir().unwrap();
    let (key, line) = keygen(dir.path(), "producer", "ed25519", PRODUCER, None);
    let trust = trust_list(dir.path(), "trust.txt", &[&line]);
    let signed = dir.path().join("signed.png");
    embed_signed(&sample("sample.png"), &signed, &key, "img-0001", &[]);

    let edited = dir.path().join("edited.png");
    let bytes = edit_png_label(&std::fs::read(&signed).unwrap(), "img-0001", "img-0002");
    std::fs::write(&edited, bytes).unwrap();
    let (status, line) = inspect_trust(&edited, &trust, &[]);
    assert_eq!(status, 2, "{line}");
    assert_eq!(line["trust"], "tampered");
    let v = verification(&line);
    assert_eq!(v["producer"]["signature"]["status"], "invalid");
    assert!(v["producer"]["signature"]["detail"].is_string());
    assert!(check_ids(v, "fail").contains(&"signature.invalid".to_string()));
}

#[test]
fn signed_jpeg_without_binding_and_a_changed_scan() {
    let dir = tempfile::tempdir().unwrap();
    let (key, line) = keygen(dir.path(), "producer", "ed25519", PRODUCER, None);
    let key_id = line.split_whitespace().nth(2).unwrap().to_string();
    let trust = trust_list(dir.path(), "trust.txt", &[&line]);

    let bound = dir.path().join("bound.jpg");
    embed_signed(&sample("sample.jpg"), &bound, &key, "img-1", &[]);
    let (status, line) = inspect_trust(&bound, &trust, &[]);
    assert_eq!(status, 0, "{line}");
    let v = verification(&line);
    assert_eq!(v["producer"]["signature"]["key_id"], key_id.as_str());
    assert_eq!(v["producer"]["binding"]["status"], "match");

    let tampered = dir.path().join("tampered.jpg");
    std::fs::write(&tampered, tamper_jpeg_scan(&std::fs::read(&bound).unwrap())).unwrap();
    let (status, line) = inspect_trust(&tampered, &trust, &[]);
    assert_eq!(status, 2);
    assert_eq!(verification(&line)["producer"]["binding"]["status"], "content-changed");

    // --no-bind: the guide's plain signature; changed content goes unnoticed, by design.
    let unbound = dir.path().join("unbound.jpg");
    embed_signed(&sample("sample.jpg"), &unbound, &key, "img-2", &["--no-bind"]);
    let changed = dir.path().join("unbound-changed.jpg");
    std::fs::write(&changed, tamper_jpeg_scan(&std::fs::read(&unbound).unwrap())).unwrap();
    let (status, line) = inspect_trust(&changed, &trust, &[]);
    assert_eq!(status, 0, "{line}");
    let v = verification(&line);
    assert_eq!(v["verdict"], "trusted");
    assert_eq!(v["producer"]["signature"]["status"], "valid");
    assert_eq!(v["producer"]["binding"]["status"], "absent");
}

#[test]
fn a_key_not_on_the_trust_list_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = keygen(dir.path(), "producer", "sm2", PRODUCER, None);
    let (_, other) = keygen(dir.path(), "other", "sm2", PRODUCER, None);
    let signed = dir.path().join("signed.png");
    embed_signed(&sample("sample.png"), &signed, &key, "img-1", &[]);

    let wrong = trust_list(dir.path(), "wrong.txt", &[&other]);
    let (status, line) = inspect_trust(&signed, &wrong, &[]);
    assert_eq!(status, 0, "an unknown key is not evidence of tampering: {line}");
    assert_eq!(line["trust"], "untrusted");
    let signature = &verification(&line)["producer"]["signature"];
    assert_eq!(signature["status"], "unknown-key");
    assert_eq!(signature["embedded_key_verifies"], true);
    assert!(check_ids(verification(&line), "warn").contains(&"signature.unknown-key".to_string()));

    let (status, _) = inspect_trust(&signed, &wrong, &["--require-trusted"]);
    assert_eq!(status, 2);

    // An unsigned label is "unsigned": exit 0, or 2 when trust is required.
    let plain = dir.path().join("plain.png");
    assert_eq!(
        code(&run(&[
            "embed",
            path(&sample("sample.png")),
            "-o",
            path(&plain),
            "--producer",
            PRODUCER,
            "--produce-id",
            "p-1"
        ])),
        0
    );
    let (status, line) = inspect_trust(&plain, &wrong, &[]);
    assert_eq!((status, line["trust"].as_str()), (0, Some("unsigned")));
    assert_eq!(inspect_trust(&plain, &wrong, &["--require-trusted"]).0, 2);

    // A trust list that does not parse is a usage error.
    let bad = trust_list(dir.path(), "bad.txt", &["P rsa:00"]);
    assert_eq!(code(&run(&["inspect", "--trust", path(&bad), path(&signed)])), 64);
}

#[test]
fn propagating_a_signed_file_keeps_one_label_with_both_signatures_bound() {
    let dir = tempfile::tempdir().unwrap();
    let (producer_key, producer_line) = keygen(dir.path(), "producer", "sm2", PRODUCER, Some("gen-1"));
    let (platform_key, platform_line) = keygen(dir.path(), "platform", "ed25519", PLATFORM, Some("plat-1"));
    let trust = trust_list(dir.path(), "trust.txt", &[&producer_line, &platform_line]);

    for name in ["sample.png", "sample.jpg"] {
        let signed = dir.path().join(format!("signed-{name}"));
        embed_signed(&sample(name), &signed, &producer_key, "img-1", &[]);
        let stored = dir.path().join(format!("stored-{name}"));
        let out = run(&[
            "propagate",
            "--json",
            path(&signed),
            "-o",
            path(&stored),
            "--platform",
            PLATFORM,
            "--propagate-id",
            "upload-7",
            "--sign-key",
            path(&platform_key),
        ]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_valid(&out);
        let line = &json_lines(&out)[0];
        assert_eq!(line["decision"], "keep");
        assert_eq!(line["class"], "is");
        assert_eq!(line["written"], true);
        assert_eq!(line["output"], path(&stored));
        assert_eq!(line["label"]["ContentProducer"], PRODUCER);
        assert_eq!(line["label"]["ContentPropagator"], PLATFORM);
        assert_eq!(line["label"]["PropagateID"], "upload-7");

        let (status, line) = inspect_trust(&stored, &trust, &["--require-trusted"]);
        assert_eq!(status, 0, "{line}");
        assert_eq!(line["labels"].as_array().unwrap().len(), 1, "one label copy");
        let v = verification(&line);
        assert_eq!(v["verdict"], "trusted");
        for (slot, key_id) in [("producer", "gen-1"), ("propagator", "plat-1")] {
            assert_eq!(v[slot]["signature"]["status"], "valid", "{slot}: {v}");
            assert_eq!(v[slot]["signature"]["key_id"], key_id);
            assert_eq!(v[slot]["binding"]["status"], "match", "{slot}: {v}");
        }
    }
}

#[test]
fn propagate_decides_each_class_and_leaves_plain_files_alone() {
    let dir = tempfile::tempdir().unwrap();
    let uploads = dir.path().join("uploads");
    std::fs::create_dir(&uploads).unwrap();
    let labelled = uploads.join("labelled.png");
    let out = run(&[
        "embed",
        path(&sample("sample.png")),
        "-o",
        path(&labelled),
        "--producer",
        PRODUCER,
        "--produce-id",
        "gen-9",
    ]);
    assert_eq!(code(&out), 0);
    std::fs::copy(
        aigc_label_testutil::fixture("trust/a1111-parameters.png"),
        uploads.join("a1111.png"),
    )
    .unwrap();
    let plain = uploads.join("plain.jpg");
    std::fs::copy(sample("sample.jpg"), &plain).unwrap();
    let plain_before = std::fs::read(&plain).unwrap();
    // A folder whose only file gets nothing must not appear, empty, under --out-dir.
    std::fs::create_dir_all(uploads.join("plain-only/deeper")).unwrap();
    std::fs::copy(sample("sample.jpg"), uploads.join("plain-only/deeper/other.jpg")).unwrap();

    // No declaration: keep, suspected, nothing. Exit 1: files had nothing to add.
    let stored = dir.path().join("stored");
    let out = run(&[
        "propagate",
        "--json",
        path(&uploads),
        "--out-dir",
        path(&stored),
        "--platform",
        PLATFORM,
        "--propagate-id",
        "up-{stem}",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    if let Some(n) = assert_valid(&out) {
        assert_eq!(n, 5, "four files and the summary");
    }
    let summary: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(summary["summary"]["formats"]["png"], 2, "{summary}");
    assert_eq!(summary["summary"]["formats"]["jpeg"], 2, "{summary}");
    let lines = json_lines(&out);
    let line = |name: &str| {
        lines
            .iter()
            .find(|l| l["file"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("{name} missing"))
            .clone()
    };
    let kept = line("labelled.png");
    assert_eq!(
        (kept["decision"].as_str(), kept["class"].as_str()),
        (Some("keep"), Some("is"))
    );
    assert_eq!(kept["label"]["ProduceID"], "gen-9");
    assert_eq!(kept["label"]["PropagateID"], "up-labelled");
    let suspected = line("a1111.png");
    assert_eq!(suspected["decision"], "suspected");
    assert_eq!(suspected["class"], "suspected");
    assert_eq!(suspected["label"]["Label"], "3");
    assert_eq!(suspected["traces"][0]["kind"], "generator-text");
    let nothing = line("plain.jpg");
    assert_eq!(nothing["decision"], "nothing");
    assert_eq!(nothing["written"], false);
    assert_eq!(nothing["output"], Value::Null);
    assert!(
        !stored.join("plain.jpg").exists(),
        "nothing is written for a plain file"
    );
    assert!(
        !stored.join("plain-only").exists(),
        "no empty folder is left for files that got nothing"
    );
    assert_eq!(std::fs::read(&plain).unwrap(), plain_before);

    let report = |p: &Path| aigc_label::inspect_file(p, &aigc_label::Options::default()).unwrap();
    assert_eq!(report(&stored.join("a1111.png")).label().unwrap().value.as_str(), "3");
    assert_eq!(
        report(&stored.join("labelled.png")).label().unwrap().content_propagator,
        PLATFORM
    );

    // In place, a plain file is left byte for byte as it was.
    let out = run(&[
        "propagate",
        path(&plain),
        "--in-place",
        "--platform",
        PLATFORM,
        "--propagate-id",
        "up-1",
    ]);
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing"));
    assert_eq!(std::fs::read(&plain).unwrap(), plain_before);
    assert_eq!(
        std::fs::read_dir(&uploads).unwrap().count(),
        4,
        "three files and a folder, no temporary files left"
    );

    // Declared by the uploader: class 2, in place.
    let out = run(&[
        "propagate",
        path(&plain),
        "--in-place",
        "--declared",
        "--platform",
        PLATFORM,
        "--propagate-id",
        "up-2",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("declared  possibly"));
    let label = report(&plain).label().unwrap();
    assert_eq!(label.value.as_str(), "2");
    assert_eq!(label.content_propagator, PLATFORM);
    assert_eq!(label.propagate_id, "up-2");

    // A later platform keeps that label's class: it stays "possibly".
    let again = dir.path().join("again.jpg");
    let out = run(&[
        "propagate",
        "--json",
        path(&plain),
        "-o",
        path(&again),
        "--platform",
        PRODUCER,
        "--propagate-id",
        "re-1",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let line = &json_lines(&out)[0];
    assert_eq!(
        (line["decision"].as_str(), line["class"].as_str()),
        (Some("keep"), Some("possibly"))
    );
    let label = report(&again).label().unwrap();
    assert_eq!((label.value.as_str(), label.produce_id.as_str()), ("2", "up-2"));
    assert_eq!(
        (label.content_propagator.as_str(), label.propagate_id.as_str()),
        (PRODUCER, "re-1")
    );
}

#[test]
fn propagate_refuses_a_label_it_cannot_read_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // A tEXt chunk AIGC whose text is not a label, before IEND.
    let mut png = std::fs::read(sample("sample.png")).unwrap();
    let (iend, _, _) = *png_chunks(&png).last().unwrap();
    let data = b"AIGC\0not a label";
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(b"tEXt");
    chunk.extend_from_slice(data);
    chunk.extend_from_slice(&[0; 4]);
    png.splice(iend..iend, chunk);
    fix_png_crcs(&mut png);
    let broken = dir.path().join("broken.png");
    std::fs::write(&broken, &png).unwrap();
    let out_file = dir.path().join("out.png");

    let out = run(&[
        "propagate",
        "--json",
        path(&broken),
        "-o",
        path(&out_file),
        "--platform",
        PLATFORM,
        "--propagate-id",
        "up-1",
    ]);
    assert_eq!(code(&out), 2, "{}", String::from_utf8_lossy(&out.stdout));
    assert_valid(&out);
    let line = &json_lines(&out)[0];
    assert_eq!(line["decision"], "refused");
    assert_eq!(line["written"], false);
    assert!(!out_file.exists());
    assert_eq!(std::fs::read(&broken).unwrap(), png);
}

#[test]
fn signed_batch_embed_and_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (key, line) = keygen(dir.path(), "producer", "sm2", PRODUCER, None);
    let trust = trust_list(dir.path(), "trust.txt", &[&line]);
    let tree = dir.path().join("in");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::copy(sample("sample.png"), tree.join("a.png")).unwrap();
    std::fs::copy(sample("sample.jpg"), tree.join("sub/b.jpg")).unwrap();
    let out_dir = dir.path().join("out");
    let out = run(&[
        "embed",
        "--json",
        path(&tree),
        "-o",
        path(&out_dir),
        "--producer",
        PRODUCER,
        "--produce-id",
        "batch-{num}",
        "--sign-key",
        path(&key),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_valid(&out);
    let id = |p: &Path| {
        let report = aigc_label::inspect_file(p, &aigc_label::Options::default()).unwrap();
        report.label().unwrap().produce_id
    };
    assert_eq!(
        [id(&out_dir.join("a.png")), id(&out_dir.join("sub/b.jpg"))],
        ["batch-1", "batch-2"],
        "walks are sorted by name, {{num}} counts inputs"
    );

    let out = run(&["inspect", "--json", "--trust", path(&trust), path(&out_dir)]);
    assert_eq!(code(&out), 0);
    assert_valid(&out);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["trust"] == "trusted"), "{lines:?}");
    let summary: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(summary["summary"]["trust"]["trusted"], 2);

    let missing = dir.path().join("missing.pem");
    let sign = |key: &Path| {
        run(&[
            "embed",
            path(&sample("sample.png")),
            "-o",
            path(&dir.path().join("x.png")),
            "--producer",
            PRODUCER,
            "--produce-id",
            "x",
            "--sign-key",
            path(key),
        ])
    };
    assert_eq!(code(&sign(&missing)), 64, "a missing key file");
    assert_eq!(code(&sign(&trust)), 64, "a file that holds no key");
    // --reserved-code1 and --sign-key both write ReservedCode1.
    let out = run(&[
        "embed",
        path(&sample("sample.png")),
        "-o",
        path(&dir.path().join("x.png")),
        "--producer",
        PRODUCER,
        "--produce-id",
        "x",
        "--sign-key",
        path(&key),
        "--reserved-code1",
        "abc",
    ]);
    assert_eq!(code(&out), 64);
    // propagate needs exactly one target; several files need a placeholder.
    let propagate = |extra: &[&str]| {
        let mut args = vec!["propagate", path(&tree), "--platform", PLATFORM, "--propagate-id"];
        args.extend(extra);
        code(&run(&args))
    };
    assert_eq!(propagate(&["id-{n}"]), 64, "no target");
    assert_eq!(propagate(&["fixed", "--in-place"]), 64, "one id for several files");
    assert_eq!(
        propagate(&["id-{n}", "--in-place", "--out-dir", "x"]),
        64,
        "two targets"
    );
    assert_eq!(
        propagate(&["id-{n}", "-o", "x.png"]),
        64,
        "one output file for several files"
    );
}

#[test]
fn keygen_writes_owner_only_keys_and_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    for alg in ["sm2", "ed25519"] {
        let key = dir.path().join(format!("{alg}.pem"));
        let public = dir.path().join(format!("{alg}.pub.pem"));
        let out = run(&["keygen", "--alg", alg, "-o", path(&key), "--public", path(&public)]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let line = String::from_utf8(out.stdout).unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words.len(), 2, "without --provider: ALG:HEX KEYID: {line}");
        assert!(words[0].starts_with(&format!("{alg}:")));
        assert_eq!(words[1].len(), 16);
        let text = std::fs::read_to_string(&key).unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"), "{text}");
        assert!(
            std::fs::read_to_string(&public)
                .unwrap()
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(
                mode(&key),
                0o600,
                "{alg}: the private key is readable by its owner only"
            );
            assert_eq!(mode(&public) & 0o600, 0o600);
        }

        // Refused without --force, and the key stays as it was.
        let out = run(&["keygen", "--alg", alg, "-o", path(&key)]);
        assert_eq!(code(&out), 64);
        assert!(stderr(&out).contains("--force"));
        assert_eq!(std::fs::read_to_string(&key).unwrap(), text);
        let out = run(&[
            "keygen",
            "--alg",
            alg,
            "-o",
            path(&dir.path().join("new.pem")),
            "--public",
            path(&public),
        ]);
        assert_eq!(code(&out), 64, "an existing public key file is refused too");
        assert!(!dir.path().join("new.pem").exists(), "and nothing is written");

        let out = run(&["keygen", "--alg", alg, "-o", path(&key), "--force", "--key-id", "k-2"]);
        assert_eq!(code(&out), 0);
        let again = std::fs::read_to_string(&key).unwrap();
        assert_ne!(again, text);
        assert!(again.starts_with("Key-ID: k-2\n-----BEGIN PRIVATE KEY-----"), "{again}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
    let out = run(&[
        "keygen",
        "--alg",
        "sm2",
        "-o",
        path(&dir.path().join("bad.pem")),
        "--key-id",
        "a b",
    ]);
    assert_eq!(code(&out), 64);
    assert_eq!(code(&run(&["keygen", "--alg", "rsa", "-o", "x.pem"])), 64);
}

#[test]
fn openssl_reads_the_key_files() {
    let Some(openssl) = aigc_label_testutil::tool("openssl") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for alg in ["sm2", "ed25519"] {
        let key = dir.path().join(format!("{alg}.pem"));
        let public = dir.path().join(format!("{alg}.pub"));
        let out = run(&[
            "keygen",
            "--alg",
            alg,
            "--key-id",
            "named",
            "-o",
            path(&key),
            "--public",
            path(&public),
        ]);
        assert_eq!(code(&out), 0);
        // The Key-ID line is explanatory text OpenSSL skips; the public halves agree.
        let derived = aigc_label_testutil::run(
            &openssl,
            &["pkey".as_ref(), "-in".as_ref(), key.as_os_str(), "-pubout".as_ref()],
        );
        assert_eq!(
            String::from_utf8(derived).unwrap(),
            std::fs::read_to_string(&public).unwrap(),
            "{alg}"
        );
    }
}
