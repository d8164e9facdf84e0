//! Embed and inspect on small and large PNG and JPEG files, in memory.
//!
//! Small inputs are the bundled samples (a few KB); large ones are made at start-up: a 16 MB PNG
//! (stored deflate) and a 4096x4096 JPEG of noise. Both operations walk the container without
//! decoding, so time should follow the number of structures, plus a copy for embed.

use std::hint::black_box;
use std::io::Cursor;

use aigc_label::{Label, Options, embed, inspect};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    let samples = aigc_label_testutil::workspace_root().join("examples/samples");
    let small_png = std::fs::read(samples.join("sample.png")).expect("sample.png");
    let small_jpeg = std::fs::read(samples.join("sample.jpg")).expect("sample.jpg");
    let mut large_png = Vec::new();
    aigc_label_testutil::synthetic_png(&mut large_png, 2048, 2048).expect("synthetic png");
    let mut seed = 0x2545_f491_u32;
    let noise = image::RgbImage::from_fn(4096, 4096, |_, _| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        image::Rgb([seed as u8, (seed >> 8) as u8, (seed >> 16) as u8])
    });
    let mut large_jpeg = Vec::new();
    noise
        .write_to(&mut Cursor::new(&mut large_jpeg), image::ImageFormat::Jpeg)
        .expect("encode jpeg");
    vec![
        ("png/small", small_png),
        ("png/large", large_png),
        ("jpeg/small", small_jpeg),
        ("jpeg/large", large_jpeg),
    ]
}

fn bench(c: &mut Criterion) {
    let label = Label::new("001191440300708461136T1XGW3", "bench-0001");
    let options = Options::default();
    for (name, input) in inputs() {
        let mut labelled = Vec::new();
        embed(Cursor::new(&input), &mut labelled, &label, &options).expect("embed");

        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.sample_size(if input.len() > 1 << 20 { 20 } else { 100 });
        group.bench_function("embed", |b| {
            let mut out = Vec::with_capacity(input.len() + 8192);
            b.iter(|| {
                out.clear();
                embed(Cursor::new(black_box(&input)), &mut out, &label, &options).expect("embed")
            })
        });
        group.bench_function("inspect", |b| {
            b.iter(|| inspect(Cursor::new(black_box(&labelled)), &options).expect("inspect"))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
