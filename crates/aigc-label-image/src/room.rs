//! Label updates in place through a *room* structure next to the label's (issue 16), for the
//! image containers whose structures are skipped by a length before anyone parses them and carry
//! no checksum: JPEG marker segments ([`crate::jpeg::update_in_place`]) and WebP's RIFF chunks
//! ([`crate::webp::update_in_place`]). PNG chunks carry a CRC, which prepared bytes would break
//! until the switch, so PNG is rewritten.
//!
//! The layout (a room beside the label, the two alternating roles with one switch inside one
//! disk sector) and its steps are core's ([`aigc_label_core::in_place::room`], shared with
//! Matroska); this module keeps what the image carriers add: the text of an XMP packet to zero,
//! and the fuzz property of their updates.

use aigc_label_core::Result;

/// What an in-place update did: the one type every carrier's update returns.
pub use aigc_label_core::in_place::Update;

/// The label's structure and the room next to it (core's, shared with Matroska).
pub(crate) use aigc_label_core::in_place::room::Pair;

/// The writes of the three steps, and where the label and the room end up.
pub(crate) type Steps = aigc_label_core::in_place::Steps;

/// Runs `steps` on `file`, calling `sync` after the first two (core's step runner).
pub(crate) fn run<F: std::io::Read + std::io::Write + std::io::Seek>(
    steps: &Steps,
    file: &mut F,
    sync: impl FnMut(&mut F) -> std::io::Result<()>,
) -> Result<Update> {
    Ok(Update::InPlace(steps.run(file, sync)?))
}

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

/// The property the in-place fuzz targets check: on any bytes, and on them after our first
/// write, an update never panics; one that reports success keeps the size and leaves exactly
/// the new label, and a refusal or an error writes nothing.
pub(crate) fn fuzz_property(
    carrier: &dyn aigc_label_core::Carrier,
    data: &[u8],
    update: impl Fn(&mut std::io::Cursor<Vec<u8>>, &aigc_label_core::Label, &aigc_label_core::Limits) -> Result<Update>,
) {
    use aigc_label_core::json::{Shape, to_json};
    use aigc_label_core::{Label, Limits};
    let limits = Limits::default();
    let first = Label::new("001191440300708461136T1XGW3", "fuzz-1");
    let label = first.clone().propagated("001191110108551385082Q20000", "fuzz-2");
    let mut labelled = Vec::new();
    let ours = carrier
        .write(&mut std::io::Cursor::new(data), &mut labelled, &first, &limits)
        .is_ok();
    for input in [data, &labelled[..]].into_iter().take(1 + usize::from(ours)) {
        let mut file = std::io::Cursor::new(input.to_vec());
        match update(&mut file, &label, &limits) {
            Ok(Update::InPlace(_)) => {
                let after = file.into_inner();
                assert_eq!(after.len(), input.len(), "an in-place update keeps the size");
                let found = carrier
                    .find(&mut std::io::Cursor::new(&after), &limits)
                    .unwrap_or_default();
                let texts: Vec<_> = found.iter().map(|f| f.text.as_str()).collect();
                assert_eq!(texts, [to_json(&label, Shape::Bare)], "exactly the new label");
            }
            Ok(Update::Rewrite(_)) | Err(_) => assert_eq!(file.into_inner(), input, "nothing written"),
        }
    }
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
