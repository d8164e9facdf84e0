//! Small helpers shared by the carriers: JSON text for labels built from other syntaxes, XML
//! escaping, and bounded reads.

use std::io::Read;

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

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
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
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Reads all of `reader` (a decompressor) into memory, failing once more than `limit` bytes
/// come out: a compression bomb stops at the limit instead of filling memory.
pub(crate) fn read_bounded(reader: &mut dyn Read, limit: u64, format: &'static str, offset: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 << 10];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::malformed(format, offset, format!("cannot inflate: {e}"))),
        };
        if out.len() as u64 + n as u64 > limit {
            return Err(Error::Limit {
                format,
                offset,
                what: "inflated size",
                found: out.len() as u64 + n as u64,
                limit,
            });
        }
        out.try_reserve(n).map_err(|_| Error::Limit {
            format,
            offset,
            what: "inflated size",
            found: out.len() as u64 + n as u64,
            limit,
        })?;
        out.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
}

/// Inflates zlib (`zlib` true, PDF FlateDecode) or raw deflate (zip) data within
/// [`Limits::max_inflated_bytes`].
pub(crate) fn inflate(data: &[u8], zlib: bool, limits: &Limits, format: &'static str, offset: u64) -> Result<Vec<u8>> {
    if zlib {
        read_bounded(
            &mut flate2::read::ZlibDecoder::new(data),
            limits.max_inflated_bytes,
            format,
            offset,
        )
    } else {
        read_bounded(
            &mut flate2::read::DeflateDecoder::new(data),
            limits.max_inflated_bytes,
            format,
            offset,
        )
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
