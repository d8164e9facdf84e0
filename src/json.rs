//! The JSON objects the `aigc-label` command prints with `--json` (feature `json`), so the
//! command, the C ABI and the Python package print one shape, described by
//! `docs/output.schema.json`.
//!
//! Each function builds the object for one file from the result of the matching file-level
//! call: [`inspected`] for [`crate::inspect_file`], [`verified`] for [`crate::verify_file`],
//! [`embedded`] for [`crate::embed_file`], [`propagated`] for [`crate::propagate_file`]. An
//! error is a result too: it becomes the object's `error` (an unreadable file is a verdict).
//!
//! ```
//! # #[cfg(feature = "image")] {
//! use aigc_label::{Options, json};
//! let result = aigc_label::inspect(std::io::Cursor::new(b"not an image"), &Options::default());
//! let line = json::inspected("upload.bin".as_ref(), &result);
//! assert_eq!(line["verdict"], "unreadable");
//! # }
//! ```

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::core::FIELD_NAMES;
use crate::{Check, Label, LabelCopy, Report, Result, Written};

/// The object for one inspected file: [`report`]'s, or [`unreadable`]'s for an error.
pub fn inspected(file: &Path, result: &Result<Report>) -> Value {
    match result {
        Ok(report) => self::report(file, report),
        Err(e) => unreadable(file, e),
    }
}

/// The object for a file inspection read: `file`, `format`, `verdict`, `class`, `labels` (each
/// copy's carrier, byte range, seven fields and checks) and `error` (`null`).
pub fn report(file: &Path, report: &Report) -> Value {
    report_json(file, report, None)
}

/// The object for a file that could not be read: verdict `unreadable`, and `error` says why.
pub fn unreadable(file: &Path, error: &crate::Error) -> Value {
    json!({
        "file": file.to_string_lossy(), "format": null, "verdict": "unreadable", "class": null, "labels": [],
        "error": error_text(file, error),
    })
}

/// An error's text for the object about `file`: without the path when the error is that file's
/// (the object names it already), with it when another file (an output, a key) was at fault.
pub fn error_text(file: &Path, error: &crate::Error) -> String {
    match error.path() {
        Some(path) if path == file => error.without_path().to_string(),
        _ => error.to_string(),
    }
}

/// The report's object; with `verifications` (one per copy), each label gains `verification`
/// and the file gains `trust`.
fn report_json(file: &Path, report: &Report, verifications: Option<Trust<'_>>) -> Value {
    let labels: Vec<Value> = report
        .copies
        .iter()
        .enumerate()
        .map(|(n, copy)| {
            #[allow(unused_mut)]
            let mut label = json!({
                "carrier": copy.carrier,
                "range": [copy.range.start, copy.range.end],
                "fields": fields(copy),
                "checks": checks(&copy.checks),
            });
            #[cfg(feature = "trust")]
            if let Some(trust) = &verifications {
                let verification = trust.copies.get(n).and_then(Option::as_ref);
                label["verification"] = verification.map_or(Value::Null, trust::verification);
            }
            #[cfg(not(feature = "trust"))]
            let _ = (n, &verifications);
            label
        })
        .collect();
    #[allow(unused_mut)]
    let mut line = json!({
        "file": file.to_string_lossy(),
        "format": report.format,
        "verdict": report.verdict.as_str(),
        "class": report.class().map(|c| c.word()),
        "labels": labels,
        "error": null,
    });
    #[cfg(feature = "trust")]
    if let Some(trust) = verifications {
        line["trust"] = json!(trust.verdict.map(crate::trust::TrustVerdict::as_str));
    }
    line
}

/// Each copy's verification and the file's verdict over them.
#[cfg(feature = "trust")]
struct Trust<'a> {
    copies: &'a [Option<crate::trust::Verification>],
    verdict: Option<crate::trust::TrustVerdict>,
}

#[cfg(not(feature = "trust"))]
type Trust<'a> = std::marker::PhantomData<&'a ()>;

/// The seven fields of a copy in Annex E order, `null` for a field the copy lacks.
pub fn fields(copy: &LabelCopy) -> Map<String, Value> {
    FIELD_NAMES
        .iter()
        .map(|name| (name.to_string(), copy.field(name).map_or(Value::Null, Value::from)))
        .collect()
}

/// The seven fields of a label in Annex E order.
pub fn label(label: &Label) -> Map<String, Value> {
    label
        .fields()
        .iter()
        .map(|(name, value)| (name.to_string(), Value::from(*value)))
        .collect()
}

/// Each check as `{"id", "ok", "level", "detail"}`.
pub fn checks(checks: &[Check]) -> Vec<Value> {
    checks
        .iter()
        .map(|c| json!({"id": c.id, "ok": c.is_ok(), "level": c.level.as_str(), "detail": c.detail}))
        .collect()
}

/// The object for one embedded file: `file`, `output`, `format`, `result` (`labelled`), `bytes`
/// (written), `label_range`, `write` (`in-place` or `rewrite`, from `writes`; `null` for a
/// stream), `notes` (what the write did to the file's identity) and `error` (`null`). `writes`
/// are what [`crate::record_writes`] saw.
pub fn embedded(file: &Path, output: &Path, format: &str, written: &Written, writes: &[crate::FileWrite]) -> Value {
    json!({
        "file": file.to_string_lossy(), "output": output.to_string_lossy(), "format": format,
        "result": "labelled", "bytes": written.bytes_written,
        "label_range": [written.label_range.start, written.label_range.end], "write": method(writes),
        "notes": notes(writes), "error": null,
    })
}

