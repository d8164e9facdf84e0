//! Damaged files (issue 12): a structure whose size runs past the end of the file. Reading cuts
//! it at the end and reports a `structure.truncated` warning, so inspect finds the label ffprobe
//! shows; embed repairs what it rewrites whole (an MP4 `moov`, a Matroska `Tags` element) and
//! refuses, naming the box, when media would be missing.

mod common;

use std::io::Cursor;

use aigc_label_core::check::Level;
use aigc_label_core::{Carrier, Error, Limits};
use aigc_label_testutil::{fixture, sample_label, tool};
use aigc_label_video::Bmff;

const STRUCTURE_SIZE: &str = "structure.truncated";

/// Top-level boxes as (type, start, declared end).
fn top_boxes(file: &[u8]) -> Vec<([u8; 4], usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= file.len() {
        let size = u32::from_be_bytes(file[at..at + 4].try_into().unwrap()) as usize;
        out.push((file[at + 4..at + 8].try_into().unwrap(), at, at + size));
        at += size;
    }
    out
}

fn warns_about_size(found: &aigc_label_core::Found) -> bool {
    found
        .checks
        .iter()
        .any(|c| c.id == STRUCTURE_SIZE && c.level == Level::Warn)
}

#[test]
fn mp4_moov_past_the_end_is_read_and_repaired() {
    let path = fixture("video/mp4_moov_past_end.mp4");
    let input = std::fs::read(&path).unwrap();
    let boxes = top_boxes(&input);
    let (typ, _, end) = *boxes.last().unwrap();
    assert!(
        &typ == b"moov" && end > input.len(),
        "the fixture's moov claims bytes past the end"
    );

    let limits = Limits::default();
    let found = Bmff.find(&mut Cursor::new(&input), &limits).unwrap();
    assert_eq!(found.len(), 1, "inspect finds the label ffmpeg wrote");
    assert!(found[0].text.contains("damaged-1"));
    assert!(warns_about_size(&found[0]), "{:?}", found[0].checks);
    if let Some(tag) = common::ffprobe_aigc(&path) {
        assert_eq!(tag, found[0].text, "ffprobe reads the same label");
    }

    // embed repairs: the moov it writes has its true size, and the file has no damage left.
    let out = common::embed(&Bmff, &input, &sample_label());
    let boxes = top_boxes(&out);
    assert_eq!(boxes.last().unwrap().2, out.len(), "the output's boxes fill it exactly");
    let found = Bmff.find(&mut Cursor::new(&out), &limits).unwrap();
    assert_eq!(found.len(), 1);
    assert!(!warns_about_size(&found[0]), "{:?}", found[0].checks);
    let (_dir, out_path) = common::temp_file("repaired.mp4", &out);
    common::witness(&Bmff, &path);
    if let Some(exiftool) = tool("exiftool") {
        let report = aigc_label_testutil::run(
            &exiftool,
            &["-validate".as_ref(), "-warning".as_ref(), out_path.as_os_str()],
        );
        let report = String::from_utf8_lossy(&report);
        assert!(report.contains("Validate") && !report.contains("Warning"), "{report}");
    }
}

/// `file` with the size of its last top-level box raised by `by`.
fn raise_last(mut file: Vec<u8>, by: u32) -> Vec<u8> {
    let (_, start, _) = *top_boxes(&file).last().unwrap();
    let size = u32::from_be_bytes(file[start..start + 4].try_into().unwrap()) + by;
    file[start..start + 4].copy_from_slice(&size.to_be_bytes());
    file
}

