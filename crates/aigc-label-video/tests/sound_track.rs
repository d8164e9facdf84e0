//! The sound track rewriters of Matroska/WebM, FLV and AVI (`matroska::track`, `flv::track`,
//! `avi::track`, the container half of `stamp --cue` on a video): every sound block of the
//! small fixtures is found, a replaced payload reads back where the old one was, and ffmpeg
//! sees every other packet, of the sound and of the picture, unchanged.

use std::io::Cursor;
use std::path::Path;

use aigc_label_core::Limits;
use aigc_label_testutil::media::{Packets, framemd5};
use aigc_label_testutil::{fixture, tool};
use aigc_label_video::avi::track::AviSound;
use aigc_label_video::flv::track::FlvAudio;
use aigc_label_video::matroska::track::{AUDIO_TRACK, MatroskaTrack};

/// Packets of stream `map` of `bytes` (written to `dir`) as ffmpeg copies them: `(pts, md5)`.
fn packets(dir: &Path, name: &str, bytes: &[u8], map: &str) -> Vec<(i64, String)> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    framemd5(&path, map, Packets::Copied).unwrap()
}

/// Checks a rewrite of `source` into `out` that replaced one sound packet: as many packets, one
/// changed, the picture's all the same.
fn check(name: &str, source: &[u8], out: &[u8]) {
    if tool("ffmpeg").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a0, a1) = (
        packets(dir.path(), &format!("in-{name}"), source, "0:a:0"),
        packets(dir.path(), &format!("out-{name}"), out, "0:a:0"),
    );
    assert_eq!(a0.len(), a1.len(), "{name}: sound packets");
    let changed: Vec<usize> = (0..a0.len()).filter(|&i| a0[i].1 != a1[i].1).collect();
    assert_eq!(changed.len(), 1, "{name}: the replaced packet only");
    assert_eq!(
        packets(dir.path(), &format!("in-{name}"), source, "0:v:0"),
        packets(dir.path(), &format!("out-{name}"), out, "0:v:0"),
        "{name}: the picture"
    );
}

#[test]
fn matroska_blocks_are_replaced_one_for_one() {
    let limits = Limits::default();
    for name in [
        "video/webm_plain.webm",
        "video/mkv_plain.mkv",
        "video/stamp/vp9_gop1s.webm",
    ] {
        let source = std::fs::read(fixture(name)).unwrap();
        let track = MatroskaTrack::open(&mut Cursor::new(&source), AUDIO_TRACK, &limits).unwrap();
        assert!(track.blocks.len() > 3, "{name}");
        let k = track.blocks.len() / 2;
        let old = track.read_block(&mut Cursor::new(&source), k).unwrap();
        // The same packet once more, twice as long: valid for neither codec, but a packet.
        let new = [old.as_slice(), old.as_slice()].concat();
        let mut out = Vec::new();
        track
            .write(&mut Cursor::new(&source), &[(k, &new)], &limits, &mut out)
            .unwrap();
        let again = MatroskaTrack::open(&mut Cursor::new(&out), AUDIO_TRACK, &limits).unwrap();
        assert_eq!(again.blocks.len(), track.blocks.len(), "{name}");
        assert_eq!(again.read_block(&mut Cursor::new(&out), k).unwrap(), new, "{name}");
        assert_eq!(again.blocks[k].ts, track.blocks[k].ts, "{name}: its timestamp");
        // By the packet, give or take a byte or two where a size field changed width.
        let grew = out.len() as i64 - source.len() as i64 - old.len() as i64;
        assert!(grew.abs() < 8, "{name}: the file grew by the packet ({grew} more)");
        check(name.rsplit('/').next().unwrap(), &source, &out);
    }
}

#[test]
fn flv_audio_tags_are_replaced_one_for_one() {
    let limits = Limits::default();
    for name in [
        "video/flv_plain.flv",
        "video/flv_keyframes.flv",
        "video/sound/flv_mp3.flv",
    ] {
        let source = std::fs::read(fixture(name)).unwrap();
        let flv = FlvAudio::open(&mut Cursor::new(&source), &limits).unwrap();
        assert!(flv.tags.len() > 3, "{name}");
        let k = flv.tags.len() / 2;
        let old = flv.read_payload(&mut Cursor::new(&source), k).unwrap();
        // AAC: the frame twice (the tags after it move); MP3, which ffmpeg parses into frames
        // again: the frame with its last byte changed.
        let new = if flv.tags[k].aac_type.is_some() {
            [old.as_slice(), old.as_slice()].concat()
        } else {
            let mut new = old.clone();
            *new.last_mut().unwrap() ^= 0xff;
            new
        };
        let mut out = Vec::new();
        flv.write(&mut Cursor::new(&source), &[(k, &new)], &limits, &mut out)
            .unwrap();
        let again = FlvAudio::open(&mut Cursor::new(&out), &limits).unwrap();
        assert_eq!(again.tags.len(), flv.tags.len(), "{name}");
        assert_eq!(again.read_payload(&mut Cursor::new(&out), k).unwrap(), new, "{name}");
        assert_eq!(again.tags[k].ms, flv.tags[k].ms, "{name}: its timestamp");
        assert_eq!(out.len(), source.len() + new.len() - old.len(), "{name}");
        check(name.rsplit('/').next().unwrap(), &source, &out);
    }
}

#[test]
fn avi_sound_chunks_are_replaced_one_for_one() {
    let limits = Limits::default();
    for name in [
        "video/avi_plain.avi",
        "video/stamp/mpeg4_gop1s.avi",
        "video/sound/avi_pcm.avi",
    ] {
        let source = std::fs::read(fixture(name)).unwrap();
        let avi = AviSound::open(&mut Cursor::new(&source), &limits).unwrap();
        assert!(avi.chunks.len() > 3, "{name}");
        let k = avi.chunks.len() / 2;
        let old = avi.read_chunk(&mut Cursor::new(&source), k).unwrap();
        // One byte more: an odd size, padded; 16-bit PCM, which ffmpeg reads in whole samples,
        // gets a changed byte instead.
        let mut new = old.clone();
        if avi.format.bits == 16 {
            new[0] ^= 0xff;
        } else {
            new.extend_from_slice(&old[..old.len().min(1)]);
        }
        let mut out = Vec::new();
        avi.write(&mut Cursor::new(&source), &[(k, &new)], &limits, &mut out)
            .unwrap();
        let again = AviSound::open(&mut Cursor::new(&out), &limits).unwrap();
        assert_eq!(again.chunks.len(), avi.chunks.len(), "{name}");
        assert_eq!(again.read_chunk(&mut Cursor::new(&out), k).unwrap(), new, "{name}");
        assert_eq!(again.format, avi.format, "{name}");
        check(name.rsplit('/').next().unwrap(), &source, &out);
    }
}
