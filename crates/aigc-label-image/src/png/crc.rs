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
}
