//! Step 1 of PNG's update in place ([`super::in_place`]): the new label chunk written inside the
//! room chunk `R` in writes of one disk sector each, every one of which keeps `R`'s CRC.
//!
//! A write changes bytes inside `R`'s data, so `R`'s CRC changes by a linear function of the
//! change (CRC-32 is affine over GF(2)). Each write therefore carries free bits of its own
//! sector, set so that its change of `R`'s CRC is zero: the sector's state before and after
//! have one CRC contribution, so any subset of the writes that a crash lets through leaves `R`
//! valid with the CRC it always had. The free bits are:
//!
//! - in the new label chunk `A'`, *sites* ([`packet_with_sites`]): bytes of XML white space
//!   that may be a space or a tab without changing what the packet says (runs added after the
//!   `<?xpacket begin?>` header and on both sides of the label's property, and the packet's
//!   padding), and, when a label's text is longer than a sector without white space (a signed
//!   label's envelopes), characters of it written as references, `&#xHH;` or `&#DDD;`;
//! - `Q`'s new CRC, the 4 bytes at the start of the prepared bytes (the switch's 4 bytes of `Y`
//!   later make `Q`'s CRC equal to whatever they hold);
//! - the first bytes of the filler `F`'s data, which nobody reads; they also make `F`'s CRC
//!   equal `R`'s, since after the switch `F`'s CRC is the value in `R`'s CRC slot.
//!
//! `A'`'s own CRC depends on its sites, and may sit in another sector than they do; the system
//! ([`super::crc::select`]) takes that in: one 32-bit equation per sector written and one for
//! `F`'s CRC, one unknown per free bit. When the sectors' free bits do not span the equations
//! (a sector wholly inside a long label text, say), the caller tries the next start or rewrites.

use std::ops::Range;

use aigc_label_core::in_place::SECTOR;
use aigc_label_core::{Limits, Result, xmp};

use super::ROOM;
use super::crc::{carried, difference, effects, select};

/// White space added at each run of sites, and the most sites a sector contributes.
const RUN: usize = 48;
const SITES_PER_SECTOR: usize = 40;
/// Padding kept in the new packet.
const PADDING: usize = 100;
/// Bytes of `F`'s data that the last write may set.
const FILLER_FREE: u64 = 6;

/// Characters of the label's text written as references at most this many bytes apart, when
/// the text is written densely ([`packet_with_sites`]).
pub(super) const DENSE_GAP: usize = 6;

/// A free bit inside the new packet: bytes at `at` with two spellings of one meaning, which
/// differ by `delta` (a space or a tab of white space; a character written `&#xHH;` or
/// `&#DDD;`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Site {
    at: usize,
    delta: [u8; 6],
}

impl Site {
    fn space(at: usize) -> Site {
        Site {
            at,
            delta: [b' ' ^ b'\t', 0, 0, 0, 0, 0],
        }
    }

    /// The site moved `by` bytes later.
    pub(super) fn shifted(self, by: usize) -> Site {
        Site {
            at: self.at + by,
            ..self
        }
    }
}

