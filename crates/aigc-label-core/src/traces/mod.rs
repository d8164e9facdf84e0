//! Traces of generation (spec section 6): marks other than a GB 45438 label that suggest a file
//! was made by a generator, for the platform's "suspected" class.
//!
//! Found, each with the byte range of the structure it sits in:
//! - [`TraceKind::C2paManifest`]: a C2PA manifest store: JPEG APP11 JUMBF boxes labelled `c2pa`,
//!   a PNG `caBX` chunk, an ISO-BMFF `uuid` box `d8fec3d6-1b0e-483c-9297-5828877ec481`. Its
//!   presence is the trace; the manifest is neither parsed nor validated here.
//! - [`TraceKind::DigitalSourceType`]: the IPTC `Iptc4xmpExt:DigitalSourceType` property in XMP
//!   naming AI media ([`AI_SOURCE_TYPES`]).
//! - [`TraceKind::GeneratorText`]: PNG text chunks with a generator's keyword
//!   ([`GENERATOR_KEYWORDS`]: `parameters` from the AUTOMATIC1111 web UI, `prompt` and
//!   `workflow` from ComfyUI, ...).
//! - [`TraceKind::GeneratorSoftware`]: EXIF `Software`, PNG `Software` text or XMP
//!   `xmp:CreatorTool` naming a generator ([`GENERATORS`]).
//! - [`TraceKind::ExplicitLabel`]: explicit label text (`【AI生成】`, `由人工智能合成`) standing
//!   on its own, found by [`crate::explicit::find_labels`] in PNG text chunks, XMP
//!   packets, EXIF `ImageDescription`, JPEG comments, and the body of plain-text files
//!   (Markdown, `.txt`). Text inside PDF and Office files is not extracted here.
//!
//! Design: one scanner per container family behind [`TraceScanner`], which a carrier names as its
//! capability ([`Carrier::traces`]; nothing here sniffs: one detection, the registry's), and
//! shared detectors for what formats carry alike (an XMP packet, an EXIF block, a text value),
//! so a format in a known container is one line in its carrier, and a new container one module
//! that finds those blocks. The trust crate re-exports this module for the "suspected" class. Scanners read headers
//! through [`crate::io::Source`], seek past image data, obey [`Limits`] and never
//! panic; a malformed file yields the traces found before the damage and an error.

mod bmff;
mod exif;
mod jpeg;
mod png;
mod text;

pub use bmff::BmffScanner;
pub use jpeg::JpegScanner;
pub use png::PngScanner;
pub use text::TextScanner;

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use crate::explicit::find_labels;
use crate::io::ReadSeek;
use crate::{Carrier, Limits, Result, xmp};

/// The IPTC Extension namespace, home of `DigitalSourceType`.
pub const IPTC_EXT_NS: &str = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/";
/// The XMP basic namespace, home of `CreatorTool`.
pub const XMP_BASIC_NS: &str = "http://ns.adobe.com/xap/1.0/";
/// The IPTC digital source type vocabulary's URI prefix.
pub const DIGITAL_SOURCE_TYPE_URI: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/";
/// IPTC digital source types that mean the media was made by an algorithm.
pub const AI_SOURCE_TYPES: &[&str] = &[
    "trainedAlgorithmicMedia",
    "compositeSynthetic",
    "algorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
];
/// PNG text keywords generators write their settings under \[wild\].
pub const GENERATOR_KEYWORDS: &[&str] = &[
    "parameters",
    "prompt",
    "workflow",
    "invokeai_metadata",
    "sd-metadata",
    "Dream",
];
/// Generator names looked for in software fields, matched case-insensitively as whole words
/// \[wild\].
pub const GENERATORS: &[&str] = &[
    "Midjourney",
    "DALL-E",
    "DALL·E",
    "Stable Diffusion",
    "StableDiffusion",
    "SDXL",
    "NovelAI",
    "ComfyUI",
    "AUTOMATIC1111",
    "InvokeAI",
    "Fooocus",
    "Adobe Firefly",
    "Imagen",
    "Ideogram",
    "Leonardo.Ai",
    "Runway",
    "Kling",
    "Jimeng",
    "Doubao",
    "Hunyuan",
    "Wanxiang",
    "即梦",
    "豆包",
    "可灵",
    "通义万相",
    "文心一格",
    "混元",
];

/// Most bytes of a value quoted in a trace's detail.
const DETAIL_LEN: usize = 80;

