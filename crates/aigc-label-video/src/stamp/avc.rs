//! H.264 parameter sets side by side: the re-encoded segment's SPS and PPS go into the
//! source's own `avcC` (ISO/IEC 14496-15 §5.3.3), under ids the source does not use.
//!
//! Why not a second sample description for the new samples: ffmpeg's stream probing and its
//! H.264 parser read only the first description's `avcC`, so with a second one they parse the
//! new slices against the source's PPS and print errors (`chroma_log2_weight_denom out of
//! range`, `reference count overflow`) although the decoder itself switches correctly. With
//! both sets in the one `avcC` under distinct ids (x264's `sps-id`), every reader knows both
//! from the start, slices name their own PPS, and no sample, original or new, carries a
//! parameter set in band.

use aigc_label_core::io::Bytes;
use aigc_label_core::{Error, Result};

const FORMAT: &str = "avcC";

/// Bytes of a visual sample entry before its child boxes (ISO/IEC 14496-12 §12.1.3).
const VISUAL_ENTRY_HEADER: usize = 8 + 78;

fn bad(what: &'static str) -> Error {
    Error::malformed(FORMAT, 0, what)
}

/// The configuration box `typ` (`avcC`, `hvcC`) of a sample entry: its range in `entry`.
pub(crate) fn find_config(entry: &[u8], typ: &[u8; 4]) -> Result<std::ops::Range<usize>> {
    let mut pos = VISUAL_ENTRY_HEADER;
    while let Some(h) = entry.get(pos..pos + 8) {
        let size = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
        if size < 8 || pos + size > entry.len() {
            break;
        }
        if &h[4..8] == typ {
            return Ok(pos..pos + size);
        }
        pos += size;
    }
    Err(bad("sample entry has no decoder configuration box"))
}

/// A parsed decoder configuration record.
struct Config<'a> {
    head: &'a [u8],
    sps: Vec<&'a [u8]>,
    pps: Vec<&'a [u8]>,
    tail: &'a [u8],
}

fn list<'a>(b: &mut Bytes<'a>, count: usize) -> Result<Vec<&'a [u8]>> {
    (0..count)
        .map(|_| {
            let len = b.u16_be().ok_or_else(|| bad("parameter set length"))?;
            b.take(usize::from(len)).ok_or_else(|| bad("parameter set cut off"))
        })
        .collect()
}

/// Parses an `AVCDecoderConfigurationRecord` (an `avcC` box's payload, or Matroska's
/// `CodecPrivate` for `V_MPEG4/ISO/AVC`).
fn parse(record: &[u8]) -> Result<Config<'_>> {
    let mut b = Bytes::new(record);
    let head = b.take(5).ok_or_else(|| bad("record cut off"))?;
    let n = usize::from(b.u8().ok_or_else(|| bad("SPS count"))? & 0x1F);
    let sps = list(&mut b, n)?;
    let n = usize::from(b.u8().ok_or_else(|| bad("PPS count"))?);
    let pps = list(&mut b, n)?;
    Ok(Config {
        head,
        sps,
        pps,
        tail: b.rest(),
    })
}

/// A NAL unit's payload (after its header) with emulation prevention bytes removed: its RBSP
/// (H.264 §7.4.1, H.265 §7.4.2).
pub(crate) fn rbsp(payload: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(payload.len());
    let mut zeros = 0;
    for &b in payload {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        data.push(b);
    }
    data
}

/// Reads bits (and Exp-Golomb codes) of an RBSP: the parameter set and slice header fields
/// of H.264 here and of H.265 (`stamp::hevc`).
pub(crate) struct Reader<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) pos: usize,
}

impl Reader<'_> {
    pub(crate) fn bit(&mut self) -> Option<u32> {
        let byte = self.data.get(self.pos / 8)?;
        let bit = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(u32::from(bit))
    }

    pub(crate) fn bits(&mut self, n: usize) -> Option<u32> {
        (0..n).try_fold(0u32, |v, _| Some((v << 1) | self.bit()?))
    }

    pub(crate) fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let rest = u64::from(self.bits(zeros)?);
        u32::try_from((1u64 << zeros) + rest - 1).ok()
    }

    pub(crate) fn skip(&mut self, n: usize) -> Option<()> {
        let end = self.pos.checked_add(n)?;
        (end <= self.data.len() * 8).then(|| self.pos = end)
    }
}

/// The RBSP of an H.264 NAL unit (after its 1-byte header).
fn nal_rbsp(nal: &[u8]) -> Vec<u8> {
    rbsp(nal.get(1..).unwrap_or_default())
}

/// `seq_parameter_set_id` of an SPS NAL unit.
fn sps_id(nal: &[u8]) -> Option<u32> {
    let data = nal_rbsp(nal);
    let mut b = Reader { data: &data, pos: 0 };
    b.skip(24)?; // profile_idc, constraint flags, level_idc
    b.ue()
}

