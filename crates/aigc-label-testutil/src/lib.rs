//! Test helpers shared by every aigc-label crate (not published).
//!
//! - [`fixture`] and [`fixtures`]: files under the workspace's `tests/fixtures/`.
//! - [`tool`]: a third-party witness (exiftool, ffprobe, ...). Locally a missing tool skips the
//!   test with a message; under `CI=true` it fails the test, so CI never passes by skipping.
//! - [`round_trip`]: the one harness every carrier goes through: embed, verify, embed again,
//!   and check that exactly one label remains.
//! - [`in_place`]: the recorder, torn-write replay and fuzz property of the in-place updates; [`media`]:
//!   ffmpeg/ffprobe probes (decoded MD5s, frame MD5s, tags) the stamp and in-place tests share.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod in_place;
pub mod media;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use aigc_label_core::inspect::{Options, Verdict, inspect_with};
use aigc_label_core::io::SeekBuf;
use aigc_label_core::plan::{Output, Plain, Plan, PlanBuilder, Sink, VecSink};
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

/// Where [`skip`] records skipped witnesses: `skipped-witnesses.txt` in the target folder.
/// `tests/test.sh` empties it before the run and summarises it after.
pub fn skip_log() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("skipped-witnesses.txt")
}

/// Reports that the running test skips its check because `witness` (a tool, a module, root)
/// is missing: prints `SKIPPED: witness: why` on stderr (which the test harness hides for
/// passing tests) and appends `witness<TAB>test` to [`skip_log`], so `tests/test.sh` can print
/// a one-line summary at the end of the run.
pub fn skip(witness: &str, why: &str) {
    use std::io::Write as _;
    eprintln!("SKIPPED: {witness}: {why}");
    let test = std::thread::current().name().unwrap_or("?").to_string();
    let line = format!("{witness}\t{test}\n");
    // One short append per skip: concurrent tests never interleave within a line.
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(skip_log())
        .and_then(|mut f| f.write_all(line.as_bytes()));
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
            skip(name, "not installed; this interop test runs in CI");
            None
        }
    }
}

