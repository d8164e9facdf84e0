//! Vorbis comments, shared by FLAC `VORBIS_COMMENT` blocks, Ogg Vorbis comment headers and
//! `OpusTags` (Vorbis I specification section 5; RFC 7845 section 5.2; FLAC format
//! `METADATA_BLOCK_VORBIS_COMMENT`).
//!
//! A comment list is a vendor string and `NAME=value` fields, each prefixed with a 32-bit
//! little-endian length. Field names are case-insensitive ASCII, so `aigc=` is the same key as
//! `AIGC=`. Rebuilding keeps the vendor, every other field and anything after the list (the Vorbis
//! framing bit, Opus padding or binary data) byte for byte.
//!
//! Positions are kept too: where the field count sits and where each field (length prefix
//! included) starts and ends, so carriers can report the `AIGC` field itself as the label's
//! structure and leave only it and the count out of a content binding.

use std::ops::Range;

use aigc_label_core::io::Bytes;
use aigc_label_core::{Error, Limits, Result};

use crate::common::{Budget, KEY, is_key};

/// A parsed comment list that borrows the packet or block it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Comments<'a> {
    /// The vendor string.
    pub vendor: &'a [u8],
    /// Each field as stored (`NAME=value`), without its length prefix.
    pub fields: Vec<&'a [u8]>,
    /// Where each field sits in the list, length prefix included, in the order of `fields`.
    pub spans: Vec<Range<usize>>,
    /// Bytes after the last field.
    pub rest: &'a [u8],
}

/// Parses the comment list in `data`. `format` and `offset` place errors.
///
/// # Errors
/// [`Error::Malformed`] when a length runs past the data; [`Error::Limit`] when the field count
/// exceeds [`Limits::max_structures`].
pub(crate) fn parse<'a>(data: &'a [u8], format: &'static str, offset: u64, limits: &Limits) -> Result<Comments<'a>> {
    let mut b = Bytes::new(data);
    let bad = |b: &Bytes, what: &'static str| Error::malformed(format, offset + b.pos() as u64, what);
    let vendor = take_string(&mut b).ok_or_else(|| bad(&b, "vendor string runs past the comment list"))?;
    let count = b.u32_le().ok_or_else(|| bad(&b, "missing comment count"))?;
    let mut fields = Vec::new();
    let mut spans = Vec::new();
    let mut budget = Budget::new(format, limits);
    for _ in 0..count {
        budget.tick(offset + b.pos() as u64, limits)?;
        let start = b.pos();
        let field = take_string(&mut b).ok_or_else(|| bad(&b, "comment runs past the comment list"))?;
        fields.push(field);
        spans.push(start..b.pos());
    }
    Ok(Comments {
        vendor,
        fields,
        spans,
        rest: b.rest(),
    })
}

fn take_string<'a>(b: &mut Bytes<'a>) -> Option<&'a [u8]> {
    let len = b.u32_le()?;
    b.take(usize::try_from(len).ok()?)
}

/// Splits a field into name and value at the first `=`.
fn split(field: &[u8]) -> Option<(&[u8], &[u8])> {
    let eq = field.iter().position(|&c| c == b'=')?;
    Some((&field[..eq], &field[eq + 1..]))
}

/// True when `field` is an `AIGC=` field.
fn is_label(field: &[u8]) -> bool {
    split(field).is_some_and(|(name, _)| is_key(name))
}

impl<'a> Comments<'a> {
    /// The values of every `AIGC` field, in order.
    pub fn labels(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.fields
            .iter()
            .filter_map(|f| split(f))
            .filter(|(name, _)| is_key(name))
            .map(|(_, value)| value)
    }

