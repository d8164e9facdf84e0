//! JPEG stamped in the DCT domain, witnessed by real tools: files made by cjpeg (qualities,
//! subsamplings, optimised tables, restart markers, grey, progressive), ImageMagick (CMYK) and
//! exiftool (EXIF, XMP, IPTC, ICC, comment); djpeg decodes them, exiftool lists their metadata,
//! tesseract
//! reads the label.

#[path = "support/stamp.rs"]
mod shared;

use std::io::Cursor;
use std::path::Path;

use aigc_label_core::inspect::{Options, inspect_with};
use aigc_label_image::Jpeg;
use aigc_label_image::stamp::{FileOptions, Rect, Rewrite, Stamper, Style, stamp_file};
use aigc_label_testutil::{fixture, run, sample_label, tool};
use shared::{assert_tags_kept, exiftool_tags, ocr, stamp, tmp};

/// A PNM file's header (width, height, channels) and samples.
fn parse_pnm(bytes: &[u8]) -> (usize, usize, usize, Vec<u8>) {
    let text = String::from_utf8_lossy(&bytes[..20.min(bytes.len())]).to_string();
    let mut fields = text.split_ascii_whitespace();
    let channels = match fields.next() {
        Some("P5") => 1,
        Some("P6") => 3,
        other => panic!("not binary PNM: {other:?}"),
    };
    let w: usize = fields.next().unwrap().parse().unwrap();
    let h: usize = fields.next().unwrap().parse().unwrap();
    let samples = bytes[bytes.len() - w * h * channels..].to_vec();
    (w, h, channels, samples)
}

/// Decodes with djpeg (default settings: fancy upsampling, the usual viewer path).
fn djpeg(djpeg: &Path, bytes: &[u8], name: &str) -> (usize, usize, usize, Vec<u8>) {
    let path = tmp(name);
    std::fs::write(&path, bytes).unwrap();
    parse_pnm(&run(djpeg, &["-pnm".as_ref(), path.as_os_str()]))
}

/// The MCU size of a JPEG (from its SOF0/1/2 sampling factors).
fn mcu_size(bytes: &[u8]) -> (u32, u32) {
    let sof = bytes
        .windows(2)
        .position(|w| w[0] == 0xFF && (0xC0..=0xC2).contains(&w[1]))
        .unwrap();
    let n = usize::from(bytes[sof + 9]);
    let (mut h, mut v) = (1, 1);
    for i in 0..n {
        let s = bytes[sof + 11 + 3 * i];
        h = h.max(u32::from(s >> 4));
        v = v.max(u32::from(s & 15));
    }
    (8 * h, 8 * v)
}

/// The label's rectangle in stored orientation (the report's is as displayed), for the EXIF
/// orientations the fixtures use (1 and 6).
fn stored_rect(r: Rect, orientation: u16, stored_h: u32) -> Rect {
    match orientation {
        6 => Rect {
            x: r.y,
            y: stored_h - r.x - r.width,
            width: r.height,
            height: r.width,
        },
        _ => r,
    }
}

/// `r` grown to whole MCUs, then by `extra` pixels each side (the reach of fancy upsampling).
fn block_aligned(r: Rect, (mw, mh): (u32, u32), extra: u32) -> Rect {
    let x0 = (r.x / mw * mw).saturating_sub(extra);
    let y0 = (r.y / mh * mh).saturating_sub(extra);
    let x1 = (r.x + r.width).div_ceil(mw) * mw + extra;
    let y1 = (r.y + r.height).div_ceil(mh) * mh + extra;
    Rect {
        x: x0,
        y: y0,
        width: x1 - x0,
        height: y1 - y0,
    }
}

