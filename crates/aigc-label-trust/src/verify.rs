//! Verification of one label copy: signatures against a trust list, bindings against the file.
//!
//! For each protection slot (`ReservedCode1` for the producer, `ReservedCode2` for the
//! propagator) [`verify`] reports a [`SignatureStatus`] and a [`BindingStatus`], lists every
//! finding as a [`Check`] with a stable id (see [`id`]), and sums it up in a [`TrustVerdict`] a
//! platform can act on.
//!
//! How a signature is judged (the key is looked up by the `DS` entry's `KeyID` among the keys
//! the trust list accepts for the slot's provider):
//! - valid: it verifies under a trusted key with that id, and any key embedded under the same
//!   id is that key;
//! - invalid: it does not verify under the trusted key with that id, or it verifies under a
//!   trusted key whose id differs from the `KeyID` (the id was altered), or it does not verify
//!   under the embedded key it names, or the envelope cannot be read;
//! - unknown key: no trusted key; the detail says whether an embedded key verifies it;
//! - unsupported: an `AlgID` or envelope `Version` this crate does not know, or protection data
//!   that is not a SecurityData envelope;
//! - absent: the slot is empty, or its envelope holds no `DS` entry.

use aigc_label_core::check::{Check, Level};
use aigc_label_core::inspect::LabelCopy;
use aigc_label_core::io::ReadSeek;
use aigc_label_core::{Carrier, FIELD_NAMES, Label, Limits, Result};

use crate::alg::{Algorithm, DigestAlg};
use crate::binding::{checkable, digest_content};
use crate::envelope::{SecurityData, SignatureEntry, VERSION};
use crate::keys::PublicKey;
use crate::message::{Slot, signed_message};
use crate::trust::TrustList;

/// Most `DS` entries checked per slot. Each costs a signature verification (about a
/// millisecond for SM2), and a crafted label could hold hundreds; real ones hold one or two.
pub const MAX_SIGNATURES: usize = 8;

/// Stable check ids of verification.
pub mod id {
    /// The signature verifies under a trusted key.
    pub const SIGNATURE_VALID: &str = "signature.valid";
    /// The signature does not verify, or names the wrong key.
    pub const SIGNATURE_INVALID: &str = "signature.invalid";
    /// No trusted key for the signature.
    pub const SIGNATURE_UNKNOWN_KEY: &str = "signature.unknown-key";
    /// The slot holds no signature.
    pub const SIGNATURE_ABSENT: &str = "signature.absent";
    /// The signature's algorithm or envelope version is unknown.
    pub const SIGNATURE_UNSUPPORTED: &str = "signature.unsupported";
    /// The content digest matches the file.
    pub const BINDING_MATCH: &str = "binding.match";
    /// The content digest does not match: the content changed.
    pub const BINDING_CHANGED: &str = "binding.changed";
    /// The slot holds no content binding.
    pub const BINDING_ABSENT: &str = "binding.absent";
    /// A binding of a kind, scope or digest this crate cannot check.
    pub const BINDING_UNSUPPORTED: &str = "binding.unsupported";
    /// The slot names a SecurityData envelope that cannot be read.
    pub const SECURITYDATA_SYNTAX: &str = "securitydata.syntax";
    /// The envelope departs from the guide's spelling (read leniently).
    pub const SECURITYDATA_SPELLING: &str = "securitydata.spelling";
    /// The envelope holds members or entry types this verifier does not know; no signature
    /// covers them, so the label cannot count as trusted.
    pub const SECURITYDATA_UNKNOWN: &str = "securitydata.unknown";
    /// The label text has exactly the seven fields, once each; otherwise a field (a protection
    /// slot, say) may have been renamed away, and the label cannot count as trusted.
    pub const LABEL_FIELDS: &str = "label.fields";
}

