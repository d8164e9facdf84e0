//! The tile: which chip carries what, and the smooth pattern built from the chips.
//!
//! The working grid (see [`crate::luma`]) is covered by square tiles of [`TILE`] working pixels,
//! repeated without gaps. Why tiles: any crop that keeps one or two tiles still holds the whole
//! message, and the repetition makes the residual periodic, which lets the detector measure the
//! scale a crop introduced (autocorrelation) and fold all tiles onto one to average out the
//! picture. A tile is a lattice of [`CHIPS`] x [`CHIPS`] chips, [`CHIP`] working pixels apart;
//! the pattern between lattice points is bilinear, so it has no hard edges (less visible, and its
//! energy sits in the low-to-mid frequencies that JPEG and downscaling keep).
//!
//! A fixed pseudo-random eighth of the chips is the synchronisation template (known signs, so
//! the detector can find where the tile starts in a crop); the rest carry the code bits,
//! interleaved over the whole tile so a damaged region costs every bit a little instead of some
//! bits everything (and spreads the errors out, which the convolutional code needs). Every chip also has a pseudo-random sign, so the pattern looks like noise
//! whatever the payload is.

use crate::code::{CODE_BITS, encode};

/// Working pixels between lattice points.
pub(crate) const CHIP: usize = 4;
/// Lattice points per tile side.
pub(crate) const CHIPS: usize = 32;
/// Tile side in working pixels.
pub(crate) const TILE: usize = CHIP * CHIPS;
// The fold masks tile indices with `TILE - 1`.
const _: () = assert!(TILE.is_power_of_two());
/// Chips in a tile.
const N: usize = CHIPS * CHIPS;
/// Chips in the synchronisation template.
///
/// Why an eighth: once the tile is found, the template's chips carry nothing, and every chip
/// moved to the code bits lowers the code bits wrong. Measured on the evaluation set (29
/// images): a quarter left 1.9% of code bits wrong unattacked and 5.4% after WebP 50, an eighth
/// 1.5% and 4.0% (4 more attacks at 28 or 29 of 29); a sixteenth loses the tile on textures
/// (unattacked 27 of 29).
const SYNC: usize = N / 8;

/// What a chip carries.
#[derive(Clone, Copy)]
pub(crate) enum Role {
    /// Part of the fixed template.
    Sync,
    /// One of the code bits.
    Bit(usize),
}

/// The fixed assignment of chips to roles and signs (the same for every image and payload).
pub(crate) struct Layout {
    /// Per chip (row-major over the lattice): its role and its sign.
    pub(crate) chips: Vec<(Role, f32)>,
}

/// SplitMix64: a tiny, well-mixed generator; the layout only needs to be fixed and noise-like.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl Layout {
    /// The layout every version-1 watermark uses.
    pub(crate) fn v1() -> Self {
        let mut rng = SplitMix(0x4742_3435_3433_3801);
        let mut order: Vec<usize> = (0..N).collect();
        for i in (1..N).rev() {
            // `i + 1` is at most N, so the remainder fits a usize.
            let j = usize::try_from(rng.next() % (i as u64 + 1)).unwrap_or(0);
            order.swap(i, j);
        }
        let mut chips = vec![(Role::Sync, 1.0f32); N];
        for (rank, &chip) in order.iter().enumerate() {
            let sign = if rng.next() & 1 == 1 { 1.0 } else { -1.0 };
            let role = if rank < SYNC {
                Role::Sync
            } else {
                Role::Bit((rank - SYNC) % CODE_BITS)
            };
            if let Some(slot) = chips.get_mut(chip) {
                *slot = (role, sign);
            }
        }
        Layout { chips }
    }

    /// Lattice values (+1 or -1 per chip) that carry `payload`.
    pub(crate) fn values(&self, payload: u64) -> Vec<f32> {
        let bits = encode(payload);
        self.chips
            .iter()
            .map(|&(role, sign)| match role {
                Role::Sync => sign,
                Role::Bit(b) => {
                    if bits.get(b).copied().unwrap_or(false) {
                        sign
                    } else {
                        -sign
                    }
                }
            })
            .collect()
    }
}

/// Where a working coordinate falls on the lattice: two lattice indices and the weight of the
/// second. The lattice wraps, which is what makes the tiles repeat.
pub(crate) fn lattice(u: f32) -> (usize, usize, f32) {
    let a = (u / CHIP as f32).rem_euclid(CHIPS as f32);
    let i0 = a.floor();
    let frac = a - i0;
    // `a` is in [0, CHIPS), so the cast is in range (a NaN casts to 0).
    let i0 = (i0 as usize).min(CHIPS - 1);
    (i0, (i0 + 1) % CHIPS, frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bit_gets_the_same_number_of_chips() {
        let layout = Layout::v1();
        let mut per_bit = [0usize; CODE_BITS];
        let mut sync = 0;
        for &(role, _) in &layout.chips {
            match role {
                Role::Sync => sync += 1,
                Role::Bit(b) => per_bit[b] += 1,
            }
        }
        assert_eq!(sync, SYNC);
        let fair = (N - SYNC) / CODE_BITS;
        assert!(per_bit.iter().all(|&n| n == fair || n == fair + 1), "{per_bit:?}");
    }

    #[test]
    fn lattice_wraps() {
        assert_eq!(lattice(0.0), (0, 1, 0.0));
        assert_eq!(lattice(TILE as f32), (0, 1, 0.0));
        let (i0, i1, f) = lattice(-2.0);
        assert_eq!((i0, i1), (CHIPS - 1, 0));
        assert!((f - 0.5).abs() < 1e-6);
        assert_eq!(lattice(f32::NAN).0, 0);
    }
}
