//! Helpers every video carrier shares: building [`Found`] records, decoding label text,
//! counting walked structures, streaming a byte range with a few bytes replaced, and collecting
//! the byte ranges a content binding leaves out.

use std::borrow::Cow;
use std::ops::Range;

use aigc_label_core::check::{Check, Strictness, id};
use aigc_label_core::json::{self, Shape};
use aigc_label_core::plan::{Piece, Plan as EditPlan, PlanBuilder};
use aigc_label_core::{Error, Found, Label, Result};

/// Check id for a structure whose declared size runs past the end of the file (or of its
/// parent), which a reader cut at the end to read what it holds: a warning, since the file is
/// damaged but other readers (ffmpeg) read it the same way. The same id the image carriers use.
pub(crate) const STRUCTURE_SIZE: &str = aigc_label_core::check::id::STRUCTURE_TRUNCATED;

/// The label text every video carrier writes: bare JSON, because each carrier's key is already
/// named `AIGC` (spec section 2, "bare where the carrier key is already named AIGC").
pub(crate) fn label_json(label: &Label) -> String {
    json::to_json(label, Shape::Bare)
}

/// A label copy found at `range`. `wild` names the place the spec expects when the copy sits
/// somewhere else (a variant seen in real files): such a copy is read, and flagged with a
/// `carrier.place` warning (spec section 4, "read also").
pub(crate) fn found(
    carrier: impl Into<Cow<'static, str>>,
    range: Range<u64>,
    text: String,
    wild: Option<&'static str>,
) -> Found {
    let carrier = carrier.into();
    let checks = match wild {
        Some(expected) => vec![Check::should(
            id::CARRIER_PLACE,
            Strictness::Lenient,
            format!("label in {carrier}; the standard's carrier is {expected}"),
        )],
        None => vec![Check::pass(id::CARRIER_PLACE, format!("label in {carrier}"))],
    };
    Found {
        carrier,
        range,
        text,
        expected_shape: Shape::Bare,
        checks,
    }
}

/// Label text from a metadata value: UTF-8 (lossily, so a broken byte is reported by the JSON
/// checks rather than hiding the copy), with NUL padding removed.
pub(crate) fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    String::from_utf8_lossy(bytes.get(..end).unwrap_or_default()).into_owned()
}

pub(crate) use aigc_label_core::container::{Budget, check_depth};

pub(crate) use aigc_label_core::container::Exclusions;

/// Bytes to put at an absolute input offset while a range is streamed to the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Patch {
    /// Offset in the input.
    pub pos: u64,
    /// The replacement, same length as the bytes it covers.
    pub bytes: Vec<u8>,
}

/// Plans input bytes `range` (of an input of `len` bytes) with each patch that falls in the
/// range in place of the bytes it covers: copied ranges between the patches, so that media
/// payload moves in large blocks. `patches` must be sorted by position and not overlap.
///
/// # Errors
/// [`Error::Truncated`] for a range past the input; [`Error::Malformed`] for overlapping
/// patches.
pub(crate) fn plan_patched(out: &mut PlanBuilder, len: u64, range: Range<u64>, patches: &[Patch]) -> Result<()> {
    let format = "video";
    if range.start > len {
        return Err(Error::truncated(format, range.start, "range past the end"));
    }
    let mut pos = range.start;
    let first = patches.partition_point(|p| p.pos < range.start);
    for patch in patches.get(first..).unwrap_or_default() {
        let patch_end = patch.pos.saturating_add(patch.bytes.len() as u64);
        if patch_end > range.end {
            break;
        }
        if patch.pos < pos {
            return Err(Error::malformed(format, patch.pos, "overlapping offset fields"));
        }
        out.copy(pos..patch.pos);
        out.put(&patch.bytes);
        pos = patch_end;
    }
    if range.end < pos {
        return Err(Error::malformed(format, pos, "range ends before patch"));
    }
    out.copy(pos..range.end);
    Ok(())
}

/// `n` zero bytes (the grown part of a padding structure), within [`Limits::max_metadata_bytes`]'s
/// order of size: padding is metadata.
pub(crate) fn zeros(n: u64) -> Result<Vec<u8>> {
    let n = usize::try_from(n).map_err(|_| Error::capacity("padding", "padding too large"))?;
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| Error::capacity("padding", "padding does not fit in memory"))?;
    v.resize(n, 0);
    Ok(v)
}

/// Checks that every range `plan` copies lies within an input of `len` bytes, so that
/// executing it fails only for I/O.
///
/// # Errors
/// [`Error::Truncated`] at the first range past the end.
pub(crate) fn within(plan: &EditPlan, len: u64, format: &'static str) -> Result<()> {
    match plan.pieces().iter().find_map(|p| match p {
        Piece::Copy(r) if r.end > len => Some(r.start),
        _ => None,
    }) {
        Some(at) => Err(Error::truncated(format, at, "copied range past the end")),
        None => Ok(()),
    }
}

/// Reads a big-endian unsigned integer of `width` bytes (0 to 8) from `bytes`.
pub(crate) fn be_uint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// Input byte ranges, each rewritten as new bytes of any length: what a track writer
/// (`matroska::track`, `flv::track`, `avi::track`) changes in a file.
pub(crate) type Rewrites = Vec<(Range<u64>, Vec<u8>)>;