/// What became of a slot's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureStatus {
    /// No signature.
    Absent,
    /// Verified under a trusted key.
    Valid {
        /// The algorithm.
        algorithm: Algorithm,
        /// The trusted key's id.
        key_id: String,
    },
    /// No trusted key for it.
    UnknownKey {
        /// The `KeyID` the signature names.
        key_id: String,
        /// True when a key embedded in the envelope verifies it (proving integrity, not origin).
        embedded_key_verifies: bool,
    },
    /// It does not verify, or names another key than the one that made it; why.
    Invalid(String),
    /// Not checkable by this crate; why.
    Unsupported(String),
}

/// What became of a slot's content binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingStatus {
    /// No binding.
    Absent,
    /// The digest matches the file.
    Match,
    /// The digest does not match: the covered content changed.
    ContentChanged,
    /// Not checkable by this crate; why.
    Unsupported(String),
}

impl SignatureStatus {
    /// The stable name reports use: `valid`, `invalid`, `unknown-key`, `absent` or
    /// `unsupported`.
    pub fn as_str(&self) -> &'static str {
        match self {
            SignatureStatus::Valid { .. } => "valid",
            SignatureStatus::Invalid(_) => "invalid",
            SignatureStatus::UnknownKey { .. } => "unknown-key",
            SignatureStatus::Absent => "absent",
            SignatureStatus::Unsupported(_) => "unsupported",
        }
    }
}

impl BindingStatus {
    /// The stable name reports use: `match`, `content-changed`, `absent` or `unsupported`.
    pub fn as_str(&self) -> &'static str {
        match self {
            BindingStatus::Match => "match",
            BindingStatus::ContentChanged => "content-changed",
            BindingStatus::Absent => "absent",
            BindingStatus::Unsupported(_) => "unsupported",
        }
    }
}

/// One slot's results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotVerification {
    /// Which slot.
    pub slot: Slot,
    /// The signature.
    pub signature: SignatureStatus,
    /// The binding.
    pub binding: BindingStatus,
}

/// What a platform does with the label's protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrustVerdict {
    /// Every signature present verifies under a trusted key, every binding matches, and the
    /// label and its envelopes hold nothing this verifier does not understand.
    Trusted,
    /// Nothing contradicts the label, but something is unverifiable: an unknown key, an
    /// unsupported algorithm, binding or kind of protection data, unknown envelope members, or
    /// missing or unknown label fields.
    Untrusted,
    /// A signature is invalid, the content changed, or an envelope is unreadable.
    Tampered,
    /// The label carries no signature.
    Unsigned,
}

impl TrustVerdict {
    /// `trusted`, `untrusted`, `tampered` or `unsigned`.
    pub fn as_str(self) -> &'static str {
        match self {
            TrustVerdict::Trusted => "trusted",
            TrustVerdict::Untrusted => "untrusted",
            TrustVerdict::Tampered => "tampered",
            TrustVerdict::Unsigned => "unsigned",
        }
    }
}

/// The results of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// `ReservedCode1`.
    pub producer: SlotVerification,
    /// `ReservedCode2`.
    pub propagator: SlotVerification,
    /// Every finding, passes included.
    pub checks: Vec<Check>,
}

impl Verification {
    /// The sum of it (see [`TrustVerdict`]).
    pub fn verdict(&self) -> TrustVerdict {
        let slots = [&self.producer, &self.propagator];
        if self.checks.iter().any(|c| c.level == Level::Fail) {
            return TrustVerdict::Tampered;
        }
        if slots.iter().all(|s| s.signature == SignatureStatus::Absent) {
            return TrustVerdict::Unsigned;
        }
        let signatures_ok = slots
            .iter()
            .all(|s| matches!(s.signature, SignatureStatus::Valid { .. } | SignatureStatus::Absent));
        let bindings_ok = slots
            .iter()
            .all(|s| matches!(s.binding, BindingStatus::Match | BindingStatus::Absent));
        let understood = !self
            .checks
            .iter()
            .any(|c| matches!(c.id, id::LABEL_FIELDS | id::SECURITYDATA_UNKNOWN) && c.level != Level::Pass);
        if signatures_ok && bindings_ok && understood {
            TrustVerdict::Trusted
        } else {
            TrustVerdict::Untrusted
        }
    }

