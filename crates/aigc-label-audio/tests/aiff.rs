//! AIFF / AIFC carrier: fixtures made by sox and ffmpeg; the label we write is read back by
//! ffprobe, exiftool and mutagen, and sox and ffmpeg decode the same samples before and after.

mod common;

use std::io::Cursor;
use std::path::Path;

use aigc_label_audio::Aiff;
use aigc_label_core::inspect::{Options, Verdict, inspect_with};
use aigc_label_core::{Carrier, Limits};
use aigc_label_testutil::{covered_by, python_with, round_trip, run, sample_label, tool};
use common::*;

/// A chunk as `(id, stored bytes: header, body and pad byte)`.
type Stored = ([u8; 4], Vec<u8>);

/// The FORM size field and the top-level chunks, read independently of the carrier.
fn chunks(data: &[u8]) -> (u32, Vec<Stored>) {
    let size = u32::from_be_bytes(data[4..8].try_into().unwrap());
    let mut out = Vec::new();
    let mut pos = 12;
    while pos + 8 <= data.len() {
        let id: [u8; 4] = data[pos..pos + 4].try_into().unwrap();
        let len = u32::from_be_bytes(data[pos + 4..pos + 8].try_into().unwrap()) as usize;
        let end = (pos + 8 + len + (len & 1)).min(data.len());
        out.push((id, data[pos..end].to_vec()));
        pos = end;
    }
    (size, out)
}

fn form(kind: &[u8; 4], chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
    let mut body = kind.to_vec();
    for (id, data) in chunks {
        body.extend_from_slice(*id);
        body.extend_from_slice(&(data.len() as u32).to_be_bytes());
        body.extend_from_slice(data);
        if data.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut v = b"FORM".to_vec();
    v.extend_from_slice(&(body.len() as u32).to_be_bytes());
    v.extend_from_slice(&body);
    v
}

/// The samples sox decodes, as raw bytes; `None` without sox.
fn sox_samples(path: &Path) -> Option<Vec<u8>> {
    let sox = tool("sox")?;
    Some(run(
        &sox,
        &[path.as_os_str(), "-t".as_ref(), "raw".as_ref(), "-".as_ref()],
    ))
}

/// The value of `TXXX:AIGC` as mutagen reads it; `None` without mutagen, `""` when absent.
fn mutagen_aigc(path: &Path) -> Option<String> {
    let python = python_with("mutagen")?;
    let script = "import sys\nfrom mutagen.aiff import AIFF\nt = AIFF(sys.argv[1]).tags\n\
                  print(t['TXXX:AIGC'].text[0] if t is not None and 'TXXX:AIGC' in t else '')";
    let out = run(&python, &["-c".as_ref(), script.as_ref(), path.as_os_str()]);
    Some(String::from_utf8_lossy(&out).trim_end().to_string())
}

/// The `FORM` size is guessed for a file that gains a new ID3 chunk: a labelled file (whose tag
/// takes the new label in place) refutes the guess, and the streamed write, cut back to the
/// header and written again, gives the bytes the plain write gives.
#[test]
fn relabelling_streams_the_same_bytes_as_the_plain_write() {
    for (name, path) in audio_fixtures(&["aiff", "aif", "aifc"]) {
        eprintln!("{name}");
        let labelled = round_trip(&Aiff, &std::fs::read(path).unwrap());
        let longer = sample_label().propagated("001191110108551385082Q20000", "relabel-0001");
        aigc_label_testutil::plan_agrees(&Aiff, &labelled, &longer, &Limits::default());
    }
}

#[test]
fn every_fixture_round_trips() {
    for (name, path) in audio_fixtures(&["aiff", "aifc"]) {
        eprintln!("{name}");
        round_trip(&Aiff, &std::fs::read(path).unwrap());
    }
}

#[test]
fn every_chunk_is_kept_and_a_new_id3_chunk_follows_ssnd() {
    for name in ["sox.aiff", "sox.aifc"] {
        let original = read_fixture(name);
        let labelled = write_label(&Aiff, &original, &sample_label());
        let (_, before) = chunks(&original);
        let (size, after) = chunks(&labelled);
        assert_eq!(size as usize, labelled.len() - 8, "{name}: FORM size");
        assert_eq!(&labelled[8..12], &original[8..12], "{name}: form type");
        let (last, rest) = after.split_last().unwrap();
        assert_eq!(rest, &before[..], "{name}: every other chunk unchanged and in order");
        assert_eq!(&last.0, b"ID3 ", "{name}: the label chunk comes last");
        assert_eq!(last.1.len() % 2, 0, "{name}: even with its pad byte");
        assert!(before.iter().any(|(id, _)| id == b"SSND"));
        assert_eq!(found_texts(&Aiff, &labelled), [sample_json()]);
    }
}

#[test]
fn the_label_goes_into_ffmpegs_id3_chunk_keeping_its_other_frames() {
    let original = read_fixture("ffmpeg_id3.aiff");
    let found = Aiff.find(&mut Cursor::new(&original), &Limits::default()).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].carrier, "ID3 chunk, ID3v2 TXXX AIGC");
    assert!(found[0].checks.is_empty(), "the standard place: {:?}", found[0].checks);
    assert!(found[0].text.contains("\"ProduceID\":\"aiff-0001\""));
    let report = inspect_with(&Aiff, &mut Cursor::new(&original), &Options::default()).unwrap();
    assert_eq!(report.verdict, Verdict::Compliant, "{:#?}", report.copies);

    let labelled = write_label(&Aiff, &original, &sample_label());
    let (size, after) = chunks(&labelled);
    let (_, before) = chunks(&original);
    assert_eq!(size as usize, labelled.len() - 8);
    let ids: Vec<[u8; 4]> = after.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [*b"NAME", *b"COMM", *b"SSND", *b"ID3 "], "no second ID3 chunk");
    assert_eq!(after[..3], before[..3]);
    let tag = &after[3].1;
    assert!(tag.windows(9).any(|w| w == b"Test tone"), "TIT2 kept");
    assert_eq!(found_texts(&Aiff, &labelled), [sample_json()]);
}

