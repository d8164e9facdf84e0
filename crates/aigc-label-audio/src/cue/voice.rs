//! The voice prompt: the caller's own recording of a spoken label (spec section 5, audio: "a
//! spoken prompt at normal speed"), converted to the target's layout.
//!
//! The recording may have any sample rate and channel count. Channels are matched first (a mono
//! prompt goes to every channel; a multichannel prompt is averaged to mono when the channel
//! counts differ) and the rate is converted with `rubato`'s band-limited sinc resampler
//! (256-tap Blackman-Harris windowed sinc, cubic interpolation between 256 oversampled points),
//! which changes the rate without changing the speed or pitch of the speech.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use aigc_label_core::{Error, Result};
use rubato::{Resampler, SincFixedIn, SincInterpolationParameters, SincInterpolationType, WindowFunction};

use super::{PcmSpec, Sample, hound_error};

/// Longest prompt accepted, in seconds.
const MAX_SECONDS: u64 = 600;
/// Frames per resampler call.
const CHUNK: usize = 1024;

/// A recorded voice prompt, held as `f32` in its own layout until it is rendered for a target.
#[derive(Debug, Clone, PartialEq)]
pub struct VoicePrompt {
    samples: Vec<f32>,
    spec: PcmSpec,
    gain: f32,
}

impl VoicePrompt {
    /// A prompt from interleaved samples laid out as `spec`.
    ///
    /// # Errors
    /// [`Error::Parameter`] for an invalid layout, a partial frame, an empty or over-long prompt.
    pub fn from_pcm<S: Sample>(samples: &[S], spec: PcmSpec) -> Result<Self> {
        spec.check::<S>()?;
        let frames = spec.frames_in(samples.len())?;
        check_length(frames as u64, spec.sample_rate)?;
        Ok(VoicePrompt {
            samples: samples.iter().map(|s| s.to_unit(spec.bits)).collect(),
            spec: PcmSpec { bits: 0, ..spec },
            gain: 1.0,
        })
    }

    /// A prompt read from a WAV stream (8- to 32-bit integer or 32-bit float PCM) with `hound`.
    ///
    /// # Errors
    /// [`Error::Malformed`] / [`Error::Unsupported`] for WAV data `hound` cannot read; I/O errors;
    /// as [`VoicePrompt::from_pcm`].
    pub fn from_wav<R: Read>(reader: R) -> Result<Self> {
        let mut wav = hound::WavReader::new(reader).map_err(hound_error)?;
        let ws = wav.spec();
        check_length(u64::from(wav.duration()), ws.sample_rate)?;
        let spec = PcmSpec::new(ws.sample_rate, ws.channels);
        match ws.sample_format {
            hound::SampleFormat::Float => {
                let s: Vec<f32> = wav.samples::<f32>().collect::<Result<_, _>>().map_err(hound_error)?;
                VoicePrompt::from_pcm(&s, spec)
            }
            hound::SampleFormat::Int => {
                let s: Vec<i32> = wav.samples::<i32>().collect::<Result<_, _>>().map_err(hound_error)?;
                VoicePrompt::from_pcm(&s, spec.with_bits(ws.bits_per_sample))
            }
        }
    }

    /// A prompt read from a WAV file.
    ///
    /// # Errors
    /// As [`VoicePrompt::from_wav`].
    pub fn from_wav_file(path: impl AsRef<Path>) -> Result<Self> {
        let file = std::fs::File::open(path)?;
        VoicePrompt::from_wav(std::io::BufReader::new(file))
    }

    /// This prompt played `db` decibels louder (negative: quieter); samples still clamp at full
    /// scale.
    pub fn with_gain_db(mut self, db: f32) -> Self {
        self.gain = 10f32.powf(db / 20.0);
        self
    }

    /// The recording's own layout.
    pub fn spec(&self) -> PcmSpec {
        self.spec
    }

