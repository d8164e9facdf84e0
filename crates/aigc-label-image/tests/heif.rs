//! The HEIF/AVIF carrier against files made by heif-enc (libheif with x265 and aom) and
//! exiftool: every fixture through the shared round trip; every image decoded by heif-convert
//! unchanged; every top-level box but `meta` copied (only XMP bytes rewritten or zeroed);
//! exiftool reads the label and heif-info accepts the file; wild variants found and replaced;
//! malformed input rejected without a panic.

use std::ffi::OsStr;
use std::io::Cursor;
use std::ops::Range;
use std::path::{Path, PathBuf};

use aigc_label_core::check::Level;
use aigc_label_core::inspect::{Options, Verdict, inspect_with};
use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::{Carrier, Label, Limits};
use aigc_label_image::Heif;
use aigc_label_testutil as tu;

#[path = "support/rewrite.rs"]
mod rewrite;

fn fixtures() -> Vec<PathBuf> {
    tu::fixtures("heif", &["heic", "avif"])
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("heif-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(data: &[u8], label: &Label) -> aigc_label_core::Result<Vec<u8>> {
    let mut out = Vec::new();
    Heif.write(&mut Cursor::new(data), &mut out, label, &Limits::default())?;
    Ok(out)
}

fn find(data: &[u8]) -> Vec<aigc_label_core::Found> {
    Heif.find(&mut Cursor::new(data), &Limits::default()).unwrap()
}

/// Every image heif-convert writes for `path` (one PNG per top-level image), decoded: header
/// and pixels.
fn decode(path: &Path, dir: &Path) -> Option<Vec<(String, Vec<u8>)>> {
    let convert = tu::tool("heif-convert")?;
    let out = dir.join("decoded.png");
    tu::run(&convert, &[path.as_os_str(), out.as_os_str()]);
    let mut pngs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    pngs.sort();
    assert!(!pngs.is_empty(), "heif-convert wrote nothing for {}", path.display());
    let images = pngs
        .iter()
        .map(|png_path| {
            let mut reader = png::Decoder::new(Cursor::new(read(png_path))).read_info().unwrap();
            let mut buf = vec![0; reader.output_buffer_size().unwrap()];
            let info = reader.next_frame(&mut buf).unwrap();
            buf.truncate(info.buffer_size());
            (
                format!(
                    "{}x{} {:?} {:?}",
                    info.width, info.height, info.color_type, info.bit_depth
                ),
                buf,
            )
        })
        .collect();
    for png_path in pngs {
        std::fs::remove_file(png_path).unwrap();
    }
    Some(images)
}

/// heif-info reads the file and sees an XMP item attached to the primary image (libheif finds
/// metadata through the item's `cdsc` reference).
fn heif_info(path: &Path) {
    if let Some(info) = tu::tool("heif-info") {
        let text = String::from_utf8(tu::run(&info, &[path.as_os_str()])).unwrap();
        assert!(text.contains("image:"), "heif-info on {}: {text}", path.display());
        assert!(
            text.contains("XMP:"),
            "heif-info sees no XMP in {}: {text}",
            path.display()
        );
    }
}

/// `AIGC` in any XMP group, every copy, as exiftool reads it.
fn exiftool_labels(path: &Path) -> Option<Vec<String>> {
    let exiftool = tu::tool("exiftool")?;
    let config = tu::workspace_root().join("tests/exiftool/tc260.config");
    let args: [&OsStr; 6] = [
        "-config".as_ref(),
        config.as_os_str(),
        "-a".as_ref(),
        "-s3".as_ref(),
        "-XMP:AIGC".as_ref(),
        path.as_os_str(),
    ];
    let out = String::from_utf8(tu::run(&exiftool, &args)).unwrap();
    Some(out.lines().map(str::to_string).collect())
}

/// Test-side walker: the top-level boxes (type and byte range) of a well-formed file.
fn top_boxes(data: &[u8]) -> Vec<([u8; 4], Range<usize>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= data.len() {
        let size = u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        let size = if size == 0 { data.len() - at } else { size };
        out.push((data[at + 4..at + 8].try_into().unwrap(), at..at + size));
        at += size;
    }
    assert_eq!(at, data.len());
    out
}

/// The byte ranges of wrapped XMP packets (`<?xpacket begin` to the end of `<?xpacket end`).
fn packets(data: &[u8]) -> Vec<Range<usize>> {
    let (begin, end) = (b"<?xpacket begin", b"<?xpacket end");
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(b) = data[at..].windows(begin.len()).position(|w| w == begin) {
        let start = at + b;
        let Some(e) = data[start..].windows(end.len()).position(|w| w == end) else {
            break;
        };
        let close = data[start + e..].windows(2).position(|w| w == b"?>").unwrap();
        out.push(start..start + e + close + 2);
        at = start + e + close + 2;
    }
    out
}

/// The byte ranges of wrapped labels (`{"AIGC":` to the first `}}`): EXIF `UserComment` text.
fn wrapped_labels(data: &[u8]) -> Vec<Range<usize>> {
    let open = b"{\"AIGC\":";
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(o) = data[at..].windows(open.len()).position(|w| w == open) {
        let start = at + o;
        let Some(c) = data[start..].windows(2).position(|w| w == b"}}") else {
            break;
        };
        out.push(start..start + c + 2);
        at = start + c + 2;
    }
    out
}

/// Every top-level box of `input` except `meta` is in `output`, in order, with the same type
/// and length; its bytes differ only inside an XMP packet of the output, where the output holds
/// zeros (an old packet blanked), or where a wrapped label in the input became spaces (an EXIF
/// `UserComment` blanked). The output may end with one more `mdat`.
fn assert_boxes_kept(name: &str, input: &[u8], output: &[u8]) {
    let (a, b) = (top_boxes(input), top_boxes(output));
    assert!(
        b.len() == a.len() || (b.len() == a.len() + 1 && &b[a.len()].0 == b"mdat"),
        "{name}: boxes"
    );
    let in_packet = packets(output);
    let in_comment = wrapped_labels(input);
    for ((kind, ra), (kind_b, rb)) in a.iter().zip(&b) {
        assert_eq!(kind, kind_b, "{name}");
        if kind == b"meta" {
            continue;
        }
        assert_eq!(
            ra.len(),
            rb.len(),
            "{name}: {} box length",
            String::from_utf8_lossy(kind)
        );
        for (i, (x, y)) in input[ra.clone()].iter().zip(&output[rb.clone()]).enumerate() {
            let at = rb.start + i;
            let blanked = *y == b' ' && in_comment.iter().any(|c| c.contains(&(ra.start + i)));
            assert!(
                x == y || *y == 0 || blanked || in_packet.iter().any(|p| p.contains(&at)),
                "{name}: byte {i} of the {} box changed",
                String::from_utf8_lossy(kind)
            );
        }
    }
}

#[test]
fn every_fixture_round_trips_with_images_and_boxes_unchanged() {
    // One thread per fixture: the external tools spend most of their time starting up.
    std::thread::scope(|s| {
        for path in fixtures() {
            s.spawn(move || check_fixture(&path));
        }
    });
}

fn check_fixture(path: &Path) {
    let json = to_json(&tu::sample_label(), Shape::Bare);
    let name = name(path);
    let input = read(path);
    assert!(Heif.sniff(&input), "{name}");
    let out = tu::round_trip(&Heif, &input);
    assert_boxes_kept(&name, &input, &out);

    let dir = temp_dir(&name);
    let written = dir.join(format!("labelled-{name}"));
    std::fs::write(&written, &out).unwrap();
    heif_info(&written);
    if let Some(labels) = exiftool_labels(&written) {
        assert_eq!(labels, [json], "{name}: exiftool reads one label");
    }
    if let (Some(before), Some(after)) = (decode(path, &dir), decode(&written, &dir)) {
        assert_eq!(before.len(), after.len(), "{name}: images");
        for (b, a) in before.iter().zip(&after) {
            assert_eq!(b.0, a.0, "{name}");
            assert!(b.1 == a.1, "{name}: decoded pixels differ");
        }
    }
}

#[test]
fn exiftool_reads_the_label_through_the_tc260_group() {
    let label = tu::sample_label();
    for fixture in ["rgb.heic", "rgb.avif", "alpha.avif", "thumbnail.heic"] {
        let out = write(&read(&tu::fixture(&format!("heif/{fixture}"))), &label).unwrap();
        let path = temp_dir(&format!("group-{fixture}")).join(fixture);
        std::fs::write(&path, &out).unwrap();
        if let Some(read) = tu::exiftool_aigc(&path) {
            assert_eq!(read, to_json(&label, Shape::Bare), "{fixture}");
        }
    }
}

#[test]
fn exiftool_labels_are_found_and_moved_to_the_end() {
    for fixture in ["label-xmp.heic", "label-xmp.avif"] {
        let input = read(&tu::fixture(&format!("heif/{fixture}")));
        let report = inspect_with(&Heif, &mut Cursor::new(&input), &Options::default()).unwrap();
        assert_eq!(report.verdict, Verdict::Compliant, "{fixture}: {:#?}", report.copies);
        assert!(report.copies[0].carrier.starts_with("XMP item"));
        assert_eq!(report.copies[0].field("ProduceID"), Some("fixture-0001"));

        // A label of the same length: exiftool's padding would absorb it, but its item lies
        // before the image data, so it moves to an `mdat` of its own at the end, the old bytes
        // zeroed.
        let old = packets(&input);
        assert_eq!(old.len(), 1, "{fixture}");
        assert!(old[0].end < input.len() - 8, "{fixture}: exiftool's packet is mid-file");
        let label = Label::new("001191440300708461136T1XGW3", "fixture-0002");
        let out = write(&input, &label).unwrap();
        let packet = find(&out)[0].range.clone();
        let room = (packet.end - packet.start) + Limits::default().label_room;
        assert_eq!(
            packet.end + room,
            out.len() as u64,
            "{fixture}: the packet and its room end the file"
        );
        assert_eq!(top_boxes(&out).last().unwrap().0, *b"mdat", "{fixture}");
        assert_eq!(packets(&out).len(), 1, "{fixture}: the old packet is zeroed");
        // From then on, a label of the same length is rewritten at the same place and keeps
        // every covered byte.
        let again = write(&out, &Label::new("001191440300708461136T1XGW3", "fixture-0003")).unwrap();
        assert_eq!(again.len(), out.len(), "{fixture}");
        assert_eq!(find(&again)[0].range, packet, "{fixture}");
        assert!(covered(&again) == covered(&out), "{fixture}: covered bytes changed");
        let path = temp_dir(&format!("replaced-{fixture}")).join(fixture);
        std::fs::write(&path, &out).unwrap();
        if let Some(labels) = exiftool_labels(&path) {
            assert_eq!(labels, [to_json(&label, Shape::Bare)]);
        }
        if fixture == "label-xmp.heic" {
            assert!(out.windows(11).any(|w| w == b"Plasma test"));
        }
    }
}

/// The bytes `binding_exclusions` leaves covered, in order.
fn covered(data: &[u8]) -> Vec<u8> {
    aigc_label_testutil::covered_by(&Heif, data)
}

/// The edge case that moving every item outside a trailing `mdat` closes: exiftool stores its
/// packet before the image data with padding to spare. Our first write, with a short label,
/// moves it to an `mdat` of its own at the end even though the padding would absorb the label;
/// so a later label 6 KB longer, which no padding absorbs, is rewritten in that `mdat` and
/// every covered byte stays the same: a binding signed over the first output still holds for
/// the second.
#[test]
fn a_mid_file_exiftool_label_outgrown_after_our_first_write_keeps_every_covered_byte() {
    for fixture in ["label-xmp.heic", "label-xmp.avif"] {
        let path = tu::fixture(&format!("heif/{fixture}"));
        let input = read(&path);
        assert!(
            packets(&input)[0].end < input.len() - 8,
            "{fixture}: exiftool's packet is mid-file"
        );
        let short = Label::new("001191440300708461136T1XGW3", "s");
        let first = write(&input, &short).unwrap();
        let mut long = short.clone();
        long.reserved_code1 = "L".repeat(6000);
        let second = write(&first, &long).unwrap();
        assert!(
            second.len() > first.len() + 4000,
            "{fixture}: the label outgrew the padding"
        );
        assert_eq!(find(&second)[0].range.start, find(&first)[0].range.start, "{fixture}");
        assert!(covered(&second) == covered(&first), "{fixture}: covered bytes changed");
        let dir = temp_dir(&format!("outgrown-{fixture}"));
        for (which, data, label) in [("short", &first, &short), ("long", &second, &long)] {
            let file = dir.join(format!("{which}-{fixture}"));
            std::fs::write(&file, data).unwrap();
            heif_info(&file);
            if let Some(labels) = exiftool_labels(&file) {
                assert_eq!(labels, [to_json(label, Shape::Bare)], "{fixture} {which}");
            }
            if let (Some(before), Some(after)) = (decode(&path, &dir), decode(&file, &dir)) {
                assert_eq!(before, after, "{fixture} {which}: decoded images differ");
            }
        }
    }
}

#[test]
fn a_compressed_label_is_read_flagged_and_rewritten_plain() {
    let input = read(&tu::fixture("heif/label-compressed.heic"));
    let found = find(&input);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].checks.iter().filter(|c| c.level == Level::Warn).count(), 1);
    let label = tu::sample_label();
    let out = write(&input, &label).unwrap();
    let found = find(&out);
    assert_eq!(found.len(), 1);
    assert!(found[0].checks.iter().all(|c| c.level == Level::Pass));
    let path = temp_dir("compressed").join("label-compressed.heic");
    std::fs::write(&path, &out).unwrap();
    if let Some(labels) = exiftool_labels(&path) {
        assert_eq!(labels, [to_json(&label, Shape::Bare)]);
    }
}

