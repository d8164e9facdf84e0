//! TIFF structures (TIFF 6.0 section 2): the numbers of either layout ([`Codec`]: byte order,
//! classic or BigTIFF) and the one IFD entry decoder ([`Codec::entry`]), which the TIFF carrier
//! uses on the file it streams; and TIFF data held in memory ([`TiffData`]), for the EXIF blocks
//! every image format carries (JPEG APP1, PNG `eXIf`, WebP `EXIF`, the HEIF `Exif` item) and for
//! the trace scanner.
//!
//! Every read is checked against the data and returns `None` out of bounds: broken EXIF is
//! common, and a reader skips what it cannot reach rather than failing the whole file. Walking
//! the IFD graph (which IFDs to visit, how many, cycles) is left to the caller, which bounds it
//! by [`crate::Limits`].

pub use super::Order;

/// Bytes of one IFD entry: tag, type, count, value or offset.
pub const IFD_ENTRY_LEN: usize = 12;

/// Classic TIFF (version 42) or BigTIFF (version 43): the widths of the fields that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// 32-bit offsets and counts, 12-byte entries.
    Classic,
    /// 64-bit offsets and counts, 20-byte entries.
    Big,
}

impl Layout {
    /// Width of an offset, of an entry's count and of its inline value field.
    #[inline]
    pub fn word(self) -> u64 {
        match self {
            Layout::Classic => 4,
            Layout::Big => 8,
        }
    }

    /// Width of the entry count that opens an IFD.
    #[inline]
    pub fn count_len(self) -> u64 {
        match self {
            Layout::Classic => 2,
            Layout::Big => 8,
        }
    }

    /// Tag, type, count and value field.
    #[inline]
    pub fn entry_len(self) -> u64 {
        4 + 2 * self.word()
    }

    /// Where the header holds the offset of IFD0.
    #[inline]
    pub fn ifd0_pointer_at(self) -> u64 {
        match self {
            Layout::Classic => 4,
            Layout::Big => 8,
        }
    }

    /// The header's length: byte order, version (and BigTIFF's offset size), offset of IFD0.
    #[inline]
    pub fn header_len(self) -> u64 {
        self.ifd0_pointer_at() + self.word()
    }

    /// Largest offset the layout can express.
    #[inline]
    pub fn max_offset(self) -> u64 {
        match self {
            Layout::Classic => u64::from(u32::MAX),
            Layout::Big => u64::MAX,
        }
    }

    /// Most entries one IFD can count.
    #[inline]
    pub fn max_entries(self) -> u64 {
        match self {
            Layout::Classic => u64::from(u16::MAX),
            Layout::Big => u64::MAX,
        }
    }
}

/// Byte order and layout: how to read and write a TIFF's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec {
    /// The byte order (`II` or `MM`).
    pub order: Order,
    /// Classic or BigTIFF.
    pub layout: Layout,
}

/// The fields of one IFD entry, in either layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields {
    /// The tag.
    pub tag: u16,
    /// The field type (1 BYTE, 2 ASCII, 7 UNDEFINED, ...).
    pub kind: u16,
    /// The number of values.
    pub count: u64,
    /// The value field: the value itself when it fits there, else its offset.
    pub field: u64,
}

impl Codec {
    /// The unsigned number in `bytes` (at most eight; more are ignored).
    #[inline]
    pub fn uint(self, bytes: &[u8]) -> u64 {
        let bytes = bytes.get(..8).unwrap_or(bytes);
        let fold = |acc: u64, &b: &u8| (acc << 8) | u64::from(b);
        match self.order {
            Order::Big => bytes.iter().fold(0, fold),
            Order::Little => bytes.iter().rev().fold(0, fold),
        }
    }

    /// `value` in `width` bytes (at most eight), in this byte order.
    #[inline]
    pub fn put(self, value: u64, width: u64) -> Vec<u8> {
        let width = usize::try_from(width.min(8)).unwrap_or(8);
        let mut out: Vec<u8> = value.to_le_bytes().iter().copied().take(width).collect();
        if self.order == Order::Big {
            out.reverse();
        }
        out
    }

    /// Decodes one IFD entry from its raw bytes ([`Layout::entry_len`] of them; missing bytes
    /// read as zeros).
    #[inline]
    pub fn entry(self, raw: &[u8]) -> Fields {
        let word = usize::try_from(self.layout.word()).unwrap_or(8);
        let part = |from: usize, len: usize| raw.get(from..from + len).unwrap_or_default();
        Fields {
            tag: u16::try_from(self.uint(part(0, 2))).unwrap_or(0),
            kind: u16::try_from(self.uint(part(2, 2))).unwrap_or(0),
            count: self.uint(part(4, word)),
            field: self.uint(part(4 + word, word)),
        }
    }

    /// An IFD entry as bytes.
    #[inline]
    pub fn encode_entry(self, fields: Fields) -> Vec<u8> {
        let word = self.layout.word();
        let mut out = self.put(u64::from(fields.tag), 2);
        out.extend(self.put(u64::from(fields.kind), 2));
        out.extend(self.put(fields.count, word));
        out.extend(self.put(fields.field, word));
        out
    }
}

/// One 12-byte IFD entry: where it sits in the TIFF data, and its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfdEntry {
    /// Offset of the entry in the TIFF data.
    pub at: usize,
    /// The tag.
    pub tag: u16,
    /// The field type (1 BYTE, 2 ASCII, 7 UNDEFINED, ...).
    pub kind: u16,
    /// The number of values.
    pub count: u32,
}

