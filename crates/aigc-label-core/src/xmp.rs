//! XMP packets: find and set the `TC260:AIGC` property (spec section 4).
//!
//! Every XMP carrier (JPEG APP1, PNG `iTXt`, WebP `XMP `, GIF, TIFF tag 700, HEIF `mime` items)
//! holds the label as the property `AIGC` in the namespace [`TC260_NS`]. Section 4 asks readers
//! to resolve namespaces (any prefix bound to the URI names the same property, including
//! bindings made on ancestors and default-namespace forms), to accept both the element form
//! `<TC260:AIGC>json</TC260:AIGC>` and the attribute form `TC260:AIGC="json"`, and to undo XML
//! escaping; writers update that one property and leave the rest of the packet intact. Writers
//! in the wild also spell the namespace `https://...` or drop its trailing slash
//! ([`TC260_NS_VARIANTS`]); such a property is read as the label, flagged by
//! [`XmpHit::checks`], and moved into [`TC260_NS`] by [`set_aigc`].
//!
//! - [`find_aigc`] reports every copy, so the core can flag two copies in one packet.
//! - [`set_aigc`] leaves exactly one copy, edits only the bytes it must, and absorbs the change
//!   in size into the packet's trailing padding, so carriers can rewrite a packet in place.
//! - [`new_packet`] makes a minimal packet for files that have none.
//!
//! Design decision: a small walker of our own instead of `quick_xml::NsReader`. The writer
//! needs the exact byte range of every attribute, of the text between a property's tags, of
//! the end of an `rdf:Description` start tag and of the padding, so that it can splice new
//! bytes into the original packet; `quick-xml` reports positions only after whole events and
//! gives attribute values as copies or sub-slices whose offsets must be recovered by pointer
//! arithmetic. XMP also needs only a small part of XML (no DTD, no external entities, one
//! encoding), and a walker that covers exactly that part checks every bound itself: element
//! depth ([`Limits::max_depth`]), element count ([`Limits::max_structures`]), value size
//! ([`Limits::max_label_bytes`]) and live namespace declarations ([`MAX_NAMESPACE_BINDINGS`]).
//! It reads the packet in one pass, allocates only the namespace stack (byte ranges, not
//! strings) and the values it returns, and never indexes without a check.
//!
//! What the walker accepts: UTF-8 packets (a leading byte-order mark is skipped), processing
//! instructions and comments anywhere, CDATA sections, the five predefined entities and
//! character references; whitespace and NUL bytes outside the root element (carriers sometimes
//! pad with NULs). What it rejects as [`Error::Malformed`]: DTDs, unknown entities, unbound
//! prefixes, mismatched or missing end tags, text outside the root, a second root. UTF-16 and
//! UTF-32 packets (legal in XMP, unseen in practice) are [`Error::Unsupported`]. Only property
//! values must be UTF-8; stray bytes elsewhere are carried through untouched.
//!
//! ```
//! use aigc_label_core::{xmp, Limits};
//! let limits = Limits::default();
//! let packet = xmp::new_packet(r#"{"Label":"1"}"#, 256);
//! assert_eq!(xmp::padding_len(&packet), Some(256));
//!
//! let updated = xmp::set_aigc(&packet, r#"{"Label":"2"}"#, &limits)?;
//! assert_eq!(updated.len(), packet.len()); // the padding absorbed the change
//! let hits = xmp::find_aigc(&updated, &limits)?;
//! assert_eq!(hits.len(), 1);
//! assert_eq!(hits[0].value, r#"{"Label":"2"}"#);
//! assert_eq!(hits[0].prefix, "TC260");
//! # Ok::<(), aigc_label_core::Error>(())
//! ```

use std::borrow::Cow;
use std::ops::Range;

use crate::{Error, Limits, Result};

/// The TC260 AIGC namespace URI.
pub const TC260_NS: &str = "http://www.tc260.org.cn/ns/AIGC/1.0/";

/// Spellings of [`TC260_NS`] seen in the wild (`https`, no trailing slash). Readers treat a
/// property in one of them as the label, with an [`id::XMP_NAMESPACE`](crate::check::id::XMP_NAMESPACE)
/// warning ([`XmpHit::checks`]); [`set_aigc`] moves it into [`TC260_NS`].
pub const TC260_NS_VARIANTS: [&str; 3] = [
    "https://www.tc260.org.cn/ns/AIGC/1.0/",
    "https://www.tc260.org.cn/ns/AIGC/1.0",
    "http://www.tc260.org.cn/ns/AIGC/1.0",
];

/// The XMP note namespace, whose `HasExtendedXMP` property announces Extended XMP (XMP part 3,
/// JPEG).
pub const XMP_NOTE_NS: &str = "http://ns.adobe.com/xmp/note/";

/// Padding added to new packets so that later updates fit in place.
///
/// 2 KB, as the XMP specification (part 1, 7.3.2) suggests and Adobe's toolkit writes.
pub const DEFAULT_PADDING: usize = 2048;

/// Most namespace declarations in scope at once. Real packets declare a few dozen; the bound
/// keeps prefix lookups cheap on crafted input.
pub const MAX_NAMESPACE_BINDINGS: usize = 256;

const FORMAT: &str = "xmp";
const RDF_NS: &[u8] = b"http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const XML_NS: &[u8] = b"http://www.w3.org/XML/1998/namespace";
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const XPACKET_ID: &str = "W5M0MpCehiHzreSzNTczkc9d";
/// Bytes per line of padding, newline included, as Adobe writes it.
const PADDING_LINE: usize = 100;

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
    /// The namespace URI as the packet spells it, when that is one of [`TC260_NS_VARIANTS`]
    /// rather than [`TC260_NS`] itself; `None` for the standard spelling.
    pub variant_namespace: Option<String>,
}

impl XmpHit {
    /// Findings about how the property is written: an
    /// [`id::XMP_NAMESPACE`](crate::check::id::XMP_NAMESPACE) warning when its namespace is a
    /// variant spelling of [`TC260_NS`]; nothing otherwise. Carriers add these to the copy they
    /// report.
    pub fn checks(&self) -> Vec<crate::check::Check> {
        self.variant_namespace
            .iter()
            .map(|uri| {
                crate::check::Check::warn(
                    crate::check::id::XMP_NAMESPACE,
                    format!("the AIGC property is in the namespace {uri:?}; GB 45438 names it {TC260_NS:?}"),
                )
            })
            .collect()
    }
}

/// Finds every `AIGC` property in the TC260 namespace.
///
/// Copies are reported in document order, at most [`Limits::max_copies`] of them (the rest are
/// still parsed). A property element with child elements (an `rdf:Alt`, say) yields the text of
/// its descendants, trimmed; a self-closing one yields an empty value.
///
/// # Errors
/// [`Error::Malformed`] (format `xmp`) when the packet is not well-formed XML with namespaces;
/// [`Error::Limit`] when it is larger than [`Limits::max_metadata_bytes`], nests deeper than
/// [`Limits::max_depth`], has more elements than [`Limits::max_structures`] or a value longer
/// than [`Limits::max_label_bytes`]; [`Error::Unsupported`] for UTF-16 or UTF-32 packets.
pub fn find_aigc(packet: &[u8], limits: &Limits) -> Result<Vec<XmpHit>> {
    find_in(packet, TC260, limits)
}

/// The label property: `AIGC` in [`TC260_NS`] or one of its variant spellings.
const TC260: Target<'static> = Target {
    ns: TC260_NS.as_bytes(),
    local: b"AIGC",
    variants: &TC260_NS_VARIANTS,
};

/// Finds every property `name` in namespace `ns`, in element or attribute form, as
/// [`find_aigc`] does for `TC260:AIGC`.
///
/// # Errors
/// As [`find_aigc`].
pub fn find_property(packet: &[u8], ns: &str, name: &str, limits: &Limits) -> Result<Vec<XmpHit>> {
    let target = Target {
        ns: ns.as_bytes(),
        local: name.as_bytes(),
        variants: &[],
    };
    find_in(packet, target, limits)
}

fn find_in(packet: &[u8], target: Target<'_>, limits: &Limits) -> Result<Vec<XmpHit>> {
    let scan = Walk::run(packet, target, limits)?;
    Ok(scan
        .props
        .into_iter()
        .filter_map(|p| {
            Some(XmpHit {
                value: p.value?,
                form: p.form,
                prefix: String::from_utf8_lossy(packet.get(p.prefix)?).into_owned(),
                range: p.range,
                variant_namespace: p.variant.map(|v| v.to_string()),
            })
        })
        .collect())
}

/// The GUID in `xmpNote:HasExtendedXMP`, when the packet announces Extended XMP (the rest of
/// the metadata continues in further JPEG APP1 segments, XMP part 3, 1.1.3.1).
///
/// # Errors
/// As [`find_aigc`].
pub fn extended_xmp_guid(packet: &[u8], limits: &Limits) -> Result<Option<String>> {
    let hits = find_property(packet, XMP_NOTE_NS, "HasExtendedXMP", limits)?;
    Ok(hits.into_iter().next().map(|h| h.value.trim().to_string()))
}

/// Length of the whitespace padding before the `<?xpacket end=...?>` trailer, or `None` when
/// the packet has no trailer. This is how much a packet can grow in place.
pub fn padding_len(packet: &[u8]) -> Option<usize> {
    trailer(packet).map(|t| t.padding.len())
}

/// `packet` without the given `TC260:AIGC` properties.
///
/// `hits` are what [`find_aigc`] reported for `packet`. Cutting out the byte range of each
/// property (an element, or an attribute on `rdf:Description`) leaves well-formed XML with every
/// other property untouched; the result is parsed again to prove the property is gone. Carriers
/// use it to drop the extra copies of a label, so that a file ends up with one.
///
/// # Errors
/// [`Error::Malformed`] when the ranges overlap, fall outside the packet, or a copy survives.
pub fn remove_aigc(packet: &[u8], mut hits: Vec<XmpHit>, limits: &Limits) -> Result<Vec<u8>> {
    let broken = || {
        Error::malformed(
            "xmp",
            0,
            "TC260:AIGC property ranges overlap or fall outside the packet",
        )
    };
    hits.sort_by_key(|h| h.range.start);
    let mut out = Vec::new();
    out.try_reserve(packet.len()).map_err(|_| broken())?;
    let mut at = 0;
    for hit in &hits {
        out.extend_from_slice(packet.get(at..hit.range.start).ok_or_else(broken)?);
        at = hit.range.end;
    }
    out.extend_from_slice(packet.get(at..).ok_or_else(broken)?);
    if find_aigc(&out, limits)?.is_empty() {
        Ok(out)
    } else {
        Err(broken())
    }
}

