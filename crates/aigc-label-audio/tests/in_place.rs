//! Label updates in place (issue 16). FLAC: after our first write the padding sits next to the
//! comment block, and later labels are written into it with one 4-byte switch. MP3: the ID3v2
//! padding our first write leaves takes the new frame, and two 10-byte header switches (through
//! a PRIV frame) replace the old one. Every state a crash can leave reads as the old label or
//! the new one, the audio and every covered byte stay, ffmpeg decodes the same samples and
//! ffprobe reads the new label.

mod common;

use std::io::Cursor;

use aigc_label_audio::in_place::Update;
use aigc_label_audio::{Aiff, Flac, Mp3, Wav};
use aigc_label_core::in_place::InPlace;
use aigc_label_core::{Carrier, Label, Limits};
use aigc_label_testutil::in_place::{Recorder, replay_torn};
use aigc_label_testutil::{covered_by, sample_label};
use common::*;

/// The labels `carrier` finds in `data`.
fn labels_in(carrier: &dyn Carrier, data: &[u8]) -> Vec<Label> {
    carrier
        .find(&mut Cursor::new(data), &Limits::default())
        .unwrap()
        .iter()
        .map(|f| aigc_label_core::json::parse(&f.text, 32).unwrap().to_label().unwrap())
        .collect()
}

fn labels(data: &[u8]) -> Vec<Label> {
    labels_in(&Flac, data)
}

fn mp3_labels(data: &[u8]) -> Vec<Label> {
    labels_in(&Mp3, data)
}

fn wav_labels(data: &[u8]) -> Vec<Label> {
    labels_in(&Wav, data)
}

fn aiff_labels(data: &[u8]) -> Vec<Label> {
    labels_in(&Aiff, data)
}

/// ffmpeg decodes the same samples from `file` (written as `ext`) as from the fixture `name`,
/// and ffprobe reads the label `carrier` finds last.
fn witnesses_agree(carrier: &dyn Carrier, name: &str, file: &[u8], ext: &str) {
    let out = temp_file(file, ext);
    if let (Some(a), Some(b)) = (decoded_md5(&fixture_path(name)), decoded_md5(&out)) {
        assert_eq!(a, b, "{name}: decoded samples");
    }
    if let Some(value) = ffprobe_aigc(&out) {
        let last = labels_in(carrier, file).pop().unwrap();
        assert_eq!(
            value,
            aigc_label_core::json::to_json(&last, aigc_label_core::json::Shape::Bare)
        );
    }
}

/// A label too large for the room our first write left in the fixture `name`: the update
/// refuses and writes nothing.
fn no_room_writes_nothing(carrier: &dyn Carrier, name: &str) {
    let mut c = Cursor::new(write_label(carrier, &read_fixture(name), &sample_label()));
    let copy = c.get_ref().clone();
    let r = carrier
        .in_place()
        .unwrap()
        .update(&mut c, &grown(0, 9000), &Limits::default())
        .unwrap();
    assert!(matches!(r, Update::Rewrite(_)), "{r:?}");
    assert_eq!(c.into_inner(), copy);
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
            match Flac.update(&mut rec, &label, &Limits::default()).unwrap() {
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
                    assert_eq!(rec.syncs.len(), 2, "prepare and switch synced; the scrub is not");
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
        let r = Flac.update(&mut c, &propagated(n), &Limits::default()).unwrap();
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
                Flac.update(&mut c, &propagated(100 + k), &Limits::default()).unwrap(),
                Update::InPlace(_)
            ));
            base = c.into_inner();
        }
        let was = labels(&base);
        let new = propagated(n);
        let mut rec = Recorder::new(base.clone());
        assert!(matches!(
            Flac.update(&mut rec, &new, &Limits::default()).unwrap(),
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
    let r = Flac.update(&mut c, &sample_label(), &Limits::default()).unwrap();
    assert!(matches!(r, Update::Rewrite(_)), "{r:?}");
    assert_eq!(c.into_inner(), read_fixture("sox.flac"));
    // A label bigger than the room.
    let mut c = Cursor::new(first_write("ffmpeg.flac"));
    let mut big = sample_label();
    big.reserved_code1 = "z".repeat(20_000);
    let r = Flac.update(&mut c, &big, &Limits::default()).unwrap();
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
            let r = Mp3.update(&mut rec, &new, &Limits::default()).unwrap();
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
            assert_eq!(rec.syncs.len(), 4, "five steps, each but the scrub synced");
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
        witnesses_agree(&Mp3, name, &file, "mp3");
    }
    no_room_writes_nothing(&Mp3, "id3v24.mp3");
}

/// Replays `rec`'s writes over `base`: after every prefix, and with every write but the 4- or
/// 8-byte switch also cut every `step` bytes, the file reads as `was` or as `new`. Returns the
/// final state.
fn replay(base: &[u8], rec: &Recorder, was: &[Label], new: &Label, read: fn(&[u8]) -> Vec<Label>) -> Vec<u8> {
    let step = |_: usize, bytes: &[u8]| if matches!(bytes.len(), 4 | 8) { bytes.len() } else { 29 };
    let state = replay_torn(base, &rec.writes, step, |state, i, cut| {
        let found = read(state);
        assert!(
            found == was || found == std::slice::from_ref(new),
            "write {i} cut at {cut}: {found:?}"
        );
    });
    assert_eq!(read(&state), std::slice::from_ref(new));
    state
}

