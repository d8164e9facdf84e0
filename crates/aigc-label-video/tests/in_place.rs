//! Updating an MP4's label in place (issue 16): after our first write the label's `meta` box
//! holds room before and after the label, and later labels go there with one 4-byte switch.
//! Every state a crash can leave reads as the old label or the new one, nothing outside the
//! `meta` box changes (so every covered byte stays), ffmpeg decodes the same frames and ffprobe
//! reads the new label.

mod common;

use std::io::Cursor;

use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::{Carrier, Label, Limits};
use aigc_label_testutil::in_place::{Recorder, replay_torn};
use aigc_label_testutil::{covered_by, fixture, sample_label};
use aigc_label_video::Bmff;
use aigc_label_video::bmff::Update;

/// Updates `rec`'s file through the carrier's in-place capability, recording syncs.
fn update(rec: &mut Recorder, label: &Label) -> Update {
    let in_place = Bmff.in_place().expect("updates in place");
    in_place.update(rec, label, &Limits::default()).unwrap()
}

/// The label texts our reader finds.
fn texts(data: &[u8]) -> Vec<String> {
    Bmff.find(&mut Cursor::new(data), &Limits::default())
        .unwrap()
        .into_iter()
        .map(|f| f.text)
        .collect()
}

/// A platform's update: propagation fields with an ID of about `len` bytes.
fn propagated(n: usize, len: usize) -> Label {
    sample_label().propagated(
        "001191440300708461136T2PLAT",
        format!("upload-{n:04}-{}", "x".repeat(len)),
    )
}

const FIXTURES: [&str; 4] = [
    "mp4_faststart.mp4",
    "mp4_moov_end.mp4",
    "mp4_fragmented.mp4",
    "m4a_tagged.m4a",
];

#[test]
fn updates_after_our_first_write_go_in_place() {
    for name in FIXTURES {
        let input = std::fs::read(fixture(&format!("video/{name}"))).unwrap();
        let mut file = common::embed(&Bmff, &input, &sample_label());
        let (size, covered) = (file.len(), covered_by(&Bmff, &file));
        // Labels of about the same size and growing ones: the block alternates between the
        // room after `ilst` and the room the previous update freed before it.
        for n in 0..8 {
            let label = propagated(n, 100 + 40 * n);
            let json = to_json(&label, Shape::Bare);
            let mut rec = Recorder::new(file.clone());
            let Update::InPlace(w) = update(&mut rec, &label) else {
                panic!("{name}: update {n} asked for a rewrite")
            };
            eprintln!(
                "{name}: update {n}: {} bytes written for a {}-byte label",
                rec.written(),
                json.len()
            );
            assert_eq!(w.bytes_written, rec.written());
            // The new keys and ilst, a free header, the switch, and the old block zeroed.
            assert!(
                rec.written() <= 2 * (json.len() as u64 + 200),
                "{name}: {} bytes",
                rec.written()
            );
            assert_eq!(rec.syncs.len(), 2, "prepare and switch: each synced");
            let switch: Vec<_> = rec.writes[rec.syncs[0]..rec.syncs[1]].to_vec();
            let len = switch[0].1.len() as u64;
            assert!(
                switch.len() == 1 && (1..=4).contains(&len),
                "{name}: one switch of at most 4 bytes"
            );
            assert_eq!(switch[0].0 / 512, (switch[0].0 + len - 1) / 512, "inside one sector");
            let before = file.clone();
            file = rec.file.into_inner();
            assert_eq!(file.len(), size, "{name}: nothing moves");
            assert_eq!(texts(&file), std::slice::from_ref(&json), "{name}");
            assert!(covered_by(&Bmff, &file) == covered, "{name}: covered bytes changed");
            let changed = (0..file.len()).filter(|&i| file[i] != before[i]);
            assert!(
                changed
                    .clone()
                    .all(|i| (w.label_range.start..w.label_range.end).contains(&(i as u64))),
                "{name}: bytes changed outside the label's meta box"
            );
        }
        let (_dir, path) = common::temp_file(name, &file);
        if let Some(tag) = common::ffprobe_aigc(&path) {
            assert_eq!(tag, to_json(&propagated(7, 380), Shape::Bare), "{name}");
            assert_eq!(
                common::framemd5(&path),
                common::framemd5(&fixture(&format!("video/{name}"))),
                "{name}: decoded frames"
            );
            assert_eq!(common::decode_messages(&path).unwrap_or_default(), "", "{name}");
        }
    }
}

