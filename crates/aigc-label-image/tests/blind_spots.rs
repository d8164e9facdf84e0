//! Blind spots (issue 12): labels other readers show that sit outside the spec's carrier. Each
//! fixture, made by exiftool, must be inspected as labelled (with a warning that names the
//! variant), and embedding into it must leave exactly one label, in the standard carrier, with
//! exiftool agreeing and the decoded pixels unchanged.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use aigc_label_core::check::{Level, id};
use aigc_label_core::embed::embed_with;
use aigc_label_core::inspect::{Options, Report, inspect_with};
use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::{Carrier, Label};
use aigc_label_image::{Heif, Jpeg, Png, Tiff, WebP};
use aigc_label_testutil as tu;

/// A blind-spot fixture: the carrier, where inspect finds the copy, the check that flags it,
/// and where the label sits after a write.
struct Case {
    file: &'static str,
    carrier: &'static dyn Carrier,
    found_in: &'static str,
    flagged_by: &'static str,
    written_to: &'static str,
}

const CASES: [Case; 11] = [
    Case {
        file: "png/label-exif-usercomment.png",
        carrier: &Png,
        found_in: "EXIF UserComment",
        flagged_by: id::CARRIER_PLACE,
        written_to: "iTXt XML:com.adobe.xmp",
    },
    Case {
        file: "png/label-raw-profile-exif.png",
        carrier: &Png,
        found_in: "EXIF UserComment",
        flagged_by: id::CARRIER_PLACE,
        written_to: "iTXt XML:com.adobe.xmp",
    },
    Case {
        file: "webp/label-exif-usercomment.webp",
        carrier: &WebP,
        found_in: "EXIF UserComment",
        flagged_by: id::CARRIER_PLACE,
        written_to: "RIFF XMP chunk",
    },
    Case {
        file: "tiff/label-exif-usercomment.tif",
        carrier: &Tiff,
        found_in: "EXIF UserComment",
        flagged_by: id::CARRIER_PLACE,
        written_to: "IFD0 XMP (tag 700)",
    },
    Case {
        file: "tiff/label-exif-usercomment-be.tif",
        carrier: &Tiff,
        found_in: "EXIF UserComment",
        flagged_by: id::CARRIER_PLACE,
        written_to: "IFD0 XMP (tag 700)",
    },
    Case {
        file: "heif/label-exif-usercomment.heic",
        carrier: &Heif,
        found_in: "EXIF UserComment",
        flagged_by: id::CARRIER_PLACE,
        written_to: "XMP item",
    },
    Case {
        file: "jpeg/label-usercomment.jpg",
        carrier: &Jpeg,
        found_in: "EXIF UserComment",
        flagged_by: id::CARRIER_PLACE,
        written_to: "APP1 XMP",
    },
    Case {
        file: "png/label-xmp-https.png",
        carrier: &Png,
        found_in: "iTXt XML:com.adobe.xmp",
        flagged_by: id::XMP_NAMESPACE,
        written_to: "iTXt XML:com.adobe.xmp",
    },
    Case {
        file: "png/label-xmp-noslash.png",
        carrier: &Png,
        found_in: "iTXt XML:com.adobe.xmp",
        flagged_by: id::XMP_NAMESPACE,
        written_to: "iTXt XML:com.adobe.xmp",
    },
    Case {
        file: "jpeg/label-xmp-https.jpg",
        carrier: &Jpeg,
        found_in: "APP1 XMP",
        flagged_by: id::XMP_NAMESPACE,
        written_to: "APP1 XMP",
    },
    Case {
        file: "jpeg/label-xmp-noslash.jpg",
        carrier: &Jpeg,
        found_in: "APP1 XMP",
        flagged_by: id::XMP_NAMESPACE,
        written_to: "APP1 XMP",
    },
];

fn fixture_label() -> Label {
    Label::new(tu::sample_label().content_producer, "fixture-0001")
}

fn inspect(carrier: &dyn Carrier, data: &[u8]) -> Report {
    inspect_with(carrier, &mut Cursor::new(data), &Options::default()).expect("inspect")
}

fn temp_file(name: &str, data: &[u8]) -> PathBuf {
    let name = name.replace('/', "-");
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("blind-{name}"));
    std::fs::write(&path, data).unwrap();
    path
}

/// The decoded pixels as ImageMagick reads them (RGBA, 8 bits), or `None` without `convert`.
fn pixels(path: &Path) -> Option<Vec<u8>> {
    let convert = tu::tool("convert")?;
    let target = format!("{}", path.display());
    Some(tu::run(
        &convert,
        &[target.as_ref(), "-depth".as_ref(), "8".as_ref(), "rgba:-".as_ref()],
    ))
}

