//! MP3 carrier: fixtures made by ffmpeg (libmp3lame) without a tag and with ID3v2.3 and v2.4
//! tags, read back by ffprobe and decoded by ffmpeg before and after.

mod common;

use std::io::Cursor;

use aigc_label_audio::Mp3;
use aigc_label_core::check::id;
use aigc_label_core::{Carrier, Limits};
use aigc_label_testutil::{round_trip, sample_label};
use common::*;

fn syncsafe(b: &[u8]) -> usize {
    b.iter().fold(0, |acc, &x| (acc << 7) | usize::from(x & 0x7f))
}

/// Bytes the leading ID3v2 tag occupies (0 without one).
fn tag_len(data: &[u8]) -> usize {
    if data.starts_with(b"ID3") {
        10 + syncsafe(&data[6..10]) + if data[5] & 0x10 != 0 { 10 } else { 0 }
    } else {
        0
    }
}

#[test]
fn every_fixture_round_trips() {
    for (name, path) in audio_fixtures(&["mp3"]) {
        eprintln!("{name}");
        round_trip(&Mp3, &std::fs::read(path).unwrap());
    }
}

#[test]
fn ffprobe_reads_the_label_and_ffmpeg_decodes_the_same_audio() {
    for (name, path) in audio_fixtures(&["mp3"]) {
        let original = std::fs::read(&path).unwrap();
        let labelled = round_trip(&Mp3, &original);
        let out = temp_file(&labelled, "mp3");
        if let Some(value) = ffprobe_aigc(&out) {
            assert_eq!(value, sample_json(), "{name}: ffprobe reads TXXX AIGC");
        }
        if let (Some(before), Some(after)) = (decoded_md5(&path), decoded_md5(&out)) {
            assert_eq!(before, after, "{name}: decoded audio differs");
        }
        // The audio frames are copied untouched (an appended tag loses its label: see
        // `a_label_in_a_tag_appended_at_the_end_is_found_and_moved`), and the tag keeps its version.
        if !name.contains("appended") {
            assert_eq!(
                &labelled[tag_len(&labelled)..],
                &original[tag_len(&original)..],
                "{name}"
            );
        }
        let version = if original.starts_with(b"ID3") { original[3] } else { 4 };
        assert_eq!(labelled[3], version, "{name}: tag version kept");
    }
}

#[test]
fn other_frames_are_kept_byte_for_byte() {
    for name in ["id3v23.mp3", "id3v24.mp3"] {
        let original = read_fixture(name);
        let labelled = round_trip(&Mp3, &original);
        // ffmpeg writes TIT2 and TPE1 and 10 bytes of padding.
        let frames = &original[10..tag_len(&original) - 10];
        assert_eq!(&labelled[10..10 + frames.len()], frames, "{name}");
    }
}

/// `data` with its tag's padding grown by `extra` bytes.
fn with_padding(data: &[u8], extra: usize) -> Vec<u8> {
    let len = tag_len(data);
    let size = len - 10 + extra;
    let mut out = data[..len].to_vec();
    out[6..10].copy_from_slice(&[
        (size >> 21) as u8 & 0x7f,
        (size >> 14) as u8 & 0x7f,
        (size >> 7) as u8 & 0x7f,
        size as u8 & 0x7f,
    ]);
    out.extend(std::iter::repeat_n(0, extra));
    out.extend_from_slice(&data[len..]);
    out
}

#[test]
fn the_label_goes_into_existing_padding_in_place() {
    for name in ["id3v23.mp3", "id3v24.mp3"] {
        let padded = with_padding(&read_fixture(name), 1024);
        let labelled = round_trip(&Mp3, &padded);
        assert_eq!(labelled.len(), padded.len(), "{name}: the tag keeps its size");
        let len = tag_len(&padded);
        assert_eq!(&labelled[len..], &padded[len..], "{name}: the audio does not move");
    }
}

