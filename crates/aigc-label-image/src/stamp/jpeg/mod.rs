//! Stamping JPEG in the DCT domain: only the 8x8 blocks under the label are decoded, drawn on,
//! transformed and quantised again with the file's own tables; every other block keeps its
//! coefficients, and every segment other than the entropy-coded scan data is copied byte for
//! byte (DHT too, unless a redrawn block needs a code the file's table lacks, when that one table
//! is replaced by an optimal one for the new data).
//!
//! No crate we could find rewrites JPEG at the coefficient level (decoders hand out pixels,
//! encoders take pixels), so the Huffman coder ([`huffman`]) and the DCT ([`dct`]) are our own.
//!
//! Scope: baseline, extended sequential and progressive Huffman JPEG (SOF0/SOF1/SOF2, 8-bit),
//! written back with the file's own scan script, any sampling factors, restart intervals (markers kept, same numbering), grey, Y'CbCr, RGB
//! (Adobe transform 0), CMYK and YCCK (drawn in CMYK, Adobe's inverted convention when the APP14
//! marker is there). Arithmetic-coded, 12-bit, lossless and hierarchical files answer `None` and the caller falls back to decoding and re-encoding.

mod dct;
pub(super) mod fallback;
mod huffman;
mod region;
mod scan;

use aigc_label_core::{Error, Result};
use image::metadata::Orientation;

use self::huffman::{Decoder, Table};
use super::{Stamped, Stamper};

/// A JPEG stamped in the DCT domain.
pub(super) struct Stamp {
    /// The whole output file.
    pub bytes: Vec<u8>,
    /// Where the label went (display orientation).
    pub stamped: Stamped,
    /// Blocks redrawn, all components together.
    pub blocks: usize,
    /// Huffman tables replaced because the redrawn blocks needed codes they lack.
    pub tables_rebuilt: usize,
    /// The input had an ICC profile (APP2) / EXIF (APP1); both are copied as they are.
    pub has_icc: bool,
    pub has_exif: bool,
}

fn malformed(offset: usize, what: impl Into<String>) -> Error {
    Error::malformed("jpeg", offset as u64, what.into())
}

/// How component samples map to colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Model {
    Grey,
    YCbCr,
    Rgb,
    /// CMYK; `inverted` when 255 means no ink (Adobe APP14 files).
    Cmyk {
        inverted: bool,
    },
    /// Adobe's YCCK: the complements of inverted C, M, Y coded as Y'CbCr, then K (what
    /// ImageMagick and Photoshop write for CMYK).
    Ycck,
}

pub(super) struct Component {
    id: u8,
    pub h: usize,
    pub v: usize,
    tq: usize,
    /// Quantisation table (zig-zag), fixed at the component's first scan.
    pub quant: Option<[u16; 64]>,
    /// Blocks per row and rows of blocks, padded to whole MCUs.
    pub bw: usize,
    pub bh: usize,
    /// Coefficients in zig-zag order, row-major blocks.
    pub blocks: Vec<[i16; 64]>,
}

pub(super) struct Frame {
    pub width: usize,
    pub height: usize,
    pub hmax: usize,
    pub vmax: usize,
    pub mcux: usize,
    pub mcuy: usize,
    pub components: Vec<Component>,
}

struct Scan {
    /// (component index, DC table definition, AC table definition); a table the scan does not
    /// use may be undefined.
    components: Vec<(usize, Option<usize>, Option<usize>)>,
    /// Spectral selection and successive approximation (0, 63, 0, 0 for sequential scans).
    ss: usize,
    se: usize,
    ah: u32,
    al: u32,
    restart_interval: usize,
    /// Where the entropy-coded data sits in the input.
    data: std::ops::Range<usize>,
}

/// What the output is made of, in order.
enum Piece {
    Copy(std::ops::Range<usize>),
    /// A DHT segment and the table definitions it holds, in order (class/id byte, definition).
    Dht(std::ops::Range<usize>, Vec<(u8, usize)>),
    Scan(usize),
}

/// Stamps `bytes` (a whole JPEG file) in the DCT domain, or answers `None` for a kind of JPEG
/// this path does not handle.
pub(super) fn stamp(bytes: &[u8], stamper: &Stamper, max_decoded_bytes: u64) -> Result<Option<Stamp>> {
    transcode(bytes, max_decoded_bytes, |frame, model, orientation| {
        region::draw(frame, model, orientation, stamper)
    })
}