/// WAV: the `JUNK` room our first write leaves after the `AIGC` chunk takes later labels, each
/// with one header switch; every state a crash can leave reads as the old label or the new
/// one, the RIFF (and RF64 `ds64`) sizes and every covered byte stay, and ffmpeg decodes the
/// same samples.
#[test]
fn wav_updates_go_in_place_and_every_crash_state_reads_old_or_new() {
    for name in [
        "pcm16_mono.wav",
        "list_info.wav",
        "rf64.wav",
        "odd_u8.wav",
        "id3_mutagen.wav",
    ] {
        let mut file = write_label(&Wav, &read_fixture(name), &sample_label());
        let len = file.len();
        let before = covered_by(&Wav, &file);
        let mut in_place = 0;
        for n in 0..40 {
            let was = wav_labels(&file);
            // Growing labels, and runs of one size, so both the room before and after the old
            // chunk are used.
            let new = grown(n, 150 + 40 * (n % 5));
            let mut rec = Recorder::new(file.clone());
            match Wav.update(&mut rec, &new, &Limits::default()).unwrap() {
                Update::InPlace(w) => {
                    in_place += 1;
                    let json = aigc_label_core::json::to_json(&new, aigc_label_core::json::Shape::Bare);
                    assert_eq!(w.bytes_written, rec.written());
                    let old = aigc_label_core::json::to_json(&was[0], aigc_label_core::json::Shape::Bare);
                    // The new chunk, a filler header, the switch, the old body zeroed.
                    assert!(
                        rec.written() <= (json.len() + old.len()) as u64 + 32,
                        "{name}: {} bytes for a {}-byte label",
                        rec.written(),
                        json.len()
                    );
                    assert_eq!(rec.syncs.len(), 2, "prepare and switch synced; the scrub is not");
                    let state = replay(&file, &rec, &was, &new, wav_labels);
                    file = rec.file.into_inner();
                    assert_eq!(state, file);
                    assert_eq!(file.len(), len, "{name}: nothing moves");
                    assert!(covered_by(&Wav, &file) == before, "{name}: covered bytes changed");
                    let chunk = &file[w.label_range.start as usize..w.label_range.end as usize];
                    assert!(chunk.starts_with(b"AIGC"), "{name}: label_range");
                    assert_eq!(&chunk[8..8 + json.len()], json.as_bytes());
                }
                Update::Rewrite(why) => {
                    assert_eq!(rec.written(), 0, "nothing written when refusing");
                    assert!(why.contains("too small"), "{name}: {why}");
                    break;
                }
            }
        }
        assert!(in_place >= 6, "{name}: {in_place} updates in place");
        // A rewrite after the room is used gives fresh room and keeps the covered bytes.
        let again = write_label(&Wav, &file, &grown(99, 150));
        assert!(
            covered_by(&Wav, &again) == before,
            "{name}: covered bytes after a rewrite"
        );
        assert!(
            again == write_label(&Wav, &read_fixture(name), &grown(99, 150)),
            "{name}: the rewrite drops the used room, as a first write makes it"
        );
        let out = temp_file(&file, "wav");
        if let (Some(a), Some(b)) = (decoded_md5(&fixture_path(name)), decoded_md5(&out)) {
            assert_eq!(a, b, "{name}: decoded samples");
        }
        if let Some(warnings) = decode_warnings(&out) {
            // ffmpeg notes the channel layout it guesses for WAV files without one.
            let real = warnings.lines().filter(|l| !l.contains("Guessed Channel Layout"));
            assert_eq!(real.count(), 0, "{name}: {warnings}");
        }
        if let Some(value) = exiftool_riff_aigc(&out) {
            let last = wav_labels(&file).pop().unwrap();
            assert_eq!(
                value,
                aigc_label_core::json::to_json(&last, aigc_label_core::json::Shape::Bare)
            );
        }
    }
}

