//! Drawing the label into the blocks it covers: the MCUs under the label are decoded to samples,
//! the label is blended pixel by pixel in the file's colour model, and only blocks whose samples
//! changed are transformed and quantised again.

use aigc_label_core::{Error, Result};
use image::metadata::Orientation;

use super::dct;
use super::{Frame, Model};
use crate::stamp::place::Placed;
use crate::stamp::{Stamped, Stamper};

/// What drawing did.
pub(super) struct Drawn {
    pub stamped: Stamped,
    /// Blocks replaced, all components together.
    pub blocks: usize,
}

/// Draws `stamper`'s label into `frame`'s coefficients, placed as the image is displayed.
pub(super) fn draw(frame: &mut Frame, model: Model, orientation: Orientation, stamper: &Stamper) -> Result<Drawn> {
    let placed = Placed::new(stamper, frame.width as u32, frame.height as u32, orientation)?;
    let (x0, x1, y0, y1) = (
        placed.x0 as usize,
        placed.x1 as usize,
        placed.y0 as usize,
        placed.y1 as usize,
    );
    let (mw, mh) = (8 * frame.hmax, 8 * frame.vmax);
    let (mx0, mx1, my0, my1) = (x0 / mw, x1 / mw + 1, y0 / mh, y1 / mh + 1);
    let (rw, rh) = ((mx1 - mx0) * mw, (my1 - my0) * mh);

    // Decode the region's samples, per component, at the component's own resolution.
    let mut planes: Vec<Vec<u8>> = Vec::new();
    for c in &frame.components {
        let quant = c.quant.unwrap_or([1; 64]);
        let (pw, ph) = ((mx1 - mx0) * c.h * 8, (my1 - my0) * c.v * 8);
        let mut plane = vec![0u8; pw * ph];
        for by in 0..(my1 - my0) * c.v {
            for bx in 0..(mx1 - mx0) * c.h {
                let index = (my0 * c.v + by) * c.bw + mx0 * c.h + bx;
                let block = c
                    .blocks
                    .get(index)
                    .ok_or_else(|| Error::malformed("jpeg", 0, "block index"))?;
                let samples = dct::inverse(block, &quant);
                for (y, row) in samples.chunks_exact(8).enumerate() {
                    let at = (by * 8 + y) * pw + bx * 8;
                    plane[at..at + 8].copy_from_slice(row);
                }
            }
        }
        planes.push(plane);
    }

    // Blend pixel by pixel; remember the new component values of the pixels that changed.
    let n = frame.components.len();
    let mut changed = vec![false; rw * rh];
    let mut values = vec![0f32; rw * rh * n];
    let sample_at = |planes: &[Vec<u8>], c: usize, px: usize, py: usize| -> f32 {
        let comp = &frame.components[c];
        let pw = (mx1 - mx0) * comp.h * 8;
        let (sx, sy) = (px * comp.h / frame.hmax, py * comp.v / frame.vmax);
        f32::from(planes[c].get(sy * pw + sx).copied().unwrap_or(0))
    };
    for py in 0..rh {
        for px in 0..rw {
            let (sx, sy) = (mx0 * mw + px, my0 * mh + py);
            let Some(l) = placed.layer_at(sx as u32, sy as u32) else {
                continue;
            };
            let mut original = [0f32; 4];
            for (c, o) in original.iter_mut().enumerate().take(n) {
                *o = sample_at(&planes, c, px, py);
            }
            let rgb = to_rgb(model, original);
            let inv = f32::from(255 - l[3]) / 255.0;
            let blended = [0, 1, 2].map(|i| f32::from(l[i]) + rgb[i] * inv);
            let new = from_rgb(model, blended);
            let at = (py * rw + px) * n;
            values[at..at + n].copy_from_slice(&new[..n]);
            changed[py * rw + px] = true;
        }
    }

    // New samples: a component sample whose pixels changed gets the mean of its pixels' values
    // (the new value where a pixel changed, the decoded one where it did not).
    let mut blocks = 0;
    for (c, comp) in frame.components.iter_mut().enumerate() {
        let (fx, fy) = (frame.hmax / comp.h, frame.vmax / comp.v);
        let pw = (mx1 - mx0) * comp.h * 8;
        let quant = comp.quant.unwrap_or([1; 64]);
        for by in 0..(my1 - my0) * comp.v {
            for bx in 0..(mx1 - mx0) * comp.h {
                let mut samples = [0f32; 64];
                let mut dirty = false;
                for y in 0..8 {
                    for x in 0..8 {
                        let (sx, sy) = (bx * 8 + x, by * 8 + y);
                        let old = f32::from(planes[c][sy * pw + sx]);
                        let (mut sum, mut count, mut any) = (0f32, 0f32, false);
                        for py in sy * fy..(sy + 1) * fy {
                            for px in sx * fx..(sx + 1) * fx {
                                let i = py * rw + px;
                                if changed.get(i) == Some(&true) {
                                    any = true;
                                    sum += values[i * n + c];
                                } else {
                                    sum += old;
                                }
                                count += 1.0;
                            }
                        }
                        samples[y * 8 + x] = if any { sum / count } else { old };
                        dirty |= any;
                    }
                }
                if dirty {
                    let index = (my0 * comp.v + by) * comp.bw + mx0 * comp.h + bx;
                    if let Some(block) = comp.blocks.get_mut(index) {
                        *block = dct::forward(&samples, &quant);
                        blocks += 1;
                    }
                }
            }
        }
    }
    Ok(Drawn {
        stamped: placed.stamped(),
        blocks,
    })
}