#[test]
fn ffprobe_exiftool_and_mutagen_read_the_label_and_the_samples_do_not_change() {
    for (name, path) in audio_fixtures(&["aiff", "aifc"]) {
        let labelled = write_label(&Aiff, &std::fs::read(&path).unwrap(), &sample_label());
        let out = temp_file(&labelled, "aiff");
        if let Some(value) = ffprobe_aigc(&out) {
            assert_eq!(value, sample_json(), "{name}: ffprobe");
        }
        if let Some(value) = exiftool_id3_aigc(&out) {
            assert_eq!(value, sample_json(), "{name}: exiftool");
        }
        if let Some(value) = mutagen_aigc(&out) {
            assert_eq!(value, sample_json(), "{name}: mutagen");
        }
        if let (Some(before), Some(after)) = (decoded_md5(&path), decoded_md5(&out)) {
            assert_eq!(before, after, "{name}: ffmpeg decodes different samples");
        }
        if let (Some(before), Some(after)) = (sox_samples(&path), sox_samples(&out)) {
            assert!(!before.is_empty());
            assert!(before == after, "{name}: sox decodes different samples");
        }
        if let (Some(before), Some(after)) = (decode_warnings(&path), decode_warnings(&out)) {
            assert_eq!(before, after, "{name}: ffmpeg warns about something new");
        }
    }
}

#[test]
fn an_id3_chunk_before_the_sound_data_takes_the_label_and_a_second_one_loses_its_copy() {
    let sox = read_fixture("sox.aiff");
    let (_, fixture_chunks) = chunks(&sox);
    let comm = &fixture_chunks.iter().find(|(id, _)| id == b"COMM").unwrap().1[8..];
    let ssnd = &fixture_chunks.iter().find(|(id, _)| id == b"SSND").unwrap().1[8..];
    let first = v23_tag(&[(b"TIT2", b"\0Tone".to_vec())], 0, 600);
    let second = v23_tag(
        &[
            (b"TXXX", b"\0AIGC\0{\"Label\":\"1\"}".to_vec()),
            (b"TPE1", b"\0someone".to_vec()),
        ],
        0,
        0,
    );
    let file = form(
        b"AIFF",
        &[
            (b"COMM", comm),
            (b"ID3 ", &first),
            (b"SSND", ssnd),
            (b"APPL", b"odd"),
            (b"id3 ", &second),
        ],
    );
    assert_eq!(found_texts(&Aiff, &file), ["{\"Label\":\"1\"}"]);
    let out = write_label(&Aiff, &file, &sample_label());
    let (size, after) = chunks(&out);
    let (_, before) = chunks(&file);
    assert_eq!(size as usize, out.len() - 8);
    let ids: Vec<[u8; 4]> = after.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [*b"COMM", *b"ID3 ", *b"SSND", *b"APPL", *b"id3 "]);
    // The label fits the first tag's padding: the chunk keeps its length, SSND does not move.
    assert_eq!(after[1].1.len(), before[1].1.len());
    assert_eq!(out.len(), file.len() - (before[4].1.len() - after[4].1.len()));
    for i in [0, 2, 3] {
        assert_eq!(after[i], before[i], "chunk {i} unchanged");
    }
    assert!(!after[4].1.windows(4).any(|w| w == b"AIGC"), "second copy removed");
    assert!(after[4].1.windows(7).any(|w| w == b"someone"), "other frames kept");
    let found = Aiff.find(&mut Cursor::new(&out), &Limits::default()).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].text, sample_json());
    let (at, end) = (found[0].range.start as usize, found[0].range.end as usize);
    assert!(at > 12 + after[0].1.len() && end < 12 + after[0].1.len() + after[1].1.len());
    // The label is rewritten where it is: a second write changes nothing else.
    let again = write_label(&Aiff, &out, &sample_label());
    assert_eq!(again, out);
}

