//! The propagation decision (one test per branch) and the platform's write.

mod common;

use std::borrow::Cow;
use std::io::Cursor;

use aigc_label_core::check::Check;
use aigc_label_core::inspect::{LabelCopy, Options, inspect_with};
use aigc_label_core::json::{self, Shape};
use aigc_label_core::{Carrier, Label, LabelValue};
use aigc_label_image::{Jpeg, Png};
use aigc_label_testutil::fixture;
use aigc_label_trust::propagate::{Decision, Request, decide, propagate};
use aigc_label_trust::traces::{Trace, TraceKind};
use aigc_label_trust::{BindingStatus, SignSpec, SignatureStatus, TrustVerdict, embed_signed};
use common::*;

fn copy(text: &str) -> LabelCopy {
    LabelCopy {
        carrier: Cow::Borrowed("test"),
        range: 0..1,
        text: text.to_string(),
        expected_shape: Shape::Bare,
        parsed: json::parse(text, 32).ok(),
        checks: Vec::<Check>::new(),
    }
}

fn trace() -> Trace {
    Trace {
        kind: TraceKind::GeneratorText,
        location: "PNG tEXt chunk".into(),
        range: 0..1,
        detail: "parameters".into(),
    }
}

#[test]
fn label_present_keeps_it_whatever_else_is_said() {
    let label = Label::new(PRODUCER, "img-1");
    let text = json::to_json(&label, Shape::Bare);
    for (declared, traces) in [(false, vec![]), (true, vec![trace()])] {
        let d = decide(&[copy(&text)], declared, &traces);
        assert_eq!(d, Decision::Keep { label: label.clone() });
        assert_eq!(d.class(), Some(LabelValue::Is));
        assert!(d.reason().contains(PRODUCER));
    }
    // Two identical copies: kept, and the rewrite leaves one.
    assert_eq!(
        decide(&[copy(&text), copy(&text)], false, &[]).class(),
        Some(LabelValue::Is)
    );
    // A label a platform wrote as "possibly" stays "possibly".
    let possibly = json::to_json(&Label::first_write(LabelValue::Possibly, PLATFORM, "u"), Shape::Bare);
    assert_eq!(
        decide(&[copy(&possibly)], false, &[]).class(),
        Some(LabelValue::Possibly)
    );
}

#[test]
fn no_label_but_declared_is_class_2() {
    let d = decide(&[], true, &[trace()]);
    assert_eq!(d, Decision::Declared);
    assert_eq!(d.class(), Some(LabelValue::Possibly));
}

#[test]
fn no_label_no_declaration_but_traces_is_class_3() {
    let d = decide(&[], false, &[trace()]);
    assert_eq!(d.class(), Some(LabelValue::Suspected));
    assert!(
        d.reason().contains("generator-text in PNG tEXt chunk"),
        "{}",
        d.reason()
    );
}

#[test]
fn nothing_at_all_adds_nothing() {
    let d = decide(&[], false, &[]);
    assert_eq!(d, Decision::Nothing);
    assert_eq!(d.class(), None);
}

#[test]
fn unreadable_or_conflicting_labels_are_refused() {
    assert!(matches!(
        decide(&[copy("{not json")], true, &[]),
        Decision::Refused { .. }
    ));
    let a = json::to_json(&Label::new(PRODUCER, "a"), Shape::Bare);
    let b = json::to_json(&Label::new(PRODUCER, "b"), Shape::Bare);
    let d = decide(&[copy(&a), copy(&b)], false, &[]);
    assert!(
        matches!(&d, Decision::Refused { why } if why.contains("2 label copies")),
        "{d:?}"
    );
    assert_eq!(d.class(), None);
}

fn producer_signed(carrier: &dyn Carrier, rel: &str) -> Vec<u8> {
    let input = std::fs::read(fixture(rel)).unwrap();
    let key = producer_key();
    let mut out = Cursor::new(Vec::new());
    embed_signed(
        carrier,
        &mut Cursor::new(&input),
        &mut out,
        &Label::new(PRODUCER, "img-0001"),
        &[SignSpec::producer(&key)],
        &Options::default(),
    )
    .unwrap();
    out.into_inner()
}