/// Component samples (0..=255) to RGB (0..=255).
fn to_rgb(model: Model, s: [f32; 4]) -> [f32; 3] {
    match model {
        Model::Grey => [s[0]; 3],
        Model::Rgb => [s[0], s[1], s[2]],
        Model::YCbCr => ycc_to_rgb(s),
        Model::Ycck => {
            let t = ycc_to_rgb(s);
            to_rgb(
                Model::Cmyk { inverted: true },
                [255.0 - t[0], 255.0 - t[1], 255.0 - t[2], s[3]],
            )
        }
        Model::Cmyk { inverted } => {
            // Stored values as "no ink" amounts: 255 means no ink.
            let free = |v: f32| if inverted { v } else { 255.0 - v };
            let k = free(s[3]) / 255.0;
            [free(s[0]) * k, free(s[1]) * k, free(s[2]) * k]
        }
    }
}

/// RGB (0..=255) to component samples.
fn from_rgb(model: Model, rgb: [f32; 3]) -> [f32; 4] {
    let [r, g, b] = rgb;
    match model {
        Model::Grey => [0.299 * r + 0.587 * g + 0.114 * b, 0.0, 0.0, 0.0],
        Model::Rgb => [r, g, b, 0.0],
        Model::YCbCr => rgb_to_ycc(rgb, 0.0),
        Model::Ycck => {
            let [c, m, y, k] = from_rgb(Model::Cmyk { inverted: true }, rgb);
            rgb_to_ycc([255.0 - c, 255.0 - m, 255.0 - y], k)
        }
        Model::Cmyk { inverted } => {
            let max = r.max(g).max(b);
            // Grey component replacement in full: K carries the darkness, CMY the hue.
            let free = if max <= 0.0 {
                [255.0, 255.0, 255.0, 0.0]
            } else {
                [r / max * 255.0, g / max * 255.0, b / max * 255.0, max]
            };
            if inverted { free } else { free.map(|v| 255.0 - v) }
        }
    }
}

fn ycc_to_rgb(s: [f32; 4]) -> [f32; 3] {
    let (y, cb, cr) = (s[0], s[1] - 128.0, s[2] - 128.0);
    [y + 1.402 * cr, y - 0.344_136 * cb - 0.714_136 * cr, y + 1.772 * cb].map(|v| v.clamp(0.0, 255.0))
}

/// JFIF's RGB to Y'CbCr, with `fourth` passed through.
fn rgb_to_ycc([r, g, b]: [f32; 3], fourth: f32) -> [f32; 4] {
    [
        0.299 * r + 0.587 * g + 0.114 * b,
        128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b,
        128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b,
        fourth,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_models_round_trip() {
        for model in [
            Model::Grey,
            Model::Rgb,
            Model::YCbCr,
            Model::Cmyk { inverted: true },
            Model::Cmyk { inverted: false },
            Model::Ycck,
        ] {
            for rgb in [[0.0, 0.0, 0.0], [255.0, 255.0, 255.0], [200.0, 30.0, 90.0]] {
                let rgb = if model == Model::Grey { [rgb[0]; 3] } else { rgb };
                let back = to_rgb(model, from_rgb(model, rgb));
                for i in 0..3 {
                    assert!((back[i] - rgb[i]).abs() < 0.5, "{model:?} {rgb:?} -> {back:?}");
                }
            }
        }
    }
}
