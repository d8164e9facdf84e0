//! Shared by the in-place stamp tests: stamping bytes, a scratch folder, exiftool's tag list and
//! the tesseract witness.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use aigc_label_core::Label;
use aigc_label_image::stamp::{FileOptions, FileReport, Stamper, Style, stamp_file};
use aigc_label_testutil::run;

/// Stamps `input` with the default style.
pub fn stamp(input: &[u8], label: Option<&Label>) -> (Vec<u8>, FileReport) {
    stamp_with(input, Style::default(), label)
}

pub fn stamp_with(input: &[u8], style: Style, label: Option<&Label>) -> (Vec<u8>, FileReport) {
    let stamper = Stamper::new(style).unwrap();
    let mut out = Vec::new();
    let report = stamp_file(
        &mut Cursor::new(input),
        &mut out,
        &stamper,
        label,
        &FileOptions::default(),
    )
    .unwrap();
    (out, report)
}

/// A path in this test binary's scratch folder.
pub fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stamp-in-place");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// exiftool's tags (group:name -> value), without those about the file itself.
pub fn exiftool_tags(exiftool: &Path, bytes: &[u8], name: &str) -> BTreeMap<String, String> {
    let path = tmp(name);
    std::fs::write(&path, bytes).unwrap();
    let out = run(
        exiftool,
        &[
            "-s".as_ref(),
            "-G1".as_ref(),
            "-a".as_ref(),
            "-b".as_ref(),
            "-j".as_ref(),
            path.as_os_str(),
        ],
    );
    let text = String::from_utf8(out).unwrap();
    let mut tags = BTreeMap::new();
    // One object, one "key": value per line.
    for line in text.lines() {
        let line = line.trim().trim_end_matches(',');
        let Some((k, v)) = line.split_once("\": ") else {
            continue;
        };
        let k = k.trim_start_matches('"').to_string();
        if k.starts_with("System:") || k == "SourceFile" || k == "ExifTool:ExifToolVersion" || k == "File:FileSize" {
            continue;
        }
        tags.insert(k, v.to_string());
    }
    tags
}

/// Asserts every tag of `before` is in `after` with the same value (but those in `except`), and
/// that `after` adds only the label's.
pub fn assert_tags_kept(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>, except: &[&str]) {
    for (k, v) in before {
        if !except.contains(&k.as_str()) {
            assert_eq!(after.get(k), Some(v), "{k}");
        }
    }
    for k in after.keys().filter(|k| !before.contains_key(*k)) {
        assert!(
            k.starts_with("XMP-TC260:") || k.contains("AIGC"),
            "unexpected new tag {k}"
        );
    }
}

/// OCR confuses the capital I of a sans-serif face with l, | or 1; map those back after an A.
pub fn normalise_ocr(text: &str) -> String {
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    squeezed.replace("Al", "AI").replace("A|", "AI").replace("A1", "AI")
}

/// What tesseract reads in `picture`'s rectangle, scaled so the CJK ink is about 40 px tall.
pub fn ocr(tesseract: &Path, picture: &image::DynamicImage, report: &FileReport, name: &str) -> String {
    let r = report.stamped.rect;
    let crop = picture.crop_imm(r.x, r.y, r.width, r.height).to_rgb8();
    let scale = 40.0 / report.stamped.ink_height as f32;
    let big = image::imageops::resize(
        &crop,
        (crop.width() as f32 * scale) as u32,
        (crop.height() as f32 * scale) as u32,
        image::imageops::FilterType::CatmullRom,
    );
    let path = tmp(&format!("ocr-{name}.png"));
    big.save(&path).unwrap();
    let text = run(
        tesseract,
        &[
            path.as_os_str(),
            "-".as_ref(),
            "-l".as_ref(),
            "chi_sim+eng".as_ref(),
            "--psm".as_ref(),
            "7".as_ref(),
        ],
    );
    normalise_ocr(&String::from_utf8_lossy(&text))
}
