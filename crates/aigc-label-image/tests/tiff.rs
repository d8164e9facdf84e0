//! The TIFF carrier against files made by ImageMagick, tiffcp and exiftool: every fixture through
//! the shared round trip; decoded pixels of every page unchanged (ImageMagick decodes); every
//! byte outside the label, the IFD0 entries and the header's IFD0 pointer unchanged; exiftool
//! reads the label and tiffinfo accepts the file; wild copies found and replaced; malformed input
//! rejected without a panic.

use std::ffi::OsStr;
use std::io::Cursor;
use std::ops::Range;
use std::path::{Path, PathBuf};

use aigc_label_core::check::Level;
use aigc_label_core::inspect::{Options, Verdict, inspect_with};
use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::{Carrier, Label, Limits};
use aigc_label_image::Tiff;
use aigc_label_testutil as tu;

#[path = "support/rewrite.rs"]
mod rewrite;

fn fixtures() -> Vec<PathBuf> {
    tu::fixtures("tiff", &["tif"])
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

fn temp_file(name: &str, data: &[u8]) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tiff-{name}"));
    std::fs::write(&path, data).unwrap();
    path
}

fn write(data: &[u8], label: &Label) -> aigc_label_core::Result<Vec<u8>> {
    let mut out = Vec::new();
    Tiff.write(&mut Cursor::new(data), &mut out, label, &Limits::default())?;
    Ok(out)
}

/// Every page decoded by ImageMagick: the geometry of each page and all pixels as 16-bit RGBA.
fn decode(path: &Path) -> Option<(String, Vec<u8>)> {
    let identify = tu::tool("identify")?;
    let convert = tu::tool("convert")?;
    let pages = tu::run(
        &identify,
        &[
            "-format".as_ref(),
            "%p %wx%h %z %[channels]\n".as_ref(),
            path.as_os_str(),
        ],
    );
    let pixels = tu::run(
        &convert,
        &[path.as_os_str(), "-depth".as_ref(), "16".as_ref(), "rgba:-".as_ref()],
    );
    Some((String::from_utf8(pages).unwrap(), pixels))
}

/// tiffinfo reads every directory without complaint.
fn tiffinfo(path: &Path) {
    let Some(tiffinfo) = tu::tool("tiffinfo") else {
        return;
    };
    let out = std::process::Command::new(tiffinfo).arg(path).output().unwrap();
    assert!(out.status.success(), "tiffinfo rejects {}", path.display());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("Error"), "tiffinfo on {}: {stderr}", path.display());
}

/// The label as exiftool reads it, from any XMP group (ExifTool names the group after the first
/// prefix bound to the namespace).
fn exiftool_labels(path: &Path) -> Option<Vec<String>> {
    let exiftool = tu::tool("exiftool")?;
    let config = tu::workspace_root().join("tests/exiftool/tc260.config");
    let args: [&OsStr; 6] = [
        "-config".as_ref(),
        config.as_os_str(),
        "-a".as_ref(),
        "-s3".as_ref(),
        "-XMP:AIGC".as_ref(),
        path.as_os_str(),
    ];
    let out = String::from_utf8(tu::run(&exiftool, &args)).unwrap();
    Some(out.lines().map(str::to_string).collect())
}

/// Test-side reader, independent of the carrier: BigTIFF or not, the byte range of IFD0 (count,
/// entries, next pointer) and of the value of its tag 700, if any.
fn ifd0(data: &[u8]) -> (bool, Range<usize>, Option<Range<usize>>) {
    let le = &data[..2] == b"II";
    let u = |at: usize, n: usize| {
        let b = &data[at..at + n];
        let mut v = 0u64;
        for i in 0..n {
            v = v << 8 | u64::from(if le { b[n - 1 - i] } else { b[i] });
        }
        v as usize
    };
    let big = u(2, 2) == 43;
    let (at, count_len, entry, word) = if big { (u(8, 8), 8, 20, 8) } else { (u(4, 4), 2, 12, 4) };
    let count = u(at, count_len);
    let xmp = (0..count)
        .map(|i| at + count_len + i * entry)
        .find(|&e| u(e, 2) == 700)
        .map(|e| {
            let start = u(e + 4 + word, word);
            start..start + u(e + 4, word)
        });
    (big, at..at + count_len + count * entry + word, xmp)
}

