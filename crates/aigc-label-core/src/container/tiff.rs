//! TIFF structures held in memory (TIFF 6.0 section 2): the header and the entries of an IFD,
//! for the EXIF blocks every image format carries (JPEG APP1, PNG `eXIf`, WebP `EXIF`, the HEIF
//! `Exif` item) and for the trace scanner.
//!
//! Every read is checked against the data and returns `None` out of bounds: broken EXIF is
//! common, and a reader skips what it cannot reach rather than failing the whole file. Walking
//! the IFD graph (which IFDs to visit, how many, cycles) is left to the caller, which bounds it
//! by [`crate::Limits`].

pub use super::Order;

/// Bytes of one IFD entry: tag, type, count, value or offset.
pub const IFD_ENTRY_LEN: usize = 12;

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

    /// The entries of the IFD at `offset` that lie wholly inside the data, in order; the walk
    /// ends at the first entry cut off by the end of the data.
    #[inline]
    pub fn entries(&self, offset: u32) -> impl Iterator<Item = IfdEntry> + '_ {
        let start = usize::try_from(offset).ok();
        let count = start.and_then(|s| self.u16(s)).unwrap_or(0);
        (0..usize::from(count)).map_while(move |i| {
            let at = start?.checked_add(2)?.checked_add(i.checked_mul(IFD_ENTRY_LEN)?)?;
            Some(IfdEntry {
                at,
                tag: self.u16(at)?,
                kind: self.u16(at.checked_add(2)?)?,
                count: self.u32(at.checked_add(4)?)?,
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
