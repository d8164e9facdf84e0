//! PNG: `caBX` (C2PA), text chunks (`tEXt`, `zTXt`, `iTXt`, XMP among them), `eXIf`.
//!
//! The walk reads each chunk header, buffers only the chunks it inspects (checked against
//! [`Limits::max_metadata_bytes`]) and seeks past the rest, image data included. Chunks after
//! `IEND` are read too, as generators and tools append them; bytes there that do not form
//! chunks end the walk quietly.

use crate::container::Budget;
use crate::container::png::{ChunkHeader, MAX_CHUNK_LEN, SIGNATURE};
use crate::io::{Bytes, ReadSeek, Source};
use crate::{Limits, Result};

use super::{Trace, TraceKind, TraceScanner, in_exif, in_text, in_xmp, is_c2pa_jumbf};

const XMP_KEYWORD: &str = "XML:com.adobe.xmp";
/// Bytes of a `caBX` chunk read to find its JUMBF label.
const JUMBF_HEAD: u64 = 64;

/// The PNG scanner.
#[derive(Debug, Clone, Copy, Default)]
pub struct PngScanner;

impl TraceScanner for PngScanner {
    fn format(&self) -> &'static str {
        "png"
    }

    fn scan(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Trace>> {
        let mut src = Source::new(input, "png")?;
        if src.read_array::<8>("signature")? != SIGNATURE {
            return Err(src.malformed("not a PNG signature"));
        }
        let mut out = Vec::new();
        let mut after_iend = false;
        let mut budget = Budget::counting(limits, "chunk count");
        while !src.at_end() {
            budget.tick("png", src.pos())?;
            match chunk(&mut src, limits, &mut out) {
                Ok(kind) => after_iend |= &kind == b"IEND",
                Err(_) if after_iend => break,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

/// Reads one chunk, adding its traces to `out`; returns its type.
fn chunk(src: &mut Source<'_>, limits: &Limits, out: &mut Vec<Trace>) -> Result<[u8; 4]> {
    let header = ChunkHeader::read(src)?;
    let (start, len, kind) = (header.offset, header.len, header.kind);
    if len > MAX_CHUNK_LEN || len + 4 > src.remaining() {
        return Err(src.truncated("chunk longer than the file"));
    }
    let range = start..start + 12 + len;
    match &kind {
        b"caBX" => {
            let head = src.read_vec(len.min(JUMBF_HEAD), "caBX chunk", limits)?;
            src.skip(len - head.len() as u64, "caBX chunk")?;
            let detail = if is_c2pa_jumbf(&head) {
                "JUMBF manifest store labelled c2pa"
            } else {
                "caBX chunk"
            };
            out.push(Trace {
                kind: TraceKind::C2paManifest,
                location: "PNG caBX chunk".into(),
                range,
                detail: detail.into(),
            });
        }
        b"tEXt" | b"zTXt" | b"iTXt" => {
            let data = src.read_vec(len, "text chunk", limits)?;
            if let Some((keyword, text)) = decode_text(&kind, &data, limits) {
                if keyword == XMP_KEYWORD {
                    out.extend(in_xmp(text.as_bytes(), "PNG iTXt XMP", range, limits));
                } else {
                    out.extend(in_text(&keyword, &text, location(&kind), range));
                }
            }
        }
        b"eXIf" => {
            let data = src.read_vec(len, "eXIf chunk", limits)?;
            out.extend(in_exif(&data, "PNG eXIf chunk", range));
        }
        _ => src.skip(len, "chunk data")?,
    }
    src.skip(4, "chunk CRC")?;
    Ok(kind)
}

fn location(kind: &[u8; 4]) -> &'static str {
    match kind {
        b"tEXt" => "PNG tEXt chunk",
        b"zTXt" => "PNG zTXt chunk",
        _ => "PNG iTXt chunk",
    }
}

/// The keyword and text of a text chunk (PNG specification 11.3.4). Text that cannot be
/// inflated is returned empty: the keyword alone can be a trace.
fn decode_text(kind: &[u8; 4], data: &[u8], limits: &Limits) -> Option<(String, String)> {
    let mut b = Bytes::new(data);
    let keyword = String::from_utf8_lossy(b.take_until(0)?).into_owned();
    let text = match kind {
        b"tEXt" => latin1(b.rest()),
        b"zTXt" => {
            b.u8()?;
            inflate(b.rest(), limits).map(|t| latin1(&t)).unwrap_or_default()
        }
        _ => {
            let compressed = b.u8()? == 1;
            b.u8()?;
            b.take_until(0)?;
            b.take_until(0)?;
            if compressed {
                inflate(b.rest(), limits)
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default()
            } else {
                String::from_utf8_lossy(b.rest()).into_owned()
            }
        }
    };
    Some((keyword, text))
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Inflates a zlib stream, giving up past [`Limits::max_inflated_bytes`].
#[cfg(feature = "inflate")]
fn inflate(data: &[u8], limits: &Limits) -> Option<Vec<u8>> {
    use crate::container::inflate::{self, Stream};
    inflate::inflate(data, Stream::Zlib, limits.max_inflated_bytes).ok()
}

/// Without the core's `inflate` feature a compressed text chunk is searched by its keyword
/// alone.
#[cfg(not(feature = "inflate"))]
fn inflate(_: &[u8], _: &Limits) -> Option<Vec<u8>> {
    None
}
