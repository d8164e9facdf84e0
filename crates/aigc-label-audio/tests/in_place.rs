//! Label updates in place (issue 16). FLAC: after our first write the padding sits next to the
//! comment block, and later labels are written into it with one 4-byte switch. MP3: the ID3v2
//! padding our first write leaves takes the new frame, and two 10-byte header switches (through
//! a PRIV frame) replace the old one. Every state a crash can leave reads as the old label or
//! the new one, the audio and every covered byte stay, ffmpeg decodes the same samples and
//! ffprobe reads the new label.

mod common;

use std::io::Cursor;

use aigc_label_audio::flac::update_in_place;
use aigc_label_audio::in_place::Update;
use aigc_label_audio::{Flac, Mp3};
use aigc_label_core::{Carrier, Label, Limits};
use aigc_label_testutil::in_place::{Recorder, replay_torn};
use aigc_label_testutil::{covered_by, sample_label};
use common::*;

fn labels(data: &[u8]) -> Vec<Label> {
    Flac.find(&mut Cursor::new(data), &Limits::default())
        .unwrap()
        .iter()
        .map(|f| aigc_label_core::json::parse(&f.text, 32).unwrap().to_label().unwrap())
        .collect()
}

/// A platform's label: longer than the first, as propagation makes it.
fn propagated(n: usize) -> Label {
    grown(n, 200)
}

/// A propagated label with a `PropagateID` of about `len` bytes.
fn grown(n: usize, len: usize) -> Label {
    sample_label().propagated(
        "001191110108551385082Q20000",
        format!("upload-{n:04}-{}", "x".repeat(len)),
    )
}

fn first_write(name: &str) -> Vec<u8> {
    write_label(&Flac, &read_fixture(name), &sample_label())
}

#[test]
fn updates_after_our_first_write_go_in_place_until_the_room_is_used() {
    for name in ["ffmpeg.flac", "sox.flac"] {
        let mut file = first_write(name);
        let frames = file.len();
        let before = covered_by(&Flac, &file);
        let mut in_place = 0;
        for n in 0..60 {
            // Labels that grow by 150 bytes each time, until the room is used up.
            let label = grown(n, 200 + 150 * n);
            let mut rec = Recorder::new(file.clone());
            match update_in_place(&mut rec, &label, &Limits::default()).unwrap() {
                Update::InPlace(w) => {
                    in_place += 1;
                    let json = aigc_label_core::json::to_json(&label, aigc_label_core::json::Shape::Bare);
                    eprintln!(
                        "{name}: update {n}: {} bytes written for a {}-byte label",
                        rec.written(),
                        json.len()
                    );
                    assert_eq!(w.bytes_written, rec.written());
                    // The new block, a padding header, the switch, and the old block zeroed.
                    assert!(
                        rec.written() <= 2 * (json.len() as u64 + 64) + 16,
                        "{name}: {} bytes",
                        rec.written()
                    );
                    assert_eq!(rec.syncs.len(), 3, "prepare, switch, scrub: each synced");
                    file = rec.file.into_inner();
                    assert_eq!(file.len(), frames, "{name}: nothing moves");
                    assert_eq!(labels(&file), std::slice::from_ref(&label));
                    assert!(covered_by(&Flac, &file) == before, "{name}: covered bytes changed");
                    let text = &file[w.label_range.start as usize..w.label_range.end as usize];
                    assert!(text.ends_with(json.as_bytes()), "{name}: label_range");
                }
                Update::Rewrite(why) => {
                    assert_eq!(rec.written(), 0, "nothing written when refusing");
                    assert!(why.contains("too small"), "{name}: {why}");
                    break;
                }
            }
        }
        // 4 KiB of room holds several growing platform labels; then a rewrite is asked for.
        assert!((4..60).contains(&in_place), "{name}: {in_place} updates in place");
        // ffmpeg decodes the same samples and ffprobe reads the last label.
        let out = temp_file(&file, "flac");
        if let (Some(a), Some(b)) = (decoded_md5(&fixture_path(name)), decoded_md5(&out)) {
            assert_eq!(a, b, "{name}: decoded samples");
        }
        if let Some(warnings) = decode_warnings(&out) {
            assert!(warnings.is_empty(), "{name}: {warnings}");
        }
        if let Some(value) = ffprobe_aigc(&out) {
            let last = labels(&file).pop().unwrap();
            assert_eq!(
                value,
                aigc_label_core::json::to_json(&last, aigc_label_core::json::Shape::Bare)
            );
        }
    }
}

