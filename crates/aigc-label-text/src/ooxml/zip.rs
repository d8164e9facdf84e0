//! A small zip reader and a rewriting writer (APPNOTE 6.3.x, with Zip64 records).
//!
//! The `zip` crate's `raw_copy_file` could copy entries, but it re-creates local headers from its
//! own view of an entry (dropping unknown extra fields and data descriptors it does not model),
//! so "every other entry exactly as it was" would rest on its details. This writer copies each
//! untouched entry's bytes, from its local header to the next entry, verbatim, and copies its
//! central directory record verbatim except for the local header offset. Only replaced and added
//! parts are written anew (deflated).
//!
//! Reading finds the end of central directory record (and the Zip64 one when present), reads the
//! central directory within [`Limits::max_metadata_bytes`] and [`Limits::max_structures`], and
//! inflates the few parts it needs within [`Limits::max_inflated_bytes`], checking their CRC-32.

use std::io::Write;
use std::ops::Range;

use aigc_label_core::container::Drains;
use aigc_label_core::io::{Bytes, Source};
use aigc_label_core::plan::PlanBuilder;
use aigc_label_core::{Error, Limits, Result};

use crate::util::{count_structure, inflate};

pub(crate) const FORMAT: &str = "ooxml";

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const EOCD_SIG: u32 = 0x0605_4b50;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const EOCD_LEN: u64 = 22;
const MAX_COMMENT: u64 = 0xffff;

/// One entry, as the central directory describes it.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub name: String,
    /// The raw central directory record (fixed part, name, extra field, comment).
    record: Vec<u8>,
    /// Where `record` is in the file.
    record_offset: u64,
    pub local_offset: u64,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    method: u16,
    flags: u16,
    crc: u32,
    time: u16,
    date: u16,
    /// Where the local header offset is stored in `record`: the 32-bit field, or a 64-bit
    /// value inside the Zip64 extra field.
    offset_field: OffsetField,
    /// The entry's bytes in the file: local header to the next entry (or the central directory).
    pub span: Range<u64>,
}

#[derive(Debug, Clone, Copy)]
enum OffsetField {
    Short,
    Zip64(usize),
}

/// A zip archive's directory.
#[derive(Debug)]
pub(crate) struct Archive {
    /// Entries in central directory order.
    pub entries: Vec<Entry>,
    cd_offset: u64,
    zip64: bool,
    comment: Vec<u8>,
    /// The end records' fields that locate the central directory: its size and offset in the
    /// end of central directory record (and in the Zip64 one), and the Zip64 locator's offset of
    /// the Zip64 record.
    end_fields: Vec<Range<u64>>,
}

impl Archive {
    /// The entries in the order they are stored.
    pub fn in_file_order(&self) -> Vec<&Entry> {
        let mut order: Vec<&Entry> = self.entries.iter().collect();
        order.sort_by_key(|e| e.local_offset);
        order
    }

    /// The entry named `name` (exactly, else ignoring ASCII case as OPC part names do).
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .or_else(|| self.entries.iter().find(|e| e.name.eq_ignore_ascii_case(name)))
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Bytes::new(b.get(at..)?).u16_le()
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Bytes::new(b.get(at..)?).u32_le()
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(s.try_into().ok()?))
}

/// Reads the central directory, and checks each entry's local header.
///
/// # Errors
/// No end of central directory record, multi-disk archives (unsupported), records that point
/// outside the file, limits exceeded, I/O errors.
pub(crate) fn read_archive(src: &mut Source<'_>, limits: &Limits) -> Result<Archive> {
    let archive = read_directory(src, limits)?;
    for entry in archive.in_file_order() {
        check_local(src, entry)?;
    }
    Ok(archive)
}