#[test]
fn a_file_without_a_tag_gets_a_v24_tag_at_the_start() {
    let original = read_fixture("no_tag.mp3");
    assert!(!original.starts_with(b"ID3"));
    let labelled = round_trip(&Mp3, &original);
    assert_eq!(&labelled[..4], b"ID3\x04");
    assert_eq!(&labelled[tag_len(&labelled)..], &original[..]);
}

#[test]
fn wild_variants_lowercase_description_and_wrapped_json() {
    let audio = read_fixture("no_tag.mp3");
    let wrapped = format!("{{\"AIGC\":{}}}", sample_json());
    let mut txxx = b"\0aigc\0".to_vec();
    txxx.extend_from_slice(wrapped.as_bytes());
    let mut file = v23_tag(&[(b"TIT2", b"\0tone".to_vec()), (b"TXXX", txxx)], 0, 0);
    file.extend_from_slice(&audio);
    let found = Mp3.find(&mut Cursor::new(&file), &Limits::default()).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].text, wrapped);
    assert_eq!(found[0].carrier, "ID3v2.3 TXXX AIGC");
    assert!(found[0].checks.iter().any(|c| c.id == id::CARRIER_PLACE));
    let out = write_label(&Mp3, &file, &sample_label());
    assert_eq!(found_texts(&Mp3, &out), [sample_json()]);
    assert_eq!(out[3], 3);
    assert!(out.windows(8).any(|w| w == b"TIT2\0\0\0\x05"));
}

/// A v2.3 tag with tag-level unsynchronisation: frame sizes count the bytes after undoing it.
#[test]
fn unsynchronised_v23_tag_is_read_and_rewritten() {
    // A title holding FF E0 forces a stuffed zero in the stored tag.
    let mut title = b"\0a".to_vec();
    title.extend_from_slice(&[0xff, 0xe0]);
    let mut txxx = b"\0AIGC\0".to_vec();
    txxx.extend_from_slice(sample_json().as_bytes());
    let plain = v23_tag(&[(b"TIT2", title), (b"TXXX", txxx)], 0, 16);
    let mut body = Vec::new();
    for (i, &b) in plain[10..].iter().enumerate() {
        body.push(b);
        if b == 0xff && plain.get(10 + i + 1).is_none_or(|&n| n == 0 || n >= 0xe0) {
            body.push(0);
        }
    }
    let size = body.len();
    let mut file = plain[..10].to_vec();
    file[5] = 0x80;
    file[6..10].copy_from_slice(&[
        (size >> 21) as u8 & 0x7f,
        (size >> 14) as u8 & 0x7f,
        (size >> 7) as u8 & 0x7f,
        size as u8 & 0x7f,
    ]);
    file.extend_from_slice(&body);
    file.extend_from_slice(&read_fixture("no_tag.mp3"));
    assert_eq!(found_texts(&Mp3, &file), [sample_json()]);
    let labelled = round_trip(&Mp3, &file);
    assert_eq!(labelled[5], 0x80, "the tag stays unsynchronised");
    assert!(
        labelled[10..].starts_with(&body[..17]),
        "the title keeps its stored bytes"
    );
    // ffmpeg reads v2.3 frame sizes as stored sizes in unsynchronised tags, unlike the standard,
    // TagLib, mutagen and exiftool, so exiftool is the witness here.
    let out = temp_file(&labelled, "mp3");
    if let Some(value) = exiftool_id3_aigc(&out) {
        assert_eq!(value, sample_json());
    }
}

#[test]
fn v22_tags_stay_v22() {
    let mut body = b"TT2\0\0\x05\0tone".to_vec();
    body.extend_from_slice(&[0; 32]);
    let mut file = vec![b'I', b'D', b'3', 2, 0, 0, 0, 0, 0, body.len() as u8];
    file.extend_from_slice(&body);
    file.extend_from_slice(&read_fixture("no_tag.mp3"));
    let labelled = round_trip(&Mp3, &file);
    assert_eq!(labelled[3], 2);
    assert!(labelled.windows(3).any(|w| w == b"TXX"));
    assert!(labelled[10..].starts_with(b"TT2\0\0\x05\0tone"));
}

