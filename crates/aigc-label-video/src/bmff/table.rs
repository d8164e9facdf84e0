//! An MP4 track's sample table (ISO/IEC 14496-12 §8.6-8.7) as one list of samples, and back.
//!
//! Reading expands `stts`, `ctts`, `stss`, `stsz`, `stsc` and `stco`/`co64` into one
//! [`Sample`] per sample (where its bytes are, its decode duration, composition offset, sync
//! flag and sample description); writing packs such a list into new tables. Every count read
//! from the file is checked against the bytes its table holds, and the expanded list is bounded
//! by the sample count `stsz` declares (itself bounded by [`MAX_SAMPLES`]).

use aigc_label_core::io::Bytes;
use aigc_label_core::{Error, Result};

use crate::bmff::boxes::Node;

const FORMAT: &str = "mp4";

/// Most samples a track may have for stamping (about 3 days at 60 fps).
pub(crate) const MAX_SAMPLES: u64 = 16 << 20;

/// One sample of a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sample {
    /// Absolute byte offset in the file.
    pub offset: u64,
    /// Size in bytes.
    pub size: u32,
    /// Decode duration (`stts`), in the track's timescale.
    pub duration: u32,
    /// Composition offset (`ctts`): presentation time minus decode time.
    pub cts_offset: i64,
    /// A sync sample (`stss`, or every sample when there is none).
    pub sync: bool,
    /// 1-based sample description index (`stsc`).
    pub desc: u32,
}

/// Full-box payload after version and flags, with the version.
fn full<'a>(payload: &'a [u8], what: &'static str) -> Result<(u8, Bytes<'a>)> {
    let mut b = Bytes::new(payload);
    let version = b.u8().ok_or_else(|| truncated(what))?;
    b.take(3).ok_or_else(|| truncated(what))?;
    Ok((version, b))
}

fn truncated(what: &'static str) -> Error {
    Error::truncated(FORMAT, 0, what)
}

/// A count of `entry`-byte entries that must fit in what the table has left.
fn count(b: &mut Bytes<'_>, entry: usize, what: &'static str) -> Result<usize> {
    let n = b.u32_be().ok_or_else(|| truncated(what))? as usize;
    if n.checked_mul(entry).is_none_or(|len| len > b.remaining()) {
        return Err(Error::malformed(
            FORMAT,
            0,
            format!("{what} declares {n} entries but holds {} bytes", b.remaining()),
        ));
    }
    Ok(n)
}

fn leaf<'a>(stbl: &'a Node, buf: &'a [u8], typ: &[u8; 4]) -> Option<&'a [u8]> {
    stbl.child(typ).map(|n| n.payload(buf))
}

/// Expands the sample table of `stbl` (a node of the tree parsed from `buf`).
///
/// # Errors
/// A table missing, cut short or inconsistent with the others; more than [`MAX_SAMPLES`], or
/// more sample bytes than `file_len`.
pub(crate) fn read(stbl: &Node, buf: &[u8], file_len: u64) -> Result<Vec<Sample>> {
    let stsz = leaf(stbl, buf, b"stsz")
        .ok_or_else(|| Error::unsupported("mp4", "mp4 track without stsz (compact stz2 sizes are not handled)"))?;
    let (_, mut b) = full(stsz, "stsz")?;
    let fixed = b.u32_be().ok_or_else(|| truncated("stsz"))?;
    let n = b.u32_be().ok_or_else(|| truncated("stsz"))?;
    if u64::from(n) > MAX_SAMPLES {
        return Err(Error::Limit {
            format: FORMAT,
            offset: 0,
            what: "samples in a track",
            found: n.into(),
            limit: MAX_SAMPLES,
        });
    }
    // Every sample has bytes in the file: a constant size times a count the file cannot hold
    // is crafted, and would size the table from a header alone (the mp4_splice fuzzer's case).
    if fixed != 0 && u64::from(n).saturating_mul(u64::from(fixed)) > file_len {
        return Err(Error::malformed(
            FORMAT,
            0,
            "stsz declares more sample bytes than the file holds",
        ));
    }
    let n = n as usize;
    if fixed == 0 && n.saturating_mul(4) > b.remaining() {
        return Err(Error::malformed(FORMAT, 0, "stsz holds fewer sizes than samples"));
    }
    let mut samples = Vec::new();
    samples
        .try_reserve_exact(n)
        .map_err(|_| Error::parameter("video", "out of memory for the sample table"))?;
    for _ in 0..n {
        let size = if fixed == 0 { b.u32_be().unwrap_or(0) } else { fixed };
        samples.push(Sample {
            offset: 0,
            size,
            duration: 0,
            cts_offset: 0,
            sync: true,
            desc: 1,
        });
    }
    read_stts(stbl, buf, &mut samples)?;
    read_ctts(stbl, buf, &mut samples)?;
    read_stss(stbl, buf, &mut samples)?;
    read_chunks(stbl, buf, &mut samples)?;
    Ok(samples)
}

