//! The fallback: ffmpeg re-encodes the whole video stream with the labelled frames, copying
//! every other stream, the metadata and the chapters; an implicit label it does not carry over
//! is written back with our carrier.

use std::path::Path;

use aigc_label_core::Result;
use aigc_label_ffmpeg::{Stream, Tools};

use super::encode::{decoder, encoder_args, ff, pump, raw_input, read_frame};
use super::{Method, Progress, StampOptions, StampReport, raw_for, schedule};
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
    // Frames are numbered in presentation order at the stream's rate.
    let spec = FrameSpec::new(width, height, raw.format, (fps.1, fps.0));
    let stamper = FrameStamper::new(spec, options.style.clone(), schedule(options, total))?;
    let mut frame = vec![0u8; spec.frame_len()?];
    let mut dec = decoder(tools, input, mp4, video.index, raw, u64::MAX)?;
    let mut frames_out = dec
        .take_stdout()
        .ok_or_else(|| aigc_label_core::Error::Parameter("decoder without stdout".into()))?;
    let mut job = tools.ffmpeg(Vec::<String>::new());
    raw_input(&mut job, raw, width, height, &rate.to_string());
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
    job.args(["-map_metadata", "1", "-map_chapters", "1"]);
    job.args([format!("-map_metadata:s:{position}"), format!("1:s:{}", video.index)]);
    let ext = output
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if matches!(ext.as_str(), "mp4" | "mov" | "m4v") {
        job.args(["-movflags", "+use_metadata_tags"]);
    }
    job.arg(output);
    let encoder = job.pipe_stdin().spawn().map_err(ff)?;
    let mut done = 0u64;
    let mut labelled = 0u64;
    pump_into(encoder, |stdin| {
        while read_frame(&mut frames_out, &mut frame)? {
            if stamper.stamp(&mut frame, i64::try_from(done).unwrap_or(i64::MAX))? {
                labelled += 1;
            }
            stdin.write_all(&frame)?;
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
