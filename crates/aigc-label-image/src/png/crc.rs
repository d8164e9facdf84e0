//! CRC-32 arithmetic for PNG's update in place ([`super::in_place`]): the CRC of two joined
//! byte strings from the CRCs of the parts, and the 4 bytes that make an affine function of them
//! zero.
//!
//! CRC-32 is affine over GF(2): for messages of one length, `crc(a ^ b ^ c) = crc(a) ^ crc(b) ^
//! crc(c)`. So is any function built from CRCs of messages in which 4 chosen bytes `y` vary and
//! everything else stays: `f(y) = f(0) ^ M y` for a 32x32 bit matrix `M`. [`solve`] finds a `y`
//! with `f(y) = 0` by Gaussian elimination over GF(2), from the 33 values `f(0)` and `f(e_i)`.

/// The CRC of `a` followed by `b`, from `crc(a)`, `crc(b)` and the length of `b`, in a few
/// dozen operations however long the two are.
pub(super) fn concat(crc_a: u32, crc_b: u32, len_b: u64) -> u32 {
    let mut joined = crc32fast::Hasher::new_with_initial_len(crc_a, 0);
    joined.combine(&crc32fast::Hasher::new_with_initial_len(crc_b, len_b));
    joined.finalize()
}

/// A `y` with `f(y) == 0`, for an `f` affine over GF(2) (see the module notes); `None` when no
/// `y` makes it zero (a singular matrix whose image misses `f(0)`).
///
/// `f` is called 33 times. A function that is not affine gets an answer that does not hold,
/// so callers check `f(y) == 0` before relying on it.
pub(super) fn solve(mut f: impl FnMut(u32) -> u32) -> Option<u32> {
    let target = f(0);
    // basis[b]: a combination of columns whose highest set bit is b, with the `y` giving it.
    let mut basis = [(0u32, 0u32); 32];
    for i in 0..32 {
        let mut column = (f(1 << i) ^ target, 1u32 << i);
        while column.0 != 0 {
            let top = (31 - column.0.leading_zeros()) as usize;
            let Some(slot) = basis.get_mut(top) else {
                break;
            };
            if slot.0 == 0 {
                *slot = column;
                break;
            }
            column = (column.0 ^ slot.0, column.1 ^ slot.1);
        }
    }
    // Express `target` in the basis: the columns it takes, summed, are `M y`.
    let (mut rest, mut y) = (target, 0u32);
    while rest != 0 {
        let top = (31 - rest.leading_zeros()) as usize;
        let (vector, by) = basis.get(top).copied().filter(|b| b.0 != 0)?;
        rest ^= vector;
        y ^= by;
    }
    Some(y)
}

/// CRC-32's reflected polynomial.
const POLY: u32 = 0xedb8_8320;

/// The register's change for one input byte on a zero register: the effect of a byte at the
/// end of a message.
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut r = i as u32;
        let mut bit = 0;
        while bit < 8 {
            r = (r >> 1) ^ ((r & 1).wrapping_neg() & POLY);
            bit += 1;
        }
        table[i] = r;
        i += 1;
    }
    table
};

/// How xoring `mask` into a byte changes a CRC, for each count of bytes after that byte in the
/// message: `effects(mask, n)[d]` is the change when `d` bytes follow (`d < n`). Two messages of
/// one length differing by several such changes differ in CRC by the XOR of their effects.
pub(super) fn effects(mask: u8, n: usize) -> Vec<u32> {
    let mut out = Vec::with_capacity(n);
    let mut r = TABLE[usize::from(mask)];
    for _ in 0..n {
        out.push(r);
        r = TABLE[(r & 0xff) as usize] ^ (r >> 8);
    }
    out
}

/// The CRC change of a whole message's difference `delta` (the XOR of two equal-length
/// messages): zero when the two have one CRC.
pub(super) fn difference(delta: &[u8]) -> u32 {
    delta
        .iter()
        .fold(0u32, |r, &b| TABLE[((r ^ u32::from(b)) & 0xff) as usize] ^ (r >> 8))
}

/// The change a CRC difference `v` makes when `n` more bytes follow: the register carried
/// through `n` zero bytes.
pub(super) fn carried(v: u32, n: u64) -> u32 {
    concat(v, 0, n)
}

