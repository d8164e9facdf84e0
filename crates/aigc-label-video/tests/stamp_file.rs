//! Explicit labels on whole video files (issue 14), witnessed by ffmpeg, ffprobe and tesseract:
//! the output decodes without a message, the label is read at 0 s, 1 s and 1.9 s, every packet
//! after the splice and every audio packet is the source's, and the duration is unchanged.

use std::path::{Path, PathBuf};
use std::process::Command;

use aigc_label_image::stamp::Style;
use aigc_label_testutil::media::{Packets::*, assert_decodes_cleanly, duration, framemd5};
use aigc_label_testutil::{fixture, tool};
use aigc_label_video::frames::{FrameSpec, FrameStamper, PixelFormat, Schedule};
use aigc_label_video::stamp::{At, Method, StampOptions, StampReport};

struct Tools {
    ffmpeg: PathBuf,
    ffprobe: PathBuf,
}

fn tools() -> Option<Tools> {
    Some(Tools {
        ffmpeg: tool("ffmpeg")?,
        ffprobe: tool("ffprobe")?,
    })
}

fn output(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    (dir, path)
}

fn stamp(input: &Path, out: &Path, options: &StampOptions) -> StampReport {
    aigc_label_video::stamp_file(input, out, options).unwrap_or_else(|e| panic!("{}: {e}", input.display()))
}

