//! What a new user meets in the first hour (issue 18), and the identity of files written in
//! place (issue 12): messages, exit statuses and output columns.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{PLATFORM, PRODUCER, assert_valid, code, json_lines, run, sample};

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `embed INPUT ARGS... --producer P --produce-id ID`.
fn embed(input: &Path, args: &[&str], id: &str) -> Output {
    let mut all = vec!["embed", path(input)];
    all.extend(args);
    all.extend(["--producer", PRODUCER, "--produce-id", id]);
    run(&all)
}

/// A folder with a copy of `sample.png` as `in.png`.
fn workdir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    std::fs::copy(sample("sample.png"), &input).unwrap();
    (dir, input)
}

/// The ProduceID of the single label in `file`.
fn produce_id(file: &Path) -> String {
    let report = aigc_label::inspect_file(file, &aigc_label::Options::default()).unwrap();
    report.label().unwrap().produce_id
}

#[test]
fn a_missing_key_file_is_named() {
    let (dir, input) = workdir();
    let key = dir.path().join("platform.pem");
    let out = run(&[
        "propagate",
        path(&input),
        "-o",
        path(&dir.path().join("stored.png")),
        "--platform",
        PLATFORM,
        "--propagate-id",
        "up-1",
        "--sign-key",
        path(&key),
    ]);
    assert_eq!(code(&out), 64);
    let err = stderr(&out);
    assert!(err.contains("--sign-key") && err.contains("platform.pem"), "{err}");
    assert!(err.contains("No such file"), "{err}");
}

