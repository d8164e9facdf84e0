//! One `meta` per `udta` (issue 13): the label joins the file's iTunes item list, and ffprobe,
//! exiftool and mutagen keep seeing every tag they saw, plus the label.
//!
//! Fixtures: `tests/fixtures/video/itunes_*` (ffmpeg and mutagen, see `make.sh`): title, artist,
//! encoder, cover art, chapters and a freeform `----` item, in MP4, MOV, M4A and 3GP with `moov`
//! last and first, a fragmented MP4, and a file labelled before the change (a second `meta`).

mod common;

use std::collections::BTreeSet;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::{Carrier, Label, Limits};
use aigc_label_testutil::{fixtures, python_with, run, sample_label, tool};
use aigc_label_video::Bmff;

/// The iTunes-tagged fixtures.
fn tagged() -> Vec<PathBuf> {
    let all = fixtures("video", &["mp4", "mov", "m4a", "3gp"]);
    let tagged: Vec<PathBuf> = all
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("itunes_"))
        })
        .collect();
    assert!(tagged.len() >= 10, "itunes fixtures missing: {tagged:?}");
    tagged
}

fn lines(bytes: &[u8]) -> BTreeSet<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Format and chapter tags as ffprobe reports them, one `key="value"` a line.
fn ffprobe_tags(path: &Path) -> Option<BTreeSet<String>> {
    let ffprobe = tool("ffprobe")?;
    let out = run(
        &ffprobe,
        &[
            "-v".as_ref(),
            "error".as_ref(),
            "-show_entries".as_ref(),
            "format_tags:chapter=start_time,end_time:chapter_tags".as_ref(),
            "-of".as_ref(),
            "flat".as_ref(),
            path.as_os_str(),
        ],
    );
    Some(lines(&out))
}

/// exiftool tags that describe the file rather than its content (size, dates, exiftool
/// itself), and the `meta` handler, which the one-box layout changes by design (docs/spec.md);
/// `MediaDataOffset` moves when a fast-start `moov` grows.
const STRUCTURAL: [&str; 7] = [
    "\"SourceFile\"",
    "\"File:",
    "\"System:",
    "\"ExifTool:",
    "\"QuickTime:HandlerType\"",
    "\"QuickTime:HandlerVendorID\"",
    "\"QuickTime:MediaDataOffset\"",
];

/// Every tag exiftool reads (`-a -G1 -s -j`, binary values as their base64), one JSON member a
/// line, structure aside.
fn exiftool_tags(path: &Path) -> Option<BTreeSet<String>> {
    let exiftool = tool("exiftool")?;
    let args = ["-a", "-G1", "-s", "-b", "-j"];
    let mut argv: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
    argv.push(path.as_os_str());
    let out = run(&exiftool, &argv);
    Some(
        lines(&out)
            .into_iter()
            .map(|l| l.trim().trim_end_matches(',').to_string())
            .filter(|l| !STRUCTURAL.iter().any(|g| l.starts_with(g)))
            .filter(|l| !matches!(l.as_str(), "[{" | "}]" | "{" | "}"))
            .collect(),
    )
}

/// What `exiftool -validate -warning` says (the summary line aside).
fn exiftool_warnings(path: &Path) -> Option<BTreeSet<String>> {
    let exiftool = tool("exiftool")?;
    let out = run(
        &exiftool,
        &[
            "-validate".as_ref(),
            "-warning".as_ref(),
            "-a".as_ref(),
            path.as_os_str(),
        ],
    );
    Some(lines(&out).into_iter().filter(|l| !l.starts_with("Validate")).collect())
}

/// What ffprobe logs at warning level while reading the file, with the context pointers
/// (`@ 0x55...`) that change from run to run removed.
fn ffprobe_warnings(path: &Path) -> Option<BTreeSet<String>> {
    let ffprobe = tool("ffprobe")?;
    let out = std::process::Command::new(ffprobe)
        .args(["-v", "warning", "-show_entries", "format_tags"])
        .arg(path)
        .output()
        .expect("ffprobe");
    Some(
        lines(&out.stderr)
            .into_iter()
            .map(|l| match (l.find(" @ 0x"), l.find(']')) {
                (Some(at), Some(end)) if at < end => format!("{}{}", &l[..at], &l[end..]),
                _ => l,
            })
            .collect(),
    )
}

/// mutagen's tags, one `repr(key) repr(value)` a line (cover art included, as bytes).
fn mutagen_tags(path: &Path) -> Option<BTreeSet<String>> {
    let python = python_with("mutagen")?;
    let script = "import sys, mutagen.mp4\n\
                  t = mutagen.mp4.MP4(sys.argv[1]).tags or {}\n\
                  for k, v in sorted(t.items()):\n    print(repr(k), repr(v))\n";
    let out = run(&python, &["-c".as_ref(), script.as_ref(), path.as_os_str()]);
    Some(lines(&out))
}

