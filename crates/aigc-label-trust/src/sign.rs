//! Signing: the [`LabelSigner`] abstraction and [`sign_slot`], which writes a signed SecurityData
//! envelope into `ReservedCode1` or `ReservedCode2`.
//!
//! A key may live in memory ([`SigningKey`]), in a file ([`SigningKey::from_file`]), behind any
//! RustCrypto [`signature::Signer`] ([`Sm2Signer`], [`Ed25519Signer`]: an HSM or KMS crate that
//! implements the trait plugs in here), or behind a plain callback ([`CallbackSigner`]) for
//! services reached some other way. Following RustCrypto's `signature` crate, the fallible
//! `try_sign` is the API: an HSM can fail, and a failure must not panic.

use std::fmt;

use aigc_label_core::{Error, Label, Result};

use crate::alg::Algorithm;
use crate::envelope::{Binding, KeyEntry, PubSd, SecurityData, SignatureEntry};
use crate::keys::{PublicKey, SigningKey, signing_error};
use crate::message::{Slot, signed_message};

/// Something that signs label messages.
pub trait LabelSigner {
    /// The signature algorithm.
    fn algorithm(&self) -> Algorithm;

    /// The `KeyID` written next to the signature; a verifier looks the key up by it.
    fn key_id(&self) -> String;

    /// The public key, when the signer can tell it: embedded in the envelope on request, and
    /// used to check each signature before it is written.
    fn public_key(&self) -> Option<PublicKey> {
        None
    }

    /// Signs `message`, returning the signature as the envelope carries it: ASN.1 DER for
    /// SM3withSM2 (default user id `1234567812345678`), 64 raw bytes for Ed25519.
    ///
    /// # Errors
    /// Whatever keeps the key from signing (an HSM refusing, a network error), as
    /// [`aigc_label_core::Error::Signing`].
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>>;
}

impl LabelSigner for SigningKey {
    fn algorithm(&self) -> Algorithm {
        SigningKey::algorithm(self)
    }

    fn key_id(&self) -> String {
        SigningKey::key_id(self).to_string()
    }

    fn public_key(&self) -> Option<PublicKey> {
        Some(SigningKey::public_key(self))
    }

    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        self.sign_bytes(message)
    }
}

impl<T: LabelSigner + ?Sized> LabelSigner for &T {
    fn algorithm(&self) -> Algorithm {
        (**self).algorithm()
    }

    fn key_id(&self) -> String {
        (**self).key_id()
    }

    fn public_key(&self) -> Option<PublicKey> {
        (**self).public_key()
    }

    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        (**self).try_sign(message)
    }
}

/// Any RustCrypto signer of SM2 signatures (an `sm2::dsa::SigningKey`, or an HSM crate's type
/// implementing [`signature::Signer`]) as a [`LabelSigner`]; signatures are DER-encoded.
pub struct Sm2Signer<S> {
    signer: S,
    key_id: String,
    public_key: Option<PublicKey>,
}

impl<S: signature::Signer<sm2::dsa::Signature>> Sm2Signer<S> {
    /// Wraps `signer`, which must use the default user id `1234567812345678`, under `key_id`.
    pub fn new(signer: S, key_id: impl Into<String>, public_key: Option<PublicKey>) -> Self {
        Sm2Signer {
            signer,
            key_id: key_id.into(),
            public_key,
        }
    }
}

impl<S: signature::Signer<sm2::dsa::Signature>> LabelSigner for Sm2Signer<S> {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Sm2Sm3
    }

    fn key_id(&self) -> String {
        self.key_id.clone()
    }

    fn public_key(&self) -> Option<PublicKey> {
        self.public_key.clone()
    }

    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let sig = self.signer.try_sign(message).map_err(signing_error)?;
        Ok(sig.to_der().to_vec())
    }
}

/// Any RustCrypto signer of Ed25519 signatures (an `ed25519_dalek::SigningKey`, or an HSM
/// crate's type implementing [`signature::Signer`]) as a [`LabelSigner`].
pub struct Ed25519Signer<S> {
    signer: S,
    key_id: String,
    public_key: Option<PublicKey>,
}

impl<S: signature::Signer<ed25519_dalek::Signature>> Ed25519Signer<S> {
    /// Wraps `signer` under `key_id`.
    pub fn new(signer: S, key_id: impl Into<String>, public_key: Option<PublicKey>) -> Self {
        Ed25519Signer {
            signer,
            key_id: key_id.into(),
            public_key,
        }
    }
}

impl<S: signature::Signer<ed25519_dalek::Signature>> LabelSigner for Ed25519Signer<S> {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Ed25519
    }

    fn key_id(&self) -> String {
        self.key_id.clone()
    }

    fn public_key(&self) -> Option<PublicKey> {
        self.public_key.clone()
    }

    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let sig = self.signer.try_sign(message).map_err(signing_error)?;
        Ok(sig.to_bytes().to_vec())
    }
}

/// The error a [`CallbackSigner`]'s callback returns.
pub type CallbackError = Box<dyn std::error::Error + Send + Sync>;

