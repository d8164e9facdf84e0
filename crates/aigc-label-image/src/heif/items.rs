//! The item boxes of a HEIF `meta` box: `iinf`/`infe` (what each item is) and `iloc` (where its
//! bytes are), ISO/IEC 14496-12 8.11.6 and 8.11.3, parsed from the buffered `meta` with every
//! field's position kept, so a writer can patch fields in place and append entries.

use std::ops::Range;

use aigc_label_core::io::Bytes;
use aigc_label_core::{Error, Result};

use super::FORMAT;
use super::boxes::{self, BoxRef, Budget, put_uint, uint};

/// The content types that mark an XMP `mime` item (XMP part 3 and HEIF, ISO/IEC 23008-12 A.2).
const XMP_TYPES: [&[u8]; 2] = [b"application/rdf+xml", b"application/xmp+xml"];

/// One `infe` entry.
#[derive(Debug, Clone)]
pub(super) struct Infe {
    /// The `infe` box in the `meta` buffer.
    pub range: Range<usize>,
    pub version: u8,
    pub flags: u32,
    pub id: u32,
    pub protection: u16,
    /// `mime` for MIME items (always, for versions 0 and 1).
    pub item_type: [u8; 4],
    pub name: Vec<u8>,
    pub content_type: Vec<u8>,
    /// `None` when the field is absent, which means no encoding, like an empty one.
    pub encoding: Option<Vec<u8>>,
}

impl Infe {
    fn parse(buf: &[u8], b: &BoxRef) -> Result<Infe> {
        let bad = |what: &'static str| Error::malformed(FORMAT, b.start, what);
        let (version, flags, mut cur) = boxes::full_box(buf, b)?;
        let id = match version {
            0..=2 => cur.u16_be().map(u32::from),
            3 => cur.u32_be(),
            _ => return Err(bad("infe version above 3")),
        }
        .ok_or_else(|| bad("infe ends before its item id"))?;
        let protection = cur
            .u16_be()
            .ok_or_else(|| bad("infe ends before its protection index"))?;
        let mut item_type = *b"mime";
        if version >= 2 {
            let t = cur.take(4).ok_or_else(|| bad("infe ends before its item type"))?;
            item_type.copy_from_slice(t);
        }
        let name = string(&mut cur).ok_or_else(|| bad("infe item name is not terminated"))?;
        let (content_type, encoding) = if &item_type == b"mime" {
            let content_type = string(&mut cur).ok_or_else(|| bad("infe content type is not terminated"))?;
            let encoding = (cur.remaining() > 0).then(|| string(&mut cur).unwrap_or_else(|| cur.rest().to_vec()));
            (content_type, encoding)
        } else {
            (Vec::new(), None)
        };
        Ok(Infe {
            range: b.range_in(),
            version,
            flags,
            id,
            protection,
            item_type,
            name,
            content_type,
            encoding,
        })
    }

    /// True for a `mime` item whose content type is XMP.
    pub fn is_xmp(&self) -> bool {
        &self.item_type == b"mime" && XMP_TYPES.iter().any(|t| self.content_type.eq_ignore_ascii_case(t))
    }

    /// The content encoding, when there is one (`deflate` is the only one defined).
    pub fn encoding(&self) -> Option<&[u8]> {
        self.encoding.as_deref().filter(|e| !e.is_empty())
    }

    /// This entry as an `infe` box without a content encoding (for an XMP item whose packet is
    /// rewritten uncompressed). Versions 0 and 1 become 2, which every HEIF reader requires.
    pub fn encode_plain(&self) -> Vec<u8> {
        new_infe(
            self.id,
            self.flags,
            self.protection,
            &self.name,
            &self.content_type,
            self.version,
        )
    }
}

/// A new `mime` `infe` box, version 2 (3 when `id` needs 32 bits, or `min_version` is 3).
pub(super) fn new_infe(
    id: u32,
    flags: u32,
    protection: u16,
    name: &[u8],
    content_type: &[u8],
    min_version: u8,
) -> Vec<u8> {
    let version = if id > u32::from(u16::MAX) || min_version >= 3 {
        3
    } else {
        2
    };
    let mut body = Vec::new();
    if version == 3 {
        body.extend_from_slice(&id.to_be_bytes());
    } else {
        body.extend_from_slice(&(id as u16).to_be_bytes());
    }
    body.extend_from_slice(&protection.to_be_bytes());
    body.extend_from_slice(b"mime");
    for s in [name, content_type] {
        body.extend_from_slice(s);
        body.push(0);
    }
    boxes::full(b"infe", version, flags, &body)
}

