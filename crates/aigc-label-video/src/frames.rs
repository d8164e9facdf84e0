//! Explicit labels on raw video frames, for pipelines that hold frames before encoding
//! (GB 45438-2025 section 5, video: a text prompt on the opening frames for at least 2 s, text
//! height at least 5% of the frame's shortest side; optionally also at the end and in the
//! middle).
//!
//! A [`FrameStamper`] is configured once with the frame geometry ([`FrameSpec`]: size,
//! [`PixelFormat`], time base), the image adapter's [`Style`] (same text rule, same 5% rule) and
//! a [`Schedule`] of when the label shows. The label is rasterised once
//! ([`PreparedLabel`]); for YUV formats it is also converted once to premultiplied Y'CbCr
//! planes, so stamping a frame only blends a small rectangle.
//!
//! Design decision: in YUV 4:2:0 formats the label rectangle is moved to even coordinates (by at
//! most one pixel, towards the top-left, so it stays inside the frame) and each chroma sample is
//! blended with the *mean* of the label over its four luma pixels. A chroma sample then gets
//! exactly the average of what its four pixels would get in 4:4:4, so glyph and plate edges that
//! cut through a 2x2 block leave no colour fringe.
//!
//! ```
//! use aigc_label_image::stamp::Style;
//! use aigc_label_video::frames::{FrameSpec, FrameStamper, PixelFormat, Schedule};
//!
//! let spec = FrameSpec::with_fps(320, 240, PixelFormat::I420, 25, 1);
//! let stamper = FrameStamper::new(spec, Style::default(), Schedule::default())?;
//! let mut frame = vec![128u8; spec.frame_len()?];
//! assert!(stamper.stamp(&mut frame, 0)?); // 0 s: drawn
//! let mut late = vec![128u8; spec.frame_len()?];
//! assert!(!stamper.stamp(&mut late, 75)?); // 3 s: past the default window
//! assert!(late.iter().all(|&b| b == 128));
//! # Ok::<(), aigc_label_core::Error>(())
//! ```

use aigc_label_core::{Error, Result};
use aigc_label_image::stamp::{PreparedLabel, Rect, Stamper, Style};

/// The shortest opening window the standard allows, in seconds (GB 45438-2025 section 5: the
/// prompt shows on the opening frames for at least 2 s).
pub const MIN_START_SECONDS: f64 = 2.0;

/// The default opening window, in seconds: one second more than the minimum, so that frame
/// rounding and players that skip the first frames still show the label for 2 s.
pub const DEFAULT_START_SECONDS: f64 = 3.0;

/// How a frame's pixels are laid out. Every layout is tightly packed: rows follow each other with
/// no padding, planes follow each other in the order given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// 8-bit R, G, B, A interleaved (straight alpha), 4 bytes a pixel.
    Rgba8,
    /// 8-bit R, G, B interleaved, 3 bytes a pixel.
    Rgb8,
    /// YUV 4:2:0 planar (I420, `yuv420p`): the Y plane (`width * height`), then Cb, then Cr
    /// (`width/2 * height/2` each). Width and height must be even.
    I420,
    /// YUV 4:2:0 semi-planar (NV12): the Y plane, then one plane of interleaved Cb, Cr pairs
    /// (`width * height/2` bytes). Width and height must be even.
    Nv12,
}

impl PixelFormat {
    fn is_yuv(self) -> bool {
        matches!(self, PixelFormat::I420 | PixelFormat::Nv12)
    }
}

/// The matrix that turns the label's R'G'B' colours into limited-range ("studio swing")
/// Y'CbCr, for the YUV formats.
///
/// With `Kr`, `Kb` the matrix's luma weights, `Kg = 1 - Kr - Kb` and R', G', B' in 0..=1:
/// `E = Kr R' + Kg G' + Kb B'`, `Y' = 16 + 219 E`, `Cb = 128 + 112 (B' - E) / (1 - Kb)`,
/// `Cr = 128 + 112 (R' - E) / (1 - Kr)`, so Y' spans 16..=235 and Cb, Cr 16..=240.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Matrix {
    /// ITU-R BT.601 (`Kr = 0.299`, `Kb = 0.114`): standard definition, and what most encoders
    /// assume for untagged frames. The default.
    #[default]
    Bt601,
    /// ITU-R BT.709 (`Kr = 0.2126`, `Kb = 0.0722`): HD video.
    Bt709,
}

impl Matrix {
    /// The luma weights `(Kr, Kb)`.
    pub fn weights(self) -> (f64, f64) {
        match self {
            Matrix::Bt601 => (0.299, 0.114),
            Matrix::Bt709 => (0.2126, 0.0722),
        }
    }

