//! The verifier's trust list: which public keys are accepted for which provider code.
//!
//! A signature in `ReservedCode1` counts as valid only under a key listed for the label's
//! `ContentProducer`; one in `ReservedCode2` only under a key listed for its
//! `ContentPropagator`. A key embedded in the envelope proves nothing by itself (anyone can
//! embed their own key); it lets a verifier without the key say the signature is at least
//! mathematically sound ("unknown key").
//!
//! The text form (for `aigc-label inspect --trust FILE`, \[ours\]) has one key per line:
//!
//! ```text
//! # provider code               key                                 key id (optional)
//! 001191440300708461136T1XGW3  sm2:04a1b2...                       producer-2026
//! 001191110108551385082Q20000  ed25519:3d4017c3e843895a92b70aa7...
//! ```
//!
//! Blank lines and lines starting with `#` are ignored; without a key id, the key's default id
//! ([`PublicKey::key_id`]) is used.

use aigc_label_core::{Error, Result};

use crate::keys::PublicKey;

/// Largest trust list file read: 16 MiB, some hundred thousand keys.
pub const MAX_TRUST_FILE: u64 = 16 << 20;

/// One accepted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// The provider code (or name) the key signs for.
    pub provider: String,
    /// The `KeyID` signatures made with this key carry.
    pub key_id: String,
    /// The key.
    pub key: PublicKey,
}

/// Accepted public keys per provider code.
///
/// ```
/// use aigc_label_trust::{Algorithm, SigningKey, TrustList};
/// let key = SigningKey::generate(Algorithm::Sm2Sm3)?;
/// let mut trust = TrustList::new();
/// trust.add("001191440300708461136T1XGW3", key.public_key());
/// let reread = TrustList::parse(&trust.to_text())?;
/// assert_eq!(reread, trust);
/// assert_eq!(reread.keys_for("001191440300708461136T1XGW3").count(), 1);
/// # Ok::<(), aigc_label_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustList {
    keys: Vec<TrustedKey>,
}

impl TrustList {
    /// An empty list: every signature is by an unknown key.
    pub fn new() -> Self {
        TrustList::default()
    }

    /// Accepts `key` for `provider` under its default key id.
    pub fn add(&mut self, provider: impl Into<String>, key: PublicKey) -> &mut Self {
        let key_id = key.key_id();
        self.add_with_id(provider, key_id, key)
    }

    /// Accepts `key` for `provider` under `key_id`.
    pub fn add_with_id(&mut self, provider: impl Into<String>, key_id: impl Into<String>, key: PublicKey) -> &mut Self {
        self.keys.push(TrustedKey {
            provider: provider.into(),
            key_id: key_id.into(),
            key,
        });
        self
    }

    /// The keys accepted for `provider`.
    pub fn keys_for<'a>(&'a self, provider: &'a str) -> impl Iterator<Item = &'a TrustedKey> + 'a {
        self.keys.iter().filter(move |k| k.provider == provider)
    }

    /// Every key, in the order added.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// True when no key is accepted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Reads the text form (see the module documentation).
    ///
    /// # Errors
    /// [`Error::Parameter`] naming the line that is not `PROVIDER ALG:HEX [KEYID]`.
    pub fn parse(text: &str) -> Result<Self> {
        let mut list = TrustList::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            let bad = |why: &str| Error::parameter("trust list", format!("line {}: {why}", n + 1));
            let provider = words.next().ok_or_else(|| bad("no provider"))?;
            let key_text = words.next().ok_or_else(|| bad("no key"))?;
            let key = PublicKey::parse(key_text).map_err(|e| bad(&e.to_string()))?;
            match (words.next(), words.next()) {
                (None, _) => list.add(provider, key),
                (Some(id), None) => list.add_with_id(provider, id, key),
                (Some(_), Some(_)) => return Err(bad("more than three words")),
            };
        }
        Ok(list)
    }

    /// Reads a trust list file of at most [`MAX_TRUST_FILE`] bytes.
    ///
    /// # Errors
    /// I/O errors; [`Error::Parameter`] for a larger file; as [`TrustList::parse`].
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        use std::io::Read;
        let file = std::fs::File::open(path)?;
        let mut text = String::new();
        file.take(MAX_TRUST_FILE + 1).read_to_string(&mut text)?;
        if text.len() as u64 > MAX_TRUST_FILE {
            return Err(Error::parameter(
                "trust list",
                format!("{}: at most {MAX_TRUST_FILE} bytes", path.display()),
            ));
        }
        TrustList::parse(&text)
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        self.keys
            .iter()
            .map(|k| format!("{} {} {}\n", k.provider, k.key.to_text(), k.key_id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, SigningKey};

    #[test]
    fn text_form_reads_comments_ids_and_rejects_junk() {
        let a = SigningKey::generate(Algorithm::Ed25519).unwrap().public_key();
        let b = SigningKey::generate(Algorithm::Sm2Sm3).unwrap().public_key();
        let text = format!("# trusted\n\nP1 {}\nP2  {}  custom-id\n", a.to_text(), b.to_text());
        let list = TrustList::parse(&text).unwrap();
        assert_eq!(list.keys_for("P1").next().unwrap().key_id, a.key_id());
        assert_eq!(list.keys_for("P2").next().unwrap().key_id, "custom-id");
        assert_eq!(list.keys_for("P3").count(), 0);
        for bad in ["P1", "P1 rsa:00", &format!("P1 {} id extra", a.to_text())] {
            assert!(TrustList::parse(bad).is_err(), "{bad}");
        }
    }
}