/// Returns `packet` with exactly one `TC260:AIGC` property holding `json`.
///
/// - If the property exists (either form, any prefix), the first copy keeps its form, prefix and
///   quotes and only its value changes; every other copy is removed. A declaration that binds
///   a variant spelling of the namespace ([`TC260_NS_VARIANTS`]) gets the URI [`TC260_NS`], so
///   the label (and any other property in that namespace) ends up in the standard one.
/// - Otherwise a `<TC260:AIGC>` element is added to the first `rdf:Description` of the first
///   `rdf:RDF` (with an `xmlns` declaration there when no prefix is bound to [`TC260_NS`], using
///   `TC260`, or `TC260_1`, ... when `TC260` means something else), or, without a description,
///   a new `rdf:Description` is added to `rdf:RDF`.
/// - When the packet ends with padding and `<?xpacket end=...?>`, the padding absorbs the change
///   in size, so the packet keeps its length whenever the padding suffices; when it does not,
///   the packet grows and gets [`DEFAULT_PADDING`] again, as Adobe's toolkit does. A packet
///   without a trailer gets no padding.
///
/// Every byte outside these edits is kept.
///
/// # Errors
/// [`Error::Parameter`] when `json` holds a character XML 1.0 cannot carry (controls other than
/// tab, newline and carriage return; U+FFFE; U+FFFF); [`Error::Malformed`] when the packet is not
/// well-formed or has no `rdf:RDF` (it is not XMP); [`Error::Limit`] as for [`find_aigc`], also
/// when `json` or the result would break the limits on reading.
pub fn set_aigc(packet: &[u8], json: &str, limits: &Limits) -> Result<Vec<u8>> {
    check_xml_text(json)?;
    if json.len() as u64 > limits.max_label_bytes {
        return Err(limit(0, "label size", json.len(), limits.max_label_bytes));
    }
    let scan = Walk::run(packet, TC260, limits)?;
    let rdf = scan
        .rdf
        .as_ref()
        .ok_or_else(|| malformed(0, "no rdf:RDF element; not an XMP packet"))?;
    // A variant spelling of the namespace is corrected where it is declared, so every property
    // in it (the label included) moves to TC260_NS without a new prefix.
    let mut edits: Vec<Edit> = scan
        .variant_decls
        .iter()
        .map(|range| Edit {
            range: range.clone(),
            text: TC260_NS.as_bytes().to_vec(),
        })
        .collect();
    if let Some((first, rest)) = scan.props.split_first() {
        edits.push(replace_value(packet, first, json));
        edits.extend(rest.iter().map(|p| remove(packet, p)));
    } else if let Some(desc) = &scan.description {
        check_growth(&scan, desc, 1, desc.tc260.declarations(), limits)?;
        insert_property(packet, desc, json, &mut edits)?;
    } else {
        let declarations = rdf.tc260.declarations() + rdf.rdf.declarations();
        check_growth(&scan, rdf, 2, declarations, limits)?;
        insert_description(packet, rdf, json, &mut edits)?;
    }
    let out = apply(packet, edits)?;
    limits.check_metadata(FORMAT, 0, out.len() as u64)?;
    Ok(out)
}

/// A minimal packet holding only `TC260:AIGC` = `json`, with `padding` bytes of whitespace.
///
/// The packet is what the XMP specification calls a wrapped packet: the `<?xpacket begin?>`
/// header with a UTF-8 byte-order mark and the standard id, `x:xmpmeta`, `rdf:RDF`, one
/// `rdf:Description rdf:about=""` declaring `TC260`, the element form, then `padding` bytes of
/// whitespace in lines of spaces ending with a newline, then `<?xpacket end="w"?>`.
/// Characters XML 1.0 cannot carry (see [`set_aigc`]) are written as U+FFFD; a valid label
/// never holds them.
pub fn new_packet(json: &str, padding: usize) -> Vec<u8> {
    let json: Cow<'_, str> = if check_xml_text(json).is_ok() {
        Cow::Borrowed(json)
    } else {
        Cow::Owned(
            json.chars()
                .map(|c| if is_xml_char(c) { c } else { '\u{fffd}' })
                .collect(),
        )
    };
    let head = format!(
        "<?xpacket begin=\"\u{feff}\" id=\"{XPACKET_ID}\"?>\n<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n \
         <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n  \
         <rdf:Description rdf:about=\"\"\n    xmlns:TC260=\"{TC260_NS}\">\n   <TC260:AIGC>"
    );
    let tail = "</TC260:AIGC>\n  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>";
    let end = "<?xpacket end=\"w\"?>";
    let mut out = Vec::with_capacity((head.len() + json.len() + tail.len() + end.len()).saturating_add(padding));
    out.extend_from_slice(head.as_bytes());
    escape_into(&json, None, &mut out);
    out.extend_from_slice(tail.as_bytes());
    push_padding(&mut out, padding);
    out.extend_from_slice(end.as_bytes());
    out
}

// ---------------------------------------------------------------------------------------------
// Bytes and characters

fn malformed(offset: usize, what: &'static str) -> Error {
    Error::malformed(FORMAT, offset as u64, what)
}

fn limit(offset: usize, what: &'static str, found: usize, limit: u64) -> Error {
    Error::Limit {
        format: FORMAT,
        offset: offset as u64,
        what,
        found: found as u64,
        limit,
    }
}

/// XML white space (XML 1.0 production 3).
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Characters XML 1.0 can carry (production 2).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

fn check_xml_text(text: &str) -> Result<()> {
    match text.chars().find(|&c| !is_xml_char(c)) {
        Some(c) => Err(Error::parameter(
            "label text",
            format!("holds U+{:04X}, which XML 1.0 cannot carry", c as u32),
        )),
        None => Ok(()),
    }
}

fn skip_ws(buf: &[u8], mut pos: usize) -> usize {
    while buf.get(pos).copied().is_some_and(is_ws) {
        pos += 1;
    }
    pos
}

/// Start of the run of white space that ends at `end`, not going below `floor`.
fn ws_before(buf: &[u8], end: usize, floor: usize) -> usize {
    let mut pos = end;
    while pos > floor && buf.get(pos - 1).copied().is_some_and(is_ws) {
        pos -= 1;
    }
    pos
}

/// Position of the first `byte` in `buf[from..to]`. Reads eight bytes at a time: packets are
/// mostly long runs of text and padding between the few bytes the lexer looks for.
fn find_byte(buf: &[u8], byte: u8, from: usize, to: usize) -> Option<usize> {
    const LOW: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let hay = buf.get(from..to)?;
    let pattern = u64::from_ne_bytes([byte; 8]);
    let mut skipped = 0;
    for chunk in hay.chunks_exact(8) {
        let word = u64::from_ne_bytes(chunk.try_into().ok()?) ^ pattern;
        // Some byte of `word` is zero, i.e. some byte of the chunk is `byte`.
        if word.wrapping_sub(LOW) & !word & HIGH != 0 {
            break;
        }
        skipped += 8;
    }
    let rest = hay.get(skipped..)?;
    rest.iter().position(|&b| b == byte).map(|i| from + skipped + i)
}

fn find_seq(buf: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut at = from;
    loop {
        let hit = find_byte(buf, first, at, buf.len())?;
        if buf.get(hit..hit + needle.len()) == Some(needle) {
            return Some(hit);
        }
        at = hit + 1;
    }
}

/// Decodes the entity or character reference starting with the `&` at `amp` in `raw`; returns
/// the character and the reference's length. `None` when it is not a valid reference.
fn parse_ref(raw: &[u8], amp: usize) -> Option<(char, usize)> {
    // "&#x10FFFF;" is 10 bytes; allow some leading zeros.
    let window = raw.get(amp + 1..raw.len().min(amp + 16))?;
    let semi = window.iter().position(|&b| b == b';')?;
    let body = window.get(..semi)?;
    let c = match body {
        b"lt" => '<',
        b"gt" => '>',
        b"amp" => '&',
        b"quot" => '"',
        b"apos" => '\'',
        _ => {
            let num = body.strip_prefix(b"#")?;
            let (digits, radix) = match num.strip_prefix(b"x") {
                Some(hex) => (hex, 16),
                None => (num, 10),
            };
            if digits.is_empty() {
                return None;
            }
            let mut code: u32 = 0;
            for &d in digits {
                let v = char::from(d).to_digit(radix)?;
                code = code.checked_mul(radix)?.checked_add(v)?;
            }
            let c = char::from_u32(code)?;
            if !is_xml_char(c) {
                return None;
            }
            c
        }
    };
    Some((c, semi + 2))
}

/// Checks that every `&` in `range` starts a valid reference.
fn check_refs(buf: &[u8], range: Range<usize>) -> Result<()> {
    let raw = buf.get(range.clone()).unwrap_or_default();
    if !raw.contains(&b'&') {
        return Ok(());
    }
    let mut pos = 0;
    while let Some(amp) = find_byte(raw, b'&', pos, raw.len()) {
        let (_, len) =
            parse_ref(raw, amp).ok_or_else(|| malformed(range.start + amp, "invalid entity or character reference"))?;
        pos = amp + len;
    }
    Ok(())
}

/// What kind of character data [`decode_into`] is reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chars {
    /// Element content: references, line-end normalisation (XML 1.0 section 2.11).
    Text,
    /// A CDATA section: line-end normalisation only.
    CData,
    /// An attribute value: references, and white space becomes spaces (section 3.3.3).
    Attr,
}

/// Appends the character data `raw` (found at `offset`) to `out`, as an XML processor reports
/// it, keeping `out` within `cap` bytes.
fn decode_into(raw: &[u8], offset: usize, kind: Chars, out: &mut Vec<u8>, cap: u64) -> Result<()> {
    fn push(out: &mut Vec<u8>, bytes: &[u8], offset: usize, cap: u64) -> Result<()> {
        let len = out.len() + bytes.len();
        if len as u64 > cap {
            return Err(limit(offset, "property value size", len, cap));
        }
        out.extend_from_slice(bytes);
        Ok(())
    }
    let newline: &[u8] = if kind == Chars::Attr { b" " } else { b"\n" };
    let mut utf8 = [0u8; 4];
    let mut run = 0;
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        let (replacement, len): (&[u8], usize) = match b {
            b'&' if kind != Chars::CData => {
                let (c, len) =
                    parse_ref(raw, i).ok_or_else(|| malformed(offset + i, "invalid entity or character reference"))?;
                (c.encode_utf8(&mut utf8).as_bytes(), len)
            }
            b'\r' if raw.get(i + 1) == Some(&b'\n') => (newline, 2),
            b'\r' => (newline, 1),
            b'\n' | b'\t' if kind == Chars::Attr => (b" ", 1),
            _ => {
                i += 1;
                continue;
            }
        };
        push(out, raw.get(run..i).unwrap_or_default(), offset + run, cap)?;
        push(out, replacement, offset + i, cap)?;
        i += len;
        run = i;
    }
    push(out, raw.get(run..).unwrap_or_default(), offset + run, cap)
}

