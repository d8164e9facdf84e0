//! Object numbers for an incremental update: the next free one is taken from every object the
//! file actually holds, never from the trailer's `/Size` alone.
//!
//! `/Size` is meant to be one more than the highest object number (ISO 32000-1 §7.5.5), but
//! writers get it wrong: `pdfunite` writes a `/Size` below its highest object number. An update
//! that takes its new object's number from such a `/Size` gives an existing object (an embedded
//! font, say) a new revision, and the document loses it. So the number comes from the highest of
//!
//! - every number listed by any cross-reference section of the chain (classic subsections, xref
//!   stream `/Index` ranges, the object streams they point into, the xref streams themselves)
//!   and every trailer's `/Size`, collected while the chain is read (see `xref::Doc`),
//! - every number the headers of those object streams list (their first bytes, decoded), and
//! - every `N G obj` header at the start of a line in the revision, found by [`HeaderScan`] while
//!   the revision is copied to the output: the objects a reader finds when it rebuilds a table
//!   that lies (poppler reconstructs from line-start headers the same way).

use std::io::{self, Write};

/// Highest object number ISO 32000-1 (Annex C) lets a conforming reader expect; scanned headers
/// above it are not objects anyone resolves, and would only inflate our numbers.
const MAX_OBJECT_NUMBER: u32 = 8_388_607;

/// How much of each line [`HeaderScan`] keeps: a header is at most two ten-digit numbers, the
/// keyword and some white space.
const LINE_PREFIX: usize = 48;

/// The object numbers an update uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Numbers {
    /// The Info dictionary's number and generation.
    pub info: (u32, u16),
    /// The xref stream's number (unused with a classic table).
    pub xref: u32,
    /// The trailer's `/Size`: one more than the highest number in the file after the update.
    pub size: u32,
}

impl Numbers {
    /// Numbers for an update whose file already has object numbers below `next` in use, and an
    /// Info object `existing` (given a new revision under its own number) or none (a new one).
    /// With an xref `stream`, the stream takes the number after the Info object's.
    pub fn allocate(existing: Option<(u32, u16)>, next: u32, stream: bool) -> Self {
        let next = next.max(1);
        let (info, next) = match existing {
            Some(r) => (r, next.max(r.0.saturating_add(1))),
            None => ((next, 0), next.saturating_add(1)),
        };
        Numbers {
            info,
            xref: next,
            size: if stream { next.saturating_add(1) } else { next },
        }
    }

    /// The numbers an update of ours used, read back from its trailer: the xref stream, when
    /// there is one, is the highest object.
    pub fn from_trailer(info: (u32, u16), size: u32) -> Self {
        Numbers {
            info,
            xref: size.saturating_sub(1),
            size,
        }
    }
}

/// Finds the highest `N G obj` header at the start of a line in bytes fed in pieces of any size.
/// Memory is one short line prefix, whatever the file.
#[derive(Debug, Clone)]
pub(crate) struct HeaderScan {
    line: [u8; LINE_PREFIX],
    len: usize,
    highest: Option<u32>,
}

impl Default for HeaderScan {
    fn default() -> Self {
        HeaderScan {
            line: [0; LINE_PREFIX],
            len: 0,
            highest: None,
        }
    }
}

impl HeaderScan {
    /// Feeds the next bytes of the file.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let eol = bytes.iter().position(|&b| b == b'\n' || b == b'\r');
            let piece = match eol {
                Some(i) => bytes.get(..i).unwrap_or_default(),
                None => bytes,
            };
            let room = LINE_PREFIX - self.len;
            let take = piece.len().min(room);
            if let (Some(dst), Some(src)) = (self.line.get_mut(self.len..self.len + take), piece.get(..take)) {
                dst.copy_from_slice(src);
                self.len += take;
            }
            match eol {
                Some(i) => {
                    self.end_line();
                    bytes = bytes.get(i + 1..).unwrap_or_default();
                }
                None => break,
            }
        }
    }

    /// The highest object number seen, counting a header on the last, unterminated line.
    pub fn finish(mut self) -> Option<u32> {
        self.end_line();
        self.highest
    }

    fn end_line(&mut self) {
        if let Some(num) = header_number(self.line.get(..self.len).unwrap_or_default()) {
            self.highest = Some(self.highest.map_or(num, |h| h.max(num)));
        }
        self.len = 0;
    }
}