/// What kind of trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TraceKind {
    /// A C2PA manifest store.
    C2paManifest,
    /// IPTC `DigitalSourceType` naming AI media.
    DigitalSourceType,
    /// A generator's settings in a PNG text chunk.
    GeneratorText,
    /// A software field naming a generator.
    GeneratorSoftware,
    /// Explicit label text (`AI生成`) in metadata or in the text of a text file.
    ExplicitLabel,
    /// An invisible watermark in the pixels, found by a detector the caller supplies (this
    /// crate decodes no pixels; see [`watermark_trace`]).
    Watermark,
}

impl TraceKind {
    /// `c2pa`, `digital-source-type`, `generator-text`, `generator-software`, `explicit-label`
    /// or `watermark`.
    pub fn as_str(self) -> &'static str {
        match self {
            TraceKind::C2paManifest => "c2pa",
            TraceKind::DigitalSourceType => "digital-source-type",
            TraceKind::GeneratorText => "generator-text",
            TraceKind::GeneratorSoftware => "generator-software",
            TraceKind::ExplicitLabel => "explicit-label",
            TraceKind::Watermark => "watermark",
        }
    }
}

impl fmt::Display for TraceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// What was found.
    pub kind: TraceKind,
    /// Where, for people: `"PNG caBX chunk"`, `"JPEG APP1 XMP"`, ...
    pub location: Cow<'static, str>,
    /// Byte range of the structure (chunk, segment, box) that holds it.
    pub range: Range<u64>,
    /// What it says: the keyword, the value, the generator's name.
    pub detail: String,
}

/// A container format's scanner.
pub trait TraceScanner: Sync {
    /// Short format name, as carriers spell it.
    fn format(&self) -> &'static str;

    /// Every trace in `input`.
    ///
    /// # Errors
    /// Malformed or truncated input, limits exceeded, I/O errors.
    fn scan(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Trace>>;
}

/// Every scanner there is, one per container family (for fuzzing and tests: a file's scanner
/// is its carrier's [`Carrier::traces`]).
pub fn scanners() -> &'static [&'static dyn TraceScanner] {
    &[&PngScanner, &JpegScanner, &BmffScanner, &TextScanner]
}

