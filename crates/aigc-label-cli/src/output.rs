//! What the commands print: a readable table with a summary, or JSON Lines (one object per file,
//! then one summary object). The JSON Lines form is described by `docs/output.schema.json`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use aigc_label::core::FIELD_NAMES;
use aigc_label::trust::propagate::Outcome;
use aigc_label::trust::verify::{BindingStatus, SignatureStatus};
use aigc_label::trust::{TrustVerdict, Verification};
use aigc_label::{FileWrite, Level, Result, Verified, Written, json};
use serde_json::{Value, json};

/// Width of the format column: the longest format names (`markdown`, `matroska`) fit.
const FORMAT_WIDTH: usize = 8;

/// The output form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A table row per file; the summary unless quiet.
    Table {
        /// Print the summary.
        summary: bool,
    },
    /// JSON Lines.
    Json,
}

/// Counts over a run.
#[derive(Debug, Default)]
pub struct Summary {
    /// Files finished.
    pub files: u64,
    /// Files per verdict (`compliant`, ..., `unreadable`, `labelled`, `failed`).
    pub verdicts: BTreeMap<&'static str, u64>,
    /// Files per detected format.
    pub formats: BTreeMap<&'static str, u64>,
    /// Files that could not be processed.
    pub failures: u64,
    /// With `inspect --trust`: files per protection verdict (`trusted`, ..., `none` for files
    /// without a readable label).
    pub trust: Option<BTreeMap<&'static str, u64>>,
    /// Entries walks passed over, by reason (`hidden`, `symlink`, `unsupported`).
    pub skipped: Vec<(&'static str, u64)>,
}

/// One embedded file: what the carrier wrote, where, and what the write did to the file's
/// identity.
#[derive(Debug)]
pub struct Embedded {
    /// The label's place and the bytes written.
    pub written: Written,
    /// The output path asked for.
    pub output: std::path::PathBuf,
    /// The format written.
    pub format: &'static str,
    /// Notes on the file's identity (symlink written through, owner not kept, ...).
    pub notes: Vec<String>,
    /// What [`aigc_label::record_writes`] saw: how the file was written.
    pub writes: Vec<FileWrite>,
}

impl Embedded {
    /// Combines a carrier's result with what [`aigc_label::record_writes`] saw.
    pub fn new(written: Written, output: std::path::PathBuf, writes: Vec<FileWrite>) -> Self {
        Embedded {
            written,
            output,
            format: writes.first().map_or("-", |w| w.format),
            notes: notes_of(&writes),
            writes,
        }
    }
}

pub use aigc_label::json::notes as notes_of;

pub use aigc_label::json::error_text;

/// One inspected file: the report, and each copy's verification when a trust list was given.
#[derive(Debug)]
pub struct Inspection {
    /// The report and, with a trust list, one verification per copy.
    pub verified: Verified,
    /// True when the copies were verified against a trust list.
    pub with_trust: bool,
}

impl Inspection {
    /// The file's protection verdict, when a trust list was given and a label could be read.
    pub fn trust_verdict(&self) -> Option<TrustVerdict> {
        self.verified.trust_verdict().filter(|_| self.with_trust)
    }
}

/// What `propagate` did with one file.
#[derive(Debug)]
pub struct Propagated {
    /// The decision, the label written and where.
    pub outcome: Outcome,
    /// The output file (written only when the outcome says so).
    pub output: std::path::PathBuf,
    /// Notes on the written file's identity.
    pub notes: Vec<String>,
    /// What [`aigc_label::record_writes`] saw: how the file was written.
    pub writes: Vec<FileWrite>,
}

impl Summary {
    /// Counts one inspection.
    pub fn add_inspect(&mut self, result: &Result<Inspection>) {
        self.files += 1;
        match result {
            Ok(inspection) => {
                let report = &inspection.verified.report;
                *self.verdicts.entry(report.verdict.as_str()).or_default() += 1;
                *self.formats.entry(report.format).or_default() += 1;
                if inspection.with_trust {
                    let key = inspection.trust_verdict().map_or("none", TrustVerdict::as_str);
                    *self.trust.get_or_insert_with(BTreeMap::new).entry(key).or_default() += 1;
                }
            }
            Err(_) => {
                *self.verdicts.entry("unreadable").or_default() += 1;
                self.failures += 1;
            }
        }
    }

    /// Counts one propagation, by decision.
    pub fn add_propagate(&mut self, result: &Result<Propagated>) {
        self.files += 1;
        let key = match result {
            Ok(p) => {
                *self.formats.entry(p.outcome.format).or_default() += 1;
                p.outcome.decision.as_str()
            }
            Err(_) => "failed",
        };
        *self.verdicts.entry(key).or_default() += 1;
        self.failures += u64::from(result.is_err());
    }