/// Chooses a subset of `columns` whose XOR is `target`, by Gaussian elimination over GF(2);
/// each column and the target are equal-length rows of 32-bit words. `None` when the columns do
/// not span the target.
pub(super) fn select(columns: &[Vec<u32>], target: &[u32]) -> Option<Vec<bool>> {
    let words = target.len();
    let picks = columns.len().div_ceil(64);
    // The reduced basis: each vector with the pivot bit it owns and the columns summed into it.
    let mut basis: Vec<(usize, Vec<u32>, Vec<u64>)> = Vec::new();
    let pivot = |v: &[u32]| {
        v.iter()
            .enumerate()
            .find(|(_, w)| **w != 0)
            .map(|(i, w)| i * 32 + w.trailing_zeros() as usize)
    };
    let bit = |v: &[u32], p: usize| v.get(p / 32).is_some_and(|w| w >> (p % 32) & 1 == 1);
    let reduce = |v: &mut Vec<u32>, sel: &mut Vec<u64>, basis: &[(usize, Vec<u32>, Vec<u64>)]| {
        for (p, bv, bs) in basis {
            if bit(v, *p) {
                v.iter_mut().zip(bv).for_each(|(a, b)| *a ^= b);
                sel.iter_mut().zip(bs).for_each(|(a, b)| *a ^= b);
            }
        }
    };
    for (i, column) in columns.iter().enumerate() {
        if column.len() != words {
            return None;
        }
        let mut v = column.clone();
        let mut sel = vec![0u64; picks];
        if let Some(w) = sel.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
        reduce(&mut v, &mut sel, &basis);
        let Some(p) = pivot(&v) else { continue };
        // Keep the basis fully reduced: clear the new pivot from the older vectors.
        for (_, bv, bs) in basis.iter_mut() {
            if bit(bv, p) {
                bv.iter_mut().zip(&v).for_each(|(a, b)| *a ^= b);
                bs.iter_mut().zip(&sel).for_each(|(a, b)| *a ^= b);
            }
        }
        basis.push((p, v, sel));
        if basis.len() == words * 32 {
            break;
        }
    }
    let mut rest = target.to_vec();
    let mut sel = vec![0u64; picks];
    reduce(&mut rest, &mut sel, &basis);
    if rest.iter().any(|&w| w != 0) {
        return None;
    }
    Some(
        (0..columns.len())
            .map(|i| sel.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small xorshift generator: reproducible random inputs without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    #[test]
    fn concat_is_the_crc_of_the_joined_bytes() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..50 {
            let (la, lb) = (rng.next() as usize % 3000, rng.next() as usize % 3000);
            let a = rng.bytes(la);
            let b = rng.bytes(lb);
            let joined = crc32fast::hash(&[a.as_slice(), &b].concat());
            assert_eq!(concat(crc32fast::hash(&a), crc32fast::hash(&b), lb as u64), joined);
        }
    }

    #[test]
    fn solves_random_affine_maps() {
        let mut rng = Rng(42);
        let mut refused = 0;
        for round in 0..400 {
            let mut columns = [0u32; 32];
            if round % 2 == 0 {
                // Invertible: the identity's columns mixed by random column additions.
                for (i, c) in columns.iter_mut().enumerate() {
                    *c = 1 << i;
                }
                for _ in 0..300 {
                    let (i, j) = ((rng.next() % 32) as usize, (rng.next() % 32) as usize);
                    if i != j {
                        columns[i] ^= columns[j];
                    }
                }
            } else {
                // Any matrix, singular ones included (most random ones are).
                for c in columns.iter_mut() {
                    *c = rng.next() as u32;
                }
                columns[31] = columns[(rng.next() % 31) as usize];
            }
            let offset = rng.next() as u32;
            let f = |y: u32| {
                (0..32)
                    .filter(|i| y >> i & 1 == 1)
                    .fold(offset, |acc, i| acc ^ columns[i])
            };
            match solve(f) {
                Some(y) => assert_eq!(f(y), 0, "round {round}"),
                None => {
                    assert_eq!(round % 2, 1, "round {round}: an invertible map always solves");
                    refused += 1;
                }
            }
        }
        // A singular map misses a random offset about half the time.
        assert!((20..180).contains(&refused), "{refused}");
    }

    #[test]
    fn solves_crc_constraints() {
        // The shape of the PNG switch: 4 free bytes inside one message whose CRC must equal a
        // chosen value.
        let mut rng = Rng(7);
        for _ in 0..50 {
            let (lp, lq) = (rng.next() as usize % 600, rng.next() as usize % 600);
            let (pre, post) = (rng.bytes(lp), rng.bytes(lq));
            let want = rng.next() as u32;
            let crc = |y: u32| crc32fast::hash(&[pre.as_slice(), &y.to_be_bytes(), &post].concat());
            let y = solve(|y| crc(y) ^ want).expect("4 free bytes set any CRC");
            assert_eq!(crc(y), want);
        }
    }

    #[test]
    fn effects_predict_crc_changes() {
        let mut rng = Rng(99);
        for _ in 0..40 {
            let len = 1 + rng.next() as usize % 1500;
            let msg = rng.bytes(len);
            let mut other = msg.clone();
            let mut predicted = 0u32;
            for _ in 0..1 + rng.next() % 6 {
                let at = rng.next() as usize % len;
                let mask = (rng.next() as u8).max(1);
                other[at] ^= mask;
                predicted ^= effects(mask, len - at)[len - at - 1];
            }
            let actual = crc32fast::hash(&msg) ^ crc32fast::hash(&other);
            assert_eq!(predicted, actual);
            let delta: Vec<u8> = msg.iter().zip(&other).map(|(a, b)| a ^ b).collect();
            assert_eq!(difference(&delta), actual);
            let tail = rng.next() % 3000;
            let with_tail = |m: &[u8]| crc32fast::hash(&[m, &vec![7u8; tail as usize]].concat());
            assert_eq!(carried(actual, tail), with_tail(&msg) ^ with_tail(&other));
        }
    }

    #[test]
    fn select_finds_subsets_and_refuses_outside_the_span() {
        let mut rng = Rng(5);
        for round in 0..100 {
            let words = 1 + round % 3;
            let n = 32 * words + 8 + (rng.next() % 20) as usize;
            let columns: Vec<Vec<u32>> = (0..n)
                .map(|_| (0..words).map(|_| rng.next() as u32).collect())
                .collect();
            let target: Vec<u32> = (0..words).map(|_| rng.next() as u32).collect();
            let pick = select(&columns, &target).expect("random columns span the space");
            let mut sum = vec![0u32; words];
            for (c, _) in columns.iter().zip(&pick).filter(|(_, p)| **p) {
                sum.iter_mut().zip(c).for_each(|(a, b)| *a ^= b);
            }
            assert_eq!(sum, target);
        }
        // Columns that only reach the low bit of one word cannot reach the others.
        let columns = vec![vec![1u32, 0]; 40];
        assert!(select(&columns, &[0, 1]).is_none());
        assert_eq!(
            select(&columns, &[1, 0]).map(|p| p.iter().filter(|x| **x).count()),
            Some(1)
        );
    }
}
