//! Matroska/WebM carrier: fixtures made by ffmpeg, witnessed by ffprobe and ffmpeg.

mod common;

use aigc_label_testutil::{fixtures, round_trip};
use aigc_label_video::Matroska;

#[test]
fn every_fixture_round_trips() {
    for path in fixtures("video", &["mkv", "webm"]) {
        round_trip(&Matroska, &std::fs::read(&path).unwrap());
    }
}

#[test]
fn ffprobe_sees_the_label_and_frames_are_unchanged() {
    // A Tags element past the end stops ffmpeg from decoding the damaged input itself, so it
    // cannot be the reference; tests/damaged.rs checks the repaired outputs decode cleanly.
    for path in fixtures("video", &["mkv", "webm"])
        .into_iter()
        .filter(|p| !p.ends_with("mkv_tags_past_end.mkv"))
    {
        common::witness(&Matroska, &path);
    }
}

use std::io::Cursor;

use aigc_label_core::{Carrier, Label, Limits, json};
use aigc_label_testutil::{fixture, sample_label};

/// A variable-size integer at `b[at..]`: (value without the marker, length).
fn vint(b: &[u8], at: usize) -> (u64, usize) {
    let len = b[at].leading_zeros() as usize + 1;
    let mut v = u64::from(b[at] & 0xFFu8.checked_shr(len as u32).unwrap_or(0));
    for i in 1..len {
        v = (v << 8) | u64::from(b[at + i]);
    }
    (v, len)
}

/// An element at `at`: (id with marker, header length, data size).
fn element(b: &[u8], at: usize) -> (u32, usize, usize) {
    let id_len = b[at].leading_zeros() as usize + 1;
    let id = b[at..at + id_len].iter().fold(0u32, |a, &x| (a << 8) | u32::from(x));
    let (size, size_len) = vint(b, at + id_len);
    (id, id_len + size_len, size as usize)
}

/// The Segment's data start and its children: (id, start, end).
fn level1(b: &[u8]) -> (usize, Vec<(u32, usize, usize)>) {
    let (_, hdr, size) = element(b, 0);
    let seg = hdr + size;
    let (id, seg_hdr, seg_size) = element(b, seg);
    assert_eq!(id, 0x1853_8067);
    let data = seg + seg_hdr;
    assert_eq!(data + seg_size, b.len(), "Segment size covers the file");
    let mut out = Vec::new();
    let mut at = data;
    while at < b.len() {
        let (id, hdr, size) = element(b, at);
        out.push((id, at, at + hdr + size));
        at += hdr + size;
    }
    (data, out)
}

/// Every CRC-32 element that opens a level-1 element matches its data.
fn check_crcs(b: &[u8]) {
    for (_, start, end) in level1(b).1 {
        let (_, hdr, _) = element(b, start);
        let data = &b[start + hdr..end];
        if data.len() >= 6 && data[0] == 0xBF && data[1] == 0x84 {
            let stored = u32::from_le_bytes(data[2..6].try_into().unwrap());
            assert_eq!(stored, crc32fast::hash(&data[6..]), "CRC-32 of element at {start}");
        }
    }
}

/// The Segment positions the SeekHead lists for `id`.
fn seek_positions(b: &[u8], want: u32) -> Vec<usize> {
    let (_, kids) = level1(b);
    let (_, start, end) = kids.into_iter().find(|k| k.0 == 0x114D_9B74).unwrap();
    let (_, hdr, _) = element(b, start);
    let mut at = start + hdr;
    let mut out = Vec::new();
    while at < end {
        let (id, hdr, size) = element(b, at);
        if id == 0x4DBB {
            let (mut i, mut seek_id, mut pos) = (at + hdr, 0u32, 0usize);
            while i < at + hdr + size {
                let (cid, chdr, csize) = element(b, i);
                let v = b[i + chdr..i + chdr + csize]
                    .iter()
                    .fold(0u64, |a, &x| (a << 8) | u64::from(x));
                match cid {
                    0x53AB => seek_id = v as u32,
                    0x53AC => pos = v as usize,
                    _ => {}
                }
                i += chdr + csize;
            }
            if seek_id == want {
                out.push(pos);
            }
        }
        at += hdr + size;
    }
    out
}