    /// True when a binding in either slot matches the file.
    pub fn is_bound(&self) -> bool {
        self.producer.binding == BindingStatus::Match || self.propagator.binding == BindingStatus::Match
    }
}

/// Verifies `label`, read from `input` by `carrier`, against `trust`.
///
/// The carrier says which bytes a binding leaves out ([`Carrier::binding_exclusions`]); it is
/// asked only when the label holds a binding this crate can check.
///
/// # Errors
/// The carrier's errors while it locates the excluded bytes; I/O errors. A broken signature or
/// envelope is not an error: it is a result.
pub fn verify(
    carrier: &dyn Carrier,
    label: &Label,
    input: &mut dyn ReadSeek,
    trust: &TrustList,
    limits: &Limits,
) -> Result<Verification> {
    verify_cached(label, &mut ContentDigests::new(carrier, input, limits), trust, limits)
}

/// The digests of one file as its carrier binds it, computed when first asked for and shared by
/// every label copy verified against the file, so a file with several copies is read once per
/// digest algorithm, not once per copy.
struct ContentDigests<'a> {
    carrier: &'a dyn Carrier,
    input: &'a mut dyn ReadSeek,
    limits: &'a Limits,
    done: Vec<(DigestAlg, Vec<u8>)>,
}

impl<'a> ContentDigests<'a> {
    fn new(carrier: &'a dyn Carrier, input: &'a mut dyn ReadSeek, limits: &'a Limits) -> Self {
        ContentDigests {
            carrier,
            input,
            limits,
            done: Vec::new(),
        }
    }

    /// The digests for `algorithms`, computing the missing ones in one pass.
    fn get(&mut self, algorithms: &[DigestAlg]) -> Result<Vec<(DigestAlg, Vec<u8>)>> {
        let missing: Vec<DigestAlg> = algorithms
            .iter()
            .copied()
            .filter(|a| !self.done.iter().any(|(d, _)| d == a))
            .collect();
        if !missing.is_empty() {
            let digests = digest_content(self.carrier, self.input, &missing, self.limits)?;
            self.done.extend(missing.into_iter().zip(digests));
        }
        Ok(self
            .done
            .iter()
            .filter(|(a, _)| algorithms.contains(a))
            .cloned()
            .collect())
    }
}

fn verify_cached(
    label: &Label,
    content: &mut ContentDigests<'_>,
    trust: &TrustList,
    limits: &Limits,
) -> Result<Verification> {
    let mut checks = Vec::new();
    let states = [Slot::Producer, Slot::Propagator].map(|slot| read_slot(label, slot, limits, &mut checks));

    let mut algorithms: Vec<DigestAlg> = Vec::new();
    for env in states.iter().filter_map(SlotState::envelope) {
        for alg in env.bindings.iter().filter_map(|b| checkable(b).ok()) {
            if !algorithms.contains(&alg) {
                algorithms.push(alg);
            }
        }
    }
    let digests = if algorithms.is_empty() {
        Vec::new()
    } else {
        content.get(&algorithms)?
    };

    let mut judge = |slot: Slot, state: &SlotState| {
        let signature = judge_signatures(label, slot, state, trust, &mut checks);
        let binding = judge_bindings(slot, state.envelope(), &digests, &mut checks);
        SlotVerification {
            slot,
            signature,
            binding,
        }
    };
    let [producer_state, propagator_state] = &states;
    let producer = judge(Slot::Producer, producer_state);
    let propagator = judge(Slot::Propagator, propagator_state);
    Ok(Verification {
        producer,
        propagator,
        checks,
    })
}

