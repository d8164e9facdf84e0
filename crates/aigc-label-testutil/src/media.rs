//! ffmpeg and ffprobe as witnesses of audio and video files: decoded and copied packet MD5s,
//! decode messages, durations and the `AIGC` tag. Each returns `None` when the tool is missing
//! (after [`crate::tool`] logged the skip, or failed the test under `CI=true`).

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use crate::{run, tool};

/// Whether [`framemd5`] decodes the packets or copies them as the demuxer cuts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packets {
    /// Decoded frames (`-f framemd5`).
    Decoded,
    /// Packets as stored (`-c copy -f framemd5`), so no decoder is involved.
    Copied,
}

/// `(pts, md5)` of every frame or packet of the streams `map` selects (`0:v:0`, `0:a:0`, `0`
/// for all), by ffmpeg's own demuxer.
pub fn framemd5(path: &Path, map: &str, packets: Packets) -> Option<Vec<(i64, String)>> {
    let ffmpeg = tool("ffmpeg")?;
    let mut args: Vec<&OsStr> = ["-v", "error", "-nostdin", "-i"].map(OsStr::new).to_vec();
    args.extend([path.as_os_str(), OsStr::new("-map"), OsStr::new(map)]);
    if packets == Packets::Copied {
        args.extend(["-c", "copy"].map(OsStr::new));
    }
    args.extend(["-f", "framemd5", "-"].map(OsStr::new));
    let out = run(&ffmpeg, &args);
    Some(
        String::from_utf8_lossy(&out)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                let f: Vec<&str> = l.split(',').map(str::trim).collect();
                (f[2].parse().expect("pts"), f[5].to_string())
            })
            .collect(),
    )
}

/// MD5 of the first audio stream decoded to 64-bit float PCM (exact for every integer and
/// float sample format and for the float output of lossy decoders).
pub fn decoded_md5(path: &Path) -> Option<String> {
    let ffmpeg = tool("ffmpeg")?;
    let args = ["-v", "error", "-i"].map(OsStr::new);
    let tail = ["-map", "0:a:0", "-c:a", "pcm_f64le", "-f", "md5", "-"].map(OsStr::new);
    let args: Vec<&OsStr> = args.into_iter().chain([path.as_os_str()]).chain(tail).collect();
    Some(String::from_utf8_lossy(&run(&ffmpeg, &args)).trim().to_string())
}

/// What ffmpeg prints at `level` (`error`, `warning`) while decoding the streams `map` selects
/// (`None`: its default streams) to nothing; asserts that it succeeds.
pub fn decode_messages(path: &Path, level: &str, map: Option<&str>) -> Option<String> {
    let ffmpeg = tool("ffmpeg")?;
    let mut cmd = Command::new(ffmpeg);
    cmd.args(["-v", level, "-nostdin", "-i"]).arg(path);
    if let Some(map) = map {
        cmd.args(["-map", map]);
    }
    let out = cmd.args(["-f", "null", "-"]).output().expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Asserts that ffmpeg decodes `path` without a message at level `error` (nothing without
/// ffmpeg).
pub fn assert_decodes_cleanly(path: &Path, what: &str) {
    if let Some(messages) = decode_messages(path, "error", None) {
        assert_eq!(messages, "", "{what}: ffmpeg complains about {}", path.display());
    }
}

/// ffprobe's duration of `path` in seconds.
pub fn duration(path: &Path) -> Option<f64> {
    let ffprobe = tool("ffprobe")?;
    let args = ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"].map(OsStr::new);
    let args: Vec<&OsStr> = args.into_iter().chain([path.as_os_str()]).collect();
    Some(
        String::from_utf8_lossy(&run(&ffprobe, &args))
            .trim()
            .parse()
            .expect("a duration"),
    )
}

/// The `AIGC` tag as ffprobe reports it (format tags for ID3, FLAC and MP4, stream tags for
/// Ogg); `Some("")` when ffprobe shows no such tag.
pub fn ffprobe_aigc(path: &Path) -> Option<String> {
    let ffprobe = tool("ffprobe")?;
    let args = [
        "-v",
        "error",
        "-show_entries",
        "format_tags=AIGC:stream_tags=AIGC",
        "-of",
        "default=noprint_wrappers=1:nokey=1",
    ]
    .map(OsStr::new);
    let args: Vec<&OsStr> = args.into_iter().chain([path.as_os_str()]).collect();
    let text = String::from_utf8_lossy(&run(&ffprobe, &args)).into_owned();
    Some(text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").to_string())
}