/// How the file was written (`in-place` or `rewrite`), or `null` when no file was.
pub fn method(writes: &[crate::FileWrite]) -> Value {
    writes.first().map_or(Value::Null, |w| Value::from(w.method.as_str()))
}

/// The notes of [`crate::record_writes`]'s writes, as the `notes` of an object.
pub fn notes(writes: &[crate::FileWrite]) -> Vec<String> {
    writes
        .iter()
        .flat_map(|w| w.notes.iter().map(ToString::to_string))
        .collect()
}

/// The object for a file an embed failed on: `result` `failed`, and `error` says why.
pub fn embed_failed(file: &Path, error: &crate::Error) -> Value {
    json!({
        "file": file.to_string_lossy(), "output": null, "format": null, "result": "failed", "bytes": null,
        "label_range": null, "write": null, "notes": [], "error": error_text(file, error),
    })
}

#[cfg(feature = "trust")]
pub use trust::{propagate_failed, propagated, verification, verified};

#[cfg(feature = "trust")]
mod trust {
    use std::path::Path;

    use serde_json::{Value, json};

    use super::{Trust, checks, error_text, label, report_json};
    use crate::Verified;
    use crate::trust::Verification;
    use crate::trust::propagate::{Decision, Outcome};
    use crate::trust::verify::{BindingStatus, SignatureStatus, SlotVerification};

    /// The object for one file inspected with a trust list (feature `trust`): as
    /// [`super::report`], plus `trust` (the worst verdict over the copies) and each label's
    /// `verification`. Without `with_trust` (the report was not checked against a trust list)
    /// the object is [`super::report`]'s.
    pub fn verified(file: &Path, verified: &Verified, with_trust: bool) -> Value {
        let trust = with_trust.then(|| Trust {
            copies: &verified.verifications,
            verdict: verified.trust_verdict(),
        });
        report_json(file, &verified.report, trust)
    }

    /// A copy's verification: the verdict, each slot's signature and binding, every check.
    pub fn verification(v: &Verification) -> Value {
        json!({
            "verdict": v.verdict().as_str(),
            "producer": slot(&v.producer),
            "propagator": slot(&v.propagator),
            "checks": checks(&v.checks),
        })
    }

    fn slot(slot: &SlotVerification) -> Value {
        let signature = match &slot.signature {
            SignatureStatus::Valid { algorithm, key_id } => json!({
                "status": "valid", "algorithm": algorithm.to_string(), "key_id": key_id,
                "embedded_key_verifies": null, "detail": null,
            }),
            SignatureStatus::UnknownKey {
                key_id,
                embedded_key_verifies,
            } => json!({
                "status": "unknown-key", "algorithm": null, "key_id": key_id,
                "embedded_key_verifies": embedded_key_verifies, "detail": null,
            }),
            other => json!({
                "status": other.as_str(), "algorithm": null, "key_id": null,
                "embedded_key_verifies": null, "detail": match other {
                    SignatureStatus::Invalid(why) | SignatureStatus::Unsupported(why) => Some(why.as_str()),
                    _ => None,
                },
            }),
        };
        let binding = json!({
            "status": slot.binding.as_str(),
            "detail": match &slot.binding {
                BindingStatus::Unsupported(why) => Some(why.as_str()),
                _ => None,
            },
        });
        json!({"field": slot.slot.field(), "signature": signature, "binding": binding})
    }

    /// The object for a file the platform's step failed on (feature `trust`): `error` says
    /// why, the other fields of [`propagated`]'s object are empty.
    pub fn propagate_failed(file: &Path, error: &crate::Error) -> Value {
        json!({
            "file": file.to_string_lossy(), "output": null, "decision": null, "class": null,
            "written": false, "write": null, "bytes_written": null, "reason": null, "traces": [], "label": null,
            "label_range": null, "notes": [], "error": error_text(file, error),
        })
    }

    /// The object for one propagated file (feature `trust`): `file`, `output` (`output` when
    /// a label was written, else `null`), `decision`, `class`, `written`, `write` (`in-place`
    /// or `rewrite`, `null` when nothing was written), `bytes_written`, `reason`, `traces`,
    /// `label`, `label_range`, `notes` (what the write did to the file's identity) and `error`
    /// (`null`). `writes` are what [`crate::record_writes`] saw.
    pub fn propagated(file: &Path, output: &Path, outcome: &Outcome, writes: &[crate::FileWrite]) -> Value {
        let traces: Vec<Value> = match &outcome.decision {
            Decision::Suspected { traces } => traces
                .iter()
                .map(|t| {
                    json!({"kind": t.kind.as_str(), "location": t.location, "range": [t.range.start, t.range.end],
                           "detail": t.detail})
                })
                .collect(),
            _ => Vec::new(),
        };
        json!({
            "file": file.to_string_lossy(),
            "output": outcome.written.as_ref().map(|_| output.to_string_lossy()),
            "decision": outcome.decision.as_str(),
            "class": outcome.decision.class().map(|c| c.word()),
            "written": outcome.written.is_some(),
            "write": super::method(writes),
            "bytes_written": writes.first().map(|w| w.bytes_written),
            "reason": outcome.decision.reason(),
            "traces": traces,
            "label": outcome.label.as_ref().map(label),
            "label_range": outcome.written.as_ref().map(|w| [w.label_range.start, w.label_range.end]),
            "notes": super::notes(writes),
            "error": null,
        })
    }
}
