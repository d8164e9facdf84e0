//! The watermark on raw video frames, for pipelines that hold decoded frames before encoding.
//!
//! The layouts are those of `aigc_label_video::frames::PixelFormat` (the `FrameStamper`
//! formats): tightly packed RGBA or RGB, and YUV 4:2:0 as I420 (planar) or NV12 (semi-planar).
//! Why a separate enum: this crate stays free of the video crate's dependencies; the names and
//! layouts match one for one.
//!
//! The YUV formats are marked and read on the Y plane only: the mark is a luma pattern, and the
//! chroma planes (which encoders subsample and quantise hardest) are left byte for byte. The
//! delta on Y is scaled by 219/255, so a given strength changes the picture as much as it does
//! in RGB (Y' spans 16 to 235 in limited range). Every frame of a video carries the same
//! pattern, so a detector may also average frames before searching.
//!
//! ```
//! use aigc_label_watermark::frame::{FrameFormat, detect_frame, embed_frame};
//! use aigc_label_watermark::DEFAULT_STRENGTH;
//!
//! let (w, h) = (640, 360);
//! // A Y plane with some texture, then flat chroma.
//! let mut frame: Vec<u8> = (0..w * h)
//!     .map(|i| ((i % w * 7 + i / w * 13) % 180 + (i % w ^ i / w) % 30) as u8 + 20)
//!     .chain(std::iter::repeat_n(128, w * h / 2))
//!     .collect();
//! embed_frame(&mut frame, w as u32, h as u32, FrameFormat::I420, 0xfeed, DEFAULT_STRENGTH)?;
//! let found = detect_frame(&frame, w as u32, h as u32, FrameFormat::I420)?;
//! assert_eq!(found.map(|d| d.payload), Some(0xfeed));
//! # Ok::<(), aigc_label_core::Error>(())
//! ```

use aigc_label_core::{Error, Result};

use crate::{CHANNEL_GAIN, Detection, MIN_SIDE, Pattern, add, detect_grid, luma};

/// How a raw frame's bytes are laid out (the same layouts as the video crate's `PixelFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameFormat {
    /// 8-bit R, G, B, A interleaved, 4 bytes a pixel.
    Rgba8,
    /// 8-bit R, G, B interleaved, 3 bytes a pixel.
    Rgb8,
    /// YUV 4:2:0 planar: the Y plane (`width * height`), then Cb, then Cr (a quarter each).
    /// Width and height must be even.
    I420,
    /// YUV 4:2:0 semi-planar: the Y plane, then interleaved Cb, Cr pairs (`width * height / 2`
    /// bytes). Width and height must be even.
    Nv12,
}

/// What one row of a frame looks like to the watermark.
enum Rows {
    /// Interleaved RGB(A): `bytes` per pixel, luma computed from R, G and B.
    Rgb { bytes: usize },
    /// A Y plane of one byte per pixel, at the start of the frame.
    Luma,
}

impl FrameFormat {
    /// The frame's length in bytes, and how its rows are read, after checking the geometry.
    fn layout(self, width: u32, height: u32) -> Result<(usize, Rows)> {
        let (w, h) = (width as usize, height as usize);
        let pixels = w.checked_mul(h);
        let len = match self {
            FrameFormat::Rgba8 => pixels.and_then(|n| n.checked_mul(4)),
            FrameFormat::Rgb8 => pixels.and_then(|n| n.checked_mul(3)),
            FrameFormat::I420 | FrameFormat::Nv12 => {
                if w % 2 != 0 || h % 2 != 0 {
                    return Err(Error::parameter(
                        "frame size",
                        format!("{self:?} frames need even sides, not {w}x{h}"),
                    ));
                }
                pixels.and_then(|n| n.checked_add(n / 2))
            }
        };
        let len = len.ok_or_else(|| Error::parameter("frame size", format!("a {w}x{h} frame is too large")))?;
        let rows = match self {
            FrameFormat::Rgba8 => Rows::Rgb { bytes: 4 },
            FrameFormat::Rgb8 => Rows::Rgb { bytes: 3 },
            FrameFormat::I420 | FrameFormat::Nv12 => Rows::Luma,
        };
        Ok((len, rows))
    }
}

