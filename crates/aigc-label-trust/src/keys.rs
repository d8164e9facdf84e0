//! Keys: generation, public keys, and the key files a future `aigc-label keygen --alg sm2|ed25519`
//! writes.
//!
//! Two text forms are read and written for each kind of key:
//! - PEM: PKCS#8 `PRIVATE KEY` and SubjectPublicKeyInfo `PUBLIC KEY` (RFC 5208, RFC 5280), as
//!   OpenSSL and the `cryptography` Python package read them. SM2 keys carry the id-ecPublicKey
//!   algorithm with the SM2 curve OID `1.2.156.10197.1.301`; Ed25519 keys carry `1.3.101.112`.
//! - One line `ALG:HEX` (\[ours\]), handy in configuration and trust lists: `sm2:` followed by the
//!   32-byte private scalar or the 65-byte uncompressed SEC1 point, `ed25519:` followed by the
//!   32-byte seed or the 32-byte public key.
//!
//! A key id ([`PublicKey::key_id`]) is, unless the caller names keys otherwise, the first 8 bytes
//! of the public key's digest (SM3 of the SEC1 point for SM2, SHA-256 of the 32 bytes for
//! Ed25519) in hex: short, stable, and derivable by anyone holding the key (\[ours\]).

use std::fmt;

use aigc_label_core::{Error, Result};
use signature::Verifier;
use sm2::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use zeroize::Zeroize;

use crate::alg::Algorithm;
use crate::hex;

/// The SM2 user id (distinguishing identifier) the guide's signatures use: GM/T 0009's default.
pub const SM2_DEFAULT_USER_ID: &str = "1234567812345678";

/// A public key that verifies label signatures.
#[derive(Clone)]
pub struct PublicKey(PublicInner);