    /// A premultiplied R'G'B'A pixel (each 0..=255) as premultiplied limited-range Y', Cb, Cr
    /// (each 0..=255 scale): the conversion above with every offset scaled by alpha, which is
    /// what "label over frame" needs since the conversion is affine.
    pub fn premultiplied(self, rgba: [u8; 4]) -> [f64; 3] {
        let (kr, kb) = self.weights();
        let kg = 1.0 - kr - kb;
        let [r, g, b, a] = rgba.map(|c| f64::from(c) / 255.0);
        let e = kr * r + kg * g + kb * b;
        [
            16.0 * a + 219.0 * e,
            128.0 * a + 112.0 * (b - e) / (1.0 - kb),
            128.0 * a + 112.0 * (r - e) / (1.0 - kr),
        ]
    }
}

/// The frames a [`FrameStamper`] handles: size, layout and how timestamps map to seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameSpec {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Pixel layout.
    pub format: PixelFormat,
    /// Seconds per timestamp unit, as `(numerator, denominator)`: a timestamp `pts` is at
    /// `pts * numerator / denominator` seconds. `(1001, 24000)` with frame-numbered timestamps is
    /// 23.976 fps; `(1, 90000)` is the MPEG 90 kHz clock.
    pub time_base: (u32, u32),
    /// Colour matrix for the YUV formats (ignored for RGB).
    pub matrix: Matrix,
}

impl FrameSpec {
    /// Frames of `width` x `height` in `format`, timestamps in units of `time_base` seconds, and
    /// the BT.601 matrix.
    pub fn new(width: u32, height: u32, format: PixelFormat, time_base: (u32, u32)) -> Self {
        FrameSpec {
            width,
            height,
            format,
            time_base,
            matrix: Matrix::default(),
        }
    }

    /// Frames numbered 0, 1, 2, ... at `fps_num / fps_den` frames a second (for example
    /// `24000, 1001` for 23.976 fps): the time base is `fps_den / fps_num`.
    pub fn with_fps(width: u32, height: u32, format: PixelFormat, fps_num: u32, fps_den: u32) -> Self {
        FrameSpec::new(width, height, format, (fps_den, fps_num))
    }

    /// This spec with `matrix`.
    pub fn matrix(mut self, matrix: Matrix) -> Self {
        self.matrix = matrix;
        self
    }

    /// The timestamp `pts` in seconds.
    pub fn seconds(&self, pts: i64) -> f64 {
        pts as f64 * f64::from(self.time_base.0) / f64::from(self.time_base.1)
    }

    /// Bytes in one frame.
    ///
    /// # Errors
    /// [`Error::Parameter`] when a YUV frame has an odd side, or the size overflows `usize`.
    pub fn frame_len(&self) -> Result<usize> {
        let (w, h) = (self.width as usize, self.height as usize);
        let len = match self.format {
            PixelFormat::Rgba8 => w.checked_mul(h).and_then(|n| n.checked_mul(4)),
            PixelFormat::Rgb8 => w.checked_mul(h).and_then(|n| n.checked_mul(3)),
            PixelFormat::I420 | PixelFormat::Nv12 => {
                if w % 2 != 0 || h % 2 != 0 {
                    return Err(Error::parameter(
                        "frame size",
                        format!("{:?} frames need even sides, not {w}x{h}", self.format),
                    ));
                }
                w.checked_mul(h).and_then(|n| n.checked_add(n / 2))
            }
        };
        len.ok_or_else(|| Error::parameter("frame size", format!("{w}x{h} overflows")))
    }

    fn validate(&self) -> Result<()> {
        if self.time_base.0 == 0 || self.time_base.1 == 0 {
            return Err(Error::parameter(
                "time base",
                format!(
                    "{}/{} must have a non-zero numerator and denominator",
                    self.time_base.0, self.time_base.1
                ),
            ));
        }
        self.frame_len().map(|_| ())
    }
}

/// When the label shows. Times are in seconds on the frames' timeline (see
/// [`FrameSpec::time_base`]); a window `[from, to)` includes its start and excludes its end.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// The opening window `[0, start_seconds)`: at least [`MIN_START_SECONDS`], default
    /// [`DEFAULT_START_SECONDS`].
    pub start_seconds: f64,
    /// `(total_duration, seconds)`: also label `[total_duration - seconds, total_duration)`.
    pub end: Option<(f64, f64)>,
    /// `(start, seconds)` pairs: also label each `[start, start + seconds)`.
    pub middle: Vec<(f64, f64)>,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            start_seconds: DEFAULT_START_SECONDS,
            end: None,
            middle: Vec::new(),
        }
    }
}

