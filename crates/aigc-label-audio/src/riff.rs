//! A streaming RIFF / RF64 / IFF chunk walker (Microsoft RIFF; EBU Tech 3306 RF64; ITU-R BS.2088
//! BW64; EA IFF 85 `FORM`, which AIFF and AIFC use), and the plan a writer follows to copy every
//! chunk it does not own.
//!
//! RIFF is IFF with little-endian sizes: both are a 12-byte header (magic, body size, form type)
//! and chunks of a four-character code, a 32-bit body size and the body, padded to an even
//! length. One walker serves both; [`Flavour`] says which byte order the sizes use.
//!
//! `hound` reads only the `fmt ` and `data` chunks and skips everything else without telling its
//! caller, so it cannot find, keep or place an `AIGC` chunk; this walker reads chunk headers
//! itself, seeks past chunk bodies, and leaves decoding to whoever wants samples.
//!
//! Every declared size is checked against the RIFF body's end (itself clamped to the stream's
//! length) before anything is read or skipped. RF64 and BW64 files declare `0xFFFFFFFF` in the
//! 32-bit size fields and give the real 64-bit sizes in the `ds64` chunk, which must come first.

use std::io::Write;
use std::ops::Range;

use aigc_label_core::container::Drains;
use aigc_label_core::container::riff::{Chunks, Order};
use aigc_label_core::io::{Bytes, CountingWriter, Source};
use aigc_label_core::plan::{Piece as EditPiece, Plan as EditPlan, PlanBuilder, Slot};
use aigc_label_core::{Error, Found, Limits, Result};

use crate::common::Budget;

pub(crate) use aigc_label_core::container::riff::{Chunk, Ds64, SIZE_IN_DS64};

/// Which flavour of RIFF file this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavour {
    /// Plain RIFF with 32-bit sizes.
    Riff,
    /// RF64 or BW64: 64-bit sizes in the `ds64` chunk.
    Rf64,
    /// IFF `FORM` (AIFF, AIFC): big-endian 32-bit sizes.
    Iff,
}

impl Flavour {
    /// The byte order of this flavour's size fields.
    pub fn order(self) -> Order {
        match self {
            Flavour::Iff => Order::Big,
            Flavour::Riff | Flavour::Rf64 => Order::Little,
        }
    }

    /// A 32-bit size field in this flavour's byte order.
    pub fn size_bytes(self, size: u32) -> [u8; 4] {
        self.order().size_bytes(size)
    }

    fn read_size(self, b: [u8; 4]) -> u32 {
        self.order().read_size(b)
    }
}

/// The 12-byte RIFF header and what it implies.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    /// The format name errors carry (`wav`, `aiff`).
    pub format: &'static str,
    /// The first four bytes: `RIFF`, `RF64`, `BW64` or `FORM`.
    pub magic: [u8; 4],
    /// The 32-bit size field as written.
    pub size_field: u32,
    /// The form type (`WAVE`, `AIFF`, `AIFC`).
    pub form: [u8; 4],
    /// Plain RIFF or RF64.
    pub flavour: Flavour,
    /// The 64-bit sizes, for RF64.
    pub ds64: Option<Ds64>,
    /// Offset where the RIFF body ends: the declared end, clamped to the stream's length.
    pub end: u64,
}