/// Decodes every scan's coefficients, lets `edit` change them, and writes the file again with
/// the same segments and scan script.
fn transcode(
    bytes: &[u8],
    max_decoded_bytes: u64,
    edit: impl FnOnce(&mut Frame, Model, Orientation) -> Result<region::Drawn>,
) -> Result<Option<Stamp>> {
    let Some(mut parsed) = Parsed::parse(bytes, max_decoded_bytes)? else {
        return Ok(None);
    };
    let components = parsed.frame.as_ref().map_or(0, |f| f.components.len());
    let Some(model) = parsed.model(components) else {
        return Ok(None);
    };
    let Some(frame) = parsed.frame.as_mut() else {
        return Err(malformed(0, "no frame header"));
    };
    if parsed.scans.is_empty() {
        return Err(malformed(0, "no scan"));
    }
    decode_scans(frame, &parsed.scans, &parsed.decoders, bytes)?;
    let drawn = edit(frame, model, parsed.orientation)?;
    // Written with the file's own tables first; only if a redrawn block needs a code they lack
    // are the symbols counted and those tables replaced (then written again).
    let (out, tables_rebuilt) = match parsed.write(bytes)? {
        Some(out) => (out, 0),
        None => {
            let rebuilt = parsed.fit_tables()?;
            let out = parsed
                .write(bytes)?
                .ok_or_else(|| malformed(0, "Huffman tables could not be fitted"))?;
            (out, rebuilt)
        }
    };
    // A crafted file can decode here yet leave coefficients that write out as scan data other
    // decoders reject (the stamp fuzzer found one); such a file takes the caller's decoding and
    // re-encoding path instead.
    if !round_trips(&out, max_decoded_bytes) {
        return Ok(None);
    }
    Ok(Some(Stamp {
        bytes: out,
        stamped: drawn.stamped,
        blocks: drawn.blocks,
        tables_rebuilt,
        has_icc: parsed.has_icc,
        has_exif: parsed.has_exif,
    }))
}

/// Decodes every scan of `bytes` into `frame`'s coefficients.
fn decode_scans(frame: &mut Frame, scans: &[Scan], decoders: &[Decoder], bytes: &[u8]) -> Result<()> {
    for scan in scans {
        let data = bytes.get(scan.data.clone()).unwrap_or_default();
        let parts = intervals(data, scan.data.start)?;
        let mcus = frame.geometry().mcus(scan);
        let per = if scan.restart_interval == 0 {
            usize::MAX
        } else {
            scan.restart_interval
        };
        if parts.len() != mcus.div_ceil(per).max(1) {
            return Err(malformed(
                scan.data.start,
                "restart interval count does not match the image",
            ));
        }
        scan::decode(frame, scan, &parts, decoders)?;
    }
    Ok(())
}

/// Whether `out`, a file this module wrote, decodes to the coefficients it was written from:
/// its scans decode, and writing them again gives the same bytes.
fn round_trips(out: &[u8], max_decoded_bytes: u64) -> bool {
    let Ok(Some(mut parsed)) = Parsed::parse(out, max_decoded_bytes) else {
        return false;
    };
    let Some(frame) = parsed.frame.as_mut() else {
        return false;
    };
    if decode_scans(frame, &parsed.scans, &parsed.decoders, out).is_err() {
        return false;
    }
    matches!(parsed.write(out), Ok(Some(again)) if again == out)
}

struct Parsed {
    frame: Option<Frame>,
    scans: Vec<Scan>,
    pieces: Vec<Piece>,
    /// Every Huffman table definition in file order; scans refer to them by index.
    tables: Vec<Table>,
    decoders: Vec<Decoder>,
    /// Which definitions were replaced.
    rebuilt: Vec<bool>,
    adobe_transform: Option<u8>,
    jfif: bool,
    /// SOF2: progressive scans.
    progressive: bool,
    has_icc: bool,
    has_exif: bool,
    orientation: Orientation,
}

