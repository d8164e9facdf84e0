//! Small helpers shared by the carriers: JSON text for labels built from other syntaxes, XML
//! escaping, bounded reads, and a stream cut short.

use std::io::{self, Read, Seek, SeekFrom};

use aigc_label_core::container::inflate::{self, InflateError, Stream};
use aigc_label_core::io::ReadSeek;
use aigc_label_core::json::push_json_string;

use aigc_label_core::{Error, Limits, Result};

/// A value for [`json_object`]: a string, or JSON text kept as it is (a number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JsonValue {
    Str(String),
    Raw(String),
}

/// Compact JSON object text from `pairs`, in order, duplicates kept (so that validation in the
/// core sees and reports them).
pub(crate) fn json_object(pairs: &[(String, JsonValue)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(&mut out, k);
        out.push(':');
        match v {
            JsonValue::Str(s) => push_json_string(&mut out, s),
            JsonValue::Raw(r) => out.push_str(r),
        }
    }
    out.push('}');
    out
}

/// True if `s` is a JSON number (so a YAML plain scalar like `1` stays a number in the JSON and
/// the core can report a numeric `Label`).
pub(crate) fn is_json_number(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && (int == "0" || !int.starts_with('0'))
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// Escapes text for XML character data and attribute values.
pub(crate) fn xml_escape(text: &str) -> String {
    escape_markup(text, true)
}

/// Escapes `&`, `<`, `>` and `"` (and `'` when `apostrophe`) as entities: text for markup
/// content and double-quoted attribute values (XML parts, the HTML label element).
pub(crate) fn escape_markup(text: &str, apostrophe: bool) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' if apostrophe => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Inflates zlib (`zlib` true, PDF FlateDecode) or raw deflate (zip) data within
/// [`Limits::max_inflated_bytes`], through the container layer's bounded inflate: a compression
/// bomb stops at the limit instead of filling memory.
pub(crate) fn inflate(data: &[u8], zlib: bool, limits: &Limits, format: &'static str, offset: u64) -> Result<Vec<u8>> {
    let stream = if zlib { Stream::Zlib } else { Stream::Raw };
    let limit = limits.max_inflated_bytes;
    inflate::inflate(data, stream, limit).map_err(|e| match e {
        InflateError::Corrupt(e) => Error::malformed(format, offset, format!("cannot inflate: {e}")),
        InflateError::TooLarge { found } => Error::Limit {
            format,
            offset,
            what: "inflated size",
            found,
            limit,
        },
    })
}

/// Counts a structure against [`Limits::max_structures`].
pub(crate) fn count_structure(count: &mut u64, limits: &Limits, format: &'static str, offset: u64) -> Result<()> {
    *count += 1;
    if *count > limits.max_structures {
        return Err(Error::Limit {
            format,
            offset,
            what: "structures walked",
            found: *count,
            limit: limits.max_structures,
        });
    }
    Ok(())
}

/// The first `len` bytes of a stream, seen as a stream of their own: a PDF as it was before its
/// newest incremental update. Reads stop at `len`; `SeekFrom::End` counts from it.
pub(crate) struct Prefix<'a> {
    inner: &'a mut dyn ReadSeek,
    len: u64,
    pos: u64,
}

impl<'a> Prefix<'a> {
    /// The first `cut` bytes of `inner` (all of it when it is shorter).
    ///
    /// # Errors
    /// I/O errors from measuring `inner`.
    pub(crate) fn new(inner: &'a mut dyn ReadSeek, cut: u64) -> io::Result<Self> {
        let len = inner.seek(SeekFrom::End(0))?.min(cut);
        inner.seek(SeekFrom::Start(0))?;
        Ok(Prefix { inner, len, pos: 0 })
    }
}

impl Read for Prefix<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.len.saturating_sub(self.pos)).unwrap_or(usize::MAX);
        let Some(window) = buf.get_mut(..left.min(buf.len())) else {
            return Ok(0);
        };
        if window.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(window)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Prefix<'_> {
    fn seek(&mut self, from: SeekFrom) -> io::Result<u64> {
        let target = match from {
            SeekFrom::Start(o) => Some(o),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        self.inner.seek(SeekFrom::Start(target))?;
        self.pos = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends_early() {
        let mut data = io::Cursor::new(b"0123456789".to_vec());
        let mut p = Prefix::new(&mut data, 4).unwrap();
        let mut out = Vec::new();
        p.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"0123");
        assert_eq!(p.seek(SeekFrom::End(-1)).unwrap(), 3);
        let mut one = [0u8; 8];
        assert_eq!(p.read(&mut one).unwrap(), 1);
        assert_eq!(one[0], b'3');
        assert!(p.seek(SeekFrom::Current(-9)).is_err());
        assert_eq!(Prefix::new(&mut data, 99).unwrap().seek(SeekFrom::End(0)).unwrap(), 10);
    }

    #[test]
    fn json_numbers() {
        for yes in ["0", "1", "-3", "12.5"] {
            assert!(is_json_number(yes), "{yes}");
        }
        for no in ["", "01", "1.", ".5", "1e", "0x1", "-", "1 "] {
            assert!(!is_json_number(no), "{no}");
        }
    }

    #[test]
    fn objects_keep_order_and_duplicates() {
        let pairs = vec![
            ("Label".to_string(), JsonValue::Raw("1".into())),
            ("Label".to_string(), JsonValue::Str("a\"b\n".into())),
        ];
        assert_eq!(json_object(&pairs), r#"{"Label":1,"Label":"a\"b\n"}"#);
    }

    #[test]
    fn inflate_is_bounded() {
        use std::io::Write;
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&[0u8; 100_000]).unwrap();
        let data = enc.finish().unwrap();
        let mut limits = Limits::default();
        limits.max_inflated_bytes = 1000;
        assert!(matches!(
            inflate(&data, true, &limits, "t", 0),
            Err(Error::Limit { .. })
        ));
        assert_eq!(inflate(&data, true, &Limits::default(), "t", 0).unwrap().len(), 100_000);
        assert!(inflate(b"garbage", true, &limits, "t", 0).is_err());
    }
}
