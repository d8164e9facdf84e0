//! Embedding: put one label into a file, replacing only a label of the same producer.
//!
//! The rules forbid removing or hiding another party's label, so before a carrier rewrites
//! anything, the existing copies are read; a copy by another producer (or one whose producer
//! cannot be read) stops the write with [`Error::AlreadyLabelled`]. Platforms add their fields with
//! a propagation step instead, which keeps the production fields.

use std::io::Write;

use crate::carrier::{Carrier, Registry, Written};
use crate::check::{Check, validate_label};
use crate::inspect::{Options, detect, inspect_with};
use crate::io::{ReadSeek, within_budget};
use crate::{Error, Label, Result};

/// Writes `input` to `output` with `label` embedded, detecting the format with `registry`.
///
/// The label is validated first with `options.write` strictness.
///
/// # Errors
/// [`Error::Parameter`] when the label fails validation; [`Error::AlreadyLabelled`] when the file
/// carries another producer's label; [`Error::Unsupported`] for unknown formats; malformed input;
/// I/O errors.
pub fn embed(
    registry: &Registry,
    input: &mut dyn ReadSeek,
    output: &mut dyn Write,
    label: &Label,
    options: &Options,
) -> Result<Written> {
    let carrier = detect(registry, input)?;
    embed_with(carrier, input, output, label, options)
}

/// As [`embed`], with a known carrier.
///
/// # Errors
/// As [`embed`].
pub fn embed_with(
    carrier: &dyn Carrier,
    input: &mut dyn ReadSeek,
    output: &mut dyn Write,
    label: &Label,
    options: &Options,
) -> Result<Written> {
    check_label(label, options)?;
    let existing = inspect_with(carrier, input, options)?;
    check_producer(&existing, label)?;
    write_within_budget(carrier, input, output, label, options)
}

/// The rule of [`embed_with`]: a file's label may be replaced only by its producer. `existing`
/// is the file's report; for a caller that writes a label another way (an update in place).
///
/// # Errors
/// [`Error::AlreadyLabelled`] when a copy names another producer, or none that can be read.
pub fn check_producer(existing: &crate::inspect::Report, label: &Label) -> Result<()> {
    for copy in &existing.copies {
        let producer = copy.field("ContentProducer");
        if producer != Some(label.content_producer.as_str()) {
            return Err(Error::AlreadyLabelled {
                producer: producer.unwrap_or("<unreadable>").to_string(),
            });
        }
    }
    Ok(())
}

/// Replaces the label of a file that already carries one, keeping nothing of the old label;
/// used by the propagation step, which builds the new label from the old one.
///
/// # Errors
/// As [`embed`], without the producer check.
pub fn rewrite_with(
    carrier: &dyn Carrier,
    input: &mut dyn ReadSeek,
    output: &mut dyn Write,
    label: &Label,
    options: &Options,
) -> Result<Written> {
    check_label(label, options)?;
    write_within_budget(carrier, input, output, label, options)
}

/// The carrier's write, as one pass under the read budget.
fn write_within_budget(
    carrier: &dyn Carrier,
    input: &mut dyn ReadSeek,
    output: &mut dyn Write,
    label: &Label,
    options: &Options,
) -> Result<Written> {
    let limits = &options.limits;
    within_budget(input, limits, 2, carrier.format(), |input| {
        carrier.write(input, output, label, limits)
    })
}

/// Validates `label` at `options.write` strictness, as every write does first: for a caller
/// that writes a label another way (an update in place).
///
/// # Errors
/// [`Error::Parameter`] listing the checks the label fails.
pub fn check_label(label: &Label, options: &Options) -> Result<()> {
    let failed: Vec<String> = validate_label(label, options.write)
        .into_iter()
        .filter(|c| !c.is_ok())
        .map(|c| c.to_string())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::Parameter(
            format!("label fails validation: {}", failed.join("; ")).into(),
        ))
    }
}

/// Reads back what was written and checks that it holds exactly `label`, once.
///
/// Every embed path that can re-read its output calls this before reporting success: a writer
/// that silently dropped or duplicated the label must not pass.
///
/// # Errors
/// [`Error::Verification`] when the output holds no label, several, or a different one.
pub fn verify(carrier: &dyn Carrier, output: &mut dyn ReadSeek, label: &Label, options: &Options) -> Result<()> {
    let report = inspect_with(carrier, output, options)?;
    match report.copies.as_slice() {
        [] => Err(Error::Verification("no label in the output".into())),
        [copy] => match copy.label() {
            Some(read) if &read == label => {
                let failed: Vec<&Check> = copy.checks.iter().filter(|c| !c.is_ok()).collect();
                if failed.is_empty() {
                    Ok(())
                } else {
                    Err(Error::Verification(format!("output label fails {}", failed[0]).into()))
                }
            }
            Some(_) => Err(Error::Verification("the output holds a different label".into())),
            None => Err(Error::Verification("the output label is unreadable".into())),
        },
        many => Err(Error::Verification(
            format!("{} label copies in the output", many.len()).into(),
        )),
    }
}