/// `pic_parameter_set_id` of a PPS NAL unit.
fn pps_id(nal: &[u8]) -> Option<u32> {
    Reader {
        data: &nal_rbsp(nal),
        pos: 0,
    }
    .ue()
}

/// What an SPS or PPS NAL unit defines: its type (7 or 8) and id; `None` for other units.
pub(crate) fn set_key(nal: &[u8]) -> Option<(u8, u32)> {
    match nal.first()? & 0x1F {
        7 => Some((7, sps_id(nal)?)),
        8 => Some((8, pps_id(nal)?)),
        _ => None,
    }
}

/// The SPS and then the PPS NAL units of a decoder configuration record.
pub(crate) fn sets(record: &[u8]) -> Result<Vec<&[u8]>> {
    let config = parse(record)?;
    Ok(config.sps.iter().chain(&config.pps).copied().collect())
}

/// `seq_parameter_set_id` a PPS NAL unit refers to.
fn pps_sps_id(nal: &[u8]) -> Option<u32> {
    let data = nal_rbsp(nal);
    let mut b = Reader { data: &data, pos: 0 };
    b.ue()?;
    b.ue()
}

/// The `pic_parameter_set_id` of a slice NAL unit's header (`first_mb_in_slice`,
/// `slice_type`, then the id), or `None` when `nal` is not a coded slice (types 1 and 5).
pub(crate) fn slice_pps_id(nal: &[u8]) -> Option<u32> {
    if !matches!(nal.first()? & 0x1F, 1 | 5) {
        return None;
    }
    let data = nal_rbsp(nal);
    let mut b = Reader { data: &data, pos: 0 };
    b.ue()?;
    b.ue()?;
    b.ue()
}

/// The parameter sets of a record that frames kept from the source still use: the PPS whose
/// ids their slices name, and the SPS those refer to. What [`merge_kept`] keeps, and the ids a
/// new segment must not take.
pub(crate) struct Kept {
    pps: std::collections::BTreeSet<u32>,
    sps: std::collections::BTreeSet<u32>,
}

impl Kept {
    /// Every set of `record` (nothing is known about which frames use which).
    pub(crate) fn all(record: &[u8]) -> Result<Kept> {
        let config = parse(record)?;
        Kept::used(record, &config.pps.iter().filter_map(|n| pps_id(n)).collect())
    }

    /// The sets that frames whose slices name the PPS ids in `pps_used` need.
    pub(crate) fn used(record: &[u8], pps_used: &std::collections::BTreeSet<u32>) -> Result<Kept> {
        let config = parse(record)?;
        let mut sps = std::collections::BTreeSet::new();
        for p in &config.pps {
            let id = pps_id(p).ok_or_else(|| bad("unreadable PPS id"))?;
            if pps_used.contains(&id) {
                sps.insert(pps_sps_id(p).ok_or_else(|| bad("unreadable PPS"))?);
            }
        }
        Ok(Kept {
            pps: pps_used.clone(),
            sps,
        })
    }

    /// The lowest id from which `count` ids in a row are free of every kept SPS and PPS (x264
    /// gives a segment's SPS and PPS the same id); SPS ids end at 31.
    pub(crate) fn free_ids(&self, count: u32) -> Result<u32> {
        (0..=31u32)
            .find(|&id| id + count <= 32 && (id..id + count).all(|i| !self.sps.contains(&i) && !self.pps.contains(&i)))
            .ok_or_else(|| Error::unsupported("video", "no free H.264 parameter set id"))
    }
}

/// The PPS id the first slice of a sample (NAL units with `length_size`-byte lengths) names,
/// reading the sample (`size` bytes) one NAL unit header at a time: `read_at(pos, buf)` fills
/// `buf` from byte `pos` of the sample.
pub(crate) fn sample_pps_id(
    size: u64,
    length_size: usize,
    read_at: &mut dyn FnMut(u64, &mut [u8]) -> Result<()>,
) -> Result<Option<u32>> {
    first_slice_pps_id(size, length_size, slice_pps_id, read_at)
}

/// [`sample_pps_id`] with the codec's slice header reader `slice_pps_id` (H.264's or HEVC's).
pub(crate) fn first_slice_pps_id(
    size: u64,
    length_size: usize,
    slice_pps_id: fn(&[u8]) -> Option<u32>,
    read_at: &mut dyn FnMut(u64, &mut [u8]) -> Result<()>,
) -> Result<Option<u32>> {
    let mut pos = 0u64;
    let mut buf = [0u8; 36];
    while pos + length_size as u64 <= size {
        let want = usize::try_from((size - pos).min(buf.len() as u64)).unwrap_or(0);
        let head = buf.get_mut(..want).unwrap_or_default();
        read_at(pos, head)?;
        let len = head
            .get(..length_size)
            .unwrap_or_default()
            .iter()
            .fold(0u64, |n, &b| (n << 8) | u64::from(b));
        if len == 0 {
            return Ok(None);
        }
        if let Some(id) = head.get(length_size..).and_then(slice_pps_id) {
            return Ok(Some(id));
        }
        pos = pos.saturating_add(length_size as u64 + len);
    }
    Ok(None)
}

