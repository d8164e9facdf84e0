//! The explicit label on whole video files (GB 45438-2025 section 5: text in the picture on
//! the opening frames for at least 2 s; more at the end or in the middle is allowed),
//! re-encoding only the frames the label touches.
//!
//! [`stamp_file`] decodes the opening frames with ffmpeg (a subprocess, see
//! `aigc_label_ffmpeg`), draws the label with [`crate::frames::FrameStamper`] and the bundled
//! font, and re-encodes them with the source's codec, profile, level, size, pixel format and
//! colour description. In an MP4/MOV with H.264, HEVC or AV1 it then
//! **splices**: the re-encoded stretch ends at the first keyframe at or after the label's end
//! (a clean one: shown before every later frame and after every earlier one, so open-GOP
//! leading pictures never lose their reference; for H.264 also an IDR picture), every packet
//! from there on is copied unchanged, and our own writer puts the new samples in the file in
//! place of the old ones (see the `splice` module for the sample tables, and the `avc` module
//! for why H.264's new parameter sets join the source's `avcC` while HEVC's get a sample
//! description of their own; AV1 is cut at a key frame whose temporal unit carries a sequence
//! header, the segment brings its own in band and `av1C` stays the source's). Audio, subtitles, data tracks, chapters, metadata and any
//! implicit label are copied as they were.
//!
//! Matroska/WebM with VP8, VP9, AV1, H.264 or HEVC is spliced the same way, each `--at` window
//! too (an IDR for H.264, whose new parameter sets join the track's `CodecPrivate` as they join
//! MP4's `avcC`; for HEVC an IRAP picture without leading pictures, the new sets renumbered to
//! free ids by the `hevc` module; see the `mkv` module); FLV with H.264 (`flv`) and AVI with
//! MPEG-4 Part 2 or H.264 (`avi`; H.264's new parameter sets in band) at the first keyframe
//! after the opening window, each `--at` window too. The re-encoded frames take the
//! source's timestamps (the `opening` module), so a variable frame rate is kept. A fragmented
//! MP4 with H.264 or HEVC gets its fragments up to the first one that starts with a clean
//! keyframe after the label rewritten (each `--at` window's fragments too), the rest copied
//! (the `frag` module). Files the splice writers do not handle (other codecs, laced video) are
//! re-encoded whole by ffmpeg, frames still at their source times, with the other streams, metadata and
//! chapters copied; an implicit label ffmpeg does not carry over is written back.
//! The [`StampReport`] says which way was taken and why, and so does the CLI.
//!
//! ```no_run
//! use aigc_label_video::stamp::{At, Method, StampOptions, stamp_file};
//!
//! let options = StampOptions {
//!     at: At::parse_list("start,end")?,
//!     ..StampOptions::default()
//! };
//! let report = stamp_file("clip.mp4".as_ref(), "labelled.mp4".as_ref(), &options)?;
//! if report.method != Method::Spliced {
//!     eprintln!("re-encoded more than the label: {:?}", report.reason);
//! }
//! # Ok::<(), aigc_label_core::Error>(())
//! ```

mod avc;
mod avi;
mod encode;
mod flv;
mod frag;
mod hevc;
mod mkv;
mod opening;
mod rawmkv;
mod splice;
mod whole;

use std::path::Path;

use aigc_label_core::{Error, Limits, Result};
use aigc_label_ffmpeg::{Stream, Tools};
use aigc_label_image::stamp::Style;

