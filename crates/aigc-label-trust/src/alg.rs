//! Algorithm identifiers (`AlgID`) for signatures and content digests.
//!
//! TC260-PG-202511A names SM3withSM2 by its OID `1.2.156.10197.1.501` (GM/T 0006). The guide
//! names no other algorithm; for Ed25519 this crate writes the OID RFC 8410 registers for it,
//! `1.3.101.112` (\[ours\]), and for the content digests the OIDs of SM3 (`1.2.156.10197.1.401`)
//! and SHA-256 (`2.16.840.1.101.3.4.2.1`). Readers also accept the algorithms' names in any case
//! (`SM3withSM2`, `SM2`, `Ed25519`, `SHA-256`, ...), as producers in the wild spell them.

use std::fmt;

/// OID of SM3withSM2 (SM2 signature with SM3 digest), as the guide writes it.
pub const SM2_SM3_OID: &str = "1.2.156.10197.1.501";
/// OID of Ed25519 (RFC 8410, `id-Ed25519`), this crate's `AlgID` for Ed25519 signatures.
pub const ED25519_OID: &str = "1.3.101.112";
/// OID of the SM3 digest (GM/T 0004).
pub const SM3_OID: &str = "1.2.156.10197.1.401";
/// OID of the SHA-256 digest (NIST).
pub const SHA256_OID: &str = "2.16.840.1.101.3.4.2.1";

/// A signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// SM3withSM2 with the default user id `1234567812345678`; the signature is ASN.1 DER
    /// `SEQUENCE { r INTEGER, s INTEGER }`.
    Sm2Sm3,
    /// Ed25519 (RFC 8032); the signature is the 64 raw bytes `R || S`.
    Ed25519,
}

impl Algorithm {
    /// The `AlgID` written into `DS` and `PubKey` entries.
    pub fn alg_id(self) -> &'static str {
        match self {
            Algorithm::Sm2Sm3 => SM2_SM3_OID,
            Algorithm::Ed25519 => ED25519_OID,
        }
    }

    /// Reads an `AlgID` leniently: the OID, or a name in any case.
    pub fn from_alg_id(text: &str) -> Option<Self> {
        let t = text.trim();
        let name = normalise(t);
        if t == SM2_SM3_OID || matches!(name.as_str(), "sm3withsm2" | "sm2withsm3" | "sm2sm3" | "sm2") {
            Some(Algorithm::Sm2Sm3)
        } else if t == ED25519_OID || matches!(name.as_str(), "ed25519" | "eddsa") {
            Some(Algorithm::Ed25519)
        } else {
            None
        }
    }

    /// The digest content bindings use with this signature: SM3 with SM2, SHA-256 with Ed25519.
    pub fn digest(self) -> DigestAlg {
        match self {
            Algorithm::Sm2Sm3 => DigestAlg::Sm3,
            Algorithm::Ed25519 => DigestAlg::Sha256,
        }
    }

    /// `sm2` or `ed25519`, as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sm2Sm3 => "sm2",
            Algorithm::Ed25519 => "ed25519",
        }
    }

    /// Parses `sm2` or `ed25519` (any case), or an `AlgID`.
    pub fn from_name(name: &str) -> Option<Self> {
        Algorithm::from_alg_id(name)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::Sm2Sm3 => "SM3withSM2",
            Algorithm::Ed25519 => "Ed25519",
        })
    }
}

/// A digest algorithm for content bindings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlg {
    /// SM3 (GB/T 32905), 32 bytes.
    Sm3,
    /// SHA-256 (FIPS 180-4), 32 bytes.
    Sha256,
}

impl DigestAlg {
    /// The `AlgID` written into a binding.
    pub fn alg_id(self) -> &'static str {
        match self {
            DigestAlg::Sm3 => SM3_OID,
            DigestAlg::Sha256 => SHA256_OID,
        }
    }

    /// Reads an `AlgID` leniently: the OID, or a name in any case.
    pub fn from_alg_id(text: &str) -> Option<Self> {
        let t = text.trim();
        let name = normalise(t);
        if t == SM3_OID || name == "sm3" {
            Some(DigestAlg::Sm3)
        } else if t == SHA256_OID || name == "sha256" {
            Some(DigestAlg::Sha256)
        } else {
            None
        }
    }

    /// A fresh hasher.
    pub fn hasher(self) -> Hasher {
        use sha2::Digest;
        match self {
            DigestAlg::Sm3 => Hasher::Sm3(sm3::Sm3::new()),
            DigestAlg::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }
}

impl fmt::Display for DigestAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DigestAlg::Sm3 => "SM3",
            DigestAlg::Sha256 => "SHA-256",
        })
    }
}

/// An incremental digest of either algorithm.
#[derive(Clone)]
pub enum Hasher {
    /// SM3.
    Sm3(sm3::Sm3),
    /// SHA-256.
    Sha256(sha2::Sha256),
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Hasher::Sm3(_) => "Hasher(SM3)",
            Hasher::Sha256(_) => "Hasher(SHA-256)",
        })
    }
}

impl Hasher {
    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        use sha2::Digest;
        match self {
            Hasher::Sm3(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
        }
    }

    /// The digest.
    pub fn finish(self) -> Vec<u8> {
        use sha2::Digest;
        match self {
            Hasher::Sm3(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
        }
    }
}

/// Lowercase, without `-`, `_`, spaces and dots, so `SM3-with-SM2` and `sm3withsm2` compare equal.
fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '-' | '_' | ' ' | '.'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alg_ids_read_leniently() {
        assert_eq!(Algorithm::from_alg_id(SM2_SM3_OID), Some(Algorithm::Sm2Sm3));
        assert_eq!(Algorithm::from_alg_id(" SM3withSM2 "), Some(Algorithm::Sm2Sm3));
        assert_eq!(Algorithm::from_alg_id("SM2-with-SM3"), Some(Algorithm::Sm2Sm3));
        assert_eq!(Algorithm::from_alg_id("ED25519"), Some(Algorithm::Ed25519));
        assert_eq!(Algorithm::from_alg_id(ED25519_OID), Some(Algorithm::Ed25519));
        assert_eq!(Algorithm::from_alg_id("1.2.840.10045.4.3.2"), None);
        assert_eq!(DigestAlg::from_alg_id("SHA-256"), Some(DigestAlg::Sha256));
        assert_eq!(DigestAlg::from_alg_id(SM3_OID), Some(DigestAlg::Sm3));
    }

    #[test]
    fn known_digests() {
        // GB/T 32905 example 1: SM3("abc").
        assert_eq!(
            crate::hex::encode(&DigestAlg::Sm3.digest(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert_eq!(
            crate::hex::encode(&DigestAlg::Sha256.digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
