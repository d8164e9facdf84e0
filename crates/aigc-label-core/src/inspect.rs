//! Inspection: what a platform runs on every upload.
//!
//! Detect the format from magic bytes, let its carrier find every label copy, parse and validate
//! each, flag more than one copy, and sum it up in a [`Verdict`].

use std::borrow::Cow;
use std::ops::Range;

use crate::carrier::{Carrier, Found, Registry, read_head};
use crate::check::{Check, Level, Strictness, id, validate_parsed};
use crate::io::{ReadSeek, within_budget};
use crate::json::{self, ParsedLabel, Shape};
use crate::{Error, Label, LabelValue, Limits, Result};

/// Settings shared by inspection and embedding.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Bounds on what readers buffer and walk.
    pub limits: Limits,
    /// Strictness for labels read from files (default lenient).
    pub read: Strictness,
    /// Strictness for labels about to be written (default strict).
    pub write: Strictness,
    /// Whether the file-level writes (`embed_file`, `propagate_file`, ... in the `aigc-label`
    /// crate) make the file durable before they return (default `true`): `fdatasync` between
    /// the steps of an update in place, `fsync` of a rewrite's temporary file and of its folder
    /// after the rename. With `false` no sync is made and durability is the caller's, as with
    /// `cp` (precedent: `pg_dump --no-sync`). The order of the writes is the same, so a killed
    /// process still leaves the old label or the new one; a power cut or a kernel crash
    /// before the kernel has written the file back may not (the kernel may write the switch
    /// before the bytes it switches to), so a caller that wants both syncs the file itself.
    pub sync: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: Limits::default(),
            read: Strictness::Lenient,
            write: Strictness::Strict,
            sync: true,
        }
    }
}

impl Options {
    /// These options with `strictness` for reading.
    pub fn read_strictness(mut self, strictness: Strictness) -> Self {
        self.read = strictness;
        self
    }

    /// These options with `strictness` for writing.
    pub fn write_strictness(mut self, strictness: Strictness) -> Self {
        self.write = strictness;
        self
    }

    /// These options with [`Options::sync`] set to `sync`.
    pub fn with_sync(mut self, sync: bool) -> Self {
        self.sync = sync;
        self
    }

    /// These options with `limits`.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// One label copy found in a file, with what validation made of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelCopy {
    /// Where the copy sits (see [`Found::carrier`]).
    pub carrier: Cow<'static, str>,
    /// Byte range of the structure that holds it.
    pub range: Range<u64>,
    /// The raw label text.
    pub text: String,
    /// The JSON shape the carrier calls for.
    pub expected_shape: Shape,
    /// The parsed fields, if the text was JSON.
    pub parsed: Option<ParsedLabel>,
    /// Every check run on this copy, passes included.
    pub checks: Vec<Check>,
}

impl LabelCopy {
    /// The label, if its `Label` value is readable.
    pub fn label(&self) -> Option<Label> {
        self.parsed.as_ref().and_then(ParsedLabel::to_label)
    }

    /// The value of field `name` as read, if present.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.parsed.as_ref().and_then(|p| p.get(name))
    }

    /// True when no check failed.
    pub fn is_compliant(&self) -> bool {
        self.checks.iter().all(Check::is_ok)
    }
}

/// The sum of an inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Exactly one label, and it passed every check.
    Compliant,
    /// A label is present but broken, or there is more than one.
    NonCompliant,
    /// No label at all.
    Unlabelled,
}

impl Verdict {
    /// `compliant`, `non-compliant` or `unlabelled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Compliant => "compliant",
            Verdict::NonCompliant => "non-compliant",
            Verdict::Unlabelled => "unlabelled",
        }
    }
}

/// What [`inspect`] found in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Format name of the carrier that read the file.
    pub format: &'static str,
    /// Its media type.
    pub media_type: &'static str,
    /// Every copy found, in file order.
    pub copies: Vec<LabelCopy>,
    /// The sum of it.
    pub verdict: Verdict,
}

