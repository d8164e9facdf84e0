//! The fragmented MP4 splice (ISO/IEC 14496-12 §8.8: `moof`/`mdat` pairs after an empty
//! `moov`), for H.264 and HEVC: the fragments before the first fragment that starts with a
//! clean keyframe (an IDR picture; for HEVC an IRAP picture without leading pictures) at or
//! after the label's end are rewritten with the new samples; every later fragment is copied but
//! for its absolute base offset.
//!
//! What changes in the output:
//! - `moov`: the video track's first sample description, whose `avcC` gains the new SPS and
//!   PPS under ids the copied samples do not use (the `avc` module), or whose `hvcC` gains the
//!   segment's VPS/SPS/PPS renumbered (the `hevc` module); the rest as it was;
//! - each rewritten fragment keeps as many video samples as it had, each with the decode time
//!   (`tfdt` kept) and duration of the sample it replaces and the presentation time of the
//!   frame it shows; its video `trun` is written anew (size, duration, flags and composition
//!   offset per sample), the track's per-sample hints (`sdtp`, `sbgp`, `sgpd`) dropped; the
//!   other tracks' runs keep their samples, byte for byte, in a new `mdat` after the video's;
//! - every `tfhd` with an explicit `base_data_offset` (ffmpeg's default) moves with its
//!   fragment;
//! - `sidx` and `mfra`, whose sizes and offsets would all move, are dropped: they are optional
//!   indexes, and readers (ffmpeg among them) find the fragments by walking the file.
//!
//! A fragment holding encryption data (`saio` offsets) or runs without a data offset is not
//! rewritten (the whole re-encode takes the file).

use std::io::Write;
use std::ops::Range;

use aigc_label_core::io::{Bytes, ReadSeek, Source};
use aigc_label_core::{Error, Limits, Result};

use super::opening::NewFrame;
use crate::bmff::boxes::{Body, Node, parse_tree};
use crate::bmff::table::Sample;
use crate::bmff::track::top_boxes;
use crate::common::Budget;

const FORMAT: &str = "mp4";
/// Most samples one `trun` may declare (a second of 1000 fps video is 1000).
const MAX_RUN: u32 = 1 << 20;

fn unsupported(what: impl Into<String>) -> Error {
    Error::unsupported("mp4", what.into())
}

fn bad(at: u64, what: &'static str) -> Error {
    Error::malformed(FORMAT, at, what)
}

fn be32(b: &[u8]) -> u32 {
    b.get(..4).map_or(0, |v| u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
}

/// A top-level box.
type Top = crate::bmff::track::TopBox;

/// One `trun` of a `traf`: where its data starts (absolute) and its samples.
#[derive(Debug, Clone)]
struct RunInfo {
    /// Absolute position of the first sample's bytes.
    data: u64,
    /// Each sample: size, duration, flags, composition offset.
    samples: Vec<(u32, u32, u32, i64)>,
}

impl RunInfo {
    /// The bytes of the run's samples.
    fn len(&self) -> u64 {
        self.samples.iter().fold(0u64, |n, s| n.saturating_add(u64::from(s.0)))
    }
}

/// One `traf`.
#[derive(Debug, Clone)]
struct TrafInfo {
    track_id: u32,
    /// Its index among the `moof`'s children.
    kid: usize,
    /// The explicit `base_data_offset`, if `tfhd` has one.
    base: Option<u64>,
    decode_time: Option<u64>,
    runs: Vec<RunInfo>,
}

/// A `moof` and the `mdat` after it.
#[derive(Debug)]
pub(crate) struct Fragment {
    moof: Top,
    mdat: Top,
    buf: Vec<u8>,
    tree: Node,
    trafs: Vec<TrafInfo>,
    /// The video samples it holds (indices into [`Frag::samples`]).
    pub video: Range<usize>,
}

/// A fragmented MP4 ready to splice.
#[derive(Debug)]
pub(crate) struct Frag {
    top: Vec<Top>,
    moov: Top,
    moov_buf: Vec<u8>,
    moov_tree: Node,
    /// Path (child indices from `moov`) to the video track's `stsd`.
    stsd: Vec<usize>,
    track_id: u32,
    pub timescale: u32,
    /// The video samples in decode order (offsets absolute, `desc` from `tfhd`/`trex`).
    pub samples: Vec<Sample>,
    pub fragments: Vec<Fragment>,
}

/// True when `input` has a `moof` box at its top level.
pub(crate) fn is_fragmented(input: &mut dyn ReadSeek, limits: &Limits) -> Result<bool> {
    let mut src = Source::new(input, FORMAT)?;
    let mut budget = Budget::new(limits);
    Ok(top_boxes(&mut src, &mut budget)?.iter().any(|b| &b.typ == b"moof"))
}

/// Path to the first child of each type in turn.
fn path(node: &Node, types: &[&[u8; 4]]) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    let mut at = node;
    for t in types {
        let i = at.find(t)?;
        out.push(i);
        at = at.kids.get(i)?;
    }
    Some(out)
}

