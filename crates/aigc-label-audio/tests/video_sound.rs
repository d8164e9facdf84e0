//! `stamp_file --mix` on the sound track of a video file (issue 14) in Matroska/WebM: the cue's
//! tones measured in what ffmpeg decodes, the output decodes without a message, the picture's
//! packets and every sound packet outside the re-encoded run are the source's, one sound packet
//! for one, and the duration is unchanged.

mod common;

use std::path::Path;

use aigc_label_audio::cue::{At, Cue, Ducking, Mode, Rhythm};
use aigc_label_audio::stamp_file;
use aigc_label_testutil::media::{Packets, assert_decodes_cleanly, duration, framemd5};
use aigc_label_testutil::{fixture, run, tool};
use common::*;

/// True when ffmpeg and ffprobe are installed; false prints a SKIPPED line locally, and fails
/// under `CI=true`.
fn have_ffmpeg() -> bool {
    tool("ffmpeg").is_some() && tool("ffprobe").is_some()
}

/// Stamps `input` with the cue mixed in at `at`, and checks what every mix must keep: a clean
/// decode, the duration, the video packets, one sound packet for one with those outside one
/// run (or two, for two cues) unchanged. Returns the output's path (in `dir`) and the sound
/// packets that changed.
fn mix_and_check(input: &Path, dir: &Path, at: &[At], what: &str) -> (std::path::PathBuf, usize) {
    let ext = input.extension().unwrap().to_str().unwrap();
    let output = dir.join(format!("out.{ext}"));
    let mode = Mode::Mix(Ducking::default());
    let stamped = stamp_file(input, &output, &Cue::default(), at, &mode).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(stamped.positions.len(), at.len(), "{what}");
    assert_decodes_cleanly(&output, what);
    assert_eq!(duration(input), duration(&output), "{what}: duration");
    let video = |p: &Path| framemd5(p, "0:v:0", Packets::Copied).unwrap();
    assert_eq!(video(input), video(&output), "{what}: the picture's packets");
    let (before, after) = (
        framemd5(input, "0:a:0", Packets::Copied).unwrap(),
        framemd5(&output, "0:a:0", Packets::Copied).unwrap(),
    );
    assert_eq!(before.len(), after.len(), "{what}: one sound packet for one");
    let changed: Vec<usize> = before
        .iter()
        .zip(&after)
        .enumerate()
        .filter(|(_, (b, a))| b.1 != a.1)
        .map(|(i, _)| i)
        .collect();
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b.0, a.0, "{what}: packet timestamps kept");
    }
    let runs = changed.windows(2).filter(|w| w[1] != w[0] + 1).count() + usize::from(!changed.is_empty());
    assert!(runs <= at.len(), "{what}: packets changed in {runs} runs: {changed:?}");
    (output, changed.len())
}

#[test]
fn opus_in_webm_gets_the_cue_mixed_into_the_packets_under_it_only() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("video/stamp/vp9_gop1s.webm");
    for (at, first) in [
        (vec![At::Start], 0usize),
        (vec![At::Time(std::time::Duration::from_secs(2))], 96_000),
    ] {
        let what = format!("vp9_gop1s.webm at {at:?}");
        let (output, changed) = mix_and_check(&input, dir.path(), &at, &what);
        // 4 s of 20 ms packets: the cue (1.56 s), its ramps and margins take under 2 s.
        assert!(changed > 70 && changed < 100, "{what}: {changed} packets re-encoded");
        let samples = decode_channel0(&output, 1);
        assert_cue_tones_at(&samples, 48_000, first, &what);
    }
    // At the end: the last packets (the last one in a BlockGroup with its DiscardPadding,
    // which it keeps) re-encoded, the cue ending with the sound.
    let (output, _) = mix_and_check(&input, dir.path(), &[At::End], "vp9_gop1s.webm at the end");
    let samples = decode_channel0(&output, 1);
    let cue = (Rhythm::default().duration().unwrap().as_secs_f64() * 48_000.0).round() as usize;
    assert_cue_tones_at(&samples, 48_000, samples.len() - cue, "vp9_gop1s.webm at the end");
}

#[test]
fn vorbis_in_webm_gets_the_cue_mixed_into_the_packets_under_it_only() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("video/sound/webm_vorbis.webm");
    for (at, first) in [
        (At::Start, 0usize),
        (At::Time(std::time::Duration::from_secs(2)), 88_200),
    ] {
        let what = format!("webm_vorbis.webm at {at:?}");
        let (output, changed) = mix_and_check(&input, dir.path(), &[at], &what);
        // 4 s of 1024-sample blocks (mostly long: 173 packets): the cue and the pages of the
        // temporary stream around it.
        assert!(changed > 60 && changed < 150, "{what}: {changed} packets re-encoded");
        assert_cue_tones_at(&decode_channel0(&output, 1), 44_100, first, &what);
    }
}

