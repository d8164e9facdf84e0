//! `--no-sync` (issue 16): the same bytes as a synced write, without a single sync system call;
//! the default makes the syncs crash safety needs, and no more (two `fdatasync` for an update
//! in place; the temporary file and its folder for a rewrite). strace counts the calls, and
//! also the reads a small file costs (issue 16, part 3: read once).

mod common;

use std::path::Path;
use std::process::Command;

use common::{PLATFORM, PRODUCER, bin, code};

/// The system calls that make data durable.
const SYNCS: &str = "trace=fsync,fdatasync,sync,syncfs,sync_file_range,msync";

/// Runs the command with `args` under strace and returns how many sync calls it made; `None`
/// (a skip) without strace or where this process may not trace (a container without ptrace).
fn syncs<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S]) -> Option<usize> {
    calls(SYNCS, None, args, "sync")
}

/// Runs the command with `args` under strace, tracing `trace` (only on `path` when given), and
/// returns how many lines of the log contain `name`; `None` as for [`syncs`].
fn calls<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(
    trace: &str,
    path: Option<&Path>,
    args: &[S],
    name: &str,
) -> Option<usize> {
    let strace = aigc_label_testutil::tool("strace")?;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("strace.log");
    let mut command = Command::new(strace);
    command.args(["-f", "-qq", "-e", trace]);
    if let Some(path) = path {
        command.arg("-P").arg(path);
    }
    let out = command
        .arg("-o")
        .arg(&log)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_aigc-label"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("ptrace") || !log.exists() {
        aigc_label_testutil::skip("strace", &format!("cannot trace here: {stderr}"));
        return None;
    }
    assert!(out.status.success(), "{args:?}: {stderr}");
    let text = std::fs::read_to_string(&log).unwrap();
    Some(text.lines().filter(|l| l.contains(name)).count())
}

fn fixture(path: &str) -> std::path::PathBuf {
    aigc_label_testutil::workspace_root().join("tests/fixtures").join(path)
}

/// Labels `from` into `to` (our first write, which leaves room for updates in place).
fn first_write(from: &Path, to: &Path) {
    let out = bin()
        .args(["embed", "-q", "--producer", PRODUCER, "--produce-id", "clip-1"])
        .arg(from)
        .arg("-o")
        .arg(to)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
}

/// The arguments of `propagate --in-place` on `file` with PropagateID `id`.
fn propagate_args(file: &Path, id: &str, no_sync: bool) -> Vec<String> {
    let mut args: Vec<String> = [
        "propagate",
        "-q",
        "--json",
        "--in-place",
        "--platform",
        PLATFORM,
        "--propagate-id",
        id,
    ]
    .map(String::from)
    .into();
    if no_sync {
        args.push("--no-sync".into());
    }
    args.push(file.to_str().unwrap().into());
    args
}

/// Runs `args` (a propagation in place) and checks it updated the file in place.
fn propagate(args: &[String]) {
    let out = bin().args(args).output().unwrap();
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let first = out.stdout.split(|&b| b == b'\n').next().unwrap();
    let line: serde_json::Value = serde_json::from_slice(first).unwrap();
    assert_eq!(line["write"], "in-place", "{line}");
}

#[test]
fn propagation_in_place_without_sync_writes_the_same_bytes_and_no_sync_call() {
    for (name, ext, steps) in [
        ("video/mp4_faststart.mp4", "mp4", 2),
        ("audio/ffmpeg.flac", "flac", 2),
        ("audio/pcm16_mono.wav", "wav", 2),
        ("audio/id3v24.mp3", "mp3", 4),
        ("video/mkv_plain.mkv", "mkv", 2),
        ("tiff/bigtiff.tif", "tif", 2),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (synced, unsynced) = (dir.path().join(format!("a.{ext}")), dir.path().join(format!("b.{ext}")));
        first_write(&fixture(name), &synced);
        std::fs::copy(&synced, &unsynced).unwrap();
        propagate(&propagate_args(&unsynced, "upload-1", true));
        propagate(&propagate_args(&synced, "upload-1", false));
        assert!(
            std::fs::read(&synced).unwrap() == std::fs::read(&unsynced).unwrap(),
            "{name}: the same bytes either way"
        );
        // Further updates, counted: no sync call without sync; with it, one after each step
        // but the last (which only zeroes bytes no reader reaches).
        let Some(none) = syncs(&propagate_args(&unsynced, "upload-2", true)) else {
            return;
        };
        assert_eq!(none, 0, "{name}: --no-sync made sync calls");
        let some = syncs(&propagate_args(&unsynced, "upload-3", false)).unwrap();
        assert_eq!(some, steps, "{name}: fdatasync after each step but the scrub");
    }
}

#[test]
fn a_rewrite_without_sync_writes_the_same_file_and_no_sync_call() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("video/mp4_faststart.mp4");
    let (synced, unsynced) = (dir.path().join("a.mp4"), dir.path().join("b.mp4"));
    let embed = |out: &Path, extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = ["embed", "-q", "--producer", PRODUCER, "--produce-id", "clip-1"]
            .map(String::from)
            .into();
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend([
            input.to_str().unwrap().to_string(),
            "-o".into(),
            out.to_str().unwrap().into(),
        ]);
        args
    };
    let args = embed(&unsynced, &["--no-sync"]);
    let counted = syncs(&args);
    if counted.is_none() {
        assert_eq!(code(&bin().args(&args).output().unwrap()), 0);
    }
    let with = embed(&synced, &[]);
    let counted_with = syncs(&with);
    if counted_with.is_none() {
        assert_eq!(code(&bin().args(&with).output().unwrap()), 0);
    }
    assert!(std::fs::read(&synced).unwrap() == std::fs::read(&unsynced).unwrap());
    if let (Some(none), Some(some)) = (counted, counted_with) {
        assert_eq!(none, 0, "--no-sync made sync calls");
        assert_eq!(some, 2, "the temporary file, then its folder after the rename");
    }
}

#[test]
fn a_small_file_labelled_in_place_is_read_in_a_few_calls() {
    // A JPEG's label walk reads a few bytes per segment; served from the file, that was about
    // sixty read calls for this one (twice over: the check, then the update). Held in memory,
    // it is one read of the file and one finding its end; for a first label the rewrite after
    // the in-place attempt goes on from the bytes the attempt read (issue 16: read once).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("photo.jpg");
    std::fs::copy(fixture("jpeg/baseline.jpg"), &file).unwrap();
    let embed = |id: &str| -> Vec<String> {
        ["embed", "-q", "--in-place", "--producer", PRODUCER, "--produce-id", id]
            .map(String::from)
            .into_iter()
            .chain([file.to_str().unwrap().to_string()])
            .collect()
    };
    const READS: &str = "trace=read,pread64,readv,preadv";
    // The first label: no room yet, so the in-place attempt gives way to the rewrite.
    let Some(first) = calls(READS, Some(&file), &embed("photo-1"), "read") else {
        return;
    };
    assert!(first <= 2, "first label: {first} read calls on the file");
    // The update: in place, into the room the first write left.
    let update = calls(READS, Some(&file), &embed("photo-2"), "read").unwrap();
    assert!(update <= 3, "update in place: {update} read calls on the file");
    let out = bin().args(["inspect", "-q"]).arg(&file).output().unwrap();
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
}
