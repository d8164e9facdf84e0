//! Ogg carrier: Vorbis fixtures made by ffmpeg and sox, an Opus fixture made by ffmpeg, read back
//! by ffprobe and decoded by ffmpeg (which checks page CRCs) before and after.

mod common;

use std::io::Cursor;

use aigc_label_audio::Ogg;
use aigc_label_core::{Carrier, Label, Limits};
use aigc_label_testutil::{round_trip, sample_label, tool};
use common::*;

#[derive(Debug, Clone, PartialEq, Eq)]
struct PageInfo {
    flags: u8,
    granule: u64,
    serial: u32,
    seq: u32,
    lacing: Vec<u8>,
    body: Vec<u8>,
}

fn pages(data: &[u8]) -> Vec<PageInfo> {
    let mut out = Vec::new();
    let mut p = 0;
    while p < data.len() {
        assert_eq!(&data[p..p + 4], b"OggS");
        let n = data[p + 26] as usize;
        let lacing = data[p + 27..p + 27 + n].to_vec();
        let len: usize = lacing.iter().map(|&l| l as usize).sum();
        let body = data[p + 27 + n..p + 27 + n + len].to_vec();
        out.push(PageInfo {
            flags: data[p + 5],
            granule: u64::from_le_bytes(data[p + 6..p + 14].try_into().unwrap()),
            serial: u32::from_le_bytes(data[p + 14..p + 18].try_into().unwrap()),
            seq: u32::from_le_bytes(data[p + 18..p + 22].try_into().unwrap()),
            lacing,
            body,
        });
        p += 27 + n + len;
    }
    out
}

/// Decodes `labelled` with ffmpeg, checking the samples equal the fixture's and that ffmpeg has
/// nothing to warn about (a bad page CRC or sequence gap would be reported).
fn check_decodes_like(fixture_path: &std::path::Path, labelled: &[u8], ext: &str) {
    let out = temp_file(labelled, ext);
    if let (Some(before), Some(after)) = (decoded_md5(fixture_path), decoded_md5(&out)) {
        assert_eq!(before, after, "decoded audio differs");
    }
    if let Some(warnings) = decode_warnings(&out) {
        assert_eq!(warnings.trim(), "", "ffmpeg warns while decoding");
    }
}

#[test]
fn every_fixture_round_trips() {
    for (name, path) in audio_fixtures(&["ogg", "opus"]) {
        eprintln!("{name}");
        round_trip(&Ogg, &std::fs::read(path).unwrap());
    }
}

#[test]
fn ffprobe_reads_the_label_and_audio_pages_are_untouched() {
    for (name, path) in audio_fixtures(&["ogg", "opus"]) {
        let original = std::fs::read(&path).unwrap();
        let labelled = round_trip(&Ogg, &original);
        let ext = if name.ends_with(".opus") { "opus" } else { "ogg" };
        let out = temp_file(&labelled, ext);
        if let Some(value) = ffprobe_aigc(&out) {
            assert_eq!(value, sample_json(), "{name}: ffprobe reads AIGC=");
        }
        check_decodes_like(&path, &labelled, ext);
        // The header packets still fit the same number of pages: audio pages are byte-exact.
        let (before, after) = (pages(&original), pages(&labelled));
        assert_eq!(before.len(), after.len(), "{name}");
        assert_eq!(before[0], after[0], "{name}: identification page");
        assert_eq!(before[2..], after[2..], "{name}: audio pages");
        assert_eq!(after[1].granule, before[1].granule);
    }
}

/// A label whose `ProduceID` makes the comment header span several pages.
fn huge_label() -> Label {
    Label::new(sample_label().content_producer, "x".repeat(150_000))
}