#[derive(Clone)]
enum PublicInner {
    Sm2(Box<sm2::dsa::VerifyingKey>),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PublicKey {
    /// The algorithm of the signatures this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        match &self.0 {
            PublicInner::Sm2(_) => Algorithm::Sm2Sm3,
            PublicInner::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// A key from its bytes: a SEC1 point (compressed or not) for SM2, 32 bytes for Ed25519.
    ///
    /// # Errors
    /// [`Error::Parameter`] when the bytes are not a valid key.
    pub fn from_bytes(algorithm: Algorithm, bytes: &[u8]) -> Result<Self> {
        match algorithm {
            Algorithm::Sm2Sm3 => sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DEFAULT_USER_ID, bytes)
                .map(|k| PublicKey(PublicInner::Sm2(Box::new(k))))
                .map_err(|_| bad_key("not an SM2 public key (SEC1 point)")),
            Algorithm::Ed25519 => <[u8; 32]>::try_from(bytes)
                .ok()
                .and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok())
                .map(|k| PublicKey(PublicInner::Ed25519(k)))
                .ok_or_else(|| bad_key("not an Ed25519 public key (32 bytes)")),
        }
    }

    /// The key's bytes: the 65-byte uncompressed SEC1 point for SM2, 32 bytes for Ed25519.
    pub fn to_bytes(&self) -> Vec<u8> {
        match &self.0 {
            PublicInner::Sm2(k) => k.to_sec1_bytes().into_vec(),
            PublicInner::Ed25519(k) => k.to_bytes().to_vec(),
        }
    }

    /// The default key id: 16 hex digits of the key's digest (see the module documentation).
    pub fn key_id(&self) -> String {
        let digest = self.algorithm().digest().digest(&self.to_bytes());
        hex::encode(digest.get(..8).unwrap_or(&digest))
    }

    /// True when `signature` (DER for SM2, 64 raw bytes for Ed25519) signs `message` under
    /// this key. Ed25519 uses strict verification (no malleable or small-order encodings).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.0 {
            PublicInner::Sm2(k) => {
                sm2::dsa::Signature::from_der(signature).is_ok_and(|s| k.verify(message, &s).is_ok())
            }
            PublicInner::Ed25519(k) => {
                ed25519_dalek::Signature::from_slice(signature).is_ok_and(|s| k.verify_strict(message, &s).is_ok())
            }
        }
    }

    /// SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
    ///
    /// # Errors
    /// [`Error::Parameter`] if the encoder fails (it does not for valid keys).
    pub fn to_pem(&self) -> Result<String> {
        match &self.0 {
            PublicInner::Sm2(k) => k.to_public_key_pem(LineEnding::LF),
            PublicInner::Ed25519(k) => k.to_public_key_pem(LineEnding::LF),
        }
        .map_err(|e| Error::parameter("public key", format!("cannot encode: {e}")))
    }

    /// `sm2:HEX` or `ed25519:HEX`.
    pub fn to_text(&self) -> String {
        format!("{}:{}", self.algorithm().name(), hex::encode(&self.to_bytes()))
    }

    /// Reads a public key in either text form: SubjectPublicKeyInfo PEM, or `ALG:HEX`.
    ///
    /// # Errors
    /// [`Error::Parameter`] when the text is neither, or holds no valid key.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            if let Ok(k) = sm2::PublicKey::from_public_key_pem(text) {
                return sm2::dsa::VerifyingKey::new(SM2_DEFAULT_USER_ID, k)
                    .map(|k| PublicKey(PublicInner::Sm2(Box::new(k))))
                    .map_err(|_| bad_key("not an SM2 signing key"));
            }
            return ed25519_dalek::VerifyingKey::from_public_key_pem(text)
                .map(|k| PublicKey(PublicInner::Ed25519(k)))
                .map_err(|_| bad_key("PEM holds neither an SM2 nor an Ed25519 public key"));
        }
        let (algorithm, bytes) = split_text(text)?;
        PublicKey::from_bytes(algorithm, &bytes)
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.algorithm() == other.algorithm() && self.to_bytes() == other.to_bytes()
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_text())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// A private key held in memory, which signs labels (see [`crate::LabelSigner`]).
///
/// ```
/// use aigc_label_trust::{Algorithm, SigningKey, LabelSigner};
/// let key = SigningKey::generate(Algorithm::Ed25519)?;
/// let pem = key.to_pem()?;
/// let again = SigningKey::parse(&pem)?;
/// assert_eq!(again.public_key(), key.public_key());
/// let sig = key.try_sign(b"message")?;
/// assert!(key.public_key().verify(b"message", &sig));
/// # Ok::<(), aigc_label_core::Error>(())
/// ```
#[derive(Clone)]
pub struct SigningKey {
    inner: SecretInner,
    key_id: String,
}

#[derive(Clone)]
enum SecretInner {
    Sm2(Box<sm2::dsa::SigningKey>),
    Ed25519(Box<ed25519_dalek::SigningKey>),
}

impl SigningKey {
    /// A new random key from the operating system's generator.
    ///
    /// # Errors
    /// [`Error::Io`] when the generator is unavailable.
    pub fn generate(algorithm: Algorithm) -> Result<Self> {
        // A random 32-byte string is a valid SM2 scalar unless it is zero or at least the group
        // order, which happens with probability about 2^-32; a few tries make failure
        // astronomically unlikely, and the loop stays bounded.
        for _ in 0..8 {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
            let key = SigningKey::from_secret_bytes(algorithm, &seed);
            seed.zeroize();
            if let Ok(key) = key {
                return Ok(key);
            }
        }
        Err(Error::Io(std::io::Error::other(
            "the random generator keeps yielding invalid SM2 scalars",
        )))
    }

