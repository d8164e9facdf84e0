//! Opt-in evaluation over photos and bigger pictures (`cargo test -p aigc-label-watermark
//! --release --test evaluate -- --ignored --nocapture`): prints, per attack, how many payloads
//! came back exactly, and the PSNR of the marks (embedded at `DEFAULT_PSNR`). Photos come from
//! `WM_PHOTOS` (a folder of PNG and JPEG files, e.g. scikit-image's `skimage/data`, unpacked from its wheel with
//! `pip download scikit-image --no-deps`); generated pictures are always included.

mod common;

use aigc_label_watermark::{DEFAULT_PSNR, detect, detect_rotated, embed_at_psnr};
use common::{ATTACKS, Attack, crop, jpeg, picture, psnr, rotate, scale};
use image::RgbaImage;

/// Attacks beyond the test suite's: a stronger downscale, a crop keeping 60% of the area at
/// another position, JPEG 30, and a 2 degree rotation (which `detect` guesses; `detect_rotated` searches).
const MORE: &[Attack] = &[
    ("scale0.3", |i| scale(i, 0.3)),
    ("crop60area-b", |i| crop(i, 0.2, 0.0, 0.0, 0.25)),
    ("jpeg30", |i| jpeg(i, 30)),
    ("rotate2", |i| rotate(i, 2.0)),
];

#[test]
#[ignore = "evaluation: slow, run in release on demand"]
fn evaluate() {
    let mut set = common::photos();
    for k in 0..8u32 {
        let (w, h) = [(512, 512), (1024, 768), (1920, 1080), (4000, 3000)][(k % 4) as usize];
        set.push((format!("generated-{k}-{w}x{h}"), picture(k, w, h, 300 + u64::from(k))));
    }
    let marked: Vec<(String, u64, RgbaImage, f64)> = set
        .iter()
        .enumerate()
        .map(|(k, (name, img))| {
            let payload = 0x5851_f42d_4c95_7f2du64.wrapping_mul(k as u64 + 3);
            let m = embed_at_psnr(img, payload, DEFAULT_PSNR);
            let p = psnr(img, &m);
            (name.clone(), payload, m, p)
        })
        .collect();
    for (name, _, m, p) in &marked {
        println!("{name} {}x{} psnr {p:.1} dB", m.width(), m.height());
    }
    let mut false_detections = 0;
    for (_, img) in &set {
        false_detections += usize::from(detect(img).is_some());
    }
    println!("unmarked originals detected: {false_detections}/{}", set.len());
    for (name, attack) in ATTACKS.iter().chain(MORE) {
        let mut ok = 0;
        let mut missed = Vec::new();
        for (img_name, payload, m, _) in &marked {
            match detect(&attack(m)) {
                Some(d) if d.payload == *payload => ok += 1,
                Some(d) => panic!("{name} on {img_name}: wrong payload {:#x}", d.payload),
                None => missed.push(img_name.as_str()),
            }
        }
        println!("{name:14} {ok:3}/{} missed {missed:?}", marked.len());
    }
    // The rotation search, on the rotations and on the attacks that need none.
    for (name, attack) in [
        ("rotate2 (3°)", (|i| rotate(i, 2.0)) as fn(&RgbaImage) -> RgbaImage),
        ("rotate-1 (3°)", |i| rotate(i, -1.0)),
        ("rotate3 (3°)", |i| rotate(i, 3.0)),
        ("rot2+jpeg70 (3°)", |i| jpeg(&rotate(i, 2.0), 70)),
        ("jpeg50 (3°)", |i| jpeg(i, 50)),
    ] {
        let mut ok = 0;
        let mut missed = Vec::new();
        for (img_name, payload, m, _) in &marked {
            match detect_rotated(&attack(m), 3.0) {
                Some(d) if d.payload == *payload => ok += 1,
                Some(d) => panic!("{name} on {img_name}: wrong payload {:#x}", d.payload),
                None => missed.push(img_name.as_str()),
            }
        }
        println!("{name:14} {ok:3}/{} missed {missed:?}", marked.len());
    }
    let mut false_rotated = 0;
    for (_, img) in &set {
        false_rotated += usize::from(detect_rotated(img, 3.0).is_some());
    }
    println!(
        "unmarked originals detected with the rotation search: {false_rotated}/{}",
        set.len()
    );
    assert_eq!(false_detections + false_rotated, 0);
}