/// [`verify`] for a copy [`aigc_label_core::inspect()`] reported; `None` when the copy holds no
/// readable label.
///
/// Besides [`verify`]'s checks, this one looks at the label text as parsed: a missing, unknown
/// or repeated field yields a [`id::LABEL_FIELDS`] warning and keeps the verdict from
/// [`TrustVerdict::Trusted`], because renaming a protection field makes its signature vanish
/// without touching any signed byte.
///
/// # Errors
/// As [`verify`].
pub fn verify_copy(
    carrier: &dyn Carrier,
    copy: &LabelCopy,
    input: &mut dyn ReadSeek,
    trust: &TrustList,
    limits: &Limits,
) -> Result<Option<Verification>> {
    copy_cached(copy, &mut ContentDigests::new(carrier, input, limits), trust, limits)
}

/// [`verify_copy`] for every copy of one report, in order, reading the file once per digest
/// algorithm however many copies there are.
///
/// # Errors
/// As [`verify`].
pub fn verify_copies(
    carrier: &dyn Carrier,
    copies: &[LabelCopy],
    input: &mut dyn ReadSeek,
    trust: &TrustList,
    limits: &Limits,
) -> Result<Vec<Option<Verification>>> {
    let mut content = ContentDigests::new(carrier, input, limits);
    copies
        .iter()
        .map(|copy| copy_cached(copy, &mut content, trust, limits))
        .collect()
}

fn copy_cached(
    copy: &LabelCopy,
    content: &mut ContentDigests<'_>,
    trust: &TrustList,
    limits: &Limits,
) -> Result<Option<Verification>> {
    let (Some(label), Some(parsed)) = (copy.label(), copy.parsed.as_ref()) else {
        return Ok(None);
    };
    let mut verification = verify_cached(&label, content, trust, limits)?;
    let missing: Vec<&str> = FIELD_NAMES
        .iter()
        .zip(&parsed.fields)
        .filter(|(_, v)| v.is_none())
        .map(|(n, _)| *n)
        .collect();
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("missing {}", missing.join(", ")));
    }
    if !parsed.unknown.is_empty() {
        problems.push(format!("unknown {}", parsed.unknown.join(", ")));
    }
    if !parsed.duplicates.is_empty() {
        problems.push(format!("repeated {}", parsed.duplicates.join(", ")));
    }
    verification.checks.push(if problems.is_empty() {
        Check::pass(id::LABEL_FIELDS, "the label has the seven fields, once each")
    } else {
        Check::warn(
            id::LABEL_FIELDS,
            format!("{}; unsigned fields may have been altered", problems.join("; ")),
        )
    });
    Ok(Some(verification))
}

/// What a protection slot holds.
enum SlotState {
    /// Nothing.
    Empty,
    /// Protection data that is not a SecurityData envelope.
    Foreign,
    /// An envelope that cannot be read (recorded as a failed check).
    Unreadable,
    /// An envelope.
    Envelope(SecurityData),
}

impl SlotState {
    fn envelope(&self) -> Option<&SecurityData> {
        match self {
            SlotState::Envelope(env) => Some(env),
            _ => None,
        }
    }
}

fn read_slot(label: &Label, slot: Slot, limits: &Limits, checks: &mut Vec<Check>) -> SlotState {
    let text = slot.value(label);
    if text.trim().is_empty() {
        return SlotState::Empty;
    }
    if !SecurityData::mentioned_in(text) {
        return SlotState::Foreign;
    }
    match SecurityData::parse(text, limits) {
        Ok(parsed) => {
            if !parsed.deviations.is_empty() {
                checks.push(Check::warn(
                    id::SECURITYDATA_SPELLING,
                    format!("{}: {}", slot.field(), parsed.deviations.join("; ")),
                ));
            }
            if !parsed.unknown.is_empty() {
                checks.push(Check::warn(
                    id::SECURITYDATA_UNKNOWN,
                    format!("{}: {}", slot.field(), parsed.unknown.join("; ")),
                ));
            }
            SlotState::Envelope(parsed.data)
        }
        Err(e) => {
            checks.push(Check::fail(id::SECURITYDATA_SYNTAX, format!("{}: {e}", slot.field())));
            SlotState::Unreadable
        }
    }
}