/// The frame's length checked against its geometry.
fn checked(frame_len: usize, width: u32, height: u32, format: FrameFormat) -> Result<Rows> {
    let (len, rows) = format.layout(width, height)?;
    if frame_len != len {
        return Err(Error::parameter(
            "frame",
            format!("a {width}x{height} {format:?} frame is {len} bytes, not {frame_len}"),
        ));
    }
    Ok(rows)
}

/// Adds the watermark carrying `payload` at `strength` (grey levels of luma, as in
/// [`crate::embed`]) to `frame` in place.
///
/// RGB(A) frames change as [`crate::embed`] changes an image (alpha kept); YUV frames change on
/// the Y plane only. Errors when the frame's length does not match its geometry. A non-finite
/// or non-positive strength leaves the frame unchanged.
pub fn embed_frame(
    frame: &mut [u8],
    width: u32,
    height: u32,
    format: FrameFormat,
    payload: u64,
    strength: f32,
) -> Result<()> {
    let rows = checked(frame.len(), width, height, format)?;
    if !(strength.is_finite() && strength > 0.0) || width == 0 || height == 0 {
        return Ok(());
    }
    // The informed amplitudes read the frame as the detector will: luma for RGB, Y for YUV
    // (whose units are 219/255 of luma's).
    let grid = frame_grid(frame, width, height, &rows);
    let units = match rows {
        Rows::Rgb { .. } => strength,
        Rows::Luma => strength * 219.0 / 255.0,
    };
    let pattern = Pattern::informed(payload, width, height, grid.as_deref(), units);
    let w = width as usize;
    match rows {
        Rows::Rgb { bytes } => {
            for (y, row) in frame.chunks_exact_mut(w * bytes).take(height as usize).enumerate() {
                for (px, delta) in row.chunks_exact_mut(bytes).zip(pattern.row(y, strength)) {
                    for (c, g) in px.iter_mut().zip(CHANNEL_GAIN) {
                        *c = add(*c, delta * g);
                    }
                }
            }
        }
        Rows::Luma => {
            for (y, row) in frame.chunks_exact_mut(w).take(height as usize).enumerate() {
                for (v, delta) in row.iter_mut().zip(pattern.row(y, units)) {
                    *v = add(*v, delta);
                }
            }
        }
    }
    Ok(())
}

/// The watermark in `frame`, if there is one that passes the check (as [`crate::detect`],
/// rotation search included). Errors when the frame's length does not match its geometry;
/// frames under [`MIN_SIDE`] on a side give `Ok(None)`.
pub fn detect_frame(frame: &[u8], width: u32, height: u32, format: FrameFormat) -> Result<Option<Detection>> {
    let rows = checked(frame.len(), width, height, format)?;
    if width < MIN_SIDE || height < MIN_SIDE {
        return Ok(None);
    }
    Ok(frame_grid(frame, width, height, &rows).and_then(|g| detect_grid(&g, width, height)))
}

