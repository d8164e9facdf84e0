//! The fallback: ffmpeg re-encodes the whole video stream with the labelled frames, copying
//! every other stream, the metadata and the chapters; an implicit label it does not carry over
//! is written back with our carrier.
//!
//! Each frame keeps its source timestamp: the frames go to the encoder in a minimal Matroska
//! stream (the `rawmkv` module) timed from the source's packets, so a variable-frame-rate
//! video keeps its timing (an AVI output, which has no timestamps, gets the gaps as dropped
//! frames).

use std::path::Path;

use aigc_label_core::Result;
use aigc_label_ffmpeg::{Stream, Tools};

use super::encode::{decoder, encoder_args, ff, pump, read_frame};
use super::{Method, Progress, StampOptions, StampReport, raw_for, rawmkv, schedule};
use crate::frames::{FrameSpec, FrameStamper};

#[allow(clippy::too_many_arguments)]
pub(super) fn stamp(
    tools: &Tools,
    input: &Path,
    output: &Path,
    mp4: bool,
    streams: &[Stream],
    video: &Stream,
    options: &StampOptions,
    reason: String,
    progress: &mut dyn FnMut(Progress),
) -> Result<StampReport> {
    let (width, height) = (video.width.unwrap_or(0), video.height.unwrap_or(0));
    let rate = video
        .frame_rate()
        .unwrap_or(aigc_label_ffmpeg::Rational { num: 25, den: 1 });
    let fps = (
        u32::try_from(rate.num).unwrap_or(25),
        u32::try_from(rate.den).unwrap_or(1),
    );
    let total = video.duration.unwrap_or(0.0);
    let estimate = (total * rate.as_f64()).round() as u64;
    let raw = raw_for(video);
    // Each frame's time in microseconds from the first: the source's presentation times (its
    // packets' times, sorted), then the average rate's period past the last.
    let tb = video.time_base;
    let mut pts: Vec<i64> = tools
        .packets(input, video.index)
        .map_err(ff)?
        .iter()
        .filter_map(|p| p.pts)
        .collect();
    pts.sort_unstable();
    let first = pts.first().copied().unwrap_or(0);
    let micros = |ticks: i64| -> u64 {
        let us = i128::from(ticks) * i128::from(tb.num) * 1_000_000 / i128::from(tb.den.max(1));
        u64::try_from(us).unwrap_or(0)
    };
    let period = 1_000_000.0 * f64::from(fps.1) / f64::from(fps.0.max(1));
    let time_of = |i: usize| -> u64 {
        match pts.get(i) {
            Some(&p) if tb.is_valid() => micros(p - first),
            _ => {
                let last = pts.last().filter(|_| tb.is_valid()).map_or(0, |&p| micros(p - first));
                let past = i.saturating_sub(pts.len().saturating_sub(1));
                last + (past as f64 * period) as u64
            }
        }
    };
    // Where the video started in the source, from the file's start: kept by -itsoffset, since
    // ffmpeg starts each input at 0.
    let start = streams
        .iter()
        .filter_map(|s| Some(s.start_pts? as f64 * s.time_base.as_f64()))
        .fold(f64::INFINITY, f64::min);
    let video_start = video.start_pts.map_or(0.0, |p| p as f64 * tb.as_f64());
    let offset = if start.is_finite() {
        (video_start - start).max(0.0)
    } else {
        0.0
    };
    let spec = FrameSpec::new(width, height, raw.format, (1, 1_000_000));
    let stamper = FrameStamper::new(spec, options.style.clone(), schedule(options, total))?;
    let mut frame = vec![0u8; spec.frame_len()?];
    let mut dec = decoder(tools, input, mp4, video.index, raw, u64::MAX)?;
    let mut frames_out = dec
        .take_stdout()
        .ok_or_else(|| aigc_label_core::Error::parameter("video", "decoder without stdout"))?;
    let mut job = tools.ffmpeg(Vec::<String>::new());
    job.args(["-itsoffset", &format!("{offset:.6}"), "-f", "matroska", "-i", "pipe:0"]);
    job.arg("-i").arg(input);
    let mut position = 0usize;
    for s in streams {
        if s.index == video.index {
            job.args(["-map", "0:0"]);
        } else {
            job.args(["-map", &format!("1:{}", s.index)]);
        }
        position += usize::from(s.index < video.index);
    }
    job.args(["-c", "copy"]);
    job.args(encoder_args(video, &position.to_string(), false)?);
    let ext = output
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    // Every frame at its own time, counted in the source's time base; AVI has only a frame
    // rate, so it keeps the rate's grid.
    job.args([format!("-fps_mode:{position}"), "passthrough".to_string()]);
    if ext != "avi" && tb.is_valid() {
        job.args([format!("-enc_time_base:{position}"), format!("{}:{}", tb.num, tb.den)]);
    }
    job.args(["-map_metadata", "1", "-map_chapters", "1"]);
    job.args([format!("-map_metadata:s:{position}"), format!("1:s:{}", video.index)]);
    if matches!(ext.as_str(), "mp4" | "mov" | "m4v") {
        job.args(["-movflags", "+use_metadata_tags"]);
    }
    job.arg(output);
    let encoder = job.pipe_stdin().spawn().map_err(ff)?;
    let mut done = 0u64;
    let mut labelled = 0u64;
    let fourcc = match raw.format {
        crate::frames::PixelFormat::I420 => *b"I420",
        _ => [b'R', b'G', b'B', 24],
    };
    pump_into(encoder, |stdin| {
        stdin.write_all(&rawmkv::header(width, height, fourcc))?;
        while read_frame(&mut frames_out, &mut frame)? {
            let at = time_of(usize::try_from(done).unwrap_or(usize::MAX));
            if stamper.stamp(&mut frame, i64::try_from(at).unwrap_or(i64::MAX))? {
                labelled += 1;
            }
            rawmkv::frame(stdin, at, &frame)?;
            done += 1;
            progress(Progress {
                frames: done,
                total: estimate.max(done),
            });
        }
        Ok(())
    })?;
    drop(frames_out);
    dec.wait().map_err(ff)?;
    keep_label(input, output, &options.limits)?;
    Ok(StampReport {
        method: Method::WholeFile,
        reason: Some(reason),
        reencoded_frames: done,
        labelled_frames: labelled,
        copied_frames: 0,
        splice_at: Vec::new(),
        codec: video.codec_name.clone(),
    })
}

