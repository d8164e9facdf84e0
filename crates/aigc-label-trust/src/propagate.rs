//! The distribution platform's step on upload (spec section 1): decide the class, then write the
//! platform's propagation fields into the file's single label.
//!
//! | the file has | the uploader declared AI | traces found | decision | `Label` |
//! |---|---|---|---|---|
//! | a label | - | - | [`Decision::Keep`]: keep the production fields, set the platform's | the label's own (1 for a producer's label) |
//! | no label | yes | - | [`Decision::Declared`] | 2 |
//! | no label | no | yes | [`Decision::Suspected`] | 3 |
//! | no label | no | no | [`Decision::Nothing`] | - |
//! | an unreadable label, or copies that disagree | - | - | [`Decision::Refused`] | - |
//!
//! A present label keeps its own `Label` value: a label a previous platform wrote as "possibly"
//! stays "possibly" (\[ours\]; the texts only name the three notices). Refusal exists because
//! the only way to write would be to drop a label the platform cannot read or choose between,
//! and nobody may delete a label.
//!
//! For classes 2 and 3 no producer is known, so the platform writes the label itself: its own
//! code as `ContentProducer` and `ContentPropagator`, its id as `ProduceID` and `PropagateID`
//! (\[ours\]). The core's strict validation wants a generation service's code in
//! `ContentProducer`, so these labels are written with lenient write validation.

use aigc_label_core::inspect::{LabelCopy, Options, inspect_with};
use aigc_label_core::io::ReadSeek;
use aigc_label_core::{Carrier, Label, LabelValue, Result, Written};

use crate::message::Slot;
use crate::protect::{ReadWriteSeek, SignSpec, Signed, sign_for_rewrite, write_signed_rewrite};
use crate::sign::LabelSigner;
use crate::traces::{self, Trace};

/// What the platform does with an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A label is present: keep its production fields and class, set the platform's
    /// propagation fields.
    Keep {
        /// The label as read.
        label: Label,
    },
    /// No label, but the uploader declared the content AI-generated: class 2, "possibly".
    Declared,
    /// No label and no declaration, but traces of generation: class 3, "suspected".
    Suspected {
        /// The traces found.
        traces: Vec<Trace>,
    },
    /// No label, no declaration, no traces: nothing to add.
    Nothing,
    /// A label is present but cannot be carried on.
    Refused {
        /// Why.
        why: String,
    },
}

impl Decision {
    /// The stable name reports use: `keep`, `declared`, `suspected`, `nothing` or `refused`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Decision::Keep { .. } => "keep",
            Decision::Declared => "declared",
            Decision::Suspected { .. } => "suspected",
            Decision::Nothing => "nothing",
            Decision::Refused { .. } => "refused",
        }
    }

    /// The `Label` value the file ends up with, when something is written.
    pub fn class(&self) -> Option<LabelValue> {
        match self {
            Decision::Keep { label } => Some(label.value),
            Decision::Declared => Some(LabelValue::Possibly),
            Decision::Suspected { .. } => Some(LabelValue::Suspected),
            Decision::Nothing | Decision::Refused { .. } => None,
        }
    }

    /// Why, for people.
    pub fn reason(&self) -> String {
        match self {
            Decision::Keep { label } => format!(
                "the file carries a label by {} (Label {}, {}); its production fields are kept",
                label.content_producer,
                label.value,
                label.value.word()
            ),
            Decision::Declared => {
                "no label; the uploader declared the content AI-generated: possibly AI-generated".into()
            }
            Decision::Suspected { traces } => {
                let found: Vec<String> = traces.iter().map(|t| format!("{} in {}", t.kind, t.location)).collect();
                format!(
                    "no label and no declaration, but traces of generation: {}",
                    found.join(", ")
                )
            }
            Decision::Nothing => "no label, no declaration, no traces of generation: nothing to add".into(),
            Decision::Refused { why } => why.clone(),
        }
    }
}

