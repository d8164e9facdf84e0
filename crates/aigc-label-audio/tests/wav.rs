//! WAV carrier: fixtures made by sox and ffmpeg, read back by exiftool (ffprobe does not show
//! unknown RIFF chunks) and decoded by ffmpeg before and after.

mod common;

use std::io::Cursor;

use aigc_label_audio::Wav;
use aigc_label_core::check::{Level, id};
use aigc_label_core::inspect::{Options, Verdict, inspect_with};
use aigc_label_core::{Carrier, Limits};
use aigc_label_testutil::{round_trip, sample_label};
use common::*;

#[test]
fn every_fixture_round_trips() {
    for (name, path) in audio_fixtures(&["wav"]) {
        eprintln!("{name}");
        round_trip(&Wav, &std::fs::read(path).unwrap());
    }
}

/// A labelled file's header size was guessed for a file that only gains the label: relabelling
/// (the old label and its room dropped) refutes the guess, and the streamed write, cut back to
/// the header and written again, gives the bytes the plain write gives.
#[test]
fn relabelling_streams_the_same_bytes_as_the_plain_write() {
    for (name, path) in audio_fixtures(&["wav"]) {
        eprintln!("{name}");
        let labelled = round_trip(&Wav, &std::fs::read(path).unwrap());
        let longer = sample_label().propagated("001191110108551385082Q20000", "relabel-0001");
        aigc_label_testutil::plan_agrees(&Wav, &labelled, &longer, &Limits::default());
    }
}

#[test]
fn exiftool_reads_the_label_and_ffmpeg_decodes_the_same_samples() {
    for (name, path) in audio_fixtures(&["wav"]) {
        let labelled = round_trip(&Wav, &std::fs::read(&path).unwrap());
        let out = temp_file(&labelled, "wav");
        if let Some(value) = exiftool_riff_aigc(&out) {
            if !name.starts_with("rf64") {
                assert_eq!(value, sample_json(), "{name}: exiftool reads the AIGC chunk");
            }
        }
        if let (Some(before), Some(after)) = (decoded_md5(&path), decoded_md5(&out)) {
            assert_eq!(before, after, "{name}: decoded samples differ");
        }
    }
}

#[test]
fn every_chunk_is_kept_byte_for_byte_and_the_label_follows_data() {
    for (name, path) in audio_fixtures(&["wav"]) {
        let original = std::fs::read(&path).unwrap();
        let labelled = round_trip(&Wav, &original);
        let (_, before) = riff_chunks(&original);
        let (size, after) = riff_chunks(&labelled);
        if &original[..4] == b"RIFF" {
            assert_eq!(size as usize, labelled.len() - 8, "{name}: RIFF size");
        } else {
            let ds64_riff = u64::from_le_bytes(labelled[20..28].try_into().unwrap());
            assert_eq!(ds64_riff as usize, labelled.len() - 8, "{name}: ds64 RIFF size");
            assert_eq!(
                &labelled[28..original.len()],
                &original[28..],
                "{name}: all but the size"
            );
        }
        // The label chunk comes last but for the room our write leaves after it.
        let (room, after) = after.split_last().unwrap();
        assert_eq!(&room.0, b"JUNK", "{name}: the room comes last");
        assert_eq!(room.1.len() as u64, 8 + Limits::default().label_room, "{name}");
        let (last, mut rest) = after.split_last().unwrap();
        assert_eq!(&last.0, b"AIGC", "{name}: then the label chunk");
        // An empty `JUNK` before it when its header would straddle a 512-byte sector.
        if let Some((align, before)) = rest.split_last().filter(|(c, _)| &c.0 == b"JUNK") {
            assert_eq!(align.1.len(), 8, "{name}: an empty JUNK");
            assert_eq!(riff_chunks(&labelled).1.len(), before.len() + 3);
            rest = before;
        }
        assert_eq!(last.1.len() % 2, 0, "{name}: even-sized with its pad byte");
        // The label moves out of an ID3 chunk (see `a_label_in_an_id3_chunk_moves_to_the_aigc_chunk`).
        if original.starts_with(b"RIFF") && !name.starts_with("id3") {
            assert_eq!(rest, &before[..], "{name}: the other chunks are unchanged");
        }
        assert!(rest.iter().any(|(id, _)| id == b"data"));
    }
}

fn fmt_chunk() -> Vec<u8> {
    let f = read_fixture("pcm16_mono.wav");
    f[20..36].to_vec()
}