/// `trex` defaults of a track: description index, duration, size, flags.
type Defaults = (u32, u32, u32, u32);

/// Reads the structure of `input` and the samples of its `nth` track (in `moov` order).
///
/// # Errors
/// [`Error::Unsupported`] for what the splice does not handle (samples in `moov` too, a track
/// that is not video, runs without data offsets); malformed structure.
pub(crate) fn open(input: &mut dyn ReadSeek, nth: usize, limits: &Limits) -> Result<Frag> {
    let mut src = Source::new(input, FORMAT)?;
    let mut budget = Budget::new(limits);
    let top = top_boxes(&mut src, &mut budget)?;
    let mut moovs = top.iter().filter(|b| &b.typ == b"moov");
    let moov = match (moovs.next(), moovs.next()) {
        (Some(m), None) => *m,
        _ => return Err(bad(0, "expected exactly one moov box")),
    };
    src.seek_to(moov.start)?;
    let moov_buf = src.read_vec(moov.end - moov.start, "moov", limits)?;
    let moov_tree = parse_tree(&moov_buf, moov.start, limits, &mut budget)?;
    let (trak_i, trak) = moov_tree
        .kids
        .iter()
        .enumerate()
        .filter(|(_, k)| k.live() && &k.typ == b"trak")
        .nth(nth)
        .ok_or_else(|| unsupported(format!("no track {nth}")))?;
    fn payload<'a>(n: Option<&'a Node>, buf: &'a [u8]) -> &'a [u8] {
        n.map(|n| n.payload(buf)).unwrap_or_default()
    }
    let tkhd = payload(trak.child(b"tkhd"), &moov_buf);
    let track_id = be32(
        tkhd.get(if tkhd.first() == Some(&1) { 20.. } else { 12.. })
            .unwrap_or_default(),
    );
    let mdia = trak.child(b"mdia");
    let hdlr = payload(mdia.and_then(|m| m.child(b"hdlr")), &moov_buf);
    if hdlr.get(8..12) != Some(b"vide") {
        return Err(unsupported(format!("track {nth} is not video")));
    }
    let mdhd = payload(mdia.and_then(|m| m.child(b"mdhd")), &moov_buf);
    let timescale = be32(
        mdhd.get(if mdhd.first() == Some(&1) { 20.. } else { 12.. })
            .unwrap_or_default(),
    );
    if timescale == 0 {
        return Err(bad(moov.start, "mdhd timescale 0"));
    }
    let stbl_path = path(trak, &[b"mdia", b"minf", b"stbl"]).ok_or_else(|| bad(moov.start, "track without stbl"))?;
    let stbl = trak.at(&stbl_path).ok_or_else(|| bad(moov.start, "stbl"))?;
    let stsz = payload(stbl.child(b"stsz"), &moov_buf);
    if be32(stsz.get(8..).unwrap_or_default()) != 0 {
        return Err(unsupported("a fragmented MP4 with samples in moov too"));
    }
    let mut stsd = vec![trak_i];
    stsd.extend(&stbl_path);
    stsd.push(
        stbl.find(b"stsd")
            .ok_or_else(|| bad(moov.start, "track without stsd"))?,
    );
    let trex = moov_tree
        .child(b"mvex")
        .into_iter()
        .flat_map(|m| m.kids.iter().filter(|k| &k.typ == b"trex"))
        .map(|k| k.payload(&moov_buf))
        .find(|p| be32(p.get(4..).unwrap_or_default()) == track_id)
        .map(|p| {
            let at = |i: usize| be32(p.get(i..).unwrap_or_default());
            (at(8), at(12), at(16), at(20))
        })
        .unwrap_or((1, 0, 0, 0));
    let mut samples = Vec::new();
    let mut fragments = Vec::new();
    let mut next_dts: Option<u64> = None;
    for (i, b) in top.iter().enumerate().filter(|(_, b)| &b.typ == b"moof") {
        let mdat = top
            .get(i + 1)
            .filter(|m| &m.typ == b"mdat")
            .copied()
            .ok_or_else(|| unsupported("a moof not followed by its mdat"))?;
        src.seek_to(b.start)?;
        let buf = src.read_vec(b.end - b.start, "moof", limits)?;
        let tree = parse_tree(&buf, b.start, limits, &mut budget)?;
        let trafs = read_trafs(&tree, &buf, b.start)?;
        // Every run's data lies in the fragment's own mdat: copied fragments get new base
        // offsets in their moof, so a run reaching into a moof (or anywhere else) would have
        // its "kept" bytes changed by the splice (fuzz mp4_splice crash-355b19e9).
        for run in trafs.iter().flat_map(|t| &t.runs) {
            if run.data < mdat.start || run.data.saturating_add(run.len()) > mdat.end {
                return Err(unsupported("a run whose data lies outside its fragment's mdat"));
            }
        }
        let first = samples.len();
        for t in trafs.iter().filter(|t| t.track_id == track_id) {
            if let (Some(expected), Some(at)) = (next_dts, t.decode_time) {
                if expected != at {
                    return Err(unsupported("video fragments whose decode times leave gaps"));
                }
            }
            let mut dts = t.decode_time.or(next_dts).unwrap_or(0);
            let traf = tree.kids.get(t.kid).ok_or_else(|| bad(b.start, "traf"))?;
            let desc = tfhd_defaults(traf.child(b"tfhd").map(|n| n.payload(&buf)).unwrap_or_default(), trex).0;
            for run in &t.runs {
                let mut at = run.data;
                for &(size, duration, flags, cts) in &run.samples {
                    samples.push(Sample {
                        offset: at,
                        size,
                        duration,
                        cts_offset: cts,
                        sync: flags & 0x0101_0000 == 0,
                        desc,
                    });
                    at = at.saturating_add(u64::from(size));
                    dts = dts.saturating_add(u64::from(duration));
                }
            }
            next_dts = Some(dts);
        }
        if samples.len() as u64 > limits.max_structures.saturating_mul(64) {
            return Err(unsupported("too many samples"));
        }
        fragments.push(Fragment {
            moof: *b,
            mdat,
            buf,
            tree,
            trafs,
            video: first..samples.len(),
        });
    }
    Ok(Frag {
        top,
        moov,
        moov_buf,
        moov_tree,
        stsd,
        track_id,
        timescale,
        samples,
        fragments,
    })
}

