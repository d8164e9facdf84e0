//! Rewrite stability, shared by the WebP, TIFF and HEIF tests: a labelled file rewritten with a
//! much longer and with a much shorter label keeps every byte its carrier's
//! `binding_exclusions` covers, read in order (the contract of `Carrier::binding_exclusions`).

use std::io::Cursor;
use std::ops::Range;

use aigc_label_core::{Carrier, Label, Limits};
use aigc_label_testutil::covered;

const PRODUCER: &str = "001191440300708461136T1XGW3";

/// Label A, what a producer writes first.
pub fn label_a() -> Label {
    let mut l = Label::new(PRODUCER, "rewrite-a-0001");
    l.reserved_code1 = "a".repeat(200);
    l
}

/// Label B: several kilobytes longer than A, more than any XMP padding absorbs.
pub fn label_b() -> Label {
    let mut l = label_a().propagated("001191110108551385082Q20000", "b".repeat(500));
    l.reserved_code1 = "B".repeat(5000);
    l.reserved_code2 = "b".repeat(1000);
    l
}

/// Label C: much shorter than A.
pub fn label_c() -> Label {
    Label::new(PRODUCER, "c")
}

fn write(carrier: &dyn Carrier, input: &[u8], label: &Label) -> Vec<u8> {
    let mut out = Vec::new();
    carrier
        .write(&mut Cursor::new(input), &mut out, label, &Limits::default())
        .unwrap_or_else(|e| panic!("{}: write: {e}", carrier.format()));
    out
}

/// The file's exclusions, checked: they hold every label structure `find` reports, and at most
/// `slack` bytes more.
fn exclusions(carrier: &dyn Carrier, file: &[u8], slack: u64, name: &str) -> Vec<Range<u64>> {
    let limits = Limits::default();
    let excluded = carrier.binding_exclusions(&mut Cursor::new(file), &limits).unwrap();
    let found = carrier.find(&mut Cursor::new(file), &limits).unwrap();
    assert_eq!(found.len(), 1, "{name}: one label");
    let label = &found[0].range;
    assert!(
        excluded.iter().any(|r| r.start <= label.start && label.end <= r.end),
        "{name}: label structure {label:?} not excluded: {excluded:?}"
    );
    let total = covered(file, &[]).len() - covered(file, &excluded).len();
    let extra = total as u64 - (label.end - label.start);
    assert!(
        extra <= slack,
        "{name}: {extra} bytes excluded beyond the label: {excluded:?}"
    );
    excluded
}

/// Embeds A into `input`, rewrites that with B and then with C, and A directly with C; asserts
/// the covered bytes of all four files are identical and each holds its label. Returns the
/// files labelled A, B and C (from B), for format-specific witnesses.
pub fn assert_stable(carrier: &dyn Carrier, input: &[u8], slack: u64, name: &str) -> [Vec<u8>; 3] {
    let a = write(carrier, input, &label_a());
    let b = write(carrier, &a, &label_b());
    let c = write(carrier, &b, &label_c());
    let c_from_a = write(carrier, &a, &label_c());
    assert!(b.len() > a.len() + 4000, "{name}: B is much longer");
    let reference = covered(&a, &exclusions(carrier, &a, slack, name));
    for (which, file, label) in [
        ("B", &b, label_b()),
        ("C", &c, label_c()),
        ("C from A", &c_from_a, label_c()),
    ] {
        let excluded = exclusions(carrier, file, slack, name);
        assert!(
            covered(file, &excluded) == reference,
            "{name}: rewriting with label {which} changed covered bytes"
        );
        let found = carrier.find(&mut Cursor::new(file), &Limits::default()).unwrap();
        assert!(
            found[0].text.contains(&format!("\"{}\"", label.produce_id)),
            "{name}: label {which} reads back"
        );
    }
    [a, b, c]
}