impl Parsed {
    fn parse(bytes: &[u8], max_decoded_bytes: u64) -> Result<Option<Parsed>> {
        if bytes.get(..2) != Some(&[0xFF, 0xD8]) {
            return Err(malformed(0, "no SOI marker"));
        }
        let mut p = Parsed {
            frame: None,
            scans: Vec::new(),
            pieces: vec![Piece::Copy(0..2)],
            tables: Vec::new(),
            decoders: Vec::new(),
            rebuilt: Vec::new(),
            adobe_transform: None,
            jfif: false,
            progressive: false,
            has_icc: false,
            has_exif: false,
            orientation: Orientation::NoTransforms,
        };
        let mut quant: [Option<[u16; 64]>; 4] = [None; 4];
        let mut current: [Option<usize>; 8] = [None; 8]; // DC 0..4, AC 4..8
        let mut restart_interval = 0usize;
        let mut pos = 2usize;
        loop {
            let start = pos;
            let Segment { marker, body, end } = segment(bytes, pos)?;
            match marker {
                0xD9 => {
                    p.pieces.push(Piece::Copy(start..bytes.len()));
                    return Ok(Some(p));
                }
                0xD0..=0xD7 | 0x01 => {
                    p.pieces.push(Piece::Copy(start..end));
                    pos = end;
                    continue;
                }
                _ => {}
            }
            if !p.scans.is_empty() && !known_after_first_scan(marker) {
                return Ok(None);
            }
            match marker {
                0xC0..=0xC2 => {
                    p.progressive = marker == 0xC2;
                    if p.frame.is_some() {
                        return Err(malformed(start, "second frame header"));
                    }
                    let Some(frame) = parse_frame(body, start, max_decoded_bytes)? else {
                        return Ok(None);
                    };
                    p.frame = Some(frame);
                }
                // (DHP and EXP belong to hierarchical files, which zune-jpeg does not know either.)
                0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF | 0xDC | 0xDE | 0xDF => return Ok(None),
                0xC4 => {
                    let mut defs = Vec::new();
                    let mut rest = body;
                    while let Some((&tc_th, tail)) = rest.split_first() {
                        let (table, used) = Table::parse(tail).ok_or_else(|| malformed(start, "DHT segment"))?;
                        let (class, id) = (tc_th >> 4, usize::from(tc_th & 15));
                        if class > 1 || id > 3 {
                            return Err(malformed(start, "DHT table class or id"));
                        }
                        p.decoders.push(Decoder::new(&table)?);
                        p.tables.push(table);
                        p.rebuilt.push(false);
                        current[usize::from(class) * 4 + id] = Some(p.tables.len() - 1);
                        defs.push((tc_th, p.tables.len() - 1));
                        rest = tail.get(used..).unwrap_or_default();
                    }
                    p.pieces.push(Piece::Dht(start..end, defs));
                    pos = end;
                    continue;
                }
                0xDB => parse_quant(body, &mut quant).ok_or_else(|| malformed(start, "DQT segment"))?,
                0xDD => {
                    restart_interval = body
                        .get(..2)
                        .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                        .ok_or_else(|| malformed(start, "DRI segment"))?;
                }
                0xE0 if body.starts_with(b"JFIF\0") => p.jfif = true,
                0xE2 if body.starts_with(b"ICC_PROFILE\0") => p.has_icc = true,
                0xE1 if body.starts_with(b"Exif\0\0") => {
                    p.has_exif = true;
                    if let Some(o) = body.get(6..).and_then(Orientation::from_exif_chunk) {
                        p.orientation = o;
                    }
                }
                0xEE if body.starts_with(b"Adobe") => p.adobe_transform = body.get(11).copied(),
                0xDA => {
                    p.pieces.push(Piece::Copy(start..end));
                    let frame = p
                        .frame
                        .as_mut()
                        .ok_or_else(|| malformed(start, "scan before the frame header"))?;
                    let mut scan = parse_scan(body, start, frame, &current, &quant, p.progressive)?;
                    scan.restart_interval = restart_interval;
                    let data_end = scan_end(bytes, end);
                    scan.data = end..data_end;
                    p.pieces.push(Piece::Scan(p.scans.len()));
                    p.scans.push(scan);
                    pos = data_end;
                    continue;
                }
                _ => {}
            }
            p.pieces.push(Piece::Copy(start..end));
            pos = end;
        }
    }

    /// The colour model, or `None` for one this path does not draw in.
    fn model(&self, components: usize) -> Option<Model> {
        match (components, self.adobe_transform) {
            (1, _) => Some(Model::Grey),
            (3, Some(0)) => Some(Model::Rgb),
            (3, Some(_)) => Some(Model::YCbCr),
            (3, None) => {
                let ids: Vec<u8> = self.frame.as_ref()?.components.iter().map(|c| c.id).collect();
                if !self.jfif && ids == b"RGB" {
                    Some(Model::Rgb)
                } else {
                    Some(Model::YCbCr)
                }
            }
            (4, Some(0)) => Some(Model::Cmyk { inverted: true }),
            (4, Some(2)) => Some(Model::Ycck),
            (4, None) => Some(Model::Cmyk { inverted: false }),
            _ => None,
        }
    }

