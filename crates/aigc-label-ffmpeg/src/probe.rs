//! `ffprobe -of json` output, parsed into the few fields a splice needs.
//!
//! ffprobe prints some numbers as JSON numbers and others as strings (`"size": "3518"`,
//! `"pts": 0`), and leaves out what it does not know; every field here accepts either form and
//! is optional where ffprobe may omit it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::Error;

/// A ratio as ffprobe prints it (`"30000/1001"`, `"1/12800"`); `0/0` when unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rational {
    /// Numerator.
    pub num: i64,
    /// Denominator.
    pub den: i64,
}

impl Rational {
    /// Parses `"a/b"` (or `"a:b"`, as aspect ratios are printed).
    pub fn parse(text: &str) -> Option<Self> {
        let (num, den) = text.split_once(['/', ':'])?;
        Some(Self {
            num: num.trim().parse().ok()?,
            den: den.trim().parse().ok()?,
        })
    }

    /// True when both parts are positive.
    pub fn is_valid(self) -> bool {
        self.num > 0 && self.den > 0
    }

    /// The value as a float (0 when invalid).
    pub fn as_f64(self) -> f64 {
        if self.den == 0 {
            0.0
        } else {
            self.num as f64 / self.den as f64
        }
    }

    /// `ticks` of this time base as a duration (zero for negative or invalid values).
    pub fn duration_of(self, ticks: i64) -> Duration {
        if !self.is_valid() || ticks <= 0 {
            return Duration::ZERO;
        }
        let nanos = i128::from(ticks) * i128::from(self.num) * 1_000_000_000 / i128::from(self.den);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

impl std::fmt::Display for Rational {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

impl<'de> Deserialize<'de> for Rational {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(Self::parse(&text).unwrap_or_default())
    }
}

/// One stream of a file (`-show_streams`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Stream {
    /// Index in the container.
    pub index: usize,
    /// `video`, `audio`, `subtitle`, `data`, `attachment`.
    pub codec_type: String,
    /// `h264`, `hevc`, `vp9`, `aac`, ...
    pub codec_name: String,
    /// The container's tag for the codec (`avc1`, `hvc1`, `hev1`, ...).
    pub codec_tag_string: String,
    /// Profile name (`High`, `Main`, `Profile 0`, ...).
    pub profile: Option<String>,
    /// Level as ffprobe numbers it (H.264: 31 for 3.1; HEVC: 93 for 3.1).
    #[serde(deserialize_with = "lenient_opt")]
    pub level: Option<i64>,
    /// Picture width.
    #[serde(deserialize_with = "lenient_opt")]
    pub width: Option<u32>,
    /// Picture height.
    #[serde(deserialize_with = "lenient_opt")]
    pub height: Option<u32>,
    /// Pixel format (`yuv420p`, ...).
    pub pix_fmt: Option<String>,
    /// The reorder depth (non-zero when the stream has B-frames).
    #[serde(deserialize_with = "lenient_opt")]
    pub has_b_frames: Option<u32>,
    /// Colour range, space, transfer and primaries, as ffprobe names them.
    pub color_range: Option<String>,
    /// See [`Stream::color_range`].
    pub color_space: Option<String>,
    /// See [`Stream::color_range`].
    pub color_transfer: Option<String>,
    /// See [`Stream::color_range`].
    pub color_primaries: Option<String>,
    /// Field order (`progressive`, `tt`, ...).
    pub field_order: Option<String>,
    /// The lowest frame rate that represents every timestamp exactly.
    pub r_frame_rate: Rational,
    /// The average frame rate.
    pub avg_frame_rate: Rational,
    /// The stream's time base.
    pub time_base: Rational,
    /// First timestamp, in [`Stream::time_base`] units.
    #[serde(deserialize_with = "lenient_opt")]
    pub start_pts: Option<i64>,
    /// Duration in seconds (the container's, when the stream has none).
    #[serde(deserialize_with = "lenient_opt")]
    pub duration: Option<f64>,
    /// Frame count, when the container says.
    #[serde(deserialize_with = "lenient_opt")]
    pub nb_frames: Option<u64>,
    /// Bit rate in bit/s.
    #[serde(deserialize_with = "lenient_opt")]
    pub bit_rate: Option<u64>,
    /// Audio sample rate.
    #[serde(deserialize_with = "lenient_opt")]
    pub sample_rate: Option<u32>,
    /// Audio channel count.
    #[serde(deserialize_with = "lenient_opt")]
    pub channels: Option<u32>,
    /// Audio channel layout (`stereo`, ...).
    pub channel_layout: Option<String>,
    /// Audio sample format (`fltp`, `s16`, ...).
    pub sample_fmt: Option<String>,
    /// The stream's metadata tags.
    pub tags: BTreeMap<String, String>,
    /// Disposition flags (`default`, `attached_pic`, ...), 1 when set.
    pub disposition: BTreeMap<String, i64>,
}

impl Stream {
    /// A video stream that is not a cover picture.
    pub fn is_video(&self) -> bool {
        self.codec_type == "video" && self.disposition.get("attached_pic").copied().unwrap_or(0) == 0
    }

