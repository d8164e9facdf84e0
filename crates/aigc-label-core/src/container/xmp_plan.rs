//! The XMP packet plan every XMP carrier follows (spec section 4: one label, in the packet
//! readers look at), written once.
//!
//! A file may hold several XMP packets (PNG `iTXt` chunks, JPEG APP1 segments, GIF application
//! extensions, WebP `XMP ` chunks, HEIF `mime` items). Writing a label:
//! 1. one packet receives it ([`target`]): the first, or, for carriers that follow the copy
//!    readers already found, the one holding a label, else the first;
//! 2. that packet keeps every other property and gets the label merged in ([`label_packet`]);
//!    with no packet at all (or a blank one) a new packet is made, with
//!    [`xmp::DEFAULT_PADDING`] bytes of padding for later edits in place;
//! 3. every other packet loses only its `TC260:AIGC` properties ([`scrubbed`]), so the file
//!    ends up with exactly one copy.
//!
//! Only the packets are planned here; the framing around them (a chunk with its CRC, a segment
//! with its namespace header, an extension with its magic trailer, an item with its `iloc`
//! entry) is the carrier's.
//!
//! ```
//! use aigc_label_core::container::xmp_plan::{self, Target};
//! use aigc_label_core::{Limits, xmp};
//! let limits = Limits::default();
//! let old = xmp::new_packet(r#"{"Label":"1"}"#, 64);
//! // The same packet without the label.
//! let plain = xmp_plan::scrubbed(&old, &limits)?.expect("it held a label");
//! let packets = [plain.as_slice(), old.as_slice()];
//! // The labelled packet receives the label; under `First`, the first would, and the other
//! // would be scrubbed.
//! let labelled: Vec<bool> = packets.iter().map(|p| xmp_plan::holds_label(p, &limits)).collect();
//! assert_eq!(xmp_plan::target(&labelled, Target::Labelled), Some(1));
//! assert_eq!(xmp_plan::target(&labelled, Target::First), Some(0));
//! let new = xmp_plan::label_packet(Some(&old), r#"{"Label":"2"}"#, &limits)?;
//! assert_eq!(xmp::find_aigc(&new, &limits)?[0].value, r#"{"Label":"2"}"#);
//! assert!(xmp::find_aigc(&plain, &limits)?.is_empty());
//! assert!(xmp_plan::scrubbed(&plain, &limits)?.is_none());
//! # Ok::<(), aigc_label_core::Error>(())
//! ```

use crate::xmp::{self, XmpHit};
use crate::{Limits, Result};

/// Which existing packet receives the label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The first packet in file order (the one the container's readers take).
    First,
    /// The first packet holding a label, else the first packet: the label stays where readers
    /// already found it.
    Labelled,
}

/// The packet that receives the label, as an index into `labelled` (one entry per packet, in
/// file order, true when it holds a label); `None` when there is no packet and a new one is
/// inserted.
#[must_use]
pub fn target(labelled: &[bool], rule: Target) -> Option<usize> {
    let first = (!labelled.is_empty()).then_some(0);
    match rule {
        Target::First => first,
        Target::Labelled => labelled.iter().position(|&l| l).or(first),
    }
}

/// The packet that holds `json` as the label: `existing` with the label merged in
/// ([`xmp::set_aigc`]: other properties kept, the padding absorbing the change in size when it
/// can), or a new packet ([`xmp::new_packet`] with [`xmp::DEFAULT_PADDING`]) when there is none
/// or it holds nothing but white space.
///
/// # Errors
/// As [`xmp::set_aigc`]: a packet that is not XMP, limits, a label XML cannot carry.
pub fn label_packet(existing: Option<&[u8]>, json: &str, limits: &Limits) -> Result<Vec<u8>> {
    match existing {
        Some(packet) if !is_blank(packet) => xmp::set_aigc(packet, json, limits),
        _ => Ok(xmp::new_packet(json, xmp::DEFAULT_PADDING)),
    }
}

/// `packet` without its `TC260:AIGC` properties, every other byte kept; `None` when it holds
/// none (the carrier copies it unchanged).
///
/// # Errors
/// As [`xmp::find_aigc`] and [`xmp::remove_aigc`].
pub fn scrubbed(packet: &[u8], limits: &Limits) -> Result<Option<Vec<u8>>> {
    let hits = xmp::find_aigc(packet, limits)?;
    scrubbed_hits(packet, hits, limits)
}

