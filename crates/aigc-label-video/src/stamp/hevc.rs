//! HEVC parameter sets side by side in one `hvcC` record (ISO/IEC 14496-15 §8.3.3), for the
//! Matroska splice: the re-encoded segment's VPS, SPS and PPS join the track's `CodecPrivate`
//! under ids the copied frames do not use, as H.264's do (the `avc` module).
//!
//! x265 cannot choose its parameter set ids (it always writes 0, as the source's encoder most
//! likely did), so the segment is renumbered after encoding (ITU-T H.265 §7.3):
//! - the VPS id is a fixed 4-bit field at the start of the VPS and of the SPS, the SPS id an
//!   Exp-Golomb code after the SPS's profile_tier_level, the PPS's own id and its SPS id the
//!   PPS's first two codes: each rewritten, the rest of the unit copied bit for bit;
//! - each slice names its PPS right after `first_slice_segment_in_pic_flag` (and
//!   `no_output_of_prior_pics_flag` in an IRAP picture). A longer id would move the slice data,
//!   which starts byte-aligned after the header, by a fraction of a byte; so the new PPS
//!   declares as many more `num_extra_slice_header_bits` as make the growth a whole byte, and
//!   those reserved bits (zero) follow the id in each slice header, where H.265 puts them for
//!   the first slice segment of a picture. Everything after moves by exactly one byte.
//!
//! Only pictures of one slice segment each are renumbered (x265's default); others are left to
//! the whole re-encode.

use std::collections::BTreeSet;

use aigc_label_core::io::Bytes;
use aigc_label_core::{Error, Result};

use super::avc::Reader;
use super::encode::Segment;

const FORMAT: &str = "hvcC";
const VPS: u8 = 32;
const SPS: u8 = 33;
const PPS: u8 = 34;
/// Bytes of an `HEVCDecoderConfigurationRecord` before its arrays.
const HEAD: usize = 22;

fn bad(what: &'static str) -> Error {
    Error::malformed(FORMAT, 0, what)
}

fn unsupported(what: impl Into<String>) -> Error {
    Error::unsupported("hevc", what.into())
}

/// `nal_unit_type` of a NAL unit (its header's bits 1-6).
fn nal_type(nal: &[u8]) -> Option<u8> {
    nal.first().map(|b| (b >> 1) & 0x3F)
}

/// A parsed record: its fixed head and its arrays (each: the completeness/type byte and the
/// NAL units).
struct Config<'a> {
    head: &'a [u8],
    arrays: Vec<(u8, Vec<&'a [u8]>)>,
}

fn parse(record: &[u8]) -> Result<Config<'_>> {
    let mut b = Bytes::new(record);
    let head = b.take(HEAD).ok_or_else(|| bad("record cut off"))?;
    let count = b.u8().ok_or_else(|| bad("array count"))?;
    let mut arrays = Vec::new();
    for _ in 0..count {
        let kind = b.u8().ok_or_else(|| bad("array type"))?;
        let n = b.u16_be().ok_or_else(|| bad("NAL unit count"))?;
        let mut nals = Vec::new();
        for _ in 0..n {
            let len = b.u16_be().ok_or_else(|| bad("NAL unit length"))?;
            nals.push(b.take(usize::from(len)).ok_or_else(|| bad("NAL unit cut off"))?);
        }
        arrays.push((kind, nals));
    }
    Ok(Config { head, arrays })
}

impl Config<'_> {
    fn units(&self, typ: u8) -> impl Iterator<Item = &[u8]> {
        self.arrays
            .iter()
            .filter(move |(k, _)| k & 0x3F == typ)
            .flat_map(|(_, n)| n.iter().copied())
    }
}

/// The byte length of the NAL unit length fields of samples described by `record`.
pub(crate) fn length_size(record: &[u8]) -> Result<usize> {
    let b = record.get(HEAD - 1).ok_or_else(|| bad("record cut off"))?;
    Ok(usize::from(b & 3) + 1)
}