/// [`read_archive`] without reading the local headers: [`rewrite`] checks each as it copies
/// the entry, so that the entries are read once.
///
/// # Errors
/// As [`read_archive`], but for the local headers.
pub(crate) fn read_directory(src: &mut Source<'_>, limits: &Limits) -> Result<Archive> {
    let len = src.len();
    let tail_start = len.saturating_sub(EOCD_LEN + MAX_COMMENT);
    src.seek_to(tail_start)?;
    let tail = src.read_vec(len - tail_start, "zip tail", limits)?;
    let eocd_at = (0..tail.len().saturating_sub(EOCD_LEN as usize - 1))
        .rev()
        .find(|&i| u32_at(&tail, i) == Some(EOCD_SIG))
        .ok_or_else(|| Error::malformed(FORMAT, len, "no end of central directory record"))?;
    let eocd = tail.get(eocd_at..).unwrap_or_default();
    let bad = |what: &'static str| Error::malformed(FORMAT, tail_start + eocd_at as u64, what);
    let disk = u16_at(eocd, 4).ok_or_else(|| bad("short EOCD"))?;
    let cd_disk = u16_at(eocd, 6).ok_or_else(|| bad("short EOCD"))?;
    let mut count = u64::from(u16_at(eocd, 10).ok_or_else(|| bad("short EOCD"))?);
    let mut cd_size = u64::from(u32_at(eocd, 12).ok_or_else(|| bad("short EOCD"))?);
    let mut cd_offset = u64::from(u32_at(eocd, 16).ok_or_else(|| bad("short EOCD"))?);
    let comment_len = usize::from(u16_at(eocd, 20).ok_or_else(|| bad("short EOCD"))?);
    let comment = eocd
        .get(22..22 + comment_len)
        .unwrap_or_else(|| eocd.get(22..).unwrap_or_default())
        .to_vec();
    let eocd_offset = tail_start + eocd_at as u64;
    let mut end_fields = Vec::new();
    end_fields.push(eocd_offset + 12..eocd_offset + 20);
    let mut zip64 = false;
    let mut cd_end_limit = eocd_offset;
    if eocd_at >= 20 && u32_at(&tail, eocd_at - 20) == Some(ZIP64_LOCATOR_SIG) {
        zip64 = true;
        let locator = tail.get(eocd_at - 20..eocd_at).unwrap_or_default();
        let z_offset = u64_at(locator, 8).ok_or_else(|| bad("short Zip64 locator"))?;
        if z_offset.checked_add(56).is_none_or(|end| end > eocd_offset) {
            return Err(bad("Zip64 end of central directory outside the file"));
        }
        src.seek_to(z_offset)?;
        let z = src.read_vec(56, "Zip64 EOCD", limits)?;
        if u32_at(&z, 0) != Some(ZIP64_EOCD_SIG) {
            return Err(Error::malformed(
                FORMAT,
                z_offset,
                "bad Zip64 end of central directory signature",
            ));
        }
        count = u64_at(&z, 32).ok_or_else(|| bad("short Zip64 EOCD"))?;
        cd_size = u64_at(&z, 40).ok_or_else(|| bad("short Zip64 EOCD"))?;
        cd_offset = u64_at(&z, 48).ok_or_else(|| bad("short Zip64 EOCD"))?;
        cd_end_limit = z_offset;
        let locator_at = eocd_offset - 20;
        end_fields.extend([z_offset + 40..z_offset + 56, locator_at + 8..locator_at + 16]);
    } else if disk != 0 || cd_disk != 0 {
        return Err(Error::unsupported("zip", "multi-disk archives"));
    }
    if cd_offset.checked_add(cd_size).is_none_or(|end| end > cd_end_limit) {
        return Err(bad("central directory lies outside the file"));
    }
    if count > limits.max_structures {
        return Err(Error::Limit {
            format: FORMAT,
            offset: eocd_offset,
            what: "zip entries",
            found: count,
            limit: limits.max_structures,
        });
    }
    src.seek_to(cd_offset)?;
    let cd = src.read_vec(cd_size, "central directory", limits)?;
    let entries = parse_central_directory(&cd, count, cd_offset, limits)?;
    let mut archive = Archive {
        entries,
        cd_offset,
        zip64,
        comment,
        end_fields,
    };
    compute_spans(&mut archive)?;
    Ok(archive)
}