/// The object number of a line that opens with `N G obj` (after optional white space).
fn header_number(line: &[u8]) -> Option<u32> {
    let white = |b: &u8| matches!(b, b' ' | b'\t' | b'\x0c' | 0);
    let digits = |s: &[u8]| s.iter().take_while(|b| b.is_ascii_digit()).count();
    let s = line.get(line.iter().take_while(|b| white(b)).count()..)?;
    let n_len = digits(s);
    let num: u32 = std::str::from_utf8(s.get(..n_len)?).ok()?.parse().ok()?;
    let s = s.get(n_len..)?;
    let gap = s.iter().take_while(|b| white(b)).count();
    let s = s.get(gap..)?;
    let g_len = digits(s);
    if gap == 0 || g_len == 0 || g_len > 5 {
        return None;
    }
    let s = s.get(g_len..)?;
    let s = s.get(s.iter().take_while(|b| white(b)).count()..)?;
    (s.starts_with(b"obj") && num <= MAX_OBJECT_NUMBER).then_some(num)
}

/// A writer that passes bytes on and scans what it passed for object headers.
pub(crate) struct ScanningWriter<'w> {
    inner: &'w mut dyn Write,
    scan: HeaderScan,
}

impl<'w> ScanningWriter<'w> {
    pub fn new(inner: &'w mut dyn Write) -> Self {
        ScanningWriter {
            inner,
            scan: HeaderScan::default(),
        }
    }

    /// The highest object number in the bytes written.
    pub fn highest(self) -> Option<u32> {
        self.scan.finish()
    }
}

impl Write for ScanningWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.scan.feed(buf.get(..n).unwrap_or_default());
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(pieces: &[&[u8]]) -> Option<u32> {
        let mut s = HeaderScan::default();
        for p in pieces {
            s.feed(p);
        }
        s.finish()
    }

    #[test]
    fn headers_at_line_start() {
        let file: &[u8] = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\r\n  47 0 obj<</Type/Font>>\rendobj\n12 3 obj";
        assert_eq!(scan(&[file]), Some(47));
        // Split at every position: the result does not depend on how the bytes arrive.
        for cut in 0..file.len() {
            let (a, b) = file.split_at(cut);
            assert_eq!(scan(&[a, b]), Some(47), "cut at {cut}");
        }
    }

    #[test]
    fn not_headers() {
        for line in [
            &b"x 5 0 obj"[..],
            b"5 obj",
            b"50obj",
            b"5 0 R",
            b"endobj",
            b"9999999999 0 obj",
            b"8388608 0 obj",
            b"5 123456 obj",
            b"",
        ] {
            assert_eq!(header_number(line), None, "{}", String::from_utf8_lossy(line));
        }
        assert_eq!(header_number(b"\t7 0obj"), Some(7));
        // A very long line is cut to its prefix, which still shows the header.
        let long = [&b"3 0 obj "[..], &[b'x'; 10_000]].concat();
        assert_eq!(scan(&[&long]), Some(3));
    }

    #[test]
    fn allocation() {
        let n = Numbers::allocate(None, 40, false);
        assert_eq!((n.info, n.size), ((40, 0), 41));
        let n = Numbers::allocate(Some((4, 0)), 48, true);
        assert_eq!((n.info, n.xref, n.size), ((4, 0), 48, 49));
        assert_eq!(Numbers::from_trailer((4, 0), 49), n);
        let n = Numbers::allocate(None, 48, true);
        assert_eq!((n.info, n.xref, n.size), ((48, 0), 49, 50));
        assert_eq!(Numbers::allocate(None, 0, false).info, (1, 0));
        // An Info object numbered above everything else still stays below /Size.
        assert_eq!(Numbers::allocate(Some((60, 0)), 48, false).size, 61);
    }
}