fn uri_eq(raw: &[u8], uri: &[u8]) -> bool {
    if raw == uri {
        return true;
    }
    // References only ever shorten the text.
    if raw.len() <= uri.len() || !raw.contains(&b'&') {
        return false;
    }
    let mut decoded = Vec::new();
    decode_into(raw, 0, Chars::Attr, &mut decoded, raw.len() as u64).is_ok() && decoded == uri
}

/// Appends `text` escaped for element content (`quote` `None`) or for an attribute value
/// delimited by `quote`.
fn escape_into(text: &str, quote: Option<u8>, out: &mut Vec<u8>) {
    let attr = quote.is_some();
    let bytes = text.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let entity: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'\r' => b"&#13;",
            b'"' if attr => b"&quot;",
            b'\'' if attr => b"&apos;",
            b'\n' if attr => b"&#10;",
            b'\t' if attr => b"&#9;",
            _ => continue,
        };
        out.extend_from_slice(bytes.get(run..i).unwrap_or_default());
        out.extend_from_slice(entity);
        run = i + 1;
    }
    out.extend_from_slice(bytes.get(run..).unwrap_or_default());
}

/// Appends `len` bytes of padding: a newline, then lines of spaces each ending with a newline.
fn push_padding(out: &mut Vec<u8>, len: usize) {
    if len == 0 {
        return;
    }
    out.push(b'\n');
    let mut left = len - 1;
    while left > 0 {
        let line = left.min(PADDING_LINE);
        out.extend(std::iter::repeat_n(b' ', line - 1));
        out.push(b'\n');
        left -= line;
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer: one token at a time, with byte ranges

#[derive(Debug, Clone, PartialEq, Eq)]
struct Tag {
    /// From `<` to `>` inclusive.
    range: Range<usize>,
    /// The qualified name.
    name: Range<usize>,
    /// Between the name and `>` or `/>`.
    attrs: Range<usize>,
    self_closing: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Attr {
    /// From the name to the closing quote inclusive.
    range: Range<usize>,
    name: Range<usize>,
    /// Inside the quotes.
    value: Range<usize>,
    quote: u8,
}

#[derive(Debug)]
enum Token {
    Text(Range<usize>),
    CData(Range<usize>),
    /// A comment or processing instruction.
    Other,
    Start(Tag),
    End {
        name: Range<usize>,
        range: Range<usize>,
    },
}

/// Bytes that may start a name (1) or continue one (2): XML 1.0 production 4, with every
/// non-ASCII byte allowed (names are compared as bytes, never decoded).
const NAME_BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = if c.is_ascii_alphabetic() || c == b'_' || c == b':' || c >= 0x80 {
            3
        } else if c.is_ascii_digit() || c == b'-' || c == b'.' {
            2
        } else {
            0
        };
        b += 1;
    }
    table
};

fn is_name_start(b: u8) -> bool {
    NAME_BYTES[usize::from(b)] & 1 != 0
}

fn is_name_byte(b: u8) -> bool {
    NAME_BYTES[usize::from(b)] & 2 != 0
}

fn name_end(buf: &[u8], at: usize) -> Result<usize> {
    if !buf.get(at).copied().is_some_and(is_name_start) {
        return Err(malformed(at, "expected a name"));
    }
    let mut pos = at + 1;
    while buf.get(pos).copied().is_some_and(is_name_byte) {
        pos += 1;
    }
    Ok(pos)
}

/// Reads the attribute starting at `at` (its syntax only).
fn parse_attr(buf: &[u8], at: usize) -> Result<Attr> {
    let name = at..name_end(buf, at)?;
    let eq = skip_ws(buf, name.end);
    if buf.get(eq) != Some(&b'=') {
        return Err(malformed(eq, "expected '=' after an attribute name"));
    }
    let open = skip_ws(buf, eq + 1);
    let quote = match buf.get(open) {
        Some(&q @ (b'"' | b'\'')) => q,
        _ => return Err(malformed(open, "expected a quoted attribute value")),
    };
    let close =
        find_byte(buf, quote, open + 1, buf.len()).ok_or_else(|| malformed(open, "unterminated attribute value"))?;
    Ok(Attr {
        range: at..close + 1,
        name,
        value: open + 1..close,
        quote,
    })
}

/// The attributes of a start tag the lexer has already checked.
struct Attrs<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl Iterator for Attrs<'_> {
    type Item = Attr;

    fn next(&mut self) -> Option<Attr> {
        let at = skip_ws(self.buf, self.pos);
        if at >= self.end {
            return None;
        }
        let attr = parse_attr(self.buf, at).ok()?;
        self.pos = attr.range.end;
        Some(attr)
    }
}

fn attrs<'a>(buf: &'a [u8], tag: &Tag) -> Attrs<'a> {
    Attrs {
        buf,
        pos: tag.attrs.start,
        end: tag.attrs.end,
    }
}

fn is_xmlns(name: &[u8]) -> bool {
    name == b"xmlns" || name.starts_with(b"xmlns:")
}

struct Lexer<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Lexer<'_> {
    fn next(&mut self) -> Result<Option<Token>> {
        let buf = self.buf;
        let start = self.pos;
        match buf.get(start) {
            None => return Ok(None),
            Some(b'<') => {}
            Some(_) => {
                let end = find_byte(buf, b'<', start, buf.len()).unwrap_or(buf.len());
                check_refs(buf, start..end)?;
                self.pos = end;
                return Ok(Some(Token::Text(start..end)));
            }
        }
        let rest = buf.get(start..).unwrap_or_default();
        let (token, end) = if rest.starts_with(b"<?") {
            let target = name_end(buf, start + 2)?;
            let close =
                find_seq(buf, b"?>", target).ok_or_else(|| malformed(start, "unterminated processing instruction"))?;
            (Token::Other, close + 2)
        } else if rest.starts_with(b"<!--") {
            let close = find_seq(buf, b"-->", start + 4).ok_or_else(|| malformed(start, "unterminated comment"))?;
            (Token::Other, close + 3)
        } else if rest.starts_with(b"<![CDATA[") {
            let close =
                find_seq(buf, b"]]>", start + 9).ok_or_else(|| malformed(start, "unterminated CDATA section"))?;
            (Token::CData(start + 9..close), close + 3)
        } else if rest.starts_with(b"<!") {
            return Err(malformed(start, "DTDs and declarations are not allowed in XMP"));
        } else if rest.starts_with(b"</") {
            let name = start + 2..name_end(buf, start + 2)?;
            let gt = skip_ws(buf, name.end);
            if buf.get(gt) != Some(&b'>') {
                return Err(malformed(gt, "expected '>' to close an end tag"));
            }
            (
                Token::End {
                    name,
                    range: start..gt + 1,
                },
                gt + 1,
            )
        } else {
            let tag = self.start_tag(start)?;
            let end = tag.range.end;
            (Token::Start(tag), end)
        };
        self.pos = end;
        Ok(Some(token))
    }

    fn start_tag(&self, start: usize) -> Result<Tag> {
        let buf = self.buf;
        let name = start + 1..name_end(buf, start + 1)?;
        let mut pos = name.end;
        loop {
            let at = skip_ws(buf, pos);
            let self_closing = match buf.get(at) {
                Some(b'>') => false,
                Some(b'/') if buf.get(at + 1) == Some(&b'>') => true,
                Some(_) if at > pos => {
                    let attr = parse_attr(buf, at)?;
                    if let Some(lt) = find_byte(buf, b'<', attr.value.start, attr.value.end) {
                        return Err(malformed(lt, "'<' in an attribute value"));
                    }
                    check_refs(buf, attr.value.clone())?;
                    pos = attr.range.end;
                    continue;
                }
                Some(_) => return Err(malformed(at, "expected white space, '>' or '/>' in a start tag")),
                None => return Err(malformed(start, "unterminated start tag")),
            };
            let end = if self_closing { at + 2 } else { at + 1 };
            return Ok(Tag {
                range: start..end,
                attrs: name.end..at,
                name,
                self_closing,
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Walker: namespaces, properties, and where a new property would go

/// The property looked for.
#[derive(Debug, Clone, Copy)]
struct Target<'t> {
    ns: &'t [u8],
    local: &'t [u8],
    /// Other spellings of `ns` read as the same namespace.
    variants: &'static [&'static str],
}

impl Target<'_> {
    /// Whether the raw URI `ns` names the target's namespace: `Some(None)` for `ns` itself,
    /// `Some(Some(variant))` for a variant spelling, `None` otherwise.
    fn namespace(&self, ns: &[u8]) -> Option<Option<&'static str>> {
        if uri_eq(ns, self.ns) {
            return Some(None);
        }
        self.variants
            .iter()
            .find(|v| uri_eq(ns, v.as_bytes()))
            .map(|v| Some(*v))
    }
}

/// One `xmlns` declaration in scope.
#[derive(Debug, Clone)]
struct Binding {
    /// Empty for the default namespace.
    prefix: Range<usize>,
    /// The raw attribute value.
    uri: Range<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Other,
    Rdf,
    Description,
    Prop,
}

#[derive(Debug)]
struct Open {
    name: Range<usize>,
    bindings: usize,
    role: Role,
}

/// A property found, with what the writer needs to change it.
#[derive(Debug, Clone)]
struct Prop {
    form: XmpForm,
    prefix: Range<usize>,
    range: Range<usize>,
    /// Attribute: inside the quotes. Element: between the tags (empty if self-closing).
    value_range: Range<usize>,
    /// The element's start tag (attribute form: of the element carrying it).
    tag: Tag,
    quote: u8,
    /// Element form: closed by an end tag and without child elements.
    simple: bool,
    /// `None` past [`Limits::max_copies`].
    value: Option<String>,
    /// The variant spelling of the namespace it is in, if not the target's own.
    variant: Option<&'static str>,
}

/// How the writer names a namespace at some point of the packet.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PrefixChoice {
    /// A prefix already bound to it there.
    Bound(Range<usize>),
    /// A free prefix to declare.
    Declare(String),
}

impl PrefixChoice {
    fn bytes<'a>(&'a self, packet: &'a [u8]) -> &'a [u8] {
        match self {
            PrefixChoice::Bound(r) => packet.get(r.clone()).unwrap_or_default(),
            PrefixChoice::Declare(s) => s.as_bytes(),
        }
    }

    fn declarations(&self) -> usize {
        usize::from(matches!(self, PrefixChoice::Declare(_)))
    }
}

/// The first `rdf:RDF`, or its first `rdf:Description`: where a new property can go.
#[derive(Debug, Clone)]
struct Container {
    tag: Tag,
    depth: usize,
    /// Start of the end tag; `None` while open or when self-closing.
    end_tag: Option<usize>,
    last_attr: Option<Attr>,
    rdf: PrefixChoice,
    tc260: PrefixChoice,
    /// Namespace declarations in scope inside it.
    bindings: usize,
}

#[derive(Debug, Default)]
struct Scan {
    props: Vec<Prop>,
    /// The values of `xmlns` declarations that bind a variant spelling of the target namespace.
    variant_decls: Vec<Range<usize>>,
    rdf: Option<Container>,
    description: Option<Container>,
    elements: u64,
}