/// [`scrubbed`] with the copies [`xmp::find_aigc`] already reported for `packet`.
///
/// # Errors
/// As [`xmp::remove_aigc`].
pub fn scrubbed_hits(packet: &[u8], hits: Vec<XmpHit>, limits: &Limits) -> Result<Option<Vec<u8>>> {
    if hits.is_empty() {
        return Ok(None);
    }
    xmp::remove_aigc(packet, hits, limits).map(Some)
}

/// The `TC260:AIGC` copies in a packet as readers of image files take them: a packet that is
/// not well-formed XML but never names the TC260 namespace cannot hold a label, so it yields
/// none instead of failing the whole file.
///
/// # Errors
/// As [`xmp::find_aigc`], for a packet that names the TC260 namespace.
pub fn search(packet: &[u8], limits: &Limits) -> Result<Vec<XmpHit>> {
    match xmp::find_aigc(packet, limits) {
        Err(_) if !mentions_tc260(packet) => Ok(Vec::new()),
        other => other,
    }
}

/// True when [`search`] finds a label in `packet` (an unreadable packet counts as none).
#[must_use]
pub fn holds_label(packet: &[u8], limits: &Limits) -> bool {
    search(packet, limits).is_ok_and(|hits| !hits.is_empty())
}

/// True when the packet names the TC260 namespace in any spelling (`http` or `https`, with or
/// without the trailing slash).
#[must_use]
pub fn mentions_tc260(packet: &[u8]) -> bool {
    let ns = b"tc260.org.cn/ns/AIGC/1.0";
    packet.windows(ns.len()).any(|w| w == ns)
}

/// True for a packet of nothing but white space and NUL bytes (a placeholder some writers
/// leave): it is replaced by a new packet rather than parsed.
#[must_use]
pub fn is_blank(packet: &[u8]) -> bool {
    packet.iter().all(|b| b.is_ascii_whitespace() || *b == 0)
}

/// `packet` grown back to `len` bytes with spaces, put before the `<?xpacket end` trailer as
/// padding when there is one (XMP part 1, 7.3.2), else after the packet, where XML allows
/// white space: a property removed, or a packet made as long as another, without moving what
/// follows it.
#[must_use]
pub fn pad_to(mut packet: Vec<u8>, len: usize) -> Vec<u8> {
    let missing = len.saturating_sub(packet.len());
    let trailer = b"<?xpacket end";
    let at = packet
        .windows(trailer.len())
        .rposition(|w| w == trailer)
        .unwrap_or(packet.len());
    packet.splice(at..at, std::iter::repeat_n(b' ', missing));
    packet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_to_puts_spaces_before_the_trailer() {
        let p = pad_to(b"<a/><?xpacket end=\"w\"?>".to_vec(), 26);
        assert_eq!(p, b"<a/>   <?xpacket end=\"w\"?>");
        assert_eq!(pad_to(b"<a/>".to_vec(), 6), b"<a/>  ");
    }

    #[test]
    fn targets() {
        assert_eq!(target(&[], Target::First), None);
        assert_eq!(target(&[], Target::Labelled), None);
        assert_eq!(target(&[false, true], Target::First), Some(0));
        assert_eq!(target(&[false, false], Target::Labelled), Some(0));
        assert_eq!(target(&[false, true, true], Target::Labelled), Some(1));
    }

    #[test]
    fn blank_and_missing_packets_get_a_new_one() {
        let limits = Limits::default();
        let new = xmp::new_packet("{}", xmp::DEFAULT_PADDING);
        assert_eq!(label_packet(None, "{}", &limits).unwrap(), new);
        assert_eq!(label_packet(Some(b"  \n\0"), "{}", &limits).unwrap(), new);
        assert!(label_packet(Some(b"<a/>"), "{}", &limits).is_err());
    }

    #[test]
    fn broken_packets_hold_no_label_unless_they_name_tc260() {
        let limits = Limits::default();
        assert!(search(b"<<< not xml", &limits).unwrap().is_empty());
        assert!(search(b"<<< tc260.org.cn/ns/AIGC/1.0", &limits).is_err());
        assert!(!holds_label(b"<<< tc260.org.cn/ns/AIGC/1.0", &limits));
    }
}