/// Decides the class from the label copies inspection found, the uploader's declaration and
/// the traces found (a pure function; see the module documentation for the table).
///
/// ```
/// use aigc_label_core::LabelValue;
/// use aigc_label_trust::propagate::{decide, Decision};
/// assert_eq!(decide(&[], true, &[]), Decision::Declared);
/// assert_eq!(decide(&[], false, &[]).class(), None);
/// assert_eq!(decide(&[], true, &[]).class(), Some(LabelValue::Possibly));
/// ```
pub fn decide(copies: &[LabelCopy], declared_by_user: bool, traces: &[Trace]) -> Decision {
    let Some(first) = copies.first() else {
        return if declared_by_user {
            Decision::Declared
        } else if !traces.is_empty() {
            Decision::Suspected {
                traces: traces.to_vec(),
            }
        } else {
            Decision::Nothing
        };
    };
    let mut labels = Vec::with_capacity(copies.len());
    for copy in copies {
        match copy.label() {
            Some(label) => labels.push(label),
            None => {
                return Decision::Refused {
                    why: format!(
                        "the label in {} cannot be read, and rewriting the file would drop it",
                        copy.carrier
                    ),
                };
            }
        }
    }
    let production = |l: &Label| {
        (
            l.value,
            l.content_producer.clone(),
            l.produce_id.clone(),
            l.reserved_code1.clone(),
        )
    };
    let Some(label) = labels.first() else {
        return Decision::Refused {
            why: format!("the label in {} cannot be read", first.carrier),
        };
    };
    if labels.iter().any(|l| production(l) != production(label)) {
        return Decision::Refused {
            why: format!(
                "{} label copies with different production fields; none may be dropped",
                copies.len()
            ),
        };
    }
    Decision::Keep { label: label.clone() }
}

/// What the platform asks for.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    /// The platform's provider code, written as `ContentPropagator`.
    pub platform: &'a str,
    /// The platform's id for the content, written as `PropagateID`.
    pub propagate_id: &'a str,
    /// The uploader declared the content AI-generated.
    pub declared_by_user: bool,
    /// Sign `ReservedCode2` with this key.
    pub signer: Option<&'a dyn LabelSigner>,
    /// Bind that signature to the content.
    pub bind: bool,
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("platform", &self.platform)
            .field("propagate_id", &self.propagate_id)
            .field("declared_by_user", &self.declared_by_user)
            .field("signer", &self.signer.map(|s| s.key_id()))
            .field("bind", &self.bind)
            .finish()
    }
}

/// What [`propagate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The file's format, as the carrier names it.
    pub format: &'static str,
    /// The decision and, through [`Decision::reason`], why.
    pub decision: Decision,
    /// The label written, if any.
    pub label: Option<Label>,
    /// Where it went, if written. When nothing is written, `output` is untouched.
    pub written: Option<Written>,
}

/// Inspects `input`, decides, and writes the platform's label into `output` when there is one
/// to write; the output holds exactly one label, and the producer's signature and binding still
/// verify (the carrier leaves every byte outside the label structure as it was).
///
/// Traces are looked for only when the decision needs them (no label, no declaration).
///
/// # Errors
/// As [`aigc_label_core::inspect::inspect_with`], [`traces::detect`] and
/// [`crate::rewrite_signed`].
pub fn propagate(
    carrier: &dyn Carrier,
    input: &mut dyn ReadSeek,
    output: &mut dyn ReadWriteSeek,
    request: &Request<'_>,
    options: &Options,
) -> Result<Outcome> {
    propagate_with(carrier, input, output, request, options, &|_| Ok(Vec::new()))
}

/// Traces a caller looks for beyond the container's own (an invisible watermark in the
/// pixels, which this crate does not decode): called with the input when the container has
/// none and the decision still needs them.
pub type MoreTraces<'a> = &'a dyn Fn(&mut dyn ReadSeek) -> Result<Vec<Trace>>;

