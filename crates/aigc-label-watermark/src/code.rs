//! The channel code: 64 payload bits plus a 32-bit check.
//!
//! The error-correcting part is the spreading in [`crate::layout`]: every code bit is carried by
//! several chips in every tile, and the detector sums them before deciding (a repetition code,
//! soft-decoded). The check is a CRC-32 over a domain tag and the payload. An unmarked image
//! yields 96 bits that are in effect random, so each decoding attempt passes the check with
//! probability 2^-32; the detector makes at most [`crate::sync::MAX_ATTEMPTS`] attempts.

/// Payload bits.
pub(crate) const PAYLOAD_BITS: usize = 64;
/// Payload plus check bits, in the order they are laid out.
pub(crate) const CODE_BITS: usize = 96;

/// Domain tag so a CRC of some other 8 bytes is not mistaken for ours.
const TAG: &[u8] = b"aigc-label-watermark/1";

fn check_of(payload: u64) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(TAG);
    h.update(&payload.to_be_bytes());
    h.finalize()
}

/// The code bits for `payload`, most significant first, then the check.
pub(crate) fn encode(payload: u64) -> [bool; CODE_BITS] {
    let check = check_of(payload);
    let mut bits = [false; CODE_BITS];
    for (i, bit) in bits.iter_mut().enumerate() {
        *bit = if i < PAYLOAD_BITS {
            (payload >> (PAYLOAD_BITS - 1 - i)) & 1 == 1
        } else {
            (check >> (CODE_BITS - 1 - i)) & 1 == 1
        };
    }
    bits
}

/// The payload, when the check over the hard-decided bits holds.
pub(crate) fn decode(soft: &[f32; CODE_BITS]) -> Option<u64> {
    let mut payload = 0u64;
    let mut check = 0u32;
    for (i, s) in soft.iter().enumerate() {
        let bit = u8::from(*s > 0.0);
        if i < PAYLOAD_BITS {
            payload = (payload << 1) | u64::from(bit);
        } else {
            check = (check << 1) | u32::from(bit);
        }
    }
    (check_of(payload) == check).then_some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soft(bits: &[bool; CODE_BITS]) -> [f32; CODE_BITS] {
        bits.map(|b| if b { 1.0 } else { -1.0 })
    }

    #[test]
    fn round_trip_and_one_flipped_bit_fails_the_check() {
        for payload in [0, 1, u64::MAX, 0x0123_4567_89ab_cdef] {
            let bits = encode(payload);
            assert_eq!(decode(&soft(&bits)), Some(payload));
            for i in [0, 31, 63, 64, 95] {
                let mut bad = bits;
                bad[i] = !bad[i];
                assert_eq!(decode(&soft(&bad)), None, "bit {i} of {payload:#x}");
            }
        }
    }
}
