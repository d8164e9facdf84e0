//! The ffmpeg side of stamping: decoding a video stream to raw frames, the encoder settings
//! that match a source stream, and reading back the fragmented MP4 an encoder writes to a pipe.

use std::io::{Read, Write};
use std::ops::Range;

use aigc_label_core::io::Bytes;
use aigc_label_core::{Error, Limits, Result};
use aigc_label_ffmpeg::{Job, Running, Stream, Tools};

use crate::bmff::boxes::{Node, parse_tree};
use crate::common::Budget;
use crate::frames::PixelFormat;

/// Most bytes an encoded segment may take in memory (it is a few seconds of video).
const MAX_SEGMENT_BYTES: u64 = 1 << 30;

/// Maps an ffmpeg error to ours: a missing program is something this build cannot do, a failed
/// run an I/O error carrying ffmpeg's own message.
pub(crate) fn ff(e: aigc_label_ffmpeg::Error) -> Error {
    match e {
        aigc_label_ffmpeg::Error::Missing { .. } => {
            Error::unsupported("ffmpeg", format!("stamping video files needs ffmpeg: {e}"))
        }
        other => Error::Io(std::io::Error::other(other.to_string())),
    }
}

/// How raw frames travel between ffmpeg and the stamper: I420 for 8-bit 4:2:0 sources (no
/// conversion at all), RGB otherwise (ffmpeg converts both ways).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Raw {
    /// The stamper's layout.
    pub format: PixelFormat,
    /// ffmpeg's name for it.
    pub ffmpeg: &'static str,
}

impl Raw {
    pub(crate) fn for_source(pix_fmt: Option<&str>) -> Raw {
        match pix_fmt {
            Some("yuv420p" | "yuvj420p") => Raw {
                format: PixelFormat::I420,
                ffmpeg: "yuv420p",
            },
            _ => Raw {
                format: PixelFormat::Rgb8,
                ffmpeg: "rgb24",
            },
        }
    }
}

/// Starts decoding stream `index` of `input` to raw frames on stdout, one per coded frame in
/// presentation order (edit lists ignored, no frame dropped or duplicated), stopping after
/// `frames` frames.
pub(crate) fn decoder(
    tools: &Tools,
    input: &std::path::Path,
    mp4: bool,
    index: usize,
    raw: Raw,
    frames: u64,
) -> Result<Running> {
    let mut job = tools.ffmpeg(if mp4 {
        &["-ignore_editlist", "1", "-i"][..]
    } else {
        &["-i"][..]
    });
    job.arg(input).args([
        "-map",
        &format!("0:{index}"),
        "-an",
        "-sn",
        "-dn",
        "-fps_mode",
        "passthrough",
    ]);
    if frames != u64::MAX {
        job.args(["-frames:v", &frames.to_string()]);
    }
    job.args(["-f", "rawvideo", "-pix_fmt", raw.ffmpeg, "pipe:1"]);
    job.pipe_stdout().spawn().map_err(ff)
}

