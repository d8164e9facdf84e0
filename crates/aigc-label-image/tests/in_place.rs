//! Updating a JPEG's or a WebP's label in place (issue 16), and a HEIF's (the `heif` module
//! below): after our first write a room segment (chunk) sits next to the label's XMP segment
//! (chunk), and later labels go there with one switch of 3 (8) bytes. Every state a crash can
//! leave reads as the old label or the new one, nothing outside the two structures changes (so
//! every covered byte stays), the pixels decode the same, and exiftool reads the new label.
//!
//! The recording writer is testutil's, shared with the audio and video in-place tests.

use std::io::Cursor;

use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::{Carrier, Label, Limits};
use aigc_label_image::jpeg::{ROOM_SIGNATURE, Update};
use aigc_label_image::{Jpeg, WebP};
use aigc_label_testutil::in_place::Recorder;
use aigc_label_testutil::{covered_by, fixture, sample_label};

/// An update of the recorded file in the format's own way (the carrier's `InPlace`).
trait UpdateAs {
    fn update(&mut self, format: &Format, label: &Label) -> Update;
}

impl UpdateAs for Recorder {
    fn update(&mut self, format: &Format, label: &Label) -> Update {
        let in_place = format.carrier.in_place().expect("updates in place");
        in_place.update(self, label, &Limits::default()).unwrap()
    }
}

/// A format updated in place, its room's identifier and the fixtures tried.
struct Format {
    name: &'static str,
    carrier: &'static dyn Carrier,
    room: &'static [u8],
    fixtures: &'static [&'static str],
    /// Bytes of the switch.
    switch: u64,
}

const FORMATS: [Format; 2] = [
    // cjpeg, ImageMagick and exiftool: plain, with EXIF, ICC and XMP, progressive, with a
    // label another tool wrote in XMP.
    Format {
        name: "jpeg",
        carrier: &Jpeg,
        room: ROOM_SIGNATURE,
        fixtures: &[
            "baseline.jpg",
            "exif-icc-xmp.jpg",
            "progressive.jpg",
            "label-xmp-element.jpg",
        ],
        switch: 3,
    },
    // cwebp, img2webp and exiftool: lossy, lossless with alpha, animated with ICC, with EXIF,
    // with unknown chunks, with XMP another tool wrote.
    Format {
        name: "webp",
        carrier: &WebP,
        room: &aigc_label_image::webp::ROOM,
        fixtures: &[
            "lossy.webp",
            "lossless-alpha.webp",
            "animated-icc.webp",
            "icc-exif.webp",
            "unknown-chunks.webp",
            "xmp-existing.webp",
        ],
        switch: 8,
    },
];

fn has_room(format: &Format, data: &[u8]) -> usize {
    data.windows(format.room.len()).filter(|w| *w == format.room).count()
}

fn texts(format: &Format, data: &[u8]) -> Vec<String> {
    format
        .carrier
        .find(&mut Cursor::new(data), &Limits::default())
        .unwrap()
        .into_iter()
        .map(|f| f.text)
        .collect()
}

fn embed(format: &Format, input: &[u8], label: &Label) -> Vec<u8> {
    let mut out = Vec::new();
    format
        .carrier
        .write(&mut Cursor::new(input), &mut out, label, &Limits::default())
        .unwrap();
    out
}

fn read(format: &Format, name: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!("{}/{name}", format.name))).unwrap()
}

/// A platform's update: propagation fields with an ID of about `len` bytes.
fn propagated(n: usize, len: usize) -> Label {
    sample_label().propagated(
        "001191440300708461136T2PLAT",
        format!("upload-{n:04}-{}", "x".repeat(len)),
    )
}

fn pixels(data: &[u8]) -> Vec<u8> {
    image::load_from_memory(data).unwrap().into_bytes()
}

