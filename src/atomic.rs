//! Atomic file writes: the output goes to a temporary file in the target's folder, is read back
//! and checked by the caller's step, synced, given the permissions of the file it replaces (or
//! of the input), and renamed into place. A failure or a kill at any moment leaves either the
//! old file or the complete new one, never half of each.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use aigc_label_core::io::SeekBuf;

use crate::{Carrier, Error, FileReader, IO_BUFFER, Result, open_with_carrier};

/// Buffer for reading back an output being checked.
const READ_BACK_BUFFER: usize = 64 << 10;

/// Runs `write` from the file at `input` into a temporary file beside `output`, and renames it
/// over `output` when `write` says so (the temporary file is removed otherwise, and on error).
pub(crate) fn write<T>(
    input: &Path,
    output: &Path,
    write: impl FnOnce(&dyn Carrier, &mut FileReader, &mut BufStream<&File>) -> Result<(T, bool)>,
) -> Result<T> {
    let (carrier, mut reader) = open_with_carrier(input)?;
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let temp = tempfile::Builder::new()
        .prefix(".aigc-label-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    let mut stream = BufStream::new(temp.as_file());
    let (value, keep) = write(carrier, &mut reader, &mut stream)?;
    stream.flush()?;
    drop(stream);
    if keep {
        temp.as_file().sync_all()?;
        let permissions = fs::metadata(output).or_else(|_| fs::metadata(input))?.permissions();
        fs::set_permissions(temp.path(), permissions)?;
        temp.persist(output).map_err(|e| Error::Io(e.error))?;
    }
    Ok(value)
}

/// A file written and then read back, buffered both ways: writes go through a [`BufWriter`],
/// reads through a [`SeekBuf`] (whose buffer survives the seeks a verifier makes), and switching flushes the one or drops the other's read-ahead.
/// The trust crate writes a protected label and then reads the output back to check it, and an
/// unbuffered file would cost a system call per header field.
pub(crate) struct BufStream<F: Read + Write + Seek> {
    state: State<F>,
}

enum State<F: Read + Write + Seek> {
    Writing(BufWriter<F>),
    Reading(SeekBuf<F>),
    /// A switch failed; every later call fails too.
    Broken,
}

impl<F: Read + Write + Seek> BufStream<F> {
    fn new(inner: F) -> Self {
        BufStream {
            state: State::Writing(BufWriter::with_capacity(IO_BUFFER, inner)),
        }
    }

    fn reader(&mut self) -> io::Result<&mut SeekBuf<F>> {
        if let State::Writing(_) = self.state {
            let State::Writing(writer) = std::mem::replace(&mut self.state, State::Broken) else {
                return Err(broken());
            };
            let mut file = writer.into_inner().map_err(io::IntoInnerError::into_error)?;
            let here = file.stream_position()?;
            let mut reader = SeekBuf::with_capacity(READ_BACK_BUFFER, file);
            reader.seek(SeekFrom::Start(here))?;
            self.state = State::Reading(reader);
        }
        match &mut self.state {
            State::Reading(reader) => Ok(reader),
            _ => Err(broken()),
        }
    }

    fn writer(&mut self) -> io::Result<&mut BufWriter<F>> {
        if let State::Reading(_) = self.state {
            let State::Reading(mut reader) = std::mem::replace(&mut self.state, State::Broken) else {
                return Err(broken());
            };
            // Puts the file where the reader's caller is, dropping the read-ahead.
            let here = reader.stream_position()?;
            let mut file = reader.into_inner();
            file.seek(SeekFrom::Start(here))?;
            self.state = State::Writing(BufWriter::with_capacity(IO_BUFFER, file));
        }
        match &mut self.state {
            State::Writing(writer) => Ok(writer),
            _ => Err(broken()),
        }
    }
}

fn broken() -> io::Error {
    io::Error::other("an earlier flush of the output failed")
}

impl<F: Read + Write + Seek> Read for BufStream<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader()?.read(buf)
    }
}

impl<F: Read + Write + Seek> Write for BufStream<F> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.state {
            State::Writing(writer) => writer.flush(),
            State::Reading(_) => Ok(()),
            State::Broken => Err(broken()),
        }
    }
}

impl<F: Read + Write + Seek> Seek for BufStream<F> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match &mut self.state {
            State::Writing(writer) => writer.seek(pos),
            // A seek within the read-ahead keeps it (carriers hop between nearby headers).
            State::Reading(reader) => reader.seek(pos),
            State::Broken => Err(broken()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn buffered_stream_reads_back_what_it_wrote_across_switches() {
        let mut s = BufStream::new(Cursor::new(Vec::new()));
        s.write_all(b"hello world").unwrap();
        s.seek(SeekFrom::Start(6)).unwrap();
        let mut word = [0u8; 5];
        s.read_exact(&mut word).unwrap();
        assert_eq!(&word, b"world");
        s.seek(SeekFrom::Start(0)).unwrap();
        s.read_exact(&mut word).unwrap();
        assert_eq!(&word, b"hello");
        // Writing after a read continues at the reader's position, not the read-ahead's end.
        s.write_all(b"!").unwrap();
        s.seek(SeekFrom::End(-1)).unwrap();
        s.write_all(b"D").unwrap();
        assert_eq!(s.stream_position().unwrap(), 11);
        s.flush().unwrap();
        s.seek(SeekFrom::Start(0)).unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"hello!worlD");
        assert!(s.seek(SeekFrom::Current(-100)).is_err(), "no seek before the start");
    }
}