#[test]
fn mp4_media_past_the_end_is_refused_with_a_reason() {
    // A fast-start file whose mdat (the last box) claims more bytes than the file has: media is
    // missing, so embed refuses, and says why; inspect still reads what is there.
    let plain = std::fs::read(fixture("video/mp4_faststart.mp4")).unwrap();
    assert_eq!(&top_boxes(&plain).last().unwrap().0, b"mdat");
    let limits = Limits::default();
    let labelled = raise_last(common::embed(&Bmff, &plain, &sample_label()), 100);
    let found = Bmff.find(&mut Cursor::new(&labelled), &limits).unwrap();
    assert_eq!(found.len(), 1, "the label in moov is read");

    for input in [raise_last(plain, 100), labelled] {
        let mut sink = Vec::new();
        let err = Bmff
            .write(&mut Cursor::new(&input), &mut sink, &sample_label(), &limits)
            .unwrap_err();
        assert!(matches!(err, Error::Truncated { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("mdat") && text.contains("not rewritten"), "{text}");
    }
}

/// Level-1 elements of a Matroska file: (ID, start, declared end), and the Segment's declared
/// end. Sizes are taken as written; nothing is cut.
fn matroska_layout(file: &[u8]) -> (Vec<(u32, usize, usize)>, usize) {
    let vint = |at: usize| {
        let n = file[at].leading_zeros() as usize + 1;
        let v = file[at..at + n].iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
        ((v & ((1u64 << (7 * n)) - 1)) as usize, n)
    };
    let element = |at: usize| {
        let id_len = file[at].leading_zeros() as usize + 1;
        let id = file[at..at + id_len].iter().fold(0u32, |a, &b| (a << 8) | u32::from(b));
        let (size, n) = vint(at + id_len);
        (id, at + id_len + n, at + id_len + n + size)
    };
    let (_, _, header_end) = element(0);
    let (seg_id, seg_data, seg_end) = element(header_end);
    assert_eq!(seg_id, 0x1853_8067);
    let mut kids = Vec::new();
    let mut at = seg_data;
    while at < seg_end.min(file.len()) {
        let (id, _, end) = element(at);
        kids.push((id, at, end));
        at = end;
    }
    (kids, seg_end)
}

#[test]
fn matroska_sizes_and_positions_past_the_end_are_read_and_repaired() {
    use aigc_label_video::Matroska;
    let limits = Limits::default();
    for (name, warned) in [
        ("mkv_tags_past_end.mkv", true),
        ("mkv_segment_past_end.mkv", true),
        ("mkv_seekhead_past_end.mkv", false),
    ] {
        let path = fixture(&format!("video/{name}"));
        let input = std::fs::read(&path).unwrap();
        let found = Matroska.find(&mut Cursor::new(&input), &limits).unwrap();
        assert_eq!(found.len(), 1, "{name}: inspect finds the label ffmpeg wrote");
        assert!(found[0].text.contains("damaged-1"), "{name}");
        assert_eq!(warns_about_size(&found[0]), warned, "{name}: {:?}", found[0].checks);
        if let Some(tag) = common::ffprobe_aigc(&path) {
            assert_eq!(tag, found[0].text, "{name}: ffprobe reads the same label");
        }

        // embed repairs: every size in the output matches the bytes that are there.
        let out = common::embed(&Matroska, &input, &sample_label());
        let (kids, seg_end) = matroska_layout(&out);
        assert_eq!(seg_end, out.len(), "{name}: the Segment ends with the file");
        assert_eq!(
            kids.last().unwrap().2,
            out.len(),
            "{name}: the children fill the Segment"
        );
        let found = Matroska.find(&mut Cursor::new(&out), &limits).unwrap();
        assert_eq!(found.len(), 1, "{name}");
        assert!(!warns_about_size(&found[0]), "{name}: {:?}", found[0].checks);
        let (_dir, out_path) = common::temp_file(name, &out);
        if let Some(messages) = common::decode_messages(&out_path) {
            assert_eq!(messages, "", "{name}: ffmpeg decodes the repaired file cleanly");
            assert!(!common::framemd5(&out_path).unwrap().is_empty());
            assert_eq!(common::ffprobe_aigc(&out_path).unwrap(), found[0].text, "{name}");
        }
    }
}

#[test]
fn matroska_media_past_the_end_is_refused_with_a_reason() {
    use aigc_label_video::Matroska;
    // The Cues element ends the fixture: make it claim more than the file holds.
    let mut input = std::fs::read(fixture("video/mkv_seekhead_past_end.mkv")).unwrap();
    let (kids, _) = matroska_layout(&input);
    let &(id, start, end) = kids.last().unwrap();
    assert_eq!((id, end), (0x1C53_BB6B, input.len()), "Cues last");
    assert_eq!(input[start + 4] & 0x80, 0x80, "one-byte size");
    input[start + 4] = 0x80 | 0x7E; // 126 bytes, more than are left
    let found = Matroska.find(&mut Cursor::new(&input), &Limits::default()).unwrap();
    assert_eq!(found.len(), 1, "the label before it is read");
    let mut sink = Vec::new();
    let err = Matroska
        .write(&mut Cursor::new(&input), &mut sink, &sample_label(), &Limits::default())
        .unwrap_err();
    assert!(matches!(err, Error::Truncated { .. }), "{err:?}");
    assert!(err.to_string().contains("not rewritten"), "{err}");
}
