//! Just enough of EXIF (a TIFF structure, CIPA DC-008) to read IFD0's ASCII tags `Software` and
//! `ImageDescription`, through the container layer's TIFF reader.

use crate::container::tiff::TiffData;

/// The `Software` tag (TIFF 6.0, 0x0131), type ASCII.
pub const SOFTWARE: u16 = 0x0131;
/// The `ImageDescription` tag (TIFF 6.0, 0x010E), type ASCII.
pub const IMAGE_DESCRIPTION: u16 = 0x010E;
const ASCII: u16 = 2;
/// Most IFD0 entries looked at; real files have a few dozen.
const MAX_ENTRIES: u16 = 1024;

/// IFD0's `Software` value in a TIFF-structured block (`II*\0` or `MM\0*`), if present and
/// readable.
pub fn software(tiff: &[u8]) -> Option<String> {
    ascii_tag(tiff, SOFTWARE)
}

/// IFD0's ASCII value under `wanted` in a TIFF-structured block, if present and readable.
pub fn ascii_tag(tiff: &[u8], wanted: u16) -> Option<String> {
    let (tiff, ifd0) = TiffData::parse(tiff)?;
    let entry = tiff
        .entries(ifd0)
        .take(usize::from(MAX_ENTRIES))
        .find(|e| e.tag == wanted && e.kind == ASCII)?;
    let bytes = tiff.value(&entry, usize::try_from(entry.count).ok()?)?;
    let text = String::from_utf8_lossy(bytes);
    Some(text.trim_end_matches(['\0', ' ']).to_string())
}

#[cfg(test)]
mod tests {
    type Encoders = (fn(u16) -> [u8; 2], fn(u32) -> [u8; 4]);

    fn tiff(little: bool, value: &[u8]) -> Vec<u8> {
        let (u16b, u32b): Encoders = if little {
            (u16::to_le_bytes, u32::to_le_bytes)
        } else {
            (u16::to_be_bytes, u32::to_be_bytes)
        };
        let mut t = if little { b"II".to_vec() } else { b"MM".to_vec() };
        t.extend(u16b(42));
        t.extend(u32b(8));
        t.extend(u16b(1));
        t.extend(u16b(0x0131));
        t.extend(u16b(2));
        t.extend(u32b(value.len() as u32));
        if value.len() <= 4 {
            let mut v = value.to_vec();
            v.resize(4, 0);
            t.extend(v);
        } else {
            t.extend(u32b(26));
        }
        t.extend(u32b(0));
        t.extend(value);
        t
    }

    #[test]
    fn reads_software_in_both_byte_orders_and_survives_truncation() {
        for little in [true, false] {
            let t = tiff(little, b"Midjourney\0");
            assert_eq!(super::software(&t).as_deref(), Some("Midjourney"));
            assert_eq!(super::software(&tiff(little, b"ab\0")).as_deref(), Some("ab"));
            for cut in 0..t.len() - 1 {
                assert_ne!(super::software(&t[..cut]).as_deref(), Some("Midjourney"));
            }
        }
        assert_eq!(super::software(b"XX*\0"), None);
    }
}
