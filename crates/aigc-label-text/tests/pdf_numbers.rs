//! An update never reuses an object number, whatever the trailer's `/Size` claims. The witness
//! is a file made by `pdfunite` (poppler), whose trailer `/Size` is below its highest object
//! number, so that an update numbered from `/Size` overwrites an embedded font: poppler, qpdf
//! and pdftoppm show that nothing of the original changed.

use std::collections::BTreeSet;
use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use aigc_label_core::{Carrier, Limits};
use aigc_label_testutil::{fixture, run, sample_label, tool};
use aigc_label_text::Pdf;
use serde_json::Value;

fn embed(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    Pdf.write(&mut Cursor::new(input), &mut out, &sample_label(), &Limits::default())
        .unwrap();
    out
}

/// Every object of the file as qpdf resolves it (streams with their raw data), by id, and the
/// trailer.
fn qpdf_objects(qpdf: &Path, file: &Path) -> (serde_json::Map<String, Value>, Value) {
    let out = Command::new(qpdf)
        .args([
            "--json=2",
            "--json-key=qpdf",
            "--json-stream-data=inline",
            "--decode-level=none",
        ])
        .arg(file)
        .output()
        .unwrap();
    // qpdf exits 3 on warnings (the input's wrong /Size is one) but prints the JSON all the same.
    assert!(matches!(out.status.code(), Some(0 | 3)), "qpdf --json failed");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut objects = json["qpdf"][1].as_object().unwrap().clone();
    let trailer = objects.remove("trailer").unwrap();
    (objects, trailer)
}

/// The lines a poppler tool prints on stderr (its warnings and errors).
fn stderr_lines(program: &Path, args: &[std::ffi::OsString]) -> BTreeSet<String> {
    let out = Command::new(program).args(args).output().unwrap();
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The pages pdftoppm renders at 50 dpi, as bytes, in page order.
fn render(pdftoppm: &Path, file: &Path, dir: &Path, tag: &str) -> Vec<Vec<u8>> {
    let prefix = dir.join(tag);
    run(
        pdftoppm,
        &["-r".as_ref(), "50".as_ref(), file.as_os_str(), prefix.as_os_str()],
    );
    let mut pages: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("{tag}-")))
        .collect();
    pages.sort();
    pages.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn pdfunite_file_keeps_every_object() {
    let dir = tempfile::tempdir().unwrap();
    let original = fixture("text/pdfunite.pdf");
    let input = std::fs::read(&original).unwrap();
    let output = embed(&input);
    assert!(output.starts_with(&input));
    let labelled = dir.path().join("labelled.pdf");
    std::fs::write(&labelled, &output).unwrap();

    // Relabelling replaces our update with the same numbers.
    assert_eq!(embed(&output), output);

    if let Some(qpdf) = tool("qpdf") {
        let (before, trailer) = qpdf_objects(&qpdf, &original);
        let (after, new_trailer) = qpdf_objects(&qpdf, &labelled);
        let highest = before
            .keys()
            .filter_map(|k| k.strip_prefix("obj:")?.split(' ').next()?.parse::<u64>().ok())
            .max()
            .unwrap();
        // The fixture shows the bug: its /Size is below its highest object number.
        let size = trailer["value"]["/Size"].as_u64().unwrap();
        assert!(size <= highest, "fixture: /Size {size} should be at most {highest}");
        // Every original object is unchanged, the fonts' streams included.
        for (id, value) in &before {
            assert!(after.get(id) == Some(value), "{id} changed");
        }
        // The only new object is our Info dictionary, numbered past everything, and /Size
        // covers it.
        let new: Vec<_> = after.keys().filter(|k| !before.contains_key(*k)).collect();
        assert_eq!(new, vec![&format!("obj:{} 0 R", highest + 1)]);
        assert_eq!(new_trailer["value"]["/Size"].as_u64(), Some(highest + 2));
        let check = Command::new(&qpdf).arg("--check").arg(&labelled).output().unwrap();
        assert!(
            check.status.success(),
            "qpdf --check: {}",
            String::from_utf8_lossy(&check.stdout)
        );
    }
    for (name, args) in [("pdftotext", &["-"][..]), ("pdfinfo", &[][..])] {
        let Some(program) = tool(name) else { continue };
        let with = |file: &Path| -> Vec<std::ffi::OsString> {
            let mut a = vec![file.as_os_str().to_owned()];
            a.extend(args.iter().map(std::ffi::OsString::from));
            a
        };
        let old = stderr_lines(&program, &with(&original));
        let new = stderr_lines(&program, &with(&labelled));
        let added: Vec<_> = new.difference(&old).collect();
        assert!(added.is_empty(), "{name} prints new warnings: {added:?}");
    }
    if let Some(pdftoppm) = tool("pdftoppm") {
        let before = render(&pdftoppm, &original, dir.path(), "before");
        let after = render(&pdftoppm, &labelled, dir.path(), "after");
        assert_eq!(before.len(), 3, "the fixture has three pages");
        assert!(before == after, "rendered pages differ");
    }
}
