//! Input and output helpers every carrier shares: a bounded reader over `Read + Seek`, a
//! panic-free cursor over byte slices, and a block copier for media payloads.
//!
//! Carriers read headers through [`Source`], which knows how many bytes remain, so a declared
//! length is checked against the stream before anything is allocated or skipped; they parse the
//! buffered structure through [`Bytes`], whose methods return `None` instead of panicking.
//! Files reach them through [`SeekBuf`], whose buffer survives seeks, and every pass runs
//! [`within_budget`], so the bytes read stay about the file's size.

use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::{Error, Limits, Result};

mod budget;
mod buffered;

pub use budget::within_budget;
pub use buffered::SeekBuf;

/// Anything a carrier can read from: `Read + Seek`, usable as a trait object.
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek + ?Sized> ReadSeek for T {}

/// Size of the blocks media payloads are copied in.
pub const COPY_BLOCK: usize = 256 << 10;

/// Copies up to this size use a buffer on the stack.
const SMALL_COPY: usize = 256;

/// A reader over a seekable stream that tracks its position and the stream's length.
pub struct Source<'a> {
    inner: &'a mut dyn ReadSeek,
    format: &'static str,
    pos: u64,
    len: u64,
}

impl<'a> Source<'a> {
    /// Wraps `inner`, rewinding it to the start. `format` names the format in errors.
    ///
    /// # Errors
    /// I/O errors from seeking.
    pub fn new(inner: &'a mut dyn ReadSeek, format: &'static str) -> Result<Self> {
        let len = inner.seek(SeekFrom::End(0))?;
        inner.seek(SeekFrom::Start(0))?;
        Ok(Source {
            inner,
            format,
            pos: 0,
            len,
        })
    }

