//! Finding the tiles again: their period (scale) and where one starts (offset).
//!
//! A crop changes both. In the working grid (which always spans the whole picture), a crop that
//! keeps a fraction `f` of an axis stretches the tile period from [`TILE`] to `TILE / f`, and
//! moves the tile origin anywhere. The residual is periodic, so its autocorrelation along each
//! axis peaks at the period; folding the residual modulo that period onto one tile averages all
//! tiles together and leaves only an unknown cyclic shift, found by correlating with the
//! synchronisation template. Why not a template alone: the fold does the averaging that makes a
//! faint pattern readable at all, and the autocorrelation needs no search over scales.

use crate::code::CODE_BITS;
use crate::layout::{CHIP, CHIPS, Layout, Role, TILE};
use crate::luma::WORK;

/// Smallest period searched (a crop only makes tiles larger, a resize leaves them alone).
const MIN_PERIOD: usize = TILE - TILE / 16;
/// Largest period searched: a crop may keep as little as ~55% of an axis.
const MAX_PERIOD: usize = TILE * 9 / 5;
/// Multiples of a lag pooled into its autocorrelation score: the period and its double.
///
/// Why: the tiles repeat, so the residual correlates with itself at twice the period too, and
/// pooling both lags (weighted by their overlaps) adds evidence at no extra false peak.
/// Measured on the evaluation set: one more image after the 0.5x + JPEG 70 + crop 5% chain
/// (ihc); a third multiple gained nothing and lost a rotation.
const HARMONICS: usize = 2;
/// Fewest overlapping samples per line for a multiple of the period to count.
const MIN_OVERLAP: usize = 32;
/// Autocorrelation peaks kept per axis.
const PEAKS: usize = 3;
/// Tile origins decoded per period pair.
const SHIFTS_TRIED: usize = 3;
/// Period pairs decoded: those whose template correlation stands out most.
const PERIODS_TRIED: usize = 4;
/// Upper bound on decoding attempts at one angle (each checks up to `code::LIST` payloads, each
/// passing by chance with probability 2^-32).
pub(crate) const MAX_ATTEMPTS: usize = SHIFTS_TRIED * PERIODS_TRIED;
/// Upper bound on decoding attempts at each extra angle of the quick rotation search.
pub(crate) const QUICK_ATTEMPTS: usize = SHIFTS_TRIED * QUICK_PERIODS;

/// `a . b`, summed in eight independent lanes so the compiler can vectorise it.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            lanes[k] += x[k] * y[k];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Which way an autocorrelation runs over the residual.
#[derive(Clone, Copy)]
pub(crate) enum Axis {
    /// Along the rows: the horizontal period.
    X,
    /// Along the columns: the vertical period.
    Y,
}

/// The residual's autocorrelation along `axis` at `lag`, summed over every `row_step`-th line
/// (for [`Axis::Y`], every `row_step`-th pair of rows `lag` apart, each a whole-row dot
/// product: contiguous, so no transposed copy is needed).
fn autocorrelation(residual: &[f32], axis: Axis, lag: usize, row_step: usize) -> f32 {
    match axis {
        Axis::X => residual
            .chunks_exact(WORK)
            .step_by(row_step)
            .map(|row| dot(row.get(..WORK - lag).unwrap_or(&[]), row.get(lag..).unwrap_or(&[])))
            .sum(),
        Axis::Y => (0..WORK.saturating_sub(lag))
            .step_by(row_step)
            .map(|y| {
                let row = |y: usize| residual.get(y * WORK..(y + 1) * WORK).unwrap_or(&[]);
                dot(row(y), row(y + lag))
            })
            .sum(),
    }
}

/// Period guesses along `axis`: the `peaks_kept` highest local maxima of the autocorrelation
/// (over every `row_step`-th line, pooled with the lag's [`HARMONICS`]), each refined to a
/// fraction of a pixel by a parabola through its neighbours.
fn periods(residual: &[f32], axis: Axis, peaks_kept: usize, row_step: usize) -> Vec<f32> {
    peaks(residual, axis, row_step)
        .into_iter()
        .take(peaks_kept)
        .map(|p| p.1)
        .collect()
}

