//! The real programs: a missing one is named, pipes carry raw frames both ways, a failure
//! carries stderr, progress arrives.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use aigc_label_ffmpeg::{Error, Tools, find_on_path};

fn tools() -> Option<Tools> {
    aigc_label_testutil::tool("ffmpeg")?;
    aigc_label_testutil::tool("ffprobe")?;
    Some(Tools::find().expect("both on PATH"))
}

#[test]
fn a_missing_program_is_named_with_its_package() {
    let err = find_on_path("ffmpeg-that-does-not-exist-anywhere").unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("ffmpeg-that-does-not-exist-anywhere not found on PATH"),
        "{text}"
    );
    assert!(text.contains("apt-get install ffmpeg"), "{text}");
}

#[test]
fn raw_frames_round_trip_through_pipes_with_progress() {
    let Some(tools) = tools() else { return };
    // 10 grey RGB frames of 16x16 in, the same frames out through a lossless pipe.
    let (w, h, n) = (16usize, 16usize, 10usize);
    let frame: Vec<u8> = (0..w * h * 3).map(|i| (i % 251) as u8).collect();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let mut job = tools.ffmpeg([
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "16x16", "-r", "10", "-i", "pipe:0", "-f", "rawvideo", "-pix_fmt",
        "rgb24", "pipe:1",
    ]);
    job.pipe_stdin()
        .pipe_stdout()
        .on_progress(move |p| sink.lock().unwrap().push(p));
    let mut running = job.spawn().unwrap();
    let mut stdin = running.take_stdin().unwrap();
    let mut stdout = running.take_stdout().unwrap();
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..n {
                stdin.write_all(&frame).unwrap();
            }
            drop(stdin);
        });
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).unwrap();
        out
    });
    running.wait().unwrap();
    assert_eq!(out.len(), w * h * 3 * n);
    assert!(out.chunks(w * h * 3).all(|f| f == frame));
    let seen = seen.lock().unwrap();
    let last = seen.last().expect("at least the final progress report");
    assert!(last.done);
    assert_eq!(last.frames, n as u64);
}

#[test]
fn a_failure_carries_stderr() {
    let Some(tools) = tools() else { return };
    let err = tools
        .ffmpeg(["-i", "/nonexistent/input.mp4", "-f", "null", "-"])
        .run()
        .unwrap_err();
    match err {
        Error::Failed { tool, stderr, .. } => {
            assert_eq!(tool, "ffmpeg");
            assert!(stderr.contains("/nonexistent/input.mp4"), "{stderr}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn probe_a_generated_clip() {
    let Some(tools) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("c.mp4");
    tools
        .ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=2"])
        .args(["-c:v", "libx264", "-g", "10", "-pix_fmt", "yuv420p"])
        .arg(&clip)
        .run()
        .unwrap();
    let streams = tools.streams(&clip).unwrap();
    let v = &streams[0];
    assert!(v.is_video());
    assert_eq!((v.codec_name.as_str(), v.width, v.height), ("h264", Some(64), Some(48)));
    assert_eq!(v.pix_fmt.as_deref(), Some("yuv420p"));
    let packets = tools.packets(&clip, 0).unwrap();
    assert_eq!(packets.len(), 20);
    assert_eq!(packets.iter().filter(|p| p.is_key()).count(), 2);
    let frames = tools.frames(&clip, 0, 3).unwrap();
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[0].key_frame, Some(1));
}
