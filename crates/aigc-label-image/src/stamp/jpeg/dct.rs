//! The 8x8 DCT of ITU T.81 annex A.3.3, in floating point, for the few blocks a label covers
//! (speed does not matter there; exactness of the untouched blocks does, and they are never
//! transformed at all).

/// Zig-zag index -> natural (row-major) index.
pub(super) const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
    28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54,
    47, 55, 62, 63,
];

/// `basis[u][x] = C(u) / 2 * cos((2x + 1) u pi / 16)`.
fn basis() -> [[f32; 8]; 8] {
    let mut b = [[0f32; 8]; 8];
    for (u, row) in b.iter_mut().enumerate() {
        let c = if u == 0 { std::f32::consts::FRAC_1_SQRT_2 } else { 1.0 };
        for (x, v) in row.iter_mut().enumerate() {
            *v = c / 2.0 * ((2 * x + 1) as f32 * u as f32 * std::f32::consts::PI / 16.0).cos();
        }
    }
    b
}

/// Dequantises zig-zag coefficients with zig-zag `quant` and returns the block's samples
/// (row-major, level-shifted back, clamped to 0..=255).
pub(super) fn inverse(coefficients: &[i16; 64], quant: &[u16; 64]) -> [u8; 64] {
    let b = basis();
    let mut f = [0f32; 64];
    for k in 0..64 {
        f[ZIGZAG[k]] = f32::from(coefficients[k]) * f32::from(quant[k]);
    }
    // Rows first (over v), then columns (over u).
    let mut tmp = [0f32; 64];
    for u in 0..8 {
        for x in 0..8 {
            tmp[u * 8 + x] = (0..8).map(|v| b[v][x] * f[u * 8 + v]).sum();
        }
    }
    let mut out = [0u8; 64];
    for y in 0..8 {
        for x in 0..8 {
            let s: f32 = (0..8).map(|u| b[u][y] * tmp[u * 8 + x]).sum();
            out[y * 8 + x] = (s + 128.0).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// Transforms row-major samples and quantises them with zig-zag `quant`, giving zig-zag
/// coefficients (annex A.3.4, rounding to nearest).
pub(super) fn forward(samples: &[f32; 64], quant: &[u16; 64]) -> [i16; 64] {
    let b = basis();
    let mut tmp = [0f32; 64];
    for y in 0..8 {
        for v in 0..8 {
            tmp[y * 8 + v] = (0..8).map(|x| b[v][x] * (samples[y * 8 + x] - 128.0)).sum();
        }
    }
    let mut natural = [0f32; 64];
    for u in 0..8 {
        for v in 0..8 {
            natural[u * 8 + v] = (0..8).map(|y| b[u][y] * tmp[y * 8 + v]).sum();
        }
    }
    let mut out = [0i16; 64];
    for k in 0..64 {
        let q = f32::from(quant[k].max(1));
        out[k] = (natural[ZIGZAG[k]] / q).round().clamp(-32767.0, 32767.0) as i16;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_then_inverse_is_close_at_quantiser_one() {
        let mut s = [0f32; 64];
        for (i, v) in s.iter_mut().enumerate() {
            *v = ((i * 37) % 256) as f32;
        }
        let q = [1u16; 64];
        let back = inverse(&forward(&s, &q), &q);
        for i in 0..64 {
            assert!((f32::from(back[i]) - s[i]).abs() <= 1.0, "{i}: {} vs {}", back[i], s[i]);
        }
        // A flat grey block has only a DC term.
        let flat = forward(&[200.0; 64], &q);
        assert_eq!(flat[0], 576);
        assert!(flat[1..].iter().all(|&c| c == 0));
    }
}