fn judge_signatures(
    label: &Label,
    slot: Slot,
    state: &SlotState,
    trust: &TrustList,
    checks: &mut Vec<Check>,
) -> SignatureStatus {
    let field = slot.field();
    let env = match state {
        SlotState::Envelope(env) => env,
        SlotState::Unreadable => return SignatureStatus::Invalid("the SecurityData envelope cannot be read".into()),
        SlotState::Empty => {
            checks.push(Check::pass(id::SIGNATURE_ABSENT, format!("{field} is empty")));
            return SignatureStatus::Absent;
        }
        SlotState::Foreign => {
            let why = format!("{field} holds protection data that is not a SecurityData envelope");
            checks.push(Check::warn(id::SIGNATURE_UNSUPPORTED, why.clone()));
            return SignatureStatus::Unsupported(why);
        }
    };
    if env.version != VERSION {
        let why = format!(
            "{field}: SecurityData Version {} (this verifier knows {VERSION})",
            env.version
        );
        checks.push(Check::warn(id::SIGNATURE_UNSUPPORTED, why.clone()));
        return SignatureStatus::Unsupported(why);
    }
    let mut statuses: Vec<SignatureStatus> = env
        .signatures()
        .take(MAX_SIGNATURES)
        .map(|entry| judge_one(label, slot, env, entry, trust))
        .collect();
    let extra = env.signatures().count().saturating_sub(MAX_SIGNATURES);
    if extra > 0 {
        statuses.push(SignatureStatus::Unsupported(format!(
            "{extra} DS entries beyond the first {MAX_SIGNATURES} were not checked"
        )));
    }
    for status in &statuses {
        checks.push(status_check(field, status));
    }
    if statuses.is_empty() {
        checks.push(Check::pass(id::SIGNATURE_ABSENT, format!("{field} holds no DS entry")));
    }
    combine(statuses)
}

fn status_check(field: &str, status: &SignatureStatus) -> Check {
    match status {
        SignatureStatus::Valid { algorithm, key_id } => Check::pass(
            id::SIGNATURE_VALID,
            format!("{field}: {algorithm} signature by trusted key {key_id}"),
        ),
        SignatureStatus::Invalid(why) => Check::fail(id::SIGNATURE_INVALID, format!("{field}: {why}")),
        SignatureStatus::UnknownKey {
            key_id,
            embedded_key_verifies,
        } => Check::warn(
            id::SIGNATURE_UNKNOWN_KEY,
            format!(
                "{field}: key {key_id:?} is not on the trust list{}",
                if *embedded_key_verifies {
                    "; the embedded key verifies the signature"
                } else {
                    ""
                }
            ),
        ),
        SignatureStatus::Unsupported(why) => Check::warn(id::SIGNATURE_UNSUPPORTED, format!("{field}: {why}")),
        SignatureStatus::Absent => Check::pass(id::SIGNATURE_ABSENT, format!("{field}: no signature")),
    }
}

/// Several `DS` entries: any invalid one makes the slot invalid; otherwise one valid suffices.
fn combine(statuses: Vec<SignatureStatus>) -> SignatureStatus {
    let rank = |s: &SignatureStatus| match s {
        SignatureStatus::Invalid(_) => 0,
        SignatureStatus::Valid { .. } => 1,
        SignatureStatus::UnknownKey { .. } => 2,
        SignatureStatus::Unsupported(_) => 3,
        SignatureStatus::Absent => 4,
    };
    statuses.into_iter().min_by_key(rank).unwrap_or(SignatureStatus::Absent)
}