/// What the three readers see.
#[derive(Debug)]
struct View {
    ffprobe: BTreeSet<String>,
    exiftool: BTreeSet<String>,
    mutagen: BTreeSet<String>,
    warnings: BTreeSet<String>,
    ffprobe_log: BTreeSet<String>,
}

fn view(path: &Path) -> Option<View> {
    Some(View {
        ffprobe: ffprobe_tags(path)?,
        exiftool: exiftool_tags(path)?,
        mutagen: mutagen_tags(path)?,
        warnings: exiftool_warnings(path)?,
        ffprobe_log: ffprobe_warnings(path)?,
    })
}

/// JSON as each reader prints a string value: ffprobe's flat form escapes quotes; exiftool's
/// and Python's reprs do too, in their own ways.
fn label_seen(set: &BTreeSet<String>, json: &str) -> bool {
    let escaped = json.replace('"', "\\\"");
    set.iter().any(|l| l.contains(json) || l.contains(&escaped))
}

/// Lines that mention a label (ours, or one an older write left).
fn mentions_label(line: &str) -> bool {
    line.contains("ContentProducer")
}

/// `after` keeps every tag `before` had (labels aside), shows `label`, and adds no other tag
/// and no `exiftool -validate` warning.
fn assert_kept(name: &str, before: &View, after: &View, label: &Label) {
    let json = to_json(label, Shape::Bare);
    for (reader, b, a) in [
        ("ffprobe", &before.ffprobe, &after.ffprobe),
        ("exiftool", &before.exiftool, &after.exiftool),
        ("mutagen", &before.mutagen, &after.mutagen),
    ] {
        let b: BTreeSet<&String> = b.iter().filter(|l| !mentions_label(l)).collect();
        let a_rest: BTreeSet<&String> = a.iter().filter(|l| !mentions_label(l)).collect();
        let lost: Vec<_> = b.difference(&a_rest).collect();
        let added: Vec<_> = a_rest.difference(&b).collect();
        assert!(lost.is_empty(), "{name}: {reader} lost {lost:?}");
        assert!(added.is_empty(), "{name}: {reader} sees new tags {added:?}");
        assert!(label_seen(a, &json), "{name}: {reader} does not show the label: {a:#?}");
        assert_eq!(
            a.iter().filter(|l| mentions_label(l)).count(),
            1,
            "{name}: {reader} shows one label"
        );
    }
    let new: Vec<_> = after.warnings.difference(&before.warnings).collect();
    assert!(new.is_empty(), "{name}: exiftool -validate warns {new:?}");
    let new: Vec<_> = after.ffprobe_log.difference(&before.ffprobe_log).collect();
    assert!(new.is_empty(), "{name}: ffprobe warns {new:?}");
}

/// (type, payload) of the boxes in `buf`.
fn boxes(buf: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= buf.len() {
        let size = u32::from_be_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
        let (hdr, size) = match size {
            0 => (8, buf.len() - at),
            1 => (
                16,
                u64::from_be_bytes(buf[at + 8..at + 16].try_into().unwrap()) as usize,
            ),
            n => (8, n),
        };
        out.push((buf[at + 4..at + 8].try_into().unwrap(), &buf[at + hdr..at + size]));
        at += size;
    }
    out
}

fn child<'a>(buf: &'a [u8], typ: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(buf).into_iter().find(|b| &b.0 == typ).map(|b| b.1)
}