    /// Each `AIGC` field with its value and its span in the list (length prefix included).
    pub fn label_fields(&self) -> impl Iterator<Item = (&'a [u8], Range<usize>)> + '_ {
        self.fields.iter().zip(&self.spans).filter_map(|(f, span)| {
            split(f)
                .filter(|(name, _)| is_key(name))
                .map(|(_, v)| (v, span.clone()))
        })
    }

    /// True when at least one field is an `AIGC` field.
    pub fn has_label(&self) -> bool {
        self.labels().next().is_some()
    }

    /// Where the 32-bit field count sits in the list: it changes when `AIGC` fields are added
    /// or removed.
    pub fn count_span(&self) -> Range<usize> {
        let at = 4 + self.vendor.len();
        at..at + 4
    }

    /// The list re-encoded without its `AIGC` fields and, when `value` is given, with one
    /// `AIGC=value` field after the others. Everything else is kept as it was. Also returns
    /// where the new field sits in the new list (empty without `value`).
    ///
    /// # Errors
    /// [`Error::Parameter`] when a length does not fit in 32 bits.
    pub fn rebuild(&self, value: Option<&str>) -> Result<(Vec<u8>, Range<usize>)> {
        let kept: Vec<&[u8]> = self.fields.iter().copied().filter(|f| !is_label(f)).collect();
        let new_field = value.map(|v| format!("{KEY}={v}"));
        let count = kept.len() + usize::from(new_field.is_some());
        let size = 8 + self.vendor.len() + kept.iter().map(|f| 4 + f.len()).sum::<usize>();
        let mut out = Vec::with_capacity(size + new_field.as_ref().map_or(0, |f| 4 + f.len()) + self.rest.len());
        push_string(&mut out, self.vendor)?;
        out.extend_from_slice(&u32_len(count)?.to_le_bytes());
        for f in kept {
            push_string(&mut out, f)?;
        }
        let start = out.len();
        if let Some(f) = &new_field {
            push_string(&mut out, f.as_bytes())?;
        }
        let span = start..out.len();
        out.extend_from_slice(self.rest);
        Ok((out, span))
    }
}

/// A fresh comment list holding only `AIGC=value`, for a FLAC file that has none, with the
/// field's span in it.
pub(crate) fn new_list(vendor: &str, value: &str) -> Result<(Vec<u8>, Range<usize>)> {
    Comments {
        vendor: vendor.as_bytes(),
        fields: Vec::new(),
        spans: Vec::new(),
        rest: &[],
    }
    .rebuild(Some(value))
}

fn u32_len(n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::parameter("comment", "longer than 4 GiB"))
}

fn push_string(out: &mut Vec<u8>, s: &[u8]) -> Result<()> {
    out.extend_from_slice(&u32_len(s.len())?.to_le_bytes());
    out.extend_from_slice(s);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(fields: &[&str], rest: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        push_string(&mut out, b"vendor").unwrap();
        out.extend_from_slice(&(fields.len() as u32).to_le_bytes());
        for f in fields {
            push_string(&mut out, f.as_bytes()).unwrap();
        }
        out.extend_from_slice(rest);
        out
    }

    #[test]
    fn finds_labels_in_any_case_and_rebuilds_exactly() {
        let data = list(&["TITLE=x", "aigc={\"a\":1}", "AIGC={}", "noequals"], b"\x01");
        let c = parse(&data, "t", 0, &Limits::default()).unwrap();
        assert_eq!(c.labels().collect::<Vec<_>>(), [&b"{\"a\":1}"[..], b"{}"]);
        assert_eq!(c.rest, b"\x01");
        let spans: Vec<_> = c.label_fields().map(|(_, s)| s).collect();
        assert_eq!(&data[spans[1].clone()], b"\x07\0\0\0AIGC={}");
        assert_eq!(&data[c.count_span()], &4u32.to_le_bytes());
        let (rebuilt, span) = c.rebuild(Some("{\"b\":2}")).unwrap();
        assert_eq!(&rebuilt[span], b"\x0c\0\0\0AIGC={\"b\":2}");
        let again = parse(&rebuilt, "t", 0, &Limits::default()).unwrap();
        assert_eq!(again.fields, [&b"TITLE=x"[..], b"noequals", b"AIGC={\"b\":2}"]);
        assert_eq!(again.rest, b"\x01");
        assert_eq!(again.vendor, b"vendor");
        // Without labels and without a new value, the bytes are unchanged.
        let plain = list(&["TITLE=x"], b"");
        let c = parse(&plain, "t", 0, &Limits::default()).unwrap();
        let end = plain.len();
        assert_eq!(c.rebuild(None).unwrap(), (plain, end..end));
    }

    #[test]
    fn lying_lengths_are_errors() {
        let mut data = list(&["TITLE=x"], b"");
        data[0] = 200;
        assert!(parse(&data, "t", 0, &Limits::default()).is_err());
        let mut data = list(&["TITLE=x"], b"");
        data[10] = 9; // count 9, one field present
        assert!(parse(&data, "t", 0, &Limits::default()).is_err());
        assert!(parse(&[], "t", 0, &Limits::default()).is_err());
    }
}