struct OpenProp {
    index: usize,
    has_child: bool,
    value: Option<Vec<u8>>,
}

struct Walk<'a, 'l, 't> {
    buf: &'a [u8],
    limits: &'l Limits,
    target: Target<'t>,
    bindings: Vec<Binding>,
    stack: Vec<Open>,
    prop: Option<OpenProp>,
    root_seen: bool,
    scan: Scan,
}

impl<'a, 'l, 't> Walk<'a, 'l, 't> {
    fn run(buf: &'a [u8], target: Target<'t>, limits: &'l Limits) -> Result<Scan> {
        limits.check_metadata(FORMAT, 0, buf.len() as u64)?;
        if buf.starts_with(b"\xFE\xFF") || buf.starts_with(b"\xFF\xFE") || buf.starts_with(b"\0\0\xFE\xFF") {
            return Err(Error::unsupported("xmp", "UTF-16 and UTF-32 XMP packets"));
        }
        let start = if buf.starts_with(UTF8_BOM) { UTF8_BOM.len() } else { 0 };
        let mut walk = Walk {
            buf,
            limits,
            target,
            bindings: Vec::new(),
            stack: Vec::new(),
            prop: None,
            root_seen: false,
            scan: Scan::default(),
        };
        let mut lexer = Lexer { buf, pos: start };
        while let Some(token) = lexer.next()? {
            match token {
                Token::Text(range) => walk.text(range, Chars::Text)?,
                Token::CData(range) => walk.text(range, Chars::CData)?,
                Token::Other => {}
                Token::Start(tag) => walk.start(tag)?,
                Token::End { name, range } => walk.end(name, range)?,
            }
        }
        if !walk.stack.is_empty() {
            return Err(malformed(buf.len(), "element not closed at the end of the packet"));
        }
        if !walk.root_seen {
            return Err(malformed(buf.len(), "no root element"));
        }
        Ok(walk.scan)
    }

    fn text(&mut self, range: Range<usize>, kind: Chars) -> Result<()> {
        let raw = self.buf.get(range.clone()).unwrap_or_default();
        if self.stack.is_empty() {
            if kind == Chars::CData || raw.iter().any(|&b| !is_ws(b) && b != 0) {
                return Err(malformed(range.start, "text outside the root element"));
            }
            return Ok(());
        }
        if let Some(value) = self.prop.as_mut().and_then(|p| p.value.as_mut()) {
            decode_into(raw, range.start, kind, value, self.limits.max_label_bytes)?;
        }
        Ok(())
    }

    fn start(&mut self, tag: Tag) -> Result<()> {
        let at = tag.range.start;
        let depth = self.stack.len() + 1;
        if depth > self.limits.max_depth {
            return Err(limit(at, "XML element depth", depth, self.limits.max_depth as u64));
        }
        if self.stack.is_empty() && self.root_seen {
            return Err(malformed(at, "a second root element"));
        }
        self.root_seen = true;
        self.scan.elements += 1;
        if self.scan.elements > self.limits.max_structures {
            return Err(limit(
                at,
                "XML elements",
                self.scan.elements as usize,
                self.limits.max_structures,
            ));
        }
        let bindings = self.bindings.len();
        self.declare(&tag)?;
        let (prefix, local) = self.qname(tag.name.clone())?;
        let ns = self.resolve(prefix, tag.name.start, true)?;
        let is = |uri: &[u8], name: &[u8]| ns.is_some_and(|ns| uri_eq(ns, uri)) && local == name;

        let target = ns
            .filter(|_| local == self.target.local)
            .and_then(|ns| self.target.namespace(ns));
        let mut role = Role::Other;
        if let Some(open) = &mut self.prop {
            open.has_child = true;
        } else if target.is_some() {
            role = Role::Prop;
        } else if is(RDF_NS, b"RDF") && self.scan.rdf.is_none() {
            role = Role::Rdf;
        } else if is(RDF_NS, b"Description")
            && self.scan.description.is_none()
            && self.stack.last().is_some_and(|o| o.role == Role::Rdf)
        {
            role = Role::Description;
        }
        let detect = self.prop.is_none() && role != Role::Prop;
        self.attributes(&tag, detect)?;
        match role {
            Role::Prop => self.open_prop(&tag, prefix.len(), target.flatten()),
            Role::Rdf => self.scan.rdf = Some(self.container(&tag, depth, prefix)),
            Role::Description => self.scan.description = Some(self.container(&tag, depth, prefix)),
            Role::Other => {}
        }
        let open = Open {
            name: tag.name.clone(),
            bindings,
            role,
        };
        if tag.self_closing {
            self.close(open, tag.range.end..tag.range.end)
        } else {
            self.stack.push(open);
            Ok(())
        }
    }

    fn end(&mut self, name: Range<usize>, range: Range<usize>) -> Result<()> {
        let open = self
            .stack
            .pop()
            .ok_or_else(|| malformed(range.start, "end tag without a start tag"))?;
        if self.buf.get(open.name.clone()) != self.buf.get(name) {
            return Err(malformed(range.start, "end tag does not match the start tag"));
        }
        self.close(open, range)
    }

    /// Leaves an element; `end` is its end tag (empty, at the tag's end, when self-closing).
    fn close(&mut self, open: Open, end: Range<usize>) -> Result<()> {
        self.bindings.truncate(open.bindings);
        let end_tag = (!end.is_empty()).then_some(end.start);
        match open.role {
            Role::Prop => self.close_prop(end)?,
            Role::Rdf => {
                if let Some(c) = &mut self.scan.rdf {
                    c.end_tag = end_tag;
                }
            }
            Role::Description => {
                if let Some(c) = &mut self.scan.description {
                    c.end_tag = end_tag;
                }
            }
            Role::Other => {}
        }
        Ok(())
    }

    /// Pushes the tag's `xmlns` declarations.
    fn declare(&mut self, tag: &Tag) -> Result<()> {
        for attr in attrs(self.buf, tag) {
            let name = self.buf.get(attr.name.clone()).unwrap_or_default();
            if !is_xmlns(name) {
                continue;
            }
            let prefix = if name.len() == 5 {
                attr.name.end..attr.name.end
            } else {
                attr.name.start + 6..attr.name.end
            };
            // A prefix must itself be a name (`xmlns:0x` declares nothing an element or
            // attribute could use): accepting one would let a writer copy it into a name.
            if name.len() == 6
                || name.get(6..).is_some_and(|p| p.contains(&b':'))
                || name.get(6).is_some_and(|&b| !is_name_start(b))
            {
                return Err(malformed(attr.name.start, "invalid namespace declaration"));
            }
            if self.bindings.len() >= MAX_NAMESPACE_BINDINGS {
                return Err(limit(
                    attr.name.start,
                    "namespace declarations in scope",
                    self.bindings.len() + 1,
                    MAX_NAMESPACE_BINDINGS as u64,
                ));
            }
            let uri = self.buf.get(attr.value.clone()).unwrap_or_default();
            if self.target.namespace(uri).is_some_and(|v| v.is_some()) {
                self.scan.variant_decls.push(attr.value.clone());
            }
            self.bindings.push(Binding {
                prefix,
                uri: attr.value,
            });
        }
        Ok(())
    }

    /// Checks every other attribute's prefix, and records the target property's attribute form.
    fn attributes(&mut self, tag: &Tag, detect: bool) -> Result<()> {
        let buf = self.buf;
        for attr in attrs(buf, tag) {
            if is_xmlns(buf.get(attr.name.clone()).unwrap_or_default()) {
                continue;
            }
            let (prefix, local) = self.qname(attr.name.clone())?;
            // Unprefixed attributes are in no namespace (Namespaces in XML 1.0, section 6.2).
            let Some(ns) = self.resolve(prefix, attr.name.start, false)? else {
                continue;
            };
            if !detect || local != self.target.local {
                continue;
            }
            let Some(variant) = self.target.namespace(ns) else {
                continue;
            };
            let value = if self.collecting() {
                let mut bytes = Vec::new();
                let raw = buf.get(attr.value.clone()).unwrap_or_default();
                decode_into(
                    raw,
                    attr.value.start,
                    Chars::Attr,
                    &mut bytes,
                    self.limits.max_label_bytes,
                )?;
                Some(utf8(bytes, attr.value.start)?)
            } else {
                None
            };
            self.scan.props.push(Prop {
                form: XmpForm::Attribute,
                prefix: attr.name.start..attr.name.start + prefix.len(),
                range: attr.range.clone(),
                value_range: attr.value.clone(),
                tag: tag.clone(),
                quote: attr.quote,
                simple: true,
                value,
                variant,
            });
        }
        Ok(())
    }

    fn collecting(&self) -> bool {
        self.scan.props.len() < self.limits.max_copies
    }

    fn open_prop(&mut self, tag: &Tag, prefix_len: usize, variant: Option<&'static str>) {
        let collecting = self.collecting();
        self.prop = Some(OpenProp {
            index: self.scan.props.len(),
            has_child: false,
            value: collecting.then(Vec::new),
        });
        self.scan.props.push(Prop {
            form: XmpForm::Element,
            prefix: tag.name.start..tag.name.start + prefix_len,
            range: tag.range.clone(),
            value_range: tag.range.end..tag.range.end,
            tag: tag.clone(),
            quote: 0,
            simple: false,
            value: None,
            variant,
        });
    }

    fn close_prop(&mut self, end: Range<usize>) -> Result<()> {
        let Some(open) = self.prop.take() else {
            return Ok(());
        };
        let Some(prop) = self.scan.props.get_mut(open.index) else {
            return Ok(());
        };
        prop.range.end = end.end;
        prop.value_range = prop.tag.range.end..end.start;
        prop.simple = !end.is_empty() && !open.has_child;
        if let Some(bytes) = open.value {
            let bytes = if open.has_child { trim_ws(bytes) } else { bytes };
            prop.value = Some(utf8(bytes, prop.value_range.start)?);
        }
        Ok(())
    }

    fn container(&self, tag: &Tag, depth: usize, prefix: &[u8]) -> Container {
        let rdf = if prefix.is_empty() {
            self.prefix_for(RDF_NS, "rdf")
        } else {
            PrefixChoice::Bound(tag.name.start..tag.name.start + prefix.len())
        };
        Container {
            tag: tag.clone(),
            depth,
            end_tag: None,
            last_attr: attrs(self.buf, tag).last(),
            rdf,
            tc260: self.prefix_for(TC260_NS.as_bytes(), "TC260"),
            bindings: self.bindings.len(),
        }
    }

    /// Splits a qualified name into prefix and local part.
    fn qname(&self, name: Range<usize>) -> Result<(&'a [u8], &'a [u8])> {
        let bytes = self.buf.get(name.clone()).unwrap_or_default();
        let Some(colon) = bytes.iter().position(|&b| b == b':') else {
            return Ok((&[], bytes));
        };
        let (prefix, local) = (
            bytes.get(..colon).unwrap_or_default(),
            bytes.get(colon + 1..).unwrap_or_default(),
        );
        if prefix.is_empty() || local.is_empty() || local.contains(&b':') {
            return Err(malformed(name.start, "invalid qualified name"));
        }
        Ok((prefix, local))
    }

