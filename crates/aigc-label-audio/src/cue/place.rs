//! Placing a cue in content: at the start, the end, or chosen middle points (spec section 5,
//! audio: "at the start, the end, or a suitable middle point"), by insertion or by mixing.
//!
//! Insertion splices the cue in: every original sample is kept, bit for bit, only shifted.
//! Mixing lays the cue over the content and ducks the content under it (raised-cosine gain
//! ramps before and after), so the length does not change; samples outside the ducked spans are
//! left untouched.
//!
//! Both work chunk by chunk ([`Inserter`], [`Mixer`]) so files and streams never have to be held
//! whole; the slice functions ([`insert`], [`mix`]) are the same engines run over one chunk.

use std::time::Duration;

use aigc_label_core::{Error, Result};

use super::{Cue, PcmSpec, Sample};

/// Where a cue goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum At {
    /// Before the first sample.
    Start,
    /// After the last sample (when mixing: ending with the last sample).
    End,
    /// At this frame (one sample per channel) from the start.
    Frame(u64),
    /// At this time from the start, rounded to the nearest frame.
    Time(Duration),
    /// At this share of the content, in hundredths of a percent (`5000` is half-way).
    Percent(u32),
}

impl At {
    /// The frame a middle position (`Frame`, `Time`, `Percent`) names in content of
    /// `content_frames` frames; `None` for `Start` and `End`.
    pub fn frame_in(&self, spec: &PcmSpec, content_frames: u64) -> Option<u64> {
        match self {
            At::Start | At::End => None,
            At::Frame(f) => Some(*f),
            At::Time(t) => Some(spec.frame_at(t.as_secs_f64())),
            At::Percent(p) => Some((u128::from(content_frames) * u128::from(*p) / 10_000) as u64),
        }
    }
}

impl std::str::FromStr for At {
    type Err = Error;

    /// Parses `start`, `end`, a time (`1.5s`, `250ms`), a share of the content (`50%`, up to
    /// `100%`) or a frame number (`48000`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use aigc_label_audio::cue::At;
    /// assert_eq!("start".parse::<At>()?, At::Start);
    /// assert_eq!("1.5s".parse::<At>()?, At::Time(Duration::from_millis(1500)));
    /// assert_eq!("250ms".parse::<At>()?, At::Time(Duration::from_millis(250)));
    /// assert_eq!("48000".parse::<At>()?, At::Frame(48_000));
    /// assert_eq!("12.5%".parse::<At>()?, At::Percent(1250));
    /// assert!("150%".parse::<At>().is_err());
    /// assert!("soon".parse::<At>().is_err());
    /// # Ok::<(), aigc_label_core::Error>(())
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let bad = || {
            Error::parameter(
                "cue position",
                format!("{s:?}: use start, end, 1.5s, 250ms, 50% or a frame number"),
            )
        };
        let seconds = |t: &str, scale: f64| -> Result<At> {
            let v: f64 = t.trim().parse().map_err(|_| bad())?;
            Duration::try_from_secs_f64(v * scale).map(At::Time).map_err(|_| bad())
        };
        match s.to_ascii_lowercase().as_str() {
            "start" => Ok(At::Start),
            "end" => Ok(At::End),
            t if t.ends_with('%') => {
                let v: f64 = t[..t.len() - 1].trim().parse().map_err(|_| bad())?;
                if !(0.0..=100.0).contains(&v) {
                    return Err(bad());
                }
                Ok(At::Percent((v * 100.0).round() as u32))
            }
            t if t.ends_with("ms") => seconds(&t[..t.len() - 2], 1e-3),
            t if t.ends_with('s') => seconds(&t[..t.len() - 1], 1.0),
            t => t.parse().map(At::Frame).map_err(|_| bad()),
        }
    }
}

