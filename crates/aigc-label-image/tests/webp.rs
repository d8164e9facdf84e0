//! The WebP carrier against files made by cwebp, img2webp, gif2webp, webpmux and exiftool: every
//! fixture through the shared round trip, decoded pixels of every frame and every non-label chunk
//! unchanged, a correct `VP8X` for simple files, exiftool, webpmux and dwebp as witnesses, the
//! wild label variants found, and malformed inputs rejected without a panic.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use aigc_label_core::check::{Level, id};
use aigc_label_core::inspect::{Options, Report, Verdict, inspect_with};
use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::{Carrier, Label, Limits};
use aigc_label_image::WebP;
use aigc_label_testutil as tu;
use image::AnimationDecoder;
use image::codecs::webp::WebPDecoder;

#[path = "support/rewrite.rs"]
mod rewrite;

fn fixtures() -> Vec<PathBuf> {
    tu::fixtures("webp", &["webp"])
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixture(name: &str) -> Vec<u8> {
    read(&tu::fixture(&format!("webp/{name}")))
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Writes `data` where external tools can read it.
fn temp_file(name: &str, data: &[u8]) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("webp-{name}"));
    std::fs::write(&path, data).unwrap();
    path
}

fn write(data: &[u8], label: &Label) -> aigc_label_core::Result<Vec<u8>> {
    let mut out = Vec::new();
    WebP.write(&mut Cursor::new(data), &mut out, label, &Limits::default())?;
    Ok(out)
}

fn inspect(data: &[u8]) -> Report {
    inspect_with(&WebP, &mut Cursor::new(data), &Options::default()).expect("inspect")
}

fn riff_end(data: &[u8]) -> usize {
    8 + u32::from_le_bytes(data[4..8].try_into().unwrap()) as usize
}

/// The top-level chunks of a well-formed file, each with its header and padding byte
/// (test-side walker, independent of the carrier's).
fn chunks(data: &[u8]) -> Vec<&[u8]> {
    let end = riff_end(data);
    let mut out = Vec::new();
    let mut pos = 12;
    while pos < end {
        let len = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().unwrap()) as usize;
        let padded = len + (len & 1);
        out.push(&data[pos..pos + 8 + padded]);
        pos += 8 + padded;
    }
    assert_eq!(pos, end, "chunks fill the RIFF chunk");
    out
}

fn fourcc(chunk: &[u8]) -> &[u8] {
    &chunk[..4]
}

fn is_xmp(chunk: &[u8]) -> bool {
    fourcc(chunk) == b"XMP "
}

/// True when an `XMP ` chunk's packet has a `TC260:AIGC` property.
fn holds_label(chunk: &[u8]) -> bool {
    let len = u32::from_le_bytes(chunk[4..8].try_into().unwrap()) as usize;
    !aigc_label_core::xmp::find_aigc(&chunk[8..8 + len], &Limits::default())
        .unwrap()
        .is_empty()
}

/// Every frame the `image` crate decodes (one for a still), as RGBA with its delay.
fn decode(data: &[u8]) -> Vec<(Vec<u8>, (u32, u32))> {
    let decoder = WebPDecoder::new(Cursor::new(data)).expect("webp decodes");
    if decoder.has_animation() {
        decoder
            .into_frames()
            .map(|f| {
                let f = f.expect("frame decodes");
                (f.buffer().as_raw().clone(), f.delay().numer_denom_ms())
            })
            .collect()
    } else {
        let image = image::DynamicImage::from_decoder(decoder).expect("image decodes");
        vec![(image.to_rgba8().into_raw(), (0, 1))]
    }
}

