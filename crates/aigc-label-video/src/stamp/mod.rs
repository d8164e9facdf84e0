//! The explicit label on whole video files (GB 45438-2025 section 5: text in the picture on
//! the opening frames for at least 2 s; more at the end or in the middle is allowed),
//! re-encoding only the frames the label touches.
//!
//! [`stamp_file`] decodes the opening frames with ffmpeg (a subprocess, see
//! `aigc_label_ffmpeg`), draws the label with [`crate::frames::FrameStamper`] and the bundled
//! font, and re-encodes them with the source's codec, profile, level, size, pixel format and
//! colour description. In an MP4/MOV with H.264 or HEVC (and VP9 or AV1 in MP4) it then
//! **splices**: the re-encoded stretch ends at the first keyframe at or after the label's end
//! (a clean one: no frame before it is shown after it, so open-GOP leading pictures never lose
//! their reference), every packet from there on is copied unchanged, and our own writer puts
//! the new samples in the file beside the original ones (see the `splice` module for how the
//! sample tables and parameter sets are kept). Audio, subtitles, data tracks, chapters,
//! metadata and any implicit label are copied as they were.
//!
//! Other containers (Matroska/WebM, FLV, AVI) and MP4 files the splice does not handle
//! (fragmented files, other codecs) are re-encoded whole by ffmpeg, with the other streams,
//! metadata and chapters copied; an implicit label ffmpeg does not carry over is written back.
//! The [`StampReport`] says which way was taken and why, and so does the CLI.

mod avc;
mod encode;
mod splice;
mod table;
mod whole;

use std::path::Path;

use aigc_label_core::{Error, Limits, Result};
use aigc_label_ffmpeg::{Stream, Tools};
use aigc_label_image::stamp::Style;

use self::encode::{Raw, decoder, encoder_args, ff, parse_segment, pump, raw_input, read_frame};
use self::splice::Replaced;
use crate::frames::{FrameSpec, FrameStamper, MIN_START_SECONDS, Schedule};

/// Where labels go besides the opening window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum At {
    /// The opening window (always labelled).
    Start,
    /// The last seconds.
    End,
    /// A point given as a fraction of the duration (`50%` is 0.5).
    Fraction(f64),
    /// A point in seconds from the start.
    Seconds(f64),
}

impl At {
    /// Parses a comma-separated list: `start`, `end`, `50%`, `12.5s` (or `12.5`).
    ///
    /// # Errors
    /// [`Error::Parameter`] naming the entry that is none of these.
    pub fn parse_list(text: &str) -> Result<Vec<At>> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                let bad = || {
                    Error::Parameter(
                        format!("--at {s:?}: use start, end, a percentage (50%) or seconds (12.5s)").into(),
                    )
                };
                match s {
                    "start" => Ok(At::Start),
                    "end" => Ok(At::End),
                    _ if s.ends_with('%') => s
                        .trim_end_matches('%')
                        .parse::<f64>()
                        .ok()
                        .filter(|p| (0.0..=100.0).contains(p))
                        .map(|p| At::Fraction(p / 100.0))
                        .ok_or_else(bad),
                    _ => s
                        .trim_end_matches('s')
                        .parse::<f64>()
                        .ok()
                        .filter(|t| t.is_finite() && *t >= 0.0)
                        .map(At::Seconds)
                        .ok_or_else(bad),
                }
            })
            .collect()
    }
}

/// What to draw and when.
#[derive(Debug, Clone)]
pub struct StampOptions {
    /// The label's text and look (the image adapter's style: the 5% height rule holds).
    pub style: Style,
    /// How long each label shows, in seconds (at least 2; default 2).
    pub seconds: f64,
    /// Where: the opening window always, plus these.
    pub at: Vec<At>,
    /// Bounds for reading the container.
    pub limits: Limits,
}

impl Default for StampOptions {
    fn default() -> Self {
        StampOptions {
            style: Style::default(),
            seconds: MIN_START_SECONDS,
            at: vec![At::Start],
            limits: Limits::default(),
        }
    }
}

