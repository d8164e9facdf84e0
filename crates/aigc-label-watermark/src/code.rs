//! The channel code: 64 payload bits and a 32-bit check, convolutionally encoded.
//!
//! Why a convolutional code: the detector sees every code bit as a soft value (a correlation
//! sum), and a Viterbi decoder uses those magnitudes directly; at the bit error rates a faint
//! watermark meets, a rate 1/3, constraint length 7 code (the one LTE uses for control data)
//! gains several dB over spending the same chips on plain repetition, and is a few dozen lines.
//! The spreading in [`crate::layout`] (each coded bit on 2 or 3 chips per tile, over every
//! tile) adds repetition on top.
//!
//! The check is a CRC-32 over a domain tag and the payload. An unmarked image decodes to bits
//! that are in effect random, so each candidate passes the check with probability 2^-32; the
//! detector makes at most [`crate::sync::MAX_ATTEMPTS`] attempts of [`LIST`] candidates.

/// Payload bits.
pub(crate) const PAYLOAD_BITS: usize = 64;
/// Payload plus check bits: the encoder's input.
const INFO_BITS: usize = 96;
/// Constraint length minus one: the encoder's memory, and the zero tail that ends it.
const MEMORY: usize = 6;
/// Generator polynomials (octal 133, 171, 165), one output bit each.
const GENERATORS: [u32; 3] = [0o133, 0o171, 0o165];
/// Coded bits laid out in the tile.
pub(crate) const CODE_BITS: usize = (INFO_BITS + MEMORY) * GENERATORS.len();

/// Domain tag so a CRC of some other 8 bytes is not mistaken for ours.
const TAG: &[u8] = b"aigc-label-watermark/1";

fn check_of(payload: u64) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(TAG);
    h.update(&payload.to_be_bytes());
    h.finalize()
}

/// The encoder's outputs for input bit `bit` in `state` (the previous MEMORY bits, newest high).
fn outputs(state: usize, bit: bool) -> [bool; 3] {
    let reg = (u32::from(bit) << MEMORY) | state as u32;
    GENERATORS.map(|g| (reg & g).count_ones() % 2 == 1)
}

/// The next state after input `bit`.
fn next(state: usize, bit: bool) -> usize {
    ((usize::from(bit) << MEMORY) | state) >> 1
}

/// The coded bits for `payload`: payload (most significant first), check, zero tail, encoded.
pub(crate) fn encode(payload: u64) -> [bool; CODE_BITS] {
    let check = check_of(payload);
    let info = (0..INFO_BITS + MEMORY).map(|i| match i {
        _ if i < PAYLOAD_BITS => (payload >> (PAYLOAD_BITS - 1 - i)) & 1 == 1,
        _ if i < INFO_BITS => (check >> (INFO_BITS - 1 - i)) & 1 == 1,
        _ => false,
    });
    let mut out = [false; CODE_BITS];
    let mut state = 0;
    for (bit, slot) in info.zip(out.chunks_exact_mut(3)) {
        slot.copy_from_slice(&outputs(state, bit));
        state = next(state, bit);
    }
    out
}

/// Paths the list decoder keeps per state, and so the candidates it checks.
///
/// Why a list: when the most likely path fails the check, the right payload is often the
/// second or fifth most likely (the check bits are part of the path), and the check can tell
/// which. Each candidate is one more chance for noise to pass the check, so the list stays
/// short: `LIST * MAX_ATTEMPTS / 2^32` bounds a false detection per image.
pub(crate) const LIST: usize = 8;

/// Steps through the trellis: the info bits and the zero tail.
const STEPS: usize = INFO_BITS + MEMORY;
/// Encoder states.
const STATES: usize = 1 << MEMORY;

/// The payload, when one of the [`LIST`] most likely decodings of `soft` (positive means 1,
/// magnitude is confidence) passes the check, the most likely first.
pub(crate) fn decode(soft: &[f32; CODE_BITS]) -> Option<u64> {
    candidates(soft)
        .into_iter()
        .find_map(|(payload, ok)| ok.then_some(payload))
}

/// The most likely decoding of `soft` and whether it passed the check.
pub(crate) fn viterbi(soft: &[f32; CODE_BITS]) -> (u64, bool) {
    candidates(soft).first().copied().unwrap_or((0, false))
}