impl Schedule {
    /// The windows `[from, to)` in seconds.
    fn windows(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        let end = self.end.map(|(total, secs)| (total - secs, total));
        let middle = self.middle.iter().map(|&(from, secs)| (from, from + secs));
        std::iter::once((0.0, self.start_seconds)).chain(end).chain(middle)
    }

    fn validate(&self) -> Result<()> {
        if !(self.start_seconds >= MIN_START_SECONDS && self.start_seconds.is_finite()) {
            return Err(Error::parameter(
                "label windows",
                format!(
                    "opening label window of {} s is under {MIN_START_SECONDS} s; GB 45438-2025 section 5 asks for \
                     the prompt on the opening frames for at least 2 s",
                    self.start_seconds
                ),
            ));
        }
        let bad = |(a, b): (f64, f64)| !(a.is_finite() && b.is_finite() && b > 0.0);
        if self.end.is_some_and(|(total, secs)| bad((total, secs)) || secs > total) {
            return Err(Error::parameter(
                "label windows",
                format!(
                    "end label window {:?} (total duration, seconds) is not a positive span inside the video",
                    self.end
                ),
            ));
        }
        if let Some(m) = self.middle.iter().find(|&&m| bad(m) || m.0 < 0.0) {
            return Err(Error::parameter(
                "label windows",
                format!("middle label window {m:?} (start, seconds) is not a positive span from a time >= 0"),
            ));
        }
        Ok(())
    }
}

/// Draws the label onto raw frames whose timestamps fall in the [`Schedule`]'s windows.
#[derive(Debug, Clone)]
pub struct FrameStamper {
    spec: FrameSpec,
    schedule: Schedule,
    label: PreparedLabel,
    rect: Rect,
    yuv: Option<YuvLabel>,
}

impl FrameStamper {
    /// A stamper drawing `style` (in the bundled font) on frames of `spec` during `schedule`.
    ///
    /// # Errors
    /// As [`FrameStamper::with_stamper`], and [`Error::Parameter`] when the style fails
    /// [`Style::validate`].
    pub fn new(spec: FrameSpec, style: Style, schedule: Schedule) -> Result<Self> {
        FrameStamper::with_stamper(spec, &Stamper::new(style)?, schedule)
    }

    /// A stamper drawing `stamper`'s label on frames of `spec` during `schedule`.
    ///
    /// # Errors
    /// [`Error::Parameter`] when the opening window is under 2 s or another window is not a
    /// positive finite span, the time base has a zero part, a YUV frame has an odd side, or the
    /// frame is too small for the label (see [`PreparedLabel::new`]); [`Error::Limit`] when the
    /// label's buffers cannot be allocated.
    pub fn with_stamper(spec: FrameSpec, stamper: &Stamper, schedule: Schedule) -> Result<Self> {
        spec.validate()?;
        schedule.validate()?;
        let label = stamper.prepare(spec.width, spec.height)?;
        let placed = label.placement(spec.width, spec.height)?;
        let (rect, yuv) = if spec.format.is_yuv() {
            let yuv = YuvLabel::new(&label, placed, spec.matrix)?;
            (yuv.rect(), Some(yuv))
        } else {
            (placed, None)
        };
        Ok(FrameStamper {
            spec,
            schedule,
            label,
            rect,
            yuv,
        })
    }

    /// The frames this stamper handles.
    pub fn spec(&self) -> &FrameSpec {
        &self.spec
    }

    /// When the label shows.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The rasterised label (ink height, coverage masks, colours).
    pub fn label(&self) -> &PreparedLabel {
        &self.label
    }

    /// The rectangle the label occupies on every stamped frame; nothing outside it changes. In
    /// YUV formats it starts at even coordinates and has even sides.
    pub fn rect(&self) -> Rect {
        self.rect
    }

    /// True if a frame at `pts` falls in one of the schedule's windows.
    pub fn shows_at(&self, pts: i64) -> bool {
        // Compare `pts * num` with `t * den` rather than dividing, so frame times that land
        // exactly on a window's end (75 frames at 25 fps) are not lost to rounding.
        let (num, den) = (f64::from(self.spec.time_base.0), f64::from(self.spec.time_base.1));
        let scaled = pts as f64 * num;
        self.schedule
            .windows()
            .any(|(from, to)| scaled >= from * den && scaled < to * den)
    }