/// `tfhd`'s description index, duration, size and flags, falling back to `trex`'s.
fn tfhd_defaults(tfhd: &[u8], trex: Defaults) -> Defaults {
    let flags = be32(tfhd) & 0xFF_FFFF;
    let mut b = Bytes::new(tfhd.get(8..).unwrap_or_default());
    if flags & 0x1 != 0 {
        b.take(8);
    }
    let mut field = |bit: u32, default: u32| {
        if flags & bit != 0 {
            b.u32_be().unwrap_or(default)
        } else {
            default
        }
    };
    let desc = field(0x2, trex.0);
    let duration = field(0x8, trex.1);
    let size = field(0x10, trex.2);
    let sflags = field(0x20, trex.3);
    (desc, duration, size, sflags)
}

fn read_trafs(moof: &Node, buf: &[u8], moof_at: u64) -> Result<Vec<TrafInfo>> {
    let mut out = Vec::new();
    for (kid, traf) in moof.kids.iter().enumerate().filter(|(_, k)| &k.typ == b"traf") {
        let tfhd = traf
            .child(b"tfhd")
            .ok_or_else(|| bad(moof_at, "traf without tfhd"))?
            .payload(buf);
        let flags = be32(tfhd) & 0xFF_FFFF;
        let track_id = be32(tfhd.get(4..).unwrap_or_default());
        let explicit = (flags & 0x1 != 0).then(|| {
            tfhd.get(8..16).map_or(0, |v| {
                u64::from_be_bytes([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]])
            })
        });
        // Without an explicit base, a run's offsets count from the moof (default-base-is-moof,
        // or the first traf, which is all ffmpeg writes otherwise).
        if explicit.is_none() && flags & 0x2_0000 == 0 && !out.is_empty() {
            return Err(unsupported("a traf whose data follows the previous traf's"));
        }
        let base = explicit.unwrap_or(moof_at);
        let (_, duration, size, sflags) = tfhd_defaults(tfhd, (0, 0, 0, 0));
        let decode_time = traf
            .child(b"tfdt")
            .map(|t| t.payload(buf))
            .and_then(|p| match p.first() {
                Some(1) => p
                    .get(4..12)
                    .map(|v| u64::from_be_bytes([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]])),
                _ => p.get(4..8).map(|v| u64::from(be32(v))),
            });
        let mut runs = Vec::new();
        for trun in traf.kids.iter().filter(|k| &k.typ == b"trun") {
            let p = trun.payload(buf);
            let mut t = Bytes::new(p);
            let vf = t.u32_be().ok_or_else(|| bad(moof_at, "trun"))?;
            let tf = vf & 0xFF_FFFF;
            let count = t.u32_be().ok_or_else(|| bad(moof_at, "trun"))?;
            if tf & 0x1 == 0 {
                return Err(unsupported("a trun without a data offset"));
            }
            let data_offset = i64::from(t.u32_be().ok_or_else(|| bad(moof_at, "trun"))? as i32);
            let first_flags = if tf & 0x4 != 0 { t.u32_be() } else { None };
            let per = [0x100, 0x200, 0x400, 0x800].iter().filter(|&&f| tf & f != 0).count();
            if (count as usize).saturating_mul(per * 4) > t.remaining() {
                return Err(bad(moof_at, "trun sample count past its box"));
            }
            // A run whose samples take no bytes in the box still bounds its count.
            if count > MAX_RUN {
                return Err(unsupported(format!("a trun of {count} samples")));
            }
            let mut samples = Vec::new();
            samples
                .try_reserve_exact(count as usize)
                .map_err(|_| unsupported("out of memory for a trun"))?;
            for i in 0..count {
                let d = if tf & 0x100 != 0 { t.u32_be() } else { None }.unwrap_or(duration);
                let s = if tf & 0x200 != 0 { t.u32_be() } else { None }.unwrap_or(size);
                let f = if tf & 0x400 != 0 { t.u32_be() } else { None };
                let f = f.or(if i == 0 { first_flags } else { None }).unwrap_or(sflags);
                let c = match (tf & 0x800 != 0).then(|| t.u32_be()).flatten() {
                    Some(o) if vf >> 24 != 0 => i64::from(o as i32),
                    Some(o) => i64::from(o),
                    None => 0,
                };
                samples.push((s, d, f, c));
            }
            let data = u64::try_from(i128::from(base) + i128::from(data_offset))
                .map_err(|_| bad(moof_at, "trun data before the file"))?;
            runs.push(RunInfo { data, samples });
        }
        out.push(TrafInfo {
            track_id,
            kid,
            base: explicit,
            decode_time,
            runs,
        });
    }
    Ok(out)
}