/// [`propagate`], with `more_traces` asked when the input has no label, no declaration and no
/// trace in its metadata: what it finds makes the upload "suspected" too.
///
/// Why a callback: finding a watermark means decoding the pixels, which this crate (metadata
/// only, never pixels) leaves to a caller with codecs; `aigc_label` supplies one when built
/// with its `watermark` and `stamp` features.
///
/// # Errors
/// As [`propagate`], and `more_traces`' errors.
pub fn propagate_with(
    carrier: &dyn Carrier,
    input: &mut dyn ReadSeek,
    output: &mut dyn ReadWriteSeek,
    request: &Request<'_>,
    options: &Options,
    more_traces: MoreTraces<'_>,
) -> Result<Outcome> {
    let planned = plan_with(carrier, input, request, options, more_traces)?;
    let Some(signed) = planned.signed else {
        return Ok(Outcome {
            format: planned.format,
            decision: planned.decision,
            label: None,
            written: None,
        });
    };
    let protected = write_signed_rewrite(carrier, input, output, signed, options)?;
    Ok(Outcome {
        format: planned.format,
        decision: planned.decision,
        label: Some(protected.label),
        written: Some(protected.written),
    })
}

/// What [`propagate`] works out before it writes: the decision, and the label to write signed
/// for the input (none for [`Decision::Nothing`] and [`Decision::Refused`]).
#[derive(Debug, Clone)]
pub struct Planned {
    /// The file's format, as the carrier names it.
    pub format: &'static str,
    /// The decision.
    pub decision: Decision,
    /// The label to write, signed for the input; check what was written with
    /// [`Signed::check`].
    pub signed: Option<Signed>,
}

impl Planned {
    /// The [`Outcome`] of writing the planned label (`written`), or of writing nothing.
    pub fn outcome(self, written: Option<Written>) -> Outcome {
        let label = written.as_ref().and(self.signed.map(|s| s.label));
        Outcome {
            format: self.format,
            decision: self.decision,
            label,
            written,
        }
    }
}

/// [`propagate`] up to the write: inspect, decide, build the label and sign it for `input`.
/// For a caller that writes the label in place.
///
/// # Errors
/// As [`propagate`].
pub fn plan(
    carrier: &dyn Carrier,
    input: &mut dyn ReadSeek,
    request: &Request<'_>,
    options: &Options,
) -> Result<Planned> {
    plan_with(carrier, input, request, options, &|_| Ok(Vec::new()))
}

/// [`plan`], with `more_traces` asked as [`propagate_with`] asks it.
///
/// # Errors
/// As [`propagate_with`].
pub fn plan_with(
    carrier: &dyn Carrier,
    input: &mut dyn ReadSeek,
    request: &Request<'_>,
    options: &Options,
    more_traces: MoreTraces<'_>,
) -> Result<Planned> {
    let report = inspect_with(carrier, input, options)?;
    let traces = if report.copies.is_empty() && !request.declared_by_user {
        let mut found = traces::detect(carrier, input, &options.limits)?;
        if found.is_empty() {
            input.seek(std::io::SeekFrom::Start(0))?;
            found = more_traces(input)?;
        }
        found
    } else {
        Vec::new()
    };
    let decision = decide(&report.copies, request.declared_by_user, &traces);
    let label = match &decision {
        Decision::Keep { label } => label.clone().propagated(request.platform, request.propagate_id),
        // The platform's code stands in as ContentProducer; core validation accepts a
        // distribution code there for classes 2 and 3.
        Decision::Declared | Decision::Suspected { .. } => {
            let value = decision.class().unwrap_or(LabelValue::Possibly);
            Label::first_write(value, request.platform, request.propagate_id)
        }
        Decision::Nothing | Decision::Refused { .. } => {
            return Ok(Planned {
                format: carrier.format(),
                decision,
                signed: None,
            });
        }
    };
    let specs: Vec<SignSpec<'_>> = request
        .signer
        .map(|signer| SignSpec {
            slot: Slot::Propagator,
            signer,
            bind: request.bind,
            embed_public_key: true,
        })
        .into_iter()
        .collect();
    let signed = sign_for_rewrite(carrier, input, &label, &specs, options)?;
    Ok(Planned {
        format: carrier.format(),
        decision,
        signed: Some(signed),
    })
}