/// The frame's luma (RGB) or Y (YUV) on the working grid; `None` for an empty frame.
fn frame_grid(frame: &[u8], width: u32, height: u32, rows: &Rows) -> Option<Vec<f32>> {
    let (w, h) = (width as usize, height as usize);
    match *rows {
        Rows::Rgb { bytes } => luma::working_grid(w, h, |y, out| {
            let row = frame.get(y * w * bytes..(y + 1) * w * bytes).unwrap_or(&[]);
            for (o, p) in out.iter_mut().zip(row.chunks_exact(bytes)) {
                *o = luma::luma([p[0], p[1], p[2], 0]);
            }
        }),
        Rows::Luma => luma::working_grid(w, h, |y, out| {
            let row = frame.get(y * w..(y + 1) * w).unwrap_or(&[]);
            for (o, &v) in out.iter_mut().zip(row) {
                *o = f32::from(v);
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DEFAULT_STRENGTH, detect, embed};

    /// A 320x240 RGBA picture with texture and a gradient.
    fn picture() -> image::RgbaImage {
        image::RgbaImage::from_fn(320, 240, |x, y| {
            let v = ((x * 7 + y * 13) % 180) as u8 + ((x ^ y) % 30) as u8 + 20;
            image::Rgba([v, v / 2 + 60, 255 - v, 255])
        })
    }

    /// Y, Cb and Cr of an RGBA picture, as I420 or NV12 (BT.601 limited range).
    fn yuv(img: &image::RgbaImage, nv12: bool) -> Vec<u8> {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let mut y = Vec::with_capacity(w * h * 3 / 2);
        for p in img.pixels() {
            y.push((16.0 + 219.0 * luma::luma(p.0) / 255.0).round() as u8);
        }
        let (mut cb, mut cr) = (Vec::new(), Vec::new());
        for j in (0..h).step_by(2) {
            for i in (0..w).step_by(2) {
                let p = img.get_pixel(i as u32, j as u32).0;
                let e = luma::luma(p) / 255.0;
                cb.push((128.0 + 112.0 * (f32::from(p[2]) / 255.0 - e) / 0.886).round() as u8);
                cr.push((128.0 + 112.0 * (f32::from(p[0]) / 255.0 - e) / 0.701).round() as u8);
            }
        }
        if nv12 {
            y.extend(cb.iter().zip(&cr).flat_map(|(&b, &r)| [b, r]));
        } else {
            y.extend(cb);
            y.extend(cr);
        }
        y
    }

    #[test]
    fn every_format_round_trips_and_yuv_chroma_is_untouched() {
        let img = picture();
        let (w, h) = (img.width(), img.height());
        let payload = 0x0123_4567_89ab_cdef;
        // RGBA frames are marked exactly as images are.
        let mut rgba = img.as_raw().clone();
        embed_frame(&mut rgba, w, h, FrameFormat::Rgba8, payload, DEFAULT_STRENGTH).unwrap();
        assert_eq!(rgba, *embed(&img, payload, DEFAULT_STRENGTH).as_raw());
        assert_eq!(
            detect_frame(&rgba, w, h, FrameFormat::Rgba8)
                .unwrap()
                .map(|d| d.payload),
            Some(payload)
        );
        let mut rgb: Vec<u8> = img.pixels().flat_map(|p| [p.0[0], p.0[1], p.0[2]]).collect();
        assert_eq!(detect_frame(&rgb, w, h, FrameFormat::Rgb8).unwrap(), None);
        embed_frame(&mut rgb, w, h, FrameFormat::Rgb8, payload, DEFAULT_STRENGTH).unwrap();
        assert_eq!(
            detect_frame(&rgb, w, h, FrameFormat::Rgb8).unwrap().map(|d| d.payload),
            Some(payload)
        );
        for (format, nv12) in [(FrameFormat::I420, false), (FrameFormat::Nv12, true)] {
            let original = yuv(&img, nv12);
            assert_eq!(detect_frame(&original, w, h, format).unwrap(), None, "{format:?}");
            let mut frame = original.clone();
            embed_frame(&mut frame, w, h, format, payload, DEFAULT_STRENGTH).unwrap();
            let y_len = (w * h) as usize;
            assert_eq!(frame[y_len..], original[y_len..], "{format:?}: chroma changed");
            assert_ne!(frame[..y_len], original[..y_len]);
            let found = detect_frame(&frame, w, h, format).unwrap();
            assert_eq!(found.map(|d| d.payload), Some(payload), "{format:?}");
        }
        // An RGBA picture rebuilt from a marked Y plane reads the same payload.
        let mut frame = yuv(&img, false);
        embed_frame(&mut frame, w, h, FrameFormat::I420, payload, DEFAULT_STRENGTH).unwrap();
        let grey = image::RgbaImage::from_fn(w, h, |x, y| {
            let v = frame[(y * w + x) as usize];
            image::Rgba([v, v, v, 255])
        });
        assert_eq!(detect(&grey).map(|d| d.payload), Some(payload));
    }

    #[test]
    fn wrong_sizes_are_errors_not_panics() {
        let mut short = vec![0u8; 100];
        assert!(embed_frame(&mut short, 320, 240, FrameFormat::I420, 1, 3.0).is_err());
        assert!(detect_frame(&short, 320, 240, FrameFormat::Rgba8).is_err());
        assert!(detect_frame(&[0; 6], 1, 3, FrameFormat::Nv12).is_err());
        assert!(detect_frame(&[], u32::MAX, u32::MAX, FrameFormat::Rgba8).is_err());
        assert_eq!(detect_frame(&[9; 48], 4, 4, FrameFormat::Rgb8).unwrap(), None);
    }
}
