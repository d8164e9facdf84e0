//! Stamping a 4096x4096 RGBA buffer in memory.
//!
//! `blend_prepared` is the per-image (or per-frame) cost a pipeline pays when it keeps a
//! `PreparedLabel`: only the label's rectangle (about 1100x310 pixels here) is touched. `prepare`
//! is the one-off rasterisation; `draw` is both, as `Stamper::draw_rgba` does it. The target for
//! `blend_prepared` is under 1 ms.

use std::hint::black_box;
use std::time::Duration;

use aigc_label_image::stamp::{Stamper, Style};
use criterion::{Criterion, criterion_group, criterion_main};
use image::{Rgba, RgbaImage};

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

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = bench
}
criterion_main!(benches);
