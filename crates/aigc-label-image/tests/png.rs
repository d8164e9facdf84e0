//! The PNG carrier against real files: every fixture through the shared round trip, decoded
//! pixels (every APNG frame) and every non-label chunk unchanged, exiftool and pngcheck as
//! witnesses, the wild label variants found, and malformed inputs rejected without a panic.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use aigc_label_core::check::{Level, id};
use aigc_label_core::inspect::{Options, Report, Verdict, inspect_with};
use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::{Carrier, Label, Limits};
use aigc_label_image::Png;
use aigc_label_testutil as tu;

const XMP_KEYWORD: &[u8] = b"XML:com.adobe.xmp";

fn fixtures() -> Vec<PathBuf> {
    tu::fixtures("png", &["png"])
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Writes `data` where external tools can read it.
fn temp_file(name: &str, data: &[u8]) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("png-{name}"));
    std::fs::write(&path, data).unwrap();
    path
}

fn write(data: &[u8], label: &Label) -> aigc_label_core::Result<Vec<u8>> {
    let mut out = Vec::new();
    Png.write(&mut Cursor::new(data), &mut out, label, &Limits::default())?;
    Ok(out)
}

fn inspect(data: &[u8]) -> Report {
    inspect_with(&Png, &mut Cursor::new(data), &Options::default()).expect("inspect")
}

/// The chunks of a well-formed PNG, each with its length field and CRC (test-side walker,
/// independent of the carrier's).
fn chunks(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut pos = 8;
    while pos + 12 <= data.len() {
        let len = u32::from_be_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        out.push(&data[pos..pos + 12 + len]);
        pos += 12 + len;
    }
    assert_eq!(pos, data.len(), "fixtures end with a whole chunk");
    out
}

fn kind(chunk: &[u8]) -> &[u8] {
    &chunk[4..8]
}

fn keyword(chunk: &[u8]) -> &[u8] {
    chunk[8..chunk.len() - 4].split(|&b| b == 0).next().unwrap()
}

fn is_xmp(chunk: &[u8]) -> bool {
    kind(chunk) == b"iTXt" && keyword(chunk) == XMP_KEYWORD
}

/// Our chunks around the label, for later updates in place (`paSt` before it, `roOm` after it).
fn is_ours(chunk: &[u8]) -> bool {
    matches!(kind(chunk), b"paSt" | b"roOm")
}

/// XMP chunks and `AIGC` text chunks: the only chunks the carrier may change; and `eXIf`, whose
/// `UserComment` loses a label it holds (same length; `blind_spots.rs` checks the rest); and our
/// room around the label.
fn is_label_chunk(chunk: &[u8]) -> bool {
    is_xmp(chunk)
        || is_ours(chunk)
        || kind(chunk) == b"eXIf"
        || (matches!(kind(chunk), b"tEXt" | b"zTXt" | b"iTXt") && keyword(chunk).starts_with(b"Raw profile type"))
        || (matches!(kind(chunk), b"tEXt" | b"zTXt" | b"iTXt") && keyword(chunk).eq_ignore_ascii_case(b"AIGC"))
}

/// Every frame the `png` decoder yields (one for a still image), raw samples, with the header
/// fields that give them meaning.
fn decode(data: &[u8]) -> (String, Vec<Vec<u8>>) {
    let mut decoder = png::Decoder::new(Cursor::new(data));
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder.read_info().expect("png decodes");
    let info = reader.info();
    let header = format!(
        "{}x{} {:?} {:?} interlaced={} palette={:?} trns={:?} actl={:?}",
        info.width,
        info.height,
        info.color_type,
        info.bit_depth,
        info.interlaced,
        info.palette,
        info.trns,
        info.animation_control
    );
    let mut buf = vec![0; reader.output_buffer_size().expect("frame size")];
    let mut frames = Vec::new();
    loop {
        match reader.next_frame(&mut buf) {
            Ok(out) => frames.push(buf[..out.buffer_size()].to_vec()),
            Err(png::DecodingError::Parameter { .. }) => break,
            Err(e) => panic!("decoding frame {}: {e}", frames.len()),
        }
    }
    assert!(!frames.is_empty());
    (header, frames)
}

