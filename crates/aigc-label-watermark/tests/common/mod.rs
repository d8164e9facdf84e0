//! Generated test pictures and a small deterministic generator, shared by the test files.
#![allow(dead_code)]

use image::{Rgba, RgbaImage, imageops};

/// A small deterministic generator (SplitMix64) for textures and noise.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    pub fn gauss(&mut self) -> f32 {
        let (u, v) = (self.unit().max(1e-7), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

/// Value noise: random values on a coarse grid, interpolated; `cell` sets the grain.
fn value_noise(w: u32, h: u32, cell: u32, seed: u64) -> Vec<f32> {
    let mut rng = Rng(seed);
    let (gw, gh) = (w / cell + 2, h / cell + 2);
    let grid: Vec<f32> = (0..gw * gh).map(|_| rng.unit()).collect();
    let mut out = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 / cell as f32, y as f32 / cell as f32);
            let (ix, iy) = (fx as u32, fy as u32);
            let (tx, ty) = (fx - ix as f32, fy - iy as f32);
            let g = |i: u32, j: u32| grid[(j * gw + i) as usize];
            let top = g(ix, iy) * (1.0 - tx) + g(ix + 1, iy) * tx;
            let bottom = g(ix, iy + 1) * (1.0 - tx) + g(ix + 1, iy + 1) * tx;
            out.push(top * (1.0 - ty) + bottom * ty);
        }
    }
    out
}

/// The test pictures: `kind` picks gradient, texture, shapes or a mix.
pub fn picture(kind: u32, w: u32, h: u32, seed: u64) -> RgbaImage {
    let coarse = value_noise(w, h, 48, seed);
    let fine = value_noise(w, h, 3, seed ^ 0x55);
    let mut rng = Rng(seed);
    let circles: Vec<(f32, f32, f32, [u8; 3])> = (0..12)
        .map(|_| {
            let c = [rng.next() as u8, rng.next() as u8, rng.next() as u8];
            (
                rng.unit() * w as f32,
                rng.unit() * h as f32,
                20.0 + rng.unit() * 90.0,
                c,
            )
        })
        .collect();
    RgbaImage::from_fn(w, h, |x, y| {
        let i = (y * w + x) as usize;
        let (gx, gy) = (x as f32 / w as f32, y as f32 / h as f32);
        let base = match kind % 4 {
            0 => [40.0 + 170.0 * gx, 60.0 + 120.0 * gy, 200.0 - 150.0 * gx * gy],
            1 => {
                let t = 30.0 + 190.0 * coarse[i] + 40.0 * (fine[i] - 0.5);
                [t, t * 0.8 + 20.0, t * 0.6 + 40.0]
            }
            2 => [200.0, 190.0, 170.0],
            _ => {
                let t = 60.0 + 120.0 * coarse[i] + 70.0 * (fine[i] - 0.5);
                [t * 0.9, t, 100.0 + 80.0 * gx]
            }
        };
        let mut px = base.map(|v| v.clamp(0.0, 255.0) as u8);
        if kind % 4 >= 2 {
            for &(cx, cy, r, c) in &circles {
                if (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) < r * r {
                    px = c;
                }
            }
        }
        Rgba([px[0], px[1], px[2], 255])
    })
}

pub fn psnr(a: &RgbaImage, b: &RgbaImage) -> f64 {
    let mut se = 0.0f64;
    let mut n = 0.0f64;
    for (p, q) in a.pixels().zip(b.pixels()) {
        for c in 0..3 {
            se += (f64::from(p.0[c]) - f64::from(q.0[c])).powi(2);
            n += 1.0;
        }
    }
    10.0 * (255.0f64.powi(2) / (se / n).max(1e-12)).log10()
}

pub fn jpeg(img: &RgbaImage, quality: u8) -> RgbaImage {
    let rgb = image::DynamicImage::ImageRgba8(img.clone()).to_rgb8();
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality)
        .encode_image(&rgb)
        .unwrap();
    image::load_from_memory(&bytes).unwrap().to_rgba8()
}

pub fn scale(img: &RgbaImage, f: f32) -> RgbaImage {
    let (w, h) = ((img.width() as f32 * f) as u32, (img.height() as f32 * f) as u32);
    imageops::resize(img, w, h, imageops::FilterType::Triangle)
}

pub fn crop(img: &RgbaImage, left: f32, top: f32, right: f32, bottom: f32) -> RgbaImage {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let (x, y) = ((w * left) as u32, (h * top) as u32);
    let (cw, ch) = ((w * (1.0 - left - right)) as u32, (h * (1.0 - top - bottom)) as u32);
    imageops::crop_imm(img, x, y, cw, ch).to_image()
}

pub fn tone(img: &RgbaImage, gain: f32, offset: f32) -> RgbaImage {
    let mut out = img.clone();
    for p in out.pixels_mut() {
        for c in &mut p.0[..3] {
            *c = ((f32::from(*c) - 128.0) * gain + 128.0 + offset)
                .round()
                .clamp(0.0, 255.0) as u8;
        }
    }
    out
}

