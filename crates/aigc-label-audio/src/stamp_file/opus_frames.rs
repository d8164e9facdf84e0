//! Opus packets taken apart into frames and put together again (RFC 6716 §3.2), so that a mix
//! can re-encode a stream whose packets hold several frames each.
//!
//! libopus codes one frame per call at the sizes ffmpeg offers (2.5 to 60 ms; longer packets
//! are several 20 ms frames), and chooses how to pack them. The original packets' layout is
//! what must be kept (one new packet per old one, same duration), so the new packets are split
//! into their frames and the frames regrouped as many to a packet as the original had, in the
//! code-3 framing that holds any count (variable sizes, no padding). Frames grouped into one
//! packet must share the TOC's configuration and stereo flag, as one TOC byte describes them
//! all; when libopus switched mode or bandwidth inside a group the mix is refused.

use aigc_label_core::io::Bytes;
use aigc_label_core::{Error, Result};

const FORMAT: &str = "opus";

/// How many frames an Opus packet holds (0 for an empty or malformed one).
pub(super) fn frame_count(packet: &[u8]) -> u64 {
    match packet.first().map(|t| t & 3) {
        None => 0,
        Some(0) => 1,
        Some(1 | 2) => 2,
        Some(_) => packet.get(1).map_or(0, |c| u64::from(c & 0x3f)),
    }
}

/// A frame length as code 2 and 3 packets store it: one byte below 252, else two.
fn read_len(b: &mut Bytes<'_>) -> Option<usize> {
    let first = usize::from(b.u8()?);
    if first < 252 {
        return Some(first);
    }
    Some(first + 4 * usize::from(b.u8()?))
}

fn write_len(out: &mut Vec<u8>, len: usize) -> Result<()> {
    if len < 252 {
        out.push(len as u8);
    } else if len <= 1275 {
        let first = 252 + (len & 3);
        out.push(first as u8);
        out.push(((len - first) >> 2) as u8);
    } else {
        return Err(Error::unsupported(FORMAT, "an Opus frame over 1275 bytes"));
    }
    Ok(())
}

/// The TOC byte's configuration and stereo flag (its upper six bits), and the frames of
/// `packet`; `None` for a malformed packet.
pub(super) fn frames(packet: &[u8]) -> Option<(u8, Vec<&[u8]>)> {
    let mut b = Bytes::new(packet);
    let toc = b.u8()?;
    let head = toc & !3;
    let frames = match toc & 3 {
        0 => vec![b.rest()],
        1 => {
            let rest = b.rest();
            if rest.len() % 2 != 0 {
                return None;
            }
            let (x, y) = rest.split_at(rest.len() / 2);
            vec![x, y]
        }
        2 => {
            let len = read_len(&mut b)?;
            let first = b.take(len)?;
            vec![first, b.rest()]
        }
        _ => {
            let count = b.u8()?;
            let (vbr, padded, m) = (count & 0x80 != 0, count & 0x40 != 0, usize::from(count & 0x3f));
            if m == 0 {
                return None;
            }
            let mut padding = 0usize;
            if padded {
                loop {
                    let p = usize::from(b.u8()?);
                    padding += if p == 255 { 254 } else { p };
                    if p != 255 {
                        break;
                    }
                }
            }
            let body_len = b.remaining().checked_sub(padding)?;
            let mut lens = Vec::with_capacity(m);
            if vbr {
                for _ in 1..m {
                    lens.push(read_len(&mut b)?);
                }
                let used: usize = lens.iter().sum();
                let header = body_len - b.remaining().checked_sub(padding)?;
                lens.push(body_len.checked_sub(header)?.checked_sub(used)?);
            } else {
                if body_len % m != 0 {
                    return None;
                }
                lens = vec![body_len / m; m];
            }
            let mut out = Vec::with_capacity(m);
            for len in lens {
                out.push(b.take(len)?);
            }
            out
        }
    };
    Some((head, frames))
}