/// A NUL-terminated string; a string that runs to the end of the box is accepted too.
fn string(cur: &mut Bytes<'_>) -> Option<Vec<u8>> {
    if cur.remaining() == 0 {
        return None;
    }
    match cur.take_until(0) {
        Some(s) => Some(s.to_vec()),
        None => cur.take(cur.remaining()).map(<[u8]>::to_vec),
    }
}

/// The `iinf` box: its entries and where the count field and the last entry are.
#[derive(Debug)]
pub(super) struct Iinf {
    pub b: BoxRef,
    pub version: u8,
    pub count_at: usize,
    pub entries: Vec<Infe>,
    /// End of the last entry: new entries go here.
    pub entries_end: usize,
}

impl Iinf {
    pub fn parse(buf: &[u8], b: &BoxRef, budget: &mut Budget) -> Result<Iinf> {
        let (version, _, mut cur) = boxes::full_box(buf, b)?;
        let count_len = if version == 0 { 2 } else { 4 };
        let count = uint(&mut cur, count_len).ok_or_else(|| Error::truncated(FORMAT, b.start, "iinf entry count"))?;
        let count_at = b.payload_in().start + 4;
        let first = count_at + usize::from(count_len);
        let mut entries = Vec::new();
        let mut entries_end = first;
        for child in boxes::children(buf, first..b.payload_in().end, budget)? {
            if child.is(b"infe") && (entries.len() as u64) < count {
                entries.push(Infe::parse(buf, &child)?);
                entries_end = child.range_in().end;
            }
        }
        if (entries.len() as u64) < count {
            return Err(Error::malformed(
                FORMAT,
                b.start,
                "iinf holds fewer infe boxes than it counts",
            ));
        }
        // An item id names one item: two `infe` boxes with one id would make two XMP items of
        // one `iloc` entry (each reporting the label written there: a crafted file the heif
        // fuzz target found).
        let mut ids: Vec<u32> = entries.iter().map(|e| e.id).collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w.first() == w.get(1)) {
            return Err(Error::malformed(
                FORMAT,
                b.start,
                format!("item {} has two infe boxes", w.first().copied().unwrap_or(0)),
            ));
        }
        Ok(Iinf {
            b: *b,
            version,
            count_at,
            entries,
            entries_end,
        })
    }

    pub fn count_width(&self) -> u8 {
        if self.version == 0 { 2 } else { 4 }
    }
}

/// A number in the `iloc` box and where it is.
#[derive(Debug, Clone, Copy)]
pub(super) struct Field {
    /// Buffer offset (in `meta`); meaningless when `width` is 0.
    pub at: usize,
    pub width: u8,
    pub value: u64,
}

/// One extent of an item.
#[derive(Debug, Clone, Copy)]
pub(super) struct Extent {
    pub offset: Field,
    /// 0: the extent runs to the end of the file (or of `idat`).
    pub length: Field,
}

/// One `iloc` entry.
#[derive(Debug, Clone)]
pub(super) struct Location {
    pub id: u32,
    /// 0: file offsets, 1: offsets into `idat`, 2: offsets into another item.
    pub method: u8,
    pub data_reference: u16,
    pub base: Field,
    pub extents: Vec<Extent>,
    /// The entry's bytes in the `meta` buffer.
    pub range: Range<usize>,
}

/// The `iloc` box: field widths and entries.
#[derive(Debug)]
pub(super) struct Iloc {
    pub b: BoxRef,
    pub version: u8,
    pub offset_size: u8,
    pub length_size: u8,
    pub base_size: u8,
    pub index_size: u8,
    pub count_at: usize,
    pub items: Vec<Location>,
    /// End of the last entry: new entries go here.
    pub entries_end: usize,
}