/// Reads the RIFF or IFF header (and, for RF64 / BW64, the `ds64` chunk) at the start of `src`.
///
/// # Errors
/// [`Error::Malformed`] when the magic is not RIFF / RF64 / BW64 / FORM or `ds64` is missing or
/// short;
/// truncation; I/O errors.
pub(crate) fn read_header(src: &mut Source, limits: &Limits) -> Result<Header> {
    src.seek_to(0)?;
    let head: [u8; 12] = src.read_array("RIFF header")?;
    let magic = [head[0], head[1], head[2], head[3]];
    let form = [head[8], head[9], head[10], head[11]];
    let flavour = match &magic {
        b"RIFF" => Flavour::Riff,
        b"RF64" | b"BW64" => Flavour::Rf64,
        b"FORM" => Flavour::Iff,
        _ => return Err(Error::malformed(src.format(), 0, "not a RIFF, RF64, BW64 or FORM file")),
    };
    let size_field = flavour.read_size([head[4], head[5], head[6], head[7]]);
    let ds64 = match flavour {
        Flavour::Riff | Flavour::Iff => None,
        Flavour::Rf64 => Some(Ds64::read(src, limits)?),
    };
    let declared = match (&ds64, size_field) {
        (Some(ds), SIZE_IN_DS64) => ds.riff_size,
        _ => u64::from(size_field),
    };
    if declared < 4 {
        return Err(Error::malformed(
            src.format(),
            4,
            "RIFF / FORM size smaller than its form type",
        ));
    }
    if ds64.as_ref().is_some_and(|ds| declared.saturating_add(8) < ds.end) {
        return Err(Error::malformed(
            src.format(),
            4,
            "RIFF size ends inside the ds64 chunk",
        ));
    }
    let end = declared.saturating_add(8).min(src.len());
    src.seek_to(12)?;
    Ok(Header {
        format: src.format(),
        magic,
        size_field,
        form,
        flavour,
        ds64,
        end,
    })
}

/// Walks the chunks of a RIFF body (or of a `LIST` body held in memory, see [`sub_chunks`]),
/// over the container layer's chunk walk: a chunk whose body runs past the RIFF end is an error.
pub(crate) struct Walker {
    chunks: Chunks,
    budget: Budget,
}

impl Walker {
    /// A walker over the top-level chunks after the 12-byte header.
    pub fn new(header: &Header, limits: &Limits) -> Self {
        Walker {
            chunks: Chunks::new(header.flavour.order(), 12, header.end),
            budget: Budget::new(header.format, limits),
        }
    }

    /// Offset where the next chunk would start.
    pub fn pos(&self) -> u64 {
        self.chunks.pos()
    }

    /// The next chunk, with `src` left at its body; `None` when fewer than 8 bytes of the RIFF
    /// body remain (a few stray bytes at the end are tolerated; see [`Walker::pos`]).
    ///
    /// # Errors
    /// [`Error::Truncated`] when a chunk runs past the RIFF end; [`Error::Malformed`] for an RF64
    /// size that `ds64` does not give; limits; I/O errors.
    pub fn next(&mut self, src: &mut Source, header: &Header, _limits: &Limits) -> Result<Option<Chunk>> {
        let chunk = self.chunks.next(src, self.budget.inner(), header.ds64.as_ref())?;
        match chunk {
            Some(c) if !c.fits => Err(Error::truncated(
                header.format,
                c.start,
                "chunk runs past the end of the RIFF body",
            )),
            other => Ok(other),
        }
    }
}

/// One sub-chunk of a `LIST` body held in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SubChunk<'a> {
    /// The four-character code.
    pub id: [u8; 4],
    /// The body.
    pub body: &'a [u8],
    /// The bytes the sub-chunk occupies: header, body and pad byte if present.
    pub stored: &'a [u8],
}

/// Splits a `LIST` body (after its 4-byte list type) into sub-chunks.
///
/// # Errors
/// [`Error::Malformed`] when a sub-chunk runs past the list; limits.
pub(crate) fn sub_chunks<'a>(list: &'a [u8], list_offset: u64, limits: &Limits) -> Result<Vec<SubChunk<'a>>> {
    let mut out = Vec::new();
    let mut b = Bytes::new(list);
    let mut budget = Budget::new("wav", limits);
    while b.remaining() >= 8 {
        let at = list_offset + b.pos() as u64;
        budget.tick(at, limits)?;
        let start = b.pos();
        let bad = || Error::malformed("wav", at, "LIST sub-chunk runs past the end of its list");
        let id = b.take(4).ok_or_else(bad)?;
        let size = b.u32_le().ok_or_else(bad)?;
        let body = b.take(usize::try_from(size).map_err(|_| bad())?).ok_or_else(bad)?;
        if size % 2 == 1 && b.remaining() > 0 {
            b.take(1).ok_or_else(bad)?;
        }
        let stored = list.get(start..b.pos()).ok_or_else(bad)?;
        out.push(SubChunk {
            id: [id[0], id[1], id[2], id[3]],
            body,
            stored,
        });
    }
    Ok(out)
}

