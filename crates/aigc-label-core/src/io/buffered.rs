//! A read buffer that survives seeks.
//!
//! Carriers walk containers by reading a header and seeking past its payload. `std`'s
//! `BufReader` drops its buffer on every seek that is not relative, so on a file of many small
//! structures each header cost a full refill: a 10 MB PNG of empty chunks read gigabytes.
//! [`SeekBuf`] keeps its buffer whenever a seek lands inside it, turns seeks into moves of a
//! position it tracks itself (no system call), and sizes its refills by how the stream is read:
//! small after a jump, doubling while reads continue where the buffer ended. Bytes read from the
//! inner stream then stay close to the bytes the carrier asks for, whatever the seek pattern.

use std::io::{self, Read, Seek, SeekFrom};

/// Smallest refill, used after a jump: one page, so scattered reads stay cheap.
const MIN_REFILL: usize = 4 << 10;

/// Bytes of the old buffer a sequential refill keeps in front of the new data, so a carrier
/// that reads a header across the buffer's end and seeks back to copy it finds it still there.
const KEEP: usize = 4 << 10;

/// A buffered reader over `R` that keeps its buffer across seeks landing inside it.
#[derive(Debug)]
pub struct SeekBuf<R> {
    inner: R,
    buf: Vec<u8>,
    /// Largest refill, the buffer's capacity.
    capacity: usize,
    /// Size of the next refill.
    refill: usize,
    /// Stream offset of `buf[0]`.
    start: u64,
    /// The caller's position in the stream.
    pos: u64,
    /// Where `inner` is, when known: a refill there needs no seek.
    inner_pos: Option<u64>,
}

