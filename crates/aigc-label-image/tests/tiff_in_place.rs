//! Updating a TIFF label in place (issue 16): the new XMP packet goes past the end of the file
//! (once) or into the label room the previous update left, and one IFD entry's offset (and
//! count) is flipped inside one disk sector. Every state a crash can leave reads as the old
//! label or the new one, the covered bytes stay (so a binding holds), the file stops growing
//! after the first update, the pixels decode the same, and exiftool reads the new label.

use std::io::Cursor;

use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::{Carrier, Label, Limits};
use aigc_label_image::Tiff;
use aigc_label_image::jpeg::Update;
use aigc_label_testutil::in_place::{Recorder, replay_torn};
use aigc_label_testutil::{covered_by, fixture, sample_label};

/// Classic and BigTIFF, both byte orders, multi-page, tiled, compressed, and files where
/// exiftool wrote the XMP packet (in the middle of the file: the first write moves it).
const FIXTURES: [&str; 8] = [
    "le.tif",
    "be.tif",
    "lzw.tif",
    "multipage.tif",
    "tiled.tif",
    "bigtiff.tif",
    "bigtiff-be.tif",
    "label-xmp.tif",
];

fn update(rec: &mut Recorder, label: &Label) -> Update {
    let in_place = Tiff.in_place().expect("updates in place");
    in_place.update(rec, label, &Limits::default()).unwrap()
}

fn texts(data: &[u8]) -> Vec<String> {
    Tiff.find(&mut Cursor::new(data), &Limits::default())
        .unwrap()
        .into_iter()
        .map(|f| f.text)
        .collect()
}

fn embed(input: &[u8], label: &Label) -> Vec<u8> {
    let mut out = Vec::new();
    Tiff.write(&mut Cursor::new(input), &mut out, label, &Limits::default())
        .unwrap();
    out
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!("tiff/{name}"))).unwrap()
}

/// A platform's update: propagation fields with an ID of about `len` bytes.
fn propagated(n: usize, len: usize) -> Label {
    sample_label().propagated(
        "001191440300708461136T2PLAT",
        format!("upload-{n:04}-{}", "x".repeat(len)),
    )
}

/// The pixels as the `image` crate's TIFF decoder gives them (told the format: its guess does
/// not know BigTIFF).
fn pixels(data: &[u8]) -> Vec<u8> {
    let reader = image::ImageReader::with_format(Cursor::new(data), image::ImageFormat::Tiff);
    reader.decode().unwrap().into_bytes()
}

#[test]
fn updates_after_our_first_write_go_in_place() {
    for name in FIXTURES {
        let mut file = embed(&read(name), &sample_label());
        let (covered, decoded) = (covered_by(&Tiff, &file), pixels(&file));
        let mut sizes = Vec::new();
        // Labels of about the same size and growing ones (the packet's padding takes them).
        for n in 0..8 {
            let label = propagated(n, 100 + 40 * n);
            let json = to_json(&label, Shape::Bare);
            let mut rec = Recorder::new(file.clone());
            let Update::InPlace(w) = update(&mut rec, &label) else {
                panic!("{name}: update {n} asked for a rewrite")
            };
            eprintln!("{name}: update {n}: {} bytes written", rec.written());
            assert_eq!(w.bytes_written, rec.written());
            // The new packet (with the old one's padding, 2 KiB), two room records, the switch
            // and the old packet's text zeroed.
            assert!(
                rec.written() <= 2 * json.len() as u64 + 4096,
                "{name}: {} bytes",
                rec.written()
            );
            assert_eq!(rec.syncs.len(), 2, "prepare and switch: each synced");
            let switch: Vec<_> = rec.writes[rec.syncs[0]..rec.syncs[1]].to_vec();
            let len = switch[0].1.len() as u64;
            assert!(
                switch.len() == 1 && [4, 8, 16].contains(&len),
                "{name}: one entry switch"
            );
            assert_eq!(switch[0].0 / 512, (switch[0].0 + len - 1) / 512, "inside one sector");
            file = rec.into_inner();
            sizes.push(file.len());
            assert_eq!(texts(&file), std::slice::from_ref(&json), "{name}");
            assert!(covered_by(&Tiff, &file) == covered, "{name}: covered bytes changed");
        }
        // The first update grows the file; the packet then alternates between two places.
        assert!(sizes.windows(2).skip(1).all(|w| w[0] == w[1]), "{name}: {sizes:?}");
        assert!(pixels(&file) == decoded, "{name}: decoded pixels changed");
        let path = std::env::temp_dir().join(format!("aigc-in-place-{}-{name}", std::process::id()));
        std::fs::write(&path, &file).unwrap();
        if let Some(exiftool) = aigc_label_testutil::tool("exiftool") {
            let config = aigc_label_testutil::workspace_root().join("tests/exiftool/tc260.config");
            let args = [
                "-config".as_ref(),
                config.as_os_str(),
                "-XMP-TC260:AIGC".as_ref(),
                "-b".as_ref(),
                path.as_os_str(),
            ];
            let out = aigc_label_testutil::run(&exiftool, &args);
            assert_eq!(
                String::from_utf8_lossy(&out),
                to_json(&propagated(7, 380), Shape::Bare),
                "{name}"
            );
        }
        if let Some(convert) = aigc_label_testutil::tool("convert") {
            let rgba = |p: &std::path::Path| {
                aigc_label_testutil::run(
                    &convert,
                    &[p.as_os_str(), "-depth".as_ref(), "8".as_ref(), "rgba:-".as_ref()],
                )
            };
            let original = rgba(&fixture(&format!("tiff/{name}")));
            assert!(!original.is_empty());
            assert!(rgba(&path) == original, "{name}: ImageMagick decodes other pixels");
        }
        std::fs::remove_file(&path).ok();
    }
}

