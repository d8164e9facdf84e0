//! Updating a JPEG's label in place (issue 16): after our first write a room segment sits next
//! to the label's XMP segment, and later labels go there with one 3-byte switch. Every state a
//! crash can leave reads as the old label or the new one, nothing outside the two segments
//! changes (so every covered byte stays), the pixels decode the same, and exiftool reads the
//! new label.
//!
//! The recording writer is a copy of the one in the video crate's `tests/in_place.rs` (the
//! `registry` work moves one into testutil).

use std::io::{Cursor, Read, Seek, SeekFrom, Write};

use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::{Carrier, Label, Limits};
use aigc_label_image::Jpeg;
use aigc_label_image::jpeg::{ROOM_SIGNATURE, Update, update_in_place};
use aigc_label_testutil::{covered_by, fixture, sample_label};

/// A file in memory that records every write (position, bytes) and where syncs fell.
struct Recorder {
    file: Cursor<Vec<u8>>,
    writes: Vec<(u64, Vec<u8>)>,
    syncs: Vec<usize>,
}

impl Recorder {
    fn new(bytes: Vec<u8>) -> Self {
        Recorder {
            file: Cursor::new(bytes),
            writes: Vec::new(),
            syncs: Vec::new(),
        }
    }

    fn written(&self) -> u64 {
        self.writes.iter().map(|w| w.1.len() as u64).sum()
    }

    fn update(&mut self, label: &Label) -> Update {
        update_in_place(self, label, &Limits::default(), |r: &mut Recorder| {
            r.syncs.push(r.writes.len());
            Ok(())
        })
        .unwrap()
    }
}

impl Read for Recorder {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.file.read(buf)
    }
}

impl Seek for Recorder {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.file.seek(pos)
    }
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let at = self.file.position();
        let n = self.file.write(buf)?;
        self.writes.push((at, buf[..n].to_vec()));
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn texts(data: &[u8]) -> Vec<String> {
    Jpeg.find(&mut Cursor::new(data), &Limits::default())
        .unwrap()
        .into_iter()
        .map(|f| f.text)
        .collect()
}

fn embed(input: &[u8], label: &Label) -> Vec<u8> {
    let mut out = Vec::new();
    Jpeg.write(&mut Cursor::new(input), &mut out, label, &Limits::default())
        .unwrap();
    out
}

/// A platform's update: propagation fields with an ID of about `len` bytes.
fn propagated(n: usize, len: usize) -> Label {
    sample_label().propagated(
        "001191440300708461136T2PLAT",
        format!("upload-{n:04}-{}", "x".repeat(len)),
    )
}

fn pixels(data: &[u8]) -> Vec<u8> {
    image::load_from_memory_with_format(data, image::ImageFormat::Jpeg)
        .unwrap()
        .into_bytes()
}

/// Fixtures from cjpeg, ImageMagick and exiftool: plain, with EXIF, ICC and XMP, with a label
/// another tool wrote in XMP.
const FIXTURES: [&str; 4] = [
    "baseline.jpg",
    "exif-icc-xmp.jpg",
    "progressive.jpg",
    "label-xmp-element.jpg",
];

#[test]
fn updates_after_our_first_write_go_in_place() {
    for name in FIXTURES {
        let input = std::fs::read(fixture(&format!("jpeg/{name}"))).unwrap();
        let mut file = embed(&input, &sample_label());
        assert!(
            file.windows(ROOM_SIGNATURE.len()).any(|w| w == ROOM_SIGNATURE),
            "{name}: room"
        );
        let (size, covered, decoded) = (file.len(), covered_by(&Jpeg, &file), pixels(&file));
        // Labels of about the same size and growing ones: the label alternates between the
        // room after the XMP segment and the room the previous update left before it.
        for n in 0..8 {
            let label = propagated(n, 100 + 40 * n);
            let json = to_json(&label, Shape::Bare);
            let mut rec = Recorder::new(file.clone());
            let Update::InPlace(w) = rec.update(&label) else {
                panic!("{name}: update {n} asked for a rewrite")
            };
            eprintln!(
                "{name}: update {n}: {} bytes written for a {}-byte label",
                rec.written(),
                json.len()
            );
            assert_eq!(w.bytes_written, rec.written());
            // The new segment (its packet keeps the old one's padding, 2 KiB), the switch, and
            // the old packet's text zeroed: the label twice plus a few KiB.
            assert!(
                rec.written() <= 2 * json.len() as u64 + 4096,
                "{name}: {} bytes",
                rec.written()
            );
            assert_eq!(rec.syncs.len(), 2, "prepare and switch: each synced");
            let switch: Vec<_> = rec.writes[rec.syncs[0]..rec.syncs[1]].to_vec();
            let len = switch[0].1.len() as u64;
            assert!(switch.len() == 1 && len == 3, "{name}: one switch of 3 bytes");
            assert_eq!(switch[0].0 / 512, (switch[0].0 + len - 1) / 512, "inside one sector");
            let before = file.clone();
            file = rec.file.into_inner();
            assert_eq!(file.len(), size, "{name}: nothing moves");
            assert_eq!(texts(&file), std::slice::from_ref(&json), "{name}");
            assert!(covered_by(&Jpeg, &file) == covered, "{name}: covered bytes changed");
            assert_eq!(&file[w.label_range.start as usize..][..2], [0xFF, 0xE1]);
            assert!(file != before);
        }
        assert!(pixels(&file) == decoded, "{name}: decoded pixels changed");
        // Another writer's view: exiftool reads the last label, and djpeg the same pixels.
        let path = std::env::temp_dir().join(format!("aigc-jpeg-in-place-{}-{name}", std::process::id()));
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
            let json = to_json(&propagated(7, 380), Shape::Bare);
            assert_eq!(String::from_utf8_lossy(&out), json, "{name}: exiftool");
        }
        std::fs::remove_file(&path).ok();
    }
}

