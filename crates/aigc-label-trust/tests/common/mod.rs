//! Shared by the integration tests: fixed keys, provider codes, and a one-call verification.
#![allow(dead_code)]

use std::io::Cursor;

use aigc_label_core::inspect::{Options, inspect_with};
use aigc_label_core::{Carrier, Label, Limits};
use aigc_label_trust::{Algorithm, SigningKey, TrustList, TrustVerdict, Verification, verify_copy};

/// A generation service's provider code (service type 1).
pub const PRODUCER: &str = "001191440300708461136T1XGW3";
/// A distribution platform's provider code (service type 2).
pub const PLATFORM: &str = "001191110108551385082Q20000";

/// The producer's SM2 key (fixed, so failures reproduce).
pub fn producer_key() -> SigningKey {
    let secret = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
    SigningKey::parse(&format!("sm2:{secret}")).unwrap()
}

/// The platform's Ed25519 key.
pub fn platform_key() -> SigningKey {
    SigningKey::parse("ed25519:9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap()
}

/// Trusts the producer's key for [`PRODUCER`] and the platform's for [`PLATFORM`].
pub fn trust() -> TrustList {
    let mut t = TrustList::new();
    t.add(PRODUCER, producer_key().public_key());
    t.add(PLATFORM, platform_key().public_key());
    t
}

/// A label by [`PRODUCER`], already carrying [`PLATFORM`]'s propagation fields.
pub fn propagated_label() -> Label {
    Label::new(PRODUCER, "img-0001").propagated(PLATFORM, "up-77")
}

/// Inspects `bytes` and verifies its single label copy; `None` when the file does not read,
/// or holds no single readable label.
pub fn verification(carrier: &dyn Carrier, bytes: &[u8], trust: &TrustList) -> Option<Verification> {
    let report = inspect_with(carrier, &mut Cursor::new(bytes), &Options::default()).ok()?;
    let [copy] = report.copies.as_slice() else { return None };
    verify_copy(carrier, copy, &mut Cursor::new(bytes), trust, &Limits::default()).ok()?
}

/// The verdict, or `None` as for [`verification`].
pub fn verdict(carrier: &dyn Carrier, bytes: &[u8], trust: &TrustList) -> Option<TrustVerdict> {
    verification(carrier, bytes, trust).map(|v| v.verdict())
}

/// Both algorithms.
pub const ALGORITHMS: [Algorithm; 2] = [Algorithm::Sm2Sm3, Algorithm::Ed25519];