#[test]
fn wav_without_our_room_or_with_a_label_elsewhere_is_rewritten() {
    let refuse = |file: Vec<u8>, label: &Label| {
        let mut c = Cursor::new(file.clone());
        let r = Wav.update(&mut c, label, &Limits::default()).unwrap();
        assert!(matches!(r, Update::Rewrite(_)), "{r:?}");
        assert_eq!(c.into_inner(), file, "nothing written");
    };
    // No label, and a label written without room.
    refuse(read_fixture("pcm16_mono.wav"), &sample_label());
    let mut limits = Limits::default();
    limits.label_room = 0;
    let mut bare = Vec::new();
    Wav.write(
        &mut Cursor::new(read_fixture("pcm16_mono.wav")),
        &mut bare,
        &sample_label(),
        &limits,
    )
    .unwrap();
    refuse(bare, &sample_label());
    // A label bigger than the room.
    refuse(
        write_label(&Wav, &read_fixture("pcm16_mono.wav"), &sample_label()),
        &grown(0, 9000),
    );
    // A second label in a LIST/INFO child.
    let mut file = write_label(&Wav, &read_fixture("pcm16_mono.wav"), &sample_label());
    let mut info = b"INFOAIGC".to_vec();
    info.extend_from_slice(&2u32.to_le_bytes());
    info.extend_from_slice(b"{}");
    let mut list = b"LIST".to_vec();
    list.extend_from_slice(&(info.len() as u32).to_le_bytes());
    list.extend_from_slice(&info);
    file.extend_from_slice(&list);
    let size = (file.len() - 8) as u32;
    file[4..8].copy_from_slice(&size.to_le_bytes());
    refuse(file, &sample_label());
}

/// A producer's signature and its content binding survive an in-place update of a WAV file
/// exactly as they survive a rewrite: the covered bytes do not change.
#[test]
fn wav_in_place_keeps_what_a_binding_covers_across_both_switch_directions() {
    let mut file = write_label(&Wav, &read_fixture("pcm16_mono.wav"), &sample_label());
    let covered = covered_by(&Wav, &file);
    let (mut front, mut back) = (0, 0);
    for n in 0..8 {
        let run_before = Wav.find(&mut Cursor::new(&file), &Limits::default()).unwrap()[0]
            .range
            .start;
        let mut c = Cursor::new(file);
        let r = Wav.update(&mut c, &grown(n, 120), &Limits::default()).unwrap();
        let Update::InPlace(w) = r else {
            panic!("update {n}: {r:?}")
        };
        file = c.into_inner();
        if w.label_range.start < run_before {
            front += 1;
        } else {
            back += 1;
        }
        assert!(covered_by(&Wav, &file) == covered, "update {n}");
        assert_eq!(wav_labels(&file), [grown(n, 120)]);
    }
    assert!(
        front > 0 && back > 0,
        "both directions used: {front} front, {back} back"
    );
}

/// AIFF and AIFC: the padding our write leaves in the ID3 chunk's tag takes later labels, with
/// the MP3 steps (two 10-byte header switches through a `PRIV` frame); every state a crash can
/// leave reads as the old label or the new one, the chunk, the `FORM` size and every covered
/// byte stay, and ffmpeg decodes the same samples.
#[test]
fn aiff_updates_go_in_place_and_every_crash_state_reads_old_or_new() {
    for name in ["sox.aiff", "sox.aifc", "ffmpeg_id3.aiff"] {
        // A long first label: ffmpeg's tag, whose own padding holds a short one, has to grow
        // (and then gets the room); a tag that keeps its size keeps only the padding it had.
        let mut file = write_label(&Aiff, &read_fixture(name), &grown(99, 3000));
        let len = file.len();
        let before = covered_by(&Aiff, &file);
        for n in 0..6 {
            let was = aiff_labels(&file);
            let new = grown(n, 150 + 60 * n);
            let mut rec = Recorder::new(file.clone());
            let r = Aiff.update(&mut rec, &new, &Limits::default()).unwrap();
            let Update::InPlace(w) = r else {
                panic!("{name}: update {n}: {r:?}");
            };
            let json = aigc_label_core::json::to_json(&new, aigc_label_core::json::Shape::Bare);
            assert_eq!(w.bytes_written, rec.written());
            // The new frame twice (in the padding, then in place), the old frame's bytes zeroed
            // behind it, two headers.
            let old = aigc_label_core::json::to_json(&was[0], aigc_label_core::json::Shape::Bare);
            assert!(
                rec.written() <= 2 * (json.len() + old.len()) as u64 + 128,
                "{name}: {}",
                rec.written()
            );
            assert_eq!(rec.syncs.len(), 4, "five steps, each but the scrub synced");
            let state = replay(&file, &rec, &was, &new, aiff_labels);
            file = rec.file.into_inner();
            assert_eq!(state, file);
            assert_eq!(file.len(), len, "{name}: nothing moves");
            assert!(covered_by(&Aiff, &file) == before, "{name}: covered bytes changed");
            assert!(!file.windows(4).any(|w| w == b"PRIV"), "{name}");
        }
        witnesses_agree(&Aiff, name, &file, "aiff");
    }
    no_room_writes_nothing(&Aiff, "sox.aiff");
}

/// Hostile input: the `audio_in_place` fuzz corpus through every audio update in place (a
/// refusal writes nothing; a success leaves exactly the new label).
#[test]
fn in_place_fuzz_corpus_replays() {
    let n = aigc_label_testutil::replay_corpus("audio_in_place", |data| {
        for carrier in [&Wav as &dyn Carrier, &Aiff, &Flac, &Mp3] {
            aigc_label_testutil::in_place::fuzz_in_place(carrier, data);
        }
    });
    assert!(n >= 5, "{n} inputs");
}
