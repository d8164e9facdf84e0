//! The JPEG carrier against real files made by cjpeg, ImageMagick and exiftool
//! (tests/fixtures/jpeg/make.sh), with exiftool and djpeg as witnesses.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use aigc_label_core::check::{Level, id};
use aigc_label_core::inspect::{Options, Verdict, inspect_with};
use aigc_label_core::json::{self, Shape};
use aigc_label_core::{Carrier, Error, Limits};
use aigc_label_image::Jpeg;
use aigc_label_image::jpeg::{EXTENDED_XMP, ROOM_SIGNATURE, XMP_SIGNATURE};
use aigc_label_testutil as tu;

/// Fixtures whose label cannot be moved (a label in Extended XMP): `write` refuses them.
const REFUSED: &[&str] = &["label-extended-xmp.jpg"];

fn name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or_default()
}

fn jpegs() -> Vec<PathBuf> {
    tu::fixtures("jpeg", &["jpg"])
}

fn writable() -> impl Iterator<Item = (String, Vec<u8>)> {
    jpegs()
        .into_iter()
        .filter(|p| !REFUSED.contains(&name(p)))
        .map(|p| (name(&p).to_string(), std::fs::read(&p).unwrap()))
}

/// One marker segment before SOS, as a plain test-side walker sees it (trusted input only).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seg {
    marker: u8,
    bytes: Vec<u8>,
}

impl Seg {
    fn is_main_xmp(&self) -> bool {
        self.marker == 0xE1 && self.bytes.get(4..).is_some_and(|p| p.starts_with(XMP_SIGNATURE))
    }
    /// The room our writer leaves next to the label, for updates in place.
    fn is_room(&self) -> bool {
        self.marker == 0xE1 && self.bytes.get(4..).is_some_and(|p| p.starts_with(ROOM_SIGNATURE))
    }
    fn is_exif(&self) -> bool {
        self.marker == 0xE1 && self.bytes.get(4..).is_some_and(|p| p.starts_with(b"Exif\0\0"))
    }
}

/// The segments between SOI and SOS, and everything from SOS to the end.
fn split(jpeg: &[u8]) -> (Vec<Seg>, Vec<u8>) {
    assert_eq!(&jpeg[..2], [0xFF, 0xD8]);
    let mut at = 2;
    let mut segs = Vec::new();
    loop {
        let start = at;
        while jpeg[at + 1] == 0xFF {
            at += 1;
        }
        let marker = jpeg[at + 1];
        if marker == 0xDA {
            return (segs, jpeg[start..].to_vec());
        }
        let standalone = marker == 0x01 || (0xD0..=0xD7).contains(&marker);
        let len = if standalone {
            0
        } else {
            usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]))
        };
        at += 2 + len;
        segs.push(Seg {
            marker,
            bytes: jpeg[start..at].to_vec(),
        });
    }
}