impl Iloc {
    pub fn parse(buf: &[u8], b: &BoxRef, budget: &mut Budget) -> Result<Iloc> {
        let bad = |what: &'static str| Error::malformed(FORMAT, b.start, what);
        let (version, _, mut cur) = boxes::full_box(buf, b)?;
        if version > 2 {
            return Err(bad("iloc version above 2"));
        }
        // Positions below are `payload` plus the cursor's position, which counts from the
        // start of the payload (the version and flags included).
        let payload = b.payload_in().start;
        let sizes = cur.u16_be().ok_or_else(|| bad("iloc ends before its field sizes"))?;
        let [offset_size, length_size, base_size, index_size] =
            [12u16, 8, 4, 0].map(|shift| ((sizes >> shift) & 0xF) as u8);
        let index_size = if version == 0 { 0 } else { index_size };
        if ![offset_size, length_size, base_size, index_size]
            .iter()
            .all(|s| matches!(s, 0 | 4 | 8))
        {
            return Err(bad("iloc field size is not 0, 4 or 8"));
        }
        let id_width = if version < 2 { 2 } else { 4 };
        let count = uint(&mut cur, id_width).ok_or_else(|| bad("iloc ends before its item count"))?;
        let mut iloc = Iloc {
            b: *b,
            version,
            offset_size,
            length_size,
            base_size,
            index_size,
            count_at: payload + 6,
            items: Vec::new(),
            entries_end: 0,
        };
        for _ in 0..count {
            budget.take(FORMAT, 1, b.start)?;
            let item = iloc
                .entry(&mut cur, payload, budget)?
                .ok_or_else(|| bad("iloc entry runs past the box"))?;
            iloc.items.push(item);
        }
        iloc.entries_end = payload + cur.pos();
        Ok(iloc)
    }

    fn id_width(&self) -> u8 {
        if self.version < 2 { 2 } else { 4 }
    }