#[test]
fn every_state_a_crash_can_leave_reads_as_the_old_or_the_new_label() {
    for name in FIXTURES {
        let input = std::fs::read(fixture(&format!("video/{name}"))).unwrap();
        let mut file = common::embed(&Bmff, &input, &sample_label());
        let mut old = to_json(&sample_label(), Shape::Bare);
        for n in 0..4 {
            let label = propagated(n, 60 + 90 * n);
            let new = to_json(&label, Shape::Bare);
            let mut rec = Recorder::new(file.clone());
            assert!(matches!(update(&mut rec, &label), Update::InPlace(_)), "{name}");
            // A kill after any number of writes, and within a write after any 4-byte prefix
            // (but the switch, inside one sector: whole or not at all).
            let step = |i: usize, bytes: &[u8]| if i == rec.syncs[0] { bytes.len() } else { 4 };
            let state = replay_torn(&file, &rec.writes, step, |torn, _, _| {
                let seen = texts(torn);
                assert!(seen == [old.clone()] || seen == [new.clone()], "{name}: {seen:?}");
            });
            assert_eq!(texts(&state), std::slice::from_ref(&new));
            file = state;
            old = new;
        }
    }
}

#[test]
fn without_room_nothing_is_written() {
    // A file without a label: the first write (a rewrite) leaves the room.
    let input = std::fs::read(fixture("video/mp4_faststart_free.mp4")).unwrap();
    let mut rec = Recorder::new(input.clone());
    assert!(matches!(update(&mut rec, &sample_label()), Update::Rewrite(_)));
    assert_eq!(rec.written(), 0);

    // A label larger than the room.
    let input = std::fs::read(fixture("video/mp4_faststart.mp4")).unwrap();
    let labelled = common::embed(&Bmff, &input, &sample_label());
    let mut rec = Recorder::new(labelled.clone());
    assert!(matches!(update(&mut rec, &propagated(0, 6000)), Update::Rewrite(_)));
    assert_eq!(rec.written(), 0);

    // A label written by another tool (ffmpeg): no room of ours.
    let tagged = std::fs::read(fixture("video/mp4_faststart.mp4")).unwrap();
    let theirs = Bmff.find(&mut Cursor::new(&tagged), &Limits::default()).unwrap();
    if !theirs.is_empty() {
        let mut rec = Recorder::new(tagged);
        assert!(matches!(update(&mut rec, &sample_label()), Update::Rewrite(_)));
        assert_eq!(rec.written(), 0);
    }
}

#[test]
fn the_first_write_leaves_the_room_limits_ask_for() {
    let input = std::fs::read(fixture("video/mp4_moov_end.mp4")).unwrap();
    let base = common::embed(&Bmff, &input, &sample_label()).len();
    let mut limits = Limits::default();
    limits.label_room = 10_000;
    let mut out = Vec::new();
    Bmff.write(&mut Cursor::new(&input), &mut out, &sample_label(), &limits)
        .unwrap();
    assert_eq!(out.len() as u64, base as u64 + 10_000 - Limits::default().label_room);
}

/// Hostile input: the `bmff` fuzz corpus and the `bmff_in_place` one, through the in-place
/// update's fuzz property.
#[test]
fn fuzz_corpora_update_in_place_or_write_nothing() {
    let fuzz = |data: &[u8]| aigc_label_testutil::in_place::fuzz_in_place(&Bmff, data);
    aigc_label_testutil::replay_corpus("bmff", fuzz);
    aigc_label_testutil::replay_corpus("bmff_in_place", fuzz);
}
