//! ISO-BMFF (MP4, MOV, HEIF, AVIF, ...): a top-level `uuid` box with the C2PA user type
//! (C2PA specification, "Embedding manifests into BMFF-based assets").
//!
//! Only top-level box headers are read; payloads, `mdat` included, are skipped by seeking.

use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::{Error, Limits, Result};

use super::{Trace, TraceKind, TraceScanner};

/// The C2PA manifest box's user type, `d8fec3d6-1b0e-483c-9297-5828877ec481`.
pub const C2PA_UUID: [u8; 16] = [
    0xd8, 0xfe, 0xc3, 0xd6, 0x1b, 0x0e, 0x48, 0x3c, 0x92, 0x97, 0x58, 0x28, 0x87, 0x7e, 0xc4, 0x81,
];

/// The ISO-BMFF scanner.
#[derive(Debug, Clone, Copy, Default)]
pub struct BmffScanner;

impl TraceScanner for BmffScanner {
    fn format(&self) -> &'static str {
        "bmff"
    }

    fn reads(&self) -> &'static [&'static str] {
        &["mp4", "heif"]
    }

    fn scan(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Trace>> {
        let mut src = Source::new(input, "bmff")?;
        let mut out = Vec::new();
        let mut walked = 0u64;
        while !src.at_end() {
            walked += 1;
            if walked > limits.max_structures {
                return Err(Error::Limit {
                    format: "bmff",
                    offset: src.pos(),
                    what: "box count",
                    found: walked,
                    limit: limits.max_structures,
                });
            }
            let start = src.pos();
            let header = src.read_array::<8>("box header")?;
            let size32 = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
            let (size, header_len) = match size32 {
                0 => (src.remaining() + 8, 8),
                1 => (u64::from_be_bytes(src.read_array::<8>("largesize")?), 16),
                n => (u64::from(n), 8),
            };
            if size < header_len || size - header_len > src.remaining() {
                return Err(Error::malformed("bmff", start, "box size outside the file"));
            }
            let mut body = size - header_len;
            if &header[4..8] == b"uuid" {
                let user_type = src.read_array::<16>("uuid user type")?;
                body = body
                    .checked_sub(16)
                    .ok_or_else(|| Error::malformed("bmff", start, "uuid box too short"))?;
                if user_type == C2PA_UUID {
                    out.push(Trace {
                        kind: TraceKind::C2paManifest,
                        location: "BMFF uuid box".into(),
                        range: start..start + size,
                        detail: "C2PA manifest box d8fec3d6-1b0e-483c-9297-5828877ec481".into(),
                    });
                }
            }
            src.skip(body, "box payload")?;
        }
        Ok(out)
    }
}
