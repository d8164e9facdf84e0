//! Hostile input for every carrier: truncations, lying lengths, flipped bytes, random bytes
//! after the magic, zero bytes. Reading never panics, and whenever reading and writing both
//! succeed the output carries exactly the label written (the fuzz property, on mutated
//! fixtures). The binding's exclusions are computed on every such input too.

mod common;

use std::io::Cursor;

use aigc_label_core::{Carrier, Limits};
use aigc_label_testutil::fixtures;

use aigc_label_video::{Avi, Bmff, Flv, Matroska};
use common::fuzz_with_binding as fuzz_carrier;

fn cases() -> Vec<(&'static dyn Carrier, Vec<std::path::PathBuf>)> {
    vec![
        (&Bmff, fixtures("video", &["mp4", "mov", "m4a", "3gp"])),
        (&Matroska, fixtures("video", &["mkv", "webm"])),
        (&Flv, fixtures("video", &["flv"])),
        (&Avi, fixtures("video", &["avi"])),
    ]
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn truncated_files_fail_cleanly() {
    for (carrier, paths) in cases() {
        for path in paths {
            let data = std::fs::read(&path).unwrap();
            let step = (data.len() / 40).max(1);
            for cut in (0..data.len()).step_by(step).chain([1, 4, 8, 12, 16]) {
                fuzz_carrier(carrier, &data[..cut.min(data.len())]);
            }
            // Cutting inside the metadata must be an error for the writer, not a bad file.
            let mut out = Vec::new();
            let r = carrier.write(
                &mut Cursor::new(&data[..data.len() / 2]),
                &mut out,
                &aigc_label_testutil::sample_label(),
                &Limits::default(),
            );
            if let Err(e) = r {
                assert!(e.is_input_fault(), "{}: {e}", path.display());
            }
        }
    }
}

#[test]
fn flipped_bytes_and_lying_lengths_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (carrier, paths) in cases() {
        for path in paths {
            let data = std::fs::read(&path).unwrap();
            for round in 0..60 {
                let mut m = data.clone();
                for _ in 0..1 + round % 4 {
                    let at = (rng.next() % m.len() as u64) as usize;
                    m[at] = match rng.next() % 4 {
                        0 => 0,
                        1 => 0xFF,
                        2 => m[at] ^ (1 << (rng.next() % 8)),
                        _ => rng.next() as u8,
                    };
                }
                fuzz_carrier(carrier, &m);
            }
            // Lengths that claim the whole address space, at the first headers.
            for at in [0usize, 4, 8, 12, 24, 32, 40, 44, 52] {
                let mut m = data.clone();
                if at + 4 <= m.len() {
                    m[at..at + 4].copy_from_slice(&[0xFF; 4]);
                    fuzz_carrier(carrier, &m);
                }
            }
        }
    }
}

#[test]
fn flipped_bytes_in_labelled_files_never_panic() {
    let mut rng = Rng(0x5EED_B1D1);
    for (carrier, paths) in cases() {
        for path in paths {
            let data = std::fs::read(&path).unwrap();
            let labelled = common::write(carrier, &data, &aigc_label_testutil::sample_label());
            // Half the flips land in the first 2 KB, where the metadata and the label are.
            for round in 0..60 {
                let mut m = labelled.clone();
                let span = if round % 2 == 0 { m.len().min(2048) } else { m.len() };
                let at = (rng.next() % span as u64) as usize;
                m[at] = match rng.next() % 3 {
                    0 => 0,
                    1 => 0xFF,
                    _ => m[at] ^ (1 << (rng.next() % 8)),
                };
                fuzz_carrier(carrier, &m);
            }
        }
    }
}