#[test]
fn odd_tags_stray_bytes_and_unreadable_id3_chunks() {
    let sox = read_fixture("sox.aiff");
    // The last chunk odd-sized without its pad byte, then bytes after the FORM.
    let mut file = form(b"AIFC", &[(b"FVER", &[0xa2, 0x80, 0x51, 0x40]), (b"SSND", &[0; 9])]);
    file.pop();
    let size = (file.len() - 8) as u32;
    file[4..8].copy_from_slice(&size.to_be_bytes());
    file.extend_from_slice(b"trailing");
    let out = write_label(&Aiff, &file, &sample_label());
    assert!(out.ends_with(b"trailing"));
    let form_end = 8 + u32::from_be_bytes(out[4..8].try_into().unwrap()) as usize;
    assert_eq!(form_end, out.len() - 8);
    assert_eq!(&out[12..file.len() - 8], &file[12..file.len() - 8]);
    assert_eq!(out[file.len() - 8], 0, "pad byte added");
    assert_eq!(found_texts(&Aiff, &out), [sample_json()]);
    // An ID3 chunk that does not hold a readable tag is copied; the label gets its own chunk.
    let (_, c) = chunks(&sox);
    let junk = form(
        b"AIFF",
        &[(b"COMM", &c[1].1[8..]), (b"ID3 ", b"ID3\x09\0\0\0\0\0\x01x")],
    );
    let out = write_label(&Aiff, &junk, &sample_label());
    assert_eq!(&out[12..junk.len()], &junk[12..]);
    assert_eq!(found_texts(&Aiff, &out), [sample_json()]);
}

#[test]
fn malformed_headers_are_clean_errors() {
    let limits = Limits::default();
    for bad in [
        &b""[..],
        b"FORM",
        b"FORM\0\0\0\x048SVX",
        b"RIFF\x04\0\0\0WAVE",
        b"FORM\0\0\0\x10AIFFSSND\0\0\xff\0ab",
    ] {
        assert!(Aiff.find(&mut Cursor::new(bad), &limits).is_err(), "{bad:?}");
        assert!(
            Aiff.write(&mut Cursor::new(bad), &mut Vec::new(), &sample_label(), &limits)
                .is_err()
        );
    }
}

#[test]
fn hostile_inputs_never_panic() {
    for name in ["sox.aiff", "sox.aifc", "ffmpeg_id3.aiff"] {
        hostile_variants(&Aiff, &read_fixture(name));
    }
}

#[test]
fn a_million_empty_chunks_cost_reads_in_proportion_to_the_file() {
    // 8 MB: COMT and COMM, a million empty unknown chunks, then SSND.
    let sox = read_fixture("sox.aiff");
    let mut file = sox[..72].to_vec();
    file.extend(empty_chunks(1_000_000));
    file.extend_from_slice(&sox[72..]);
    let size = (file.len() - 8) as u32;
    file[4..8].copy_from_slice(&size.to_be_bytes());
    assert_reads_bounded(&Aiff, &file);
    let out = write_label(&Aiff, &file, &sample_label());
    assert_eq!(&out[12..file.len()], &file[12..]);
}

#[test]
fn bytes_after_the_tag_in_its_chunk_stay_after_it() {
    let sox = read_fixture("sox.aiff");
    let mut body = v23_tag(&[(b"TIT2", b"\0Tone".to_vec())], 0, 0);
    let tag_len = body.len();
    body.extend_from_slice(b"after");
    let file = form(
        b"AIFF",
        &[(b"COMM", &sox[54..72]), (b"SSND", &sox[80..]), (b"ID3 ", &body)],
    );
    let out = write_label(&Aiff, &file, &sample_label());
    let (size, after) = chunks(&out);
    assert_eq!(size as usize, out.len() - 8);
    let chunk = &after[2].1;
    let body_len = u32::from_be_bytes(chunk[4..8].try_into().unwrap()) as usize;
    let new_tag = 10
        + (chunk[14] as usize) * (1 << 21)
        + (chunk[15] as usize) * (1 << 14)
        + (chunk[16] as usize) * (1 << 7)
        + chunk[17] as usize;
    assert!(new_tag > tag_len);
    assert_eq!(&chunk[8 + new_tag..8 + body_len], b"after");
    assert_eq!(chunk.len(), 8 + body_len + body_len % 2);
    assert_eq!(found_texts(&Aiff, &out), [sample_json()]);
    let path = temp_file(&out, "aiff");
    if let Some(value) = ffprobe_aigc(&path) {
        assert_eq!(value, sample_json());
    }
    // The binding: a longer label moves the trailing bytes, which stay covered and in order.
    let mut long = sample_label();
    long.produce_id = "p".repeat(2000);
    let longer = write_label(&Aiff, &out, &long);
    assert_eq!(covered_by(&Aiff, &longer), covered_by(&Aiff, &out));
}
