//! The content binding's contract for the document carriers: once a file holds our label,
//! rewriting it with a much longer or a much shorter label leaves the bytes the binding covers
//! (the file minus [`Carrier::binding_exclusions`]), read in order, exactly the same. Checked on
//! every PDF and OOXML fixture, with qpdf, pdftotext and exiftool as witnesses that the
//! rewritten files are still sound.

use std::io::Cursor;
use std::ops::Range;
use std::path::Path;

use aigc_label_core::{Carrier, Label, Limits, json};
use aigc_label_testutil::{covered, fixtures, run, tool};
use aigc_label_text::{Ooxml, Pdf};

const PRODUCER: &str = "001191440300708461136T1XGW3";
const PLATFORM: &str = "001191110108551385082Q20000";
const OFFICE: &[&str] = &["docx", "xlsx", "pptx", "dotx"];

/// Label A, the first embed.
fn label_a() -> Label {
    Label::new(PRODUCER, "stable-0001")
}

/// Label B: much longer (a platform's fields and kilobytes of protection data that do not
/// compress away, with characters that need escaping in PDF strings and XML).
fn label_b() -> Label {
    let mut b = label_a().propagated(PLATFORM, "propagation-id-".repeat(8));
    let mut state = 0x2545_f491_4f6c_dd1du64;
    b.reserved_code1 = (0..6000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b"0123456789abcdef"[(state % 16) as usize])
        })
        .collect();
    b.reserved_code1.push_str("(<&>)\\");
    b
}

/// Label C: much shorter than A.
fn label_c() -> Label {
    Label::new(PRODUCER, "c")
}

fn write(carrier: &dyn Carrier, input: &[u8], label: &Label) -> Vec<u8> {
    let mut out = Vec::new();
    carrier
        .write(&mut Cursor::new(input), &mut out, label, &Limits::default())
        .unwrap_or_else(|e| panic!("{}: write: {e}", carrier.format()));
    out
}

fn exclusions(carrier: &dyn Carrier, file: &[u8]) -> Vec<Range<u64>> {
    carrier
        .binding_exclusions(&mut Cursor::new(file), &Limits::default())
        .unwrap_or_else(|e| panic!("{}: binding_exclusions: {e}", carrier.format()))
}

/// Bytes excluded beyond the label structures `find` reports.
fn extra_excluded(carrier: &dyn Carrier, file: &[u8], excluded: &[Range<u64>]) -> usize {
    let found = carrier.find(&mut Cursor::new(file), &Limits::default()).unwrap();
    let structures: Vec<Range<u64>> = found.into_iter().map(|f| f.range).collect();
    let in_structure = |i: u64| structures.iter().any(|r| r.contains(&i));
    (0..file.len() as u64)
        .filter(|&i| excluded.iter().any(|r| r.contains(&i)) && !in_structure(i))
        .count()
}

fn read_label(carrier: &dyn Carrier, file: &[u8]) -> Label {
    let found = carrier.find(&mut Cursor::new(file), &Limits::default()).unwrap();
    assert_eq!(found.len(), 1, "{}: one label", carrier.format());
    json::parse(&found[0].text, 32).unwrap().to_label().unwrap()
}

/// Embeds A, rewrites with B and then C (and C straight after A), and checks the covered bytes
/// are identical in all of them. Returns the three files.
fn check_stable(carrier: &dyn Carrier, path: &Path) -> [Vec<u8>; 3] {
    let name = path.display();
    let input = std::fs::read(path).unwrap();
    let a = write(carrier, &input, &label_a());
    let b = write(carrier, &a, &label_b());
    let c = write(carrier, &b, &label_c());
    let c_from_a = write(carrier, &a, &label_c());
    assert_eq!(c, c_from_a, "{name}: the result depends on the label before");
    assert!(
        b.len() > a.len() + 2000 && c.len() < a.len(),
        "{name}: B longer, C shorter"
    );
    for (file, label) in [(&a, label_a()), (&b, label_b()), (&c, label_c())] {
        assert_eq!(read_label(carrier, file), label, "{name}");
    }
    let reference = covered(&a, &exclusions(carrier, &a));
    for (which, file) in [("B", &b), ("C", &c)] {
        let excluded = exclusions(carrier, file);
        assert!(
            covered(file, &excluded) == reference,
            "{name}: covered bytes of {which} differ from A's; excluded {excluded:?}"
        );
    }
    for file in [&a, &b, &c] {
        let excluded = exclusions(carrier, file);
        let extra = extra_excluded(carrier, file, &excluded);
        assert!(
            extra <= 128,
            "{name}: {extra} bytes excluded beyond the label: {excluded:?}"
        );
    }
    assert_eq!(
        write(carrier, &c, &label_c()),
        c,
        "{name}: relabelling with the same label"
    );
    [a, b, c]
}

