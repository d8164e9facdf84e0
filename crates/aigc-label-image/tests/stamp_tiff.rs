//! TIFF stamped in place, on files made by ImageMagick, tiffcp and exiftool: only the label's
//! strips are rewritten, with the file's own compression; pixels outside the label, every tag
//! and the other pages stay; tesseract reads the label.

#[path = "support/stamp.rs"]
mod shared;

use std::path::Path;

use aigc_label_image::stamp::Rewrite;
use aigc_label_testutil::{fixture, run, sample_label, tool};
use shared::{assert_tags_kept, exiftool_tags, ocr, stamp, tmp};

/// The Compression tag of the first page (classic TIFF).
fn compression(bytes: &[u8]) -> u16 {
    let little = &bytes[..2] == b"II";
    let u16_at = |i: usize| {
        let b = [bytes[i], bytes[i + 1]];
        if little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        }
    };
    let u32_at = |i: usize| {
        let b = [bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]];
        if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let ifd = u32_at(4) as usize;
    (0..usize::from(u16_at(ifd)))
        .map(|i| ifd + 2 + 12 * i)
        .find(|&e| u16_at(e) == 259)
        .map_or(1, |e| u16_at(e + 8))
}

/// Page `page` as raw RGBA samples, decoded by ImageMagick.
fn magick_page(convert: &Path, bytes: &[u8], page: usize, name: &str) -> Vec<u8> {
    let path = tmp(name);
    std::fs::write(&path, bytes).unwrap();
    let arg = format!("{}[{page}]", path.display());
    run(
        convert,
        &[arg.as_ref(), "-depth".as_ref(), "8".as_ref(), "rgba:-".as_ref()],
    )
}

const FIXTURES: [&str; 7] = [
    "lzw.tif",
    "lzw-predictor.tif",
    "deflate.tif",
    "grey.tif",
    "rgba.tif",
    "multipage.tif",
    "metadata.tif",
];

#[test]
fn only_the_labels_strips_change_and_keep_their_compression() {
    for name in FIXTURES {
        let input = std::fs::read(fixture(&format!("stamp/{name}"))).unwrap();
        let (out, report) = stamp(&input, None);
        let Rewrite::Strips {
            strips,
            compression: kept,
        } = report.rewrite
        else {
            panic!("{name}: not stamped in place: {:?}", report.rewrite);
        };
        eprintln!(
            "{name}: {} -> {} bytes, {strips} strips rewritten",
            input.len(),
            out.len()
        );
        assert!(strips >= 1, "{name}");
        assert_eq!(
            (compression(&out), kept),
            (compression(&input), compression(&input)),
            "{name}"
        );
        let a = image::load_from_memory(&input).unwrap().to_rgba8();
        let b = image::load_from_memory(&out).unwrap().to_rgba8();
        let r = report.stamped.rect;
        let mut changed = 0;
        for (x, y, p) in b.enumerate_pixels() {
            if r.contains(x, y) {
                changed += usize::from(p != a.get_pixel(x, y));
            } else {
                assert_eq!(p, a.get_pixel(x, y), "{name}: ({x}, {y}) outside {r:?}");
            }
        }
        assert!(changed > (r.width * r.height / 3) as usize, "{name}: {changed} changed");
    }
}

#[test]
fn the_second_page_and_every_tag_survive() {
    let (Some(convert), Some(exiftool)) = (tool("convert"), tool("exiftool")) else {
        return;
    };
    let input = std::fs::read(fixture("stamp/multipage.tif")).unwrap();
    let (out, _) = stamp(&input, None);
    assert!(
        magick_page(&convert, &input, 1, "multi-in.tif") == magick_page(&convert, &out, 1, "multi-out.tif"),
        "page 2 changed"
    );
    for name in ["metadata.tif", "multipage.tif", "lzw-predictor.tif"] {
        let input = std::fs::read(fixture(&format!("stamp/{name}"))).unwrap();
        let (out, report) = stamp(&input, Some(&sample_label()));
        assert!(report.implicit.is_some());
        let before = exiftool_tags(&exiftool, &input, &format!("tags-in-{name}"));
        let after = exiftool_tags(&exiftool, &out, &format!("tags-out-{name}"));
        // Where the rewritten strips are is all that may differ.
        assert_tags_kept(&before, &after, &["IFD0:StripOffsets", "IFD0:StripByteCounts"]);
    }
}

#[test]
fn tesseract_reads_the_label_in_the_stamped_tiff() {
    let Some(tesseract) = tool("tesseract") else { return };
    for name in FIXTURES {
        let input = std::fs::read(fixture(&format!("stamp/{name}"))).unwrap();
        let (out, report) = stamp(&input, None);
        let picture = image::load_from_memory(&out).unwrap();
        let read = ocr(&tesseract, &picture, &report, name);
        assert!(read.contains("AI生成"), "{name}: tesseract read {read:?}");
    }
}