/// Parses a comma-separated list of positions, as a command line gives them
/// (`start,end,30s`).
///
/// # Errors
/// [`Error::Parameter`] for an empty list or a position that does not parse.
pub fn parse_positions(list: &str) -> Result<Vec<At>> {
    let at: Vec<At> = list
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(str::parse)
        .collect::<Result<_>>()?;
    if at.is_empty() {
        return Err(Error::parameter("cue position", "none given"));
    }
    Ok(at)
}

/// How a cue meets the content.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Splice the cue in; the content's samples shift but are otherwise unchanged.
    Insert,
    /// Lay the cue over the content, lowering the content under it.
    Mix(Ducking),
}

/// How far and how smoothly content is lowered under a mixed cue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ducking {
    /// Gain applied to the content under the cue, in dB (default -15).
    pub gain_db: f32,
    /// Length of the raised-cosine ramps into and out of the ducked span (default 20 ms).
    pub ramp: Duration,
}

impl Default for Ducking {
    fn default() -> Self {
        Ducking {
            gain_db: -15.0,
            ramp: Duration::from_millis(20),
        }
    }
}

/// A cue rendered for one layout: interleaved samples in `[-1, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    spec: PcmSpec,
    samples: Vec<f32>,
}

impl Rendered {
    /// Renders `cue` for `spec`.
    ///
    /// # Errors
    /// [`Error::Parameter`] for invalid cue settings or layout.
    pub fn new(cue: &Cue, spec: &PcmSpec) -> Result<Self> {
        let samples = match cue {
            Cue::Rhythm(r) => r.render(spec)?,
            Cue::Voice(v) => v.render(spec)?,
        };
        Ok(Rendered { spec: *spec, samples })
    }

    /// The layout rendered for.
    pub fn spec(&self) -> PcmSpec {
        self.spec
    }

    /// Frames in the cue.
    pub fn frames(&self) -> u64 {
        (self.samples.len() / usize::from(self.spec.channels.max(1))) as u64
    }

    /// The samples as `f32` in `[-1, 1]`.
    pub fn as_f32(&self) -> &[f32] {
        &self.samples
    }

    /// The samples converted to `S` with the layout's significant bits.
    pub fn to_samples<S: Sample>(&self) -> Vec<S> {
        self.samples.iter().map(|&x| S::from_unit(x, self.spec.bits)).collect()
    }

    fn check_layout(&self, spec: &PcmSpec) -> Result<()> {
        if self.spec.sample_rate != spec.sample_rate || self.spec.channels != spec.channels {
            return Err(Error::parameter("layout", "the cue was rendered for another layout"));
        }
        Ok(())
    }
}