/// `packet` with free bits where XML gives two spellings of one meaning, and those [`Site`]s:
/// runs of [`RUN`] spaces (any may be a tab) added after the `<?xpacket begin?>` processing
/// instruction and on both sides of the label's property (an element among elements, or an
/// attribute among attributes), the padding's spaces (the padding cut to [`PADDING`] bytes: a
/// PNG label grows into the room chunk, not into its packet), and with `dense`, characters of
/// the label's text written as character references, hexadecimal or decimal, one wherever
/// [`DENSE_GAP`] bytes followed the last. A signed label's envelopes run past a disk sector
/// without white space; written densely, every sector of them holds about 40 references. XML
/// readers (ours, exiftool) decode the references, so the label's text is the same. `None`
/// when the packet does not hold exactly one label.
///
/// # Errors
/// As [`xmp::find_aigc`].
pub(super) fn packet_with_sites(packet: &[u8], dense: bool, limits: &Limits) -> Result<Option<(Vec<u8>, Vec<Site>)>> {
    let hits = xmp::find_aigc(packet, limits)?;
    let [hit] = hits.as_slice() else {
        return Ok(None);
    };
    let text = value_range(packet, &hit.range).unwrap_or(0..0);
    let mut points = vec![hit.range.start, hit.range.end];
    if packet.starts_with(b"<?xpacket") {
        if let Some(end) = packet.windows(2).position(|w| w == b"?>") {
            points.push(end + 2);
        }
    }
    points.sort_unstable();
    points.push(packet.len());
    let mut out = Vec::new();
    out.try_reserve_exact(packet.len().saturating_mul(3))
        .map_err(|_| aigc_label_core::Error::malformed("png", 0, "XMP packet too large"))?;
    let mut sites = Vec::new();
    let mut from = 0;
    let mut since = 0;
    for (n, &point) in points.iter().enumerate() {
        let mut i = from;
        while i < point {
            let Some(&b) = packet.get(i) else { break };
            if !text.contains(&i) {
                out.push(b);
                i += 1;
                continue;
            }
            if b == b'&' {
                // An entity or character reference, copied whole.
                let len = packet
                    .get(i..point)
                    .and_then(|r| r.iter().position(|&c| c == b';'))
                    .map_or(1, |l| l + 1);
                out.extend_from_slice(packet.get(i..i + len).unwrap_or_default());
                since += len;
                i += len;
                continue;
            }
            let wanted = dense && since >= DENSE_GAP;
            if wanted && b.is_ascii() && !b.is_ascii_control() {
                let hex = format!("&#x{b:02x};");
                let dec = format!("&#{b:03};");
                let mut delta = [0u8; 6];
                for (d, (x, y)) in delta.iter_mut().zip(hex.bytes().zip(dec.bytes())) {
                    *d = x ^ y;
                }
                sites.push(Site { at: out.len(), delta });
                out.extend_from_slice(hex.as_bytes());
                since = 0;
            } else {
                out.push(b);
                since += 1;
            }
            i += 1;
        }
        if n + 1 < points.len() {
            sites.extend((out.len()..out.len() + RUN).map(Site::space));
            out.resize(out.len() + RUN, b' ');
        }
        from = point;
    }
    // The padding, between the text and the trailer: cut to [`PADDING`] bytes (a PNG label
    // grows into the room chunk, not into its packet), its spaces sites.
    let text_end = usize::try_from(crate::room::packet_text_len(&out)).unwrap_or(out.len());
    let mut trailer = out
        .windows(13)
        .rposition(|w| w == b"<?xpacket end")
        .unwrap_or(out.len());
    if trailer > text_end + PADDING {
        out.drain(text_end + PADDING - 1..trailer - 1);
        trailer = text_end + PADDING;
    }
    sites.extend(
        (text_end..trailer)
            .filter(|&i| out.get(i) == Some(&b' '))
            .map(Site::space),
    );
    sites.sort_unstable_by_key(|s| s.at);
    Ok(Some((out, sites)))
}

/// The label's text inside its property (`range`): an element's content when it holds no
/// markup, an attribute's value between its quotes.
fn value_range(packet: &[u8], range: &Range<usize>) -> Option<Range<usize>> {
    let bytes = packet.get(range.clone())?;
    match bytes.first()? {
        b'<' => {
            let start = bytes.iter().position(|&b| b == b'>')? + 1;
            let end = bytes.windows(2).rposition(|w| w == b"</")?;
            let inner = bytes.get(start..end)?;
            (!inner.contains(&b'<')).then(|| range.start + start..range.start + end)
        }
        _ => {
            let eq = bytes.iter().position(|&b| b == b'=')?;
            let open = eq + 1 + bytes.get(eq + 1..)?.iter().position(|&b| b == b'"' || b == b'\'')?;
            (bytes.last()? == bytes.get(open)? && open + 1 < bytes.len()).then(|| range.start + open + 1..range.end - 1)
        }
    }
}

/// The new label chunk `A'` with its sites (offsets in the chunk), and how each bit of a byte of
/// its type and data changes its CRC, by bytes after it.
pub(super) struct NewChunk {
    pub bytes: Vec<u8>,
    pub sites: Vec<Site>,
    effects: Vec<Vec<u32>>,
}