    /// Draws the label on `frame` if `pts` falls in the schedule; returns whether it drew.
    ///
    /// # Errors
    /// [`Error::Parameter`] when `frame` is shorter than [`FrameSpec::frame_len`] (checked
    /// whether or not the frame is in the schedule).
    pub fn stamp(&self, frame: &mut [u8], pts: i64) -> Result<bool> {
        self.check_len(frame)?;
        if !self.shows_at(pts) {
            return Ok(false);
        }
        self.draw(frame)?;
        Ok(true)
    }

    /// Draws the label on `frame` whatever its time.
    ///
    /// # Errors
    /// As [`FrameStamper::stamp`].
    pub fn draw(&self, frame: &mut [u8]) -> Result<Rect> {
        self.check_len(frame)?;
        let (w, h) = (self.spec.width, self.spec.height);
        match (&self.yuv, self.spec.format) {
            (_, PixelFormat::Rgba8) => self.label.blend_rgba8(frame, w, h, w as usize * 4),
            (_, PixelFormat::Rgb8) => self.label.blend_rgb8(frame, w, h, w as usize * 3),
            (Some(yuv), format) => {
                yuv.blend(frame, w as usize, h as usize, format);
                Ok(self.rect)
            }
            (None, format) => Err(Error::parameter(
                "frame format",
                format!("no YUV label prepared for {format:?}"),
            )),
        }
    }

    fn check_len(&self, frame: &[u8]) -> Result<()> {
        let needed = self.spec.frame_len()?;
        if frame.len() < needed {
            return Err(Error::parameter(
                "frame buffer",
                format!(
                    "frame buffer of {} bytes is shorter than one {}x{} {:?} frame ({needed} bytes)",
                    frame.len(),
                    self.spec.width,
                    self.spec.height,
                    self.spec.format
                ),
            ));
        }
        Ok(())
    }
}

/// The label as premultiplied Y'CbCr planes over an even-aligned rectangle: per luma pixel the
/// label's Y' and `255 - alpha`; per 2x2 block the mean Cb, Cr and `255 - mean alpha`. Blending
/// is then `out = label + dst * inverse / 255` in every plane.
#[derive(Debug, Clone)]
struct YuvLabel {
    x: usize,
    y: usize,
    width: usize,
    height: usize,
    luma: Vec<u8>,
    luma_inverse: Vec<u8>,
    cb: Vec<u8>,
    cr: Vec<u8>,
    chroma_inverse: Vec<u8>,
}

impl YuvLabel {
    /// Converts `label`, placed at `placed`, for a frame with even sides. Moving the origin to
    /// even coordinates and the size up to even keeps the rectangle inside the frame: the far
    /// edge `x + width` was at most the (even) frame width, and only grows when it was odd.
    fn new(label: &PreparedLabel, placed: Rect, matrix: Matrix) -> Result<Self> {
        let (lw, lh) = (label.width() as usize, label.height() as usize);
        let (width, height) = (lw + lw % 2, lh + lh % 2);
        let (cw, ch) = (width / 2, height / 2);
        let mut yuv = YuvLabel {
            x: (placed.x & !1) as usize,
            y: (placed.y & !1) as usize,
            width,
            height,
            luma: zeroed(width * height)?,
            luma_inverse: zeroed(width * height)?,
            cb: zeroed(cw * ch)?,
            cr: zeroed(cw * ch)?,
            chroma_inverse: zeroed(cw * ch)?,
        };
        let layer = label.layer();
        let pixel = |x: usize, y: usize| -> [u8; 4] {
            let i = (y * lw + x) * 4;
            match layer.get(i..i + 4) {
                Some(p) if x < lw && y < lh => [p[0], p[1], p[2], p[3]],
                _ => [0; 4],
            }
        };
        for cy in 0..ch {
            for cx in 0..cw {
                let mut sum = [0.0f64; 4];
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let (x, y) = (2 * cx + dx, 2 * cy + dy);
                    let p = pixel(x, y);
                    let [yl, cb, cr] = matrix.premultiplied(p);
                    yuv.luma[y * width + x] = to_u8(yl);
                    yuv.luma_inverse[y * width + x] = !p[3];
                    sum = [sum[0] + cb, sum[1] + cr, sum[2] + f64::from(p[3]), 0.0];
                }
                let c = cy * cw + cx;
                yuv.cb[c] = to_u8(sum[0] / 4.0);
                yuv.cr[c] = to_u8(sum[1] / 4.0);
                yuv.chroma_inverse[c] = !to_u8(sum[2] / 4.0);
            }
        }
        Ok(yuv)
    }

    fn rect(&self) -> Rect {
        Rect {
            x: self.x as u32,
            y: self.y as u32,
            width: self.width as u32,
            height: self.height as u32,
        }
    }

    /// Blends into a frame whose length the caller checked against `width` x `height`.
    fn blend(&self, frame: &mut [u8], width: usize, height: usize, format: PixelFormat) {
        let (luma_plane, chroma) = frame.split_at_mut((width * height).min(frame.len()));
        blend_plane(
            luma_plane,
            width,
            self.x,
            self.y,
            self.width,
            &self.luma,
            &self.luma_inverse,
            1,
        );
        let cw = self.width / 2;
        let (cx, cy) = (self.x / 2, self.y / 2);
        let inverse = &self.chroma_inverse;
        if format == PixelFormat::Nv12 {
            // One plane of Cb, Cr pairs, `width` bytes a row: Cb at even bytes, Cr at odd.
            blend_plane(chroma, width, cx * 2, cy, cw, &self.cb, inverse, 2);
            blend_plane(chroma, width, cx * 2 + 1, cy, cw, &self.cr, inverse, 2);
        } else {
            let plane = (width / 2) * (height / 2);
            let (u, v) = chroma.split_at_mut(plane.min(chroma.len()));
            blend_plane(u, width / 2, cx, cy, cw, &self.cb, inverse, 1);
            blend_plane(v, width / 2, cx, cy, cw, &self.cr, inverse, 1);
        }
    }
}