#[test]
fn updates_after_our_first_write_go_in_place() {
    for format in &FORMATS {
        for name in format.fixtures {
            let mut file = embed(format, &read(format, name), &sample_label());
            assert_eq!(has_room(format, &file), 1, "{name}: one room");
            let carrier = format.carrier;
            let (size, covered, decoded) = (file.len(), covered_by(carrier, &file), pixels(&file));
            // Labels of about the same size and growing ones: the label alternates between the
            // room after the XMP structure and the room the previous update left before it.
            for n in 0..8 {
                let label = propagated(n, 100 + 40 * n);
                let json = to_json(&label, Shape::Bare);
                let mut rec = Recorder::new(file.clone());
                let Update::InPlace(w) = rec.update(format, &label) else {
                    panic!("{name}: update {n} asked for a rewrite")
                };
                eprintln!(
                    "{name}: update {n}: {} bytes written for a {}-byte label",
                    rec.written(),
                    json.len()
                );
                assert_eq!(w.bytes_written, rec.written());
                // The new structure (its packet keeps the old one's padding, 2 KiB), the switch,
                // and the old packet's text zeroed: the label twice plus a few KiB.
                assert!(
                    rec.written() <= 2 * json.len() as u64 + 4096,
                    "{name}: {} bytes",
                    rec.written()
                );
                assert_eq!(rec.syncs.len(), 2, "prepare and switch: each synced");
                let switch: Vec<_> = rec.writes[rec.syncs[0]..rec.syncs[1]].to_vec();
                let len = switch[0].1.len() as u64;
                assert!(switch.len() == 1 && len == format.switch, "{name}: one switch");
                assert_eq!(switch[0].0 / 512, (switch[0].0 + len - 1) / 512, "inside one sector");
                let before = file.clone();
                file = rec.into_inner();
                assert_eq!(file.len(), size, "{name}: nothing moves");
                assert_eq!(texts(format, &file), std::slice::from_ref(&json), "{name}");
                assert!(covered_by(carrier, &file) == covered, "{name}: covered bytes changed");
                assert!(file != before);
            }
            assert!(pixels(&file) == decoded, "{name}: decoded pixels changed");
            // Another reader's view: exiftool reads the last label.
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
                let json = to_json(&propagated(7, 380), Shape::Bare);
                assert_eq!(String::from_utf8_lossy(&out), json, "{name}: exiftool");
            }
            std::fs::remove_file(&path).ok();
        }
    }
}

#[test]
fn every_state_a_crash_can_leave_reads_as_the_old_or_the_new_label() {
    for format in &FORMATS {
        for name in format.fixtures {
            let mut file = embed(format, &read(format, name), &sample_label());
            let mut old = to_json(&sample_label(), Shape::Bare);
            for n in 0..4 {
                let label = propagated(n, 60 + 90 * n);
                let new = to_json(&label, Shape::Bare);
                let mut rec = Recorder::new(file.clone());
                assert!(matches!(rec.update(format, &label), Update::InPlace(_)), "{name}");
                // A kill after any number of writes, and within a write after any 4-byte
                // prefix (but the switch, inside one sector: whole or not at all).
                let mut state = file.clone();
                for (i, (pos, bytes)) in rec.writes.iter().enumerate() {
                    let step = if i == rec.syncs[0] { bytes.len() } else { 4 };
                    for cut in (0..bytes.len()).step_by(step) {
                        let mut torn = state.clone();
                        let at = *pos as usize;
                        torn[at..at + cut].copy_from_slice(&bytes[..cut]);
                        let seen = texts(format, &torn);
                        assert!(seen == [old.clone()] || seen == [new.clone()], "{name}: {seen:?}");
                    }
                    state[*pos as usize..*pos as usize + bytes.len()].copy_from_slice(bytes);
                }
                assert_eq!(texts(format, &state), std::slice::from_ref(&new));
                file = state;
                old = new;
            }
        }
    }
}

