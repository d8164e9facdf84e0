//! Inspect and embed times on the worst-case files of `tests/hostile/files.rs`: for each
//! container family, more than 8 MiB of hundreds of thousands of (nearly) empty structures,
//! read from a file through the facade's file functions as a platform would. The target
//! (README, "Bounded work"): each under 0.5 s in release on a 2-core machine.

use std::hint::black_box;

use aigc_label::{Options, embed_file, inspect_file};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "../../tests/hostile/files.rs"]
mod files;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let label = aigc_label_testutil::sample_label();
    let options = Options::default();
    for hostile in files::all() {
        let ext = aigc_label::detect(std::io::Cursor::new(&hostile.bytes))
            .expect("detected")
            .extensions()[0];
        let input = dir.path().join(format!("input.{ext}"));
        let output = dir.path().join(format!("output.{ext}"));
        std::fs::write(&input, &hostile.bytes).expect("write input");

        let mut group = c.benchmark_group(hostile.name);
        group.throughput(Throughput::Bytes(hostile.bytes.len() as u64));
        group.sample_size(10);
        group.bench_function("inspect", |b| {
            b.iter(|| inspect_file(black_box(&input), &options).expect("inspect"))
        });
        group.bench_function("embed", |b| {
            b.iter(|| embed_file(black_box(&input), &output, &label, &options).expect("embed"))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