use self::encode::{Raw, ff};
use self::splice::Replaced;
use crate::frames::{MIN_START_SECONDS, Schedule};

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
                    Error::parameter(
                        "video",
                        format!("--at {s:?}: use start, end, a percentage (50%) or seconds (12.5s)"),
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
    /// The whole video track was re-encoded (no clean keyframe after the label, or windows that
    /// meet), inside our own container writer: other tracks were still copied byte for byte.
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
        return Err(Error::parameter(
            "video",
            format!(
                "--duration {} s is under {MIN_START_SECONDS} s; GB 45438-2025 section 5 asks for the label on the opening frames for at least 2 s",
                options.seconds
            ),
        ));
    }
    let tools = Tools::find().map_err(ff)?;
    let streams = tools.streams(input).map_err(ff)?;
    let video = streams
        .iter()
        .find(|s| s.is_video())
        .ok_or_else(|| Error::unsupported("video", "the file has no video stream to label"))?;
    let mut head = [0u8; 16];
    let is_mp4 = {
        use std::io::Read;
        let n = std::fs::File::open(input)?.read(&mut head)?;
        aigc_label_core::Carrier::sniff(&crate::Bmff, head.get(..n).unwrap_or_default())
    };
    let splice_codec = matches!(video.codec_name.as_str(), "h264" | "hevc" | "av1");
    let is_mkv = aigc_label_core::Carrier::sniff(&crate::Matroska, &head);
    let is_flv = aigc_label_core::Carrier::sniff(&crate::Flv, &head);
    let is_avi = aigc_label_core::Carrier::sniff(&crate::Avi, &head);
    let job = Job {
        tools: &tools,
        input,
        output,
        video,
        options,
    };
    let reason = if is_avi && matches!(video.codec_name.as_str(), "mpeg4" | "h264") {
        match spliced_avi(&job, progress) {
            Err(Error::Unsupported(why)) => {
                format!("this AVI file cannot be spliced ({why}); re-encoded whole by ffmpeg")
            }
            other => return other,
        }
    } else if is_flv && video.codec_name == "h264" {
        match spliced_flv(&job, progress) {
            Err(Error::Unsupported(why)) => {
                format!("this FLV file cannot be spliced ({why}); re-encoded whole by ffmpeg")
            }
            other => return other,
        }
    } else if is_mkv && matches!(video.codec_name.as_str(), "vp8" | "vp9" | "h264" | "hevc" | "av1") {
        match spliced_mkv(&job, progress) {
            Err(Error::Unsupported(why)) => {
                format!("this Matroska file cannot be spliced ({why}); re-encoded whole by ffmpeg")
            }
            other => return other,
        }
    } else if !is_mp4 {
        "the splice writers handle MP4/MOV (H.264, HEVC), Matroska/WebM (VP8, VP9, AV1, H.264, HEVC), FLV (H.264) and AVI (MPEG-4 Part 2, H.264); this file is re-encoded whole by ffmpeg"
            .to_string()
    } else if !splice_codec {
        format!(
            "the MP4 splice handles H.264, HEVC and AV1; {} video is re-encoded whole by ffmpeg",
            video.codec_name
        )
    } else {
        match spliced(&job, progress) {
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
    // A point past the end labels nothing; the opening window always stays.
    let mut i = 0;
    out.retain(|(from, _)| {
        i += 1;
        i == 1 || *from < total
    });
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

fn spliced(job: &Job<'_>, progress: &mut dyn FnMut(Progress)) -> Result<StampReport> {
    let Job {
        input,
        output,
        video,
        options,
        ..
    } = *job;
    if frag::is_fragmented(&mut std::fs::File::open(input)?, &options.limits)? {
        return spliced_fragments(job, progress);
    }
    let mp4 = splice::open(&mut std::fs::File::open(input)?, video.index, &options.limits)?;
    let samples = &mp4.samples;
    let n = samples.len();
    let cts = splice::presentation(samples);
    let t0 = cts.first().copied().unwrap_or(0);
    let ts = f64::from(mp4.media_timescale());
    let end_ticks = splice::decode_times(samples)
        .iter()
        .zip(samples)
        .map(|(d, s)| d.saturating_add(s.cts_offset).saturating_add(i64::from(s.duration)))
        .max()
        .unwrap_or(t0);
    let total = end_ticks.saturating_sub(t0) as f64 / ts;
    let mut cuts = splice::cut_points(samples);
    let av1 = video.codec_name == "av1";
    if video.codec_name == "h264" || av1 {
        // H.264 is cut at IDR pictures, AV1 at key frames whose temporal unit carries a
        // sequence header (the copied frames then bring the source's back, in band).
        let length_size = match av1 {
            true => 0,
            false => avc::length_size(avc::record(mp4.first_entry()?)?)?,
        };
        let is_cut = |bytes: &[u8]| match av1 {
            true => mkv::av1_obu(bytes, 1).is_some(),
            false => avc::is_idr(bytes, length_size),
        };
        let mut file = std::fs::File::open(input)?;
        let mut keep = Vec::with_capacity(cuts.len());
        for c in cuts {
            let cut = match samples.get(c) {
                None => true, // the end
                Some(_) if c == 0 => true,
                Some(_) => mp4
                    .read_sample(&mut file, c, 64 << 20)
                    .is_ok_and(|bytes| is_cut(&bytes)),
            };
            if cut {
                keep.push(c);
            }
        }
        cuts = keep;
    }
    let at_cut = |c: usize| cts.get(c).copied().unwrap_or(i64::MAX);
    // Each window widened to the cut points around it, then merged.
    let ranges = stretches(options, total, t0, ts, &cuts, n, &at_cut);
    // H.264: the new parameter sets join the source's avcC under ids it does not use (see the
    // avc module); other codecs get a sample description of their own per segment.
    let h264 = if video.codec_name == "h264" {
        if mp4.entry_count()? != 1 || samples.iter().any(|s| s.desc != 1) {
            return Err(Error::unsupported(
                "video",
                "H.264 track with several sample descriptions",
            ));
        }
        let kept = kept_sets(input, &mp4, &ranges)?;
        let count = u32::try_from(ranges.len()).unwrap_or(u32::MAX);
        Some((kept.free_ids(count)?, kept))
    } else {
        None
    };
    let h264_id = h264.as_ref().map(|(id, _)| *id);
    let first_new = mp4.entry_count()?.saturating_add(1);
    let keyframe_interval = samples.iter().skip(1).position(|s| s.sync).map(|i| i + 1);
    let tag = &video.codec_tag_string;
    let tag = (!tag.is_empty() && tag.is_ascii() && tag.len() == 4).then(|| tag.clone());
    let outputs: Vec<opening::Output> = (0u32..)
        .zip(&ranges)
        .map(|(i, &(a, b))| opening::Output::Mp4 {
            // A whole track keeps the source's keyframe spacing, so seeking stays as it was.
            gop: keyframe_interval.filter(|_| (a, b) == (0, n)),
            // Ids from `free_ids`, one per stretch.
            sps_id: h264_id.map(|id| id.saturating_add(i)),
            tag: tag.clone(),
        })
        .collect();
    let stretches: Vec<_> = ranges
        .iter()
        .zip(&outputs)
        .map(|(&(a, b), output)| {
            let stretch = opening::Stretch {
                times: cts.get(a..b).unwrap_or_default(),
                skip: a,
                origin: t0,
                total,
            };
            (stretch, output)
        })
        .collect();
    let time_base = (1, mp4.media_timescale());
    let new = opening::encode_all(job.tools, input, video, options, &stretches, time_base, progress)?;
    let labelled: u64 = new.iter().map(|o| o.labelled).sum();
    let replaced: Vec<Replaced> = (0u32..)
        .zip(ranges.iter().zip(new))
        .map(|(i, (&(from, to), o))| Replaced {
            from,
            to,
            segment: o.segment,
            desc: match h264_id {
                Some(_) => 1,
                // AV1: the source's description (see below).
                None if av1 => 1,
                None => first_new.saturating_add(i),
            },
        })
        .collect();
    let stsd = match &h264 {
        Some((_, kept)) => {
            let news = replaced.iter().map(|r| r.segment.entry.as_slice());
            let entry = joined_sets(mp4.first_entry()?.to_vec(), kept, news, avc::record, avc::merge)?;
            mp4.stsd_replacing_first(&entry)?
        }
        // AV1's sequence header travels in band at each cut, so the new samples keep the
        // source's `av1C` when each segment starts with its own.
        None if av1 => {
            let starts_with_header = |r: &Replaced| {
                let first = r
                    .segment
                    .samples
                    .first()
                    .and_then(|(b, _)| r.segment.data.get(b.clone()));
                first.is_some_and(|tu| mkv::av1_obu(tu, 1).is_some())
            };
            if !replaced.iter().all(starts_with_header) {
                return Err(Error::unsupported("video", "an AV1 segment without a sequence header"));
            }
            mp4.stsd()?.to_vec()
        }
        None => mp4.stsd_appending(&replaced.iter().map(|r| r.segment.entry.as_slice()).collect::<Vec<_>>())?,
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(output)?);
    splice::write(&mut std::fs::File::open(input)?, &mp4, &replaced, &stsd, &mut out)?;
    std::io::Write::flush(&mut out)?;
    Ok(windows_report(video, &ranges, n, labelled, |c| {
        at_cut(c).saturating_sub(t0) as f64 / ts
    }))
}

/// The fragmented MP4 splice (H.264, HEVC): each label window widened to the fragments that
/// start with a clean keyframe around it (see the `frag` module), each stretch re-encoded with
/// parameter set ids of its own, which join the one sample description.
fn spliced_fragments(job: &Job<'_>, progress: &mut dyn FnMut(Progress)) -> Result<StampReport> {
    let Job {
        input,
        output,
        video,
        options,
        ..
    } = *job;
    let hevc = match video.codec_name.as_str() {
        "h264" => false,
        "hevc" => true,
        other => {
            return Err(Error::unsupported(
                "video",
                format!("{other} in a fragmented MP4 (the fragment splice handles H.264 and HEVC)"),
            ));
        }
    };
    let frag = frag::open(&mut std::fs::File::open(input)?, video.index, &options.limits)?;
    let samples = &frag.samples;
    let n = samples.len();
    if samples.iter().any(|s| s.desc != 1) {
        return Err(Error::unsupported(
            "video",
            "fragments with several sample descriptions",
        ));
    }
    let entry = frag.first_entry()?;
    // H.264 is cut at an IDR picture, HEVC at an IRAP picture (`cut_points` has ruled out
    // leading pictures); each one's new parameter sets join the one sample description.
    let record = match hevc {
        true => hevc::record(entry)?,
        false => avc::record(entry)?,
    };
    let length_size = match hevc {
        true => hevc::length_size(record)?,
        false => avc::length_size(record)?,
    };
    let cts = splice::presentation(samples);
    let t0 = cts.first().copied().unwrap_or(0);
    let per_second = f64::from(frag.timescale);
    let end_ticks = splice::decode_times(samples)
        .iter()
        .zip(samples)
        .map(|(d, s)| d.saturating_add(s.cts_offset).saturating_add(i64::from(s.duration)))
        .max()
        .unwrap_or(t0);
    let total = end_ticks.saturating_sub(t0) as f64 / per_second;
    let mut file = std::io::BufReader::new(std::fs::File::open(input)?);
    let mut read = |s: &crate::bmff::table::Sample, pos: u64, buf: &mut [u8]| -> Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        file.seek(SeekFrom::Start(s.offset.saturating_add(pos)))?;
        file.read_exact(buf)?;
        Ok(())
    };
    // Cuts: fragment starts that are clean keyframes.
    let starts = frag.video_starts();
    let mut cuts = vec![0];
    for c in splice::cut_points(samples) {
        let Some(s) = samples.get(c).filter(|_| c > 0 && starts.contains(&c)) else {
            continue;
        };
        let mut bytes = vec![0u8; s.size.min(64 << 20) as usize];
        read(s, 0, &mut bytes)?;
        let clean = match hevc {
            true => hevc::is_irap(&bytes, length_size),
            false => avc::is_idr(&bytes, length_size),
        };
        if clean {
            cuts.push(c);
        }
    }
    cuts.push(n);
    let at_cut = |c: usize| cts.get(c).copied().unwrap_or(i64::MAX);
    let ranges = stretches(options, total, t0, per_second, &cuts, n, &at_cut);
    // The parameter sets the copied samples use (see `kept_sets`).
    let mut used = Some(std::collections::BTreeSet::new());
    for (i, s) in samples.iter().enumerate() {
        if ranges.iter().any(|&(a, b)| (a..b).contains(&i)) {
            continue;
        }
        let mut read_at = |pos: u64, buf: &mut [u8]| read(s, pos, buf);
        let id = match hevc {
            true => hevc::sample_pps_id(u64::from(s.size), length_size, &mut read_at)?,
            false => avc::sample_pps_id(u64::from(s.size), length_size, &mut read_at)?,
        };
        mkv::note_pps(&mut used, id);
    }
    let count = u32::try_from(ranges.len()).unwrap_or(u32::MAX);
    let first_id = match hevc {
        true => hevc::Kept::from(record, used.as_ref())?.free_ids(count)?,
        false => kept_sets_of(record, used.as_ref())?.free_ids(count)?,
    };
    let keyframe_interval = samples.iter().skip(1).position(|s| s.sync).map(|i| i + 1);
    let tag = &video.codec_tag_string;
    let tag = (!tag.is_empty() && tag.is_ascii() && tag.len() == 4).then(|| tag.clone());
    let plan: Vec<(usize, Vec<i64>, opening::Output)> = (0u32..)
        .zip(&ranges)
        .map(|(i, &(a, b))| {
            let times = cts.get(a..b).unwrap_or_default().to_vec();
            let kind = match hevc {
                true => opening::Output::Hevc {
                    id: first_id + i,
                    mp4: true,
                },
                false => opening::Output::Mp4 {
                    // A whole track keeps the source's keyframe spacing.
                    gop: keyframe_interval.filter(|_| (a, b) == (0, n)),
                    sps_id: Some(first_id + i),
                    tag: tag.clone(),
                },
            };
            (a, times, kind)
        })
        .collect();
    let new = encode_plan(job, &plan, t0, total, (1, frag.timescale), progress)?;
    // Each stretch's sets join the record: the first beside the source's kept ones, each later
    // one beside every set already there.
    let news = new.iter().map(|o| o.segment.entry.as_slice());
    let entry = match hevc {
        true => {
            let mut current = record.to_vec();
            for (i, o) in new.iter().enumerate() {
                let keep = match i {
                    0 => hevc::Kept::from(record, used.as_ref())?,
                    _ => hevc::Kept::all(&current)?,
                };
                current = hevc::merge_kept(&current, &keep, hevc::record(&o.segment.entry)?)?;
            }
            avc::with_config(entry, b"hvcC", &current)?
        }
        false => {
            let kept = kept_sets_of(record, used.as_ref())?;
            joined_sets(entry.to_vec(), &kept, news, avc::record, avc::merge)?
        }
    };
    let (_, new_frames) = placed(&plan, &new);
    write_output(output, |out| {
        frag::write(
            &mut std::fs::File::open(input)?,
            &frag,
            &ranges,
            &new_frames,
            &entry,
            out,
        )
    })?;
    let labelled = new.iter().map(|o| o.labelled).sum();
    Ok(windows_report(video, &ranges, n, labelled, |c| {
        at_cut(c).saturating_sub(t0) as f64 / per_second
    }))
}

/// Encodes each planned stretch of a `--at` splice (its first frame's index, its frames'
/// presentation times sorted, its output) of a video whose first frame is at `t0` and that
/// lasts `total` seconds, times in ticks of `time_base` seconds.
fn encode_plan(
    job: &Job<'_>,
    plan: &[(usize, Vec<i64>, opening::Output)],
    t0: i64,
    total: f64,
    time_base: (u32, u32),
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<opening::Opening>> {
    let jobs: Vec<_> = plan
        .iter()
        .map(|(a, times, kind)| {
            let stretch = opening::Stretch {
                times,
                skip: *a,
                origin: t0,
                total,
            };
            (stretch, kind)
        })
        .collect();
    opening::encode_all(job.tools, job.input, job.video, job.options, &jobs, time_base, progress)
}

/// The frames of each planned stretch's encode `new`, in order, and the index of the source
/// frame each takes the place of: what the container writers' `write_at` take.
fn placed<'a>(
    plan: &[(usize, Vec<i64>, opening::Output)],
    new: &'a [opening::Opening],
) -> (Vec<usize>, Vec<opening::NewFrame<'a>>) {
    let (mut at, mut frames) = (Vec::new(), Vec::new());
    for ((a, times, _), o) in plan.iter().zip(new) {
        let f = o.frames(times);
        at.extend(*a..*a + f.len());
        frames.extend(f);
    }
    (at, frames)
}

/// The report of a splice that re-encoded `ranges` (decode order) of a track of `n` frames;
/// `seconds(c)` is where cut `c` falls, from the first frame.
fn windows_report(
    video: &Stream,
    ranges: &[(usize, usize)],
    n: usize,
    labelled: u64,
    seconds: impl Fn(usize) -> f64,
) -> StampReport {
    let reencoded: u64 = ranges.iter().map(|(a, b)| (b - a) as u64).sum();
    let whole_track = ranges.first() == Some(&(0, n));
    StampReport {
        method: if whole_track {
            Method::WholeTrack
        } else {
            Method::Spliced
        },
        reason: whole_track.then(|| {
            "no clean keyframe after the label's windows: the whole video track was re-encoded (other tracks copied)".to_string()
        }),
        reencoded_frames: reencoded,
        labelled_frames: labelled,
        copied_frames: (n as u64).saturating_sub(reencoded),
        splice_at: ranges.iter().filter(|r| r.1 < n).map(|r| seconds(r.1)).collect(),
        codec: video.codec_name.clone(),
    }
}

/// H.264 parameter sets after each stretch's new ones joined `current` in turn (MP4: a sample
/// entry, `record` finds its `avcC`; Matroska: the record itself): the first keeps only the
/// source's sets `kept`, each later one every set already there.
fn joined_sets<'a>(
    mut current: Vec<u8>,
    kept: &avc::Kept,
    news: impl IntoIterator<Item = &'a [u8]>,
    record: fn(&[u8]) -> Result<&[u8]>,
    merge: impl Fn(&[u8], &avc::Kept, &'a [u8]) -> Result<Vec<u8>>,
) -> Result<Vec<u8>> {
    for (i, new) in news.into_iter().enumerate() {
        let all;
        let keep = if i == 0 {
            kept
        } else {
            all = avc::Kept::all(record(&current)?)?;
            &all
        };
        current = merge(&current, keep, new)?;
    }
    Ok(current)
}

/// The source's H.264 parameter sets that the samples outside `ranges` (the ones copied) use:
/// read from each kept sample's first slice header. A file stamped before holds sets only its
/// re-encoded frames used; those go when the frames do.
fn kept_sets(input: &Path, mp4: &splice::Mp4, ranges: &[(usize, usize)]) -> Result<avc::Kept> {
    let record = avc::record(mp4.first_entry()?)?;
    let length_size = avc::length_size(record)?;
    let mut file = std::io::BufReader::new(std::fs::File::open(input)?);
    let mut used = std::collections::BTreeSet::new();
    let mut next = ranges.iter().peekable();
    for (i, s) in mp4.samples.iter().enumerate() {
        while next.peek().is_some_and(|r| r.1 <= i) {
            next.next();
        }
        if next.peek().is_some_and(|r| r.0 <= i) {
            continue;
        }
        let mut read_at = |pos: u64, buf: &mut [u8]| -> Result<()> {
            use std::io::{Read, Seek, SeekFrom};
            file.seek(SeekFrom::Start(s.offset.saturating_add(pos)))?;
            file.read_exact(buf)?;
            Ok(())
        };
        match avc::sample_pps_id(u64::from(s.size), length_size, &mut read_at)? {
            Some(id) => {
                used.insert(id);
            }
            // A sample whose slice cannot be read: keep every set.
            None => return avc::Kept::all(record),
        }
    }
    avc::Kept::used(record, &used)
}

/// The sets of `record` that frames naming the PPS ids `used` need; all of them when those
/// are unknown.
fn kept_sets_of(record: &[u8], used: Option<&std::collections::BTreeSet<u32>>) -> Result<avc::Kept> {
    match used {
        Some(used) => avc::Kept::used(record, used),
        None => avc::Kept::all(record),
    }
}

/// Writes `output` through a buffer.
fn write_output(output: &Path, write: impl FnOnce(&mut dyn std::io::Write) -> Result<()>) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(output)?);
    write(&mut out)?;
    std::io::Write::flush(&mut out)?;
    Ok(())
}