/// The encoder arguments that reproduce `source`'s codec, profile, level, pixel format and
/// colour description. `splice`: the segment goes in front of the source's own packets, so it
/// has no B-frames (its composition offsets then fit inside the source's decode delay; see
/// the splice module).
///
/// # Errors
/// [`Error::Unsupported`] for a codec we have no encoder setting for.
pub(crate) fn encoder_args(source: &Stream, spec: &str, splice: bool) -> Result<Vec<String>> {
    let mut a: Vec<String> = Vec::new();
    // Every option names the output stream it is for (`-crf:v`, `-crf:2`).
    let mut push = |s: &[&str]| {
        for (i, v) in s.iter().enumerate() {
            a.push(if i % 2 == 0 {
                format!("{v}:{spec}")
            } else {
                v.to_string()
            });
        }
    };
    match source.codec_name.as_str() {
        "h264" => {
            push(&["-c", "libx264", "-crf", "18"]);
            if let Some(p) = source.profile.as_deref().and_then(x264_profile) {
                push(&["-profile", p]);
            }
            if let Some(level) = source.level.filter(|l| *l > 0) {
                push(&["-level", &format!("{}.{}", level / 10, level % 10)]);
            }
            if splice {
                push(&["-bf", "0"]);
            }
        }
        "hevc" => {
            push(&["-c", "libx265", "-crf", "20"]);
            if let Some(p) = source.profile.as_deref().and_then(x265_profile) {
                push(&["-profile", p]);
            }
            let mut params = vec!["log-level=error".to_string()];
            if let Some(level) = source.level.filter(|l| *l > 0) {
                // ffprobe numbers HEVC levels as 30 x the level.
                params.push(format!("level-idc={}.{}", level / 30, (level % 30) / 3));
            }
            if splice {
                params.push("bframes=0".into());
            }
            push(&["-x265-params", &params.join(":")]);
        }
        "vp9" => push(&["-c", "libvpx-vp9", "-crf", "24", "-b:v", "0", "-row-mt", "1"]),
        "av1" => push(&["-c", "libaom-av1", "-crf", "30", "-cpu-used", "6", "-row-mt", "1"]),
        "mpeg4" => push(&["-c", "mpeg4", "-q:v", "3"]),
        "flv1" => push(&["-c", "flv", "-q:v", "3"]),
        "mjpeg" => push(&["-c", "mjpeg", "-q:v", "3"]),
        other => {
            return Err(Error::unsupported(
                "ffmpeg",
                format!("stamping {other} video is not supported (H.264, HEVC, VP9, AV1, MPEG-4, FLV, MJPEG are)"),
            ));
        }
    }
    if let Some(p) = &source.pix_fmt {
        push(&["-pix_fmt", p]);
    }
    for (flag, value) in [
        ("-color_range", &source.color_range),
        ("-colorspace", &source.color_space),
        ("-color_trc", &source.color_transfer),
        ("-color_primaries", &source.color_primaries),
    ] {
        // ffprobe's names are ffmpeg's option values except for a few (`gbr` is `rgb` as an
        // option, and only meaningful for RGB pixel formats): pass on only the common ones.
        if let Some(v) = value.as_deref().filter(|v| COLOUR_NAMES.contains(v)) {
            push(&[flag, v]);
        }
    }
    Ok(a)
}

/// Colour range, matrix, transfer and primaries names passed through to the encoder.
const COLOUR_NAMES: [&str; 16] = [
    "tv",
    "pc",
    "bt709",
    "smpte170m",
    "bt470bg",
    "bt470m",
    "smpte240m",
    "bt2020nc",
    "bt2020c",
    "bt2020",
    "smpte2084",
    "arib-std-b67",
    "iec61966-2-1",
    "bt2020-10",
    "gamma22",
    "gamma28",
];

fn x264_profile(name: &str) -> Option<&'static str> {
    Some(match name {
        "Baseline" | "Constrained Baseline" => "baseline",
        "Main" => "main",
        "High" => "high",
        "High 10" | "High 10 Intra" => "high10",
        "High 4:2:2" | "High 4:2:2 Intra" => "high422",
        "High 4:4:4 Predictive" | "High 4:4:4 Intra" => "high444",
        _ => return None,
    })
}

fn x265_profile(name: &str) -> Option<&'static str> {
    Some(match name {
        "Main" => "main",
        "Main 10" => "main10",
        "Main Still Picture" => "mainstillpicture",
        "Rext" => return None,
        _ => return None,
    })
}

/// The output half of a segment encoder's command line: video only, a fragmented MP4 on stdout
/// (read back by [`parse_segment`]).
pub(crate) const SEGMENT_OUTPUT: [&str; 6] = [
    "-an",
    "-f",
    "mp4",
    "-movflags",
    "frag_keyframe+empty_moov+default_base_moof",
    "pipe:1",
];

/// The raw-frame input half of an encoder command line.
pub(crate) fn raw_input(job: &mut Job, raw: Raw, width: u32, height: u32, rate: &str) {
    job.args([
        "-f",
        "rawvideo",
        "-pix_fmt",
        raw.ffmpeg,
        "-s",
        &format!("{width}x{height}"),
        "-r",
        rate,
        "-i",
        "pipe:0",
    ]);
}

