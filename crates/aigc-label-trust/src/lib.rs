//! Label protection for `aigc-label`: TC260-PG-202511A SecurityData in `ReservedCode1` /
//! `ReservedCode2`, SM3withSM2 and Ed25519 signatures, content binding, verification against a
//! trust list, the distribution platform's propagation step, and traces of generation.
//!
//! Key types and functions:
//! - [`envelope::SecurityData`]: the envelope; writes the guide's compact form, reads variant
//!   spellings leniently within [`aigc_label_core::Limits`].
//! - [`LabelSigner`]: anything that signs, a key in memory or a file ([`SigningKey`]), a
//!   RustCrypto signer ([`Sm2Signer`], [`Ed25519Signer`]) or an HSM/KMS callback
//!   ([`CallbackSigner`]); [`sign_slot`] signs one slot of a label.
//! - [`embed_signed`] / [`rewrite_signed`]: write a signed label bound to the file's content
//!   (see [`binding`] for which bytes are covered per format).
//! - [`verify()`] / [`verify_copy`] / [`verify_copies`]: signature and binding results as
//!   [`aigc_label_core::check::Check`]s with stable ids ([`verify::id`]) and a [`TrustVerdict`].
//! - [`TrustList`]: accepted public keys per provider code.
//! - [`propagate::decide`] and [`propagate::propagate`]: the class decision (is / possibly /
//!   suspected / nothing) and the platform's write.
//! - [`traces::detect`]: C2PA manifests, IPTC `DigitalSourceType`, generator text chunks and
//!   software names, each with where it was found.
//!
//! One design decision: a signature covers field *values* rebuilt into canonical text
//! ([`message`]), never the bytes as found in the file. The guide's Appendix A.1 message is
//! defined that way, and it lets the same signature verify whatever escaping, spacing or XMP
//! form a carrier or a later tool used, while every value that matters is still signed. Bytes
//! outside the label are covered by the content binding instead, which is why the two are
//! separate.
//!
//! ```
//! use std::io::Cursor;
//! use aigc_label_core::{Label, inspect::{inspect_with, Options}};
//! use aigc_label_image::Png;
//! use aigc_label_trust::{embed_signed, verify_copy, Algorithm, SignSpec, SigningKey, TrustList, TrustVerdict};
//!
//! # let png = std::fs::read(aigc_label_testutil::fixture("png/rgb.png")).unwrap();
//! let producer = "001191440300708461136T1XGW3";
//! let key = SigningKey::generate(Algorithm::Sm2Sm3)?;
//! let mut signed = Cursor::new(Vec::new());
//! embed_signed(&Png, &mut Cursor::new(&png), &mut signed, &Label::new(producer, "img-1"),
//!     &[SignSpec::producer(&key)], &Options::default())?;
//!
//! // A platform, on upload:
//! let mut trust = TrustList::new();
//! trust.add(producer, key.public_key());
//! let file = signed.into_inner();
//! let report = inspect_with(&Png, &mut Cursor::new(&file), &Options::default())?;
//! let verification = verify_copy(&Png, &report.copies[0], &mut Cursor::new(&file), &trust, &Default::default())?
//!     .expect("a readable label");
//! assert_eq!(verification.verdict(), TrustVerdict::Trusted);
//! assert!(verification.is_bound());
//! # Ok::<(), aigc_label_core::Error>(())
//! ```
// A panic on uploaded bytes is a crash an uploader can trigger: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod alg;
pub mod binding;
pub mod envelope;
#[doc(hidden)]
pub mod fuzz;
mod hex;
pub mod keys;
pub mod message;
pub mod propagate;
pub mod protect;
pub mod sign;
/// Traces of generation; each carrier names its scanner ([`aigc_label_core::Carrier::traces`]).
pub use aigc_label_core::traces;
pub mod trust;
pub mod verify;

pub use alg::{Algorithm, DigestAlg};
pub use keys::{PublicKey, SigningKey};
pub use message::Slot;
pub use protect::{Protected, ReadWriteSeek, SignSpec, embed_signed, rewrite_signed};
pub use sign::{CallbackSigner, Ed25519Signer, LabelSigner, SlotContent, Sm2Signer, sign_slot};
pub use trust::TrustList;
pub use verify::{BindingStatus, SignatureStatus, TrustVerdict, Verification, verify, verify_copies, verify_copy};