#[test]
fn every_fixture_round_trips_with_pages_pixels_and_bytes_unchanged() {
    // One thread per fixture: the external tools spend most of their time starting up.
    std::thread::scope(|s| {
        for path in fixtures() {
            s.spawn(move || check_fixture(&path));
        }
    });
}

fn check_fixture(path: &Path) {
    let json = to_json(&tu::sample_label(), Shape::Bare);
    let name = name(path);
    let input = read(path);
    let out = tu::round_trip(&Tiff, &input);
    assert!(out.len() >= input.len(), "{name}: nothing is removed");

    // Every differing byte lies in the header's IFD0 pointer, IFD0 itself or an XMP value.
    let (big, ifd, xmp) = ifd0(&input);
    let mut allowed = vec![if big { 8..16 } else { 4..8 }, ifd];
    allowed.extend(xmp);
    let found = Tiff.find(&mut Cursor::new(&input), &Limits::default()).unwrap();
    allowed.extend(found.iter().map(|f| f.range.start as usize..f.range.end as usize));
    for (i, (a, b)) in input.iter().zip(&out).enumerate() {
        assert!(
            a == b || allowed.iter().any(|r| r.contains(&i)),
            "{name}: byte {i} changed"
        );
    }

    let written = temp_file(&name, &out);
    tiffinfo(&written);
    if let Some(labels) = exiftool_labels(&written) {
        assert_eq!(labels, [json], "{name}: exiftool reads one label");
    }
    if let (Some(before), Some(after)) = (decode(path), decode(&written)) {
        assert_eq!(before.0, after.0, "{name}: pages");
        assert!(before.1 == after.1, "{name}: decoded pixels differ");
    }
}

#[test]
fn exiftool_reads_the_label_through_the_tc260_group() {
    let label = tu::sample_label();
    for fixture in ["le.tif", "be.tif", "lzw.tif", "multipage.tif", "bigtiff.tif"] {
        let out = write(&read(&tu::fixture(&format!("tiff/{fixture}"))), &label).unwrap();
        let path = temp_file(&format!("group-{fixture}"), &out);
        if let Some(read) = tu::exiftool_aigc(&path) {
            assert_eq!(read, to_json(&label, Shape::Bare), "{fixture}");
        }
    }
}

#[test]
fn exiftool_labels_are_found_and_replaced() {
    for fixture in ["label-xmp.tif", "label-xmp-be.tif"] {
        let input = read(&tu::fixture(&format!("tiff/{fixture}")));
        let report = inspect_with(&Tiff, &mut Cursor::new(&input), &Options::default()).unwrap();
        assert_eq!(report.verdict, Verdict::Compliant, "{fixture}: {:#?}", report.copies);
        assert_eq!(report.copies[0].carrier, "IFD0 XMP (tag 700)");
        assert_eq!(report.copies[0].field("ProduceID"), Some("fixture-0001"));

        // A label of the same length: exiftool's padding would absorb it, but its packet lies
        // before the image data, so it moves to the end, the old bytes zeroed.
        let (_, _, old) = ifd0(&input);
        let old = old.unwrap();
        assert!(old.end < input.len(), "{fixture}: exiftool's packet is mid-file");
        let label = Label::new("001191440300708461136T1XGW3", "fixture-0002");
        let out = write(&input, &label).unwrap();
        let packet = ifd0(&out).2.unwrap();
        assert_eq!(packet.end, out.len(), "{fixture}: the packet ends the file");
        assert!(out[old].iter().all(|&b| b == 0), "{fixture}: old packet zeroed");
        // From then on, a label of the same length is rewritten in place and keeps every
        // covered byte.
        let again = write(&out, &Label::new("001191440300708461136T1XGW3", "fixture-0003")).unwrap();
        assert_eq!(again.len(), out.len(), "{fixture}");
        assert_eq!(ifd0(&again).2, Some(packet), "{fixture}");
        assert!(covered(&again) == covered(&out), "{fixture}: covered bytes changed");
        let path = temp_file(&format!("replaced-{fixture}"), &out);
        if let Some(labels) = exiftool_labels(&path) {
            assert_eq!(labels, [to_json(&label, Shape::Bare)]);
        }
        // The other XMP property exiftool wrote survives.
        if fixture == "label-xmp.tif" {
            assert!(out.windows(11).any(|w| w == b"Plasma test"));
        }
    }
}

