//! What verification adds to `inspect` per file: for each bundled sample, `inspect` alone and
//! `inspect` followed by verifying the signed, bound label it found (signatures, trust list,
//! the carrier's binding exclusions and the digest over the rest of the file), and the cost of
//! each algorithm on one PNG.

use std::hint::black_box;
use std::io::Cursor;

use aigc_label::core::inspect::{Options, inspect_with};
use aigc_label::trust::{Algorithm, SignSpec, SigningKey, TrustList, TrustVerdict, embed_signed, verify_copy};
use aigc_label::{Carrier, Label, Limits, registry};
use criterion::{Criterion, criterion_group, criterion_main};

const PRODUCER: &str = "001191440300708461136T1XGW3";
const PLATFORM: &str = "001191110108551385082Q20000";
const SAMPLES: &[&str] = &[
    "sample.png",
    "sample.jpg",
    "sample.wav",
    "sample.mp3",
    "sample.flac",
    "sample.ogg",
    "sample.mp4",
    "sample.mkv",
    "sample.pdf",
    "sample.docx",
];

fn signed(carrier: &dyn Carrier, input: &[u8], specs: &[SignSpec<'_>]) -> Vec<u8> {
    let label = Label::new(PRODUCER, "bench-1");
    let mut out = Cursor::new(Vec::new());
    embed_signed(
        carrier,
        &mut Cursor::new(input),
        &mut out,
        &label,
        specs,
        &Options::default(),
    )
    .expect("signed embed");
    out.into_inner()
}

fn inspect_and_verify(carrier: &dyn Carrier, file: &[u8], trust: &TrustList) -> TrustVerdict {
    let report = inspect_with(carrier, &mut Cursor::new(file), &Options::default()).expect("inspect");
    let v = verify_copy(
        carrier,
        &report.copies[0],
        &mut Cursor::new(file),
        trust,
        &Limits::default(),
    )
    .expect("verify")
    .expect("a label");
    v.verdict()
}

fn per_format(c: &mut Criterion) {
    let key = SigningKey::generate(Algorithm::Sm2Sm3).expect("key");
    let mut trust = TrustList::new();
    trust.add(PRODUCER, key.public_key());
    let root = aigc_label_testutil::workspace_root().join("examples/samples");
    let mut group = c.benchmark_group("inspect, then verify an SM2-signed bound label");
    for name in SAMPLES {
        let input = std::fs::read(root.join(name)).expect("sample");
        let carrier = registry()
            .detect(&input)
            .or_else(|| registry().by_extension("md"))
            .expect("format");
        let file = signed(carrier, &input, &[SignSpec::producer(&key)]);
        assert_eq!(inspect_and_verify(carrier, &file, &trust), TrustVerdict::Trusted);
        let size = file.len() / 1024;
        group.bench_function(format!("{name} ({size} KB) inspect"), |b| {
            b.iter(|| inspect_with(carrier, &mut Cursor::new(black_box(&file)), &Options::default()))
        });
        group.bench_function(format!("{name} ({size} KB) inspect + verify"), |b| {
            b.iter(|| inspect_and_verify(carrier, black_box(&file), &trust))
        });
    }
    group.finish();
}

fn per_algorithm(c: &mut Criterion) {
    let input =
        std::fs::read(aigc_label_testutil::workspace_root().join("examples/samples/sample.png")).expect("sample");
    let carrier = registry().by_name("png").expect("png");
    let sm2 = SigningKey::generate(Algorithm::Sm2Sm3).expect("key");
    let ed = SigningKey::generate(Algorithm::Ed25519).expect("key");
    let mut trust = TrustList::new();
    trust
        .add(PRODUCER, sm2.public_key())
        .add(PRODUCER, ed.public_key())
        .add(PLATFORM, ed.public_key());
    let cases: [(&str, Vec<SignSpec<'_>>); 3] = [
        ("sm2", vec![SignSpec::producer(&sm2)]),
        ("ed25519", vec![SignSpec::producer(&ed)]),
        (
            "sm2 producer + ed25519 platform",
            vec![SignSpec::producer(&sm2), SignSpec::propagator(&ed)],
        ),
    ];
    let mut group = c.benchmark_group("inspect + verify by algorithm (PNG sample)");
    for (name, specs) in cases {
        let label = Label::new(PRODUCER, "bench-1").propagated(PLATFORM, "up-1");
        let mut out = Cursor::new(Vec::new());
        embed_signed(
            carrier,
            &mut Cursor::new(&input),
            &mut out,
            &label,
            &specs,
            &Options::default(),
        )
        .expect("embed");
        let file = out.into_inner();
        assert_eq!(inspect_and_verify(carrier, &file, &trust), TrustVerdict::Trusted);
        group.bench_function(name, |b| {
            b.iter(|| inspect_and_verify(carrier, black_box(&file), &trust))
        });
    }
    group.finish();
}

criterion_group!(benches, per_format, per_algorithm);
criterion_main!(benches);