#[test]
fn without_room_nothing_is_written() {
    for format in &FORMATS {
        // A file without a label, and one labelled by another tool: no room of ours.
        for name in [format.fixtures[0], format.fixtures[format.fixtures.len() - 1]] {
            let mut rec = Recorder::new(read(format, name));
            assert!(
                matches!(rec.update(format, &sample_label()), Update::Rewrite(_)),
                "{name}"
            );
            assert_eq!(rec.written(), 0);
        }
        // A label larger than the room.
        let labelled = embed(format, &read(format, format.fixtures[0]), &sample_label());
        let mut rec = Recorder::new(labelled.clone());
        assert!(matches!(rec.update(format, &propagated(0, 8000)), Update::Rewrite(_)));
        assert_eq!(rec.written(), 0);
        // The rewrite then takes it, and leaves room again: one room, next to the label.
        let bigger = embed(format, &labelled, &propagated(0, 8000));
        assert_eq!(has_room(format, &bigger), 1);
        let mut rec = Recorder::new(bigger);
        assert!(matches!(rec.update(format, &propagated(1, 8000)), Update::InPlace(_)));
    }
}

#[test]
fn the_first_write_leaves_the_room_limits_ask_for() {
    for format in &FORMATS {
        let input = read(format, format.fixtures[0]);
        let base = embed(format, &input, &sample_label()).len() as u64;
        for room in [0u64, 10_000] {
            let mut limits = Limits::default();
            limits.label_room = room;
            let mut out = Vec::new();
            format
                .carrier
                .write(&mut Cursor::new(&input), &mut out, &sample_label(), &limits)
                .unwrap();
            if room == 0 {
                assert!(has_room(format, &out) == 0 && (out.len() as u64) < base);
            } else {
                assert_eq!(has_room(format, &out), 1);
                assert_eq!(out.len() as u64, base + room - Limits::default().label_room);
            }
        }
    }
}

/// Hostile input: the `jpeg` and `webp` fuzz corpora and the `*_in_place` ones, through the
/// in-place update's fuzz property.
#[test]
fn fuzz_corpora_update_in_place_or_write_nothing() {
    use aigc_label_testutil::{in_place::fuzz_in_place, replay_corpus};
    replay_corpus("jpeg", |data| fuzz_in_place(&Jpeg, data));
    replay_corpus("jpeg_in_place", |data| fuzz_in_place(&Jpeg, data));
    replay_corpus("webp", |data| fuzz_in_place(&WebP, data));
    replay_corpus("webp_in_place", |data| fuzz_in_place(&WebP, data));
}

/// HEIF and AVIF: our first write leaves room after the packet in its own `mdat`; an update
/// writes the new packet into that room and flips the item's `iloc` extent (offset and length,
/// one write inside one sector), so `meta` and every other byte stay.
mod heif {
    use std::path::Path;

    use super::*;
    use aigc_label_image::Heif;
    use aigc_label_testutil::in_place::replay_torn;

    /// heif-enc and exiftool: HEIC with a grid in `idat`, AVIF, an alpha plane, a thumbnail, two
    /// images, libheif's XMP, a label exiftool wrote.
    const FIXTURES: [&str; 7] = [
        "rgb.heic",
        "rgb.avif",
        "alpha.heic",
        "thumbnail.heic",
        "two-images.avif",
        "xmp-existing.heic",
        "label-xmp.heic",
    ];

    fn read(name: &str) -> Vec<u8> {
        std::fs::read(fixture(&format!("heif/{name}"))).unwrap()
    }

    fn embed(input: &[u8], label: &Label, limits: &Limits) -> Vec<u8> {
        let mut out = Vec::new();
        Heif.write(&mut Cursor::new(input), &mut out, label, limits).unwrap();
        out
    }

    fn texts(data: &[u8]) -> Vec<String> {
        Heif.find(&mut Cursor::new(data), &Limits::default())
            .unwrap()
            .into_iter()
            .map(|f| f.text)
            .collect()
    }

    fn try_update(file: &[u8], label: &Label) -> (Recorder, Update) {
        let mut rec = Recorder::new(file.to_vec());
        let update = Heif
            .in_place()
            .expect("updates in place")
            .update(&mut rec, label, &Limits::default())
            .unwrap();
        (rec, update)
    }