/// The pixels dwebp decodes, as PAM, frame by frame (`webpmux -get frame` for animations).
fn dwebp_frames(file: &Path, frames: usize, animated: bool) -> Option<Vec<Vec<u8>>> {
    let dwebp = tu::tool("dwebp")?;
    let webpmux = tu::tool("webpmux")?;
    let mut out = Vec::new();
    for n in 1..=frames {
        let still = if animated {
            let frame = file.with_extension(format!("frame{n}.webp"));
            tu::run(
                &webpmux,
                &[
                    "-get".as_ref(),
                    "frame".as_ref(),
                    n.to_string().as_ref(),
                    file.as_os_str(),
                    "-o".as_ref(),
                    frame.as_os_str(),
                ],
            );
            frame
        } else {
            file.to_path_buf()
        };
        out.push(tu::run(
            &dwebp,
            &[
                "-quiet".as_ref(),
                "-pam".as_ref(),
                still.as_os_str(),
                "-o".as_ref(),
                "-".as_ref(),
            ],
        ));
    }
    Some(out)
}

/// `webpmux -info`: whether it accepts the file, and what it says.
fn webpmux_info(file: &Path) -> Option<(bool, String)> {
    let webpmux = tu::tool("webpmux")?;
    let out = std::process::Command::new(webpmux)
        .arg("-info")
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    Some((out.status.success() && !text.contains("Failed"), text))
}

/// Fixtures webpmux refuses as they are, and still refuses after a label is added: a second XMP
/// chunk (kept, without its label), bytes after the RIFF chunk (kept).
const WEBPMUX_REFUSES: [&str; 2] = ["label-two-copies.webp", "trailing.webp"];

