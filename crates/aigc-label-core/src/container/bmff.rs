//! ISO-BMFF boxes (ISO/IEC 14496-12 4.2): the header of every box, and the walk over a run of
//! boxes in a stream ([`StreamBoxes`]) or in a buffer ([`SliceBoxes`]).
//!
//! A box header is a 32-bit size and a four-character type; a size of 1 means a 64-bit
//! `largesize` follows, and a size of 0 means "to the end of the enclosing box or file". The
//! walkers decode that once for MP4, HEIF/AVIF and the trace scanner. What to do with a box whose
//! size runs past its parent differs by format (a reader of uploads cuts it at the end of the
//! file, a writer refuses it), so the header carries [`BoxHeader::claimed_end`] and the format
//! decides; the walker itself never moves past its parent's end.

use std::ops::Range;

use super::Budget;
use crate::io::Source;
use crate::{Error, Result};

/// A box header, with offsets in the stream or buffer walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoxHeader {
    /// Four-character type.
    pub kind: [u8; 4],
    /// Offset of the first header byte.
    pub start: u64,
    /// 8, or 16 with a 64-bit `largesize`.
    pub header_len: u64,
    /// Offset just past the box, at most the end of its parent.
    pub end: u64,
    /// Where the size field says the box ends, when that is past the end of its parent (a lying
    /// size or a cut file); `end` is then the parent's end. Saturates at `u64::MAX`.
    pub claimed_end: Option<u64>,
    /// The size field was 0: the box runs to the end of its parent.
    pub open_ended: bool,
}

impl BoxHeader {
    /// Decodes the header of a box at `start`, from `head` (the bytes from `start` on: 16, or
    /// all that remain of the parent), in a parent that ends at `parent_end`.
    ///
    /// # Errors
    /// [`Error::Truncated`] when `head` is shorter than the header; [`Error::Malformed`] when
    /// the size is smaller than the header.
    #[inline]
    pub fn decode(format: &'static str, head: &[u8], start: u64, parent_end: u64) -> Result<BoxHeader> {
        Self::decode_shifted(format, head, start, parent_end, 0)
    }

    /// As [`BoxHeader::decode`], with errors placed `shift` bytes further on (a buffer's offset
    /// in the file).
    #[inline]
    fn decode_shifted(format: &'static str, head: &[u8], start: u64, parent_end: u64, shift: u64) -> Result<BoxHeader> {
        let at = start.saturating_add(shift);
        let (Some(size), Some(kind)) = (head.get(..4), head.get(4..8)) else {
            return Err(Error::truncated(format, at, "box header"));
        };
        let mut code = [0u8; 4];
        code.copy_from_slice(kind);
        let declared = be_u64(size);
        let (header_len, size) = match declared {
            0 => (8, parent_end.saturating_sub(start)),
            1 => {
                let large = head
                    .get(8..16)
                    .ok_or_else(|| Error::truncated(format, at, "64-bit box size"))?;
                (16, be_u64(large))
            }
            n => (8, n),
        };
        if size < header_len {
            return Err(Error::malformed(format, at, "box size smaller than its header"));
        }
        let claimed = start.saturating_add(size);
        let (end, claimed_end) = if claimed <= parent_end {
            (claimed, None)
        } else {
            (parent_end.max(start), Some(claimed))
        };
        Ok(BoxHeader {
            kind: code,
            start,
            header_len,
            end,
            claimed_end,
            open_ended: declared == 0,
        })
    }

    /// True when the box's type is `kind`.
    #[inline]
    pub fn is(&self, kind: &[u8; 4]) -> bool {
        &self.kind == kind
    }

    /// Size of the box as bounded by its parent, header included.
    #[inline]
    pub fn size(&self) -> u64 {
        self.end - self.start
    }

    /// Offset of the first payload byte.
    #[inline]
    pub fn payload_start(&self) -> u64 {
        self.start + self.header_len
    }

    /// The box as a buffer range (for boxes walked in a buffer).
    #[inline]
    pub fn range_in(&self) -> Range<usize> {
        to_usize(self.start)..to_usize(self.end)
    }

