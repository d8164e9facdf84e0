//! Explicit labels on whole video files (issue 14), witnessed by ffmpeg, ffprobe and tesseract:
//! the output decodes without a message, the label is read at 0 s, 1 s and 1.9 s, every packet
//! after the splice and every audio packet is the source's, and the duration is unchanged.

mod common;

use std::path::Path;

use aigc_label_testutil::fixture;
use aigc_label_testutil::media;
use aigc_label_video::stamp::{At, Method, StampOptions};
use common::stamp::*;

#[test]
fn h264_keyframes_every_second() {
    check_splice("h264_gop1s.mp4", 1.0);
}

#[test]
fn h264_keyframes_every_three_seconds() {
    check_splice("h264_gop3s.mp4", 3.0);
}

#[test]
fn hevc_keyframes_every_second() {
    check_splice("hevc_gop1s.mp4", 1.0);
}

/// H.264 with B-frames in Matroska: cut at the IDR at 2 s, the new parameter sets added to the
/// track's CodecPrivate (chapters and tags kept).
#[test]
fn h264_mkv_keyframes_every_second() {
    check_splice("h264_gop1s.mkv", 1.0);
}

/// H.264 with B-frames in FLV, with a keyframe index in onMetaData: cut at the IDR at 2 s, the
/// new parameter sets added to the AVC sequence header.
#[test]
fn h264_flv_keyframes_every_second() {
    check_splice("h264_gop1s.flv", 1.0);
}

/// The spliced FLV's onMetaData still points at keyframes: `lastkeyframelocation` moved with
/// the tags, and seeking (which ffmpeg bases on `keyframes.filepositions`) lands where it did
/// in the source.
#[test]
fn spliced_flv_keyframe_index() {
    let Some(t) = tools() else { return };
    let input = fixture("video/stamp/h264_gop1s.flv");
    let (_dir, out) = output("index.flv");
    stamp(&input, &out, &StampOptions::default());
    let tag = |file: &Path, key: &str| probe(&t, file, &format!("format_tags={key}"));
    // It lies after the re-encoded stretch, so it moves by as much as the file's size did.
    let (old, new): (i64, i64) = (
        tag(&input, "lastkeyframelocation").parse().unwrap(),
        tag(&out, "lastkeyframelocation").parse().unwrap(),
    );
    let grew = std::fs::metadata(&out).unwrap().len() as i64 - std::fs::metadata(&input).unwrap().len() as i64;
    assert_ne!(grew, 0);
    assert_eq!(new - old, grew);
    let seek = |file: &Path| first_frame_after_seek(&t, file);
    let got = seek(&out);
    assert!(!got.trim().is_empty());
    assert_eq!(seek(&input), got);
}

/// MPEG-4 Part 2 + MP3 in AVI as ffmpeg writes it: the video starts with a dropped frame (an
/// empty chunk in slot 1), so the I-VOP after 2 s is in slot 51 and 50 frames are re-encoded,
/// 49 of them shown before 2 s; idx1 rewritten.
#[test]
fn mpeg4_avi_keyframes_every_second() {
    check_splice_at("mpeg4_gop1s.avi", 51.0 / 25.0, 50, 49);
}

#[test]
fn vp9_webm_keyframes_every_second() {
    check_splice("vp9_gop1s.webm", 1.0);
}

/// AV1 in WebM (libaom, key frames every second): spliced at the key frame at 2 s like VP9.
#[test]
fn av1_webm_keyframes_every_second() {
    check_splice("av1_gop1s.webm", 1.0);
}

/// A variable-frame-rate source (every fifth frame of 25 fps dropped, key frames every second):
/// the re-encoded frames take the source's own timestamps, so every packet keeps its time, and
/// the label covers the 40 frames of the first 2 s.
#[test]
fn vfr_keeps_its_timing() {
    let Some(t) = tools() else { return };
    for name in ["h264_vfr.mp4", "h264_vfr.mkv"] {
        let input = fixture(&format!("video/stamp/{name}"));
        let (_dir, out) = output(name);
        let report = stamp(&input, &out, &StampOptions::default());
        assert_eq!(report.method, Method::Spliced, "{name}: {report:?}");
        assert_eq!(report.splice_at, [2.0], "{name}");
        assert_eq!((report.reencoded_frames, report.labelled_frames), (40, 40), "{name}");
        media::assert_decodes_cleanly(&out, "the stamped file");
        let times = |file: &Path| {
            let mut pts: Vec<i64> = packet_md5s(file, "v:0").into_iter().map(|p| p.0).collect();
            pts.sort_unstable();
            pts
        };
        let (src, got) = (times(&input), times(&out));
        assert_eq!(src.len(), 80, "{name}");
        assert_eq!(src, got, "{name}");
        let (src, got) = (frame_md5s(&input), frame_md5s(&out));
        assert_eq!(
            src.iter().map(|f| f.0).collect::<Vec<_>>(),
            got.iter().map(|f| f.0).collect::<Vec<_>>()
        );
        assert_eq!(src[40..], got[40..], "{name}");
        for at in [0.0, 1.0, 1.9] {
            if let Some(read) = ocr(&t, &out, at, 320, 240) {
                assert!(read.contains("AI生成"), "{name} at {at} s: tesseract read {read:?}");
            }
        }
    }
}