impl NewChunk {
    /// `bytes`, a whole chunk, with `sites` at offsets into the chunk.
    pub fn new(bytes: Vec<u8>, sites: Vec<Site>) -> NewChunk {
        let n = bytes.len().saturating_sub(8);
        let effects = (0..8).map(|b| effects(1 << b, n)).collect();
        NewChunk { bytes, sites, effects }
    }
}

/// What step 1 works on: `R`'s data from its start as the file holds it, where it sits, and
/// `R`'s CRC.
pub(super) struct Room<'a> {
    /// File offset of `R`'s data.
    pub at: u64,
    /// `R`'s data.
    pub data: &'a [u8],
    /// `R`'s CRC, which step 1 keeps and `F` takes over.
    pub crc: u32,
}

/// The prepared writes, one sector each, and what they leave.
pub(super) struct Prepared {
    pub writes: Vec<(u64, Vec<u8>)>,
    /// The value `Q`'s CRC must take: the first 4 prepared bytes.
    pub q_crc: u32,
    /// Where `A'` sits.
    pub label: Range<u64>,
}

/// One free bit: bytes (file offset, mask) that may be xored together; `in_a` when they lie
/// inside `A'`'s data, whose CRC then changes too.
struct Unknown {
    bytes: Vec<(u64, u8)>,
    in_a: bool,
}