/// A signer whose key sits behind a callback: an HSM or KMS reached through the caller's own
/// client. The callback receives the message and returns the encoded signature.
///
/// ```
/// use aigc_label_trust::{Algorithm, CallbackSigner, LabelSigner, SigningKey};
/// let key = SigningKey::generate(Algorithm::Sm2Sm3)?;
/// let public = key.public_key();
/// let remote = CallbackSigner::new(Algorithm::Sm2Sm3, "kms-key-7", Some(public), move |msg: &[u8]| {
///     key.try_sign(msg).map_err(|e| e.into())
/// });
/// assert_eq!(remote.key_id(), "kms-key-7");
/// # Ok::<(), aigc_label_core::Error>(())
/// ```
pub struct CallbackSigner<F> {
    algorithm: Algorithm,
    key_id: String,
    public_key: Option<PublicKey>,
    callback: F,
}

impl<F> CallbackSigner<F>
where
    F: Fn(&[u8]) -> std::result::Result<Vec<u8>, CallbackError>,
{
    /// A signer for `algorithm` under `key_id` that calls `callback`.
    pub fn new(algorithm: Algorithm, key_id: impl Into<String>, public_key: Option<PublicKey>, callback: F) -> Self {
        CallbackSigner {
            algorithm,
            key_id: key_id.into(),
            public_key,
            callback,
        }
    }
}

impl<F> fmt::Debug for CallbackSigner<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CallbackSigner({}, key id {})", self.algorithm, self.key_id)
    }
}

impl<F> LabelSigner for CallbackSigner<F>
where
    F: Fn(&[u8]) -> std::result::Result<Vec<u8>, CallbackError>,
{
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn key_id(&self) -> String {
        self.key_id.clone()
    }

    fn public_key(&self) -> Option<PublicKey> {
        self.public_key.clone()
    }

    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        (self.callback)(message).map_err(signing_error)
    }
}

/// What to put into a slot's envelope besides the signature.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotContent {
    /// Content bindings (a non-empty list switches the message to the bound form, see
    /// [`crate::message`]).
    pub bindings: Vec<Binding>,
    /// Embed the signer's public key as a `PubKey` entry, so verifiers without a trust list can
    /// at least check the signature's mathematics.
    pub embed_public_key: bool,
}

/// Signs `slot` of `label` with `signer` and stores the envelope there.
///
/// The envelope holds one `DS` entry (and, on request, a `PubKey` entry) plus `content`'s
/// bindings. When the signer knows its public key, the signature is checked before it is
/// stored, so a misconfigured HSM (wrong key, raw instead of DER) fails here, not at every
/// verifier. Sign `ReservedCode1` before `ReservedCode2`: the propagator's message includes the
/// producer's protection data.
///
/// ```
/// use aigc_label_core::{check, Label};
/// use aigc_label_trust::{sign_slot, Algorithm, Slot, SlotContent, SigningKey};
/// let key = SigningKey::generate(Algorithm::Sm2Sm3)?;
/// let mut label = Label::new("001191440300708461136T1XGW3", "img-1");
/// sign_slot(&mut label, Slot::Producer, &key, SlotContent::default())?;
/// assert!(label.reserved_code1.starts_with(r#"{"SecurityData":{"Type":"TC260PG","Version":1,"PubSD":[{"Type":"DS""#));
/// assert!(check::validate_label(&label, check::Strictness::Strict).iter().all(|c| c.is_ok()));
/// # Ok::<(), aigc_label_core::Error>(())
/// ```
///
/// # Errors
/// The signer's errors; [`Error::Parameter`] when the key id holds characters a label value may
/// not, or when the signature does not verify under the signer's own public key.
pub fn sign_slot(
    label: &mut Label,
    slot: Slot,
    signer: &dyn LabelSigner,
    content: SlotContent,
) -> Result<SecurityData> {
    let algorithm = signer.algorithm();
    let key_id = signer.key_id();
    let public_key = signer.public_key();
    if public_key.as_ref().is_some_and(|pk| pk.algorithm() != algorithm) {
        return Err(Error::parameter(
            "signer",
            "the signer's public key is of another algorithm",
        ));
    }
    let mut envelope = SecurityData {
        bindings: content.bindings,
        ..SecurityData::default()
    };
    envelope.pub_sd.push(PubSd::Signature(SignatureEntry {
        alg_id: algorithm.alg_id().into(),
        key_id: key_id.clone(),
        value: Vec::new(),
    }));
    if let (true, Some(pk)) = (content.embed_public_key, &public_key) {
        envelope.pub_sd.push(PubSd::PublicKey(KeyEntry {
            alg_id: algorithm.alg_id().into(),
            key_id,
            value: pk.to_bytes(),
        }));
    }
    // Checks the charset before asking an HSM for a signature.
    envelope.to_json()?;
    let message = signed_message(label, slot, &envelope)?;
    let signature = signer.try_sign(&message)?;
    if public_key.as_ref().is_some_and(|pk| !pk.verify(&message, &signature)) {
        return Err(Error::parameter(
            "signer",
            "the signature does not verify under the signer's public key (wrong key, or not the expected encoding)",
        ));
    }
    if let Some(PubSd::Signature(entry)) = envelope.pub_sd.first_mut() {
        entry.value = signature;
    }
    slot.set(label, envelope.to_json()?);
    Ok(envelope)
}
