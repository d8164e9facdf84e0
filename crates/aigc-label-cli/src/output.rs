//! What the commands print: a readable table with a summary, or JSON Lines (one object per file,
//! then one summary object). The JSON Lines form is described by `docs/inspect.schema.json`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use aigc_label::core::FIELD_NAMES;
use aigc_label::{Level, Report, Result, Written};
use serde_json::{Map, Value, json};

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
}

impl Summary {
    /// Counts one inspection.
    pub fn add_inspect(&mut self, result: &Result<Report>) {
        self.files += 1;
        match result {
            Ok(report) => {
                *self.verdicts.entry(report.verdict.as_str()).or_default() += 1;
                *self.formats.entry(report.format).or_default() += 1;
            }
            Err(_) => {
                *self.verdicts.entry("unreadable").or_default() += 1;
                self.failures += 1;
            }
        }
    }

    /// Counts one embed.
    pub fn add_embed(&mut self, result: &Result<Written>) {
        self.files += 1;
        let key = if result.is_ok() { "labelled" } else { "failed" };
        *self.verdicts.entry(key).or_default() += 1;
        self.failures += u64::from(result.is_err());
    }

    fn to_json(&self) -> Value {
        json!({"summary": {
            "files": self.files,
            "verdicts": self.verdicts,
            "formats": self.formats,
            "failures": self.failures,
        }})
    }
}

/// The JSON object for one inspected file.
pub fn inspect_json(file: &Path, result: &Result<Report>) -> Value {
    let file = file.to_string_lossy();
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            return json!({
                "file": file, "format": null, "verdict": "unreadable", "class": null, "labels": [],
                "error": e.to_string(),
            });
        }
    };
    let labels: Vec<Value> = report
        .copies
        .iter()
        .map(|copy| {
            let fields: Map<String, Value> = FIELD_NAMES
                .iter()
                .map(|name| (name.to_string(), copy.field(name).map_or(Value::Null, Value::from)))
                .collect();
            let checks: Vec<Value> = copy
                .checks
                .iter()
                .map(|c| json!({"id": c.id, "ok": c.is_ok(), "level": c.level.as_str(), "detail": c.detail}))
                .collect();
            json!({"carrier": copy.carrier, "range": [copy.range.start, copy.range.end], "fields": fields, "checks": checks})
        })
        .collect();
    json!({
        "file": file,
        "format": report.format,
        "verdict": report.verdict.as_str(),
        "class": report.class().map(|c| c.word()),
        "labels": labels,
        "error": null,
    })
}

/// Prints one inspected file.
pub fn inspect(
    out: &mut dyn Write,
    format: Format,
    verbose: bool,
    file: &Path,
    result: &Result<Report>,
) -> io::Result<()> {
    if format == Format::Json {
        return writeln!(out, "{}", inspect_json(file, result));
    }
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            return writeln!(
                out,
                "{:<14} {:<6} {:<9} {}: unreadable: {e}",
                "unreadable",
                "-",
                "-",
                file.display()
            );
        }
    };
    let class = report.class().map_or("-", |c| c.word());
    writeln!(
        out,
        "{:<14} {:<6} {:<9} {}",
        report.verdict.as_str(),
        report.format,
        class,
        file.display()
    )?;
    for copy in &report.copies {
        let failing = copy.checks.iter().filter(|c| c.level != Level::Pass);
        if verbose || report.copies.len() > 1 || copy.checks.iter().any(|c| !c.is_ok()) {
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
    }
    Ok(())
}

/// Prints one embedded file; in table form, failures go to standard error.
pub fn embed(out: &mut dyn Write, format: Format, file: &Path, result: &Result<Written>) -> io::Result<()> {
    match (format, result) {
        (Format::Json, Ok(w)) => writeln!(
            out,
            "{}",
            json!({"file": file.to_string_lossy(), "result": "labelled", "bytes": w.bytes_written,
                   "label_range": [w.label_range.start, w.label_range.end], "error": null})
        ),
        (Format::Json, Err(e)) => writeln!(
            out,
            "{}",
            json!({"file": file.to_string_lossy(), "result": "failed", "bytes": null, "label_range": null,
                   "error": e.to_string()})
        ),
        (Format::Table { .. }, Ok(w)) => writeln!(out, "labelled  {} ({} bytes)", file.display(), w.bytes_written),
        (Format::Table { .. }, Err(e)) => {
            eprintln!("aigc-label: {}: {e}", file.display());
            Ok(())
        }
    }
}

/// Prints the summary: a JSON object, or a few lines when the table form asked for it.
pub fn summary(out: &mut dyn Write, format: Format, summary: &Summary) -> io::Result<()> {
    match format {
        Format::Json => writeln!(out, "{}", summary.to_json()),
        Format::Table { summary: false } => Ok(()),
        Format::Table { summary: true } if summary.files < 2 => Ok(()),
        Format::Table { summary: true } => {
            let join =
                |m: &BTreeMap<&str, u64>| m.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ");
            writeln!(out, "-- {} files: {}", summary.files, join(&summary.verdicts))?;
            if !summary.formats.is_empty() {
                writeln!(out, "-- formats: {}", join(&summary.formats))?;
            }
            if summary.failures > 0 {
                writeln!(out, "-- {} failed", summary.failures)?;
            }
            Ok(())
        }
    }
}
