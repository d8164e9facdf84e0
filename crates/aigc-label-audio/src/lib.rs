//! Audio for `aigc-label`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod common;
pub mod cue;
pub mod flac;
mod id3;
pub mod mp3;
pub mod ogg;
mod riff;
mod vorbis_comment;
pub mod wav;

pub use flac::Flac;
pub use mp3::Mp3;
pub use ogg::Ogg;
pub use wav::Wav;
