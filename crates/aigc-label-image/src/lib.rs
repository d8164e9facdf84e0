//! Image carriers for `aigc-label`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod jpeg;
pub mod png;
pub mod stamp;

pub use jpeg::Jpeg;
pub use png::Png;