    /// The prompt's length.
    pub fn duration(&self) -> Duration {
        let frames = self.samples.len() / usize::from(self.spec.channels.max(1));
        Duration::from_secs_f64(frames as f64 / f64::from(self.spec.sample_rate))
    }

    /// The prompt in `target`'s rate and channel count, interleaved, in `[-1, 1]`.
    ///
    /// # Errors
    /// [`Error::Parameter`] for an invalid target layout or when the resampler refuses the ratio.
    pub fn render(&self, target: &PcmSpec) -> Result<Vec<f32>> {
        target.check::<f32>()?;
        let planar = map_channels(&self.samples, self.spec.channels, target.channels);
        let planar = resample(planar, self.spec.sample_rate, target.sample_rate)?;
        let frames = planar.first().map_or(0, Vec::len);
        let mut out = Vec::with_capacity(frames * planar.len());
        for i in 0..frames {
            for ch in &planar {
                out.push((ch[i] * self.gain).clamp(-1.0, 1.0));
            }
        }
        Ok(out)
    }
}

fn check_length(frames: u64, rate: u32) -> Result<()> {
    if frames == 0 {
        return Err(Error::parameter("voice prompt", "empty"));
    }
    if frames > MAX_SECONDS * u64::from(rate) {
        return Err(Error::parameter("voice prompt", format!("longer than {MAX_SECONDS} s")));
    }
    Ok(())
}

/// Interleaved `from`-channel samples as `to` planar channels.
fn map_channels(samples: &[f32], from: u16, to: u16) -> Vec<Vec<f32>> {
    let from = usize::from(from.max(1));
    let to = usize::from(to.max(1));
    if from == to {
        return (0..to)
            .map(|c| samples.iter().skip(c).step_by(from).copied().collect())
            .collect();
    }
    let mono: Vec<f32> = samples
        .chunks_exact(from)
        .map(|f| f.iter().sum::<f32>() / from as f32)
        .collect();
    vec![mono; to]
}