#[test]
fn appended_tags_are_in_the_seek_head_and_crcs_hold() {
    for name in ["mkv_plain.mkv", "webm_plain.webm"] {
        let input = std::fs::read(fixture(&format!("video/{name}"))).unwrap();
        let out = common::embed(&Matroska, &input, &sample_label());
        check_crcs(&out);
        let (data, kids) = level1(&out);
        let last = kids.last().unwrap();
        assert_eq!(last.0, 0x1254_C367, "{name}: Tags appended at the end");
        assert!(
            seek_positions(&out, 0x1254_C367).contains(&(last.1 - data)),
            "{name}: SeekHead entry"
        );
        // Everything from Info to the end of the old file is where it was.
        let info = kids.iter().find(|k| k.0 == 0x1549_A966).unwrap().1;
        assert_eq!(out[info..input.len()], input[info..], "{name}");
    }
}

#[test]
fn a_void_before_the_clusters_takes_the_tags_and_nothing_moves() {
    let input = std::fs::read(fixture("video/mkv_reserved.mkv")).unwrap();
    let out = common::embed(&Matroska, &input, &sample_label());
    assert_eq!(out.len(), input.len());
    check_crcs(&out);
    let (_, kids) = level1(&out);
    let cluster = kids.iter().position(|k| k.0 == 0x1F43_B675).unwrap();
    let tags: Vec<_> = kids.iter().take(cluster).filter(|k| k.0 == 0x1254_C367).collect();
    assert_eq!(tags.len(), 2, "ffmpeg's Tags and ours, both before the first Cluster");
    let first_cluster = kids[cluster].1;
    assert_eq!(out[first_cluster..], input[first_cluster..]);
}

#[test]
fn relabelling_reuses_the_same_place() {
    let input = std::fs::read(fixture("video/mkv_plain.mkv")).unwrap();
    let once = common::embed(&Matroska, &input, &sample_label());
    let next = Label::new(sample_label().content_producer, "test-0009");
    let twice = common::embed(&Matroska, &once, &next);
    assert_eq!(once.len(), twice.len(), "a same-size label replaces in place");
    let found = Matroska.find(&mut Cursor::new(&twice), &Limits::default()).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].text, json::to_json(&next, json::Shape::Bare));
    check_crcs(&twice);
}

#[test]
fn track_scoped_aigc_tags_are_flagged_and_removed() {
    // ffmpeg writes per-stream tags with a TagTrackUID target: an AIGC tag there is not the
    // file's label.
    let Some(ffmpeg) = aigc_label_testutil::tool("ffmpeg") else {
        return;
    };
    let label = Label::new(sample_label().content_producer, "track-1");
    let text = json::to_json(&label, json::Shape::Bare);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("track.mkv");
    let status = std::process::Command::new(ffmpeg)
        .args(["-v", "error", "-nostdin", "-y", "-i"])
        .arg(fixture("video/mkv_plain.mkv"))
        .args(["-c", "copy", "-fflags", "+bitexact", "-metadata:s:v:0"])
        .arg(format!("AIGC={text}"))
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    let input = std::fs::read(&path).unwrap();
    let found = Matroska.find(&mut Cursor::new(&input), &Limits::default()).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].text, text);
    assert_ne!(found[0].checks[0].level, aigc_label_core::check::Level::Pass);
    let out = common::embed(&Matroska, &input, &sample_label());
    let found = Matroska.find(&mut Cursor::new(&out), &Limits::default()).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].carrier, "Tags/Tag/SimpleTag AIGC");
    check_crcs(&out);
    let (_dir2, out_path) = common::temp_file("out.mkv", &out);
    assert_eq!(common::decode_messages(&out_path).unwrap_or_default(), "");
}

/// The one-walk plan writes every Segment child as a copy while it walks, then puts the edits
/// over it: same-size patches (the SeekHead entry, the Segment size) overwrite output already
/// written, and a labelled Tags element that ends the Segment and must grow cuts the output
/// back to its start. Both sinks get `write`'s bytes (`plan_agrees`, through a 4 KiB buffer),
/// for a first label, a label that fits its room, and one that outgrows it.
#[test]
fn edits_found_after_the_walk_are_put_over_the_streamed_copy() {
    for path in fixtures("video", &["mkv", "webm"]) {
        let input = std::fs::read(&path).unwrap();
        let limits = Limits::default();
        let first = common::embed(&Matroska, &input, &sample_label());
        let mut long = sample_label().propagated("001191110108551385082Q20000", "p".repeat(3000));
        long.reserved_code2 = "r".repeat(3000);
        for (data, label) in [(&input, sample_label()), (&first, Label::new("x", "y")), (&first, long)] {
            aigc_label_testutil::plan_agrees(&Matroska, data, &label, &limits);
        }
    }
}

/// An EBML element: `id` (its bytes with the marker), an 8-byte size, `data`.
fn ebml(id: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = id.to_vec();
    out.push(0x01);
    out.extend_from_slice(&(data.len() as u64).to_be_bytes()[1..]);
    out.extend_from_slice(data);
    out
}