#[test]
fn existing_xmp_keeps_its_properties() {
    for fixture in ["xmp-existing.heic", "xmp-compressed.avif"] {
        let input = read(&tu::fixture(&format!("heif/{fixture}")));
        assert!(find(&input).is_empty());
        let out = write(&input, &tu::sample_label()).unwrap();
        let path = temp_dir(&format!("kept-{fixture}")).join(fixture);
        std::fs::write(&path, &out).unwrap();
        if let Some(exiftool) = tu::tool("exiftool") {
            let title = tu::run(&exiftool, &["-s3".as_ref(), "-XMP-dc:Title".as_ref(), path.as_os_str()]);
            assert_eq!(String::from_utf8(title).unwrap().trim(), "Plasma test", "{fixture}");
        }
    }
}

#[test]
fn truncations_and_corruptions_of_real_files_never_panic() {
    let label = tu::sample_label();
    for fixture in ["rgb.heic", "alpha.avif", "label-xmp.avif"] {
        let input = read(&tu::fixture(&format!("heif/{fixture}")));
        let meta = top_boxes(&input).into_iter().find(|b| &b.0 == b"meta").unwrap().1;
        for cut in (0..meta.end + 16).chain(input.len() - 16..input.len()) {
            let part = &input[..cut.min(input.len())];
            let _ = Heif.find(&mut Cursor::new(part), &Limits::default());
            let _ = write(part, &label);
        }
        for i in meta.clone() {
            for v in [0x00, 0x01, 0xFF] {
                let mut bad = input.clone();
                bad[i] = v;
                if Heif.find(&mut Cursor::new(&bad), &Limits::default()).is_err() {
                    assert!(
                        write(&bad, &label).is_err(),
                        "{fixture}: byte {i} = {v}: find fails, write must too"
                    );
                    continue;
                }
                if let Ok(out) = write(&bad, &label) {
                    let found = Heif
                        .find(&mut Cursor::new(&out), &Limits::default())
                        .unwrap_or_else(|e| panic!("{fixture}: byte {i} = {v}: our output does not read back: {e}"));
                    assert_eq!(found.len(), 1, "{fixture}: byte {i} = {v}");
                }
            }
        }
    }
}