    /// The output file, or `None` when a symbol has no code in its table.
    fn write(&self, bytes: &[u8]) -> Result<Option<Vec<u8>>> {
        let frame = self.frame.as_ref().ok_or_else(|| malformed(0, "no frame header"))?;
        let geometry = frame.geometry();
        let mut out = Vec::new();
        out.try_reserve(bytes.len() + bytes.len() / 8)
            .map_err(|_| malformed(0, "output too large"))?;
        for piece in &self.pieces {
            match piece {
                Piece::Copy(range) => out.extend_from_slice(bytes.get(range.clone()).unwrap_or_default()),
                Piece::Dht(range, defs) => {
                    if defs.iter().any(|&(_, d)| self.rebuilt.get(d).copied().unwrap_or(false)) {
                        let mut body = Vec::new();
                        for &(tc_th, def) in defs {
                            body.push(tc_th);
                            if let Some(t) = self.tables.get(def) {
                                t.serialise(&mut body);
                            }
                        }
                        out.extend_from_slice(&[0xFF, 0xC4]);
                        out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
                        out.extend_from_slice(&body);
                    } else {
                        out.extend_from_slice(bytes.get(range.clone()).unwrap_or_default());
                    }
                }
                Piece::Scan(i) => {
                    if let Some(scan) = self.scans.get(*i) {
                        let mut writer = scan::Writer::new(&self.tables);
                        scan::encode(frame, &geometry, scan, &mut writer)?;
                        if writer.missing {
                            return Ok(None);
                        }
                        writer.out.flush();
                        out.extend_from_slice(&writer.out.out);
                    }
                }
            }
        }
        Ok(Some(out))
    }

    /// Counts the symbols every table definition must now code; replaces the definitions that
    /// lack one by optimal tables. Returns how many were replaced.
    fn fit_tables(&mut self) -> Result<usize> {
        let Some(frame) = self.frame.as_ref() else { return Ok(0) };
        let geometry = frame.geometry();
        let mut freq = vec![[0u64; 256]; self.tables.len()];
        for scan in &self.scans {
            scan::encode(frame, &geometry, scan, &mut scan::Counter(&mut freq))?;
        }
        let mut rebuilt = 0;
        for (def, f) in freq.iter().enumerate() {
            let Some(table) = self.tables.get(def) else { continue };
            let codes = table.codes();
            if f.iter().zip(&codes).any(|(&n, &(_, len))| n > 0 && len == 0) {
                self.tables[def] = huffman::optimal(f);
                self.rebuilt[def] = true;
                rebuilt += 1;
            }
        }
        Ok(rebuilt)
    }
}

fn parse_frame(body: &[u8], offset: usize, max_decoded_bytes: u64) -> Result<Option<Frame>> {
    let b = |i: usize| {
        body.get(i)
            .copied()
            .ok_or_else(|| malformed(offset, "short frame header"))
    };
    if b(0)? != 8 {
        return Ok(None);
    }
    let height = usize::from(u16::from_be_bytes([b(1)?, b(2)?]));
    let width = usize::from(u16::from_be_bytes([b(3)?, b(4)?]));
    let n = usize::from(b(5)?);
    if height == 0 {
        return Ok(None); // height given by a DNL marker later
    }
    if width == 0 || !matches!(n, 1 | 3 | 4) {
        return Err(malformed(offset, "frame header: size or component count"));
    }
    let mut components = Vec::with_capacity(n);
    for i in 0..n {
        let sampling = b(7 + 3 * i)?;
        let (h, v) = (usize::from(sampling >> 4), usize::from(sampling & 15));
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
            return Err(malformed(offset, "sampling factors"));
        }
        components.push(Component {
            id: b(6 + 3 * i)?,
            h,
            v,
            tq: usize::from(b(8 + 3 * i)? & 3),
            quant: None,
            bw: 0,
            bh: 0,
            blocks: Vec::new(),
        });
    }
    let hmax = components.iter().map(|c| c.h).max().unwrap_or(1);
    let vmax = components.iter().map(|c| c.v).max().unwrap_or(1);
    let mcux = width.div_ceil(8 * hmax);
    let mcuy = height.div_ceil(8 * vmax);
    let total: u64 = components.iter().map(|c| (mcux * c.h * mcuy * c.v) as u64 * 128).sum();
    if total > max_decoded_bytes {
        return Err(Error::Limit {
            format: "jpeg",
            offset: offset as u64,
            what: "DCT coefficients in memory",
            found: total,
            limit: max_decoded_bytes,
        });
    }
    for c in &mut components {
        c.bw = mcux * c.h;
        c.bh = mcuy * c.v;
        let count = c.bw * c.bh;
        c.blocks
            .try_reserve_exact(count)
            .map_err(|_| malformed(offset, "coefficient memory"))?;
        c.blocks.resize(count, [0; 64]);
    }
    Ok(Some(Frame {
        width,
        height,
        hmax,
        vmax,
        mcux,
        mcuy,
        components,
    }))
}