#[test]
fn pdf_rewrites_keep_covered_bytes() {
    let dir = tempfile::tempdir().unwrap();
    for path in fixtures("text", &["pdf"]) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read(&path).unwrap();
        let [a, b, c] = check_stable(&Pdf, &path);
        let updates = |f: &[u8]| f.windows(9).filter(|w| w == b"startxref").count();
        for file in [&a, &b, &c] {
            assert!(file.starts_with(&input), "{name}: original bytes kept");
            assert_eq!(
                updates(file),
                updates(&input) + 1,
                "{name}: one update of ours, replaced"
            );
        }
        let paths: Vec<_> = [("b", &b), ("c", &c)]
            .iter()
            .map(|(tag, bytes)| {
                let p = dir.path().join(format!("{tag}-{name}"));
                std::fs::write(&p, bytes).unwrap();
                p
            })
            .collect();
        if let Some(qpdf) = tool("qpdf") {
            for p in &paths {
                let check = std::process::Command::new(&qpdf)
                    .arg("--check")
                    .arg(p)
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&check.stdout);
                assert!(check.status.success(), "{name}: qpdf --check failed: {text}");
                assert!(text.contains("No syntax or stream encoding errors"), "{name}: {text}");
            }
        }
        if let Some(pdftotext) = tool("pdftotext") {
            let text = |p: &Path| run(&pdftotext, &[p.as_os_str(), "-".as_ref()]);
            for p in &paths {
                assert_eq!(text(&path), text(p), "{name}: pdftotext output changed");
            }
        }
        if let Some(exiftool) = tool("exiftool") {
            let value = run(&exiftool, &["-PDF:AIGC".as_ref(), "-b".as_ref(), paths[0].as_os_str()]);
            let want = json::to_json(&label_b(), json::Shape::Bare);
            assert_eq!(String::from_utf8_lossy(&value), want, "{name}: exiftool -PDF:AIGC");
        }
    }
}

#[test]
fn pdf_update_after_ours_is_kept_and_not_excluded() {
    let path = aigc_label_testutil::fixture("text/classic.pdf");
    let a = write(&Pdf, &std::fs::read(&path).unwrap(), &label_a());
    // Another tool edits the labelled file: an empty update after ours.
    let found = Pdf.find(&mut Cursor::new(&a), &Limits::default()).unwrap();
    let our_xref = a.windows(9).rposition(|w| w == b"startxref").unwrap();
    let prev: String = String::from_utf8_lossy(&a[our_xref + 10..])
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let mut edited = a.clone();
    let xref_at = edited.len();
    edited.extend_from_slice(
        format!(
            "xref\n0 0\ntrailer\n<< /Size 27 /Root 24 0 R /Info 25 0 R /Prev {prev} >>\nstartxref\n{xref_at}\n%%EOF\n"
        )
        .as_bytes(),
    );
    assert_eq!(
        Pdf.find(&mut Cursor::new(&edited), &Limits::default()).unwrap()[0].range,
        found[0].range
    );
    // The binding covers our update's trailer and the edit, so it breaks as it should.
    assert_eq!(exclusions(&Pdf, &edited), vec![found[0].range.clone()]);
    let relabelled = write(&Pdf, &edited, &label_b());
    assert!(
        relabelled.starts_with(&edited),
        "another tool's update is never dropped"
    );
    assert_eq!(read_label(&Pdf, &relabelled), label_b());
}

#[test]
fn ooxml_rewrites_keep_covered_bytes() {
    let dir = tempfile::tempdir().unwrap();
    for path in fixtures("text", OFFICE) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let [_, b, c] = check_stable(&Ooxml, &path);
        if let Some(exiftool) = tool("exiftool") {
            for (file, label) in [(&b, label_b()), (&c, label_c())] {
                let p = dir.path().join(format!("out-{name}"));
                std::fs::write(&p, file).unwrap();
                let value = run(&exiftool, &["-AIGC".as_ref(), "-b".as_ref(), p.as_os_str()]);
                let want = json::to_json(&label, json::Shape::Bare);
                assert_eq!(String::from_utf8_lossy(&value), want, "{name}: exiftool -AIGC");
            }
        }
        if let Some(unzip) = tool("unzip") {
            let p = dir.path().join(format!("test-{name}"));
            std::fs::write(&p, &b).unwrap();
            run(&unzip, &["-tq".as_ref(), p.as_os_str()]);
        }
    }
}

#[test]
fn exclusions_of_damaged_files_never_panic() {
    for (carrier, exts) in [(&Pdf as &dyn Carrier, &["pdf"][..]), (&Ooxml, OFFICE)] {
        for path in fixtures("text", exts) {
            let labelled = write(carrier, &std::fs::read(&path).unwrap(), &label_b());
            let step = (labelled.len() / 53).max(1);
            for cut in (0..labelled.len()).step_by(step) {
                let _ = carrier.binding_exclusions(&mut Cursor::new(&labelled[..cut]), &Limits::default());
                let mut damaged = labelled.clone();
                for b in damaged.iter_mut().skip(cut).take(8) {
                    *b ^= 0x5a;
                }
                if let Ok(ranges) = carrier.binding_exclusions(&mut Cursor::new(&damaged), &Limits::default()) {
                    assert!(ranges.iter().all(|r| r.start <= r.end && r.end <= damaged.len() as u64));
                }
            }
        }
    }
}
