//! `--mix` into streams the encoder does not make by default (issue 14): Opus packets of
//! several frames each, and Vorbis made at a set bitrate. The cue's tones are measured in what ffmpeg decodes, the
//! output decodes without a message, its duration and packet layout are the source's, and the
//! packets outside the re-encoded run keep their bytes.

mod common;

use aigc_label_audio::cue::{At, Cue, Ducking, Mode};
use aigc_label_audio::stamp_file;
use aigc_label_testutil::media::{Packets, assert_decodes_cleanly, duration, framemd5};
use aigc_label_testutil::{run, tool};
use common::*;

/// True when ffmpeg and ffprobe are installed; false prints a SKIPPED line locally, and fails
/// under `CI=true`.
fn have_ffmpeg() -> bool {
    tool("ffmpeg").is_some() && tool("ffprobe").is_some()
}

/// The TOC byte and frame-count byte of every Opus packet in the Ogg file `data`.
fn opus_packet_heads(data: &[u8]) -> Vec<[u8; 2]> {
    ogg_packets(data)
        .into_iter()
        .filter(|p| p.len() >= 2)
        .map(|p| [p[0], p[1]])
        .collect()
}

/// Every packet of the Ogg file `data` (one logical stream).
fn ogg_packets(data: &[u8]) -> Vec<Vec<u8>> {
    let mut heads = Vec::new();
    let mut packet = Vec::new();
    let mut pos = 0;
    while let Some(page) = data.get(pos..).filter(|p| p.starts_with(b"OggS")) {
        let n = usize::from(page[26]);
        let lacing = &page[27..27 + n];
        let mut body = 27 + n;
        for &l in lacing {
            packet.extend_from_slice(&page[body..body + usize::from(l)]);
            body += usize::from(l);
            if l < 255 {
                heads.push(std::mem::take(&mut packet));
            }
        }
        pos += body;
    }
    heads
}

#[test]
fn opus_packets_of_six_frames_are_mixed_into_frame_by_frame_and_regrouped() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = fixture_path("stamp_mix_120ms.opus");
    let source_heads = opus_packet_heads(&std::fs::read(&input).unwrap());
    // Header packets aside, every packet is code 3 with six frames.
    assert!(
        source_heads[2..].iter().all(|h| h[0] & 3 == 3 && h[1] & 0x3f == 6),
        "{source_heads:?}"
    );
    for (at, first) in [
        (At::Start, 0usize),
        (At::Time(std::time::Duration::from_secs(2)), 96_000),
    ] {
        let what = format!("stamp_mix_120ms.opus at {at:?}");
        let output = dir.path().join("out.opus");
        let mode = Mode::Mix(Ducking::default());
        stamp_file(&input, &output, &Cue::default(), &[at], &mode).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_decodes_cleanly(&output, &what);
        assert_eq!(duration(&input), duration(&output), "{what}: duration");
        let heads = opus_packet_heads(&std::fs::read(&output).unwrap());
        assert_eq!(heads.len(), source_heads.len(), "{what}: one packet for one");
        assert!(
            heads[2..].iter().all(|h| h[0] & 3 == 3 && h[1] & 0x3f == 6),
            "{what}: six frames a packet"
        );
        let (before, after) = (
            framemd5(&input, "0:a:0", Packets::Copied).unwrap(),
            framemd5(&output, "0:a:0", Packets::Copied).unwrap(),
        );
        let changed: Vec<usize> = (0..before.len()).filter(|&i| before[i] != after[i]).collect();
        // 4 s of 120 ms packets (34): the cue (1.56 s, 13 packets) and its ramps take about 20,
        // from the start or from about 1 s to the end.
        assert!(changed.len() >= 13 && changed.len() <= 26, "{what}: {changed:?}");
        assert_eq!(
            changed.last().unwrap() - changed[0] + 1,
            changed.len(),
            "{what}: one run"
        );
        assert_cue_tones_at(&decode_channel0(&output, 1), 48_000, first, &what);
    }
}

#[test]
fn vorbis_made_at_a_set_bitrate_is_mixed_into_at_that_bitrate() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = fixture_path("stamp_mix_64k.ogg");
    let source = std::fs::read(&input).unwrap();
    let headers = ogg_packets(&source);
    // No quality step makes this stream's setup header (so the bitrate is what finds it).
    let ffmpeg = tool("ffmpeg").unwrap();
    for q in -1..=10 {
        let probe = dir.path().join(format!("q{q}.ogg"));
        let args = [
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=44100:cl=mono",
            "-t",
            "0.1",
            "-c:a",
            "libvorbis",
            "-q:a",
            &q.to_string(),
            probe.to_str().unwrap(),
        ];
        run(&ffmpeg, &args.map(std::ffi::OsStr::new));
        assert_ne!(
            ogg_packets(&std::fs::read(&probe).unwrap())[2],
            headers[2],
            "quality {q}"
        );
    }
    for (at, first) in [
        (At::Start, 0usize),
        (At::Time(std::time::Duration::from_secs(2)), 88_200),
    ] {
        let what = format!("stamp_mix_64k.ogg at {at:?}");
        let output = dir.path().join("out.ogg");
        let mode = Mode::Mix(Ducking::default());
        stamp_file(&input, &output, &Cue::default(), &[at], &mode).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_decodes_cleanly(&output, &what);
        assert_eq!(duration(&input), duration(&output), "{what}: duration");
        let out = std::fs::read(&output).unwrap();
        assert_eq!(ogg_packets(&out)[..3], headers[..3], "{what}: the stream's own headers");
        assert_cue_tones_at(&decode_channel0(&output, 1), 44_100, first, &what);
    }
}
