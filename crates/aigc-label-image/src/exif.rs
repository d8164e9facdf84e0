//! EXIF `UserComment`: where wild writers put the wrapped label, in every image format that
//! carries an EXIF block (JPEG APP1 `Exif\0\0`, PNG `eXIf`, WebP `EXIF`, the HEIF `Exif` item)
//! and in a TIFF file's own Exif IFD.
//!
//! The spec's carrier is XMP in each of these formats (spec section 4); some producers instead
//! write `{"AIGC":{...}}` into `UserComment` (EXIF 2.32 tag 0x9286, type UNDEFINED, in the Exif
//! IFD), and ExifTool shows it, so readers look there too (with a
//! [`carrier.place`](aigc_label_core::check::id::CARRIER_PLACE) warning) and writers blank it when
//! they put the label into XMP: same length, so no EXIF offset moves.
//!
//! The value starts with an 8-byte character code (EXIF 2.32 table 9): `ASCII\0\0\0`,
//! `UNICODE\0` (UCS-2 in the TIFF byte order unless a byte-order mark says otherwise),
//! `JIS\0\0\0\0\0`, or eight zero bytes for "undefined". Values without a known code are read
//! whole as UTF-8, as lenient readers do. [`UserComment::decode`] serves the TIFF carrier, which
//! streams its own IFDs (BigTIFF included) and hands over one value; [`user_comments`] walks an
//! EXIF block held in memory.
//!
//! Only IFD0 and the Exif IFD it points to (tag 0x8769) are visited: the IFD chain (IFD1, the
//! thumbnail) holds no `UserComment`. Every offset and count is checked against the block, each
//! IFD is visited once (a pointer cycle ends there), and the walk stops after
//! [`Limits::max_depth`] IFDs or [`Limits::max_structures`] entries. A malformed TIFF structure
//! yields no comments rather than an error: broken EXIF is common, and a label no EXIF reader
//! can reach is not one this reader can report.

use std::ops::Range;

use aigc_label_core::check::{Check, id};
use aigc_label_core::container::tiff::{IfdEntry, TiffData};
use aigc_label_core::json::{self, Shape};
use aigc_label_core::{Found, Limits};

/// The identifier before the TIFF header in a JPEG APP1 EXIF segment; some writers keep it in
/// PNG `eXIf`, WebP `EXIF` and HEIF `Exif` data too.
pub(crate) const SIGNATURE: &[u8] = b"Exif\0\0";

/// The tag of the pointer to the Exif IFD.
pub(crate) const TAG_EXIF_IFD: u16 = 0x8769;
/// The `UserComment` tag.
pub(crate) const TAG_USER_COMMENT: u16 = 0x9286;
/// How [`Found::carrier`] names a `UserComment` copy.
pub(crate) const CARRIER: &str = "EXIF UserComment";
/// TIFF field types whose values are one byte per count: BYTE, ASCII, UNDEFINED.
const BYTE_TYPES: [u16; 3] = [1, 2, 7];
const CODE_LEN: usize = 8;

/// The character code that opens a `UserComment` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Charset {
    /// `ASCII\0\0\0`.
    Ascii,
    /// `UNICODE\0`: UCS-2 / UTF-16.
    Unicode,
    /// `JIS\0\0\0\0\0`: JIS X 0208; read as UTF-8, which keeps the ASCII a label is made of.
    Jis,
    /// Eight zero bytes.
    Undefined,
    /// No known code: the whole value is text.
    Unmarked,
}

/// One `UserComment` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserComment {
    /// Where the text (after the character code) sits in the block it was read from.
    pub text_range: Range<usize>,
    /// The character code.
    pub charset: Charset,
    /// The text, decoded, with NUL and white-space padding trimmed.
    pub text: String,
}

impl UserComment {
    /// True when the text looks like a label: `AIGC` used as a key (`"AIGC":`, `AIGC:`,
    /// `&quot;AIGC&quot;:`), broken JSON included, or JSON with a `Label`. A comment that only
    /// mentions AIGC in prose is not one.
    pub fn holds_label(&self, limits: &Limits) -> bool {
        let text = self.text.as_str();
        let keyed = text.match_indices("AIGC").any(|(at, key)| {
            let rest = text.get(at + key.len()..).unwrap_or_default();
            let rest = rest.trim_start_matches(|c: char| c == '"' || c == '\'' || c.is_whitespace());
            let rest = rest.strip_prefix("&quot;").unwrap_or(rest).trim_start();
            rest.starts_with(':')
        });
        !text.is_empty() && (keyed || json::parse(text, limits.max_depth).is_ok_and(|p| p.get("Label").is_some()))
    }