/// The frames of `packets` (each of any framing), the first `count * per` of them, regrouped
/// `per` to a packet in code-3 framing (when `per` is 1, the first `count` packets as they are).
///
/// # Errors
/// [`Error::Unsupported`] when a packet cannot be parsed, there are fewer frames than that,
/// or frames of one packet differ in configuration.
pub(super) fn regroup(packets: &[Vec<u8>], per: u64, count: usize) -> Result<Vec<Vec<u8>>> {
    if per <= 1 {
        return Ok(packets.iter().take(count).cloned().collect());
    }
    let per = usize::try_from(per)
        .ok()
        .filter(|&p| p <= 48)
        .ok_or_else(|| Error::unsupported(FORMAT, "Opus packets of more than 48 frames"))?;
    let mut all: Vec<(u8, &[u8])> = Vec::new();
    for p in packets {
        let (head, frames) =
            frames(p).ok_or_else(|| Error::unsupported(FORMAT, "libopus wrote a packet this cannot take apart"))?;
        all.extend(frames.into_iter().map(|f| (head, f)));
    }
    let needed = count.saturating_mul(per);
    if all.len() < needed {
        return Err(Error::unsupported(
            FORMAT,
            format!("libopus wrote {} frames for {count} packets of {per}", all.len()),
        ));
    }
    all.truncate(needed);
    let mut out = Vec::with_capacity(count);
    for group in all.chunks(per) {
        let head = group.first().map_or(0, |g| g.0);
        if group.iter().any(|g| g.0 != head) {
            return Err(Error::unsupported(
                FORMAT,
                "libopus changed mode or bandwidth inside what must be one packet: mix into this \
                 stream after re-encoding it with one frame per packet",
            ));
        }
        let mut packet = vec![head | 3, 0x80 | per as u8];
        for (_, f) in group.iter().take(per - 1) {
            write_len(&mut packet, f.len())?;
        }
        for (_, f) in group {
            packet.extend_from_slice(f);
        }
        out.push(packet);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_regroup_into_code_3_packets_and_read_back() {
        // Four 20 ms CELT frames (config 31, mono) of different sizes, one per packet; one of
        // 300 bytes needs the two-byte length.
        let toc = 31 << 3;
        let packets: Vec<Vec<u8>> = [10usize, 300, 7, 20]
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let mut p = vec![toc];
                p.extend(std::iter::repeat_n(i as u8 + 1, n));
                p
            })
            .collect();
        let grouped = regroup(&packets, 2, 2).unwrap();
        assert_eq!(grouped.len(), 2);
        for (g, pair) in grouped.iter().zip(packets.chunks(2)) {
            assert_eq!(frame_count(g), 2);
            let (head, frames) = frames(g).unwrap();
            assert_eq!(head, toc);
            assert_eq!(frames, [&pair[0][1..], &pair[1][1..]]);
        }
        assert_eq!(regroup(&packets, 1, 4).unwrap(), packets);
        assert_eq!(
            regroup(&packets, 3, 1).unwrap().len(),
            1,
            "frames past the count are left out"
        );
        assert!(
            regroup(&packets, 3, 2).is_err(),
            "4 frames do not fill two packets of 3"
        );
        let mut mixed = packets.clone();
        mixed[1][0] = 15 << 3;
        assert!(regroup(&mixed, 2, 2).is_err(), "one packet, one configuration");
    }

    #[test]
    fn every_framing_code_parses() {
        assert_eq!(frames(&[8, 1, 2, 3]).unwrap().1, [&[1u8, 2, 3][..]]);
        assert_eq!(frames(&[9, 1, 2, 3, 4]).unwrap().1, [&[1u8, 2][..], &[3, 4]]);
        assert!(frames(&[9, 1, 2, 3]).is_none(), "code 1 needs an even length");
        assert_eq!(frames(&[10, 1, 9, 8, 7]).unwrap().1, [&[9u8][..], &[8, 7]]);
        // Code 3, CBR, three frames of one byte, two bytes of padding.
        assert_eq!(
            frames(&[11, 0x43, 2, 1, 2, 3, 0, 0]).unwrap().1,
            [&[1u8][..], &[2], &[3]]
        );
        assert!(frames(&[11, 0x80]).is_none(), "no frames");
        assert!(frames(&[]).is_none());
    }
}