/// The label as exiftool reads it. ExifTool names an XMP group after the first prefix a packet
/// binds to a namespace, so where the input bound `aigc:` to the TC260 URI (and the writer kept
/// that binding) the property shows up as `XMP-aigc:AIGC`; ask for `AIGC` in any XMP group then.
fn exiftool_label(path: &Path) -> Option<String> {
    let read = tu::exiftool_aigc(path)?;
    if !read.is_empty() {
        return Some(read);
    }
    let exiftool = tu::tool("exiftool")?;
    let config = tu::workspace_root().join("tests/exiftool/tc260.config");
    let any_group = [
        "-config".as_ref(),
        config.as_os_str(),
        "-XMP:AIGC".as_ref(),
        "-b".as_ref(),
        path.as_os_str(),
    ];
    Some(String::from_utf8_lossy(&tu::run(&exiftool, &any_group)).into_owned())
}

fn pngcheck(path: &Path) {
    if let Some(pngcheck) = tu::tool("pngcheck") {
        tu::run(&pngcheck, &["-q".as_ref(), path.as_os_str()]);
    }
}

#[test]
fn every_fixture_round_trips_with_pixels_and_other_chunks_unchanged() {
    let json = to_json(&tu::sample_label(), Shape::Bare);
    for path in fixtures() {
        let name = name(&path);
        let input = read(&path);
        let out = tu::round_trip(&Png, &input);

        assert_eq!(decode(&input), decode(&out), "{name}: decoded frames differ");

        let kept = |data| {
            chunks(data)
                .into_iter()
                .filter(|c| !is_label_chunk(c))
                .collect::<Vec<_>>()
        };
        assert_eq!(kept(&input), kept(&out), "{name}: non-label chunks changed");

        let out_chunks = chunks(&out);
        let xmp: Vec<usize> = (0..out_chunks.len()).filter(|&i| is_xmp(out_chunks[i])).collect();
        let first_image = out_chunks
            .iter()
            .position(|c| matches!(kind(c), b"IDAT" | b"fcTL"))
            .unwrap();
        assert_eq!(xmp.len(), 1, "{name}: one XMP chunk");
        assert!(xmp[0] < first_image, "{name}: XMP before the image data");

        let report = inspect(&out);
        let place = report.copies[0]
            .checks
            .iter()
            .find(|c| c.id == id::CARRIER_PLACE)
            .unwrap();
        assert_eq!(place.level, Level::Pass, "{name}: {place}");

        let file = temp_file(&name, &out);
        if let Some(read) = exiftool_label(&file) {
            assert_eq!(read, json, "{name}: exiftool reads the label");
        }
        pngcheck(&file);
    }
}

#[test]
fn label_range_is_the_xmp_chunk() {
    let input = read(&tu::fixture("png/rgb.png"));
    let mut out = Vec::new();
    let written = Png
        .write(
            &mut Cursor::new(&input),
            &mut out,
            &tu::sample_label(),
            &Limits::default(),
        )
        .unwrap();
    assert_eq!(written.bytes_written, out.len() as u64);
    let chunk = &out[written.label_range.start as usize..written.label_range.end as usize];
    assert!(is_xmp(chunk));
    assert_eq!(chunks(&out).into_iter().filter(|c| is_xmp(c)).count(), 1);
    // IHDR, our 16-byte `paSt` chunk, then the new chunk, then our `roOm` chunk and IDAT.
    assert_eq!(written.label_range.start, 8 + 25 + 16);
    let kinds: Vec<&[u8]> = chunks(&out).into_iter().map(kind).collect();
    assert_eq!(kinds, [&b"IHDR"[..], b"paSt", b"iTXt", b"roOm", b"IDAT", b"IEND"]);
}

