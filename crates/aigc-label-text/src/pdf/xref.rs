//! Reading a PDF's structure from the end (ISO 32000-1 §7.5): `startxref`, the chain of
//! cross-reference sections through `/Prev` (classic tables, xref streams, hybrid files with
//! `/XRefStm`), and objects found through them, including objects inside object streams.
//!
//! Only what the label needs is read: the newest trailer and the few objects it points at. Each
//! read goes through a window that grows only while an object is incomplete, up to
//! [`Limits::max_metadata_bytes`]; decoded streams count against
//! [`Limits::max_inflated_bytes`]; the section chain is cycle-checked and bounded by
//! [`Limits::max_structures`].

use std::collections::HashSet;
use std::ops::Range;

use aigc_label_core::io::Source;
use aigc_label_core::{Error, Limits, Result};

use super::lex::{Dict, LexError, LexResult, Lexer, Obj, is_white};
use crate::util::{count_structure, inflate};

pub(crate) const FORMAT: &str = "pdf";

/// How far from the end `startxref` is looked for.
const TAIL_SEARCH: u64 = 4096;

/// The first window read at an offset; doubled while an object is incomplete.
const FIRST_WINDOW: u64 = 4096;

/// How many object streams [`Doc::object_streams_end`] looks into, and how much of each one's
/// decoded header (the `number offset` pairs) it parses.
const MAX_OBJECT_STREAMS: usize = 4096;
const OBJECT_STREAM_HEADER: u64 = 64 << 10;

/// One classic cross-reference subsection: entries are at `pos + (n - first) * stride`.
#[derive(Debug, Clone)]
struct Subsection {
    first: u32,
    count: u32,
    pos: u64,
    stride: u64,
}

/// One cross-reference section of the chain.
#[derive(Debug)]
enum Section {
    Table {
        subsections: Vec<Subsection>,
    },
    Stream {
        data: Vec<u8>,
        widths: [usize; 3],
        index: Vec<(u32, u32)>,
        /// The xref stream's own object number.
        own: u32,
    },
}

impl Section {
    /// One more than the highest object number the section lists, points into (the object
    /// streams of compressed entries) or is (an xref stream).
    fn numbers_end(&self) -> u32 {
        match self {
            Section::Table { subsections } => subsections
                .iter()
                .filter(|s| s.count > 0)
                .map(|s| s.first.saturating_add(s.count))
                .max()
                .unwrap_or(0),
            Section::Stream {
                data,
                widths,
                index,
                own,
            } => {
                let listed = index
                    .iter()
                    .filter(|(_, count)| *count > 0)
                    .map(|(first, count)| first.saturating_add(*count))
                    .max()
                    .unwrap_or(0);
                let containers = stream_rows(data, *widths)
                    .filter_map(|loc| match loc {
                        Some(Location::InStream(stm, _)) => Some(stm.saturating_add(1)),
                        _ => None,
                    })
                    .max()
                    .unwrap_or(0);
                listed.max(containers).max(own.saturating_add(1))
            }
        }
    }
}

/// Where an object lives, per the newest section that lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Location {
    Free,
    Offset(u64, u16),
    InStream(u32, u32),
}

/// A parsed object with the buffer it was parsed from.
#[derive(Debug)]
pub(crate) struct Parsed {
    /// The object number its header gives (for an object from an object stream, the number
    /// asked for).
    pub num: u32,
    pub obj: Obj,
    /// The bytes the object's value ranges refer to (a window of the file, or a decoded
    /// object stream).
    pub buf: Vec<u8>,
    /// Byte range, in the file, of the indirect object (or of its object stream).
    pub file_range: Range<u64>,
}

/// The style of the newest cross-reference section, which an update must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XrefStyle {
    Table,
    Stream,
}

/// A trailer entry taken from an older trailer: key, value, the buffer it was parsed from and
/// the value's range in it.
struct Inherited {
    key: Vec<u8>,
    value: Obj,
    buf: Vec<u8>,
    range: Range<usize>,
}

/// An opened document: the section chain, newest first, and the newest trailer.
pub(crate) struct Doc<'s, 'a> {
    src: &'s mut Source<'a>,
    limits: &'s Limits,
    sections: Vec<Section>,
    /// The newest trailer dictionary (or xref stream dictionary) and the buffer it was parsed
    /// from.
    pub trailer: Dict,
    pub trailer_buf: Vec<u8>,
    /// Offset given by the last `startxref`: the `/Prev` of an update.
    pub startxref: u64,
    pub style: XrefStyle,
    /// One more than the highest object number any section of the chain lists (or points into,
    /// or is), or any trailer's `/Size` claims: the lower bound for a new object's number.
    pub listed_end: u32,
    /// Trailer keys (`Root`, `Info`, `ID`, `Encrypt`, `Size`) missing from the newest trailer but
    /// found in an older one, with the buffer they came from.
    inherited: Vec<Inherited>,
    decoded_budget: u64,
    structures: u64,
}

