//! Explicit labels on what a Python pipeline holds: RGB(A) pixels, PCM samples, video frames,
//! and text streams. Pixels, samples and frames arrive as `bytes` with their layout (the
//! Python side converts PIL images and NumPy arrays) and leave as new `bytes`.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use aigc_label::audio::cue::{self, At, Cue, Ducking, Mode, PcmSpec, Sample};
use aigc_label::image::stamp::{Position, Stamper, Style};
use aigc_label::text::stream::Segmenter;
use aigc_label::text::{LabelStream, TextChunk, TextStyle};
use aigc_label::video::frames::{FrameSpec, FrameStamper as Frames, PixelFormat, Schedule};
use futures_core::Stream as _;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{invalid, to_py};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(stamp_pixels, m)?)?;
    m.add_function(wrap_pyfunction!(stamp_pcm, m)?)?;
    m.add_class::<FrameStamper>()?;
    m.add_class::<TextLabeller>()?;
    Ok(())
}

fn style(text: Option<&str>, position: &str) -> PyResult<Style> {
    let style = match text {
        Some(text) => Style::with_text(text).map_err(|e| to_py(&e, None))?,
        None => Style::default(),
    };
    let position: Position = position.parse().map_err(|e| to_py(&e, None))?;
    Ok(style.at(position))
}

/// Where a label went: `(x, y, width, height)`.
type Rect = (u32, u32, u32, u32);

/// Draws the visible label on `width` x `height` 8-bit pixels with `channels` (3: RGB, 4: RGBA)
/// and returns the new pixels and the label's rectangle `(x, y, width, height)`.
#[pyfunction]
#[pyo3(signature = (pixels, width, height, channels, *, text=None, position="bottom-right"))]
fn stamp_pixels<'py>(
    py: Python<'py>,
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: u8,
    text: Option<&str>,
    position: &str,
) -> PyResult<(Bound<'py, PyBytes>, Rect)> {
    let stamper = Stamper::new(style(text, position)?).map_err(|e| to_py(&e, None))?;
    let mut out = pixels.to_vec();
    let rect = py
        .detach(|| {
            let label = stamper.prepare(width, height)?;
            let row = usize::try_from(width).unwrap_or(usize::MAX);
            match channels {
                4 => label.blend_rgba8(&mut out, width, height, row.saturating_mul(4)),
                3 => label.blend_rgb8(&mut out, width, height, row.saturating_mul(3)),
                _ => Err(aigc_label::Error::parameter("channels", "must be 3 (RGB) or 4 (RGBA)")),
            }
        })
        .map_err(|e| to_py(&e, None))?;
    Ok((PyBytes::new(py, &out), (rect.x, rect.y, rect.width, rect.height)))
}

/// Samples from native-endian bytes.
fn samples<S: Sample>(data: &[u8], decode: fn([u8; 4]) -> S, size: usize) -> Vec<S> {
    data.chunks_exact(size)
        .map(|c| {
            let mut word = [0u8; 4];
            word.iter_mut().zip(c).for_each(|(w, b)| *w = *b);
            decode(word)
        })
        .collect()
}

/// Places the rhythm cue (short-long short-short) in interleaved PCM `data` of `dtype`
/// (`int16`, `int32` or `float32`, native byte order) at `at` (`start`, `end`, `1.5s`, a
/// frame number, or several separated by commas), inserted or mixed; returns the new samples.
#[pyfunction]
#[pyo3(signature = (data, dtype, sample_rate, channels, *, at="start", mix=false, bits=0))]
#[allow(clippy::too_many_arguments)]
fn stamp_pcm<'py>(
    py: Python<'py>,
    data: &[u8],
    dtype: &str,
    sample_rate: u32,
    channels: u16,
    at: &str,
    mix: bool,
    bits: u16,
) -> PyResult<Bound<'py, PyBytes>> {
    let positions: Vec<At> = cue::parse_positions(at).map_err(|e| to_py(&e, None))?;
    let spec = PcmSpec::new(sample_rate, channels).with_bits(bits);
    let mode = if mix {
        Mode::Mix(Ducking::default())
    } else {
        Mode::Insert
    };
    let cue = Cue::default();
    let out = py
        .detach(|| -> aigc_label::Result<Vec<u8>> {
            Ok(match dtype {
                "int16" => {
                    let s = samples(data, |w| i16::from_ne_bytes([w[0], w[1]]), 2);
                    cue::stamp(s, &spec, &cue, &positions, &mode)?
                        .iter()
                        .flat_map(|v| v.to_ne_bytes())
                        .collect()
                }
                "int32" => {
                    let s = samples(data, i32::from_ne_bytes, 4);
                    cue::stamp(s, &spec, &cue, &positions, &mode)?
                        .iter()
                        .flat_map(|v| v.to_ne_bytes())
                        .collect()
                }
                "float32" => {
                    let s = samples(data, f32::from_ne_bytes, 4);
                    cue::stamp(s, &spec, &cue, &positions, &mode)?
                        .iter()
                        .flat_map(|v| v.to_ne_bytes())
                        .collect()
                }
                other => {
                    return Err(aigc_label::Error::parameter(
                        "dtype",
                        format!("must be int16, int32 or float32, not {other}"),
                    ));
                }
            })
        })
        .map_err(|e| to_py(&e, None))?;
    Ok(PyBytes::new(py, &out))
}

/// Draws the label on raw video frames for the opening seconds (at least 2 s).
#[pyclass(module = "aigc_label._native", frozen)]
pub struct FrameStamper {
    inner: Frames,
    frame_len: usize,
}

