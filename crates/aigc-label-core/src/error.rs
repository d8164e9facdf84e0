//! The one error type of the core, sorted by whose fault it is.
//!
//! Adapters return this type from their carriers too, so a caller matches on one enum whatever
//! the format. Messages name the format, the byte offset and the rule broken.

use std::borrow::Cow;
use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong while reading or writing a label.
///
/// Variants are sorted by fault: the machine ([`Error::Io`]), the input ([`Error::Malformed`]),
/// the caller ([`Error::Parameter`]), resources ([`Error::Limit`]) and scope
/// ([`Error::Unsupported`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing the underlying stream failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),

    /// The input does not follow its format's rules.
    #[error("{format}: malformed at byte {offset}: {what}")]
    Malformed {
        /// Short format name (`png`, `jpeg`, `xmp`, `json`, ...).
        format: &'static str,
        /// Byte offset in the stream (or in the packet, for embedded text) where it went wrong.
        offset: u64,
        /// The rule that was broken.
        what: Cow<'static, str>,
    },

    /// The stream ended before a structure it declared was complete.
    #[error("{format}: truncated at byte {offset}: {what}")]
    Truncated {
        /// Short format name.
        format: &'static str,
        /// Byte offset where more bytes were expected.
        offset: u64,
        /// What was being read.
        what: Cow<'static, str>,
    },

    /// The caller asked for something invalid (a label that fails strict validation, a style
    /// out of range, a key that does not parse, ...).
    #[error("invalid parameter: {name}: {problem}")]
    Parameter {
        /// Which parameter: `label`, `style`, `key`, `cue position`, an option such as
        /// `--voice`, ...
        name: &'static str,
        /// What is wrong with it.
        problem: Cow<'static, str>,
    },

    /// A declared size or count exceeds what [`crate::Limits`] allows.
    #[error("{format}: limit exceeded at byte {offset}: {what} is {found}, limit {limit}")]
    Limit {
        /// Short format name.
        format: &'static str,
        /// Byte offset of the structure.
        offset: u64,
        /// Which limit.
        what: &'static str,
        /// The value found or requested.
        found: u64,
        /// The limit in force.
        limit: u64,
    },

    /// The format, or a feature of it, is not supported.
    #[error("unsupported: {0}")]
    Unsupported(Feature),

    /// The file already carries a label that this operation may not replace.
    #[error(
        "file already carries a label by {producer:?}; only its producer may replace it (use propagate to add platform fields)"
    )]
    AlreadyLabelled {
        /// `ContentProducer` of the existing label.
        producer: String,
    },

    /// After writing, the label read back from the output differs from what was written.
    #[error("label read back after writing does not match: {0}")]
    Verification(Cow<'static, str>),

    /// A signer failed to sign: a key store or HSM refused, a callback returned an error.
    ///
    /// Kept apart from [`Error::Io`] so a caller can retry or alert on its key service without
    /// treating it as a disk problem.
    #[error("signing failed: {0}")]
    Signing(Cow<'static, str>),

    /// Any of the above, from the file at `path`: the file-level functions (`inspect_file`,
    /// `embed_file`, ...) wrap their errors so a report over many files says which one failed,
    /// and whether the input or the output was at fault.
    ///
    /// Match on [`Error::without_path`] to see the error underneath.
    #[error("{}: {source}", path.display())]
    WithPath {
        /// The file the error came from (the input, or the output being written).
        path: PathBuf,
        /// What went wrong with it.
        #[source]
        source: Box<Error>,
    },
}

/// What [`Error::Unsupported`] refuses: an unknown format, a part of a known one, or a result
/// that the format's fields cannot hold.
///
/// A caller sorting uploads skips [`Feature::UnknownFormat`], and reports the others against
/// the format named.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Feature {
    /// No compiled-in format recognises the input.
    UnknownFormat {
        /// The input's first bytes (at most 8; empty for an empty input).
        first_bytes: Vec<u8>,
    },
    /// A part or variant of a recognised format that is not read or written: a version, a
    /// codec or compression method, a layout the writer cannot rewrite.
    Part {
        /// Short format name (`png`, `zip`, `heif`, ...).
        format: &'static str,
        /// What the part is.
        what: Cow<'static, str>,
    },
    /// The result would not fit a size, offset or count field of the format (a RIFF past
    /// 4 GiB, a 32-bit offset, a metadata block's length field, no room left to patch).
    Capacity {
        /// Short format name.
        format: &'static str,
        /// What does not fit.
        what: Cow<'static, str>,
    },
}

impl Feature {
    /// The format named, `None` for [`Feature::UnknownFormat`].
    pub fn format(&self) -> Option<&'static str> {
        match self {
            Feature::UnknownFormat { .. } => None,
            Feature::Part { format, .. } | Feature::Capacity { format, .. } => Some(format),
        }
    }
}

