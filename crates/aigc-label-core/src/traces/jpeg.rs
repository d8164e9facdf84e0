//! JPEG: APP1 (EXIF, XMP) and APP11 (JUMBF, where C2PA puts its manifest store).
//!
//! The walk goes from SOI to the first SOS (ITU-T T.81 B.1.1) over the container layer's
//! segment walk, as the label carrier does:
//! metadata sits before the image data. It buffers APP1 and APP11 segments (at most 64 KiB
//! each) and seeks past all others.

use crate::container::Budget;
use crate::container::jpeg::{EOI, SOS, Segments, stands_alone};
use crate::io::{ReadSeek, Source};
use crate::{Limits, Result};

use super::{Trace, TraceKind, TraceScanner, explicit_label, in_exif, in_xmp, is_c2pa_jumbf};

const APP1: u8 = 0xE1;
const APP11: u8 = 0xEB;
const COM: u8 = 0xFE;
const EXIF: &[u8] = b"Exif\0\0";
const XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
/// The JPEG XT box header in APP11: common identifier `JP`, box instance (2), sequence (4).
const JPEG_XT_HEADER: usize = 8;

/// The JPEG scanner.
#[derive(Debug, Clone, Copy, Default)]
pub struct JpegScanner;

impl TraceScanner for JpegScanner {
    fn format(&self) -> &'static str {
        "jpeg"
    }

    fn scan(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Trace>> {
        let mut src = Source::new(input, "jpeg")?;
        let mut walk = Segments::new(&mut src)?;
        let mut budget = Budget::counting(limits, "segment count");
        let mut out = Vec::new();
        while walk.position() < src.len() {
            let m = walk.marker(&mut src, &mut budget)?;
            match m.code {
                SOS | EOI => break,
                code if stands_alone(code) => {
                    walk.alone(&src, m);
                    continue;
                }
                _ => {}
            }
            let seg = walk.with_length(&mut src, m)?;
            let (range, payload) = (seg.whole(), seg.payload_len());
            match seg.marker {
                APP1 => {
                    let data = src.read_vec(payload, "APP1 segment", limits)?;
                    if let Some(tiff) = data.strip_prefix(EXIF) {
                        out.extend(in_exif(tiff, "JPEG APP1 EXIF", range));
                    } else if let Some(packet) = data.strip_prefix(XMP) {
                        out.extend(in_xmp(packet, "JPEG APP1 XMP", range, limits));
                    }
                }
                APP11 => {
                    let data = src.read_vec(payload, "APP11 segment", limits)?;
                    let jumbf = data.get(JPEG_XT_HEADER..).filter(|_| data.starts_with(b"JP"));
                    if jumbf.is_some_and(is_c2pa_jumbf) {
                        out.push(Trace {
                            kind: TraceKind::C2paManifest,
                            location: "JPEG APP11 JUMBF".into(),
                            range,
                            detail: "JUMBF manifest store labelled c2pa".into(),
                        });
                    }
                }
                COM => {
                    let data = src.read_vec(payload, "COM segment", limits)?;
                    out.extend(explicit_label(&String::from_utf8_lossy(&data), "JPEG COM", range));
                }
                _ => {}
            }
        }
        Ok(out)
    }
}
