//! XMP packets: find and set the `TC260:AIGC` property.
//!
//! PLACEHOLDER: a namespace-aware implementation replaces this module. The API below is fixed.

use std::ops::Range;

use crate::{Limits, Result};

/// The TC260 AIGC namespace URI.
pub const TC260_NS: &str = "http://www.tc260.org.cn/ns/AIGC/1.0/";

/// Padding added to new packets so that later updates fit in place.
pub const DEFAULT_PADDING: usize = 2048;

/// How the property was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XmpForm {
    /// `<TC260:AIGC>{...}</TC260:AIGC>`
    Element,
    /// `TC260:AIGC="{...}"` on an `rdf:Description`.
    Attribute,
}

/// One `AIGC` property in the TC260 namespace found in a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmpHit {
    /// The property value with XML escaping undone.
    pub value: String,
    /// Element or attribute form.
    pub form: XmpForm,
    /// The prefix bound to the TC260 namespace where the property was found.
    pub prefix: String,
    /// Byte range of the property (element or attribute) in the packet.
    pub range: Range<usize>,
}

/// Finds every `AIGC` property in the TC260 namespace.
///
/// # Errors
/// Malformed XML.
pub fn find_aigc(packet: &[u8], limits: &Limits) -> Result<Vec<XmpHit>> {
    let _ = (packet, limits);
    Ok(Vec::new())
}

/// Returns `packet` with exactly one `TC260:AIGC` property holding `json`.
///
/// # Errors
/// Malformed XML.
pub fn set_aigc(packet: &[u8], json: &str, limits: &Limits) -> Result<Vec<u8>> {
    let _ = (packet, limits);
    Ok(new_packet(json, DEFAULT_PADDING))
}

/// A minimal packet holding only `TC260:AIGC` = `json`, with `padding` bytes of whitespace.
pub fn new_packet(json: &str, padding: usize) -> Vec<u8> {
    let _ = padding;
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?><x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" xmlns:TC260=\"{TC260_NS}\"><TC260:AIGC>{json}</TC260:AIGC></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>"
    )
    .into_bytes()
}