#[test]
fn malformed_tags_are_clean_errors() {
    let limits = Limits::default();
    let audio = read_fixture("no_tag.mp3");
    let mut lying = v23_tag(&[(b"TIT2", b"\0tone".to_vec())], 0, 0);
    lying[17] = 0x7f; // frame size past the tag
    let mut past_end = v23_tag(&[], 0, 0);
    past_end[9] = 0x7f; // tag size past the file
    let mut bad_id = v23_tag(&[(b"tit2", b"\0x".to_vec())], 0, 0);
    bad_id.extend_from_slice(&audio);
    for bad in [
        lying,
        past_end,
        bad_id,
        b"ID3\x05\0\0\0\0\0\0".to_vec(),
        b"ID3\x02\0\x40\0\0\0\0".to_vec(),
    ] {
        assert!(Mp3.find(&mut Cursor::new(&bad), &limits).is_err(), "{bad:?}");
        assert!(
            Mp3.write(&mut Cursor::new(&bad), &mut Vec::new(), &sample_label(), &limits)
                .is_err()
        );
    }
}

#[test]
fn hostile_inputs_never_panic() {
    for name in ["id3v23.mp3", "id3v24.mp3", "id3v24_appended.mp3"] {
        hostile_variants(&Mp3, &read_fixture(name));
    }
}

/// Where the ID3v2.4 tag appended to `id3v24_appended.mp3` starts and ends (before the
/// 128-byte ID3v1 trailer ffmpeg wrote).
fn appended_span(data: &[u8]) -> std::ops::Range<usize> {
    let end = data.len() - 128;
    assert_eq!(&data[end..end + 3], b"TAG");
    assert_eq!(&data[end - 10..end - 7], b"3DI");
    end - 20 - syncsafe(&data[end - 4..end])..end
}

#[test]
fn a_label_in_a_tag_appended_at_the_end_is_found_and_moved() {
    let original = read_fixture("id3v24_appended.mp3");
    let span = appended_span(&original);
    let found = Mp3.find(&mut Cursor::new(&original), &Limits::default()).unwrap();
    assert_eq!(found.len(), 1);
    assert!(found[0].carrier.contains("appended"), "{}", found[0].carrier);
    assert!(found[0].text.contains("appended-0001"));
    assert!(span.start as u64 <= found[0].range.start && found[0].range.end <= span.end as u64);

    // The producer's label replaces it; the one copy left is ours, in the leading tag.
    let labelled = round_trip(&Mp3, &original);
    let found = Mp3.find(&mut Cursor::new(&labelled), &Limits::default()).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].text, sample_json());
    assert!(
        found[0].range.end <= tag_len(&labelled) as u64,
        "the label is in the leading tag"
    );

    // Byte for byte: the audio, then the appended tag with only its TCOM frame (sizes in header
    // and footer rewritten), then the ID3v1 trailer.
    let tcom = b"TCOM\0\0\0\x12\0\0\x03appended composer";
    assert!(original[span.clone()].windows(tcom.len()).any(|w| w == tcom));
    let mut expected = original[tag_len(&original)..span.start].to_vec();
    let size = tcom.len() as u8;
    expected.extend_from_slice(&[b'I', b'D', b'3', 4, 0, 0x10, 0, 0, 0, size]);
    expected.extend_from_slice(tcom);
    expected.extend_from_slice(&[b'3', b'D', b'I', 4, 0, 0x10, 0, 0, 0, size]);
    expected.extend_from_slice(&original[span.end..]);
    assert_eq!(&labelled[tag_len(&labelled)..], &expected[..]);

    let out = temp_file(&labelled, "mp3");
    if let Some(value) = ffprobe_aigc(&out) {
        assert_eq!(value, sample_json());
    }
    let before = temp_file(&original, "mp3");
    if let (Some(before), Some(after)) = (decoded_md5(&before), decoded_md5(&out)) {
        assert_eq!(before, after, "decoded audio differs");
    }
}