/// The whole re-encode keeps a variable frame rate too: `--at 3s` on a VFR Sorenson H.263 FLV
/// file (a codec the splice does not handle) re-encodes it whole, every frame at the source's
/// time, and labels the 40 frames of [0, 2) s and the 20 of [3, 4) s.
#[test]
fn whole_reencode_keeps_vfr_timing() {
    let Some(t) = tools() else { return };
    let input = fixture("video/stamp/flv_vfr.flv");
    let (_dir, out) = output("vfr_whole.flv");
    let options = StampOptions {
        at: At::parse_list("3s").unwrap(),
        ..StampOptions::default()
    };
    let report = stamp(&input, &out, &options);
    assert_eq!(report.method, Method::WholeFile, "{report:?}");
    assert_eq!((report.reencoded_frames, report.labelled_frames), (80, 60));
    media::assert_decodes_cleanly(&out, "the stamped file");
    let times = |file: &Path| {
        let mut pts: Vec<i64> = frame_md5s(file).into_iter().map(|f| f.0).collect();
        pts.sort_unstable();
        pts
    };
    assert_eq!(times(&input), times(&out));
    assert_eq!(packet_md5s(&input, "a:0"), packet_md5s(&out, "a:0"));
    for at in [0.0, 1.9, 3.5] {
        if let Some(read) = ocr(&t, &out, at, 320, 240) {
            assert!(read.contains("AI生成"), "at {at} s: tesseract read {read:?}");
        }
    }
    if let Some(read) = ocr(&t, &out, 2.5, 320, 240) {
        assert!(!read.contains("生成"), "tesseract read {read:?} at 2.5 s");
    }
}

/// Seeking into the copied part of a spliced WebM still works (Cues and SeekHead moved).
#[test]
fn spliced_webm_seeks() {
    let Some(t) = tools() else { return };
    let (_dir, out) = output("seek.webm");
    stamp(&fixture("video/stamp/vp9_gop1s.webm"), &out, &StampOptions::default());
    let seek = |file: &Path| first_frame_after_seek(&t, file);
    let (src, got) = (seek(&fixture("video/stamp/vp9_gop1s.webm")), seek(&out));
    assert!(!got.trim().is_empty());
    assert_eq!(src, got);
}

/// An open GOP's keyframes have leading pictures that reference the group before them: none is
/// a clean cut, so the whole track is re-encoded (and says so), and the output decodes cleanly.
#[test]
fn open_gop_is_not_cut_at_its_keyframes() {
    let Some(t) = tools() else { return };
    let input = fixture("video/stamp/h264_opengop.mp4");
    let (_dir, out) = output("open.mp4");
    let report = stamp(&input, &out, &StampOptions::default());
    assert_eq!(report.method, Method::WholeTrack, "{report:?}");
    assert!(report.reason.as_deref().unwrap().contains("no clean keyframe"));
    // The whole track keeps (at least) the source's keyframe spacing of a second; the encoder
    // may add scene-cut keyframes.
    let keys = text(
        &t.ffprobe,
        &[
            "-v",
            "error",
            "-select_streams",
            "v",
            "-show_entries",
            "packet=flags",
            "-of",
            "csv=p=0",
            out.to_str().unwrap(),
        ],
    );
    assert!(keys.lines().filter(|l| l.starts_with('K')).count() >= 4, "{keys}");
    media::assert_decodes_cleanly(&out, "the stamped file");
    assert!((duration(&out) - duration(&input)).abs() < 1e-3);
}