#[test]
fn wild_variants_are_found_and_all_replaced_by_one_chunk() {
    let wrapped = format!("{{\"AIGC\":{}}}", sample_json());
    let mut info = b"INFO".to_vec();
    for (id, value) in [
        (b"INAM", b"tone\0".to_vec()),
        (b"AIGC", format!("{wrapped}\0").into_bytes()),
    ] {
        info.extend_from_slice(id);
        info.extend_from_slice(&(value.len() as u32).to_le_bytes());
        info.extend_from_slice(&value);
        if value.len() % 2 == 1 {
            info.push(0);
        }
    }
    let early = sample_json();
    let file = riff_file(&[
        (b"fmt ", &fmt_chunk()),
        (b"LIST", &info),
        (b"aigc", early.as_bytes()),
        (b"data", &[0, 0, 1, 0]),
    ]);
    let found = Wav.find(&mut Cursor::new(&file), &Limits::default()).unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].carrier, "RIFF LIST/INFO AIGC");
    assert_eq!(found[0].text, wrapped);
    let warned = |i: usize| found[i].checks.iter().filter(|c| c.id == id::CARRIER_PLACE).count();
    assert_eq!(warned(0), 1, "LIST/INFO child");
    assert_eq!(warned(1), 2, "before data, and spelled in lowercase");
    assert!(found[1].checks.iter().all(|c| c.level == Level::Warn));

    let report = inspect_with(&Wav, &mut Cursor::new(&file), &Options::default()).unwrap();
    assert_eq!(report.verdict, Verdict::NonCompliant, "two copies");

    let out = write_label(&Wav, &file, &sample_label());
    assert_eq!(found_texts(&Wav, &out), [sample_json()]);
    let (_, after) = riff_chunks(&out);
    let ids: Vec<&[u8; 4]> = after.iter().map(|(id, _)| id).collect();
    assert_eq!(ids, [b"fmt ", b"LIST", b"data", b"AIGC", b"JUNK"]);
    assert!(
        after[1].1.windows(4).any(|w| w == b"INAM"),
        "the other INFO child stays"
    );
    assert!(!after[1].1.windows(4).any(|w| w == b"AIGC"));
}

#[test]
fn a_list_holding_only_the_label_goes_away() {
    let mut info = b"INFOAIGC".to_vec();
    info.extend_from_slice(&2u32.to_le_bytes());
    info.extend_from_slice(b"{}");
    let file = riff_file(&[(b"fmt ", &fmt_chunk()), (b"LIST", &info), (b"data", &[0, 0])]);
    let out = write_label(&Wav, &file, &sample_label());
    let ids: Vec<[u8; 4]> = riff_chunks(&out).1.into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, [*b"fmt ", *b"data", *b"AIGC", *b"JUNK"]);
}

#[test]
fn missing_final_pad_byte_and_trailing_bytes() {
    // An odd data chunk that ends the file without its pad byte, then an ID3 tag appended after
    // the RIFF body (outside its declared size).
    let mut file = riff_file(&[(b"fmt ", &fmt_chunk()), (b"data", &[1, 2, 3])]);
    file.pop();
    let size = (file.len() - 8) as u32;
    file[4..8].copy_from_slice(&size.to_le_bytes());
    file.extend_from_slice(b"ID3 trailing");
    let out = write_label(&Wav, &file, &sample_label());
    assert!(out.ends_with(b"ID3 trailing"));
    let riff_end = 8 + u32::from_le_bytes(out[4..8].try_into().unwrap()) as usize;
    assert_eq!(riff_end, out.len() - 12);
    let data_at = out.windows(4).position(|w| w == b"data").unwrap();
    assert_eq!(&out[data_at + 8..data_at + 12], &[1, 2, 3, 0], "pad byte added");
    assert_eq!(&out[data_at + 12..data_at + 16], b"AIGC");
    assert_eq!(found_texts(&Wav, &out), [sample_json()]);
}

#[test]
fn malformed_headers_are_clean_errors() {
    let limits = Limits::default();
    for bad in [
        &b""[..],
        b"RIFF",
        b"RIFF\x04\0\0\0AVI ",
        b"RF64\xff\xff\xff\xffWAVEfmt ",
        b"RIFF\x10\0\0\0WAVEdata\xff\xff\0\0ab",
    ] {
        assert!(Wav.find(&mut Cursor::new(bad), &limits).is_err(), "{bad:?}");
        assert!(
            Wav.write(&mut Cursor::new(bad), &mut Vec::new(), &sample_label(), &limits)
                .is_err()
        );
    }
}

#[test]
fn hostile_inputs_never_panic() {
    for name in ["pcm16_mono.wav", "list_info.wav", "rf64.wav", "odd_u8.wav"] {
        hostile_variants(&Wav, &read_fixture(name));
    }
}

/// The `AIGC` user text frame as ffprobe and exiftool read it, and the title next to it.
fn id3_witnesses(path: &std::path::Path) -> Option<(String, String)> {
    let exif = exiftool_id3_aigc(path)?;
    let ffprobe = ffprobe_aigc(path)?;
    Some((exif, ffprobe))
}

