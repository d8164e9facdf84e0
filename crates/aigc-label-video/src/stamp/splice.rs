//! The MP4/MOV splice: new samples for the labelled stretches of the video track, every other
//! byte of the file copied.
//!
//! What changes in the output:
//! - the video track's sample table: the samples of each re-encoded range are replaced by the
//!   new ones, which keep the originals' decode times and durations (so `stts`, the edit list
//!   and every duration stay as they were) and get composition offsets that put each new frame
//!   at the presentation time of the frame it replaces. For HEVC the new samples point
//!   (`stsc`) at a new sample description appended to `stsd` beside the original, holding the
//!   encoder's `hvcC`: the original samples keep theirs and a reader that honours `stsc`
//!   switches decoder configuration at the splice. For H.264 the new SPS and PPS join the
//!   source's own `avcC` under ids it does not use (the caller builds `stsd`; see the `avc`
//!   module for why). No parameter set is repeated in band;
//! - `mdat`: the replaced samples' bytes are removed (the unlabelled frames do not linger in
//!   the file) and the new samples are inserted at the start of the `mdat` that held the first
//!   of them;
//! - every chunk offset of every track moves accordingly; `moov` is otherwise unchanged
//!   (metadata, the implicit label, chapters, other tracks).
//!
//! Per-sample tables we cannot update for the new samples (`sdtp`, `sbgp`/`sgpd`, `stps`,
//! `cslg`) are dropped from the video track: they are optional hints.

use std::io::Write;
use std::ops::Range;

use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::{Error, Limits, Result};

use super::encode::Segment;
use super::table::{self, Sample};
use aigc_label_core::container::bmff::StreamBoxes;

use crate::bmff::boxes::{Body, Node, parse_tree};
use crate::common::Budget;

const FORMAT: &str = "mp4";

/// A top-level box.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TopBox {
    pub typ: [u8; 4],
    pub start: u64,
    pub payload: u64,
    pub end: u64,
}

/// An MP4 file ready to splice: its top-level boxes, `moov` parsed, the video track's samples.
pub(crate) struct Mp4 {
    pub top: Vec<TopBox>,
    pub moov_at: usize,
    pub moov_buf: Vec<u8>,
    pub moov: Node,
    /// Index in `moov.kids` of the video `trak`.
    pub trak: usize,
    pub samples: Vec<Sample>,
    /// The video track's timescale.
    pub timescale: u32,
}

