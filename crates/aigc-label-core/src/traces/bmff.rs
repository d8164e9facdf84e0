//! ISO-BMFF (MP4, MOV, HEIF, AVIF, ...): a top-level `uuid` box with the C2PA user type
//! (C2PA specification, "Embedding manifests into BMFF-based assets").
//!
//! Only top-level box headers are read, through the container layer's walker; payloads, `mdat`
//! included, are skipped by seeking.

use crate::container::Budget;
use crate::container::bmff::StreamBoxes;
use crate::io::{ReadSeek, Source};
use crate::{Error, Limits, Result};

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

    fn scan(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Trace>> {
        let mut src = Source::new(input, "bmff")?;
        let mut budget = Budget::new(limits);
        let mut out = Vec::new();
        let mut walk = StreamBoxes::whole(&mut src, &mut budget);
        while let Some(found) = walk.next() {
            let h = found?;
            if h.claimed_end.is_some() {
                return Err(Error::malformed("bmff", h.start, "box size outside the file"));
            }
            if h.is(b"uuid") {
                let src = walk.source();
                src.seek_to(h.payload_start())?;
                let user_type = src.read_array::<16>("uuid user type")?;
                if h.size() - h.header_len < 16 {
                    return Err(Error::malformed("bmff", h.start, "uuid box too short"));
                }
                if user_type == C2PA_UUID {
                    out.push(Trace {
                        kind: TraceKind::C2paManifest,
                        location: "BMFF uuid box".into(),
                        range: h.start..h.end,
                        detail: "C2PA manifest box d8fec3d6-1b0e-483c-9297-5828877ec481".into(),
                    });
                }
            }
        }
        Ok(out)
    }
}
