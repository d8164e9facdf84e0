//! Helpers shared by the carrier tests: third-party witnesses (ffmpeg, ffprobe, exiftool) and
//! hostile-input drivers.
#![allow(dead_code)]

use std::io::Cursor;
use std::path::{Path, PathBuf};

use aigc_label_audio::cue::Rhythm;
use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::{Carrier, Label, Limits};
use aigc_label_testutil::{fixture, run, sample_label, tool};

/// The fixture `tests/fixtures/audio/<name>`, read.
pub fn read_fixture(name: &str) -> Vec<u8> {
    let path = fixture(&format!("audio/{name}"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A RIFF chunk as `(id, stored bytes including the pad byte)`.
pub type Stored = ([u8; 4], Vec<u8>);

/// The top-level chunks of a WAV file and its RIFF size field, read independently of the
/// carrier (RF64: the `data` size from `ds64`).
pub fn riff_chunks(data: &[u8]) -> (u32, Vec<Stored>) {
    let size = u32::from_le_bytes(data[4..8].try_into().unwrap());
    let mut out = Vec::new();
    let mut pos = 12;
    while pos + 8 <= data.len() {
        let id: [u8; 4] = data[pos..pos + 4].try_into().unwrap();
        let mut len = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().unwrap()) as usize;
        if len == u32::MAX as usize && id == *b"data" {
            len = u64::from_le_bytes(data[28..36].try_into().unwrap()) as usize;
        }
        let end = (pos + 8 + len + (len & 1)).min(data.len());
        out.push((id, data[pos..end].to_vec()));
        pos = end;
    }
    (size, out)
}

/// A RIFF `WAVE` file holding `chunks` (id, body), each padded to an even length.
pub fn riff_file(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
    let mut body = b"WAVE".to_vec();
    for (id, data) in chunks {
        body.extend_from_slice(*id);
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        if data.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut v = b"RIFF".to_vec();
    v.extend_from_slice(&(body.len() as u32).to_le_bytes());
    v.extend_from_slice(&body);
    v
}

/// The path of the fixture `tests/fixtures/audio/<name>`.
pub fn fixture_path(name: &str) -> PathBuf {
    fixture(&format!("audio/{name}"))
}

/// One tag's value as exiftool prints it (`-s3`), e.g. `-ID3:Title`; `None` without exiftool.
pub fn exiftool_tag(path: &Path, tag: &str) -> Option<String> {
    let exiftool = tool("exiftool")?;
    let out = run(&exiftool, &["-s3".as_ref(), tag.as_ref(), path.as_os_str()]);
    Some(String::from_utf8_lossy(&out).trim_end().to_string())
}

/// The JSON that `round_trip` writes first.
pub fn sample_json() -> String {
    to_json(&sample_label(), Shape::Bare)
}

/// `bytes` in a temporary file named `*.ext`.
pub fn temp_file(bytes: &[u8], ext: &str) -> tempfile::TempPath {
    let file = tempfile::Builder::new()
        .suffix(&format!(".{ext}"))
        .tempfile()
        .expect("temp file");
    std::fs::write(file.path(), bytes).expect("write temp file");
    file.into_temp_path()
}

/// Writes `label` into `input` with the carrier directly (no producer check).
pub fn write_label(carrier: &dyn Carrier, input: &[u8], label: &Label) -> Vec<u8> {
    let mut out = Vec::new();
    let written = carrier
        .write(&mut Cursor::new(input), &mut out, label, &Limits::default())
        .unwrap_or_else(|e| panic!("{} write: {e}", carrier.format()));
    assert_eq!(written.bytes_written, out.len() as u64);
    out
}

/// The texts of every label copy `find` reports.
pub fn found_texts(carrier: &dyn Carrier, data: &[u8]) -> Vec<String> {
    carrier
        .find(&mut Cursor::new(data), &Limits::default())
        .unwrap_or_else(|e| panic!("{} find: {e}", carrier.format()))
        .into_iter()
        .map(|f| f.text)
        .collect()
}

/// The body of a top-level RIFF chunk `AIGC` as exiftool reads it (exiftool names chunks it has
/// no table entry for `Unknown_<id>`, shown with `-U`); `None` without exiftool.
pub fn exiftool_riff_aigc(path: &Path) -> Option<String> {
    let exiftool = tool("exiftool")?;
    let out = run(
        &exiftool,
        &[
            "-U".as_ref(),
            "-b".as_ref(),
            "-RIFF:Unknown_AIGC".as_ref(),
            path.as_os_str(),
        ],
    );
    Some(
        String::from_utf8_lossy(&out)
            .trim_end_matches(['\0', ' ', '\n'])
            .to_string(),
    )
}

/// Drives `find` and `write` over truncated and corrupted copies of `data`; neither may panic,
/// and a truncation inside the structures the carrier reads must not pass for a clean file with
/// a label unless it really has one.
pub fn hostile_variants(carrier: &dyn Carrier, data: &[u8]) {
    let limits = Limits::default();
    let label = sample_label();
    let step = (data.len() / 300).max(1);
    let mut cuts: Vec<usize> = (0..data.len().min(600)).collect();
    cuts.extend((600..data.len()).step_by(step));
    for cut in cuts {
        let part = &data[..cut];
        let _ = carrier.find(&mut Cursor::new(part), &limits);
        let _ = carrier.binding_exclusions(&mut Cursor::new(part), &limits);
        let _ = carrier.write(&mut Cursor::new(part), &mut Vec::new(), &label, &limits);
    }
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..300 {
        let mut bad = data.to_vec();
        for _ in 0..1 + round % 8 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let window = bad.len().clamp(1, 512);
            let i = 4 + (seed as usize) % window.saturating_sub(4).max(1);
            if let Some(b) = bad.get_mut(i) {
                *b = (seed >> 32) as u8;
            }
        }
        let _ = carrier.find(&mut Cursor::new(&bad), &limits);
        let _ = carrier.binding_exclusions(&mut Cursor::new(&bad), &limits);
        let mut out = Vec::new();
        if carrier.write(&mut Cursor::new(&bad), &mut out, &label, &limits).is_ok() {
            let found = carrier
                .find(&mut Cursor::new(&out), &limits)
                .expect("our own output reads back");
            assert_eq!(found.len(), 1, "round {round}: one label after writing");
            let excluded = carrier
                .binding_exclusions(&mut Cursor::new(&out), &limits)
                .expect("our own output has binding exclusions");
            assert!(
                excluded.iter().all(|r| r.start < r.end && r.end <= out.len() as u64),
                "round {round}: exclusions within the file: {excluded:?}"
            );
        }
    }
}

/// Every fixture of the given extensions, with its name.
pub fn audio_fixtures(exts: &[&str]) -> Vec<(String, PathBuf)> {
    aigc_label_testutil::fixtures("audio", exts)
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect()
}

/// The value of the ID3 user text frame `AIGC` as exiftool reads it (exiftool follows the
/// ID3v2.3 rule that frame sizes count bytes after undoing tag-level unsynchronisation, as
/// TagLib and mutagen do; ffmpeg counts stored bytes, so it cannot witness such tags); `None`
/// without exiftool.
pub fn exiftool_id3_aigc(path: &Path) -> Option<String> {
    let exiftool = tool("exiftool")?;
    let out = run(
        &exiftool,
        &["-s3".as_ref(), "-ID3:UserDefinedText".as_ref(), path.as_os_str()],
    );
    let text = String::from_utf8_lossy(&out).into_owned();
    Some(
        text.lines()
            .find_map(|l| l.strip_prefix("(AIGC) "))
            .unwrap_or("")
            .to_string(),
    )
}

/// An ID3v2.3 tag holding `frames` (id, data) with header `flags` and `padding` zero bytes.
pub fn v23_tag(frames: &[(&[u8; 4], Vec<u8>)], flags: u8, padding: usize) -> Vec<u8> {
    let mut body = Vec::new();
    for (id, data) in frames {
        body.extend_from_slice(*id);
        body.extend_from_slice(&(data.len() as u32).to_be_bytes());
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(data);
    }
    body.extend(std::iter::repeat_n(0, padding));
    let size = body.len();
    let mut tag = vec![b'I', b'D', b'3', 3, 0, flags];
    tag.extend_from_slice(&[
        (size >> 21) as u8 & 0x7f,
        (size >> 14) as u8 & 0x7f,
        (size >> 7) as u8 & 0x7f,
        size as u8 & 0x7f,
    ]);
    tag.extend_from_slice(&body);
    tag
}

/// A reader that counts the bytes read through it.
pub struct Counting<R> {
    pub inner: R,
    pub read: u64,
}

impl<R: std::io::Read> std::io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl<R: std::io::Seek> std::io::Seek for Counting<R> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// Bytes `work` reads from `file`, through a counting reader.
fn counted(file: &[u8], work: impl FnOnce(&mut dyn aigc_label_core::io::ReadSeek)) -> u64 {
    let mut input = Counting {
        inner: Cursor::new(file),
        read: 0,
    };
    work(&mut input);
    input.read
}

/// Asserts that `find` and `binding_exclusions` read `file` at most about once (every structure
/// header once) and `write` at most about twice (the walk, then the copy).
pub fn assert_reads_bounded(carrier: &dyn Carrier, file: &[u8]) {
    let limits = Limits::default();
    let len = file.len() as u64;
    let find = counted(file, |i| {
        carrier.find(i, &limits).expect("find");
    });
    let exclusions = counted(file, |i| {
        carrier.binding_exclusions(i, &limits).expect("binding exclusions");
    });
    let write = counted(file, |i| {
        carrier
            .write(i, &mut std::io::sink(), &sample_label(), &limits)
            .expect("write");
    });
    assert!(find <= len + 1024, "find read {find} of {len} bytes");
    assert!(
        exclusions <= len + 1024,
        "binding_exclusions read {exclusions} of {len} bytes"
    );
    assert!(write <= 2 * len + 1024, "write read {write} of {len} bytes");
}

/// `n` empty chunks of an unknown type (8 bytes each; the same in RIFF and IFF byte order).
pub fn empty_chunks(n: usize) -> Vec<u8> {
    std::iter::repeat_n(*b"zzzz\0\0\0\0", n).flatten().collect()
}

/// Tone segments in `x` (one channel) as `(start, end)` seconds, measured where the envelope
/// at `hz` crosses half its peak. The envelope is the magnitude of the signal demodulated at
/// `hz` and averaged over 10 ms (a whole number of periods for the test frequencies, so the
/// double-frequency term cancels); a symmetric average keeps a symmetric edge's half-way point.
pub fn tone_segments(x: &[f32], rate: u32, hz: f64) -> Vec<(f64, f64)> {
    let w = (f64::from(rate) * 0.01).round() as usize;
    let omega = 2.0 * std::f64::consts::PI * hz / f64::from(rate);
    let i: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(n, &v)| f64::from(v) * (omega * n as f64).cos())
        .collect();
    let q: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(n, &v)| f64::from(v) * (omega * n as f64).sin())
        .collect();
    let avg = |s: &[f64]| -> Vec<f64> {
        let mut prefix = vec![0.0; s.len() + 1];
        for (k, v) in s.iter().enumerate() {
            prefix[k + 1] = prefix[k] + v;
        }
        (0..s.len())
            .map(|n| {
                let a = n.saturating_sub(w / 2);
                let b = (a + w).min(s.len());
                (prefix[b] - prefix[a]) / (b - a) as f64
            })
            .collect()
    };
    let (i, q) = (avg(&i), avg(&q));
    let env: Vec<f64> = i.iter().zip(&q).map(|(a, b)| 2.0 * (a * a + b * b).sqrt()).collect();
    let half = env.iter().copied().fold(0.0, f64::max) / 2.0;
    // Linear interpolation between the samples either side of each crossing.
    let cross = |n: usize| -> f64 {
        let (a, b) = (env[n - 1], env[n]);
        ((n - 1) as f64 + (half - a) / (b - a)) / f64::from(rate)
    };
    let mut out = Vec::new();
    let mut start = None;
    for n in 1..env.len() {
        match (env[n - 1] < half, env[n] < half, start) {
            (true, false, None) => start = Some(cross(n)),
            (false, true, Some(s)) => {
                out.push((s, cross(n)));
                start = None;
            }
            _ => {}
        }
    }
    out
}