/// How far input offset `pos` moves in the output: the growth of every rewrite that ends at or
/// before it.
pub(crate) fn shift(rewrites: &[(Range<u64>, Vec<u8>)], pos: u64) -> i128 {
    rewrites
        .iter()
        .filter(|(r, _)| r.end <= pos)
        .map(|(r, b)| b.len() as i128 - i128::from(r.end - r.start))
        .sum()
}

/// Where input offset `pos` lands in the output, if anywhere.
pub(crate) fn moved(rewrites: &[(Range<u64>, Vec<u8>)], pos: u64) -> Option<u64> {
    u64::try_from(i128::from(pos) + shift(rewrites, pos)).ok()
}

/// Copies the input from `from` to its end into `out`, each of `rewrites` (sorted, disjoint,
/// at or after `from`) replaced by its bytes; everything between them is streamed in blocks.
///
/// # Errors
/// Overlapping rewrites; I/O errors.
pub(crate) fn write_rewritten(
    src: &mut aigc_label_core::io::Source<'_>,
    from: u64,
    rewrites: &[(Range<u64>, Vec<u8>)],
    out: &mut dyn std::io::Write,
) -> Result<()> {
    let mut pos = from;
    for (range, bytes) in rewrites {
        let gap = range
            .start
            .checked_sub(pos)
            .ok_or_else(|| src.malformed("overlapping rewrites"))?;
        src.seek_to(pos)?;
        src.copy_to(out, gap, "copied bytes")?;
        out.write_all(bytes)?;
        pos = range.end;
    }
    src.seek_to(pos)?;
    src.copy_rest(out, "copied bytes")
}

/// Reads input bytes `range` whole, at most `max` of them (bigger than metadata, smaller than
/// media): how a track writer hands one payload to a codec.
///
/// # Errors
/// A range over `max`; I/O errors.
pub(crate) fn read_payload(
    input: &mut dyn aigc_label_core::io::ReadSeek,
    format: &'static str,
    range: Range<u64>,
    max: u64,
    what: &'static str,
) -> Result<Vec<u8>> {
    let mut src = aigc_label_core::io::Source::new(input, format)?;
    src.seek_to(range.start)?;
    let mut limits = aigc_label_core::Limits::default();
    limits.max_metadata_bytes = max;
    src.read_vec(range.end.saturating_sub(range.start), what, &limits)
}

/// A track writer's way to write a file with payloads replaced: the `write` of
/// `matroska::track`, `flv::track` and `avi::track`.
type WriteTrack<T> = fn(
    &T,
    &mut dyn aigc_label_core::io::ReadSeek,
    &[(usize, &[u8])],
    &aigc_label_core::Limits,
    &mut dyn std::io::Write,
) -> Result<()>;

/// The fuzz property every track writer shares: reading any bytes as a track never panics, and
/// when it reads, replacing the first payload by `stand_in` writes a file whose track reads
/// back with as many payloads (`count`), the first being `stand_in` (`read` reads payload `i`).
pub(crate) fn fuzz_track<T>(
    data: &[u8],
    stand_in: &[u8],
    open: impl Fn(&mut dyn aigc_label_core::io::ReadSeek) -> Result<T>,
    count: fn(&T) -> usize,
    write: WriteTrack<T>,
    read: fn(&T, &mut dyn aigc_label_core::io::ReadSeek, usize) -> Result<Vec<u8>>,
) {
    use std::io::Cursor;
    let limits = aigc_label_core::Limits::default();
    let Ok(track) = open(&mut Cursor::new(data)) else {
        return;
    };
    if count(&track) == 0 {
        return;
    }
    let mut out = Vec::new();
    if write(&track, &mut Cursor::new(data), &[(0, stand_in)], &limits, &mut out).is_err() {
        return;
    }
    let again = open(&mut Cursor::new(&out)).unwrap_or_else(|e| panic!("a rewritten file does not read back: {e}"));
    assert_eq!(count(&again), count(&track));
    let first = read(&again, &mut Cursor::new(&out), 0).unwrap_or_default();
    assert_eq!(first, stand_in, "the new payload is the first one");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn plan_patched_replaces_only_patched_bytes() {
        let data: Vec<u8> = (0u8..32).collect();
        let patches = vec![
            Patch {
                pos: 2,
                bytes: vec![0xAA, 0xBB],
            },
            Patch {
                pos: 10,
                bytes: vec![0xCC],
            },
            Patch {
                pos: 30,
                bytes: vec![0xDD],
            },
        ];
        let mut plan = PlanBuilder::new("test");
        plan_patched(&mut plan, 32, 1..12, &patches).unwrap();
        let plan = plan.finish(Vec::new(), 0..0);
        within(&plan, 32, "test").unwrap();
        let mut out = Vec::new();
        plan.write_to(&mut Cursor::new(data), &mut out).unwrap();
        assert_eq!(out, [1, 0xAA, 0xBB, 4, 5, 6, 7, 8, 9, 0xCC, 11]);
        assert!(within(&plan, 11, "test").is_err());
        assert!(
            plan_patched(
                &mut PlanBuilder::new("test"),
                32,
                1..12,
                &[patches[0].clone(), patches[0].clone()]
            )
            .is_err()
        );
    }

    #[test]
    fn text_strips_nul_padding() {
        assert_eq!(text(b"{}\0\0"), "{}");
        assert_eq!(text(b"\0"), "");
    }
}