/// How the file was re-encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// Only the labelled stretches were re-encoded; everything else was copied.
    Spliced,
    /// The whole video track was re-encoded (no clean keyframe after the label), inside our own
    /// MP4 writer: other tracks were still copied byte for byte.
    WholeTrack,
    /// ffmpeg re-encoded the video stream of the whole file (a container or codec the splice
    /// does not handle), copying the other streams.
    WholeFile,
}

/// What [`stamp_file`] did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StampReport {
    /// Which way the file was written.
    pub method: Method,
    /// Why, when it was not [`Method::Spliced`].
    pub reason: Option<String>,
    /// Frames decoded, labelled where the schedule says, and re-encoded.
    pub reencoded_frames: u64,
    /// Frames on which the label was drawn.
    pub labelled_frames: u64,
    /// Frames whose packets were copied unchanged.
    pub copied_frames: u64,
    /// Where copying resumes after each re-encoded stretch, in seconds from the first frame.
    pub splice_at: Vec<f64>,
    /// The video codec.
    pub codec: String,
}

/// Progress of [`stamp_file_with_progress`], in frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Frames handled so far.
    pub frames: u64,
    /// Frames to handle in all (an estimate for [`Method::WholeFile`]).
    pub total: u64,
}

/// Draws the label on the video of `input` (the first video stream that is not a cover
/// picture) and writes the result to `output`.
///
/// # Errors
/// [`Error::Unsupported`] when ffmpeg is not installed (naming the package) or the codec has no
/// encoder here; [`Error::Parameter`] for a label window under 2 s or a frame too small for the
/// label; ffmpeg's own message (as [`Error::Io`]) when it fails; malformed containers.
pub fn stamp_file(input: &Path, output: &Path, options: &StampOptions) -> Result<StampReport> {
    stamp_file_with_progress(input, output, options, &mut |_| {})
}

