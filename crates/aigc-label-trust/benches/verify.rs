//! What verification adds to `inspect` per file: checking the signatures and content bindings
//! of a label already found (the copy and its range come from inspection).

use std::hint::black_box;
use std::io::Cursor;

use aigc_label_core::inspect::{Options, inspect_with};
use aigc_label_core::{Label, Limits};
use aigc_label_image::Png;
use aigc_label_trust::{Algorithm, SignSpec, SigningKey, TrustList, TrustVerdict, embed_signed, verify_copy};
use criterion::{Criterion, criterion_group, criterion_main};

const PRODUCER: &str = "001191440300708461136T1XGW3";
const PLATFORM: &str = "001191110108551385082Q20000";

fn bench(c: &mut Criterion) {
    let input = std::fs::read(aigc_label_testutil::fixture("png/xmp-existing.png")).expect("fixture");
    let sm2 = SigningKey::generate(Algorithm::Sm2Sm3).expect("key");
    let ed = SigningKey::generate(Algorithm::Ed25519).expect("key");
    let mut trust = TrustList::new();
    trust
        .add(PRODUCER, sm2.public_key())
        .add(PRODUCER, ed.public_key())
        .add(PLATFORM, ed.public_key());

    let cases: [(&str, Vec<SignSpec<'_>>); 3] = [
        ("sm2 bound", vec![SignSpec::producer(&sm2)]),
        ("ed25519 bound", vec![SignSpec::producer(&ed)]),
        (
            "sm2 + ed25519 bound, both slots",
            vec![SignSpec::producer(&sm2), SignSpec::propagator(&ed)],
        ),
    ];
    let mut group = c.benchmark_group("verify a signed label (7 KB PNG)");
    for (name, specs) in cases {
        let label = Label::new(PRODUCER, "img-1").propagated(PLATFORM, "up-1");
        let mut out = Cursor::new(Vec::new());
        embed_signed(
            &Png,
            &mut Cursor::new(&input),
            &mut out,
            &label,
            &specs,
            &Options::default(),
        )
        .expect("embed");
        let file = out.into_inner();
        let report = inspect_with(&Png, &mut Cursor::new(&file), &Options::default()).expect("inspect");
        let copy = &report.copies[0];
        let limits = Limits::default();
        let v = verify_copy(&Png, copy, &mut Cursor::new(&file), &trust, &limits)
            .expect("verify")
            .expect("label");
        assert_eq!(v.verdict(), TrustVerdict::Trusted);
        group.bench_function(name, |b| {
            b.iter(|| {
                verify_copy(
                    &Png,
                    black_box(copy),
                    &mut Cursor::new(black_box(&file)),
                    &trust,
                    &limits,
                )
            })
        });
    }
    group.finish();

    // The signature check alone, to tell it from parsing and digesting.
    let mut group = c.benchmark_group("signature check alone");
    for key in [&sm2, &ed] {
        let signature = aigc_label_trust::LabelSigner::try_sign(key, b"message").expect("sign");
        let public = key.public_key();
        group.bench_function(key.algorithm().name(), |b| {
            b.iter(|| public.verify(black_box(b"message"), &signature))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