/// Appends a RIFF chunk (header, body, pad byte when odd) to `out`.
pub(crate) fn push_chunk(out: &mut Vec<u8>, id: &[u8; 4], body: &[u8]) -> Result<()> {
    push_chunk_in(Flavour::Riff, out, id, body)
}

/// Appends a chunk with its size in `flavour`'s byte order (header, body, pad byte when odd).
pub(crate) fn push_chunk_in(flavour: Flavour, out: &mut Vec<u8>, id: &[u8; 4], body: &[u8]) -> Result<()> {
    aigc_label_core::container::riff::push_chunk(flavour.order(), out, id, body)
}

/// A run of output bytes: a range of the input copied as is, a range of a second stream (the
/// re-encoded samples when stamping), bytes built here, or the RF64 `ds64` chunk whose RIFF size
/// is patched when written.
pub(crate) enum Piece {
    /// `len` bytes of the input from `offset`.
    Copy { offset: u64, len: u64 },
    /// `len` bytes from `offset` of the other stream [`Plan::emit`] is given.
    Other { offset: u64, len: u64 },
    /// Bytes a writer built (a rebuilt chunk, or nothing for a dropped one).
    Bytes(Vec<u8>),
    /// The whole `ds64` chunk of an RF64 / BW64 file.
    Ds64(Vec<u8>),
}

impl Piece {
    /// The stored bytes of `chunk`, copied as they are.
    pub fn copy(chunk: &Chunk) -> Piece {
        Piece::Copy {
            offset: chunk.start,
            len: chunk.stored_len(),
        }
    }

    fn len(&self) -> u64 {
        match self {
            Piece::Copy { len, .. } | Piece::Other { len, .. } => *len,
            Piece::Bytes(b) | Piece::Ds64(b) => b.len() as u64,
        }
    }
}

/// Where the label's structure sits in a planned output ([`Planner::finish`]).
pub(crate) enum LabelAt {
    /// This range of the appended chunk.
    Appended(Range<u64>),
    /// This range of the output, in a chunk the pieces hold.
    Output(Range<u64>),
}

/// What a writer puts in the output body, chunk by chunk, before a chunk it appends; see
/// [`Plan::emit`].
#[derive(Default)]
pub(crate) struct Plan {
    pieces: Vec<Piece>,
    /// The last chunk is odd-sized and its pad byte is missing: add one before an appended chunk.
    missing_pad: bool,
    /// Bytes (fewer than 8) left in the body after the last whole chunk; kept after the appended
    /// chunk.
    stray: u64,
}

impl Plan {
    /// Adds `chunk`, copied as it is.
    pub fn copy(&mut self, chunk: &Chunk) {
        self.keep(chunk, Piece::copy(chunk));
    }

    /// Adds `piece` in place of `chunk`, stored as the input stores it: a missing pad byte
    /// stays missing (and is added before an appended chunk).
    pub fn keep(&mut self, chunk: &Chunk, piece: Piece) {
        self.push(piece);
        self.missing_pad = chunk.missing_pad();
    }

    /// Adds `piece`, merged into the previous one when both copy adjacent input ranges, so that
    /// a file of many small chunks is copied in large blocks and the plan stays small.
    fn push(&mut self, piece: Piece) {
        if let (
            Some(Piece::Copy { offset, len }),
            Piece::Copy {
                offset: next,
                len: more,
            },
        ) = (self.pieces.last_mut(), &piece)
        {
            if offset.checked_add(*len) == Some(*next) {
                *len += *more;
                return;
            }
        }
        if piece.len() > 0 {
            self.pieces.push(piece);
        }
    }

    /// Adds pieces a writer built in place of a chunk, each whole chunk with its pad byte; no
    /// pieces (or empty ones) drop the chunk.
    pub fn rebuilt(&mut self, pieces: impl IntoIterator<Item = Piece>) {
        for piece in pieces {
            self.push(piece);
        }
        self.missing_pad = false;
    }

    /// Bytes the output body holds so far after its 12-byte header.
    pub fn len(&self) -> u64 {
        self.pieces.iter().map(Piece::len).sum()
    }

    /// Offset in the output where a chunk [`Plan::emit`] appends starts: after the header, the
    /// pieces, and the pad byte the last chunk misses.
    pub fn appended_at(&self) -> u64 {
        12 + self.len() + u64::from(self.missing_pad)
    }