/// The decoder configuration record inside a sample entry's `avcC` box.
pub(crate) fn record(entry: &[u8]) -> Result<&[u8]> {
    let range = find_config(entry, b"avcC")?;
    Ok(entry.get(range.start + 8..range.end).unwrap_or_default())
}

/// The byte length of the NAL unit length fields of samples described by `record`.
pub(crate) fn length_size(record: &[u8]) -> Result<usize> {
    let config = parse(record)?;
    Ok(usize::from(config.head.get(4).copied().unwrap_or(3) & 3) + 1)
}

/// True when the sample holds an IDR picture (NAL unit type 5). Only there can H.264 be cut:
/// after a non-IDR I picture (an open GOP's recovery point) slices may still name pictures
/// before it in their memory management commands.
pub(crate) fn is_idr(sample: &[u8], length_size: usize) -> bool {
    let mut pos = 0usize;
    while let Some(field) = sample.get(pos..pos + length_size) {
        let len = field.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b));
        let Some(&header) = sample.get(pos + length_size).filter(|_| len > 0) else {
            return false;
        };
        if header & 0x1F == 5 {
            return true;
        }
        pos = match pos.checked_add(length_size + len) {
            Some(next) if len > 0 => next,
            _ => return false,
        };
    }
    false
}

/// The record `original` with the SPS and PPS of `segment` (another record) added to those of
/// its own in `kept` (the rest no frame uses any more: a label stamped before, now re-encoded
/// again), so stamping a file again and again does not grow it. The containers share this: MP4
/// rewrites the `avcC` box with it (see [`merge`]), Matroska the track's `CodecPrivate`, FLV
/// the AVC sequence header.
///
/// # Errors
/// Malformed records; [`Error::Unsupported`] when the two use different NAL unit length sizes
/// (the new samples would not parse against the merged record) or the sets do not fit.
pub(crate) fn merge_kept(original: &[u8], kept: &Kept, segment: &[u8]) -> Result<Vec<u8>> {
    if length_size(original)? != length_size(segment)? {
        return Err(Error::unsupported(
            "h264",
            "the encoder's NAL unit length size differs from the source's",
        ));
    }
    let old = parse(original)?;
    let new = parse(segment)?;
    let keep_sps = |n: &&&[u8]| sps_id(n).is_some_and(|id| kept.sps.contains(&id));
    let keep_pps = |n: &&&[u8]| pps_id(n).is_some_and(|id| kept.pps.contains(&id));
    let sps: Vec<&[u8]> = old.sps.iter().filter(keep_sps).chain(&new.sps).copied().collect();
    let pps: Vec<&[u8]> = old.pps.iter().filter(keep_pps).chain(&new.pps).copied().collect();
    if sps.len() > 31 || pps.len() > 255 {
        return Err(Error::unsupported("h264", "too many H.264 parameter sets for one avcC"));
    }
    let mut payload = old.head.to_vec();
    payload.push(0xE0 | sps.len() as u8);
    for s in &sps {
        payload.extend_from_slice(&u16::try_from(s.len()).map_err(|_| bad("SPS too long"))?.to_be_bytes());
        payload.extend_from_slice(s);
    }
    payload.push(pps.len() as u8);
    for p in &pps {
        payload.extend_from_slice(&u16::try_from(p.len()).map_err(|_| bad("PPS too long"))?.to_be_bytes());
        payload.extend_from_slice(p);
    }
    payload.extend_from_slice(old.tail);
    Ok(payload)
}

/// `original` (a whole `avc1`/`avc3` sample entry) with the SPS and PPS of `segment`'s `avcC`
/// added to those of its own in `kept`.
pub(crate) fn merge(original: &[u8], kept: &Kept, segment: &[u8]) -> Result<Vec<u8>> {
    let payload = merge_kept(record(original)?, kept, record(segment)?)?;
    with_config(original, b"avcC", &payload)
}

