//! Opt-in per-image diagnostics (`WM_PHOTOS=<dir> WM_ATTACKS=chain,jpeg50 cargo test -p
//! aigc-label-watermark --release --test diagnose -- --ignored --nocapture`): for each image
//! and attack, whether the payload came back, and if not whether synchronisation (the fit and
//! origin closest to the payload, its rank and template z) or decoding (code bits wrong there)
//! failed. `WM_PSNR` sets the embedding's target PSNR, `WM_GEN` how many generated pictures join
//! the photos (8 by default, 0 to iterate on a folder of hard photos); the WebP attack runs `cwebp -q 50` and
//! `dwebp` (Debian's `webp` package) and is a no-op without them.

mod common;

use aigc_label_watermark::{DEFAULT_PSNR, detect, diagnose, diagnose_at, embed_at_psnr};
use common::{ATTACKS, Attack, crop, picture, psnr, rotate, scale, webp_like};

const MORE: &[Attack] = &[
    ("scale0.3", |i| scale(i, 0.3)),
    ("crop60area-b", |i| crop(i, 0.2, 0.0, 0.0, 0.25)),
    ("rotate2", |i| rotate(i, 2.0)),
    ("rotate-1", |i| rotate(i, -1.0)),
    ("rotate1.5", |i| rotate(i, 1.5)),
    ("rotate-2.5", |i| rotate(i, -2.5)),
    ("rotate0.7", |i| rotate(i, 0.7)),
    ("webp50", |i| webp_like(i)),
];

/// The share of each axis an attack keeps (for the genie-synchronised diagnosis).
fn true_fraction(name: &str) -> Option<(f32, f32)> {
    match name {
        "crop10" => Some((0.8, 0.8)),
        "crop60area" => Some((0.78, 0.78)),
        "crop60area-b" => Some((0.8, 0.75)),
        "chain" => Some((0.9, 0.9)),
        _ => None,
    }
}

#[test]
#[ignore = "diagnostics: slow, run in release on demand"]
fn diagnose_misses() {
    let only: Option<Vec<String>> = std::env::var("WM_ATTACKS")
        .ok()
        .map(|s| s.split(',').map(str::to_owned).collect());
    let mut set = common::photos();
    for k in 0..std::env::var("WM_GEN")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8u32)
    {
        let (w, h) = [(512, 512), (1024, 768), (1920, 1080), (4000, 3000)][(k % 4) as usize];
        set.push((format!("generated-{k}-{w}x{h}"), picture(k, w, h, 300 + u64::from(k))));
    }
    let target: f32 = std::env::var("WM_PSNR")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_PSNR);
    let marked: Vec<(String, u64, image::RgbaImage)> = set
        .iter()
        .enumerate()
        .map(|(k, (name, img))| {
            let payload = 0x5851_f42d_4c95_7f2du64.wrapping_mul(k as u64 + 3);
            let m = embed_at_psnr(img, payload, target);
            println!("{name} {}x{} psnr {:.2}", img.width(), img.height(), psnr(img, &m));
            (name.clone(), payload, m)
        })
        .collect();
    for (name, attack) in ATTACKS.iter().chain(MORE) {
        if only.as_ref().is_some_and(|o| !o.iter().any(|a| a == name)) {
            continue;
        }
        let (mut ok, mut bits, mut code_errors) = (0, 0u32, 0usize);
        for (img_name, payload, m) in &marked {
            let attacked = attack(m);
            let found = detect(&attacked).map(|d| d.payload);
            let d = diagnose(&attacked, *payload);
            let right = if found == Some(*payload) {
                ok += 1;
                64
            } else {
                d.map_or(32, |d| d.payload_bits_right)
            };
            bits += right;
            code_errors += d.map_or(153, |d| d.code_errors);
            if found != Some(*payload) {
                println!("  {name} MISS {img_name}: {d:?}");
            }
            if let Some(f) = true_fraction(name) {
                let t = 128.0;
                if let Some(g) = diagnose_at(&attacked, *payload, (t / f.0, t / f.1)) {
                    println!(
                        "  {name} GENIE {img_name}: errors {} check {} z {:.1}",
                        g.code_errors, g.check_ok, g.z
                    );
                }
            }
        }
        println!(
            "{name:14} {ok:3}/{} bit accuracy {:.1}%, code bits wrong {:.1}%",
            marked.len(),
            100.0 * f64::from(bits) / (64.0 * marked.len() as f64),
            100.0 * code_errors as f64 / (306.0 * marked.len() as f64)
        );
    }
}