/// [`stamp_file`], calling `progress` as frames are handled.
///
/// # Errors
/// As [`stamp_file`].
pub fn stamp_file_with_progress(
    input: &Path,
    output: &Path,
    options: &StampOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<StampReport> {
    if !(options.seconds >= MIN_START_SECONDS && options.seconds.is_finite()) {
        return Err(Error::Parameter(
            format!(
                "--duration {} s is under {MIN_START_SECONDS} s; GB 45438-2025 section 5 asks for the label on the opening frames for at least 2 s",
                options.seconds
            )
            .into(),
        ));
    }
    let tools = Tools::find().map_err(ff)?;
    let streams = tools.streams(input).map_err(ff)?;
    let video = streams
        .iter()
        .find(|s| s.is_video())
        .ok_or_else(|| Error::Unsupported("the file has no video stream to label".into()))?;
    let mut head = [0u8; 16];
    let is_mp4 = {
        use std::io::Read;
        let n = std::fs::File::open(input)?.read(&mut head)?;
        aigc_label_core::Carrier::sniff(&crate::Bmff, head.get(..n).unwrap_or_default())
    };
    let splice_codec = matches!(video.codec_name.as_str(), "h264" | "hevc");
    let reason = if !is_mp4 {
        "the splice writer handles MP4/MOV; this container is re-encoded whole by ffmpeg".to_string()
    } else if !splice_codec {
        format!(
            "the splice handles H.264 and HEVC; {} video is re-encoded whole by ffmpeg",
            video.codec_name
        )
    } else {
        match spliced(&tools, input, output, video, options, progress) {
            Err(Error::Unsupported(why)) => format!("this MP4 cannot be spliced ({why}); re-encoded whole by ffmpeg"),
            other => return other,
        }
    };
    whole::stamp(
        &tools, input, output, is_mp4, &streams, video, options, reason, progress,
    )
}

/// The label windows in seconds from the first frame, for a video of `total` seconds.
fn windows(options: &StampOptions, total: f64) -> Vec<(f64, f64)> {
    let d = options.seconds;
    let mut out = vec![(0.0, d)];
    for at in &options.at {
        match *at {
            At::Start => {}
            At::End => out.push(((total - d).max(0.0), total)),
            At::Fraction(f) => out.push((total * f, total * f + d)),
            At::Seconds(t) => out.push((t, t + d)),
        }
    }
    out
}

/// The stamper's schedule for those windows.
fn schedule(options: &StampOptions, total: f64) -> Schedule {
    let mut s = Schedule {
        start_seconds: options.seconds,
        end: None,
        middle: Vec::new(),
    };
    for (from, to) in windows(options, total).into_iter().skip(1) {
        s.middle.push((from, to - from));
    }
    s
}

fn spliced(
    tools: &Tools,
    input: &Path,
    output: &Path,
    video: &Stream,
    options: &StampOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<StampReport> {
    let mp4 = splice::open(&mut std::fs::File::open(input)?, video.index, &options.limits)?;
    let samples = &mp4.samples;
    let n = samples.len();
    let cts = splice::presentation(samples);
    let t0 = cts.first().copied().unwrap_or(0);
    let ts = f64::from(mp4.timescale);
    let end_ticks = splice::decode_times(samples)
        .iter()
        .zip(samples)
        .map(|(d, s)| d + s.cts_offset + i64::from(s.duration))
        .max()
        .unwrap_or(t0);
    let total = (end_ticks - t0) as f64 / ts;
    let cuts = splice::cut_points(samples);
    let at_cut = |c: usize| cts.get(c).copied().unwrap_or(i64::MAX);
    // Each window widened to the cut points around it, then merged.
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for (from, to) in windows(options, total) {
        let (w0, w1) = (t0 + (from * ts) as i64, t0 + (to * ts).ceil() as i64);
        let a = cuts
            .iter()
            .copied()
            .filter(|&c| c < n && at_cut(c) <= w0)
            .max()
            .unwrap_or(0);
        let b = cuts.iter().copied().find(|&c| at_cut(c) >= w1).unwrap_or(n);
        if a < b {
            ranges.push((a, b));
        }
    }
    ranges.sort_unstable();
    let ranges = ranges
        .into_iter()
        .fold(Vec::<(usize, usize)>::new(), |mut acc, (a, b)| {
            match acc.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => acc.push((a, b)),
            }
            acc
        });
    let (width, height) = (video.width.unwrap_or(0), video.height.unwrap_or(0));
    let raw = raw_for(video);
    let spec = FrameSpec::new(width, height, raw.format, (1, mp4.timescale));
    let stamper = FrameStamper::new(spec, options.style.clone(), schedule(options, total))?;
    let frame_len = spec.frame_len()?;
    let rate = video.frame_rate().map_or_else(|| "25".to_string(), |r| r.to_string());
    let last = ranges.last().map_or(0, |r| r.1);
    let total_frames = last as u64;
    let mut dec = decoder(tools, input, true, video.index, raw, total_frames)?;
    let mut frames_out = dec
        .take_stdout()
        .ok_or_else(|| Error::Parameter("decoder without stdout".into()))?;
    let mut frame = vec![0u8; frame_len];
    let mut next = 0usize; // presentation index of the next decoded frame
    let mut labelled = 0u64;
    // H.264: the new parameter sets join the source's avcC under ids it does not use (see the
    // avc module); other codecs get a sample description of their own per segment.
    let h264_id = if video.codec_name == "h264" {
        if mp4.entry_count()? != 1 || samples.iter().any(|s| s.desc != 1) {
            return Err(Error::Unsupported(
                "H.264 track with several sample descriptions".into(),
            ));
        }
        Some(
            avc::free_id(mp4.first_entry()?)?
                .ok_or_else(|| Error::Unsupported("no free H.264 parameter set id".into()))?,
        )
    } else {
        None
    };
    let first_new = mp4.entry_count()?.saturating_add(1);
    let mut replaced: Vec<Replaced> = Vec::new();
    for &(a, b) in &ranges {
        while next < a {
            if !read_frame(&mut frames_out, &mut frame)? {
                return Err(short_decode(next, a));
            }
            next += 1;
            progress(Progress {
                frames: next as u64,
                total: total_frames,
            });
        }
        let mut job = tools.ffmpeg(Vec::<String>::new());
        raw_input(&mut job, raw, width, height, &rate);
        job.args(encoder_args(video, "v", true)?);
        if let Some(id) = h264_id {
            let id = id + u32::try_from(replaced.len()).unwrap_or(u32::MAX);
            if id > 31 {
                return Err(Error::Unsupported("no free H.264 parameter set id".into()));
            }
            job.args(["-x264-params:v", &format!("sps-id={id}")]);
        }
        if !video.codec_tag_string.is_empty() && video.codec_tag_string.is_ascii() && video.codec_tag_string.len() == 4
        {
            job.args(["-tag:v", &video.codec_tag_string]);
        }
        job.args([
            "-an",
            "-f",
            "mp4",
            "-movflags",
            "frag_keyframe+empty_moov+default_base_moof",
            "pipe:1",
        ]);
        let encoder = job.pipe_stdin().pipe_stdout().spawn().map_err(ff)?;
        let data = pump(encoder, |stdin| {
            while next < b {
                if !read_frame(&mut frames_out, &mut frame)? {
                    return Err(short_decode(next, b));
                }
                let pts = cts.get(next).copied().unwrap_or(t0) - t0;
                if stamper.stamp(&mut frame, pts)? {
                    labelled += 1;
                }
                stdin.write_all(&frame)?;
                next += 1;
                progress(Progress {
                    frames: next as u64,
                    total: total_frames,
                });
            }
            Ok(())
        })?;
        let segment = parse_segment(data)?;
        if segment.samples.len() != b - a {
            return Err(Error::Parameter(
                format!(
                    "the encoder returned {} frames for {} input frames",
                    segment.samples.len(),
                    b - a
                )
                .into(),
            ));
        }
        let desc = match h264_id {
            Some(_) => 1,
            None => first_new.saturating_add(u32::try_from(replaced.len()).unwrap_or(u32::MAX)),
        };
        replaced.push(Replaced {
            from: a,
            to: b,
            segment,
            desc,
        });
    }
    drop(frames_out);
    dec.wait().map_err(ff)?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(output)?);
    let stsd = match h264_id {
        Some(_) => {
            let mut entry = mp4.first_entry()?.to_vec();
            for r in &replaced {
                entry = avc::merge(&entry, &r.segment.entry)?;
            }
            mp4.stsd_replacing_first(&entry)?
        }
        None => mp4.stsd_appending(&replaced.iter().map(|r| r.segment.entry.as_slice()).collect::<Vec<_>>())?,
    };
    splice::write(&mut std::fs::File::open(input)?, &mp4, &replaced, &stsd, &mut out)?;
    std::io::Write::flush(&mut out)?;
    let reencoded: u64 = ranges.iter().map(|(a, b)| (b - a) as u64).sum();
    let whole_track = ranges.first() == Some(&(0, n));
    Ok(StampReport {
        method: if whole_track {
            Method::WholeTrack
        } else {
            Method::Spliced
        },
        reason: whole_track
            .then(|| "no clean keyframe after the label's end: the whole video track was re-encoded".to_string()),
        reencoded_frames: reencoded,
        labelled_frames: labelled,
        copied_frames: n as u64 - reencoded,
        splice_at: ranges
            .iter()
            .filter(|r| r.1 < n)
            .map(|r| (at_cut(r.1) - t0) as f64 / ts)
            .collect(),
        codec: video.codec_name.clone(),
    })
}

fn short_decode(got: usize, wanted: usize) -> Error {
    Error::truncated(
        "video",
        got as u64,
        format!("the decoder stopped after {got} frames; {wanted} were expected"),
    )
}

/// Raw frames for `video`: I420 when the source is 8-bit 4:2:0 with even sides.
fn raw_for(video: &Stream) -> Raw {
    let even = video.width.is_some_and(|w| w % 2 == 0) && video.height.is_some_and(|h| h % 2 == 0);
    Raw::for_source(video.pix_fmt.as_deref().filter(|_| even))
}
