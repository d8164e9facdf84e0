//! What the decoding fallback may hand to the `image` crate's JPEG decoder (zune-jpeg 0.4).
//!
//! A JPEG the DCT-domain path declines is decoded to pixels and re-encoded. zune-jpeg 0.4.21
//! panics on some crafted files instead of returning an error: its upsampler asserts when the
//! sampling factors are not one of the four layouts it implements (the stamp fuzzer found a
//! baseline frame with a component sampled 4x2 next to a stray SOF13 marker:
//! `fuzz/corpus/stamp/jpeg-zune-upsample-assertion.bin`). Our decode guard catches such a
//! panic, but the process's panic hook has already printed it (with a backtrace under
//! `RUST_BACKTRACE`), so the decoder is not given a file it cannot take.
//!
//! zune-jpeg 0.4 decodes one kind of JPEG only: one 8-bit Huffman frame (SOF0, SOF1 or SOF2)
//! whose height is in the frame header (no DNL), with sampling factors of 1, 2 or 4 (it refuses
//! others). Its upsamplers assume the first component is sampled finest in both directions, as
//! in 4:4:4, 4:2:2, 4:2:0 and 4:1:1: a valid file that samples a chroma component finer
//! (`cjpeg -sample 1x1,2x2,1x1`) trips an assertion too. Anything else is refused here as
//! unsupported; the decoder would refuse the other frame kinds too, or misread them.

use aigc_label_core::{Error, Result};

use super::{Segment, malformed, scan_end, segment};

/// Checks that `bytes` is a JPEG the `image` crate's decoder can take (see the module notes).
///
/// # Errors
/// [`Error::Unsupported`] for a kind of JPEG the decoder does not implement,
/// [`Error::Malformed`] when the marker segments do not parse.
pub(in crate::stamp) fn check(bytes: &[u8]) -> Result<()> {
    if bytes.get(..2) != Some(&[0xFF, 0xD8][..]) {
        return Err(malformed(0, "no SOI marker"));
    }
    let mut frames = 0;
    let mut pos = 2;
    // Every pass moves `pos` forward by at least two bytes.
    loop {
        let marker_at = pos;
        let Segment { marker, body, end } = segment(bytes, pos)?;
        pos = end;
        match marker {
            0xC0..=0xC2 => {
                frames += 1;
                if frames > 1 {
                    return Err(unsupported("a second frame header"));
                }
                frame(body, marker_at)?;
            }
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF | 0xDC | 0xDE => {
                return Err(unsupported(
                    "arithmetic-coded, lossless or hierarchical frames (or DNL) are not decoded",
                ));
            }
            0xD9 => break,
            0xDA => pos = scan_end(bytes, end),
            _ => {}
        }
    }
    if frames == 0 {
        return Err(malformed(0, "no frame header"));
    }
    Ok(())
}

fn unsupported(what: &str) -> Error {
    Error::unsupported("image", format!("re-encoding JPEG: {what}"))
}

/// The frame header's precision, height and sampling factors.
fn frame(body: &[u8], offset: usize) -> Result<()> {
    let (Some(&precision), Some(height), Some(&n)) = (body.first(), body.get(1..3), body.get(5)) else {
        return Err(malformed(offset, "short frame header"));
    };
    if precision != 8 {
        return Err(unsupported("only 8-bit samples are decoded"));
    }
    if height == [0, 0] {
        return Err(unsupported("a height given by a DNL marker is not decoded"));
    }
    let mut sampling = Vec::new();
    for i in 0..usize::from(n) {
        let s = body
            .get(7 + 3 * i)
            .ok_or_else(|| malformed(offset, "short frame header"))?;
        sampling.push((s >> 4, s & 15));
    }
    let Some(&(h0, v0)) = sampling.first() else {
        return Err(malformed(offset, "a frame without components"));
    };
    for &(h, v) in &sampling {
        if !matches!(h, 1 | 2 | 4) || !matches!(v, 1 | 2 | 4) || h > h0 || v > v0 {
            return Err(unsupported(&format!(
                "sampling factors {h}x{v} next to {h0}x{v0} for the first component (the decoder \
                 takes 1, 2 or 4, the first component sampled finest)"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(sof: u8, frame: &[u8], extra: &[u8]) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8, 0xFF, sof];
        out.extend(((frame.len() + 2) as u16).to_be_bytes());
        out.extend(frame);
        out.extend(extra);
        out.extend([0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD9]);
        out
    }

    const THREE: [u8; 15] = [8, 0, 16, 0, 16, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];

    /// `THREE` with the components sampled `factors`.
    fn sampled(factors: [u8; 3]) -> [u8; 15] {
        let mut frame = THREE;
        for (i, f) in factors.into_iter().enumerate() {
            frame[7 + 3 * i] = f;
        }
        frame
    }

    #[test]
    fn the_decoders_own_kind_passes() {
        for sof in [0xC0, 0xC1, 0xC2] {
            check(&jpeg(sof, &THREE, &[])).unwrap();
        }
        // 4:4:4, 4:2:2, 4:4:0, 4:1:1, 4:2:0 with chroma 1x2, a 4x2 luma: zune-jpeg decodes them.
        for factors in [
            [0x11; 3],
            [0x21, 0x11, 0x11],
            [0x12, 0x11, 0x11],
            [0x41, 0x11, 0x11],
            [0x22, 0x12, 0x12],
            [0x42, 0x11, 0x11],
        ] {
            check(&jpeg(0xC0, &sampled(factors), &[])).unwrap();
        }
    }

    #[test]
    fn other_kinds_are_unsupported() {
        // A chroma component sampled finer than luma (4x2 next to 2x2, as in the fuzz seed, or
        // 2x2 next to 1x1, as `cjpeg -sample 1x1,2x2,1x1` writes): zune-jpeg's upsampler asserts.
        let wide = sampled([0x22, 0x11, 0x42]);
        let finer_chroma = sampled([0x11, 0x22, 0x11]);
        let three_wide = sampled([0x31, 0x11, 0x11]);
        let mut twelve = THREE;
        twelve[0] = 12;
        let mut dnl = THREE;
        dnl[1..3].copy_from_slice(&[0, 0]);
        let stray_sof13 = [0xFF, 0xCD, 0, 4, 0, 4];
        for file in [
            jpeg(0xC0, &wide, &[]),
            jpeg(0xC0, &finer_chroma, &[]),
            jpeg(0xC0, &three_wide, &[]),
            jpeg(0xC0, &twelve, &[]),
            jpeg(0xC0, &dnl, &[]),
            jpeg(0xC9, &THREE, &[]),
            jpeg(0xC0, &THREE, &stray_sof13),
            jpeg(0xC0, &THREE, &[&[0xFF, 0xC2, 0, 17][..], &THREE].concat()),
        ] {
            assert!(matches!(check(&file), Err(Error::Unsupported { .. })), "{file:02X?}");
        }
        let cut = jpeg(0xC0, &THREE, &[]);
        for end in 0..cut.len() - 2 {
            assert!(check(&cut[..end]).is_err(), "cut at {end}");
        }
    }

    #[test]
    fn the_fuzz_seed_that_tripped_the_upsampler_is_refused() {
        let seed = aigc_label_testutil::workspace_root().join("fuzz/corpus/stamp/jpeg-zune-upsample-assertion.bin");
        let seed = std::fs::read(seed).unwrap();
        assert!(matches!(check(&seed), Err(Error::Unsupported { .. })));
    }
}