impl<R: Read + Seek> SeekBuf<R> {
    /// Wraps `inner`, with refills of up to `capacity` bytes. Reading starts at offset 0
    /// wherever `inner` stands: seek first to start elsewhere.
    pub fn with_capacity(capacity: usize, inner: R) -> Self {
        let capacity = capacity.max(MIN_REFILL);
        SeekBuf {
            inner,
            buf: Vec::new(),
            capacity,
            refill: MIN_REFILL,
            start: 0,
            pos: 0,
            inner_pos: None,
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The wrapped stream, for a caller that reads or seeks it directly (a kernel copy between
    /// files); the next read through the buffer seeks it back first.
    pub fn get_mut(&mut self) -> &mut R {
        self.inner_pos = None;
        &mut self.inner
    }

    /// Unwraps the stream; its position is unspecified.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The buffered bytes from the current position on (empty when the position is outside).
    fn available(&self) -> &[u8] {
        let offset = self.pos.checked_sub(self.start).and_then(|o| usize::try_from(o).ok());
        offset.and_then(|o| self.buf.get(o..)).unwrap_or(&[])
    }

    /// Moves `inner` to the caller's position if it is elsewhere.
    fn sync_inner(&mut self) -> io::Result<()> {
        if self.inner_pos != Some(self.pos) {
            self.inner_pos = None;
            self.inner.seek(SeekFrom::Start(self.pos))?;
            self.inner_pos = Some(self.pos);
        }
        Ok(())
    }

    /// Refills the buffer at the current position, sizing the refill by the access pattern.
    fn fill(&mut self) -> io::Result<()> {
        let end = self.start.saturating_add(self.buf.len() as u64);
        // A short skip past the buffer's end (a checksum or small payload a walk seeks over)
        // reads through the gap, so the buffer stays one run of the stream: a copy of the
        // skipped bytes that follows finds them there.
        let gap = self.pos.checked_sub(end).filter(|g| *g <= KEEP as u64 / 4);
        let sequential = gap.is_some() && !self.buf.is_empty();
        self.refill = if sequential {
            self.refill.saturating_mul(2).min(self.capacity)
        } else if self.pos > end && self.pos - end < self.refill as u64 {
            self.refill
        } else {
            MIN_REFILL
        };
        let keep = if sequential { self.buf.len().min(KEEP) } else { 0 };
        let at = if sequential { end } else { self.pos };
        let caller = self.pos;
        self.pos = at;
        let synced = self.sync_inner();
        self.pos = caller;
        synced?;
        let from = self.buf.len() - keep;
        self.buf.copy_within(from.., 0);
        self.buf.truncate(keep);
        self.buf.resize(keep + self.refill, 0);
        // Read until the caller's position is covered (a short read may stop inside the gap).
        let need = usize::try_from(caller - at).unwrap_or(usize::MAX).saturating_add(1);
        let mut n = 0;
        while n < need {
            match self.inner.read(&mut self.buf[keep + n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.clear();
                    self.inner_pos = None;
                    return Err(e);
                }
            }
        }
        self.buf.truncate(keep + n);
        self.start = at - keep as u64;
        self.inner_pos = Some(at.saturating_add(n as u64));
        Ok(())
    }
}

impl<R: Read + Seek> Read for SeekBuf<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.available().is_empty() {
            if out.len() >= self.capacity {
                // A large read (a payload copy) goes straight through, like `BufReader`'s.
                self.sync_inner()?;
                let n = self.inner.read(out).inspect_err(|_| self.inner_pos = None)?;
                self.pos = self.pos.saturating_add(n as u64);
                self.inner_pos = Some(self.pos);
                return Ok(n);
            }
            self.fill()?;
        }
        let available = self.available();
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for SeekBuf<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(_) => {
                self.inner_pos = None;
                let p = self.inner.seek(to)?;
                self.inner_pos = Some(p);
                Some(p)
            }
        };
        let target = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek to a negative or overflowing position",
            )
        })?;
        self.pos = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// Counts the bytes and the seeks that reach the stream under test.
    struct Counted {
        inner: Cursor<Vec<u8>>,
        read: u64,
        seeks: u64,
    }

    impl Read for Counted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read += n as u64;
            Ok(n)
        }
    }

    impl Seek for Counted {
        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            self.seeks += 1;
            self.inner.seek(pos)
        }
    }

    fn counted(len: usize) -> SeekBuf<Counted> {
        let data = (0..len).map(|i| (i % 251) as u8).collect();
        let inner = Counted {
            inner: Cursor::new(data),
            read: 0,
            seeks: 0,
        };
        SeekBuf::with_capacity(64 << 10, inner)
    }

    #[test]
    fn a_walk_of_small_headers_reads_the_stream_once() {
        let len = 1 << 20;
        let mut r = counted(len);
        let mut header = [0u8; 8];
        let mut pos = 0u64;
        while pos + 12 <= len as u64 {
            r.seek(SeekFrom::Start(pos)).unwrap();
            r.read_exact(&mut header).unwrap();
            assert_eq!(header[0], (pos % 251) as u8);
            pos += 12;
        }
        let inner = r.get_ref();
        assert!(inner.read <= len as u64, "read {} of {len}", inner.read);
        // One per refill at most, not one per header (there are 87,381).
        assert!(inner.seeks < 32, "{} seeks reached the stream", inner.seeks);
    }

    #[test]
    fn scattered_reads_cost_a_page_each_not_a_full_buffer() {
        let len = 4 << 20;
        let mut r = counted(len);
        let mut byte = [0u8; 1];
        for i in 0..100u64 {
            let at = (i * 40_009) % len as u64;
            r.seek(SeekFrom::Start(at)).unwrap();
            r.read_exact(&mut byte).unwrap();
            assert_eq!(byte[0], (at % 251) as u8);
        }
        assert!(r.get_ref().read <= 100 * MIN_REFILL as u64);
    }

    #[test]
    fn reads_agree_with_the_stream_whatever_the_seeks() {
        let len = 300_000;
        let mut r = counted(len);
        let expected: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut got = vec![0u8; 70_000];
        for (from, n) in [
            (0usize, 10usize),
            (5, 70_000),
            (299_990, 10),
            (100, 3),
            (200_000, 65_536),
        ] {
            r.seek(SeekFrom::Start(from as u64)).unwrap();
            r.read_exact(&mut got[..n]).unwrap();
            assert_eq!(&got[..n], &expected[from..from + n]);
        }
        assert_eq!(r.seek(SeekFrom::End(-4)).unwrap(), len as u64 - 4);
        assert_eq!(r.seek(SeekFrom::Current(-6)).unwrap(), len as u64 - 10);
        let mut tail = Vec::new();
        r.read_to_end(&mut tail).unwrap();
        assert_eq!(tail, &expected[len - 10..]);
        assert!(r.seek(SeekFrom::Current(-(len as i64) - 1)).is_err());
        r.seek(SeekFrom::Start(len as u64 + 10)).unwrap();
        assert_eq!(r.read(&mut got).unwrap(), 0);
    }
}