/// `entry` with its configuration box `typ` holding `payload`.
pub(crate) fn with_config(entry: &[u8], typ: &[u8; 4], payload: &[u8]) -> Result<Vec<u8>> {
    let range = find_config(entry, typ)?;
    let mut avcc = u32::try_from(payload.len() + 8)
        .map_err(|_| bad("configuration box too large"))?
        .to_be_bytes()
        .to_vec();
    avcc.extend_from_slice(typ);
    avcc.extend_from_slice(payload);
    let mut out = entry.get(..range.start).unwrap_or_default().to_vec();
    out.extend_from_slice(&avcc);
    out.extend_from_slice(entry.get(range.end..).unwrap_or_default());
    let size = u32::try_from(out.len()).map_err(|_| bad("sample entry too large"))?;
    if let Some(s) = out.get_mut(..4) {
        s.copy_from_slice(&size.to_be_bytes());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idr_is_found_after_other_units() {
        // AUD (9), SEI (6), then an IDR slice (5), 4-byte lengths.
        let sample = [0, 0, 0, 2, 0x09, 0xF0, 0, 0, 0, 2, 0x06, 0x05, 0, 0, 0, 2, 0x65, 0x88];
        assert!(is_idr(&sample, 4));
        // A non-IDR I slice (1).
        assert!(!is_idr(&[0, 0, 0, 2, 0x41, 0x9A], 4));
        // A length running past the sample.
        assert!(!is_idr(&[0, 0, 0, 200, 0x41], 4));
        assert!(!is_idr(&[0, 0, 0, 0, 0x65], 4));
    }

    #[test]
    fn exp_golomb_ids() {
        // SPS: header 0x67, profile 100, flags 0, level 13, then ue(v) "1" = id 0.
        assert_eq!(sps_id(&[0x67, 100, 0, 13, 0b1000_0000]), Some(0));
        // "00111" = id 6.
        assert_eq!(sps_id(&[0x67, 100, 0, 13, 0b0011_1000]), Some(6));
        // PPS id "010" = 1.
        assert_eq!(pps_id(&[0x68, 0b0100_0000]), Some(1));
        assert_eq!(sps_id(&[0x67, 100]), None);
    }

    #[test]
    fn merge_keeps_both_sets_and_the_trailer() {
        let entry = |sps: &[u8], pps: &[u8]| {
            let mut avcc = vec![1, 100, 0, 13, 0xFF, 0xE1];
            avcc.extend_from_slice(&(sps.len() as u16).to_be_bytes());
            avcc.extend_from_slice(sps);
            avcc.push(1);
            avcc.extend_from_slice(&(pps.len() as u16).to_be_bytes());
            avcc.extend_from_slice(pps);
            avcc.extend_from_slice(&[0xFD, 0xF8, 0xF8, 0]);
            let mut b = ((avcc.len() + 8) as u32).to_be_bytes().to_vec();
            b.extend_from_slice(b"avcC");
            b.extend_from_slice(&avcc);
            let mut e = ((VISUAL_ENTRY_HEADER + b.len()) as u32).to_be_bytes().to_vec();
            e.extend_from_slice(b"avc1");
            e.resize(VISUAL_ENTRY_HEADER, 0);
            e.extend_from_slice(&b);
            e
        };
        let a = entry(&[0x67, 100, 0, 13, 0x80], &[0x68, 0xC0]);
        let b = entry(&[0x67, 100, 0, 13, 0x40], &[0x68, 0x48]);
        assert_eq!(Kept::all(record(&a).unwrap()).unwrap().free_ids(1).unwrap(), 1);
        let m = merge(&a, &Kept::all(record(&a).unwrap()).unwrap(), &b).unwrap();
        assert_eq!(u32::from_be_bytes(m[..4].try_into().unwrap()) as usize, m.len());
        let c = parse(record(&m).unwrap()).unwrap();
        assert_eq!(c.sps.len(), 2);
        assert_eq!(c.pps.len(), 2);
        assert_eq!(c.tail, [0xFD, 0xF8, 0xF8, 0]);
        assert_eq!(Kept::all(record(&m).unwrap()).unwrap().free_ids(1).unwrap(), 2);
        // Only the second pair is still used: the first goes, and id 0 is free again.
        let kept = Kept::used(record(&m).unwrap(), &[1].into()).unwrap();
        assert_eq!(kept.free_ids(1).unwrap(), 0);
        assert_eq!(kept.free_ids(2).unwrap(), 2);
        let pruned = merge(&m, &kept, &a).unwrap();
        let c = parse(record(&pruned).unwrap()).unwrap();
        assert_eq!((c.sps.len(), c.pps.len()), (2, 2));
        assert_eq!(c.sps.iter().filter_map(|n| sps_id(n)).collect::<Vec<_>>(), [1, 0]);
        // A slice header names its PPS: first_mb 0 ("1"), slice_type 7 ("0001000"), pps 1 ("010").
        assert_eq!(slice_pps_id(&[0x65, 0b1000_1000, 0b0100_0000]), Some(1));
        assert_eq!(slice_pps_id(&[0x67, 0xFF]), None);
    }
}