/// What a splice works on: the tools, the files, the video stream and the options.
#[derive(Clone, Copy)]
struct Job<'a> {
    tools: &'a Tools,
    input: &'a Path,
    output: &'a Path,
    video: &'a Stream,
    options: &'a StampOptions,
}

impl Job<'_> {
    /// The opening splice once a container knows the frames it replaces: their presentation
    /// `times` (ticks of `time_base` seconds, any order) re-encoded as `kind`; `prepare` works
    /// out what the container needs from the encoded stretch (new parameter sets, a check),
    /// before the output exists; then `write` (given the input file, the new frames in decode
    /// order with the times they take, what `prepare` made, and the output) writes it. Returns
    /// the frames labelled and the first of the times.
    fn splice<P>(
        &self,
        mut times: Vec<i64>,
        time_base: (u32, u32),
        kind: &opening::Output,
        progress: &mut dyn FnMut(Progress),
        prepare: impl FnOnce(&opening::Opening) -> Result<P>,
        write: impl FnOnce(&mut std::fs::File, &[opening::NewFrame<'_>], P, &mut dyn std::io::Write) -> Result<()>,
    ) -> Result<(u64, i64)> {
        times.sort_unstable();
        let first_ts = times.first().copied().unwrap_or(0);
        let stretch = opening::Stretch::opening(&times);
        let (tools, input, video, options) = (self.tools, self.input, self.video, self.options);
        let new = opening::encode(tools, input, video, options, &stretch, time_base, kind, progress)?;
        let prepared = prepare(&new)?;
        let frames = new.frames(&times);
        write_output(self.output, |out| {
            write(&mut std::fs::File::open(input)?, &frames, prepared, out)
        })?;
        Ok((new.labelled, first_ts))
    }
}

/// The report of a container splice that re-encoded the first `k` frames.
fn spliced_report(video: &Stream, k: usize, labelled: u64, copied: u64, splice_at: f64) -> StampReport {
    StampReport {
        method: Method::Spliced,
        reason: None,
        reencoded_frames: k as u64,
        labelled_frames: labelled,
        copied_frames: copied,
        splice_at: vec![splice_at],
        codec: video.codec_name.clone(),
    }
}

/// The Matroska/WebM splice (VP8, VP9, AV1, H.264) of the opening window.
fn spliced_mkv(job: &Job<'_>, progress: &mut dyn FnMut(Progress)) -> Result<StampReport> {
    let Job {
        input, video, options, ..
    } = *job;
    if options.at.iter().any(|a| *a != At::Start) {
        return spliced_mkv_windows(job, progress);
    }
    let until_ns = (options.seconds * 1e9).ceil() as u64;
    let mkv = mkv::open(&mut std::fs::File::open(input)?, video.index, until_ns, &options.limits)?;
    let h264 = mkv.codec_id == mkv::H264;
    let hevc = nal_codec_stored(video, &mkv)?;
    let Some(last) = mkv.frames.last().filter(|_| mkv.cut && mkv.frames.len() > 1) else {
        return Err(Error::unsupported("video", "no keyframe after the label's end"));
    };
    let k = mkv.frames.len() - 1;
    // H.264 blocks come in decode order; `opening` sorts the times.
    let times: Vec<i64> = mkv.frames.iter().take(k).map(|f| f.ts).collect();
    // Timestamps in Segment ticks of `scale` ns.
    let time_base = mkv_time_base(mkv.scale)?;
    let output_kind = if h264 {
        // Matroska stores no decode times: readers infer them from the reorder depth the
        // first SPS declares, and the new SPS comes first. So the segment keeps the source's
        // depth (x264 declares 1 for one B-frame, 2 with a B-pyramid), or the copied B-frames
        // after the cut would get decode times after their presentation times.
        let bframes = mkv_bframes(video)?;
        // The new parameter sets join CodecPrivate under ids the copied frames do not use (a
        // label stamped before loses its sets with its frames).
        let sps_id = kept_sets_of(&mkv.private, mkv.kept_pps.as_ref())?.free_ids(1)?;
        opening::Output::H264 { sps_id, bframes }
    } else if hevc {
        // The segment's sets renumbered to ids the copied frames do not use (the hevc module).
        let id = hevc::Kept::from(&mkv.private, mkv.kept_pps.as_ref())?.free_ids(1)?;
        opening::Output::Hevc { id, mp4: false }
    } else {
        opening::Output::Ivf
    };
    let private = |new: &opening::Opening| -> Result<Option<Vec<u8>>> {
        if hevc {
            let kept = hevc::Kept::from(&mkv.private, mkv.kept_pps.as_ref())?;
            let record = hevc::record(&new.segment.entry)?;
            return Ok(Some(hevc::merge_kept(&mkv.private, &kept, record)?));
        }
        if !h264 {
            return Ok(None);
        }
        let kept = kept_sets_of(&mkv.private, mkv.kept_pps.as_ref())?;
        Ok(Some(avc::merge_kept(
            &mkv.private,
            &kept,
            avc::record(&new.segment.entry)?,
        )?))
    };
    let (labelled, first_ts) = job.splice(
        times,
        time_base,
        &output_kind,
        progress,
        private,
        |file, frames, private, out| mkv::write(file, &mkv, frames, private.as_deref(), &options.limits, out),
    )?;
    Ok(spliced_report(
        video,
        k,
        labelled,
        mkv.later + 1,
        last.ts.saturating_sub(first_ts) as f64 * mkv.scale as f64 / 1e9,
    ))
}

/// The Matroska/WebM splice with `--at` windows besides the opening one: every block read,
/// each window widened to the cut points around it, each stretch re-encoded on its own (H.264:
/// each with parameter set ids of its own).
fn spliced_mkv_windows(job: &Job<'_>, progress: &mut dyn FnMut(Progress)) -> Result<StampReport> {
    let Job {
        input,
        output,
        video,
        options,
        ..
    } = *job;
    let mkv = mkv::open(&mut std::fs::File::open(input)?, video.index, u64::MAX, &options.limits)?;
    let h264 = mkv.codec_id == mkv::H264;
    let hevc = nal_codec_stored(video, &mkv)?;
    let frames = &mkv.frames;
    let n = frames.len();
    let (Some(t0), Some(t_last)) = (frames.iter().map(|f| f.ts).min(), frames.iter().map(|f| f.ts).max()) else {
        return Err(Error::unsupported("video", "no video blocks"));
    };
    let tick = mkv.scale as f64 / 1e9;
    let period = video.frame_rate().map_or(0.04, |r| 1.0 / r.as_f64());
    let total = (t_last - t0) as f64 * tick + period;
    let cuts: Vec<usize> = (0..n)
        .filter(|&i| frames.get(i).is_some_and(|f| f.clean))
        .chain([n])
        .collect();
    let at_cut = |c: usize| frames.get(c).map_or(i64::MAX, |f| f.ts);
    let ranges = stretches(options, total, t0, 1.0 / tick, &cuts, n, &at_cut);
    let time_base = mkv_time_base(mkv.scale)?;
    let kept = if h264 {
        Some(avc::Kept::all(&mkv.private)?)
    } else {
        None
    };
    let count = u32::try_from(ranges.len()).unwrap_or(u32::MAX);
    let first_id = match &kept {
        Some(kept) => kept.free_ids(count)?,
        None if hevc => hevc::Kept::all(&mkv.private)?.free_ids(count)?,
        None => 0,
    };
    let mut plan = Vec::with_capacity(ranges.len());
    for (i, &(a, b)) in ranges.iter().enumerate() {
        let mut times: Vec<i64> = frames.get(a..b).unwrap_or_default().iter().map(|f| f.ts).collect();
        times.sort_unstable();
        let kind = if h264 {
            let bframes = mkv_bframes(video)?;
            let sps_id = first_id + u32::try_from(i).unwrap_or(u32::MAX);
            opening::Output::H264 { sps_id, bframes }
        } else if hevc {
            let id = first_id + u32::try_from(i).unwrap_or(u32::MAX);
            opening::Output::Hevc { id, mp4: false }
        } else {
            opening::Output::Ivf
        };
        plan.push((a, times, kind));
    }
    let new = encode_plan(job, &plan, t0, total, time_base, progress)?;
    let private = match &kept {
        Some(kept) => {
            let news = new.iter().map(|o| o.segment.entry.as_slice());
            let merge =
                |record: &[u8], keep: &avc::Kept, entry: &[u8]| avc::merge_kept(record, keep, avc::record(entry)?);
            Some(joined_sets(mkv.private.clone(), kept, news, |r| Ok(r), merge)?)
        }
        // Each stretch's renumbered sets beside every set already there.
        None if hevc => {
            let mut current = mkv.private.clone();
            for o in &new {
                let every = hevc::Kept::all(&current)?;
                current = hevc::merge_kept(&current, &every, hevc::record(&o.segment.entry)?)?;
            }
            Some(current)
        }
        None => None,
    };
    let (at, new_frames) = placed(&plan, &new);
    write_output(output, |out| {
        mkv::write_at(
            &mut std::fs::File::open(input)?,
            &mkv,
            &at,
            &new_frames,
            private.as_deref(),
            &options.limits,
            out,
        )
    })?;
    let labelled = new.iter().map(|o| o.labelled).sum();
    Ok(windows_report(video, &ranges, n, labelled, |c| {
        at_cut(c).saturating_sub(t0) as f64 * tick
    }))
}

/// The stretches (frame ranges, decode order) to re-encode: each label window of a video of
/// `total` seconds whose first frame is at `t0` (`per_second` ticks a second) widened to the
/// cut points around it (`cuts`, ascending, ending with `n`; `at_cut` gives a cut's time), then
/// merged.
fn stretches(
    options: &StampOptions,
    total: f64,
    t0: i64,
    per_second: f64,
    cuts: &[usize],
    n: usize,
    at_cut: &dyn Fn(usize) -> i64,
) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    for (from, to) in windows(options, total) {
        let (w0, w1) = (
            t0.saturating_add((from * per_second) as i64),
            t0.saturating_add((to * per_second).ceil() as i64),
        );
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
    merge_ranges(ranges)
}

/// Whether the Matroska track is HEVC (`hvcC` in `CodecPrivate`); an error when H.264 or HEVC
/// is stored some other way.
fn nal_codec_stored(video: &Stream, mkv: &mkv::Mkv) -> Result<bool> {
    let stored = match video.codec_name.as_str() {
        "h264" => mkv.codec_id == mkv::H264,
        "hevc" => mkv.codec_id == mkv::HEVC,
        _ => true,
    };
    if !stored {
        return Err(Error::unsupported(
            "video",
            format!("{} stored as {}", video.codec_name, mkv.codec_id),
        ));
    }
    Ok(mkv.codec_id == mkv::HEVC)
}

/// How many B-frames in a row a Matroska H.264 segment may have: as deep as the source's
/// reordering (see `spliced_mkv`), which x264 signals as 1 or 2.
fn mkv_bframes(video: &Stream) -> Result<u32> {
    match video.has_b_frames.unwrap_or(0) {
        n @ 0..=2 => Ok(n),
        n => Err(Error::unsupported(
            "video",
            format!("H.264 with a reorder depth of {n}"),
        )),
    }
}

/// The time base of Matroska ticks of `scale` ns, as a fraction of a second.
fn mkv_time_base(scale: u64) -> Result<(u32, u32)> {
    let g = gcd(scale, 1_000_000_000);
    Ok((
        u32::try_from(scale / g).map_err(|_| Error::unsupported("video", "timestamp scale"))?,
        u32::try_from(1_000_000_000 / g).map_err(|_| Error::unsupported("video", "timestamp scale"))?,
    ))
}

/// Ranges sorted and merged where they touch or overlap.
fn merge_ranges(mut ranges: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    ranges.sort_unstable();
    ranges
        .into_iter()
        .fold(Vec::new(), |mut acc: Vec<(usize, usize)>, (a, b)| {
            match acc.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => acc.push((a, b)),
            }
            acc
        })
}