fn temp_file(tag: &str, bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("aigc-jpeg-test-{}-{tag}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Pixels as djpeg decodes them (PPM/PGM), or `None` without djpeg.
fn djpeg(tag: &str, jpeg: &[u8]) -> Option<Vec<u8>> {
    let djpeg = tu::tool("djpeg")?;
    let path = temp_file(tag, jpeg);
    let pixels = tu::run(&djpeg, &["-pnm".as_ref(), path.as_os_str()]);
    std::fs::remove_file(&path).ok();
    Some(pixels)
}

/// One tag as exiftool reads it, with the TC260 namespace configured.
fn exiftool_value(path: &Path, tag: &str) -> Option<String> {
    let exiftool = tu::tool("exiftool")?;
    let config = tu::workspace_root().join("tests/exiftool/tc260.config");
    let tag = format!("-{tag}");
    let args = [
        "-config".as_ref(),
        config.as_os_str(),
        tag.as_ref(),
        "-b".as_ref(),
        path.as_os_str(),
    ];
    Some(String::from_utf8_lossy(&tu::run(&exiftool, &args)).into_owned())
}

#[test]
fn every_fixture_round_trips_keeping_everything_else() {
    let label = tu::sample_label();
    for (name, input) in writable() {
        let output = tu::round_trip(&Jpeg, &input);
        let (before, tail_in) = split(&input);
        let (after, tail_out) = split(&output);

        // The scans and whatever follows them are copied, not re-encoded.
        assert!(tail_in == tail_out, "{name}: bytes from SOS to the end differ");

        // Every segment but the XMP packet (and our room) is kept, in order; EXIF only loses its
        // label text.
        let ours = |s: &&Seg| !s.is_main_xmp() && !s.is_room();
        let kept_in: Vec<&Seg> = before.iter().filter(ours).collect();
        let kept_out: Vec<&Seg> = after.iter().filter(ours).collect();
        assert_eq!(after.iter().filter(|s| s.is_room()).count(), 1, "{name}: one room");
        assert_eq!(kept_in.len(), kept_out.len(), "{name}: segment count");
        for (a, b) in kept_in.iter().zip(&kept_out) {
            if a.is_exif() && a != b {
                assert_eq!(a.bytes.len(), b.bytes.len(), "{name}: EXIF length must not change");
                let changed = a.bytes.iter().zip(&b.bytes).filter(|(x, y)| x != y);
                assert!(
                    changed.clone().all(|(_, y)| *y == b' ' || *y == 0),
                    "{name}: EXIF blanked"
                );
                assert!(changed.count() > 40, "{name}: the whole label text is blanked");
            } else {
                assert!(a == b, "{name}: segment FF {:02X} changed", a.marker);
            }
        }
        assert_eq!(
            after.iter().filter(|s| s.is_main_xmp()).count(),
            1,
            "{name}: one XMP segment"
        );

        // Decoders see the same picture.
        let a = image::load_from_memory(&input).unwrap().to_rgb8();
        let b = image::load_from_memory(&output).unwrap().to_rgb8();
        assert!(a == b, "{name}: image crate decodes different pixels");
        if let (Some(a), Some(b)) = (
            djpeg(&format!("{name}-in"), &input),
            djpeg(&format!("{name}-out"), &output),
        ) {
            assert!(a == b, "{name}: djpeg decodes different pixels");
        }

        // exiftool reads exactly the bare label we wrote. It groups XMP by prefix, so where the
        // file binds another prefix to the TC260 namespace (kept on update), ask for any group.
        let path = temp_file(&name, &output);
        let value = if name == "label-xmp-prefix.jpg" {
            exiftool_value(&path, "XMP:AIGC")
        } else {
            tu::exiftool_aigc(&path)
        };
        if let Some(value) = value {
            assert_eq!(value, json::to_json(&label, Shape::Bare), "{name}: exiftool reads");
        }
        std::fs::remove_file(&path).ok();
    }
}

#[test]
fn new_xmp_goes_after_jfif_and_exif() {
    let markers =
        |bytes: &[u8]| -> Vec<(u8, bool)> { split(bytes).0.iter().map(|s| (s.marker, s.is_exif())).collect() };
    for (fixture, xmp_index) in [("baseline.jpg", 1), ("label-usercomment.jpg", 2)] {
        let input = std::fs::read(tu::fixture(&format!("jpeg/{fixture}"))).unwrap();
        let mut out = Vec::new();
        let written = Jpeg
            .write(
                &mut Cursor::new(&input),
                &mut out,
                &tu::sample_label(),
                &Limits::default(),
            )
            .unwrap();
        let (segs, _) = split(&out);
        assert!(segs[xmp_index].is_main_xmp(), "{fixture}: {:?}", markers(&out));
        let start: usize = 2 + segs[..xmp_index].iter().map(|s| s.bytes.len()).sum::<usize>();
        let range = written.label_range;
        assert_eq!(range.start as usize, start);
        // The label's structure: its XMP segment and the room after it.
        assert!(segs[xmp_index + 1].is_room(), "{fixture}: {:?}", markers(&out));
        let both = segs[xmp_index].bytes.len() + segs[xmp_index + 1].bytes.len();
        assert_eq!((range.end - range.start) as usize, both);
        assert_eq!(&out[start..start + 2], [0xFF, 0xE1]);
    }
}

#[test]
fn existing_xmp_is_replaced_in_place_and_keeps_its_properties() {
    let input = std::fs::read(tu::fixture("jpeg/xmp-title.jpg")).unwrap();
    let position = |bytes: &[u8]| split(bytes).0.iter().position(Seg::is_main_xmp);
    let output = tu::round_trip(&Jpeg, &input);
    assert_eq!(position(&input), position(&output));
    let path = temp_file("title.jpg", &output);
    if let Some(title) = exiftool_value(&path, "XMP-dc:Title") {
        assert_eq!(title, "Harbour at dusk");
        assert_eq!(
            exiftool_value(&path, "XMP-xmp:CreatorTool").unwrap(),
            "aigc-label fixture maker"
        );
    }
    std::fs::remove_file(&path).ok();
}

fn inspect(fixture: &str) -> aigc_label_core::Report {
    let input = std::fs::read(tu::fixture(&format!("jpeg/{fixture}"))).unwrap();
    inspect_with(&Jpeg, &mut Cursor::new(input), &Options::default()).unwrap()
}

#[test]
fn finds_each_label_variant_in_its_carrier() {
    for (fixture, carrier) in [
        ("label-xmp-element.jpg", "APP1 XMP"),
        ("label-xmp-attribute.jpg", "APP1 XMP"),
        ("label-xmp-prefix.jpg", "APP1 XMP"),
        ("label-usercomment.jpg", "EXIF UserComment"),
        ("label-usercomment-unicode.jpg", "EXIF UserComment"),
        ("label-extended-xmp.jpg", "APP1 Extended XMP"),
    ] {
        let report = inspect(fixture);
        assert_eq!(report.copies.len(), 1, "{fixture}: {:#?}", report.copies);
        let copy = &report.copies[0];
        assert_eq!(copy.carrier, carrier, "{fixture}");
        assert_eq!(
            copy.field("ContentProducer"),
            Some("001191440300708461136T1XGW3"),
            "{fixture}"
        );
        assert_eq!(report.verdict, Verdict::Compliant, "{fixture}: {:#?}", copy.checks);
    }
}

#[test]
fn user_comment_label_is_wrapped_and_flagged_as_misplaced() {
    for fixture in ["label-usercomment.jpg", "label-usercomment-unicode.jpg"] {
        let report = inspect(fixture);
        let copy = &report.copies[0];
        assert_eq!(copy.expected_shape, Shape::Wrapped);
        let level = |check: &str| copy.checks.iter().find(|c| c.id == check).map(|c| c.level);
        assert_eq!(level(id::JSON_SHAPE), Some(Level::Pass), "{fixture}");
        assert_eq!(level(id::CARRIER_PLACE), Some(Level::Warn), "{fixture}");
    }
    let unicode = inspect("label-usercomment-unicode.jpg");
    assert_eq!(unicode.copies[0].field("ProduceID"), Some("图片-0001"));
}

#[test]
fn label_in_extended_xmp_is_flagged_and_not_moved() {
    let report = inspect("label-extended-xmp.jpg");
    let copy = &report.copies[0];
    let extended = copy.checks.iter().find(|c| c.id == EXTENDED_XMP).unwrap();
    assert_eq!(extended.level, Level::Warn);
    assert!(
        extended.detail.contains("named by xmpNote:HasExtendedXMP"),
        "{}",
        extended.detail
    );
    assert_eq!(copy.field("ReservedCode1").map(str::len), Some(40000));

    let input = std::fs::read(tu::fixture("jpeg/label-extended-xmp.jpg")).unwrap();
    let mut out = Vec::new();
    let result = Jpeg.write(
        &mut Cursor::new(&input),
        &mut out,
        &tu::sample_label(),
        &Limits::default(),
    );
    assert!(matches!(result, Err(Error::Unsupported(_))), "{result:?}");
    assert!(out.is_empty(), "nothing is written before the refusal");
}

#[test]
fn two_copies_are_non_compliant() {
    let report = inspect("label-two-copies.jpg");
    let carriers: Vec<&str> = report.copies.iter().map(|c| c.carrier.as_ref()).collect();
    assert_eq!(carriers, ["EXIF UserComment", "APP1 XMP"]);
    assert_eq!(report.verdict, Verdict::NonCompliant);
    for copy in &report.copies {
        assert!(
            copy.checks
                .iter()
                .any(|c| c.id == id::COPIES_SINGLE && c.level == Level::Fail),
            "{:#?}",
            copy.checks
        );
    }
}

#[test]
fn files_without_a_label_are_unlabelled() {
    for path in jpegs().iter().filter(|p| !name(p).starts_with("label-")) {
        let report = inspect(name(path));
        assert_eq!(report.verdict, Verdict::Unlabelled, "{}", name(path));
    }
}

fn find(data: &[u8]) -> aigc_label_core::Result<Vec<aigc_label_core::Found>> {
    Jpeg.find(&mut Cursor::new(data), &Limits::default())
}

fn write(data: &[u8]) -> aigc_label_core::Result<aigc_label_core::Written> {
    Jpeg.write(
        &mut Cursor::new(data),
        &mut Vec::new(),
        &tu::sample_label(),
        &Limits::default(),
    )
}

#[test]
fn truncated_files_fail_cleanly() {
    for path in jpegs() {
        let input = std::fs::read(&path).unwrap();
        let (segs, tail) = split(&input);
        let sos = input.len() - tail.len();
        let sos_header = sos + 2 + usize::from(u16::from_be_bytes([tail[2], tail[3]]));
        let mut cuts: Vec<usize> = (0..8).chain([sos - 1, sos, sos + 1, sos_header - 1]).collect();
        let mut at = 2;
        for seg in &segs {
            cuts.extend([at + 1, at + 3, at + seg.bytes.len() / 2, at + seg.bytes.len() - 1]);
            at += seg.bytes.len();
        }
        // Cut before the scans: embedding refuses, and inspection either refuses too or reads
        // up to the cut, flagging every copy with structure.truncated.
        for cut in cuts {
            let data = &input[..cut];
            if let Ok(found) = find(data) {
                for copy in &found {
                    assert!(
                        copy.checks.iter().any(|c| c.id == id::STRUCTURE_TRUNCATED),
                        "{} cut at {cut}: {:?}",
                        name(&path),
                        copy.checks
                    );
                }
            }
            assert!(write(data).is_err(), "{} cut at {cut}: write", name(&path));
        }
        // Cut inside the entropy-coded data: find stops at SOS, write copies what is there.
        for cut in [sos_header, (sos_header + input.len()) / 2, input.len() - 1] {
            let _ = find(&input[..cut]);
            let _ = write(&input[..cut]);
        }
    }
}

#[test]
fn a_labelled_file_cut_before_its_scan_is_inspected_with_a_warning_and_embedding_refuses() {
    let input = std::fs::read(tu::fixture("jpeg/label-xmp-element.jpg")).unwrap();
    let (_, tail) = split(&input);
    let cut = &input[..input.len() - tail.len() - 3];
    let found = find(cut).unwrap();
    assert_eq!(found.len(), 1);
    let check = found[0]
        .checks
        .iter()
        .find(|c| c.id == id::STRUCTURE_TRUNCATED)
        .unwrap();
    assert_eq!(check.level, Level::Warn);
    assert!(matches!(write(cut), Err(Error::Truncated { .. })));
}

#[test]
fn lying_lengths_fail_cleanly() {
    for path in jpegs() {
        let input = std::fs::read(&path).unwrap();
        let (segs, _) = split(&input);
        let mut at = 2;
        for seg in &segs {
            let len_at = at + seg.bytes.iter().take_while(|&&b| b == 0xFF).count() + 1;
            at += seg.bytes.len();
            if seg.marker == 0x01 || (0xD0..=0xD7).contains(&seg.marker) {
                continue;
            }
            for lie in [0u16, 1, 0xFFFF, (input.len() as u16).wrapping_add(7)] {
                let mut data = input.clone();
                data[len_at..len_at + 2].copy_from_slice(&lie.to_be_bytes());
                let (found, written) = (find(&data), write(&data));
                if lie < 2 {
                    assert!(found.is_err() && written.is_err(), "{}: length {lie}", name(&path));
                }
            }
        }
    }
}

#[test]
fn garbage_fails_cleanly() {
    let limits = Limits::default();
    assert!(find(&[]).is_err());
    assert!(write(&[]).is_err());
    for short in [
        &[0xFF][..],
        &[0xFF, 0xD8],
        &[0xFF, 0xD8, 0xFF],
        &[0xFF, 0xD8, 0xFF, 0xD9],
    ] {
        assert!(find(short).is_err(), "{short:02X?}");
        assert!(write(short).is_err(), "{short:02X?}");
    }
    assert!(find(&[0u8; 64]).is_err());
    // Random bytes behind FF D8 FF, from a fixed xorshift sequence.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..500 {
        let len = (next() % 2000) as usize;
        let mut data = vec![0xFF, 0xD8, 0xFF];
        data.extend((0..len).map(|_| next() as u8));
        assert!(Jpeg.find(&mut Cursor::new(&data), &limits).is_err(), "round {round}");
        assert!(write(&data).is_err(), "round {round}");
    }
}

#[test]
fn sniffs_and_names() {
    assert!(Jpeg.sniff(&[0xFF, 0xD8, 0xFF, 0xE0]));
    assert!(!Jpeg.sniff(&[0xFF, 0xD8]));
    assert!(!Jpeg.sniff(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(Jpeg.format(), "jpeg");
    assert_eq!(Jpeg.media_type(), "image/jpeg");
    assert_eq!(Jpeg.extensions(), ["jpg", "jpeg", "jpe", "jfif"]);
}

/// A reader that counts the bytes read through it.
struct Counting<R> {
    inner: R,
    read: u64,
}

impl<R: std::io::Read> std::io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl<R: std::io::Seek> std::io::Seek for Counting<R> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[test]
fn find_seeks_past_the_image_data_and_write_streams_it() {
    let fixture = std::fs::read(tu::fixture("jpeg/exif-icc-xmp.jpg")).unwrap();
    let mut big = fixture[..fixture.len() - 2].to_vec();
    big.resize(big.len() + (8 << 20), 0x00);
    big.extend_from_slice(&[0xFF, 0xD9]);

    let mut input = Counting {
        inner: Cursor::new(&big),
        read: 0,
    };
    let found = Jpeg.find(&mut input, &Limits::default()).unwrap();
    assert!(found.is_empty());
    assert!(input.read < 16 << 10, "find read {} bytes", input.read);

    let mut out = Vec::new();
    let written = Jpeg
        .write(&mut input, &mut out, &tu::sample_label(), &Limits::default())
        .unwrap();
    assert_eq!(written.bytes_written, out.len() as u64);
    assert!(out.ends_with(&big[big.len() - (8 << 20)..]));
}