fn parse_quant(body: &[u8], quant: &mut [Option<[u16; 64]>; 4]) -> Option<()> {
    let mut rest = body;
    while let Some((&pq_tq, tail)) = rest.split_first() {
        let (wide, id) = (pq_tq >> 4 != 0, usize::from(pq_tq & 3));
        let mut table = [0u16; 64];
        let size = if wide { 128 } else { 64 };
        let data = tail.get(..size)?;
        for (k, q) in table.iter_mut().enumerate() {
            *q = if wide {
                u16::from_be_bytes([data[2 * k], data[2 * k + 1]])
            } else {
                u16::from(data[k])
            };
        }
        *quant.get_mut(id)? = Some(table);
        rest = tail.get(size..)?;
    }
    Some(())
}

fn parse_scan(
    body: &[u8],
    offset: usize,
    frame: &mut Frame,
    current: &[Option<usize>; 8],
    quant: &[Option<[u16; 64]>; 4],
    progressive: bool,
) -> Result<Scan> {
    let bad = || malformed(offset, "scan header");
    let n = usize::from(*body.first().ok_or_else(bad)?);
    if n == 0 || n > 4 {
        return Err(bad());
    }
    let tail = body.get(1 + 2 * n..1 + 2 * n + 3).ok_or_else(bad)?;
    let (ss, se, ah, al) = (
        usize::from(tail[0]),
        usize::from(tail[1]),
        u32::from(tail[2] >> 4),
        u32::from(tail[2] & 15),
    );
    let valid = if progressive {
        // DC scans may interleave; AC scans hold one component and stay within the block.
        al <= 13 && ((ss == 0 && se == 0) || (ss >= 1 && ss <= se && se <= 63 && n == 1))
    } else {
        (ss, se, ah, al) == (0, 63, 0, 0)
    };
    if !valid {
        return Err(malformed(offset, "scan header: spectral selection or approximation"));
    }
    let mut components = Vec::new();
    for i in 0..n {
        let id = *body.get(1 + 2 * i).ok_or_else(bad)?;
        let tables = *body.get(2 + 2 * i).ok_or_else(bad)?;
        let index = frame.components.iter().position(|c| c.id == id).ok_or_else(bad)?;
        let dc = current[usize::from(tables >> 4) & 3];
        let ac = current[4 + (usize::from(tables & 15) & 3)];
        if ss == 0 && ah == 0 && dc.is_none() {
            return Err(malformed(offset, "scan uses an undefined DC table"));
        }
        if se > 0 && ac.is_none() {
            return Err(malformed(offset, "scan uses an undefined AC table"));
        }
        let c = &mut frame.components[index];
        if c.quant.is_none() {
            c.quant = Some(quant[c.tq].ok_or_else(|| malformed(offset, "component without a quantisation table"))?);
        }
        components.push((index, dc, ac));
    }
    let blocks_in_mcu: usize = components
        .iter()
        .map(|&(c, _, _)| frame.components[c].h * frame.components[c].v)
        .sum();
    if n > 1 && blocks_in_mcu > 10 {
        return Err(malformed(offset, "more than 10 blocks in an MCU"));
    }
    Ok(Scan {
        components,
        ss,
        se,
        ah,
        al,
        restart_interval: 0,
        data: 0..0,
    })
}

/// A marker and its segment, as the walk from SOI to EOI meets them.
struct Segment<'a> {
    marker: u8,
    /// The bytes after the length field; empty for EOI, RSTn and TEM, which stand alone.
    body: &'a [u8],
    /// Where the next marker starts (or, after SOS, the entropy-coded data).
    end: usize,
}