#[test]
fn one_rule_for_dash_o() {
    let (dir, input) = workdir();
    // A name ending with / is a folder, made when missing; the output keeps the input's name.
    let folder = format!("{}/", dir.path().join("newdir").display());
    let out = embed(&input, &["-o", &folder], "o-1");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(produce_id(&dir.path().join("newdir/in.png")), "o-1");
    // Missing folders above an output file are made too.
    let deep = dir.path().join("nodir/deeper/x.png");
    let out = embed(&input, &["-o", path(&deep)], "o-2");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(produce_id(&deep), "o-2");
    // When the output cannot be made, the message names the output, not the input.
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, b"a file where a folder should be").unwrap();
    let out = embed(&input, &["-o", path(&blocker.join("x.png"))], "o-3");
    assert_eq!(code(&out), 3);
    let err = stderr(&out);
    assert!(err.contains(&format!("{}: I/O error", blocker.display())), "{err}");
    // Several inputs: -o must be a folder.
    let other = dir.path().join("other.jpg");
    std::fs::copy(sample("sample.jpg"), &other).unwrap();
    let existing = dir.path().join("nodir/deeper/x.png");
    let out = run(&[
        "embed",
        path(&input),
        path(&other),
        "-o",
        path(&existing),
        "--producer",
        PRODUCER,
        "--produce-id",
        "m-{num}",
    ]);
    assert_eq!(code(&out), 64);
    assert!(
        stderr(&out).contains("with several inputs, -o names a folder"),
        "{}",
        stderr(&out)
    );
    // Neither -o nor --in-place: the message names both.
    let out = run(&["embed", path(&input), "--producer", PRODUCER, "--produce-id", "x"]);
    assert_eq!(code(&out), 64);
    assert!(
        stderr(&out).contains("-o OUT") && stderr(&out).contains("--in-place"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn embed_refuses_to_lose_a_file_or_a_signature_without_force() {
    let (dir, input) = workdir();
    let output = dir.path().join("out.png");
    std::fs::write(&output, b"precious").unwrap();
    let out = embed(&input, &["-o", path(&output)], "f-1");
    assert_eq!(code(&out), 64);
    assert!(stderr(&out).contains("exists; pass --force"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&output).unwrap(), b"precious");
    let out = embed(&input, &["-o", path(&output), "--force"], "f-1");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(produce_id(&output), "f-1");

    // A signed label, re-embedded by its producer without a key.
    let key = dir.path().join("gen.pem");
    assert_eq!(code(&run(&["keygen", "--alg", "ed25519", "-o", path(&key)])), 0);
    let signed = dir.path().join("signed.png");
    let out = embed(&input, &["-o", path(&signed), "--sign-key", path(&key)], "s-1");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = embed(&signed, &["--in-place"], "s-2");
    assert_eq!(code(&out), 64);
    assert!(stderr(&out).contains("drop the signature"), "{}", stderr(&out));
    assert_eq!(produce_id(&signed), "s-1", "the file is left as it was");
    let out = embed(&signed, &["--in-place", "--force"], "s-2");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(produce_id(&signed), "s-2");
    // In place is not "an existing output".
    let out = embed(&input, &["--in-place"], "p-1");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn embed_prints_where_each_file_went_and_counts_formats() {
    let (dir, input) = workdir();
    let md = dir.path().join("note.md");
    std::fs::copy(sample("sample.md"), &md).unwrap();
    let out_dir = dir.path().join("out");
    let out = run(&[
        "embed",
        path(&input),
        path(&md),
        "-o",
        path(&out_dir),
        "--producer",
        PRODUCER,
        "--produce-id",
        "e-{stem}",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let png_row = format!(
        "labelled  png      {} -> {} (",
        input.display(),
        out_dir.join("in.png").display()
    );
    assert!(text.contains(&png_row), "{text}");
    let md_row = format!(
        "labelled  markdown {} -> {} (",
        md.display(),
        out_dir.join("note.md").display()
    );
    assert!(text.contains(&md_row), "{text}");
    assert!(text.contains("-- formats: markdown 1, png 1"), "{text}");

    let out = run(&[
        "embed",
        "--json",
        path(&input),
        path(&md),
        "-o",
        path(&out_dir),
        "--force",
        "--producer",
        PRODUCER,
        "--produce-id",
        "e-{stem}",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_valid(&out);
    let lines = json_lines(&out);
    let png = lines.iter().find(|l| l["file"] == path(&input)).unwrap();
    assert_eq!(png["output"], path(&out_dir.join("in.png")));
    assert_eq!(png["format"], "png");
    let summary: serde_json::Value = serde_json::from_str(stdout(&out).lines().last().unwrap()).unwrap();
    assert_eq!(summary["summary"]["formats"]["png"], 1);
    assert_eq!(summary["summary"]["formats"]["markdown"], 1);
}

#[test]
fn columns_line_up_for_long_format_names() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["sample.md", "sample.mkv", "sample.png"] {
        std::fs::copy(sample(name), dir.path().join(name)).unwrap();
    }
    let out = run(&["inspect", path(dir.path())]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    let rows: Vec<&str> = text.lines().filter(|l| !l.starts_with("--")).collect();
    assert_eq!(rows.len(), 3, "{text}");
    let starts: Vec<usize> = rows.iter().map(|r| r.find(path(dir.path())).unwrap()).collect();
    assert!(
        starts.iter().all(|s| *s == starts[0]),
        "paths start in one column:\n{text}"
    );
    assert!(text.contains(" markdown "), "{text}");
    assert!(text.contains(" matroska "), "{text}");
}

#[test]
fn a_lenient_label_says_how_many_warnings() {
    let (dir, input) = workdir();
    let output = dir.path().join("doubao.png");
    let out = run(&[
        "embed",
        path(&input),
        "-o",
        path(&output),
        "--lenient",
        "--producer",
        "doubao",
        "--produce-id",
        "d-1",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(&["inspect", path(&output)]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    let row = text.lines().next().unwrap();
    assert!(row.starts_with("compliant "), "{text}");
    assert!(row.contains(" warning") && row.contains("-v lists them"), "{text}");
    // -v lists them, each a [warn] line.
    let out = run(&["inspect", "-v", path(&output)]);
    assert!(stdout(&out).contains("[warn]"), "{}", stdout(&out));
    // A strict label has none.
    let strict = dir.path().join("strict.png");
    assert_eq!(code(&embed(&input, &["-o", path(&strict)], "s-1")), 0);
    assert!(!stdout(&run(&["inspect", path(&strict)])).contains("warning"));
}

#[test]
fn walks_skip_what_is_plainly_not_media_and_count_it() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("uploads");
    std::fs::create_dir_all(tree.join(".git")).unwrap();
    std::fs::copy(sample("sample.png"), tree.join("a.png")).unwrap();
    std::fs::copy(sample("sample.jpg"), tree.join("photo")).unwrap(); // no extension: by bytes
    std::fs::copy(sample("sample.png"), tree.join(".git/hidden.png")).unwrap();
    std::fs::write(tree.join(".DS_Store"), b"\0\0\0\x01Bud1").unwrap();
    std::fs::write(tree.join("notes.txt"), b"not media").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(tree.join("a.png"), tree.join("link.png")).unwrap();

    let out = run(&["inspect", path(&tree)]);
    assert_eq!(
        code(&out),
        1,
        "two unlabelled files, nothing unreadable: {}",
        stdout(&out)
    );
    let text = stdout(&out);
    assert!(text.contains("a.png") && text.contains("photo"), "{text}");
    assert!(!text.contains("notes.txt") && !text.contains("DS_Store"), "{text}");
    let expected = if cfg!(unix) {
        "-- skipped 4: hidden 2, symlink 1, unsupported 1 (--show-skipped lists them)"
    } else {
        "-- skipped 3: hidden 2, unsupported 1 (--show-skipped lists them)"
    };
    assert!(text.contains(expected), "{text}");

    let out = run(&["inspect", "--json", "--show-skipped", path(&tree)]);
    assert_valid(&out);
    let summary: serde_json::Value = serde_json::from_str(stdout(&out).lines().last().unwrap()).unwrap();
    assert_eq!(summary["summary"]["skipped"]["unsupported"], 1);
    assert_eq!(summary["summary"]["skipped"]["hidden"], 2);
    let err = stderr(&out);
    assert!(err.contains("notes.txt: not a supported format"), "{err}");
    assert!(err.contains(".DS_Store: hidden"), "{err}");

    // --hidden takes hidden entries (the .DS_Store is then unsupported, hidden.png is read).
    let out = run(&["inspect", "--hidden", path(&tree)]);
    assert!(stdout(&out).contains("hidden.png"), "{}", stdout(&out));

    // Format names take their extensions as aliases; excluding an unknown extension is fine.
    let out = run(&["inspect", "--format", "jpg,png", path(&tree)]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stdout(&out).contains("a.png"), "{}", stdout(&out));
    let out = run(&["inspect", "--exclude-format", "txt,jpg", path(&tree)]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let out = run(&["inspect", "--format", "bogus", path(&tree)]);
    assert_eq!(code(&out), 64);
    assert!(stderr(&out).contains("unknown format"), "{}", stderr(&out));
}

#[test]
fn errors_from_a_file_name_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.png");
    let out = run(&["inspect", path(&missing)]);
    assert_eq!(code(&out), 3);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("{}: unreadable: I/O error", missing.display())),
        "{text}"
    );
    let out = run(&["inspect", "--json", path(&missing)]);
    let lines = json_lines(&out);
    assert!(
        lines[0]["error"].as_str().unwrap().contains("No such file"),
        "{lines:?}"
    );

    // The library names it too.
    let e = aigc_label::inspect_file(&missing, &aigc_label::Options::default()).unwrap_err();
    assert_eq!(e.path(), Some(missing.as_path()));
    assert!(
        e.to_string().starts_with(&format!("{}: I/O error", missing.display())),
        "{e}"
    );
    assert!(matches!(e.without_path(), aigc_label::Error::Io(_)));
}

#[test]
fn an_output_folder_inside_the_input_folder_is_never_walked() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("uploads");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::copy(sample("sample.png"), tree.join("a.png")).unwrap();
    std::fs::copy(sample("sample.jpg"), tree.join("sub/b.jpg")).unwrap();
    let out_dir = format!("{}/", tree.join("out").display());
    for (n, extra) in [[].as_slice(), ["--force"].as_slice()].into_iter().enumerate() {
        let mut args = vec!["embed", path(&tree), "-o", &out_dir];
        args.extend(extra);
        args.extend(["--producer", PRODUCER, "--produce-id", "n-{path}"]);
        let out = run(&args);
        assert_eq!(code(&out), 0, "run {n}: {}", stderr(&out));
        assert_eq!(
            stdout(&out).lines().filter(|l| l.starts_with("labelled")).count(),
            2,
            "run {n}"
        );
    }
    assert!(!tree.join("out/out").exists(), "the output folder was walked");
    assert_eq!(produce_id(&tree.join("out/sub/b.jpg")), "n-sub/b.jpg");

    // The same for propagate --out-dir.
    let out = run(&[
        "propagate",
        path(&tree),
        "--out-dir",
        path(&tree.join("stored")),
        "--declared",
        "--platform",
        PLATFORM,
        "--propagate-id",
        "up-{num}",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(&[
        "propagate",
        path(&tree),
        "--out-dir",
        path(&tree.join("stored")),
        "--declared",
        "--platform",
        PLATFORM,
        "--propagate-id",
        "up-{num}",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!tree.join("stored/stored").exists());
}

#[cfg(unix)]
#[test]
fn a_symlink_named_on_the_command_line_is_written_through() {
    let (dir, input) = workdir();
    let link = dir.path().join("link.png");
    std::os::unix::fs::symlink("in.png", &link).unwrap();
    let out = embed(&link, &["--in-place"], "l-1");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(),
        "the link stays a link"
    );
    assert_eq!(produce_id(&input), "l-1", "its target is labelled");
    let text = stdout(&out);
    assert!(text.contains("note: written through the symlink to"), "{text}");
    // A link to nothing is refused, and named.
    let dangling = dir.path().join("dangling.png");
    std::os::unix::fs::symlink("nowhere.png", &dangling).unwrap();
    let out = embed(&input, &["-o", path(&dangling), "--force"], "l-2");
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("dangling.png"), "{}", stderr(&out));
    assert!(!dir.path().join("nowhere.png").exists());
}

/// True when the tests run as root (as in CI); otherwise says why a test is skipped.
#[cfg(unix)]
fn as_root(test: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe");
    std::fs::write(&probe, b"").unwrap();
    let root = std::fs::metadata(&probe).unwrap().uid() == 0;
    if !root {
        aigc_label_testutil::skip(
            "root",
            &format!("{test} gives files to other users; CI runs it as root"),
        );
    }
    root
}

#[cfg(unix)]
#[test]
fn in_place_keeps_owner_group_and_mode() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if !as_root("in_place_keeps_owner_group_and_mode") {
        return;
    }
    let (_dir, input) = workdir();
    std::os::unix::fs::chown(&input, Some(4321), Some(4322)).unwrap();
    std::fs::set_permissions(&input, std::fs::Permissions::from_mode(0o6751)).unwrap();
    let out = embed(&input, &["--in-place"], "r-1");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stdout(&out).contains("note:"), "{}", stdout(&out));
    let meta = std::fs::metadata(&input).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (4321, 4322));
    assert_eq!(meta.permissions().mode() & 0o7777, 0o6751);
    assert_eq!(produce_id(&input), "r-1");
}

#[cfg(unix)]
#[test]
fn set_id_bits_are_cleared_when_the_owner_cannot_be_kept() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if !as_root("set_id_bits_are_cleared_when_the_owner_cannot_be_kept") {
        return;
    }
    let Some(setpriv) = aigc_label_testutil::tool("setpriv") else {
        return;
    };
    // A folder anyone may write to, holding a setuid file of user 4321; user 65534 (nobody)
    // replaces it in place and cannot give the new file to 4321.
    let (dir, input) = workdir();
    // chown first: it clears set-id bits.
    std::os::unix::fs::chown(&input, Some(4321), Some(4322)).unwrap();
    for p in [dir.path(), input.as_path()] {
        let mode = if p.is_dir() { 0o777 } else { 0o6755 };
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let out = std::process::Command::new(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_aigc-label"))
        .args([
            "embed",
            "--in-place",
            path(&input),
            "--producer",
            PRODUCER,
            "--produce-id",
            "n-1",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let meta = std::fs::metadata(&input).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
    assert_eq!(
        meta.permissions().mode() & 0o7777,
        0o755,
        "set-id bits cleared, the rest kept"
    );
    let text = stdout(&out);
    assert!(text.contains("note: owner 4321:4322 could not be kept"), "{text}");
    assert!(
        text.contains("note: set-user-id/set-group-id bits cleared (mode 6755 -> 755)"),
        "{text}"
    );
}