    /// The box's payload as a buffer range (for boxes walked in a buffer).
    #[inline]
    pub fn payload_in(&self) -> Range<usize> {
        to_usize(self.payload_start())..to_usize(self.end)
    }
}

#[inline]
fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[inline]
fn be_u64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// The boxes of a buffer between two offsets, each charged to a [`Budget`]. Header offsets are
/// buffer offsets; `base` (the buffer's place in the file) only goes into error messages.
pub struct SliceBoxes<'a, 'b> {
    format: &'static str,
    buf: &'a [u8],
    pos: usize,
    end: usize,
    base: u64,
    budget: &'b mut Budget,
    failed: bool,
}

impl<'a, 'b> SliceBoxes<'a, 'b> {
    /// The boxes of `buf` within `range` (clipped to the buffer).
    #[inline]
    pub fn new(format: &'static str, buf: &'a [u8], range: Range<usize>, base: u64, budget: &'b mut Budget) -> Self {
        let end = range.end.min(buf.len());
        SliceBoxes {
            format,
            buf,
            pos: range.start.min(end),
            end,
            base,
            budget,
            failed: false,
        }
    }

    /// The children of `parent` (a box this walker returned) from `skip` bytes into its payload
    /// (a full box's version and flags, say), within this walker's own bounds.
    #[inline]
    pub fn children(&mut self, parent: &BoxHeader, skip: usize) -> SliceBoxes<'a, '_> {
        let payload = parent.payload_in();
        let end = payload.end.min(self.end);
        let start = payload.start.saturating_add(skip).min(end);
        SliceBoxes {
            format: self.format,
            buf: self.buf,
            pos: start,
            end,
            base: self.base,
            budget: self.budget,
            failed: false,
        }
    }

    /// The payload of `h` (a box this walker returned), within this walker's bounds.
    #[inline]
    pub fn payload(&self, h: &BoxHeader) -> &'a [u8] {
        let range = h.payload_in();
        self.buf.get(range.start..range.end.min(self.end)).unwrap_or_default()
    }

    /// The whole buffer walked (offsets in headers are offsets in it).
    #[inline]
    pub fn buf(&self) -> &'a [u8] {
        self.buf
    }

    /// The bytes not walked yet.
    #[inline]
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..self.end).unwrap_or_default()
    }

    /// Buffer offset of the next box.
    #[inline]
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The walker's end (buffer offset).
    #[inline]
    pub fn end(&self) -> usize {
        self.end
    }

    /// The budget the walk charges, for a format that counts more than boxes.
    #[inline]
    pub fn budget(&mut self) -> &mut Budget {
        self.budget
    }
}

impl Iterator for SliceBoxes<'_, '_> {
    type Item = Result<BoxHeader>;

    /// The next box: the budget is charged first, then its header decoded within this walker's
    /// end. After an error the walk ends.
    #[inline]
    fn next(&mut self) -> Option<Result<BoxHeader>> {
        if self.failed || self.pos >= self.end {
            return None;
        }
        let at = self.base.saturating_add(self.pos as u64);
        let found = self.budget.tick(self.format, at).and_then(|()| {
            let head = self.buf.get(self.pos..self.end.min(self.pos.saturating_add(16)));
            BoxHeader::decode_shifted(
                self.format,
                head.unwrap_or_default(),
                self.pos as u64,
                self.end as u64,
                self.base,
            )
        });
        match &found {
            Ok(h) => self.pos = to_usize(h.end),
            Err(_) => self.failed = true,
        }
        Some(found)
    }
}

/// Bytes [`StreamBoxes`] reads at a header: 16 hold a 64-bit size, and the rest usually hold
/// the next headers of a run of small boxes, which then cost no read and no seek.
const AHEAD: usize = 32;