/// Converts planar channels from rate `from` to rate `to`; the output starts with the input's
/// first instant and lasts as long. (`SincFixedIn` starts reading half a filter length back,
/// so its output lines up with its input to within a few output frames; the test
/// `resampling_does_not_shift_the_prompt` holds it to a millisecond.)
fn resample(planar: Vec<Vec<f32>>, from: u32, to: u32) -> Result<Vec<Vec<f32>>> {
    if from == to {
        return Ok(planar);
    }
    let channels = planar.len();
    let in_frames = planar.first().map_or(0, Vec::len);
    let ratio = f64::from(to) / f64::from(from);
    let params = SincInterpolationParameters {
        sinc_len: 256,
        f_cutoff: 0.95,
        interpolation: SincInterpolationType::Cubic,
        oversampling_factor: 256,
        window: WindowFunction::BlackmanHarris2,
    };
    let rubato = |e: &dyn std::fmt::Display| Error::parameter("resampler", e.to_string());
    let mut r = SincFixedIn::<f32>::new(ratio, 1.0, params, CHUNK, channels).map_err(|e| rubato(&e))?;
    let want = (in_frames as f64 * ratio).ceil() as usize;
    let mut out: Vec<Vec<f32>> = vec![Vec::with_capacity(want + CHUNK * 4); channels];
    let append = |out: &mut Vec<Vec<f32>>, block: Vec<Vec<f32>>| {
        for (o, b) in out.iter_mut().zip(block) {
            o.extend_from_slice(&b);
        }
    };
    let mut pos = 0;
    while pos < in_frames {
        let end = (pos + CHUNK).min(in_frames);
        let block: Vec<&[f32]> = planar.iter().map(|c| &c[pos..end]).collect();
        let produced = if end - pos == CHUNK {
            r.process(&block, None)
        } else {
            r.process_partial(Some(&block), None)
        }
        .map_err(|e| rubato(&e))?;
        append(&mut out, produced);
        pos = end;
    }
    // Flush the filter's tail; each call yields about CHUNK * ratio frames.
    let mut rounds = 0;
    while out.first().map_or(0, Vec::len) < want && rounds < 64 {
        let produced = r.process_partial::<&[f32]>(None, None).map_err(|e| rubato(&e))?;
        append(&mut out, produced);
        rounds += 1;
    }
    for ch in &mut out {
        ch.resize(want, 0.0);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, hz: f64, frames: usize) -> Vec<f32> {
        (0..frames)
            .map(|n| (0.5 * (2.0 * std::f64::consts::PI * hz * n as f64 / f64::from(rate)).sin()) as f32)
            .collect()
    }

    #[test]
    fn resampling_keeps_duration_frequency_and_level() {
        let prompt = VoicePrompt::from_pcm(&sine(16_000, 440.0, 16_000), PcmSpec::new(16_000, 1)).unwrap();
        let out = prompt.render(&PcmSpec::new(44_100, 2)).unwrap();
        assert_eq!(out.len(), 2 * 44_100);
        let left: Vec<f32> = out.iter().step_by(2).copied().collect();
        // Away from the edges the output is the same sine at the new rate: same level, same
        // number of zero crossings.
        let middle = &left[4_000..40_000];
        let rms = (middle.iter().map(|x| x * x).sum::<f32>() / middle.len() as f32).sqrt();
        assert!((rms - 0.5 / 2f32.sqrt()).abs() < 0.005, "rms {rms}");
        let crossings = middle.windows(2).filter(|w| (w[0] < 0.0) != (w[1] < 0.0)).count();
        let expect = 2.0 * 440.0 * middle.len() as f64 / 44_100.0;
        assert!(
            (crossings as f64 - expect).abs() <= 2.0,
            "{crossings} crossings, expected {expect}"
        );
    }

    #[test]
    fn resampling_does_not_shift_the_prompt() {
        for (from, to) in [(16_000, 44_100), (44_100, 8_000), (48_000, 16_000), (8_000, 48_000)] {
            let mut impulse = vec![0f32; from as usize / 2];
            impulse[from as usize / 4] = 0.5;
            let p = VoicePrompt::from_pcm(&impulse, PcmSpec::new(from, 1)).unwrap();
            let out = p.render(&PcmSpec::new(to, 1)).unwrap();
            assert_eq!(out.len(), to as usize / 2);
            let peak = (0..out.len())
                .max_by(|&a, &b| out[a].abs().total_cmp(&out[b].abs()))
                .unwrap();
            let expect = f64::from(to) / 4.0;
            let tolerance = f64::from(to) / 1000.0; // 1 ms
            assert!(
                (peak as f64 - expect).abs() <= tolerance,
                "{from}->{to}: peak at {peak}, expected {expect}"
            );
        }
    }

    #[test]
    fn channels_are_mapped() {
        let planar = map_channels(&[1.0, 3.0, 1.0, 3.0], 2, 1);
        assert_eq!(planar, [vec![2.0, 2.0]]);
        let planar = map_channels(&[1.0, 2.0], 1, 3);
        assert_eq!(planar.len(), 3);
        assert_eq!(planar[2], [1.0, 2.0]);
        let planar = map_channels(&[1.0, 2.0, 3.0, 4.0], 2, 2);
        assert_eq!(planar, [vec![1.0, 3.0], vec![2.0, 4.0]]);
    }

    #[test]
    fn bad_prompts_are_refused() {
        assert!(VoicePrompt::from_pcm::<i16>(&[], PcmSpec::new(8_000, 1)).is_err());
        assert!(VoicePrompt::from_pcm(&[0i16; 3], PcmSpec::new(8_000, 2)).is_err());
        assert!(VoicePrompt::from_wav(&b"RIFF\0\0\0\0WAVE"[..]).is_err());
    }
}