    /// An audio stream.
    pub fn is_audio(&self) -> bool {
        self.codec_type == "audio"
    }

    /// The frame rate to encode at: the average one when valid, else `r_frame_rate`.
    pub fn frame_rate(&self) -> Option<Rational> {
        [self.avg_frame_rate, self.r_frame_rate]
            .into_iter()
            .find(|r| r.is_valid())
    }
}

/// One packet (`-show_packets`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Packet {
    /// The stream it belongs to.
    pub stream_index: usize,
    /// Presentation timestamp, in the stream's time base.
    #[serde(deserialize_with = "lenient_opt")]
    pub pts: Option<i64>,
    /// Decoding timestamp.
    #[serde(deserialize_with = "lenient_opt")]
    pub dts: Option<i64>,
    /// Duration.
    #[serde(deserialize_with = "lenient_opt")]
    pub duration: Option<i64>,
    /// Size in bytes.
    #[serde(deserialize_with = "lenient_opt")]
    pub size: Option<u64>,
    /// Byte offset in the file.
    #[serde(deserialize_with = "lenient_opt")]
    pub pos: Option<u64>,
    /// `K` for a keyframe, `D` for discard, as a string of flag letters.
    pub flags: String,
}

impl Packet {
    /// A keyframe (random access point).
    pub fn is_key(&self) -> bool {
        self.flags.contains('K')
    }
}

/// One decoded frame (`-show_frames`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Frame {
    /// 1 for a keyframe.
    #[serde(deserialize_with = "lenient_opt")]
    pub key_frame: Option<i64>,
    /// Presentation timestamp.
    #[serde(deserialize_with = "lenient_opt")]
    pub pts: Option<i64>,
    /// The timestamp ffmpeg settled on when `pts` is missing.
    #[serde(deserialize_with = "lenient_opt")]
    pub best_effort_timestamp: Option<i64>,
    /// `I`, `P`, `B`.
    pub pict_type: Option<String>,
    /// Width.
    #[serde(deserialize_with = "lenient_opt")]
    pub width: Option<u32>,
    /// Height.
    #[serde(deserialize_with = "lenient_opt")]
    pub height: Option<u32>,
}

impl Frame {
    /// The frame's timestamp: `pts`, else the best effort one.
    pub fn time(&self) -> Option<i64> {
        self.pts.or(self.best_effort_timestamp)
    }
}

/// A number ffprobe may print as a number or as a string; `N/A` and junk read as absent.
fn lenient_opt<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Int(i64),
        Float(f64),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::Text(s) => s.trim().parse().ok(),
        Raw::Int(i) => i.to_string().parse().ok(),
        Raw::Float(f) => f.to_string().parse().ok(),
        Raw::Other(_) => None,
    })
}

#[derive(Deserialize)]
struct Format {
    #[serde(default, deserialize_with = "lenient_opt")]
    duration: Option<f64>,
}

#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    streams: Vec<Stream>,
    #[serde(default)]
    packets: Vec<Packet>,
    #[serde(default)]
    frames: Vec<Frame>,
    format: Option<Format>,
}