/// The structure rules: one `meta` in `udta`, handler `mdta`; its `keys` count is the number of
/// entries and they fill the box; every item typed by number names a key (numbers from 1); our
/// key is there once.
fn assert_one_meta(name: &str, file: &[u8]) {
    let udta = child(file, b"moov").and_then(|m| child(m, b"udta")).expect("udta");
    let metas: Vec<&[u8]> = boxes(udta)
        .into_iter()
        .filter(|b| &b.0 == b"meta")
        .map(|b| b.1)
        .collect();
    assert_eq!(metas.len(), 1, "{name}: one meta in udta");
    let meta = &metas[0][4..];
    assert_eq!(&child(meta, b"hdlr").expect("hdlr")[8..12], b"mdta", "{name}");
    let kids: Vec<[u8; 4]> = boxes(meta).iter().map(|b| b.0).collect();
    let keys_at = kids.iter().position(|k| k == b"keys").expect("keys");
    let ilst_at = kids.iter().position(|k| k == b"ilst").expect("ilst");
    assert!(
        kids[0] == *b"hdlr" && keys_at < ilst_at,
        "{name}: hdlr, keys, ilst in order: {kids:?}"
    );
    let keys = child(meta, b"keys").unwrap();
    let count = u32::from_be_bytes(keys[4..8].try_into().unwrap());
    let mut at = 8;
    let mut names = Vec::new();
    while at < keys.len() {
        let size = u32::from_be_bytes(keys[at..at + 4].try_into().unwrap()) as usize;
        names.push(keys[at + 4..at + size].to_vec());
        at += size;
    }
    assert_eq!(at, keys.len(), "{name}: keys entries fill the box");
    assert_eq!(count as usize, names.len(), "{name}: keys count");
    assert_eq!(
        names.iter().filter(|n| n.as_slice() == b"mdtaAIGC").count(),
        1,
        "{name}"
    );
    let ilst = child(meta, b"ilst").unwrap();
    let mut ours = 0;
    for (typ, _) in boxes(ilst) {
        let n = u32::from_be_bytes(typ);
        if typ[0] == 0 {
            assert!(
                (1..=count).contains(&n),
                "{name}: item {n} names no key (count {count})"
            );
            ours += usize::from(names[n as usize - 1] == b"mdtaAIGC");
        } else {
            assert!(typ[0] == 0xA9 || typ[0].is_ascii_graphic(), "{name}: item type {typ:?}");
        }
    }
    assert_eq!(ours, 1, "{name}: one item for our key");
}

fn write_out(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn every_reader_keeps_its_tags_and_sees_the_label() {
    let dir = tempfile::tempdir().unwrap();
    for path in tagged() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read(&path).unwrap();
        let label = sample_label();
        let out = common::embed(&Bmff, &input, &label);
        assert_one_meta(&name, &out);
        let out_path = write_out(dir.path(), &name, &out);
        // Propagation: the platform's fields in the same label, the same layout.
        let propagated = label
            .clone()
            .propagated("001191110108551385082Q20000", "platform-upload-0042");
        let again = common::embed(&Bmff, &out, &propagated);
        assert_one_meta(&name, &again);
        let again_path = write_out(dir.path(), &format!("propagated-{name}"), &again);

        let Some(before) = view(&path) else { return };
        let after = view(&out_path).unwrap();
        assert_kept(&name, &before, &after, &label);
        let after_propagation = view(&again_path).unwrap();
        assert_kept(
            &format!("{name} (propagated)"),
            &before,
            &after_propagation,
            &propagated,
        );
        eprintln!(
            "{name}: ffprobe {} / exiftool {} / mutagen {} lines kept",
            before.ffprobe.len(),
            before.exiftool.len(),
            before.mutagen.len()
        );
    }
}

#[test]
fn a_second_meta_from_an_older_write_is_merged() {
    let path = aigc_label_testutil::fixture("video/itunes_old_label.mp4");
    let input = std::fs::read(&path).unwrap();
    let limits = Limits::default();
    let found = Bmff.find(&mut Cursor::new(&input), &limits).unwrap();
    assert_eq!(found.len(), 1, "the old layout is read");
    assert_eq!(found[0].carrier, "moov/udta/meta mdta AIGC");
    assert!(found[0].text.contains("old-1"));
    let out = common::embed(&Bmff, &input, &sample_label());
    assert_one_meta("old layout", &out);
    assert!(!out.windows(5).any(|w| w == b"old-1"), "the old label is gone");

    let dir = tempfile::tempdir().unwrap();
    let out_path = write_out(dir.path(), "merged.mp4", &out);
    let Some(before) = view(&path) else { return };
    let after = view(&out_path).unwrap();
    assert!(!before.warnings.is_empty(), "exiftool flags the old layout: {before:?}");
    assert_kept("old layout", &before, &after, &sample_label());
    assert!(after.warnings.is_empty(), "no warning left: {:?}", after.warnings);
}

/// A `meta` to merge whose item names a key it does not have is refused, not guessed at.
#[test]
fn an_unmergeable_second_meta_is_refused() {
    let input = std::fs::read(aigc_label_testutil::fixture("video/itunes_old_label.mp4")).unwrap();
    // Renumber the item of the second meta (the last `ilst` in the file) from 1 to 7; its
    // `keys` box holds one entry.
    let mut broken = input.clone();
    let ilst = broken.windows(4).rposition(|w| w == b"ilst").expect("ilst");
    let item_type = ilst + 8; // after the `ilst` type: the item's size, then its type
    assert_eq!(&broken[item_type..item_type + 4], &[0, 0, 0, 1]);
    broken[item_type + 3] = 7;
    let mut sink = Vec::new();
    let err = Bmff
        .write(
            &mut Cursor::new(&broken),
            &mut sink,
            &sample_label(),
            &Limits::default(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("cannot be merged"), "{err}");
}
