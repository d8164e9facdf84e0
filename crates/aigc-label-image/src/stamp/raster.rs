//! Layout and rasterisation: from (text, style, font, image size) to coverage masks.
//!
//! The font size is chosen by measurement, not by font metrics: the CJK glyphs are rasterised,
//! the rows where their coverage reaches 50% are counted, and the size grows until that ink
//! height reaches the target. Metrics (ascent, cap height) differ between fonts and say nothing
//! about where a particular glyph's ink ends, which is what the 5% rule is about.

use ab_glyph::{Font, GlyphId, OutlinedGlyph, PxScale, ScaleFont, point};
use aigc_label_core::{Error, Result};

use super::style::{Backing, Style};

/// Most size-search steps before giving up (each grows the ink by at least half a pixel; the
/// first guess is usually within a pixel).
const MAX_SIZE_STEPS: usize = 32;

/// Coverage at or above this counts as ink (half covered: the pixel reads as glyph, not ground).
const INK_COVERAGE: f32 = 0.5;

/// Outline width as a fraction of the CJK ink height.
const OUTLINE_FRACTION: f32 = 0.1;

/// One character of the label, as the font knows it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunGlyph {
    id: GlyphId,
    cjk: bool,
}

/// The label text as glyphs of one font.
pub(crate) fn glyph_run<F: Font>(font: &F, text: &str) -> Vec<RunGlyph> {
    text.chars()
        .map(|c| RunGlyph {
            id: font.glyph_id(c),
            cjk: is_cjk(c),
        })
        .collect()
}

/// Han ideographs: the glyphs the size rule measures (the label's `生成`/`合成` are always some).
fn is_cjk(c: char) -> bool {
    matches!(u32::from(c), 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3FFFF)
}

/// Glyph outlines positioned on a baseline at y = 0, pen starting at x = 0.
pub(crate) fn layout<F: Font>(font: &F, run: &[RunGlyph], scale: PxScale) -> Vec<(OutlinedGlyph, bool)> {
    let scaled = font.as_scaled(scale);
    let mut x = 0.0f32;
    let mut previous: Option<GlyphId> = None;
    let mut out = Vec::with_capacity(run.len());
    for g in run {
        if let Some(p) = previous {
            x += scaled.kern(p, g.id);
        }
        let glyph = g.id.with_scale_and_position(scale, point(x, 0.0));
        x += scaled.h_advance(g.id);
        previous = Some(g.id);
        if let Some(outlined) = font.outline_glyph(glyph) {
            out.push((outlined, g.cjk));
        }
    }
    out
}

/// Rows (top, count) of the CJK glyphs' ink at `scale`: rows where some CJK glyph pixel is at
/// least half covered.
fn cjk_ink_rows(glyphs: &[(OutlinedGlyph, bool)]) -> Option<(i64, u32)> {
    let mut top = i64::MAX;
    let mut bottom = i64::MIN;
    for (g, _) in glyphs.iter().filter(|(_, cjk)| *cjk) {
        let origin = g.px_bounds().min.y as i64;
        g.draw(|_, y, c| {
            if c >= INK_COVERAGE {
                let row = origin + i64::from(y);
                top = top.min(row);
                bottom = bottom.max(row);
            }
        });
    }
    (top <= bottom).then(|| (top, u32::try_from(bottom - top + 1).unwrap_or(u32::MAX)))
}