/// The marker at `pos` (after any fill bytes) and its segment, checked against the bytes there.
fn segment(bytes: &[u8], mut pos: usize) -> Result<Segment<'_>> {
    if bytes.get(pos) != Some(&0xFF) {
        return Err(malformed(pos, "expected a marker"));
    }
    while bytes.get(pos) == Some(&0xFF) {
        pos += 1;
    }
    let marker = *bytes.get(pos).ok_or_else(|| malformed(pos, "truncated before EOI"))?;
    if reserved(marker) {
        return Err(malformed(
            pos - 1,
            format!("reserved marker 0xFF{marker:02X}: not a JPEG decoders agree on"),
        ));
    }
    pos += 1;
    if matches!(marker, 0xD9 | 0xD0..=0xD7 | 0x01) {
        return Ok(Segment {
            marker,
            body: &[],
            end: pos,
        });
    }
    let len = bytes
        .get(pos..pos + 2)
        .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        .filter(|&l| l >= 2)
        .ok_or_else(|| malformed(pos, "segment length"))?;
    let body = bytes
        .get(pos + 2..pos + len)
        .ok_or_else(|| malformed(pos, "segment past the end"))?;
    Ok(Segment {
        marker,
        body,
        end: pos + len,
    })
}

/// Whether T.81 reserves `marker` (RES 0x02-0xBF, JPG 0xC8, JPGn 0xF0-0xFD): no segment of an
/// interchange file. libjpeg stops at one ("Unsupported marker type"); zune-jpeg (behind the
/// `image` crate) skips one by its length in the headers, but after the first scan it either
/// stops decoding there or, when its bit reader meets the marker while filling its buffer,
/// drops the two marker bytes and reads on through the segment as scan data, until a marker it
/// knows. Which of the two happens depends on how far the scan data before the marker reaches,
/// and a stamp changes that length: the stamp fuzzer found a progressive file whose reserved
/// 0xFF44 segment holds the bytes of a DQT marker with a length running past the end of the
/// file (`fuzz/corpus/stamp/jpeg-reserved-marker-hiding-a-dqt`). zune-jpeg stopped at 0xFF44 in
/// the input and decoded the first two scans; in the stamped file, whose first scans are shorter,
/// it read through to the hidden DQT and failed. Such a file is refused rather than guessed at.
fn reserved(marker: u8) -> bool {
    matches!(marker, 0x02..=0xBF | 0xC8 | 0xF0..=0xFD)
}

/// Whether zune-jpeg 0.4 (behind the `image` crate) knows `marker` once the first scan has
/// begun: APP3 to APP12 and APP15 it meets after the first scan as [`reserved`] describes, so
/// what it decodes of a file with one there depends on the length of the scan data before it.
/// (libjpeg and T.81 allow them; the DCT path declines such a file, which is then decoded and
/// encoded anew, so the output holds no segment the decoder can misread.)
fn known_after_first_scan(marker: u8) -> bool {
    !matches!(marker, 0xE3..=0xEC | 0xEF)
}