/// The bytes `binding_exclusions` leaves covered, in order.
fn covered(data: &[u8]) -> Vec<u8> {
    aigc_label_testutil::covered_by(&Tiff, data)
}

/// The edge case that moving every mid-file packet closes: exiftool puts its packet before the
/// image data with padding to spare. Our first write, with a short label, moves it to the end
/// even though the padding would absorb the label; so a later label 6 KB longer, which no
/// padding absorbs, is rewritten where that packet starts and every covered byte stays the
/// same: a binding signed over the first output still holds for the second.
#[test]
fn a_mid_file_exiftool_label_outgrown_after_our_first_write_keeps_every_covered_byte() {
    for fixture in ["label-xmp.tif", "label-xmp-be.tif"] {
        let path = tu::fixture(&format!("tiff/{fixture}"));
        let input = read(&path);
        assert!(
            ifd0(&input).2.unwrap().end < input.len(),
            "{fixture}: exiftool's packet is mid-file"
        );
        let short = Label::new("001191440300708461136T1XGW3", "s");
        let first = write(&input, &short).unwrap();
        let mut long = short.clone();
        long.reserved_code1 = "L".repeat(6000);
        let second = write(&first, &long).unwrap();
        assert!(
            second.len() > first.len() + 4000,
            "{fixture}: the label outgrew the padding"
        );
        assert_eq!(
            ifd0(&second).2.unwrap().start,
            ifd0(&first).2.unwrap().start,
            "{fixture}"
        );
        assert!(covered(&second) == covered(&first), "{fixture}: covered bytes changed");
        for (which, data, label) in [("short", &first, &short), ("long", &second, &long)] {
            let file = temp_file(&format!("outgrown-{which}-{fixture}"), data);
            tiffinfo(&file);
            if let Some(labels) = exiftool_labels(&file) {
                assert_eq!(labels, [to_json(label, Shape::Bare)], "{fixture} {which}");
            }
            if let (Some(before), Some(after)) = (decode(&path), decode(&file)) {
                assert_eq!(before.0, after.0, "{fixture} {which}: pages");
                assert!(before.1 == after.1, "{fixture} {which}: decoded pixels differ");
            }
        }
    }
}

#[test]
fn a_label_on_page_two_is_flagged_and_moved_to_ifd0() {
    let input = read(&tu::fixture("tiff/label-page2.tif"));
    let found = Tiff.find(&mut Cursor::new(&input), &Limits::default()).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].carrier, "IFD1 XMP (tag 700)");
    assert!(found[0].checks.iter().any(|c| c.level == Level::Warn));

    let label = tu::sample_label();
    let out = write(&input, &label).unwrap();
    let found = Tiff.find(&mut Cursor::new(&out), &Limits::default()).unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].carrier, "IFD0 XMP (tag 700)");
    let path = temp_file("page2-moved.tif", &out);
    if let Some(labels) = exiftool_labels(&path) {
        assert_eq!(labels, [to_json(&label, Shape::Bare)], "exiftool sees one copy");
    }
    // Page 2 keeps its other XMP property.
    if let Some(exiftool) = tu::tool("exiftool") {
        let title = tu::run(
            &exiftool,
            &[
                "-a".as_ref(),
                "-s3".as_ref(),
                "-XMP-dc:Title".as_ref(),
                path.as_os_str(),
            ],
        );
        assert_eq!(String::from_utf8(title).unwrap().trim(), "Plasma test");
    }
}

