//! JPEG: APP1 (EXIF, XMP) and APP11 (JUMBF, where C2PA puts its manifest store).
//!
//! The walk goes from SOI to the first SOS (ITU-T T.81 B.1.1), as the label carrier does:
//! metadata sits before the image data. It buffers APP1 and APP11 segments (at most 64 KiB
//! each) and seeks past all others.

use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::{Error, Limits, Result};

use super::{Trace, TraceKind, TraceScanner, explicit_label, in_exif, in_xmp, is_c2pa_jumbf};

const SOI: [u8; 2] = [0xFF, 0xD8];
const APP1: u8 = 0xE1;
const APP11: u8 = 0xEB;
const COM: u8 = 0xFE;
const SOS: u8 = 0xDA;
const EOI: u8 = 0xD9;
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

    fn reads(&self) -> &'static [&'static str] {
        &["jpeg"]
    }

    fn scan(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Trace>> {
        let mut src = Source::new(input, "jpeg")?;
        if src.read_array::<2>("SOI")? != SOI {
            return Err(src.malformed("no SOI marker"));
        }
        let mut out = Vec::new();
        let mut walked = 0u64;
        loop {
            walked += 1;
            if walked > limits.max_structures {
                return Err(Error::Limit {
                    format: "jpeg",
                    offset: src.pos(),
                    what: "segment count",
                    found: walked,
                    limit: limits.max_structures,
                });
            }
            if src.at_end() {
                break;
            }
            let start = src.pos();
            let [ff, mut marker] = src.read_array::<2>("marker")?;
            if ff != 0xFF {
                return Err(Error::malformed("jpeg", start, "expected a marker"));
            }
            while marker == 0xFF {
                [marker] = src.read_array::<1>("marker")?;
            }
            match marker {
                SOS | EOI => break,
                0x01 | 0xD0..=0xD7 => continue,
                _ => {}
            }
            let len = u64::from(u16::from_be_bytes(src.read_array::<2>("segment length")?));
            if len < 2 {
                return Err(src.malformed("segment length below 2"));
            }
            let payload = len - 2;
            let range = start..src.pos() + payload;
            match marker {
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
                _ => src.skip(payload, "segment")?,
            }
        }
        Ok(out)
    }
}
