//! AVI carrier: fixtures made by ffmpeg, witnessed by ffprobe and ffmpeg.

mod common;

use aigc_label_testutil::{fixtures, round_trip};
use aigc_label_video::Avi;

#[test]
fn every_fixture_round_trips() {
    for path in fixtures("video", &["avi"]) {
        round_trip(&Avi, &std::fs::read(&path).unwrap());
    }
}

#[test]
fn ffprobe_sees_the_label_and_frames_are_unchanged() {
    for path in fixtures("video", &["avi"]) {
        common::witness(&Avi, &path);
    }
}

use std::io::Cursor;

use aigc_label_core::{Carrier, Limits};
use aigc_label_testutil::sample_label;

fn ck(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut v = id.to_vec();
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(data);
    if data.len() % 2 == 1 {
        v.push(0);
    }
    v
}

fn list(typ: &[u8; 4], data: &[u8]) -> Vec<u8> {
    ck(b"LIST", &[&typ[..], data].concat())
}

fn u32le(b: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes(b[at..at + 4].try_into().unwrap()))
}

fn u64le(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn find(b: &[u8], needle: &[u8]) -> usize {
    b.windows(needle.len()).position(|w| w == needle).unwrap()
}

/// An AVI without JUNK room: hdrl with an OpenDML super index, movi with two frames and a
/// standard index, idx1 with `absolute` or movi-relative offsets.
fn synthetic(absolute: bool) -> Vec<u8> {
    let hdrl_len = 12 + (8 + 56) + 12 + (8 + 56) + (8 + 40) + (8 + 24 + 16);
    let movi_at = 12 + hdrl_len; // the movi LIST
    let frame0 = movi_at + 12; // first 00dc chunk
    let frame1 = frame0 + 12;
    let ix_at = frame1 + 12;
    // indx: super index with one entry pointing at ix00.
    let mut indx = vec![4, 0, 0, 0];
    indx.extend_from_slice(&1u32.to_le_bytes());
    indx.extend_from_slice(b"00dc");
    indx.extend_from_slice(&[0; 12]);
    indx.extend_from_slice(&(ix_at as u64).to_le_bytes());
    indx.extend_from_slice(&[0; 8]);
    let strl = list(
        b"strl",
        &[ck(b"strh", &[0; 56]), ck(b"strf", &[0; 40]), ck(b"indx", &indx)].concat(),
    );
    let hdrl = list(b"hdrl", &[ck(b"avih", &[0; 56]), strl].concat());
    assert_eq!(hdrl.len(), hdrl_len);
    // ix00: standard index, base = start of movi data, offsets to each frame's data.
    let base = (movi_at + 12) as u64;
    let mut ix = vec![2, 0, 0, 1];
    ix.extend_from_slice(&2u32.to_le_bytes());
    ix.extend_from_slice(b"00dc");
    ix.extend_from_slice(&base.to_le_bytes());
    ix.extend_from_slice(&[0; 4]);
    for f in [frame0, frame1] {
        ix.extend_from_slice(&((f + 8) as u64 - base).to_le_bytes()[..4]);
        ix.extend_from_slice(&4u32.to_le_bytes());
    }
    let movi = list(
        b"movi",
        &[ck(b"00dc", b"AAAA"), ck(b"00dc", b"BBBB"), ck(b"ix00", &ix)].concat(),
    );
    let mut idx1 = Vec::new();
    for f in [frame0, frame1] {
        let off = if absolute { f } else { f - (movi_at + 8) };
        idx1.extend_from_slice(b"00dc");
        idx1.extend_from_slice(&0x10u32.to_le_bytes());
        idx1.extend_from_slice(&(off as u32).to_le_bytes());
        idx1.extend_from_slice(&4u32.to_le_bytes());
    }
    let body = [&b"AVI "[..], &hdrl, &movi, &ck(b"idx1", &idx1)].concat();
    [&b"RIFF"[..], &(body.len() as u32).to_le_bytes(), &body].concat()
}

/// Checks every index in `avi` against the frame data it names.
fn check_indexes(avi: &[u8], absolute: bool) {
    assert_eq!(u32le(avi, 4) as usize, avi.len() - 8, "RIFF size");
    let movi = find(avi, b"movi") - 8;
    let idx1 = find(avi, b"idx1") + 8;
    for (i, want) in [b"AAAA", b"BBBB"].iter().enumerate() {
        let off = u32le(avi, idx1 + i * 16 + 8) as usize;
        let chunk = if absolute { off } else { movi + 8 + off };
        assert_eq!(&avi[chunk..chunk + 4], b"00dc");
        assert_eq!(&avi[chunk + 8..chunk + 12], *want, "idx1 entry {i}");
    }
    let indx = find(avi, b"indx") + 8;
    let ix = u64le(avi, indx + 24) as usize;
    assert_eq!(&avi[ix..ix + 4], b"ix00", "super index entry");
    let base = u64le(avi, ix + 8 + 12) as usize;
    for (i, want) in [b"AAAA", b"BBBB"].iter().enumerate() {
        let off = u32le(avi, ix + 8 + 24 + i * 8) as usize;
        assert_eq!(&avi[base + off..base + off + 4], *want, "ix00 entry {i}");
    }
}

#[test]
fn without_junk_the_indexes_move_with_movi() {
    for absolute in [false, true] {
        let input = synthetic(absolute);
        check_indexes(&input, absolute);
        let out = common::embed(&Avi, &input, &sample_label());
        assert!(out.len() > input.len(), "movi had to move");
        check_indexes(&out, absolute);
        round_trip(&Avi, &input);
    }
}

#[test]
fn junk_absorbs_the_label_and_nothing_moves() {
    let path = aigc_label_testutil::fixture("video/avi_plain.avi");
    let input = std::fs::read(&path).unwrap();
    let out = common::embed(&Avi, &input, &sample_label());
    assert_eq!(out.len(), input.len());
    let movi = find(&input, b"movi") - 8;
    assert_eq!(out[movi..], input[movi..], "movi and idx1 untouched");
}

#[test]
fn other_copies_become_junk() {
    let label = aigc_label_core::Label::new(sample_label().content_producer, "old-1");
    let text = aigc_label_core::json::to_json(&label, aigc_label_core::json::Shape::Bare);
    let input = synthetic(false);
    // A top-level AIGC chunk after movi (as a WAV-minded tool would write).
    let mut with = input.clone();
    with.extend_from_slice(&ck(b"AIGC", text.as_bytes()));
    let size = (with.len() - 8) as u32;
    with[4..8].copy_from_slice(&size.to_le_bytes());
    let found = Avi.find(&mut Cursor::new(&with), &Limits::default()).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].carrier, "RIFF AIGC chunk");
    let out = common::embed(&Avi, &with, &sample_label());
    let found = Avi.find(&mut Cursor::new(&out), &Limits::default()).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].carrier, "LIST INFO AIGC");
    assert!(!out.windows(5).any(|w| w == b"old-1"));
    check_indexes(&out, false);
}