#[test]
fn existing_xmp_keeps_its_properties() {
    let input = read(&tu::fixture("tiff/xmp-existing.tif"));
    let out = write(&input, &tu::sample_label()).unwrap();
    let path = temp_file("xmp-existing-kept.tif", &out);
    if let Some(exiftool) = tu::tool("exiftool") {
        let args: [&OsStr; 5] = [
            "-s3".as_ref(),
            "-XMP-dc:Title".as_ref(),
            "-XMP-xmp:CreatorTool".as_ref(),
            "-f".as_ref(),
            path.as_os_str(),
        ];
        let text = String::from_utf8(tu::run(&exiftool, &args)).unwrap();
        assert_eq!(text.lines().collect::<Vec<_>>(), ["Plasma test", "ImageMagick convert"]);
    }
}

#[test]
fn truncations_and_corruptions_of_real_files_never_panic() {
    let label = tu::sample_label();
    for fixture in ["multipage-be.tif", "bigtiff-multipage.tif", "label-xmp.tif"] {
        let input = read(&tu::fixture(&format!("tiff/{fixture}")));
        let (_, ifd, _) = ifd0(&input);
        // Cut inside the header and every IFD0 field, and at the end.
        let cuts = (0..32).chain(ifd.clone()).chain(input.len() - 8..input.len());
        for cut in cuts {
            let part = &input[..cut.min(input.len())];
            let _ = Tiff.find(&mut Cursor::new(part), &Limits::default());
            let _ = write(part, &label);
        }
        // Every IFD0 byte set to extremes: either an error, or a file with one label.
        for i in ifd.start..ifd.end.min(ifd.start + 160) {
            for v in [0x00, 0x01, 0xFF] {
                let mut bad = input.clone();
                bad[i] = v;
                if Tiff.find(&mut Cursor::new(&bad), &Limits::default()).is_err() {
                    assert!(
                        write(&bad, &label).is_err(),
                        "{fixture}: byte {i} = {v}: find fails, write must too"
                    );
                    continue;
                }
                if let Ok(out) = write(&bad, &label) {
                    let found = Tiff.find(&mut Cursor::new(&out), &Limits::default()).unwrap();
                    assert_eq!(found.len(), 1, "{fixture}: byte {i} = {v}");
                }
            }
        }
    }
}

/// A labelled file from exiftool, cut inside its strip (IFD0 and the packet come first, the
/// strip after): inspect reads the label and flags the cut with `structure.truncated`; embed
/// agrees and refuses the file (it does not repair: the missing pixels cannot be made up).
#[test]
fn strips_past_the_end_are_flagged_by_inspect_and_refused_by_embed() {
    let input = read(&tu::fixture("tiff/label-xmp.tif"));
    let cut = &input[..input.len() - 1000];
    let report = inspect_with(&Tiff, &mut Cursor::new(cut), &Options::default()).unwrap();
    assert_eq!(report.copies.len(), 1);
    let flagged: Vec<_> = report.copies[0]
        .checks
        .iter()
        .filter(|c| c.id == "structure.truncated")
        .collect();
    assert_eq!(flagged.len(), 1, "{:?}", report.copies[0].checks);
    assert!(
        flagged[0].detail.contains("strip or tile data"),
        "{}",
        flagged[0].detail
    );
    let e = write(cut, &tu::sample_label()).unwrap_err();
    assert!(
        matches!(e, aigc_label_core::Error::Truncated { .. }) && e.to_string().contains("strip or tile data"),
        "{e}"
    );
    assert!(
        Tiff.binding_exclusions(&mut Cursor::new(cut), &Limits::default())
            .is_ok()
    );
    // The whole file is neither flagged nor refused.
    let whole = inspect_with(&Tiff, &mut Cursor::new(&input), &Options::default()).unwrap();
    assert!(whole.copies[0].checks.iter().all(|c| c.id != "structure.truncated"));
    write(&input, &tu::sample_label()).unwrap();
}