#[test]
fn every_fixture_round_trips_with_pixels_and_other_chunks_unchanged() {
    let json = to_json(&tu::sample_label(), Shape::Bare);
    for path in fixtures() {
        let name = name(&path);
        let input = read(&path);
        let out = tu::round_trip(&WebP, &input);

        let frames = decode(&input);
        assert_eq!(frames, decode(&out), "{name}: decoded frames differ");

        // RIFF size, trailing bytes.
        assert_eq!(
            &out[riff_end(&out)..],
            &input[riff_end(&input)..],
            "{name}: trailing bytes"
        );

        // Every chunk but VP8X, XMP and our room (JUNK, right after the XMP chunk) is unchanged
        // and in order; an EXIF chunk whose UserComment held a label keeps its length and loses
        // only that text.
        let kinds: Vec<&[u8]> = chunks(&out).into_iter().map(fourcc).collect();
        let xmp_at = kinds.iter().position(|k| *k == b"XMP ").unwrap();
        assert_eq!(kinds.get(xmp_at + 1), Some(&&b"JUNK"[..]), "{name}: room after XMP");
        let kept = |data| {
            chunks(data)
                .into_iter()
                .filter(|c| !is_xmp(c) && fourcc(c) != b"VP8X" && fourcc(c) != b"JUNK")
                .collect::<Vec<_>>()
        };
        let (kept_in, kept_out) = (kept(&input), kept(&out));
        assert_eq!(kept_in.len(), kept_out.len(), "{name}: chunks added or dropped");
        for (a, b) in kept_in.iter().zip(&kept_out) {
            if fourcc(a) == b"EXIF" && a.windows(4).any(|w| w == b"AIGC") {
                assert_eq!(a.len(), b.len(), "{name}: EXIF length");
                let changed = a.iter().zip(b.iter()).filter(|(x, y)| x != y);
                assert!(
                    changed.clone().all(|(_, y)| *y == b' '),
                    "{name}: EXIF changed beyond the comment"
                );
                assert!(!b.windows(4).any(|w| w == b"AIGC"), "{name}: EXIF label kept");
            } else {
                assert_eq!(a, b, "{name}: other chunks changed");
            }
        }

        // VP8X first with the XMP flag, its other bits kept; ICCP right after it.
        let in_chunks = chunks(&input);
        let out_chunks = chunks(&out);
        let vp8x = out_chunks[0];
        assert_eq!(fourcc(vp8x), b"VP8X", "{name}");
        assert_eq!(vp8x[8] & 0x04, 0x04, "{name}: XMP flag");
        if fourcc(in_chunks[0]) == b"VP8X" {
            let mut expected = in_chunks[0].to_vec();
            expected[8] |= 0x04;
            assert_eq!(vp8x, &expected[..], "{name}: VP8X otherwise unchanged");
        }
        if let Some(icc) = in_chunks.iter().position(|c| fourcc(c) == b"ICCP") {
            assert_eq!(fourcc(out_chunks[1]), b"ICCP", "{name}: ICCP first after VP8X");
            assert!(icc <= 1);
        }

        // One XMP chunk holds the label; a new one follows the image data and EXIF.
        let xmp: Vec<usize> = (0..out_chunks.len()).filter(|&i| is_xmp(out_chunks[i])).collect();
        let labelled: Vec<&usize> = xmp.iter().filter(|&&i| holds_label(out_chunks[i])).collect();
        assert_eq!(labelled.len(), 1, "{name}: one labelled XMP chunk");
        if !in_chunks.iter().any(|c| is_xmp(c)) {
            let last_known = out_chunks
                .iter()
                .rposition(|c| {
                    [
                        &b"VP8X"[..],
                        b"ICCP",
                        b"ANIM",
                        b"ANMF",
                        b"ALPH",
                        b"VP8 ",
                        b"VP8L",
                        b"EXIF",
                    ]
                    .contains(&fourcc(c))
                })
                .unwrap();
            assert_eq!(*labelled[0], last_known + 1, "{name}: XMP after image data and EXIF");
        }

        let report = inspect(&out);
        let place = report.copies[0]
            .checks
            .iter()
            .find(|c| c.id == id::CARRIER_PLACE)
            .unwrap();
        assert_eq!(place.level, Level::Pass, "{name}: {place}");

        let file = temp_file(&name, &out);
        if let Some(read) = tu::exiftool_aigc(&file) {
            assert_eq!(read, json, "{name}: exiftool reads the label");
        }
        if let Some((accepted, info)) = webpmux_info(&file) {
            assert_eq!(
                accepted,
                !WEBPMUX_REFUSES.contains(&name.as_str()),
                "{name}: webpmux -info: {info}"
            );
            if accepted {
                assert!(info.contains("XMP metadata"), "{name}: {info}");
            }
        }
        let before = temp_file(&format!("in-{name}"), &input);
        let animated = frames.len() > 1;
        let splittable = !animated || !WEBPMUX_REFUSES.contains(&name.as_str());
        if splittable {
            if let (Some(a), Some(b)) = (
                dwebp_frames(&before, frames.len(), animated),
                dwebp_frames(&file, frames.len(), animated),
            ) {
                assert_eq!(a, b, "{name}: dwebp decodes other pixels");
            }
        }
    }
}

#[test]
fn simple_files_get_a_correct_vp8x() {
    // (fixture, flags, features webpmux reports)
    let cases = [
        ("lossy.webp", 0x04, "XMP metadata"),
        ("lossless.webp", 0x04, "XMP metadata"),
        ("lossless-alpha.webp", 0x14, "XMP metadata transparency"),
    ];
    for (file, flags, features) in cases {
        let input = fixture(file);
        assert_ne!(&input[12..16], b"VP8X", "{file} is a simple file");
        let out = write(&input, &tu::sample_label()).unwrap();
        // 48x32: canvas width and height minus one, 24-bit little-endian.
        let vp8x = [b"VP8X\x0a\0\0\0".as_slice(), &[flags, 0, 0, 0], &[47, 0, 0, 31, 0, 0]].concat();
        assert_eq!(&out[12..30], &vp8x[..], "{file}");
        assert_eq!(
            &out[30..30 + input.len() - 12],
            &input[12..],
            "{file}: bitstream chunk follows"
        );
        assert_eq!(riff_end(&out), out.len(), "{file}: RIFF size");
        if let Some((accepted, info)) = webpmux_info(&temp_file(&format!("vp8x-{file}"), &out)) {
            assert!(accepted, "{file}: {info}");
            assert!(info.contains("Canvas size: 48 x 32"), "{file}: {info}");
            assert!(
                info.contains(&format!("Features present: {features}")),
                "{file}: {info}"
            );
        }
    }
}

