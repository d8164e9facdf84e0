//! Test helpers shared by every aigc-label crate (not published).
//!
//! - [`fixture`] and [`fixtures`]: files under the workspace's `tests/fixtures/`.
//! - [`tool`]: a third-party witness (exiftool, ffprobe, ...). Locally a missing tool skips the
//!   test with a message; under `CI=true` it fails the test, so CI never passes by skipping.
//! - [`round_trip`]: the one harness every carrier goes through: embed, verify, embed again,
//!   and check that exactly one label remains.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use aigc_label_core::inspect::{Options, Verdict, inspect_with};
use aigc_label_core::{Carrier, Label, embed};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors().nth(2).unwrap_or(here).to_path_buf()
}

/// Path of `tests/fixtures/<rel>`.
pub fn fixture(rel: &str) -> PathBuf {
    workspace_root().join("tests/fixtures").join(rel)
}

/// Every file in `tests/fixtures/<dir>` whose extension is one of `exts` (lowercase), sorted.
/// Panics when there are none, so a test never passes on an empty set.
pub fn fixtures(dir: &str, exts: &[&str]) -> Vec<PathBuf> {
    let root = fixture(dir);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no {exts:?} fixtures in {}", root.display());
    out
}

/// True when running under CI (`CI=true`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The path of a third-party tool, or `None` (with a message on stderr) when it is not
/// installed and we are not in CI.
///
/// # Panics
/// When the tool is missing under `CI=true`.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    match found {
        Some(p) => Some(p),
        None if in_ci() => panic!("{name} is required under CI=true but is not installed"),
        None => {
            eprintln!("SKIPPED: {name} is not installed; this interop test runs in CI");
            None
        }
    }
}

/// Runs `program` with `args`, asserting success; returns stdout.
pub fn run(program: &Path, args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {:?} failed: {}",
        program.display(),
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The value of `XMP-TC260:AIGC` as exiftool reads it (with the committed namespace config),
/// or `None` when exiftool is missing outside CI. An empty string means exiftool found no tag.
pub fn exiftool_aigc(path: &Path) -> Option<String> {
    let exiftool = tool("exiftool")?;
    let config = workspace_root().join("tests/exiftool/tc260.config");
    let out = run(
        &exiftool,
        &[
            "-config".as_ref(),
            config.as_os_str(),
            "-XMP-TC260:AIGC".as_ref(),
            "-b".as_ref(),
            path.as_os_str(),
        ],
    );
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// A label with a well-formed provider code.
pub fn sample_label() -> Label {
    Label::new("001191440300708461136T1XGW3", "test-0001")
}

/// The shared carrier harness. Embeds [`sample_label`] into `input`, checks that inspection of
/// the output finds exactly that label as compliant, embeds again with a new id (the producer
/// replacing its own label), and checks that exactly one copy, the new one, remains. Returns the
/// first output.
pub fn round_trip(carrier: &dyn Carrier, input: &[u8]) -> Vec<u8> {
    let options = Options::default();
    let label = sample_label();
    let mut out = Vec::new();
    let written = embed::embed_with(carrier, &mut Cursor::new(input), &mut out, &label, &options)
        .unwrap_or_else(|e| panic!("{}: embed failed: {e}", carrier.format()));
    assert_eq!(
        written.bytes_written,
        out.len() as u64,
        "bytes_written must match the output"
    );
    embed::verify(carrier, &mut Cursor::new(&out), &label, &options)
        .unwrap_or_else(|e| panic!("{}: verify failed: {e}", carrier.format()));
    let report = inspect_with(carrier, &mut Cursor::new(&out), &options).expect("inspect");
    assert_eq!(report.verdict, Verdict::Compliant, "{:#?}", report.copies);

    let second = Label::new(label.content_producer.clone(), "test-0002");
    let mut again = Vec::new();
    embed::embed_with(carrier, &mut Cursor::new(&out), &mut again, &second, &options)
        .unwrap_or_else(|e| panic!("{}: second embed failed: {e}", carrier.format()));
    let report = inspect_with(carrier, &mut Cursor::new(&again), &options).expect("inspect");
    assert_eq!(
        report.copies.len(),
        1,
        "re-embedding must leave one copy: {:#?}",
        report.copies
    );
    assert_eq!(report.label(), Some(second));
    out
}

/// The property every carrier's fuzz target checks, on arbitrary bytes: reading never panics;
/// when the input reads cleanly, writing a label either fails cleanly or yields a file in which
/// exactly that label is found, once.
pub fn fuzz_carrier(carrier: &dyn Carrier, data: &[u8]) {
    let options = Options::default();
    let limits = &options.limits;
    if carrier.find(&mut Cursor::new(data), limits).is_err() {
        return;
    }
    let label = sample_label();
    let mut out = Vec::new();
    if carrier.write(&mut Cursor::new(data), &mut out, &label, limits).is_err() {
        return;
    }
    let found = carrier
        .find(&mut Cursor::new(&out), limits)
        .expect("our own output must read back");
    assert_eq!(found.len(), 1, "exactly one label after writing, found {found:#?}");
    let parsed = aigc_label_core::json::parse(&found[0].text, limits.max_depth).expect("our label is JSON");
    assert_eq!(parsed.to_label(), Some(label));
}

/// Runs `f` over every file in `fuzz/corpus/<target>/` (and `fuzz/artifacts/<target>/` when
/// present), so the fuzz corpus is replayed by ordinary tests on stable Rust. Returns how many
/// inputs ran; panics when there were none.
pub fn replay_corpus(target: &str, f: impl Fn(&[u8])) -> usize {
    let mut count = 0;
    for dir in ["fuzz/corpus", "fuzz/artifacts"] {
        let Ok(entries) = std::fs::read_dir(workspace_root().join(dir).join(target)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        for path in paths {
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            f(&data);
            count += 1;
        }
    }
    assert!(count > 0, "no corpus for fuzz target {target}");
    count
}