#[test]
fn embedding_twice_leaves_one_label() {
    for path in fixtures() {
        let first = write(&read(&path), &tu::sample_label()).unwrap();
        let second_label = Label::new(tu::sample_label().content_producer, "again");
        let second = write(&first, &second_label).unwrap();
        let found = Png.find(&mut Cursor::new(&second), &Limits::default()).unwrap();
        assert_eq!(found.len(), 1, "{}", name(&path));
        assert_eq!(inspect(&second).label(), Some(second_label));
        assert_eq!(chunks(&second).into_iter().filter(|c| is_xmp(c)).count(), 1);
    }
}

#[test]
fn other_xmp_properties_survive() {
    let out = write(&read(&tu::fixture("png/xmp-existing.png")), &tu::sample_label()).unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("Plasma test") && text.contains("ImageMagick convert"));
    let Some(exiftool) = tu::tool("exiftool") else { return };
    let file = temp_file("xmp-existing-props.png", &out);
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
fn xmp_after_idat_moves_before_it_with_its_other_properties() {
    let input = read(&tu::fixture("png/label-xmp-after-idat.png"));
    let out = write(&input, &tu::sample_label()).unwrap();
    let kinds: Vec<&[u8]> = chunks(&out).into_iter().filter(|c| !is_ours(c)).map(kind).collect();
    assert_eq!(kinds, [&b"IHDR"[..], b"iTXt", b"IDAT", b"IEND"]);
    assert!(String::from_utf8_lossy(&out).contains("<dc:format>image/png</dc:format>"));
}

#[test]
fn a_later_xmp_chunk_loses_only_the_label() {
    // The element-form fixture, plus the attribute-form fixture's XMP chunk after IDAT.
    let first = read(&tu::fixture("png/label-xmp-element.png"));
    let second = read(&tu::fixture("png/label-xmp-attribute.png"));
    let later_xmp = chunks(&second).into_iter().find(|c| is_xmp(c)).unwrap().to_vec();
    let mut input = first.clone();
    input.truncate(input.len() - 12);
    input.extend_from_slice(&later_xmp);
    input.extend_from_slice(&first[first.len() - 12..]);
    assert_eq!(inspect(&input).copies.len(), 2);

    let out = write(&input, &tu::sample_label()).unwrap();
    let found = Png.find(&mut Cursor::new(&out), &Limits::default()).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].text, to_json(&tu::sample_label(), Shape::Bare));
    let out_chunks = chunks(&out);
    let xmp: Vec<&[u8]> = out_chunks.iter().copied().filter(|c| is_xmp(c)).collect();
    assert_eq!(xmp.len(), 2);
    let later = String::from_utf8_lossy(xmp[1]);
    assert!(later.contains("dc:format=\"image/png\""), "{later}");
    assert!(!later.contains("AIGC="), "{later}");
    let kinds: Vec<&[u8]> = out_chunks.into_iter().filter(|c| !is_ours(c)).map(kind).collect();
    assert_eq!(kinds, [&b"IHDR"[..], b"iTXt", b"IDAT", b"iTXt", b"IEND"]);
}

#[test]
fn compressed_xmp_is_rewritten_uncompressed() {
    let out = write(&read(&tu::fixture("png/label-xmp-compressed.png")), &tu::sample_label()).unwrap();
    let xmp = chunks(&out).into_iter().find(|c| is_xmp(c)).unwrap();
    let flags = &xmp[8 + XMP_KEYWORD.len() + 1..][..2];
    assert_eq!(flags, [0, 0]);
}