/// Reads the structure of `input` and the samples of the `nth` track (the stream index ffmpeg
/// gives it: tracks are numbered in `moov` order).
///
/// # Errors
/// [`Error::Unsupported`] for what the splice does not handle (fragmented files, a track that
/// is not video); malformed structure.
pub(crate) fn open(input: &mut dyn ReadSeek, nth: usize, limits: &Limits) -> Result<Mp4> {
    let mut src = Source::new(input, FORMAT)?;
    let mut budget = Budget::new(limits);
    let mut top = Vec::new();
    let len = src.len();
    let mut walk = StreamBoxes::new(&mut src, &mut budget, 0, len);
    while walk.remaining() >= 8 {
        let Some(h) = walk.next() else { break };
        let h = h?;
        if h.claimed_end.is_some() {
            return Err(Error::unsupported(
                "mp4",
                format!("box at byte {} runs past the end of the file", h.start),
            ));
        }
        top.push(TopBox {
            typ: h.kind,
            start: h.start,
            payload: h.payload_start(),
            end: h.end,
        });
    }
    if top.iter().any(|b| &b.typ == b"moof") {
        return Err(Error::unsupported("mp4", "fragmented MP4"));
    }
    let mut moovs = top.iter().enumerate().filter(|(_, b)| &b.typ == b"moov");
    let (moov_at, moov_box) = match (moovs.next(), moovs.next()) {
        (Some((i, b)), None) => (i, *b),
        _ => return Err(Error::malformed(FORMAT, 0, "expected exactly one moov box")),
    };
    src.seek_to(moov_box.start)?;
    let moov_buf = src.read_vec(moov_box.end - moov_box.start, "moov", limits)?;
    let moov = parse_tree(&moov_buf, moov_box.start, limits, &mut budget)?;
    if moov.child(b"mvex").is_some() {
        return Err(Error::unsupported("mp4", "fragmented MP4 (mvex)"));
    }
    let trak = moov
        .kids
        .iter()
        .enumerate()
        .filter(|(_, k)| &k.typ == b"trak" && k.live())
        .nth(nth)
        .map(|(i, _)| i)
        .ok_or_else(|| Error::malformed(FORMAT, moov_box.start, format!("no track {nth}")))?;
    let mdia = moov.kids.get(trak).and_then(|t| t.child(b"mdia"));
    let hdlr = mdia.and_then(|m| m.child(b"hdlr")).map(|h| h.payload(&moov_buf));
    if hdlr.and_then(|h| h.get(8..12)) != Some(b"vide") {
        return Err(Error::unsupported("mp4", format!("track {nth} is not a video track")));
    }
    let timescale = mdia
        .and_then(|m| m.child(b"mdhd"))
        .map(|h| h.payload(&moov_buf))
        .and_then(|p| match p.first() {
            Some(1) => p.get(20..24),
            _ => p.get(12..16),
        })
        .map_or(0, |t| u32::from_be_bytes([t[0], t[1], t[2], t[3]]));
    if timescale == 0 {
        return Err(Error::malformed(FORMAT, moov_box.start, "video track timescale is 0"));
    }
    let samples = table::read(
        stbl(&moov, trak).ok_or_else(|| Error::malformed(FORMAT, 0, "no stbl"))?,
        &moov_buf,
        len,
    )?;
    if samples.is_empty() {
        return Err(Error::unsupported("mp4", "the video track has no samples"));
    }
    Ok(Mp4 {
        top,
        moov_at,
        moov_buf,
        moov,
        trak,
        samples,
        timescale,
    })
}

fn stbl(moov: &Node, trak: usize) -> Option<&Node> {
    moov.kids.get(trak)?.child(b"mdia")?.child(b"minf")?.child(b"stbl")
}

fn stbl_path(moov: &Node, trak: usize) -> Option<Vec<usize>> {
    let t = moov.kids.get(trak)?;
    let mdia = t.find(b"mdia")?;
    let m = t.kids.get(mdia)?;
    let minf = m.find(b"minf")?;
    let stbl = m.kids.get(minf)?.find(b"stbl")?;
    Some(vec![trak, mdia, minf, stbl])
}

/// A re-encoded range: samples `[from, to)` of the track (decode order) replaced by `segment`,
/// whose samples use sample description `desc` (1-based).
pub(crate) struct Replaced {
    pub from: usize,
    pub to: usize,
    pub segment: Segment,
    pub desc: u32,
}

impl Mp4 {
    /// The video track's `stsd` payload.
    pub(crate) fn stsd(&self) -> Result<&[u8]> {
        stbl(&self.moov, self.trak)
            .and_then(|s| s.child(b"stsd"))
            .map(|n| n.payload(&self.moov_buf))
            .ok_or_else(|| Error::malformed(FORMAT, 0, "video track without stsd"))
    }

