//! Every carrier through the shared round-trip harness for every fixture, plus the witnesses:
//! qpdf, pdftotext and exiftool for PDF; exiftool and LibreOffice for OOXML; PyYAML for Markdown.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use aigc_label_core::{Carrier, Limits, json};
use aigc_label_testutil::{fixtures, round_trip, run, sample_label, tool};
use aigc_label_text::{Markdown, Ooxml, Pdf, carriers};

const OFFICE: &[&str] = &["docx", "xlsx", "pptx", "dotx"];

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn temp_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn label_json() -> String {
    json::to_json(&sample_label(), json::Shape::Bare)
}

#[test]
fn round_trip_every_fixture() {
    for (carrier, exts) in [
        (&Markdown as &dyn Carrier, &["md"][..]),
        (&Pdf as &dyn Carrier, &["pdf"][..]),
        (&Ooxml as &dyn Carrier, OFFICE),
    ] {
        for path in fixtures("text", exts) {
            eprintln!("{}", path.display());
            round_trip(carrier, &read(&path));
        }
    }
}

#[test]
fn sniffing_picks_the_right_carrier() {
    let registry = carriers()
        .into_iter()
        .fold(aigc_label_core::Registry::new(), |r, c| r.with(c));
    for (exts, want) in [(&["pdf"][..], "pdf"), (OFFICE, "ooxml")] {
        for path in fixtures("text", exts) {
            let data = read(&path);
            let head = &data[..data.len().min(64)];
            assert_eq!(
                registry.detect(head).map(|c| c.format()),
                Some(want),
                "{}",
                path.display()
            );
        }
    }
    // Markdown is sniffed only when it opens with front matter.
    let fm = read(&aigc_label_testutil::fixture("text/front-matter.md"));
    assert_eq!(registry.detect(&fm[..64]).map(|c| c.format()), Some("markdown"));
    let plain = read(&aigc_label_testutil::fixture("text/plain.md"));
    assert_eq!(registry.detect(&plain).map(|c| c.format()), None);
    assert_eq!(registry.by_name("markdown").map(|c| c.format()), Some("markdown"));
}

fn embed(carrier: &dyn Carrier, input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    carrier
        .write(&mut Cursor::new(input), &mut out, &sample_label(), &Limits::default())
        .unwrap_or_else(|e| panic!("{}: {e}", carrier.format()));
    out
}

// ---------------------------------------------------------------- PDF

#[test]
fn pdf_update_is_append_only_and_tools_agree() {
    let dir = tempfile::tempdir().unwrap();
    for path in fixtures("text", &["pdf"]) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let input = read(&path);
        let output = embed(&Pdf, &input);
        assert_eq!(
            &output[..input.len()],
            &input[..],
            "{name}: original bytes must stay untouched"
        );
        // Relabelling replaces our own update instead of stacking another.
        let twice = embed(&Pdf, &output);
        assert_eq!(
            twice, output,
            "{name}: relabelling with the same label changed the file"
        );
        let out_path = temp_file(&dir, &format!("out-{name}"), &output);
        let twice_path = temp_file(&dir, &format!("twice-{name}"), &twice);

        if let Some(qpdf) = tool("qpdf") {
            for p in [&out_path, &twice_path] {
                let check = std::process::Command::new(&qpdf)
                    .arg("--check")
                    .arg(p)
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&check.stdout);
                assert!(check.status.success(), "{name}: qpdf --check failed: {text}");
                assert!(text.contains("No syntax or stream encoding errors"), "{name}: {text}");
            }
            // qpdf resolves the newest Info and shows our entry.
            let json_out = run(
                &qpdf,
                &["--json=1".as_ref(), "--json-key=objects".as_ref(), out_path.as_os_str()],
            );
            assert!(String::from_utf8_lossy(&json_out).contains("/AIGC"), "{name}");
        }
        if let Some(pdftotext) = tool("pdftotext") {
            let text = |p: &Path| run(&pdftotext, &[p.as_os_str(), "-".as_ref()]);
            assert_eq!(text(&path), text(&out_path), "{name}: pdftotext output changed");
            assert!(!text(&path).is_empty());
        }
        if let Some(exiftool) = tool("exiftool") {
            let value = run(&exiftool, &["-PDF:AIGC".as_ref(), "-b".as_ref(), out_path.as_os_str()]);
            assert_eq!(
                String::from_utf8_lossy(&value),
                label_json(),
                "{name}: exiftool -PDF:AIGC"
            );
            // Other Info entries survive (LibreOffice wrote a UTF-16 title).
            let title = |p: &Path| run(&exiftool, &["-PDF:Title".as_ref(), "-b".as_ref(), p.as_os_str()]);
            assert_eq!(title(&path), title(&out_path), "{name}: /Title changed");
        }
    }
}