pub fn noise(img: &RgbaImage, sigma: f32, seed: u64) -> RgbaImage {
    let mut rng = Rng(seed);
    let mut out = img.clone();
    for p in out.pixels_mut() {
        for c in &mut p.0[..3] {
            *c = (f32::from(*c) + sigma * rng.gauss()).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

pub type Attack = (&'static str, fn(&RgbaImage) -> RgbaImage);

pub const ATTACKS: &[Attack] = &[
    ("none", |i| i.clone()),
    ("jpeg50", |i| jpeg(i, 50)),
    ("scale0.5", |i| scale(i, 0.5)),
    ("crop10", |i| crop(i, 0.1, 0.1, 0.1, 0.1)),
    ("crop60area", |i| crop(i, 0.05, 0.17, 0.17, 0.05)),
    ("bright+20%", |i| tone(i, 1.0, 0.2 * 128.0)),
    ("bright-20%", |i| tone(i, 1.0, -0.2 * 128.0)),
    ("contrast+20%", |i| tone(i, 1.2, 0.0)),
    ("contrast-20%", |i| tone(i, 0.8, 0.0)),
    ("noise5", |i| noise(i, 5.0, 7)),
    ("chain", |i| crop(&jpeg(&scale(i, 0.5), 70), 0.05, 0.05, 0.05, 0.05)),
];

/// Rotation by `degrees` about the centre (bilinear), cropped to the largest centred rectangle
/// of the original aspect ratio that holds no corner fill.
pub fn rotate(img: &RgbaImage, degrees: f32) -> RgbaImage {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let (s, c) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w / 2.0, h / 2.0);
    let rotated = RgbaImage::from_fn(img.width(), img.height(), |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        let (sx, sy) = (c * dx + s * dy + cx - 0.5, -s * dx + c * dy + cy - 0.5);
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let at = |xx: f32, yy: f32, ch: usize| {
            let xi = xx.clamp(0.0, w - 1.0) as u32;
            let yi = yy.clamp(0.0, h - 1.0) as u32;
            f32::from(img.get_pixel(xi, yi).0[ch])
        };
        let mut out = [0u8; 4];
        for (ch, o) in out.iter_mut().enumerate() {
            let top = at(x0, y0, ch) * (1.0 - fx) + at(x0 + 1.0, y0, ch) * fx;
            let bottom = at(x0, y0 + 1.0, ch) * (1.0 - fx) + at(x0 + 1.0, y0 + 1.0, ch) * fx;
            *o = (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8;
        }
        Rgba(out)
    });
    // Shrinking by |sin| * (w + h) / min side keeps the corners out (a safe bound).
    let (sa, ca) = (s.abs(), c.abs());
    let k = 1.0 / (ca + sa * (w / h).max(h / w));
    let margin = (1.0 - k) / 2.0;
    crop(&rotated, margin, margin, margin, margin)
}

/// The photos in `WM_PHOTOS` (PNG and JPEG, at least 256 px a side), sorted by name.
pub fn photos() -> Vec<(String, RgbaImage)> {
    let Some(dir) = std::env::var_os("WM_PHOTOS") else {
        return Vec::new();
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let ext = p
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        if !["png", "jpg", "jpeg"].contains(&ext.as_str()) {
            continue;
        }
        if let Ok(img) = image::open(&p) {
            let img = img.to_rgba8();
            // Tiny drawings (chessboards, phantoms) are not photos.
            if img.width() >= 256 && img.height() >= 256 {
                out.push((p.file_name().unwrap().to_string_lossy().into_owned(), img));
            }
        }
    }
    out
}

/// A WebP-50-like loss without a WebP encoder in the tree: `cwebp -q 50` through a temporary
/// file when the tool is installed, else the picture unchanged.
pub fn webp_like(img: &RgbaImage) -> RgbaImage {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let k = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir();
    let (png, webp) = (
        dir.join(format!("wm-{}-{k}.png", std::process::id())),
        dir.join(format!("wm-{}-{k}.webp", std::process::id())),
    );
    img.save(&png).unwrap();
    let ok = std::process::Command::new("cwebp")
        .args(["-quiet", "-q", "50"])
        .arg(&png)
        .arg("-o")
        .arg(&webp)
        .status()
        .is_ok_and(|s| s.success());
    let out = if ok {
        let dec = dir.join(format!("wm-{}-{k}.dec.png", std::process::id()));
        let done = std::process::Command::new("dwebp")
            .arg("-quiet")
            .arg(&webp)
            .arg("-o")
            .arg(&dec)
            .status()
            .is_ok_and(|s| s.success());
        let r = if done {
            image::open(&dec).unwrap().to_rgba8()
        } else {
            img.clone()
        };
        let _ = std::fs::remove_file(&dec);
        r
    } else {
        img.clone()
    };
    let _ = std::fs::remove_file(&png);
    let _ = std::fs::remove_file(&webp);
    out
}