/// Damaged files on which a rewrite of our own output once changed covered bytes, each a
/// fixture (labelled first, or not) with bytes replaced: (offset, byte there, new byte).
#[test]
fn rewrites_of_damaged_files_keep_the_covered_bytes() {
    type Case = (&'static dyn Carrier, &'static str, bool, &'static [(usize, u8, u8)]);
    let cases: [Case; 4] = [
        // A `stco` entry pointing past the end of a file that `moov` ends: nothing follows
        // `moov`, so no offset may move when it grows (the writer used to move this one).
        (
            &Bmff,
            "video/mp4_moov_end.mp4",
            false,
            &[(2146, 0x52, 0xFF), (5911, 0x00, 0x80), (926, 0x32, 0x68)],
        ),
        // A `stco` box of size 0 ("to the end of its parent"): kept by the first write, written
        // out when a longer label moved the chunk offsets. The first write now writes it out.
        (&Bmff, "video/mp4_faststart_free.mp4", true, &[(775, 44, 0)]),
        // A SeekHead entry whose size cannot be read: a Seek appended after it was invisible to
        // the exclusions. The writer now refuses to append to such a SeekHead.
        (&Matroska, "video/mkv_reserved.mkv", true, &[(93, 0x8C, 0x00)]),
        // Our TagName no longer reads `AIGC`, so its Tags element holds another Tag: the label
        // went into it, and shrank it again when a longer one moved to the end. Such a Tags
        // element now takes a label only when it ends the Segment.
        (&Matroska, "video/mkv_reserved.mkv", true, &[(685, b'I', 0xC9)]),
    ];
    for (carrier, name, labelled, flips) in cases {
        let mut data = std::fs::read(aigc_label_testutil::fixture(name)).unwrap();
        if labelled {
            data = common::write(carrier, &data, &aigc_label_testutil::sample_label());
        }
        for &(at, was, now) in flips {
            assert_eq!(data[at], was, "{name}: the fixture changed; byte {at}");
            data[at] = now;
        }
        let mut out = Vec::new();
        carrier
            .write(
                &mut Cursor::new(&data),
                &mut out,
                &aigc_label_testutil::sample_label(),
                &Limits::default(),
            )
            .unwrap_or_else(|e| panic!("{name} {flips:?}: the first write must succeed: {e}"));
        fuzz_carrier(carrier, &data);
    }
}

#[test]
fn random_bytes_after_the_magic_and_zero_bytes() {
    let mut rng = Rng(42);
    let magics: [(&dyn Carrier, &[u8]); 4] = [
        (&Bmff, b"\0\0\0\x18ftypisom"),
        (&Matroska, &[0x1A, 0x45, 0xDF, 0xA3]),
        (&Flv, b"FLV\x01\x05\0\0\0\x09"),
        (&Avi, b"RIFF\xff\xff\xff\x7fAVI "),
    ];
    for (carrier, magic) in magics {
        assert!(carrier.sniff(magic), "{} sniffs its magic", carrier.format());
        for len in [0usize, 1, 7, 64, 500, 4000] {
            let mut data = magic.to_vec();
            data.extend((0..len).map(|_| rng.next() as u8));
            fuzz_carrier(carrier, &data);
            let mut zeros = magic.to_vec();
            zeros.resize(magic.len() + len, 0);
            fuzz_carrier(carrier, &zeros);
        }
        fuzz_carrier(carrier, &[]);
        assert!(carrier.find(&mut Cursor::new(&[][..]), &Limits::default()).is_err());
    }
}

#[test]
fn tight_limits_are_obeyed() {
    let mut limits = Limits::default();
    limits.max_structures = 3;
    for (carrier, paths) in cases() {
        for path in paths {
            let data = std::fs::read(&path).unwrap();
            let r = carrier.find(&mut Cursor::new(&data), &limits);
            assert!(
                matches!(r, Err(aigc_label_core::Error::Limit { .. })),
                "{}: {r:?}",
                path.display()
            );
            let r = carrier.binding_exclusions(&mut Cursor::new(&data), &limits);
            assert!(
                matches!(r, Err(aigc_label_core::Error::Limit { .. })),
                "{}: exclusions {r:?}",
                path.display()
            );
        }
    }
    let mut limits = Limits::default();
    limits.max_metadata_bytes = 100;
    // The AVI fixture's INFO list is smaller than that: nothing to refuse there.
    for (carrier, paths) in cases().into_iter().filter(|(c, _)| c.format() != "avi") {
        for path in paths {
            let data = std::fs::read(&path).unwrap();
            let mut out = Vec::new();
            let r = carrier.write(
                &mut Cursor::new(&data),
                &mut out,
                &aigc_label_testutil::sample_label(),
                &limits,
            );
            assert!(
                r.is_err(),
                "{}: metadata over the limit must not be buffered",
                path.display()
            );
        }
    }
}
