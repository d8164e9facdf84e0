//! How `inspect` prints a report: readable text, or one JSON object per line.

use std::io::{self, Write};
use std::path::Path;

use aigc_label::core::FIELD_NAMES;
use aigc_label::{Report, Result};
use serde_json::{Map, Value, json};

/// One JSON object for `file` (the JSON Lines form).
pub fn json_value(file: &Path, result: &Result<Report>) -> Value {
    let file = file.to_string_lossy();
    match result {
        Ok(report) => {
            let labels: Vec<Value> = report
                .copies
                .iter()
                .map(|copy| {
                    let fields: Map<String, Value> = FIELD_NAMES
                        .iter()
                        .map(|name| {
                            (
                                name.to_string(),
                                copy.field(name).map_or(Value::Null, |v| Value::from(v)),
                            )
                        })
                        .collect();
                    let checks: Vec<Value> = copy
                        .checks
                        .iter()
                        .map(|c| json!({"id": c.id, "ok": c.is_ok(), "level": c.level.as_str(), "detail": c.detail}))
                        .collect();
                    json!({
                        "carrier": copy.carrier,
                        "range": [copy.range.start, copy.range.end],
                        "fields": fields,
                        "checks": checks,
                    })
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
        Err(e) => json!({
            "file": file,
            "format": null,
            "verdict": "unreadable",
            "class": null,
            "labels": [],
            "error": e.to_string(),
        }),
    }
}

/// Writes the JSON Lines form.
pub fn json_line(out: &mut dyn Write, file: &Path, result: &Result<Report>) -> io::Result<()> {
    writeln!(out, "{}", json_value(file, result))
}

/// Writes the readable form.
pub fn text(out: &mut dyn Write, file: &Path, result: &Result<Report>) -> io::Result<()> {
    let report = match result {
        Ok(report) => report,
        Err(e) => return writeln!(out, "{}: unreadable: {e}", file.display()),
    };
    let class = report
        .class()
        .map(|c| format!(", Label {c} ({})", c.word()))
        .unwrap_or_default();
    writeln!(
        out,
        "{}: {}, {}{class}",
        file.display(),
        report.format,
        report.verdict.as_str()
    )?;
    for copy in &report.copies {
        writeln!(
            out,
            "  {} at bytes {}..{}",
            copy.carrier, copy.range.start, copy.range.end
        )?;
        for name in FIELD_NAMES {
            match copy.field(name) {
                Some(v) => writeln!(out, "    {name}: {v}")?,
                None => writeln!(out, "    {name}: (missing)")?,
            }
        }
        for check in copy.checks.iter().filter(|c| c.level != aigc_label::Level::Pass) {
            writeln!(out, "    {check}")?;
        }
    }
    Ok(())
}
