//! Image carriers for `aigc-label`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod gif;
pub mod heif;
pub mod jpeg;
pub mod png;
pub mod stamp;
pub mod tiff;
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