#[test]
fn odd_sized_chunks_stay_padded() {
    // lossless.webp's VP8L chunk has an odd size; unknown-chunks.webp ends with odd chunks.
    for file in ["lossless.webp", "unknown-chunks.webp"] {
        let out = write(&fixture(file), &tu::sample_label()).unwrap();
        assert!(chunks(&out).iter().all(|c| c.len() % 2 == 0), "{file}");
        assert_eq!(riff_end(&out), out.len());
        let kinds: Vec<&[u8]> = chunks(&out).into_iter().map(fourcc).collect();
        if file == "unknown-chunks.webp" {
            assert_eq!(
                kinds,
                [
                    &b"VP8X"[..],
                    b"ICCP",
                    b"VP8 ",
                    b"EXIF",
                    b"XMP ",
                    b"JUNK",
                    b"ABCD",
                    b"wxyz"
                ]
            );
        }
    }
}

#[test]
fn other_xmp_properties_survive() {
    let out = write(&fixture("xmp-existing.webp"), &tu::sample_label()).unwrap();
    assert_eq!(chunks(&out).into_iter().filter(|c| is_xmp(c)).count(), 1);
    let Some(exiftool) = tu::tool("exiftool") else { return };
    let file = temp_file("xmp-existing-props.webp", &out);
    let read = tu::run(
        &exiftool,
        &[
            "-s3".as_ref(),
            "-XMP-dc:Title".as_ref(),
            "-XMP-xmp:CreatorTool".as_ref(),
            file.as_os_str(),
        ],
    );
    assert_eq!(String::from_utf8_lossy(&read), "Plasma test\ncwebp\n");
}

#[test]
fn label_range_is_the_xmp_chunk() {
    let input = fixture("icc-exif.webp");
    let mut out = Vec::new();
    let written = WebP
        .write(
            &mut Cursor::new(&input),
            &mut out,
            &tu::sample_label(),
            &Limits::default(),
        )
        .unwrap();
    assert_eq!(written.bytes_written, out.len() as u64);
    assert_eq!(written.label_range.end, out.len() as u64);
    assert_eq!(&out[written.label_range.start as usize..][..4], b"XMP ");
}

#[test]
fn inspect_finds_every_label_variant() {
    let fixture_label = Label::new(tu::sample_label().content_producer, "fixture-0001");
    // (fixture, copies, verdict, placement warnings expected)
    let cases = [
        ("label-xmp.webp", 1, Verdict::Compliant, false),
        ("label-xmp-first.webp", 1, Verdict::Compliant, false),
        ("label-xmp-no-flag.webp", 1, Verdict::Compliant, true),
        ("label-xmp-simple.webp", 1, Verdict::Compliant, true),
        ("label-two-copies.webp", 2, Verdict::NonCompliant, true),
    ];
    for (file, copies, verdict, warned) in cases {
        let report = inspect(&fixture(file));
        assert_eq!(report.copies.len(), copies, "{file}");
        assert_eq!(report.verdict, verdict, "{file}: {:#?}", report.copies);
        assert!(report.copies.iter().all(|c| c.carrier == "RIFF XMP chunk"));
        for copy in &report.copies {
            assert_eq!(copy.label(), Some(fixture_label.clone()), "{file}");
        }
        let levels: Vec<Level> = report
            .copies
            .iter()
            .flat_map(|c| c.checks.iter().filter(|c| c.id == id::CARRIER_PLACE).map(|c| c.level))
            .collect();
        assert_eq!(levels.contains(&Level::Warn), warned, "{file}: {levels:?}");
    }
    let detail = |file| {
        inspect(&fixture(file)).copies[0]
            .checks
            .iter()
            .find(|c| c.id == id::CARRIER_PLACE)
            .unwrap()
            .detail
            .clone()
    };
    assert!(detail("label-xmp-simple.webp").contains("without a VP8X chunk"));
    assert!(detail("label-xmp-no-flag.webp").contains("does not set the XMP flag"));
    for plain in ["lossy.webp", "animated.webp", "icc-exif.webp", "xmp-existing.webp"] {
        assert_eq!(inspect(&fixture(plain)).verdict, Verdict::Unlabelled, "{plain}");
    }
}

