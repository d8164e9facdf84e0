//! Keyframe splices for the containers and codecs that used to be re-encoded whole (issue 14):
//! witnessed as `stamp_file.rs` does (ffmpeg decodes the output with no message, tesseract
//! reads the label at 0, 1 and 1.9 s, packet and frame MD5s from the cut on equal the source's,
//! audio and duration unchanged).

mod common;

use std::path::{Path, PathBuf};

use aigc_label_testutil::{fixture, media};
use aigc_label_video::stamp::{At, Method, StampOptions};
use common::stamp::*;

/// HEVC (closed GOP, 3 B-frames) + AAC in Matroska: cut at the IDR at 2 s; x265 numbers its
/// parameter sets 0 like the source, so the segment's are renumbered and join `CodecPrivate`.
#[test]
fn hevc_mkv_keyframes_every_second() {
    check_splice("hevc_gop1s.mkv", 1.0);
}

/// The HEVC record holds the source's sets and the segment's, and stamping again replaces the
/// earlier segment's sets instead of adding more.
#[test]
fn hevc_mkv_restamp_keeps_its_record() {
    let Some((input, _dir, out)) = restamp_twice("hevc_gop1s.mkv") else {
        return;
    };
    let (src, got) = (frame_md5s(&input), frame_md5s(&out));
    assert_eq!(src[50..], got[50..]);
}

/// Stamps fixture `name` twice, checking each output decodes cleanly and that the decoder
/// configuration grows by one segment's parameter sets the first time and not the second.
/// Returns the source, the temporary folder and the last output.
fn restamp_twice(name: &str) -> Option<(PathBuf, tempfile::TempDir, PathBuf)> {
    let t = tools()?;
    let input = fixture(&format!("video/stamp/{name}"));
    let dir = tempfile::tempdir().unwrap();
    let extradata = |file: &Path| -> u64 { probe(&t, file, "stream=extradata_size").parse().unwrap() };
    let mut sizes = vec![extradata(&input)];
    let mut from = input.clone();
    for round in 1..=2 {
        let out = dir.path().join(format!("round{round}-{name}"));
        let report = stamp(&from, &out, &StampOptions::default());
        assert_eq!(report.method, Method::Spliced, "{name} round {round}: {report:?}");
        media::assert_decodes_cleanly(&out, "the stamped file");
        sizes.push(extradata(&out));
        from = out;
    }
    assert!(sizes[1] > sizes[0], "{name}: {sizes:?}");
    assert_eq!(sizes[1], sizes[2], "{name}: {sizes:?}");
    Some((input, dir, from))
}

/// `--at 3s` on HEVC in Matroska: [0, 2) and [3, 4) re-encoded, each stretch with ids of its
/// own, the second between copied.
#[test]
fn hevc_mkv_windows_splice_each() {
    let Some(t) = tools() else { return };
    check_windows(&t, "hevc_gop1s.mkv", (75, 25, 75));
}

/// A fragmented MP4 (H.264 with B-frames + AAC, a fragment per second): the two fragments
/// before 2 s are rewritten with the new samples, the audio in them kept; the rest copied.
#[test]
fn fragmented_mp4_keyframes_every_second() {
    check_splice("h264_frag.mp4", 1.0);
}

/// HEVC (closed GOP, B-frames) + AAC as a fragmented MP4: the same, the segment's renumbered
/// parameter sets joining the `hvcC` of the one sample description.
#[test]
fn fragmented_hevc_keyframes_every_second() {
    check_splice("hevc_frag.mp4", 1.0);
}

/// The spliced fragments keep their decode times (`tfdt`), and a second stamp replaces the
/// first one's parameter sets instead of adding more.
#[test]
fn fragmented_mp4_restamp() {
    let Some((input, _dir, out)) = restamp_twice("h264_frag.mp4") else {
        return;
    };
    // Every frame at its time (the new samples come in presentation order: no B-frames).
    let pts = |file: &Path| -> Vec<i64> {
        let mut pts: Vec<i64> = packet_md5s(file, "v:0").into_iter().map(|p| p.0).collect();
        pts.sort_unstable();
        pts
    };
    assert_eq!(pts(&input), pts(&out));
    assert_eq!(frame_md5s(&input)[50..], frame_md5s(&out)[50..]);
}

/// H.264 with B-frames + MP3 in AVI, its parameter sets in band: cut at the IDR at 2 s; the
/// new frames carry their own SPS and PPS (id 1) in band, idx1 rewritten.
#[test]
fn h264_avi_keyframes_every_second() {
    check_splice("h264_gop1s.avi", 1.0);
}