#[test]
fn aac_in_mkv_gets_the_cue_mixed_into_the_frames_under_it_only() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("video/stamp/h264_gop1s.mkv");
    // The track's first frame is the encoder's priming (Matroska has no edit list to skip it):
    // the content, and the cue at 0 s, start after it.
    for (at, first) in [
        (vec![At::Start], 1024usize),
        (vec![At::Time(std::time::Duration::from_secs(2))], 97_024),
    ] {
        let what = format!("h264_gop1s.mkv at {at:?}");
        let (output, changed) = mix_and_check(&input, dir.path(), &at, &what);
        // 4 s of 1024-sample frames (189): the cue (1.56 s, 74 frames) and a few either side.
        assert!(changed > 70 && changed < 90, "{what}: {changed} frames re-encoded");
        let samples = decode_channel0(&output, 1);
        assert_cue_tones_at(&samples, 48_000, first, &what);
    }
}

#[test]
fn aac_in_flv_gets_the_cue_mixed_into_the_frames_under_it_only() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 44.1 kHz; the second with `onMetaData` keyframe positions, which move with the tags.
    for name in ["flv_gop1s.flv", "h264_gop1s.flv"] {
        let input = fixture(&format!("video/stamp/{name}"));
        let what = format!("{name} at the start");
        let (output, changed) = mix_and_check(&input, dir.path(), &[At::Start], &what);
        assert!(changed > 60 && changed < 90, "{what}: {changed} frames re-encoded");
        let samples = decode_channel0(&output, 1);
        assert_cue_tones_at(&samples, 44_100, 1024, &what);
        if name == "h264_gop1s.flv" {
            // A seek through the keyframe index lands on the keyframe it did in the source.
            let seek = |file: &Path| {
                let ffprobe = tool("ffprobe").unwrap();
                let args = [
                    "-v",
                    "error",
                    "-read_intervals",
                    "3%+#1",
                    "-select_streams",
                    "v",
                    "-show_entries",
                    "frame=pts,key_frame",
                    "-of",
                    "csv=p=0",
                    file.to_str().unwrap(),
                ];
                String::from_utf8(run(&ffprobe, &args.map(std::ffi::OsStr::new))).unwrap()
            };
            assert_eq!(seek(&output), seek(&input), "{what}");
            assert!(seek(&output).starts_with("1,"), "{what}: a keyframe");
        }
    }
}

#[test]
fn mp3_in_flv_gets_the_cue_mixed_into_the_frames_under_it_only() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("video/sound/flv_mp3.flv");
    let secs = std::time::Duration::from_secs;
    // LAME's priming (576 + 529 samples) plays first: the cue at 0 s is heard after it.
    for (at, first) in [(At::Start, 1105usize), (At::Time(secs(2)), 88_200 + 1105)] {
        let what = format!("flv_mp3.flv at {at:?}");
        let (output, changed) = mix_and_check(&input, dir.path(), &[at], &what);
        // 4 s of 1152-sample frames (154): the cue (1.56 s, 60 frames) and a few either side.
        assert!(changed > 55 && changed < 80, "{what}: {changed} frames re-encoded");
        let samples = decode_channel0(&output, 1);
        assert_cue_tones_at(&samples, 44_100, first, &what);
    }
}

#[test]
fn mp3_and_pcm_in_avi_get_the_cue_mixed_into_the_chunks_under_it_only() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // MP3 (48 kHz mono): LAME's priming plays first, so the cue at 0 s is heard after it.
    let input = fixture("video/stamp/mpeg4_gop1s.avi");
    let (output, changed) = mix_and_check(&input, dir.path(), &[At::Start], "mpeg4_gop1s.avi");
    assert!(
        changed > 60 && changed < 90,
        "mpeg4_gop1s.avi: {changed} frames re-encoded"
    );
    assert_cue_tones_at(&decode_channel0(&output, 1), 48_000, 1105, "mpeg4_gop1s.avi");
    // 16-bit PCM: mixed in place, the samples away from the cue and its ramps as they were.
    let input = fixture("video/sound/avi_pcm.avi");
    let at = [At::Time(std::time::Duration::from_secs(1))];
    let (output, _) = mix_and_check(&input, dir.path(), &at, "avi_pcm.avi");
    let (before, after) = (decode_channel0(&input, 1), decode_channel0(&output, 1));
    assert_eq!(before.len(), after.len());
    assert_cue_tones_at(&after, 16_000, 16_000, "avi_pcm.avi");
    let ramp = 320; // 20 ms
    let cue = (Rhythm::default().duration().unwrap().as_secs_f64() * 16_000.0).round() as usize;
    let differs: Vec<usize> = (0..before.len()).filter(|&i| before[i] != after[i]).collect();
    assert!(
        *differs.first().unwrap() >= 16_000 - ramp && *differs.last().unwrap() < 16_000 + cue + ramp,
        "avi_pcm.avi: samples changed from {} to {}",
        differs.first().unwrap(),
        differs.last().unwrap()
    );
}

#[test]
fn inserting_into_the_sound_of_a_webm_and_other_codecs_are_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.mkv");
    let insert = stamp_file(
        &fixture("video/stamp/vp9_gop1s.webm"),
        &output,
        &Cue::default(),
        &[At::Start],
        &Mode::Insert,
    );
    let err = insert.unwrap_err().to_string();
    assert!(err.contains("out of step") && err.contains("--mix"), "{err}");
    assert!(!output.exists());
}
