//! Helpers shared by the whole-file stamp tests (`stamp_file.rs`, `stamp_splice.rs`): the
//! tools they run, the MD5s they compare, what tesseract reads, and the whole check of one
//! spliced file.

use std::path::{Path, PathBuf};
use std::process::Command;

use aigc_label_image::stamp::Style;
use aigc_label_testutil::media::{self, Packets};
use aigc_label_testutil::{fixture, tool};
use aigc_label_video::frames::{FrameSpec, FrameStamper, PixelFormat, Schedule};
use aigc_label_video::stamp::{At, Method, StampOptions, StampReport};

pub struct Tools {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
}

pub fn tools() -> Option<Tools> {
    Some(Tools {
        ffmpeg: tool("ffmpeg")?,
        ffprobe: tool("ffprobe")?,
    })
}

pub fn output(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    (dir, path)
}

pub fn stamp(input: &Path, out: &Path, options: &StampOptions) -> StampReport {
    aigc_label_video::stamp_file(input, out, options).unwrap_or_else(|e| panic!("{}: {e}", input.display()))
}

pub fn text(program: &Path, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Per-packet MD5s of stream `spec` (`v:0`, `a:0`), copied without decoding: `(pts, md5)`.
pub fn packet_md5s(file: &Path, spec: &str) -> Vec<(i64, String)> {
    media::framemd5(file, &format!("0:{spec}"), Packets::Copied).expect("ffmpeg")
}

/// Decoded-frame MD5s of the first video stream: `(pts, md5)`.
pub fn frame_md5s(file: &Path) -> Vec<(i64, String)> {
    media::framemd5(file, "0:v:0", Packets::Decoded).expect("ffmpeg")
}

/// The presentation time of the first video frame ffprobe decodes after seeking to 3 s (a
/// seek that goes through the container's index: Cues, `keyframes`).
pub fn first_frame_after_seek(t: &Tools, file: &Path) -> String {
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
}

/// One value ffprobe shows for `entries` (`format=duration`) of the first video stream.
pub fn probe(t: &Tools, file: &Path, entries: &str) -> String {
    text(
        &t.ffprobe,
        &[
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            entries,
            "-of",
            "csv=p=0",
            file.to_str().unwrap(),
        ],
    )
    .trim()
    .to_string()
}

pub fn duration(file: &Path) -> f64 {
    media::duration(file).expect("ffprobe")
}

pub fn metadata(t: &Tools, file: &Path) -> String {
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
pub fn ocr(t: &Tools, file: &Path, seconds: f64, width: u32, height: u32) -> Option<String> {
    let tesseract = tool("tesseract")?;
    let spec = FrameSpec::new(width, height, PixelFormat::I420, (1, 25));
    let stamper = FrameStamper::new(spec, Style::default(), Schedule::default()).unwrap();
    let r = stamper.rect();
    let scale = 40.0 / f64::from(stamper.label().ink_height());
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("frame.png");
    let crop = format!(
        "crop={}:{}:{}:{},scale={}:{}:flags=bicubic",
        r.width,
        r.height,
        r.x,
        r.y,
        (f64::from(r.width) * scale) as u32,
        (f64::from(r.height) * scale) as u32
    );
    // Tesseract misreads some frames in colour and others in grey: both reads are returned, so
    // a label counts as read when either has it, and as absent only when neither does.
    let mut reads = Vec::new();
    for filter in [crop.clone(), format!("{crop},format=gray")] {
        text(
            &t.ffmpeg,
            &[
                "-nostdin",
                "-v",
                "error",
                "-y",
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
        reads.push(
            squeezed
                .replace("Al", "AI")
                .replace("A|", "AI")
                .replace("A1", "AI")
                .replace("Ai", "AI"),
        );
    }
    Some(reads.join(" | "))
}

/// The whole check for one spliced file.
pub fn check_splice(name: &str, gop_seconds: f64) {
    // The first keyframe at or after 2 s.
    let splice = (2.0 / gop_seconds).ceil() * gop_seconds;
    check_splice_at(name, splice, (splice * 25.0) as u64, 50);
}

/// [`check_splice`] for a file whose cut is at `splice` seconds, after `reencoded` frames, with
/// `labelled` frames in the first 2 s.
pub fn check_splice_at(name: &str, splice: f64, reencoded: u64, labelled: u64) {
    let Some(t) = tools() else { return };
    let input = fixture(&format!("video/stamp/{name}"));
    let (_dir, out) = output(name);
    let report = stamp(&input, &out, &StampOptions::default());
    assert_eq!(report.method, Method::Spliced, "{report:?}");
    assert_eq!(report.splice_at.len(), 1);
    assert!((report.splice_at[0] - splice).abs() < 1e-6, "{report:?}");
    assert_eq!(report.reencoded_frames, reencoded);
    assert_eq!(report.labelled_frames, labelled);
    media::assert_decodes_cleanly(&out, "the stamped file");
    assert!((duration(&out) - duration(&input)).abs() < 1e-3);
    // Every video packet from the splice on, and every audio packet, is the source's.
    let src_v = packet_md5s(&input, "v:0");
    let out_v = packet_md5s(&out, "v:0");
    assert_eq!(src_v.len(), out_v.len());
    let copied = report.copied_frames as usize;
    assert!(copied > 0);
    assert_eq!(src_v[src_v.len() - copied..], out_v[out_v.len() - copied..]);
    assert_ne!(src_v[0].1, out_v[0].1, "the first packet was re-encoded");
    assert_eq!(packet_md5s(&input, "a:0"), packet_md5s(&out, "a:0"));
    if name == "h264_gop1s.mp4" {
        // The chapter text track too.
        assert_eq!(packet_md5s(&input, "d:0"), packet_md5s(&out, "d:0"));
    }
    // The decoded pictures from the splice on are the source's too; those before are not.
    let (src_f, out_f) = (frame_md5s(&input), frame_md5s(&out));
    assert_eq!(src_f.len(), out_f.len());
    let first_copied = src_f.len() - copied;
    assert_eq!(src_f[first_copied..], out_f[first_copied..]);
    assert!(src_f[..50].iter().zip(&out_f[..50]).all(|(a, b)| a.1 != b.1));
    // FLV's onMetaData holds sizes and a position the splice moves; every other tag stays.
    let moved = ["\"datasize\"", "\"videosize\"", "\"lastkeyframelocation\""];
    let kept = |m: String| {
        m.lines()
            .filter(|l| !moved.iter().any(|k| l.contains(k)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(kept(metadata(&t, &input)), kept(metadata(&t, &out)));
    // The label is readable at 0 s, 1 s and 1.9 s.
    for at in [0.0, 1.0, 1.9] {
        if let Some(read) = ocr(&t, &out, at, 320, 240) {
            assert!(read.contains("AI生成"), "{name} at {at} s: tesseract read {read:?}");
        }
    }
}

/// The check of a `--at 3s` splice (label windows [0, 2) and [3, 4) s) of fixture
/// `video/stamp/{name}`: re-encoded, copied and labelled frames as `frames`, the cut at 2 s,
/// the file decoding cleanly with as many frames and the sound's packets unchanged, the second
/// between the windows (frames `2/3` of the re-encoded count up to it) copied and every frame
/// after it new, the label read at 3.5 s. Returns the input and the output (kept while the
/// folder lives) for further checks.
pub fn check_windows(t: &Tools, name: &str, frames: (u64, u64, u64)) -> (PathBuf, tempfile::TempDir, PathBuf) {
    let input = fixture(&format!("video/stamp/{name}"));
    let (dir, out) = output(name);
    let options = StampOptions {
        at: At::parse_list("3s").unwrap(),
        ..StampOptions::default()
    };
    let report = stamp(&input, &out, &options);
    assert_eq!(report.method, Method::Spliced, "{name}: {report:?}");
    let counts = (report.reencoded_frames, report.copied_frames, report.labelled_frames);
    assert_eq!(counts, frames, "{name}");
    assert_eq!(report.splice_at, [2.0], "{name}");
    media::assert_decodes_cleanly(&out, "the stamped file");
    assert_eq!(packet_md5s(&input, "a:0"), packet_md5s(&out, "a:0"), "{name}");
    let (src, got) = (frame_md5s(&input), frame_md5s(&out));
    assert_eq!(src.len(), got.len(), "{name}");
    let (a, b) = (frames.0 as usize * 2 / 3, frames.0 as usize);
    assert_eq!(src[a..b], got[a..b], "{name}: the copied second");
    assert!(src[b..].iter().zip(&got[b..]).all(|(x, y)| x.1 != y.1), "{name}");
    if let Some(read) = ocr(t, &out, 3.5, 320, 240) {
        assert!(read.contains("AI生成"), "{name} at 3.5 s: tesseract read {read:?}");
    }
    (input, dir, out)
}
