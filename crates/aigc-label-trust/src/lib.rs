//! Label protection for `aigc-label` (TC260-PG-202511A).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod alg;
pub mod envelope;
mod hex;
pub mod keys;
pub mod message;
pub mod sign;

pub use alg::{Algorithm, DigestAlg};
pub use keys::{PublicKey, SigningKey};
pub use message::Slot;
pub use sign::{CallbackSigner, Ed25519Signer, LabelSigner, SlotContent, Sm2Signer, sign_slot};
pub mod binding;
pub mod protect;
pub mod trust;
pub mod verify;

pub use protect::{Protected, ReadWriteSeek, SignSpec, embed_signed, rewrite_signed};
pub use trust::TrustList;
pub use verify::{BindingStatus, SignatureStatus, TrustVerdict, Verification, verify, verify_copy};
pub mod propagate;
pub mod traces;
#[doc(hidden)]
pub mod fuzz;
