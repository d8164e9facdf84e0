//! The explicit label's capability (spec section 4: what people see or hear), as a carrier
//! offers it through [`Carrier::stamp`]: which medium's stamper takes a file.
//!
//! The stampers themselves take options of their medium (a banner's style, an audio cue, a
//! video window) and live in the adapter crates; a format says which one fits it, and a format
//! whose container holds several media (an MP4 with or without a video track) decides from the
//! file. Callers (the CLI's `stamp`) route on [`Stamp::medium`], not on file extensions.
//!
//! [`Carrier::stamp`]: crate::Carrier::stamp

use crate::io::ReadSeek;
use crate::{Limits, Result};

/// The stamper an explicit label of a file goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Medium {
    /// A text banner drawn on the picture (every frame of an animation).
    Image,
    /// A spoken or rhythmic cue in the sound.
    Audio,
    /// Label text drawn on the video's frames.
    Video,
    /// A text prompt in the document.
    Text,
}

/// A carrier's explicit-label capability.
pub trait Stamp: Sync {
    /// The medium whose stamper takes `input`, a file of this carrier's format; `input` may be
    /// left anywhere.
    ///
    /// # Errors
    /// Malformed or truncated input where the format has to look inside; I/O errors.
    fn medium(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Medium>;
}

/// A format with one medium takes that medium's stamper whatever the file holds, so a carrier
/// writes `Some(&Medium::Image)`.
impl Stamp for Medium {
    fn medium(&self, _: &mut dyn ReadSeek, _: &Limits) -> Result<Medium> {
        Ok(*self)
    }
}
