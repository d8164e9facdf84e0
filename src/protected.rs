//! Label protection on files (feature `trust`): signed embeds, verification against a trust
//! list, and the distribution platform's propagation step, each one call on paths.
//!
//! The protection itself (TC260-PG-202511A SecurityData in `ReservedCode1` / `ReservedCode2`,
//! SM3withSM2 and Ed25519 signatures, the content binding) lives in [`crate::trust`]; this module
//! adds what the path-level [`crate::embed_file`] adds to [`crate::embed`]: the format is
//! detected from the file, and writes are atomic. The output goes to a temporary file in the
//! target's folder, which the trust crate reads back and checks (label, signatures, binding
//! digest), then is synced, given the identity of the file it replaces (owner, group, mode; see
//! [`crate::Note`]), and renamed into place; errors name the file at fault. A failure or a kill
//! leaves the old file or the complete new one.
//!
//! The functions are re-exported at the crate root: [`embed_signed_file`], [`propagate_file`],
//! [`verify_file`] and [`verify_reader`].

use std::io::{Read, Seek};
use std::path::Path;

use aigc_label_core::inspect::inspect_with;
use aigc_label_core::io::ReadSeek;
use aigc_label_trust::propagate::{Outcome, Request, propagate};
use aigc_label_trust::{Protected, SignSpec, TrustList, TrustVerdict, Verification};

use crate::{Carrier, Label, Options, Report, Result, atomic, open_with_carrier};

/// A file's inspection with the verification of each label copy against a trust list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// What inspection found: the copies, their checks, the format verdict.
    pub report: Report,
    /// One entry per copy of [`Report::copies`], in the same order; `None` for a copy whose
    /// label cannot be read (its checks in the report say why).
    pub verifications: Vec<Option<Verification>>,
}

impl Verified {
    /// The worst protection verdict over the readable copies (tampered, then untrusted, then
    /// unsigned, then trusted), or `None` when no copy holds a readable label.
    ///
    /// A platform acts on it together with [`Report::verdict`]: `Tampered` means a signature
    /// does not verify or signed content changed, so the label was altered (GB 45438 forbids
    /// altering labels); `Untrusted` means nothing contradicts the label but something (an
    /// unknown key, say) cannot be checked.
    pub fn trust_verdict(&self) -> Option<TrustVerdict> {
        self.verifications
            .iter()
            .flatten()
            .map(Verification::verdict)
            .max_by_key(|v| severity(*v))
    }

    /// True when the file carries exactly one readable label copy and its protection verdict is
    /// [`TrustVerdict::Trusted`].
    pub fn is_trusted(&self) -> bool {
        matches!(self.verifications.as_slice(), [Some(v)] if v.verdict() == TrustVerdict::Trusted)
    }
}

/// How bad a verdict is, for picking the worst over several copies.
fn severity(verdict: TrustVerdict) -> u8 {
    match verdict {
        TrustVerdict::Trusted => 0,
        TrustVerdict::Unsigned => 1,
        TrustVerdict::Untrusted => 2,
        TrustVerdict::Tampered => 3,
    }
}

/// Inspects `input` and verifies every label copy against `trust`: each signature (valid,
/// invalid, unknown key, absent, unsupported) and each content binding (matches, content
/// changed, absent, unsupported), with the checks behind them by id (see
/// [`crate::trust::verify::id`]).
///
/// # Errors
/// As [`crate::inspect`]; errors reading the bytes a binding covers. A broken signature or a
/// changed file is not an error: it is a result.
pub fn verify_reader<R: Read + Seek>(mut input: R, trust: &TrustList, options: &Options) -> Result<Verified> {
    let carrier = crate::detect(&mut input)?;
    verify_with(carrier, &mut input, trust, options)
}

/// [`verify_reader`] on a file; a file whose format has no magic bytes is read by the carrier
/// its extension names, as in [`crate::inspect_file`].
///
/// ```
/// use aigc_label::{embed_signed_file, verify_file, Label, Options};
/// use aigc_label::trust::{Algorithm, SignSpec, SigningKey, TrustList, TrustVerdict};
///
/// # let dir = tempfile::tempdir()?;
/// # let generated = aigc_label_testutil::workspace_root().join("examples/samples/sample.png");
/// # let signed = dir.path().join("signed.png");
/// let producer = "001191440300708461136T1XGW3";
/// let key = SigningKey::generate(Algorithm::Ed25519)?;
/// let label = Label::new(producer, "img-1");
/// embed_signed_file(&generated, &signed, &label, &[SignSpec::producer(&key)], &Options::default())?;
///
/// // A platform, holding the producer's public key:
/// let mut trust = TrustList::new();
/// trust.add(producer, key.public_key());
/// let verified = verify_file(&signed, &trust, &Options::default())?;
/// assert_eq!(verified.trust_verdict(), Some(TrustVerdict::Trusted));
/// assert!(verified.verifications[0].as_ref().unwrap().is_bound());
///
/// // Without the key, the signature is sound but its origin unknown.
/// let verified = verify_file(&signed, &TrustList::new(), &Options::default())?;
/// assert_eq!(verified.trust_verdict(), Some(TrustVerdict::Untrusted));
/// # Ok::<(), aigc_label::Error>(())
/// ```
///
/// # Errors
/// As [`verify_reader`], plus errors opening the file; each wrapped in
/// [`crate::Error::WithPath`] with `path`.
pub fn verify_file(path: impl AsRef<Path>, trust: &TrustList, options: &Options) -> Result<Verified> {
    let path = path.as_ref();
    let (carrier, mut reader) = open_with_carrier(path).map_err(|e| e.with_path(path))?;
    verify_with(carrier, &mut reader, trust, options).map_err(|e| e.with_path(path))
}