/// Plans step 1 with `Q`'s new CRC at `p` (inside `R`'s data, at or after its start; bytes
/// between stay and join `Q`), `A'` after it, then `F`'s header; `None` when the free bits
/// cannot keep every write's change zero.
pub(super) fn prepare(room: &Room<'_>, p: u64, a: &NewChunk) -> Option<Prepared> {
    let off = |at: u64| usize::try_from(at.checked_sub(room.at)?).ok();
    let data_end = room.at + room.data.len() as u64;
    let new_at = p + 4;
    let f_at = new_at + a.bytes.len() as u64;
    let f_data = f_at + 8;
    let free = FILLER_FREE.min(data_end.checked_sub(f_data)?);
    let end = f_data + free;
    if free < 4 {
        return None;
    }
    let f_len = u32::try_from(data_end - f_data).ok()?;
    let old = room.data.get(off(p)?..off(end)?)?;
    // The bytes as planned before the unknowns: `Q`'s CRC zero, `A'`, `F`'s header, `F`'s
    // first bytes as they are.
    let mut new = Vec::with_capacity(old.len());
    new.extend_from_slice(&[0; 4]);
    new.extend_from_slice(&a.bytes);
    new.extend_from_slice(&f_len.to_be_bytes());
    new.extend_from_slice(&ROOM);
    new.extend_from_slice(old.get(old.len() - free as usize..)?);

    // Sectors written: equation `i` is sector `i`'s change of `R`'s CRC; the last is `F`'s CRC.
    let mut spans = Vec::new();
    let mut s = p;
    while s < end {
        let e = ((s / SECTOR + 1) * SECTOR).min(end);
        spans.push(s..e);
        s = e;
    }
    let words = spans.len() + 1;
    let span_of = |at: u64| spans.iter().position(|r| r.contains(&at));

    let a_data = new_at + 8..f_at - 4;
    let mut unknowns: Vec<Unknown> = (0..32)
        .map(|i| Unknown {
            bytes: vec![(p + i / 8, 1 << (i % 8))],
            in_a: false,
        })
        .collect();
    let mut per_span = vec![0usize; spans.len()];
    for site in &a.sites {
        let bytes: Vec<(u64, u8)> = (site.at as u64..)
            .zip(site.delta)
            .filter(|&(_, m)| m != 0)
            .map(|(at, m)| (new_at + at, m))
            .collect();
        let Some(first) = bytes.first().map(|b| b.0) else {
            continue;
        };
        if !bytes.iter().all(|b| a_data.contains(&b.0)) {
            continue;
        }
        let Some(n) = span_of(first).and_then(|i| per_span.get_mut(i)) else {
            continue;
        };
        if *n < SITES_PER_SECTOR {
            *n += 1;
            unknowns.push(Unknown { bytes, in_a: true });
        }
    }
    unknowns.extend((0..free * 8).map(|i| Unknown {
        bytes: vec![(f_data + i / 8, 1 << (i % 8))],
        in_a: false,
    }));

    // How a byte's bits change its sector's equation, by bytes after it in the sector.
    let bits: Vec<Vec<u32>> = (0..8).map(|b| effects(1 << b, SECTOR as usize)).collect();
    let by_bits = |tables: &[Vec<u32>], d: usize, value: u8| {
        tables
            .iter()
            .enumerate()
            .filter(|(b, _)| value >> b & 1 == 1)
            .fold(0, |e, (_, t)| e ^ t.get(d).copied().unwrap_or(0))
    };
    let byte_effect = |at: u64, value: u8, column: &mut [u32]| {
        let Some(i) = span_of(at) else { return };
        let Some(span) = spans.get(i) else { return };
        if let Some(w) = column.get_mut(i) {
            *w ^= by_bits(&bits, (span.end - at - 1) as usize, value);
        }
    };
    let crc_at = f_at - 4;
    // The effect on the equations of each bit of `A'`'s CRC (big-endian in the file).
    let crc_bits: Vec<Vec<u32>> = (0..32u32)
        .map(|bit| {
            let mut column = vec![0u32; words];
            for (k, byte) in (1u32 << bit).to_be_bytes().into_iter().enumerate() {
                byte_effect(crc_at + k as u64, byte, &mut column);
            }
            column
        })
        .collect();
    let columns: Vec<Vec<u32>> = unknowns
        .iter()
        .map(|u| {
            let mut column = vec![0u32; words];
            let mut crc_change = 0u32;
            for &(at, mask) in &u.bytes {
                byte_effect(at, mask, &mut column);
                if u.in_a {
                    crc_change ^= by_bits(&a.effects, (crc_at - at - 1) as usize, mask);
                }
                if at >= f_data {
                    if let Some(w) = column.last_mut() {
                        *w ^= carried(by_bits(&bits, 0, mask), data_end - at - 1);
                    }
                }
            }
            for (bit, effect) in crc_bits.iter().enumerate() {
                if crc_change >> bit & 1 == 1 {
                    column.iter_mut().zip(effect).for_each(|(x, y)| *x ^= y);
                }
            }
            column
        })
        .collect();

    let equations = |new: &[u8]| -> Option<Vec<u32>> {
        let mut out = Vec::with_capacity(words);
        for span in &spans {
            let (a, b) = ((span.start - p) as usize, (span.end - p) as usize);
            let delta: Vec<u8> = new.get(a..b)?.iter().zip(old.get(a..b)?).map(|(x, y)| x ^ y).collect();
            out.push(difference(&delta));
        }
        let mut f = crc32fast::Hasher::new();
        f.update(&ROOM);
        f.update(new.get(new.len() - free as usize..)?);
        f.update(room.data.get(off(end)?..)?);
        out.push(f.finalize() ^ room.crc);
        Some(out)
    };
    let target = equations(&new)?;
    let pick = select(&columns, &target)?;
    for (u, _) in unknowns.iter().zip(&pick).filter(|(_, p)| **p) {
        for &(at, mask) in &u.bytes {
            if let Some(byte) = new.get_mut((at - p) as usize) {
                *byte ^= mask;
            }
        }
    }
    // `A'`'s CRC over its type and data as the sites now stand.
    let (a_start, a_end) = ((new_at - p) as usize, (crc_at - p) as usize);
    let crc = crc32fast::hash(new.get(a_start + 4..a_end)?);
    new.get_mut(a_end..a_end + 4)?.copy_from_slice(&crc.to_be_bytes());
    // The check that holds the plan to its promise, whatever the linear model said.
    if equations(&new)?.iter().any(|&w| w != 0) {
        return None;
    }
    let q_crc = u32::from_be_bytes(new.get(..4)?.try_into().ok()?);
    let writes = spans
        .iter()
        .filter_map(|span| {
            let (a, b) = ((span.start - p) as usize, (span.end - p) as usize);
            let bytes = new.get(a..b)?;
            (bytes != old.get(a..b)?).then(|| (span.start, bytes.to_vec()))
        })
        .collect();
    Some(Prepared {
        writes,
        q_crc,
        label: new_at..f_at,
    })
}