    /// A key from its secret bytes: the 32-byte scalar for SM2, the 32-byte seed for Ed25519.
    ///
    /// # Errors
    /// [`Error::Parameter`] when the bytes are not a valid secret key.
    pub fn from_secret_bytes(algorithm: Algorithm, bytes: &[u8]) -> Result<Self> {
        let inner = match algorithm {
            Algorithm::Sm2Sm3 => sm2::dsa::SigningKey::from_slice(SM2_DEFAULT_USER_ID, bytes)
                .map(|k| SecretInner::Sm2(Box::new(k)))
                .map_err(|_| bad_key("not an SM2 private key (32-byte scalar below the group order)"))?,
            Algorithm::Ed25519 => {
                let seed = <[u8; 32]>::try_from(bytes).map_err(|_| bad_key("an Ed25519 seed is 32 bytes"))?;
                SecretInner::Ed25519(Box::new(ed25519_dalek::SigningKey::from_bytes(&seed)))
            }
        };
        Ok(SigningKey::with_default_id(inner))
    }

    fn with_default_id(inner: SecretInner) -> Self {
        let mut key = SigningKey {
            inner,
            key_id: String::new(),
        };
        key.key_id = key.public_key().key_id();
        key
    }

    /// This key under another key id (the default is [`PublicKey::key_id`]).
    pub fn with_key_id(mut self, key_id: impl Into<String>) -> Self {
        self.key_id = key_id.into();
        self
    }