fn text(program: &Path, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn metadata(t: &Tools, file: &Path) -> String {
    text(
        &t.ffprobe,
        &[
            "-v",
            "error",
            "-show_entries",
            "format_tags:chapter=start_time,end_time:chapter_tags",
            "-of",
            "json",
            file.to_str().unwrap(),
        ],
    )
}

/// What tesseract reads in the label's rectangle of the frame at `seconds`, scaled so the ink is
/// about 40 px tall; `None` when tesseract is missing outside CI.
fn ocr(t: &Tools, file: &Path, seconds: f64, width: u32, height: u32) -> Option<String> {
    let tesseract = tool("tesseract")?;
    let spec = FrameSpec::new(width, height, PixelFormat::I420, (1, 25));
    let stamper = FrameStamper::new(spec, Style::default(), Schedule::default()).unwrap();
    let r = stamper.rect();
    let scale = 40.0 / f64::from(stamper.label().ink_height());
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("frame.png");
    let filter = format!(
        "crop={}:{}:{}:{},scale={}:{}:flags=bicubic",
        r.width,
        r.height,
        r.x,
        r.y,
        (f64::from(r.width) * scale) as u32,
        (f64::from(r.height) * scale) as u32
    );
    text(
        &t.ffmpeg,
        &[
            "-nostdin",
            "-v",
            "error",
            "-i",
            file.to_str().unwrap(),
            "-ss",
            &seconds.to_string(),
            "-frames:v",
            "1",
            "-vf",
            &filter,
            png.to_str().unwrap(),
        ],
    );
    let read = text(
        &tesseract,
        &[png.to_str().unwrap(), "-", "-l", "chi_sim+eng", "--psm", "7"],
    );
    let squeezed: String = read.chars().filter(|c| !c.is_whitespace()).collect();
    Some(squeezed.replace("Al", "AI").replace("A|", "AI").replace("A1", "AI"))
}

/// The whole check for one spliced file.
fn check_splice(name: &str, gop_seconds: f64) {
    let Some(t) = tools() else { return };
    let input = fixture(&format!("video/stamp/{name}"));
    let (_dir, out) = output(name);
    let report = stamp(&input, &out, &StampOptions::default());
    assert_eq!(report.method, Method::Spliced, "{report:?}");
    // The first keyframe at or after 2 s.
    let splice = (2.0 / gop_seconds).ceil() * gop_seconds;
    assert_eq!(report.splice_at.len(), 1);
    assert!((report.splice_at[0] - splice).abs() < 1e-6, "{report:?}");
    assert_eq!(report.reencoded_frames, (splice * 25.0) as u64);
    assert_eq!(report.labelled_frames, 50);
    assert_decodes_cleanly(&out, "the stamped file");
    assert!((duration(&out).unwrap() - duration(&input).unwrap()).abs() < 1e-3);
    // Every video packet from the splice on, and every audio packet, is the source's.
    let src_v = framemd5(&input, "0:v:0", Copied).unwrap();
    let out_v = framemd5(&out, "0:v:0", Copied).unwrap();
    assert_eq!(src_v.len(), out_v.len());
    let copied = report.copied_frames as usize;
    assert!(copied > 0);
    assert_eq!(src_v[src_v.len() - copied..], out_v[out_v.len() - copied..]);
    assert_ne!(src_v[0].1, out_v[0].1, "the first packet was re-encoded");
    assert_eq!(
        framemd5(&input, "0:a:0", Copied).unwrap(),
        framemd5(&out, "0:a:0", Copied).unwrap()
    );
    if name == "h264_gop1s.mp4" {
        // The chapter text track too.
        assert_eq!(
            framemd5(&input, "0:d:0", Copied).unwrap(),
            framemd5(&out, "0:d:0", Copied).unwrap()
        );
    }
    // The decoded pictures from the splice on are the source's too; those before are not.
    let (src_f, out_f) = (
        framemd5(&input, "0:v:0", Decoded).unwrap(),
        framemd5(&out, "0:v:0", Decoded).unwrap(),
    );
    assert_eq!(src_f.len(), out_f.len());
    let first_copied = src_f.len() - copied;
    assert_eq!(src_f[first_copied..], out_f[first_copied..]);
    assert!(src_f[..50].iter().zip(&out_f[..50]).all(|(a, b)| a.1 != b.1));
    assert_eq!(metadata(&t, &input), metadata(&t, &out));
    // The label is readable at 0 s, 1 s and 1.9 s.
    for at in [0.0, 1.0, 1.9] {
        if let Some(read) = ocr(&t, &out, at, 320, 240) {
            assert!(read.contains("AI生成"), "{name} at {at} s: tesseract read {read:?}");
        }
    }
}

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

#[test]
fn vp9_webm_keyframes_every_second() {
    check_splice("vp9_gop1s.webm", 1.0);
}

/// Seeking into the copied part of a spliced WebM still works (Cues and SeekHead moved).
#[test]
fn spliced_webm_seeks() {
    let Some(t) = tools() else { return };
    let (_dir, out) = output("seek.webm");
    stamp(&fixture("video/stamp/vp9_gop1s.webm"), &out, &StampOptions::default());
    let seek = |file: &Path| {
        text(
            &t.ffprobe,
            &[
                "-v",
                "error",
                "-read_intervals",
                "3%+#1",
                "-select_streams",
                "v",
                "-show_entries",
                "frame=pts",
                "-of",
                "csv=p=0",
                file.to_str().unwrap(),
            ],
        )
    };
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
    assert_decodes_cleanly(&out, "the stamped file");
    assert!((duration(&out).unwrap() - duration(&input).unwrap()).abs() < 1e-3);
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
    assert_decodes_cleanly(&out, "the stamped file");
    assert_eq!(
        framemd5(&input, "0:a:0", Copied).unwrap(),
        framemd5(&out, "0:a:0", Copied).unwrap()
    );
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
    assert_decodes_cleanly(&out, "the stamped file");
    let (src, got) = (
        framemd5(&input, "0:v:0", Decoded).unwrap(),
        framemd5(&out, "0:v:0", Decoded).unwrap(),
    );
    assert_eq!(src[50..75], got[50..75]);
    assert!(src[75..].iter().zip(&got[75..]).all(|(a, b)| a.1 != b.1));
    if let Some(read) = ocr(&t, &out, 3.5, 320, 240) {
        assert!(read.contains("AI生成"), "tesseract read {read:?} at 3.5 s");
    }
}

/// An implicit label the source carries, and its metadata, survive both ways of writing.
#[test]
fn implicit_label_survives() {
    use aigc_label_core::{Carrier, Label, Limits};
    let Some(_) = tools() else { return };
    let label = Label::new("001191440300708461136T1XGW3", "clip-7");
    for (name, carrier) in [
        ("h264_gop1s.mp4", &aigc_label_video::Bmff as &dyn Carrier),
        ("vp9_gop1s.webm", &aigc_label_video::Matroska),
        ("flv_gop1s.flv", &aigc_label_video::Flv),
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
        stamp(&labelled, &out, &StampOptions::default());
        assert_decodes_cleanly(&out, "the stamped file");
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
    for name in ["flv_gop1s.flv", "mpeg4_gop1s.avi"] {
        let input = fixture(&format!("video/stamp/{name}"));
        let (_dir, out) = output(name);
        let report = stamp(&input, &out, &StampOptions::default());
        assert_eq!(report.method, Method::WholeFile, "{report:?}");
        assert!(report.reason.as_deref().unwrap().contains("re-encoded whole"));
        assert_eq!(report.labelled_frames, 50, "{name}");
        assert_decodes_cleanly(&out, "the stamped file");
        assert!(
            (duration(&out).unwrap() - duration(&input).unwrap()).abs() < 0.05,
            "{name}"
        );
        assert_eq!(
            framemd5(&input, "0:a:0", Copied).unwrap(),
            framemd5(&out, "0:a:0", Copied).unwrap(),
            "{name}"
        );
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
