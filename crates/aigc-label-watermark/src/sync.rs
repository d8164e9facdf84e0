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
/// Upper bound on decoding attempts per fit [`refined`] returns: only its best origin (the
/// refined fold is sharp enough that the runners-up add chances for noise, not detections).
pub(crate) const REFINE_ATTEMPTS: usize = 1;

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
/// each axis's autocorrelation peaks, without near-repeats; with `square`, also each peak on
/// both axes.
fn period_candidates(residual: &[f32], peaks_kept: usize, row_step: usize, square: bool) -> Vec<(f32, f32)> {
    let t = TILE as f32;
    let with_tile = |mut v: Vec<f32>| {
        if !v.iter().any(|p| (p - t).abs() < 0.25) {
            v.insert(0, t);
        }
        v
    };
    let xs = with_tile(periods(residual, Axis::X, peaks_kept, row_step));
    let ys = with_tile(periods(residual, Axis::Y, peaks_kept, row_step));
    let mut pairs: Vec<(f32, f32)> = xs.iter().flat_map(|&px| ys.iter().map(move |&py| (px, py))).collect();
    // A crop that keeps the same share of both axes (the same margin on every edge, a
    // straightened picture) leaves equal periods: each axis's peak also stands for the other's,
    // where a texture buries the other axis's peak (crop 10% per edge: gravel's true period
    // is the highest peak across and the fifteenth down). Not in the quick rotation search, whose
    // folds are what a failed detect pays for most.
    for &p in xs.iter().chain(&ys).filter(|_| square) {
        if !pairs.iter().any(|&(a, b)| (a - p).abs() < 0.25 && (b - p).abs() < 0.25) {
            pairs.push((p, p));
        }
    }
    pairs
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
    smooth(&sum)
}

