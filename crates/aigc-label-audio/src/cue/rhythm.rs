//! The rhythm cue: short-long short-short, Morse `.- ..` for "AI" (spec section 5, audio).
//!
//! The standard fixes the rhythm but no tone or timing; the defaults here (800 Hz, 120 ms unit,
//! dash 3 units, 1-unit gap inside a letter, 3-unit gap between letters) are the project's, and
//! every one is a field.
//!
//! Each tone is shaped by raised-cosine ramps of [`Rhythm::fade`] centred on its nominal start
//! and end, so the envelope passes half amplitude exactly at the configured boundaries: measured
//! at the half-amplitude points, a dot lasts one unit and a gap one unit, whatever the fade. The
//! ramps keep the spectrum narrow, so there are no clicks.

use std::time::Duration;

use aigc_label_core::{Error, Result};

use super::PcmSpec;

/// Longest cue rendered, in seconds (a bound on the buffer, far above any sensible cue).
const MAX_SECONDS: f64 = 600.0;

/// The rhythm cue's settings. [`Rhythm::default`] gives the spec's short-long short-short.
#[derive(Debug, Clone, PartialEq)]
pub struct Rhythm {
    /// The pattern: `.` a dot, `-` a dash, a space between letters. Default `".- .."`.
    pub pattern: String,
    /// Tone frequency in hertz (default 800). Must be below half the sample rate.
    pub frequency_hz: f32,
    /// The Morse unit (default 120 ms).
    pub unit: Duration,
    /// Dot length in units (default 1).
    pub dot_units: f32,
    /// Dash length in units (default 3).
    pub dash_units: f32,
    /// Gap between the tones of one letter, in units (default 1).
    pub symbol_gap_units: f32,
    /// Gap between letters, in units (default 3).
    pub letter_gap_units: f32,
    /// Length of each raised-cosine ramp, centred on a tone boundary (default 5 ms).
    pub fade: Duration,
    /// Peak level in dBFS (default -6); at most 0 so the cue never clips.
    pub level_dbfs: f32,
    /// Silence before the first tone (default one unit; never less than half a fade).
    pub silence_before: Duration,
    /// Silence after the last tone (default one unit; never less than half a fade).
    pub silence_after: Duration,
}

impl Default for Rhythm {
    fn default() -> Self {
        Rhythm {
            pattern: ".- ..".into(),
            frequency_hz: 800.0,
            unit: Duration::from_millis(120),
            dot_units: 1.0,
            dash_units: 3.0,
            symbol_gap_units: 1.0,
            letter_gap_units: 3.0,
            fade: Duration::from_millis(5),
            level_dbfs: -6.0,
            silence_before: Duration::from_millis(120),
            silence_after: Duration::from_millis(120),
        }
    }
}

impl Rhythm {
    /// The tones as `(start, end)` in seconds from the start of the rendered cue, measured at
    /// half amplitude.
    ///
    /// # Errors
    /// [`Error::Parameter`] for an invalid pattern or timing (see [`Rhythm::check`]).
    pub fn tones(&self) -> Result<Vec<(f64, f64)>> {
        self.check()?;
        let unit = self.unit.as_secs_f64();
        let mut t = self.lead();
        let mut tones = Vec::new();
        let mut prev_was_tone = false;
        for c in self.pattern.chars() {
            match c {
                '.' | '-' => {
                    if prev_was_tone {
                        t += f64::from(self.symbol_gap_units) * unit;
                    }
                    let units = if c == '.' { self.dot_units } else { self.dash_units };
                    let end = t + f64::from(units) * unit;
                    tones.push((t, end));
                    t = end;
                    prev_was_tone = true;
                }
                _ => {
                    if prev_was_tone {
                        t += f64::from(self.letter_gap_units) * unit;
                    }
                    prev_was_tone = false;
                }
            }
        }
        Ok(tones)
    }

    /// Length of the rendered cue, silences included.
    ///
    /// # Errors
    /// As [`Rhythm::tones`].
    pub fn duration(&self) -> Result<Duration> {
        let end = self.tones()?.last().map_or(0.0, |t| t.1);
        Ok(Duration::from_secs_f64(end + self.tail()))
    }

    fn half_fade(&self) -> f64 {
        self.fade.as_secs_f64() / 2.0
    }

    fn lead(&self) -> f64 {
        self.silence_before.as_secs_f64().max(self.half_fade())
    }