/// Parses `-show_streams -show_format` output; a stream without a duration gets the
/// container's.
///
/// # Errors
/// [`Error::Json`] when the text is not ffprobe's JSON.
pub fn parse_streams(json: &[u8]) -> Result<Vec<Stream>, Error> {
    let probe: Probe = serde_json::from_slice(json)?;
    let fallback = probe.format.and_then(|f| f.duration);
    Ok(probe
        .streams
        .into_iter()
        .map(|mut s| {
            s.duration = s.duration.or(fallback);
            s
        })
        .collect())
}

/// Parses `-show_packets` (or `-show_entries packet=...`) output.
///
/// # Errors
/// [`Error::Json`] when the text is not ffprobe's JSON.
pub fn parse_packets(json: &[u8]) -> Result<Vec<Packet>, Error> {
    Ok(serde_json::from_slice::<Probe>(json)?.packets)
}

/// Parses `-show_frames` (or `-show_entries frame=...`) output.
///
/// # Errors
/// [`Error::Json`] when the text is not ffprobe's JSON.
pub fn parse_frames(json: &[u8]) -> Result<Vec<Frame>, Error> {
    Ok(serde_json::from_slice::<Probe>(json)?.frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_with_numbers_as_strings_and_missing_fields() {
        let json = br#"{"streams":[
            {"index":0,"codec_name":"h264","codec_type":"video","profile":"High","level":31,
             "width":320,"height":240,"pix_fmt":"yuv420p","r_frame_rate":"30000/1001",
             "avg_frame_rate":"0/0","time_base":"1/15360","nb_frames":"120","bit_rate":"N/A",
             "disposition":{"default":1,"attached_pic":0},"tags":{"language":"und"}},
            {"index":1,"codec_type":"audio","codec_name":"aac","sample_rate":"48000",
             "channels":2,"duration":"3.5"},
            {"index":2,"codec_type":"video","codec_name":"mjpeg","disposition":{"attached_pic":1}}
          ],"format":{"duration":"4.000000"}}"#;
        let s = parse_streams(json).unwrap();
        assert_eq!(s.len(), 3);
        assert!(s[0].is_video() && !s[2].is_video() && s[1].is_audio());
        assert_eq!(s[0].level, Some(31));
        assert_eq!(s[0].nb_frames, Some(120));
        assert_eq!(s[0].bit_rate, None);
        assert_eq!(s[0].frame_rate(), Some(Rational { num: 30000, den: 1001 }));
        assert_eq!(s[0].time_base.duration_of(15360), Duration::from_secs(1));
        assert_eq!(s[0].duration, Some(4.0));
        assert_eq!(s[1].duration, Some(3.5));
        assert_eq!(s[1].sample_rate, Some(48000));
        assert_eq!(s[0].tags["language"], "und");
    }

    #[test]
    fn packets_and_frames() {
        let json = br#"{"packets":[{"stream_index":0,"pts":0,"dts":-1024,"duration":512,
            "size":"3518","pos":"48","flags":"K_"},{"stream_index":0,"pts":"N/A","flags":"__"}]}"#;
        let p = parse_packets(json).unwrap();
        assert!(p[0].is_key() && !p[1].is_key());
        assert_eq!((p[0].dts, p[0].size, p[0].pos), (Some(-1024), Some(3518), Some(48)));
        assert_eq!(p[1].pts, None);
        let json = br#"{"frames":[{"key_frame":1,"pts":0,"pict_type":"I"},
            {"key_frame":0,"best_effort_timestamp":512,"pict_type":"B","side_data_list":[{}]}]}"#;
        let f = parse_frames(json).unwrap();
        assert_eq!(f[1].time(), Some(512));
        assert_eq!(f[0].key_frame, Some(1));
    }

    #[test]
    fn not_json_is_an_error() {
        assert!(matches!(parse_streams(b"Invalid data"), Err(Error::Json(_))));
        assert!(Rational::parse("x/1").is_none());
        assert_eq!(Rational::default().duration_of(100), Duration::ZERO);
        assert_eq!(Rational::parse("1/0").unwrap().as_f64(), 0.0);
    }
}