#[test]
fn every_state_a_crash_can_leave_reads_as_the_old_or_the_new_label() {
    for name in FIXTURES {
        let mut file = embed(&read(name), &sample_label());
        let mut old = to_json(&sample_label(), Shape::Bare);
        let covered = covered_by(&Tiff, &file);
        for n in 0..4 {
            let label = propagated(n, 60 + 300 * n);
            let new = to_json(&label, Shape::Bare);
            let mut rec = Recorder::new(file.clone());
            assert!(matches!(update(&mut rec, &label), Update::InPlace(_)), "{name}");
            let step = |i: usize, bytes: &[u8]| if i == rec.syncs[0] { bytes.len() } else { 4 };
            let state = replay_torn(&file, &rec.writes, step, |torn, i, cut| {
                let seen = texts(torn);
                assert!(seen == [old.clone()] || seen == [new.clone()], "{name}: {seen:?}");
                // Once a step is whole, a binding holds too.
                if cut == rec.writes[i].1.len() && rec.syncs.contains(&(i + 1)) {
                    assert!(
                        covered_by(&Tiff, torn) == covered,
                        "{name}: covered bytes after write {i}"
                    );
                }
            });
            assert_eq!(texts(&state), std::slice::from_ref(&new));
            file = state;
            old = new;
        }
    }
}

#[test]
fn a_rewrite_after_updates_in_place_reuses_the_rooms() {
    for name in ["le.tif", "bigtiff-be.tif"] {
        let first = embed(&read(name), &sample_label());
        let covered = covered_by(&Tiff, &first);
        let mut file = first.clone();
        for n in 0..3 {
            let mut rec = Recorder::new(file);
            assert!(matches!(update(&mut rec, &propagated(n, 50)), Update::InPlace(_)));
            file = rec.into_inner();
            // The rewrite (a label too large for the rooms, or `-o`) keeps the covered bytes
            // and puts its packet where the first write did, the file ending with it.
            let rewritten = embed(&file, &propagated(n, 9000));
            assert!(covered_by(&Tiff, &rewritten) == covered, "{name}: covered bytes");
            let start = |data: &[u8]| {
                Tiff.find(&mut Cursor::new(data), &Limits::default()).unwrap()[0]
                    .range
                    .start
            };
            assert_eq!(start(&rewritten), start(&first), "{name}: where the first write put it");
            let small = embed(&file, &sample_label());
            assert_eq!(small.len(), first.len(), "{name}: the rooms are taken back");
        }
    }
}

#[test]
fn without_our_packet_at_the_end_nothing_is_written() {
    // No label; a label in the middle of the file (exiftool's); one in a later page.
    for name in [
        "le.tif",
        "label-xmp.tif",
        "label-page2.tif",
        "label-exif-usercomment.tif",
    ] {
        let mut rec = Recorder::new(read(name));
        assert!(
            matches!(update(&mut rec, &sample_label()), Update::Rewrite(_)),
            "{name}"
        );
        assert_eq!(rec.written(), 0);
    }
}

/// Hostile input: the `tiff` fuzz corpus and the `tiff_in_place` one, through the in-place
/// update's fuzz property.
#[test]
fn fuzz_corpora_update_in_place_or_write_nothing() {
    let fuzz = |data: &[u8]| aigc_label_testutil::in_place::fuzz_in_place_growing(&aigc_label_image::Tiff, data);
    aigc_label_testutil::replay_corpus("tiff", fuzz);
    aigc_label_testutil::replay_corpus("tiff_in_place", fuzz);
}