/// Every local maximum of the autocorrelation along `axis` as (score, period), highest first.
pub(crate) fn peaks(residual: &[f32], axis: Axis, row_step: usize) -> Vec<(f32, f32)> {
    let first = MIN_PERIOD - 1;
    let scores: Vec<f32> = (first..=MAX_PERIOD + 1)
        .map(|lag| {
            let (mut sum, mut count) = (0.0f32, 0usize);
            for k in 1..=HARMONICS {
                let l = k * lag;
                if l + MIN_OVERLAP > WORK {
                    break;
                }
                sum += autocorrelation(residual, axis, l, row_step);
                count += WORK - l;
            }
            sum / count.max(1) as f32
        })
        .collect();
    let mut peaks: Vec<(f32, f32)> = scores
        .windows(3)
        .enumerate()
        .filter(|(_, w)| w[1] > w[0] && w[1] >= w[2])
        .map(|(k, w)| {
            let denom = w[0] - 2.0 * w[1] + w[2];
            let delta = if denom < 0.0 {
                (0.5 * (w[0] - w[2]) / denom).clamp(-0.5, 0.5)
            } else {
                0.0
            };
            (w[1], (first + k + 1) as f32 + delta)
        })
        .collect();
    peaks.sort_by(|a, b| b.0.total_cmp(&a.0));
    peaks
}

/// The period pairs to try: no crop (`TILE` on both axes) and every combination of it with
/// each axis's autocorrelation peaks, without near-repeats.
fn period_candidates(residual: &[f32], peaks_kept: usize, row_step: usize) -> Vec<(f32, f32)> {
    let t = TILE as f32;
    let with_tile = |mut v: Vec<f32>| {
        if !v.iter().any(|p| (p - t).abs() < 0.25) {
            v.insert(0, t);
        }
        v
    };
    let xs = with_tile(periods(residual, Axis::X, peaks_kept, row_step));
    let ys = with_tile(periods(residual, Axis::Y, peaks_kept, row_step));
    xs.iter().flat_map(|&px| ys.iter().map(move |&py| (px, py))).collect()
}

/// The residual folded onto one tile (modulo the periods), then smoothed with a small
/// triangular kernel so each lattice point sums its whole chip.
pub(crate) fn fold(residual: &[f32], px: f32, py: f32) -> Vec<f32> {
    let mut sum = vec![0.0f32; TILE * TILE];
    let (sx, sy) = (TILE as f32 / px, TILE as f32 / py);
    // A tile index per column and per row; every count is a column's times a row's, and
    // `& (TILE - 1)` (TILE is a power of two) keeps each index inside its row.
    let txs: Vec<usize> = (0..WORK)
        .map(|x| ((x as f32 * sx).round() as usize) & (TILE - 1))
        .collect();
    let tys: Vec<usize> = (0..WORK)
        .map(|y| ((y as f32 * sy).round() as usize) & (TILE - 1))
        .collect();
    let (mut per_x, mut per_y) = ([0u32; TILE], [0u32; TILE]);
    for (&tx, &ty) in txs.iter().zip(&tys) {
        per_x[tx & (TILE - 1)] += 1;
        per_y[ty & (TILE - 1)] += 1;
    }
    for (row, &ty) in residual.chunks_exact(WORK).zip(&tys) {
        let Some(Ok(dst)) = sum
            .get_mut(ty * TILE..(ty + 1) * TILE)
            .map(<&mut [f32; TILE]>::try_from)
        else {
            continue;
        };
        for (&tx, &v) in txs.iter().zip(row) {
            dst[tx & (TILE - 1)] += v;
        }
    }
    for (k, s) in sum.iter_mut().enumerate() {
        *s /= (per_x[k % TILE] * per_y[(k / TILE) % TILE]).max(1) as f32;
    }
    // Separable [1 2 3 2 1] kernel with wrap-around, the tile being periodic.
    const K: [f32; 5] = [1.0, 2.0, 3.0, 2.0, 1.0];
    let blur = |src: &[f32], step_x: bool| -> Vec<f32> {
        let mut out = vec![0.0f32; TILE * TILE];
        for y in 0..TILE {
            for x in 0..TILE {
                let mut acc = 0.0;
                for (k, w) in K.iter().enumerate() {
                    let (xx, yy) = if step_x {
                        ((x + TILE + k - 2) % TILE, y)
                    } else {
                        (x, (y + TILE + k - 2) % TILE)
                    };
                    acc += w * src.get(yy * TILE + xx).copied().unwrap_or(0.0);
                }
                if let Some(o) = out.get_mut(y * TILE + x) {
                    *o = acc / 9.0;
                }
            }
        }
        out
    };
    blur(&blur(&sum, true), false)
}