/// Runs an encoder that writes its own output file: only stdin is piped.
fn pump_into(
    encoder: aigc_label_ffmpeg::Running,
    feed: impl FnMut(&mut dyn std::io::Write) -> Result<()>,
) -> Result<()> {
    pump(encoder, feed).map(|_| ())
}

/// Writes the input's implicit label into the output when ffmpeg dropped it.
fn keep_label(input: &Path, output: &Path, limits: &aigc_label_core::Limits) -> Result<()> {
    let mut head = [0u8; 64];
    let n = {
        use std::io::Read;
        std::fs::File::open(input)?.read(&mut head)?
    };
    let Some(carrier) = crate::carriers()
        .into_iter()
        .find(|c| c.sniff(head.get(..n).unwrap_or_default()))
    else {
        return Ok(());
    };
    let found = carrier
        .find(&mut std::fs::File::open(input)?, limits)
        .unwrap_or_default();
    let Some(label) = found
        .iter()
        .find_map(|f| aigc_label_core::json::parse(&f.text, limits.max_depth).ok()?.to_label())
    else {
        return Ok(());
    };
    if !carrier
        .find(&mut std::fs::File::open(output)?, limits)
        .unwrap_or_default()
        .is_empty()
    {
        return Ok(());
    }
    let tmp = output.with_extension(format!(
        "{}.label.tmp",
        output.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        carrier.write(&mut std::fs::File::open(output)?, &mut out, &label, limits)?;
        std::io::Write::flush(&mut out)?;
    }
    std::fs::rename(&tmp, output)?;
    Ok(())
}