/// The [`LIST`] most likely payloads (list Viterbi: each state keeps its best `LIST` paths,
/// merged from its two predecessors' lists), best first, each with whether it passed the check.
fn candidates(soft: &[f32; CODE_BITS]) -> Vec<(u64, bool)> {
    let mut metric = [[f32::NEG_INFINITY; LIST]; STATES];
    metric[0][0] = 0.0;
    // Per step, state and rank: the predecessor's lowest state bit, and its rank shifted left.
    let mut decisions = vec![[[0u8; LIST]; STATES]; STEPS];
    // Per state reached and predecessor: which of the 8 output triplets the branch emits.
    let branch: [[usize; 2]; STATES] = std::array::from_fn(|ns| {
        [0usize, 1].map(|low| {
            let prev = ((ns << 1) & (STATES - 1)) | low;
            let o = outputs(prev, ns >> (MEMORY - 1) == 1);
            usize::from(o[0]) << 2 | usize::from(o[1]) << 1 | usize::from(o[2])
        })
    });
    for (s, step) in soft.chunks_exact(3).zip(decisions.iter_mut()) {
        // The gain of each output triplet at this step.
        let gains: [f32; 8] = std::array::from_fn(|k| {
            s.iter()
                .enumerate()
                .map(|(i, &v)| if (k >> (2 - i)) & 1 == 1 { v } else { -v })
                .sum()
        });
        let mut next_metric = [[f32::NEG_INFINITY; LIST]; STATES];
        for (ns, (slot, decided)) in next_metric.iter_mut().zip(step.iter_mut()).enumerate() {
            // The two predecessors' lists, each already sorted best first, shifted by the
            // branch gain; a merge keeps the best LIST. `& (STATES - 1)` keeps the indices
            // in range without a check.
            let prev = (ns << 1) & (STATES - 1);
            let (a, b) = (&metric[prev], &metric[prev | 1]);
            let (ga, gb) = (gains[branch[ns][0] & 7], gains[branch[ns][1] & 7]);
            let (mut i, mut j) = (0usize, 0usize);
            for (m, d) in slot.iter_mut().zip(decided.iter_mut()) {
                let va = a.get(i).map_or(f32::NEG_INFINITY, |m| m + ga);
                let vb = b.get(j).map_or(f32::NEG_INFINITY, |m| m + gb);
                if vb > va {
                    *m = vb;
                    *d = (j << 1 | 1) as u8;
                    j += 1;
                } else {
                    *m = va;
                    *d = (i << 1) as u8;
                    i += 1;
                }
            }
        }
        metric = next_metric;
    }
    // The tail drives the encoder back to state 0: trace back from there, rank by rank.
    let mut out = Vec::with_capacity(LIST);
    for (rank, &m) in metric[0].iter().enumerate() {
        if m == f32::NEG_INFINITY {
            break;
        }
        let mut info = [false; STEPS];
        let (mut ns, mut r) = (0usize, rank);
        for (step, bit) in decisions.iter().zip(info.iter_mut()).rev() {
            let d = step[ns].get(r).copied().unwrap_or(0);
            *bit = ns >> (MEMORY - 1) == 1;
            ns = ((ns << 1) & (STATES - 1)) | usize::from(d & 1);
            r = usize::from(d >> 1);
        }
        let mut payload = 0u64;
        let mut check = 0u32;
        for (i, &bit) in info.iter().take(INFO_BITS).enumerate() {
            if i < PAYLOAD_BITS {
                payload = (payload << 1) | u64::from(bit);
            } else {
                check = (check << 1) | u32::from(bit);
            }
        }
        out.push((payload, check_of(payload) == check));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soft(bits: &[bool; CODE_BITS]) -> [f32; CODE_BITS] {
        bits.map(|b| if b { 1.0 } else { -1.0 })
    }

    #[test]
    fn round_trip() {
        for payload in [0, 1, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(decode(&soft(&encode(payload))), Some(payload));
        }
    }

    #[test]
    fn corrects_scattered_errors_and_rejects_noise() {
        let payload = 0xfeed_f00d_dead_beef;
        let mut bits = soft(&encode(payload));
        // Every 10th coded bit wrong (31 of 306): well within the code's reach.
        for v in bits.iter_mut().step_by(10) {
            *v = -*v;
        }
        assert_eq!(decode(&bits), Some(payload));
        // Noise-like inputs: the check rejects them all.
        let mut x = 0x1234_5678u64;
        for _ in 0..200 {
            let noise: [f32; CODE_BITS] = std::array::from_fn(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 1000) as f32 - 499.5
            });
            assert_eq!(decode(&noise), None);
        }
    }
}
