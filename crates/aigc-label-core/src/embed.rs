//! Embedding: put one label into a file, replacing only a label of the same producer.
//!
//! The rules forbid removing or hiding another party's label, so before a carrier rewrites
//! anything, the existing copies are read; a copy by another producer (or one whose producer
//! cannot be read) stops the write with [`Error::AlreadyLabelled`]. Platforms add their fields with
//! a propagation step instead, which keeps the production fields.

use std::io::Write;

use crate::carrier::{Carrier, Found, Registry, Written};
use crate::check::{Check, validate_label};
use crate::inspect::{Options, Report, detect, inspect_with, report_found};
use crate::io::{ReadSeek, within_budget};
use crate::plan::{Output, Plain, Plan, PlanBuilder, Sink};
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
/// A carrier that plans ([`Carrier::plan`]) reads the input once: its scan yields the existing
/// copies for the producer check and writes the output as it goes (see [`stream`]). Others are
/// inspected, then written by [`Carrier::write`].
///
/// `output` is a plain `Write`: after an error it may hold the first part of an output (never
/// more than the input's bytes before the structure at fault, and never a label copy of
/// another producer's file past the copy that stopped the write); discard it. [`embed_to`]
/// with a [`crate::plan::VecSink`] also lets a carrier write past a likely guess.
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
    embed_to(carrier, input, &mut Plain(output), label, options)
}

/// As [`embed_with`], writing to a [`Sink`]: one that can be cut back lets carriers that guess
/// (a new XMP packet's place, before the packet that may yet come) stream past the guess.
///
/// # Errors
/// As [`embed`]. After an error the sink may hold the first part of an output: discard it.
pub fn embed_to(
    carrier: &dyn Carrier,
    input: &mut dyn ReadSeek,
    sink: &mut dyn Sink,
    label: &Label,
    options: &Options,
) -> Result<Written> {
    stream(carrier, input, sink, label, options, |_| Ok(())).map(|s| s.written)
}

/// What [`scan`] learnt about an input before writing it.
#[derive(Debug)]
pub struct Scanned {
    /// The input's labels, as [`inspect_with`] reports them.
    pub report: Report,
    /// The carrier's plan for the output, when it makes one.
    pub plan: Option<Plan>,
}

/// The first half of a two-pass embed: one scan of `input` that finds its labels and, when
/// the carrier plans, the output's pieces, writing nothing ([`stream`] writes as it scans). A
/// carrier without a plan, or whose plan failed (a file it will refuse to write), is inspected
/// instead, so the labels are reported and checked before any error of the write, as they
/// always were.
///
/// # Errors
/// As [`inspect_with`].
pub fn scan(carrier: &dyn Carrier, input: &mut dyn ReadSeek, label: &Label, options: &Options) -> Result<Scanned> {
    let limits = &options.limits;
    let start = input.stream_position()?;
    let planned = within_budget(input, limits, 1, carrier.format(), |input| {
        carrier.plan(input, label, limits, PlanBuilder::new(carrier.format()))
    });
    if !matches!(planned, Ok(Some(_))) {
        input.seek(std::io::SeekFrom::Start(start))?;
    }
    match planned {
        Ok(Some(plan)) => Ok(Scanned {
            report: report_found(carrier, plan.found.clone(), options),
            plan: Some(plan),
        }),
        Ok(None) | Err(_) => Ok(Scanned {
            report: inspect_with(carrier, input, options)?,
            plan: None,
        }),
    }
}

/// What [`stream`] did: the input's labels, the carrier's plan when it made one, and the
/// write's result.
#[derive(Debug)]
pub struct Streamed {
    /// The input's labels, as [`inspect_with`] reports them.
    pub report: Report,
    /// The plan the output was written from, when the carrier plans.
    pub plan: Option<Plan>,
    /// What was written.
    pub written: Written,
}