/// The cjpeg settings `make.sh` made each fixture with.
fn cjpeg_settings(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "q75-420.jpg" | "metadata.jpg" => &["-quality", "75"],
        "q90-444.jpg" => &["-quality", "90", "-sample", "1x1"],
        "q50-422.jpg" => &["-quality", "50", "-sample", "2x1"],
        "q85-optimized.jpg" => &["-quality", "85", "-optimize"],
        "q80-restart.jpg" => &["-quality", "80", "-restart", "3"],
        "grey.jpg" => &["-quality", "85", "-grayscale"],
        "progressive.jpg" => &["-quality", "85", "-progressive"],
        "progressive-restart.jpg" => &["-quality", "70", "-progressive", "-restart", "1", "-sample", "1x1"],
        _ => return None,
    })
}

const FIXTURES: [&str; 10] = [
    "progressive.jpg",
    "progressive-restart.jpg",
    "q75-420.jpg",
    "q90-444.jpg",
    "q50-422.jpg",
    "q85-optimized.jpg",
    "q80-restart.jpg",
    "grey.jpg",
    "cmyk.jpg",
    "metadata.jpg",
];

#[test]
fn only_the_labels_blocks_change_and_the_file_keeps_its_size() {
    let Some(djpeg_path) = tool("djpeg") else { return };
    for name in FIXTURES {
        let input = std::fs::read(fixture(&format!("stamp/{name}"))).unwrap();
        let (out, report) = stamp(&input, None);
        let Rewrite::DctBlocks { blocks, .. } = report.rewrite else {
            panic!("{name}: not stamped in the DCT domain: {:?}", report.rewrite);
        };
        assert!(blocks > 0, "{name}");
        std::fs::write(tmp(&format!("stamped-{name}")), &out).unwrap();
        if name == "cmyk.jpg" {
            // djpeg cannot write CMYK as PNM; the image crate's decoder is the witness below.
            assert!(
                out.len() as f64 <= input.len() as f64 * 1.02 + 2048.0,
                "{name}: {} -> {}",
                input.len(),
                out.len()
            );
            continue;
        }
        let (w, h, channels, before) = djpeg(&djpeg_path, &input, &format!("in-{name}"));
        let (w2, h2, _, after) = djpeg(&djpeg_path, &out, &format!("out-{name}"));
        assert_eq!((w, h), (w2, h2));
        let orientation = if name == "metadata.jpg" { 6 } else { 1 };
        let (mw, mh) = mcu_size(&input);
        // Fancy upsampling blends each chroma sample with its neighbour: one pixel of reach.
        let extra = u32::from(mw > 8 || mh > 8);
        let area = block_aligned(stored_rect(report.stamped.rect, orientation, h as u32), (mw, mh), extra);
        let mut inside_changed = 0;
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) * channels;
                let same = before[i..i + channels] == after[i..i + channels];
                if area.contains(x as u32, y as u32) {
                    inside_changed += usize::from(!same);
                } else {
                    assert!(same, "{name}: pixel ({x}, {y}) outside {area:?} changed");
                }
            }
        }
        assert!(inside_changed > 1000, "{name}: only {inside_changed} pixels changed");
        // Size: within 2% plus the label's own bytes, measured as cjpeg measures them: what
        // cjpeg with the fixture's settings spends on the stamped picture over the original.
        let (Some(cjpeg), Some(args)) = (tool("cjpeg"), cjpeg_settings(name)) else {
            continue;
        };
        let reencode = |pixels: &[u8], tag: &str| {
            let path = tmp(&format!("{tag}-{name}.pnm"));
            let magic = if channels == 1 { "P5" } else { "P6" };
            let mut pnm = format!("{magic}\n{w} {h}\n255\n").into_bytes();
            pnm.extend_from_slice(pixels);
            std::fs::write(&path, pnm).unwrap();
            let mut a: Vec<&std::ffi::OsStr> = args.iter().map(|s| s.as_ref()).collect();
            a.push(path.as_os_str());
            run(&cjpeg, &a).len()
        };
        let label_bytes = reencode(&after, "after").saturating_sub(reencode(&before, "before"));
        let limit = input.len() as f64 * 1.02 + label_bytes as f64;
        eprintln!(
            "{name}: {} -> {} bytes ({blocks} blocks; the label costs cjpeg {label_bytes})",
            input.len(),
            out.len()
        );
        assert!(
            (out.len() as f64) <= limit,
            "{name}: {} -> {} bytes, limit {limit}",
            input.len(),
            out.len()
        );
    }
}