#[test]
fn classic_and_bigtiff_of_both_orders_are_sniffed() {
    for fixture in ["le.tif", "be.tif", "bigtiff.tif", "bigtiff-be.tif"] {
        let input = read(&tu::fixture(&format!("tiff/{fixture}")));
        assert!(Tiff.sniff(&input[..8]), "{fixture}");
    }
    assert!(!Tiff.sniff(b"II*"));
    assert!(!Tiff.sniff(b"\x89PNG\r\n\x1a\n"));
}

/// The binding contract: every fixture (those exiftool or ImageMagick labelled included, whose
/// packets the first write moves to the end), labelled and then relabelled with a much longer
/// and a much shorter label, keeps every byte `binding_exclusions` covers (everything
/// but the packet and its entry's type, count and offset). The longer label outgrows the
/// padding, so this is the path that rewrites the packet at the end of the file; tiffinfo and
/// exiftool read the results, and ImageMagick decodes the same pages.
#[test]
fn rewriting_the_label_keeps_every_covered_byte() {
    std::thread::scope(|s| {
        for path in fixtures() {
            s.spawn(move || {
                let name = name(&path);
                let input = read(&path);
                let [_, longer, shorter] = rewrite::assert_stable(&Tiff, &input, 18, &name);
                for (which, data, label) in [
                    ("longer", &longer, rewrite::label_b()),
                    ("shorter", &shorter, rewrite::label_c()),
                ] {
                    let file = temp_file(&format!("rewrite-{which}-{name}"), data);
                    tiffinfo(&file);
                    if let Some(labels) = exiftool_labels(&file) {
                        assert_eq!(labels, [to_json(&label, Shape::Bare)], "{name} {which}");
                    }
                    if which == "longer"
                        && let (Some(before), Some(after)) = (decode(&path), decode(&file))
                    {
                        assert_eq!(before.0, after.0, "{name}: pages");
                        assert!(before.1 == after.1, "{name}: decoded pixels differ");
                    }
                }
            });
        }
    });
}

/// The warnings `exiftool -validate` reports for `path` (one per line, the count line left
/// out), or `None` without exiftool.
fn validation_warnings(path: &Path) -> Option<Vec<String>> {
    let exiftool = tu::tool("exiftool")?;
    let args: [&std::ffi::OsStr; 5] = [
        "-validate".as_ref(),
        "-warning".as_ref(),
        "-a".as_ref(),
        "-s3".as_ref(),
        path.as_os_str(),
    ];
    let out = String::from_utf8(tu::run(&exiftool, &args)).unwrap();
    Some(
        out.lines()
            .filter(|l| !l.is_empty() && !l.contains("Warning") && !l.starts_with(char::is_numeric))
            .map(str::to_string)
            .collect(),
    )
}

#[test]
fn exiftool_validate_reports_no_new_warning_on_any_tiff_we_write() {
    for path in fixtures() {
        let name = name(&path);
        let input = read(&path);
        let out = write(&input, &tu::sample_label()).unwrap();
        // Twice: a first write, and a rewrite of our own label in place.
        let again = write(&out, &Label::new(tu::sample_label().content_producer, "again")).unwrap();
        let before = temp_file(&format!("validate-in-{name}"), &input);
        let Some(old) = validation_warnings(&before) else {
            return;
        };
        for (step, data) in [("first write", &out), ("rewrite", &again)] {
            let after = temp_file(&format!("validate-out-{name}"), data);
            let new: Vec<String> = validation_warnings(&after)
                .unwrap_or_default()
                .into_iter()
                .filter(|w| !old.contains(w))
                .collect();
            assert!(new.is_empty(), "{name}, {step}: exiftool -validate warns {new:?}");
        }
    }
}