pub fn assert_rhythm(found: &[(f64, f64)], rhythm: &Rhythm, what: &str) {
    let expected = rhythm.tones().unwrap();
    assert_eq!(found.len(), expected.len(), "{what}: {found:?}");
    let ms = |s: f64| s * 1000.0;
    for (k, (f, e)) in found.iter().zip(&expected).enumerate() {
        assert!(
            (ms(f.0 - e.0)).abs() <= 1.0,
            "{what}: tone {k} starts at {:.3} ms, expected {:.3}",
            ms(f.0),
            ms(e.0)
        );
        assert!(
            (ms(f.1 - e.1)).abs() <= 1.0,
            "{what}: tone {k} ends at {:.3} ms, expected {:.3}",
            ms(f.1),
            ms(e.1)
        );
        let (d, de) = (f.1 - f.0, e.1 - e.0);
        assert!(
            ms(d - de).abs() <= 1.0,
            "{what}: tone {k} lasts {:.3} ms, expected {:.3}",
            ms(d),
            ms(de)
        );
    }
    // short-long short-short
    let d: Vec<f64> = found.iter().map(|t| t.1 - t.0).collect();
    if rhythm.pattern == ".- .." {
        assert!(d[0] < d[1] && d[2] < d[1] && d[3] < d[1], "{what}: {d:?}");
        let gaps: Vec<f64> = found.windows(2).map(|w| w[1].0 - w[0].1).collect();
        assert!(
            gaps[1] > gaps[0] && gaps[1] > gaps[2],
            "{what}: letter gap is the long one: {gaps:?}"
        );
    }
}