#[test]
fn a_comment_spanning_pages_renumbers_the_audio_pages() {
    for name in ["vorbis.ogg", "opus.opus"] {
        let path = aigc_label_testutil::fixture(&format!("audio/{name}"));
        let original = std::fs::read(&path).unwrap();
        let ext = if name.ends_with(".opus") { "opus" } else { "ogg" };
        let big = write_label(&Ogg, &original, &huge_label());
        assert_eq!(found_texts(&Ogg, &big).len(), 1);
        let (before, after) = (pages(&original), pages(&big));
        assert!(after.len() >= before.len() + 2, "{name}: {} pages", after.len());
        let shift = after.len() - before.len();
        for (i, page) in after.iter().enumerate() {
            assert_eq!(page.seq as usize, i, "{name}: sequence numbers run on");
        }
        // Continuation pages: flag set, granule -1 where no packet ends.
        assert_eq!(after[2].flags & 1, 1);
        assert_eq!(after[1].granule, u64::MAX);
        for (b, a) in before[2..].iter().zip(&after[2 + shift..]) {
            assert_eq!(
                (b.granule, &b.body, &b.lacing, b.flags),
                (a.granule, &a.body, &a.lacing, a.flags)
            );
        }
        check_decodes_like(&path, &big, ext);

        // Replacing it with a small label shrinks the headers back to one page.
        let small = write_label(&Ogg, &big, &sample_label());
        assert_eq!(found_texts(&Ogg, &small), [sample_json()]);
        assert_eq!(pages(&small).len(), before.len());
        check_decodes_like(&path, &small, ext);
    }
}

#[test]
fn wild_variant_written_by_ffmpeg_is_found_and_replaced() {
    let Some(ffmpeg) = tool("ffmpeg") else {
        return;
    };
    let src = aigc_label_testutil::fixture("audio/vorbis.ogg");
    let dir = tempfile::tempdir().unwrap();
    let wild = dir.path().join("wild.ogg");
    let wrapped = format!("{{\"AIGC\":{}}}", sample_json());
    let status = std::process::Command::new(ffmpeg)
        .args(["-v", "error", "-y", "-i"])
        .arg(&src)
        .args(["-c", "copy", "-metadata"])
        .arg(format!("aigc={wrapped}"))
        .arg(&wild)
        .status()
        .unwrap();
    assert!(status.success());
    let data = std::fs::read(&wild).unwrap();
    assert_eq!(found_texts(&Ogg, &data), [wrapped]);
    let out = write_label(&Ogg, &data, &sample_label());
    assert_eq!(found_texts(&Ogg, &out), [sample_json()]);
}

#[test]
fn chained_links_end_up_with_one_label() {
    let vorbis = read_fixture("vorbis.ogg");
    let opus = read_fixture("opus.opus");
    let mut chain = write_label(&Ogg, &vorbis, &sample_label());
    let first_link = chain.len();
    chain.extend(write_label(
        &Ogg,
        &opus,
        &Label::new(sample_label().content_producer, "second"),
    ));
    assert_eq!(found_texts(&Ogg, &chain).len(), 2);
    let out = write_label(&Ogg, &chain, &sample_label());
    assert_eq!(found_texts(&Ogg, &out), [sample_json()]);
    assert_eq!(
        &out[..first_link],
        &chain[..first_link],
        "the first link keeps its label"
    );
    assert!(
        !out[first_link..].windows(5).any(|w| w == b"AIGC="),
        "the second link's is gone"
    );
    assert_eq!(pages(&out[first_link..]).len(), pages(&opus).len());
}

#[test]
fn bad_pages_are_clean_errors() {
    let limits = Limits::default();
    let good = read_fixture("vorbis.ogg");
    let mut bad_crc = good.clone();
    let second = pages(&good)[0].body.len() + 28;
    bad_crc[second + 100] ^= 0x55;
    let mut no_capture = good.clone();
    no_capture[second] = b'X';
    let truncated = good[..second + 100].to_vec();
    for bad in [bad_crc, no_capture, truncated, b"OggS".to_vec()] {
        assert!(Ogg.find(&mut Cursor::new(&bad), &limits).is_err());
        assert!(
            Ogg.write(&mut Cursor::new(&bad), &mut Vec::new(), &sample_label(), &limits)
                .is_err()
        );
    }
}

#[test]
fn hostile_inputs_never_panic() {
    for name in ["vorbis.ogg", "opus.opus"] {
        hostile_variants(&Ogg, &read_fixture(name));
    }
}