impl Frag {
    /// The video track's first sample description, as a whole box.
    pub(crate) fn first_entry(&self) -> Result<&[u8]> {
        let stsd = self
            .moov_tree
            .at(&self.stsd)
            .map(|n| n.payload(&self.moov_buf))
            .unwrap_or_default();
        let size = be32(stsd.get(8..).unwrap_or_default()) as usize;
        stsd.get(8..8 + size)
            .filter(|_| size >= 8)
            .ok_or_else(|| bad(self.moov.start, "stsd entry"))
    }

    /// The first video sample of each fragment that holds any.
    pub(crate) fn video_starts(&self) -> std::collections::BTreeSet<usize> {
        self.fragments
            .iter()
            .filter(|f| !f.video.is_empty())
            .map(|f| f.video.start)
            .collect()
    }
}

/// Writes the spliced file: the video samples of the fragments inside `ranges` (sample ranges,
/// ascending, each starting and ending at fragment boundaries) replaced by `new` (decode
/// order, as many as they held), `entry` as the track's first sample description.
///
/// # Errors
/// [`Error::Unsupported`] for fragments this writer cannot rebuild; I/O errors.
pub(crate) fn write(
    input: &mut dyn ReadSeek,
    frag: &Frag,
    ranges: &[(usize, usize)],
    new: &[NewFrame<'_>],
    entry: &[u8],
    out: &mut dyn Write,
) -> Result<()> {
    let replaced =
        |f: &Fragment| !f.video.is_empty() && ranges.iter().any(|&(a, b)| a <= f.video.start && f.video.end <= b);
    let count: usize = frag
        .fragments
        .iter()
        .filter(|f| replaced(f))
        .map(|f| f.video.len())
        .sum();
    let covered: usize = ranges.iter().map(|(a, b)| b.saturating_sub(*a)).sum();
    if count != covered {
        return Err(Error::parameter(
            "video",
            "a re-encoded range that is not whole fragments",
        ));
    }
    if count != new.len() {
        return Err(Error::parameter(
            "video",
            "new samples and replaced samples differ in number",
        ));
    }
    let mut src = Source::new(input, FORMAT)?;
    // The new moov.
    let mut moov = frag.moov_tree.clone();
    {
        let stsd = moov.at_mut(&frag.stsd).ok_or_else(|| bad(frag.moov.start, "stsd"))?;
        let old = stsd.payload(&frag.moov_buf).to_vec();
        let first = frag.first_entry()?.len();
        let mut payload = old.get(..8).unwrap_or_default().to_vec();
        payload.extend_from_slice(entry);
        payload.extend_from_slice(old.get(8 + first..).unwrap_or_default());
        stsd.body = Body::New(payload);
    }
    let mut moov_bytes = Vec::new();
    moov.emit(&frag.moov_buf, &mut moov_bytes);
    let dts = super::splice::decode_times(&frag.samples);
    let mut pos = 0u64; // output position
    let mut next_new = 0usize;
    let copy = |src: &mut Source<'_>, range: Range<u64>, out: &mut dyn Write, pos: &mut u64| -> Result<()> {
        src.seek_to(range.start)?;
        src.copy_to(out, range.end - range.start, "copied box")?;
        *pos += range.end - range.start;
        Ok(())
    };
    let mut fragments = frag.fragments.iter();
    for b in &frag.top {
        match &b.typ {
            b"moov" => {
                out.write_all(&moov_bytes)?;
                pos += moov_bytes.len() as u64;
            }
            b"sidx" | b"mfra" => {}
            b"mdat" if frag.fragments.iter().any(|f| f.mdat.start == b.start) => {}
            b"moof" => {
                let Some(f) = fragments.next() else {
                    return Err(bad(b.start, "moof"));
                };
                if replaced(f) {
                    let k = f.video.len();
                    let mine = new.get(next_new..next_new + k).unwrap_or_default();
                    next_new += k;
                    let dts = dts.get(f.video.clone()).unwrap_or_default();
                    let bytes = rebuilt(&mut src, frag, f, mine, dts, pos)?;
                    out.write_all(&bytes)?;
                    pos += bytes.len() as u64;
                } else {
                    let bytes = moved(f, pos)?;
                    out.write_all(&bytes)?;
                    pos += bytes.len() as u64;
                    copy(&mut src, f.mdat.start..f.mdat.end, out, &mut pos)?;
                }
            }
            _ => copy(&mut src, b.start..b.end, out, &mut pos)?,
        }
    }
    Ok(())
}

