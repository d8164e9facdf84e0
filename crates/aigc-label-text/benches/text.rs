//! Throughput of the paths a chat service runs on every answer: the streaming adapter and the
//! label detector, over a 1 MB answer.

use aigc_label_text::detect::find_labels;
use aigc_label_text::{LabelStream, Position, TextStyle};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn answer() -> String {
    "人工智能的发展日新月异，AI 生成式模型的研究也在深入。Regulating AI-generated content is hard. ".repeat(8_000)
}

fn bench(c: &mut Criterion) {
    let text = answer();
    let mut group = c.benchmark_group("text");
    group.throughput(Throughput::Bytes(text.len() as u64));
    let style = TextStyle::default().at(Position::StartAndEnd);
    group.bench_function("label_stream_1MB_in_16B_tokens", |b| {
        b.iter(|| {
            let chunks = text.as_bytes().chunks(16);
            LabelStream::new(chunks, &style).map(|s| s.len()).sum::<usize>()
        })
    });
    group.bench_function("find_labels_1MB", |b| b.iter(|| find_labels(&text).len()));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