impl std::fmt::Display for Feature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Feature::UnknownFormat { first_bytes } if first_bytes.is_empty() => f.write_str("empty file"),
            Feature::UnknownFormat { first_bytes } => {
                f.write_str("unrecognised format (first bytes")?;
                for b in first_bytes.iter().take(8) {
                    write!(f, " {b:02x}")?;
                }
                f.write_str(")")
            }
            Feature::Part { format, what } | Feature::Capacity { format, what } => write!(f, "{format}: {what}"),
        }
    }
}

impl Error {
    /// A [`Error::Parameter`]: `name` is wrong in the way `problem` says.
    pub fn parameter(name: &'static str, problem: impl Into<Cow<'static, str>>) -> Self {
        Error::Parameter {
            name,
            problem: problem.into(),
        }
    }

    /// An [`Error::Unsupported`] for a part of `format` ([`Feature::Part`]).
    pub fn unsupported(format: &'static str, what: impl Into<Cow<'static, str>>) -> Self {
        Error::Unsupported(Feature::Part {
            format,
            what: what.into(),
        })
    }

    /// An [`Error::Unsupported`] for a result that `format`'s fields cannot hold
    /// ([`Feature::Capacity`]).
    pub fn capacity(format: &'static str, what: impl Into<Cow<'static, str>>) -> Self {
        Error::Unsupported(Feature::Capacity {
            format,
            what: what.into(),
        })
    }

    /// An [`Error::Unsupported`] for input no format recognises ([`Feature::UnknownFormat`]),
    /// keeping its first 8 bytes for the message.
    pub fn unknown_format(head: &[u8]) -> Self {
        Error::Unsupported(Feature::UnknownFormat {
            first_bytes: head.get(..8).unwrap_or(head).to_vec(),
        })
    }

    /// A [`Error::Malformed`] for `format` at `offset`.
    pub fn malformed(format: &'static str, offset: u64, what: impl Into<Cow<'static, str>>) -> Self {
        Error::Malformed {
            format,
            offset,
            what: what.into(),
        }
    }

    /// A [`Error::Truncated`] for `format` at `offset`.
    pub fn truncated(format: &'static str, offset: u64, what: impl Into<Cow<'static, str>>) -> Self {
        Error::Truncated {
            format,
            offset,
            what: what.into(),
        }
    }

    /// Wraps this error with the path of the file it came from (see [`Error::WithPath`]). An
    /// error that already names a path keeps the first (innermost) one.
    pub fn with_path(self, path: impl AsRef<Path>) -> Self {
        match self {
            Error::WithPath { .. } => self,
            other => Error::WithPath {
                path: path.as_ref().to_path_buf(),
                source: Box::new(other),
            },
        }
    }

    /// The error underneath any [`Error::WithPath`] wrapper: what to match on.
    pub fn without_path(&self) -> &Error {
        match self {
            Error::WithPath { source, .. } => source.without_path(),
            other => other,
        }
    }

    /// The path of the file the error came from, when a file-level function named it.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::WithPath { path, .. } => Some(path),
            _ => None,
        }
    }

    /// True when the input, not the machine or the caller, is at fault: the file is malformed,
    /// truncated, too large for the limits, or of an unsupported kind.
    pub fn is_input_fault(&self) -> bool {
        match self {
            Error::WithPath { source, .. } => source.is_input_fault(),
            Error::Malformed { .. } | Error::Truncated { .. } | Error::Limit { .. } | Error::Unsupported(_) => true,
            Error::Io(e) => e.kind() == io::ErrorKind::UnexpectedEof,
            _ => false,
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_names_the_parameter_and_the_problem() {
        let e = Error::parameter("cue position", "none given");
        assert!(matches!(&e, Error::Parameter { name: "cue position", problem } if problem == "none given"));
        assert_eq!(e.to_string(), "invalid parameter: cue position: none given");
        assert!(!e.is_input_fault());
    }

    #[test]
    fn unsupported_says_what_and_of_which_format() {
        let part = Error::unsupported("zip", "encrypted entries");
        assert_eq!(part.to_string(), "unsupported: zip: encrypted entries");
        let capacity = Error::capacity("avi", "the RIFF list would exceed 4 GiB");
        assert!(matches!(
            &capacity,
            Error::Unsupported(Feature::Capacity { format: "avi", .. })
        ));
        let unknown = Error::unknown_format(b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09");
        assert_eq!(
            unknown.to_string(),
            "unsupported: unrecognised format (first bytes 00 01 02 03 04 05 06 07)"
        );
        assert_eq!(Error::unknown_format(b"").to_string(), "unsupported: empty file");
        for (e, format) in [(&part, Some("zip")), (&capacity, Some("avi")), (&unknown, None)] {
            let Error::Unsupported(feature) = e.without_path() else {
                panic!("{e}")
            };
            assert_eq!(feature.format(), format);
            assert!(e.is_input_fault());
        }
        let named = unknown.with_path("upload.bin");
        assert!(
            matches!(named.without_path(), Error::Unsupported(Feature::UnknownFormat { first_bytes }) if first_bytes.len() == 8)
        );
    }
}