/// The FLV splice (H.264): the opening window only.
fn spliced_flv(job: &Job<'_>, progress: &mut dyn FnMut(Progress)) -> Result<StampReport> {
    let Job {
        input, video, options, ..
    } = *job;
    if options.at.iter().any(|a| *a != At::Start) {
        return spliced_flv_windows(job, progress);
    }
    let until_ms = (options.seconds * 1e3).ceil() as i64;
    let flv = flv::open(&mut std::fs::File::open(input)?, until_ms, &options.limits)?;
    let Some(last) = flv.frames.last().filter(|_| flv.cut && flv.frames.len() > 1) else {
        return Err(Error::unsupported("video", "no IDR picture after the label's end"));
    };
    let k = flv.frames.len() - 1;
    let times: Vec<i64> = flv.frames.iter().take(k).map(|f| f.dts.saturating_add(f.cts)).collect();
    // FLV stores decode times, so the segment needs no B-frames (see the flv module).
    let kept = kept_sets_of(&flv.record, flv.kept_pps.as_ref())?;
    let sps_id = kept.free_ids(1)?;
    let kind = opening::Output::H264 { sps_id, bframes: 0 };
    let (labelled, first_ts) = job.splice(
        times,
        (1, 1000),
        &kind,
        progress,
        |new| avc::merge_kept(&flv.record, &kept, avc::record(&new.segment.entry)?),
        |file, frames, record, out| flv::write(file, &flv, frames, &record, &options.limits, out),
    )?;
    Ok(spliced_report(
        video,
        k,
        labelled,
        flv.later + 1,
        last.dts.saturating_add(last.cts).saturating_sub(first_ts) as f64 / 1e3,
    ))
}

