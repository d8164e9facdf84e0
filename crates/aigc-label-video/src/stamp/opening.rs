//! The stretches that the splices (MP4/MOV, Matroska/WebM, FLV, AVI) replace: frames decoded
//! by ffmpeg (one decoder for every stretch of a file), labelled, and encoded again, with what
//! each container needs to put the new frames where the old ones were.
//!
//! The caller hands over the replaced frames' presentation times, sorted: the decoder gives
//! frames in that order, the stamper takes each frame's time from them, and the `n`-th frame
//! the new segment shows takes the `n`-th time (its own times, from a constant-rate encoder
//! input, only say which frame that is). So a variable-frame-rate source keeps its timing.

use std::path::Path;

use aigc_label_core::{Error, Result};
use aigc_label_ffmpeg::{Stream, Tools};

use super::encode::{SEGMENT_OUTPUT, Segment, decoder, encoder_args, ff, parse_segment, pump, raw_input, read_frame};
use super::{Progress, StampOptions, avi, mkv, raw_for, schedule, short_decode};
use crate::frames::{FrameSpec, FrameStamper};

/// How the new segment is encoded.
pub(crate) enum Output {
    /// VP8/VP9 frames in an IVF stream (keyframes told by their first byte).
    Ivf,
    /// MPEG-4 Part 2 as a raw stream (split at its VOPs), no B-frames.
    M4v,
    /// H.264 in a fragmented MP4 (its `avcC` then joins the source's), with parameter set ids
    /// from `sps_id` on and at most `bframes` B-frames in a row.
    H264 { sps_id: u32, bframes: u32 },
    /// HEVC without B-frames in a fragmented MP4, its parameter sets and slices renumbered to
    /// the id `id` (its `hvcC` then joins the source's; see the `hevc` module); `mp4` for an
    /// MP4 source (decoded without its edit list).
    Hevc { id: u32, mp4: bool },
    /// H.264 or HEVC without B-frames for an MP4/MOV source (decoded without its edit list),
    /// in a fragmented MP4: keyframes every `gop` frames when given, H.264 parameter set ids
    /// from `sps_id` on when given, the source's sample entry `tag` when given.
    Mp4 {
        gop: Option<usize>,
        sps_id: Option<u32>,
        tag: Option<String>,
    },
}

/// The new frames.
pub(crate) struct Opening {
    /// In decode order; `segment.entry` is the encoder's sample entry (H.264 only).
    pub segment: Segment,
    /// For each new frame (decode order), the index into the sorted times of the frame it
    /// shows.
    pub shown: Vec<usize>,
    /// Frames the label was drawn on.
    pub labelled: u64,
}

/// A new frame for a container writer, in place of a replaced one.
pub(crate) struct NewFrame<'a> {
    pub bytes: &'a [u8],
    pub key: bool,
    /// Its presentation time, in the container's ticks.
    pub ts: i64,
}

impl Opening {
    /// The new frames in decode order, each with the presentation time it takes from the
    /// sorted `times`.
    pub(crate) fn frames(&self, times: &[i64]) -> Vec<NewFrame<'_>> {
        self.segment
            .samples
            .iter()
            .zip(&self.shown)
            .map(|((r, key), &n)| NewFrame {
                bytes: self.segment.data.get(r.clone()).unwrap_or_default(),
                key: *key,
                ts: times.get(n).copied().unwrap_or(0),
            })
            .collect()
    }
}

/// Which frames to re-encode: `times.len()` frames after the first `skip` (in presentation
/// order), shown at `times` (sorted, in ticks), in a video whose first frame is at `origin` and
/// which lasts `total` seconds (for `--at end` and fractions; 0 for the opening window only).
#[derive(Clone, Copy)]
pub(crate) struct Stretch<'a> {
    pub times: &'a [i64],
    pub skip: usize,
    pub origin: i64,
    pub total: f64,
}