#[test]
fn pdf_truncations_and_garbage_fail_cleanly() {
    for path in fixtures("text", &["pdf"]) {
        let input = read(&path);
        let step = (input.len() / 97).max(1);
        for cut in (0..input.len()).step_by(step) {
            let _ = Pdf.find(&mut Cursor::new(&input[..cut]), &Limits::default());
            let mut damaged = input.clone();
            for b in damaged.iter_mut().skip(cut).take(16) {
                *b = b.wrapping_mul(31).wrapping_add(7);
            }
            if Pdf.find(&mut Cursor::new(&damaged), &Limits::default()).is_ok() {
                let mut out = Vec::new();
                let _ = Pdf.write(
                    &mut Cursor::new(&damaged),
                    &mut out,
                    &sample_label(),
                    &Limits::default(),
                );
            }
        }
    }
}

// ---------------------------------------------------------------- OOXML

/// Every entry of a package by name: its raw bytes from the local header to the next entry,
/// read by a minimal zip lister independent of the crate's.
fn entries(data: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let le16 = |at: usize| u16::from_le_bytes([data[at], data[at + 1]]) as usize;
    let le32 = |at: usize| u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
    let eocd = (0..data.len() - 21).rev().find(|&i| le32(i) == 0x0605_4b50).unwrap();
    let (count, cd) = (le16(eocd + 10), le32(eocd + 16));
    let mut pos = cd;
    let mut offsets = Vec::new();
    for _ in 0..count {
        let n = le16(pos + 28);
        let name = String::from_utf8_lossy(&data[pos + 46..pos + 46 + n]).into_owned();
        offsets.push((le32(pos + 42), name));
        pos += 46 + n + le16(pos + 30) + le16(pos + 32);
    }
    offsets.sort();
    offsets
        .iter()
        .enumerate()
        .map(|(i, (o, name))| (name.clone(), data[*o..offsets.get(i + 1).map_or(cd, |n| n.0)].to_vec()))
        .collect()
}

const EDITED: &[&str] = &["docProps/custom.xml", "_rels/.rels", "[Content_Types].xml"];

#[test]
fn ooxml_keeps_every_other_entry_byte_for_byte() {
    for path in fixtures("text", OFFICE) {
        let input = read(&path);
        let output = embed(&Ooxml, &input);
        let before = entries(&input);
        let after = entries(&output);
        for (name, bytes) in &before {
            if EDITED.contains(&name.as_str()) {
                continue;
            }
            assert_eq!(after.get(name), Some(bytes), "{}: {name} changed", path.display());
        }
        assert!(after.contains_key("docProps/custom.xml"));
        assert_eq!(
            after.len(),
            before.len() + usize::from(!before.contains_key("docProps/custom.xml"))
        );
    }
}

#[test]
fn ooxml_tools_read_the_label() {
    let dir = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for path in fixtures("text", OFFICE) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let output = embed(&Ooxml, &read(&path));
        let out_path = temp_file(&dir, &format!("out-{name}"), &output);
        if let Some(exiftool) = tool("exiftool") {
            let value = run(&exiftool, &["-AIGC".as_ref(), "-b".as_ref(), out_path.as_os_str()]);
            assert_eq!(String::from_utf8_lossy(&value), label_json(), "{name}: exiftool -AIGC");
            if name.starts_with("doc-custom-props") {
                let client = run(&exiftool, &["-Client".as_ref(), "-b".as_ref(), out_path.as_os_str()]);
                assert_eq!(
                    String::from_utf8_lossy(&client),
                    "Acme & Co",
                    "{name}: other property lost"
                );
            }
        }
        outputs.push(out_path);
    }
    let Some(soffice) = tool("soffice") else { return };
    let profile = dir.path().join("profile");
    let out_dir = dir.path().join("pdf");
    let mut cmd = std::process::Command::new(soffice);
    cmd.env("HOME", &profile)
        .args(["--headless", "--norestore", "--convert-to", "pdf", "--outdir"])
        .arg(&out_dir)
        .args(&outputs);
    let result = cmd.output().unwrap();
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    for out in &outputs {
        let pdf = out_dir.join(out.with_extension("pdf").file_name().unwrap());
        let bytes =
            std::fs::read(&pdf).unwrap_or_else(|e| panic!("LibreOffice did not convert {}: {e}", out.display()));
        assert!(bytes.starts_with(b"%PDF-") && bytes.len() > 1000, "{}", pdf.display());
    }
}

