//! Helpers shared by this crate's integration tests: embedding into temp files and asking
//! ffmpeg/ffprobe what they see.
#![allow(dead_code)]

use std::io::Cursor;
use std::path::{Path, PathBuf};

use aigc_label_core::inspect::Options;
use aigc_label_core::{Carrier, Label};
use aigc_label_testutil::{run, tool};

/// Embeds `label` into `input` with `carrier` (through core's `embed_with`, which applies the
/// producer rule) and checks the output with core's `verify`.
pub fn embed(carrier: &dyn Carrier, input: &[u8], label: &Label) -> Vec<u8> {
    let options = Options::default();
    let mut out = Vec::new();
    aigc_label_core::embed::embed_with(carrier, &mut Cursor::new(input), &mut out, label, &options)
        .unwrap_or_else(|e| panic!("{}: embed failed: {e}", carrier.format()));
    aigc_label_core::embed::verify(carrier, &mut Cursor::new(&out), label, &options).expect("verify");
    out
}

/// Writes `bytes` to a temporary file named `name` and returns the directory guard and path.
pub fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write temp");
    (dir, path)
}

/// The `AIGC` format tag as ffprobe reports it, or `None` when ffprobe is missing outside CI.
pub fn ffprobe_aigc(path: &Path) -> Option<String> {
    let ffprobe = tool("ffprobe")?;
    let out = run(
        &ffprobe,
        &[
            "-v".as_ref(),
            "error".as_ref(),
            "-show_entries".as_ref(),
            "format_tags=AIGC".as_ref(),
            "-of".as_ref(),
            "default=nw=1:nk=1".as_ref(),
            path.as_os_str(),
        ],
    );
    Some(String::from_utf8_lossy(&out).trim_end().to_string())
}

/// Per-frame MD5s of every decoded stream (`ffmpeg -f framemd5`), header comments removed.
pub fn framemd5(path: &Path) -> Option<String> {
    let ffmpeg = tool("ffmpeg")?;
    let out = run(
        &ffmpeg,
        &[
            "-v".as_ref(),
            "error".as_ref(),
            "-nostdin".as_ref(),
            "-i".as_ref(),
            path.as_os_str(),
            "-map".as_ref(),
            "0".as_ref(),
            "-f".as_ref(),
            "framemd5".as_ref(),
            "-".as_ref(),
        ],
    );
    let text = String::from_utf8_lossy(&out);
    Some(
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// What `ffmpeg -v error -i path -f null -` prints (empty when the file decodes cleanly).
pub fn decode_messages(path: &Path) -> Option<String> {
    let ffmpeg = tool("ffmpeg")?;
    let out = std::process::Command::new(ffmpeg)
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(path)
        .args(["-map", "0", "-f", "null", "-"])
        .output()
        .expect("ffmpeg");
    assert!(out.status.success(), "ffmpeg failed on {}", path.display());
    Some(String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The whole witness check for one fixture: embed, then ffprobe shows our value, every stream
/// decodes to the same frames, and ffmpeg decodes the output without a message.
pub fn witness(carrier: &dyn Carrier, fixture: &Path) {
    let input = std::fs::read(fixture).expect("read fixture");
    let label = aigc_label_testutil::sample_label();
    let out = embed(carrier, &input, &label);
    let name = fixture.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let (_dir, path) = temp_file(name, &out);
    let Some(tag) = ffprobe_aigc(&path) else { return };
    assert_eq!(
        tag,
        aigc_label_core::json::to_json(&label, aigc_label_core::json::Shape::Bare),
        "{name}: ffprobe sees a different AIGC tag"
    );
    let before = framemd5(fixture).unwrap_or_default();
    let after = framemd5(&path).unwrap_or_default();
    assert!(!before.is_empty(), "{name}: no frames decoded");
    assert_eq!(before, after, "{name}: decoded frames differ after embedding");
    let messages = decode_messages(&path).unwrap_or_default();
    assert!(messages.is_empty(), "{name}: ffmpeg reports: {messages}");
}