#[test]
fn a_shorter_label_gives_the_bytes_back_to_junk() {
    let input = std::fs::read(aigc_label_testutil::fixture("video/avi_plain.avi")).unwrap();
    let mut long = sample_label();
    long.reserved_code1 = "0123456789ABCDEF".repeat(20);
    let first = common::embed(&Avi, &input, &long);
    let second = common::embed(&Avi, &first, &sample_label());
    assert_eq!(second.len(), input.len());
    let movi = find(&input, b"movi") - 8;
    assert_eq!(second[movi..], input[movi..]);
    let info = find(&second, b"INFO") - 8;
    let junk = info + 8 + u32le(&second, info + 4) as usize;
    assert_eq!(&second[junk..junk + 4], b"JUNK");
    let size = u32le(&second, junk + 4) as usize;
    assert!(
        second[junk + 8..junk + 8 + size].iter().all(|&b| b == 0),
        "the grown JUNK holds zeros"
    );
    let (_dir, path) = common::temp_file("short.avi", &second);
    if common::ffprobe_aigc(&path).is_some() {
        assert_eq!(common::decode_messages(&path).unwrap_or_default(), "");
    }
}

#[test]
fn a_shorter_label_without_junk_is_padded_in_place() {
    let input = synthetic(false);
    let mut long = sample_label();
    long.reserved_code1 = "0123456789ABCDEF".repeat(4);
    let first = common::embed(&Avi, &input, &long);
    let second = common::embed(&Avi, &first, &sample_label());
    assert_eq!(second.len(), first.len(), "nothing moves: the new value is NUL-padded");
    check_indexes(&second, false);
}