/// The boxes of a stream between two offsets, each charged to a [`Budget`]. Only headers are
/// read: a format reads a payload through [`StreamBoxes::source`], and the walk seeks past it.
///
/// The walk keeps the bytes it read at the last header: a header found among them is decoded
/// from there, so a run of small boxes costs one read for several headers and no seek back.
/// The stream's bytes do not change under a walk, so the kept bytes hold however a format moves
/// the source in between.
pub struct StreamBoxes<'s, 'a> {
    src: &'s mut Source<'a>,
    budget: &'s mut Budget,
    pos: u64,
    end: u64,
    failed: bool,
    /// The bytes from stream offset `ahead_at` on, `ahead_len` of them, read at a header.
    ahead: [u8; AHEAD],
    ahead_at: u64,
    ahead_len: usize,
}

impl<'s, 'a> StreamBoxes<'s, 'a> {
    /// The boxes of `src` from offset `start` to `end` (clipped to the stream).
    #[inline]
    pub fn new(src: &'s mut Source<'a>, budget: &'s mut Budget, start: u64, end: u64) -> Self {
        let end = end.min(src.len());
        StreamBoxes {
            src,
            budget,
            pos: start.min(end),
            end,
            failed: false,
            ahead: [0; AHEAD],
            ahead_at: 0,
            ahead_len: 0,
        }
    }

    /// Every box of the stream.
    #[inline]
    pub fn whole(src: &'s mut Source<'a>, budget: &'s mut Budget) -> Self {
        let end = src.len();
        StreamBoxes::new(src, budget, 0, end)
    }

    /// The stream, to read the payload of the box just returned: seek to
    /// [`BoxHeader::payload_start`] first, as the walk reads ahead (and seeks to its place when
    /// it next reads).
    #[inline]
    pub fn source(&mut self) -> &mut Source<'a> {
        self.src
    }

    /// Offset of the next box (after an error, of the box that failed).
    #[inline]
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// Bytes left to walk.
    #[inline]
    pub fn remaining(&self) -> u64 {
        self.end - self.pos
    }

    #[inline]
    fn read_header(&mut self) -> Result<BoxHeader> {
        let format = self.src.format();
        self.budget.tick(format, self.pos)?;
        if !self.holds_header() {
            self.read_ahead()?;
        }
        let from = usize::try_from(self.pos.saturating_sub(self.ahead_at)).unwrap_or(AHEAD);
        let head = self.ahead.get(from..self.ahead_len).unwrap_or_default();
        BoxHeader::decode(format, head, self.pos, self.end)
    }

    /// Whether the kept bytes hold the header at `pos`: 16 bytes, or all that remain of the
    /// walk, or 8 whose size field does not ask for a 64-bit size.
    #[inline]
    fn holds_header(&self) -> bool {
        let Some(from) = self.pos.checked_sub(self.ahead_at) else {
            return false;
        };
        let kept = (self.ahead_len as u64).saturating_sub(from);
        kept >= 16
            || (kept > 0 && self.ahead_at + self.ahead_len as u64 >= self.end)
            || (kept >= 8 && self.ahead.get(to_usize(from)..to_usize(from) + 4) != Some(&[0, 0, 0, 1][..]))
    }

    /// Reads up to [`AHEAD`] bytes at `pos`, within the walk's end; the walk's first read takes
    /// one header (16 bytes), so a format that starts a walker for each box asks the stream for
    /// no more than that box's header.
    #[inline(never)]
    fn read_ahead(&mut self) -> Result<()> {
        let size = if self.ahead_len == 0 { 16 } else { AHEAD };
        self.ahead_len = 0;
        if self.src.pos() != self.pos {
            self.src.seek_to(self.pos)?;
        }
        let want = usize::try_from(self.end - self.pos).unwrap_or(size).min(size);
        self.ahead_len = self.src.read_up_to(self.ahead.get_mut(..want).unwrap_or_default())?;
        self.ahead_at = self.pos;
        Ok(())
    }
}

impl Iterator for StreamBoxes<'_, '_> {
    type Item = Result<BoxHeader>;

    /// The next box: the budget is charged first, then its header read within this walker's
    /// end. After an error the walk ends, at the box that failed.
    #[inline]
    fn next(&mut self) -> Option<Result<BoxHeader>> {
        if self.failed || self.pos >= self.end {
            return None;
        }
        let found = self.read_header();
        match &found {
            Ok(h) => self.pos = h.end,
            Err(_) => self.failed = true,
        }
        Some(found)
    }
}

