//! Helpers every video carrier shares: building [`Found`] records, decoding label text,
//! counting walked structures, streaming a byte range with a few bytes replaced, and collecting
//! the byte ranges a content binding leaves out.

use std::borrow::Cow;
use std::io::Write;
use std::ops::Range;

use aigc_label_core::check::{Check, Strictness, id};
use aigc_label_core::io::Source;
use aigc_label_core::json::{self, Shape};
use aigc_label_core::{Found, Label, Result};

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

/// Streams input bytes `start..end` to `out`, putting each patch that falls in the range in
/// place of the bytes it covers. `patches` must be sorted by position and not overlap; media
/// payload between patches moves in large blocks and is never held in memory.
pub(crate) fn copy_patched(
    src: &mut Source<'_>,
    out: &mut dyn Write,
    range: Range<u64>,
    patches: &[Patch],
    what: &'static str,
) -> Result<()> {
    src.seek_to(range.start)?;
    let first = patches.partition_point(|p| p.pos < range.start);
    for patch in patches.get(first..).unwrap_or_default() {
        let patch_end = patch.pos.saturating_add(patch.bytes.len() as u64);
        if patch_end > range.end {
            break;
        }
        if patch.pos < src.pos() {
            return Err(src.malformed("overlapping offset fields"));
        }
        src.copy_to(out, patch.pos - src.pos(), what)?;
        out.write_all(&patch.bytes)?;
        src.skip(patch.bytes.len() as u64, what)?;
    }
    let rest = range
        .end
        .checked_sub(src.pos())
        .ok_or_else(|| src.malformed("range ends before patch"))?;
    src.copy_to(out, rest, what)
}

/// Writes a padding structure's new payload of `new_len` bytes: the first bytes of its old
/// payload (`old` at the source's position, `old_len` long), then zeros if it grew.
pub(crate) fn copy_padding(src: &mut Source<'_>, out: &mut dyn Write, old_len: u64, new_len: u64) -> Result<()> {
    src.copy_to(out, old_len.min(new_len), "padding")?;
    let mut zeros = new_len.saturating_sub(old_len);
    let block = [0u8; 4096];
    while zeros > 0 {
        let n = zeros.min(block.len() as u64) as usize;
        out.write_all(block.get(..n).unwrap_or_default())?;
        zeros -= n as u64;
    }
    Ok(())
}

/// Reads a big-endian unsigned integer of `width` bytes (0 to 8) from `bytes`.
pub(crate) fn be_uint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn copy_patched_replaces_only_patched_bytes() {
        let data: Vec<u8> = (0u8..32).collect();
        let mut cur = Cursor::new(data);
        let mut src = Source::new(&mut cur, "test").unwrap();
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
        let mut out = Vec::new();
        copy_patched(&mut src, &mut out, 1..12, &patches, "x").unwrap();
        assert_eq!(out, [1, 0xAA, 0xBB, 4, 5, 6, 7, 8, 9, 0xCC, 11]);
    }

    #[test]
    fn text_strips_nul_padding() {
        assert_eq!(text(b"{}\0\0"), "{}");
        assert_eq!(text(b"\0"), "");
    }
}