/// A copied fragment's `moof` with each explicit base offset moved to its new place `pos`.
fn moved(f: &Fragment, pos: u64) -> Result<Vec<u8>> {
    let mut tree = f.tree.clone();
    for t in &f.trafs {
        if let Some(base) = t.base {
            let shifted = i128::from(base) + i128::from(pos) - i128::from(f.moof.start);
            set_base(
                &mut tree,
                &f.buf,
                t.kid,
                u64::try_from(shifted).map_err(|_| bad(f.moof.start, "base offset"))?,
            )?;
        }
    }
    let mut out = Vec::new();
    tree.emit(&f.buf, &mut out);
    Ok(out)
}

fn set_base(tree: &mut Node, buf: &[u8], kid: usize, base: u64) -> Result<()> {
    let traf = tree.kids.get_mut(kid).ok_or_else(|| bad(0, "traf"))?;
    let i = traf.find(b"tfhd").ok_or_else(|| bad(0, "tfhd"))?;
    let tfhd = traf.kids.get_mut(i).ok_or_else(|| bad(0, "tfhd"))?;
    let mut p = tfhd.payload(buf).to_vec();
    p.get_mut(8..16)
        .ok_or_else(|| bad(0, "tfhd cut off"))?
        .copy_from_slice(&base.to_be_bytes());
    tfhd.body = Body::New(p);
    Ok(())
}