    /// The key id written into signatures.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        match &self.inner {
            SecretInner::Sm2(_) => Algorithm::Sm2Sm3,
            SecretInner::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        match &self.inner {
            SecretInner::Sm2(k) => PublicKey(PublicInner::Sm2(Box::new(k.verifying_key().clone()))),
            SecretInner::Ed25519(k) => PublicKey(PublicInner::Ed25519(k.verifying_key())),
        }
    }

    /// The secret bytes (see [`SigningKey::from_secret_bytes`]). Handle with care.
    pub fn secret_bytes(&self) -> Vec<u8> {
        match &self.inner {
            SecretInner::Sm2(k) => k.to_bytes().to_vec(),
            SecretInner::Ed25519(k) => k.to_bytes().to_vec(),
        }
    }

    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    ///
    /// # Errors
    /// [`Error::Parameter`] if the encoder fails (it does not for valid keys).
    pub fn to_pem(&self) -> Result<String> {
        let pem = match &self.inner {
            SecretInner::Sm2(k) => {
                let secret = sm2::SecretKey::from_bytes(&k.to_bytes())
                    .map_err(|_| Error::parameter("private key", "cannot encode the SM2 key"))?;
                secret.to_pkcs8_pem(LineEnding::LF)
            }
            // PKCS#8 v1, without the optional public key: OpenSSL 3.0 and Python's
            // `cryptography` reject the v2 form `ed25519-dalek` writes by default.
            SecretInner::Ed25519(k) => ed25519_dalek::pkcs8::KeypairBytes {
                secret_key: k.to_bytes(),
                public_key: None,
            }
            .to_pkcs8_pem(LineEnding::LF),
        }
        .map_err(|e| Error::parameter("private key", format!("cannot encode: {e}")))?;
        Ok(pem.as_str().to_string())
    }

    /// `sm2:HEX` or `ed25519:HEX` of the secret bytes.
    pub fn to_text(&self) -> String {
        let mut secret = self.secret_bytes();
        let text = format!("{}:{}", self.algorithm().name(), hex::encode(&secret));
        secret.zeroize();
        text
    }

    /// The key file text `aigc-label keygen` writes: a `Key-ID: ID` line when the key id is not
    /// the default, as RFC 7468 explanatory text that PEM readers (OpenSSL, `cryptography`)
    /// skip, then the PKCS#8 PEM block.
    ///
    /// # Errors
    /// As [`SigningKey::to_pem`].
    pub fn to_key_file(&self) -> Result<String> {
        let pem = self.to_pem()?;
        if self.key_id == self.public_key().key_id() {
            return Ok(pem);
        }
        let mut text = format!("{KEY_ID_HEADER} {}\n", self.key_id);
        text.push_str(&pem);
        let mut pem = pem;
        pem.zeroize();
        Ok(text)
    }

    /// Reads a private key in either text form: PKCS#8 PEM (after optional explanatory text,
    /// which may name the key id in one `Key-ID: ID` line, see [`SigningKey::to_key_file`]), or
    /// `ALG:HEX`.
    ///
    /// # Errors
    /// [`Error::Parameter`] when the text is neither, holds no valid key, or names several or
    /// unusable key ids.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if let Some(begin) = text.find("-----BEGIN").filter(|&at| at > 0) {
            let (explanatory, pem) = text.split_at(begin);
            let key = SigningKey::parse(pem)?;
            let mut ids = explanatory.lines().filter_map(|line| {
                let (name, value) = line.trim().split_at_checked(KEY_ID_HEADER.len())?;
                name.eq_ignore_ascii_case(KEY_ID_HEADER).then(|| value.trim())
            });
            return match (ids.next(), ids.next()) {
                (Some(_), Some(_)) => Err(bad_key("several Key-ID lines")),
                (Some(id), None) => {
                    check_key_id(id)?;
                    Ok(key.with_key_id(id))
                }
                (None, _) => Ok(key),
            };
        }
        if text.starts_with("-----BEGIN") {
            if let Ok(secret) = sm2::SecretKey::from_pkcs8_pem(text) {
                return SigningKey::from_secret_bytes(Algorithm::Sm2Sm3, &secret.to_bytes());
            }
            return ed25519_dalek::SigningKey::from_pkcs8_pem(text)
                .map(|k| SigningKey::with_default_id(SecretInner::Ed25519(Box::new(k))))
                .map_err(|_| bad_key("PEM holds neither an SM2 nor an Ed25519 PKCS#8 private key"));
        }
        let (algorithm, mut bytes) = split_text(text)?;
        let key = SigningKey::from_secret_bytes(algorithm, &bytes);
        bytes.zeroize();
        key
    }

    /// Reads a key file in either text form.
    ///
    /// # Errors
    /// I/O errors; as [`SigningKey::parse`].
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let mut text = std::fs::read_to_string(path)?;
        let key = SigningKey::parse(&text);
        text.zeroize();
        key
    }

    /// Signs `message`: a DER signature for SM2 (deterministic, RFC 6979 nonces), 64 bytes for
    /// Ed25519.
    pub(crate) fn sign_bytes(&self, message: &[u8]) -> Result<Vec<u8>> {
        use signature::Signer;
        match &self.inner {
            SecretInner::Sm2(k) => {
                let sig: sm2::dsa::Signature = k.try_sign(message).map_err(signing_error)?;
                Ok(sig.to_der().to_vec())
            }
            SecretInner::Ed25519(k) => {
                let sig: ed25519_dalek::Signature = k.try_sign(message).map_err(signing_error)?;
                Ok(sig.to_bytes().to_vec())
            }
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SigningKey({}, key id {}, secret hidden)",
            self.algorithm(),
            self.key_id
        )
    }
}

pub(crate) fn signing_error(e: impl fmt::Display) -> Error {
    Error::Signing(e.to_string().into())
}

/// The explanatory line of a key file that names the key id.
const KEY_ID_HEADER: &str = "Key-ID:";

/// A key id must survive the trust list's text form (words split by spaces) and the label's
/// value rules: 1 to 64 printable ASCII characters, no space, quote or backslash.
///
/// # Errors
/// [`Error::Parameter`] saying what is wrong.
pub fn check_key_id(id: &str) -> Result<()> {
    let printable = !id.is_empty() && id.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
    if !printable {
        return Err(Error::parameter(
            "key id",
            format!("{id:?}: use printable ASCII without spaces, quotes or backslashes"),
        ));
    }
    if id.len() > 64 {
        return Err(bad_key("a key id has at most 64 characters"));
    }
    Ok(())
}