#[test]
fn an_appended_tag_holding_only_a_label_is_dropped() {
    let original = read_fixture("id3v24_appended.mp3");
    let span = appended_span(&original);
    // The same tag without its TCOM frame.
    let tcom_len = 10 + 0x12;
    let body = span.end - span.start - 20 - tcom_len;
    let mut file = original[..span.start].to_vec();
    file.extend_from_slice(&original[span.start..span.start + 10 + body]);
    file.extend_from_slice(&original[span.end - 10..]);
    for at in [span.start + 9, span.start + 10 + body + 9] {
        file[at] -= tcom_len as u8;
    }
    assert_eq!(found_texts(&Mp3, &file).len(), 1);
    let labelled = write_label(&Mp3, &file, &sample_label());
    assert_eq!(found_texts(&Mp3, &labelled), [sample_json()]);
    let mut expected = original[tag_len(&original)..span.start].to_vec();
    expected.extend_from_slice(&original[span.end..]);
    assert_eq!(
        &labelled[tag_len(&labelled)..],
        &expected[..],
        "the tag is gone, the rest kept"
    );
}

#[test]
fn lying_or_truncated_appended_tags_are_ignored_or_clean_errors() {
    let limits = Limits::default();
    let original = read_fixture("id3v24_appended.mp3");
    let span = appended_span(&original);
    let footer_size = span.end - 4..span.end;
    let header_size = span.start + 6..span.start + 10;
    let mut variants = Vec::new();
    for (range, value) in [
        (footer_size.clone(), [0x7f, 0x7f, 0x7f, 0x7f]),
        (footer_size.clone(), [0, 0, 0x10, 0]),
        (footer_size.clone(), [0, 0, 0, 1]),
        (footer_size.clone(), [0x80, 0, 0, 0]),
        (header_size.clone(), [0, 0, 0, 1]),
    ] {
        let mut bad = original.clone();
        bad[range].copy_from_slice(&value);
        variants.push(bad);
    }
    for bad in &variants {
        // Header and footer disagree: not a tag, so nothing is found there and it is copied.
        assert!(found_texts(&Mp3, bad).is_empty());
        let labelled = write_label(&Mp3, bad, &sample_label());
        assert_eq!(&labelled[tag_len(&labelled)..], &bad[tag_len(bad)..]);
    }
    // Header and footer agree, but a frame inside runs past the tag: a clean error.
    let mut lying_frame = original.clone();
    lying_frame[span.start + 10 + 4..span.start + 10 + 8].copy_from_slice(&[0x7f; 4]);
    assert!(Mp3.find(&mut Cursor::new(&lying_frame), &limits).is_err());
    assert!(
        Mp3.write(
            &mut Cursor::new(&lying_frame),
            &mut Vec::new(),
            &sample_label(),
            &limits
        )
        .is_err()
    );
    // A tag larger than the metadata limit is refused, not read.
    let mut small = Limits::default();
    small.max_metadata_bytes = 64;
    let no_leading = &original[tag_len(&original)..];
    assert!(Mp3.find(&mut Cursor::new(no_leading), &small).is_err());
    // Truncations and corrupted bytes anywhere near the end: no panic, and what writes reads back
    // with one label.
    let label = sample_label();
    for cut in span.start - 20..original.len() {
        let part = &original[..cut];
        let _ = Mp3.find(&mut Cursor::new(part), &limits);
        let _ = Mp3.binding_exclusions(&mut Cursor::new(part), &limits);
        let _ = Mp3.write(&mut Cursor::new(part), &mut Vec::new(), &label, &limits);
    }
    for at in span.start - 4..original.len() {
        for value in [0, 0x7f, 0xff, b'3'] {
            let mut bad = original.clone();
            bad[at] = value;
            let _ = Mp3.binding_exclusions(&mut Cursor::new(&bad), &limits);
            if Mp3.find(&mut Cursor::new(&bad), &limits).is_err() {
                continue;
            }
            let mut out = Vec::new();
            if Mp3.write(&mut Cursor::new(&bad), &mut out, &label, &limits).is_ok() {
                assert_eq!(found_texts(&Mp3, &out), [sample_json()], "byte {at} = {value}");
            }
        }
    }
}