/// A whole embed in one pass over `input` for a carrier that plans: its scan writes the
/// output to `sink` as it walks, checking each label copy as it meets it (another producer's
/// label stops the write), then `check` sees the input's [`Report`] (a caller's own rule) and
/// the rest of the output is written. A carrier without a plan is inspected, `check`ed, then
/// written by [`Carrier::write`]. The label is validated first.
///
/// # Errors
/// As [`embed`], and `check`'s error. After any error the sink may hold the first part of an
/// output: discard it (the facade's file functions remove their temporary file).
pub fn stream(
    carrier: &dyn Carrier,
    input: &mut dyn ReadSeek,
    sink: &mut dyn Sink,
    label: &Label,
    options: &Options,
    check: impl FnOnce(&Report) -> Result<()>,
) -> Result<Streamed> {
    check_label(label, options)?;
    let limits = &options.limits;
    let format = carrier.format();
    let start = input.stream_position()?;
    let mut producer =
        |copy: &Found| refuse_other_producers(&report_found(carrier, vec![copy.clone()], options), label);
    // The scan reads each structure, and the drain copies it from the buffer: two reads asked
    // of the buffer, one of the file.
    let planned = within_budget(input, limits, 2, format, |input| {
        let out = Output::new(sink, &mut producer);
        carrier.plan(input, label, limits, PlanBuilder::streaming(format, out))
    });
    match planned {
        Ok(Some(plan)) => {
            let report = report_found(carrier, plan.found.clone(), options);
            check(&report)?;
            refuse_other_producers(&report, label)?;
            let written = within_budget(input, limits, 1, format, |input| plan.write_rest(input, sink))?;
            Ok(Streamed {
                report,
                plan: Some(plan),
                written,
            })
        }
        Err(e @ Error::AlreadyLabelled { .. }) => Err(e),
        Ok(None) | Err(_) => {
            // Labels are reported and checked before any error of the write, as they always were.
            input.seek(std::io::SeekFrom::Start(start))?;
            let report = inspect_with(carrier, input, options)?;
            check(&report)?;
            refuse_other_producers(&report, label)?;
            // The plan's error, now that no label forbids the write (nothing was planned: None).
            planned?;
            input.seek(std::io::SeekFrom::Start(start))?;
            let written = write_within_budget(carrier, input, sink, label, options)?;
            Ok(Streamed {
                report,
                plan: None,
                written,
            })
        }
    }
}

/// The rule of spec section 1 as embedding applies it: a label by another producer (or one
/// whose producer cannot be read) is never replaced.
///
/// # Errors
/// [`Error::AlreadyLabelled`].
pub fn refuse_other_producers(report: &Report, label: &Label) -> Result<()> {
    for copy in &report.copies {
        let producer = copy.field("ContentProducer");
        if producer != Some(label.content_producer.as_str()) {
            return Err(Error::AlreadyLabelled {
                producer: producer.unwrap_or("<unreadable>").to_string(),
            });
        }
    }
    Ok(())
}

/// The second half of an embed: executes `plan` when there is one (one pass over the copied
/// ranges), or runs the carrier's write.
///
/// # Errors
/// Malformed input, limits exceeded, I/O errors.
pub fn write_scanned(
    carrier: &dyn Carrier,
    plan: Option<&Plan>,
    input: &mut dyn ReadSeek,
    output: &mut dyn Write,
    label: &Label,
    options: &Options,
) -> Result<Written> {
    match plan {
        Some(plan) => within_budget(input, &options.limits, 1, carrier.format(), |input| {
            plan.write_to(input, output)
        }),
        None => write_within_budget(carrier, input, output, label, options),
    }
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
        Err(Error::parameter(
            "label",
            format!("fails validation: {}", failed.join("; ")),
        ))
    }
}