/// Labels of one size alternate between the two places the room gives them (the padding
/// before the old block, freed by the previous update, and the padding after it): the room
/// never runs out.
#[test]
fn labels_of_one_size_update_in_place_forever() {
    let mut file = first_write("ffmpeg.flac");
    let len = file.len();
    for n in 0..20 {
        let mut c = Cursor::new(file);
        let r = update_in_place(&mut c, &propagated(n), &Limits::default()).unwrap();
        assert!(matches!(r, Update::InPlace(_)), "update {n}: {r:?}");
        file = c.into_inner();
        assert_eq!(file.len(), len);
        assert_eq!(labels(&file), [propagated(n)]);
    }
}

/// Every prefix of the writes (a crash after any of them, the prepare writes also cut at every
/// 97th byte) leaves a file holding exactly one label, the old or the new.
#[test]
fn every_state_a_crash_leaves_reads_as_the_old_or_the_new_label() {
    let old = sample_label();
    let start = first_write("ffmpeg.flac");
    for n in 0..3 {
        // From the first label, and from a file whose padding has been used before.
        let mut base = start.clone();
        for k in 0..n {
            let mut c = Cursor::new(base);
            assert!(matches!(
                update_in_place(&mut c, &propagated(100 + k), &Limits::default()).unwrap(),
                Update::InPlace(_)
            ));
            base = c.into_inner();
        }
        let was = labels(&base);
        let new = propagated(n);
        let mut rec = Recorder::new(base.clone());
        assert!(matches!(
            update_in_place(&mut rec, &new, &Limits::default()).unwrap(),
            Update::InPlace(_)
        ));
        let switch = rec.syncs[0];
        let mut seen_new = false;
        // The switch is a few bytes in one sector: whole or not at all.
        let step = |i: usize, bytes: &[u8]| if i < switch { 97 } else { bytes.len() };
        let state = replay_torn(&base, &rec.writes, step, |state, i, cut| {
            let found = labels(state);
            if cut < rec.writes[i].1.len() {
                assert!(
                    found == was || found == [new.clone()],
                    "write {i} cut at {cut}: {found:?}"
                );
            } else if i < switch {
                assert_eq!(found, was, "before the switch: the old label");
            } else {
                assert_eq!(found, std::slice::from_ref(&new), "after write {i}: the new label");
                seen_new = true;
            }
        });
        assert!(seen_new);
        assert_eq!(state, rec.file.into_inner());
        let _ = &old;
    }
}

#[test]
fn no_room_means_no_write() {
    // sox.flac as it comes has no padding: nothing in place.
    let mut c = Cursor::new(read_fixture("sox.flac"));
    let r = update_in_place(&mut c, &sample_label(), &Limits::default()).unwrap();
    assert!(matches!(r, Update::Rewrite(_)), "{r:?}");
    assert_eq!(c.into_inner(), read_fixture("sox.flac"));
    // A label bigger than the room.
    let mut c = Cursor::new(first_write("ffmpeg.flac"));
    let mut big = sample_label();
    big.reserved_code1 = "z".repeat(20_000);
    let r = update_in_place(&mut c, &big, &Limits::default()).unwrap();
    assert!(matches!(r, Update::Rewrite(_)), "{r:?}");
}