/// The label is gone once the opening window has passed (the source has none).
#[test]
fn label_absent_after_its_window() {
    let Some(t) = tools() else { return };
    let input = fixture("video/stamp/h264_gop1s.mp4");
    let (_dir, out) = output("after.mp4");
    stamp(&input, &out, &StampOptions::default());
    if let Some(read) = ocr(&t, &out, 2.5, 320, 240) {
        assert!(!read.contains("生成"), "tesseract read {read:?} at 2.5 s");
    }
}

/// `--at end,50%`: two more re-encoded stretches, each from the keyframe before its window to
/// the first after it; everything between is copied.
#[test]
fn more_windows_splice_each() {
    let Some(t) = tools() else { return };
    let input = fixture("video/stamp/h264_gop1s.mp4");
    let (_dir, out) = output("windows.mp4");
    let options = StampOptions {
        at: At::parse_list("start,50%,end").unwrap(),
        ..StampOptions::default()
    };
    let report = stamp(&input, &out, &options);
    // [0, 2) and 50% = [2, 4) and the end [2, 4) merge into one stretch: the whole track.
    assert_eq!(report.method, Method::WholeTrack, "{report:?}");
    assert_eq!(report.labelled_frames, 100);
    media::assert_decodes_cleanly(&out, "the stamped file");
    assert_eq!(packet_md5s(&input, "a:0"), packet_md5s(&out, "a:0"));
    let options = StampOptions {
        at: At::parse_list("3s").unwrap(),
        ..StampOptions::default()
    };
    let input = fixture("video/stamp/hevc_gop1s.mp4");
    let (_dir2, out) = output("windows_hevc.mp4");
    let options = StampOptions {
        seconds: 2.0,
        ..options
    };
    let report = stamp(&input, &out, &options);
    // [0, 2) and [3, 5): frames 0-49 and 75-99 re-encoded, 50-74 copied.
    assert_eq!(report.method, Method::Spliced, "{report:?}");
    assert_eq!(
        (report.reencoded_frames, report.copied_frames, report.labelled_frames),
        (75, 25, 75)
    );
    assert_eq!(report.splice_at, [2.0]);
    media::assert_decodes_cleanly(&out, "the stamped file");
    let (src, got) = (frame_md5s(&input), frame_md5s(&out));
    assert_eq!(src[50..75], got[50..75]);
    assert!(src[75..].iter().zip(&got[75..]).all(|(a, b)| a.1 != b.1));
    if let Some(read) = ocr(&t, &out, 3.5, 320, 240) {
        assert!(read.contains("AI生成"), "tesseract read {read:?} at 3.5 s");
    }
}

/// Stamping a stamped H.264 file again replaces the earlier label's frames, and their parameter
/// sets leave the record (`avcC`, `CodecPrivate`, the FLV sequence header) with them: it does
/// not grow from one stamp to the next, the output decodes cleanly and the frames after the
/// splice are still the source's.
#[test]
fn restamping_does_not_grow_avcc() {
    let Some(t) = tools() else { return };
    for name in ["h264_gop1s.mp4", "h264_gop1s.mkv", "h264_gop1s.flv"] {
        let input = fixture(&format!("video/stamp/{name}"));
        let dir = tempfile::tempdir().unwrap();
        let extradata = |file: &Path| -> u64 { probe(&t, file, "stream=extradata_size").parse().unwrap() };
        let mut sizes = vec![extradata(&input)];
        let mut from = input.clone();
        for round in 1..=3 {
            let out = dir.path().join(format!("round{round}-{name}"));
            let report = stamp(&from, &out, &StampOptions::default());
            assert_eq!(report.method, Method::Spliced, "{name} round {round}: {report:?}");
            media::assert_decodes_cleanly(&out, "the stamped file");
            sizes.push(extradata(&out));
            from = out;
        }
        // The source's sets plus one stamp's, every round.
        assert!(sizes[1] > sizes[0], "{name}: {sizes:?}");
        assert_eq!(sizes[1], sizes[2], "{name}: {sizes:?}");
        assert_eq!(sizes[2], sizes[3], "{name}: {sizes:?}");
        let (src, got) = (frame_md5s(&input), frame_md5s(&from));
        assert_eq!(src[50..], got[50..], "{name}");
        if let Some(read) = ocr(&t, &from, 1.0, 320, 240) {
            assert!(read.contains("AI生成"), "{name}: tesseract read {read:?}");
        }
    }
}