/// The scale at which the CJK ink is at least `target` rows tall, with the measured height.
///
/// # Errors
/// [`Error::Parameter`] when the text has no CJK glyph with ink, or no size reaches the target.
pub(crate) fn size_for_ink<F: Font>(font: &F, run: &[RunGlyph], target: u32) -> Result<(PxScale, u32)> {
    let mut cjk_units = (f32::MAX, f32::MIN);
    for g in run.iter().filter(|g| g.cjk) {
        if let Some(outline) = font.outline(g.id) {
            // ab_glyph's unscaled bounds keep font units but name the top edge `min`; take
            // both orders.
            let (a, b) = (outline.bounds.min.y, outline.bounds.max.y);
            cjk_units = (cjk_units.0.min(a.min(b)), cjk_units.1.max(a.max(b)));
        }
    }
    let units = cjk_units.1 - cjk_units.0;
    if units.is_nan() || units <= 0.0 {
        return Err(Error::parameter(
            "label text",
            "the label text has no CJK glyph with ink to measure (生成 or 合成 expected)",
        ));
    }
    let target_f = target as f32;
    let mut px = target_f / units * font.height_unscaled();
    for _ in 0..MAX_SIZE_STEPS {
        let ink = cjk_ink_rows(&layout(font, run, PxScale::from(px))).map_or(0, |r| r.1);
        if ink >= target {
            return Ok((PxScale::from(px), ink));
        }
        let grow = (target_f / ink.max(1) as f32).max(1.0 + 0.5 / target_f);
        px *= grow;
    }
    Err(Error::parameter(
        "style",
        format!("no font size gives the label {target} px of ink"),
    ))
}

/// Glyph and backing coverage of a laid-out label, before colours.
#[derive(Debug)]
pub(crate) struct Raster {
    pub width: u32,
    pub height: u32,
    pub glyph: Vec<u8>,
    pub backing: Vec<u8>,
    /// Measured CJK ink height, in rows.
    pub ink_height: u32,
}

/// Size of the label box: the union of glyph pixel bounds plus `pad` on every side.
pub(crate) fn box_size(glyphs: &[(OutlinedGlyph, bool)], pad: u32) -> (u32, u32) {
    let (min_x, min_y, max_x, max_y) = ink_bounds(glyphs);
    let w = (max_x - min_x).max(0) as u64 + 2 * u64::from(pad);
    let h = (max_y - min_y).max(0) as u64 + 2 * u64::from(pad);
    (
        u32::try_from(w).unwrap_or(u32::MAX),
        u32::try_from(h).unwrap_or(u32::MAX),
    )
}

fn ink_bounds(glyphs: &[(OutlinedGlyph, bool)]) -> (i64, i64, i64, i64) {
    let mut b = (i64::MAX, i64::MAX, i64::MIN, i64::MIN);
    for (g, _) in glyphs {
        let r = g.px_bounds();
        b = (
            b.0.min(r.min.x as i64),
            b.1.min(r.min.y as i64),
            b.2.max(r.max.x as i64),
            b.3.max(r.max.y as i64),
        );
    }
    if b.0 > b.2 { (0, 0, 0, 0) } else { b }
}

/// Padding and outline radius for `style` at CJK ink height `ink`: (nominal pad, smallest pad).
pub(crate) fn padding(style: &Style, ink: u32) -> (u32, u32) {
    match style.backing {
        Backing::Plate { .. } => {
            let pad = (style.padding * ink as f32).round() as u32;
            (pad, pad.min(1))
        }
        Backing::Outline { .. } => {
            let r = outline_radius(ink);
            (r, r)
        }
    }
}

fn outline_radius(ink: u32) -> u32 {
    ((OUTLINE_FRACTION * ink as f32).round() as u32).max(1)
}