#[test]
fn wild_variants_are_repaired_on_write() {
    for file in [
        "label-xmp-no-flag.webp",
        "label-xmp-simple.webp",
        "label-two-copies.webp",
    ] {
        let out = write(&fixture(file), &tu::sample_label()).unwrap();
        let report = inspect(&out);
        assert_eq!(report.copies.len(), 1, "{file}");
        let place = report.copies[0]
            .checks
            .iter()
            .find(|c| c.id == id::CARRIER_PLACE)
            .unwrap();
        assert_eq!(place.level, Level::Pass, "{file}: {place}");
        // The XMP chunk stays where it was; the second one keeps its other property.
        let xmp: Vec<&[u8]> = chunks(&out).into_iter().filter(|c| is_xmp(c)).collect();
        if file == "label-two-copies.webp" {
            assert_eq!(xmp.len(), 2);
            let later = String::from_utf8_lossy(xmp[1]);
            assert!(later.contains("<dc:format>image/webp</dc:format>"), "{later}");
            assert!(!holds_label(xmp[1]), "{later}");
        }
    }
}

/// Asserts that both `find` and `write` reject `data` with an error (a panic fails the test).
fn assert_rejected(data: &[u8], what: &str) {
    let found = WebP.find(&mut Cursor::new(data), &Limits::default());
    assert!(found.is_err(), "{what}: find accepted it: {found:?}");
    assert!(write(data, &tu::sample_label()).is_err(), "{what}: write accepted it");
}

/// Asserts that inspect and embed agree on a damaged file: `write` refuses it, and `find`
/// either refuses it too or reads it leniently, flagging every copy it reports with a
/// `structure.truncated` warning (and the binding's walk accepts exactly what `find` accepts).
fn assert_refused_or_flagged(data: &[u8], what: &str) {
    let found = WebP.find(&mut Cursor::new(data), &Limits::default());
    let excluded = WebP.binding_exclusions(&mut Cursor::new(data), &Limits::default());
    assert_eq!(found.is_ok(), excluded.is_ok(), "{what}");
    for copy in found.iter().flatten() {
        assert!(
            copy.checks
                .iter()
                .any(|c| c.id == id::STRUCTURE_TRUNCATED && c.level == Level::Warn),
            "{what}: {:?}",
            copy.checks
        );
    }
    assert!(write(data, &tu::sample_label()).is_err(), "{what}: write accepted it");
}

/// Runs `find`, `binding_exclusions` and `write` on `data`; each may fail, none may panic, and
/// the binding's walk accepts exactly what `find` accepts.
fn must_not_panic(data: &[u8]) {
    let found = WebP.find(&mut Cursor::new(data), &Limits::default());
    let excluded = WebP.binding_exclusions(&mut Cursor::new(data), &Limits::default());
    assert_eq!(found.is_ok(), excluded.is_ok());
    let _ = write(data, &tu::sample_label());
}

#[test]
fn truncated_files_are_errors() {
    for path in fixtures() {
        let data = read(&path);
        // Past the RIFF chunk only trailing bytes are cut, which is no error.
        let end = riff_end(&data);
        let step = (end / 40).max(1);
        for at in (0..end).step_by(step).chain([1, 4, 8, 11, 12, 13, 19, 20, end - 1]) {
            assert_refused_or_flagged(&data[..at], &format!("{} cut at {at}", name(&path)));
        }
    }
}