#[test]
fn cmyk_stays_cmyk_and_changes_only_under_the_label() {
    let input = std::fs::read(fixture("stamp/cmyk.jpg")).unwrap();
    let (out, report) = stamp(&input, None);
    let decode = |b: &[u8]| image::load_from_memory(b).unwrap().to_rgb8();
    let (before, after) = (decode(&input), decode(&out));
    // Sampled 2x2 (Y and K) and 1x1: 16x16 MCUs; fancy upsampling reaches one pixel further.
    let area = block_aligned(report.stamped.rect, mcu_size(&input), 1);
    let mut changed = 0;
    for (x, y, p) in after.enumerate_pixels() {
        if area.contains(x, y) {
            changed += usize::from(p != before.get_pixel(x, y));
        } else {
            assert_eq!(p, before.get_pixel(x, y), "({x}, {y})");
        }
    }
    assert!(changed > 1000);
    // Still four components with the Adobe marker.
    assert!(out.windows(5).any(|w| w == b"Adobe"));
    let sof = out.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    assert_eq!(out[sof + 9], 4);
}

#[test]
fn every_segment_but_the_scan_is_copied_and_metadata_survives() {
    let Some(exiftool) = tool("exiftool") else { return };
    let input = std::fs::read(fixture("stamp/metadata.jpg")).unwrap();
    let label = sample_label();
    let (out, report) = stamp(&input, Some(&label));
    assert!(report.implicit.is_some());
    // Without the implicit label: every byte before the scan data is the input's.
    let (plain, _) = stamp(&input, None);
    let sos = input.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    assert!(plain[..sos] == input[..sos], "segments before the scan differ");
    assert_eq!(plain[plain.len() - 2..], [0xFF, 0xD9]);
    // exiftool: everything the input had, with the same values; only the label is added.
    let before = exiftool_tags(&exiftool, &input, "meta-in.jpg");
    let after = exiftool_tags(&exiftool, &out, "meta-out.jpg");
    assert_tags_kept(&before, &after, &["File:CurrentIPTCDigest", "XMP-x:XMPToolkit"]);
    let read = inspect_with(&Jpeg, &mut Cursor::new(&out), &Options::default()).unwrap();
    assert_eq!(read.copies.len(), 1);
    assert_eq!(read.copies[0].label(), Some(label));
}

#[test]
fn an_existing_implicit_label_is_kept_byte_for_byte() {
    let input = std::fs::read(fixture("jpeg/label-xmp-element.jpg")).unwrap();
    // 64x48 is too small for the default legibility floor; a smaller floor still meets 5%.
    let mut style = Style::default();
    style.min_ink_px = 4;
    let stamper = Stamper::new(style).unwrap();
    let mut out = Vec::new();
    let report = stamp_file(
        &mut Cursor::new(&input),
        &mut out,
        &stamper,
        None,
        &FileOptions::default(),
    )
    .unwrap();
    assert!(matches!(report.rewrite, Rewrite::DctBlocks { .. }));
    let sos = input.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    assert!(out[..sos] == input[..sos], "segments before the scan differ");
}

#[test]
fn tesseract_reads_the_label_in_the_stamped_jpeg() {
    let Some(tesseract) = tool("tesseract") else { return };
    for name in ["q50-422.jpg", "grey.jpg", "cmyk.jpg", "metadata.jpg"] {
        let input = std::fs::read(fixture(&format!("stamp/{name}"))).unwrap();
        let (out, report) = stamp(&input, None);
        let mut decoder = image::codecs::jpeg::JpegDecoder::new(Cursor::new(&out)).unwrap();
        let orientation = image::ImageDecoder::orientation(&mut decoder).unwrap();
        let mut picture = image::DynamicImage::from_decoder(decoder).unwrap();
        picture.apply_orientation(orientation);
        let read = ocr(&tesseract, &picture, &report, name);
        assert!(read.contains("AI生成"), "{name}: tesseract read {read:?}");
    }
}