fn read_stts(stbl: &Node, buf: &[u8], samples: &mut [Sample]) -> Result<()> {
    let stts = leaf(stbl, buf, b"stts").ok_or_else(|| Error::malformed(FORMAT, 0, "track without stts"))?;
    let (_, mut b) = full(stts, "stts")?;
    let entries = count(&mut b, 8, "stts")?;
    let mut it = samples.iter_mut();
    for _ in 0..entries {
        let (n, delta) = (b.u32_be().unwrap_or(0), b.u32_be().unwrap_or(0));
        for s in it.by_ref().take(n as usize) {
            s.duration = delta;
        }
    }
    Ok(())
}

fn read_ctts(stbl: &Node, buf: &[u8], samples: &mut [Sample]) -> Result<()> {
    let Some(ctts) = leaf(stbl, buf, b"ctts") else {
        return Ok(());
    };
    let (_, mut b) = full(ctts, "ctts")?;
    let entries = count(&mut b, 8, "ctts")?;
    let mut it = samples.iter_mut();
    for _ in 0..entries {
        let n = b.u32_be().unwrap_or(0);
        let raw = b.u32_be().unwrap_or(0);
        // Version 1 is signed; version 0 is unsigned by the letter of the spec but written
        // signed by some muxers, so a value with the top bit set reads as negative either way.
        let off = i64::from(i32::from_be_bytes(raw.to_be_bytes()));
        for s in it.by_ref().take(n as usize) {
            s.cts_offset = off;
        }
    }
    Ok(())
}

fn read_stss(stbl: &Node, buf: &[u8], samples: &mut [Sample]) -> Result<()> {
    let Some(stss) = leaf(stbl, buf, b"stss") else {
        return Ok(());
    };
    let (_, mut b) = full(stss, "stss")?;
    let entries = count(&mut b, 4, "stss")?;
    samples.iter_mut().for_each(|s| s.sync = false);
    for _ in 0..entries {
        let i = b.u32_be().unwrap_or(0) as usize;
        if let Some(s) = i.checked_sub(1).and_then(|i| samples.get_mut(i)) {
            s.sync = true;
        }
    }
    Ok(())
}

/// The chunk offset table of `stbl` and whether it is `co64`. A track with both `stco` and
/// `co64` is refused: readers differ on which one wins, and a rewrite that moved one would leave
/// the other pointing at the old bytes (a fuzz finding: the stamped frame was not the first).
fn chunk_offsets<'a>(stbl: &'a Node, buf: &'a [u8]) -> Result<Option<(&'a [u8], bool)>> {
    match (leaf(stbl, buf, b"stco"), leaf(stbl, buf, b"co64")) {
        (Some(_), Some(_)) => Err(Error::malformed(FORMAT, 0, "track with both stco and co64")),
        (Some(p), None) => Ok(Some((p, false))),
        (None, Some(p)) => Ok(Some((p, true))),
        (None, None) => Ok(None),
    }
}

fn read_chunks(stbl: &Node, buf: &[u8], samples: &mut [Sample]) -> Result<()> {
    let (offsets, wide) =
        chunk_offsets(stbl, buf)?.ok_or_else(|| Error::malformed(FORMAT, 0, "track without stco or co64"))?;
    let (_, mut co) = full(offsets, "stco")?;
    let chunks = count(&mut co, if wide { 8 } else { 4 }, "stco")?;
    let stsc = leaf(stbl, buf, b"stsc").ok_or_else(|| Error::malformed(FORMAT, 0, "track without stsc"))?;
    let (_, mut sc) = full(stsc, "stsc")?;
    let runs = count(&mut sc, 12, "stsc")?;
    let mut table = Vec::new();
    for _ in 0..runs {
        table.push((
            sc.u32_be().unwrap_or(0),
            sc.u32_be().unwrap_or(0),
            sc.u32_be().unwrap_or(0),
        ));
    }
    let mut next = samples.iter_mut();
    let mut run = 0usize;
    let mut placed = 0usize;
    for chunk in 1..=chunks {
        let chunk_no = u32::try_from(chunk).unwrap_or(u32::MAX);
        while table.get(run + 1).is_some_and(|r| r.0 <= chunk_no) {
            run += 1;
        }
        let Some(&(first, per_chunk, desc)) = table.get(run) else {
            return Err(Error::malformed(FORMAT, 0, "stsc is empty"));
        };
        if first > chunk_no {
            return Err(Error::malformed(FORMAT, 0, "stsc does not start at chunk 1"));
        }
        let mut at = if wide { co.u64_be() } else { co.u32_be().map(u64::from) }.unwrap_or(0);
        for s in next.by_ref().take(per_chunk as usize) {
            s.offset = at;
            s.desc = desc;
            at = at.saturating_add(u64::from(s.size));
            placed += 1;
        }
    }
    if placed != samples.len() {
        return Err(Error::malformed(
            FORMAT,
            0,
            format!("chunks hold {placed} samples but stsz declares {}", samples.len()),
        ));
    }
    Ok(())
}