/// The NAL units of a sample with `length_size`-byte lengths; `None` when one runs past it.
fn units(sample: &[u8], length_size: usize) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < sample.len() {
        let field = sample.get(pos..pos.checked_add(length_size)?)?;
        let len = field.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b));
        let start = pos + length_size;
        let end = start.checked_add(len)?;
        out.push(sample.get(start..end)?);
        pos = end;
    }
    Some(out)
}

/// True when the first picture of the sample is an IRAP picture (BLA, IDR or CRA: types
/// 16-21), where a decoder can start. Whether it has leading pictures, which make it no clean
/// cut, the container's timestamps tell.
pub(crate) fn is_irap(sample: &[u8], length_size: usize) -> bool {
    units(sample, length_size)
        .and_then(|u| u.into_iter().find_map(|n| nal_type(n).filter(|t| *t < 32)))
        .is_some_and(|t| (16..=21).contains(&t))
}

/// Writes bits of an RBSP.
#[derive(Default)]
struct Writer {
    data: Vec<u8>,
    len: usize,
}

impl Writer {
    fn bit(&mut self, bit: u32) {
        if self.len % 8 == 0 {
            self.data.push(0);
        }
        if bit & 1 != 0 {
            if let Some(last) = self.data.last_mut() {
                *last |= 0x80 >> (self.len % 8);
            }
        }
        self.len += 1;
    }

    fn bits(&mut self, n: usize, v: u32) {
        for i in (0..n).rev() {
            self.bit(v >> i);
        }
    }

    fn ue(&mut self, v: u32) {
        let x = u64::from(v) + 1;
        let width = 64 - x.leading_zeros() as usize;
        for _ in 1..width {
            self.bit(0);
        }
        for i in (0..width).rev() {
            self.bit(u32::from((x >> i) & 1 == 1));
        }
    }

    /// Copies bits `from..to` of `r`'s data.
    fn copy(&mut self, r: &Reader<'_>, from: usize, to: usize) {
        if self.len % 8 == 0 && from % 8 == 0 {
            let (a, b) = (from / 8, to / 8);
            if let Some(bytes) = r.data.get(a..b) {
                self.data.extend_from_slice(bytes);
                self.len += (b - a) * 8;
            }
            let mut tail = Reader {
                data: r.data,
                pos: b * 8,
            };
            for _ in b * 8..to {
                self.bit(tail.bit().unwrap_or(0));
            }
            return;
        }
        let mut src = Reader {
            data: r.data,
            pos: from,
        };
        for _ in from..to {
            self.bit(src.bit().unwrap_or(0));
        }
    }
}

/// Bit length of `ue(v)` for `v`.
fn ue_len(v: u32) -> usize {
    2 * (64 - (u64::from(v) + 1).leading_zeros() as usize) - 1
}

/// The RBSP of a NAL unit (after its 2-byte header), emulation prevention removed.
fn rbsp(nal: &[u8]) -> Vec<u8> {
    super::avc::rbsp(nal.get(2..).unwrap_or_default())
}

/// A NAL unit with header `head` (2 bytes) and `rbsp`, emulation prevention added.
fn nal(head: &[u8], rbsp: &[u8]) -> Vec<u8> {
    let mut out = head.to_vec();
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    if rbsp.last() == Some(&0) {
        out.push(3);
    }
    out
}

/// Where the `rbsp_stop_one_bit` is: the last bit set.
fn stop_bit(rbsp: &[u8]) -> Option<usize> {
    let (i, b) = rbsp.iter().enumerate().rev().find(|(_, b)| **b != 0)?;
    Some(i * 8 + 7 - b.trailing_zeros() as usize)
}

/// Ends a parameter set: the bits of `r` from `from` to its stop bit, the stop bit, alignment.
fn finish(mut w: Writer, r: &Reader<'_>, from: usize) -> Result<Vec<u8>> {
    let stop = stop_bit(r.data)
        .filter(|&s| s >= from)
        .ok_or_else(|| bad("parameter set without its stop bit"))?;
    w.copy(r, from, stop);
    w.bit(1);
    while w.len % 8 != 0 {
        w.bit(0);
    }
    Ok(w.data)
}