/// The folded tile's value at lattice point `(i, j)` when the tile starts at `(dx, dy)`.
fn sample(tile: &[f32], i: usize, j: usize, dx: usize, dy: usize) -> f32 {
    let x = (i * CHIP + dx) % TILE;
    let y = (j * CHIP + dy) % TILE;
    tile.get(y * TILE + x).copied().unwrap_or(0.0)
}

/// Coarse search step over origins: the smoothed correlation peak is several pixels wide, so
/// every other origin on each axis is enough to find it, at a quarter of the cost.
const COARSE: usize = 2;
/// Coarse peaks refined on the full grid.
const REFINED: usize = 8;

/// The best `SHIFTS_TRIED` tile origins by correlation with the template, and the best one's
/// height in standard deviations over the coarse origins.
pub(crate) fn shifts(tile: &[f32], layout: &Layout) -> (Vec<(usize, usize)>, f32) {
    let sync: Vec<(usize, usize, f32)> = layout
        .chips
        .iter()
        .enumerate()
        .filter_map(|(k, &(role, sign))| matches!(role, Role::Sync).then_some((k % CHIPS, k / CHIPS, sign)))
        .collect();
    let score =
        |dx: usize, dy: usize| -> f32 { sync.iter().map(|&(i, j, sign)| sign * sample(tile, i, j, dx, dy)).sum() };
    // Origins split into a lattice shift (qx, qy) and a phase (rx, ry) below one chip. For each
    // phase, the tile sampled at that phase on a doubled lattice turns every shift into a plain
    // offset: no wrap-around arithmetic in the inner loop.
    const SIDE: usize = 2 * CHIPS;
    let offsets: Vec<(usize, f32)> = sync.iter().map(|&(i, j, sign)| (j * SIDE + i, sign)).collect();
    let mut coarse = Vec::with_capacity((TILE / COARSE) * (TILE / COARSE));
    let mut lattice = vec![0.0f32; SIDE * SIDE];
    for ry in (0..CHIP).step_by(COARSE) {
        for rx in (0..CHIP).step_by(COARSE) {
            for (k, v) in lattice.iter_mut().enumerate() {
                *v = sample(tile, (k % SIDE) % CHIPS, (k / SIDE) % CHIPS, rx, ry);
            }
            // Chip by chip, a whole row of shifts at once: contiguous, so it vectorises.
            let mut sums = [[0.0f32; CHIPS]; CHIPS];
            for &(o, sign) in &offsets {
                for (qy, row) in sums.iter_mut().enumerate() {
                    let start = o + qy * SIDE;
                    let src = lattice.get(start..start + CHIPS).unwrap_or(&[]);
                    row.iter_mut().zip(src).for_each(|(acc, v)| *acc += sign * v);
                }
            }
            for (qy, row) in sums.iter().enumerate() {
                for (qx, &s) in row.iter().enumerate() {
                    coarse.push((s, qx * CHIP + rx, qy * CHIP + ry));
                }
            }
        }
    }
    let n = coarse.len() as f32;
    let mean = coarse.iter().map(|s| s.0).sum::<f32>() / n;
    let sd = (coarse.iter().map(|s| (s.0 - mean).powi(2)).sum::<f32>() / n)
        .sqrt()
        .max(f32::MIN_POSITIVE);
    // Only the best REFINED are needed: a partial selection, not a sort of all 4096.
    if coarse.len() > REFINED {
        coarse.select_nth_unstable_by(REFINED - 1, |a, b| b.0.total_cmp(&a.0));
    }
    coarse.truncate(REFINED);
    coarse.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut fine: Vec<(f32, usize, usize)> = Vec::with_capacity(REFINED * 9);
    for &(_, cx, cy) in coarse.iter().take(REFINED) {
        for (ox, oy) in [
            (0, 0),
            (1, 0),
            (TILE - 1, 0),
            (0, 1),
            (0, TILE - 1),
            (1, 1),
            (TILE - 1, TILE - 1),
            (1, TILE - 1),
            (TILE - 1, 1),
        ] {
            let (dx, dy) = ((cx + ox) % TILE, (cy + oy) % TILE);
            if !fine.iter().any(|f| (f.1, f.2) == (dx, dy)) {
                fine.push((score(dx, dy), dx, dy));
            }
        }
    }
    fine.sort_by(|a, b| b.0.total_cmp(&a.0));
    let z = fine.first().map_or(0.0, |s| (s.0 - mean) / sd);
    (fine.iter().take(SHIFTS_TRIED).map(|s| (s.1, s.2)).collect(), z)
}

