//! Content binding: a digest over the file with the label and the few bytes that change with it
//! left out (TC260-PG-202511A Appendix A.2 describes bindings to selected content; this rule is
//! \[ours\]).
//!
//! # Which bytes are covered
//!
//! The digest ([`DigestAlg::Sm3`] with SM2 signatures, [`DigestAlg::Sha256`] with Ed25519) runs
//! over the file with the ranges [`Carrier::binding_exclusions`] reports left out, the rest read
//! in order. The binding's `Scope` names this rule: [`SCOPE_FILE_EXCEPT_LABEL`]. Each carrier
//! excludes the structure holding the label and every byte its writer changes when the label is
//! replaced by another of any length, and nothing else, so a platform can add its fields and
//! signature on upload without breaking the producer's binding:
//!
//! | format | excluded | everything else is covered, including |
//! |---|---|---|
//! | PNG | the `iTXt` chunk `XML:com.adobe.xmp` whole (length, type, packet, CRC) | every other chunk, bytes after `IEND` |
//! | JPEG | the APP1 XMP segment whole | every other segment, the scans, trailing bytes |
//! | GIF | the XMP application extension whole | every other block |
//! | WebP | the first `XMP ` chunk and any holding a label, whole; the RIFF size; the `VP8X` flags byte only while its XMP flag is clear | `VP8X`, `ICCP`, `ANIM`, every frame, `EXIF`, unknown chunks |
//! | TIFF, BigTIFF | IFD0's tag 700 packet (and any packet holding a label); that entry's type, count and offset fields (10 bytes, 18 in BigTIFF); the marked label rooms beside that packet that an update in place leaves | the tag number, every other IFD and entry, strips, tiles |
//! | HEIF, AVIF | the stored bytes of the XMP item holding the label; its `iloc` entry; the header of an `mdat` it fills at the end of the file | every other box, item and `mdat` byte |
//! | WAV, RF64 | every `AIGC` chunk (header, body, pad byte); the RIFF size; the 64-bit RIFF size in `ds64`; a wild label's `LIST INFO` child and the `LIST` size | `fmt `, samples, every other chunk |
//! | MP3 | every `TXXX:AIGC` frame; in the tag holding it, the syncsafe tag size (and v2.4 footer size), a v2.3 extended header's padding size, and the padding; an appended v2.4 tag holding only labels, whole | every other frame, the tag's version and flags, the audio, an ID3v1 trailer |
//! | FLAC | every `AIGC=` field (length and bytes); the `VORBIS_COMMENT` block header and field count; every `PADDING` block; the last-block flag of the block before padding | `STREAMINFO`, the vendor string, other comments, frames |
//! | Ogg Vorbis, Opus | every `AIGC=` field; the field count; the page headers of the comment and setup header pages; the sequence number and CRC of every later page of that stream | the vendor string, other comments, the setup header, every audio page body |
//! | MP4, MOV, M4A | the `moov/udta/meta` box holding the label, whole; the sizes of `moov` and `udta`; a `free`/`skip` box beside `moov`; when media follows `moov`, the offsets that point past it (`stco`/`co64` entries, `saio`, `iloc`, `tfhd` base offsets, `tfra`, `sidx` first offset) | every other box, the sample tables' sizes and times, all of `mdat` and `moof` |
//! | Matroska, WebM | the `Tags` element holding the label (or its Tag, with the `Tags` size and CRC); the `Void` after it; Segment-level `Void`s before the first Cluster; the Segment size; in the first `SeekHead` its size, CRC and the Seek entry of that `Tags` | Clusters, `Cues`, tracks, every other element |
//! | FLV | the script tag holding the label (header and `onMetaData`) and the `PreviousTagSize` after it | the FLV header, every audio and video tag |
//! | AVI | every `AIGC` chunk; the RIFF size and the first `LIST INFO` size; the `JUNK` after it; offsets that point past it (absolute `idx1` offsets, OpenDML `indx` entries and `ix##` base offsets) | `hdrl`, `movi`, relative `idx1` |
//! | Markdown | the `AIGC:` entry's lines in the front matter | every other front matter line, the body, the visible label |
//! | PDF | in the update we wrote last, the Info object holding the label, the number after the final `startxref`, and (with xref streams) the 8-byte offset of the stream's own row | the original file, every earlier revision, the rest of our update |
//! | OOXML | the custom-properties part's entry (local header, data) and its directory record; the local-header offsets of entries stored after it; the end records' directory size and offset | every other entry and the rest of every directory record |
//!
//! Each carrier's `binding_exclusions` documents its rule in full. What the exclusions allow an
//! attacker to change undetected is where things sit, never what they hold: for MP4 the chunk
//! offsets (the media they point at stays covered), for Ogg the page sequence numbers and CRCs
//! (a decoder rejects such a page). Inside the label structure, the other properties of an XMP
//! packet or `meta` box are not covered; the label itself is protected by the signature.
//!
//! # Why the binding survives the platform's update
//!
//! The contract is checked for every carrier in the workspace tests and by every carrier's fuzz
//! property: rewriting a label that this crate's carriers wrote, with a longer or a shorter one,
//! leaves the covered bytes, in order, as they were. The same property solves the
//! chicken-and-egg problem of a digest that lives inside the label: [`crate::protect`] writes
//! once with a placeholder label, digests that output, and writes again with the final label. It
//! then digests the final output again, so a carrier that breaks the rule fails loudly instead of
//! writing a binding that never matches.
//!
//! Files labelled by other tools become stable after our first write: a wild layout (a label in a
//! shared Matroska Tag, a WebP file without `VP8X`, an XMP packet in the middle of a TIFF) is
//! rewritten into the carrier's own form once.
//!
//! [`Carrier`]: aigc_label_core::Carrier
//! [`Carrier::binding_exclusions`]: aigc_label_core::Carrier::binding_exclusions