#[test]
fn every_state_a_crash_can_leave_reads_as_the_old_or_the_new_label() {
    for name in FIXTURES {
        let input = std::fs::read(fixture(&format!("jpeg/{name}"))).unwrap();
        let mut file = embed(&input, &sample_label());
        let mut old = to_json(&sample_label(), Shape::Bare);
        for n in 0..4 {
            let label = propagated(n, 60 + 90 * n);
            let new = to_json(&label, Shape::Bare);
            let mut rec = Recorder::new(file.clone());
            assert!(matches!(rec.update(&label), Update::InPlace(_)), "{name}");
            // A kill after any number of writes, and within a write after any 4-byte prefix
            // (but the switch, inside one sector: whole or not at all).
            let mut state = file.clone();
            for (i, (pos, bytes)) in rec.writes.iter().enumerate() {
                let step = if i == rec.syncs[0] { bytes.len() } else { 4 };
                for cut in (0..bytes.len()).step_by(step) {
                    let mut torn = state.clone();
                    let at = *pos as usize;
                    torn[at..at + cut].copy_from_slice(&bytes[..cut]);
                    let seen = texts(&torn);
                    assert!(seen == [old.clone()] || seen == [new.clone()], "{name}: {seen:?}");
                }
                state[*pos as usize..*pos as usize + bytes.len()].copy_from_slice(bytes);
            }
            assert_eq!(texts(&state), std::slice::from_ref(&new));
            file = state;
            old = new;
        }
    }
}

#[test]
fn without_room_nothing_is_written() {
    // A file without a label, and one labelled by another tool: no room of ours.
    for name in ["baseline.jpg", "label-xmp-element.jpg"] {
        let input = std::fs::read(fixture(&format!("jpeg/{name}"))).unwrap();
        let mut rec = Recorder::new(input);
        assert!(matches!(rec.update(&sample_label()), Update::Rewrite(_)), "{name}");
        assert_eq!(rec.written(), 0);
    }
    // A label larger than the room.
    let input = std::fs::read(fixture("jpeg/baseline.jpg")).unwrap();
    let labelled = embed(&input, &sample_label());
    let mut rec = Recorder::new(labelled.clone());
    assert!(matches!(rec.update(&propagated(0, 8000)), Update::Rewrite(_)));
    assert_eq!(rec.written(), 0);
    // The rewrite then takes it, and leaves room again: one room, next to the label.
    let bigger = embed(&labelled, &propagated(0, 8000));
    let rooms = bigger
        .windows(ROOM_SIGNATURE.len())
        .filter(|w| *w == ROOM_SIGNATURE)
        .count();
    assert_eq!(rooms, 1);
    let mut rec = Recorder::new(bigger);
    assert!(matches!(rec.update(&propagated(1, 8000)), Update::InPlace(_)));
}

#[test]
fn the_first_write_leaves_the_room_limits_ask_for() {
    let input = std::fs::read(fixture("jpeg/baseline.jpg")).unwrap();
    let base = embed(&input, &sample_label()).len();
    for room in [0u64, 10_000] {
        let mut limits = Limits::default();
        limits.label_room = room;
        let mut out = Vec::new();
        Jpeg.write(&mut Cursor::new(&input), &mut out, &sample_label(), &limits)
            .unwrap();
        let has_room = out.windows(ROOM_SIGNATURE.len()).any(|w| w == ROOM_SIGNATURE);
        if room == 0 {
            assert!(!has_room && out.len() < base);
        } else {
            assert!(has_room);
            assert_eq!(out.len() as u64, base as u64 + room - Limits::default().label_room);
        }
    }
}

/// Hostile input: the `jpeg` fuzz corpus and the `jpeg_in_place` one, through the in-place
/// update's fuzz property.
#[test]
fn fuzz_corpora_update_in_place_or_write_nothing() {
    aigc_label_testutil::replay_corpus("jpeg", aigc_label_image::jpeg::fuzz_update);
    aigc_label_testutil::replay_corpus("jpeg_in_place", aigc_label_image::jpeg::fuzz_update);
}