    /// Overwrites the text in `payload` (the block it was read from) in place: spaces, or zero
    /// bytes for `UNICODE`. The character code, the value's length and therefore the whole TIFF
    /// layout stay as they were.
    pub fn blank(&self, payload: &mut [u8]) {
        if let Some(text) = payload.get_mut(self.text_range.clone()) {
            text.fill(self.fill());
        }
    }

    /// The byte [`UserComment::blank`] writes.
    pub fn fill(&self) -> u8 {
        if self.charset == Charset::Unicode { 0 } else { b' ' }
    }

    /// Decodes a `UserComment` value that sits at `at` in its block, read in byte `order`.
    pub fn decode(value: &[u8], at: usize, order: Order) -> UserComment {
        let (charset, text_at) = match value.get(..CODE_LEN) {
            Some(b"ASCII\0\0\0") => (Charset::Ascii, CODE_LEN),
            Some(b"UNICODE\0") => (Charset::Unicode, CODE_LEN),
            Some(b"JIS\0\0\0\0\0") => (Charset::Jis, CODE_LEN),
            Some([0, 0, 0, 0, 0, 0, 0, 0]) => (Charset::Undefined, CODE_LEN),
            _ => (Charset::Unmarked, 0),
        };
        let raw = value.get(text_at..).unwrap_or_default();
        let text = match charset {
            Charset::Unicode => decode_utf16(raw, order),
            _ => String::from_utf8_lossy(raw).into_owned(),
        };
        UserComment {
            text_range: at + text_at..at + value.len(),
            charset,
            text: text.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_string(),
        }
    }

    /// The copy `find` reports for a comment that holds a label: `range` is the structure
    /// that holds it, `detail` says where the format's standard carrier is.
    pub fn found(self, range: Range<u64>, detail: &str) -> Found {
        Found {
            carrier: CARRIER.into(),
            range,
            text: self.text,
            expected_shape: Shape::Wrapped,
            checks: vec![Check::warn(
                id::CARRIER_PLACE,
                format!("label in EXIF UserComment; {detail}"),
            )],
        }
    }
}

/// Where the TIFF header starts in an EXIF block: at 0, or after a leading [`SIGNATURE`].
pub(crate) fn tiff_start(block: &[u8]) -> Option<usize> {
    [0, SIGNATURE.len()]
        .into_iter()
        .find(|&at| block.get(at..).is_some_and(|t| TiffData::parse(t).is_some()))
}

/// The `UserComment`s of `block` (an EXIF block whose TIFF header starts at `tiff_at`) that
/// hold a label; ranges are in `block`.
pub(crate) fn labelled(block: &[u8], tiff_at: usize, limits: &Limits) -> Vec<UserComment> {
    let tiff = block.get(tiff_at..).unwrap_or_default();
    user_comments(tiff, limits)
        .into_iter()
        .filter(|c| c.holds_label(limits))
        .map(|mut c| {
            c.text_range = c.text_range.start + tiff_at..c.text_range.end + tiff_at;
            c
        })
        .collect()
}

/// `block` with every labelled `UserComment` blanked, or `None` when none holds a label.
pub(crate) fn blanked(mut block: Vec<u8>, tiff_at: usize, limits: &Limits) -> Option<Vec<u8>> {
    (blank_labels(&mut block, tiff_at, limits) > 0).then_some(block)
}

/// Blanks every labelled `UserComment` of `block` in place; returns how many.
pub(crate) fn blank_labels(block: &mut [u8], tiff_at: usize, limits: &Limits) -> usize {
    let comments = labelled(block, tiff_at, limits);
    for comment in &comments {
        comment.blank(block);
    }
    comments.len()
}

/// Every `UserComment` in IFD0 and the Exif IFD of `tiff`, a TIFF structure held in memory;
/// empty when it does not start with a TIFF header. Ranges are in `tiff`.
fn user_comments(tiff: &[u8], limits: &Limits) -> Vec<UserComment> {
    let Some((tiff, ifd0)) = TiffData::parse(tiff) else {
        return Vec::new();
    };
    let mut queue = vec![ifd0];
    let mut visited: Vec<u32> = Vec::new();
    let mut entries_left = limits.max_structures;
    let mut found = Vec::new();
    while let Some(ifd) = queue.pop() {
        if visited.contains(&ifd) || visited.len() >= limits.max_depth {
            continue;
        }
        visited.push(ifd);
        for entry in tiff.entries(ifd) {
            if entries_left == 0 {
                return found;
            }
            entries_left -= 1;
            match entry.tag {
                TAG_EXIF_IFD => queue.extend(tiff.u32(entry.at + 8)),
                TAG_USER_COMMENT => found.extend(user_comment(&tiff, &entry)),
                _ => {}
            }
        }
    }
    found
}

