//! Just enough AMF0 (Adobe Action Message Format 0, §2) to walk a script tag: skip any value,
//! list an object's or ECMA array's properties as raw spans, and read strings and numbers.
//!
//! Every value is bounded by the bytes of its tag and nesting by `Limits::max_depth`; a count
//! from the file never sizes an allocation.

use std::ops::Range;

use aigc_label_core::io::Bytes;

/// AMF0 type markers.
pub(crate) mod marker {
    pub const NUMBER: u8 = 0x00;
    pub const STRING: u8 = 0x02;
    pub const OBJECT: u8 = 0x03;
    pub const ECMA_ARRAY: u8 = 0x08;
    pub const OBJECT_END: u8 = 0x09;
    pub const STRICT_ARRAY: u8 = 0x0A;
    pub const LONG_STRING: u8 = 0x0C;
}

/// One property of an object or ECMA array, as byte ranges of the script data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Property {
    /// The whole property (key length, key, value).
    pub span: Range<usize>,
    /// The key's bytes.
    pub key: Range<usize>,
    /// The value, marker included.
    pub value: Range<usize>,
}

/// Skips one value; `None` when it is malformed, truncated or nested deeper than `depth_left`.
pub(crate) fn skip_value(b: &mut Bytes<'_>, depth_left: usize) -> Option<()> {
    let depth_left = depth_left.checked_sub(1)?;
    match b.u8()? {
        marker::NUMBER => b.take(8).map(drop),
        0x01 => b.take(1).map(drop),
        marker::STRING => b.u16_be().and_then(|n| b.take(usize::from(n))).map(drop),
        marker::OBJECT => properties(b, depth_left, false).map(drop),
        0x05 | 0x06 | 0x0D => Some(()),
        0x07 => b.take(2).map(drop),
        // Only the script's own array may stop at the end of the data (see `properties`): a
        // nested one that did would swallow every property after it, and a label written
        // after it would read as nested, not as the script's own (found by the flv fuzzer).
        marker::ECMA_ARRAY => {
            b.take(4)?;
            properties(b, depth_left, false).map(drop)
        }
        marker::STRICT_ARRAY => {
            let count = b.u32_be()?;
            for _ in 0..count {
                skip_value(b, depth_left)?;
            }
            Some(())
        }
        0x0B => b.take(10).map(drop),
        marker::LONG_STRING | 0x0F => b.u32_be().and_then(|n| b.take(n as usize)).map(drop),
        0x10 => {
            b.u16_be().and_then(|n| b.take(usize::from(n)))?;
            properties(b, depth_left, false).map(drop)
        }
        _ => None,
    }
}

/// Reads properties up to the object-end marker. An ECMA array that simply stops at the end of
/// the data (some writers leave the marker out) is accepted when `ecma` is set.
pub(crate) fn properties(b: &mut Bytes<'_>, depth_left: usize, ecma: bool) -> Option<Vec<Property>> {
    let mut out = Vec::new();
    loop {
        if ecma && b.remaining() == 0 {
            return Some(out);
        }
        let start = b.pos();
        let len = usize::from(b.u16_be()?);
        if len == 0 {
            if b.u8()? != marker::OBJECT_END {
                return None;
            }
            return Some(out);
        }
        let key_start = b.pos();
        b.take(len)?;
        let value_start = b.pos();
        skip_value(b, depth_left)?;
        out.push(Property {
            span: start..b.pos(),
            key: key_start..value_start,
            value: value_start..b.pos(),
        });
    }
}

/// The text of a string or long-string value.
pub(crate) fn string(value: &[u8]) -> Option<&[u8]> {
    let mut b = Bytes::new(value);
    match b.u8()? {
        marker::STRING => b.u16_be().and_then(|n| b.take(usize::from(n))),
        marker::LONG_STRING => b.u32_be().and_then(|n| b.take(n as usize)),
        _ => None,
    }
}

/// A string value: `string` up to 65535 bytes, `long string` beyond.
pub(crate) fn encode_string(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() + 5);
    match u16::try_from(bytes.len()) {
        Ok(n) => {
            out.push(marker::STRING);
            out.extend_from_slice(&n.to_be_bytes());
        }
        Err(_) => {
            out.push(marker::LONG_STRING);
            out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_nested_values_and_rejects_deep_ones() {
        // {a: 1.0, b: [ "x" ]}
        let mut v = vec![marker::OBJECT, 0, 1, b'a', 0];
        v.extend_from_slice(&1f64.to_be_bytes());
        v.extend_from_slice(&[
            0,
            1,
            b'b',
            marker::STRICT_ARRAY,
            0,
            0,
            0,
            1,
            marker::STRING,
            0,
            1,
            b'x',
            0,
            0,
            9,
        ]);
        let mut b = Bytes::new(&v);
        assert!(skip_value(&mut b, 8).is_some());
        assert_eq!(b.remaining(), 0);
        let mut b = Bytes::new(&v);
        assert!(skip_value(&mut b, 1).is_none());
        let mut deep = [marker::STRICT_ARRAY, 0, 0, 0, 1].repeat(100);
        deep.push(0x05);
        assert!(skip_value(&mut Bytes::new(&deep), 32).is_none());
    }

    #[test]
    fn strings_long_and_short() {
        assert_eq!(string(&encode_string("hi")), Some(&b"hi"[..]));
        let long = "x".repeat(70000);
        let enc = encode_string(&long);
        assert_eq!(enc[0], marker::LONG_STRING);
        assert_eq!(string(&enc).map(<[u8]>::len), Some(70000));
    }
}