fn bad_key(what: &'static str) -> Error {
    Error::parameter("key", what)
}

/// Splits `ALG:HEX`.
fn split_text(text: &str) -> Result<(Algorithm, Vec<u8>)> {
    let (name, digits) = text.split_once(':').ok_or_else(|| bad_key("expected PEM or ALG:HEX"))?;
    let algorithm = Algorithm::from_name(name).ok_or_else(|| bad_key("unknown algorithm; expected sm2 or ed25519"))?;
    let bytes = hex::decode(digits.trim()).ok_or_else(|| bad_key("the key is not hex"))?;
    Ok((algorithm, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip() {
        for alg in [Algorithm::Sm2Sm3, Algorithm::Ed25519] {
            let key = SigningKey::generate(alg).unwrap();
            let pem = key.to_pem().unwrap();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
            let from_pem = SigningKey::parse(&pem).unwrap();
            assert_eq!(from_pem.secret_bytes(), key.secret_bytes());
            assert_eq!(from_pem.algorithm(), alg);
            let from_text = SigningKey::parse(&key.to_text()).unwrap();
            assert_eq!(from_text.secret_bytes(), key.secret_bytes());

            let public = key.public_key();
            assert_eq!(PublicKey::parse(&public.to_pem().unwrap()).unwrap(), public);
            assert_eq!(PublicKey::parse(&public.to_text()).unwrap(), public);
            assert_eq!(public.key_id().len(), 16);
            assert_eq!(key.key_id(), public.key_id());
        }
    }

    #[test]
    fn signatures_verify_only_with_their_key_and_message() {
        for alg in [Algorithm::Sm2Sm3, Algorithm::Ed25519] {
            let key = SigningKey::generate(alg).unwrap();
            let other = SigningKey::generate(alg).unwrap();
            let sig = key.sign_bytes(b"abc").unwrap();
            assert!(key.public_key().verify(b"abc", &sig));
            assert!(!key.public_key().verify(b"abd", &sig));
            assert!(!other.public_key().verify(b"abc", &sig));
            assert!(!key.public_key().verify(b"abc", &sig[1..]));
            assert!(!key.public_key().verify(b"abc", &[]));
        }
    }

    #[test]
    fn bad_key_texts_are_parameter_errors() {
        for bad in [
            "",
            "sm2:zz",
            "rsa:00",
            "ed25519:00",
            "sm2:00",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        ] {
            assert!(matches!(SigningKey::parse(bad), Err(Error::Parameter { .. })), "{bad}");
            assert!(matches!(PublicKey::parse(bad), Err(Error::Parameter { .. })), "{bad}");
        }
        let zero = format!("sm2:{}", "00".repeat(32));
        assert!(SigningKey::parse(&zero).is_err());
    }

    #[test]
    fn key_id_line_before_the_pem_block_names_the_key() {
        let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
        let pem = key.to_pem().unwrap();
        assert_eq!(key.to_key_file().unwrap(), pem, "the default id needs no line");
        assert_eq!(SigningKey::parse(&pem).unwrap().key_id(), key.key_id());
        let file = key.clone().with_key_id("producer-2026").to_key_file().unwrap();
        assert!(file.starts_with("Key-ID: producer-2026\n-----BEGIN PRIVATE KEY-----"));
        let named = SigningKey::parse(&file).unwrap();
        assert_eq!(named.key_id(), "producer-2026");
        assert_eq!(named.public_key(), key.public_key());
        assert!(SigningKey::parse(&format!("Key-ID: two words\n{pem}")).is_err());
        assert!(SigningKey::parse(&format!("Key-ID: a\nkey-id: b\n{pem}")).is_err());
        assert!(SigningKey::parse(&format!("Key-ID: {}\n{pem}", "x".repeat(65))).is_err());
        assert!(SigningKey::parse(&key.to_text()).is_ok());
        assert!(SigningKey::parse("Key-ID: x\n").is_err());
    }
}
