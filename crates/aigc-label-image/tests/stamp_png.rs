//! PNG stamped in place, on files made by ImageMagick and exiftool: only the label's rectangle
//! changes, colour type and bit depth stay, every chunk but IDAT is copied where it was (PLTE
//! grows when the palette has room), exiftool lists the same metadata, tesseract reads the label.

#[path = "support/stamp.rs"]
mod shared;

use aigc_label_image::stamp::{PaletteChange, Rewrite};
use aigc_label_testutil::{fixture, sample_label, tool};
use shared::{assert_tags_kept, exiftool_tags, ocr, stamp};

/// (type, whole chunk bytes) in file order.
fn chunks(bytes: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 8;
    while pos + 12 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let kind: [u8; 4] = bytes[pos + 4..pos + 8].try_into().unwrap();
        out.push((kind, bytes[pos..pos + 12 + len].to_vec()));
        pos += 12 + len;
    }
    out
}

fn ihdr(bytes: &[u8]) -> Vec<u8> {
    bytes[16..29].to_vec()
}

const FIXTURES: [&str; 7] = [
    "interlaced.png",
    "rgb-text.png",
    "palette-room.png",
    "palette-4bit.png",
    "palette-full.png",
    "grey16.png",
    "rgba.png",
];

#[test]
fn only_the_rectangle_changes_and_every_other_chunk_is_copied() {
    for name in FIXTURES {
        let input = std::fs::read(fixture(&format!("stamp/{name}"))).unwrap();
        let (out, report) = stamp(&input, None);
        let Rewrite::ImageData { palette, deinterlaced } = report.rewrite else {
            panic!("{name}: not stamped in place: {:?}", report.rewrite);
        };
        let promoted = palette == Some(PaletteChange::Promoted);
        assert_eq!(deinterlaced, name == "interlaced.png", "{name}");
        if !promoted {
            let mut want = ihdr(&input);
            want[12] = 0;
            assert_eq!(ihdr(&out), want, "{name}: colour type or depth changed");
        }
        // Every chunk but IDAT (and PLTE/hIST when the palette changed) is the input's, in order.
        let keep = |k: &[u8; 4]| k != b"IDAT" && k != b"IHDR" && !(palette.is_some() && matches!(k, b"PLTE" | b"hIST"));
        let before: Vec<_> = chunks(&input).into_iter().filter(|(k, _)| keep(k)).collect();
        let after: Vec<_> = chunks(&out).into_iter().filter(|(k, _)| keep(k)).collect();
        assert!(before == after, "{name}: chunks other than IDAT changed");
        // Pixels: identical outside the label's rectangle (at 16 bits per channel), changed inside.
        let a = image::load_from_memory(&input).unwrap().to_rgba16();
        let b = image::load_from_memory(&out).unwrap().to_rgba16();
        let r = report.stamped.rect;
        let mut changed = 0;
        for (x, y, p) in b.enumerate_pixels() {
            if r.contains(x, y) {
                changed += usize::from(p != a.get_pixel(x, y));
            } else {
                assert_eq!(p, a.get_pixel(x, y), "{name}: ({x}, {y}) outside {r:?}");
            }
        }
        assert!(
            changed > (r.width * r.height / 3) as usize,
            "{name}: {changed} pixels changed"
        );
        if name == "palette-room.png" {
            let Some(PaletteChange::Extended(n)) = palette else {
                panic!("{name}: {palette:?}")
            };
            assert!((1..=4).contains(&n), "{name}: {n} colours added");
            let plte = |b: &[u8]| chunks(b).into_iter().find(|(k, _)| k == b"PLTE").unwrap().1.len();
            assert_eq!(plte(&out), plte(&input) + 3 * n);
        }
        if name == "palette-full.png" {
            // A full palette: reused (nearest colours with the contrast) or promoted, never grown.
            assert!(
                matches!(palette, Some(PaletteChange::Reused | PaletteChange::Promoted)),
                "{palette:?}"
            );
        }
    }
}

#[test]
fn text_chunks_phys_and_xmp_survive_with_the_label_added() {
    let Some(exiftool) = tool("exiftool") else { return };
    let input = std::fs::read(fixture("stamp/rgb-text.png")).unwrap();
    let label = sample_label();
    let (out, report) = stamp(&input, Some(&label));
    assert!(report.implicit.is_some());
    let before = exiftool_tags(&exiftool, &input, "text-in.png");
    let after = exiftool_tags(&exiftool, &out, "text-out.png");
    assert!(before.contains_key("PNG:Author") && before.contains_key("XMP-dc:Description"));
    assert_tags_kept(&before, &after, &["XMP-x:XMPToolkit"]);
}

#[test]
fn tesseract_reads_the_label_in_the_stamped_png() {
    let Some(tesseract) = tool("tesseract") else { return };
    for name in FIXTURES {
        let input = std::fs::read(fixture(&format!("stamp/{name}"))).unwrap();
        let (out, report) = stamp(&input, None);
        let picture = image::load_from_memory(&out).unwrap();
        let read = ocr(&tesseract, &picture, &report, name);
        assert!(read.contains("AI生成"), "{name}: tesseract read {read:?}");
    }
}
