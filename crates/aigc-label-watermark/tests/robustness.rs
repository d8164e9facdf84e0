//! The watermark against the attacks an upload meets, on generated pictures.
//!
//! Generated, not downloaded: smooth gradients, noise textures and shapes at about 512 px cover
//! the easy (textured) and hard (flat) cases for a luminance watermark. Each test asserts a
//! recovery count over the set, and PSNR against the original.

use aigc_label_watermark::{DEFAULT_STRENGTH, detect, detect_rotated, embed};
use image::RgbaImage;

mod common;

use common::{ATTACKS, picture, psnr, rotate};

/// Eight pictures of the four kinds at two sizes around 512 px, watermarked at the default
/// strength; every attack must leave the payload readable in at least 7 of the 8 and the
/// marks must keep PSNR at or above 40 dB.
#[test]
fn survives_the_attacks() {
    let mut failures = Vec::new();
    let mut report = String::new();
    let images: Vec<RgbaImage> = (0..8)
        .map(|k| {
            picture(
                k,
                if k < 4 { 512 } else { 640 },
                if k < 4 { 512 } else { 400 },
                100 + u64::from(k),
            )
        })
        .collect();
    let marked: Vec<(u64, RgbaImage)> = images
        .iter()
        .enumerate()
        .map(|(k, img)| {
            let payload = 0x9e37_79b9_7f4a_7c15u64.wrapping_mul(k as u64 + 1);
            (payload, embed(img, payload, DEFAULT_STRENGTH))
        })
        .collect();
    for (img, (_, m)) in images.iter().zip(&marked) {
        let p = psnr(img, m);
        report += &format!("psnr {p:.1}\n");
        assert!(p >= 40.0, "PSNR {p:.1} dB");
    }
    for (name, attack) in ATTACKS {
        let mut ok = 0;
        for (payload, m) in &marked {
            let found = detect(&attack(m));
            if found.map(|d| d.payload) == Some(*payload) {
                ok += 1;
            } else {
                assert!(found.is_none(), "{name}: wrong payload {found:?}");
            }
        }
        report += &format!("{name}: {ok}/{}\n", marked.len());
        if ok < 7 {
            failures.push(*name);
        }
    }
    eprintln!("{report}");
    assert!(failures.is_empty(), "too few recovered after {failures:?}\n{report}");
}

/// Small rotations (cropped back to a rectangle) defeat [`detect`] but not [`detect_rotated`],
/// which turns the picture back by whole degrees; unmarked pictures stay undetected by it.
#[test]
fn rotation_search_undoes_small_rotations() {
    let mut ok = 0;
    for (k, degrees) in [(0u32, 2.0f32), (1, -2.0), (2, 1.0), (3, 3.0), (5, -3.0)] {
        let img = picture(k, 560, 420, 40 + u64::from(k));
        assert_eq!(detect_rotated(&img, 3.0), None, "unmarked picture {k}");
        let payload = 0x1234_5678_9abc_def0 ^ u64::from(k);
        let turned = rotate(&embed(&img, payload, DEFAULT_STRENGTH), degrees);
        let found = detect_rotated(&turned, 3.0).map(|d| d.payload);
        assert!(found.is_none() || found == Some(payload), "{k}: {found:?}");
        ok += usize::from(found == Some(payload));
    }
    assert!(ok >= 4, "only {ok} of 5 rotated pictures recovered");
}

/// Plain [`detect`] searches small rotations itself: 1.5 to 2 degree turns either way come back
/// without the caller asking.
#[test]
fn detect_finds_small_rotations() {
    let mut ok = 0;
    for (k, degrees) in [(0u32, 2.0f32), (1, -2.0), (2, 1.5), (3, -1.5)] {
        let img = picture(k, 600, 450, 70 + u64::from(k));
        let payload = 0x0bad_cafe_0000_0000 | u64::from(k);
        let turned = rotate(&embed(&img, payload, DEFAULT_STRENGTH), degrees);
        let found = detect(&turned).map(|d| d.payload);
        assert!(found.is_none() || found == Some(payload), "{k}: {found:?}");
        ok += usize::from(found == Some(payload));
    }
    assert!(ok >= 3, "only {ok} of 4 rotated pictures recovered");
}

/// Rotations between the quick angles (and the straight search), on 4:3 pictures: `detect`
/// refines its guesses of a turned picture's crop, so 0.7 and 1 degree turns come back too.
#[test]
fn detect_finds_rotations_between_its_angles() {
    let mut ok = 0;
    let turns = [(0u32, 0.7f32), (1, -0.7), (2, 1.0), (3, -1.0), (1, 2.2), (3, -0.4)];
    for (k, degrees) in turns {
        let img = picture(k, 800, 600, 90 + u64::from(k));
        let payload = 0x5eed_0000_0000_0000 | u64::from(k) << 8 | degrees.to_bits() as u64 & 0xff;
        let turned = rotate(&embed(&img, payload, DEFAULT_STRENGTH), degrees);
        let found = detect(&turned).map(|d| d.payload);
        assert!(found.is_none() || found == Some(payload), "{k} {degrees}: {found:?}");
        ok += usize::from(found == Some(payload));
    }
    assert!(ok >= 5, "only {ok} of {} turned pictures recovered", turns.len());
}
