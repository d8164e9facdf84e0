//! `stamp_file` on encoded audio: the cue is heard where it was put (its tones and gaps measured
//! in what ffmpeg decodes), the original audio after it is byte-identical, the output decodes
//! without a message, its length is the source's plus the cue, and every piece of metadata (an
//! implicit label among it) survives.

mod common;

use std::ffi::OsStr;
use std::path::Path;

use aigc_label_audio::cue::{At, Cue, Ducking, Mode, Rhythm};
use aigc_label_audio::{Aiff, Flac, Mp3, stamp_file};
use aigc_label_testutil::{run, sample_label, tool};
use common::*;

/// The first audio stream of `path` decoded by ffmpeg to interleaved f32; `None` without ffmpeg.
fn decode_f32(path: &Path) -> Option<Vec<f32>> {
    let ffmpeg = tool("ffmpeg")?;
    let out = run(
        &ffmpeg,
        &[
            "-v".as_ref(),
            "error".as_ref(),
            "-i".as_ref(),
            path.as_os_str(),
            "-map".as_ref(),
            "0:a:0".as_ref(),
            "-f".as_ref(),
            "f32le".as_ref(),
            "-c:a".as_ref(),
            "pcm_f32le".as_ref(),
            "-".as_ref(),
        ],
    );
    Some(
        out.chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    )
}

