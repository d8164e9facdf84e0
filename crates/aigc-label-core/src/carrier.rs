//! The `Carrier` trait: one implementation per file format, chosen by sniffing magic bytes.
//!
//! A carrier knows bytes, not rules. It walks its container without decoding pixels or samples,
//! hands back the raw text of every label copy it finds with the byte range that holds it, and
//! writes one label where the standard puts it. Validation, verdicts and the "only the producer
//! may replace its label" rule live in [`mod@crate::inspect`] and [`mod@crate::embed`], so a new format
//! costs one module and one line in a registry.

use std::borrow::Cow;
use std::io::Write;
use std::ops::Range;

use crate::check::Check;
use crate::in_place::InPlace;
use crate::io::ReadSeek;
use crate::json::Shape;
use crate::plan::{Plan, PlanBuilder};
use crate::stamp::Stamp;
use crate::traces::TraceScanner;
use crate::{Label, Limits, Result};

/// How many leading bytes [`Carrier::sniff`] is shown (fewer if the stream is shorter).
pub const SNIFF_LEN: usize = 64;

/// The first [`SNIFF_LEN`] bytes of `input` (fewer if it is shorter), what [`Carrier::sniff`]
/// is shown; leaves `input` at its start.
///
/// # Errors
/// I/O errors.
pub fn read_head(input: &mut dyn ReadSeek) -> Result<Vec<u8>> {
    input.seek(std::io::SeekFrom::Start(0))?;
    let mut head = vec![0u8; SNIFF_LEN];
    let mut n = 0;
    while n < head.len() {
        match input.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    head.truncate(n);
    input.seek(std::io::SeekFrom::Start(0))?;
    Ok(head)
}

/// One label copy as a carrier found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Where the copy sits, for people: `"iTXt XML:com.adobe.xmp"`, `"APP1 XMP"`,
    /// `"EXIF UserComment"`, `"tEXt AIGC"`.
    pub carrier: Cow<'static, str>,
    /// Byte range of the structure (chunk, segment, box) that holds the copy.
    pub range: Range<u64>,
    /// The label's text, with the carrier's own encoding (XML escaping, text encoding) undone.
    pub text: String,
    /// The JSON shape this place calls for (bare where the key is already `AIGC`).
    pub expected_shape: Shape,
    /// Carrier-level findings about this copy (placement, encoding), with check ids.
    pub checks: Vec<Check>,
}

/// What a carrier reports after writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Byte range, in the output, of the structure that holds the label.
    pub label_range: Range<u64>,
    /// Total bytes written.
    pub bytes_written: u64,
}

/// The static facts about a format, given once by [`Carrier::info`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// Short lowercase name: `png`, `jpeg`, `mp4`.
    pub format: &'static str,
    /// The format's media type, for reports.
    pub media_type: &'static str,
    /// File name extensions, lowercase, without the dot; the first is the usual one.
    pub extensions: &'static [&'static str],
}

/// A file format that can carry an implicit label.
///
/// Implementations must treat input as hostile: check every declared length against the bytes
/// that remain (see [`crate::io::Source`]), obey [`Limits`], and never panic.
///
/// Required: [`Carrier::info`], [`Carrier::sniff`], [`Carrier::find`] and [`Carrier::write`].
/// Optional capabilities, each one method returning `Some`: [`Carrier::in_place`],
/// [`Carrier::traces`], [`Carrier::stamp`]; so a format is one module and one registry line.
/// A carrier that can work out its whole output in one scan also implements
/// [`Carrier::plan`], which lets embedding read the input once and copy it at the speed of
/// the disk.
pub trait Carrier: Send + Sync {
    /// The format's static facts: name, media type, extensions.
    fn info(&self) -> &'static Info;