#[test]
fn lying_sizes_are_errors() {
    for path in fixtures() {
        let data = read(&path);
        let name = name(&path);
        let size = riff_end(&data) as u32 - 8;
        for lie in [u32::MAX, u32::MAX - 1, size + 2, size + 1, size - 1, 4, 2, 0] {
            let mut bad = data.clone();
            bad[4..8].copy_from_slice(&lie.to_le_bytes());
            assert_refused_or_flagged(&bad, &format!("{name}: RIFF size {lie}"));
        }
        let end = size + 8;
        let mut pos = 12;
        for chunk in chunks(&data) {
            for lie in [u32::MAX, u32::MAX - 1, end, 0x7fff_ffff] {
                let mut bad = data.clone();
                bad[pos + 4..pos + 8].copy_from_slice(&lie.to_le_bytes());
                assert_refused_or_flagged(&bad, &format!("{name}: chunk size {lie:#x} at {pos}"));
            }
            let len = u32::from_le_bytes(chunk[4..8].try_into().unwrap());
            for lie in [len + 1, len + 2, len.wrapping_sub(1), len.wrapping_sub(2), 0] {
                let mut bad = data.clone();
                bad[pos + 4..pos + 8].copy_from_slice(&lie.to_le_bytes());
                must_not_panic(&bad);
            }
            pos += chunk.len();
        }
    }
}

#[test]
fn zero_bytes_and_random_bytes_after_the_magic_are_errors() {
    assert_rejected(&[], "zero bytes");
    assert_rejected(b"RIFF", "magic only");
    assert_rejected(b"RIFF\x04\0\0\0WEBP", "no chunk");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut random = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect()
    };
    for n in [1, 7, 8, 100, 4096] {
        let body = random(n);
        let mut data = b"RIFF".to_vec();
        data.extend_from_slice(&(4 + n as u32).to_le_bytes());
        data.extend_from_slice(b"WEBP");
        data.extend_from_slice(&body);
        assert_rejected(&data, &format!("{n} random bytes after the header"));
        assert_rejected(
            &[b"RIFF".as_slice(), &body].concat(),
            &format!("{n} random bytes after RIFF"),
        );
    }
}

#[test]
fn random_byte_flips_never_panic() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for path in fixtures() {
        let data = read(&path);
        for _ in 0..150 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut bad = data.clone();
            let at = (state % data.len() as u64) as usize;
            bad[at] ^= (state >> 32) as u8 | 1;
            must_not_panic(&bad);
        }
    }
}

/// The binding contract: every unlabelled fixture, labelled and then relabelled with a much
/// longer and a much shorter label, keeps every byte `binding_exclusions` covers (everything
/// but the `XMP ` chunk and the RIFF size); frames decode the same and webpmux accepts the files.
#[test]
fn rewriting_the_label_keeps_every_covered_byte() {
    for path in fixtures().iter().filter(|p| !name(p).starts_with("label-")) {
        let name = name(path);
        let input = read(path);
        // Beyond the label's chunk: the RIFF size, and the room after it (a label chunk's worth,
        // under 16 KiB here, and `Limits::label_room`).
        let slack = 4 + 8 + Limits::default().label_room + (16 << 10);
        let [_, longer, shorter] = rewrite::assert_stable(&WebP, &input, slack, &name);
        assert_eq!(decode(&longer), decode(&input), "{name}: frames");
        for (which, data) in [("longer", &longer), ("shorter", &shorter)] {
            let file = temp_file(&format!("rewrite-{which}-{name}"), data);
            if let Some((ok, text)) = webpmux_info(&file) {
                assert!(ok || WEBPMUX_REFUSES.contains(&name.as_str()), "{name} {which}: {text}");
            }
        }
    }
}