/// Asserts that ffmpeg decodes `path` without printing anything at level `error`.
fn decodes_cleanly(path: &Path, what: &str) {
    if let Some(ffmpeg) = tool("ffmpeg") {
        let out = std::process::Command::new(ffmpeg)
            .args([OsStr::new("-v"), "error".as_ref(), "-i".as_ref(), path.as_os_str()])
            .args(["-f", "null", "-"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{what}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{what}: ffmpeg complains");
    }
}

/// Asserts the default rhythm in channel 0 of `samples` from frame `from`, with tones and gaps
/// as rendered. `shift` frames of codec delay may precede it.
fn assert_cue_at(samples: &[f32], channels: usize, rate: u32, from: usize, what: &str) {
    let rhythm = Rhythm::default();
    let frames = (rhythm.duration().unwrap().as_secs_f64() * f64::from(rate)).round() as usize;
    let channel: Vec<f32> = samples
        .iter()
        .skip(from * channels)
        .step_by(channels)
        .take(frames)
        .copied()
        .collect();
    let found = tone_segments(&channel, rate, f64::from(rhythm.frequency_hz));
    assert_rhythm(&found, &rhythm, what);
}

/// The top-level chunks of an IFF `FORM` (big-endian sizes) as `(id, stored bytes)`.
fn iff_chunks(data: &[u8]) -> Vec<Stored> {
    let mut out = Vec::new();
    let mut pos = 12;
    while pos + 8 <= data.len() {
        let id: [u8; 4] = data[pos..pos + 4].try_into().unwrap();
        let size = u32::from_be_bytes(data[pos + 4..pos + 8].try_into().unwrap()) as usize;
        let end = (pos + 8 + size + size % 2).min(data.len());
        out.push((id, data[pos..end].to_vec()));
        pos = end;
    }
    out
}

#[test]
fn aiff_cue_is_spliced_into_the_sound_data_and_every_chunk_survives() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["sox.aiff", "sox.aifc", "ffmpeg_id3.aiff"] {
        for mode in [Mode::Insert, Mode::Mix(Ducking::default())] {
            let what = format!("{name}, {mode:?}");
            let input = dir.path().join(name);
            let output = dir.path().join(format!("out-{name}"));
            let source = if name == "sox.aiff" {
                // A labelled file: the implicit label in a new ID3 chunk.
                write_label(&Aiff, &read_fixture(name), &sample_label())
            } else {
                read_fixture(name)
            };
            std::fs::write(&input, &source).unwrap();
            let at = match mode {
                Mode::Insert => vec![At::Start, At::End],
                Mode::Mix(_) => vec![At::Start],
            };
            let stamped = stamp_file(&input, &output, &Cue::default(), &at, &mode).unwrap();
            assert_eq!(stamped.format, "aiff");
            let out = std::fs::read(&output).unwrap();
            assert_eq!(
                u32::from_be_bytes(out[4..8].try_into().unwrap()) as usize,
                out.len() - 8
            );
            let (before, after) = (iff_chunks(&source), iff_chunks(&out));
            let ids = |c: &[Stored]| c.iter().map(|(id, _)| *id).collect::<Vec<_>>();
            assert_eq!(ids(&after), ids(&before), "{what}");
            let channels = usize::from(stamped.spec.channels);
            let frame_bytes = if name == "sox.aifc" { 4 * channels } else { 2 * channels };
            let cue_bytes = stamped.cue_frames as usize * frame_bytes;
            for ((id, old), (_, new)) in before.iter().zip(&after) {
                match (id, mode) {
                    (b"COMM", Mode::Insert) => {
                        let frames = |c: &[u8]| u32::from_be_bytes(c[10..14].try_into().unwrap()) as u64;
                        assert_eq!(frames(new), frames(old) + 2 * stamped.cue_frames, "{what}");
                        assert_eq!(new[14..], old[14..], "{what}");
                    }
                    (b"SSND", Mode::Insert) => {
                        // offset, block size, the cue, the original sound data, the cue.
                        let data = &old[16..];
                        assert_eq!(new.len(), old.len() + 2 * cue_bytes, "{what}");
                        assert_eq!(new[8..16], old[8..16]);
                        assert_eq!(&new[16 + cue_bytes..16 + cue_bytes + data.len()], data, "{what}");
                        assert_eq!(&new[16..16 + cue_bytes], &new[new.len() - cue_bytes..], "{what}");
                    }
                    (b"SSND", Mode::Mix(_)) => {
                        assert_eq!(new.len(), old.len(), "{what}");
                        assert_ne!(new, old, "{what}");
                    }
                    _ => assert_eq!(new, old, "{what}: {} kept", String::from_utf8_lossy(id)),
                }
            }
            if name != "sox.aifc" {
                let labels = found_texts(&Aiff, &out);
                assert_eq!(labels, found_texts(&Aiff, &source), "{what}: labels kept");
                assert!(!labels.is_empty(), "{what}");
            }
            decodes_cleanly(&output, &what);
            if let (Mode::Insert, Some(samples)) = (mode, decode_f32(&output)) {
                assert_cue_at(&samples, channels, stamped.spec.sample_rate, 0, &what);
                let end = samples.len() / channels - stamped.cue_frames as usize;
                assert_cue_at(&samples, channels, stamped.spec.sample_rate, end, &what);
            }
        }
    }
}

/// ffprobe's duration of `path` in seconds.
fn duration(path: &Path) -> Option<f64> {
    let ffprobe = tool("ffprobe")?;
    let out = run(
        &ffprobe,
        &[
            "-v".as_ref(),
            "error".as_ref(),
            "-show_entries".as_ref(),
            "format=duration".as_ref(),
            "-of".as_ref(),
            "csv=p=0".as_ref(),
            path.as_os_str(),
        ],
    );
    Some(String::from_utf8_lossy(&out).trim().parse().unwrap())
}

/// The MD5 of every packet of the first audio stream as ffmpeg's demuxer cuts them (its own
/// frame walker, not ours), without decoding; `None` without ffmpeg.
fn packet_md5s(path: &Path) -> Option<Vec<String>> {
    let ffmpeg = tool("ffmpeg")?;
    let out = run(
        &ffmpeg,
        &[
            "-v".as_ref(),
            "error".as_ref(),
            "-i".as_ref(),
            path.as_os_str(),
            "-map".as_ref(),
            "0:a:0".as_ref(),
            "-c".as_ref(),
            "copy".as_ref(),
            "-f".as_ref(),
            "framemd5".as_ref(),
            "-".as_ref(),
        ],
    );
    Some(
        String::from_utf8_lossy(&out)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split(',').nth(5).map(|h| h.trim().to_string()))
            .collect(),
    )
}