/// Finds every trace in `input`, a file `carrier` was detected for (by a carrier registry,
/// `aigc_label::detect`, from magic bytes), with the carrier's scanner
/// ([`Carrier::traces`]); a format without one has no traces.
///
/// # Errors
/// As [`TraceScanner::scan`].
pub fn detect(carrier: &dyn Carrier, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Trace>> {
    match carrier.traces() {
        Some(scanner) => {
            std::io::Seek::seek(input, std::io::SeekFrom::Start(0))?;
            scanner.scan(input, limits)
        }
        None => Ok(Vec::new()),
    }
}

/// The generator `text` names, if any (see [`GENERATORS`]). Latin names must stand as words
/// (`Imagen` is not found in `Imagenomic`); CJK names match anywhere.
pub fn generator_named(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    GENERATORS.iter().copied().find(|name| {
        let name_lower = name.to_lowercase();
        let word_start = name_lower.starts_with(|c: char| c.is_ascii_alphanumeric());
        let word_end = name_lower.ends_with(|c: char| c.is_ascii_alphanumeric());
        lower.match_indices(&name_lower).any(|(at, m)| {
            let before = lower.get(..at).and_then(|s| s.chars().next_back());
            let after = lower.get(at + m.len()..).and_then(|s| s.chars().next());
            let glued_before = word_start && before.is_some_and(|c| c.is_ascii_alphanumeric());
            let glued_after = word_end && after.is_some_and(|c| c.is_ascii_alphabetic());
            !glued_before && !glued_after
        })
    })
}

/// The first bytes of `text`, on a character boundary, for a trace's detail.
fn excerpt(text: &str) -> String {
    let mut end = text.len().min(DETAIL_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out: String = text
        .get(..end)
        .unwrap_or("")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if end < text.len() {
        out.push_str("...");
    }
    out
}

/// Traces in an XMP packet: AI `DigitalSourceType`, and `CreatorTool` naming a generator.
///
/// A packet the XMP reader rejects is still searched for the IPTC vocabulary URIs, since a
/// trace is evidence, not a label to validate.
pub fn in_xmp(packet: &[u8], location: &'static str, range: Range<u64>, limits: &Limits) -> Vec<Trace> {
    let mut out = Vec::new();
    let trace = |kind, detail: String| Trace {
        kind,
        location: Cow::Borrowed(location),
        range: range.clone(),
        detail,
    };
    let source_types = xmp::find_property(packet, IPTC_EXT_NS, "DigitalSourceType", limits).unwrap_or_default();
    let mut values: Vec<String> = source_types.into_iter().map(|h| h.value).collect();
    if values.is_empty() {
        values = raw_source_types(packet);
    }
    for value in values {
        let code = value.trim().rsplit('/').next().unwrap_or("");
        if let Some(kind) = AI_SOURCE_TYPES.iter().find(|t| t.eq_ignore_ascii_case(code)) {
            out.push(trace(TraceKind::DigitalSourceType, (*kind).to_string()));
        }
    }
    for hit in xmp::find_property(packet, XMP_BASIC_NS, "CreatorTool", limits).unwrap_or_default() {
        if let Some(name) = generator_named(&hit.value) {
            out.push(trace(
                TraceKind::GeneratorSoftware,
                format!("CreatorTool {:?} names {name}", excerpt(&hit.value)),
            ));
        }
    }
    out.extend(explicit_label(
        &String::from_utf8_lossy(packet),
        location,
        range.clone(),
    ));
    out
}

/// A trace for the first explicit label standing on its own in `text`, if any.
pub(crate) fn explicit_label(text: &str, location: &'static str, range: Range<u64>) -> Option<Trace> {
    let found = find_labels(text);
    let first = found.first()?;
    Some(Trace {
        kind: TraceKind::ExplicitLabel,
        location: Cow::Borrowed(location),
        range,
        detail: format!("explicit label {:?}", excerpt(first.text(text))),
    })
}

/// The trace for an invisible watermark carrying `payload`, found in the pixels with
/// `confidence` (the detector's own measure), and the label `producer` a caller's lookup mapped
/// the payload to, if any (a producer's register of the labels it issued, say).
///
/// Why a payload and not a label: a watermark carries a 64-bit digest of the label's
/// `ContentProducer` and `ProduceID`, which only whoever holds the label can map back. The
/// range is empty: the mark is spread over the whole picture, not in one structure.
pub fn watermark_trace(payload: u64, confidence: f32, producer: Option<&crate::Label>) -> Trace {
    let mut detail = format!("payload {payload:016x}, confidence {confidence:.1}");
    if let Some(label) = producer {
        detail.push_str(&format!(
            ", issued by {} as {}",
            excerpt(&label.content_producer),
            excerpt(&label.produce_id)
        ));
    }
    Trace {
        kind: TraceKind::Watermark,
        location: Cow::Borrowed("pixels (invisible watermark)"),
        range: 0..0,
        detail,
    }
}

/// The digital source type codes written as vocabulary URIs anywhere in `packet`.
fn raw_source_types(packet: &[u8]) -> Vec<String> {
    let prefix = DIGITAL_SOURCE_TYPE_URI.as_bytes();
    let mut out = Vec::new();
    let mut rest = packet;
    while let Some(at) = rest.windows(prefix.len()).position(|w| w == prefix) {
        let after = rest.get(at + prefix.len()..).unwrap_or(&[]);
        let code: Vec<u8> = after
            .iter()
            .take(64)
            .copied()
            .take_while(u8::is_ascii_alphanumeric)
            .collect();
        out.push(String::from_utf8_lossy(&code).into_owned());
        rest = after;
        if out.len() >= 16 {
            break;
        }
    }
    out
}

/// A trace for a text value under `keyword` (a PNG text chunk): a generator's keyword, or
/// `Software` naming a generator.
fn in_text(keyword: &str, value: &str, location: &'static str, range: Range<u64>) -> Option<Trace> {
    let trace = |kind, detail| {
        Some(Trace {
            kind,
            location: Cow::Borrowed(location),
            range: range.clone(),
            detail,
        })
    };
    if GENERATOR_KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(keyword)) {
        return trace(TraceKind::GeneratorText, format!("{keyword}: {}", excerpt(value)));
    }
    if keyword.eq_ignore_ascii_case("Software") {
        let name = generator_named(value)?;
        return trace(
            TraceKind::GeneratorSoftware,
            format!("Software {:?} names {name}", excerpt(value)),
        );
    }
    explicit_label(value, location, range.clone())
}

/// Traces in a TIFF-structured EXIF block: `Software` naming a generator, and an explicit label
/// in `ImageDescription`.
fn in_exif(tiff: &[u8], location: &'static str, range: Range<u64>) -> Vec<Trace> {
    let mut out = Vec::new();
    if let Some(software) = exif::software(tiff) {
        if let Some(name) = generator_named(&software) {
            out.push(Trace {
                kind: TraceKind::GeneratorSoftware,
                location: Cow::Borrowed(location),
                range: range.clone(),
                detail: format!("EXIF Software {:?} names {name}", excerpt(&software)),
            });
        }
    }
    if let Some(description) = exif::ascii_tag(tiff, exif::IMAGE_DESCRIPTION) {
        out.extend(explicit_label(&description, location, range));
    }
    out
}

/// True when `jumbf` (a JUMBF superbox, ISO/IEC 19566-5) is labelled `c2pa`: a `jumb` box whose
/// first child is a `jumd` description box with the label `c2pa`.
fn is_c2pa_jumbf(jumbf: &[u8]) -> bool {
    use crate::io::Bytes;
    let mut b = Bytes::new(jumbf);
    let Some(size) = b.u32_be() else { return false };
    if b.take(4) != Some(b"jumb") {
        return false;
    }
    if size == 1 && b.u64_be().is_none() {
        return false;
    }
    // jumd: size, type, 16-byte content type UUID, toggles, then the label if toggles say so.
    let _ = b.u32_be();
    if b.take(4) != Some(b"jumd") || b.take(16).is_none() {
        return false;
    }
    let Some(toggles) = b.u8() else { return false };
    toggles & 0x02 != 0 && b.take_until(0).is_some_and(|label| label == b"c2pa")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_names_match_whole_words_in_any_case() {
        assert_eq!(generator_named("midjourney v6"), Some("Midjourney"));
        assert_eq!(
            generator_named("Created with Stable Diffusion XL"),
            Some("Stable Diffusion")
        );
        assert_eq!(generator_named("NovelAI"), Some("NovelAI"));
        assert_eq!(generator_named("即梦AI"), Some("即梦"));
        assert_eq!(generator_named("Imagenomic Portraiture"), None);
        assert_eq!(generator_named("Adobe Photoshop 25.0"), None);
        assert_eq!(generator_named("GIMP 2.10"), None);
    }

    #[test]
    fn jumbf_label_is_read_without_panicking() {
        let mut box_ = Vec::new();
        box_.extend_from_slice(&40u32.to_be_bytes());
        box_.extend_from_slice(b"jumb");
        box_.extend_from_slice(&30u32.to_be_bytes());
        box_.extend_from_slice(b"jumd");
        box_.extend_from_slice(b"c2pa\x00\x11\x00\x10\x80\x00\x00\xaa\x00\x38\x9b\x71");
        box_.push(0x03);
        box_.extend_from_slice(b"c2pa\0");
        assert!(is_c2pa_jumbf(&box_));
        for cut in 0..box_.len() {
            assert!(!is_c2pa_jumbf(&box_[..cut]));
        }
        let mut other = box_.clone();
        let at = other.len() - 5;
        other[at] = b'x';
        assert!(!is_c2pa_jumbf(&other));
    }

    #[test]
    fn xmp_traces_in_element_attribute_and_broken_packets() {
        let limits = Limits::default();
        let element = br#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:I="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="ComfyUI"><I:DigitalSourceType>http://cv.iptc.org/newscodes/digitalsourcetype/compositeSynthetic</I:DigitalSourceType></rdf:Description></rdf:RDF></x:xmpmeta>"#;
        let traces = in_xmp(element, "XMP", 0..1, &limits);
        let kinds: Vec<_> = traces.iter().map(|t| (t.kind, t.detail.as_str())).collect();
        assert_eq!(kinds[0], (TraceKind::DigitalSourceType, "compositeSynthetic"));
        assert_eq!(kinds[1].0, TraceKind::GeneratorSoftware);
        let broken = b"<oops http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";
        assert_eq!(
            in_xmp(broken, "XMP", 0..1, &limits)[0].detail,
            "trainedAlgorithmicMedia"
        );
        let camera = b"<x http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture";
        assert!(in_xmp(camera, "XMP", 0..1, &limits).is_empty());
    }
}
