//! `stamp_file` on encoded audio: the cue is heard where it was put (its tones and gaps measured
//! in what ffmpeg decodes), the original audio after it is byte-identical, the output decodes
//! without a message, its length is the source's plus the cue, and every piece of metadata (an
//! implicit label among it) survives.

mod common;

use std::ffi::OsStr;
use std::path::Path;

use aigc_label_audio::cue::{At, Cue, Ducking, Mode, Rhythm};
use aigc_label_audio::{Aiff, stamp_file};
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