/// The path of a `python3` that can import `module`, or `None` (with a message on stderr) when
/// there is none and we are not in CI; `.ci/run` installs the modules the tests use with pip.
///
/// # Panics
/// When python3 or the module is missing under `CI=true`.
pub fn python_with(module: &str) -> Option<PathBuf> {
    let python = tool("python3")?;
    let ok = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    match ok {
        true => Some(python),
        false if in_ci() => panic!("python3 module {module} is required under CI=true but cannot be imported"),
        false => {
            skip(
                &format!("python3 module {module}"),
                "not installed; this interop test runs in CI",
            );
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
    plan_agrees(carrier, input, &label, &options.limits);
    let mut out = Vec::new();
    let written = embed::embed_with(carrier, &mut Cursor::new(input), &mut out, &label, &options)
        .unwrap_or_else(|e| panic!("{}: embed failed: {e}", carrier.format()));
    assert_eq!(
        written.bytes_written,
        out.len() as u64,
        "bytes_written must match the output"
    );
    embed::readback(carrier, &mut Cursor::new(&out), &label, &options)
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
/// binding exclusions are found whenever the label copies are; when the input reads cleanly,
/// writing a label either fails cleanly or yields a file in which exactly that label is found,
/// once, and which a longer or shorter label can replace without changing a covered byte.
pub fn fuzz_carrier(carrier: &dyn Carrier, data: &[u8]) {
    let options = Options::default();
    let limits = &options.limits;
    exclusions_are_sane(carrier, data, limits);
    if carrier.find(&mut Cursor::new(data), limits).is_err() {
        return;
    }
    let label = sample_label();
    let checked = checked_plan(carrier, data, &label, limits);
    let mut out = Vec::new();
    if carrier.write(&mut Cursor::new(data), &mut out, &label, limits).is_err() {
        return;
    }
    if !checked {
        holds_the_label(carrier, &out, &label, limits);
        binding_holds(carrier, &out, limits);
    }
}

/// A carrier's [`Carrier::plan`] tells what its [`Carrier::find`] and [`Carrier::write`] tell:
/// the same label copies, the same output byte for byte, and a failure exactly where the write
/// fails. The plan is also made streaming ([`PlanBuilder::streaming`]), into a sink that can be
/// cut back (so guesses are written, and cut back when wrong) and into one that cannot, through
/// a small [`SeekBuf`]: the same plan, and the same output once the rest is written. Carriers
/// that do not plan pass trivially.
///
/// Agreement alone would let a wrong plan agree with itself ([`Carrier::write`] executes the
/// same plan), so the output is also checked on its own terms, the way the fuzz property does
/// ([`holds_the_label`]): the output of a builder that never drains ([`PlanBuilder::new`], all
/// output kept until the end, so every guess is revisable and no cut back or patch refused,
/// and the carrier takes no streaming short cut since nothing can be revised) reads back as
/// exactly `label`, once, in a structure its binding exclusions leave out, and a longer or
/// shorter label written over it leaves the bytes the binding covers as they were
/// ([`binding_holds`]).
pub fn plan_agrees(carrier: &dyn Carrier, data: &[u8], label: &Label, limits: &aigc_label_core::Limits) {
    checked_plan(carrier, data, label, limits);
}

/// On a write's output: [`Carrier::find`] reads exactly one label copy, which is `label`, and
/// [`Carrier::binding_exclusions`] leave that copy out (a rewrite may change it).
pub fn holds_the_label(carrier: &dyn Carrier, out: &[u8], label: &Label, limits: &aigc_label_core::Limits) {
    let format = carrier.format();
    let found = carrier
        .find(&mut Cursor::new(out), limits)
        .unwrap_or_else(|e| panic!("{format}: our own output must read back: {e}"));
    assert_eq!(
        found.len(),
        1,
        "{format}: exactly one label after writing, found {found:#?}"
    );
    let parsed = aigc_label_core::json::parse(&found[0].text, limits.max_depth).expect("our label is JSON");
    assert_eq!(parsed.to_label().as_ref(), Some(label), "{format}: the label read back");
    let excluded = carrier
        .binding_exclusions(&mut Cursor::new(out), limits)
        .unwrap_or_else(|e| panic!("{format}: binding exclusions of our own output: {e}"));
    let copy = &found[0].range;
    assert!(
        excluded.iter().any(|r| r.start <= copy.start && copy.end <= r.end),
        "{format}: the label {copy:?} is not left out of the binding: {excluded:?}"
    );
}

/// The binding contract on a file `carrier` wrote: rewriting its label with a much longer or a
/// much shorter one leaves every covered byte as it was. A carrier may refuse the longer label
/// (no room it can make in an odd layout), not the shorter one after it.
pub fn binding_holds(carrier: &dyn Carrier, out: &[u8], limits: &aigc_label_core::Limits) {
    let before = covered_by(carrier, out);
    let mut long = sample_label().propagated("001191110108551385082Q20000", "p".repeat(3000));
    long.reserved_code2 = "r".repeat(3000);
    let mut longer = Vec::new();
    if carrier
        .write(&mut Cursor::new(out), &mut longer, &long, limits)
        .is_err()
    {
        return;
    }
    assert!(
        before == covered_by(carrier, &longer),
        "{}: a longer label changed covered bytes",
        carrier.format()
    );
    let mut shorter = Vec::new();
    carrier
        .write(&mut Cursor::new(&longer), &mut shorter, &Label::new("x", "y"), limits)
        .expect("a shorter label fits where a longer one did");
    assert!(
        before == covered_by(carrier, &shorter),
        "{}: a shorter label changed covered bytes",
        carrier.format()
    );
}

/// [`plan_agrees`]; true when the carrier planned a write, whose output was then checked with
/// [`holds_the_label`].
fn checked_plan(carrier: &dyn Carrier, data: &[u8], label: &Label, limits: &aigc_label_core::Limits) -> bool {
    let format = carrier.format();
    let planned = carrier.plan(&mut Cursor::new(data), label, limits, PlanBuilder::new(format));
    let mut out = Vec::new();
    let written = carrier.write(&mut Cursor::new(data), &mut out, label, limits);
    for rewinds in [true, false] {
        let (streamed, output) = streamed_plan(carrier, data, label, limits, rewinds);
        match (&planned, streamed) {
            (Ok(Some(plan)), Ok(Some(streamed))) => {
                assert_eq!(
                    plan.pieces(),
                    streamed.pieces(),
                    "{format}: the streamed plan differs (rewinds: {rewinds})"
                );
                assert_eq!(plan.found, streamed.found, "{format}: streamed copies differ");
                assert!(
                    output == out,
                    "{format}: the streamed output is not write's (rewinds: {rewinds})"
                );
            }
            (Ok(None), Ok(None)) | (Err(_), Err(_)) => {}
            (planned, streamed) => panic!(
                "{format}: planning gives {:?}, streaming {:?}",
                planned.as_ref().map(Option::is_some),
                streamed.map(|s| s.is_some())
            ),
        }
    }
    match planned {
        Ok(None) => false,
        Ok(Some(plan)) => {
            let found = carrier
                .find(&mut Cursor::new(data), limits)
                .unwrap_or_else(|e| panic!("{}: planned, but find fails: {e}", carrier.format()));
            assert_eq!(
                plan.found,
                found,
                "{}: the plan's copies are not find's",
                carrier.format()
            );
            let written = written.unwrap_or_else(|e| panic!("{}: planned, but write fails: {e}", carrier.format()));
            let mut executed = Vec::new();
            let reported = plan
                .write_to(&mut Cursor::new(data), &mut executed)
                .unwrap_or_else(|e| panic!("{}: executing the plan failed: {e}", carrier.format()));
            assert!(
                executed == out,
                "{}: the plan's output is not write's",
                carrier.format()
            );
            assert_eq!(reported, written, "{}", carrier.format());
            holds_the_label(carrier, &out, label, limits);
            binding_holds(carrier, &out, limits);
            true
        }
        Err(e) => {
            assert!(
                written.is_err(),
                "{}: the plan fails ({e}) where write succeeds",
                carrier.format()
            );
            false
        }
    }
}

/// Plans `data` streaming into a vector (cut back when `rewinds`, else a plain `Write`),
/// through a small [`SeekBuf`], and writes the rest: the plan, and the whole output.
fn streamed_plan(
    carrier: &dyn Carrier,
    data: &[u8],
    label: &Label,
    limits: &aigc_label_core::Limits,
    rewinds: bool,
) -> (aigc_label_core::Result<Option<Plan>>, Vec<u8>) {
    let mut output = Vec::new();
    let mut input = SeekBuf::with_capacity(4 << 10, Cursor::new(data));
    let mut vec_sink = VecSink::new(&mut output);
    let mut plain_sink = Plain(Vec::new());
    let sink: &mut dyn Sink = if rewinds { &mut vec_sink } else { &mut plain_sink };
    let mut check = |_: &aigc_label_core::Found| Ok(());
    let planned = carrier.plan(
        &mut input,
        label,
        limits,
        PlanBuilder::streaming(carrier.format(), Output::new(sink, &mut check)),
    );
    let planned = match planned {
        Ok(Some(plan)) => plan
            .write_rest(&mut input, sink)
            .map(|_| Some(plan))
            .unwrap_or_else(|e| panic!("{}: writing the rest of a streamed plan: {e}", carrier.format())),
        other => return (other, Vec::new()),
    };
    let plain = plain_sink.0;
    if !rewinds {
        output = plain;
    }
    (Ok(planned), output)
}

/// On arbitrary bytes: [`Carrier::binding_exclusions`] never panics, succeeds whenever
/// [`Carrier::find`] does, and names only ranges within the input.
fn exclusions_are_sane(carrier: &dyn Carrier, data: &[u8], limits: &aigc_label_core::Limits) {
    let found = carrier.find(&mut Cursor::new(data), limits);
    let excluded = carrier.binding_exclusions(&mut Cursor::new(data), limits);
    if found.is_ok() {
        let ranges = excluded.unwrap_or_else(|e| panic!("find reads the input but binding_exclusions fails: {e}"));
        for r in ranges {
            assert!(
                r.start <= r.end && r.end <= data.len() as u64,
                "{r:?} outside {}",
                data.len()
            );
        }
    }
}

/// The bytes of `file` outside `excluded` (any order, overlaps allowed), in order: what a
/// content binding digests.
pub fn covered(file: &[u8], excluded: &[std::ops::Range<u64>]) -> Vec<u8> {
    let mut keep = vec![true; file.len()];
    for r in excluded {
        let end = usize::try_from(r.end).unwrap_or(usize::MAX).min(file.len());
        let start = usize::try_from(r.start).unwrap_or(usize::MAX).min(end);
        keep[start..end].iter_mut().for_each(|k| *k = false);
    }
    file.iter().zip(keep).filter(|(_, k)| *k).map(|(b, _)| *b).collect()
}

/// [`covered`] with the exclusions `carrier` reports for `file`; panics when it cannot.
pub fn covered_by(carrier: &dyn Carrier, file: &[u8]) -> Vec<u8> {
    let excluded = carrier
        .binding_exclusions(&mut Cursor::new(file), &aigc_label_core::Limits::default())
        .unwrap_or_else(|e| panic!("{}: binding exclusions: {e}", carrier.format()));
    covered(file, &excluded)
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

/// Streams a valid RGBA8 PNG of `width` x `height` to `out` without holding it in memory: a
/// grey ramp stored in uncompressed deflate blocks, split into IDAT chunks of about 1 MiB. The
/// file is about `width * height * 4` bytes, so large test inputs cost no encoding time.
pub fn synthetic_png(out: &mut dyn std::io::Write, width: u32, height: u32) -> std::io::Result<()> {
    fn chunk(out: &mut dyn std::io::Write, kind: &[u8; 4], data: &[u8]) -> std::io::Result<()> {
        out.write_all(&(data.len() as u32).to_be_bytes())?;
        out.write_all(kind)?;
        out.write_all(data)?;
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.write_all(&crc.finalize().to_be_bytes())
    }
    out.write_all(b"\x89PNG\r\n\x1a\n")?;
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(out, b"IHDR", &ihdr)?;

    // The zlib stream: header, stored blocks of at most 65535 bytes, Adler-32.
    let row_len = 1 + width as usize * 4;
    let total = row_len as u64 * u64::from(height);
    let (mut a, mut b) = (1u32, 0u32);
    let mut idat: Vec<u8> = vec![0x78, 0x01];
    let mut row = vec![0u8; row_len];
    let mut emitted = 0u64;
    let mut pending: Vec<u8> = Vec::with_capacity(65535);
    let flush_block = |idat: &mut Vec<u8>, pending: &mut Vec<u8>, last: bool| {
        idat.push(u8::from(last));
        let len = pending.len() as u16;
        idat.extend_from_slice(&len.to_le_bytes());
        idat.extend_from_slice(&(!len).to_le_bytes());
        idat.extend_from_slice(pending);
        pending.clear();
    };
    for y in 0..height {
        for (i, px) in row.iter_mut().enumerate().skip(1) {
            *px = (y as usize + i) as u8;
        }
        for &byte in &row {
            a = (a + u32::from(byte)) % 65521;
            b = (b + a) % 65521;
        }
        let mut rest = &row[..];
        while !rest.is_empty() {
            let take = rest.len().min(65535 - pending.len());
            pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            emitted += take as u64;
            if pending.len() == 65535 {
                flush_block(&mut idat, &mut pending, emitted == total);
            }
        }
        if idat.len() >= 1 << 20 {
            chunk(out, b"IDAT", &idat)?;
            idat.clear();
        }
    }
    if !pending.is_empty() || emitted == 0 {
        flush_block(&mut idat, &mut pending, true);
    }
    idat.extend_from_slice(&((b << 16) | a).to_be_bytes());
    chunk(out, b"IDAT", &idat)?;
    chunk(out, b"IEND", &[])
}

/// The `json` fuzz target's property, on arbitrary bytes: the lenient label reader never
/// panics, and a label it reads, written back canonically, reads back as the same label.
pub fn fuzz_json(data: &[u8]) {
    use aigc_label_core::json::{Shape, parse, to_json};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = parse(text, 32) else {
        return;
    };
    let Some(label) = parsed.to_label() else {
        return;
    };
    let written = to_json(&label, Shape::Bare);
    let back = parse(&written, 32).unwrap_or_else(|e| panic!("canonical JSON {written:?} does not parse: {e}"));
    assert_eq!(back.to_label(), Some(label), "{written}");
}

/// The `xmp` fuzz target's property, on arbitrary bytes: the XMP reader never panics; when it
/// reads the packet, setting a label either fails cleanly or yields a packet holding exactly
/// that label once, and setting the same label again changes nothing.
pub fn fuzz_xmp(data: &[u8]) {
    use aigc_label_core::{Limits, json, xmp};
    let limits = Limits::default();
    if xmp::find_aigc(data, &limits).is_err() {
        return;
    }
    // Quotes and markup characters exercise both forms' escaping.
    let mut label = sample_label();
    label.reserved_code1 = "a&b<c>'d'\"e\"".into();
    let text = json::to_json(&label, json::Shape::Bare);
    let Ok(out) = xmp::set_aigc(data, &text, &limits) else {
        return;
    };
    let hits = xmp::find_aigc(&out, &limits).expect("our own output must read back");
    assert_eq!(hits.len(), 1, "exactly one label after writing, found {hits:#?}");
    assert_eq!(hits[0].value, text);
    assert_eq!(
        hits[0].variant_namespace, None,
        "the label is written in the standard namespace"
    );
    let again = xmp::set_aigc(&out, &text, &limits).expect("our own output must accept the label again");
    assert!(again == out, "setting the same label twice must be a no-op");
}

/// The `seekbuf` fuzz target's property, on arbitrary bytes: a program of seeks and reads (4
/// bytes per step) over a stream of up to 16 KiB gives the same bytes, positions and errors
/// through [`aigc_label_core::io::SeekBuf`] (4 KiB refills at most) as on the stream itself,
/// whatever the order. Small sizes keep a long fuzzing run within its memory limit.
pub fn fuzz_seekbuf(data: &[u8]) {
    use std::io::{Cursor, Read, Seek, SeekFrom};
    let Some((len, program)) = data.split_first_chunk::<2>() else {
        return;
    };
    let stream: Vec<u8> = (0..u16::from_le_bytes(*len) % (16 << 10))
        .map(|i| (i % 251) as u8)
        .collect();
    let mut plain = Cursor::new(stream.as_slice());
    let mut buffered = aigc_label_core::io::SeekBuf::with_capacity(4096, Cursor::new(stream.as_slice()));
    fn read_up_to(r: &mut dyn Read, n: usize) -> std::io::Result<Vec<u8>> {
        let mut out = vec![0u8; n];
        let mut filled = 0;
        while filled < n {
            match r.read(&mut out[filled..])? {
                0 => break,
                k => filled += k,
            }
        }
        out.truncate(filled);
        Ok(out)
    }
    for step in program.chunks_exact(4) {
        let arg = u16::from_le_bytes([step[1], step[2]]);
        let signed = i64::from(i16::from_le_bytes([step[1], step[2]]));
        let seek = match step[0] % 4 {
            0 => Some(SeekFrom::Start(u64::from(arg) * u64::from(step[3] % 4 + 1))),
            1 => Some(SeekFrom::Current(signed)),
            2 => Some(SeekFrom::End(signed / 256)),
            _ => None,
        };
        match seek {
            Some(to) => {
                let (a, b) = (plain.seek(to), buffered.seek(to));
                assert_eq!(a.ok(), b.ok(), "seek {to:?}");
            }
            None => {
                let n = usize::from(arg) % 6_000;
                let (a, b) = (read_up_to(&mut plain, n), read_up_to(&mut buffered, n));
                assert_eq!(a.ok(), b.ok(), "read of {n}");
            }
        }
        assert_eq!(plain.stream_position().ok(), buffered.stream_position().ok());
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn synthetic_png_is_a_valid_png() {
        let mut bytes = Vec::new();
        super::synthetic_png(&mut bytes, 300, 200).unwrap();
        assert_eq!(
            bytes.len() as u64,
            8 + 25 + 12 + 2 + (1 + 300 * 4) * 200 + 5 * 4 + 4 + 12
        );
        let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (300, 200));
        assert_eq!(buf[4 * 300 * 7 + 4 * 5], (7 + 1 + 4 * 5) as u8);
    }
}