    fn tail(&self) -> f64 {
        self.silence_after.as_secs_f64().max(self.half_fade())
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::Parameter`] when the pattern has no tone or a character other than `.`, `-`
    /// and space; a length is not positive and finite; the fade is longer than the shortest tone
    /// or gap; the level is above 0 dBFS; or the frequency is not positive.
    pub fn check(&self) -> Result<()> {
        let bad = |what: String| Err(Error::parameter("rhythm", what));
        if !self.pattern.chars().all(|c| matches!(c, '.' | '-' | ' ')) {
            return bad(format!("rhythm pattern {:?}: only '.', '-' and ' '", self.pattern));
        }
        if !self.pattern.contains(['.', '-']) {
            return bad("rhythm pattern has no tone".into());
        }
        let units = [
            self.dot_units,
            self.dash_units,
            self.symbol_gap_units,
            self.letter_gap_units,
        ];
        if units.iter().any(|u| !u.is_finite() || *u <= 0.0) || self.unit.is_zero() {
            return bad("rhythm lengths must be positive".into());
        }
        let shortest = units.iter().copied().fold(f32::INFINITY, f32::min);
        if self.fade.as_secs_f64() > f64::from(shortest) * self.unit.as_secs_f64() {
            return bad("fade longer than the shortest tone or gap".into());
        }
        if !self.level_dbfs.is_finite() || self.level_dbfs > 0.0 {
            return bad(format!("level {} dBFS would clip", self.level_dbfs));
        }
        if !self.frequency_hz.is_finite() || self.frequency_hz <= 0.0 {
            return bad(format!("tone frequency {} Hz", self.frequency_hz));
        }
        Ok(())
    }

    /// Renders the cue for `spec` as interleaved samples in `[-1, 1]`, the same signal on every
    /// channel.
    ///
    /// # Errors
    /// [`Error::Parameter`] for invalid settings (see [`Rhythm::check`]), an invalid layout, or a
    /// tone at or above half the sample rate.
    pub fn render(&self, spec: &PcmSpec) -> Result<Vec<f32>> {
        spec.check::<f32>()?;
        let tones = self.tones()?;
        let rate = f64::from(spec.sample_rate);
        if f64::from(self.frequency_hz) >= rate / 2.0 {
            return Err(Error::parameter(
                "rhythm",
                format!("{} Hz tone at {} Hz sample rate", self.frequency_hz, spec.sample_rate),
            ));
        }
        let seconds = self.duration()?.as_secs_f64();
        if seconds > MAX_SECONDS {
            return Err(Error::parameter("rhythm", format!("a {seconds:.0} s cue is too long")));
        }
        let frames = spec.frame_at(seconds) as usize;
        let ch = usize::from(spec.channels);
        let amplitude = 10f64.powf(f64::from(self.level_dbfs) / 20.0);
        let half = self.half_fade();
        let omega = 2.0 * std::f64::consts::PI * f64::from(self.frequency_hz);
        let mut out = vec![0f32; frames * ch];
        for &(start, end) in &tones {
            let first = ((start - half) * rate).floor().max(0.0) as usize;
            let last = (((end + half) * rate).ceil() as usize).min(frames);
            for n in first..last {
                let t = n as f64 / rate;
                let env = envelope(t, start, end, half);
                if env <= 0.0 {
                    continue;
                }
                let v = (amplitude * env * (omega * (t - start + half)).sin()) as f32;
                for s in &mut out[n * ch..(n + 1) * ch] {
                    *s = v;
                }
            }
        }
        Ok(out)
    }
}

/// The tone envelope at `t`: 0 before `start - half`, a raised-cosine ramp to 1 at
/// `start + half`, 1 until `end - half`, a ramp back to 0 at `end + half`.
fn envelope(t: f64, start: f64, end: f64, half: f64) -> f64 {
    let ramp = |x: f64| {
        if half <= 0.0 {
            return if x >= 0.0 { 1.0 } else { 0.0 };
        }
        let u = ((x + half) / (2.0 * half)).clamp(0.0, 1.0);
        0.5 - 0.5 * (std::f64::consts::PI * u).cos()
    };
    ramp(t - start).min(ramp(end - t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_timing_is_short_long_short_short() {
        let r = Rhythm::default();
        let tones = r.tones().unwrap();
        let ms: Vec<(u32, u32)> = tones
            .iter()
            .map(|&(a, b)| ((a * 1000.0).round() as u32, (b * 1000.0).round() as u32))
            .collect();
        assert_eq!(ms, [(120, 240), (360, 720), (1080, 1200), (1320, 1440)]);
        assert_eq!(r.duration().unwrap(), Duration::from_millis(1560));
    }

    #[test]
    fn envelope_is_half_at_the_boundaries() {
        assert!((envelope(1.0, 1.0, 2.0, 0.0025) - 0.5).abs() < 1e-12);
        assert!((envelope(2.0, 1.0, 2.0, 0.0025) - 0.5).abs() < 1e-12);
        assert_eq!(envelope(0.9, 1.0, 2.0, 0.0025), 0.0);
        assert_eq!(envelope(1.5, 1.0, 2.0, 0.0025), 1.0);
    }

    #[test]
    fn renders_at_the_level_without_clipping() {
        let r = Rhythm::default();
        let spec = PcmSpec::new(8_000, 2);
        let s = r.render(&spec).unwrap();
        assert_eq!(s.len(), 2 * 12_480);
        let peak = s.iter().fold(0f32, |m, v| m.max(v.abs()));
        // -6 dBFS is 0.501; at 8 kHz the samples may miss the crest of an 800 Hz sine by 18°.
        assert!(peak <= 0.502 && peak > 0.501 * 0.95, "{peak}");
        assert_eq!(s[0], 0.0);
        assert!(s.chunks(2).all(|f| f[0] == f[1]));
    }

    #[test]
    fn bad_settings_are_parameter_errors() {
        let spec = PcmSpec::new(8_000, 1);
        let mut r = Rhythm {
            pattern: ".x".into(),
            ..Rhythm::default()
        };
        assert!(r.render(&spec).is_err());
        r.pattern = "  ".into();
        assert!(r.render(&spec).is_err());
        r = Rhythm {
            level_dbfs: 3.0,
            ..Rhythm::default()
        };
        assert!(r.render(&spec).is_err());
        r = Rhythm {
            frequency_hz: 4_000.0,
            ..Rhythm::default()
        };
        assert!(r.render(&spec).is_err());
        r = Rhythm {
            fade: Duration::from_millis(200),
            ..Rhythm::default()
        };
        assert!(r.render(&spec).is_err());
    }
}