/// Asserts that `inner` occurs in `outer` as a contiguous run, and returns where.
fn find_run<T: PartialEq + std::fmt::Debug>(outer: &[T], inner: &[T], what: &str) -> usize {
    assert!(!inner.is_empty(), "{what}");
    outer
        .windows(inner.len())
        .position(|w| w == inner)
        .unwrap_or_else(|| panic!("{what}: the original packets are not in the output unchanged"))
}

#[test]
fn mp3_cue_frames_go_between_the_original_frames_and_the_info_frame_is_corrected() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["stamp_cbr.mp3", "stamp_vbr.mp3"] {
        for at in [
            vec![At::Start],
            vec![At::Start, At::End],
            vec![At::Time(std::time::Duration::from_secs(1))],
        ] {
            let what = format!("{name} at {at:?}");
            let input = dir.path().join(name);
            let output = dir.path().join(format!("out-{name}"));
            let source = write_label(&Mp3, &read_fixture(name), &sample_label());
            std::fs::write(&input, &source).unwrap();
            let stamped = stamp_file(&input, &output, &Cue::default(), &at, &Mode::Insert).unwrap();
            assert_eq!(stamped.format, "mp3");
            let out = std::fs::read(&output).unwrap();
            // The tags before and after the audio are kept, and the label with them.
            let tag_len = 10 + syncsafe(&source[6..10]);
            assert_eq!(out[..tag_len], source[..tag_len], "{what}: ID3v2 tag kept");
            if name == "stamp_vbr.mp3" {
                assert_eq!(
                    out[out.len() - 128..],
                    source[source.len() - 128..],
                    "{what}: ID3v1 kept"
                );
            }
            assert_eq!(found_texts(&Mp3, &out), [sample_json()], "{what}");
            decodes_cleanly(&output, &what);
            let (rate, channels) = (stamped.spec.sample_rate, usize::from(stamped.spec.channels));
            let cue_s = stamped.cue_frames as f64 / f64::from(rate);
            if let (Some(before), Some(after)) = (duration(&input), duration(&output)) {
                let added = after - before;
                // The cue's encoder padding and the content's delay meet at each joint, and a cue
                // in the middle is followed by up to 3 silent frames carrying the bit reservoir.
                let slack = (4.0 * 1152.0 + 1105.0) / f64::from(rate);
                assert!(
                    added >= cue_s * at.len() as f64 - 0.001 && added <= (cue_s + slack) * at.len() as f64,
                    "{what}: {before} s became {after} s for {} cue(s) of {cue_s} s",
                    at.len()
                );
            }
            if let (Some(before), Some(after)) = (packet_md5s(&input), packet_md5s(&output)) {
                if at.len() == 1 && at[0] != At::Start {
                    // A cue in the middle: the packets before it and after it are unchanged.
                    let head = before.iter().zip(&after).take_while(|(a, b)| a == b).count();
                    assert!(head > 10 && head < before.len() - 10, "{what}: split at packet {head}");
                    assert_eq!(after[after.len() - (before.len() - head)..], before[head..], "{what}");
                } else {
                    let at = find_run(&after, &before, &what);
                    assert!(at > 0, "{what}: the cue comes first");
                }
                assert_eq!(
                    after.len() as u64,
                    xing_frames(&out).unwrap() as u64,
                    "{what}: Xing frame count"
                );
            }
            if let Some(samples) = decode_f32(&output) {
                // In the middle, LAME's priming samples (576 + 529 of decoder delay) precede the cue.
                let first = stamped.positions[0] as usize + if at[0] == At::Start { 0 } else { 1105 };
                assert_cue_at(&samples, channels, rate, first, &what);
                if at.len() == 2 {
                    let end = samples.len() / channels - stamped.cue_frames as usize;
                    assert_cue_at(&samples, channels, rate, end, &what);
                }
            }
        }
    }
}

fn syncsafe(b: &[u8]) -> usize {
    b.iter().fold(0, |n, &x| (n << 7) | usize::from(x & 0x7f))
}

/// The frame count of the first Xing / Info header in `data`.
fn xing_frames(data: &[u8]) -> Option<u32> {
    let at = data.windows(4).position(|w| w == b"Info" || w == b"Xing")?;
    Some(u32::from_be_bytes(data[at + 8..at + 12].try_into().unwrap()))
}

