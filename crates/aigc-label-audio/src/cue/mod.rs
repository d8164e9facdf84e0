//! Explicit audio labels: cues people hear (GB 45438 section 5, audio).
//!
//! The standard asks for a spoken prompt or the rhythm short-long short-short at the start, the
//! end or a suitable middle point of the audio, and, in interactive audio, with every turn.
//!
//! - [`Cue`]: what is played, a [`Rhythm`] (rendered from settings) or a [`VoicePrompt`] (the
//!   caller's recording, converted to the target's rate and channels).
//! - [`insert`], [`mix`], [`stamp`]: place a cue in an interleaved PCM buffer (`i16`, `i32`
//!   holding 24- or 32-bit audio, `f32`; any rate and channel count) at [`At`] positions, by
//!   [`Mode::Insert`] (original samples kept bit for bit) or [`Mode::Mix`] (with [`Ducking`]).
//! - [`Inserter`], [`Mixer`]: the same, chunk by chunk.
//! - [`TurnCues`]: an adapter over a stream of [`TurnEvent`]s that cues every turn.
//! - [`stamp_wav`], [`stamp_wav_file`]: a WAV file in, a stamped WAV file out, through `hound`,
//!   with every chunk of the input (`LIST`, `bext`, `id3 `, the implicit `AIGC` label) kept.

mod place;
mod rhythm;
mod sample;
mod stream;
mod voice;
mod wav_file;

pub use place::{At, Ducking, Inserter, Mixer, Mode, Rendered, insert, mix, parse_positions, resolve, stamp};
pub use rhythm::Rhythm;
pub use sample::{PcmSpec, Sample};
pub use stream::{TurnCues, TurnEvent, TurnOptions};
pub use voice::VoicePrompt;
pub use wav_file::{stamp_wav, stamp_wav_file};

use aigc_label_core::Error;

/// What is played as the explicit label.
#[derive(Debug, Clone, PartialEq)]
pub enum Cue {
    /// The rhythm short-long short-short.
    Rhythm(Rhythm),
    /// A recorded spoken prompt.
    Voice(VoicePrompt),
}

impl Default for Cue {
    /// The rhythm with the project's default settings.
    fn default() -> Self {
        Cue::Rhythm(Rhythm::default())
    }
}

/// Maps a `hound` error to the crate's error type.
pub(crate) fn hound_error(e: hound::Error) -> Error {
    match e {
        hound::Error::IoError(e) => Error::Io(e),
        hound::Error::FormatError(what) => Error::malformed("wav", 0, what),
        hound::Error::Unsupported => Error::unsupported("wav", "sample format not supported by hound"),
        other => Error::parameter("wav", other.to_string()),
    }
}
