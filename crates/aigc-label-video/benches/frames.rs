//! Stamping one 1920x1080 frame with a prepared label: the per-frame cost of an explicit label
//! (target under 0.2 ms for I420). Preparation (rasterising the glyphs) is measured separately.

use std::hint::black_box;
use std::time::Duration;

use aigc_label_image::stamp::Style;
use aigc_label_video::frames::{FrameSpec, FrameStamper, PixelFormat, Schedule};
use criterion::{Criterion, criterion_group, criterion_main};

fn stamp(c: &mut Criterion) {
    for format in [PixelFormat::I420, PixelFormat::Nv12, PixelFormat::Rgba8] {
        let spec = FrameSpec::with_fps(1920, 1080, format, 25, 1);
        let stamper = FrameStamper::new(spec, Style::default(), Schedule::default()).expect("stamper");
        let mut frame = vec![100u8; spec.frame_len().expect("frame size")];
        c.bench_function(&format!("stamp 1920x1080 {format:?}"), |b| {
            b.iter(|| stamper.stamp(black_box(&mut frame), black_box(10)).expect("stamp"))
        });
    }
    let spec = FrameSpec::with_fps(1920, 1080, PixelFormat::I420, 25, 1);
    c.bench_function("prepare 1920x1080 I420", |b| {
        b.iter(|| FrameStamper::new(black_box(spec), Style::default(), Schedule::default()).expect("stamper"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = stamp
}
criterion_main!(benches);