/// AV1 + AAC in MP4 (libaom, key frames every second, each with a sequence header): cut at
/// the key frame at 2 s; the new temporal units bring their own sequence header in band and
/// the cut brings the source's back, so the track keeps its one sample description.
#[test]
fn av1_mp4_keyframes_every_second() {
    check_splice("av1_gop1s.mp4", 1.0);
}

/// `--at 3s` in FLV (H.264 with B-frames, and at a variable frame rate): [0, 2) and [3, 4) s
/// re-encoded, each from the IDR before its window to the first after it, the second between
/// them copied, every frame at its source time.
#[test]
fn flv_windows_splice_each() {
    let Some(t) = tools() else { return };
    for (name, frames) in [("h264_gop1s.flv", (75, 25, 75)), ("h264_vfr.flv", (60, 20, 60))] {
        let (input, _dir, out) = check_windows(&t, name, frames);
        let times = |f: &[(i64, String)]| f.iter().map(|x| x.0).collect::<Vec<_>>();
        assert_eq!(times(&frame_md5s(&input)), times(&frame_md5s(&out)), "{name}");
        if let Some(read) = ocr(&t, &out, 1.0, 320, 240) {
            assert!(read.contains("AI生成"), "{name} at 1 s: tesseract read {read:?}");
        }
    }
}

/// `--at` windows in AVI: H.264 with `3s` re-encodes [0, 2) and [3, 4) s (its IDR pictures
/// carry the source's parameter sets, so each cut is clean); MPEG-4 Part 2, whose stream
/// starts one slot late, with `3.1s` re-encodes up to the I-VOP in slot 51 and from the one in
/// slot 76; the second between is copied either way. With `start,end` the MPEG-4 windows meet
/// and the whole track is re-encoded in our AVI writer, the audio still copied.
#[test]
fn avi_windows_splice_each() {
    let Some(t) = tools() else { return };
    for (name, at, labelled, splice) in [("h264_gop1s.avi", "3s", 75, 2.0), ("mpeg4_gop1s.avi", "3.1s", 72, 2.04)] {
        let input = fixture(&format!("video/stamp/{name}"));
        let (_dir, out) = output(name);
        let options = StampOptions {
            at: At::parse_list(at).unwrap(),
            ..StampOptions::default()
        };
        let report = stamp(&input, &out, &options);
        assert_eq!(report.method, Method::Spliced, "{name}: {report:?}");
        assert_eq!(
            (report.reencoded_frames, report.copied_frames, report.labelled_frames),
            (75, 25, labelled),
            "{name}"
        );
        assert!((report.splice_at[0] - splice).abs() < 1e-9, "{name}: {report:?}");
        media::assert_decodes_cleanly(&out, "the stamped file");
        assert_eq!(packet_md5s(&input, "a:0"), packet_md5s(&out, "a:0"), "{name}");
        let (src, got) = (frame_md5s(&input), frame_md5s(&out));
        assert_eq!(src.len(), got.len(), "{name}");
        assert_eq!(src[50..75], got[50..75], "{name}: the copied second");
        assert!(src[75..].iter().zip(&got[75..]).all(|(x, y)| x.1 != y.1), "{name}");
        for at in [1.0, 3.5] {
            if let Some(read) = ocr(&t, &out, at, 320, 240) {
                assert!(read.contains("AI生成"), "{name} at {at} s: tesseract read {read:?}");
            }
        }
    }
    let input = fixture("video/stamp/mpeg4_gop1s.avi");
    let (_dir, out) = output("whole.avi");
    let options = StampOptions {
        at: At::parse_list("start,end").unwrap(),
        ..StampOptions::default()
    };
    let report = stamp(&input, &out, &options);
    assert_eq!(report.method, Method::WholeTrack, "{report:?}");
    assert_eq!(report.labelled_frames, 99);
    media::assert_decodes_cleanly(&out, "the stamped file");
    assert_eq!(packet_md5s(&input, "a:0"), packet_md5s(&out, "a:0"));
}

/// `--at 3s` in a fragmented MP4 (H.264 and HEVC): the fragments of [0, 2) and [3, 4) s are
/// rewritten, each stretch with parameter set ids of its own; the fragment between is copied.
#[test]
fn fragmented_windows_splice_each() {
    let Some(t) = tools() else { return };
    for name in ["h264_frag.mp4", "hevc_frag.mp4"] {
        check_windows(&t, name, (75, 25, 75));
    }
}