    /// Counts one embed.
    pub fn add_embed(&mut self, result: &Result<Embedded>) {
        self.files += 1;
        if let Ok(e) = result {
            *self.formats.entry(e.format).or_default() += 1;
        }
        let key = if result.is_ok() { "labelled" } else { "failed" };
        *self.verdicts.entry(key).or_default() += 1;
        self.failures += u64::from(result.is_err());
    }

    fn to_json(&self) -> Value {
        let mut summary = json!({
            "files": self.files,
            "verdicts": self.verdicts,
            "formats": self.formats,
            "failures": self.failures,
        });
        if let Some(trust) = &self.trust {
            summary["trust"] = json!(trust);
        }
        if !self.skipped.is_empty() {
            summary["skipped"] = Value::Object(self.skipped.iter().map(|(k, v)| (k.to_string(), json!(v))).collect());
        }
        json!({ "summary": summary })
    }
}

/// The JSON object for one inspected file (built by `aigc_label::json`, which the C ABI and the
/// Python package share).
pub fn inspect_json(file: &Path, result: &Result<Inspection>) -> Value {
    match result {
        Ok(inspection) => json::verified(file, &inspection.verified, inspection.with_trust),
        Err(e) => json::unreadable(file, e),
    }
}

/// Prints one inspected file.
pub fn inspect(
    out: &mut dyn Write,
    format: Format,
    verbose: bool,
    file: &Path,
    result: &Result<Inspection>,
) -> io::Result<()> {
    if format == Format::Json {
        return writeln!(out, "{}", inspect_json(file, result));
    }
    let inspection = match result {
        Ok(inspection) => inspection,
        Err(e) => {
            return writeln!(
                out,
                "{:<14} {:<FORMAT_WIDTH$} {:<9} {}: unreadable: {}",
                "unreadable",
                "-",
                "-",
                file.display(),
                error_text(file, e)
            );
        }
    };
    let report = &inspection.verified.report;
    let class = report.class().map_or("-", |c| c.word());
    let trust = if inspection.with_trust {
        format!("{:<10} ", inspection.trust_verdict().map_or("-", TrustVerdict::as_str))
    } else {
        String::new()
    };
    // A compliant label that breaks "should" rules says so without -v.
    let warnings = report
        .copies
        .iter()
        .flat_map(|c| &c.checks)
        .filter(|c| c.level == Level::Warn)
        .count();
    let warned = match warnings {
        0 => String::new(),
        _ if verbose => format!(" ({warnings} warning{})", plural(warnings)),
        _ => format!(" ({warnings} warning{}; -v lists them)", plural(warnings)),
    };
    writeln!(
        out,
        "{:<14} {:<FORMAT_WIDTH$} {:<9} {trust}{}{warned}",
        report.verdict.as_str(),
        report.format,
        class,
        file.display()
    )?;
    for (n, copy) in report.copies.iter().enumerate() {
        let failing = copy.checks.iter().filter(|c| c.level != Level::Pass);
        let any_failed = copy.checks.iter().any(|c| !c.is_ok());
        if verbose || inspection.with_trust || report.copies.len() > 1 || any_failed {
            writeln!(
                out,
                "    {} at bytes {}..{}",
                copy.carrier, copy.range.start, copy.range.end
            )?;
        }
        if verbose {
            for name in FIELD_NAMES {
                writeln!(out, "      {name}: {}", copy.field(name).unwrap_or("(missing)"))?;
            }
        }
        for check in failing.filter(|c| verbose || !c.is_ok()) {
            writeln!(out, "      {check}")?;
        }
        if inspection.with_trust {
            match inspection.verified.verifications.get(n).and_then(Option::as_ref) {
                Some(v) => print_verification(out, v)?,
                None => writeln!(out, "      protection: not checked, the label cannot be read")?,
            }
        }
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The verdict, each slot's signature and binding, then every check by id.
fn print_verification(out: &mut dyn Write, v: &Verification) -> io::Result<()> {
    writeln!(out, "      protection: {}", v.verdict().as_str())?;
    for (role, slot) in [("producer", &v.producer), ("propagator", &v.propagator)] {
        let signature = match &slot.signature {
            SignatureStatus::Valid { algorithm, key_id } => format!("valid ({algorithm}, key {key_id})"),
            SignatureStatus::UnknownKey {
                key_id,
                embedded_key_verifies,
            } => format!(
                "unknown key {key_id}{}",
                if *embedded_key_verifies {
                    " (the embedded key verifies it)"
                } else {
                    ""
                }
            ),
            other => other.as_str().to_string(),
        };
        let binding = match &slot.binding {
            BindingStatus::Match => "matches",
            BindingStatus::ContentChanged => "CONTENT CHANGED",
            BindingStatus::Absent => "absent",
            BindingStatus::Unsupported(_) => "unsupported",
        };
        writeln!(
            out,
            "      {role:<10} {}: signature: {signature}; binding: {binding}",
            slot.slot.field()
        )?;
    }
    for check in &v.checks {
        writeln!(out, "        {check}")?;
    }
    Ok(())
}

/// The JSON object for one propagated file.
pub fn propagate_json(file: &Path, result: &Result<Propagated>) -> Value {
    match result {
        Ok(p) => json::propagated(file, &p.output, &p.outcome, &p.writes),
        Err(e) => json::propagate_failed(file, e),
    }
}

/// Prints one propagated file: the decision, the class, where it went and why; in table form,
/// failures go to standard error.
pub fn propagate(out: &mut dyn Write, format: Format, file: &Path, result: &Result<Propagated>) -> io::Result<()> {
    if format == Format::Json {
        return writeln!(out, "{}", propagate_json(file, result));
    }
    let p = match result {
        Ok(p) => p,
        Err(e) => {
            eprintln!("aigc-label: {}: {}", file.display(), error_text(file, e));
            return Ok(());
        }
    };
    let outcome = &p.outcome;
    let class = outcome.decision.class().map_or("-", |c| c.word());
    let target = if outcome.written.is_some() {
        let how = if p.output == file {
            how_written(&p.writes)
        } else {
            String::new()
        };
        format!(" -> {}{how}", p.output.display())
    } else {
        " (not written)".to_string()
    };
    writeln!(
        out,
        "{:<9} {:<9} {}{target}: {}",
        outcome.decision.as_str(),
        class,
        file.display(),
        outcome.decision.reason()
    )?;
    print_notes(out, &p.notes)
}

/// ` (updated in place)` or ` (in place, rewritten)` for a file written onto itself; the
/// bytes are printed by the caller.
fn how_written(writes: &[FileWrite]) -> String {
    match writes.first().map(|w| w.method) {
        Some(aigc_label::Method::InPlace) => " (updated in place)".to_string(),
        Some(_) => " (in place, rewritten)".to_string(),
        None => " (in place)".to_string(),
    }
}

fn print_notes(out: &mut dyn Write, notes: &[String]) -> io::Result<()> {
    for note in notes {
        writeln!(out, "    note: {note}")?;
    }
    Ok(())
}

/// Prints one embedded file, `input -> output`; in table form, failures go to standard error.
pub fn embed(out: &mut dyn Write, format: Format, file: &Path, result: &Result<Embedded>) -> io::Result<()> {
    match (format, result) {
        (Format::Json, Ok(e)) => writeln!(
            out,
            "{}",
            json::embedded(file, &e.output, e.format, &e.written, &e.writes)
        ),
        (Format::Json, Err(e)) => writeln!(out, "{}", json::embed_failed(file, e)),
        (Format::Table { .. }, Ok(e)) => {
            let target = if e.output == file {
                how_written(&e.writes)
            } else {
                format!(" -> {}", e.output.display())
            };
            writeln!(
                out,
                "labelled  {:<FORMAT_WIDTH$} {}{target} ({} bytes)",
                e.format,
                file.display(),
                e.written.bytes_written
            )?;
            print_notes(out, &e.notes)
        }
        (Format::Table { .. }, Err(e)) => {
            eprintln!("aigc-label: {}: {}", file.display(), error_text(file, e));
            Ok(())
        }
    }
}

/// Prints the summary: a JSON object, or a few lines when the table form asked for it.
pub fn summary(out: &mut dyn Write, format: Format, summary: &Summary) -> io::Result<()> {
    let join =
        |m: &mut dyn Iterator<Item = (&str, u64)>| m.map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ");
    let counts = |m: &BTreeMap<&'static str, u64>| join(&mut m.iter().map(|(k, v)| (*k, *v)));
    match format {
        Format::Json => writeln!(out, "{}", summary.to_json()),
        Format::Table { summary: false } => Ok(()),
        Format::Table { summary: true } => {
            // One file speaks for itself; several get totals.
            if summary.files >= 2 {
                writeln!(out, "-- {} files: {}", summary.files, counts(&summary.verdicts))?;
                if !summary.formats.is_empty() {
                    writeln!(out, "-- formats: {}", counts(&summary.formats))?;
                }
                if let Some(trust) = &summary.trust {
                    writeln!(out, "-- protection: {}", counts(trust))?;
                }
                if summary.failures > 0 {
                    writeln!(out, "-- {} failed", summary.failures)?;
                }
            }
            if !summary.skipped.is_empty() {
                let total: u64 = summary.skipped.iter().map(|(_, n)| n).sum();
                let reasons = join(&mut summary.skipped.iter().copied());
                writeln!(out, "-- skipped {total}: {reasons} (--show-skipped lists them)")?;
            }
            Ok(())
        }
    }
}