/// Feeds `frames` raw frames to a started encoder from the caller's thread, while another
/// thread drains its stdout into memory; returns what the encoder wrote.
pub(crate) fn pump(mut encoder: Running, mut feed: impl FnMut(&mut dyn Write) -> Result<()>) -> Result<Vec<u8>> {
    let (Some(mut stdin), stdout) = (encoder.take_stdin(), encoder.take_stdout()) else {
        encoder.kill();
        return Err(Error::parameter("video", "encoder started without a stdin pipe"));
    };
    let (fed, out) = std::thread::scope(|s| {
        let reader = s.spawn(move || {
            let mut out = Vec::new();
            match stdout {
                Some(stdout) => stdout.take(MAX_SEGMENT_BYTES + 1).read_to_end(&mut out).map(|_| out),
                None => Ok(out),
            }
        });
        let fed = feed(&mut stdin);
        drop(stdin);
        (fed, reader.join())
    });
    let out = match out {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            encoder.kill();
            return Err(e.into());
        }
        Err(_) => {
            encoder.kill();
            return Err(Error::parameter("video", "encoder output reader panicked"));
        }
    };
    if let Err(e) = fed {
        // The encoder's own message, if it failed, explains a broken pipe better.
        return Err(encoder.wait().err().map(ff).unwrap_or(e));
    }
    encoder.wait().map_err(ff)?;
    if out.len() as u64 > MAX_SEGMENT_BYTES {
        return Err(Error::Limit {
            format: "mp4",
            offset: 0,
            what: "encoded segment bytes",
            found: out.len() as u64,
            limit: MAX_SEGMENT_BYTES,
        });
    }
    Ok(out)
}

/// Reads exactly one frame into `buf`; `Ok(false)` at a clean end of stream.
pub(crate) fn read_frame(input: &mut dyn Read, buf: &mut [u8]) -> Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(buf.get_mut(got..).unwrap_or_default()) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => {
                return Err(Error::truncated(
                    "rawvideo",
                    got as u64,
                    "decoder stopped inside a frame",
                ));
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(true)
}

/// An encoded segment as ffmpeg's MP4 muxer wrote it (fragmented, so it could go to a pipe).
#[derive(Debug)]
pub(crate) struct Segment {
    /// The whole sample entry box (`avc1` with its `avcC`, `hvc1` with its `hvcC`, ...).
    pub entry: Vec<u8>,
    /// The muxer's output; samples are ranges of it.
    pub data: Vec<u8>,
    /// Each sample: its bytes in `data`, and whether it is a sync sample.
    pub samples: Vec<(Range<usize>, bool)>,
    /// Each sample's presentation time in the segment's own timescale (decode time plus
    /// composition offset); they order the frames when the segment has B-frames.
    pub cts: Vec<i64>,
}

/// Parses the fragmented MP4 (`empty_moov`, `default_base_moof`) in `data`.
pub(crate) fn parse_segment(data: Vec<u8>) -> Result<Segment> {
    let limits = Limits::default();
    let mut budget = Budget::new(&limits);
    let mut entry = None;
    let mut samples = Vec::new();
    let mut cts = Vec::new();
    let mut pos = 0usize;
    while let Some(head) = data.get(pos..pos + 8) {
        let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let typ = [head[4], head[5], head[6], head[7]];
        let end = match size {
            0 => data.len(),
            1 => return Err(Error::unsupported("ffmpeg", "64-bit box in an encoded segment")),
            n => pos
                .checked_add(n)
                .filter(|&e| e <= data.len() && n >= 8)
                .ok_or_else(|| Error::malformed("mp4", pos as u64, "segment box size"))?,
        };
        let bx = data.get(pos..end).unwrap_or_default();
        match &typ {
            b"moov" => {
                let tree = parse_tree(bx, pos as u64, &limits, &mut budget)?;
                entry = Some(sample_entry(&tree, bx)?);
            }
            b"moof" => {
                let tree = parse_tree(bx, pos as u64, &limits, &mut budget)?;
                read_moof(&tree, bx, pos, &mut samples, &mut cts)?;
            }
            _ => {}
        }
        pos = end;
    }
    let entry = entry.ok_or_else(|| Error::malformed("mp4", 0, "encoded segment has no moov"))?;
    if samples.iter().any(|(r, _): &(Range<usize>, bool)| r.end > data.len()) {
        return Err(Error::malformed("mp4", 0, "encoded segment sample past its end"));
    }
    Ok(Segment {
        entry,
        data,
        samples,
        cts,
    })
}

/// The first sample entry of the first track's `stsd`, as a whole box.
fn sample_entry(moov: &Node, buf: &[u8]) -> Result<Vec<u8>> {
    let stsd = moov
        .child(b"trak")
        .and_then(|t| t.child(b"mdia"))
        .and_then(|m| m.child(b"minf"))
        .and_then(|m| m.child(b"stbl"))
        .and_then(|s| s.child(b"stsd"))
        .ok_or_else(|| Error::malformed("mp4", 0, "encoded segment has no stsd"))?;
    let payload = stsd.payload(buf);
    let first = payload.get(8..).unwrap_or_default();
    let size = first
        .get(..4)
        .map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize);
    first
        .get(..size)
        .filter(|_| size >= 8)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| Error::malformed("mp4", 0, "encoded segment's sample entry"))
}