/// The residual folded under one period pair, with its best tile origins.
pub(crate) struct Fit {
    /// The folded, smoothed tile.
    pub(crate) tile: Vec<f32>,
    /// The best `SHIFTS_TRIED` origins, best first.
    pub(crate) origins: Vec<(usize, usize)>,
    /// The best origin's template correlation in standard deviations over all origins.
    pub(crate) z: f32,
    /// The tile periods (x, y) in working pixels this fit folded with.
    pub(crate) periods: (f32, f32),
}

/// Fold and synchronise under every period candidate; keep the `PERIODS_TRIED` whose template
/// stands out most, best first (so at most `MAX_ATTEMPTS` origins in all).
pub(crate) fn best_fits(residual: &[f32], layout: &Layout) -> Vec<Fit> {
    let mut fits = all_fits(residual, layout, PEAKS, 2);
    fits.truncate(PERIODS_TRIED);
    fits
}

/// The quick search for a rotated picture: only the strongest autocorrelation peak per axis,
/// measured over every fourth line (and the uncropped period), at most [`QUICK_PERIODS`] pairs, so at most
/// `QUICK_PERIODS * SHIFTS_TRIED` attempts.
pub(crate) fn quick_fits(residual: &[f32], layout: &Layout) -> Vec<Fit> {
    let mut fits = all_fits(residual, layout, 1, 4);
    fits.truncate(QUICK_PERIODS);
    fits
}

/// Period pairs [`quick_fits`] decodes at most.
pub(crate) const QUICK_PERIODS: usize = 2;

/// Every period candidate (from `peaks_kept` autocorrelation peaks per axis, measured over
/// every `row_step`-th line) folded and synchronised, best template first.
pub(crate) fn all_fits(residual: &[f32], layout: &Layout, peaks_kept: usize, row_step: usize) -> Vec<Fit> {
    let mut fits: Vec<Fit> = period_candidates(residual, peaks_kept, row_step)
        .into_iter()
        .map(|(px, py)| {
            let tile = fold(residual, px, py);
            let (origins, z) = shifts(&tile, layout);
            Fit {
                tile,
                origins,
                z,
                periods: (px, py),
            }
        })
        .collect();
    fits.sort_by(|a, b| b.z.total_cmp(&a.z));
    fits
}

/// Soft values of the code bits (positive means 1) for a tile starting at `(dx, dy)`.
pub(crate) fn soft_bits(tile: &[f32], layout: &Layout, dx: usize, dy: usize) -> [f32; CODE_BITS] {
    let mut soft = [0.0f32; CODE_BITS];
    for (k, &(role, sign)) in layout.chips.iter().enumerate() {
        if let Role::Bit(b) = role
            && let Some(s) = soft.get_mut(b)
        {
            *s += sign * sample(tile, k % CHIPS, k / CHIPS, dx, dy);
        }
    }
    soft
}