fn judge_one(
    label: &Label,
    slot: Slot,
    env: &SecurityData,
    entry: &SignatureEntry,
    trust: &TrustList,
) -> SignatureStatus {
    let Some(algorithm) = Algorithm::from_alg_id(&entry.alg_id) else {
        return SignatureStatus::Unsupported(format!("unknown AlgID {:?}", entry.alg_id));
    };
    let message = match signed_message(label, slot, env) {
        Ok(m) => m,
        Err(e) => return SignatureStatus::Invalid(format!("the signed message cannot be rebuilt: {e}")),
    };
    let embedded: Vec<Option<PublicKey>> = env
        .public_keys()
        .filter(|k| k.key_id == entry.key_id)
        .map(|k| {
            (Algorithm::from_alg_id(&k.alg_id) == Some(algorithm))
                .then(|| PublicKey::from_bytes(algorithm, &k.value).ok())
                .flatten()
        })
        .collect();
    if embedded.iter().any(Option::is_none) {
        return SignatureStatus::Invalid(format!(
            "the embedded key {:?} is unreadable or of another algorithm",
            entry.key_id
        ));
    }
    let provider = slot.provider(label);
    let mut trusted = trust
        .keys_for(provider)
        .filter(|k| k.key.algorithm() == algorithm)
        .peekable();
    if trusted.peek().is_some() {
        let candidates: Vec<_> = trusted.collect();
        if let Some(named) = candidates.iter().find(|k| k.key_id == entry.key_id) {
            if !named.key.verify(&message, &entry.value) {
                return SignatureStatus::Invalid(format!("does not verify under trusted key {:?}", named.key_id));
            }
            if embedded.iter().flatten().any(|k| *k != named.key) {
                return SignatureStatus::Invalid(format!("the embedded key {:?} is not the trusted key", entry.key_id));
            }
            return SignatureStatus::Valid {
                algorithm,
                key_id: named.key_id.clone(),
            };
        }
        if let Some(other) = candidates.iter().find(|k| k.key.verify(&message, &entry.value)) {
            return SignatureStatus::Invalid(format!(
                "made with trusted key {:?}, but KeyID names {:?}",
                other.key_id, entry.key_id
            ));
        }
    }
    match embedded.iter().flatten().next() {
        Some(key) if key.verify(&message, &entry.value) => SignatureStatus::UnknownKey {
            key_id: entry.key_id.clone(),
            embedded_key_verifies: true,
        },
        Some(_) => SignatureStatus::Invalid(format!("does not verify under the embedded key {:?}", entry.key_id)),
        None => SignatureStatus::UnknownKey {
            key_id: entry.key_id.clone(),
            embedded_key_verifies: false,
        },
    }
}

fn judge_bindings(
    slot: Slot,
    env: Option<&SecurityData>,
    digests: &[(DigestAlg, Vec<u8>)],
    checks: &mut Vec<Check>,
) -> BindingStatus {
    let field = slot.field();
    let bindings = env.map(|e| e.bindings.as_slice()).unwrap_or(&[]);
    if bindings.is_empty() {
        checks.push(Check::pass(id::BINDING_ABSENT, format!("{field}: no content binding")));
        return BindingStatus::Absent;
    }
    let mut status = BindingStatus::Match;
    for binding in bindings {
        let result = match checkable(binding) {
            Err(why) => BindingStatus::Unsupported(why),
            Ok(alg) => match digests.iter().find(|(a, _)| *a == alg) {
                Some((_, d)) if *d == binding.value => BindingStatus::Match,
                _ => BindingStatus::ContentChanged,
            },
        };
        checks.push(match &result {
            BindingStatus::Match => Check::pass(id::BINDING_MATCH, format!("{field}: the content digest matches")),
            BindingStatus::ContentChanged => Check::fail(
                id::BINDING_CHANGED,
                format!("{field}: the content digest does not match; the content changed"),
            ),
            BindingStatus::Unsupported(why) => Check::warn(id::BINDING_UNSUPPORTED, format!("{field}: {why}")),
            BindingStatus::Absent => Check::pass(id::BINDING_ABSENT, format!("{field}: no content binding")),
        });
        status = match (status, result) {
            (BindingStatus::ContentChanged, _) | (_, BindingStatus::ContentChanged) => BindingStatus::ContentChanged,
            (BindingStatus::Unsupported(w), _) | (_, BindingStatus::Unsupported(w)) => BindingStatus::Unsupported(w),
            _ => BindingStatus::Match,
        };
    }
    status
}