    /// Records where the walk stopped: bytes left after the last whole chunk are kept.
    pub fn finish(&mut self, header: &Header, walked_to: u64) {
        self.stray = header.end.saturating_sub(walked_to);
    }

    /// Writes the output: the header with the new body size, every piece (a [`Piece::Other`]
    /// from `other`), `appended` (a whole chunk, or nothing; a pad byte the last chunk misses is
    /// added before it), the stray bytes and everything after the body. Returns the range
    /// `appended` occupies in the output.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when a plain RIFF or IFF body would pass 4 GiB;
    /// [`Error::Parameter`] for a [`Piece::Other`] without `other`; I/O errors.
    pub fn emit(
        &self,
        src: &mut Source,
        mut other: Option<&mut Source>,
        out: &mut CountingWriter,
        header: &Header,
        appended: &[u8],
    ) -> Result<Range<u64>> {
        let (body_size, missing_pad) = self.body_size(appended);
        out.write_all(&header_bytes(header, body_size)?)?;
        for piece in &self.pieces {
            match piece {
                Piece::Copy { offset, len } => {
                    src.seek_to(*offset)?;
                    src.copy_to(out, *len, "chunk")?;
                }
                Piece::Other { offset, len } => {
                    let other = other
                        .as_deref_mut()
                        .ok_or_else(|| Error::parameter("pieces", "a piece of a second stream without one"))?;
                    other.seek_to(*offset)?;
                    other.copy_to(out, *len, "chunk")?;
                }
                Piece::Bytes(bytes) => out.write_all(bytes)?,
                Piece::Ds64(raw) => out.write_all(&patch_ds64(raw, body_size))?,
            }
        }
        if missing_pad {
            out.write_all(&[0])?;
        }
        let start = out.count();
        out.write_all(appended)?;
        let range = start..out.count();
        src.seek_to(header.end - self.stray)?;
        src.copy_rest(out, "bytes after the chunks")?;
        Ok(range)
    }

    /// The body size of the output with `appended`, and whether a pad byte the last chunk
    /// misses goes before it.
    fn body_size(&self, appended: &[u8]) -> (u64, bool) {
        let missing_pad = self.missing_pad && !appended.is_empty();
        let size = 4 + self.len() + u64::from(missing_pad) + appended.len() as u64 + self.stray;
        (size, missing_pad)
    }
}

/// A [`Plan`] mirrored, as the walk goes, into an edit plan ([`aigc_label_core::plan`]), so
/// that a streaming builder writes each chunk while it is still in the input's buffer. The
/// header (and an RF64 `ds64` chunk) hold the body size, known only at the end: they are
/// guessed, assuming the body grows by the appended chunk alone, which holds for a file
/// labelled for the first time.
pub(crate) struct Planner<'a> {
    plan: Plan,
    out: PlanBuilder<'a>,
    head: Slot,
    ds64: Option<(Slot, Vec<u8>)>,
    guess: u64,
    drains: Drains,
}

impl<'a> Planner<'a> {
    /// Starts the output in `out` with the header of `header`'s file, its body size guessed
    /// as grown by `growth` bytes.
    pub fn new(mut out: PlanBuilder<'a>, header: &Header, growth: u64) -> Self {
        let guess = header.end.saturating_sub(8).saturating_add(growth);
        let head = match header_bytes(header, guess) {
            Ok(bytes) => out.guess(EditPiece::New(bytes.to_vec())),
            Err(_) => out.reserve(),
        };
        Planner {
            plan: Plan::default(),
            out,
            head,
            ds64: None,
            guess,
            drains: Drains::default(),
        }
    }

    /// Bytes the output body holds so far after its 12-byte header ([`Plan::len`]).
    pub fn len(&self) -> u64 {
        self.plan.len()
    }

    /// Writes what is final (see [`PlanBuilder::drain`]) once a block of output has been
    /// planned ([`Drains`](aigc_label_core::container::Drains)): draining once per 12-byte chunk
    /// cost a worst-case WAV embed a fifth more instructions than the two-pass copy did.
    ///
    /// # Errors
    /// As [`PlanBuilder::drain`].
    pub fn drain(&mut self, src: &mut Source, found: &[Found]) -> Result<()> {
        self.drains.drain(&mut self.out, src, found)
    }

