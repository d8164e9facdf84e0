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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_text() {
        assert_eq!(packet_text_len(b"<a/>   \n <?xpacket end=\"w\"?>"), 4);
        assert_eq!(packet_text_len(b"<a/>"), 4);
    }
}