impl IfdEntry {
    /// Offset of the 4-byte value-or-offset field.
    #[inline]
    pub fn field_at(&self) -> usize {
        self.at + 8
    }
}

/// TIFF data held in memory, in its byte order, with reads that return `None` out of bounds.
#[derive(Debug, Clone, Copy)]
pub struct TiffData<'a> {
    /// The TIFF data, from its header on.
    pub data: &'a [u8],
    /// The byte order its header gives.
    pub order: Order,
}

impl<'a> TiffData<'a> {
    /// The data and the offset of IFD0, when `data` starts with a TIFF header (`II*\0` or
    /// `MM\0*`).
    #[inline]
    pub fn parse(data: &'a [u8]) -> Option<(TiffData<'a>, u32)> {
        let order = match data.get(..2)? {
            b"II" => Order::Little,
            b"MM" => Order::Big,
            _ => return None,
        };
        let t = TiffData { data, order };
        (t.u16(2)? == 42).then_some(())?;
        Some((t, t.u32(4)?))
    }

    /// `N` bytes at `at`.
    #[inline]
    pub fn bytes<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        self.data.get(at..at.checked_add(N)?)?.try_into().ok()
    }

    /// A 16-bit number at `at`.
    #[inline]
    pub fn u16(&self, at: usize) -> Option<u16> {
        let b = self.bytes::<2>(at)?;
        Some(match self.order {
            Order::Little => u16::from_le_bytes(b),
            Order::Big => u16::from_be_bytes(b),
        })
    }

    /// A 32-bit number at `at`.
    #[inline]
    pub fn u32(&self, at: usize) -> Option<u32> {
        let b = self.bytes::<4>(at)?;
        Some(match self.order {
            Order::Little => u32::from_le_bytes(b),
            Order::Big => u32::from_be_bytes(b),
        })
    }

    /// The entries of the IFD at `offset` whose tag, type and count lie inside the data, in
    /// order; the walk ends at the first entry cut off before its value field.
    #[inline]
    pub fn entries(&self, offset: u32) -> impl Iterator<Item = IfdEntry> + '_ {
        let start = usize::try_from(offset).ok();
        let count = start.and_then(|s| self.u16(s)).unwrap_or(0);
        let codec = Codec {
            order: self.order,
            layout: Layout::Classic,
        };
        (0..usize::from(count)).map_while(move |i| {
            let at = start?.checked_add(2)?.checked_add(i.checked_mul(IFD_ENTRY_LEN)?)?;
            // Tag, type and count must be there; a value field cut off is the value's reader's
            // concern (it then reads nothing).
            self.data.get(at..at.checked_add(8)?)?;
            let end = at.saturating_add(IFD_ENTRY_LEN).min(self.data.len());
            let fields = codec.entry(self.data.get(at..end).unwrap_or_default());
            Some(IfdEntry {
                at,
                tag: fields.tag,
                kind: fields.kind,
                count: u32::try_from(fields.count).ok()?,
            })
        })
    }

    /// The `len` bytes of `entry`'s value: inside its 4-byte field when they fit there, else at
    /// the offset the field gives. `None` out of bounds.
    #[inline]
    pub fn value(&self, entry: &IfdEntry, len: usize) -> Option<&'a [u8]> {
        let field = entry.field_at();
        let start = if len <= 4 {
            field
        } else {
            usize::try_from(self.u32(field)?).ok()?
        };
        self.data.get(start..start.checked_add(len)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ifd(order: Order, entries: &[(u16, u16, u32, [u8; 4])], tail: &[u8]) -> Vec<u8> {
        let u16b = |v: u16| {
            if order == Order::Little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        };
        let u32b = |v: u32| {
            if order == Order::Little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        };
        let mut t = if order == Order::Little {
            b"II".to_vec()
        } else {
            b"MM".to_vec()
        };
        t.extend(u16b(42));
        t.extend(u32b(8));
        t.extend(u16b(entries.len() as u16));
        for &(tag, kind, count, field) in entries {
            t.extend(u16b(tag));
            t.extend(u16b(kind));
            t.extend(u32b(count));
            t.extend(field);
        }
        t.extend(u32b(0));
        t.extend(tail);
        t
    }

    #[test]
    fn entries_and_values_in_both_orders() {
        for order in [Order::Little, Order::Big] {
            let far = if order == Order::Little {
                38u32.to_le_bytes()
            } else {
                38u32.to_be_bytes()
            };
            let data = ifd(order, &[(1, 2, 3, *b"ab\0\0"), (2, 7, 6, far)], b"abcdef");
            let (t, ifd0) = TiffData::parse(&data).unwrap();
            let entries: Vec<_> = t.entries(ifd0).collect();
            assert_eq!(entries.len(), 2);
            assert_eq!((entries[0].tag, entries[0].kind, entries[0].count), (1, 2, 3));
            assert_eq!(t.value(&entries[0], 3), Some(&b"ab\0"[..]));
            assert_eq!(t.value(&entries[1], 6), Some(&b"abcdef"[..]));
            assert_eq!(t.value(&entries[1], 7), None, "past the end");
            // A cut IFD yields the entries before the cut.
            let cut = TiffData {
                data: &data[..24],
                order,
            };
            assert_eq!(cut.entries(ifd0).count(), 1);
        }
        assert!(TiffData::parse(b"XX*\0\0\0\0\0").is_none());
        assert!(TiffData::parse(b"II+\0\x08\0\0\0").is_none());
        assert!(TiffData::parse(b"II*\0").is_none());
    }
}
