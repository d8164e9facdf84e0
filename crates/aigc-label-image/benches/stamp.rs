//! Stamping a 4096x4096 RGBA buffer in memory.
//!
//! `blend_prepared` is the per-image (or per-frame) cost a pipeline pays when it keeps a
//! `PreparedLabel`: only the label's rectangle (about 1100x310 pixels here) is touched. `prepare`
//! is the one-off rasterisation; `draw` is both, as `Stamper::draw_rgba` does it. The target for
//! `blend_prepared` is under 1 ms.
//!
//! `stamp_jpeg_24mp`: a 6000x4000 JPEG (made here with the `image` encoder at quality 85, 4:2:0)
//! stamped by `stamp_file` in the DCT domain (entropy decode and encode of every block, only the
//! label's blocks transformed), next to a full decode, draw and encode of the same file with the
//! `image` crate.

use std::hint::black_box;
use std::io::Cursor;
use std::time::Duration;

use aigc_label_image::stamp::{FileOptions, Stamper, Style, stamp_file};
use criterion::{Criterion, criterion_group, criterion_main};
use image::codecs::jpeg::JpegEncoder;
use image::{ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};

const SIDE: u32 = 4096;

fn bench(c: &mut Criterion) {
    let stamper = Stamper::new(Style::default()).expect("default style");
    let label = stamper.prepare(SIDE, SIDE).expect("prepare");
    let mut image = RgbaImage::from_fn(SIDE, SIDE, |x, y| Rgba([(x % 251) as u8, (y % 241) as u8, 128, 255]));
    eprintln!(
        "label {}x{} px, font {:.1} px, ink {} px",
        label.width(),
        label.height(),
        label.font_px(),
        label.ink_height()
    );
    let mut group = c.benchmark_group("stamp_4096x4096_rgba");
    group.bench_function("blend_prepared", |b| {
        b.iter(|| black_box(label.draw_rgba(black_box(&mut image)).expect("blend")))
    });
    group.bench_function("prepare", |b| {
        b.iter(|| black_box(stamper.prepare(SIDE, SIDE).expect("prepare")))
    });
    group.bench_function("draw", |b| {
        b.iter(|| black_box(stamper.draw_rgba(black_box(&mut image)).expect("draw")))
    });
    group.finish();
}

/// A 6000x4000 JPEG that compresses like a photo (about 1 bit per pixel at quality 85): smooth
/// shading with fine grain.
fn jpeg_24mp() -> Vec<u8> {
    let (w, h) = (6000u32, 4000u32);
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let picture = RgbImage::from_fn(w, h, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let grain = (seed % 9) as f32 - 4.0;
        let (fx, fy) = (x as f32 / 6000.0, y as f32 / 4000.0);
        let shade =
            |a: f32, b: f32| (128.0 + 100.0 * (a * fx * 9.0 + b * fy * 7.0).sin() + grain).clamp(0.0, 255.0) as u8;
        Rgb([shade(1.0, 0.5), shade(0.7, 1.3), shade(1.9, 0.4)])
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 85)
        .write_image(picture.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .expect("encode");
    out
}

fn bench_jpeg(c: &mut Criterion) {
    let input = jpeg_24mp();
    let stamper = Stamper::new(Style::default()).expect("default style");
    let options = FileOptions::default();
    eprintln!("24 MP JPEG: {} bytes", input.len());
    let mut group = c.benchmark_group("stamp_jpeg_24mp");
    group.bench_function("dct_domain", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(input.len() + input.len() / 8);
            stamp_file(&mut Cursor::new(&input), &mut out, &stamper, None, &options).expect("stamp");
            black_box(out)
        })
    });
    group.bench_function("decode_draw_encode", |b| {
        b.iter(|| {
            let mut picture = image::load_from_memory(&input).expect("decode").to_rgb8();
            stamper.draw_rgb(&mut picture).expect("draw");
            let mut out = Vec::with_capacity(input.len());
            JpegEncoder::new_with_quality(&mut out, 85)
                .write_image(
                    picture.as_raw(),
                    picture.width(),
                    picture.height(),
                    image::ExtendedColorType::Rgb8,
                )
                .expect("encode");
            black_box(out)
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = bench
}

criterion_group! {
    name = jpeg;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5))
        .sample_size(10);
    targets = bench_jpeg
}
criterion_main!(benches, jpeg);