/// `sps_seq_parameter_set_id`'s bit position in an SPS RBSP: after the VPS id, sub-layer count,
/// nesting flag and profile_tier_level (H.265 §7.3.2.2.1, §7.3.3).
fn sps_id_at(r: &mut Reader<'_>) -> Option<usize> {
    r.skip(4)?;
    let sub_layers = r.bits(3)? as usize;
    r.skip(1)?;
    r.skip(96)?; // general profile (88 bits) and level
    let mut present = Vec::new();
    for _ in 0..sub_layers {
        present.push((r.bit()?, r.bit()?));
    }
    if sub_layers > 0 {
        r.skip(2 * (8 - sub_layers))?;
    }
    for (profile, level) in present {
        r.skip(88 * profile as usize + 8 * level as usize)?;
    }
    Some(r.pos)
}

/// The ids a parameter set has, and those it refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SetIds {
    typ: u8,
    id: u32,
    refers: Option<u32>,
}

fn set_ids(nal: &[u8]) -> Option<SetIds> {
    let typ = nal_type(nal)?;
    let data = rbsp(nal);
    let mut r = Reader { data: &data, pos: 0 };
    match typ {
        VPS => Some(SetIds {
            typ,
            id: r.bits(4)?,
            refers: None,
        }),
        SPS => {
            let vps = r.bits(4)?;
            let mut r = Reader { data: &data, pos: 0 };
            sps_id_at(&mut r)?;
            Some(SetIds {
                typ,
                id: r.ue()?,
                refers: Some(vps),
            })
        }
        PPS => Some(SetIds {
            typ,
            id: r.ue()?,
            refers: Some(r.ue()?),
        }),
        _ => None,
    }
}

/// The PPS id a slice segment names, or `None` when `nal` is not one (types 0-31).
fn slice_pps_id(nal: &[u8]) -> Option<u32> {
    let typ = nal_type(nal).filter(|t| *t < 32)?;
    let data = rbsp(nal);
    let mut r = Reader { data: &data, pos: 0 };
    r.skip(1 + usize::from((16..=23).contains(&typ)))?;
    r.ue()
}

/// The PPS id the first slice of a sample names (as [`super::avc::sample_pps_id`] for H.264).
pub(crate) fn sample_pps_id(
    size: u64,
    length_size: usize,
    read_at: &mut dyn FnMut(u64, &mut [u8]) -> Result<()>,
) -> Result<Option<u32>> {
    super::avc::first_slice_pps_id(size, length_size, slice_pps_id, read_at)
}

/// The parameter sets of a record the copied frames still use: the PPS their slices name, the
/// SPS those refer to, and those SPS's VPS.
pub(crate) struct Kept {
    vps: BTreeSet<u32>,
    sps: BTreeSet<u32>,
    pps: BTreeSet<u32>,
}

impl Kept {
    /// Every set of `record`.
    pub(crate) fn all(record: &[u8]) -> Result<Kept> {
        let config = parse(record)?;
        let pps = config.units(PPS).filter_map(|n| Some(set_ids(n)?.id)).collect();
        Kept::used(record, &pps)
    }

    /// The sets that frames naming the PPS ids `used` need; all of them when those are unknown.
    pub(crate) fn from(record: &[u8], used: Option<&BTreeSet<u32>>) -> Result<Kept> {
        match used {
            Some(used) => Kept::used(record, used),
            None => Kept::all(record),
        }
    }

    /// The sets that frames naming the PPS ids `pps_used` need.
    pub(crate) fn used(record: &[u8], pps_used: &BTreeSet<u32>) -> Result<Kept> {
        let config = parse(record)?;
        let ids = |typ| -> Result<Vec<SetIds>> {
            config
                .units(typ)
                .map(|n| set_ids(n).ok_or_else(|| bad("unreadable parameter set")))
                .collect()
        };
        let (spss, ppss) = (ids(SPS)?, ids(PPS)?);
        let sps: BTreeSet<u32> = ppss
            .iter()
            .filter(|p| pps_used.contains(&p.id))
            .filter_map(|p| p.refers)
            .collect();
        let vps = spss
            .iter()
            .filter(|s| sps.contains(&s.id))
            .filter_map(|s| s.refers)
            .collect();
        Ok(Kept {
            vps,
            sps,
            pps: pps_used.clone(),
        })
    }