pub(crate) use aigc_label_core::container::Order;

/// Reads a `UserComment` entry's value; `None` when it is too short to hold a label, of a type
/// that is not one byte per count, or out of bounds. Ranges are in the TIFF data.
fn user_comment(tiff: &TiffData<'_>, entry: &IfdEntry) -> Option<UserComment> {
    if !BYTE_TYPES.contains(&entry.kind) || entry.count <= 4 {
        return None;
    }
    let value = tiff.value(entry, usize::try_from(entry.count).ok()?)?;
    let start = usize::try_from(tiff.u32(entry.field_at())?).ok()?;
    Some(UserComment::decode(value, start, tiff.order))
}

/// UTF-16 in `order`, unless a byte-order mark says otherwise; an odd last byte is dropped.
fn decode_utf16(raw: &[u8], order: Order) -> String {
    let (order, raw) = match raw {
        [0xFE, 0xFF, rest @ ..] => (Order::Big, rest),
        [0xFF, 0xFE, rest @ ..] => (Order::Little, rest),
        _ => (order, raw),
    };
    let units = raw.chunks_exact(2).map(|p| match order {
        Order::Little => u16::from_le_bytes([p[0], p[1]]),
        Order::Big => u16::from_be_bytes([p[0], p[1]]),
    });
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A big-endian `Exif\0\0` payload whose Exif IFD holds `comment` as `UserComment`.
    pub(crate) fn payload_be(comment: &[u8]) -> Vec<u8> {
        exif_payload(Order::Big, comment)
    }

    /// The same without the `Exif\0\0` identifier, in byte order `order`: a bare TIFF block.
    pub(crate) fn tiff_block(order: Order, comment: &[u8]) -> Vec<u8> {
        exif_payload(order, comment).split_off(SIGNATURE.len())
    }

    /// Every `UserComment` of an `Exif\0\0` payload, ranges in the payload.
    fn user_comments(payload: &[u8], limits: &Limits) -> Vec<UserComment> {
        let Some(at) = payload.starts_with(SIGNATURE).then_some(SIGNATURE.len()) else {
            return Vec::new();
        };
        let Some(tiff) = payload.get(at..) else {
            return Vec::new();
        };
        super::user_comments(tiff, limits)
            .into_iter()
            .map(|mut c| {
                c.text_range = c.text_range.start + at..c.text_range.end + at;
                c
            })
            .collect()
    }

    /// An `Exif\0\0` payload: IFD0 with one pointer to an Exif IFD holding `comment`.
    fn exif_payload(order: Order, comment: &[u8]) -> Vec<u8> {
        let u16b = |v: u16| match order {
            Order::Little => v.to_le_bytes().to_vec(),
            Order::Big => v.to_be_bytes().to_vec(),
        };
        let u32b = |v: u32| match order {
            Order::Little => v.to_le_bytes().to_vec(),
            Order::Big => v.to_be_bytes().to_vec(),
        };
        let mut t = Vec::new();
        t.extend_from_slice(if order == Order::Little { b"II" } else { b"MM" });
        t.extend(u16b(42));
        t.extend(u32b(8));
        // IFD0 at 8: one entry, then the next-IFD offset.
        t.extend(u16b(1));
        t.extend(u16b(TAG_EXIF_IFD));
        t.extend(u16b(4));
        t.extend(u32b(1));
        t.extend(u32b(26));
        t.extend(u32b(0));
        // Exif IFD at 26: UserComment, value at 44.
        t.extend(u16b(1));
        t.extend(u16b(TAG_USER_COMMENT));
        t.extend(u16b(7));
        t.extend(u32b(comment.len() as u32));
        t.extend(u32b(44));
        t.extend(u32b(0));
        t.extend_from_slice(comment);
        let mut p = SIGNATURE.to_vec();
        p.extend(t);
        p
    }

    const WRAPPED: &str = r#"{"AIGC":{"Label":"1","ContentProducer":"p","ProduceID":"x"}}"#;

    #[test]
    fn reads_ascii_and_unicode_in_both_orders() {
        let limits = Limits::default();
        for order in [Order::Little, Order::Big] {
            let mut ascii = b"ASCII\0\0\0".to_vec();
            ascii.extend_from_slice(WRAPPED.as_bytes());
            ascii.push(0);
            let comments = user_comments(&exif_payload(order, &ascii), &limits);
            assert_eq!(comments.len(), 1);
            assert_eq!(comments[0].charset, Charset::Ascii);
            assert_eq!(comments[0].text, WRAPPED);
            assert!(comments[0].holds_label(&limits));

            let mut unicode = b"UNICODE\0".to_vec();
            for unit in WRAPPED.encode_utf16() {
                unicode.extend(match order {
                    Order::Little => unit.to_le_bytes(),
                    Order::Big => unit.to_be_bytes(),
                });
            }
            let mut payload = exif_payload(order, &unicode);
            let comments = user_comments(&payload, &limits);
            assert_eq!(comments[0].charset, Charset::Unicode);
            assert_eq!(comments[0].text, WRAPPED);

            let len = payload.len();
            comments[0].blank(&mut payload);
            assert_eq!(payload.len(), len);
            assert!(payload.ends_with(&[0; 16]));
            let after = user_comments(&payload, &limits);
            assert_eq!(after[0].text, "");
            assert!(!after[0].holds_label(&limits));
        }
    }

    #[test]
    fn reads_a_byte_order_mark_and_unmarked_text() {
        let limits = Limits::default();
        let mut unicode = b"UNICODE\0\xFF\xFE".to_vec();
        for unit in "AIGC".encode_utf16() {
            unicode.extend(unit.to_le_bytes());
        }
        let comments = user_comments(&exif_payload(Order::Big, &unicode), &limits);
        assert_eq!(comments[0].text, "AIGC");
        let comments = user_comments(&exif_payload(Order::Big, WRAPPED.as_bytes()), &limits);
        assert_eq!(comments[0].charset, Charset::Unmarked);
        assert!(comments[0].holds_label(&limits));
        let comments = user_comments(&exif_payload(Order::Big, b"ASCII\0\0\0just a photo"), &limits);
        assert!(!comments[0].holds_label(&limits));
        // AIGC as a key, in broken or escaped JSON too, is a label; AIGC in prose is not.
        for (text, label) in [
            (&b"made with AIGC tools"[..], false),
            (b"AIGC", false),
            (b"{AIGC:{Label:1}}", true),
            (b"{ 'AIGC' : {} }", true),
            (b"{&quot;AIGC&quot;:{}}", true),
            (br#"{"Label":"1"}"#, true),
        ] {
            let comments = user_comments(&exif_payload(Order::Big, &[b"ASCII\0\0\0", text].concat()), &limits);
            assert_eq!(
                comments[0].holds_label(&limits),
                label,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn finds_the_tiff_header_with_or_without_the_identifier() {
        let limits = Limits::default();
        let text = [b"ASCII\0\0\0".as_slice(), WRAPPED.as_bytes()].concat();
        let bare = tiff_block(Order::Little, &text);
        let prefixed = payload_be(&text);
        assert_eq!(tiff_start(&bare), Some(0));
        assert_eq!(tiff_start(&prefixed), Some(SIGNATURE.len()));
        assert_eq!(tiff_start(b"Exif\0\0junk"), None);
        for mut block in [bare, prefixed] {
            let at = tiff_start(&block).unwrap();
            let found = labelled(&block, at, &limits);
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].text, WRAPPED);
            assert_eq!(&block[found[0].text_range.clone()], WRAPPED.as_bytes());
            let len = block.len();
            assert_eq!(blank_labels(&mut block, at, &limits), 1);
            assert_eq!(block.len(), len);
            assert!(labelled(&block, at, &limits).is_empty());
        }
    }

    #[test]
    fn survives_hostile_structures() {
        let limits = Limits::default();
        let good = exif_payload(Order::Little, b"ASCII\0\0\0AIGC here");
        // Every truncation and every single-byte corruption: no panic.
        for cut in 0..good.len() {
            let _ = user_comments(&good[..cut], &limits);
        }
        for i in SIGNATURE.len()..good.len() {
            for v in [0x00, 0x01, 0x7F, 0xFF] {
                let mut bad = good.clone();
                bad[i] = v;
                let _ = user_comments(&bad, &limits);
            }
        }
        // The Exif IFD pointing back at IFD0, and at itself: each visited once.
        let mut cycle = good.clone();
        let at = SIGNATURE.len() + 8 + 2 + 8;
        cycle[at..at + 4].copy_from_slice(&8u32.to_le_bytes());
        assert!(user_comments(&cycle, &limits).is_empty());
        let mut self_loop = exif_payload(Order::Little, b"ASCII\0\0\0AIGC here");
        let exif_ifd = SIGNATURE.len() + 26;
        self_loop[exif_ifd + 2..exif_ifd + 4].copy_from_slice(&TAG_EXIF_IFD.to_le_bytes());
        self_loop[exif_ifd + 10..exif_ifd + 14].copy_from_slice(&26u32.to_le_bytes());
        assert!(user_comments(&self_loop, &limits).is_empty());
        // A huge entry count over a short IFD reads only the entries that exist.
        let mut many = good;
        let ifd0 = SIGNATURE.len() + 8;
        many[ifd0..ifd0 + 2].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(!user_comments(&many, &limits).is_empty());
    }
}