impl<'a> Stretch<'a> {
    /// The opening stretch.
    pub(crate) fn opening(times: &'a [i64]) -> Self {
        Stretch {
            times,
            skip: 0,
            origin: times.first().copied().unwrap_or(0),
            total: 0.0,
        }
    }
}

/// Decodes the frames of `stretch` of `video`, draws the label on them (times in ticks of
/// `time_base` seconds) and encodes them as `output` says.
#[allow(clippy::too_many_arguments)]
pub(crate) fn encode(
    tools: &Tools,
    input: &Path,
    video: &Stream,
    options: &StampOptions,
    stretch: &Stretch<'_>,
    time_base: (u32, u32),
    output: &Output,
    progress: &mut dyn FnMut(Progress),
) -> Result<Opening> {
    let stretches = [(*stretch, output)];
    let mut all = encode_all(tools, input, video, options, &stretches, time_base, progress)?;
    all.pop().ok_or_else(|| Error::parameter("video", "no stretch encoded"))
}

/// Decodes `video` once, up to the end of the last of `stretches` (ascending, disjoint, in
/// presentation order), draws the label on each stretch's frames (times in ticks of
/// `time_base` seconds) and encodes each as its [`Output`] says; the frames between stretches
/// are dropped (a cut point has no leading pictures, so they are exactly the frames shown
/// between).
pub(crate) fn encode_all(
    tools: &Tools,
    input: &Path,
    video: &Stream,
    options: &StampOptions,
    stretches: &[(Stretch<'_>, &Output)],
    time_base: (u32, u32),
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<Opening>> {
    let (width, height) = (video.width.unwrap_or(0), video.height.unwrap_or(0));
    let raw = raw_for(video);
    let spec = FrameSpec::new(width, height, raw.format, time_base);
    let total = stretches.first().map_or(0.0, |(s, _)| s.total);
    let stamper = FrameStamper::new(spec, options.style.clone(), schedule(options, total))?;
    let rate = video.frame_rate().map_or_else(|| "25".to_string(), |r| r.to_string());
    let end = stretches.last().map_or(0, |(s, _)| s.skip + s.times.len());
    let mp4 = stretches
        .iter()
        .any(|(_, o)| matches!(o, Output::Mp4 { .. } | Output::Hevc { mp4: true, .. }));
    let mut dec = decoder(tools, input, mp4, video.index, raw, end as u64)?;
    let mut frames_out = dec
        .take_stdout()
        .ok_or_else(|| Error::parameter("video", "decoder without stdout"))?;
    let mut frame = vec![0u8; spec.frame_len()?];
    let mut next = 0usize; // presentation index of the next decoded frame
    let mut out = Vec::with_capacity(stretches.len());
    for (stretch, output) in stretches {
        let times = stretch.times;
        let k = times.len();
        while next < stretch.skip {
            if !read_frame(&mut frames_out, &mut frame)? {
                return Err(short_decode(next, stretch.skip));
            }
            next += 1;
        }
        let mut job = tools.ffmpeg(Vec::<String>::new());
        raw_input(&mut job, raw, width, height, &rate);
        encoder_output(&mut job, video, output)?;
        let encoder = job.pipe_stdin().pipe_stdout().spawn().map_err(ff)?;
        let mut labelled = 0u64;
        let data = pump(encoder, |stdin| {
            for ts in times {
                if !read_frame(&mut frames_out, &mut frame)? {
                    return Err(short_decode(next, stretch.skip + k));
                }
                if stamper.stamp(&mut frame, ts.saturating_sub(stretch.origin))? {
                    labelled += 1;
                }
                stdin.write_all(&frame)?;
                next += 1;
                progress(Progress {
                    frames: next as u64,
                    total: end as u64,
                });
            }
            Ok(())
        })?;
        out.push(opening(video, output, data, k, labelled)?);
    }
    drop(frames_out);
    dec.wait().map_err(ff)?;
    Ok(out)
}

/// The encoder half of the command line for `output`.
fn encoder_output(job: &mut aigc_label_ffmpeg::Job, video: &Stream, output: &Output) -> Result<()> {
    match output {
        Output::Ivf => {
            job.args(encoder_args(video, "v", true)?);
            job.args(["-an", "-f", "ivf", "pipe:1"]);
        }
        Output::M4v => {
            job.args(encoder_args(video, "v", true)?);
            job.args(["-bf:v", "0", "-an", "-f", "m4v", "pipe:1"]);
        }
        Output::H264 { sps_id, bframes } => {
            job.args(encoder_args(video, "v", false)?);
            job.args(["-bf:v", &bframes.to_string()]);
            job.args(["-x264-params:v", &format!("sps-id={sps_id}")]);
            job.args(SEGMENT_OUTPUT);
        }
        Output::Hevc { .. } => {
            job.args(encoder_args(video, "v", true)?);
            job.args(SEGMENT_OUTPUT);
        }
        Output::Mp4 { gop, sps_id, tag } => {
            job.args(encoder_args(video, "v", true)?);
            if let Some(gop) = gop {
                job.args(["-g:v", &gop.to_string()]);
            }
            if let Some(id) = sps_id {
                job.args(["-x264-params:v", &format!("sps-id={id}")]);
            }
            if let Some(tag) = tag {
                job.args(["-tag:v", tag]);
            }
            job.args(SEGMENT_OUTPUT);
        }
    }
    Ok(())
}

/// The new frames of one stretch of `k` frames from the encoder's output `data`.
fn opening(video: &Stream, output: &Output, data: Vec<u8>, k: usize, labelled: u64) -> Result<Opening> {
    let segment = match output {
        Output::H264 { .. } | Output::Mp4 { .. } => parse_segment(data)?,
        Output::Hevc { id, .. } => {
            let mut segment = parse_segment(data)?;
            super::hevc::renumber(&mut segment, *id)?;
            segment
        }
        Output::Ivf | Output::M4v => {
            let ivf = matches!(output, Output::Ivf);
            let frames = if ivf {
                mkv::ivf_frames(&data)?
            } else {
                avi::m4v_frames(&data)
            };
            let samples = frames
                .into_iter()
                .map(|r| {
                    let bytes = data.get(r.clone()).unwrap_or_default();
                    let key = if ivf {
                        mkv::is_key(&video.codec_name, bytes)
                    } else {
                        avi::is_intra(bytes)
                    };
                    (r, key)
                })
                .collect();
            Segment {
                entry: Vec::new(),
                data,
                samples,
                cts: Vec::new(),
            }
        }
    };
    if segment.samples.len() != k {
        return Err(Error::unsupported(
            "video",
            format!("the encoder returned {} frames for {k}", segment.samples.len()),
        ));
    }
    // Rank the new frames by their own presentation times (none: they come in that order).
    let mut order: Vec<usize> = (0..k).collect();
    if segment.cts.len() == k {
        order.sort_by_key(|&i| segment.cts.get(i).copied().unwrap_or(0));
    }
    let mut shown = vec![0usize; k];
    for (n, &i) in order.iter().enumerate() {
        if let Some(r) = shown.get_mut(i) {
            *r = n;
        }
    }
    Ok(Opening {
        segment,
        shown,
        labelled,
    })
}

/// The frames `frames[at[i]]` a container writer replaces with `new_count` new frames (one
/// each).
///
/// # Errors
/// [`Error::Parameter`] when the counts differ or an index is out of range.
pub(crate) fn replaced<'a, T>(frames: &'a [T], at: &[usize], new_count: usize) -> Result<Vec<&'a T>> {
    if at.len() != new_count {
        return Err(Error::parameter(
            "video",
            "new frames and their places differ in number",
        ));
    }
    at.iter()
        .map(|&i| frames.get(i))
        .collect::<Option<Vec<&T>>>()
        .ok_or_else(|| Error::parameter("video", "more new frames than frames"))
}