    /// Reads one entry; `payload` is the buffer offset where `cur` started. `None` when the
    /// entry runs past the box. Extents count against the budget before they are stored
    /// (with all field sizes 0 an extent takes no bytes at all).
    fn entry(&self, cur: &mut Bytes<'_>, payload: usize, budget: &mut Budget) -> Result<Option<Location>> {
        let start = payload + cur.pos();
        let head = (|| {
            let id = u32::try_from(uint(cur, self.id_width())?).ok()?;
            let method = if self.version >= 1 {
                (cur.u16_be()? & 0xF) as u8
            } else {
                0
            };
            let data_reference = cur.u16_be()?;
            let base = self.field(cur, payload, self.base_size)?;
            let count = cur.u16_be()?;
            Some((id, method, data_reference, base, count))
        })();
        let Some((id, method, data_reference, base, count)) = head else {
            return Ok(None);
        };
        let per_extent = usize::from(self.index_size + self.offset_size + self.length_size);
        if usize::from(count) * per_extent > cur.remaining() {
            return Ok(None);
        }
        // With every extent field 0 bytes wide an extent is "the whole source" and takes no
        // bytes: a second one could only repeat the first, and thousands cost nothing to
        // declare. Work stays in proportion to the bytes of the box.
        if per_extent == 0 && count > 1 {
            return Err(Error::malformed(
                FORMAT,
                start as u64,
                "iloc entry has several extents and no field to tell them apart",
            ));
        }
        budget.take(FORMAT, u64::from(count), start as u64)?;
        let mut extents = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let extent = (|| {
                uint(cur, self.index_size)?;
                let offset = self.field(cur, payload, self.offset_size)?;
                let length = self.field(cur, payload, self.length_size)?;
                Some(Extent { offset, length })
            })();
            let Some(extent) = extent else {
                return Ok(None);
            };
            extents.push(extent);
        }
        Ok(Some(Location {
            id,
            method,
            data_reference,
            base,
            extents,
            range: start..payload + cur.pos(),
        }))
    }

    fn field(&self, cur: &mut Bytes<'_>, payload: usize, width: u8) -> Option<Field> {
        let at = payload + cur.pos();
        Some(Field {
            at,
            width,
            value: uint(cur, width)?,
        })
    }

    pub fn count_width(&self) -> u8 {
        self.id_width()
    }

    /// A new entry: item `id` in one extent of `len` bytes at file offset `at`
    /// (construction method 0).
    ///
    /// # Errors
    /// [`Error::Unsupported`] when the box's field sizes cannot express it.
    pub fn encode_entry(&self, id: u32, at: u64, len: u64) -> Result<Vec<u8>> {
        let unsupported = || {
            Error::capacity(
                "heif",
                "the iloc field sizes cannot express where the XMP item is written",
            )
        };
        if self.length_size == 0 || (self.offset_size == 0 && self.base_size == 0) {
            return Err(unsupported());
        }
        let mut out = Vec::new();
        put_uint(&mut out, u64::from(id), self.id_width()).ok_or_else(unsupported)?;
        if self.version >= 1 {
            out.extend_from_slice(&0u16.to_be_bytes());
        }
        out.extend_from_slice(&0u16.to_be_bytes());
        let (base, offset) = if self.offset_size == 0 { (at, 0) } else { (0, at) };
        put_uint(&mut out, base, self.base_size).ok_or_else(unsupported)?;
        out.extend_from_slice(&1u16.to_be_bytes());
        put_uint(&mut out, 0, self.index_size).ok_or_else(unsupported)?;
        put_uint(&mut out, offset, self.offset_size).ok_or_else(unsupported)?;
        put_uint(&mut out, len, self.length_size).ok_or_else(unsupported)?;
        Ok(out)
    }

    pub fn item(&self, id: u32) -> Option<&Location> {
        self.items.iter().find(|i| i.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iloc_entries_keep_field_positions() {
        // version 1, offset 4, length 4, base 4, index 0; one item with two extents.
        let mut body = vec![0x44, 0x40, 0, 1];
        body.extend([0, 7, 0, 0, 0, 0]); // id 7, method 0, data reference 0
        body.extend(100u32.to_be_bytes()); // base
        body.extend([0, 2]);
        body.extend([0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 9, 0, 0, 0, 3]);
        let buf = boxes::full(b"iloc", 1, 0, &body);
        let b = boxes::children(&buf, 0..buf.len(), &mut Budget::new(&Default::default())).unwrap()[0];
        let iloc = Iloc::parse(&buf, &b, &mut Budget::new(&Default::default())).unwrap();
        let item = iloc.item(7).unwrap();
        assert_eq!(item.base.value, 100);
        assert_eq!(item.extents.len(), 2);
        assert_eq!(item.extents[1].offset.value, 9);
        assert_eq!(&buf[item.extents[1].offset.at..][..4], &9u32.to_be_bytes());
        assert_eq!(iloc.entries_end, buf.len());
        let entry = iloc.encode_entry(8, 1000, 50).unwrap();
        assert_eq!(entry.len(), 2 + 2 + 2 + 4 + 2 + 4 + 4);
    }

    #[test]
    fn iloc_with_too_many_extents_is_refused() {
        let mut body = vec![0x44, 0x00, 0, 1, 0, 7, 0, 0];
        body.extend([0xFF, 0xFF, 0, 0, 0, 1]);
        let buf = boxes::full(b"iloc", 0, 0, &body);
        let b = boxes::children(&buf, 0..buf.len(), &mut Budget::new(&Default::default())).unwrap()[0];
        assert!(Iloc::parse(&buf, &b, &mut Budget::new(&Default::default())).is_err());
    }

    #[test]
    fn infe_versions_and_encodings() {
        let v2 = new_infe(3, 1, 0, b"", b"application/rdf+xml", 2);
        let b = boxes::children(&v2, 0..v2.len(), &mut Budget::new(&Default::default())).unwrap()[0];
        let infe = Infe::parse(&v2, &b).unwrap();
        assert!(infe.is_xmp());
        assert_eq!(infe.encoding(), None);
        assert_eq!(infe.encode_plain(), v2);
        let mut deflated = v2[..v2.len()].to_vec();
        deflated.extend(b"deflate\0");
        deflated[3] += 8;
        let b = boxes::children(&deflated, 0..deflated.len(), &mut Budget::new(&Default::default())).unwrap()[0];
        let infe = Infe::parse(&deflated, &b).unwrap();
        assert_eq!(infe.encoding(), Some(&b"deflate"[..]));
        assert_eq!(infe.encode_plain(), v2);
        let v3 = new_infe(70000, 0, 0, b"x", b"application/rdf+xml", 2);
        assert_eq!(v3[8], 3);
    }
}