#[test]
fn our_first_write_leaves_the_room_after_the_label() {
    for name in ["ffmpeg.flac", "sox.flac"] {
        let file = first_write(name);
        let mut pos = 4;
        let mut kinds = Vec::new();
        loop {
            let h = &file[pos..pos + 4];
            let len = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
            kinds.push((h[0] & 0x7f, len));
            pos += 4 + len;
            if h[0] & 0x80 != 0 {
                break;
            }
        }
        let vc = kinds.iter().position(|k| k.0 == 4).unwrap();
        assert_eq!(
            kinds[vc + 1].0,
            1,
            "{name}: padding right after the comment block: {kinds:?}"
        );
        assert!(kinds[vc + 1].1 >= 1024, "{name}: {kinds:?}");
    }
}

fn mp3_labels(data: &[u8]) -> Vec<Label> {
    Mp3.find(&mut Cursor::new(data), &Limits::default())
        .unwrap()
        .iter()
        .map(|f| aigc_label_core::json::parse(&f.text, 32).unwrap().to_label().unwrap())
        .collect()
}

#[test]
fn mp3_updates_go_in_place_and_every_crash_state_reads_old_or_new() {
    for name in ["id3v24.mp3", "id3v23.mp3", "no_tag.mp3"] {
        let mut file = write_label(&Mp3, &read_fixture(name), &sample_label());
        let len = file.len();
        let before = covered_by(&Mp3, &file);
        for n in 0..6 {
            let was = mp3_labels(&file);
            let new = grown(n, 150 + 60 * n);
            let mut rec = Recorder::new(file.clone());
            let r = aigc_label_audio::mp3::update_in_place(&mut rec, &new, &Limits::default()).unwrap();
            let Update::InPlace(w) = r else {
                panic!("{name}: update {n}: {r:?}");
            };
            let json = aigc_label_core::json::to_json(&new, aigc_label_core::json::Shape::Bare);
            eprintln!(
                "{name}: update {n}: {} bytes written for a {}-byte label",
                rec.written(),
                json.len()
            );
            assert_eq!(w.bytes_written, rec.written());
            assert!(
                rec.written() <= 4 * (json.len() as u64 + 64),
                "{name}: {}",
                rec.written()
            );
            assert_eq!(rec.syncs.len(), 5, "five steps, each synced");
            // Replay every prefix of the writes; the header switches whole, the rest also cut.
            let step = |_: usize, bytes: &[u8]| if bytes.len() == 10 { 10 } else { 61 };
            let state = replay_torn(&file, &rec.writes, step, |state, i, cut| {
                let found = mp3_labels(state);
                assert!(
                    found == was || found == std::slice::from_ref(&new),
                    "{name}: write {i} cut at {cut}: {found:?}"
                );
            });
            file = rec.file.into_inner();
            assert_eq!(state, file);
            assert_eq!(file.len(), len, "{name}: nothing moves");
            assert_eq!(mp3_labels(&file), std::slice::from_ref(&new));
            assert!(covered_by(&Mp3, &file) == before, "{name}: covered bytes changed");
            // No PRIV frame is left once the update is done.
            assert!(!file.windows(4).any(|w| w == b"PRIV"), "{name}");
        }
        let out = temp_file(&file, "mp3");
        if let (Some(a), Some(b)) = (decoded_md5(&fixture_path(name)), decoded_md5(&out)) {
            assert_eq!(a, b, "{name}: decoded samples");
        }
        if let Some(value) = ffprobe_aigc(&out) {
            let last = mp3_labels(&file).pop().unwrap();
            assert_eq!(
                value,
                aigc_label_core::json::to_json(&last, aigc_label_core::json::Shape::Bare)
            );
        }
    }
    // No room: nothing written.
    let mut c = Cursor::new(write_label(&Mp3, &read_fixture("id3v24.mp3"), &sample_label()));
    let copy = c.get_ref().clone();
    let r = aigc_label_audio::mp3::update_in_place(&mut c, &grown(0, 9000), &Limits::default()).unwrap();
    assert!(matches!(r, Update::Rewrite(_)), "{r:?}");
    assert_eq!(c.into_inner(), copy);
}