/// Frame positions of `at`, sorted, for content of `content_frames` frames.
///
/// # Errors
/// [`Error::Parameter`] for a position past the end of the content.
pub fn resolve(at: &[At], spec: &PcmSpec, content_frames: u64, cue_frames: u64, mode: &Mode) -> Result<Vec<u64>> {
    let mut out = Vec::with_capacity(at.len());
    for a in at {
        let frame = match (a, mode) {
            (At::Start, _) => 0,
            (At::End, Mode::Insert) => content_frames,
            (At::End, Mode::Mix(_)) => content_frames.saturating_sub(cue_frames),
            (middle, _) => middle.frame_in(spec, content_frames).unwrap_or(0),
        };
        if frame > content_frames {
            return Err(Error::parameter(
                "cue position",
                format!("{frame} is past the content's {content_frames} frames"),
            ));
        }
        out.push(frame);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Inserts a cue before given frames of content that arrives chunk by chunk.
#[derive(Debug)]
pub struct Inserter<S: Sample> {
    cue: Vec<S>,
    channels: usize,
    positions: Vec<u64>,
    next: usize,
    frame: u64,
}

impl<S: Sample> Inserter<S> {
    /// An inserter of `cue` before each frame in `positions` (sorted, see [`resolve`]).
    ///
    /// # Errors
    /// [`Error::Parameter`] when the cue was rendered for another layout.
    pub fn new(cue: &Rendered, spec: &PcmSpec, positions: Vec<u64>) -> Result<Self> {
        cue.check_layout(spec)?;
        Ok(Inserter {
            cue: cue.to_samples(),
            channels: usize::from(spec.channels),
            positions,
            next: 0,
            frame: 0,
        })
    }

    /// Appends `chunk` (whole frames) to `out`, with the cue wherever a position falls in it.
    ///
    /// # Errors
    /// [`Error::Parameter`] when `chunk` is not a whole number of frames.
    pub fn push(&mut self, chunk: &[S], out: &mut Vec<S>) -> Result<()> {
        if chunk.len() % self.channels != 0 {
            return Err(Error::parameter("chunk", "not a whole number of frames"));
        }
        let frames = (chunk.len() / self.channels) as u64;
        let mut done = 0u64;
        while let Some(&p) = self.positions.get(self.next) {
            if p >= self.frame + frames {
                break;
            }
            let split = (p.max(self.frame) - self.frame) as usize;
            out.extend_from_slice(&chunk[done as usize * self.channels..split * self.channels]);
            out.extend_from_slice(&self.cue);
            done = split as u64;
            self.next += 1;
        }
        out.extend_from_slice(&chunk[done as usize * self.channels..]);
        self.frame += frames;
        Ok(())
    }

    /// Appends the cues placed at the very end.
    pub fn finish(&mut self, out: &mut Vec<S>) {
        while self.positions.get(self.next).is_some_and(|&p| p >= self.frame) {
            out.extend_from_slice(&self.cue);
            self.next += 1;
        }
    }
}

/// Mixes a cue over content that arrives chunk by chunk, ducking the content under it.
#[derive(Debug)]
pub struct Mixer {
    cue: Vec<f32>,
    cue_frames: u64,
    channels: usize,
    bits: u16,
    positions: Vec<u64>,
    gain: f32,
    ramp: u64,
    frame: u64,
}

impl Mixer {
    /// A mixer of `cue` at each frame in `positions` (sorted, see [`resolve`]).
    ///
    /// # Errors
    /// [`Error::Parameter`] when the cue was rendered for another layout or the ducking gain is
    /// not a finite number of decibels at most 0.
    pub fn new(cue: &Rendered, spec: &PcmSpec, positions: Vec<u64>, ducking: &Ducking) -> Result<Self> {
        cue.check_layout(spec)?;
        if !ducking.gain_db.is_finite() || ducking.gain_db > 0.0 {
            return Err(Error::parameter("ducking gain", format!("{} dB", ducking.gain_db)));
        }
        Ok(Mixer {
            cue: cue.samples.clone(),
            cue_frames: cue.frames(),
            channels: usize::from(spec.channels),
            bits: spec.bits,
            positions,
            gain: 10f32.powf(ducking.gain_db / 20.0),
            ramp: spec.frame_at(ducking.ramp.as_secs_f64()),
            frame: 0,
        })
    }

    /// The content gain at frame `f` for a cue starting at `p`: 1 outside, the ducking gain
    /// under the cue, raised-cosine ramps of `ramp` frames either side.
    fn gain_at(&self, f: u64, p: u64) -> f32 {
        let end = p + self.cue_frames;
        let depth = 1.0 - self.gain;
        let shape = |k: u64| {
            let u = k as f64 / self.ramp.max(1) as f64;
            (0.5 - 0.5 * (std::f64::consts::PI * u).cos()) as f32
        };
        if f >= p && f < end {
            self.gain
        } else if f < p && p - f <= self.ramp {
            1.0 - depth * shape(self.ramp - (p - f))
        } else if f >= end && f - end < self.ramp {
            1.0 - depth * shape(self.ramp - (f - end) - 1)
        } else {
            1.0
        }
    }

    /// Mixes the cues into `chunk` (whole frames) in place; frames away from every cue are not
    /// touched.
    ///
    /// # Errors
    /// [`Error::Parameter`] when `chunk` is not a whole number of frames.
    pub fn apply<S: Sample>(&mut self, chunk: &mut [S]) -> Result<()> {
        if chunk.len() % self.channels != 0 {
            return Err(Error::parameter("chunk", "not a whole number of frames"));
        }
        let frames = (chunk.len() / self.channels) as u64;
        let (first, last) = (self.frame, self.frame + frames);
        for &p in &self.positions {
            let from = p.saturating_sub(self.ramp).max(first);
            let to = (p + self.cue_frames + self.ramp).min(last);
            for f in from..to {
                // The lowest gain of any cue whose ducked span covers f, and the sum of their samples.
                let near = self
                    .positions
                    .iter()
                    .filter(|&&q| f + self.ramp >= q && f < q + self.cue_frames + self.ramp);
                if near.clone().next() != Some(&p) {
                    continue; // handled with the first cue that covers f
                }
                let gain = near.clone().map(|&q| self.gain_at(f, q)).fold(1.0, f32::min);
                let at = ((f - first) as usize) * self.channels;
                for c in 0..self.channels {
                    let add: f32 = near
                        .clone()
                        .filter(|&&q| f >= q && f < q + self.cue_frames)
                        .map(|&q| self.cue[((f - q) as usize) * self.channels + c])
                        .sum();
                    let s = &mut chunk[at + c];
                    *s = S::from_unit(s.to_unit(self.bits) * gain + add, self.bits);
                }
            }
        }
        self.frame = last;
        Ok(())
    }
}

/// `content` with `cue` inserted at each position of `at`; the original samples are kept.
///
/// # Errors
/// [`Error::Parameter`] for a partial frame, a position past the end, or a cue rendered for
/// another layout.
///
/// ```
/// use aigc_label_audio::cue::{insert, At, Cue, PcmSpec, Rendered, Rhythm};
/// let spec = PcmSpec::new(8_000, 1);
/// let content = vec![1000i16; 8_000];
/// let cue = Rendered::new(&Cue::Rhythm(Rhythm::default()), &spec)?;
/// let out = insert(&content, &spec, &cue, &[At::Start])?;
/// assert_eq!(out.len() as u64, 8_000 + cue.frames());
/// assert_eq!(&out[cue.frames() as usize..], &content[..]);
/// # Ok::<(), aigc_label_core::Error>(())
/// ```
pub fn insert<S: Sample>(content: &[S], spec: &PcmSpec, cue: &Rendered, at: &[At]) -> Result<Vec<S>> {
    spec.check::<S>()?;
    let frames = spec.frames_in(content.len())? as u64;
    let positions = resolve(at, spec, frames, cue.frames(), &Mode::Insert)?;
    let extra = positions.len() * cue.samples.len();
    let mut out = Vec::with_capacity(content.len() + extra);
    let mut inserter = Inserter::new(cue, spec, positions)?;
    inserter.push(content, &mut out)?;
    inserter.finish(&mut out);
    Ok(out)
}

/// Mixes `cue` into `content` in place at each position of `at`, ducking the content under it
/// by `ducking`. A cue that would run past the end is cut off there.
///
/// # Errors
/// As [`insert`]; [`Error::Parameter`] for a ducking gain above 0 dB.
pub fn mix<S: Sample>(content: &mut [S], spec: &PcmSpec, cue: &Rendered, at: &[At], ducking: &Ducking) -> Result<()> {
    spec.check::<S>()?;
    let frames = spec.frames_in(content.len())? as u64;
    let mode = Mode::Mix(*ducking);
    let positions = resolve(at, spec, frames, cue.frames(), &mode)?;
    Mixer::new(cue, spec, positions, ducking)?.apply(content)
}

/// Renders `cue` for `spec` and places it in `content` at `at` by `mode`.
///
/// # Errors
/// As [`Rendered::new`], [`insert`] and [`mix`].
pub fn stamp<S: Sample>(mut content: Vec<S>, spec: &PcmSpec, cue: &Cue, at: &[At], mode: &Mode) -> Result<Vec<S>> {
    let rendered = Rendered::new(cue, spec)?;
    match mode {
        Mode::Insert => insert(&content, spec, &rendered, at),
        Mode::Mix(ducking) => {
            mix(&mut content, spec, &rendered, at, ducking)?;
            Ok(content)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cue::Rhythm;

    fn rendered(spec: &PcmSpec) -> Rendered {
        Rendered::new(&Cue::Rhythm(Rhythm::default()), spec).unwrap()
    }

    #[test]
    fn insertion_keeps_every_sample_in_any_chunking() {
        let spec = PcmSpec::new(8_000, 2);
        let cue = rendered(&spec);
        let content: Vec<i16> = (0..20_000).map(|i| (i % 3000) as i16).collect();
        let at = [
            At::Start,
            At::Frame(4_000),
            At::Time(Duration::from_millis(1000)),
            At::End,
        ];
        let whole = insert(&content, &spec, &cue, &at).unwrap();
        let n = cue.frames() as usize * 2;
        assert_eq!(whole.len(), content.len() + 4 * n);
        assert_eq!(&whole[n..n + 8_000], &content[..8_000]);
        assert_eq!(&whole[whole.len() - n..], &cue.to_samples::<i16>()[..]);
        // Chunk boundaries do not matter.
        let positions = resolve(&at, &spec, 10_000, cue.frames(), &Mode::Insert).unwrap();
        let mut ins = Inserter::new(&cue, &spec, positions).unwrap();
        let mut out = Vec::new();
        for chunk in content.chunks(2 * 777) {
            ins.push(chunk, &mut out).unwrap();
        }
        ins.finish(&mut out);
        assert_eq!(out, whole);
    }

    #[test]
    fn mixing_ducks_only_around_the_cue() {
        let spec = PcmSpec::new(8_000, 1);
        let cue = rendered(&spec);
        let content = vec![0.25f32; 40_000];
        let mut mixed = content.clone();
        let ducking = Ducking::default();
        mix(&mut mixed, &spec, &cue, &[At::Frame(10_000)], &ducking).unwrap();
        let ramp = 160;
        assert_eq!(&mixed[..10_000 - ramp], &content[..10_000 - ramp]);
        let end = 10_000 + cue.frames() as usize;
        assert_eq!(&mixed[end + ramp..], &content[end + ramp..]);
        // Under the cue's leading silence the content is ducked by 15 dB.
        let ducked = 0.25 * 10f32.powf(-15.0 / 20.0);
        assert!((mixed[10_001] - ducked).abs() < 1e-6);
        assert!(mixed.iter().all(|x| x.abs() <= 1.0));
        // Same result chunk by chunk.
        let positions = resolve(&[At::Frame(10_000)], &spec, 40_000, cue.frames(), &Mode::Mix(ducking)).unwrap();
        let mut m = Mixer::new(&cue, &spec, positions, &ducking).unwrap();
        let mut chunked = content.clone();
        for c in chunked.chunks_mut(999) {
            m.apply(c).unwrap();
        }
        assert_eq!(chunked, mixed);
    }

    #[test]
    fn percent_positions_are_shares_of_the_content() {
        let spec = PcmSpec::new(8_000, 1);
        let at = parse_positions("50%,100%,0%").unwrap();
        assert_eq!(
            resolve(&at, &spec, 10_001, 100, &Mode::Insert).unwrap(),
            [0, 5_000, 10_001]
        );
    }

    #[test]
    fn positions_past_the_end_are_refused() {
        let spec = PcmSpec::new(8_000, 1);
        let cue = rendered(&spec);
        assert!(insert(&[0i16; 10], &spec, &cue, &[At::Frame(11)]).is_err());
        assert!(insert(&[0i16; 10], &spec, &cue, &[At::Time(Duration::from_secs(1))]).is_err());
        let other = rendered(&PcmSpec::new(16_000, 1));
        assert!(insert(&[0i16; 10], &spec, &other, &[At::Start]).is_err());
    }
}