use std::io::SeekFrom;
use std::ops::Range;

use aigc_label_core::io::{COPY_BLOCK, ReadSeek};
use aigc_label_core::{Carrier, Error, Limits, Result};

use crate::alg::DigestAlg;
use crate::envelope::{BINDING_HASH, Binding, SCOPE_FILE_EXCEPT_LABEL};

/// Digests `input` with the bytes in `exclude` left out, with each of `algorithms` in one pass.
/// The ranges may overlap and come in any order. Reads in large blocks and seeks past what is
/// excluded; memory stays flat.
///
/// ```
/// use std::io::Cursor;
/// use aigc_label_trust::{binding::digest_excluding, DigestAlg};
/// let file = b"head[LABEL]tail(8)";
/// let d = digest_excluding(&mut Cursor::new(file), &[15..18, 4..11], &[DigestAlg::Sha256])?;
/// assert_eq!(d[0], DigestAlg::Sha256.digest(b"headtail"));
/// # Ok::<(), aigc_label_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::Parameter`] when a range is reversed or not within the stream; I/O errors.
pub fn digest_excluding(
    input: &mut dyn ReadSeek,
    exclude: &[Range<u64>],
    algorithms: &[DigestAlg],
) -> Result<Vec<Vec<u8>>> {
    let len = input.seek(SeekFrom::End(0))?;
    let mut sorted: Vec<Range<u64>> = Vec::new();
    sorted
        .try_reserve_exact(exclude.len())
        .map_err(|_| Error::parameter("exclusions", "too many excluded ranges"))?;
    for range in exclude {
        if range.start > range.end || range.end > len {
            return Err(Error::parameter(
                "exclusions",
                format!("excluded range {range:?} is not within the {len}-byte stream"),
            ));
        }
        sorted.push(range.clone());
    }
    sorted.sort_unstable_by_key(|r| r.start);

    let mut hashers: Vec<_> = algorithms.iter().map(|a| a.hasher()).collect();
    let mut buf = vec![0u8; COPY_BLOCK.min(usize::try_from(len).unwrap_or(COPY_BLOCK)).max(1)];
    // The stream sits at its end after measuring it.
    let mut pos = len;
    for (from, to) in covered(&sorted, len) {
        if from != pos {
            input.seek(SeekFrom::Start(from))?;
        }
        let mut left = to - from;
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = input.read(&mut buf[..want])?;
            if n == 0 {
                return Err(Error::truncated("binding", to - left, "stream ended while digesting"));
            }
            let block = &buf[..n];
            hashers.iter_mut().for_each(|h| h.update(block));
            left -= n as u64;
        }
        pos = to;
    }
    Ok(hashers.into_iter().map(|h| h.finish()).collect())
}

/// The gaps between `sorted` (by start; overlaps allowed) within `0..len`.
fn covered(sorted: &[Range<u64>], len: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
    let mut next = 0u64;
    let mut ranges = sorted.iter();
    let mut done = false;
    std::iter::from_fn(move || {
        while !done {
            match ranges.next() {
                Some(r) => {
                    let gap = (next, r.start.max(next));
                    next = next.max(r.end);
                    if gap.1 > gap.0 {
                        return Some(gap);
                    }
                }
                None => {
                    done = true;
                    if len > next {
                        return Some((next, len));
                    }
                }
            }
        }
        None
    })
}