#[test]
fn indexes_that_move_are_left_out_of_the_binding_and_the_frames_are_not() {
    for absolute in [false, true] {
        let input = synthetic(absolute);
        let (with_a, with_b) = common::assert_binding_stable(&Avi, "synthetic AVI", &input);
        check_indexes(&with_a, absolute);
        check_indexes(&with_b, absolute);
        let excluded = Avi
            .binding_exclusions(&mut Cursor::new(&with_b), &Limits::default())
            .unwrap();
        for frame in [find(&with_b, b"AAAA"), find(&with_b, b"BBBB")] {
            assert!(
                !excluded.iter().any(|r| r.contains(&(frame as u64))),
                "frame data at {frame} is covered"
            );
        }
        let idx1_offset = find(&with_b, b"idx1") + 8 + 8;
        assert_eq!(
            excluded.iter().any(|r| r.contains(&(idx1_offset as u64))),
            absolute,
            "idx1 offsets are left out exactly when they are absolute"
        );
    }
}

/// Found by the `avi` fuzzer: a super index whose entries point into `hdrl` (at bytes that are
/// no standard index) made the writer "move" a `strl` list's size as if it were a base offset,
/// so the next write found other offsets and a longer label changed covered bytes. Only `ix##`
/// chunks inside `movi` are followed now.
#[test]
fn a_super_index_pointing_into_hdrl_is_not_followed() {
    let path = aigc_label_testutil::workspace_root().join("fuzz/corpus/avi/avi-longer-label-changes-covered-bytes.bin");
    let input = std::fs::read(path).unwrap();
    aigc_label_testutil::fuzz_carrier(&Avi, &input);
    let first = common::embed(&Avi, &input, &sample_label());
    let mut long = sample_label().propagated("001191110108551385082Q20000", "p".repeat(3000));
    long.reserved_code2 = "r".repeat(3000);
    let longer = common::embed(&Avi, &first, &long);
    // The first `strl` list's header, which the old walk took for a base offset.
    assert_eq!(&longer[88..96], &input[88..96], "the strl list header is not an offset");
}

/// An `INFO` list met only after `movi` and `idx1`, behind a `JUNK` chunk after `hdrl` big
/// enough for a new list: the one-walk plan first puts a new list after `hdrl` (and streams
/// kilobytes past it), then meets the file's own list, where the label belongs; it starts
/// again from the whole layout. Both sinks get `write`'s bytes, and the label lands in the
/// file's list, the only copy.
#[test]
fn an_info_list_after_movi_restarts_the_one_walk_plan() {
    let hdrl = list(b"hdrl", &ck(b"avih", &[0; 56]));
    let movi = list(b"movi", &[ck(b"00dc", b"AAAA"), ck(b"00dc", &[7; 6000])].concat());
    let mut idx1 = b"00dc".to_vec();
    idx1.extend_from_slice(&0x10u32.to_le_bytes());
    idx1.extend_from_slice(&4u32.to_le_bytes());
    idx1.extend_from_slice(&4u32.to_le_bytes());
    let info = list(b"INFO", &ck(b"ISFT", b"Lavf61.7.100\0"));
    let body = [
        &b"AVI "[..],
        &hdrl,
        &ck(b"JUNK", &[0; 4096]),
        &movi,
        &ck(b"idx1", &idx1),
        &info,
    ]
    .concat();
    let input = [&b"RIFF"[..], &(body.len() as u32).to_le_bytes(), &body].concat();
    round_trip(&Avi, &input);
    let out = common::embed(&Avi, &input, &sample_label());
    let found = Avi.find(&mut Cursor::new(&out), &Limits::default()).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].carrier, "LIST INFO AIGC");
    assert!(
        found[0].range.start as usize > find(&out, b"idx1"),
        "the label is in the file's list"
    );
    let idx1 = find(&input, b"idx1");
    assert!(
        out[8..idx1] == input[8..idx1],
        "nothing between the RIFF size and the list changed"
    );
}