    /// The raw namespace URI of `prefix`; an unprefixed element takes the default namespace,
    /// an unprefixed attribute none.
    fn resolve(&self, prefix: &[u8], at: usize, element: bool) -> Result<Option<&'a [u8]>> {
        if prefix.is_empty() && !element {
            return Ok(None);
        }
        let uri = self.lookup(prefix);
        if uri.is_none() && !prefix.is_empty() {
            return Err(malformed(at, "unbound namespace prefix"));
        }
        Ok(uri)
    }

    fn lookup(&self, prefix: &[u8]) -> Option<&'a [u8]> {
        if prefix == b"xml" {
            return Some(XML_NS);
        }
        let binding = self
            .bindings
            .iter()
            .rev()
            .find(|b| self.buf.get(b.prefix.clone()) == Some(prefix))?;
        self.buf.get(binding.uri.clone()).filter(|uri| !uri.is_empty())
    }

    /// A prefix bound to `uri` here, or a free one (`preferred`, `preferred_1`, ...) to declare.
    fn prefix_for(&self, uri: &[u8], preferred: &str) -> PrefixChoice {
        for (i, b) in self.bindings.iter().enumerate().rev() {
            let prefix = self.buf.get(b.prefix.clone());
            if b.prefix.is_empty() || !self.buf.get(b.uri.clone()).is_some_and(|u| uri_eq(u, uri)) {
                continue;
            }
            let later = self.bindings.get(i + 1..).unwrap_or_default();
            if !later.iter().any(|o| self.buf.get(o.prefix.clone()) == prefix) {
                return PrefixChoice::Bound(b.prefix.clone());
            }
        }
        let mut name = preferred.to_string();
        // At most MAX_NAMESPACE_BINDINGS names are taken, so this ends.
        for n in 1..=MAX_NAMESPACE_BINDINGS + 1 {
            if self.lookup(name.as_bytes()).is_none() {
                break;
            }
            name = format!("{preferred}_{n}");
        }
        PrefixChoice::Declare(name)
    }
}

fn utf8(bytes: Vec<u8>, offset: usize) -> Result<String> {
    String::from_utf8(bytes)
        .map_err(|e| malformed(offset + e.utf8_error().valid_up_to(), "property value is not UTF-8"))
}

fn trim_ws(mut bytes: Vec<u8>) -> Vec<u8> {
    let end = bytes.iter().rposition(|&b| !is_ws(b)).map_or(0, |i| i + 1);
    bytes.truncate(end);
    let start = bytes.iter().position(|&b| !is_ws(b)).unwrap_or(bytes.len());
    bytes.drain(..start);
    bytes
}

// ---------------------------------------------------------------------------------------------
// Writer: splice edits into the original bytes

/// Replace `range` of the packet with `text`.
#[derive(Debug)]
struct Edit {
    range: Range<usize>,
    text: Vec<u8>,
}

fn replace_value(packet: &[u8], prop: &Prop, json: &str) -> Edit {
    let mut text = Vec::with_capacity(json.len() + 16);
    match prop.form {
        XmpForm::Attribute => {
            escape_into(json, Some(prop.quote), &mut text);
            return Edit {
                range: prop.value_range.clone(),
                text,
            };
        }
        XmpForm::Element if prop.simple => {
            escape_into(json, None, &mut text);
            return Edit {
                range: prop.value_range.clone(),
                text,
            };
        }
        XmpForm::Element => {}
    }
    // Structured or self-closing: rewrite as plain text, keeping the tag's declarations (its own
    // prefix may be bound there) and dropping `rdf:parseType` and the like.
    let qname = packet.get(prop.tag.name.clone()).unwrap_or_default();
    text.push(b'<');
    text.extend_from_slice(qname);
    for attr in attrs(packet, &prop.tag) {
        if is_xmlns(packet.get(attr.name.clone()).unwrap_or_default()) {
            text.push(b' ');
            text.extend_from_slice(packet.get(attr.range).unwrap_or_default());
        }
    }
    text.push(b'>');
    escape_into(json, None, &mut text);
    push_end_tag(&mut text, qname);
    Edit {
        range: prop.range.clone(),
        text,
    }
}

/// Removes a further copy, with the white space before it.
fn remove(packet: &[u8], prop: &Prop) -> Edit {
    let floor = match prop.form {
        XmpForm::Attribute => prop.tag.name.end,
        XmpForm::Element => 0,
    };
    Edit {
        range: ws_before(packet, prop.range.start, floor)..prop.range.end,
        text: Vec::new(),
    }
}

fn push_end_tag(out: &mut Vec<u8>, qname: &[u8]) {
    out.extend_from_slice(b"</");
    out.extend_from_slice(qname);
    out.push(b'>');
}

/// Appends `xmlns:prefix="uri"`, quoted like the tag's last attribute.
fn push_declaration(out: &mut Vec<u8>, prefix: &[u8], uri: &[u8], like: Option<&Attr>) {
    let quote = like.map_or(b'"', |a| a.quote);
    out.extend_from_slice(b"xmlns:");
    out.extend_from_slice(prefix);
    out.extend_from_slice(&[b'=', quote]);
    out.extend_from_slice(uri);
    out.push(quote);
}

fn aigc_element(prefix: &[u8], json: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() + 2 * prefix.len() + 16);
    let mut qname = prefix.to_vec();
    qname.extend_from_slice(b":AIGC");
    out.push(b'<');
    out.extend_from_slice(&qname);
    out.push(b'>');
    escape_into(json, None, &mut out);
    push_end_tag(&mut out, &qname);
    out
}

/// Checks that adding `elements` elements and `declarations` namespace declarations inside
/// `container` keeps the packet within the limits the reader applies.
fn check_growth(
    scan: &Scan,
    container: &Container,
    elements: usize,
    declarations: usize,
    limits: &Limits,
) -> Result<()> {
    let at = container.tag.range.start;
    let depth = container.depth + elements;
    if depth > limits.max_depth {
        return Err(limit(at, "XML element depth", depth, limits.max_depth as u64));
    }
    let count = scan.elements + elements as u64;
    if count > limits.max_structures {
        return Err(limit(at, "XML elements", count as usize, limits.max_structures));
    }
    let bindings = container.bindings + declarations;
    if bindings > MAX_NAMESPACE_BINDINGS {
        return Err(limit(
            at,
            "namespace declarations in scope",
            bindings,
            MAX_NAMESPACE_BINDINGS as u64,
        ));
    }
    Ok(())
}

/// Adds `<TC260:AIGC>` to the first `rdf:Description`, declaring the prefix there if needed.
fn insert_property(packet: &[u8], desc: &Container, json: &str, edits: &mut Vec<Edit>) -> Result<()> {
    let prefix = desc.tc260.bytes(packet);
    if let PrefixChoice::Declare(_) = desc.tc260 {
        // After the last attribute, lined up with it when attributes sit on their own lines.
        let (at, sep): (usize, &[u8]) = match &desc.last_attr {
            Some(a) => {
                let ws = packet
                    .get(ws_before(packet, a.range.start, desc.tag.name.end)..a.range.start)
                    .unwrap_or_default();
                (a.range.end, if ws.contains(&b'\n') { ws } else { b" " })
            }
            None => (desc.tag.name.end, b" "),
        };
        let mut text = sep.to_vec();
        push_declaration(&mut text, prefix, TC260_NS.as_bytes(), desc.last_attr.as_ref());
        edits.push(Edit { range: at..at, text });
    }
    insert_child(packet, desc, aigc_element(prefix, json), edits)
}

/// Adds a new `rdf:Description` holding `<TC260:AIGC>` to `rdf:RDF`.
fn insert_description(packet: &[u8], rdf: &Container, json: &str, edits: &mut Vec<Edit>) -> Result<()> {
    let rp = rdf.rdf.bytes(packet);
    let tp = rdf.tc260.bytes(packet);
    let mut qname = rp.to_vec();
    qname.extend_from_slice(b":Description");
    let mut text = Vec::with_capacity(json.len() + 256);
    text.push(b'<');
    text.extend_from_slice(&qname);
    text.push(b' ');
    text.extend_from_slice(rp);
    let like = rdf.last_attr.as_ref();
    let quote = like.map_or(b'"', |a| a.quote);
    text.extend_from_slice(b":about=");
    text.extend_from_slice(&[quote, quote]);
    if let PrefixChoice::Declare(_) = rdf.rdf {
        text.push(b' ');
        push_declaration(&mut text, rp, RDF_NS, like);
    }
    if let PrefixChoice::Declare(_) = rdf.tc260 {
        text.push(b' ');
        push_declaration(&mut text, tp, TC260_NS.as_bytes(), like);
    }
    text.push(b'>');
    text.extend_from_slice(&aigc_element(tp, json));
    push_end_tag(&mut text, &qname);
    insert_child(packet, rdf, text, edits)
}

/// Adds `child` as the last child of `parent`, indented like its first child; a self-closing
/// parent gets an end tag.
fn insert_child(packet: &[u8], parent: &Container, child: Vec<u8>, edits: &mut Vec<Edit>) -> Result<()> {
    let tag_end = parent.tag.range.end;
    if parent.tag.self_closing {
        let mut text = b">".to_vec();
        text.extend_from_slice(&child);
        push_end_tag(&mut text, packet.get(parent.tag.name.clone()).unwrap_or_default());
        edits.push(Edit {
            range: tag_end.saturating_sub(2)..tag_end,
            text,
        });
        return Ok(());
    }
    let end_tag = parent
        .end_tag
        .ok_or_else(|| malformed(parent.tag.range.start, "element has no end tag"))?;
    let at = ws_before(packet, end_tag, tag_end);
    let indent = packet
        .get(tag_end..skip_ws(packet, tag_end).min(end_tag))
        .unwrap_or_default();
    let mut text = indent.to_vec();
    text.extend_from_slice(&child);
    edits.push(Edit { range: at..at, text });
    Ok(())
}

/// The `<?xpacket end=...?>` trailer and the white space before it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Trailer {
    padding: Range<usize>,
}

/// Finds the trailer lexically: the packet (less trailing white space and NULs) must end with a
/// `<?xpacket ... end=...?>` instruction that follows markup.
fn trailer(packet: &[u8]) -> Option<Trailer> {
    let mut end = packet.len();
    while end > 0 && packet.get(end - 1).is_some_and(|&b| is_ws(b) || b == 0) {
        end -= 1;
    }
    let body = packet.get(..end)?;
    if !body.ends_with(b"?>") {
        return None;
    }
    const OPEN: &[u8] = b"<?xpacket";
    let start = body.windows(OPEN.len()).rposition(|w| w == OPEN)?;
    let pi = body.get(start..)?;
    if !pi.get(OPEN.len()).copied().is_some_and(is_ws)
        || find_seq(pi, b"?>", 0) != Some(pi.len() - 2)
        || find_seq(pi, b"end=", 0).is_none()
    {
        return None;
    }
    let pad_start = ws_before(packet, start, 0);
    if pad_start > 0 && packet.get(pad_start - 1) != Some(&b'>') {
        return None;
    }
    Some(Trailer {
        padding: pad_start..start,
    })
}