/// Appends the samples of `moof` (at `base` in the segment) to `samples`, and their
/// presentation times to `cts`.
fn read_moof(
    moof: &Node,
    buf: &[u8],
    base: usize,
    samples: &mut Vec<(Range<usize>, bool)>,
    cts: &mut Vec<i64>,
) -> Result<()> {
    let bad = || Error::malformed("mp4", base as u64, "encoded segment's moof");
    for traf in moof.kids.iter().filter(|k| &k.typ == b"traf") {
        let tfhd = traf.child(b"tfhd").ok_or_else(bad)?.payload(buf);
        let mut b = Bytes::new(tfhd);
        let flags = b.u32_be().ok_or_else(bad)? & 0xFF_FFFF;
        b.u32_be().ok_or_else(bad)?; // track id
        if flags & 0x1 != 0 {
            return Err(Error::unsupported(
                "ffmpeg",
                "explicit base data offset in an encoded segment",
            ));
        }
        if flags & 0x2 != 0 {
            b.u32_be();
        }
        let default_duration = if flags & 0x8 != 0 { b.u32_be() } else { None };
        // The fragment's first decode time (tfdt), or where the previous fragment ended.
        let mut dts = match traf.child(b"tfdt").map(|t| t.payload(buf)) {
            Some(p) if p.first() == Some(&1) => p.get(4..12).map(|v| {
                i64::try_from(u64::from_be_bytes([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]])).unwrap_or(i64::MAX)
            }),
            Some(p) => p
                .get(4..8)
                .map(|v| i64::from(u32::from_be_bytes([v[0], v[1], v[2], v[3]]))),
            None => None,
        }
        .unwrap_or(0);
        let default_size = if flags & 0x10 != 0 { b.u32_be() } else { None };
        let default_flags = if flags & 0x20 != 0 { b.u32_be() } else { None };
        for trun in traf.kids.iter().filter(|k| &k.typ == b"trun") {
            let mut t = Bytes::new(trun.payload(buf));
            let version_flags = t.u32_be().ok_or_else(bad)?;
            let tf = version_flags & 0xFF_FFFF;
            let count = t.u32_be().ok_or_else(bad)?;
            let data_offset = if tf & 0x1 != 0 {
                t.u32_be().map(|v| i64::from(i32::from_be_bytes(v.to_be_bytes())))
            } else {
                None
            };
            let first_flags = if tf & 0x4 != 0 { t.u32_be() } else { None };
            let per = [0x100, 0x200, 0x400, 0x800].iter().filter(|&&f| tf & f != 0).count();
            if (count as usize).saturating_mul(per * 4) > t.remaining() {
                return Err(bad());
            }
            let mut at = usize::try_from(base as i64 + data_offset.ok_or_else(bad)?).map_err(|_| bad())?;
            for i in 0..count {
                let duration = if tf & 0x100 != 0 { t.u32_be() } else { default_duration };
                let size = if tf & 0x200 != 0 { t.u32_be() } else { default_size }.ok_or_else(bad)?;
                let sflags = if tf & 0x400 != 0 { t.u32_be() } else { None };
                let offset = match (tf & 0x800 != 0).then(|| t.u32_be()).flatten() {
                    // Version 1 offsets are signed.
                    Some(o) if version_flags >> 24 != 0 => i64::from(i32::from_be_bytes(o.to_be_bytes())),
                    Some(o) => i64::from(o),
                    None => 0,
                };
                cts.push(dts.saturating_add(offset));
                dts = dts.saturating_add(i64::from(duration.unwrap_or(0)));
                let sflags = sflags.or(if i == 0 { first_flags } else { None }).or(default_flags);
                // sample_is_non_sync_sample is bit 16; with no flags at all, only the first
                // sample of the fragment is taken as sync.
                let sync = sflags.map_or(i == 0, |f| f & 0x1_0000 == 0);
                let end = at.checked_add(size as usize).ok_or_else(bad)?;
                samples.push((at..end, sync));
                at = end;
            }
        }
    }
    let _ = buf;
    Ok(())
}
