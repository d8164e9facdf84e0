//! Per-turn cues for interactive audio (spec section 5, audio: in high-frequency interactive
//! audio, the prompt goes with each conversational turn).
//!
//! A voice assistant produces audio as a stream of chunks, turn after turn. [`TurnCues`] wraps
//! any iterator of [`TurnEvent`]s and puts the cue in front of the first chunk of every turn
//! (and, if asked, before each [`TurnEvent::EndOfTurn`]). It never looks ahead more than one
//! event and holds no buffer but the rendered cue, so its memory does not depend on how long a
//! turn lasts; the cue itself is handed out in small chunks like the audio around it.

use aigc_label_core::{Error, Result};

use super::{Cue, PcmSpec, Rendered, Sample};

/// One event of an interactive audio stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnEvent<S> {
    /// Interleaved samples (whole frames) of the current turn.
    Audio(Vec<S>),
    /// The current turn is over; the next audio starts a new turn.
    EndOfTurn,
}

/// Options for [`TurnCues`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TurnOptions {
    /// Also play the cue at the end of each turn (default false).
    pub at_end: bool,
    /// Frames per emitted cue chunk (default 20 ms worth, at least 1).
    pub chunk_frames: Option<usize>,
}

/// An iterator adapter that labels each turn of an interactive audio stream with a cue.
///
/// ```
/// use aigc_label_audio::cue::{Cue, PcmSpec, Rhythm, TurnCues, TurnEvent, TurnOptions};
/// let spec = PcmSpec::new(16_000, 1);
/// let turns = vec![
///     TurnEvent::Audio(vec![7i16; 320]),
///     TurnEvent::Audio(vec![7i16; 320]),
///     TurnEvent::EndOfTurn,
///     TurnEvent::Audio(vec![9i16; 320]),
///     TurnEvent::EndOfTurn,
/// ];
/// let labelled = TurnCues::new(turns, &Cue::Rhythm(Rhythm::default()), &spec, TurnOptions::default())?;
/// let audio: usize = labelled
///     .map(|e| match e { TurnEvent::Audio(s) => s.len(), TurnEvent::EndOfTurn => 0 })
///     .sum();
/// assert_eq!(audio, 3 * 320 + 2 * 24_960); // two turns, two 1.56 s cues
/// # Ok::<(), aigc_label_core::Error>(())
/// ```
#[derive(Debug)]
pub struct TurnCues<I, S> {
    inner: I,
    cue: Vec<S>,
    chunk: usize,
    at_end: bool,
    in_turn: bool,
    /// Position in the cue being emitted, if one is.
    emitting: Option<usize>,
    /// The event that follows the cue being emitted.
    pending: Option<TurnEvent<S>>,
}

impl<I, S> TurnCues<I, S>
where
    I: Iterator<Item = TurnEvent<S>>,
    S: Sample,
{
    /// Wraps `events`, rendering `cue` once for `spec`.
    ///
    /// # Errors
    /// [`Error::Parameter`] for invalid cue settings or layout.
    pub fn new(
        events: impl IntoIterator<IntoIter = I>,
        cue: &Cue,
        spec: &PcmSpec,
        options: TurnOptions,
    ) -> Result<Self> {
        spec.check::<S>()?;
        let rendered = Rendered::new(cue, spec)?;
        let ch = usize::from(spec.channels);
        let frames = options.chunk_frames.unwrap_or(spec.sample_rate as usize / 50).max(1);
        let chunk = frames
            .checked_mul(ch)
            .ok_or_else(|| Error::parameter("cue chunk", "size overflows"))?;
        Ok(TurnCues {
            inner: events.into_iter(),
            cue: rendered.to_samples(),
            chunk,
            at_end: options.at_end,
            in_turn: false,
            emitting: None,
            pending: None,
        })
    }

    /// The next piece of the cue, or the event it was played in front of.
    fn continue_cue(&mut self, pos: usize) -> Option<TurnEvent<S>> {
        if let Some(piece) = self.cue.get(pos..) {
            if !piece.is_empty() {
                let n = piece.len().min(self.chunk);
                self.emitting = Some(pos + n);
                return Some(TurnEvent::Audio(piece[..n].to_vec()));
            }
        }
        self.emitting = None;
        self.pending.take()
    }
}

impl<I, S> Iterator for TurnCues<I, S>
where
    I: Iterator<Item = TurnEvent<S>>,
    S: Sample,
{
    type Item = TurnEvent<S>;

    fn next(&mut self) -> Option<TurnEvent<S>> {
        if let Some(pos) = self.emitting {
            if let Some(event) = self.continue_cue(pos) {
                return Some(event);
            }
        }
        let event = self.inner.next()?;
        let starts_cue = match &event {
            TurnEvent::Audio(samples) => !self.in_turn && !samples.is_empty(),
            TurnEvent::EndOfTurn => self.in_turn && self.at_end,
        };
        self.in_turn = match &event {
            TurnEvent::Audio(samples) => self.in_turn || !samples.is_empty(),
            TurnEvent::EndOfTurn => false,
        };
        if !starts_cue {
            return Some(event);
        }
        self.pending = Some(event);
        self.continue_cue(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cue::Rhythm;

    fn count(events: &[TurnEvent<i16>]) -> (Vec<usize>, usize) {
        let mut audio = Vec::new();
        let mut ends = 0;
        for e in events {
            match e {
                TurnEvent::Audio(s) => audio.push(s.len()),
                TurnEvent::EndOfTurn => ends += 1,
            }
        }
        (audio, ends)
    }

    #[test]
    fn cue_at_start_and_end_of_each_turn_in_small_chunks() {
        let spec = PcmSpec::new(8_000, 1);
        let events = vec![
            TurnEvent::Audio(vec![1i16; 100]),
            TurnEvent::EndOfTurn,
            TurnEvent::EndOfTurn,
            TurnEvent::Audio(vec![]),
            TurnEvent::Audio(vec![2i16; 100]),
            TurnEvent::EndOfTurn,
        ];
        let options = TurnOptions {
            at_end: true,
            chunk_frames: Some(5_000),
        };
        let out: Vec<_> = TurnCues::new(events, &Cue::Rhythm(Rhythm::default()), &spec, options)
            .unwrap()
            .collect();
        let (audio, ends) = count(&out);
        // 12_480-frame cue in chunks of 5_000: 5_000, 5_000, 2_480.
        // The empty chunk between turns passes through without starting a turn.
        let cue = [5_000, 5_000, 2_480];
        assert_eq!(
            audio,
            [&cue[..], &[100], &cue[..], &[0], &cue[..], &[100], &cue[..]].concat()
        );
        assert_eq!(ends, 3);
    }
}