fn parse_central_directory(cd: &[u8], count: u64, cd_offset: u64, limits: &Limits) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut pos = 0usize;
    let mut walked = 0u64;
    for _ in 0..count {
        count_structure(&mut walked, limits, FORMAT, cd_offset + pos as u64)?;
        let at = cd_offset + pos as u64;
        let bad = |what: &'static str| Error::malformed(FORMAT, at, what);
        let fixed = cd
            .get(pos..pos + 46)
            .ok_or_else(|| Error::truncated(FORMAT, at, "central directory record"))?;
        if u32_at(fixed, 0) != Some(CENTRAL_SIG) {
            return Err(bad("bad central directory record signature"));
        }
        let field16 = |o| u16_at(fixed, o).unwrap_or(0);
        let field32 = |o| u32_at(fixed, o).unwrap_or(0);
        let (name_len, extra_len, comment_len) = (
            usize::from(field16(28)),
            usize::from(field16(30)),
            usize::from(field16(32)),
        );
        let total = 46 + name_len + extra_len + comment_len;
        let record = cd
            .get(pos..pos + total)
            .ok_or_else(|| Error::truncated(FORMAT, at, "central directory record"))?
            .to_vec();
        let name_bytes = record.get(46..46 + name_len).unwrap_or_default();
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        let mut entry = Entry {
            name,
            local_offset: u64::from(field32(42)),
            compressed_size: u64::from(field32(20)),
            uncompressed_size: u64::from(field32(24)),
            method: field16(10),
            flags: field16(8),
            crc: field32(16),
            time: field16(12),
            date: field16(14),
            offset_field: OffsetField::Short,
            span: 0..0,
            record,
            record_offset: at,
        };
        apply_zip64_extra(&mut entry, 46 + name_len, extra_len).map_err(|_| bad("bad Zip64 extra field"))?;
        entries.push(entry);
        pos += total;
    }
    Ok(entries)
}

/// Reads 64-bit sizes and offset from the Zip64 extra field, for each 32-bit field that holds
/// 0xFFFFFFFF (APPNOTE 4.5.3).
fn apply_zip64_extra(entry: &mut Entry, extra_start: usize, extra_len: usize) -> std::result::Result<(), ()> {
    let needs = [
        entry.uncompressed_size == 0xffff_ffff,
        entry.compressed_size == 0xffff_ffff,
        entry.local_offset == 0xffff_ffff,
    ];
    if !needs.iter().any(|&n| n) {
        return Ok(());
    }
    let extra_end = extra_start + extra_len;
    let mut at = extra_start;
    while at + 4 <= extra_end {
        let id = u16_at(&entry.record, at).ok_or(())?;
        let size = usize::from(u16_at(&entry.record, at + 2).ok_or(())?);
        if id == 0x0001 {
            let mut field = at + 4;
            let end = field + size;
            for (i, need) in needs.iter().enumerate() {
                if !need {
                    continue;
                }
                if field + 8 > end {
                    return Err(());
                }
                let v = u64_at(&entry.record, field).ok_or(())?;
                match i {
                    0 => entry.uncompressed_size = v,
                    1 => entry.compressed_size = v,
                    _ => {
                        entry.local_offset = v;
                        entry.offset_field = OffsetField::Zip64(field);
                    }
                }
                field += 8;
            }
            return Ok(());
        }
        at += 4 + size;
    }
    Err(())
}