/// The edit that makes the padding absorb a change of `delta` bytes.
fn padding_edit(packet: &[u8], trailer: &Trailer, delta: isize) -> Option<Edit> {
    let pad = trailer.padding.clone();
    let len = pad.len();
    // Keep the newline that puts the trailer on its own line.
    let ends_in_newline = pad.end > pad.start && packet.get(pad.end - 1) == Some(&b'\n');
    if delta == 0 {
        return None;
    }
    if delta < 0 {
        let at = if ends_in_newline { pad.end - 1 } else { pad.end };
        return Some(Edit {
            range: at..at,
            text: vec![b' '; delta.unsigned_abs()],
        });
    }
    let grow = delta.unsigned_abs();
    if grow <= len {
        let at = if ends_in_newline && grow < len {
            pad.end - 1
        } else {
            pad.end
        };
        return Some(Edit {
            range: at - grow..at,
            text: Vec::new(),
        });
    }
    let mut text = Vec::with_capacity(DEFAULT_PADDING);
    push_padding(&mut text, DEFAULT_PADDING);
    Some(Edit { range: pad, text })
}

fn apply(packet: &[u8], mut edits: Vec<Edit>) -> Result<Vec<u8>> {
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    let size = |edits: &[Edit]| {
        let removed: usize = edits.iter().map(|e| e.range.len()).sum();
        let added: usize = edits.iter().map(|e| e.text.len()).sum();
        (packet.len() - removed.min(packet.len())) + added
    };
    let delta = size(&edits) as isize - packet.len() as isize;
    if let Some(t) = trailer(packet) {
        if edits.last().is_some_and(|e| e.range.end > t.padding.start) {
            return Err(malformed(t.padding.start, "edit overlaps the packet padding"));
        }
        edits.extend(padding_edit(packet, &t, delta));
    }
    let total = size(&edits);
    let mut out = Vec::new();
    out.try_reserve_exact(total)
        .map_err(|_| limit(0, "XMP packet size", total, u64::MAX))?;
    let mut pos = 0;
    for edit in &edits {
        let keep = packet
            .get(pos..edit.range.start)
            .ok_or_else(|| malformed(edit.range.start, "overlapping edits"))?;
        out.extend_from_slice(keep);
        out.extend_from_slice(&edit.text);
        pos = edit.range.end;
    }
    out.extend_from_slice(packet.get(pos..).unwrap_or_default());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
    const JSON: &str = r#"{"Label":"1","ContentProducer":"p","ProduceID":"a&b<c>'d'"}"#;

    fn limits() -> Limits {
        Limits::default()
    }

    fn find(packet: &str) -> Vec<XmpHit> {
        find_aigc(packet.as_bytes(), &limits()).unwrap_or_else(|e| panic!("{e}: {packet}"))
    }

    fn one(packet: &str) -> XmpHit {
        let mut hits = find(packet);
        assert_eq!(hits.len(), 1, "{hits:#?}");
        hits.remove(0)
    }

    fn set(packet: &str, json: &str) -> String {
        let out = set_aigc(packet.as_bytes(), json, &limits()).unwrap_or_else(|e| panic!("{e}: {packet}"));
        let text = String::from_utf8(out).unwrap();
        let hit = one(&text);
        assert_eq!(hit.value, json, "{text}");
        text
    }

    /// A wrapped packet with one description holding `body`, and `padding` bytes of padding.
    fn wrapped(desc_attrs: &str, body: &str, padding: usize) -> String {
        let mut p = format!(
            "\u{feff}<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
             <x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n <rdf:RDF xmlns:rdf=\"{RDF}\">\n  \
             <rdf:Description rdf:about=\"\"\n    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n    \
             xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"{desc_attrs}>\n   \
             <dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">A &amp; B</rdf:li></rdf:Alt></dc:title>\n   \
             <xmp:CreatorTool>Tool 1.0</xmp:CreatorTool>{body}\n  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>"
        );
        let mut pad = Vec::new();
        push_padding(&mut pad, padding);
        p.push_str(std::str::from_utf8(&pad).unwrap());
        p.push_str("<?xpacket end=\"w\"?>");
        p
    }

    fn aigc_el(prefix: &str, value: &str) -> String {
        format!("\n   <{prefix}:AIGC>{value}</{prefix}:AIGC>")
    }

    fn tc260_decl() -> String {
        format!(" xmlns:TC260=\"{TC260_NS}\"")
    }

    // --- variant namespace spellings --------------------------------------------------------

    #[test]
    fn variant_namespaces_are_read_with_a_warning() {
        for uri in TC260_NS_VARIANTS {
            let element = wrapped(
                &format!(" xmlns:TC260=\"{uri}\""),
                &aigc_el("TC260", r#"{"Label":"1"}"#),
                100,
            );
            let attribute = wrapped(&format!(" xmlns:t=\"{uri}\" t:AIGC='{{\"Label\":\"1\"}}'"), "", 100);
            for p in [element, attribute] {
                let hit = one(&p);
                assert_eq!(hit.value, r#"{"Label":"1"}"#);
                assert_eq!(hit.variant_namespace.as_deref(), Some(uri));
                let checks = hit.checks();
                assert_eq!(checks.len(), 1);
                assert_eq!(checks[0].id, crate::check::id::XMP_NAMESPACE);
                assert_eq!(checks[0].level, crate::check::Level::Warn);
            }
        }
        let standard = one(&wrapped(&tc260_decl(), &aigc_el("TC260", "x"), 0));
        assert_eq!(standard.variant_namespace, None);
        assert!(standard.checks().is_empty());
        // Near misses are other namespaces.
        for uri in [
            "http://www.tc260.org.cn/ns/AIGC/2.0/",
            "https://tc260.org.cn/ns/AIGC/1.0/",
        ] {
            assert!(find(&wrapped(&format!(" xmlns:TC260=\"{uri}\""), &aigc_el("TC260", "x"), 0)).is_empty());
        }
    }

    #[test]
    fn set_moves_a_variant_copy_into_the_standard_namespace() {
        for uri in TC260_NS_VARIANTS {
            // Only a variant copy: its declaration is corrected, its value replaced, in place.
            let p = wrapped(&format!(" xmlns:TC260=\"{uri}\""), &aigc_el("TC260", "old"), 400);
            let out = set(&p, JSON);
            assert_eq!(out.len(), p.len(), "the padding absorbs the change");
            let hit = one(&out);
            assert_eq!((hit.variant_namespace, hit.prefix.as_str()), (None, "TC260"));
            assert!(!out.contains(&format!("\"{uri}\"")), "{out}");
            // The attribute form.
            let p = wrapped(&format!(" xmlns:v=\"{uri}\" v:AIGC=\"old\""), "", 400);
            let out = set(&p, JSON);
            assert_eq!(one(&out).variant_namespace, None, "{out}");
            // A variant copy and a standard one: one copy remains, in the standard namespace.
            let body = [aigc_el("v", "variant"), aigc_el("TC260", "standard")].concat();
            let p = wrapped(&format!(" xmlns:v=\"{uri}\"{}", tc260_decl()), &body, 400);
            let out = set(&p, JSON);
            assert!(!out.contains("variant<") && !out.contains("standard<"), "{out}");
            assert_eq!(one(&out).variant_namespace, None);
            // A declaration on an ancestor is corrected too.
            let p = p.replace("<rdf:RDF ", &format!("<rdf:RDF xmlns:w=\"{uri}\" "));
            let p = p.replace(&aigc_el("v", "variant"), &aigc_el("w", "ancestor"));
            let out = set(&p, JSON);
            assert!(find(&out).iter().all(|h| h.variant_namespace.is_none()), "{out}");
        }
    }

    // --- reading -------------------------------------------------------------------------

    #[test]
    fn element_form() {
        let p = wrapped(&tc260_decl(), &aigc_el("TC260", r#"{"Label":"1"}"#), 100);
        let hit = one(&p);
        assert_eq!(hit.value, r#"{"Label":"1"}"#);
        assert_eq!(hit.form, XmpForm::Element);
        assert_eq!(hit.prefix, "TC260");
        assert_eq!(&p[hit.range], r#"<TC260:AIGC>{"Label":"1"}</TC260:AIGC>"#);
    }

    #[test]
    fn attribute_form() {
        let p = wrapped(&format!("{} TC260:AIGC='{{\"Label\":\"2\"}}'", tc260_decl()), "", 0);
        let hit = one(&p);
        assert_eq!(hit.value, r#"{"Label":"2"}"#);
        assert_eq!(hit.form, XmpForm::Attribute);
        assert_eq!(&p[hit.range], r#"TC260:AIGC='{"Label":"2"}'"#);
    }

    #[test]
    fn any_prefix_bound_to_the_namespace() {
        let p = wrapped(&format!(" xmlns:ns1=\"{TC260_NS}\""), &aigc_el("ns1", "x"), 0);
        let hit = one(&p);
        assert_eq!((hit.prefix.as_str(), hit.value.as_str()), ("ns1", "x"));
    }

    #[test]
    fn prefix_bound_on_an_ancestor() {
        for (meta, rdf) in [(tc260_decl(), String::new()), (String::new(), tc260_decl())] {
            let p = format!(
                "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"{meta}><rdf:RDF xmlns:rdf=\"{RDF}\"{rdf}>\
                 <rdf:Description rdf:about=\"\" TC260:AIGC=\"a\"/><rdf:Description>\
                 <TC260:AIGC>b</TC260:AIGC></rdf:Description></rdf:RDF></x:xmpmeta>"
            );
            let hits = find(&p);
            assert_eq!(hits.iter().map(|h| h.value.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        }
    }

    #[test]
    fn default_namespace_element() {
        let p = format!(
            "<rdf:RDF xmlns:rdf=\"{RDF}\"><rdf:Description><AIGC xmlns=\"{TC260_NS}\">v</AIGC>\
             </rdf:Description></rdf:RDF>"
        );
        let hit = one(&p);
        assert_eq!((hit.prefix.as_str(), hit.value.as_str()), ("", "v"));
        // Unprefixed attributes are in no namespace, even under a default namespace.
        let p = format!("<rdf:RDF xmlns:rdf=\"{RDF}\" xmlns=\"{TC260_NS}\"><rdf:Description AIGC=\"v\"/></rdf:RDF>");
        assert!(find(&p).is_empty());
    }

    #[test]
    fn prefix_bound_elsewhere_is_not_the_property() {
        let p = wrapped(" xmlns:TC260=\"http://example.com/other/\"", &aigc_el("TC260", "x"), 0);
        assert!(find(&p).is_empty());
        // Rebinding on the element shadows the ancestor's binding.
        let p = wrapped(
            &tc260_decl(),
            "<TC260:AIGC xmlns:TC260=\"http://example.com/\">x</TC260:AIGC>",
            0,
        );
        assert!(find(&p).is_empty());
        // A local name that differs only in case is another property.
        assert!(
            find(&wrapped(
                &tc260_decl(),
                &aigc_el("TC260", "x").replace("AIGC", "aigc"),
                0
            ))
            .is_empty()
        );
    }

    #[test]
    fn entities_and_character_references() {
        let p = wrapped(
            &format!(
                "{} TC260:AIGC=\"{{&quot;Label&quot;:&#34;1&#x22;,&#10;&quot;a&quot;:&quot;&lt;&amp;&gt;&apos;&quot;}}\"",
                tc260_decl()
            ),
            "",
            0,
        );
        assert_eq!(one(&p).value, "{\"Label\":\"1\",\n\"a\":\"<&>'\"}");
        let p = wrapped(
            &tc260_decl(),
            &aigc_el("TC260", "{&quot;Label&quot;:&#34;1&#x22;}\r\n&#xD;"),
            0,
        );
        assert_eq!(one(&p).value, "{\"Label\":\"1\"}\n\r");
        // Attribute-value normalisation: literal white space becomes spaces.
        let p = wrapped(&format!("{} TC260:AIGC=\"a\tb\nc\r\nd\"", tc260_decl()), "", 0);
        assert_eq!(one(&p).value, "a b c d");
    }

    #[test]
    fn cdata_and_comments() {
        let p = wrapped(&tc260_decl(), &aigc_el("TC260", "<![CDATA[{\"a\":\"<&>\"}]]>"), 0);
        assert_eq!(one(&p).value, "{\"a\":\"<&>\"}");
        let p = wrapped(
            &tc260_decl(),
            &aigc_el("TC260", "a<!-- x -->b<?pi y?><![CDATA[c]]>&amp;"),
            0,
        );
        assert_eq!(one(&p).value, "abc&");
    }

    #[test]
    fn structured_and_empty_values() {
        let alt = "\n <rdf:Alt>\n  <rdf:li xml:lang=\"x-default\">{\"Label\":\"1\"}</rdf:li>\n </rdf:Alt>\n";
        let p = wrapped(&tc260_decl(), &aigc_el("TC260", alt), 0);
        assert_eq!(one(&p).value, r#"{"Label":"1"}"#);
        let p = wrapped(&tc260_decl(), "<TC260:AIGC/>", 0);
        assert_eq!(one(&p).value, "");
    }

    #[test]
    fn every_copy_is_reported() {
        let p = format!(
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"{RDF}\">\
             <rdf:Description xmlns:a=\"{TC260_NS}\" a:AIGC=\"1\"><a:AIGC>2</a:AIGC></rdf:Description>\
             <rdf:Description xmlns:b=\"{TC260_NS}\"><b:AIGC>3</b:AIGC></rdf:Description>\
             </rdf:RDF></x:xmpmeta>"
        );
        let hits = find(&p);
        assert_eq!(
            hits.iter().map(|h| h.value.as_str()).collect::<Vec<_>>(),
            ["1", "2", "3"]
        );
        let few = Limits {
            max_copies: 2,
            ..Limits::default()
        };
        assert_eq!(find_aigc(p.as_bytes(), &few).unwrap().len(), 2);
    }

    #[test]
    fn bare_and_wrapped_packets() {
        let bare_meta = format!(
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"{RDF}\"><rdf:Description \
             xmlns:TC260=\"{TC260_NS}\"><TC260:AIGC>v</TC260:AIGC></rdf:Description></rdf:RDF></x:xmpmeta>"
        );
        assert_eq!(one(&bare_meta).value, "v");
        let bare_rdf = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rdf:RDF xmlns:rdf=\"{RDF}\"><rdf:Description \
             xmlns:TC260=\"{TC260_NS}\" TC260:AIGC=\"v\"/></rdf:RDF>\n\0\0"
        );
        assert_eq!(one(&bare_rdf).value, "v");
        assert_eq!(padding_len(bare_rdf.as_bytes()), None);
        assert_eq!(one(&wrapped(&tc260_decl(), &aigc_el("TC260", "v"), 300)).value, "v");
    }

    #[test]
    fn extended_xmp_is_recognised() {
        let note = " xmlns:xmpNote=\"http://ns.adobe.com/xmp/note/\"";
        let p = wrapped(
            &format!("{note} xmpNote:HasExtendedXMP=\"0123456789ABCDEF0123456789ABCDEF\""),
            "",
            0,
        );
        let guid = extended_xmp_guid(p.as_bytes(), &limits()).unwrap();
        assert_eq!(guid.as_deref(), Some("0123456789ABCDEF0123456789ABCDEF"));
        let p = wrapped(note, "<xmpNote:HasExtendedXMP> 00FF </xmpNote:HasExtendedXMP>", 0);
        assert_eq!(
            extended_xmp_guid(p.as_bytes(), &limits()).unwrap().as_deref(),
            Some("00FF")
        );
        assert_eq!(
            extended_xmp_guid(wrapped("", "", 0).as_bytes(), &limits()).unwrap(),
            None
        );
    }

    // --- malformed input -----------------------------------------------------------------

    fn assert_malformed(packet: &[u8]) {
        match find_aigc(packet, &limits()) {
            Err(Error::Malformed { format: "xmp", .. }) => {}
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(packet)),
        }
    }

    #[test]
    fn malformed_packets_are_errors() {
        let ok = wrapped(&tc260_decl(), &aigc_el("TC260", "v"), 10);
        for bad in [
            String::new(),
            "   ".to_string(),
            "not xml".to_string(),
            ok.replace("</rdf:RDF>", ""),
            ok.replace("</TC260:AIGC>", "</TC260:AIGc>"),
            ok.replace("A &amp; B", "A & B"),
            ok.replace("A &amp; B", "A &nbsp; B"),
            ok.replace("A &amp; B", "A &#xD800; B"),
            ok.replace("A &amp; B", "A &#0; B"),
            ok.replace("A &amp; B", "A &#99999999999; B"),
            ok.replace("A &amp; B", "A &amp B"),
            ok.replace("rdf:about=\"\"", "rdf:about=\"<\""),
            ok.replace("rdf:about=\"\"", "rdf:about=\"\"rdf:x=\"\""),
            ok.replace("rdf:about=\"\"", "rdf:about"),
            ok.replace("rdf:about=\"\"", "rdf:about=\""),
            ok.replace("<dc:title>", "<zz:title>")
                .replace("</dc:title>", "</zz:title>"),
            ok.replace("<dc:title>", "<dc::title>")
                .replace("</dc:title>", "</dc::title>"),
            ok.replace("<x:xmpmeta", "<!DOCTYPE x [<!ENTITY e \"x\">]><x:xmpmeta"),
            ok.replace("<x:xmpmeta", "text<x:xmpmeta"),
            format!("{ok}<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>"),
            ok.replace("<?xpacket end=\"w\"?>", "<?xpacket end=\"w\""),
            ok.replace("<![CDATA[", "").replace("v</TC", "<![CDATA[v</TC"),
            format!("<a><!-- {ok}"),
            "</a>".to_string(),
            "<a></b>".to_string(),
            "<a b='1' b2=\"2\"/ >".to_string(),
            "<1a/>".to_string(),
        ] {
            assert_malformed(bad.as_bytes());
        }
        // A value that is not UTF-8.
        let mut bytes = wrapped(&tc260_decl(), &aigc_el("TC260", "v"), 0).into_bytes();
        let at = bytes.windows(3).position(|w| w == b">v<").unwrap() + 1;
        bytes[at] = 0xFF;
        assert_malformed(&bytes);
        // UTF-16 is not supported.
        assert!(matches!(
            find_aigc(b"\xFF\xFE<\0a\0/\0>\0", &limits()),
            Err(Error::Unsupported(_))
        ));
    }

    #[test]
    fn limits_are_enforced() {
        let deep = format!("{}{}", "<a>".repeat(40), "</a>".repeat(40));
        assert!(matches!(
            find_aigc(deep.as_bytes(), &limits()),
            Err(Error::Limit { .. })
        ));
        let ok = format!("{}{}", "<a>".repeat(32), "</a>".repeat(32));
        assert!(find_aigc(ok.as_bytes(), &limits()).is_ok());
        let long = wrapped(&tc260_decl(), &aigc_el("TC260", &"x".repeat(70_000)), 0);
        assert!(matches!(
            find_aigc(long.as_bytes(), &limits()),
            Err(Error::Limit { .. })
        ));
        let small = Limits {
            max_metadata_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(find_aigc(long.as_bytes(), &small), Err(Error::Limit { .. })));
        let many: String = (0..300).map(|i| format!(" xmlns:p{i}=\"u\"")).collect();
        assert!(matches!(
            find_aigc(format!("<a{many}/>").as_bytes(), &limits()),
            Err(Error::Limit { .. })
        ));
    }

    #[test]
    fn truncations_and_random_bytes_never_panic() {
        let p = wrapped(
            &format!("{} TC260:AIGC=\"&quot;\"", tc260_decl()),
            &aigc_el("TC260", "<![CDATA[v]]>"),
            200,
        );
        let bytes = p.as_bytes();
        let root_end = p.find("</x:xmpmeta>").unwrap() + "</x:xmpmeta>".len();
        let trailer = p.find("<?xpacket end").unwrap();
        for len in 0..bytes.len() {
            let r = find_aigc(&bytes[..len], &limits());
            assert_eq!(r.is_ok(), (root_end..=trailer).contains(&len), "truncated to {len}");
            let _ = set_aigc(&bytes[..len], JSON, &limits());
        }
        // Random bytes, and random bytes spliced into a valid packet.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"<>/=\"'&;#x:?!-[]CDATA \n\ta1";
        for _ in 0..2000 {
            let len = (next() % 64) as usize;
            let noise: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 3 == 0 {
                        r as u8
                    } else {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    }
                })
                .collect();
            let _ = find_aigc(&noise, &limits());
            let at = (next() as usize) % bytes.len();
            let mut spliced = bytes[..at].to_vec();
            spliced.extend_from_slice(&noise);
            spliced.extend_from_slice(&bytes[at..]);
            if find_aigc(&spliced, &limits()).is_ok()
                && let Ok(out) = set_aigc(&spliced, JSON, &limits())
            {
                let hits = find_aigc(&out, &limits()).unwrap();
                assert_eq!(hits.len(), 1);
                assert_eq!(hits[0].value, JSON);
            }
        }
    }

    // --- writing -------------------------------------------------------------------------

    #[test]
    fn update_keeps_other_bytes_and_length() {
        let p = wrapped(&tc260_decl(), &aigc_el("TC260", r#"{"Label":"1"}"#), 500);
        let hit = one(&p);
        let out = set(&p, JSON);
        assert_eq!(out.len(), p.len());
        let new = one(&out);
        assert_eq!(&out[..hit.range.start], &p[..hit.range.start]);
        let tail = p.find("\n  </rdf:Description>").unwrap();
        let out_tail = out.find("\n  </rdf:Description>").unwrap();
        assert_eq!(out_tail, new.range.end);
        let pad = padding_len(p.as_bytes()).unwrap();
        let out_pad = padding_len(out.as_bytes()).unwrap();
        assert_eq!(&out[out_tail..out.len() - out_pad - 19], &p[tail..p.len() - pad - 19]);
        assert!(out.ends_with("\n<?xpacket end=\"w\"?>"));
        assert!(out.contains("<xmp:CreatorTool>Tool 1.0</xmp:CreatorTool>"));
        assert!(out.contains("<rdf:li xml:lang=\"x-default\">A &amp; B</rdf:li>"));
        // Shrinking keeps the length too.
        let back = set(&out, "{}");
        assert_eq!(back.len(), p.len());
    }

    #[test]
    fn update_grows_when_padding_is_short() {
        let p = wrapped(&tc260_decl(), &aigc_el("TC260", "{}"), 10);
        let out = set(&p, JSON);
        assert!(out.len() > p.len());
        assert_eq!(padding_len(out.as_bytes()), Some(DEFAULT_PADDING));
        // Exactly enough padding: same length, no padding left.
        let p = wrapped(&tc260_decl(), &aigc_el("TC260", "{}"), 7);
        let out = set(&p, "{\"abc\":1}");
        assert_eq!((out.len(), padding_len(out.as_bytes())), (p.len(), Some(0)));
    }

    #[test]
    fn no_padding_is_added_without_a_wrapper() {
        let p = format!(
            "<rdf:RDF xmlns:rdf=\"{RDF}\"><rdf:Description xmlns:TC260=\"{TC260_NS}\">\
             <TC260:AIGC>{{}}</TC260:AIGC></rdf:Description></rdf:RDF>"
        );
        let out = set(&p, JSON);
        let escaped = JSON.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        assert_eq!(out, p.replace("{}", &escaped));
    }

    #[test]
    fn attribute_form_is_kept_with_its_quotes() {
        let p = wrapped(&format!(" xmlns:t=\"{TC260_NS}\" t:AIGC='old'"), "", 600);
        let out = set(&p, JSON);
        assert!(
            out.contains("t:AIGC='{&quot;Label&quot;:&quot;1&quot;,&quot;ContentProducer&quot;"),
            "{out}"
        );
        assert!(out.contains("&quot;a&amp;b&lt;c&gt;&apos;d&apos;&quot;}'"), "{out}");
        assert_eq!(one(&out).form, XmpForm::Attribute);
        assert_eq!(out.len(), p.len());
        let json = "a\tb\nc\r\"d\"";
        assert_eq!(one(&set(&p, json)).value, json);
    }

    #[test]
    fn extra_copies_are_removed() {
        let p = format!(
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n<rdf:RDF xmlns:rdf=\"{RDF}\">\n\
             <rdf:Description xmlns:a=\"{TC260_NS}\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" a:AIGC=\"1\" dc:format=\"x\">\n \
             <a:AIGC>2</a:AIGC>\n <dc:creator>c</dc:creator>\n</rdf:Description>\n\
             <rdf:Description xmlns:b=\"{TC260_NS}\">\n <b:AIGC><rdf:Alt><rdf:li>3</rdf:li></rdf:Alt></b:AIGC>\n</rdf:Description>\n\
             </rdf:RDF>\n</x:xmpmeta>"
        );
        let out = set(&p, "new");
        let expected = p
            .replace("a:AIGC=\"1\"", "a:AIGC=\"new\"")
            .replace("\n <a:AIGC>2</a:AIGC>", "")
            .replace("\n <b:AIGC><rdf:Alt><rdf:li>3</rdf:li></rdf:Alt></b:AIGC>", "");
        assert_eq!(out, expected);
    }

    #[test]
    fn structured_or_empty_value_becomes_text() {
        let p = wrapped(
            &tc260_decl(),
            "<TC260:AIGC rdf:parseType=\"Resource\" xmlns:q=\"u\"><q:x>1</q:x></TC260:AIGC>",
            0,
        );
        let out = set(&p, "v");
        assert!(out.contains("<TC260:AIGC xmlns:q=\"u\">v</TC260:AIGC>"), "{out}");
        let p = wrapped("", &format!("<z:AIGC xmlns:z=\"{TC260_NS}\"/>"), 0);
        let out = set(&p, "v");
        assert!(
            out.contains(&format!("<z:AIGC xmlns:z=\"{TC260_NS}\">v</z:AIGC>")),
            "{out}"
        );
    }

    #[test]
    fn inserts_into_the_first_description() {
        let p = wrapped("", "", 300);
        let out = set(&p, JSON);
        assert_eq!(out.len(), p.len());
        // The declaration lines up with the attributes, the element with the properties.
        assert!(out.contains(&format!(
            "    xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n    xmlns:TC260=\"{TC260_NS}\">"
        )));
        assert!(out.contains("<xmp:CreatorTool>Tool 1.0</xmp:CreatorTool>\n   <TC260:AIGC>{\"Label\""));
        // Removing what was added gives back the packet, less the padding used.
        let hit = one(&out);
        let undone = out
            .replace(&format!("\n    xmlns:TC260=\"{TC260_NS}\""), "")
            .replace(&format!("\n   {}", &out[hit.range]), "");
        let root_end = |s: &str| s.find("</x:xmpmeta>").unwrap();
        assert_eq!(&undone[..root_end(&undone)], &p[..root_end(&p)]);
    }

    #[test]
    fn reuses_a_bound_prefix_and_avoids_a_taken_one() {
        let p = format!(
            "<rdf:RDF xmlns:rdf=\"{RDF}\" xmlns:aigc=\"{TC260_NS}\"><rdf:Description rdf:about=\"\"></rdf:Description></rdf:RDF>"
        );
        let out = set(&p, "v");
        assert_eq!(out, p.replace("\"\"></rdf:D", "\"\"><aigc:AIGC>v</aigc:AIGC></rdf:D"));
        let p = format!(
            "<rdf:RDF xmlns:rdf=\"{RDF}\" xmlns:TC260=\"urn:other\"><rdf:Description xmlns:TC260_1=\"urn:x\">\n  \
             <TC260:x>1</TC260:x>\n</rdf:Description></rdf:RDF>"
        );
        let out = set(&p, "v");
        let hit = one(&out);
        assert_eq!(hit.prefix, "TC260_2");
        assert!(out.contains(&format!(" xmlns:TC260_1=\"urn:x\" xmlns:TC260_2=\"{TC260_NS}\">\n  <TC260:x>1</TC260:x>\n  <TC260_2:AIGC>v</TC260_2:AIGC>\n</rdf:Description>")), "{out}");
    }

    #[test]
    fn self_closing_description_and_missing_description() {
        let p = format!("<rdf:RDF xmlns:rdf=\"{RDF}\"><rdf:Description rdf:about=\"\" /></rdf:RDF>");
        let out = set(&p, "v");
        assert_eq!(
            out,
            format!(
                "<rdf:RDF xmlns:rdf=\"{RDF}\"><rdf:Description rdf:about=\"\" xmlns:TC260=\"{TC260_NS}\" >\
                 <TC260:AIGC>v</TC260:AIGC></rdf:Description></rdf:RDF>"
            )
        );
        let p = format!("<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n <r:RDF xmlns:r=\"{RDF}\">\n </r:RDF>\n</x:xmpmeta>");
        let out = set(&p, "v");
        assert_eq!(
            out,
            format!(
                "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n <r:RDF xmlns:r=\"{RDF}\">\n \
                 <r:Description r:about=\"\" xmlns:TC260=\"{TC260_NS}\"><TC260:AIGC>v</TC260:AIGC></r:Description>\n \
                 </r:RDF>\n</x:xmpmeta>"
            )
        );
        let p = format!("<RDF xmlns=\"{RDF}\"/>");
        let out = set(&p, "v");
        assert_eq!(
            out,
            format!(
                "<RDF xmlns=\"{RDF}\"><rdf:Description rdf:about=\"\" xmlns:rdf=\"{RDF}\" xmlns:TC260=\"{TC260_NS}\">\
                 <TC260:AIGC>v</TC260:AIGC></rdf:Description></RDF>"
            )
        );
    }

    #[test]
    fn set_is_idempotent() {
        for p in [
            wrapped("", "", 30),
            wrapped(&tc260_decl(), &aigc_el("TC260", "old"), 0),
            wrapped(&format!("{} TC260:AIGC=\"1\"", tc260_decl()), &aigc_el("TC260", "2"), 5),
        ] {
            let once = set(&p, JSON);
            assert_eq!(set(&once, JSON), once);
        }
    }

    #[test]
    fn refuses_what_is_not_xmp_and_text_xml_cannot_hold() {
        let not_xmp = b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"></x:xmpmeta>";
        assert!(matches!(
            set_aigc(not_xmp, "v", &limits()),
            Err(Error::Malformed { format: "xmp", .. })
        ));
        assert!(matches!(
            set_aigc(b"\x89PNG", "v", &limits()),
            Err(Error::Malformed { .. })
        ));
        let p = new_packet("v", 0);
        assert!(matches!(
            set_aigc(&p, "a\u{1}b", &limits()),
            Err(Error::Parameter { .. })
        ));
        assert!(matches!(
            set_aigc(&p, &"x".repeat(70_000), &limits()),
            Err(Error::Limit { .. })
        ));
        let shallow = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        let p = format!("<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"{RDF}\"/></x:xmpmeta>");
        assert!(matches!(
            set_aigc(p.as_bytes(), "v", &shallow),
            Err(Error::Limit { .. })
        ));
    }

    #[test]
    fn new_packet_round_trips() {
        for padding in [0, 1, 2, 99, 100, 101, DEFAULT_PADDING] {
            let p = new_packet(JSON, padding);
            assert!(p.starts_with("<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>".as_bytes()));
            assert!(p.ends_with(b"<?xpacket end=\"w\"?>"));
            assert_eq!(padding_len(&p), Some(padding));
            let hits = find_aigc(&p, &limits()).unwrap();
            assert_eq!(hits.len(), 1);
            assert_eq!((hits[0].value.as_str(), hits[0].form), (JSON, XmpForm::Element));
        }
        let p = new_packet("a\u{1}b", 0);
        assert_eq!(find_aigc(&p, &limits()).unwrap()[0].value, "a\u{fffd}b");
        let mut pad = Vec::new();
        push_padding(&mut pad, 250);
        assert_eq!(pad.len(), 250);
        assert!(pad.split(|&b| b == b'\n').all(|line| line.len() < PADDING_LINE));
    }
}