#[test]
fn inspect_finds_every_label_variant() {
    let fixture_label = Label::new(tu::sample_label().content_producer, "fixture-0001");
    let xmp = "iTXt XML:com.adobe.xmp";
    // (fixture, carriers found, verdict, placement warnings expected)
    let cases: [(&str, &[&str], Verdict, bool); 7] = [
        ("label-xmp-element.png", &[xmp], Verdict::Compliant, false),
        ("label-xmp-attribute.png", &[xmp], Verdict::Compliant, false),
        ("label-xmp-prefix.png", &[xmp], Verdict::Compliant, false),
        ("label-xmp-compressed.png", &[xmp], Verdict::Compliant, true),
        ("label-xmp-after-idat.png", &[xmp], Verdict::Compliant, true),
        ("label-text-after-idat.png", &["tEXt AIGC"], Verdict::Compliant, true),
        (
            "label-two-copies.png",
            &[xmp, "tEXt AIGC"],
            Verdict::NonCompliant,
            false,
        ),
    ];
    for (file, carriers, verdict, warned) in cases {
        let report = inspect(&read(&tu::fixture(&format!("png/{file}"))));
        let found: Vec<&str> = report.copies.iter().map(|c| c.carrier.as_ref()).collect();
        assert_eq!(found, carriers, "{file}");
        assert_eq!(report.verdict, verdict, "{file}: {:#?}", report.copies);
        for copy in &report.copies {
            assert_eq!(copy.label(), Some(fixture_label.clone()), "{file}");
            let place = copy.checks.iter().find(|c| c.id == id::CARRIER_PLACE).unwrap();
            let expect = if warned || copy.carrier != xmp {
                Level::Warn
            } else {
                Level::Pass
            };
            assert_eq!(place.level, expect, "{file}: {place}");
        }
        if verdict == Verdict::NonCompliant {
            for copy in &report.copies {
                assert!(
                    copy.checks
                        .iter()
                        .any(|c| c.id == id::COPIES_SINGLE && c.level == Level::Fail),
                    "{file}"
                );
            }
        }
    }
    for plain in ["rgb.png", "apng.png", "text-chunks.png", "xmp-existing.png"] {
        let report = inspect(&read(&tu::fixture(&format!("png/{plain}"))));
        assert_eq!(report.verdict, Verdict::Unlabelled, "{plain}");
    }
}

#[test]
fn placement_warning_says_where_the_copy_sits() {
    let report = inspect(&read(&tu::fixture("png/label-text-after-idat.png")));
    let check = report.copies[0]
        .checks
        .iter()
        .find(|c| c.id == id::CARRIER_PLACE)
        .unwrap();
    assert!(check.detail.contains("after IDAT"), "{check}");
    assert!(
        check.detail.contains("XML:com.adobe.xmp chunk before the first IDAT"),
        "{check}"
    );
}

/// Asserts that both `find` and `write` reject `data` with an error (a panic fails the test).
fn assert_rejected(data: &[u8], what: &str) {
    let found = Png.find(&mut Cursor::new(data), &Limits::default());
    assert!(found.is_err(), "{what}: find accepted it: {found:?}");
    let written = write(data, &tu::sample_label());
    assert!(written.is_err(), "{what}: write accepted it");
}

/// Asserts that inspect and embed agree on a damaged file: `write` refuses it, and `find`
/// either refuses it too or reads it leniently, flagging every copy it reports with a
/// `structure.truncated` warning.
fn assert_refused_or_flagged(data: &[u8], what: &str) {
    if let Ok(found) = Png.find(&mut Cursor::new(data), &Limits::default()) {
        for copy in &found {
            assert!(
                copy.checks
                    .iter()
                    .any(|c| c.id == id::STRUCTURE_TRUNCATED && c.level == Level::Warn),
                "{what}: {:?}",
                copy.checks
            );
        }
    }
    let written = write(data, &tu::sample_label());
    assert!(written.is_err(), "{what}: write accepted it");
}

/// Runs `find` and `write` on `data`; either may fail, neither may panic.
fn must_not_panic(data: &[u8]) {
    let _ = Png.find(&mut Cursor::new(data), &Limits::default());
    let _ = write(data, &tu::sample_label());
}

#[test]
fn truncated_files_are_errors() {
    for path in fixtures() {
        let data = read(&path);
        let step = (data.len() / 40).max(1);
        let offsets = (0..data.len())
            .step_by(step)
            .chain([1, 7, 8, 9, 20, 33, data.len() - 1]);
        for at in offsets {
            assert_refused_or_flagged(&data[..at], &format!("{} cut at {at}", name(&path)));
        }
    }
}

