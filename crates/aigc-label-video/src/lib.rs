//! Video carriers for `aigc-label`: GB 45438-2025 implicit labels in MP4/MOV/M4A (ISO-BMFF),
//! Matroska/WebM, FLV and AVI files.
//!
//! Key types: [`Bmff`], [`Matroska`], [`Flv`] and [`Avi`], each an
//! [`aigc_label_core::Carrier`]; [`carriers()`] lists them for a registry. [`Bmff`] and
//! [`Matroska`] also update an MP4's or a Matroska file's label without rewriting the file
//! ([`aigc_label_core::in_place::InPlace`]), crash-safely, when the room left by our earlier
//! write can take it. With the `frames` feature (on by default),
//! `frames::FrameStamper` draws the explicit label on raw RGBA, RGB, I420 and NV12 frames for the
//! opening seconds (at least 2 s) and optional end and middle windows, blending a label rasterised
//! once per configuration.
//!
//! One design decision: video files are large, so no carrier ever loads media. Each walks the
//! container's structure, buffers only metadata (bounded by [`aigc_label_core::Limits`]),
//! streams the media payload in blocks, and prefers to fit the label into space the container
//! already reserved (`free` boxes, `Void` elements, `JUNK` chunks) so that no offset has to
//! move; when something must move, every offset that points past it is patched.
//!
//! The same walkers say which bytes a content binding (a signed digest of the file, see
//! `aigc-label-trust`) leaves out: each carrier's `binding_exclusions` lists the label's
//! structure and exactly the size fields, padding and offsets a rewrite of the label may
//! change, so that a platform's longer label does not break the producer's binding. The
//! writers are built for it: a label that grows or shrinks keeps its place, and a Tags element
//! or `moov` at the end of the file simply changes size.
//!
//! ```
//! use std::io::Cursor;
//! use aigc_label_core::{Carrier, Label, Limits};
//! use aigc_label_video::Flv;
//!
//! // A minimal FLV: header, PreviousTagSize0, no tags.
//! let flv = [b'F', b'L', b'V', 1, 1, 0, 0, 0, 9, 0, 0, 0, 0];
//! let label = Label::new("001191440300708461136T1XGW3", "video-0001");
//! let mut out = Vec::new();
//! Flv.write(&mut Cursor::new(&flv[..]), &mut out, &label, &Limits::default())?;
//! let found = Flv.find(&mut Cursor::new(&out), &Limits::default())?;
//! assert_eq!(found.len(), 1);
//! assert!(found[0].text.starts_with(r#"{"Label":"1""#));
//! # Ok::<(), aigc_label_core::Error>(())
//! ```
// A panic on uploaded bytes is a crash an uploader can trigger: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod avi;
pub mod bmff;
mod common;
pub mod flv;
#[cfg(feature = "frames")]
pub mod frames;
pub mod matroska;
#[cfg(feature = "stamp")]
pub mod stamp;

pub use avi::Avi;
pub use bmff::Bmff;
pub use flv::Flv;
pub use matroska::Matroska;
#[cfg(feature = "stamp")]
pub use stamp::{StampOptions, StampReport, stamp_file, stamp_file_with_progress};

use aigc_label_core::Carrier;

/// Every carrier of this crate, for registering: `Registry::new().with(c)` for each.
pub fn carriers() -> [&'static dyn Carrier; 4] {
    [&Bmff, &Matroska, &Flv, &Avi]
}