/// A folded tile smoothed with a separable [1 2 3 2 1] kernel, wrapping around (the tile is
/// periodic), so each lattice point sums its whole chip.
fn smooth(sum: &[f32]) -> Vec<f32> {
    // Separable [1 2 3 2 1] / 9 kernel with wrap-around, the tile being periodic: along each
    // row through a copy padded with the wrapped ends, then down the columns by adding whole
    // rows (contiguous, so both passes vectorise).
    const K: [f32; 5] = [1.0 / 9.0, 2.0 / 9.0, 3.0 / 9.0, 2.0 / 9.0, 1.0 / 9.0];
    let mut across = vec![0.0f32; TILE * TILE];
    let mut padded = [0.0f32; TILE + 4];
    for (src, dst) in sum.chunks_exact(TILE).zip(across.chunks_exact_mut(TILE)) {
        let (head, tail) = (src.get(..2).unwrap_or(&[]), src.get(TILE - 2..).unwrap_or(&[]));
        for (p, v) in padded.iter_mut().zip(tail.iter().chain(src).chain(head)) {
            *p = *v;
        }
        for (x, d) in dst.iter_mut().enumerate() {
            let w = padded.get(x..x + 5).unwrap_or(&[]);
            *d = w.iter().zip(&K).map(|(v, k)| v * k).sum();
        }
    }
    let mut out = vec![0.0f32; TILE * TILE];
    for (y, dst) in out.chunks_exact_mut(TILE).enumerate() {
        for (k, w) in K.iter().enumerate() {
            let r = (y + TILE + k - 2) % TILE;
            let src = across.get(r * TILE..(r + 1) * TILE).unwrap_or(&[]);
            dst.iter_mut().zip(src).for_each(|(d, s)| *d += w * s);
        }
    }
    out
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
    let sync = template(layout);
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
/// measured over every fourth line (and the uncropped period), at most [`QUICK_PERIODS`] pairs,
/// so at most `QUICK_PERIODS * SHIFTS_TRIED` attempts.
pub(crate) fn quick_fits(residual: &[f32], layout: &Layout) -> Vec<Fit> {
    let pairs = period_candidates(residual, 1, 4, false);
    let mut fits = fits_for(residual, layout, pairs);
    fits.truncate(QUICK_PERIODS);
    fits
}

/// The tile periods after a turn by `degrees` and a crop to the largest centred rectangle of
/// the picture's aspect ratio (`aspect`, height over width) inside the turned picture: what a
/// straightening tool does, and issue 19's rotation attack.
///
/// Why a guess: a turn smears the autocorrelation's peaks, and this crop is the usual one,
/// so its periods are worth a fold of their own; [`refine`] corrects a guess that is close.
pub(crate) fn turned_periods(degrees: f32, aspect: f32) -> (f32, f32) {
    let (s, c) = degrees.to_radians().sin_cos();
    let long = if aspect >= 1.0 {
        aspect
    } else {
        1.0 / aspect.max(f32::MIN_POSITIVE)
    };
    let p = TILE as f32 * (c + s.abs() * long);
    (p, p)
}

/// Period pairs [`quick_fits`] decodes at most.
pub(crate) const QUICK_PERIODS: usize = 2;

/// Every period candidate (from `peaks_kept` autocorrelation peaks per axis, measured over
/// every `row_step`-th line) folded and synchronised, best template first.
pub(crate) fn all_fits(residual: &[f32], layout: &Layout, peaks_kept: usize, row_step: usize) -> Vec<Fit> {
    fits_for(
        residual,
        layout,
        period_candidates(residual, peaks_kept, row_step, true),
    )
}

/// The residual folded and synchronised under one period pair.
pub(crate) fn fit_for(residual: &[f32], layout: &Layout, (px, py): (f32, f32)) -> Fit {
    let tile = fold(residual, px, py);
    let (origins, z) = shifts(&tile, layout);
    Fit {
        tile,
        origins,
        z,
        periods: (px, py),
    }
}

/// Each period pair folded and synchronised, best template first.
fn fits_for(residual: &[f32], layout: &Layout, pairs: Vec<(f32, f32)>) -> Vec<Fit> {
    let mut fits: Vec<Fit> = pairs.into_iter().map(|p| fit_for(residual, layout, p)).collect();
    fits.sort_by(|a, b| b.z.total_cmp(&a.z));
    fits
}

/// Soft values of the code bits (positive means 1) for a tile starting at `(dx, dy)`, as
/// the detector decodes them: the chip readings, [`whiten`]ed when that makes the template's
/// chips stand out more ([`pilot_snr`]).
///
/// Why the template decides: its chips have known signs, so they measure which reading
/// serves the code chips (which share their statistics) better, at no extra decoding attempt.
/// On a dense texture the picture's part of neighbouring readings is correlated and whitening
/// removes much of it (measured on the evaluation set, gravel after the crops: 59 to 46-53
/// code bits wrong at the true period); after a blur (the 0.5x + JPEG 70 chain) the mark
/// itself leaks into neighbouring readings, whitening takes part of the mark out with it,
/// and the plain readings are better (whitening alone lost 5 of 29 there).
pub(crate) fn soft_bits(tile: &[f32], layout: &Layout, dx: usize, dy: usize) -> [f32; CODE_BITS] {
    let lattice = chip_readings(tile, dx, dy);
    let whitened = whiten(&lattice);
    if pilot_snr(&whitened, layout) > pilot_snr(&lattice, layout) {
        code_sums(&whitened, layout)
    } else {
        code_sums(&lattice, layout)
    }
}

/// Soft values of the code bits from the plain chip readings, as the embedder reads the
/// picture to inform its amplitudes (see `informed.rs`).
///
/// Why not [`soft_bits`]: informed against the whitened reading, the marks came out weaker
/// after a Pillow 0.5x + JPEG 70 + crop 5% chain (`benches/watermark_compare.py`: chelsea
/// lost), and the plain reading is what survives a blur.
pub(crate) fn plain_soft_bits(tile: &[f32], layout: &Layout, dx: usize, dy: usize) -> [f32; CODE_BITS] {
    code_sums(&chip_readings(tile, dx, dy), layout)
}

/// The folded tile's value at every lattice point (row-major, `CHIPS` x `CHIPS`) for a tile
/// starting at `(dx, dy)`.
fn chip_readings(tile: &[f32], dx: usize, dy: usize) -> Vec<f32> {
    (0..CHIPS * CHIPS)
        .map(|k| sample(tile, k % CHIPS, k / CHIPS, dx, dy))
        .collect()
}

/// Each code bit's chip readings `chips` summed with their signs.
fn code_sums(chips: &[f32], layout: &Layout) -> [f32; CODE_BITS] {
    let mut soft = [0.0f32; CODE_BITS];
    for (&(role, sign), &v) in layout.chips.iter().zip(chips) {
        if let Role::Bit(b) = role
            && let Some(s) = soft.get_mut(b)
        {
            *s += sign * v;
        }
    }
    soft
}

/// How clearly the template's chips (known signs: pilots) stand out in the chip readings
/// `chips`: their signed sum over its standard deviation were the readings noise.
fn pilot_snr(chips: &[f32], layout: &Layout) -> f32 {
    let (mut sum, mut count, mut energy) = (0.0f32, 0usize, 0.0f32);
    for (&(role, sign), &v) in layout.chips.iter().zip(chips) {
        energy += v * v;
        if matches!(role, Role::Sync) {
            sum += sign * v;
            count += 1;
        }
    }
    let mean_square = energy / chips.len().max(1) as f32;
    sum / (count as f32 * mean_square).sqrt().max(f32::MIN_POSITIVE)
}

/// Neighbour offsets on the chip lattice whose readings predict a chip's (each used both ways).
const NEIGHBOURS: [(usize, usize); 4] = [(1, 0), (0, 1), (1, 1), (1, CHIPS - 1)];

/// The chip readings `lattice` (row-major, `CHIPS` x `CHIPS`, periodic) less their best linear
/// prediction from their neighbours: the picture's part of neighbouring readings is correlated
/// (a texture, the fold's smoothing), the mark's is not (every chip has its own random sign),
/// so the prediction error keeps the mark and drops what the neighbours share.
fn whiten(lattice: &[f32]) -> Vec<f32> {
    const K: usize = NEIGHBOURS.len();
    let at = |i: usize, j: usize| lattice.get((j % CHIPS) * CHIPS + i % CHIPS).copied().unwrap_or(0.0);
    let features = |k: usize| -> [f32; K] {
        let (i, j) = (k % CHIPS, k / CHIPS);
        NEIGHBOURS.map(|(ox, oy)| at(i + ox, j + oy) + at(i + CHIPS - ox, j + CHIPS - oy))
    };
    // Normal equations of the least-squares fit, in f64.
    let mut a = [[0.0f64; K]; K];
    let mut b = [0.0f64; K];
    for (k, &v) in lattice.iter().enumerate() {
        let f = features(k);
        for r in 0..K {
            b[r] += f64::from(f[r]) * f64::from(v);
            for c in 0..K {
                a[r][c] += f64::from(f[r]) * f64::from(f[c]);
            }
        }
    }
    let Some(alpha) = solve(a, b) else {
        return lattice.to_vec();
    };
    lattice
        .iter()
        .enumerate()
        .map(|(k, &v)| {
            let f = features(k);
            v - f.iter().zip(&alpha).map(|(x, w)| x * *w as f32).sum::<f32>()
        })
        .collect()
}

/// `a x = b` by Gaussian elimination with partial pivoting; `None` when `a` is (nearly) singular.
fn solve<const K: usize>(mut a: [[f64; K]; K], mut b: [f64; K]) -> Option<[f64; K]> {
    let scale = (0..K).map(|i| a[i][i].abs()).fold(0.0, f64::max);
    for col in 0..K {
        let pivot = (col..K).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))?;
        if a[pivot][col].abs() <= scale * 1e-9 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (top, top_b) = (a[col], b[col]);
        for row in col + 1..K {
            let f = a[row][col] / top[col];
            for (v, t) in a[row].iter_mut().zip(top).skip(col) {
                *v -= f * t;
            }
            b[row] -= f * top_b;
        }
    }
    let mut x = [0.0f64; K];
    for row in (0..K).rev() {
        let rest: f64 = (row + 1..K).map(|c| a[row][c] * x[c]).sum();
        x[row] = (b[row] - rest) / a[row][row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// Where a fold sends each working-grid position: tile coordinates `a * (x, y) + b`.
///
/// Why a general affine map: the straight search folds with one period per axis, the rotation
/// search with a turned grid, and [`refine`] corrects whatever small rotation, scale or shear
/// is left, all as one map, and the fold visits each residual sample once (no resampled copy).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Map {
    a: [[f32; 2]; 2],
    b: [f32; 2],
}

impl Map {
    /// The fold with periods `(px, py)` on the grid as it is (the tests compare it with
    /// [`fold`]).
    #[cfg(test)]
    pub(crate) fn straight(px: f32, py: f32) -> Map {
        Map {
            a: [[TILE as f32 / px, 0.0], [0.0, TILE as f32 / py]],
            b: [0.0; 2],
        }
    }

    /// The fold with periods `(px, py)` on the grid of a `width` x `height` picture turned back
    /// by `degrees` (as [`crate::luma::unrotate`] turns it).
    pub(crate) fn turned(px: f32, py: f32, degrees: f32, width: u32, height: u32) -> Map {
        let (s, c) = degrees.to_radians().sin_cos();
        // Working cells are `width / WORK` by `height / WORK` pixels: the turn is a rotation in
        // pixels, so in cells each off-diagonal term carries the aspect ratio.
        let aspect = height as f32 / width.max(1) as f32;
        let j = [[c, s * aspect], [-s / aspect.max(f32::MIN_POSITIVE), c]];
        let (kx, ky) = (TILE as f32 / px, TILE as f32 / py);
        let a = [[kx * j[0][0], kx * j[0][1]], [ky * j[1][0], ky * j[1][1]]];
        // The grid's centre stays where it is.
        let mid = (WORK as f32 - 1.0) / 2.0;
        let b = [
            kx * mid - (a[0][0] + a[0][1]) * mid,
            ky * mid - (a[1][0] + a[1][1]) * mid,
        ];
        Map { a, b }
    }

    /// Tile coordinates of working position `(x, y)`.
    fn at(&self, x: f32, y: f32) -> [f32; 2] {
        [
            self.a[0][0] * x + self.a[0][1] * y + self.b[0],
            self.a[1][0] * x + self.a[1][1] * y + self.b[1],
        ]
    }
}

/// Cells in a tile.
const CELLS: usize = TILE * TILE;

/// A fold in progress: per tile cell, the sum of the samples it received and their count.
struct Sums {
    sum: Vec<f32>,
    count: Vec<u16>,
}

impl Sums {
    fn new() -> Sums {
        Sums {
            sum: vec![0.0; CELLS],
            count: vec![0; CELLS],
        }
    }

    /// Adds the residual's samples in columns `xs` and rows `ys`, each to the cell `map` sends
    /// it to.
    fn add(&mut self, residual: &[f32], map: &Map, xs: std::ops::Range<usize>, ys: std::ops::Range<usize>) {
        let (Ok(sum), Ok(count)) = (
            <&mut [f32; CELLS]>::try_from(self.sum.as_mut_slice()),
            <&mut [u16; CELLS]>::try_from(self.count.as_mut_slice()),
        ) else {
            return;
        };
        const MASK: i32 = TILE as i32 - 1;
        // Tile coordinates in 16.16 fixed point: one integer add per sample along a row, and
        // the cell is a shift and a mask (a remainder for a power of two, negative coordinates
        // included). Over a row of 512 samples the rounded step drifts by under a hundredth of
        // a cell. Coordinates stay far inside i32 for any map a fit can produce (|a| and |b|
        // are a few units and a few hundred).
        const ONE: f32 = 65536.0;
        let fixed = |v: f32| (v * ONE).round().clamp(i32::MIN as f32, i32::MAX as f32) as i32;
        let (step_x, step_y) = (fixed(map.a[0][0]), fixed(map.a[1][0]));
        for y in ys {
            let Some(row) = residual.get(y * WORK..(y + 1) * WORK).and_then(|r| r.get(xs.clone())) else {
                continue;
            };
            let [tx, ty] = map.at(xs.start as f32, y as f32);
            let (mut fx, mut fy) = (fixed(tx), fixed(ty));
            for &v in row {
                let cx = (fx.wrapping_add(1 << 15) >> 16) & MASK;
                let cy = (fy.wrapping_add(1 << 15) >> 16) & MASK;
                let k = (cy as usize * TILE + cx as usize) & (CELLS - 1);
                sum[k] += v;
                count[k] = count[k].saturating_add(1);
                fx = fx.wrapping_add(step_x);
                fy = fy.wrapping_add(step_y);
            }
        }
    }

    /// The sums of two folds.
    fn plus(&self, other: &Sums) -> Sums {
        Sums {
            sum: self.sum.iter().zip(&other.sum).map(|(a, b)| a + b).collect(),
            count: self
                .count
                .iter()
                .zip(&other.count)
                .map(|(a, b)| a.saturating_add(*b))
                .collect(),
        }
    }

    /// The folded tile: each cell's mean, smoothed as [`fold`] smooths.
    fn tile(&self) -> Vec<f32> {
        let mean: Vec<f32> = self
            .sum
            .iter()
            .zip(&self.count)
            .map(|(s, &c)| s / f32::from(c.max(1)))
            .collect();
        smooth(&mean)
    }
}

/// The residual's samples in columns `xs` and rows `ys` folded onto one tile through `map`,
/// averaged per cell and smoothed as [`fold`] does.
pub(crate) fn fold_map(
    residual: &[f32],
    map: &Map,
    xs: std::ops::Range<usize>,
    ys: std::ops::Range<usize>,
) -> Vec<f32> {
    let mut sums = Sums::new();
    sums.add(residual, map, xs, ys);
    sums.tile()
}

/// The template's chips: lattice position and sign.
fn template(layout: &Layout) -> Vec<(usize, usize, f32)> {
    layout
        .chips
        .iter()
        .enumerate()
        .filter_map(|(k, &(role, sign))| matches!(role, Role::Sync).then_some((k % CHIPS, k / CHIPS, sign)))
        .collect()
}

/// The template's correlation with `tile` at origin `(dx, dy)` (wrapping).
fn template_score(tile: &[f32], template: &[(usize, usize, f32)], dx: usize, dy: usize) -> f32 {
    template
        .iter()
        .map(|&(i, j, sign)| sign * sample(tile, i, j, dx, dy))
        .sum()
}

/// How far (to a fraction of a pixel) the template's best origin in `tile` lies from `(dx, dy)`,
/// searched within `RADIUS` pixels each way.
fn local_offset(tile: &[f32], template: &[(usize, usize, f32)], dx: usize, dy: usize) -> [f32; 2] {
    const RADIUS: i32 = 4;
    let t = TILE as i32;
    let at = |ox: i32, oy: i32| {
        let x = (dx as i32 + ox).rem_euclid(t) as usize;
        let y = (dy as i32 + oy).rem_euclid(t) as usize;
        template_score(tile, template, x, y)
    };
    let mut best = (f32::NEG_INFINITY, 0, 0);
    for oy in -RADIUS..=RADIUS {
        for ox in -RADIUS..=RADIUS {
            let v = at(ox, oy);
            if v > best.0 {
                best = (v, ox, oy);
            }
        }
    }
    let (v, ox, oy) = best;
    // A parabola through each axis's neighbours places the peak between pixels.
    let vertex = |minus: f32, plus: f32| {
        let denom = minus - 2.0 * v + plus;
        if denom < 0.0 {
            (0.5 * (minus - plus) / denom).clamp(-0.5, 0.5)
        } else {
            0.0
        }
    };
    [
        ox as f32 + vertex(at(ox - 1, oy), at(ox + 1, oy)),
        oy as f32 + vertex(at(ox, oy - 1), at(ox, oy + 1)),
    ]
}

/// A fold through one map kept as its four quadrants: enough for the whole fold (their sum)
/// and for [`Quadrants::corrected`] (each half is the sum of two).
struct Quadrants {
    tl: Sums,
    tr: Sums,
    bl: Sums,
    br: Sums,
}

impl Quadrants {
    /// One pass over the residual through `map`, into the four quadrants.
    fn new(residual: &[f32], map: &Map) -> Quadrants {
        let half = WORK / 2;
        let quadrant = |xs: std::ops::Range<usize>, ys: std::ops::Range<usize>| {
            let mut sums = Sums::new();
            sums.add(residual, map, xs, ys);
            sums
        };
        Quadrants {
            tl: quadrant(0..half, 0..half),
            tr: quadrant(half..WORK, 0..half),
            bl: quadrant(0..half, half..WORK),
            br: quadrant(half..WORK, half..WORK),
        }
    }

    /// The whole fold, smoothed as [`fold_map`]'s.
    fn tile(&self) -> Vec<f32> {
        self.tl.plus(&self.tr).plus(&self.bl.plus(&self.br)).tile()
    }

    /// `map` (the map these quadrants were folded through) corrected for the small rotation,
    /// scale or shear it leaves: the template's origin is found again in each half of the grid
    /// (left, right, top, bottom) near `origin`, and the way it drifts across the grid is taken
    /// out of the map.
    ///
    /// Why: the rotation search turns the picture back by whole steps and the autocorrelation
    /// measures periods to a fraction of a pixel, and an error of half a degree or half a pixel
    /// drifts the tiles far enough apart across the grid to blur the fold; each half is short
    /// enough that its drift is small, and the offsets between halves measure it.
    fn corrected(&self, map: &Map, origin: (usize, usize), layout: &Layout) -> Map {
        let Quadrants { tl, tr, bl, br } = self;
        let chips = template(layout);
        let offset = |a: &Sums, b: &Sums| local_offset(&a.plus(b).tile(), &chips, origin.0, origin.1);
        let (left, right) = (offset(tl, bl), offset(tr, br));
        let (top, bottom) = (offset(tl, tr), offset(bl, br));
        // The origin's drift per working pixel: d(origin) / d(x) and d(origin) / d(y).
        let d = (WORK / 2) as f32;
        let g = [
            [(right[0] - left[0]) / d, (bottom[0] - top[0]) / d],
            [(right[1] - left[1]) / d, (bottom[1] - top[1]) / d],
        ];
        // The origin is where the map puts the pattern's start, so the pattern sits at the
        // map's coordinates less the drift; the centre keeps its coordinates.
        let mid = (WORK as f32 - 1.0) / 2.0;
        let mut out = *map;
        for (r, gr) in g.iter().enumerate() {
            for (c, gv) in gr.iter().enumerate() {
                out.a[r][c] -= gv;
            }
            out.b[r] += (gr[0] + gr[1]) * mid;
        }
        out
    }
}

/// `map` corrected for what it leaves near the tile origin `origin` (see
/// [`Quadrants::corrected`]).
pub(crate) fn refine(residual: &[f32], map: &Map, origin: (usize, usize), layout: &Layout) -> Map {
    Quadrants::new(residual, map).corrected(map, origin, layout)
}

/// How much a first refinement must raise the template's z for a second one to follow.
const REFINE_AGAIN: f32 = 1.0;

/// The fit under `map` (tile origin near `origin`, template z `z`) after [`refine`], once, or
/// twice when the first round made the template stand out more (a fit near the truth
/// converges; noise does not, and is not paid for twice).
#[cfg(test)]
pub(crate) fn refined(residual: &[f32], map: Map, origin: (usize, usize), z: f32, layout: &Layout) -> Fit {
    settle(residual, refine(residual, &map, origin, layout), z, layout)
}

/// The fit for a guessed `map` with nothing folded yet, refined as [`refined`] does; `None`
/// if the fold has no origin. The guess's own fold is the sum of the quadrants the first
/// refinement needs anyway, so it costs no pass of its own.
pub(crate) fn guessed(residual: &[f32], map: &Map, layout: &Layout) -> Option<Fit> {
    let quadrants = Quadrants::new(residual, map);
    let (origins, z) = shifts(&quadrants.tile(), layout);
    let origin = *origins.first()?;
    Some(settle(residual, quadrants.corrected(map, origin, layout), z, layout))
}

/// The fit under `map`, a map just refined from a fit whose template scored `z`: folded and
/// synchronised, and refined once more when that raised the template's z by
/// [`REFINE_AGAIN`].
fn settle(residual: &[f32], map: Map, z: f32, layout: &Layout) -> Fit {
    let (mut map, mut z) = (map, z);
    let mut round = 0;
    loop {
        let tile = fold_map(residual, &map, 0..WORK, 0..WORK);
        let (origins, new_z) = shifts(&tile, layout);
        round += 1;
        let again = round < 2 && new_z > z + REFINE_AGAIN;
        match origins.first() {
            Some(&best) if again => {
                map = refine(residual, &map, best, layout);
                z = new_z;
            }
            _ => {
                let periods = (TILE as f32 / map.a[0][0], TILE as f32 / map.a[1][1]);
                return Fit {
                    tile,
                    origins: origins.into_iter().take(REFINE_ATTEMPTS).collect(),
                    z: new_z,
                    periods,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::lattice;

    /// A residual holding the pattern as `truth` maps it (amplitude 0.3) in uniform noise.
    fn residual_under(truth: &Map) -> Vec<f32> {
        let values = Layout::v1().values(0x1234_5678_9abc_def0);
        let v = |i: usize, j: usize| values[j * CHIPS + i];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        (0..WORK * WORK)
            .map(|k| {
                let [tx, ty] = truth.at((k % WORK) as f32, (k / WORK) as f32);
                let ((i0, i1, fx), (j0, j1, fy)) = (lattice(tx), lattice(ty));
                let top = v(i0, j0) + (v(i1, j0) - v(i0, j0)) * fx;
                let bottom = v(i0, j1) + (v(i1, j1) - v(i0, j1)) * fx;
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                0.3 * (top + (bottom - top) * fy) + (x % 2001) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    /// Largest difference between two maps' linear parts.
    fn distance(a: &Map, b: &Map) -> f32 {
        (0..4)
            .map(|k| (a.a[k / 2][k % 2] - b.a[k / 2][k % 2]).abs())
            .fold(0.0, f32::max)
    }

    /// A guess half a degree and a pixel or two of period off converges on the true map, and
    /// the template stands out far more after it.
    #[test]
    fn refine_takes_out_a_small_turn_and_scale() {
        let layout = Layout::v1();
        let truth = Map::turned(133.0, 131.0, 2.1, 1600, 1200);
        let residual = residual_under(&truth);
        let guess = Map::turned(132.0, 132.0, 1.5, 1600, 1200);
        let tile = fold_map(&residual, &guess, 0..WORK, 0..WORK);
        let (origins, z) = shifts(&tile, &layout);
        let once = refine(&residual, &guess, origins[0], &layout);
        let (origins, _) = shifts(&fold_map(&residual, &once, 0..WORK, 0..WORK), &layout);
        let twice = refine(&residual, &once, origins[0], &layout);
        let (before, after) = (distance(&guess, &truth), distance(&twice, &truth));
        assert!(after * 5.0 < before, "map error {before} -> {after}");
        let fit = refined(&residual, guess, origins[0], z, &layout);
        assert!(fit.z > z + 1.5, "z {z} -> {}", fit.z);
    }

    /// Each axis's autocorrelation peak also stands for the other axis when squares are asked
    /// for (a crop with the same margin on every edge), and only then.
    #[test]
    fn square_candidates_pair_each_peak_with_itself() {
        let residual = residual_under(&Map::straight(160.0, 140.0));
        let near = |pairs: &[(f32, f32)], p: (f32, f32)| {
            pairs.iter().any(|q| (q.0 - p.0).abs() < 1.0 && (q.1 - p.1).abs() < 1.0)
        };
        let plain = period_candidates(&residual, PEAKS, 2, false);
        let square = period_candidates(&residual, PEAKS, 2, true);
        assert!(near(&plain, (160.0, 140.0)) && near(&square, (160.0, 140.0)));
        for p in [(160.0, 160.0), (140.0, 140.0)] {
            assert!(!near(&plain, p), "{plain:?}");
            assert!(near(&square, p), "{square:?}");
        }
        // No pair twice.
        assert!(
            square
                .iter()
                .enumerate()
                .all(|(k, a)| square[..k].iter().all(|b| a != b))
        );
    }

    /// A guess's fold, summed from the quadrants its refinement needs, is the plain fold
    /// through the same map (but for the odd sample the fixed-point steps, restarted at each
    /// quadrant's edge, round into a neighbouring cell), and a guess half a
    /// degree off comes out refined: the template stands out more than in the guess's fold.
    #[test]
    fn guessed_folds_from_quadrants_and_refines() {
        let layout = Layout::v1();
        let residual = residual_under(&Map::turned(133.0, 131.0, 2.1, 1600, 1200));
        let guess = Map::turned(132.0, 132.0, 1.5, 1600, 1200);
        let (whole, plain) = (
            Quadrants::new(&residual, &guess).tile(),
            fold_map(&residual, &guess, 0..WORK, 0..WORK),
        );
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let r = dot(&whole, &plain) / (dot(&whole, &whole) * dot(&plain, &plain)).sqrt();
        assert!(r > 0.99, "correlation {r}");
        let (_, z) = shifts(&plain, &layout);
        let fit = guessed(&residual, &guess, &layout).unwrap();
        assert!(fit.z > z + 1.5, "z {z} -> {}", fit.z);
        assert_eq!(fit.origins.len(), REFINE_ATTEMPTS);
    }

    /// Chip readings whose noise is shared by neighbours (a texture): whitening takes most of
    /// it out, so the soft bits get fewer wrong than the plain readings; on white noise the
    /// plain readings are kept.
    #[test]
    fn whitening_helps_correlated_noise_only() {
        let layout = Layout::v1();
        let payload = 0x0123_4567_89ab_cdef;
        let values = layout.values(payload);
        let truth = crate::code::encode(payload);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut noise = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 2001) as f32 / 1000.0 - 1.0
        };
        let white: Vec<f32> = (0..CHIPS * CHIPS).map(|_| noise()).collect();
        // Smoothed noise: each reading shares most of its neighbours' noise.
        let at = |v: &[f32], i: usize, j: usize| v[(j % CHIPS) * CHIPS + i % CHIPS];
        let smooth: Vec<f32> = (0..CHIPS * CHIPS)
            .map(|k| {
                let (i, j) = (k % CHIPS + CHIPS, k / CHIPS + CHIPS);
                let mut s = 0.0;
                for dy in 0..3 {
                    for dx in 0..3 {
                        s += at(&white, i + dx - 1, j + dy - 1);
                    }
                }
                1.5 * s
            })
            .collect();
        // A tile whose lattice points read `values * 0.5 + noise` at origin (0, 0).
        let tile_of = |noise: &[f32]| {
            let mut tile = vec![0.0f32; TILE * TILE];
            for (k, (v, n)) in values.iter().zip(noise).enumerate() {
                tile[(k / CHIPS) * CHIP * TILE + (k % CHIPS) * CHIP] = 0.5 * v + n;
            }
            tile
        };
        let wrong = |soft: &[f32; CODE_BITS]| soft.iter().zip(&truth).filter(|(s, t)| (**s > 0.0) != **t).count();
        let plain = |tile: &[f32]| plain_soft_bits(tile, &layout, 0, 0);
        let textured = tile_of(&smooth);
        let (before, after) = (wrong(&plain(&textured)), wrong(&soft_bits(&textured, &layout, 0, 0)));
        assert!(after * 3 < before * 2, "whitened {after} wrong, plain {before}");
        let flat = tile_of(&white);
        assert_eq!(soft_bits(&flat, &layout, 0, 0), plain(&flat));
    }

    /// The straight map folds exactly as `fold` does.
    #[test]
    fn straight_map_folds_like_fold() {
        let residual = residual_under(&Map::straight(150.0, 140.0));
        let (a, b) = (
            fold(&residual, 150.0, 140.0),
            fold_map(&residual, &Map::straight(150.0, 140.0), 0..WORK, 0..WORK),
        );
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-4));
    }
}