/// What exiftool reads as `UserComment` (empty when the tag is absent), or `None` without it.
fn exiftool_user_comment(path: &Path) -> Option<String> {
    let exiftool = tu::tool("exiftool")?;
    let out = tu::run(&exiftool, &["-UserComment".as_ref(), "-b".as_ref(), path.as_os_str()]);
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// The XMP packet exiftool extracts, or `None` without it.
fn exiftool_xmp(path: &Path) -> Option<String> {
    let exiftool = tu::tool("exiftool")?;
    let out = tu::run(&exiftool, &["-XMP".as_ref(), "-b".as_ref(), path.as_os_str()]);
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn every_blind_spot_is_inspected_as_labelled_with_a_warning() {
    for case in &CASES {
        let input = std::fs::read(tu::fixture(case.file)).unwrap();
        let report = inspect(case.carrier, &input);
        assert_eq!(report.copies.len(), 1, "{}: {:#?}", case.file, report.copies);
        let copy = &report.copies[0];
        assert!(
            copy.carrier.starts_with(case.found_in),
            "{}: {}",
            case.file,
            copy.carrier
        );
        assert_eq!(copy.label(), Some(fixture_label()), "{}", case.file);
        let flag = copy.checks.iter().find(|c| c.id == case.flagged_by);
        assert_eq!(
            flag.map(|c| c.level),
            Some(Level::Warn),
            "{}: {:#?}",
            case.file,
            copy.checks
        );
        assert!(report.label().is_some(), "{}: the file is labelled", case.file);
    }
}

#[test]
fn embedding_into_a_blind_spot_leaves_one_label_in_the_standard_carrier() {
    let label = tu::sample_label();
    for case in &CASES {
        let input = std::fs::read(tu::fixture(case.file)).unwrap();
        let mut out = Vec::new();
        embed_with(
            case.carrier,
            &mut Cursor::new(&input),
            &mut out,
            &label,
            &Options::default(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", case.file));
        let report = inspect(case.carrier, &out);
        assert_eq!(report.copies.len(), 1, "{}: {:#?}", case.file, report.copies);
        let copy = &report.copies[0];
        assert!(
            copy.carrier.starts_with(case.written_to),
            "{}: {}",
            case.file,
            copy.carrier
        );
        assert_eq!(copy.label(), Some(label.clone()), "{}", case.file);
        assert!(
            copy.checks
                .iter()
                .all(|c| c.level == Level::Pass || c.id == id::COPIES_SINGLE),
            "{}: {:#?}",
            case.file,
            copy.checks
        );

        // Witnesses: exiftool reads the label from XMP in the standard namespace, and no longer
        // in UserComment; ImageMagick decodes the same pixels.
        let before = temp_file(&format!("in-{}", case.file), &input);
        let after = temp_file(&format!("out-{}", case.file), &out);
        if let Some(read) = tu::exiftool_aigc(&after) {
            assert_eq!(read, to_json(&label, Shape::Bare), "{}", case.file);
        }
        if let Some(comment) = exiftool_user_comment(&after) {
            assert!(
                !comment.contains("AIGC"),
                "{}: UserComment still {comment:?}",
                case.file
            );
        }
        if let Some(packet) = exiftool_xmp(&after) {
            assert!(!packet.contains("https://www.tc260"), "{}: {packet}", case.file);
            assert!(
                !packet.contains("AIGC/1.0'") && !packet.contains("AIGC/1.0\""),
                "{}: {packet}",
                case.file
            );
        }
        if let (Some(a), Some(b)) = (pixels(&before), pixels(&after)) {
            assert!(!a.is_empty(), "{}", case.file);
            assert!(a == b, "{}: the decoded pixels changed", case.file);
        }
    }
}

#[test]
fn the_fixtures_hold_what_exiftool_shows() {
    // The blind spots are real: exiftool shows each label where our reader now finds it.
    for case in CASES.iter().filter(|c| c.flagged_by == id::CARRIER_PLACE) {
        let path = tu::fixture(case.file);
        if let Some(comment) = exiftool_user_comment(&path) {
            assert_eq!(
                comment.trim_end_matches('\0'),
                to_json(&fixture_label(), Shape::Wrapped),
                "{}",
                case.file
            );
        }
    }
    for case in CASES.iter().filter(|c| c.flagged_by == id::XMP_NAMESPACE) {
        if let Some(packet) = exiftool_xmp(&tu::fixture(case.file)) {
            assert!(packet.contains("tc260.org.cn/ns/AIGC/1.0"), "{}", case.file);
            // exiftool shows it as TC260:AIGC even with the standard namespace configured.
            let shown = tu::exiftool_aigc(&tu::fixture(case.file));
            assert_eq!(shown, Some(to_json(&fixture_label(), Shape::Bare)), "{}", case.file);
        }
    }
}

/// Inspect and embed agree on damaged files: wherever a labelled file is cut, either inspect
/// reads the label cleanly and embed writes, or inspect flags every copy `structure.truncated`
/// (or fails) and embed refuses, saying why.
#[test]
fn inspect_and_embed_agree_on_every_cut_of_a_labelled_file() {
    let files: [(&dyn Carrier, &str); 7] = [
        (&Png, "png/label-xmp-element.png"),
        (&Jpeg, "jpeg/label-xmp-element.jpg"),
        (&WebP, "webp/label-xmp-first.webp"),
        (&aigc_label_image::Gif, "gif/label-xmp.gif"),
        (&Tiff, "tiff/label-page2.tif"),
        (&Heif, "heif/label-xmp.heic"),
        (&Heif, "heif/label-exif-usercomment.heic"),
    ];
    let label = tu::sample_label();
    for (carrier, rel) in files {
        let input = std::fs::read(tu::fixture(rel)).unwrap();
        let step = (input.len() / 25).max(1);
        let mut flagged = 0;
        for cut in (8..input.len()).step_by(step) {
            let data = &input[..cut];
            let report = inspect_with(carrier, &mut Cursor::new(data), &Options::default());
            let mut out = Vec::new();
            let embedded = embed_with(carrier, &mut Cursor::new(data), &mut out, &label, &Options::default());
            let truncated = |r: &Report| {
                r.copies
                    .iter()
                    .any(|c| c.checks.iter().any(|k| k.id == id::STRUCTURE_TRUNCATED))
            };
            match &report {
                Ok(r) if truncated(r) => {
                    flagged += 1;
                    assert!(
                        r.copies
                            .iter()
                            .all(|c| c.checks.iter().any(|k| k.id == id::STRUCTURE_TRUNCATED)),
                        "{rel} cut at {cut}: every copy is flagged"
                    );
                    let err = embedded.expect_err("embed refuses a file inspect flags as truncated");
                    assert!(!err.to_string().is_empty());
                }
                Ok(r) if !r.copies.is_empty() => {
                    assert!(
                        embedded.is_ok(),
                        "{rel} cut at {cut}: inspect reads it cleanly, embed fails: {embedded:?}"
                    );
                }
                // Nothing readable before the cut: embed may refuse the cut file or label it.
                Ok(_) => {}
                Err(e) => assert!(
                    embedded.is_err(),
                    "{rel} cut at {cut}: inspect fails ({e}), embed wrote"
                ),
            }
        }
        // The TIFF fixture's label is on its last page, which every cut loses.
        assert!(flagged > 0 || rel.ends_with(".tif"), "{rel}: no cut was read leniently");
    }
}

/// ImageMagick's raw profile named `app1` (the EXIF of an exiftool-labelled JPEG): read like the
/// `exif` one, and blanked when the label moves to XMP, the chunk staying a zTXt.
#[test]
fn an_imagemagick_raw_app1_profile_is_read_and_blanked() {
    let input = std::fs::read(tu::fixture("png/label-raw-profile-app1.png")).unwrap();
    let report = inspect(&Png, &input);
    assert_eq!(report.copies.len(), 1, "{:#?}", report.copies);
    assert_eq!(report.copies[0].label(), Some(fixture_label()));
    assert!(
        report.copies[0]
            .checks
            .iter()
            .any(|c| c.id == id::CARRIER_PLACE && c.level == Level::Warn)
    );
    let label = tu::sample_label();
    let mut out = Vec::new();
    embed_with(&Png, &mut Cursor::new(&input), &mut out, &label, &Options::default()).unwrap();
    let report = inspect(&Png, &out);
    assert_eq!(report.copies.len(), 1);
    assert_eq!(report.copies[0].label(), Some(label));
    assert!(
        out.windows(21).any(|w| w == b"Raw profile type app1"),
        "the profile stays"
    );
    // ImageMagick still reads the profile, now without the label.
    let after = temp_file("out-raw-app1.png", &out);
    if let Some(convert) = tu::tool("convert") {
        let profile = after.with_extension("app1");
        tu::run(&convert, &[after.as_os_str(), profile.as_os_str()]);
        let bytes = std::fs::read(&profile).unwrap();
        assert!(bytes.starts_with(b"Exif\0\0"));
        assert!(!bytes.windows(4).any(|w| w == b"AIGC"), "UserComment blanked");
    }
}