    /// The lowest id from which `count` ids in a row are free of every kept VPS, SPS and PPS
    /// (a segment's three sets take the same id); VPS and SPS ids end at 15.
    pub(crate) fn free_ids(&self, count: u32) -> Result<u32> {
        (0..=15u32)
            .find(|&id| {
                id + count <= 16
                    && (id..id + count)
                        .all(|i| !self.vps.contains(&i) && !self.sps.contains(&i) && !self.pps.contains(&i))
            })
            .ok_or_else(|| unsupported("no free HEVC parameter set id"))
    }
}

/// How a segment's ids change: every VPS, SPS and PPS id becomes `to`, and slices gain
/// `extra` reserved header bits.
#[derive(Clone, Copy)]
struct Renumber {
    to: u32,
    extra: u32,
}

fn renumber_set(nal_unit: &[u8], how: Renumber) -> Result<Vec<u8>> {
    let head = nal_unit.get(..2).ok_or_else(|| bad("NAL unit cut off"))?;
    let data = rbsp(nal_unit);
    let mut r = Reader { data: &data, pos: 0 };
    let mut w = Writer::default();
    let cut = || bad("parameter set cut off");
    match nal_type(nal_unit) {
        Some(VPS) => {
            r.skip(4).ok_or_else(cut)?;
            w.bits(4, how.to);
        }
        Some(SPS) => {
            r.skip(4).ok_or_else(cut)?;
            w.bits(4, how.to);
            let at = sps_id_at(&mut Reader { data: &data, pos: 0 }).ok_or_else(cut)?;
            w.copy(&r, 4, at);
            r.pos = at;
            r.ue().ok_or_else(cut)?;
            w.ue(how.to);
        }
        Some(PPS) => {
            r.ue().ok_or_else(cut)?;
            r.ue().ok_or_else(cut)?;
            w.ue(how.to);
            w.ue(how.to);
            // dependent_slice_segments_enabled_flag, output_flag_present_flag.
            w.bits(2, r.bits(2).ok_or_else(cut)?);
            let extra = r.bits(3).ok_or_else(cut)? + how.extra;
            if extra > 7 {
                return Err(unsupported("no room for more slice header bits"));
            }
            w.bits(3, extra);
        }
        _ => return Ok(nal_unit.to_vec()),
    }
    let from = r.pos;
    Ok(nal(head, &finish(w, &r, from)?))
}

fn renumber_slice(nal_unit: &[u8], how: Renumber) -> Result<Vec<u8>> {
    let (Some(head), Some(typ)) = (nal_unit.get(..2), nal_type(nal_unit)) else {
        return Err(bad("NAL unit cut off"));
    };
    let data = rbsp(nal_unit);
    let mut r = Reader { data: &data, pos: 0 };
    let mut w = Writer::default();
    let cut = || bad("slice header cut off");
    let first = r.bit().ok_or_else(cut)?;
    if first != 1 {
        return Err(unsupported("pictures of several slice segments"));
    }
    w.bit(1);
    if (16..=23).contains(&typ) {
        w.bit(r.bit().ok_or_else(cut)?); // no_output_of_prior_pics_flag
    }
    r.ue().ok_or_else(cut)?;
    w.ue(how.to);
    w.bits(how.extra as usize, 0); // slice_reserved_flag
    let from = r.pos;
    w.copy(&r, from, data.len() * 8);
    if w.len % 8 != 0 {
        return Err(bad("slice header renumbered off a byte boundary"));
    }
    Ok(nal(head, &w.data))
}