/// Each entry's bytes run from its local header to the next entry's (or the central directory);
/// names are unique and entries do not overlap. [`check_local`] checks that a span holds the
/// entry.
fn compute_spans(archive: &mut Archive) -> Result<()> {
    let mut order: Vec<usize> = (0..archive.entries.len()).collect();
    order.sort_by_key(|&i| archive.entries.get(i).map_or(0, |e| e.local_offset));
    let mut names = std::collections::HashSet::new();
    for (k, &i) in order.iter().enumerate() {
        let next = order
            .get(k + 1)
            .and_then(|&j| archive.entries.get(j))
            .map_or(archive.cd_offset, |e| e.local_offset);
        let Some(entry) = archive.entries.get_mut(i) else {
            continue;
        };
        if !names.insert(entry.name.clone()) {
            return Err(Error::malformed(
                FORMAT,
                entry.local_offset,
                format!("duplicate zip entry {:?}", entry.name),
            ));
        }
        if next <= entry.local_offset {
            return Err(Error::malformed(FORMAT, entry.local_offset, "zip entries overlap"));
        }
        entry.span = entry.local_offset..next;
    }
    Ok(())
}

/// Checks that `entry`'s span starts with a local file header and holds the header and the
/// compressed data.
fn check_local(src: &mut Source<'_>, entry: &Entry) -> Result<()> {
    src.seek_to(entry.local_offset)?;
    let header = src.read_array::<30>("local file header")?;
    if u32_at(&header, 0) != Some(LOCAL_SIG) {
        return Err(Error::malformed(
            FORMAT,
            entry.local_offset,
            "bad local file header signature",
        ));
    }
    let head_len = 30 + u64::from(u16_at(&header, 26).unwrap_or(0)) + u64::from(u16_at(&header, 28).unwrap_or(0));
    let needed = entry.local_offset + head_len + entry.compressed_size;
    if needed > entry.span.end {
        return Err(Error::malformed(
            FORMAT,
            entry.local_offset,
            "zip entry data runs into the next entry",
        ));
    }
    Ok(())
}

/// Reads and inflates an entry, checking its CRC-32.
///
/// # Errors
/// Encrypted entries and methods other than stored and deflate (unsupported), a CRC mismatch,
/// limits exceeded, I/O errors.
pub(crate) fn read_entry(src: &mut Source<'_>, entry: &Entry, limits: &Limits) -> Result<Vec<u8>> {
    if entry.flags & 1 != 0 {
        return Err(Error::unsupported("zip", "encrypted entries"));
    }
    src.seek_to(entry.local_offset)?;
    let header = src.read_array::<30>("local file header")?;
    let skip = u64::from(u16_at(&header, 26).unwrap_or(0)) + u64::from(u16_at(&header, 28).unwrap_or(0));
    src.skip(skip, "local file header")?;
    let raw = src.read_vec(entry.compressed_size, "zip entry data", limits)?;
    let data = match entry.method {
        0 => raw,
        8 => inflate(&raw, false, limits, FORMAT, entry.local_offset)?,
        m => return Err(Error::unsupported("zip", format!("compression method {m}"))),
    };
    if crc32fast::hash(&data) != entry.crc {
        return Err(Error::malformed(
            FORMAT,
            entry.local_offset,
            format!("CRC-32 mismatch in {:?}", entry.name),
        ));
    }
    Ok(data)
}

/// The bytes of the file that [`rewrite`] changes when it replaces `part` with new data under
/// the same name and adds nothing: the part's entry (local header, data, anything up to the
/// next entry), its central directory record, the local header offset field in the records of
/// the entries after it (they move), and the end records' fields that locate the central
/// directory. Every other byte is copied unchanged, in the same order, even if the part's
/// length changes. At most [`Limits::max_structures`] ranges: when more entries move, one
/// range spans their records.
pub(crate) fn replacement_changes(archive: &Archive, part: &Entry, limits: &Limits) -> Vec<Range<u64>> {
    let mut ranges = vec![
        part.span.clone(),
        part.record_offset..part.record_offset + part.record.len() as u64,
    ];
    let moved: Vec<Range<u64>> = archive
        .entries
        .iter()
        .filter(|e| e.local_offset > part.local_offset)
        .map(|e| {
            let (at, width) = match e.offset_field {
                OffsetField::Short => (42, 4),
                OffsetField::Zip64(at) => (at as u64, 8),
            };
            e.record_offset + at..e.record_offset + at + width
        })
        .collect();
    let budget = usize::try_from(limits.max_structures).unwrap_or(usize::MAX);
    if moved.len() + ranges.len() + archive.end_fields.len() > budget {
        let start = moved.iter().map(|r| r.start).min();
        let end = moved.iter().map(|r| r.end).max();
        ranges.extend(start.zip(end).map(|(s, e)| s..e));
    } else {
        ranges.extend(moved);
    }
    ranges.extend(archive.end_fields.iter().cloned());
    ranges
}