/// A label that outgrows its room before the Clusters moves to a new Tags element at the end,
/// never into another producer's Tags that ends the Segment: joining it would change that
/// element's size and CRC, which a binding covers (fuzz `ebml`, `crash-9c87766d`).
#[test]
fn an_outgrown_label_does_not_join_another_producers_tags() {
    let input = std::fs::read(fixture("video/mkv_reserved.mkv")).unwrap();
    let [a, b, _] = common::binding_labels();
    let mut with_a = common::write(&Matroska, &input, &a);
    // Another producer's Tags, with a CRC-32, at the Segment's end.
    let simple = [ebml(&[0x45, 0xA3], b"TITLE"), ebml(&[0x44, 0x87], b"other")].concat();
    let tag = ebml(
        &[0x73, 0x73],
        &[ebml(&[0x63, 0xC0], &[]), ebml(&[0x67, 0xC8], &simple)].concat(),
    );
    let crc = [[0xBF, 0x84].as_slice(), &crc32fast::hash(&tag).to_le_bytes()].concat();
    with_a.extend_from_slice(&ebml(&[0x12, 0x54, 0xC3, 0x67], &[crc, tag].concat()));
    let (_, hdr, len) = element(&with_a, 0);
    let seg = hdr + len;
    let (_, seg_hdr, _) = element(&with_a, seg);
    assert_eq!(seg_hdr, 12, "an 8-byte Segment size");
    let size = (with_a.len() - seg - seg_hdr) as u64;
    with_a[seg + 4..seg + seg_hdr].copy_from_slice(&(size | 1 << 56).to_be_bytes());
    let other = level1(&with_a).1.last().copied().unwrap();

    let with_b = common::write(&Matroska, &with_a, &b);
    assert_eq!(
        with_b[other.1..other.2],
        with_a[other.1..other.2],
        "the other producer's Tags is kept"
    );
    assert!(level1(&with_b).1.last().unwrap().1 >= other.2, "B is appended after it");
    check_crcs(&with_b);
    assert!(common::covered(&Matroska, &with_a) == common::covered(&Matroska, &with_b));
}

/// The binding and the writer agree on which Tags elements hold a label, however many copies
/// there are: with `max_copies` at 1, a second labelled Tags element (which the writer strips)
/// is left out of the binding too, so a rewrite keeps the covered bytes.
#[test]
fn every_labelled_tags_element_is_left_out_past_max_copies() {
    let input = std::fs::read(fixture("video/mkv_reserved.mkv")).unwrap();
    let [a, b, _] = common::binding_labels();
    let mut with_a = common::write(&Matroska, &input, &a);
    // Another producer's Tags at the Segment's end, with its own Tag and a second copy of A.
    let json = json::to_json(&a, json::Shape::Bare);
    let title = [ebml(&[0x45, 0xA3], b"TITLE"), ebml(&[0x44, 0x87], b"other")].concat();
    let aigc = [ebml(&[0x45, 0xA3], b"AIGC"), ebml(&[0x44, 0x87], json.as_bytes())].concat();
    let tag = |simple: &[u8]| {
        ebml(
            &[0x73, 0x73],
            &[ebml(&[0x63, 0xC0], &[]), ebml(&[0x67, 0xC8], simple)].concat(),
        )
    };
    with_a.extend_from_slice(&ebml(&[0x12, 0x54, 0xC3, 0x67], &[tag(&title), tag(&aigc)].concat()));
    let (_, hdr, len) = element(&with_a, 0);
    let seg = hdr + len;
    let (_, seg_hdr, _) = element(&with_a, seg);
    let size = (with_a.len() - seg - seg_hdr) as u64;
    with_a[seg + 4..seg + seg_hdr].copy_from_slice(&(size | 1 << 56).to_be_bytes());

    let mut limits = Limits::default();
    limits.max_copies = 1;
    assert_eq!(
        Matroska
            .find(&mut Cursor::new(&with_a), &Limits::default())
            .unwrap()
            .len(),
        2
    );
    let covered = |file: &[u8]| {
        let excluded = Matroska.binding_exclusions(&mut Cursor::new(file), &limits).unwrap();
        aigc_label_testutil::covered(file, &excluded)
    };
    let mut with_b = Vec::new();
    Matroska
        .write(&mut Cursor::new(&with_a), &mut with_b, &b, &limits)
        .unwrap();
    assert_eq!(
        Matroska
            .find(&mut Cursor::new(&with_b), &Limits::default())
            .unwrap()
            .len(),
        1
    );
    check_crcs(&with_b);
    assert!(covered(&with_a) == covered(&with_b), "a rewrite changed covered bytes");
}