#[allow(unused_imports)]
pub use aigc_label_testutil::media::{decoded_md5, ffprobe_aigc};

/// What ffmpeg prints at level `warning` while decoding the whole file (CRC errors, lost sync);
/// `None` without ffmpeg.
pub fn decode_warnings(path: &Path) -> Option<String> {
    aigc_label_testutil::media::decode_messages(path, "warning", None)
}

/// The MD5 of every packet of the first audio stream as ffmpeg's demuxer cuts them (its own
/// frame walker, not ours), without decoding; `None` without ffmpeg.
pub fn packet_md5s(path: &Path) -> Option<Vec<String>> {
    use aigc_label_testutil::media::{Packets, framemd5};
    Some(
        framemd5(path, "0:a:0", Packets::Copied)?
            .into_iter()
            .map(|(_, md5)| md5)
            .collect(),
    )
}

/// Channel 0 of the first audio stream of `path` (of `channels`) as ffmpeg decodes it.
pub fn decode_channel0(path: &Path, channels: usize) -> Vec<f32> {
    let ffmpeg = tool("ffmpeg").unwrap();
    let args = [
        "-v",
        "error",
        "-i",
        path.to_str().unwrap(),
        "-map",
        "0:a:0",
        "-f",
        "f32le",
        "-",
    ];
    let out = run(&ffmpeg, &args.map(std::ffi::OsStr::new));
    out.chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .step_by(channels)
        .collect()
}

/// Asserts every tone of the default rhythm in `channel` from frame `first`, its edges within
/// 6 ms (the ducked content leaks into the envelope the edges are measured on).
pub fn assert_cue_tones_at(channel: &[f32], rate: u32, first: usize, what: &str) {
    let rhythm = Rhythm::default();
    let found = tone_segments(
        channel.get(first..).unwrap_or_default(),
        rate,
        f64::from(rhythm.frequency_hz),
    );
    let expected = rhythm.tones().unwrap();
    assert!(found.len() >= expected.len(), "{what}: {found:?}");
    for (f, e) in found.iter().zip(&expected) {
        assert!(
            (f.0 - e.0).abs() < 0.006 && (f.1 - e.1).abs() < 0.006,
            "{what}: tone {f:?}, expected {e:?}"
        );
    }
}