/// A part written anew: replaced or added.
pub(crate) struct NewPart {
    pub name: String,
    pub data: Vec<u8>,
}

/// What [`rewrite`] planned: for each new part, its name and output range.
pub(crate) struct Rewritten {
    pub parts: Vec<(String, Range<u64>)>,
}

/// Plans the archive with `replaced` parts substituted in place and `added` parts appended;
/// every other entry is a copied range, byte for byte. Returns the bytes planned and the output
/// range of each new part, by name.
pub(crate) fn rewrite(
    src: &mut Source<'_>,
    archive: &Archive,
    replaced: &[NewPart],
    added: &[NewPart],
    out: &mut PlanBuilder,
) -> Result<Rewritten> {
    let len = src.len();
    let copy = |out: &mut PlanBuilder, range: Range<u64>, what: &'static str| {
        if range.end > len {
            return Err(Error::truncated(FORMAT, range.start, what));
        }
        out.copy(range);
        Ok(())
    };
    let mut pos = 0u64;
    let mut ranges = Vec::new();
    let mut records: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut order: Vec<usize> = (0..archive.entries.len()).collect();
    order.sort_by_key(|&i| archive.entries.get(i).map_or(0, |e| e.local_offset));
    if let Some(first) = order.first().and_then(|&i| archive.entries.get(i)) {
        // Bytes before the first entry (a prefix some tools leave) are kept too.
        copy(out, 0..first.local_offset, "zip prefix")?;
        pos = first.local_offset;
    }
    let mut drains = Drains::default();
    for &i in &order {
        drains.drain(out, src, &[])?;
        let Some(entry) = archive.entries.get(i) else { continue };
        check_local(src, entry)?;
        let start = pos;
        match replaced.iter().find(|p| p.name == entry.name) {
            Some(part) => {
                let (local, record) = new_entry(&part.name, &part.data, entry.time, entry.date, start)?;
                out.put(&local);
                pos += local.len() as u64;
                ranges.push((part.name.clone(), start..pos));
                records.push((i, record));
            }
            None => {
                copy(out, entry.span.clone(), "zip entry")?;
                pos += entry.span.end - entry.span.start;
                records.push((i, patched_record(entry, start)?));
            }
        }
    }
    records.sort_by_key(|(i, _)| *i);
    let mut directory: Vec<Vec<u8>> = records.into_iter().map(|(_, r)| r).collect();
    for part in added {
        let start = pos;
        let (local, record) = new_entry(&part.name, &part.data, 0, DOS_DATE_1980, start)?;
        out.put(&local);
        pos += local.len() as u64;
        ranges.push((part.name.clone(), start..pos));
        directory.push(record);
    }
    let cd_offset = pos;
    for record in &directory {
        out.put(record);
        pos += record.len() as u64;
    }
    let cd_size = pos - cd_offset;
    write_end(
        out,
        directory.len() as u64,
        cd_size,
        cd_offset,
        archive.zip64,
        &archive.comment,
        pos,
    )?;
    Ok(Rewritten { parts: ranges })
}

/// 1980-01-01, the zip epoch, for parts this crate adds (deterministic output).
const DOS_DATE_1980: u16 = (1 << 5) | 1;