#[test]
fn only_heif_and_avif_brands_are_sniffed() {
    for fixture in fixtures() {
        assert!(Heif.sniff(&read(&fixture)[..32]), "{}", fixture.display());
    }
    let mp4 = b"\0\0\0\x18ftypisom\0\0\0\0isomiso2";
    assert!(!Heif.sniff(mp4));
    assert!(!Heif.sniff(b"\0\0\0\x18ftyp"));
}

/// The binding contract: every fixture (those exiftool or ImageMagick labelled included, whose
/// packets the first write moves to the end), labelled and then relabelled with a much longer
/// and a much shorter label, keeps every byte `binding_exclusions` covers (everything
/// but the XMP item's bytes, its `iloc` entry and the `mdat` of its own that holds it with the
/// room). Each rewrite replaces that trailing `mdat`; heif-info and exiftool read the results,
/// and heif-convert decodes the same images.
#[test]
fn rewriting_the_label_keeps_every_covered_byte() {
    std::thread::scope(|s| {
        for path in fixtures() {
            s.spawn(move || {
                let name = name(&path);
                let input = read(&path);
                // Beyond the packet: its iloc entry, the mdat header and the room after the
                // packet (a packet's worth, under 16 KiB here, and `Limits::label_room`).
                let slack = 48 + Limits::default().label_room + (16 << 10);
                let [_, longer, shorter] = rewrite::assert_stable(&Heif, &input, slack, &name);
                let dir = temp_dir(&format!("rewrite-{name}"));
                for (which, data, label) in [
                    ("longer", &longer, rewrite::label_b()),
                    ("shorter", &shorter, rewrite::label_c()),
                ] {
                    let file = dir.join(format!("{which}-{name}"));
                    std::fs::write(&file, data).unwrap();
                    heif_info(&file);
                    if let Some(labels) = exiftool_labels(&file) {
                        assert_eq!(labels, [to_json(&label, Shape::Bare)], "{name} {which}");
                    }
                    if which == "longer"
                        && let (Some(before), Some(after)) = (decode(&path, &dir), decode(&file, &dir))
                    {
                        assert_eq!(before, after, "{name}: decoded images differ");
                    }
                }
            });
        }
    });
}