impl Report {
    /// The label, when the file carries exactly one readable copy.
    pub fn label(&self) -> Option<Label> {
        match self.copies.as_slice() {
            [only] => only.label(),
            _ => None,
        }
    }

    /// The `Label` class of the file's label (is / possibly / suspected), if exactly one copy
    /// says so.
    pub fn class(&self) -> Option<LabelValue> {
        self.label().map(|l| l.value)
    }
}

/// Reads the first bytes of `input` and picks the carrier; leaves `input` at its start.
///
/// # Errors
/// [`Error::Unsupported`] when no carrier recognises the file; I/O errors.
pub fn detect(registry: &Registry, input: &mut dyn ReadSeek) -> Result<&'static dyn Carrier> {
    let head = read_head(input)?;
    if head.is_empty() {
        return Err(Error::unknown_format(&head));
    }
    registry.detect(&head).ok_or_else(|| Error::unknown_format(&head))
}

/// Inspects `input`, detecting its format with `registry`.
///
/// # Errors
/// [`Error::Unsupported`] for unknown formats; malformed or truncated input; I/O errors. A file
/// that parses but carries a broken label is not an error: it is a [`Verdict::NonCompliant`]
/// report.
pub fn inspect(registry: &Registry, input: &mut dyn ReadSeek, options: &Options) -> Result<Report> {
    let carrier = detect(registry, input)?;
    inspect_with(carrier, input, options)
}

/// Inspects `input` with a known carrier.
///
/// # Errors
/// As [`inspect`].
pub fn inspect_with(carrier: &dyn Carrier, input: &mut dyn ReadSeek, options: &Options) -> Result<Report> {
    let limits = &options.limits;
    let found = within_budget(input, limits, 1, carrier.format(), |input| carrier.find(input, limits))?;
    Ok(report_found(carrier, found, options))
}

/// The report on the copies `carrier` found (by [`Carrier::find`], or while planning a write).
pub fn report_found(carrier: &dyn Carrier, found: Vec<Found>, options: &Options) -> Report {
    let mut copies: Vec<LabelCopy> = found.into_iter().map(|f| analyse(f, options)).collect();
    if copies.len() > 1 {
        let detail = format!("{} label copies; a file carries exactly one", copies.len());
        for copy in &mut copies {
            copy.checks.push(Check::fail(id::COPIES_SINGLE, detail.clone()));
        }
    }
    let verdict = if copies.is_empty() {
        Verdict::Unlabelled
    } else if copies.len() == 1 && copies.iter().all(LabelCopy::is_compliant) {
        Verdict::Compliant
    } else {
        Verdict::NonCompliant
    };
    Report {
        format: carrier.format(),
        media_type: carrier.media_type(),
        copies,
        verdict,
    }
}

fn analyse(found: Found, options: &Options) -> LabelCopy {
    let Found {
        carrier,
        range,
        text,
        expected_shape,
        checks: carrier_checks,
    } = found;
    let (parsed, mut checks) = if text.len() as u64 > options.limits.max_label_bytes {
        let detail = format!(
            "label text is {} bytes, limit {}",
            text.len(),
            options.limits.max_label_bytes
        );
        (None, vec![Check::fail(id::JSON_SYNTAX, detail)])
    } else {
        match json::parse(&text, options.limits.max_depth) {
            Ok(parsed) => {
                let checks = validate_parsed(&parsed, expected_shape, options.read);
                (Some(parsed), checks)
            }
            Err(e) => (None, vec![Check::fail(id::JSON_SYNTAX, e.to_string())]),
        }
    };
    checks.extend(carrier_checks.into_iter().map(|mut c| {
        if options.read == Strictness::Strict && c.level == Level::Warn {
            c.level = Level::Fail;
        }
        c
    }));
    LabelCopy {
        carrier,
        range,
        text,
        expected_shape,
        parsed,
        checks,
    }
}