fn run(carrier: &dyn Carrier, input: &[u8], declared: bool) -> (aigc_label_trust::propagate::Outcome, Vec<u8>) {
    let key = platform_key();
    let request = Request {
        platform: PLATFORM,
        propagate_id: "up-77",
        declared_by_user: declared,
        signer: Some(&key),
        bind: true,
    };
    let mut out = Cursor::new(Vec::new());
    let outcome = propagate(
        carrier,
        &mut Cursor::new(input),
        &mut out,
        &request,
        &Options::default(),
    )
    .unwrap();
    (outcome, out.into_inner())
}

#[test]
fn after_propagation_both_signatures_and_bindings_verify_and_one_label_remains() {
    for (carrier, rel) in [
        (&Png as &dyn Carrier, "png/xmp-existing.png"),
        (&Jpeg, "jpeg/exif-icc-xmp.jpg"),
    ] {
        let signed = producer_signed(carrier, rel);
        let (outcome, out) = run(carrier, &signed, false);
        assert_eq!(outcome.decision.class(), Some(LabelValue::Is));
        let label = outcome.label.unwrap();
        assert_eq!(
            (label.content_producer.as_str(), label.produce_id.as_str()),
            (PRODUCER, "img-0001")
        );
        assert_eq!(
            (label.content_propagator.as_str(), label.propagate_id.as_str()),
            (PLATFORM, "up-77")
        );

        let report = inspect_with(carrier, &mut Cursor::new(&out), &Options::default()).unwrap();
        assert_eq!(report.copies.len(), 1);
        let v = verification(carrier, &out, &trust()).unwrap();
        assert_eq!(v.verdict(), TrustVerdict::Trusted, "{rel}: {:#?}", v.checks);
        assert!(matches!(v.producer.signature, SignatureStatus::Valid { .. }));
        assert_eq!(
            v.producer.binding,
            BindingStatus::Match,
            "the producer's binding survives propagation"
        );
        assert!(matches!(v.propagator.signature, SignatureStatus::Valid { .. }));
        assert_eq!(v.propagator.binding, BindingStatus::Match);

        // A second platform propagates the same file: the producer's part still holds.
        let (_, again) = run(carrier, &out, false);
        let v = verification(carrier, &again, &trust()).unwrap();
        assert_eq!(v.verdict(), TrustVerdict::Trusted);
        assert_eq!(v.producer.binding, BindingStatus::Match);
    }
}

#[test]
fn unlabelled_declared_upload_gets_a_signed_class_2_label() {
    let input = std::fs::read(fixture("jpeg/baseline.jpg")).unwrap();
    let (outcome, out) = run(&Jpeg, &input, true);
    assert_eq!(outcome.decision, Decision::Declared);
    let label = outcome.label.unwrap();
    assert_eq!(label.value, LabelValue::Possibly);
    assert_eq!(label.content_producer, PLATFORM);
    let v = verification(&Jpeg, &out, &trust()).unwrap();
    assert_eq!(v.verdict(), TrustVerdict::Trusted, "{:#?}", v.checks);
}

#[test]
fn unlabelled_upload_with_generator_parameters_gets_class_3() {
    let input = std::fs::read(fixture("trust/a1111-parameters.png")).unwrap();
    let (outcome, out) = run(&Png, &input, false);
    let Decision::Suspected { traces } = &outcome.decision else {
        panic!("{:?}", outcome.decision)
    };
    assert_eq!(traces[0].kind, TraceKind::GeneratorText);
    assert_eq!(outcome.label.unwrap().value, LabelValue::Suspected);
    assert_eq!(verdict(&Png, &out, &trust()), Some(TrustVerdict::Trusted));
    // The generator's chunk is still there: propagation strips nothing.
    assert!(out.windows(11).any(|w| w == b"parameters\0"));
}

#[test]
fn plain_upload_is_left_alone() {
    let input = std::fs::read(fixture("png/rgb.png")).unwrap();
    let (outcome, out) = run(&Png, &input, false);
    assert_eq!(outcome.decision, Decision::Nothing);
    assert_eq!((outcome.label, outcome.written), (None, None));
    assert!(out.is_empty());
}