/// Digests `input` as `carrier` binds it: everything but [`Carrier::binding_exclusions`].
///
/// # Errors
/// The carrier's errors; as [`digest_excluding`].
pub fn digest_content(
    carrier: &dyn Carrier,
    input: &mut dyn ReadSeek,
    algorithms: &[DigestAlg],
    limits: &Limits,
) -> Result<Vec<Vec<u8>>> {
    input.seek(SeekFrom::Start(0))?;
    let exclude = carrier.binding_exclusions(input, limits)?;
    digest_excluding(input, &exclude, algorithms)
}

/// A `Hash` binding over the whole file except the label structure.
pub fn file_except_label(algorithm: DigestAlg, digest: Vec<u8>) -> Binding {
    Binding {
        kind: BINDING_HASH.into(),
        alg_id: algorithm.alg_id().into(),
        scope: SCOPE_FILE_EXCEPT_LABEL.into(),
        value: digest,
    }
}

/// The digest algorithm of `binding`, when this crate can check it: a `Hash` binding with
/// scope [`SCOPE_FILE_EXCEPT_LABEL`] and a known digest. Otherwise why not.
pub fn checkable(binding: &Binding) -> std::result::Result<DigestAlg, String> {
    if !binding.kind.eq_ignore_ascii_case(BINDING_HASH) {
        return Err(format!("binding type {:?} is not {BINDING_HASH}", binding.kind));
    }
    if binding.scope != SCOPE_FILE_EXCEPT_LABEL {
        return Err(format!(
            "binding scope {:?} is not {SCOPE_FILE_EXCEPT_LABEL}",
            binding.scope
        ));
    }
    DigestAlg::from_alg_id(&binding.alg_id).ok_or_else(|| format!("unknown digest AlgID {:?}", binding.alg_id))
}

#[cfg(test)]
// One excluded range is the common case, not a mistaken `vec![0..n]`.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn excluded_range_is_left_out_and_bounds_are_checked() {
        let data: Vec<u8> = (0..=255u8).cycle().take(COPY_BLOCK * 2 + 17).collect();
        let range = 1000..COPY_BLOCK as u64 + 5;
        let mut expected = data[..1000].to_vec();
        expected.extend_from_slice(&data[COPY_BLOCK + 5..]);
        let d = digest_excluding(&mut Cursor::new(&data), &[range], &[DigestAlg::Sm3, DigestAlg::Sha256]).unwrap();
        assert_eq!(
            d,
            [DigestAlg::Sm3.digest(&expected), DigestAlg::Sha256.digest(&expected)]
        );
        let len = data.len() as u64;
        assert!(digest_excluding(&mut Cursor::new(&data), &[0..len + 1], &[DigestAlg::Sm3]).is_err());
        #[allow(clippy::reversed_empty_ranges)]
        let reversed = 5..4;
        assert!(digest_excluding(&mut Cursor::new(&data), &[reversed], &[DigestAlg::Sm3]).is_err());
        assert_eq!(
            digest_excluding(&mut Cursor::new(&data), &[0..len], &[DigestAlg::Sha256]).unwrap()[0],
            DigestAlg::Sha256.digest(b"")
        );
    }

    #[test]
    fn overlapping_and_unordered_ranges_leave_out_their_union() {
        let data: Vec<u8> = (0..100u8).collect();
        let mut expected = data[..10].to_vec();
        expected.extend_from_slice(&data[40..50]);
        expected.extend_from_slice(&data[99..]);
        let ranges = [60..99, 10..30, 20..40, 50..60, 25..26, 70..70];
        let d = digest_excluding(&mut Cursor::new(&data), &ranges, &[DigestAlg::Sha256]).unwrap();
        assert_eq!(d[0], DigestAlg::Sha256.digest(&expected));
        let all = digest_excluding(&mut Cursor::new(&data), &[], &[DigestAlg::Sm3]).unwrap();
        assert_eq!(all[0], DigestAlg::Sm3.digest(&data));
    }

    #[test]
    fn only_known_bindings_are_checkable() {
        let b = file_except_label(DigestAlg::Sm3, vec![1]);
        assert_eq!(checkable(&b), Ok(DigestAlg::Sm3));
        assert!(
            checkable(&Binding {
                scope: "whole-file".into(),
                ..b.clone()
            })
            .is_err()
        );
        assert!(
            checkable(&Binding {
                kind: "Watermark".into(),
                ..b.clone()
            })
            .is_err()
        );
        assert!(
            checkable(&Binding {
                alg_id: "md5".into(),
                ..b
            })
            .is_err()
        );
    }
}