#[test]
fn ooxml_truncations_and_garbage_fail_cleanly() {
    for path in fixtures("text", OFFICE) {
        let input = read(&path);
        let step = (input.len() / 61).max(1);
        for cut in (0..input.len()).step_by(step) {
            let _ = Ooxml.find(&mut Cursor::new(&input[..cut]), &Limits::default());
            let mut damaged = input.clone();
            for b in damaged.iter_mut().skip(cut).take(8) {
                *b ^= 0x5a;
            }
            if Ooxml.find(&mut Cursor::new(&damaged), &Limits::default()).is_ok() {
                let mut out = Vec::new();
                let _ = Ooxml.write(
                    &mut Cursor::new(&damaged),
                    &mut out,
                    &sample_label(),
                    &Limits::default(),
                );
            }
        }
    }
}

// ---------------------------------------------------------------- Markdown

#[test]
fn markdown_front_matter_reads_in_pyyaml_and_keeps_keys() {
    let Some(python) = tool("python3") else { return };
    let dir = tempfile::tempdir().unwrap();
    for path in fixtures("text", &["md"]) {
        let input = read(&path);
        let output = embed(&Markdown, &input);
        let out_path = temp_file(&dir, "out.md", &output);
        let script = r#"
import sys, yaml, json
text = open(sys.argv[1], encoding="utf-8-sig").read().replace("\r\n", "\n")
assert text.startswith("---\n"), text[:20]
front = text.split("\n---\n", 1)[0][4:]
data = yaml.safe_load(front)
print(json.dumps(data, ensure_ascii=False, sort_keys=True, default=str))
"#;
        let out = run(&python, &["-c".as_ref(), script.as_ref(), out_path.as_os_str()]);
        let parsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let aigc = &parsed["AIGC"];
        let label = sample_label();
        for (name, value) in label.fields() {
            assert_eq!(
                aigc[name],
                serde_json::Value::String(value.to_string()),
                "{}: {name}",
                path.display()
            );
        }
        assert_eq!(aigc.as_object().map(|o| o.len()), Some(7));
        if path.ends_with("front-matter.md") {
            assert_eq!(parsed["title"], "周报");
            assert_eq!(parsed["tags"], serde_json::json!(["ai", "report"]));
            assert_eq!(parsed["author"]["name"], "Li");
            assert_eq!(parsed["date"], "2026-01-05");
            let text = String::from_utf8(output.clone()).unwrap();
            assert!(text.contains("title: \"周报\"   # a comment that must survive\n"));
        }
    }
}

#[test]
fn markdown_body_is_kept_and_visible_label_added_once() {
    for path in fixtures("text", &["md"]) {
        let input = String::from_utf8(read(&path)).unwrap();
        let output = String::from_utf8(embed(&Markdown, input.as_bytes())).unwrap();
        let body_in = body(&input);
        let body_out = body(&output);
        assert!(body_out.starts_with(body_in), "{}: body changed", path.display());
        let added = &body_out[body_in.len()..];
        let labels = aigc_label_text::detect::find_labels(&output);
        assert!(!labels.is_empty(), "{}: no visible label", path.display());
        if aigc_label_text::detect::contains_label(body_in) {
            assert_eq!(added, "", "{}", path.display());
        } else {
            // The label's line ends as the file's lines do.
            let eol = if input.contains("\r\n") { "\r\n" } else { "\n" };
            assert!(
                added.ends_with(&format!("【AI生成】{eol}")),
                "{}: {added:?}",
                path.display()
            );
        }
    }
}

/// The text after the front matter.
fn body(text: &str) -> &str {
    let t = text.trim_start_matches('\u{feff}');
    if !t.starts_with("---") {
        return t;
    }
    let close = t[3..]
        .find("\n---\n")
        .map(|i| i + 3 + 5)
        .or_else(|| t[3..].find("\n---\r\n").map(|i| i + 3 + 6));
    close.map_or(t, |c| &t[c..])
}

#[test]
fn wild_json_string_is_found_and_replaced() {
    let input = read(&aigc_label_testutil::fixture("text/wild-json-string.md"));
    let found = Markdown.find(&mut Cursor::new(&input), &Limits::default()).unwrap();
    assert_eq!(found.len(), 1);
    assert!(found[0].text.contains("\"ProduceID\":\"wild-1\""));
    let out = embed(&Markdown, &input);
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("wild-1"));
    assert!(text.contains("title: wild\n"));
}