#[test]
fn duplicate_copies_collapse_into_one() {
    let input = std::fs::read(fixture("png/label-two-copies.png")).unwrap();
    let before = inspect_with(&Png, &mut Cursor::new(&input), &Options::default()).unwrap();
    assert_eq!(before.copies.len(), 2);
    let (outcome, out) = run(&Png, &input, false);
    assert_eq!(outcome.decision.class(), Some(LabelValue::Is));
    let after = inspect_with(&Png, &mut Cursor::new(&out), &Options::default()).unwrap();
    assert_eq!(after.copies.len(), 1);
}

/// Files whose only label sits in a variant carrier (issue 12): `propagate --declared` must keep
/// that label (not add a class 2 one beside it) and leave exactly one copy, in the standard
/// carrier, with the producer's fields and the platform's.
#[test]
fn a_label_in_a_variant_carrier_is_kept_and_moved_not_duplicated() {
    use aigc_label_image::{Gif, Heif, Tiff, WebP};
    let cases: [(&dyn Carrier, &str); 16] = [
        (&Png, "png/label-exif-usercomment.png"),
        (&Png, "png/label-xmp-https.png"),
        (&Png, "png/label-xmp-noslash.png"),
        (&Png, "png/label-text-after-idat.png"),
        (&Png, "png/label-xmp-after-idat.png"),
        (&Png, "png/label-xmp-compressed.png"),
        (&Jpeg, "jpeg/label-usercomment.jpg"),
        (&Jpeg, "jpeg/label-xmp-https.jpg"),
        (&Jpeg, "jpeg/label-xmp-noslash.jpg"),
        (&WebP, "webp/label-exif-usercomment.webp"),
        (&WebP, "webp/label-xmp-no-flag.webp"),
        (&Tiff, "tiff/label-exif-usercomment.tif"),
        (&Tiff, "tiff/label-page2.tif"),
        (&Heif, "heif/label-exif-usercomment.heic"),
        (&Heif, "heif/label-compressed.heic"),
        (&Gif, "gif/label-xmp-end.gif"),
    ];
    for (carrier, rel) in cases {
        let input = std::fs::read(fixture(rel)).unwrap();
        let before = inspect_with(carrier, &mut Cursor::new(&input), &Options::default()).unwrap();
        assert_eq!(before.copies.len(), 1, "{rel}: {:#?}", before.copies);
        let (outcome, out) = run(carrier, &input, true);
        assert_eq!(
            outcome.decision.as_str(),
            "keep",
            "{rel}: {}",
            outcome.decision.reason()
        );
        let label = outcome.label.unwrap();
        assert_eq!(
            (label.content_producer.as_str(), label.produce_id.as_str()),
            (PRODUCER, "fixture-0001"),
            "{rel}"
        );
        assert_eq!(
            (label.content_propagator.as_str(), label.propagate_id.as_str()),
            (PLATFORM, "up-77"),
            "{rel}"
        );
        let after = inspect_with(carrier, &mut Cursor::new(&out), &Options::default()).unwrap();
        assert_eq!(after.copies.len(), 1, "{rel}: {:#?}", after.copies);
        assert_eq!(after.label(), Some(label), "{rel}");
        let copy = &after.copies[0];
        assert!(copy.checks.iter().all(|c| c.is_ok()), "{rel}: {:#?}", copy.checks);
        assert_eq!(verdict(carrier, &out, &trust()), Some(TrustVerdict::Trusted), "{rel}");
    }
}

/// Where the writer cannot move the label into the standard carrier, propagation refuses with
/// an error that says why, and nothing is written.
#[test]
fn a_label_the_writer_cannot_move_is_refused_with_a_clear_error() {
    let input = std::fs::read(fixture("jpeg/label-extended-xmp.jpg")).unwrap();
    let key = platform_key();
    let request = Request {
        platform: PLATFORM,
        propagate_id: "up-77",
        declared_by_user: true,
        signer: Some(&key),
        bind: true,
    };
    let mut out = Cursor::new(Vec::new());
    let result = propagate(&Jpeg, &mut Cursor::new(&input), &mut out, &request, &Options::default());
    let err = result.unwrap_err();
    assert!(matches!(err, aigc_label_core::Error::Unsupported(_)), "{err}");
    assert!(err.to_string().contains("Extended XMP"), "{err}");
    assert!(out.into_inner().is_empty());
}