/// Renumbers an encoded segment (its `hvcC` and its samples) so that its VPS, SPS and PPS take
/// the id `to`, which the source's kept sets leave free.
///
/// # Errors
/// [`Error::Unsupported`] for a segment of several parameter sets of a kind, pictures of
/// several slice segments, or no room for the reserved bits; malformed units.
pub(crate) fn renumber(segment: &mut Segment, to: u32) -> Result<()> {
    let range = super::avc::find_config(&segment.entry, b"hvcC")?;
    let record = segment.entry.get(range.start + 8..range.end).unwrap_or_default();
    let config = parse(record)?;
    let length = length_size(record)?;
    for typ in [VPS, SPS, PPS] {
        if config.units(typ).count() != 1 {
            return Err(unsupported("an encoded segment without exactly one VPS, SPS and PPS"));
        }
    }
    let old = config
        .units(PPS)
        .next()
        .and_then(set_ids)
        .ok_or_else(|| bad("unreadable PPS"))?;
    let grows = ue_len(to) as i64 - ue_len(old.id) as i64;
    let how = Renumber {
        to,
        extra: u32::try_from((8 - grows.rem_euclid(8)) % 8).unwrap_or(0),
    };
    // The record, its sets renumbered.
    let mut payload = config.head.to_vec();
    payload.push(u8::try_from(config.arrays.len()).map_err(|_| bad("array count"))?);
    for (kind, nals) in &config.arrays {
        payload.push(*kind);
        payload.extend_from_slice(&u16::try_from(nals.len()).map_err(|_| bad("NAL count"))?.to_be_bytes());
        for n in nals {
            let n = renumber_set(n, how)?;
            payload.extend_from_slice(
                &u16::try_from(n.len())
                    .map_err(|_| bad("NAL unit too long"))?
                    .to_be_bytes(),
            );
            payload.extend_from_slice(&n);
        }
    }
    // The samples: slices (and any set in band) renumbered, other units as they were.
    let mut data = Vec::new();
    let mut samples = Vec::with_capacity(segment.samples.len());
    for (r, sync) in &segment.samples {
        let sample = segment.data.get(r.clone()).unwrap_or_default();
        let start = data.len();
        for unit in units(sample, length).ok_or_else(|| bad("NAL unit past its sample"))? {
            let new = match nal_type(unit) {
                Some(t) if t < 32 => renumber_slice(unit, how)?,
                Some(VPS | SPS | PPS) => renumber_set(unit, how)?,
                _ => unit.to_vec(),
            };
            let len = u64::try_from(new.len()).unwrap_or(u64::MAX);
            if length < 8 && len >> (8 * length) != 0 {
                return Err(unsupported("a renumbered NAL unit too long for its length field"));
            }
            data.extend_from_slice(&len.to_be_bytes()[8 - length..]);
            data.extend_from_slice(&new);
        }
        samples.push((start..data.len(), *sync));
    }
    segment.entry = super::avc::with_config(&segment.entry, b"hvcC", &payload)?;
    segment.data = data;
    segment.samples = samples;
    Ok(())
}

/// The record `original` with the sets of `segment` (another record, already renumbered) added
/// to those of its own in `kept`.
///
/// # Errors
/// Malformed records; [`Error::Unsupported`] when the two use different NAL unit length sizes.
pub(crate) fn merge_kept(original: &[u8], kept: &Kept, segment: &[u8]) -> Result<Vec<u8>> {
    if length_size(original)? != length_size(segment)? {
        return Err(unsupported(
            "the encoder's NAL unit length size differs from the source's",
        ));
    }
    let old = parse(original)?;
    let new = parse(segment)?;
    let keep = |n: &&[u8]| match set_ids(n) {
        Some(s) if s.typ == VPS => kept.vps.contains(&s.id),
        Some(s) if s.typ == SPS => kept.sps.contains(&s.id),
        Some(s) if s.typ == PPS => kept.pps.contains(&s.id),
        _ => true,
    };
    let mut arrays: Vec<(u8, Vec<&[u8]>)> = old
        .arrays
        .iter()
        .map(|(k, n)| (*k, n.iter().copied().filter(keep).collect()))
        .collect();
    for typ in [VPS, SPS, PPS] {
        let add: Vec<&[u8]> = new.units(typ).collect();
        match arrays.iter_mut().find(|(k, _)| k & 0x3F == typ) {
            Some((_, n)) => n.extend(add),
            None => arrays.push((0x80 | typ, add)),
        }
    }
    arrays.retain(|(_, n)| !n.is_empty());
    arrays.sort_by_key(|(k, _)| match k & 0x3F {
        t @ (VPS | SPS | PPS) => t,
        _ => 0xFF,
    });
    let mut payload = old.head.to_vec();
    payload.push(u8::try_from(arrays.len()).map_err(|_| bad("array count"))?);
    for (kind, nals) in &arrays {
        payload.push(*kind);
        payload.extend_from_slice(&u16::try_from(nals.len()).map_err(|_| bad("NAL count"))?.to_be_bytes());
        for n in nals {
            payload.extend_from_slice(
                &u16::try_from(n.len())
                    .map_err(|_| bad("NAL unit too long"))?
                    .to_be_bytes(),
            );
            payload.extend_from_slice(n);
        }
    }
    Ok(payload)
}