    /// Short lowercase name: `png`, `jpeg`, `mp4` ([`Info::format`]).
    fn format(&self) -> &'static str {
        self.info().format
    }

    /// The format's media type, for reports ([`Info::media_type`]).
    fn media_type(&self) -> &'static str {
        self.info().media_type
    }

    /// File name extensions, lowercase, without the dot; the first is the usual one
    /// ([`Info::extensions`]).
    fn extensions(&self) -> &'static [&'static str] {
        self.info().extensions
    }

    /// True if `head` (the first [`SNIFF_LEN`] bytes, or fewer) starts a file of this format.
    fn sniff(&self, head: &[u8]) -> bool;

    /// Finds every label copy in `input`, wherever the format lets one hide (spec section 4).
    ///
    /// # Errors
    /// Malformed or truncated input, limits exceeded, I/O errors.
    fn find(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Found>>;

    /// Copies `input` to `output` with exactly one label, `label`, in the format's carrier.
    /// Every label copy [`Carrier::find`] would report is replaced or removed; every other byte
    /// is copied unchanged, except length and offset fields that must change.
    ///
    /// The default executes [`Carrier::plan`]'s plan, so a carrier that plans does not write
    /// twice; a carrier must provide one of the two (the default refuses when `plan` gives
    /// none).
    ///
    /// # Errors
    /// Malformed input, limits exceeded, I/O errors.
    fn write(
        &self,
        input: &mut dyn ReadSeek,
        output: &mut dyn Write,
        label: &Label,
        limits: &Limits,
    ) -> Result<Written> {
        match self.plan(input, label, limits, PlanBuilder::new(self.format()))? {
            Some(plan) => plan.write_to(input, output),
            None => Err(crate::Error::unsupported(self.format(), "writing a label")),
        }
    }

    /// The byte ranges of `input`, a file that holds a label, that a content binding leaves
    /// out: the structure holding the label, and every byte outside it that [`Carrier::write`]
    /// changes when it replaces that label with another of any length (container sizes, CRCs,
    /// offset tables, page sequence numbers). Everything else is covered.
    ///
    /// The contract, which the trust layer's tests check for every carrier: rewriting the label
    /// leaves the covered bytes, read in order, unchanged. That is what lets a platform add its
    /// fields without breaking the producer's binding. The ranges may come in any order and
    /// may overlap; their number is bounded by [`Limits::max_structures`].
    ///
    /// The default, the structures [`Carrier::find`] reports, is right for formats where the
    /// label sits in a self-contained chunk that nothing else counts or points past (PNG, JPEG).
    ///
    /// # Errors
    /// As [`Carrier::find`].
    fn binding_exclusions(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Range<u64>>> {
        Ok(self.find(input, limits)?.into_iter().map(|f| f.range).collect())
    }

    /// Scans `input` once and plans the output [`Carrier::write`] would make: the label copies
    /// met on the way (exactly what [`Carrier::find`] reports) and the output as input ranges
    /// and new bytes, built in `out` and returned by [`PlanBuilder::finish`] (see
    /// [`crate::plan`]). Executing the plan must give the bytes [`Carrier::write`] gives, and
    /// the plan must fail where the write does; the test helper `plan_agrees` checks both, and
    /// the streamed output, on every fixture and fuzz corpus input a carrier's tests run.
    ///
    /// `out` may stream ([`PlanBuilder::streaming`]): a carrier that calls
    /// [`PlanBuilder::drain`] once per structure walked has the final part of its output
    /// written while that structure is still in the input's buffer, so embedding reads the
    /// input once. A carrier that never drains is still correct; its output is written after
    /// the scan.
    ///
    /// The default, `None`, is for carriers whose rewrite is not a list of copies (the
    /// embedding step then inspects the file and calls [`Carrier::write`]).
    ///
    /// # Errors
    /// As [`Carrier::write`]; the error of a drain (another producer's label, an output that
    /// cannot be written).
    fn plan(
        &self,
        input: &mut dyn ReadSeek,
        label: &Label,
        limits: &Limits,
        out: PlanBuilder<'_>,
    ) -> Result<Option<Plan>> {
        let _ = (input, label, limits, out);
        Ok(None)
    }

    /// Capability: the format's crash-safe update in place ([`crate::in_place`]), which the
    /// facade takes when a label goes back into the file it came from. `None` (the default):
    /// such a write is an atomic rewrite.
    fn in_place(&self) -> Option<&dyn InPlace> {
        None
    }

    /// Capability: the scanner for traces of generation in this format's container
    /// ([`crate::traces`], for the "suspected" class). `None` (the default): no traces.
    fn traces(&self) -> Option<&'static dyn TraceScanner> {
        None
    }

    /// Capability: which medium's stamper takes the explicit label of a file of this format
    /// ([`crate::stamp`]). `None` (the default): no explicit label is made for it.
    fn stamp(&self) -> Option<&dyn Stamp> {
        None
    }
}

/// The carriers a program knows, in the order they are tried.
#[derive(Default, Clone)]
pub struct Registry {
    carriers: Vec<&'static dyn Carrier>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.carriers.iter().map(|c| c.format()))
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Adds `carrier`; later additions are tried after earlier ones.
    pub fn with(mut self, carrier: &'static dyn Carrier) -> Self {
        self.carriers.push(carrier);
        self
    }

    /// Every registered carrier.
    pub fn carriers(&self) -> &[&'static dyn Carrier] {
        &self.carriers
    }

    /// The carrier whose magic bytes start `head`.
    pub fn detect(&self, head: &[u8]) -> Option<&'static dyn Carrier> {
        self.carriers.iter().copied().find(|c| c.sniff(head))
    }

    /// The carrier that lists `extension` (without the dot, any case) among its extensions.
    pub fn by_extension(&self, extension: &str) -> Option<&'static dyn Carrier> {
        self.carriers
            .iter()
            .copied()
            .find(|c| c.extensions().iter().any(|e| e.eq_ignore_ascii_case(extension)))
    }

    /// The carrier named `format` (as [`Carrier::format`] spells it).
    pub fn by_name(&self, format: &str) -> Option<&'static dyn Carrier> {
        self.carriers
            .iter()
            .copied()
            .find(|c| c.format().eq_ignore_ascii_case(format))
    }
}