/// The end of entropy-coded data starting at `start`: the first marker other than RSTn.
fn scan_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    while i + 1 < bytes.len() {
        if bytes[i] == 0xFF {
            match bytes[i + 1] {
                0x00 | 0xD0..=0xD7 => i += 2,
                0xFF => i += 1,
                _ => return i,
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// The entropy-coded data split at its restart markers, checking their numbering.
fn intervals(data: &[u8], offset: usize) -> Result<Vec<&[u8]>> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < data.len() {
        if data[i] == 0xFF && (0xD0..=0xD7).contains(&data[i + 1]) {
            if data[i + 1] != 0xD0 + (parts.len() % 8) as u8 {
                return Err(malformed(offset + i, "restart markers out of sequence"));
            }
            parts.push(&data[start..i]);
            i += 2;
            start = i;
        } else if data[i] == 0xFF && data[i + 1] == 0x00 {
            i += 2;
        } else {
            i += 1;
        }
    }
    parts.push(data.get(start..).unwrap_or_default());
    Ok(parts)
}

/// The block layout of a frame, apart from the coefficients (so walking it leaves the
/// coefficients free to be written).
struct Geometry {
    width: usize,
    height: usize,
    hmax: usize,
    vmax: usize,
    mcux: usize,
    mcuy: usize,
    /// (h, v, blocks per row) per frame component.
    components: Vec<(usize, usize, usize)>,
}

impl Frame {
    fn geometry(&self) -> Geometry {
        Geometry {
            width: self.width,
            height: self.height,
            hmax: self.hmax,
            vmax: self.vmax,
            mcux: self.mcux,
            mcuy: self.mcuy,
            components: self.components.iter().map(|c| (c.h, c.v, c.bw)).collect(),
        }
    }
}

impl Geometry {
    /// Blocks per row and rows of a component coded on its own (no MCU padding).
    fn own_blocks(&self, c: usize) -> (usize, usize) {
        let (h, v, _) = self.components.get(c).copied().unwrap_or((1, 1, 0));
        (
            (self.width * h).div_ceil(self.hmax).div_ceil(8),
            (self.height * v).div_ceil(self.vmax).div_ceil(8),
        )
    }

    /// Number of MCUs in a scan.
    fn mcus(&self, scan: &Scan) -> usize {
        match scan.components[..] {
            [(c, _, _)] => {
                let (cols, rows) = self.own_blocks(c);
                cols * rows
            }
            _ => self.mcux * self.mcuy,
        }
    }

    /// Calls `f(scan component, block index, MCU index)` for every block of `scan` in coding
    /// order, stopping at the first error.
    fn each_block(&self, scan: &Scan, mut f: impl FnMut(usize, usize, usize) -> Result<()>) -> Result<()> {
        if let [(c, _, _)] = scan.components[..] {
            let (cols, rows) = self.own_blocks(c);
            let bw = self.components.get(c).map_or(0, |g| g.2);
            for by in 0..rows {
                for bx in 0..cols {
                    f(0, by * bw + bx, by * cols + bx)?;
                }
            }
            return Ok(());
        }
        for my in 0..self.mcuy {
            for mx in 0..self.mcux {
                let mcu = my * self.mcux + mx;
                for (sc, &(c, _, _)) in scan.components.iter().enumerate() {
                    let (h, v, bw) = self.components.get(c).copied().unwrap_or((0, 0, 0));
                    for y in 0..v {
                        for x in 0..h {
                            f(sc, (my * v + y) * bw + mx * h + x, mcu)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// With nothing redrawn, the coder reproduces every byte cjpeg wrote: each scan's symbols,
    /// end-of-band runs, correction bits and restart markers are the file's own.
    #[test]
    fn unchanged_coefficients_give_the_files_own_bytes() {
        for name in [
            "stamp/q75-420.jpg",
            "stamp/q85-optimized.jpg",
            "stamp/q80-restart.jpg",
            "stamp/grey.jpg",
            "stamp/progressive.jpg",
            "stamp/progressive-restart.jpg",
            "stamp/cmyk.jpg",
            "jpeg/restart.jpg",
            "jpeg/progressive.jpg",
        ] {
            let input = fixture(name);
            let out = transcode(&input, 1 << 30, |_, _, _| Ok(no_draw())).unwrap().unwrap();
            assert_eq!(out.tables_rebuilt, 0, "{name}");
            assert!(
                out.bytes == input,
                "{name}: {} -> {} bytes",
                input.len(),
                out.bytes.len()
            );
        }
    }

    fn no_draw() -> region::Drawn {
        region::Drawn {
            stamped: Stamped {
                rect: crate::stamp::Rect::default(),
                font_px: 0.0,
                ink_height: 0,
            },
            blocks: 0,
        }
    }

    /// A coefficient no table of the file codes: that table is replaced by an optimal one, the
    /// others kept, and the new file decodes to the edited coefficients.
    #[test]
    fn a_symbol_missing_from_the_tables_rebuilds_them() {
        // (Files with the standard tables, as cjpeg writes by default, code every symbol.)
        for name in [
            "stamp/q85-optimized.jpg",
            "stamp/progressive.jpg",
            "stamp/progressive-restart.jpg",
        ] {
            let input = fixture(name);
            let edited = transcode(&input, 1 << 30, |frame, _, _| {
                let block = &mut frame.components[1].blocks[3];
                block[5] = 900; // category 10 at run 4: in no table cjpeg optimised for this picture
                block[63] = -3;
                Ok(no_draw())
            })
            .unwrap()
            .unwrap();
            assert!(edited.tables_rebuilt > 0, "{name}");
            let again = transcode(&edited.bytes, 1 << 30, |frame, _, _| {
                let block = &frame.components[1].blocks[3];
                assert_eq!((block[5], block[63]), (900, -3), "{name}");
                Ok(no_draw())
            })
            .unwrap()
            .unwrap();
            let diff = again.bytes.iter().zip(&edited.bytes).position(|(a, b)| a != b);
            assert!(
                again.bytes == edited.bytes,
                "{name}: {} vs {} bytes, first difference at {diff:?}, {} tables rebuilt again",
                again.bytes.len(),
                edited.bytes.len(),
                again.tables_rebuilt
            );
            // Another decoder agrees (zune-jpeg, behind `image`, refuses progressive files with
            // restart markers, cjpeg's own included; djpeg reads them, see tests/stamp_jpeg.rs).
            if image::load_from_memory(&input).is_ok() {
                assert!(image::load_from_memory(&edited.bytes).is_ok(), "{name}");
            }
        }
    }

    /// `input` with `segment` inserted before its second scan header.
    fn before_second_scan(input: &[u8], segment: &[u8]) -> Vec<u8> {
        let sos: Vec<usize> = input
            .windows(2)
            .enumerate()
            .filter(|(_, w)| w == &[0xFF, 0xDA])
            .map(|(i, _)| i)
            .collect();
        let at = sos[1];
        [&input[..at], segment, &input[at..]].concat()
    }

    /// A reserved marker (here between two scans, as in
    /// `fuzz/corpus/stamp/jpeg-reserved-marker-hiding-a-dqt`) is refused: decoders disagree on
    /// what follows it (see [`reserved`]). The file without it stamps.
    #[test]
    fn a_reserved_marker_is_refused() {
        let input = fixture("stamp/progressive.jpg");
        assert!(transcode(&input, 1 << 30, |_, _, _| Ok(no_draw())).unwrap().is_some());
        for marker in [0x44, 0x02, 0xBF, 0xC8, 0xF0, 0xFD] {
            let crafted = before_second_scan(&input, &[0xFF, marker, 0, 6, 0xFF, 0xDB, 0, 0x43]);
            match transcode(&crafted, 1 << 30, |_, _, _| Ok(no_draw())) {
                Err(Error::Malformed { what, .. }) => assert!(what.contains("reserved marker"), "{what}"),
                Err(e) => panic!("0xFF{marker:02X}: {e}"),
                Ok(_) => panic!("0xFF{marker:02X} was stamped"),
            }
            assert!(fallback::check(&crafted).is_err(), "0xFF{marker:02X}");
        }
    }

    /// An APPn segment zune-jpeg does not know, after the first scan, makes the DCT path
    /// decline (the file is decoded and encoded anew); one it knows (APP1, COM) does not.
    #[test]
    fn an_app_segment_zune_does_not_know_after_the_first_scan_declines() {
        let input = fixture("stamp/progressive.jpg");
        for marker in [0xE3, 0xEC, 0xEF] {
            let crafted = before_second_scan(&input, &[0xFF, marker, 0, 6, 0xFF, 0xDB, 0, 0x43]);
            let out = transcode(&crafted, 1 << 30, |_, _, _| Ok(no_draw())).unwrap();
            assert!(out.is_none(), "0xFF{marker:02X}");
            // Before the first scan the decoder skips it by its length: stamped in place.
            let sof = input.windows(2).position(|w| w == [0xFF, 0xC2]).unwrap();
            let early = [&input[..sof], &[0xFF, marker, 0, 4, 1, 2], &input[sof..]].concat();
            assert!(transcode(&early, 1 << 30, |_, _, _| Ok(no_draw())).unwrap().is_some());
        }
        for marker in [0xDE, 0xDF] {
            let crafted = before_second_scan(&input, &[0xFF, marker, 0, 4, 1, 2]);
            assert!(transcode(&crafted, 1 << 30, |_, _, _| Ok(no_draw())).unwrap().is_none());
        }
        for marker in [0xE1, 0xFE] {
            let crafted = before_second_scan(&input, &[0xFF, marker, 0, 4, 1, 2]);
            let out = transcode(&crafted, 1 << 30, |_, _, _| Ok(no_draw())).unwrap().unwrap();
            assert_eq!(out.bytes, crafted, "0xFF{marker:02X}");
        }
    }

    #[test]
    fn truncated_and_corrupt_files_are_errors() {
        let input = fixture("stamp/progressive.jpg");
        let stamper = Stamper::new(crate::stamp::Style::default()).unwrap();
        for cut in [3, 200, 700, input.len() / 2, input.len() - 3] {
            let _ = stamp(&input[..cut], &stamper, 1 << 30);
        }
        let mut flipped = input.clone();
        for i in (800..flipped.len()).step_by(97) {
            flipped[i] ^= 0x5A;
        }
        let _ = stamp(&flipped, &stamper, 1 << 30);
        // A frame larger than the memory limit is refused before allocating.
        assert!(matches!(stamp(&input, &stamper, 1000), Err(Error::Limit { .. })));
    }
}