#[test]
fn a_labelled_file_cut_in_its_image_data_is_inspected_with_a_warning_and_embedding_refuses() {
    let data = read(&tu::fixture("png/label-xmp-element.png"));
    let idat = chunks(&data).iter().position(|c| kind(c) == b"IDAT").unwrap();
    let idat_at: usize = 8 + chunks(&data)[..idat].iter().map(|c| c.len()).sum::<usize>();
    let cut = &data[..idat_at + 20];
    let report = inspect(cut);
    assert_eq!(report.copies.len(), 1);
    assert_eq!(report.label().map(|l| l.produce_id), Some("fixture-0001".to_string()));
    let check = report.copies[0]
        .checks
        .iter()
        .find(|c| c.id == id::STRUCTURE_TRUNCATED)
        .unwrap();
    assert_eq!(check.level, Level::Warn);
    // Embedding says it refuses, and why.
    let mut out = Vec::new();
    let err = aigc_label_core::embed::embed_with(
        &Png,
        &mut Cursor::new(cut),
        &mut out,
        &tu::sample_label(),
        &Options::default(),
    )
    .unwrap_err();
    assert!(matches!(err, aigc_label_core::Error::Truncated { .. }), "{err}");
    assert!(
        err.to_string().contains("past") || err.to_string().contains("remain"),
        "{err}"
    );
    // exiftool reads the label from the cut file too.
    let path = temp_file("cut.png", cut);
    if let Some(read) = tu::exiftool_aigc(&path) {
        assert!(read.contains("fixture-0001"), "{read}");
    }
}

#[test]
fn bad_crcs_in_label_chunks_are_errors() {
    for path in fixtures() {
        let data = read(&path);
        let mut pos = 8;
        for chunk in chunks(&data) {
            let crc_at = pos + chunk.len() - 4;
            pos += chunk.len();
            if !is_label_chunk(chunk) {
                continue;
            }
            let mut bad = data.clone();
            bad[crc_at] ^= 0x20;
            assert_rejected(&bad, &format!("{}: CRC at {crc_at}", name(&path)));
            let mut bad = data.clone();
            bad[crc_at - 5] ^= 0x20;
            assert_rejected(&bad, &format!("{}: data before CRC at {crc_at}", name(&path)));
        }
    }
}

#[test]
fn lying_lengths_are_errors() {
    for path in fixtures() {
        let data = read(&path);
        let mut pos = 8;
        for chunk in chunks(&data) {
            for lie in [0x7fff_ffffu32, 0x8000_0000, 0xffff_ffff, data.len() as u32] {
                let mut bad = data.clone();
                bad[pos..pos + 4].copy_from_slice(&lie.to_be_bytes());
                assert_refused_or_flagged(&bad, &format!("{}: length {lie:#x} at {pos}", name(&path)));
            }
            for delta in [1u32, 4, 13] {
                let len = chunk.len() as u32 - 12;
                for lie in [len.wrapping_add(delta), len.wrapping_sub(delta)] {
                    let mut bad = data.clone();
                    bad[pos..pos + 4].copy_from_slice(&lie.to_be_bytes());
                    must_not_panic(&bad);
                }
            }
            pos += chunk.len();
        }
    }
}

#[test]
fn missing_ihdr_zero_bytes_and_random_bytes_are_errors() {
    assert_rejected(&[], "zero bytes");
    assert_rejected(b"\x89PNG\r\n\x1a", "short signature");
    let data = read(&tu::fixture("png/rgb.png"));
    let without_ihdr = [&data[..8], &data[8 + 25..]].concat();
    assert_rejected(&without_ihdr, "no IHDR");

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
    for n in [1, 11, 12, 100, 4096] {
        let after_signature = [&data[..8], &random(n)[..]].concat();
        assert_rejected(&after_signature, &format!("{n} random bytes after the signature"));
        let after_ihdr = [&data[..33], &random(n)[..]].concat();
        assert_refused_or_flagged(&after_ihdr, &format!("{n} random bytes after IHDR"));
    }
}

#[test]
fn random_byte_flips_never_panic() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for path in fixtures() {
        let data = read(&path);
        for _ in 0..200 {
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