/// The FLV splice with `--at` windows besides the opening one: every tag read, each window
/// widened to the IDR pictures around it, each stretch re-encoded on its own with parameter
/// set ids of its own, which all join the AVC sequence header.
fn spliced_flv_windows(job: &Job<'_>, progress: &mut dyn FnMut(Progress)) -> Result<StampReport> {
    let Job {
        input,
        output,
        video,
        options,
        ..
    } = *job;
    let flv = flv::open(&mut std::fs::File::open(input)?, i64::MAX, &options.limits)?;
    let frames = &flv.frames;
    let n = frames.len();
    let pts = |f: &flv::Tag| f.dts.saturating_add(f.cts);
    let (Some(t0), Some(t_last)) = (frames.iter().map(pts).min(), frames.iter().map(pts).max()) else {
        return Err(Error::unsupported("video", "no video frames"));
    };
    let period = video.frame_rate().map_or(0.04, |r| 1.0 / r.as_f64());
    let total = (t_last - t0) as f64 / 1e3 + period;
    let cuts: Vec<usize> = (0..n)
        .filter(|&i| frames.get(i).is_some_and(|f| f.clean))
        .chain([n])
        .collect();
    let at_cut = |c: usize| frames.get(c).map_or(i64::MAX, pts);
    let ranges = stretches(options, total, t0, 1e3, &cuts, n, &at_cut);
    let kept = avc::Kept::all(&flv.record)?;
    let first_id = kept.free_ids(u32::try_from(ranges.len()).unwrap_or(u32::MAX))?;
    let plan: Vec<(usize, Vec<i64>, opening::Output)> = (0u32..)
        .zip(&ranges)
        .map(|(i, &(a, b))| {
            let mut times: Vec<i64> = frames.get(a..b).unwrap_or_default().iter().map(pts).collect();
            times.sort_unstable();
            // FLV stores decode times: no B-frames needed (see the flv module).
            let kind = opening::Output::H264 {
                sps_id: first_id + i,
                bframes: 0,
            };
            (a, times, kind)
        })
        .collect();
    let new = encode_plan(job, &plan, t0, total, (1, 1000), progress)?;
    let news = new.iter().map(|o| o.segment.entry.as_slice());
    let merge = |record: &[u8], keep: &avc::Kept, entry: &[u8]| avc::merge_kept(record, keep, avc::record(entry)?);
    let record = joined_sets(flv.record.clone(), &kept, news, |r| Ok(r), merge)?;
    let (at, new_frames) = placed(&plan, &new);
    write_output(output, |out| {
        flv::write_at(
            &mut std::fs::File::open(input)?,
            &flv,
            &at,
            &new_frames,
            &record,
            &options.limits,
            out,
        )
    })?;
    let labelled = new.iter().map(|o| o.labelled).sum();
    Ok(windows_report(video, &ranges, n, labelled, |c| {
        at_cut(c).saturating_sub(t0) as f64 / 1e3
    }))
}

