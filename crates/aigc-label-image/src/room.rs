//! Label updates in place through a *room* structure next to the label's (issue 16), for the
//! image containers whose structures are skipped by a length before anyone parses them and carry
//! no checksum: JPEG marker segments ([`crate::Jpeg`]) and WebP's RIFF chunks ([`crate::WebP`]).
//! PNG chunks carry a CRC, which prepared bytes would break until the switch, so PNG has a
//! layout of its own (the `png::in_place` module).
//!
//! The layout (a room beside the label, the two alternating roles with one switch inside one
//! disk sector) and its steps are core's ([`aigc_label_core::in_place::room`], shared with
//! Matroska); this module keeps what the image carriers add: the text of an XMP packet to zero.

/// The label's structure and the room next to it (core's, shared with Matroska).
pub(crate) use aigc_label_core::in_place::room::Pair;

/// Bytes of an XMP `packet` before its padding and `<?xpacket end` trailer: the text to zero.
pub(crate) fn packet_text_len(packet: &[u8]) -> u64 {
    let trailer = b"<?xpacket end";
    let end = packet
        .windows(trailer.len())
        .rposition(|w| w == trailer)
        .unwrap_or(packet.len());
    let text = packet.get(..end).unwrap_or(packet);
    let padding = text.iter().rev().take_while(|b| b.is_ascii_whitespace()).count();
    (end - padding) as u64
}

/// Whether `bytes`, the part of a room structure outside the live packet, hold only what our
/// writes and updates in place leave there: zeros, and XMP packets (the one an interrupted
/// update left whole, or the white space padding and `<?xpacket end=...?>` trailer of one whose
/// text an update zeroed). Any other byte is someone else's, so the structure is not ours.
pub(crate) fn holds_only_room(bytes: &[u8]) -> bool {
    const TRAILER: &[u8] = b"<?xpacket end=";
    let mut rest = bytes;
    // Every pass consumes bytes or returns.
    loop {
        let blank = rest.iter().take_while(|&&b| b == 0 || b.is_ascii_whitespace()).count();
        rest = rest.get(blank..).unwrap_or_default();
        if rest.is_empty() {
            return true;
        }
        let stripped = rest.strip_prefix("\u{feff}".as_bytes()).unwrap_or(rest);
        let whole = if stripped.starts_with(b"<?xpacket begin=") {
            find(rest, TRAILER)
        } else if stripped.starts_with(b"<x:xmpmeta") {
            find(rest, b"</x:xmpmeta>").map(|at| at + b"</x:xmpmeta>".len())
        } else {
            Some(0)
        };
        let Some(skip) = whole else {
            return false;
        };
        rest = rest.get(skip..).unwrap_or_default();
        if rest.starts_with(TRAILER) {
            // `<?xpacket end="w"?>`: the attribute and the closing `?>`, nothing more.
            match find(rest, b"?>").filter(|&at| at <= TRAILER.len() + 4) {
                Some(at) => rest = rest.get(at + 2..).unwrap_or_default(),
                None => return false,
            }
        } else if skip == 0 {
            return false;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_zeros_and_packets() {
        let packet = aigc_label_core::xmp::new_packet("{}", 40);
        let trailer = &packet[packet.len() - 19..];
        assert_eq!(trailer, b"<?xpacket end=\"w\"?>");
        let zeroed = [&vec![0u8; 200][..], b"\n   \n", trailer, &[0; 30]].concat();
        for room in [
            &b""[..],
            &[0; 64],
            &zeroed,
            &packet,
            &[&packet[..], &[0; 9], &zeroed].concat(),
        ] {
            assert!(holds_only_room(room), "{:?}", String::from_utf8_lossy(room));
        }
        let unwrapped = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'></x:xmpmeta>\0\0";
        assert!(holds_only_room(unwrapped));
        for other in [
            &b"\0\0thumbnail"[..],
            &[&zeroed[..], b"x"].concat(),
            &packet[..packet.len() - 19],
            b"<?xpacket end=\"w\" and then some more text?>",
            &[0, 0, 0xFF, 0xD8, 0xFF],
        ] {
            assert!(!holds_only_room(other), "{:?}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn packet_text() {
        assert_eq!(packet_text_len(b"<a/>   \n <?xpacket end=\"w\"?>"), 4);
        assert_eq!(packet_text_len(b"<a/>"), 4);
    }
}
