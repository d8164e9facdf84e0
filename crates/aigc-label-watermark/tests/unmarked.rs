//! What must not detect: unmarked pictures and crops of them, and hostile shapes and sizes.

mod common;

use aigc_label_watermark::{DEFAULT_STRENGTH, MIN_SIDE, detect, embed};
use common::{Rng, picture};
use image::{Rgba, RgbaImage, imageops};

/// 320 unmarked images: 40 generated pictures of every kind at sizes from 160 to 460 px, each
/// whole, cropped four ways and resized three ways. The check allows a false detection with
/// probability below 3e-9 per image, so any detection here is a bug.
#[test]
fn no_detection_on_unmarked_pictures() {
    let mut rng = Rng(2025);
    let mut checked = 0;
    for k in 0..40u32 {
        let (w, h) = (160 + (rng.next() % 300) as u32, 160 + (rng.next() % 300) as u32);
        let img = picture(k, w, h, 1000 + u64::from(k));
        let cut = |l: f32, t: f32, r: f32, b: f32| {
            let (fw, fh) = (w as f32, h as f32);
            let (x, y) = ((fw * l) as u32, (fh * t) as u32);
            imageops::crop_imm(&img, x, y, (fw * (1.0 - l - r)) as u32, (fh * (1.0 - t - b)) as u32).to_image()
        };
        let variants = [
            img.clone(),
            cut(0.1, 0.1, 0.1, 0.1),
            cut(0.0, 0.3, 0.2, 0.0),
            cut(0.25, 0.0, 0.0, 0.25),
            cut(0.05, 0.05, 0.3, 0.2),
            imageops::resize(&img, w / 2, h / 2, imageops::FilterType::Triangle),
            imageops::resize(&img, w * 3 / 2, h, imageops::FilterType::Triangle),
            imageops::resize(&img, 700, 500, imageops::FilterType::Nearest),
        ];
        for v in &variants {
            assert_eq!(
                detect(v),
                None,
                "picture {k} ({w}x{h}) variant {}x{}",
                v.width(),
                v.height()
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 320);
}

/// Pictures that stress the synchronisation: strong periodic content at and near the tile
/// period, flat and saturated images, pure noise. None is marked, none may detect; a marked
/// one with the same content still does (where the content leaves room for the mark).
#[test]
fn periodic_flat_and_noise_pictures() {
    let mut rng = Rng(9);
    let cases: Vec<(&str, RgbaImage)> = vec![
        ("black", RgbaImage::from_pixel(512, 512, Rgba([0, 0, 0, 255]))),
        ("white", RgbaImage::from_pixel(512, 512, Rgba([255, 255, 255, 255]))),
        ("grey", RgbaImage::from_pixel(300, 700, Rgba([128, 128, 128, 0]))),
        (
            "checker 128",
            RgbaImage::from_fn(512, 512, |x, y| {
                Rgba(if (x / 128 + y / 128) % 2 == 0 {
                    [30; 4]
                } else {
                    [220; 4]
                })
            }),
        ),
        (
            "checker 4",
            RgbaImage::from_fn(512, 512, |x, y| {
                Rgba(if (x / 4 + y / 4) % 2 == 0 { [30; 4] } else { [220; 4] })
            }),
        ),
        (
            "stripes 140",
            RgbaImage::from_fn(600, 600, |x, _| Rgba([((x % 140) * 255 / 140) as u8; 4])),
        ),
        (
            "noise",
            RgbaImage::from_fn(512, 512, |_, _| {
                Rgba([rng.next() as u8, rng.next() as u8, rng.next() as u8, 255])
            }),
        ),
    ];
    for (name, img) in &cases {
        assert_eq!(detect(img), None, "{name}");
    }
    let grey = &cases[2].1;
    let marked = embed(grey, 42, DEFAULT_STRENGTH);
    assert_eq!(detect(&marked).map(|d| d.payload), Some(42));
    // Alpha is the caller's business: kept exactly.
    assert!(marked.pixels().all(|p| p.0[3] == 0));
}

/// Degenerate and extreme sizes: no panic, no detection, and the work stays bounded (the
/// detector reads each pixel once, then works on a fixed grid).
#[test]
fn hostile_sizes() {
    for (w, h) in [
        (0, 0),
        (1, 1),
        (0, 500),
        (MIN_SIDE - 1, 4000),
        (4000, MIN_SIDE - 1),
        (1, 200_000),
    ] {
        let img = RgbaImage::from_pixel(w, h, Rgba([10, 200, 30, 255]));
        assert_eq!(detect(&img), None, "{w}x{h}");
        // Embedding never panics either, whatever the size.
        let marked = embed(&img, 7, DEFAULT_STRENGTH);
        assert_eq!(marked.dimensions(), (w, h));
    }
    // At the minimum side the chips are finer than the pixels, so the mark may not survive
    // embedding, but nothing else may come out.
    for (w, h) in [(MIN_SIDE, 20_000), (20_000, MIN_SIDE), (MIN_SIDE, MIN_SIDE)] {
        let img = picture(1, w, h, 5);
        assert_eq!(detect(&img), None, "{w}x{h}");
        let found = detect(&embed(&img, 0xabc, DEFAULT_STRENGTH)).map(|d| d.payload);
        assert!(matches!(found, None | Some(0xabc)), "{w}x{h}: {found:?}");
    }
    // Extreme aspect ratios with room for the chips (a smooth banner): marked, they are found.
    for (w, h) in [(256, 12_000), (12_000, 256)] {
        let img = picture(0, w, h, 6);
        assert_eq!(detect(&img), None, "{w}x{h}");
        let marked = embed(&img, 0xabc, DEFAULT_STRENGTH);
        assert_eq!(detect(&marked).map(|d| d.payload), Some(0xabc), "{w}x{h}");
    }
    // Strength that is not a positive number changes nothing.
    let img = picture(0, 100, 100, 1);
    for s in [0.0, -3.0, f32::NAN, f32::INFINITY] {
        assert_eq!(embed(&img, 1, s), img);
    }
}
