//! The core of `aigc-label`: the GB 45438-2025 implicit label, its JSON and XMP codecs,
//! validation, and the [`Carrier`] trait every file format implements.
//!
//! This crate has no media dependencies. Format adapters (`aigc-label-image`, ...) implement
//! [`Carrier`]; the `aigc-label` facade registers them and offers file-level functions.
//!
//! Key types:
//! - [`Label`] and [`LabelValue`]: the seven fields of Annex E.
//! - [`json`]: canonical writer and lenient reader; [`xmp`]: the `TC260:AIGC` property.
//! - [`check`]: validation with stable check ids, strict for writing and lenient for reading.
//! - [`Carrier`], [`Registry`]: formats, picked by magic bytes.
//! - [`plan`]: a carrier's one scan of a file, as label copies found plus copied ranges and
//!   new bytes, which embedding executes.
//! - [`inspect()`] and [`embed()`]: the two operations, on streams.
//! - A carrier's optional capabilities: [`in_place`] updates, [`traces`] of generation (the
//!   scanner for its container), and which [`stamp`]er draws or plays its explicit label.
//! - [`container`]: each container walker once (ISO-BMFF boxes, RIFF/IFF chunks, TIFF IFDs,
//!   JPEG segments, PNG chunks), the structure budget and the binding exclusions list, so formats
//!   are thin adapters over one walk.
//!
//! One design decision: carriers only move bytes and hand back raw label text; every rule
//! (validation, the single-copy rule, the producer-only replacement rule) is applied here, once,
//! so all formats judge labels the same way.
//!
//! ```
//! use aigc_label_core::{json, check, Label};
//! let label = Label::new("001191440300708461136T1XGW3", "img-0001");
//! let text = json::to_json(&label, json::Shape::Bare);
//! let parsed = json::parse(&text, 32)?;
//! assert_eq!(parsed.to_label(), Some(label));
//! let checks = check::validate_parsed(&parsed, json::Shape::Bare, check::Strictness::Strict);
//! assert!(checks.iter().all(|c| c.is_ok()));
//! # Ok::<(), aigc_label_core::Error>(())
//! ```
// A panic on uploaded bytes is a crash an uploader can trigger: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod carrier;
pub mod check;
pub mod container;
pub mod embed;
mod error;
pub mod explicit;
pub mod in_place;
pub mod inspect;
pub mod io;
pub mod json;
mod label;
mod limits;
pub mod plan;
pub mod provider;
pub mod stamp;
pub mod traces;
pub mod xmp;

pub use carrier::{Carrier, Found, Info, Registry, Written};
pub use embed::{embed, readback};
pub use error::{Error, Feature, Result};
pub use inspect::{LabelCopy, Options, Report, Verdict, inspect};
pub use label::{FIELD_NAMES, Label, LabelValue};
pub use limits::Limits;
