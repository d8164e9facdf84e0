//! Audio for `aigc-label`: GB 45438 implicit labels in WAV, MP3, FLAC, Ogg and AIFF files, and the
//! explicit labels people hear (the rhythm cue and a voice prompt).
//!
//! Key types:
//! - Carriers ([`aigc_label_core::Carrier`]): [`Wav`] (RIFF chunk `AIGC` after `data`; RF64 and
//!   BW64 too), [`Mp3`] (ID3v2 `TXXX` frame `AIGC`), [`Flac`] (`VORBIS_COMMENT` field `AIGC=`),
//!   [`Ogg`] (Vorbis / Opus comment header field `AIGC=`), [`Aiff`] (AIFF / AIFC `ID3 ` chunk,
//!   `TXXX` frame `AIGC`). [`carriers`] lists them for a
//!   registry. Each one's `binding_exclusions` says which bytes a content binding leaves out
//!   (the label's own structure and the sizes, padding and page numbers that change with it);
//!   the audio and every other metadata byte stay covered, however long the next label is.
//! - [`cue`]: the rhythm short-long short-short ([`cue::Rhythm`]) and voice prompts
//!   ([`cue::VoicePrompt`]) placed in PCM buffers, streams of conversational turns
//!   ([`cue::TurnCues`]) and WAV files ([`cue::stamp_wav_file`]).
//! - [`stamp_file`]: the cue in WAV, AIFF, MP3, AAC in MP4, FLAC, Ogg Opus and Ogg Vorbis
//!   files, encoded in the file's codec through ffmpeg and spliced in by the container writers
//!   here, so the original frames stay byte for byte; and mixed into the sound of MP4,
//!   Matroska/WebM, FLV and AVI videos, one re-encoded frame for each one it replaces.
//!
//! One design decision: every carrier walks its container itself (chunks, ID3 frames, metadata
//! blocks, Ogg pages) instead of going through a tag library. Tag libraries parse every field
//! into their own model and write the whole tag back, which re-encodes fields we do not own;
//! the walkers here keep every byte they do not own, copy audio in large blocks without
//! decoding it, and use padding where the format has it so the audio does not move. `hound` is
//! used where samples are needed (explicit labels), never to move metadata: it cannot see
//! RIFF chunks other than `fmt ` and `data`.
//!
//! ```
//! use std::io::Cursor;
//! use aigc_label_audio::{carriers, cue, Wav};
//! use aigc_label_core::{embed, Label, Registry};
//!
//! // A short WAV with the rhythm cue at the start, made with hound...
//! let spec = hound::WavSpec { channels: 1, sample_rate: 8_000, bits_per_sample: 16,
//!                             sample_format: hound::SampleFormat::Int };
//! let mut plain = Cursor::new(Vec::new());
//! let mut w = hound::WavWriter::new(&mut plain, spec).unwrap();
//! for _ in 0..800 { w.write_sample(0i16).unwrap(); }
//! w.finalize().unwrap();
//! let mut stamped = Cursor::new(Vec::new());
//! plain.set_position(0);
//! cue::stamp_wav(&mut plain, &mut stamped, &cue::Cue::default(), &[cue::At::Start], &cue::Mode::Insert)?;
//!
//! // ...then the implicit label in an `AIGC` chunk.
//! let registry = carriers().into_iter().fold(Registry::new(), Registry::with);
//! let label = Label::new("001191440300708461136T1XGW3", "clip-0001");
//! let mut labelled = Vec::new();
//! stamped.set_position(0);
//! embed::embed(&registry, &mut stamped, &mut labelled, &label, &Default::default())?;
//! let report = aigc_label_core::inspect(&registry, &mut Cursor::new(&labelled), &Default::default())?;
//! assert_eq!(report.format, "wav");
//! assert_eq!(report.label(), Some(label));
//! # let _ = Wav;
//! # Ok::<(), aigc_label_core::Error>(())
//! ```
// A panic on uploaded bytes is a crash an uploader can trigger: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod aiff;
mod common;
pub mod cue;
pub mod flac;
mod id3;
mod id3_chunk;
pub mod in_place;
pub mod mp3;
pub mod ogg;
mod riff;
mod stamp_file;
mod vorbis_comment;
pub mod wav;
mod wav_room;

pub use aiff::Aiff;
pub use flac::Flac;
pub use mp3::Mp3;
pub use ogg::Ogg;
pub use stamp_file::{StampProgress, Stamped, fuzz_readers, stamp_file, stamp_file_with_progress};
pub use wav::Wav;

use aigc_label_core::Carrier;

/// The audio carriers, for a [`aigc_label_core::Registry`]. Their magic bytes do not overlap
/// (`RIFF`/`RF64`/`BW64` + `WAVE`, `ID3` or an MPEG audio sync word, `fLaC`, `OggS`, `FORM` +
/// `AIFF`/`AIFC`), so the order does not matter.
pub fn carriers() -> [&'static dyn Carrier; 5] {
    [&Wav, &Mp3, &Flac, &Ogg, &Aiff]
}