/// The central directory record of a copied entry, with its local header offset moved to
/// `offset`.
fn patched_record(entry: &Entry, offset: u64) -> Result<Vec<u8>> {
    let mut record = entry.record.clone();
    match entry.offset_field {
        OffsetField::Short => {
            let short = u32::try_from(offset)
                .ok()
                .filter(|&o| o != u32::MAX)
                .ok_or_else(|| Error::capacity("zip", "an entry moved past 4 GiB without a Zip64 offset field"))?;
            if let Some(slot) = record.get_mut(42..46) {
                slot.copy_from_slice(&short.to_le_bytes());
            }
        }
        OffsetField::Zip64(at) => {
            if let Some(slot) = record.get_mut(at..at + 8) {
                slot.copy_from_slice(&offset.to_le_bytes());
            }
        }
    }
    Ok(record)
}

/// A deflated entry: its local header and data, and its central directory record.
fn new_entry(name: &str, data: &[u8], time: u16, date: u16, offset: u64) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data)?;
    let compressed = enc.finish()?;
    let crc = crc32fast::hash(data);
    let too_big = || Error::capacity("zip", "a part of 4 GiB or more");
    let csize = u32::try_from(compressed.len()).map_err(|_| too_big())?;
    let usize_ = u32::try_from(data.len()).map_err(|_| too_big())?;
    let name_len = u16::try_from(name.len()).map_err(|_| Error::parameter("zip entry name", "too long"))?;
    let offset32 = u32::try_from(offset)
        .ok()
        .filter(|&o| o != u32::MAX)
        .ok_or_else(|| Error::capacity("zip", "a new entry past 4 GiB"))?;
    let flags: u16 = if name.is_ascii() { 0 } else { 1 << 11 };
    let mut local = Vec::with_capacity(30 + name.len() + compressed.len());
    local.extend_from_slice(&LOCAL_SIG.to_le_bytes());
    for v in [20u16, flags, 8, time, date] {
        local.extend_from_slice(&v.to_le_bytes());
    }
    for v in [crc, csize, usize_] {
        local.extend_from_slice(&v.to_le_bytes());
    }
    for v in [name_len, 0] {
        local.extend_from_slice(&v.to_le_bytes());
    }
    local.extend_from_slice(name.as_bytes());
    local.extend_from_slice(&compressed);
    let mut record = Vec::with_capacity(46 + name.len());
    record.extend_from_slice(&CENTRAL_SIG.to_le_bytes());
    for v in [20u16, 20, flags, 8, time, date] {
        record.extend_from_slice(&v.to_le_bytes());
    }
    for v in [crc, csize, usize_] {
        record.extend_from_slice(&v.to_le_bytes());
    }
    for v in [name_len, 0, 0, 0, 0] {
        record.extend_from_slice(&v.to_le_bytes());
    }
    for v in [0u32, offset32] {
        record.extend_from_slice(&v.to_le_bytes());
    }
    record.extend_from_slice(name.as_bytes());
    Ok((local, record))
}

