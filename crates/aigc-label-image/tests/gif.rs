//! The GIF carrier against files made by ImageMagick, gifsicle and exiftool: every fixture through
//! the shared round trip, decoded frames and every non-label block unchanged, the extension where
//! it belongs, exiftool, gifsicle and ImageMagick as witnesses, the wild variants found, and
//! malformed inputs rejected without a panic.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use aigc_label_core::check::{Level, id};
use aigc_label_core::inspect::{Options, Report, Verdict, inspect_with};
use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::{Carrier, Label, Limits};
use aigc_label_image::Gif;
use aigc_label_testutil as tu;
use image::AnimationDecoder;
use image::codecs::gif::GifDecoder;

const XMP_HEADER: &[u8] = b"\x21\xff\x0bXMP DataXMP";

fn fixtures() -> Vec<PathBuf> {
    tu::fixtures("gif", &["gif"])
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixture(name: &str) -> Vec<u8> {
    read(&tu::fixture(&format!("gif/{name}")))
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Writes `data` where external tools can read it.
fn temp_file(name: &str, data: &[u8]) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("gif-{name}"));
    std::fs::write(&path, data).unwrap();
    path
}

fn write(data: &[u8], label: &Label) -> aigc_label_core::Result<Vec<u8>> {
    let mut out = Vec::new();
    Gif.write(&mut Cursor::new(data), &mut out, label, &Limits::default())?;
    Ok(out)
}

fn inspect(data: &[u8]) -> Report {
    inspect_with(&Gif, &mut Cursor::new(data), &Options::default()).expect("inspect")
}

/// A well-formed GIF taken apart (test-side walker, independent of the carrier's): the screen
/// descriptor and global colour table, every block whole, and the trailer with what follows.
struct Parts<'a> {
    screen: &'a [u8],
    blocks: Vec<&'a [u8]>,
    tail: &'a [u8],
}

fn parts(data: &[u8]) -> Parts<'_> {
    let table = |flags: u8| if flags & 0x80 != 0 { 3 << ((flags & 7) + 1) } else { 0 };
    let mut pos = 13 + table(data[10]);
    let screen = &data[6..pos];
    let mut blocks = Vec::new();
    while data[pos] != 0x3b {
        let start = pos;
        pos += match data[pos] {
            0x2c => 10 + table(data[pos + 9]) + 1,
            0x21 => 2,
            other => panic!("block introducer {other:#x} at {pos}"),
        };
        while data[pos] != 0 {
            pos += 1 + data[pos] as usize;
        }
        pos += 1;
        blocks.push(&data[start..pos]);
    }
    Parts {
        screen,
        blocks,
        tail: &data[pos..],
    }
}

fn is_xmp(block: &[u8]) -> bool {
    block.starts_with(XMP_HEADER)
}

/// The blocks other than XMP extensions: the ones the carrier must not change.
fn kept<'a>(parts: &Parts<'a>) -> Vec<&'a [u8]> {
    parts.blocks.iter().copied().filter(|b| !is_xmp(b)).collect()
}

/// Every frame the `image` crate decodes, composed onto the canvas, with its delay.
fn decode(data: &[u8]) -> Vec<(Vec<u8>, (u32, u32))> {
    GifDecoder::new(Cursor::new(data))
        .expect("gif decodes")
        .into_frames()
        .map(|f| {
            let f = f.expect("frame decodes");
            (f.buffer().as_raw().clone(), f.delay().numer_denom_ms())
        })
        .collect()
}

/// ImageMagick's raw RGBA of every frame, as stored (not composed).
fn imagemagick_frames(file: &Path) -> Option<Vec<u8>> {
    let convert = tu::tool("convert")?;
    let mut rgba = std::ffi::OsString::from("rgba:");
    rgba.push("-");
    Some(tu::run(&convert, &[file.as_os_str(), rgba.as_os_str()]))
}