/// The AVI splice (MPEG-4 Part 2 without B-frames, H.264): the opening window only.
fn spliced_avi(job: &Job<'_>, progress: &mut dyn FnMut(Progress)) -> Result<StampReport> {
    let Job {
        input, video, options, ..
    } = *job;
    let h264 = video.codec_name == "h264";
    if !h264 && video.has_b_frames.unwrap_or(0) != 0 {
        return Err(Error::unsupported("video", "MPEG-4 with B-frames"));
    }
    if options.at.iter().any(|a| *a != At::Start) {
        return spliced_avi_windows(job, progress);
    }
    let avi = avi::open(
        &mut std::fs::File::open(input)?,
        video.index,
        options.seconds,
        h264,
        &options.limits,
    )?;
    let Some(last) = avi.frames.last().filter(|_| avi.cut && avi.frames.len() > 1) else {
        return Err(Error::unsupported("video", "no keyframe after the label's end"));
    };
    if h264 {
        return spliced_avi_h264(job, &avi, progress);
    }
    let k = avi.frames.len() - 1;
    // Times in frame periods: each chunk's slot.
    let times: Vec<i64> = avi
        .frames
        .iter()
        .take(k)
        .map(|f| i64::try_from(f.slot).unwrap_or(i64::MAX))
        .collect();
    let time_base = (avi.scale, avi.rate);
    // The copied frames are decoded with the new VOL header (see the avi module).
    let same_vol = |new: &opening::Opening| same_vol(new, &avi.vol);
    let (labelled, _) = job.splice(
        times,
        time_base,
        &opening::Output::M4v,
        progress,
        same_vol,
        |file, frames, (), out| avi::write(file, &avi, frames, &options.limits, out),
    )?;
    Ok(spliced_report(
        video,
        k,
        labelled,
        avi.later + 1,
        last.slot as f64 * f64::from(avi.scale) / f64::from(avi.rate),
    ))
}

/// The AVI splice with `--at` windows besides the opening one: every chunk read, each window
/// widened to the keyframes around it (I-VOPs; H.264 IDR pictures that carry the source's
/// parameter sets in band, so the copied frames after a stretch get theirs back), each
/// stretch re-encoded on its own (H.264: with a parameter set id of its own, in band).
fn spliced_avi_windows(job: &Job<'_>, progress: &mut dyn FnMut(Progress)) -> Result<StampReport> {
    let Job {
        input,
        output,
        video,
        options,
        ..
    } = *job;
    let h264 = video.codec_name == "h264";
    let avi = avi::open(
        &mut std::fs::File::open(input)?,
        video.index,
        f64::INFINITY,
        h264,
        &options.limits,
    )?;
    let frames = &avi.frames;
    let n = frames.len();
    let slot = |f: &avi::Frame| i64::try_from(f.slot).unwrap_or(i64::MAX);
    let Some(last) = frames.last().map(slot) else {
        return Err(Error::unsupported("video", "no video frames"));
    };
    let t0 = frames.first().map_or(0, slot);
    let per_second = f64::from(avi.rate) / f64::from(avi.scale);
    let total = (last + 1 - t0) as f64 / per_second;
    let cuts: Vec<usize> = (0..n)
        .filter(|&i| {
            frames
                .get(i)
                .is_some_and(|f| f.clean && (!h264 || i == 0 || f.has_sets))
        })
        .chain([n])
        .collect();
    let at_cut = |c: usize| frames.get(c).map_or(i64::MAX, slot);
    let ranges = stretches(options, total, t0, per_second, &cuts, n, &at_cut);
    let taken: Vec<u32> = avi
        .sets
        .iter()
        .filter_map(|s| avc::set_key(s).map(|(_, id)| id))
        .collect();
    let count = u32::try_from(ranges.len()).unwrap_or(u32::MAX);
    let first_id = (0..32u32)
        .find(|id| (*id..id.saturating_add(count)).all(|i| i < 32 && !taken.contains(&i)))
        .ok_or_else(|| Error::unsupported("video", "no free H.264 parameter set id"))?;
    let plan: Vec<(usize, Vec<i64>, opening::Output)> = (0u32..)
        .zip(&ranges)
        .map(|(i, &(a, b))| -> Result<_> {
            let times: Vec<i64> = frames.get(a..b).unwrap_or_default().iter().map(slot).collect();
            let kind = match h264 {
                true => opening::Output::H264 {
                    sps_id: first_id + i,
                    bframes: mkv_bframes(video)?,
                },
                false => opening::Output::M4v,
            };
            Ok((a, times, kind))
        })
        .collect::<Result<_>>()?;
    let new = encode_plan(job, &plan, t0, total, (avi.scale, avi.rate), progress)?;
    // Each stretch's frames as the AVI stores them (see the opening splices).
    let mut bytes: Vec<Vec<Vec<u8>>> = Vec::with_capacity(new.len());
    for o in &new {
        bytes.push(match h264 {
            true => annex_b(o, &[])?,
            false => {
                same_vol(o, &avi.vol)?;
                Vec::new()
            }
        });
    }
    let (at, mut new_frames) = placed(&plan, &new);
    // H.264 frames go in as Annex B (`bytes`, one a frame, empty for MPEG-4 Part 2).
    for (f, b) in new_frames.iter_mut().zip(bytes.iter().flatten()) {
        f.bytes = b;
    }
    write_output(output, |out| {
        avi::write_at(
            &mut std::fs::File::open(input)?,
            &avi,
            &at,
            &new_frames,
            &options.limits,
            out,
        )
    })?;
    let labelled = new.iter().map(|o| o.labelled).sum();
    Ok(windows_report(video, &ranges, n, labelled, |c| {
        at_cut(c).saturating_sub(t0) as f64 / per_second
    }))
}

