//! The bytes a signature covers.
//!
//! TC260-PG-202511A Appendix A.1 signs the ASCII text of the label's first three pairs,
//! comma-joined, without braces: `"Label":"1","ContentProducer":"...","ProduceID":"..."`. The text
//! is the canonical compact JSON the core writes ([`json::to_json`]), so a signer and a verifier
//! that start from the same field values build the same bytes, whatever escapes or spacing the
//! label had in the file.
//!
//! The guide says nothing more, so the rest is \[ours\], chosen so that every byte a verifier
//! relies on is signed:
//!
//! | slot | envelope has `Bindings` | message |
//! |---|---|---|
//! | `ReservedCode1` (producer) | no | pairs 1-3: the guide's form, verifiable by any A.1 verifier |
//! | `ReservedCode1` (producer) | yes | pairs 1-4, `ReservedCode1` holding the envelope with every `DS` value emptied |
//! | `ReservedCode2` (propagator) | no | pairs 1-6 |
//! | `ReservedCode2` (propagator) | yes | pairs 1-7, `ReservedCode2` holding the envelope with every `DS` value emptied |
//!
//! A bound signature thus covers the digest, the key ids, the embedded keys and the envelope's
//! other members; without that, anyone could recompute the digest over other content. A
//! propagator's signature covers the producer's pairs and protection data, so it cannot be moved
//! to another label, and it leaves the producer's signature valid because the producer's message
//! does not include the propagation pairs.

use aigc_label_core::json::{self, Shape};
use aigc_label_core::{Label, Result};

use crate::envelope::SecurityData;

/// Which protection field a signature lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    /// `ReservedCode1`: the generation service's (producer's) protection data.
    Producer,
    /// `ReservedCode2`: the distribution platform's (propagator's) protection data.
    Propagator,
}

impl Slot {
    /// `ReservedCode1` or `ReservedCode2`.
    pub fn field(self) -> &'static str {
        match self {
            Slot::Producer => "ReservedCode1",
            Slot::Propagator => "ReservedCode2",
        }
    }

    /// The slot's value in `label`.
    pub fn value(self, label: &Label) -> &str {
        match self {
            Slot::Producer => &label.reserved_code1,
            Slot::Propagator => &label.reserved_code2,
        }
    }

    /// Sets the slot's value in `label`.
    pub fn set(self, label: &mut Label, value: String) {
        match self {
            Slot::Producer => label.reserved_code1 = value,
            Slot::Propagator => label.reserved_code2 = value,
        }
    }

    /// The provider whose key signs this slot: `ContentProducer` or `ContentPropagator`.
    pub fn provider(self, label: &Label) -> &str {
        match self {
            Slot::Producer => &label.content_producer,
            Slot::Propagator => &label.content_propagator,
        }
    }
}

/// The message a signature in `slot` of `label` covers, given the slot's envelope (see the
/// module documentation for the table).
///
/// ```
/// use aigc_label_core::Label;
/// use aigc_label_trust::{envelope::SecurityData, message::{signed_message, Slot}};
/// let label = Label::new("001191440300708461136T1XGW3", "img-1");
/// let msg = signed_message(&label, Slot::Producer, &SecurityData::default())?;
/// assert_eq!(msg, br#""Label":"1","ContentProducer":"001191440300708461136T1XGW3","ProduceID":"img-1""#);
/// # Ok::<(), aigc_label_core::Error>(())
/// ```
///
/// # Errors
/// [`aigc_label_core::Error::Parameter`] when the envelope holds characters the label's charset
/// forbids (see [`SecurityData::to_json`]), so it cannot be part of a label.
pub fn signed_message(label: &Label, slot: Slot, envelope: &SecurityData) -> Result<Vec<u8>> {
    let bound = !envelope.bindings.is_empty();
    let mut canonical = label.clone();
    if bound {
        slot.set(&mut canonical, envelope.without_signature_values().to_json()?);
    }
    let end_before = match (slot, bound) {
        (Slot::Producer, false) => Some("ReservedCode1"),
        (Slot::Producer, true) => Some("ContentPropagator"),
        (Slot::Propagator, false) => Some("ReservedCode2"),
        (Slot::Propagator, true) => None,
    };
    Ok(pairs_before(&json::to_json(&canonical, Shape::Bare), end_before).into_bytes())
}

/// The pairs of a canonical bare label text before the pair named `field` (all pairs when
/// `None`), without braces. A quote inside a value is escaped, so `,"Name":` only occurs at a
/// pair boundary.
fn pairs_before(text: &str, field: Option<&str>) -> String {
    let inner = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')).unwrap_or(text);
    match field {
        Some(name) => {
            let marker = format!(",\"{name}\":");
            inner.find(&marker).map_or(inner, |at| &inner[..at]).to_string()
        }
        None => inner.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{Binding, PubSd, SignatureEntry};

    fn label() -> Label {
        let mut l = Label::new("001191440300708461136T1XGW3", "id\"1").propagated("001191110108551385082Q20000", "p-9");
        l.reserved_code1 = "r1".into();
        l
    }

    #[test]
    fn unbound_messages_are_pair_prefixes() {
        let l = label();
        let m = signed_message(&l, Slot::Producer, &SecurityData::default()).unwrap();
        assert_eq!(
            String::from_utf8(m).unwrap(),
            r#""Label":"1","ContentProducer":"001191440300708461136T1XGW3","ProduceID":"id\"1""#
        );
        let m = signed_message(&l, Slot::Propagator, &SecurityData::default()).unwrap();
        assert!(String::from_utf8(m).unwrap().ends_with(
            r#""ReservedCode1":"r1","ContentPropagator":"001191110108551385082Q20000","PropagateID":"p-9""#
        ));
    }

    #[test]
    fn bound_messages_cover_the_envelope_without_signature_values() {
        let l = label();
        let mut sd = SecurityData {
            bindings: vec![Binding {
                kind: "Hash".into(),
                alg_id: "SM3".into(),
                scope: "s".into(),
                value: vec![1],
            }],
            ..SecurityData::default()
        };
        sd.pub_sd.push(PubSd::Signature(SignatureEntry {
            alg_id: "a".into(),
            key_id: "k".into(),
            value: vec![9; 8],
        }));
        let m = String::from_utf8(signed_message(&l, Slot::Producer, &sd).unwrap()).unwrap();
        assert!(m.ends_with(r#""ReservedCode1":"{\"SecurityData\":{\"Type\":\"TC260PG\",\"Version\":1,\"PubSD\":[{\"Type\":\"DS\",\"AlgID\":\"a\",\"KeyID\":\"k\",\"Value\":\"\"}],\"Bindings\":[{\"Type\":\"Hash\",\"AlgID\":\"SM3\",\"Scope\":\"s\",\"Value\":\"01\"}]}}""#), "{m}");
        // The signature value itself is not part of the message.
        let mut other = sd.clone();
        other.pub_sd[0] = PubSd::Signature(SignatureEntry {
            alg_id: "a".into(),
            key_id: "k".into(),
            value: vec![7; 70],
        });
        assert_eq!(
            signed_message(&l, Slot::Producer, &other).unwrap().as_slice(),
            m.as_bytes()
        );
        let m2 = String::from_utf8(signed_message(&l, Slot::Propagator, &sd).unwrap()).unwrap();
        assert!(m2.contains("\"PropagateID\":\"p-9\",\"ReservedCode2\":\"{\\\"SecurityData"));
    }
}