/// Writes the end records: Zip64 ones when the input had them or a value needs them. Returns
/// the bytes written.
fn write_end(
    out: &mut dyn Write,
    count: u64,
    cd_size: u64,
    cd_offset: u64,
    zip64: bool,
    comment: &[u8],
    pos: u64,
) -> Result<u64> {
    let mut buf = Vec::new();
    let zip64 = zip64 || count >= 0xffff || cd_size >= 0xffff_ffff || cd_offset >= 0xffff_ffff;
    if zip64 {
        buf.extend_from_slice(&ZIP64_EOCD_SIG.to_le_bytes());
        buf.extend_from_slice(&44u64.to_le_bytes());
        for v in [45u16, 45] {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        for v in [0u32, 0] {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        for v in [count, count, cd_size, cd_offset] {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        buf.extend_from_slice(&ZIP64_LOCATOR_SIG.to_le_bytes());
        buf.extend_from_slice(&0u32.to_le_bytes());
        buf.extend_from_slice(&pos.to_le_bytes());
        buf.extend_from_slice(&1u32.to_le_bytes());
    }
    let short16 = |v: u64| {
        if zip64 {
            0xffff
        } else {
            u16::try_from(v).unwrap_or(0xffff)
        }
    };
    let short32 = |v: u64| {
        if zip64 {
            0xffff_ffff
        } else {
            u32::try_from(v).unwrap_or(0xffff_ffff)
        }
    };
    buf.extend_from_slice(&EOCD_SIG.to_le_bytes());
    for v in [0u16, 0, short16(count), short16(count)] {
        buf.extend_from_slice(&v.to_le_bytes());
    }
    for v in [short32(cd_size), short32(cd_offset)] {
        buf.extend_from_slice(&v.to_le_bytes());
    }
    let comment = comment.get(..comment.len().min(0xffff)).unwrap_or_default();
    buf.extend_from_slice(&(comment.len() as u16).to_le_bytes());
    buf.extend_from_slice(comment);
    out.write_all(&buf)?;
    Ok(buf.len() as u64)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Cursor;

    /// A zip of stored/deflated entries built here, optionally with Zip64 end records.
    pub(crate) fn build(parts: &[(&str, &[u8])], zip64: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut directory = Vec::new();
        for (name, data) in parts {
            let (local, record) = new_entry(name, data, 0, DOS_DATE_1980, out.len() as u64).unwrap();
            out.extend_from_slice(&local);
            directory.push(record);
        }
        let cd_offset = out.len() as u64;
        for r in &directory {
            out.extend_from_slice(r);
        }
        let cd_size = out.len() as u64 - cd_offset;
        let pos = out.len() as u64;
        write_end(
            &mut out,
            directory.len() as u64,
            cd_size,
            cd_offset,
            zip64,
            b"comment",
            pos,
        )
        .unwrap();
        out
    }

    #[test]
    fn reads_plain_and_zip64() {
        for zip64 in [false, true] {
            let zip = build(&[("a.txt", b"hello"), ("b/c.xml", b"<x/>")], zip64);
            let mut cur = Cursor::new(&zip);
            let mut src = Source::new(&mut cur, FORMAT).unwrap();
            let archive = read_archive(&mut src, &Limits::default()).unwrap();
            assert_eq!(archive.zip64, zip64);
            assert_eq!(archive.entries.len(), 2);
            let e = archive.entry("B/C.XML").unwrap().clone();
            assert_eq!(read_entry(&mut src, &e, &Limits::default()).unwrap(), b"<x/>");
        }
    }

    #[test]
    fn rewrite_copies_untouched_entries() {
        let zip = build(&[("a.txt", b"hello"), ("b.xml", b"<x/>")], false);
        let mut cur = Cursor::new(&zip);
        let mut src = Source::new(&mut cur, FORMAT).unwrap();
        let archive = read_archive(&mut src, &Limits::default()).unwrap();
        let replaced = [NewPart {
            name: "a.txt".into(),
            data: b"bye".to_vec(),
        }];
        let added = [NewPart {
            name: "new.xml".into(),
            data: b"<n/>".to_vec(),
        }];
        let (out, Rewritten { parts: ranges }) = planned(&zip, &archive, &replaced, &added);
        assert_eq!(ranges.len(), 2);
        let b = archive.entry("b.xml").unwrap();
        let original_b = &zip[b.span.start as usize..b.span.end as usize];
        assert!(out.windows(original_b.len()).any(|w| w == original_b));
        let mut cur = Cursor::new(&out);
        let mut src = Source::new(&mut cur, FORMAT).unwrap();
        let again = read_archive(&mut src, &Limits::default()).unwrap();
        let names: Vec<&str> = again.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a.txt", "b.xml", "new.xml"]);
        for (name, want) in [("a.txt", &b"bye"[..]), ("b.xml", b"<x/>"), ("new.xml", b"<n/>")] {
            let e = again.entry(name).unwrap().clone();
            assert_eq!(read_entry(&mut src, &e, &Limits::default()).unwrap(), want);
        }
        assert_eq!(again.comment, b"comment");
    }

    /// Replaces `name` in `zip` with `data` and returns the new file.
    fn replace(zip: &[u8], name: &str, data: &[u8]) -> Vec<u8> {
        let mut cur = Cursor::new(zip);
        let mut src = Source::new(&mut cur, FORMAT).unwrap();
        let archive = read_archive(&mut src, &Limits::default()).unwrap();
        let part = NewPart {
            name: name.into(),
            data: data.to_vec(),
        };
        planned(zip, &archive, &[part], &[]).0
    }

    /// Executes the plan [`rewrite`] makes over `zip`.
    fn planned(zip: &[u8], archive: &Archive, replaced: &[NewPart], added: &[NewPart]) -> (Vec<u8>, Rewritten) {
        let mut cur = Cursor::new(zip);
        let mut src = Source::new(&mut cur, FORMAT).unwrap();
        let mut plan = PlanBuilder::new(FORMAT);
        let rewritten = rewrite(&mut src, archive, replaced, added, &mut plan).unwrap();
        let plan = plan.finish(Vec::new(), 0..0);
        let mut out = Vec::new();
        let written = plan.write_to(&mut Cursor::new(zip), &mut out).unwrap();
        assert_eq!(written.bytes_written, out.len() as u64);
        (out, rewritten)
    }

    /// `zip` without the bytes [`replacement_changes`] reports for `name`.
    fn covered(zip: &[u8], name: &str, limits: &Limits) -> Vec<u8> {
        let mut cur = Cursor::new(zip);
        let mut src = Source::new(&mut cur, FORMAT).unwrap();
        let archive = read_archive(&mut src, limits).unwrap();
        let ranges = replacement_changes(&archive, archive.entry(name).unwrap(), limits);
        assert!(ranges.len() as u64 <= limits.max_structures, "{ranges:?}");
        (0..zip.len())
            .filter(|&i| !ranges.iter().any(|r| r.contains(&(i as u64))))
            .map(|i| zip[i])
            .collect()
    }

    #[test]
    fn replacement_changes_cover_what_moves() {
        let mut few = Limits::default();
        few.max_structures = 4;
        for (zip64, limits) in [(false, Limits::default()), (true, Limits::default()), (false, few)] {
            let parts: [(&str, &[u8]); 4] = [("a", b"1"), ("label", b"short"), ("c", b"22"), ("d", b"333")];
            let zip = build(&parts, zip64);
            let longer = replace(&zip, "label", &[b'x'; 3000]);
            let shorter = replace(&longer, "label", b"");
            let reference = covered(&zip, "label", &limits);
            assert_eq!(covered(&longer, "label", &limits), reference, "zip64 {zip64}");
            assert_eq!(covered(&shorter, "label", &limits), reference, "zip64 {zip64}");
        }
    }

    #[test]
    fn hostile_directories_fail_cleanly() {
        let zip = build(&[("a.txt", b"hello")], false);
        let mut cases = vec![Vec::new(), b"PK\x05\x06".to_vec(), zip[..zip.len() - 25].to_vec()];
        let mut lying = zip.clone();
        let n = lying.len();
        lying[n - 7 - 6..n - 7 - 2].copy_from_slice(&0xfff0u32.to_le_bytes()); // cd offset
        cases.push(lying);
        let mut bad_crc = zip.clone();
        let cd = bad_crc.len() - 22 - 7 - 46 - 5;
        bad_crc[cd + 16] ^= 1;
        for case in &cases {
            let mut cur = Cursor::new(case);
            let Ok(mut src) = Source::new(&mut cur, FORMAT) else {
                continue;
            };
            assert!(read_archive(&mut src, &Limits::default()).is_err());
        }
        let mut cur = Cursor::new(&bad_crc);
        let mut src = Source::new(&mut cur, FORMAT).unwrap();
        let archive = read_archive(&mut src, &Limits::default()).unwrap();
        let e = archive.entries[0].clone();
        assert!(read_entry(&mut src, &e, &Limits::default()).is_err());
    }
}