/// Checks that an MPEG-4 Part 2 segment's VOL header is the source's `vol`: the copied frames
/// are decoded with the last VOL the decoder saw (see the avi module).
fn same_vol(new: &opening::Opening, vol: &[u8]) -> Result<()> {
    let new_vol = new
        .segment
        .samples
        .first()
        .and_then(|(r, _)| new.segment.data.get(r.clone()))
        .and_then(avi::vol);
    if new_vol != Some(vol) {
        return Err(Error::unsupported(
            "video",
            "the encoder's VOL header differs from the source's",
        ));
    }
    Ok(())
}

/// The frames of an H.264 segment as an Annex B byte stream, as AVI stores them: the
/// segment's SPS and PPS before each keyframe, and `carried` (the source's sets) before the
/// first frame.
fn annex_b(new: &opening::Opening, carried: &[Vec<u8>]) -> Result<Vec<Vec<u8>>> {
    let record = avc::record(&new.segment.entry)?;
    let length_size = avc::length_size(record)?;
    let own = avc::sets(record)?;
    let mut out = Vec::with_capacity(new.segment.samples.len());
    for (i, (range, sync)) in new.segment.samples.iter().enumerate() {
        let mut frame = Vec::new();
        let mut unit = |nal: &[u8]| {
            frame.extend_from_slice(&[0, 0, 0, 1]);
            frame.extend_from_slice(nal);
        };
        if i == 0 {
            carried.iter().for_each(|s| unit(s));
        }
        if *sync {
            own.iter().for_each(|s| unit(s));
        }
        let mut sample = new.segment.data.get(range.clone()).unwrap_or_default();
        while let Some(field) = sample.get(..length_size) {
            let len = field.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b));
            let nal = sample
                .get(length_size..length_size.saturating_add(len))
                .ok_or_else(|| Error::malformed("h264", 0, "NAL unit past its sample"))?;
            unit(nal);
            sample = sample.get(length_size + len..).unwrap_or_default();
        }
        out.push(frame);
    }
    Ok(out)
}

/// The AVI splice for H.264 (Annex B, parameter sets in band): the segment keeps the source's
/// reorder depth (AVI stores chunks in decode order and no times, so readers derive the
/// presentation order from it, as in Matroska), its SPS and PPS go in band before each of its
/// keyframes under an id no set of the replaced frames uses, and the first new frame also
/// carries the source's sets when the cut does not repeat them (the copied frames need them).
fn spliced_avi_h264(job: &Job<'_>, avi: &avi::Avi, progress: &mut dyn FnMut(Progress)) -> Result<StampReport> {
    let (video, options) = (job.video, job.options);
    let k = avi.frames.len() - 1;
    let last = avi.frames.get(k).map_or(0, |f| f.slot);
    let taken: Vec<u32> = avi
        .sets
        .iter()
        .filter_map(|s| avc::set_key(s).map(|(_, id)| id))
        .collect();
    let sps_id = (0..32u32)
        .find(|id| !taken.contains(id))
        .ok_or_else(|| Error::unsupported("video", "no free H.264 parameter set id"))?;
    let kind = opening::Output::H264 {
        sps_id,
        bframes: mkv_bframes(video)?,
    };
    let times: Vec<i64> = avi
        .frames
        .iter()
        .take(k)
        .map(|f| i64::try_from(f.slot).unwrap_or(i64::MAX))
        .collect();
    let carried: &[Vec<u8>] = if avi.cut_has_sets { &[] } else { &avi.sets };
    let (labelled, _) = job.splice(
        times,
        (avi.scale, avi.rate),
        &kind,
        progress,
        |new| annex_b(new, carried),
        |file, frames, bytes, out| {
            let frames: Vec<opening::NewFrame<'_>> = frames
                .iter()
                .zip(&bytes)
                .map(|(f, b)| opening::NewFrame {
                    bytes: b,
                    key: f.key,
                    ts: f.ts,
                })
                .collect();
            avi::write(file, avi, &frames, &options.limits, out)
        },
    )?;
    Ok(spliced_report(
        video,
        k,
        labelled,
        avi.later + 1,
        last as f64 * f64::from(avi.scale) / f64::from(avi.rate),
    ))
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
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

/// The fuzz property of the splice writer, for `fuzz/fuzz_targets/mp4_splice.rs` and its corpus
/// replay: reading any bytes as an MP4 to splice never panics, and when the first video track
/// reads, splicing a stand-in segment over its first stretch (up to the first cut point) writes
/// a file whose track reads back with the same number of samples, the new ones first. A
/// fragmented file goes through the fragment splice the same way (its first fragment).
#[doc(hidden)]
pub fn fuzz_splice(data: &[u8]) {
    use std::io::Cursor;
    let limits = Limits::default();
    fuzz_splice_fragments(data);
    let Ok(mp4) = splice::open(&mut Cursor::new(data), 0, &limits) else {
        return;
    };
    let cuts = splice::cut_points(&mp4.samples);
    let to = cuts.get(1).copied().unwrap_or(mp4.samples.len()).min(64);
    let Ok(entry) = mp4.first_entry().map(<[u8]>::to_vec) else {
        return;
    };
    let samples: Vec<_> = (0..to).map(|i| (i * 3..i * 3 + 3, i == 0)).collect();
    let segment = encode::Segment {
        entry,
        data: vec![0xA5; to * 3],
        samples,
        cts: Vec::new(),
    };
    let replaced = [Replaced {
        from: 0,
        to,
        segment,
        desc: mp4.entry_count().unwrap_or(0).saturating_add(1),
    }];
    let Ok(stsd) = mp4.stsd_appending(&[replaced[0].segment.entry.as_slice()]) else {
        return;
    };
    let mut out = Vec::new();
    if splice::write(&mut Cursor::new(data), &mp4, &replaced, &stsd, &mut out).is_err() {
        return;
    }
    let again = splice::open(&mut Cursor::new(&out), 0, &limits)
        .unwrap_or_else(|e| panic!("a spliced file does not read back: {e}"));
    assert_eq!(again.samples.len(), mp4.samples.len());
    for (i, s) in again.samples.iter().take(to).enumerate() {
        assert_eq!(s.size, 3, "new sample {i}");
        let at = usize::try_from(s.offset).unwrap_or(usize::MAX);
        assert_eq!(out.get(at..at + 3), Some(&[0xA5u8; 3][..]), "new sample {i} bytes");
    }
    for (a, b) in mp4.samples.iter().zip(&again.samples).skip(to) {
        let (x, y) = (
            usize::try_from(a.offset).unwrap_or(usize::MAX),
            usize::try_from(b.offset).unwrap_or(usize::MAX),
        );
        let len = a.size as usize;
        assert_eq!(
            data.get(x..x.saturating_add(len)),
            out.get(y..y.saturating_add(len)),
            "kept sample bytes"
        );
    }
}

/// [`fuzz_splice`] for fragmented files: the first fragment's video samples replaced by
/// stand-ins; the output reads back with as many samples, the stand-ins first and every later
/// sample's bytes unchanged.
fn fuzz_splice_fragments(data: &[u8]) {
    use std::io::Cursor;
    let limits = Limits::default();
    let Ok(frag) = frag::open(&mut Cursor::new(data), 0, &limits) else {
        return;
    };
    let Some(k) = frag
        .fragments
        .first()
        .map(|f| f.video.len())
        .filter(|&k| k > 0 && k <= 64)
    else {
        return;
    };
    let Ok(entry) = frag.first_entry().map(<[u8]>::to_vec) else {
        return;
    };
    let stand_in = [0xA5u8; 3];
    let cts = splice::presentation(&frag.samples);
    let new: Vec<opening::NewFrame<'_>> = (0..k)
        .map(|i| opening::NewFrame {
            bytes: &stand_in[..],
            key: i == 0,
            ts: cts.get(i).copied().unwrap_or(0),
        })
        .collect();
    let mut out = Vec::new();
    if frag::write(&mut Cursor::new(data), &frag, &[(0, k)], &new, &entry, &mut out).is_err() {
        return;
    }
    let again = frag::open(&mut Cursor::new(&out), 0, &limits)
        .unwrap_or_else(|e| panic!("a spliced fragmented file does not read back: {e}"));
    assert_eq!(again.samples.len(), frag.samples.len());
    let bytes = |file: &[u8], s: &crate::bmff::table::Sample| {
        let at = usize::try_from(s.offset).unwrap_or(usize::MAX);
        file.get(at..at.saturating_add(s.size as usize)).map(<[u8]>::to_vec)
    };
    for (i, (a, b)) in frag.samples.iter().zip(&again.samples).enumerate() {
        if i < k {
            assert_eq!(bytes(&out, b), Some(stand_in.to_vec()), "new sample {i}");
        } else {
            assert_eq!(bytes(data, a), bytes(&out, b), "kept sample {i}");
        }
    }
}

/// The fuzz property of the Matroska splice writer (`fuzz/fuzz_targets/mkv_splice.rs`): reading
/// any bytes never panics, and when the first track reads as video, replacing its blocks up to
/// the second keyframe with stand-in frames writes a file that reads back with the same blocks,
/// the stand-ins first, and the kept blocks' bytes unchanged.
#[doc(hidden)]
pub fn fuzz_splice_mkv(data: &[u8]) {
    use std::io::Cursor;
    let limits = Limits::default();
    let Ok(mkv) = mkv::open(&mut Cursor::new(data), 0, 0, &limits) else {
        return;
    };
    let k = match mkv.frames.last() {
        Some(f) if f.key && mkv.frames.len() > 1 => mkv.frames.len() - 1,
        _ => mkv.frames.len(),
    };
    let stand_in = [0x82u8, 0x49, 0x83];
    let new: Vec<opening::NewFrame<'_>> = mkv
        .frames
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, f)| opening::NewFrame {
            bytes: &stand_in[..],
            key: i == 0,
            ts: f.ts,
        })
        .collect();
    // An HEVC record read as the splice reads it: the kept sets, a free id, and the record
    // merged with itself (renumbering is for the encoder's output, not for input).
    if mkv.codec_id == mkv::HEVC {
        if let Ok(kept) = hevc::Kept::from(&mkv.private, mkv.kept_pps.as_ref()) {
            let _ = kept.free_ids(1);
            let _ = hevc::merge_kept(&mkv.private, &kept, &mkv.private);
        }
    }
    // An H.264 or HEVC track gets its CodecPrivate written back (the Tracks element rebuilt).
    let private = matches!(mkv.codec_id.as_str(), mkv::H264 | mkv::HEVC).then_some(mkv.private.as_slice());
    let mut out = Vec::new();
    if mkv::write(&mut Cursor::new(data), &mkv, &new, private, &limits, &mut out).is_err() {
        return;
    }
    let again = mkv::open(&mut Cursor::new(&out), 0, 0, &limits)
        .unwrap_or_else(|e| panic!("a spliced file does not read back: {e}"));
    assert_eq!(again.frames.len(), mkv.frames.len());
    for (i, (a, b)) in mkv.frames.iter().zip(&again.frames).enumerate() {
        assert_eq!(a.ts, b.ts, "block {i} timestamp");
        let payload = |bytes: &[u8], f: &mkv::Frame| {
            let start = usize::try_from(f.range.start).unwrap_or(usize::MAX);
            let end = usize::try_from(f.range.end).unwrap_or(usize::MAX);
            bytes.get(start..end).map(|el| {
                el.get(el.len().saturating_sub(if i < k { 3 } else { el.len() })..)
                    .unwrap_or_default()
                    .to_vec()
            })
        };
        if i < k {
            assert_eq!(payload(&out, b), Some(stand_in.to_vec()), "block {i}");
        } else {
            assert_eq!(payload(data, a), payload(&out, b), "kept block {i}");
        }
    }
}

