//! Regenerates the sample pictures in `docs/stamped/`: the default explicit label on light,
//! dark, noisy, portrait and landscape images (480 px on the long side), plus an outline style.
//!
//! Run from anywhere: `cargo run -p aigc-label-image --example stamp_samples`. The backgrounds
//! are drawn here from fixed formulas and a fixed-seed generator, so the output is the same on
//! every run.

use std::path::PathBuf;

use aigc_label_image::stamp::{Backing, Position, Stamper, Style};
use image::{Rgba, RgbaImage};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/stamped");
    std::fs::create_dir_all(&out)?;
    let default = Style::default();
    let samples: [(&str, RgbaImage, Style); 6] = [
        ("light", light(480, 320), default.clone()),
        ("dark", dark(480, 320), default.clone().at(Position::TopRight)),
        ("noisy", noisy(480, 320), default.clone().at(Position::BottomLeft)),
        (
            "portrait",
            bands(270, 480),
            Style::with_text("人工智能生成")?.at(Position::Bottom),
        ),
        ("landscape", hills(480, 200), default.clone().at(Position::TopLeft)),
        (
            "outline",
            light(480, 320),
            Style::with_text("【AI合成】")?.backing(Backing::Outline {
                colour: Rgba([0, 0, 0, 255]),
            }),
        ),
    ];
    for (name, mut image, style) in samples {
        let stamped = Stamper::new(style)?.draw_rgba(&mut image)?;
        let path = out.join(format!("{name}.png"));
        image.save(&path)?;
        println!(
            "{}: {}x{}, label at {:?}, {:.1} px font, {} px ink",
            path.display(),
            image.width(),
            image.height(),
            stamped.rect,
            stamped.font_px,
            stamped.ink_height
        );
    }
    Ok(())
}

/// A pale sky: blue at the top fading to warm white.
fn light(w: u32, h: u32) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, y| {
        let t = y as f32 / h as f32;
        let glow = (-(((x as f32 - w as f32 * 0.7).powi(2) + (y as f32 - h as f32 * 0.8).powi(2)) / 9000.0)).exp();
        let r = 190.0 + 60.0 * t + 5.0 * glow;
        let g = 215.0 + 30.0 * t + 10.0 * glow;
        let b = 250.0 - 20.0 * t;
        Rgba([r.min(255.0) as u8, g.min(255.0) as u8, b.min(255.0) as u8, 255])
    })
}

/// Night: dark blue with scattered stars.
fn dark(w: u32, h: u32) -> RgbaImage {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut image = RgbaImage::from_fn(w, h, |_, y| {
        let t = y as f32 / h as f32;
        Rgba([
            (8.0 + 10.0 * t) as u8,
            (10.0 + 14.0 * t) as u8,
            (30.0 + 30.0 * t) as u8,
            255,
        ])
    });
    for _ in 0..160 {
        let (x, y) = (rng.next() as u32 % w, rng.next() as u32 % h);
        let v = 150 + (rng.next() % 105) as u8;
        image.put_pixel(x, y, Rgba([v, v, v, 255]));
    }
    image
}

/// Uniform RGB noise: the hardest background for legibility.
fn noisy(w: u32, h: u32) -> RgbaImage {
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    RgbaImage::from_fn(w, h, |_, _| {
        let v = rng.next().to_le_bytes();
        Rgba([v[0], v[1], v[2], 255])
    })
}

/// Saturated vertical colour bands.
fn bands(w: u32, h: u32) -> RgbaImage {
    const COLOURS: [[u8; 3]; 6] = [
        [230, 57, 70],
        [241, 250, 238],
        [168, 218, 220],
        [69, 123, 157],
        [29, 53, 87],
        [255, 183, 3],
    ];
    RgbaImage::from_fn(w, h, |x, y| {
        let band = ((x + y / 3) / 30) as usize % COLOURS.len();
        let [r, g, b] = COLOURS[band];
        Rgba([r, g, b, 255])
    })
}

/// Green hills under a sky.
fn hills(w: u32, h: u32) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, y| {
        let (xf, yf) = (x as f32, y as f32);
        let ridge = h as f32 * 0.55 + 18.0 * (xf / 40.0).sin() + 10.0 * (xf / 17.0).cos();
        if yf > ridge {
            let shade = ((yf - ridge) / h as f32 * 80.0) as u8;
            Rgba([40 + shade / 2, 120 - shade / 2, 50, 255])
        } else {
            Rgba([135, 190 + (yf / h as f32 * 40.0) as u8, 235, 255])
        }
    })
}

/// A small fixed-seed generator, so the pictures do not change between runs.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