    /// Adds `chunk`, copied as it is ([`Plan::copy`]).
    pub fn copy(&mut self, chunk: &Chunk) {
        self.plan.copy(chunk);
        self.out.copy(chunk.start..chunk.start + chunk.stored_len());
    }

    /// Adds the RF64 `ds64` chunk `raw` in place of `chunk`; its RIFF size is guessed.
    pub fn ds64(&mut self, chunk: &Chunk, raw: Vec<u8>) {
        let slot = self.out.guess(EditPiece::New(patch_ds64(&raw, self.guess)));
        self.ds64 = Some((slot, raw.clone()));
        self.plan.keep(chunk, Piece::Ds64(raw));
    }

    /// Adds pieces built in place of a chunk ([`Plan::rebuilt`]).
    ///
    /// # Errors
    /// [`Error::Parameter`] for a piece of a second stream or a `ds64` chunk.
    pub fn rebuilt(&mut self, pieces: Vec<Piece>) -> Result<()> {
        for piece in &pieces {
            match piece {
                Piece::Copy { offset, len } => self.out.copy(*offset..offset.saturating_add(*len)),
                Piece::Bytes(bytes) => self.out.put(bytes),
                Piece::Other { .. } | Piece::Ds64(_) => {
                    return Err(Error::parameter("pieces", "a piece an edit plan cannot hold"));
                }
            }
        }
        self.plan.rebuilt(pieces);
        Ok(())
    }

    /// Offset in the output where a chunk appended now would start ([`Plan::appended_at`]).
    pub fn appended_at(&self) -> u64 {
        self.plan.appended_at()
    }

    /// The finished plan over an input of `len` bytes whose walk stopped at `walked_to`: the
    /// header and `ds64` with the true body size, the pad byte the last chunk misses,
    /// `appended`, and the bytes after the chunks; with the label copies `found` and `label`,
    /// where the label's structure sits.
    ///
    /// # Errors
    /// As [`Plan::emit`].
    pub fn finish(
        mut self,
        header: &Header,
        walked_to: u64,
        len: u64,
        appended: &[u8],
        found: Vec<Found>,
        label: LabelAt,
    ) -> Result<EditPlan> {
        self.plan.finish(header, walked_to);
        let (body_size, missing_pad) = self.plan.body_size(appended);
        let _ = self.out.fill(self.head, header_bytes(header, body_size)?.to_vec());
        if let Some((slot, raw)) = self.ds64 {
            let _ = self.out.fill(slot, patch_ds64(&raw, body_size));
        }
        if missing_pad {
            self.out.put(&[0]);
        }
        let at = self.out.position();
        self.out.put(appended);
        self.out.copy(header.end - self.plan.stray..len);
        let range = match label {
            LabelAt::Appended(r) => at + r.start..at + r.end,
            LabelAt::Output(r) => r,
        };
        Ok(self.out.finish(found, range))
    }
}

/// The 12-byte header for a body of `body_size` bytes. RF64 / BW64 keep their "see ds64"
/// size; the real size goes into `ds64` (see [`patch_ds64`]).
fn header_bytes(header: &Header, body_size: u64) -> Result<[u8; 12]> {
    let too_big = || Error::capacity(header.format, "the written file would pass 4 GiB");
    let field = match header.flavour {
        Flavour::Rf64 if header.size_field == SIZE_IN_DS64 => SIZE_IN_DS64,
        Flavour::Rf64 => u32::try_from(body_size).unwrap_or(SIZE_IN_DS64),
        Flavour::Riff | Flavour::Iff => u32::try_from(body_size).map_err(|_| too_big())?,
    };
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&header.magic);
    bytes[4..8].copy_from_slice(&header.flavour.size_bytes(field));
    bytes[8..].copy_from_slice(&header.form);
    Ok(bytes)
}

