//! Content binding: a digest over the file with the label's own structure excluded
//! (TC260-PG-202511A Appendix A.2 describes bindings to selected content; this rule is \[ours\]).
//!
//! # Which bytes are covered
//!
//! The digest ([`DigestAlg::Sm3`] with SM2 signatures, [`DigestAlg::Sha256`] with Ed25519) runs
//! over `file[..range.start] || file[range.end..]`, where `range` is the byte range of the
//! structure that holds the label, as the carrier reports it ([`aigc_label_core::Found::range`]
//! when reading, [`aigc_label_core::Written::label_range`] when writing). The binding's `Scope`
//! names this rule: [`SCOPE_FILE_EXCEPT_LABEL`].
//!
//! | format | excluded range (the label structure) | everything else, covered |
//! |---|---|---|
//! | PNG | the whole `iTXt` chunk `XML:com.adobe.xmp`: length, type, data (the XMP packet), CRC | signature, every other chunk byte for byte (`IHDR`, `IDAT`, text chunks, ..., `IEND`) and bytes after `IEND` |
//! | JPEG | the whole APP1 XMP segment: marker, length, `http://ns.adobe.com/xap/1.0/\0`, the packet | SOI, every other segment (EXIF, ICC, ...), scans, EOI, trailing bytes |
//!
//! Inside the excluded structure, the XMP packet's other properties are not covered: another
//! tool may rewrite them (or the padding) without breaking the binding, which is the point of
//! excluding the structure whole; the label itself is protected by the signature instead.
//!
//! # Why a propagator's update keeps the producer's binding
//!
//! Both carriers above keep the label structure where it is and change nothing outside it when
//! the label changes, whatever its new size: the covered bytes are the same before and after,
//! so the producer's digest still matches. The same property solves the chicken-and-egg problem
//! of a digest that lives inside the label: [`crate::protect`] writes once with a placeholder
//! label, digests that output, and writes again with the final label; the excluded range may
//! move its end, but the covered bytes do not change. It then digests the final output again, so
//! a carrier that breaks the rule fails loudly instead of writing a binding that never matches.
//!
//! # Formats where the rule does not hold as is
//!
//! Where embedding changes bytes outside the label structure, a per-carrier hook must report
//! those bytes too (as extra excluded ranges, or as fields to normalise before digesting):
//!
//! - WAV (RIFF): the RIFF size at offset 4 counts the `AIGC` chunk; exclude those 4 bytes.
//!   AVI and WebP (`RIFF` + `VP8X` flag) likewise; WebP also sets the VP8X XMP flag on first write.
//! - MP4 / MOV: `moov`, `udta`, `meta` and `ilst` sizes grow with the label, and when `moov` sits
//!   before `mdat`, every chunk offset (`stco`/`co64`) and fragment offset shifts; the hook
//!   would exclude the size fields and normalise offsets by the label's growth.
//! - Matroska: `Segment`, `Tags` sizes and `SeekHead` positions; FLV: the script tag's
//!   `DataSize` and `PreviousTagSize`.
//! - MP3: the ID3v2 tag size (syncsafe) and padding; FLAC: the `VORBIS_COMMENT` block length and
//!   padding; Ogg: the comment page's CRC, segment table and later page sequence numbers.
//! - PDF: an incremental update appends objects, a new xref section and trailer; OOXML rewrites
//!   ZIP local headers, the central directory and offsets.
//! - TIFF: IFD offsets move when tag 700 grows.
//!
//! A hook of the form `fn binding_exclusions(&self, output) -> Vec<Range<u64>>` on [`Carrier`]
//! (default: just the label range) would cover the size-field cases; offset tables need a
//! normalising digest instead.
//!
//! [`Carrier`]: aigc_label_core::Carrier

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
        .map_err(|_| Error::Parameter("too many excluded ranges".into()))?;
    for range in exclude {
        if range.start > range.end || range.end > len {
            return Err(Error::Parameter(
                format!("excluded range {range:?} is not within the {len}-byte stream").into(),
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