/// `--at 3s` in Matroska (H.264 with B-frames, VP9): the stretches [0, 2) and [3, 4) s are
/// re-encoded, each from the keyframe before its window to the first after it, and the second
/// between them is copied.
#[test]
fn matroska_windows_splice_each() {
    let Some(t) = tools() else { return };
    for name in ["h264_gop1s.mkv", "vp9_gop1s.webm"] {
        let (input, _dir, out) = check_windows(&t, name, (75, 25, 75));
        assert!((duration(&out) - duration(&input)).abs() < 1e-3, "{name}");
        if let Some(read) = ocr(&t, &out, 1.0, 320, 240) {
            assert!(read.contains("AI生成"), "{name} at 1 s: tesseract read {read:?}");
        }
        if let Some(read) = ocr(&t, &out, 2.5, 320, 240) {
            assert!(!read.contains("生成"), "{name}: tesseract read {read:?} at 2.5 s");
        }
    }
}

/// An implicit label the source carries, and its metadata, survive both ways of writing.
#[test]
fn implicit_label_survives() {
    use aigc_label_core::{Carrier, Label, Limits};
    if tools().is_none() {
        return;
    }
    let label = Label::new("001191440300708461136T1XGW3", "clip-7");
    for (name, carrier) in [
        ("h264_gop1s.mp4", &aigc_label_video::Bmff as &dyn Carrier),
        ("vp9_gop1s.webm", &aigc_label_video::Matroska),
        ("flv_gop1s.flv", &aigc_label_video::Flv),
        ("h264_gop1s.flv", &aigc_label_video::Flv),
        ("h264_gop1s.mkv", &aigc_label_video::Matroska),
        ("mpeg4_gop1s.avi", &aigc_label_video::Avi),
    ] {
        let (dir, out) = output(name);
        let labelled = dir.path().join(format!("labelled-{name}"));
        let source = std::fs::read(fixture(&format!("video/stamp/{name}"))).unwrap();
        let mut bytes = Vec::new();
        carrier
            .write(
                &mut std::io::Cursor::new(source),
                &mut bytes,
                &label,
                &Limits::default(),
            )
            .unwrap();
        std::fs::write(&labelled, bytes).unwrap();
        let report = stamp(&labelled, &out, &StampOptions::default());
        if name.starts_with("h264_") {
            assert_eq!(report.method, Method::Spliced, "{name}: {report:?}");
        }
        media::assert_decodes_cleanly(&out, "the stamped file");
        let found = carrier
            .find(&mut std::fs::File::open(&out).unwrap(), &Limits::default())
            .unwrap();
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        assert!(found[0].text.contains("clip-7"), "{name}: {}", found[0].text);
    }
}

/// Containers the splice does not handle are re-encoded whole, the audio copied.
#[test]
fn other_containers_are_reencoded_whole() {
    let Some(t) = tools() else { return };
    // Sorenson H.263 in FLV has no splice.
    for (name, at, labelled) in [("flv_gop1s.flv", "start", 50)] {
        let input = fixture(&format!("video/stamp/{name}"));
        let (_dir, out) = output(name);
        let options = StampOptions {
            at: At::parse_list(at).unwrap(),
            ..StampOptions::default()
        };
        let report = stamp(&input, &out, &options);
        assert_eq!(report.method, Method::WholeFile, "{report:?}");
        assert!(report.reason.as_deref().unwrap().contains("re-encoded whole"));
        assert_eq!(report.labelled_frames, labelled, "{name}");
        media::assert_decodes_cleanly(&out, "the stamped file");
        assert!((duration(&out) - duration(&input)).abs() < 0.05, "{name}");
        assert_eq!(packet_md5s(&input, "a:0"), packet_md5s(&out, "a:0"), "{name}");
        for at in [0.0, 1.0, 1.9] {
            if let Some(read) = ocr(&t, &out, at, 320, 240) {
                assert!(read.contains("AI生成"), "{name} at {at} s: tesseract read {read:?}");
            }
        }
    }
}

#[test]
fn a_short_window_is_refused() {
    let Some(_) = tools() else { return };
    let (_dir, out) = output("short.mp4");
    let options = StampOptions {
        seconds: 1.5,
        ..StampOptions::default()
    };
    let err = aigc_label_video::stamp_file(&fixture("video/stamp/h264_gop1s.mp4"), &out, &options).unwrap_err();
    assert!(err.to_string().contains("at least 2 s"), "{err}");
    assert!(!out.exists());
}

#[test]
fn at_list_parses() {
    assert_eq!(
        At::parse_list("start,end,50%,12.5s").unwrap(),
        [At::Start, At::End, At::Fraction(0.5), At::Seconds(12.5)]
    );
    assert!(At::parse_list("middle").is_err());
    assert!(At::parse_list("150%").is_err());
}