#[test]
fn a_label_in_an_id3_chunk_is_found_with_a_warning() {
    let file = read_fixture("id3_mutagen.wav");
    let found = Wav.find(&mut Cursor::new(&file), &Limits::default()).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].carrier, "RIFF id3 chunk, ID3v2 TXXX AIGC");
    assert!(
        found[0].text.contains("\"ProduceID\":\"wav-id3-0001\""),
        "{}",
        found[0].text
    );
    assert!(
        found[0]
            .checks
            .iter()
            .any(|c| c.id == id::CARRIER_PLACE && c.level == Level::Warn)
    );
    let report = inspect_with(&Wav, &mut Cursor::new(&file), &Options::default()).unwrap();
    assert_eq!(report.copies.len(), 1);
    assert!(report.label().is_some_and(|l| l.produce_id == "wav-id3-0001"));
    // The witnesses see the same label we do.
    let path = fixture_path("id3_mutagen.wav");
    if let Some((exif, ffprobe)) = id3_witnesses(&path) {
        assert_eq!(exif, found[0].text, "exiftool");
        assert_eq!(ffprobe, found[0].text, "ffprobe");
    }
}

#[test]
fn a_label_in_an_id3_chunk_moves_to_the_aigc_chunk() {
    let original = read_fixture("id3_mutagen.wav");
    let out = write_label(&Wav, &original, &sample_label());
    let found = Wav.find(&mut Cursor::new(&out), &Limits::default()).unwrap();
    assert_eq!(found.len(), 1, "one label: {found:#?}");
    assert_eq!(found[0].carrier, "RIFF AIGC chunk");
    let (size, before) = riff_chunks(&original);
    let (new_size, after) = riff_chunks(&out);
    assert_eq!(new_size as usize, out.len() - 8);
    let ids: Vec<[u8; 4]> = after.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [*b"fmt ", *b"data", *b"id3 ", *b"AIGC", *b"JUNK"]);
    assert_eq!(after[..2], before[..2], "fmt and data unchanged");
    // The tag keeps its size (the label frame's bytes become padding): the chunk's length, and
    // every byte before the label frame, stay.
    let (old_id3, new_id3) = (&before[2].1, &after[2].1);
    assert_eq!(old_id3.len(), new_id3.len());
    assert_eq!(size + after[3].1.len() as u32 + after[4].1.len() as u32, new_size);
    let frame_at = old_id3.windows(4).position(|w| w == b"TXXX").unwrap();
    assert_eq!(old_id3[..frame_at], new_id3[..frame_at]);
    assert!(!new_id3.windows(4).any(|w| w == b"AIGC"));
    assert!(new_id3.windows(4).any(|w| w == b"TIT2"));
    // The title is still there for ffprobe and exiftool; the ID3 label is gone for them.
    let path = temp_file(&out, "wav");
    if let Some((exif, ffprobe)) = id3_witnesses(&path) {
        assert_eq!((exif.as_str(), ffprobe.as_str()), ("", ""));
    }
    if let Some(title) = exiftool_tag(&path, "-ID3:Title") {
        assert_eq!(title, "Test tone");
    }
    if let Some(value) = exiftool_riff_aigc(&path) {
        assert_eq!(value, sample_json());
    }
    if let (Some(a), Some(b)) = (decoded_md5(&fixture_path("id3_mutagen.wav")), decoded_md5(&path)) {
        assert_eq!(a, b, "decoded samples");
    }
}

#[test]
fn an_id3_chunk_holding_only_the_label_goes_away() {
    let mut tag = b"ID3\x04\0\0\0\0\0\x10TXXX\0\0\0\x07\0\0\x03AIGC\0x".to_vec();
    tag[9] = (tag.len() - 10) as u8;
    let file = riff_file(&[(b"fmt ", &fmt_chunk()), (b"data", &[0, 0]), (b"ID3 ", &tag)]);
    assert_eq!(found_texts(&Wav, &file), ["x"]);
    let out = write_label(&Wav, &file, &sample_label());
    let ids: Vec<[u8; 4]> = riff_chunks(&out).1.into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, [*b"fmt ", *b"data", *b"AIGC", *b"JUNK"]);
    // A chunk that does not hold a tag we can read is copied as it is.
    let file = riff_file(&[(b"fmt ", &fmt_chunk()), (b"data", &[0, 0]), (b"id3 ", b"ID3\x09junk!")]);
    assert!(found_texts(&Wav, &file).is_empty());
    let out = write_label(&Wav, &file, &sample_label());
    assert_eq!(&out[12..file.len()], &file[12..]);
}

#[test]
fn a_million_empty_chunks_cost_reads_in_proportion_to_the_file() {
    // 8 MB: fmt, a million empty unknown chunks, then data.
    let pcm = read_fixture("pcm16_mono.wav");
    let mut file = pcm[..36].to_vec();
    file.extend(empty_chunks(1_000_000));
    file.extend_from_slice(&pcm[36..]);
    let size = (file.len() - 8) as u32;
    file[4..8].copy_from_slice(&size.to_le_bytes());
    assert_reads_bounded(&Wav, &file);
}