fn lex_error(e: LexError, offset: u64, what: &'static str) -> Error {
    match e {
        LexError::Eof => Error::truncated(FORMAT, offset, what),
        LexError::Bad(why) => Error::malformed(FORMAT, offset, format!("{what}: {why}")),
    }
}

impl<'s, 'a> Doc<'s, 'a> {
    /// Finds `startxref` and reads the whole section chain.
    ///
    /// # Errors
    /// No `startxref`, a broken section, a cycle, limits exceeded, I/O errors.
    pub fn open(src: &'s mut Source<'a>, limits: &'s Limits) -> Result<Self> {
        let startxref = find_startxref(src, limits)?;
        let mut doc = Doc {
            src,
            limits,
            sections: Vec::new(),
            trailer: Dict::default(),
            trailer_buf: Vec::new(),
            startxref,
            style: XrefStyle::Table,
            listed_end: 0,
            inherited: Vec::new(),
            decoded_budget: limits.max_inflated_bytes,
            structures: 0,
        };
        doc.read_chain()?;
        Ok(doc)
    }

    fn read_chain(&mut self) -> Result<()> {
        let mut seen = HashSet::new();
        let mut next = Some(self.startxref);
        let mut first = true;
        while let Some(offset) = next.take() {
            count_structure(&mut self.structures, self.limits, FORMAT, offset)?;
            if !seen.insert(offset) {
                return Err(Error::malformed(
                    FORMAT,
                    offset,
                    "cross-reference chain loops back on itself",
                ));
            }
            let (section, trailer, buf, style) = self.read_section(offset)?;
            self.note_listed(&section, &trailer);
            self.sections.push(section);
            if let Some(stm) = trailer.int(b"XRefStm").filter(|_| style == XrefStyle::Table) {
                let stm = u64::try_from(stm).map_err(|_| Error::malformed(FORMAT, offset, "negative /XRefStm"))?;
                if seen.insert(stm) {
                    let (section, dict, _, _) = self.read_section(stm)?;
                    self.note_listed(&section, &dict);
                    self.sections.push(section);
                }
            }
            next = match trailer.get(b"Prev") {
                Some(Obj::Int(p)) => {
                    Some(u64::try_from(*p).map_err(|_| Error::malformed(FORMAT, offset, "negative /Prev"))?)
                }
                _ => None,
            };
            if first {
                first = false;
                self.style = style;
                self.trailer = trailer;
                self.trailer_buf = buf;
            } else {
                for key in [&b"Root"[..], b"Info", b"ID", b"Encrypt", b"Size"] {
                    let missing = self.trailer.get_some(key).is_none() && !self.inherited.iter().any(|i| i.key == key);
                    if let Some((_, v, r)) = trailer.entries.iter().find(|(k, ..)| k == key).filter(|_| missing) {
                        self.inherited.push(Inherited {
                            key: key.to_vec(),
                            value: v.clone(),
                            buf: buf.clone(),
                            range: r.clone(),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// One more than the highest object number the headers of the chain's object streams list
    /// (§7.5.7: `N` pairs of object number and offset open the decoded stream). The xref
    /// streams list those objects too, unless they lie; this reads only the first bytes of each
    /// stream, and a stream it cannot read (another filter, damage) is passed over: this only
    /// raises the number an update starts from.
    pub fn object_streams_end(&mut self) -> u32 {
        let mut streams = std::collections::BTreeSet::new();
        for section in &self.sections {
            if let Section::Stream { data, widths, .. } = section {
                for loc in stream_rows(data, *widths) {
                    if let Some(Location::InStream(stm, _)) = loc {
                        streams.insert(stm);
                    }
                }
            }
        }
        streams
            .into_iter()
            .take(MAX_OBJECT_STREAMS)
            .filter_map(|stm| self.object_stream_header(stm))
            .flat_map(|header| {
                let text = String::from_utf8_lossy(&header).into_owned();
                let numbers: Vec<u32> = text
                    .split_ascii_whitespace()
                    .step_by(2)
                    .map_while(|n| n.parse().ok())
                    .collect();
                numbers
            })
            .map(|n| n.saturating_add(1))
            .max()
            .unwrap_or(0)
    }

    /// The decoded first bytes of object stream `stm`, up to its `/First` (at most
    /// [`OBJECT_STREAM_HEADER`]); `None` when it cannot be read.
    fn object_stream_header(&mut self, stm: u32) -> Option<Vec<u8>> {
        use std::io::Read;
        let Ok(Some(Location::Offset(offset, _))) = self.locate(stm) else {
            return None;
        };
        let parsed = self.indirect(offset, Some(stm)).ok()?;
        let dict = parsed.obj.as_dict()?;
        let first = u64::try_from(dict.int(b"First")?).ok()?.min(OBJECT_STREAM_HEADER);
        if dict.get_some(b"DecodeParms").is_some() {
            return None;
        }
        let flate = match dict.get_some(b"Filter") {
            None => false,
            Some(Obj::Name(n)) if n == b"FlateDecode" || n == b"Fl" => true,
            Some(Obj::Array(a))
                if a.len() == 1 && matches!(a.first().and_then(Obj::as_name), Some(b"FlateDecode" | b"Fl")) =>
            {
                true
            }
            Some(_) => return None,
        };
        // Deflate never grows data by more than a few bytes per block: `first` plus a margin of
        // compressed bytes holds the whole header.
        let raw = self.window(parsed.file_range.end, first + 256).ok()?;
        if !flate {
            return raw
                .get(..usize::try_from(first).ok()?.min(raw.len()))
                .map(<[u8]>::to_vec);
        }
        let mut header = Vec::new();
        // A prefix of the compressed data decodes to a prefix of the header, then fails: what
        // decoded until then is kept.
        let _ = flate2::read::ZlibDecoder::new(raw.as_slice())
            .take(first)
            .read_to_end(&mut header);
        Some(header)
    }

    /// Raises [`Doc::listed_end`] to cover what `section` and its trailer (or xref stream
    /// dictionary) name.
    fn note_listed(&mut self, section: &Section, trailer: &Dict) {
        let size = trailer.int(b"Size").and_then(|s| u32::try_from(s).ok()).unwrap_or(0);
        self.listed_end = self.listed_end.max(section.numbers_end()).max(size);
    }

    /// A trailer value from the newest trailer, or inherited from an older one.
    pub fn trailer_value(&self, key: &[u8]) -> Option<(&Obj, &[u8], Range<usize>)> {
        if let Some((_, v, r)) = self
            .trailer
            .entries
            .iter()
            .find(|(k, v, _)| k == key && *v != Obj::Null)
        {
            return Some((v, &self.trailer_buf, r.clone()));
        }
        self.inherited
            .iter()
            .find(|i| i.key == key)
            .map(|i| (&i.value, i.buf.as_slice(), i.range.clone()))
    }

    fn read_section(&mut self, offset: u64) -> Result<(Section, Dict, Vec<u8>, XrefStyle)> {
        let win = self.window(offset, 16)?;
        let mut lx = Lexer::new(&win, 0, self.limits.max_depth);
        lx.skip_ws();
        if win.get(lx.pos..lx.pos + 4) == Some(b"xref") {
            let (section, trailer, buf) = self.read_table(offset + lx.pos as u64 + 4)?;
            Ok((section, trailer, buf, XrefStyle::Table))
        } else {
            let (section, dict, buf) = self.read_xref_stream(offset)?;
            Ok((section, dict, buf, XrefStyle::Stream))
        }
    }

    /// Reads up to `len` bytes at `offset` (fewer at the end of the file).
    fn window(&mut self, offset: u64, len: u64) -> Result<Vec<u8>> {
        if offset > self.src.len() {
            return Err(Error::malformed(
                FORMAT,
                offset,
                "offset points past the end of the file",
            ));
        }
        self.src.seek_to(offset)?;
        let len = len.min(self.src.remaining());
        self.src.read_vec(len, "object", self.limits)
    }

    /// Runs `f` over a window at `offset`, growing the window while `f` runs out of bytes.
    fn parse_at<T>(
        &mut self,
        offset: u64,
        what: &'static str,
        f: &mut dyn FnMut(&mut Lexer<'_>) -> LexResult<T>,
    ) -> Result<(T, Vec<u8>, usize)> {
        let mut len = FIRST_WINDOW;
        loop {
            let buf = self.window(offset, len)?;
            let mut lx = Lexer::new(&buf, 0, self.limits.max_depth);
            match f(&mut lx) {
                Ok(v) => {
                    let end = lx.pos;
                    return Ok((v, buf, end));
                }
                Err(LexError::Eof) if (buf.len() as u64) == len && len < self.limits.max_metadata_bytes => {
                    len = len.saturating_mul(4).min(self.limits.max_metadata_bytes);
                }
                Err(e) => return Err(lex_error(e, offset + lx.pos as u64, what)),
            }
        }
    }

    fn read_table(&mut self, mut pos: u64) -> Result<(Section, Dict, Vec<u8>)> {
        let mut subsections = Vec::new();
        loop {
            count_structure(&mut self.structures, self.limits, FORMAT, pos)?;
            let win = self.window(pos, 256)?;
            let mut lx = Lexer::new(&win, 0, self.limits.max_depth);
            lx.skip_ws();
            if win.get(lx.pos..lx.pos + 7) == Some(b"trailer") {
                let at = pos + lx.pos as u64 + 7;
                let (trailer, buf, _) = self.parse_at(at, "trailer", &mut |lx| match lx.object()? {
                    Obj::Dict(d) => Ok(d),
                    _ => Err(LexError::Bad("trailer is not a dictionary")),
                })?;
                return Ok((Section::Table { subsections }, trailer, buf));
            }
            let first = lx
                .uint()
                .map_err(|e| lex_error(e, pos + lx.pos as u64, "xref subsection"))?;
            let count = lx
                .uint()
                .map_err(|e| lex_error(e, pos + lx.pos as u64, "xref subsection"))?;
            let (first, count) = match (u32::try_from(first), u32::try_from(count)) {
                (Ok(f), Ok(c)) => (f, c),
                _ => return Err(Error::malformed(FORMAT, pos, "xref subsection out of range")),
            };
            while win.get(lx.pos).is_some_and(|&b| b == b' ' || b == b'\t') {
                lx.pos += 1;
            }
            while win.get(lx.pos).is_some_and(|&b| b == b'\r' || b == b'\n') {
                lx.pos += 1;
            }
            let entries = pos + lx.pos as u64;
            let stride = entry_stride(win.get(lx.pos..).unwrap_or_default());
            let len = u64::from(count) * stride;
            if entries + len > self.src.len() {
                return Err(Error::truncated(FORMAT, entries, "xref table entries"));
            }
            subsections.push(Subsection {
                first,
                count,
                pos: entries,
                stride,
            });
            pos = entries + len;
        }
    }

    fn read_xref_stream(&mut self, offset: u64) -> Result<(Section, Dict, Vec<u8>)> {
        let (parsed, data) = self.stream_object(offset, None, 0)?;
        let Obj::Dict(dict) = parsed.obj else {
            return Err(Error::malformed(FORMAT, offset, "xref stream has no dictionary"));
        };
        if dict.get(b"Type").and_then(Obj::as_name) != Some(b"XRef") {
            return Err(Error::malformed(
                FORMAT,
                offset,
                "startxref points at neither 'xref' nor an xref stream",
            ));
        }
        let mut widths = [0usize; 3];
        match dict.get(b"W") {
            Some(Obj::Array(w)) if w.len() == 3 => {
                for (slot, v) in widths.iter_mut().zip(w) {
                    *slot = v
                        .as_int()
                        .and_then(|i| usize::try_from(i).ok())
                        .filter(|&i| i <= 8)
                        .ok_or_else(|| Error::malformed(FORMAT, offset, "bad /W in xref stream"))?;
                }
            }
            _ => return Err(Error::malformed(FORMAT, offset, "xref stream without /W")),
        }
        let size = dict.int(b"Size").unwrap_or(0);
        let mut index = Vec::new();
        match dict.get(b"Index") {
            Some(Obj::Array(items)) => {
                for pair in items.chunks(2) {
                    count_structure(&mut self.structures, self.limits, FORMAT, offset)?;
                    let f = pair.first().and_then(Obj::as_int).and_then(|v| u32::try_from(v).ok());
                    let c = pair.get(1).and_then(Obj::as_int).and_then(|v| u32::try_from(v).ok());
                    match (f, c) {
                        (Some(f), Some(c)) => index.push((f, c)),
                        _ => return Err(Error::malformed(FORMAT, offset, "bad /Index in xref stream")),
                    }
                }
            }
            _ => index.push((0, u32::try_from(size).unwrap_or(0))),
        }
        Ok((
            Section::Stream {
                data,
                widths,
                index,
                own: parsed.num,
            },
            dict,
            parsed.buf,
        ))
    }

    /// Reads the stream object at `offset` (checking its number when `expect` is given) and
    /// returns it with its decoded data.
    fn stream_object(&mut self, offset: u64, expect: Option<u32>, depth: usize) -> Result<(Parsed, Vec<u8>)> {
        let parsed = self.indirect(offset, expect)?;
        let Obj::Dict(dict) = &parsed.obj else {
            return Err(Error::malformed(FORMAT, offset, "expected a stream"));
        };
        let (data_start, declared) = (parsed.file_range.end, dict.get(b"Length").cloned());
        let len = match declared {
            Some(Obj::Int(n)) => u64::try_from(n).ok(),
            Some(Obj::Ref(n, _)) if depth < 2 => self
                .resolve(n, depth + 1)?
                .and_then(|p| p.obj.as_int())
                .and_then(|n| u64::try_from(n).ok()),
            _ => None,
        };
        let len = match len.filter(|&l| self.endstream_follows(data_start, l)) {
            Some(l) => l,
            None => self.scan_for_endstream(data_start)?,
        };
        self.src.seek_to(data_start)?;
        let raw = self.src.read_vec(len, "stream data", self.limits)?;
        let data = self.decode(dict, raw, data_start)?;
        let file_range = parsed.file_range.start..data_start + len;
        Ok((Parsed { file_range, ..parsed }, data))
    }

    fn endstream_follows(&mut self, data_start: u64, len: u64) -> bool {
        let Some(at) = data_start.checked_add(len) else {
            return false;
        };
        match self.window(at, 32) {
            Ok(w) => {
                let skip = w.iter().take_while(|&&b| is_white(b)).count();
                w.get(skip..skip + 9) == Some(b"endstream")
            }
            Err(_) => false,
        }
    }

    /// The stream length, when `/Length` is missing or wrong: up to the `endstream` keyword.
    fn scan_for_endstream(&mut self, data_start: u64) -> Result<u64> {
        let len = self
            .limits
            .max_metadata_bytes
            .min(self.src.len().saturating_sub(data_start));
        let win = self.window(data_start, len)?;
        let at = win
            .windows(9)
            .position(|w| w == b"endstream")
            .ok_or_else(|| Error::truncated(FORMAT, data_start, "stream without 'endstream'"))?;
        let mut end = at;
        if end > 0 && win.get(end - 1) == Some(&b'\n') {
            end -= 1;
        }
        if end > 0 && win.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        Ok(end as u64)
    }

    /// Applies the stream's filters: none or `FlateDecode`, with PNG predictors (§7.4.4).
    fn decode(&mut self, dict: &Dict, raw: Vec<u8>, offset: u64) -> Result<Vec<u8>> {
        let filters: Vec<&[u8]> = match dict.get_some(b"Filter") {
            None => Vec::new(),
            Some(Obj::Name(n)) => vec![n.as_slice()],
            Some(Obj::Array(a)) => a.iter().filter_map(Obj::as_name).collect(),
            Some(_) => return Err(Error::malformed(FORMAT, offset, "bad /Filter")),
        };
        let data = match filters.as_slice() {
            [] => raw,
            [b"FlateDecode" | b"Fl"] => {
                let mut limits = self.limits.clone();
                limits.max_inflated_bytes = self.decoded_budget;
                inflate(&raw, true, &limits, FORMAT, offset)?
            }
            _ => return Err(Error::unsupported("pdf", "stream filter other than FlateDecode")),
        };
        self.decoded_budget = self.decoded_budget.saturating_sub(data.len() as u64);
        let parms = match dict.get_some(b"DecodeParms") {
            Some(Obj::Dict(d)) => Some(d),
            Some(Obj::Array(a)) => a.first().and_then(Obj::as_dict),
            _ => None,
        };
        let predictor = parms.and_then(|p| p.int(b"Predictor")).unwrap_or(1);
        match predictor {
            1 => Ok(data),
            10..=15 => {
                let p = parms.cloned().unwrap_or_default();
                let columns = p.int(b"Columns").unwrap_or(1);
                let colors = p.int(b"Colors").unwrap_or(1);
                let bpc = p.int(b"BitsPerComponent").unwrap_or(8);
                let row = columns
                    .checked_mul(colors)
                    .and_then(|v| v.checked_mul(bpc))
                    .and_then(|bits| usize::try_from((bits + 7) / 8).ok())
                    .filter(|&r| r > 0 && r <= 1 << 20)
                    .ok_or_else(|| Error::malformed(FORMAT, offset, "bad predictor parameters"))?;
                let bpp = usize::try_from(colors.saturating_mul(bpc).saturating_add(7) / 8)
                    .unwrap_or(1)
                    .max(1);
                png_unpredict(&data, row, bpp).ok_or_else(|| Error::malformed(FORMAT, offset, "bad PNG predictor data"))
            }
            _ => Err(Error::unsupported("pdf", "TIFF predictor")),
        }
    }

    /// Parses the indirect object at `offset`; for a stream, `file_range.end` is where its data
    /// starts.
    fn indirect(&mut self, offset: u64, expect: Option<u32>) -> Result<Parsed> {
        let ((num, obj, is_stream), buf, end) = self.parse_at(offset, "indirect object", &mut |lx| {
            let (num, _) = lx.object_header()?;
            let obj = lx.object()?;
            let save = lx.pos;
            let is_stream = match lx.keyword(b"stream") {
                Ok(true) => {
                    // The keyword is followed by CRLF or LF (a lone CR is tolerated).
                    if lx.peek_byte() == Some(b'\r') {
                        lx.pos += 1;
                    }
                    if lx.peek_byte() == Some(b'\n') {
                        lx.pos += 1;
                    }
                    true
                }
                // The window may end right where `stream` would be: read more.
                Err(LexError::Eof) => return Err(LexError::Eof),
                _ => {
                    lx.pos = save;
                    false
                }
            };
            Ok((num, obj, is_stream))
        })?;
        if let Some(want) = expect.filter(|&w| w != num) {
            return Err(Error::malformed(
                FORMAT,
                offset,
                format!("xref says object {want} is here, found object {num}"),
            ));
        }
        if expect.is_some() && is_stream && !matches!(obj, Obj::Dict(_)) {
            return Err(Error::malformed(FORMAT, offset, "stream without a dictionary"));
        }
        Ok(Parsed {
            num,
            obj,
            buf,
            file_range: offset..offset + end as u64,
        })
    }

    /// Where object `num` lives, per the newest section listing it.
    pub fn locate(&mut self, num: u32) -> Result<Option<Location>> {
        for i in 0..self.sections.len() {
            let found = match self.sections.get(i) {
                Some(Section::Table { subsections }) => subsections
                    .iter()
                    .find(|s| num >= s.first && num - s.first < s.count)
                    .map(|s| s.pos + u64::from(num - s.first) * s.stride),
                Some(Section::Stream {
                    data, widths, index, ..
                }) => {
                    if let Some(loc) = stream_entry(data, *widths, index, num) {
                        return Ok(Some(loc));
                    }
                    None
                }
                None => None,
            };
            if let Some(pos) = found {
                let entry = self.window(pos, 20)?;
                return parse_table_entry(&entry)
                    .map(Some)
                    .ok_or_else(|| Error::malformed(FORMAT, pos, "bad xref table entry"));
            }
        }
        Ok(None)
    }

    /// Resolves object `num`; `None` when it is free or not listed.
    pub fn resolve(&mut self, num: u32, depth: usize) -> Result<Option<Parsed>> {
        count_structure(&mut self.structures, self.limits, FORMAT, 0)?;
        match self.locate(num)? {
            None | Some(Location::Free) => Ok(None),
            Some(Location::Offset(offset, _)) => self.indirect(offset, Some(num)).map(Some),
            Some(Location::InStream(stm, index)) => {
                if depth > 2 {
                    return Err(Error::malformed(FORMAT, 0, "object streams nested"));
                }
                let Some(Location::Offset(offset, _)) = self.locate(stm)? else {
                    return Err(Error::malformed(
                        FORMAT,
                        0,
                        format!("object stream {stm} is not in the file"),
                    ));
                };
                let (parsed, data) = self.stream_object(offset, Some(stm), depth + 1)?;
                let obj = object_from_stream(&parsed.obj, &data, num, index, self.limits)
                    .map_err(|e| lex_error(e, offset, "object stream"))?;
                Ok(Some(Parsed {
                    num,
                    obj,
                    buf: data,
                    file_range: parsed.file_range,
                }))
            }
        }
    }
}

/// The bytes per classic xref entry: 20 by the standard, 19 from writers that end entries with a
/// bare line feed.
fn entry_stride(entries: &[u8]) -> u64 {
    let eol = |i: usize| entries.get(i).is_some_and(|&b| matches!(b, b' ' | b'\r' | b'\n'));
    if eol(18) && eol(19) { 20 } else { 19 }
}

fn parse_table_entry(entry: &[u8]) -> Option<Location> {
    let text = std::str::from_utf8(entry.get(..18)?).ok()?;
    let mut parts = text.split_ascii_whitespace();
    let offset: u64 = parts.next()?.parse().ok()?;
    let gen_: u32 = parts.next()?.parse().ok()?;
    match parts.next()? {
        "n" => Some(Location::Offset(offset, u16::try_from(gen_).unwrap_or(u16::MAX))),
        "f" => Some(Location::Free),
        _ => None,
    }
}

fn stream_entry(data: &[u8], widths: [usize; 3], index: &[(u32, u32)], num: u32) -> Option<Location> {
    let row_len = widths.iter().sum::<usize>();
    let mut row = 0usize;
    for &(first, count) in index {
        if num >= first && num - first < count {
            row = row.checked_add(usize::try_from(num - first).ok()?)?;
            let start = row.checked_mul(row_len)?;
            return stream_row(data.get(start..start.checked_add(row_len)?)?, widths);
        }
        row = row.checked_add(usize::try_from(count).ok()?)?;
    }
    None
}

/// Every row of a decoded xref stream, in order (`None` for a row that is not a valid entry).
fn stream_rows(data: &[u8], widths: [usize; 3]) -> impl Iterator<Item = Option<Location>> + '_ {
    let row_len = widths.iter().sum::<usize>().max(1);
    data.chunks_exact(row_len).map(move |row| stream_row(row, widths))
}

/// One xref stream row of `widths` (§7.5.8.3): the entry type, then two fields.
fn stream_row(bytes: &[u8], widths: [usize; 3]) -> Option<Location> {
    let [wa, wb, _] = widths;
    let a = bytes.get(..wa)?;
    let b = bytes.get(wa..wa.checked_add(wb)?)?;
    let c = bytes.get(wa + wb..)?;
    let field = |f: &[u8]| f.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
    let kind = if wa == 0 { 1 } else { field(a) };
    match kind {
        0 => Some(Location::Free),
        1 => Some(Location::Offset(field(b), u16::try_from(field(c)).unwrap_or(u16::MAX))),
        2 => Some(Location::InStream(
            u32::try_from(field(b)).ok()?,
            u32::try_from(field(c)).ok()?,
        )),
        _ => None,
    }
}

/// Object `num` (the `index`-th) from a decoded object stream (§7.5.7).
fn object_from_stream(dict: &Obj, data: &[u8], num: u32, index: u32, limits: &Limits) -> LexResult<Obj> {
    let dict = dict.as_dict().ok_or(LexError::Bad("object stream has no dictionary"))?;
    let n = dict
        .int(b"N")
        .and_then(|n| u64::try_from(n).ok())
        .ok_or(LexError::Bad("no /N"))?;
    let first = dict
        .int(b"First")
        .and_then(|n| usize::try_from(n).ok())
        .ok_or(LexError::Bad("no /First"))?;
    if n > limits.max_structures {
        return Err(LexError::Bad("too many objects in object stream"));
    }
    let mut lx = Lexer::new(data, 0, limits.max_depth);
    let mut offset = None;
    for i in 0..n {
        let number = lx.uint()?;
        let off = lx.uint()?;
        if number == u64::from(num) && (i == u64::from(index) || offset.is_none()) {
            offset = Some(off);
        }
    }
    let off = offset.ok_or(LexError::Bad("object not in its object stream"))?;
    let at = usize::try_from(off)
        .ok()
        .and_then(|o| o.checked_add(first))
        .ok_or(LexError::Bad("bad offset"))?;
    if at > data.len() {
        return Err(LexError::Bad("offset past the object stream"));
    }
    let mut lx = Lexer::new(data, at, limits.max_depth);
    // The last object of a stream may end exactly at the end of the data. The padding ends
    // any token, and a delimiter no object continues with ends a reference's look-ahead (`42`
    // is then an integer, not the start of `42 0 R`).
    match lx.object() {
        Err(LexError::Eof) => {
            let mut padded = data.to_vec();
            padded.extend_from_slice(b" ]");
            let mut lx = Lexer::new(&padded, at, limits.max_depth);
            lx.object()
                .map_err(|_| LexError::Bad("truncated object in object stream"))
        }
        other => other,
    }
}

/// Undoes PNG row predictors (§7.4.4.4): each row starts with its filter type.
fn png_unpredict(data: &[u8], row: usize, bpp: usize) -> Option<Vec<u8>> {
    let stride = row.checked_add(1)?;
    let mut out = Vec::new();
    out.try_reserve(data.len() / stride * row).ok()?;
    let mut prev = vec![0u8; row];
    for line in data.chunks(stride) {
        let (&kind, src) = line.split_first()?;
        let mut cur = vec![0u8; row];
        for (i, &x) in src.iter().enumerate().take(row) {
            let a = if i >= bpp {
                cur.get(i - bpp).copied().unwrap_or(0)
            } else {
                0
            };
            let b = prev.get(i).copied().unwrap_or(0);
            let c = if i >= bpp {
                prev.get(i - bpp).copied().unwrap_or(0)
            } else {
                0
            };
            let v = match kind {
                0 => x,
                1 => x.wrapping_add(a),
                2 => x.wrapping_add(b),
                3 => x.wrapping_add(((u16::from(a) + u16::from(b)) / 2) as u8),
                4 => x.wrapping_add(paeth(a, b, c)),
                _ => return None,
            };
            if let Some(slot) = cur.get_mut(i) {
                *slot = v;
            }
        }
        out.extend_from_slice(&cur);
        prev = cur;
    }
    Some(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// The offset after the last `startxref` keyword near the end of the file.
fn find_startxref(src: &mut Source<'_>, limits: &Limits) -> Result<u64> {
    let len = src.len();
    let start = len.saturating_sub(TAIL_SEARCH);
    src.seek_to(start)?;
    let tail = src.read_vec(len - start, "file tail", limits)?;
    let at = tail
        .windows(9)
        .rposition(|w| w == b"startxref")
        .ok_or_else(|| Error::malformed(FORMAT, start, "no 'startxref' near the end of the file"))?;
    let mut lx = Lexer::new(&tail, at + 9, limits.max_depth);
    let mut padded;
    let value = match lx.uint() {
        Ok(v) => v,
        Err(LexError::Eof) => {
            padded = tail.clone();
            padded.push(b'\n');
            lx = Lexer::new(&padded, at + 9, limits.max_depth);
            lx.uint().map_err(|e| lex_error(e, start + at as u64, "startxref"))?
        }
        Err(e) => return Err(lex_error(e, start + at as u64, "startxref")),
    };
    if value >= len {
        return Err(Error::malformed(
            FORMAT,
            start + at as u64,
            "startxref points past the end of the file",
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predictor_up() {
        // Two rows of 3 bytes with the Up filter.
        let data = [2, 1, 2, 3, 2, 1, 1, 1];
        assert_eq!(png_unpredict(&data, 3, 1).unwrap(), vec![1, 2, 3, 2, 3, 4]);
        assert!(png_unpredict(&[9, 0, 0, 0], 3, 1).is_none());
    }

    #[test]
    fn stream_entries() {
        let data = [1, 0, 0x10, 0, 2, 0, 5, 3, 0, 0, 0, 0];
        let idx = [(4, 2), (10, 1)];
        assert_eq!(stream_entry(&data, [1, 2, 1], &idx, 4), Some(Location::Offset(0x10, 0)));
        assert_eq!(stream_entry(&data, [1, 2, 1], &idx, 5), Some(Location::InStream(5, 3)));
        assert_eq!(stream_entry(&data, [1, 2, 1], &idx, 10), Some(Location::Free));
        assert_eq!(stream_entry(&data, [1, 2, 1], &idx, 6), None);
        assert_eq!(stream_entry(&data[..5], [1, 2, 1], &idx, 5), None);
    }

    #[test]
    fn sections_name_their_highest_numbers() {
        // Rows for objects 4 and 5: 5 sits in object stream 40, which no /Index range lists.
        let data = vec![1, 0, 0x10, 0, 2, 0, 40, 3];
        let stream = Section::Stream {
            data,
            widths: [1, 2, 1],
            index: vec![(4, 2)],
            own: 7,
        };
        assert_eq!(stream.numbers_end(), 41);
        let table = Section::Table {
            subsections: vec![
                Subsection {
                    first: 0,
                    count: 48,
                    pos: 0,
                    stride: 20,
                },
                Subsection {
                    first: 90,
                    count: 0,
                    pos: 0,
                    stride: 20,
                },
            ],
        };
        assert_eq!(table.numbers_end(), 48, "an empty subsection lists nothing");
        assert_eq!(
            stream_rows(&[1, 2, 3], [0, 0, 0]).count(),
            3,
            "zero widths do not divide by zero"
        );
    }

    #[test]
    fn compressed_object_stream_headers_are_read() {
        let data = std::fs::read(aigc_label_testutil::fixture("text/objstm.pdf")).unwrap();
        let mut cursor = std::io::Cursor::new(data);
        let mut src = Source::new(&mut cursor, FORMAT).unwrap();
        let limits = Limits::default();
        let mut doc = Doc::open(&mut src, &limits).unwrap();
        let end = doc.object_streams_end();
        // qpdf lists every member in the xref stream: the headers agree with it.
        assert!(end > 1 && end <= doc.listed_end, "{end} vs {}", doc.listed_end);
    }

    #[test]
    fn table_entries() {
        assert_eq!(
            parse_table_entry(b"0000000017 00000 n\r\n"),
            Some(Location::Offset(17, 0))
        );
        assert_eq!(parse_table_entry(b"0000000000 65535 f\r\n"), Some(Location::Free));
        assert_eq!(parse_table_entry(b"garbage garbage ga"), None);
        assert_eq!(entry_stride(b"0000000017 00000 n\n0000"), 19);
        assert_eq!(entry_stride(b"0000000017 00000 n \n000"), 20);
    }
}
