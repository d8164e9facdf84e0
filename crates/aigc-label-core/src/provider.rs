//! Provider codes for `ContentProducer` and `ContentPropagator`.
//!
//! A code is 27 characters of `0-9A-Z`: `00` (code format) + `1` (organisation) + `1` (identified
//! by unified social credit code) + the 18-character USCC (GB 32100-2015, with its check
//! character) + one service-type digit (`1` generation, `2` distribution) + a 4-character model or
//! application code (`0000` when unused). The parser says which part is wrong, so a validation
//! report can tell a provider exactly what to fix.

use std::fmt;

/// The length of a provider code.
pub const PROVIDER_CODE_LEN: usize = 27;

/// The 31 characters a USCC may use, in check-digit order (GB 32100-2015: no I, O, S, V, Z).
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// What kind of service a provider code names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceType {
    /// `1`: a generation (synthesis) service.
    Generation,
    /// `2`: a distribution (propagation) platform.
    Distribution,
}

/// A provider code that passed every structural check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProviderCode<'a> {
    /// The 18-character unified social credit code.
    pub uscc: &'a str,
    /// The service type digit.
    pub service: ServiceType,
    /// The 4-character model or application code (`0000` when unused).
    pub model: &'a str,
}

/// Which part of a provider code is wrong. Positions are 0-based character offsets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderCodeError {
    /// The code is not 27 characters long.
    #[error("provider code has {0} characters, expected 27")]
    Length(usize),
    /// A character outside `0-9A-Z`.
    #[error("character {ch:?} at position {pos} is outside 0-9A-Z")]
    Charset {
        /// Position of the character.
        pos: usize,
        /// The character.
        ch: char,
    },
    /// Positions 0-1 are not `00`.
    #[error("code format (positions 0-1) is {0:?}, expected \"00\"")]
    CodeFormat(String),
    /// Position 2 is not `1` (organisation).
    #[error("subject type (position 2) is {0:?}, expected '1' (organisation)")]
    SubjectType(char),
    /// Position 3 is not `1` (identified by USCC).
    #[error("identifier type (position 3) is {0:?}, expected '1' (unified social credit code)")]
    IdType(char),
    /// The USCC (positions 4-21) uses a character GB 32100 excludes.
    #[error("unified social credit code (positions 4-21) has {ch:?} at position {pos}, not allowed by GB 32100")]
    UsccCharset {
        /// Position in the provider code.
        pos: usize,
        /// The character.
        ch: char,
    },
    /// The USCC's check character (position 21) does not match.
    #[error("unified social credit code check character (position 21) is {found:?}, expected {expected:?}")]
    UsccCheck {
        /// The character found.
        found: char,
        /// The character the other 17 imply.
        expected: char,
    },
    /// Position 22 is not `1` or `2`.
    #[error("service type (position 22) is {0:?}, expected '1' (generation) or '2' (distribution)")]
    ServiceType(char),
}

/// Parses and checks a 27-character provider code.
///
/// # Errors
/// The first [`ProviderCodeError`] found, scanning left to right.
///
/// ```
/// use aigc_label_core::provider::{parse_provider_code, ServiceType};
/// let code = parse_provider_code("001191440300708461136T1XGW3").unwrap();
/// assert_eq!(code.uscc, "91440300708461136T");
/// assert_eq!(code.service, ServiceType::Generation);
/// assert_eq!(code.model, "XGW3");
/// assert!(parse_provider_code("doubao").is_err());
/// ```
pub fn parse_provider_code(code: &str) -> Result<ProviderCode<'_>, ProviderCodeError> {
    let count = code.chars().count();
    if count != PROVIDER_CODE_LEN || code.len() != PROVIDER_CODE_LEN {
        return Err(ProviderCodeError::Length(count));
    }
    let b = code.as_bytes();
    if let Some(pos) = b.iter().position(|c| !(c.is_ascii_digit() || c.is_ascii_uppercase())) {
        return Err(ProviderCodeError::Charset {
            pos,
            ch: char::from(b[pos]),
        });
    }
    if &b[0..2] != b"00" {
        return Err(ProviderCodeError::CodeFormat(code[0..2].to_string()));
    }
    if b[2] != b'1' {
        return Err(ProviderCodeError::SubjectType(char::from(b[2])));
    }
    if b[3] != b'1' {
        return Err(ProviderCodeError::IdType(char::from(b[3])));
    }
    let uscc = &code[4..22];
    check_uscc(uscc.as_bytes()).map_err(|e| match e {
        ProviderCodeError::UsccCharset { pos, ch } => ProviderCodeError::UsccCharset { pos: pos + 4, ch },
        other => other,
    })?;
    let service = match b[22] {
        b'1' => ServiceType::Generation,
        b'2' => ServiceType::Distribution,
        other => return Err(ProviderCodeError::ServiceType(char::from(other))),
    };
    Ok(ProviderCode {
        uscc,
        service,
        model: &code[23..],
    })
}

fn check_uscc(uscc: &[u8]) -> Result<(), ProviderCodeError> {
    let mut sum = 0u32;
    for (i, (&c, w)) in uscc.iter().zip(USCC_WEIGHTS).enumerate() {
        let v = alphabet_index(c).ok_or(ProviderCodeError::UsccCharset {
            pos: i,
            ch: char::from(c),
        })?;
        sum += v * w;
    }
    let expected = USCC_ALPHABET[((31 - sum % 31) % 31) as usize];
    let found = *uscc.get(17).unwrap_or(&b'?');
    if alphabet_index(found).is_none() {
        return Err(ProviderCodeError::UsccCharset {
            pos: 17,
            ch: char::from(found),
        });
    }
    if found != expected {
        return Err(ProviderCodeError::UsccCheck {
            found: char::from(found),
            expected: char::from(expected),
        });
    }
    Ok(())
}

fn alphabet_index(c: u8) -> Option<u32> {
    USCC_ALPHABET.iter().position(|&a| a == c).map(|i| i as u32)
}

impl fmt::Display for ServiceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServiceType::Generation => "generation",
            ServiceType::Distribution => "distribution",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_uscc_check_characters() {
        for code in [
            "001191440300708461136T1XGW3",
            "001191110108551385082Q20000",
            "0011911101085923662400100A1",
        ] {
            assert!(parse_provider_code(code).is_ok(), "{code}");
        }
        assert_eq!(
            parse_provider_code("001191110108551385082Q20000").unwrap().service,
            ServiceType::Distribution
        );
    }

    #[test]
    fn names_the_wrong_part() {
        use ProviderCodeError::*;
        let cases: [(&str, ProviderCodeError); 9] = [
            ("doubao", Length(6)),
            ("001191440300708461136T1XGW", Length(26)),
            ("001191440300708461136t1XGW3", Charset { pos: 21, ch: 't' }),
            ("011191440300708461136T1XGW3", CodeFormat("01".into())),
            ("002191440300708461136T1XGW3", SubjectType('2')),
            ("001291440300708461136T1XGW3", IdType('2')),
            ("0011914403007084611I6T1XGW3", UsccCharset { pos: 19, ch: 'I' }),
            (
                "001191440300708461136A1XGW3",
                UsccCheck {
                    found: 'A',
                    expected: 'T',
                },
            ),
            ("001191440300708461136T3XGW3", ServiceType('3')),
        ];
        for (code, want) in cases {
            assert_eq!(parse_provider_code(code).unwrap_err(), want, "{code}");
        }
        assert_eq!(parse_provider_code("人工智能").unwrap_err(), Length(4));
    }
}