/// Rasterises `glyphs` into a box with `pad` pixels around the ink, and the backing `style` asks for.
///
/// # Errors
/// [`Error::Limit`] when the masks cannot be allocated.
pub(crate) fn rasterise(glyphs: &[(OutlinedGlyph, bool)], pad: u32, style: &Style, ink_height: u32) -> Result<Raster> {
    let (width, height) = box_size(glyphs, pad);
    let len = mask_len(width, height)?;
    let mut glyph = zeroed(len)?;
    let (min_x, min_y, _, _) = ink_bounds(glyphs);
    let w = width as usize;
    for (g, _) in glyphs {
        let r = g.px_bounds();
        let ox = r.min.x as i64 - min_x + i64::from(pad);
        let oy = r.min.y as i64 - min_y + i64::from(pad);
        g.draw(|x, y, c| {
            let (px, py) = (ox + i64::from(x), oy + i64::from(y));
            let (Ok(px), Ok(py)) = (usize::try_from(px), usize::try_from(py)) else {
                return;
            };
            if px < w {
                if let Some(cell) = glyph.get_mut(py * w + px) {
                    *cell = cell.saturating_add((c.clamp(0.0, 1.0) * 255.0).round() as u8);
                }
            }
        });
    }
    let backing = match style.backing {
        Backing::Plate { .. } => {
            let mut plate = zeroed(len)?;
            plate.fill(255);
            plate
        }
        Backing::Outline { .. } => dilate(&glyph, width, height, outline_radius(ink_height))?,
    };
    Ok(Raster {
        width,
        height,
        glyph,
        backing,
        ink_height,
    })
}

/// Bytes of one coverage mask.
fn mask_len(width: u32, height: u32) -> Result<usize> {
    usize::try_from(u64::from(width) * u64::from(height)).map_err(|_| Error::Limit {
        format: "stamp",
        offset: 0,
        what: "label mask size",
        found: u64::from(width) * u64::from(height),
        limit: usize::MAX as u64,
    })
}

/// A zero-filled buffer, allocated fallibly.
pub(crate) fn zeroed(len: usize) -> Result<Vec<u8>> {
    aigc_label_core::io::zeroed(len, "stamp", "label mask bytes")
}

/// Grows coverage by `radius` pixels with an octagonal structuring element (alternate 3x3 square
/// and plus-shaped steps), so outlines have bevelled, not square, corners.
fn dilate(src: &[u8], width: u32, height: u32, radius: u32) -> Result<Vec<u8>> {
    let (w, h) = (width as usize, height as usize);
    let mut cur = src.to_vec();
    let mut next = zeroed(cur.len())?;
    for step in 0..radius {
        let square = step % 2 == 0;
        for y in 0..h {
            for x in 0..w {
                let at = |xx: usize, yy: usize| cur.get(yy * w + xx).copied().unwrap_or(0);
                let (x0, x1, y0, y1) = (
                    x.saturating_sub(1),
                    (x + 1).min(w - 1),
                    y.saturating_sub(1),
                    (y + 1).min(h - 1),
                );
                let mut m = at(x, y).max(at(x0, y)).max(at(x1, y)).max(at(x, y0)).max(at(x, y1));
                if square {
                    m = m.max(at(x0, y0)).max(at(x1, y0)).max(at(x0, y1)).max(at(x1, y1));
                }
                if let Some(cell) = next.get_mut(y * w + x) {
                    *cell = m;
                }
            }
        }
        std::mem::swap(&mut cur, &mut next);
    }
    Ok(cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stamp::font::bundled_font;

    #[test]
    fn size_search_reaches_the_target_exactly_or_just_above() {
        let font = bundled_font();
        let run = glyph_run(&font, "AI生成");
        for target in [10, 17, 54, 205] {
            let (_, ink) = size_for_ink(&font, &run, target).unwrap();
            assert!(ink >= target && ink <= target + 2, "target {target}, ink {ink}");
        }
    }

    #[test]
    fn cjk_detection() {
        assert!(is_cjk('生') && is_cjk('成') && is_cjk('人'));
        assert!(!is_cjk('A') && !is_cjk('Ａ') && !is_cjk('【') && !is_cjk('，'));
    }

    #[test]
    fn dilation_grows_by_radius() {
        let mut src = vec![0u8; 11 * 11];
        src[5 * 11 + 5] = 255;
        let out = dilate(&src, 11, 11, 3).unwrap();
        assert_eq!(out[5 * 11 + 2], 255);
        assert_eq!(out[5 * 11 + 1], 0);
        assert_eq!(out[2 * 11 + 5], 255);
    }
}