/// New sample tables for `samples`, where `offset_of` gives each sample's offset in the
/// output: `(stts, ctts, stss, stsz, stsc, stco-or-co64 type, its payload)`. Consecutive
/// samples that are adjacent in the output and share a description form one chunk.
pub(crate) struct Tables {
    pub stts: Vec<u8>,
    pub ctts: Option<Vec<u8>>,
    pub stss: Option<Vec<u8>>,
    pub stsz: Vec<u8>,
    pub stsc: Vec<u8>,
    pub chunk_type: [u8; 4],
    pub chunk_offsets: Vec<u8>,
}

fn full_header(out: &mut Vec<u8>, version: u8) {
    out.extend_from_slice(&[version, 0, 0, 0]);
}

/// Packs `samples` (with their output offsets) into tables; `force_co64` keeps a `co64`.
pub(crate) fn write(samples: &[Sample], force_co64: bool) -> Tables {
    let n = u32::try_from(samples.len()).unwrap_or(u32::MAX);
    // stts: runs of equal durations.
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for s in samples {
        match runs.last_mut() {
            Some((count, d)) if *d == s.duration => *count += 1,
            _ => runs.push((1, s.duration)),
        }
    }
    let mut stts = Vec::new();
    full_header(&mut stts, 0);
    push_u32(&mut stts, runs.len());
    for (count, d) in &runs {
        stts.extend_from_slice(&count.to_be_bytes());
        stts.extend_from_slice(&d.to_be_bytes());
    }
    // ctts: runs of equal offsets, left out when all are zero.
    let ctts = samples.iter().any(|s| s.cts_offset != 0).then(|| {
        let negative = samples.iter().any(|s| s.cts_offset < 0);
        let mut runs: Vec<(u32, i64)> = Vec::new();
        for s in samples {
            match runs.last_mut() {
                Some((count, o)) if *o == s.cts_offset => *count += 1,
                _ => runs.push((1, s.cts_offset)),
            }
        }
        let mut ctts = Vec::new();
        full_header(&mut ctts, u8::from(negative));
        push_u32(&mut ctts, runs.len());
        for (count, o) in &runs {
            ctts.extend_from_slice(&count.to_be_bytes());
            let v = i32::try_from(*o).unwrap_or(if *o < 0 { i32::MIN } else { i32::MAX });
            ctts.extend_from_slice(&v.to_be_bytes());
        }
        ctts
    });
    // stss, left out when every sample is a sync sample.
    let stss = samples.iter().any(|s| !s.sync).then(|| {
        let syncs: Vec<u32> = (1..=n).zip(samples).filter(|(_, s)| s.sync).map(|(i, _)| i).collect();
        let mut stss = Vec::new();
        full_header(&mut stss, 0);
        push_u32(&mut stss, syncs.len());
        syncs.iter().for_each(|i| stss.extend_from_slice(&i.to_be_bytes()));
        stss
    });
    let mut stsz = Vec::new();
    full_header(&mut stsz, 0);
    stsz.extend_from_slice(&0u32.to_be_bytes());
    stsz.extend_from_slice(&n.to_be_bytes());
    samples
        .iter()
        .for_each(|s| stsz.extend_from_slice(&s.size.to_be_bytes()));
    // Chunks: a new chunk wherever a sample does not follow the previous one or changes
    // description.
    let mut chunks: Vec<(u64, u32, u32)> = Vec::new(); // (offset, samples, desc)
    let mut end = None;
    for s in samples {
        match chunks.last_mut() {
            Some((_, count, desc)) if end == Some(s.offset) && *desc == s.desc => *count += 1,
            _ => chunks.push((s.offset, 1, s.desc)),
        }
        end = Some(s.offset.saturating_add(u64::from(s.size)));
    }
    let mut stsc = Vec::new();
    full_header(&mut stsc, 0);
    let mut entries: Vec<(u32, u32, u32)> = Vec::new();
    for (i, (_, count, desc)) in chunks.iter().enumerate() {
        let first = u32::try_from(i + 1).unwrap_or(u32::MAX);
        if entries.last().is_none_or(|&(_, c, d)| c != *count || d != *desc) {
            entries.push((first, *count, *desc));
        }
    }
    push_u32(&mut stsc, entries.len());
    for (first, count, desc) in &entries {
        for v in [first, count, desc] {
            stsc.extend_from_slice(&v.to_be_bytes());
        }
    }
    let wide = force_co64 || chunks.iter().any(|c| c.0 > u64::from(u32::MAX));
    let mut chunk_offsets = Vec::new();
    full_header(&mut chunk_offsets, 0);
    push_u32(&mut chunk_offsets, chunks.len());
    for (offset, _, _) in &chunks {
        if wide {
            chunk_offsets.extend_from_slice(&offset.to_be_bytes());
        } else {
            chunk_offsets.extend_from_slice(&u32::try_from(*offset).unwrap_or(u32::MAX).to_be_bytes());
        }
    }
    Tables {
        stts,
        ctts,
        stss,
        stsz,
        stsc,
        chunk_type: if wide { *b"co64" } else { *b"stco" },
        chunk_offsets,
    }
}

