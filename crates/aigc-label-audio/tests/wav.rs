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

/// A chunk as `(id, stored bytes including the pad byte)`.
type Stored = ([u8; 4], Vec<u8>);

/// Top-level chunks, and the RIFF size field.
fn chunks(data: &[u8]) -> (u32, Vec<Stored>) {
    let size = u32::from_le_bytes(data[4..8].try_into().unwrap());
    let mut out = Vec::new();
    let mut pos = 12;
    while pos + 8 <= data.len() {
        let id: [u8; 4] = data[pos..pos + 4].try_into().unwrap();
        let mut len = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().unwrap()) as usize;
        if len == u32::MAX as usize && id == *b"data" {
            // RF64: the data size is in ds64.
            len = u64::from_le_bytes(data[28..36].try_into().unwrap()) as usize;
        }
        let end = (pos + 8 + len + (len & 1)).min(data.len());
        out.push((id, data[pos..end].to_vec()));
        pos = end;
    }
    (size, out)
}

#[test]
fn every_fixture_round_trips() {
    for (name, path) in audio_fixtures(&["wav"]) {
        eprintln!("{name}");
        round_trip(&Wav, &std::fs::read(path).unwrap());
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
        let (_, before) = chunks(&original);
        let (size, after) = chunks(&labelled);
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
        let (last, rest) = after.split_last().unwrap();
        assert_eq!(&last.0, b"AIGC", "{name}: the label chunk comes last");
        assert_eq!(last.1.len() % 2, 0, "{name}: even-sized with its pad byte");
        if original.starts_with(b"RIFF") {
            assert_eq!(rest, &before[..], "{name}: the other chunks are unchanged");
        }
        assert!(rest.iter().any(|(id, _)| id == b"data"));
    }
}

fn riff(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
    let mut body = b"WAVE".to_vec();
    for (id, data) in chunks {
        body.extend_from_slice(*id);
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        if data.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut v = b"RIFF".to_vec();
    v.extend_from_slice(&(body.len() as u32).to_le_bytes());
    v.extend_from_slice(&body);
    v
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
    let file = riff(&[
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
    let (_, after) = chunks(&out);
    let ids: Vec<&[u8; 4]> = after.iter().map(|(id, _)| id).collect();
    assert_eq!(ids, [b"fmt ", b"LIST", b"data", b"AIGC"]);
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
    let file = riff(&[(b"fmt ", &fmt_chunk()), (b"LIST", &info), (b"data", &[0, 0])]);
    let out = write_label(&Wav, &file, &sample_label());
    let ids: Vec<[u8; 4]> = chunks(&out).1.into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, [*b"fmt ", *b"data", *b"AIGC"]);
}

#[test]
fn missing_final_pad_byte_and_trailing_bytes() {
    // An odd data chunk that ends the file without its pad byte, then an ID3 tag appended after
    // the RIFF body (outside its declared size).
    let mut file = riff(&[(b"fmt ", &fmt_chunk()), (b"data", &[1, 2, 3])]);
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