    /// What other readers see in `path`: heif-info's item list, exiftool's label, ImageMagick's
    /// and (AVIF) ffprobe's picture, and heif-convert's decoded pixels.
    fn witnesses(path: &Path, name: &str) -> Vec<Vec<u8>> {
        let mut seen = Vec::new();
        if let Some(info) = aigc_label_testutil::tool("heif-info") {
            let text = String::from_utf8(aigc_label_testutil::run(&info, &[path.as_os_str()])).unwrap();
            assert!(text.contains("XMP:"), "{name}: heif-info sees no XMP: {text}");
        }
        if let Some(identify) = aigc_label_testutil::tool("identify") {
            let args = ["-format".as_ref(), "%m %wx%h %#\n".as_ref(), path.as_os_str()];
            seen.push(aigc_label_testutil::run(&identify, &args));
        }
        if name.ends_with(".avif")
            && let Some(ffprobe) = aigc_label_testutil::tool("ffprobe")
        {
            let args = ["-v", "error", "-show_entries", "stream=codec_name,width,height"].map(std::ffi::OsStr::new);
            let out = aigc_label_testutil::run(&ffprobe, &[&args[..], &[path.as_os_str()]].concat());
            assert!(String::from_utf8_lossy(&out).contains("av1"), "{name}: ffprobe");
            seen.push(out);
        }
        if let Some(convert) = aigc_label_testutil::tool("heif-convert") {
            // One PNG per top-level image, in a folder of their own.
            let out = path.with_extension("decoded");
            std::fs::create_dir_all(&out).unwrap();
            let png = out.join("image.png");
            aigc_label_testutil::run(&convert, &[path.as_os_str(), png.as_os_str()]);
            let mut pngs: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).collect();
            pngs.sort();
            assert!(!pngs.is_empty(), "{name}: heif-convert wrote nothing");
            seen.extend(pngs.iter().map(|p| pixels(&std::fs::read(p).unwrap())));
            std::fs::remove_dir_all(&out).unwrap();
        }
        seen
    }

    #[test]
    fn updates_after_our_first_write_go_in_place() {
        let dir = std::env::temp_dir().join(format!("aigc-in-place-heif-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in FIXTURES {
            let mut file = embed(&read(name), &sample_label(), &Limits::default());
            let (size, covered) = (file.len(), covered_by(&Heif, &file));
            let path = dir.join(name);
            std::fs::write(&path, &file).unwrap();
            let before = witnesses(&path, name);
            // Labels of about the same size and growing ones: the packet alternates between the
            // two ends of its `mdat`.
            for n in 0..8 {
                let label = propagated(n, 100 + 40 * n);
                let json = to_json(&label, Shape::Bare);
                let (rec, update) = try_update(&file, &label);
                let Update::InPlace(w) = update else {
                    panic!("{name}: update {n} asked for a rewrite: {update:?}")
                };
                eprintln!(
                    "{name}: update {n}: {} bytes written for a {}-byte label, switch {:?}",
                    rec.written(),
                    json.len(),
                    rec.writes.get(rec.syncs[0]).map(|w| w.1.len())
                );
                assert_eq!(w.bytes_written, rec.written());
                // The new packet (it keeps the old one's padding), the switch, the old packet
                // zeroed: the label twice plus a few KiB.
                assert!(
                    rec.written() <= 2 * json.len() as u64 + 4096,
                    "{name}: {} bytes",
                    rec.written()
                );
                assert_eq!(rec.syncs.len(), 2, "prepare and switch: each synced");
                let switch = &rec.writes[rec.syncs[0]..rec.syncs[1]];
                let (at, bytes) = (&switch[0].0, &switch[0].1);
                assert!(switch.len() == 1 && bytes.len() <= 16, "{name}: one switch: {switch:?}");
                assert_eq!(at / 512, (at + bytes.len() as u64 - 1) / 512, "inside one sector");
                let previous = file.clone();
                file = rec.into_inner();
                assert_eq!(file.len(), size, "{name}: nothing moves");
                assert_eq!(texts(&file), std::slice::from_ref(&json), "{name}");
                assert!(covered_by(&Heif, &file) == covered, "{name}: covered bytes changed");
                assert!(file != previous);
            }
            std::fs::write(&path, &file).unwrap();
            assert!(witnesses(&path, name) == before, "{name}: another reader sees a change");
            if let Some(text) = aigc_label_testutil::exiftool_aigc(&path) {
                assert_eq!(text, to_json(&propagated(7, 380), Shape::Bare), "{name}: exiftool");
            }
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn every_state_a_crash_can_leave_reads_as_the_old_or_the_new_label() {
        for name in ["rgb.heic", "rgb.avif", "label-xmp.heic"] {
            let mut file = embed(&read(name), &sample_label(), &Limits::default());
            let mut old = to_json(&sample_label(), Shape::Bare);
            for n in 0..4 {
                let label = propagated(n, 60 + 90 * n);
                let new = to_json(&label, Shape::Bare);
                let (rec, update) = try_update(&file, &label);
                assert!(matches!(update, Update::InPlace(_)), "{name}");
                // A kill after any number of writes, and within a write after any 4-byte
                // prefix (but the switch, inside one sector: whole or not at all).
                let switch = rec.syncs[0];
                file = replay_torn(
                    &file,
                    &rec.writes,
                    |i, bytes| if i == switch { bytes.len() } else { 4 },
                    |state, i, cut| {
                        let seen = texts(state);
                        assert!(
                            seen == [old.clone()] || seen == [new.clone()],
                            "{name}: write {i} cut at {cut}: {seen:?}"
                        );
                    },
                );
                assert_eq!(texts(&file), std::slice::from_ref(&new));
                old = new;
            }
        }
    }

    #[test]
    fn without_room_nothing_is_written() {
        // A file without a label, and one labelled by exiftool: no room of ours.
        for name in [
            "rgb.heic",
            "label-xmp.heic",
            "label-exif-usercomment.heic",
            "xmp-compressed.avif",
        ] {
            let (rec, update) = try_update(&read(name), &sample_label());
            assert!(matches!(update, Update::Rewrite(_)), "{name}: {update:?}");
            assert_eq!(rec.written(), 0);
        }
        // Our first write without room.
        let mut limits = Limits::default();
        limits.label_room = 0;
        let (rec, update) = try_update(&embed(&read("rgb.avif"), &sample_label(), &limits), &sample_label());
        assert!(matches!(update, Update::Rewrite(_)), "{update:?}");
        assert_eq!(rec.written(), 0);
        // A label larger than the room.
        let labelled = embed(&read("rgb.avif"), &sample_label(), &Limits::default());
        let (rec, update) = try_update(&labelled, &propagated(0, 12_000));
        assert!(matches!(update, Update::Rewrite(_)), "{update:?}");
        assert_eq!(rec.written(), 0);
        // The rewrite then takes it, and leaves room again.
        let bigger = embed(&labelled, &propagated(0, 12_000), &Limits::default());
        let (_, update) = try_update(&bigger, &propagated(1, 12_000));
        assert!(matches!(update, Update::InPlace(_)), "{update:?}");
    }

    #[test]
    fn the_first_write_leaves_the_room_limits_ask_for() {
        let input = read("rgb.heic");
        let base = embed(&input, &sample_label(), &Limits::default()).len() as u64;
        for room in [0u64, 10_000] {
            let mut limits = Limits::default();
            limits.label_room = room;
            let out = embed(&input, &sample_label(), &limits);
            let found = Heif.find(&mut Cursor::new(&out), &limits).unwrap();
            let packet = found[0].range.end - found[0].range.start;
            let expected = if room == 0 { 0 } else { packet + room };
            assert_eq!(out.len() as u64, found[0].range.end + expected, "room {room}");
            assert_eq!(room == 0, (out.len() as u64) < base, "room {room}");
        }
    }

    /// Hostile input: the `heif` fuzz corpus and the `heif_in_place` one, through the in-place
    /// update's fuzz property.
    #[test]
    fn fuzz_corpora_update_in_place_or_write_nothing() {
        use aigc_label_testutil::{in_place::fuzz_in_place, replay_corpus};
        replay_corpus("heif", |data| fuzz_in_place(&Heif, data));
        replay_corpus("heif_in_place", |data| fuzz_in_place(&Heif, data));
    }
}