fn verify_with(
    carrier: &dyn Carrier,
    input: &mut dyn ReadSeek,
    trust: &TrustList,
    options: &Options,
) -> Result<Verified> {
    let report = inspect_with(carrier, input, options)?;
    let verifications = aigc_label_trust::verify_copies(carrier, &report.copies, input, trust, &options.limits)?;
    Ok(Verified { report, verifications })
}

/// Embeds `label` into the file at `input` with the signatures `specs` ask for, writing
/// `output` atomically (the two may be the same path); the producer's first write, refused when
/// the file carries another producer's label.
///
/// [`SignSpec::producer`] signs `ReservedCode1` and binds the signature to the file's content
/// (every byte outside the label's structure); [`SignSpec::unbound`] leaves the binding out
/// (the guide's plain Appendix A.1 signature).
///
/// ```
/// use aigc_label::{embed_signed_file, inspect_file, Label, Options, Verdict};
/// use aigc_label::trust::{Algorithm, SignSpec, SigningKey};
///
/// # let dir = tempfile::tempdir()?;
/// # let generated = aigc_label_testutil::workspace_root().join("examples/samples/sample.jpg");
/// # let signed = dir.path().join("signed.jpg");
/// let key = SigningKey::generate(Algorithm::Sm2Sm3)?;
/// let label = Label::new("001191440300708461136T1XGW3", "img-2");
/// let protected = embed_signed_file(&generated, &signed, &label, &[SignSpec::producer(&key)], &Options::default())?;
/// assert!(protected.label.reserved_code1.contains("SecurityData"));
/// assert_eq!(inspect_file(&signed, &Options::default())?.verdict, Verdict::Compliant);
/// # Ok::<(), aigc_label::Error>(())
/// ```
///
/// # Errors
/// As [`crate::trust::embed_signed`] (a label that fails validation, another producer's label,
/// a signer's failure, a carrier whose binding cannot hold) and [`crate::embed_file`].
pub fn embed_signed_file(
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    label: &Label,
    specs: &[SignSpec<'_>],
    options: &Options,
) -> Result<Protected> {
    atomic::write_with(input.as_ref(), output.as_ref(), options.sync, |carrier, reader, out| {
        aigc_label_trust::embed_signed(carrier, reader, out, label, specs, options).map(|p| (p, true))
    })
}

/// The distribution platform's step on an upload at `input` (spec section 1): inspect, decide
/// the class, and write the file with the platform's propagation fields (and, when
/// `request.signer` is set, its signature in `ReservedCode2`) to `output`, atomically; the two
/// may be the same path.
///
/// | the file has | decision | written |
/// |---|---|---|
/// | a label | keep its class and production fields, set `ContentPropagator`, `PropagateID` | yes |
/// | no label; the uploader declared AI | class 2, possibly | yes |
/// | no label, no declaration; traces of generation | class 3, suspected | yes |
/// | nothing of that | nothing | no: `output` is neither created nor changed |
/// | an unreadable label, or copies that disagree | refused | no |
///
/// The returned [`Outcome`] says what was decided and why ([`Outcome::decision`]'s
/// `reason()`); the producer's signature and binding still verify after the update. With
/// `input` and `output` one file, the label is updated in place when the format has room, as
/// in [`crate::embed_file`].
///
/// ```
/// use aigc_label::{propagate_file, Options};
/// use aigc_label::trust::propagate::{Decision, Request};
///
/// # let dir = tempfile::tempdir()?;
/// # let upload = aigc_label_testutil::workspace_root().join("examples/samples/sample.png");
/// # let stored = dir.path().join("stored.png");
/// let request = Request {
///     platform: "001191110108551385082Q20000",
///     propagate_id: "upload-42",
///     declared_by_user: true,
///     signer: None,
///     bind: false,
/// };
/// let outcome = propagate_file(&upload, &stored, &request, &Options::default())?;
/// assert_eq!(outcome.decision, Decision::Declared);
/// assert_eq!(outcome.label.unwrap().propagate_id, "upload-42");
/// # Ok::<(), aigc_label::Error>(())
/// ```
///
/// # Errors
/// As [`crate::trust::propagate::propagate`] and [`crate::embed_file`].
pub fn propagate_file(
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    request: &Request<'_>,
    options: &Options,
) -> Result<Outcome> {
    let (input, output) = (input.as_ref(), output.as_ref());
    // One file: updated in place when its format has room for the label (issue 16).
    if crate::in_place::same_file(input, output) {
        if let Some(outcome) = crate::in_place::propagate(output, request, options)? {
            return Ok(outcome);
        }
    }
    atomic::write_with(input, output, options.sync, |carrier, reader, out| {
        let outcome = propagate(carrier, reader, out, request, options)?;
        let written = outcome.written.is_some();
        Ok((outcome, written))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_to_write_leaves_no_output_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.png");
        std::fs::copy(
            aigc_label_testutil::workspace_root().join("examples/samples/sample.png"),
            &input,
        )
        .unwrap();
        let output = dir.path().join("out.png");
        let request = Request {
            platform: "001191110108551385082Q20000",
            propagate_id: "p-1",
            declared_by_user: false,
            signer: None,
            bind: false,
        };
        let outcome = propagate_file(&input, &output, &request, &Options::default()).unwrap();
        assert_eq!(outcome.decision, aigc_label_trust::propagate::Decision::Nothing);
        assert!(!output.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
