//! PCM sample types and the layout of interleaved buffers.

use aigc_label_core::{Error, Result};

/// Highest sample rate accepted (well above every real rate; it bounds buffer sizes).
const MAX_RATE: u32 = 1_536_000;

/// The layout of an interleaved PCM buffer: sample rate, channel count and, for integer
/// samples, how many bits are significant.
///
/// `bits` matters for `i32` buffers that hold 24-bit audio (full scale ±2²³); `0` means the
/// sample type's full width (16 for `i16`, 32 for `i32`). Float samples ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PcmSpec {
    /// Frames per second.
    pub sample_rate: u32,
    /// Interleaved channels per frame.
    pub channels: u16,
    /// Significant bits of integer samples (`0`: the type's full width).
    pub bits: u16,
}

impl PcmSpec {
    /// A layout at `sample_rate` with `channels`, integer samples at full width.
    pub fn new(sample_rate: u32, channels: u16) -> Self {
        PcmSpec {
            sample_rate,
            channels,
            bits: 0,
        }
    }

    /// This layout with `bits` significant bits (24 for 24-bit audio in `i32`).
    pub fn with_bits(mut self, bits: u16) -> Self {
        self.bits = bits;
        self
    }

    /// Checks the layout for sample type `S`.
    ///
    /// # Errors
    /// [`Error::Parameter`] for a zero or absurd rate, zero channels, or more bits than `S` holds.
    pub fn check<S: Sample>(&self) -> Result<()> {
        if self.sample_rate == 0 || self.sample_rate > MAX_RATE {
            return Err(Error::parameter("sample rate", format!("{} Hz", self.sample_rate)));
        }
        if self.channels == 0 {
            return Err(Error::parameter("channels", "zero channels"));
        }
        if self.bits > S::WIDTH {
            return Err(Error::parameter(
                "bits",
                format!("{} significant bits in a {}-bit sample", self.bits, S::WIDTH),
            ));
        }
        Ok(())
    }

    /// Frames held by `samples` interleaved samples.
    ///
    /// # Errors
    /// [`Error::Parameter`] when the count is not a whole number of frames.
    pub fn frames_in(&self, samples: usize) -> Result<usize> {
        let ch = usize::from(self.channels.max(1));
        if samples % ch != 0 {
            return Err(Error::parameter(
                "samples",
                format!("{samples} samples is not a whole number of {ch}-channel frames"),
            ));
        }
        Ok(samples / ch)
    }

    /// The frame nearest to `seconds` from the start.
    pub fn frame_at(&self, seconds: f64) -> u64 {
        (seconds * f64::from(self.sample_rate)).round().max(0.0) as u64
    }
}

/// A PCM sample type: `i16`, `i32` (24-bit or 32-bit, see [`PcmSpec::bits`]) or `f32`.
///
/// Conversions go through `f32` in `[-1, 1]` and clamp, so a cue never wraps around.
pub trait Sample: Copy + Default + PartialEq + Send + Sync + std::fmt::Debug + 'static {
    /// Bits in the type (32 for `f32`).
    const WIDTH: u16;

    /// The sample as a fraction of full scale, for `bits` significant bits (0 = [`Self::WIDTH`]).
    fn to_unit(self, bits: u16) -> f32;

    /// The sample nearest to `x` (a fraction of full scale), clamped to the valid range.
    fn from_unit(x: f32, bits: u16) -> Self;
}

/// Full scale of a `bits`-bit signed integer, `width` when `bits` is 0.
fn scale(bits: u16, width: u16) -> f64 {
    let b = if bits == 0 { width } else { bits.min(width) };
    (1u64 << (b - 1)) as f64
}

fn int_from_unit(x: f32, bits: u16, width: u16) -> i64 {
    let s = scale(bits, width);
    let v = (f64::from(x) * s).round();
    v.clamp(-s, s - 1.0) as i64
}

impl Sample for i16 {
    const WIDTH: u16 = 16;

    fn to_unit(self, bits: u16) -> f32 {
        (f64::from(self) / scale(bits, 16)) as f32
    }

    fn from_unit(x: f32, bits: u16) -> Self {
        int_from_unit(x, bits, 16) as i16
    }
}

impl Sample for i32 {
    const WIDTH: u16 = 32;

    fn to_unit(self, bits: u16) -> f32 {
        (f64::from(self) / scale(bits, 32)) as f32
    }

    fn from_unit(x: f32, bits: u16) -> Self {
        int_from_unit(x, bits, 32) as i32
    }
}

impl Sample for f32 {
    const WIDTH: u16 = 32;

    fn to_unit(self, _bits: u16) -> f32 {
        self
    }

    fn from_unit(x: f32, _bits: u16) -> Self {
        if x.is_nan() { 0.0 } else { x.clamp(-1.0, 1.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_clamp_and_respect_bits() {
        assert_eq!(i16::from_unit(1.5, 0), i16::MAX);
        assert_eq!(i16::from_unit(-1.0, 0), i16::MIN);
        assert_eq!(i32::from_unit(1.0, 24), (1 << 23) - 1);
        assert_eq!(i32::from_unit(-1.0, 24), -(1 << 23));
        assert_eq!(i32::from_unit(0.5, 0), 1 << 30);
        assert!((i32::to_unit(1 << 22, 24) - 0.5).abs() < 1e-6);
        assert_eq!(f32::from_unit(f32::NAN, 0), 0.0);
        assert_eq!(f32::from_unit(-3.0, 0), -1.0);
    }

    #[test]
    fn specs_are_checked() {
        assert!(PcmSpec::new(48_000, 2).check::<i16>().is_ok());
        assert!(PcmSpec::new(0, 2).check::<i16>().is_err());
        assert!(PcmSpec::new(8_000, 0).check::<f32>().is_err());
        assert!(PcmSpec::new(8_000, 1).with_bits(24).check::<i16>().is_err());
        assert!(PcmSpec::new(8_000, 2).frames_in(3).is_err());
        assert_eq!(PcmSpec::new(8_000, 2).frames_in(4).unwrap(), 2);
    }
}