/// A box header for a payload of `len` bytes: a 32-bit size when it fits, else a 64-bit one.
#[inline]
pub fn header(kind: &[u8; 4], len: usize) -> Vec<u8> {
    let total = len as u64 + 8;
    match u32::try_from(total) {
        Ok(size) => [&size.to_be_bytes()[..], kind].concat(),
        Err(_) => [&1u32.to_be_bytes()[..], kind, &(total + 8).to_be_bytes()].concat(),
    }
}

/// A full box (ISO/IEC 14496-12 4.2): header, version, flags and `body`.
#[inline]
pub fn full(kind: &[u8; 4], version: u8, flags: u32, body: &[u8]) -> Vec<u8> {
    let word = (u32::from(version) << 24) | (flags & 0x00FF_FFFF);
    let mut out = header(kind, body.len() + 4);
    out.extend_from_slice(&word.to_be_bytes());
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use std::io::Cursor;

    fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        [header(kind, payload.len()), payload.to_vec()].concat()
    }

    #[test]
    fn headers_decode_and_report_lies() {
        let h = BoxHeader::decode("t", b"\0\0\0\x10abcd", 0, 100).unwrap();
        assert_eq!((h.kind, h.header_len, h.end, h.claimed_end), (*b"abcd", 8, 16, None));
        let h = BoxHeader::decode("t", b"\0\0\0\x01abcd\0\0\0\0\0\0\0\x20", 4, 100).unwrap();
        assert_eq!((h.header_len, h.end), (16, 36));
        let h = BoxHeader::decode("t", b"\0\0\0\0abcd", 10, 100).unwrap();
        assert!(h.open_ended && h.end == 100 && h.claimed_end.is_none());
        assert!(matches!(
            BoxHeader::decode("t", b"\0\0\0\x04abcd", 0, 100),
            Err(Error::Malformed { .. })
        ));
        let h = BoxHeader::decode("t", b"\0\0\0\xffabcd", 0, 100).unwrap();
        assert_eq!((h.end, h.claimed_end), (100, Some(255)));
        let h = BoxHeader::decode("t", b"\0\0\0\x01abcd\xff\xff\xff\xff\xff\xff\xff\xff", 8, 100).unwrap();
        assert_eq!(h.claimed_end, Some(u64::MAX), "an overflowing size saturates");
        assert!(matches!(
            BoxHeader::decode("t", b"\0\0\0", 0, 100),
            Err(Error::Truncated { .. })
        ));
        assert!(matches!(
            BoxHeader::decode("t", b"\0\0\0\x01abcd\0\0", 0, 100),
            Err(Error::Truncated { .. })
        ));
    }

    #[test]
    fn a_child_walk_stays_inside_its_parent() {
        // The child claims 200 bytes; the parent holds 16, and a sibling follows the parent.
        let mut child = bx(b"kid1", &[0; 8]);
        child[3] = 200;
        let buf = [bx(b"moov", &child), bx(b"next", &[])].concat();
        let mut budget = Budget::new(&Limits::default());
        let mut top = SliceBoxes::new("t", &buf, 0..buf.len(), 0, &mut budget);
        let moov = top.next().unwrap().unwrap();
        let kids: Vec<_> = top.children(&moov, 0).collect::<Result<_>>().unwrap();
        assert_eq!(kids.len(), 1);
        assert_eq!((kids[0].end, kids[0].claimed_end), (moov.end, Some(208)));
        assert!(top.next().unwrap().unwrap().is(b"next"));
        assert!(top.next().is_none());
    }

    #[test]
    fn walks_end_at_the_first_error_and_charge_the_budget() {
        let buf = [bx(b"aaaa", &[]), vec![0, 0, 0]].concat();
        let mut budget = Budget::new(&Limits::default());
        let found: Vec<_> = SliceBoxes::new("t", &buf, 0..buf.len(), 100, &mut budget).collect();
        assert_eq!(found.len(), 2);
        assert!(matches!(found[1], Err(Error::Truncated { offset: 108, .. })));

        let limits = Limits {
            max_structures: 1,
            ..Limits::default()
        };
        let buf = [bx(b"aaaa", &[]), bx(b"bbbb", &[])].concat();
        let mut budget = Budget::new(&limits);
        let found: Vec<_> = SliceBoxes::new("t", &buf, 0..buf.len(), 0, &mut budget).collect();
        assert!(matches!(found.as_slice(), [Ok(_), Err(Error::Limit { .. })]));
    }

    #[test]
    fn stream_walk_reads_headers_and_large_sizes() {
        let mut large = vec![0, 0, 0, 1];
        large.extend_from_slice(b"mdat");
        large.extend_from_slice(&20u64.to_be_bytes());
        large.extend_from_slice(&[7; 4]);
        let file = [bx(b"ftyp", b"isom"), large, bx(b"free", &[0; 3])].concat();
        let mut cur = Cursor::new(file);
        let mut src = Source::new(&mut cur, "t").unwrap();
        let mut budget = Budget::new(&Limits::default());
        let mut walk = StreamBoxes::whole(&mut src, &mut budget);
        let ftyp = walk.next().unwrap().unwrap();
        walk.source().seek_to(ftyp.payload_start()).unwrap();
        assert_eq!(walk.source().read_array::<4>("brand").unwrap(), *b"isom");
        let mdat = walk.next().unwrap().unwrap();
        assert_eq!((mdat.start, mdat.header_len, mdat.end), (ftyp.end, 16, ftyp.end + 20));
        assert!(walk.next().unwrap().unwrap().is(b"free"));
        assert!(walk.next().is_none());
    }

    /// Counts the reads and seeks that reach the stream.
    struct Counted {
        inner: Cursor<Vec<u8>>,
        reads: usize,
        seeks: usize,
    }

    impl std::io::Read for Counted {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.reads += 1;
            self.inner.read(buf)
        }
    }

    impl std::io::Seek for Counted {
        fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
            self.seeks += 1;
            self.inner.seek(to)
        }
    }

    #[test]
    fn a_run_of_small_boxes_costs_a_read_per_few_headers_and_no_seek() {
        // 57 empty boxes, then a box with a 64-bit size of whose header the bytes read with the
        // empty boxes hold only half, then a box cut off by the end of the file.
        let mut large = vec![0, 0, 0, 1];
        large.extend_from_slice(b"big ");
        large.extend_from_slice(&20u64.to_be_bytes());
        large.extend_from_slice(&[7; 4]);
        let mut file: Vec<u8> = (0..57).flat_map(|_| bx(b"free", &[])).collect();
        file.extend_from_slice(&large);
        file.extend_from_slice(b"\0\0\0\x10cut\0");
        let mut counted = Counted {
            inner: Cursor::new(file.clone()),
            reads: 0,
            seeks: 0,
        };
        let mut budget = Budget::new(&Limits::default());
        let found: Vec<_> = {
            let mut src = Source::new(&mut counted, "t").unwrap();
            StreamBoxes::whole(&mut src, &mut budget).collect()
        };
        assert_eq!(found.len(), 59);
        assert!(
            found[..57]
                .iter()
                .all(|h| h.as_ref().is_ok_and(|h| h.is(b"free") && h.size() == 8))
        );
        let big = found[57].as_ref().unwrap();
        assert_eq!((big.start, big.header_len, big.end), (456, 16, 476));
        let cut = found[58].as_ref().unwrap();
        assert_eq!((cut.start, cut.end, cut.claimed_end), (476, 484, Some(492)));
        // Source::new seeks twice; the walk reads 16 bytes, then 32 at a time, and seeks once, back to
        // the 64-bit header.
        assert_eq!(counted.seeks, 3);
        assert!(counted.reads <= file.len() / 32 + 3, "{} reads", counted.reads);
    }

    #[test]
    fn full_boxes_carry_version_and_flags() {
        assert_eq!(full(b"meta", 1, 2, b"x"), b"\0\0\0\x0dmeta\x01\0\0\x02x");
        assert_eq!(header(b"mdat", 2).len(), 8);
    }
}