fn push_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
}

/// The chunk offsets of a track that keeps its samples (`stco`/`co64` payload), each moved by
/// `map`, as a new payload and box type.
pub(crate) fn remap_chunks(
    stbl: &Node,
    buf: &[u8],
    map: impl Fn(u64) -> Result<u64>,
) -> Result<Option<([u8; 4], Vec<u8>)>> {
    let Some((payload, wide)) = chunk_offsets(stbl, buf)? else {
        return Ok(None);
    };
    let (_, mut b) = full(payload, "stco")?;
    let n = count(&mut b, if wide { 8 } else { 4 }, "stco")?;
    let mut moved = Vec::with_capacity(n);
    for _ in 0..n {
        let at = if wide { b.u64_be() } else { b.u32_be().map(u64::from) }.unwrap_or(0);
        moved.push(map(at)?);
    }
    let wide = wide || moved.iter().any(|&o| o > u64::from(u32::MAX));
    let mut out = Vec::new();
    full_header(&mut out, 0);
    push_u32(&mut out, n);
    for o in moved {
        if wide {
            out.extend_from_slice(&o.to_be_bytes());
        } else {
            out.extend_from_slice(&u32::try_from(o).unwrap_or(u32::MAX).to_be_bytes());
        }
    }
    Ok(Some((if wide { *b"co64" } else { *b"stco" }, out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(offset: u64, size: u32, duration: u32, cts: i64, sync: bool, desc: u32) -> Sample {
        Sample {
            offset,
            size,
            duration,
            cts_offset: cts,
            sync,
            desc,
        }
    }

    #[test]
    fn tables_pack_runs_and_chunks() {
        let s = [
            sample(100, 10, 512, 1024, true, 2),
            sample(110, 5, 512, 0, false, 2),
            sample(500, 7, 512, 0, false, 1),
            sample(507, 7, 256, 512, true, 1),
        ];
        let t = write(&s, false);
        assert_eq!(
            t.stts,
            [0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 2, 0, 0, 0, 0, 1, 0, 0, 1, 0]
        );
        assert_eq!(t.stss.unwrap(), [0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4]);
        assert_eq!(t.chunk_type, *b"stco");
        assert_eq!(t.chunk_offsets, [0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 100, 0, 0, 1, 244]);
        assert_eq!(
            t.stsc,
            [
                0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 1
            ]
        );
        assert!(t.ctts.is_some());
        let t = write(&[sample(1 << 33, 1, 1, 0, true, 1)], false);
        assert_eq!(t.chunk_type, *b"co64");
        assert!(t.ctts.is_none() && t.stss.is_none());
    }

    #[test]
    fn counts_larger_than_the_table_are_errors() {
        let mut b = Bytes::new(&[0, 0, 0, 9, 1, 2, 3]);
        assert!(count(&mut b, 8, "stts").is_err());
    }
}