/// Blends a `cols`-wide premultiplied `label` plane with its `inverse` into `plane` (rows `stride`
/// bytes apart) at byte column `x`, row `y`, writing every `step`-th byte (2 for NV12's
/// interleaved chroma). Rows or samples that would fall outside `plane` are skipped.
#[allow(clippy::too_many_arguments)]
fn blend_plane(
    plane: &mut [u8],
    stride: usize,
    x: usize,
    y: usize,
    cols: usize,
    label: &[u8],
    inverse: &[u8],
    step: usize,
) {
    if cols == 0 {
        return;
    }
    for (row, (l, inv)) in label.chunks_exact(cols).zip(inverse.chunks_exact(cols)).enumerate() {
        let start = (y + row) * stride + x;
        let Some(dst) = plane.get_mut(start..start + (cols - 1) * step + 1) else {
            continue;
        };
        if step == 1 {
            // Planar rows: a plain element-wise pass, which compilers vectorise.
            for ((d, &l), &inv) in dst.iter_mut().zip(l).zip(inv) {
                *d = over(l, *d, inv);
            }
        } else {
            for ((d, &l), &inv) in dst.iter_mut().step_by(step).zip(l).zip(inv) {
                *d = over(l, *d, inv);
            }
        }
    }
}

/// `label + dst * inverse / 255`: "label over frame" for one sample, the label premultiplied.
#[inline(always)]
fn over(label: u8, dst: u8, inverse: u8) -> u8 {
    // dst * inverse <= 255 * 255 fits u16.
    label.saturating_add(div255(u16::from(dst) * u16::from(inverse)))
}

/// `round(x / 255)` for `x <= 255 * 255`, exactly, without division.
#[inline(always)]
fn div255(x: u16) -> u8 {
    let t = x.wrapping_add(128);
    (t.wrapping_add(t >> 8) >> 8) as u8
}

fn to_u8(v: f64) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

fn zeroed(len: usize) -> Result<Vec<u8>> {
    aigc_label_core::io::zeroed(len, "frames", "frame label bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn div255_is_exact() {
        for x in 0..=(255u32 * 255) {
            assert_eq!(u32::from(div255(x as u16)), (x + 127) / 255, "{x}");
        }
    }

    #[test]
    fn matrix_reference_values() {
        for m in [Matrix::Bt601, Matrix::Bt709] {
            let white = m.premultiplied([255, 255, 255, 255]);
            let black = m.premultiplied([0, 0, 0, 255]);
            assert!((white[0] - 235.0).abs() < 1e-9 && (black[0] - 16.0).abs() < 1e-9);
            assert!((white[1] - 128.0).abs() < 1e-9 && (white[2] - 128.0).abs() < 1e-9);
            assert_eq!(m.premultiplied([0, 0, 0, 0]), [0.0, 0.0, 0.0]);
        }
        let red = Matrix::Bt601.premultiplied([255, 0, 0, 255]);
        assert!((red[0] - 81.481).abs() < 1e-3 && (red[2] - 240.0).abs() < 1e-9);
    }
}