/// The first audio stream of `path` decoded by ffmpeg to interleaved 32-bit integers (exact for
/// lossless codecs); `None` without ffmpeg.
fn decode_s32(path: &Path) -> Option<Vec<i32>> {
    let ffmpeg = tool("ffmpeg")?;
    let out = run(
        &ffmpeg,
        &[
            "-v".as_ref(),
            "error".as_ref(),
            "-i".as_ref(),
            path.as_os_str(),
            "-map".as_ref(),
            "0:a:0".as_ref(),
            "-f".as_ref(),
            "s32le".as_ref(),
            "-c:a".as_ref(),
            "pcm_s32le".as_ref(),
            "-".as_ref(),
        ],
    );
    Some(
        out.chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    )
}

/// The metadata blocks of a FLAC file as `(type, stored bytes)`.
fn flac_blocks(data: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 4;
    loop {
        let len = u32::from_be_bytes([0, data[pos + 1], data[pos + 2], data[pos + 3]]) as usize;
        out.push((data[pos] & 0x7f, data[pos..pos + 4 + len].to_vec()));
        if data[pos] & 0x80 != 0 {
            return out;
        }
        pos += 4 + len;
    }
}

#[test]
fn flac_is_re_encoded_losslessly_with_every_metadata_block_kept() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["ffmpeg.flac", "sox.flac", "stamp_24.flac"] {
        for mode in [Mode::Insert, Mode::Mix(Ducking::default())] {
            let what = format!("{name}, {mode:?}");
            let input = dir.path().join(name);
            let output = dir.path().join(format!("out-{name}"));
            let source = write_label(&Flac, &read_fixture(name), &sample_label());
            std::fs::write(&input, &source).unwrap();
            let stamped = stamp_file(&input, &output, &Cue::default(), &[At::Start], &mode).unwrap();
            assert_eq!(stamped.format, "flac");
            let out = std::fs::read(&output).unwrap();
            let (before, after) = (flac_blocks(&source), flac_blocks(&out));
            let kinds = |b: &[(u8, Vec<u8>)]| b.iter().map(|(k, _)| *k).collect::<Vec<_>>();
            assert_eq!(kinds(&after), kinds(&before), "{what}");
            let total = |b: &[u8]| {
                (u64::from(b[17] & 0x0f) << 32) | u64::from(u32::from_be_bytes(b[18..22].try_into().unwrap()))
            };
            let added = match mode {
                Mode::Insert => stamped.cue_frames,
                Mode::Mix(_) => 0,
            };
            for ((kind, old), (_, new)) in before.iter().zip(&after) {
                match kind {
                    0 => {
                        assert_eq!(total(new), total(old) + added, "{what}: total samples");
                        assert_eq!(new[14..18], old[14..18], "{what}: rate, channels, bits");
                    }
                    3 => {
                        assert_eq!(new.len(), old.len(), "{what}");
                        assert!(new[4..].chunks(18).all(|p| p[..8] == [0xff; 8]), "{what}: placeholders");
                    }
                    _ => assert_eq!(new, old, "{what}: block {kind} kept"),
                }
            }
            assert_eq!(found_texts(&Flac, &out), [sample_json()], "{what}");
            decodes_cleanly(&output, &what);
            let channels = usize::from(stamped.spec.channels);
            if let (Some(old), Some(new)) = (decode_s32(&input), decode_s32(&output)) {
                let cue = stamped.cue_frames as usize * channels;
                match mode {
                    Mode::Insert => assert_eq!(new[cue..], old[..], "{what}: every sample after the cue"),
                    Mode::Mix(_) => {
                        assert_eq!(new.len(), old.len(), "{what}");
                        let ramp = (stamped.spec.sample_rate as usize / 50 + 1) * channels;
                        let after = (cue + ramp).min(old.len());
                        assert_eq!(new[after..], old[after..], "{what}: samples after the cue");
                        assert_ne!(new, old, "{what}");
                    }
                }
                if let (Mode::Insert, Some(samples)) = (mode, decode_f32(&output)) {
                    assert_cue_at(&samples, channels, stamped.spec.sample_rate, 0, &what);
                }
            }
        }
    }
}