/// The `ds64` chunk `raw` (header included) with its RIFF size set to `body_size`; every other
/// byte, the sample count and the table included, is kept.
fn patch_ds64(raw: &[u8], body_size: u64) -> Vec<u8> {
    let mut out = raw.to_vec();
    if let Some(field) = out.get_mut(8..16) {
        field.copy_from_slice(&body_size.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn riff(chunks: &[u8], size: Option<u32>) -> Vec<u8> {
        let mut v = b"RIFF".to_vec();
        v.extend_from_slice(&size.unwrap_or(4 + chunks.len() as u32).to_le_bytes());
        v.extend_from_slice(b"WAVE");
        v.extend_from_slice(chunks);
        v
    }

    fn walk(data: &[u8]) -> Result<Vec<Chunk>> {
        let limits = Limits::default();
        let mut c = Cursor::new(data);
        let mut src = Source::new(&mut c, "wav")?;
        let header = read_header(&mut src, &limits)?;
        let mut w = Walker::new(&header, &limits);
        let mut out = Vec::new();
        while let Some(ch) = w.next(&mut src, &header, &limits)? {
            out.push(ch);
        }
        Ok(out)
    }

    #[test]
    fn walks_odd_chunks_with_and_without_pad() {
        let mut body = Vec::new();
        push_chunk(&mut body, b"abcd", b"x").unwrap();
        push_chunk(&mut body, b"efgh", b"yz").unwrap();
        let chunks = walk(&riff(&body, None)).unwrap();
        assert_eq!(chunks.len(), 2);
        assert!(chunks[0].pad && chunks[0].size == 1);
        // The last odd chunk without its pad byte is tolerated.
        let mut body = Vec::new();
        push_chunk(&mut body, b"abcd", b"xyz").unwrap();
        body.pop();
        let chunks = walk(&riff(&body, None)).unwrap();
        assert!(chunks[0].missing_pad());
    }

    #[test]
    fn lying_sizes_are_errors() {
        let mut body = b"data".to_vec();
        body.extend_from_slice(&1000u32.to_le_bytes());
        body.extend_from_slice(&[0; 10]);
        assert!(matches!(walk(&riff(&body, None)), Err(Error::Truncated { .. })));
        assert!(walk(b"RIFX\0\0\0\0WAVE").is_err());
        assert!(walk(b"RIFF").is_err());
        // RF64 without ds64, and with a size the ds64 does not give.
        assert!(walk(b"RF64\xff\xff\xff\xffWAVEdata\xff\xff\xff\xff").is_err());
    }

    #[test]
    fn rf64_riff_size_must_cover_ds64() {
        // Found by the wav fuzz target: a ds64 RIFF size of 10 ended the body inside ds64, so
        // the rewritten file lost its ds64 chunk.
        let mut v = b"RF64\xff\xff\xff\xffWAVEds64".to_vec();
        v.extend_from_slice(&28u32.to_le_bytes());
        v.extend_from_slice(&10u64.to_le_bytes());
        v.extend_from_slice(&[0; 20]);
        assert!(matches!(walk(&v), Err(Error::Malformed { .. })));
    }

    #[test]
    fn rf64_sizes_come_from_ds64() {
        let mut v = b"RF64\xff\xff\xff\xffWAVEds64".to_vec();
        v.extend_from_slice(&28u32.to_le_bytes());
        let riff_size = 4 + 36 + 8 + 4;
        v.extend_from_slice(&(riff_size as u64).to_le_bytes());
        v.extend_from_slice(&4u64.to_le_bytes());
        v.extend_from_slice(&1u64.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(b"data\xff\xff\xff\xff\x01\x02\x03\x04");
        let chunks = walk(&v).unwrap();
        assert_eq!(chunks.len(), 2);
        assert_eq!((&chunks[1].id, chunks[1].size), (b"data", 4));
    }

    #[test]
    fn sub_chunks_check_their_sizes() {
        let mut list = Vec::new();
        push_chunk(&mut list, b"INAM", b"abc\0").unwrap();
        push_chunk(&mut list, b"AIGC", b"{}\0").unwrap();
        let subs = sub_chunks(&list, 0, &Limits::default()).unwrap();
        assert_eq!(subs.len(), 2);
        assert_eq!(subs[1].body, b"{}\0");
        assert_eq!(subs[1].stored.len(), 12);
        list.truncate(list.len() - 3);
        assert!(sub_chunks(&list, 0, &Limits::default()).is_err());
    }
}