/// Reads back what was written and checks that it holds exactly `label`, once: the carrier's
/// [`Carrier::find`] over the output, which reads its structures (headers, the label's
/// structure and what points at it), not its payload.
///
/// Every embed path that can re-read its output calls this before reporting success: a writer
/// that silently dropped or duplicated the label must not pass. (Named for what it does, apart
/// from the signature verification of the trust layer.)
///
/// # Errors
/// [`Error::Verification`] when the output holds no label, several, or a different one.
pub fn readback(carrier: &dyn Carrier, output: &mut dyn ReadSeek, label: &Label, options: &Options) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::carrier::Info;
    use crate::plan::PlanBuilder;
    use crate::{Limits, json};
    use std::io::Cursor;

    /// A format whose file is a label's JSON (or nothing) followed by a payload, with a plan
    /// that copies the payload after the new label. `find` and `write` count their calls, so a
    /// test can tell which path embedding took.
    struct Toy {
        plans: bool,
        finds: std::sync::atomic::AtomicUsize,
    }

    impl Toy {
        fn new(plans: bool) -> Self {
            Toy {
                plans,
                finds: Default::default(),
            }
        }

        fn found(input: &mut dyn ReadSeek) -> Result<(Vec<Found>, u64)> {
            input.rewind()?;
            let mut all = Vec::new();
            input.read_to_end(&mut all)?;
            let end = all.iter().position(|&b| b == b'\n').unwrap_or(0);
            let text = String::from_utf8_lossy(&all[..end]).into_owned();
            let found = (!text.is_empty()).then(|| Found {
                carrier: "toy".into(),
                range: 0..end as u64,
                text,
                expected_shape: json::Shape::Bare,
                checks: Vec::new(),
            });
            Ok((found.into_iter().collect(), end as u64))
        }
    }

    impl Carrier for Toy {
        fn info(&self) -> &'static Info {
            &Info {
                format: "toy",
                media_type: "application/x-toy",
                extensions: &["toy"],
            }
        }
        fn sniff(&self, _: &[u8]) -> bool {
            true
        }
        fn find(&self, input: &mut dyn ReadSeek, _: &Limits) -> Result<Vec<Found>> {
            self.finds.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(Toy::found(input)?.0)
        }
        fn write(
            &self,
            input: &mut dyn ReadSeek,
            output: &mut dyn Write,
            label: &Label,
            limits: &Limits,
        ) -> Result<Written> {
            self.plan(input, label, limits, PlanBuilder::new("toy"))?
                .ok_or_else(|| Error::unsupported("toy", "no plan"))?
                .write_to(input, output)
        }
        fn plan(
            &self,
            input: &mut dyn ReadSeek,
            label: &Label,
            _: &Limits,
            mut out: PlanBuilder<'_>,
        ) -> Result<Option<Plan>> {
            let (found, end) = Toy::found(input)?;
            let len = input.seek(std::io::SeekFrom::End(0))?;
            if self.plans && len > 1000 {
                return Err(Error::malformed("toy", 0, "too long to plan"));
            }
            out.put(json::to_json(label, json::Shape::Bare).as_bytes());
            let label_range = 0..out.position();
            out.copy(end..len);
            Ok(Some(out.finish(found, label_range)))
        }
    }

    fn file(producer: Option<&str>, payload_len: usize) -> Vec<u8> {
        let mut bytes = producer
            .map(|p| json::to_json(&Label::new(p, "old"), json::Shape::Bare).into_bytes())
            .unwrap_or_default();
        bytes.push(b'\n');
        bytes.extend(std::iter::repeat_n(b'x', payload_len));
        bytes
    }

    const PRODUCER: &str = "001191440300708461136T1XGW3";

    #[test]
    fn a_planning_carrier_is_not_inspected_separately() {
        let toy = Toy::new(true);
        let label = Label::new(PRODUCER, "new");
        let mut out = Vec::new();
        let input = file(Some(PRODUCER), 10);
        embed_with(&toy, &mut Cursor::new(&input), &mut out, &label, &Options::default()).unwrap();
        assert_eq!(
            toy.finds.load(std::sync::atomic::Ordering::Relaxed),
            0,
            "find was called"
        );
        let expected = [json::to_json(&label, json::Shape::Bare).as_bytes(), b"\n", &[b'x'; 10]].concat();
        assert_eq!(out, expected);
    }

    #[test]
    fn another_producers_label_refuses_the_write_whether_or_not_the_plan_fails() {
        for payload in [10, 2000] {
            let toy = Toy::new(true);
            let label = Label::new(PRODUCER, "new");
            let input = file(Some("001191110108551385082Q20000"), payload);
            let result = embed_with(
                &toy,
                &mut Cursor::new(&input),
                &mut Vec::new(),
                &label,
                &Options::default(),
            );
            assert!(
                matches!(&result, Err(Error::AlreadyLabelled { .. })),
                "{payload}: {result:?}"
            );
        }
        // A plan that fails on a file without another producer's label: the plan's error.
        let toy = Toy::new(true);
        let result = embed_with(
            &toy,
            &mut Cursor::new(file(None, 2000)),
            &mut Vec::new(),
            &Label::new(PRODUCER, "new"),
            &Options::default(),
        );
        assert!(matches!(result, Err(Error::Malformed { .. })), "{result:?}");
        assert_eq!(
            toy.finds.load(std::sync::atomic::Ordering::Relaxed),
            1,
            "inspected once"
        );
    }
}