/// A rewritten fragment (its `moof` and `mdat`) placed at `pos`: the video traf's samples
/// replaced by `new` (decode times `dts`), the other trafs' data copied after them.
fn rebuilt(
    src: &mut Source<'_>,
    frag: &Frag,
    f: &Fragment,
    new: &[NewFrame<'_>],
    dts: &[i64],
    pos: u64,
) -> Result<Vec<u8>> {
    let mut tree = f.tree.clone();
    let original = frag.samples.get(f.video.clone()).unwrap_or_default();
    // Each traf's data in the new mdat, in traf order: (traf kid, per-run byte ranges of the
    // new mdat payload).
    let mut payload: Vec<u8> = Vec::new();
    let mut offsets: Vec<(usize, Vec<u64>)> = Vec::new();
    let mut videos = f.trafs.iter().filter(|t| t.track_id == frag.track_id);
    let video_traf = match (videos.next(), videos.next()) {
        (Some(t), None) => Some(t.kid),
        _ => return Err(unsupported("a fragment with several video trafs")),
    };
    for t in &f.trafs {
        let traf = tree.kids.get(t.kid).ok_or_else(|| bad(f.moof.start, "traf"))?;
        if traf.child(b"saio").is_some() {
            return Err(unsupported("a fragment with sample auxiliary data (saio)"));
        }
        let mut starts = Vec::new();
        if Some(t.kid) == video_traf {
            starts.push(payload.len() as u64);
            for n in new {
                payload.extend_from_slice(n.bytes);
            }
        } else {
            for run in &t.runs {
                starts.push(payload.len() as u64);
                // Inside the fragment's mdat, as `open` checked.
                let len = run.len();
                src.seek_to(run.data)?;
                let mut limits = Limits::default();
                limits.max_metadata_bytes = len.max(1);
                payload.extend_from_slice(&src.read_vec(len, "run data", &limits)?);
            }
        }
        offsets.push((t.kid, starts));
    }
    let video_kid = video_traf.ok_or_else(|| bad(f.moof.start, "the fragment's video traf"))?;
    // The video traf: one new trun; hints dropped.
    {
        let traf = tree.kids.get_mut(video_kid).ok_or_else(|| bad(f.moof.start, "traf"))?;
        for k in traf.kids.iter_mut() {
            if matches!(&k.typ, b"trun" | b"sdtp" | b"sbgp" | b"sgpd") {
                k.body = Body::Removed;
            }
        }
        let negative = new.iter().zip(dts).any(|(n, d)| n.ts < *d);
        let mut trun = vec![u8::from(negative), 0, 0x0F, 0x01];
        trun.extend_from_slice(&u32::try_from(new.len()).unwrap_or(u32::MAX).to_be_bytes());
        trun.extend_from_slice(&0u32.to_be_bytes()); // data offset, set below
        for ((n, d), o) in new.iter().zip(dts).zip(original) {
            let size = u32::try_from(n.bytes.len()).map_err(|_| Error::parameter("video", "frame over 4 GiB"))?;
            trun.extend_from_slice(&o.duration.to_be_bytes());
            trun.extend_from_slice(&size.to_be_bytes());
            let flags: u32 = if n.key { 0x0200_0000 } else { 0x0101_0000 };
            trun.extend_from_slice(&flags.to_be_bytes());
            let cts = i32::try_from(n.ts.saturating_sub(*d)).map_err(|_| unsupported("composition offset"))?;
            trun.extend_from_slice(&cts.to_be_bytes());
        }
        traf.kids.push(Node::leaf(*b"trun", trun));
    }
    // Explicit bases now point at the new moof.
    for t in &f.trafs {
        if t.base.is_some() {
            set_base(&mut tree, &f.buf, t.kid, pos)?;
        }
    }
    // Data offsets count from the base (the moof, old or new place): the moof's size first.
    let moof_len = tree.emitted_len();
    let mdat_header = 8u64;
    let data_start = pos + moof_len + mdat_header;
    for (kid, starts) in &offsets {
        // Explicit or not, every base is now the new moof: offsets count from `pos`.
        let traf = tree.kids.get_mut(*kid).ok_or_else(|| bad(f.moof.start, "traf"))?;
        let runs = traf.kids.iter_mut().filter(|k| k.live() && &k.typ == b"trun");
        for (k, start) in runs.zip(starts) {
            let offset = i32::try_from(data_start + start - pos).map_err(|_| unsupported("data offset"))?;
            let mut p = k.payload(&f.buf).to_vec();
            p.get_mut(8..12)
                .ok_or_else(|| bad(f.moof.start, "trun cut off"))?
                .copy_from_slice(&offset.to_be_bytes());
            k.body = Body::New(p);
        }
    }
    let mut out = Vec::new();
    tree.emit(&f.buf, &mut out);
    if out.len() as u64 != moof_len {
        return Err(bad(f.moof.start, "rebuilt moof changed size"));
    }
    let size = u32::try_from(payload.len() as u64 + mdat_header).map_err(|_| unsupported("an mdat over 4 GiB"))?;
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(b"mdat");
    out.extend_from_slice(&payload);
    Ok(out)
}