    /// The number of sample descriptions.
    pub(crate) fn entry_count(&self) -> Result<u32> {
        let stsd = self.stsd()?;
        Ok(stsd
            .get(4..8)
            .map_or(0, |c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
    }

    /// The first sample description, as a whole box.
    pub(crate) fn first_entry(&self) -> Result<&[u8]> {
        let rest = self.stsd()?.get(8..).unwrap_or_default();
        let size = rest
            .get(..4)
            .map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize);
        rest.get(..size)
            .filter(|_| size >= 8)
            .ok_or_else(|| Error::malformed(FORMAT, 0, "stsd entry"))
    }

    /// `stsd` with `entries` appended (they become descriptions `entry_count + 1`, ...).
    pub(crate) fn stsd_appending(&self, entries: &[&[u8]]) -> Result<Vec<u8>> {
        let stsd = self.stsd()?;
        let count = self
            .entry_count()?
            .saturating_add(u32::try_from(entries.len()).unwrap_or(u32::MAX));
        let mut out = stsd.get(..4).unwrap_or(&[0; 4]).to_vec();
        out.extend_from_slice(&count.to_be_bytes());
        out.extend_from_slice(stsd.get(8..).unwrap_or_default());
        entries.iter().for_each(|e| out.extend_from_slice(e));
        Ok(out)
    }

    /// `stsd` with its first description replaced by `entry`.
    pub(crate) fn stsd_replacing_first(&self, entry: &[u8]) -> Result<Vec<u8>> {
        let stsd = self.stsd()?;
        let first = self.first_entry()?.len();
        let mut out = stsd.get(..8).unwrap_or_default().to_vec();
        out.extend_from_slice(entry);
        out.extend_from_slice(stsd.get(8 + first..).unwrap_or_default());
        Ok(out)
    }
}

/// One change to the file: the bytes `old` become `new_len` bytes.
#[derive(Debug, Clone)]
struct Edit {
    old: Range<u64>,
    new_len: u64,
    what: EditKind,
}

#[derive(Debug, Clone)]
enum EditKind {
    Moov,
    MdatHeader(Vec<u8>),
    Insert,
    Remove,
}

/// Where an original offset lands in the output.
fn map(edits: &[Edit], x: u64) -> Result<u64> {
    let mut delta: i128 = 0;
    for e in edits {
        if matches!(e.what, EditKind::Remove) && e.old.start <= x && x < e.old.end {
            return Err(Error::unsupported(
                "mp4",
                format!("a chunk at byte {x} overlaps a replaced video sample"),
            ));
        }
        if e.old.end <= x {
            delta += i128::from(e.new_len) - i128::from(e.old.end - e.old.start);
        }
    }
    u64::try_from(i128::from(x) + delta).map_err(|_| Error::malformed(FORMAT, x, "offset out of range"))
}

/// Where the inserted samples start in the output: `at` moved by every edit before it except
/// the insertion itself.
fn insertion_start(edits: &[Edit], at: u64) -> Result<u64> {
    let delta: i128 = edits
        .iter()
        .filter(|e| e.old.end <= at && !matches!(e.what, EditKind::Insert))
        .map(|e| i128::from(e.new_len) - i128::from(e.old.end - e.old.start))
        .sum();
    u64::try_from(i128::from(at) + delta).map_err(|_| Error::malformed(FORMAT, at, "offset out of range"))
}

/// Writes the spliced file.
///
/// # Errors
/// [`Error::Unsupported`] when a replaced sample lies outside an `mdat` or shares bytes with
/// another track's chunk; I/O errors.
pub(crate) fn write(
    input: &mut dyn ReadSeek,
    mp4: &Mp4,
    replaced: &[Replaced],
    stsd: &[u8],
    out: &mut dyn Write,
) -> Result<()> {
    // The removed byte ranges, merged.
    let mut removed: Vec<Range<u64>> = Vec::new();
    for r in replaced {
        for s in mp4.samples.get(r.from..r.to).unwrap_or_default() {
            let range = s.offset..s.offset.saturating_add(u64::from(s.size));
            match removed.last_mut() {
                Some(last) if last.end == range.start => last.end = range.end,
                _ => removed.push(range),
            }
        }
    }
    removed.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<u64>> = Vec::new();
    for r in removed {
        match merged.last_mut() {
            Some(last) if r.start < last.end => {
                return Err(Error::unsupported("mp4", "video samples share bytes"));
            }
            Some(last) if r.start == last.end => last.end = r.end,
            _ => merged.push(r),
        }
    }
    // Every kept video sample must lie inside an mdat's payload and clear of the removed bytes,
    // or copying the file around the edits would change it (a crafted table can point anywhere).
    let in_mdat = |r: &Range<u64>| {
        mp4.top
            .iter()
            .any(|b| &b.typ == b"mdat" && b.payload <= r.start && r.end <= b.end)
    };
    let mut next_replaced = replaced.iter().peekable();
    for (i, s) in mp4.samples.iter().enumerate() {
        while next_replaced.peek().is_some_and(|r| r.to <= i) {
            next_replaced.next();
        }
        if next_replaced.peek().is_some_and(|r| r.from <= i && i < r.to) {
            continue;
        }
        let r = s.offset..s.offset.saturating_add(u64::from(s.size));
        let first_after = merged.partition_point(|m| m.end <= r.start);
        let overlaps = merged.get(first_after).is_some_and(|m| m.start < r.end);
        if !in_mdat(&r) || overlaps {
            return Err(Error::unsupported(
                "mp4",
                format!(
                    "video sample {i} (bytes {}..{}) is not inside an mdat payload on its own",
                    r.start, r.end
                ),
            ));
        }
    }
    let mdat_of = |r: &Range<u64>| {
        mp4.top
            .iter()
            .position(|b| &b.typ == b"mdat" && b.payload <= r.start && r.end <= b.end)
    };
    let first = replaced
        .first()
        .and_then(|r| mp4.samples.get(r.from))
        .ok_or_else(|| Error::parameter("video", "nothing to splice"))?;
    let insert_mdat = mdat_of(&(first.offset..first.offset))
        .ok_or_else(|| Error::unsupported("mp4", "the first re-encoded sample is not inside an mdat box"))?;
    let inserted: u64 = replaced
        .iter()
        .flat_map(|r| r.segment.samples.iter())
        .map(|(range, _)| (range.end - range.start) as u64)
        .sum();
    let mut edits: Vec<Edit> = Vec::new();
    let mut mdat_change: Vec<i128> = vec![0; mp4.top.len()];
    for r in &merged {
        let at = mdat_of(r).ok_or_else(|| {
            Error::unsupported(
                "mp4",
                format!("video sample bytes {}..{} are not inside an mdat box", r.start, r.end),
            )
        })?;
        if let Some(c) = mdat_change.get_mut(at) {
            *c -= i128::from(r.end - r.start);
        }
        edits.push(Edit {
            old: r.clone(),
            new_len: 0,
            what: EditKind::Remove,
        });
    }
    if let Some(c) = mdat_change.get_mut(insert_mdat) {
        *c += i128::from(inserted);
    }
    let insert_at = mp4.top.get(insert_mdat).map_or(0, |b| b.payload);
    edits.push(Edit {
        old: insert_at..insert_at,
        new_len: inserted,
        what: EditKind::Insert,
    });
    for (b, change) in mp4.top.iter().zip(&mdat_change).filter(|(_, c)| **c != 0) {
        let size = u64::try_from(i128::from(b.end - b.start) + change)
            .map_err(|_| Error::malformed(FORMAT, b.start, "mdat size"))?;
        let hdr_len = b.payload - b.start;
        let (header, size) = if hdr_len == 16 || size - hdr_len + 8 > u64::from(u32::MAX) {
            let size = size - hdr_len + 16;
            let mut h = 1u32.to_be_bytes().to_vec();
            h.extend_from_slice(b"mdat");
            h.extend_from_slice(&size.to_be_bytes());
            (h, size)
        } else {
            let size = size - hdr_len + 8;
            let mut h = u32::try_from(size).unwrap_or(u32::MAX).to_be_bytes().to_vec();
            h.extend_from_slice(b"mdat");
            (h, size)
        };
        let _ = size;
        edits.push(Edit {
            old: b.start..b.payload,
            new_len: header.len() as u64,
            what: EditKind::MdatHeader(header),
        });
    }
    let moov_box = mp4
        .top
        .get(mp4.moov_at)
        .copied()
        .ok_or_else(|| Error::malformed(FORMAT, 0, "moov"))?;
    edits.push(Edit {
        old: moov_box.start..moov_box.end,
        new_len: moov_box.end - moov_box.start,
        what: EditKind::Moov,
    });
    edits.sort_by_key(|e| (e.old.start, e.old.end));
    // moov's new size moves the offsets it precedes, which can change its size (stco to
    // co64): settle in a few rounds.
    let mut new_moov = Vec::new();
    for _ in 0..4 {
        let ins_start = insertion_start(&edits, insert_at)?;
        new_moov = build_moov(mp4, replaced, stsd, &edits, ins_start)?;
        let moov_edit = edits.iter_mut().find(|e| matches!(e.what, EditKind::Moov));
        match moov_edit {
            Some(e) if e.new_len == new_moov.len() as u64 => break,
            Some(e) => e.new_len = new_moov.len() as u64,
            None => break,
        }
    }
    if edits
        .iter()
        .any(|e| matches!(e.what, EditKind::Moov) && e.new_len != new_moov.len() as u64)
    {
        return Err(Error::unsupported("mp4", "moov size did not settle"));
    }
    // Stream the output.
    let mut src = Source::new(input, FORMAT)?;
    let mut pos = 0u64;
    for e in &edits {
        src.seek_to(pos)?;
        src.copy_to(out, e.old.start - pos, "mp4 bytes")?;
        match &e.what {
            EditKind::Moov => out.write_all(&new_moov)?,
            EditKind::MdatHeader(h) => out.write_all(h)?,
            EditKind::Insert => {
                for r in replaced {
                    for (range, _) in &r.segment.samples {
                        out.write_all(r.segment.data.get(range.clone()).unwrap_or_default())?;
                    }
                }
            }
            EditKind::Remove => {}
        }
        pos = e.old.end;
    }
    src.seek_to(pos)?;
    src.copy_rest(out, "mp4 bytes")?;
    Ok(())
}

/// The new `moov`, with chunk offsets as `edits` move them and the new samples starting at
/// `ins_start` in the output.
fn build_moov(mp4: &Mp4, replaced: &[Replaced], stsd: &[u8], edits: &[Edit], ins_start: u64) -> Result<Vec<u8>> {
    let buf = &mp4.moov_buf;
    let mut moov = mp4.moov.clone();
    // Every other track: chunk offsets moved.
    for i in 0..moov.kids.len() {
        if i == mp4.trak || &moov.kids[i].typ != b"trak" {
            continue;
        }
        let Some(path) = stbl_path(&moov, i) else { continue };
        let Some(stbl) = moov.at_mut(&path) else { continue };
        let Some((typ, payload)) = table::remap_chunks(stbl, buf, |x| map(edits, x))? else {
            continue;
        };
        if let Some(k) = stbl
            .kids
            .iter_mut()
            .find(|k| k.live() && (&k.typ == b"stco" || &k.typ == b"co64"))
        {
            k.typ = typ;
            k.body = Body::New(payload);
            k.hdr_len = 8;
        }
    }
    // The video track: the new sample list.
    let path = stbl_path(&moov, mp4.trak).ok_or_else(|| Error::malformed(FORMAT, 0, "video stbl"))?;
    let stbl = moov
        .at_mut(&path)
        .ok_or_else(|| Error::malformed(FORMAT, 0, "video stbl"))?;
    let mut samples: Vec<Sample> = Vec::with_capacity(mp4.samples.len());
    let mut at = ins_start;
    let mut next = 0usize;
    let cts = presentation(&mp4.samples);
    for r in replaced {
        let desc = r.desc;
        for s in mp4.samples.get(next..r.from).unwrap_or_default() {
            samples.push(Sample {
                offset: map(edits, s.offset)?,
                ..*s
            });
        }
        let dts = decode_times(&mp4.samples);
        for (j, (range, sync)) in r.segment.samples.iter().enumerate() {
            let i = r.from + j;
            let (Some(orig), Some(&d), Some(&c)) = (mp4.samples.get(i), dts.get(i), cts.get(i)) else {
                return Err(Error::parameter("video", "segment has more frames than its range"));
            };
            let size = u32::try_from(range.end - range.start)
                .map_err(|_| Error::parameter("video", "encoded frame over 4 GiB"))?;
            samples.push(Sample {
                offset: at,
                size,
                duration: orig.duration,
                cts_offset: c.saturating_sub(d),
                sync: *sync,
                desc,
            });
            at += u64::from(size);
        }
        next = r.to;
    }
    for s in mp4.samples.get(next..).unwrap_or_default() {
        samples.push(Sample {
            offset: map(edits, s.offset)?,
            ..*s
        });
    }
    let force_co64 = stbl.child(b"co64").is_some();
    let t = table::write(&samples, force_co64);
    let mut set = |typ: &[u8; 4], payload: Option<Vec<u8>>, new_type: Option<[u8; 4]>| {
        let i = stbl.kids.iter().position(|k| k.live() && &k.typ == typ);
        match (i, payload) {
            (Some(i), Some(p)) => {
                if let Some(k) = stbl.kids.get_mut(i) {
                    k.body = Body::New(p);
                    k.hdr_len = 8;
                    if let Some(t) = new_type {
                        k.typ = t;
                    }
                }
            }
            (Some(i), None) => {
                if let Some(k) = stbl.kids.get_mut(i) {
                    k.body = Body::Removed;
                }
            }
            (None, Some(p)) => stbl.kids.push(Node::leaf(new_type.unwrap_or(*typ), p)),
            (None, None) => {}
        }
    };
    set(b"stsd", Some(stsd.to_vec()), None);
    set(b"stts", Some(t.stts), None);
    set(b"ctts", t.ctts, None);
    set(b"stss", t.stss, None);
    set(b"stsz", Some(t.stsz), None);
    set(b"stsc", Some(t.stsc), None);
    set(
        if force_co64 { b"co64" } else { b"stco" },
        Some(t.chunk_offsets),
        Some(t.chunk_type),
    );
    for typ in [b"sdtp", b"sbgp", b"sgpd", b"stps", b"cslg"] {
        while let Some(k) = stbl.kids.iter_mut().find(|k| k.live() && &k.typ == typ) {
            k.body = Body::Removed;
        }
    }
    let mut out = Vec::new();
    moov.emit(buf, &mut out);
    Ok(out)
}

/// Each sample's decode time.
pub(crate) fn decode_times(samples: &[Sample]) -> Vec<i64> {
    let mut t = 0i64;
    samples
        .iter()
        .map(|s| {
            let d = t;
            t = t.saturating_add(i64::from(s.duration));
            d
        })
        .collect()
}

/// For each decode position `i`, the `i`-th smallest presentation time: in a range that cuts
/// cleanly, the time of the frame shown `i`-th, which the `i`-th new (B-frame-free) sample
/// takes.
pub(crate) fn presentation(samples: &[Sample]) -> Vec<i64> {
    let dts = decode_times(samples);
    let mut cts: Vec<i64> = samples
        .iter()
        .zip(&dts)
        .map(|(s, d)| d.saturating_add(s.cts_offset))
        .collect();
    cts.sort_unstable();
    cts
}

/// The positions (decode order) where the track can be cut: 0, the end, and every sync sample
/// that no earlier sample is shown after and that is shown before every later sample (so it has
/// no leading pictures, which in an open GOP reference the group before it).
pub(crate) fn cut_points(samples: &[Sample]) -> Vec<usize> {
    let dts = decode_times(samples);
    let cts: Vec<i64> = samples
        .iter()
        .zip(&dts)
        .map(|(s, d)| d.saturating_add(s.cts_offset))
        .collect();
    let mut suffix_min = vec![i64::MAX; cts.len() + 1];
    for i in (0..cts.len()).rev() {
        suffix_min[i] = suffix_min[i + 1].min(cts[i]);
    }
    let mut out = vec![0];
    let mut prefix_max = i64::MIN;
    for (i, s) in samples.iter().enumerate() {
        if i > 0 && s.sync && prefix_max < suffix_min[i] && suffix_min[i] == cts[i] {
            out.push(i);
        }
        prefix_max = prefix_max.max(cts[i]);
    }
    out.push(samples.len());
    out
}
