//! The content-binding contract of every video carrier, on every fixture: rewriting a label with
//! a much longer or a much shorter one (or embedding either first) leaves the bytes a binding
//! covers the same, and the media still decodes to the same frames after the rewrites that had
//! to move or resize something (a label longer than every padding the writers keep).

mod common;

use std::io::Cursor;

use aigc_label_core::{Carrier, Limits};
use aigc_label_testutil::{fixture, fixtures};
use aigc_label_video::{Avi, Bmff, Flv, Matroska};

/// Runs the contract on every fixture with one of `exts`, and reports how much is excluded.
/// `tolerated` is a message ffmpeg may print about the long label itself (not the media).
fn check_all(carrier: &dyn Carrier, exts: &[&str], tolerated: Option<&str>) {
    let paths = fixtures("video", exts);
    assert!(!paths.is_empty());
    for path in paths {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
        let input = std::fs::read(&path).unwrap();
        let (with_a, with_b) = common::assert_binding_stable(carrier, &name, &input);
        let limits = Limits::default();
        let excluded: u64 = carrier
            .binding_exclusions(&mut Cursor::new(&with_a), &limits)
            .unwrap()
            .iter()
            .map(|r| r.end - r.start)
            .sum();
        let label: u64 = carrier
            .find(&mut Cursor::new(&with_a), &limits)
            .unwrap()
            .iter()
            .map(|f| f.range.end - f.range.start)
            .sum();
        eprintln!(
            "{name}: {excluded} of {} bytes excluded, {label} of them the label's structure",
            with_a.len()
        );
        let (_dir, a_path) = common::temp_file(&format!("a-{name}"), &with_a);
        let (_dir, b_path) = common::temp_file(&format!("b-{name}"), &with_b);
        if let (Some(before), Some(after)) = (common::framemd5(&a_path), common::framemd5(&b_path)) {
            assert_eq!(before, after, "{name}: frames differ after the long rewrite");
            let messages = common::decode_messages(&b_path).unwrap_or_default();
            let unexpected = messages.lines().filter(|l| tolerated.is_none_or(|t| !l.contains(t)));
            assert_eq!(unexpected.count(), 0, "{name}: {messages}");
        }
    }
}

#[test]
fn mp4_rewrites_keep_the_covered_bytes() {
    check_all(&Bmff, &["mp4", "mov", "m4a", "3gp"], None);
}

#[test]
fn matroska_rewrites_keep_the_covered_bytes() {
    check_all(&Matroska, &["mkv", "webm"], None);
}

#[test]
fn flv_rewrites_keep_the_covered_bytes() {
    // ffmpeg's FLV demuxer reads AMF strings of up to 1023 bytes; B is longer, so ffmpeg
    // skips the rest of onMetaData and says so. The frames are checked all the same.
    check_all(&Flv, &["flv"], Some("AMF_DATA_TYPE_STRING parsing failed"));
}

#[test]
fn avi_rewrites_keep_the_covered_bytes() {
    check_all(&Avi, &["avi"], None);
}

/// The ways a fast-start MP4 absorbs a change are all exercised: the padding in our `meta`
/// (A to C), moving `mdat` and every chunk offset (A to B), and a `free` box next to `moov`.
#[test]
fn mp4_offsets_that_move_are_left_out_and_the_media_is_not() {
    let input = std::fs::read(fixture("video/mp4_faststart.mp4")).unwrap();
    let [a, b, _] = common::binding_labels();
    let with_a = common::write(&Bmff, &input, &a);
    let with_b = common::write(&Bmff, &with_a, &b);
    assert!(with_b.len() > with_a.len(), "B outgrows the padding: mdat moves");
    let excluded = Bmff
        .binding_exclusions(&mut Cursor::new(&with_b), &Limits::default())
        .unwrap();
    let mdat = with_b.windows(4).position(|w| w == b"mdat").unwrap() - 4;
    assert!(
        excluded.iter().all(|r| r.end <= mdat as u64),
        "nothing of mdat is excluded: {excluded:?}"
    );
    // The two stco tables' entries (7 and 8 chunks) are among the exclusions.
    let tables: u64 = excluded
        .iter()
        .filter(|r| r.end - r.start == 28 || r.end - r.start == 32)
        .count() as u64;
    assert_eq!(tables, 2, "{excluded:?}");
}

/// A label placed in a Void before the Clusters that outgrows its room moves to the end of
/// the Segment; the Voids it leaves and the SeekHead entry it gains are excluded.
#[test]
fn matroska_label_outgrowing_its_void_moves_to_the_end() {
    let input = std::fs::read(fixture("video/mkv_reserved.mkv")).unwrap();
    let [a, b, _] = common::binding_labels();
    let with_a = common::write(&Matroska, &input, &a);
    assert_eq!(with_a.len(), input.len(), "A fits the reserved Void");
    let with_b = common::write(&Matroska, &with_a, &b);
    assert!(with_b.len() > with_a.len(), "B is appended");
    assert_eq!(common::covered(&Matroska, &with_a), common::covered(&Matroska, &with_b));
}