/// The fuzz property of the FLV splice writer (`fuzz/fuzz_targets/flv_splice.rs`): reading any
/// bytes never panics, and when the H.264 video reads, replacing its frames up to the cut with
/// stand-ins writes a file that reads back with as many frames, the stand-ins first, the same
/// frames after the cut, and every other tag's bytes in the same order.
#[doc(hidden)]
pub fn fuzz_splice_flv(data: &[u8]) {
    use std::io::Cursor;
    let limits = Limits::default();
    let Ok(flv) = flv::open(&mut Cursor::new(data), 0, &limits) else {
        return;
    };
    let k = flv.frames.len() - usize::from(flv.cut);
    let stand_in = [0u8, 0, 0, 1, 0x41];
    let new: Vec<opening::NewFrame<'_>> = flv
        .frames
        .iter()
        .take(k)
        .map(|f| opening::NewFrame {
            bytes: &stand_in[..],
            key: false,
            ts: f.dts.saturating_add(f.cts.max(0)),
        })
        .collect();
    let mut out = Vec::new();
    if flv::write(&mut Cursor::new(data), &flv, &new, &flv.record, &limits, &mut out).is_err() {
        return;
    }
    let again = flv::open(&mut Cursor::new(&out), 0, &limits)
        .unwrap_or_else(|e| panic!("a spliced FLV does not read back: {e}"));
    assert_eq!(again.frames.len(), flv.frames.len());
    assert_eq!((again.cut, again.later), (flv.cut, flv.later));
    assert_eq!(again.record, flv.record);
    for (i, f) in again.frames.iter().take(k).enumerate() {
        let at = usize::try_from(f.start).unwrap_or(usize::MAX).saturating_add(16);
        assert_eq!(out.get(at..at + stand_in.len()), Some(&stand_in[..]), "frame {i}");
    }
}

/// The fuzz property of the AVI splice writer (`fuzz/fuzz_targets/avi_splice.rs`): reading any
/// bytes never panics, and when the first stream reads as video, replacing its frames up to the
/// cut with stand-ins writes a file that reads back with as many frames, the stand-ins first and
/// the same frames after the cut.
#[doc(hidden)]
pub fn fuzz_splice_avi(data: &[u8]) {
    use std::io::Cursor;
    let limits = Limits::default();
    let h264 = data.windows(4).any(|w| w == b"H264");
    let Ok(avi) = avi::open(&mut Cursor::new(data), 0, 0.0, h264, &limits) else {
        return;
    };
    let k = avi.frames.len() - usize::from(avi.cut);
    // A P-VOP: never taken for a cut.
    let stand_in = [0u8, 0, 1, 0xB6, 0x50];
    let new: Vec<opening::NewFrame<'_>> = (0..k)
        .map(|_| opening::NewFrame {
            bytes: &stand_in[..],
            key: false,
            ts: 0,
        })
        .collect();
    let mut out = Vec::new();
    if avi::write(&mut Cursor::new(data), &avi, &new, &limits, &mut out).is_err() {
        return;
    }
    let again = avi::open(&mut Cursor::new(&out), 0, 0.0, h264, &limits)
        .unwrap_or_else(|e| panic!("a spliced AVI does not read back: {e}"));
    assert_eq!(again.frames.len(), avi.frames.len());
    assert_eq!((again.cut, again.later), (avi.cut, avi.later));
    for (i, f) in again.frames.iter().take(k).enumerate() {
        let at = usize::try_from(f.chunk.body_start()).unwrap_or(usize::MAX);
        assert_eq!(out.get(at..at + stand_in.len()), Some(&stand_in[..]), "frame {i}");
    }
}
