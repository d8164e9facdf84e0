//! GIF stamped in place, on files made by ImageMagick and gifsicle: in every frame only the
//! label's rectangle changes, every block but the redrawn frames' image data is copied, the loop
//! count and comments survive, and tesseract reads the label.

#[path = "support/stamp.rs"]
mod shared;

use std::io::Cursor;

use aigc_label_image::stamp::Rewrite;
use aigc_label_testutil::{fixture, sample_label, tool};
use image::codecs::gif::GifDecoder;
use image::{AnimationDecoder, RgbaImage};
use shared::{assert_tags_kept, exiftool_tags, ocr, stamp};

/// Composited frames, as a viewer shows them.
fn frames(bytes: &[u8]) -> Vec<RgbaImage> {
    let decoder = GifDecoder::new(Cursor::new(bytes)).unwrap();
    decoder.into_frames().map(|f| f.unwrap().into_buffer()).collect()
}

/// The file without its image blocks (descriptor, colour table, LZW data): header, palettes,
/// every extension, the trailer.
fn non_image_bytes(bytes: &[u8]) -> Vec<u8> {
    let flags = bytes[10];
    let mut pos = 13 + if flags & 0x80 != 0 { 3 << ((flags & 7) + 1) } else { 0 };
    let mut out = bytes[..pos].to_vec();
    let skip_sub_blocks = |mut pos: usize| {
        while bytes[pos] != 0 {
            pos += 1 + usize::from(bytes[pos]);
        }
        pos + 1
    };
    loop {
        match bytes[pos] {
            0x21 => {
                let end = skip_sub_blocks(pos + 2);
                out.extend_from_slice(&bytes[pos..end]);
                pos = end;
            }
            0x2C => {
                let flags = bytes[pos + 9];
                pos += 10 + if flags & 0x80 != 0 { 3 << ((flags & 7) + 1) } else { 0 };
                pos = skip_sub_blocks(pos + 1);
            }
            _ => {
                out.extend_from_slice(&bytes[pos..]);
                return out;
            }
        }
    }
}

const FIXTURES: [&str; 5] = [
    "static.gif",
    "full-palette.gif",
    "animated-optimized.gif",
    "interlaced.gif",
    "transparent.gif",
];

#[test]
fn only_the_rectangle_changes_in_every_frame() {
    for name in FIXTURES {
        let input = std::fs::read(fixture(&format!("stamp/{name}"))).unwrap();
        let (out, report) = stamp(&input, None);
        let Rewrite::Frames {
            redrawn,
            palettes_added,
        } = report.rewrite
        else {
            panic!("{name}: not stamped in place: {:?}", report.rewrite);
        };
        eprintln!(
            "{name}: {} frames, {redrawn} redrawn, {palettes_added} palettes added",
            report.frames
        );
        assert!(redrawn >= 1, "{name}");
        assert!(
            non_image_bytes(&out) == non_image_bytes(&input),
            "{name}: a block other than image data changed"
        );
        let (before, after) = (frames(&input), frames(&out));
        assert_eq!(before.len(), after.len(), "{name}");
        assert_eq!(report.frames, before.len(), "{name}");
        let r = report.stamped.rect;
        for (i, (a, b)) in before.iter().zip(&after).enumerate() {
            let mut changed = 0;
            for (x, y, p) in b.enumerate_pixels() {
                if r.contains(x, y) {
                    changed += usize::from(p != a.get_pixel(x, y));
                } else {
                    assert_eq!(p, a.get_pixel(x, y), "{name} frame {i}: ({x}, {y}) outside {r:?}");
                }
            }
            assert!(
                changed > (r.width * r.height / 3) as usize,
                "{name} frame {i}: {changed} changed"
            );
        }
    }
}

#[test]
fn loop_count_comment_and_metadata_survive() {
    let Some(exiftool) = tool("exiftool") else { return };
    let input = std::fs::read(fixture("stamp/animated-optimized.gif")).unwrap();
    let (out, report) = stamp(&input, Some(&sample_label()));
    assert!(report.implicit.is_some());
    let before = exiftool_tags(&exiftool, &input, "anim-in.gif");
    let after = exiftool_tags(&exiftool, &out, "anim-out.gif");
    assert!(
        before.contains_key("GIF:AnimationIterations") && before.contains_key("File:Comment"),
        "{before:?}"
    );
    assert_tags_kept(&before, &after, &[]);
}

#[test]
fn tesseract_reads_the_label_in_the_stamped_gif() {
    let Some(tesseract) = tool("tesseract") else { return };
    for name in FIXTURES {
        let input = std::fs::read(fixture(&format!("stamp/{name}"))).unwrap();
        let (out, report) = stamp(&input, None);
        for (i, frame) in frames(&out).into_iter().enumerate() {
            let read = ocr(
                &tesseract,
                &image::DynamicImage::ImageRgba8(frame),
                &report,
                &format!("{name}-{i}"),
            );
            assert!(read.contains("AI生成"), "{name} frame {i}: tesseract read {read:?}");
        }
    }
}