/// The `hvcC` record inside a sample entry.
pub(crate) fn record(entry: &[u8]) -> Result<&[u8]> {
    let range = super::avc::find_config(entry, b"hvcC")?;
    Ok(entry.get(range.start + 8..range.end).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_golomb_round_trip() {
        for v in [0u32, 1, 2, 6, 7, 63, 1000] {
            let mut w = Writer::default();
            w.ue(v);
            assert_eq!(w.len, ue_len(v), "{v}");
            while w.len % 8 != 0 {
                w.bit(1);
            }
            assert_eq!(Reader { data: &w.data, pos: 0 }.ue(), Some(v));
        }
    }

    #[test]
    fn emulation_prevention_round_trip() {
        let body = [0u8, 0, 1, 0, 0, 0, 5, 0];
        let unit = nal(&[0x40, 0x01], &body);
        assert_eq!(unit, [0x40, 0x01, 0, 0, 3, 1, 0, 0, 3, 0, 5, 0, 3]);
        assert_eq!(rbsp(&unit)[..body.len()], body);
    }

    #[test]
    fn pps_and_slice_renumbered() {
        // PPS: id 0 ("1"), sps 0 ("1"), flags 00, extra 000, one more bit "1", stop bit.
        let pps = nal(&[0x44, 0x01], &[0b1100_0001, 0b1000_0000]);
        let how = Renumber { to: 1, extra: 6 };
        let new = renumber_set(&pps, how).unwrap();
        let ids = set_ids(&new).unwrap();
        assert_eq!((ids.id, ids.refers), (1, Some(1)));
        let data = rbsp(&new);
        let mut r = Reader { data: &data, pos: 0 };
        assert_eq!(
            (r.ue(), r.ue(), r.bits(2), r.bits(3), r.bit()),
            (Some(1), Some(1), Some(0), Some(6), Some(1))
        );
        // An IDR slice (type 19): first 1, no_output 0, pps "1", then data "1011" and align.
        let slice = nal(&[0x26, 0x01], &[0b1011_0110, 0xAB]);
        let new = renumber_slice(&slice, how).unwrap();
        assert_eq!(slice_pps_id(&new), Some(1));
        assert_eq!(new.len(), slice.len() + 1);
        // The bits after the id, moved by one byte.
        assert_eq!(&new[2..], &[0b1001_0000, 0b0001_0110, 0xAB]);
        // A second slice segment in a picture is refused.
        assert!(renumber_slice(&nal(&[0x26, 0x01], &[0x30]), how).is_err());
    }

    #[test]
    fn irap_pictures() {
        // AUD (35), then an IDR_W_RADL slice (19), 4-byte lengths.
        assert!(is_irap(&[0, 0, 0, 3, 0x46, 0x01, 0x50, 0, 0, 0, 2, 0x26, 0x01], 4));
        // A TRAIL_R slice (1).
        assert!(!is_irap(&[0, 0, 0, 2, 0x02, 0x01], 4));
        assert!(!is_irap(&[0, 0, 0, 9, 0x26], 4));
    }
}
