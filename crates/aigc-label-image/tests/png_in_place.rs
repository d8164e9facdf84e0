//! Updating a PNG's label in place (issue 16): after our first write a `paSt` chunk precedes
//! the label's `iTXt` chunk and a `roOm` chunk follows it; an update writes the new label into
//! the room and switches with one 12-byte write inside one sector. At each state a crash can
//! leave (after any write of the new label into the room, the switch, the scrub), real readers
//! read the file cleanly: pngcheck (every CRC), Pillow (`Image.open(..).load()`), ImageMagick
//! through libpng (`identify -verbose` without a warning, `compare -metric AE` 0 pixels against
//! the original), exiftool (the old label, then the new), and our own inspection; every byte a
//! content binding covers stays, and the decoded pixels are the same.

use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use aigc_label_core::in_place::Update;
use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::{Carrier, Label, Limits};
use aigc_label_image::Png;
use aigc_label_testutil::in_place::Recorder;
use aigc_label_testutil::{covered_by, exiftool_aigc, fixture, python_with, sample_label, tool};

/// Plain, with alpha, 16-bit, grey, palette, interlaced, APNG, with text chunks, with XMP.
const FIXTURES: [&str; 9] = [
    "rgb.png",
    "rgba.png",
    "rgb16.png",
    "grey.png",
    "palette.png",
    "interlaced.png",
    "apng.png",
    "text-chunks.png",
    "xmp-existing.png",
];

fn texts(data: &[u8]) -> Vec<String> {
    let found = Png.find(&mut Cursor::new(data), &Limits::default()).unwrap();
    found.into_iter().map(|f| f.text).collect()
}

fn pixels(data: &[u8]) -> Vec<u8> {
    image::load_from_memory(data).unwrap().into_bytes()
}

/// The label of update `n`: the second one is a signed label's size, with a field longer than
/// a disk sector and no white space in it (written with character references in place).
fn propagated(n: usize) -> Label {
    let mut label = sample_label().propagated("001191110108551385082Q20000", format!("upload-{n}"));
    if n == 1 {
        label.reserved_code2 = "0123456789abcdef".repeat(45);
    }
    label
}

/// What the outside readers make of `file`: each must read it cleanly, and exiftool must see
/// `json`.
fn readers_agree(file: &Path, original: &Path, json: &str, context: &str) {
    if let Some(pngcheck) = tool("pngcheck") {
        let out = Command::new(pngcheck).arg(file).output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && said.starts_with("OK"),
            "{context}: pngcheck: {said}"
        );
    }
    if let Some(identify) = tool("identify") {
        let out = Command::new(identify).arg("-verbose").arg(file).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && err.trim().is_empty(),
            "{context}: identify: {err}"
        );
    }
    if let Some(compare) = tool("compare") {
        let out = Command::new(compare)
            .args(["-metric", "AE"])
            .arg(original)
            .arg(file)
            .arg("null:")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && err.trim() == "0", "{context}: compare: {err}");
    }
    if let Some(python) = python_with("PIL") {
        let out = Command::new(python)
            .args([
                "-c",
                "import sys\nfrom PIL import Image\nim = Image.open(sys.argv[1])\nim.load()",
            ])
            .arg(file)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{context}: Pillow: {err}");
    }
    if let Some(seen) = exiftool_aigc(file) {
        assert_eq!(seen, json, "{context}: exiftool");
    }
}

#[test]
fn every_step_of_an_update_reads_cleanly_everywhere() {
    let dir = std::env::temp_dir().join(format!("aigc-png-in-place-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in FIXTURES {
        let original = dir.join(format!("orig-{name}"));
        std::fs::write(&original, std::fs::read(fixture(&format!("png/{name}"))).unwrap()).unwrap();
        let mut file = Vec::new();
        let input = std::fs::read(&original).unwrap();
        Png.write(&mut Cursor::new(&input), &mut file, &sample_label(), &Limits::default())
            .unwrap();
        let (covered, decoded) = (covered_by(&Png, &file), pixels(&file));
        assert!(decoded == pixels(&input), "{name}: our write changed the pixels");
        let mut old = to_json(&sample_label(), Shape::Bare);
        // Two updates: the room holds the label twice over.
        for n in 0..2 {
            let label = propagated(n);
            let new = to_json(&label, Shape::Bare);
            let mut rec = Recorder::new(file.clone());
            let in_place = Png.in_place().unwrap();
            let Update::InPlace(w) = in_place.update(&mut rec, &label, &Limits::default()).unwrap() else {
                panic!("{name}: update {n} asked for a rewrite");
            };
            let label_len = w.label_range.end - w.label_range.start;
            eprintln!(
                "{name}: update {n}: {} bytes written, label chunk {label_len} bytes",
                rec.written()
            );
            assert!(rec.written() <= 2 * label_len + 600, "{name}: {} bytes", rec.written());
            // The states a crash can leave: after each write of step 1 (a kill in its middle),
            // switched, scrubbed; for the first two files after every write, for the others
            // after the first write and each step.
            let prepared = rec.syncs[0];
            let ends: Vec<usize> = match name {
                "rgb.png" | "xmp-existing.png" => (1..=rec.writes.len()).collect(),
                _ => vec![1, prepared, prepared + 1, rec.writes.len()],
            };
            for end in ends {
                let step = if end <= prepared { 0 } else { 1 };
                let mut state = file.clone();
                for (at, bytes) in &rec.writes[..end] {
                    state[*at as usize..*at as usize + bytes.len()].copy_from_slice(bytes);
                }
                let context = format!("{name}: update {n}, after write {end}");
                let json = if step == 0 { &old } else { &new };
                assert_eq!(&texts(&state), std::slice::from_ref(json), "{context}");
                assert!(covered_by(&Png, &state) == covered, "{context}: covered bytes changed");
                assert!(pixels(&state) == decoded, "{context}: decoded pixels changed");
                let path = dir.join(format!("state-{name}"));
                std::fs::write(&path, &state).unwrap();
                readers_agree(&path, &original, json, &context);
                let options = aigc_label_core::inspect::Options::default();
                let report = aigc_label_core::inspect::inspect_with(&Png, &mut Cursor::new(&state), &options).unwrap();
                let want = if step == 0 {
                    n.checked_sub(1).map_or_else(sample_label, propagated)
                } else {
                    label.clone()
                };
                assert_eq!(report.label(), Some(want), "{context}: inspect");
                assert_eq!(
                    report.verdict,
                    aigc_label_core::inspect::Verdict::Compliant,
                    "{context}"
                );
            }
            file = rec.into_inner();
            old = new;
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Hostile input: the `png` fuzz corpus and the `png_in_place` one, through the in-place
/// update's fuzz property.
#[test]
fn fuzz_corpora_update_in_place_or_write_nothing() {
    use aigc_label_testutil::{in_place::fuzz_in_place, replay_corpus};
    replay_corpus("png", |data| fuzz_in_place(&Png, data));
    replay_corpus("png_in_place", |data| fuzz_in_place(&Png, data));
}