/// `gifsicle --info`, without the file name and the count of unknown extensions.
fn gifsicle_info(file: &Path) -> Option<String> {
    let gifsicle = tu::tool("gifsicle")?;
    let info = tu::run(&gifsicle, &["--info".as_ref(), file.as_os_str()]);
    Some(
        String::from_utf8_lossy(&info)
            .lines()
            .skip(1)
            .filter(|l| !l.trim_start().starts_with("extensions"))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

#[test]
fn every_fixture_round_trips_with_frames_and_other_blocks_unchanged() {
    let json = to_json(&tu::sample_label(), Shape::Bare);
    for path in fixtures() {
        let name = name(&path);
        let input = read(&path);
        let out = tu::round_trip(&Gif, &input);

        assert_eq!(decode(&input), decode(&out), "{name}: decoded frames differ");

        let (a, b) = (parts(&input), parts(&out));
        assert_eq!(&out[..6], b"GIF89a", "{name}");
        assert_eq!(a.screen, b.screen, "{name}: screen descriptor and colour table");
        assert_eq!(a.tail, b.tail, "{name}: trailer and what follows");
        assert_eq!(kept(&a), kept(&b), "{name}: other blocks changed");

        let xmp: Vec<usize> = (0..b.blocks.len()).filter(|&i| is_xmp(b.blocks[i])).collect();
        assert_eq!(
            xmp.len(),
            a.blocks.iter().filter(|b| is_xmp(b)).count().max(1),
            "{name}"
        );
        if !a.blocks.iter().any(|b| is_xmp(b)) {
            // Before the first graphic block: the graphic control extension of the first image,
            // or the image descriptor.
            let first_graphic = b
                .blocks
                .iter()
                .position(|b| b[0] == 0x2c || b[1] == 0xf9 || b[1] == 0x01)
                .unwrap();
            assert_eq!(xmp[0] + 1, first_graphic, "{name}: XMP before the first graphic block");
            assert!(
                b.blocks[..xmp[0]].iter().all(|b| b[0] == 0x21 && b[1] != 0xf9),
                "{name}"
            );
        }

        let report = inspect(&out);
        let place = report.copies[0]
            .checks
            .iter()
            .find(|c| c.id == id::CARRIER_PLACE)
            .unwrap();
        assert_eq!(place.level, Level::Pass, "{name}: {place}");

        let file = temp_file(&name, &out);
        let before = temp_file(&format!("in-{name}"), &input);
        if let Some(read) = tu::exiftool_aigc(&file) {
            assert_eq!(read, json, "{name}: exiftool reads the label");
        }
        if let (Some(a), Some(b)) = (gifsicle_info(&before), gifsicle_info(&file)) {
            assert_eq!(a, b, "{name}: gifsicle --info");
        }
        if let (Some(a), Some(b)) = (imagemagick_frames(&before), imagemagick_frames(&file)) {
            assert!(!a.is_empty());
            assert_eq!(a, b, "{name}: ImageMagick decodes other pixels");
        }
    }
}

#[test]
fn gifsicle_sees_the_packetized_xmp_extension() {
    let Some(gifsicle) = tu::tool("gifsicle") else { return };
    let out = write(&fixture("animated-optimized.gif"), &tu::sample_label()).unwrap();
    let file = temp_file("xinfo-animated-optimized.gif", &out);
    let info = tu::run(&gifsicle, &["--xinfo".as_ref(), file.as_os_str()]);
    let info = String::from_utf8_lossy(&info);
    assert!(info.contains("app 'XMP DataXMP' before #0 packetized"), "{info}");
}

#[test]
fn existing_extension_is_updated_where_it_is() {
    let input = fixture("label-xmp.gif");
    let at = parts(&input).blocks.iter().position(|b| is_xmp(b)).unwrap();
    let out = write(&input, &tu::sample_label()).unwrap();
    assert_eq!(parts(&out).blocks.iter().position(|b| is_xmp(b)), Some(at));
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("Plasma test"), "dc:title kept");
}

#[test]
fn other_xmp_properties_survive() {
    let out = write(&fixture("xmp-existing.gif"), &tu::sample_label()).unwrap();
    let Some(exiftool) = tu::tool("exiftool") else { return };
    let file = temp_file("xmp-existing-props.gif", &out);
    let read = tu::run(
        &exiftool,
        &[
            "-s3".as_ref(),
            "-XMP-dc:Title".as_ref(),
            "-XMP-xmp:CreatorTool".as_ref(),
            file.as_os_str(),
        ],
    );
    assert_eq!(String::from_utf8_lossy(&read), "Plasma test\nImageMagick convert\n");
}

#[test]
fn label_range_is_the_extension() {
    let input = fixture("animated.gif");
    let mut out = Vec::new();
    let written = Gif
        .write(
            &mut Cursor::new(&input),
            &mut out,
            &tu::sample_label(),
            &Limits::default(),
        )
        .unwrap();
    assert_eq!(written.bytes_written, out.len() as u64);
    let block = &out[written.label_range.start as usize..written.label_range.end as usize];
    assert!(is_xmp(block));
    assert!(block.ends_with(&[2, 1, 0, 0]), "ends with the magic trailer");
    // ImageMagick writes the graphic control extension first: the label goes right after the
    // global colour table.
    assert_eq!(written.label_range.start as usize, 13 + 3 * 64);
}

#[test]
fn inspect_finds_every_label_variant() {
    let fixture_label = Label::new(tu::sample_label().content_producer, "fixture-0001");
    // (fixture, copies, verdict, placement warning expected)
    let cases = [
        ("label-xmp.gif", 1, Verdict::Compliant, false),
        ("label-xmp-end.gif", 1, Verdict::Compliant, false),
        ("label-xmp-short-zone.gif", 1, Verdict::Compliant, true),
        ("label-two-copies.gif", 2, Verdict::NonCompliant, false),
    ];
    for (file, copies, verdict, warned) in cases {
        let report = inspect(&fixture(file));
        assert_eq!(report.copies.len(), copies, "{file}");
        assert_eq!(report.verdict, verdict, "{file}: {:#?}", report.copies);
        for copy in &report.copies {
            assert_eq!(copy.carrier, "XMP application extension");
            assert_eq!(copy.label(), Some(fixture_label.clone()), "{file}");
            let place = copy.checks.iter().find(|c| c.id == id::CARRIER_PLACE).unwrap();
            assert_eq!(place.level == Level::Warn, warned, "{file}: {place}");
        }
    }
    for plain in ["static.gif", "animated.gif", "comment.gif", "xmp-existing.gif"] {
        assert_eq!(inspect(&fixture(plain)).verdict, Verdict::Unlabelled, "{plain}");
    }
}

#[test]
fn second_copy_loses_only_its_label() {
    let out = write(&fixture("label-two-copies.gif"), &tu::sample_label()).unwrap();
    assert_eq!(inspect(&out).copies.len(), 1);
    let p = parts(&out);
    let xmp: Vec<&[u8]> = p.blocks.iter().copied().filter(|b| is_xmp(b)).collect();
    assert_eq!(xmp.len(), 2);
    let later = String::from_utf8_lossy(xmp[1]);
    assert!(later.contains("Plasma test"), "{later}");
}

/// Asserts that inspect and embed agree on a damaged stream: `write` refuses it, and `find`
/// either refuses it too or reads a truncated stream leniently, flagging every copy it reports
/// with a `structure.truncated` warning (a panic fails the test).
fn assert_rejected(data: &[u8], what: &str) {
    if let Ok(found) = Gif.find(&mut Cursor::new(data), &Limits::default()) {
        for copy in &found {
            assert!(
                copy.checks.iter().any(|c| c.id == id::STRUCTURE_TRUNCATED),
                "{what}: {:?}",
                copy.checks
            );
        }
    }
    assert!(write(data, &tu::sample_label()).is_err(), "{what}: write accepted it");
}

#[test]
fn a_labelled_stream_cut_in_its_image_data_is_inspected_with_a_warning_and_embedding_refuses() {
    let data = fixture("label-xmp.gif");
    let cut = &data[..data.len() - 20];
    let report = inspect(cut);
    assert_eq!(report.copies.len(), 1, "{:#?}", report.copies);
    let check = report.copies[0].checks.iter().find(|c| c.id == id::STRUCTURE_TRUNCATED);
    assert!(check.is_some(), "{:#?}", report.copies[0].checks);
    assert!(write(cut, &tu::sample_label()).is_err());
}

/// Runs `find` and `write` on `data`; either may fail, neither may panic.
fn must_not_panic(data: &[u8]) {
    let _ = Gif.find(&mut Cursor::new(data), &Limits::default());
    let _ = write(data, &tu::sample_label());
}

#[test]
fn truncated_files_are_errors() {
    for path in fixtures() {
        let data = read(&path);
        let step = (data.len() / 40).max(1);
        for at in (0..data.len())
            .step_by(step)
            .chain([1, 5, 6, 12, 13, 14, data.len() - 1])
        {
            assert_rejected(&data[..at], &format!("{} cut at {at}", name(&path)));
        }
    }
}

#[test]
fn lying_lengths_are_errors_or_harmless() {
    for path in fixtures() {
        let data = read(&path);
        let name = name(&path);
        // A colour table larger than the file.
        let mut bad = data[..13].to_vec();
        bad[10] = 0x87;
        assert_rejected(&bad, &format!("{name}: colour table"));
        // Every sub-block length byte of every block, made longer or shorter.
        let p = parts(&data);
        let mut pos = data.len() - p.tail.len() - p.blocks.iter().map(|b| b.len()).sum::<usize>();
        for block in &p.blocks {
            let mut at = pos + header_len(block);
            while data[at] != 0 {
                for lie in [data[at].wrapping_add(1), data[at].wrapping_sub(1), 0xff, 0] {
                    let mut bad = data.clone();
                    bad[at] = lie;
                    must_not_panic(&bad);
                }
                at += 1 + data[at] as usize;
            }
            // The terminator made a length: the walk runs into the next block.
            let mut bad = data.clone();
            bad[at] = 0xff;
            must_not_panic(&bad);
            pos += block.len();
        }
        // No terminator before the end of the file.
        let cut = data.len() - p.tail.len() - 1;
        assert_rejected(
            &[&data[..cut], &[0xff]].concat(),
            &format!("{name}: last terminator a length"),
        );
    }
}

/// Bytes of a block before its first data sub-block: introducer and label for an extension;
/// descriptor, local colour table and LZW code size for an image.
fn header_len(block: &[u8]) -> usize {
    match block[0] {
        0x2c if block[9] & 0x80 != 0 => 11 + (3 << ((block[9] & 7) + 1)),
        0x2c => 11,
        _ => 2,
    }
}

#[test]
fn zero_bytes_and_random_bytes_after_the_magic_are_errors() {
    assert_rejected(&[], "zero bytes");
    assert_rejected(b"GIF89a", "magic only");
    assert_rejected(b"GIF89a\x01\x00\x01\x00\x00\x00\x00", "screen only");
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
    let screen = &fixture("static.gif")[..13 + 3 * 64];
    for n in [1, 7, 13, 100, 4096] {
        assert_rejected(
            &[b"GIF89a".as_slice(), &random(n)].concat(),
            &format!("{n} random bytes after the magic"),
        );
        assert_rejected(
            &[screen, &random(n)].concat(),
            &format!("{n} random bytes after the screen"),
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