#[pymethods]
impl FrameStamper {
    /// Frames of `width` x `height` in `format` (`rgba`, `rgb`, `i420`, `nv12`) at `fps`
    /// (`fps_den` for rates such as 30000/1001); frame `pts` counts frames.
    #[new]
    #[pyo3(signature = (width, height, format="rgb", fps=25, fps_den=1, *, text=None, position="bottom-right", seconds=3.0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        width: u32,
        height: u32,
        format: &str,
        fps: u32,
        fps_den: u32,
        text: Option<&str>,
        position: &str,
        seconds: f64,
    ) -> PyResult<Self> {
        let format = match format {
            "rgba" => PixelFormat::Rgba8,
            "rgb" => PixelFormat::Rgb8,
            "i420" => PixelFormat::I420,
            "nv12" => PixelFormat::Nv12,
            other => {
                return Err(invalid(
                    "format",
                    format!("must be rgba, rgb, i420 or nv12, not {other}"),
                ));
            }
        };
        let spec = FrameSpec::with_fps(width, height, format, fps, fps_den);
        let schedule = Schedule {
            start_seconds: seconds,
            ..Schedule::default()
        };
        let inner = Frames::new(spec, style(text, position)?, schedule).map_err(|e| to_py(&e, None))?;
        let frame_len = spec.frame_len().map_err(|e| to_py(&e, None))?;
        Ok(FrameStamper { inner, frame_len })
    }

    /// Bytes in one frame.
    #[getter]
    fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// True when the frame at `pts` gets the label.
    fn shows_at(&self, pts: i64) -> bool {
        self.inner.shows_at(pts)
    }

    /// The frame at `pts` with the label drawn when the schedule says so, or `None` when it
    /// does not (keep the frame as it is).
    fn stamp<'py>(&self, py: Python<'py>, frame: &[u8], pts: i64) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let mut out = frame.to_vec();
        let drawn = self.inner.stamp(&mut out, pts).map_err(|e| to_py(&e, None))?;
        Ok(drawn.then(|| PyBytes::new(py, &out)))
    }
}

/// A chunk of model output: text, or bytes that may cut a character in half.
enum Chunk {
    Text(String),
    Bytes(Vec<u8>),
}

impl TextChunk for Chunk {
    fn feed(&self, seg: &mut Segmenter) -> String {
        match self {
            Chunk::Text(s) => seg.push_str(s),
            Chunk::Bytes(b) => seg.push_bytes_lossy(b),
        }
    }
}

/// The chunks pushed and not yet taken, and whether the input ended.
#[derive(Default)]
struct Queue {
    chunks: VecDeque<Chunk>,
    ended: bool,
}

/// The pushed chunks as an async stream: pending while none wait, ended once the input ended.
/// The labeller keeps a handle on the queue to push into it (the stream owns its inner stream).
#[derive(Default, Clone)]
struct Pushed(Arc<Mutex<Queue>>);

impl Pushed {
    fn with<T>(&self, f: impl FnOnce(&mut Queue) -> T) -> T {
        let mut queue = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut queue)
    }
}

impl futures_core::Stream for Pushed {
    type Item = Chunk;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Chunk>> {
        self.with(|queue| match queue.chunks.pop_front() {
            Some(chunk) => Poll::Ready(Some(chunk)),
            None if queue.ended => Poll::Ready(None),
            None => Poll::Pending,
        })
    }
}

/// The text `LabelStream` driven by pushes: each `push` of a token returns the text ready to
/// send on, `finish` the rest. The Python `LabelStream` (sync and async) pulls tokens from the
/// model's iterator and pushes them here, so one state machine serves both.
#[pyclass(module = "aigc_label._native")]
pub struct TextLabeller {
    stream: LabelStream<Pushed>,
    queue: Pushed,
}

impl TextLabeller {
    /// Everything the stream can give without more input.
    fn drain(&mut self) -> String {
        let mut out = String::new();
        let mut cx = Context::from_waker(Waker::noop());
        while let Poll::Ready(Some(text)) = Pin::new(&mut self.stream).poll_next(&mut cx) {
            out.push_str(&text);
        }
        out
    }
}

#[pymethods]
impl TextLabeller {
    /// A labeller putting `text` (default `【AI生成】`) at `position`: `start`, `end` or `both`.
    #[new]
    #[pyo3(signature = (*, text=None, position="start"))]
    fn new(text: Option<&str>, position: &str) -> PyResult<Self> {
        let style = match text {
            Some(text) => TextStyle::new(text).map_err(|e| to_py(&e, None))?,
            None => TextStyle::default(),
        };
        let position = match position {
            "start" => aigc_label::text::Position::Start,
            "end" => aigc_label::text::Position::End,
            "both" => aigc_label::text::Position::StartAndEnd,
            other => return Err(invalid("position", format!("must be start, end or both, not {other}"))),
        };
        let queue = Pushed::default();
        Ok(TextLabeller {
            stream: LabelStream::new(queue.clone(), &style.at(position)),
            queue,
        })
    }

    /// Feeds one chunk (`str` or `bytes`); returns the text ready to send on (may be empty).
    fn push(&mut self, chunk: &Bound<'_, PyAny>) -> PyResult<String> {
        let chunk = if let Ok(text) = chunk.extract::<String>() {
            Chunk::Text(text)
        } else if let Ok(bytes) = chunk.extract::<Vec<u8>>() {
            Chunk::Bytes(bytes)
        } else {
            return Err(pyo3::exceptions::PyTypeError::new_err("a token must be str or bytes"));
        };
        self.queue.with(|q| q.chunks.push_back(chunk));
        Ok(self.drain())
    }

    /// Ends the input; returns the rest (the closing label, when the position asks for one).
    fn finish(&mut self) -> String {
        self.queue.with(|q| q.ended = true);
        self.drain()
    }
}
