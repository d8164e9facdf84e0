//! Images for `aigc-label`: GB 45438 implicit labels in image metadata, and the explicit label
//! people see, drawn onto the picture.
//!
//! Key types:
//! - Carriers ([`aigc_label_core::Carrier`]), each walking its container without decoding a
//!   pixel: [`Png`] (`iTXt` XMP before `IDAT`), [`Jpeg`] (APP1 XMP), [`WebP`] (`XMP ` chunk and
//!   VP8X flag), [`Gif`] (XMP application extension), [`Tiff`] (tag 700 in IFD0), [`Heif`]
//!   (XMP `mime` item). [`carriers`] lists them for a registry.
//! - [`stamp`] (feature `stamp`, on by default): the text banner of GB 45438 section 5 on
//!   `image` buffers, sized and coloured to the standard's rules, with a bundled CJK font subset,
//!   and a file-level helper that decodes, draws, re-encodes and embeds the implicit label.
//!
//! One design decision: the requested crates `img-parts` and `png` read whole files or decode
//! pixels, so each carrier here has its own small walker over [`aigc_label_core::io::Source`]: it
//! checks every declared length against the bytes that remain, buffers only metadata, and copies
//! image data in large blocks, so memory stays flat whatever the file size.
//!
//! ```
//! use std::io::Cursor;
//! use aigc_label_core::{Carrier, Label, Limits};
//! use aigc_label_image::Png;
//!
//! // A 1x1 PNG made by the `png` crate...
//! let mut plain = Vec::new();
//! {
//!     let mut encoder = png::Encoder::new(&mut plain, 1, 1);
//!     encoder.set_color(png::ColorType::Grayscale);
//!     encoder.write_header()?.write_image_data(&[0])?;
//! }
//! // ...gets an XMP chunk holding the label.
//! let label = Label::new("001191440300708461136T1XGW3", "img-1");
//! let mut labelled = Vec::new();
//! Png.write(&mut Cursor::new(&plain), &mut labelled, &label, &Limits::default())?;
//! let found = Png.find(&mut Cursor::new(&labelled), &Limits::default())?;
//! assert_eq!(found.len(), 1);
//! assert_eq!(found[0].carrier, "iTXt XML:com.adobe.xmp");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
// A panic on uploaded bytes is a crash an uploader can trigger: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod exif;
pub mod gif;
pub mod heif;
pub mod jpeg;
pub mod png;
mod room;
pub mod stamp;
pub mod tiff;
mod truncated;
pub mod webp;

pub use gif::Gif;
pub use heif::Heif;
pub use jpeg::Jpeg;
pub use png::Png;
pub use tiff::Tiff;
pub use webp::WebP;

/// Every implicit-label carrier of this crate, for a registry (`aigc_label_core::Registry`).
pub fn carriers() -> Vec<&'static dyn aigc_label_core::Carrier> {
    vec![&Png, &Jpeg, &WebP, &Gif, &Tiff, &Heif]
}