    /// The format name used in errors.
    pub fn format(&self) -> &'static str {
        self.format
    }

    /// Current offset from the start of the stream.
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// Total length of the stream.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when the stream is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes between the current position and the end.
    pub fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    /// True at the end of the stream.
    pub fn at_end(&self) -> bool {
        self.pos >= self.len
    }

    /// A [`Error::Malformed`] at the current position.
    pub fn malformed(&self, what: impl Into<std::borrow::Cow<'static, str>>) -> Error {
        Error::malformed(self.format, self.pos, what)
    }

    /// A [`Error::Truncated`] at the current position.
    pub fn truncated(&self, what: impl Into<std::borrow::Cow<'static, str>>) -> Error {
        Error::truncated(self.format, self.pos, what)
    }

    /// Reads exactly `N` bytes.
    ///
    /// # Errors
    /// [`Error::Truncated`] when fewer remain; I/O errors.
    pub fn read_array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        if self.remaining() < N as u64 {
            return Err(self.truncated(what));
        }
        let mut buf = [0u8; N];
        self.read_into(&mut buf, what)?;
        Ok(buf)
    }

    /// Reads up to `buf.len()` bytes without moving past the end; returns how many were read.
    ///
    /// # Errors
    /// I/O errors.
    pub fn read_up_to(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
        self.pos += filled as u64;
        Ok(filled)
    }

    fn read_into(&mut self, buf: &mut [u8], what: &'static str) -> Result<()> {
        let n = self.read_up_to(buf)?;
        if n < buf.len() {
            return Err(self.truncated(what));
        }
        Ok(())
    }

    /// Reads a structure of `len` declared bytes into memory, after checking `len` against the
    /// bytes that remain and against [`Limits::max_metadata_bytes`].
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::Limit`], allocation failure as [`Error::Limit`], I/O errors.
    pub fn read_vec(&mut self, len: u64, what: &'static str, limits: &Limits) -> Result<Vec<u8>> {
        if len > self.remaining() {
            return Err(self.truncated(what));
        }
        limits.check_metadata(self.format, self.pos, len)?;
        let n = usize::try_from(len).map_err(|_| self.limit_error(what, len))?;
        let mut buf = Vec::new();
        buf.try_reserve_exact(n).map_err(|_| self.limit_error(what, len))?;
        buf.resize(n, 0);
        self.read_into(&mut buf, what)?;
        Ok(buf)
    }

    fn limit_error(&self, what: &'static str, found: u64) -> Error {
        Error::Limit {
            format: self.format,
            offset: self.pos,
            what,
            found,
            limit: usize::MAX as u64,
        }
    }

    /// Moves forward `n` bytes without reading them.
    ///
    /// # Errors
    /// [`Error::Truncated`] when fewer than `n` remain; I/O errors.
    pub fn skip(&mut self, n: u64, what: &'static str) -> Result<()> {
        if n > self.remaining() {
            return Err(self.truncated(what));
        }
        self.seek_to(self.pos + n)
    }

    /// Moves to absolute offset `pos` (which may be the end of the stream).
    ///
    /// # Errors
    /// [`Error::Truncated`] past the end; I/O errors.
    pub fn seek_to(&mut self, pos: u64) -> Result<()> {
        if pos > self.len {
            return Err(self.truncated("seek past the end"));
        }
        self.inner.seek(SeekFrom::Start(pos))?;
        self.pos = pos;
        Ok(())
    }

    /// Copies the next `n` bytes to `out` in large blocks.
    ///
    /// # Errors
    /// [`Error::Truncated`] when fewer than `n` remain; I/O errors.
    pub fn copy_to<W: Write + ?Sized>(&mut self, out: &mut W, n: u64, what: &'static str) -> Result<()> {
        if n > self.remaining() {
            return Err(self.truncated(what));
        }
        let mut left = n;
        // Structure headers are copied one by one, so small copies go through the stack: a
        // file of a million empty chunks costs no million allocations.
        let mut small = [0u8; SMALL_COPY];
        let mut large = Vec::new();
        let buf: &mut [u8] = match usize::try_from(n) {
            Ok(n) if n <= SMALL_COPY => small.get_mut(..n).unwrap_or_default(),
            _ => {
                large.resize(COPY_BLOCK.min(usize::try_from(n).unwrap_or(COPY_BLOCK)), 0);
                &mut large
            }
        };
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let got = self.read_up_to(&mut buf[..want])?;
            if got == 0 {
                return Err(self.truncated(what));
            }
            out.write_all(&buf[..got])?;
            left -= got as u64;
        }
        Ok(())
    }

    /// Copies everything from the current position to the end of the stream.
    ///
    /// # Errors
    /// I/O errors.
    pub fn copy_rest<W: Write + ?Sized>(&mut self, out: &mut W, what: &'static str) -> Result<()> {
        let n = self.remaining();
        self.copy_to(out, n, what)
    }
}

/// A cursor over a byte slice whose reads return `None` at the end instead of panicking.
#[derive(Debug, Clone)]
pub struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data, pos: 0 }
    }

    /// Offset from the start of the slice.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// The unread bytes.
    pub fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    /// Moves to offset `pos` within the slice.
    pub fn seek(&mut self, pos: usize) -> Option<()> {
        (pos <= self.data.len()).then(|| self.pos = pos)
    }

    /// Takes bytes up to (not including) the next `byte`, and skips the `byte`.
    pub fn take_until(&mut self, byte: u8) -> Option<&'a [u8]> {
        let rest = self.rest();
        let i = rest.iter().position(|&b| b == byte)?;
        self.pos += i + 1;
        Some(&rest[..i])
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }

    /// Reads a big-endian `u16`.
    pub fn u16_be(&mut self) -> Option<u16> {
        self.take(2).map(|s| u16::from_be_bytes([s[0], s[1]]))
    }

    /// Reads a little-endian `u16`.
    pub fn u16_le(&mut self) -> Option<u16> {
        self.take(2).map(|s| u16::from_le_bytes([s[0], s[1]]))
    }

    /// Reads a big-endian `u32`.
    pub fn u32_be(&mut self) -> Option<u32> {
        self.take(4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }

    /// Reads a little-endian `u32`.
    pub fn u32_le(&mut self) -> Option<u32> {
        self.take(4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    /// Reads a big-endian `u64`.
    pub fn u64_be(&mut self) -> Option<u64> {
        self.take(8)
            .map(|s| u64::from_be_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
    }
}

/// A zero-filled buffer of `len` bytes, allocated fallibly: a size worked out from input (a
/// canvas, a frame) that the allocator refuses is an [`Error::Limit`] naming `format` and
/// `what`, not an abort.
///
/// # Errors
/// [`Error::Limit`] when the memory cannot be had.
pub fn zeroed(len: usize, format: &'static str, what: &'static str) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| Error::Limit {
        format,
        offset: 0,
        what,
        found: len as u64,
        limit: 0,
    })?;
    v.resize(len, 0);
    Ok(v)
}

/// A `Write` adapter that counts the bytes passed through, so carriers can report offsets in
/// their output without seeking it.
pub struct CountingWriter<'a> {
    inner: &'a mut dyn Write,
    count: u64,
}

impl<'a> CountingWriter<'a> {
    /// Wraps `inner`.
    pub fn new(inner: &'a mut dyn Write) -> Self {
        CountingWriter { inner, count: 0 }
    }

    /// Bytes written so far.
    pub fn count(&self) -> u64 {
        self.count
    }
}

impl Write for CountingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn source_checks_declared_lengths_before_allocating() {
        let mut c = Cursor::new(vec![1u8, 2, 3, 4]);
        let mut s = Source::new(&mut c, "test").unwrap();
        assert!(matches!(
            s.read_vec(u64::MAX, "x", &Limits::default()),
            Err(Error::Truncated { .. })
        ));
        assert_eq!(s.read_array::<2>("x").unwrap(), [1, 2]);
        assert!(matches!(
            s.read_array::<4>("x"),
            Err(Error::Truncated { offset: 2, .. })
        ));
        assert!(s.skip(3, "x").is_err());
        let mut out = Vec::new();
        s.copy_rest(&mut out, "x").unwrap();
        assert_eq!(out, [3, 4]);
        assert!(s.at_end());
    }

    #[test]
    fn source_obeys_metadata_limit() {
        let mut c = Cursor::new(vec![0u8; 100]);
        let mut s = Source::new(&mut c, "test").unwrap();
        let limits = Limits {
            max_metadata_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            s.read_vec(11, "x", &limits),
            Err(Error::Limit {
                found: 11,
                limit: 10,
                ..
            })
        ));
        assert_eq!(s.read_vec(10, "x", &limits).unwrap().len(), 10);
    }

    #[test]
    fn bytes_never_panics() {
        let mut b = Bytes::new(&[0, 1, 2]);
        assert_eq!(b.u16_be(), Some(1));
        assert_eq!(b.u16_be(), None);
        assert_eq!(b.take(usize::MAX), None);
        assert_eq!(b.u8(), Some(2));
        assert_eq!(b.u8(), None);
        assert_eq!(b.seek(4), None);
        let mut b = Bytes::new(b"key\0value");
        assert_eq!(b.take_until(0), Some(&b"key"[..]));
        assert_eq!(b.rest(), b"value");
    }
}
