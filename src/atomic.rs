//! Atomic file writes: the output goes to a temporary file in the target's folder, is read back
//! and checked by the caller's step, synced, given the identity of the file it replaces (or of
//! the input), renamed into place, and the folder synced. A failure or a kill at any moment
//! leaves either the old file or the complete new one, never half of each.
//!
//! The file's identity, beyond its bytes:
//! - **Owner and group** of a replaced file are kept. Only root may give a file away, so when
//!   the caller cannot, the new file belongs to the caller, and the write says so
//!   ([`Note::OwnerChanged`]).
//! - **Mode**: the replaced file's (or, for a new file, the input's). Set-user-id and
//!   set-group-id bits are kept only when the owner and group are too; otherwise they are
//!   cleared ([`Note::SetIdCleared`]), so a setuid file never becomes setuid-someone-else.
//! - **Symlinks**: an output path that is a symbolic link is written through: the file it points
//!   to is replaced and the link stays a link ([`Note::ThroughSymlink`]). A link to nothing is
//!   refused.
//!
//! What each write did is recorded for callers that ask, with [`record_writes`]: the command
//! line prints the notes next to the file.

use std::cell::RefCell;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use aigc_label_core::io::SeekBuf;

use crate::{Carrier, Error, FileReader, IO_BUFFER, Result, detect_named, open_with_carrier};

/// Buffer for reading back an output being checked.
const READ_BACK_BUFFER: usize = 64 << 10;

/// Largest output kept in memory for a small input: past it, the output spills to its file.
const MEMORY_OUTPUT: usize = 4 << 20;

/// Set-user-id and set-group-id mode bits.
#[cfg(unix)]
const SET_ID_BITS: u32 = 0o6000;

/// Something an atomic write did to a file's identity that the caller may want to tell a person.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Note {
    /// The output path is a symbolic link: the file it points to was replaced, the link kept.
    ThroughSymlink {
        /// The file that was written.
        target: PathBuf,
    },
    /// The replaced file belonged to another user or group, and this process may not give the
    /// new file away (only root may), so the new file belongs to the caller.
    OwnerChanged {
        /// The replaced file's owner and group (user id, group id).
        was: (u32, u32),
        /// The new file's (user id, group id).
        now: (u32, u32),
    },
    /// The set-user-id / set-group-id bits of the mode were cleared, because the new file's owner
    /// or group differs from the file whose mode it took.
    SetIdCleared {
        /// The mode the file would otherwise have had.
        mode: u32,
    },
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::ThroughSymlink { target } => write!(f, "written through the symlink to {}", target.display()),
            Note::OwnerChanged { was, now } => write!(
                f,
                "owner {}:{} could not be kept (only root may give a file away); now {}:{}",
                was.0, was.1, now.0, now.1
            ),
            Note::SetIdCleared { mode } => write!(
                f,
                "set-user-id/set-group-id bits cleared (mode {mode:o} -> {:o}) since the owner changed",
                mode & !0o6000
            ),
        }
    }
}

/// One completed atomic write, as [`record_writes`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileWrite {
    /// The format of the file, as its carrier names it.
    pub format: &'static str,
    /// The file that was replaced or created: the output path, or the file a symlink there
    /// points to.
    pub path: PathBuf,
    /// What happened to the file's identity; empty when everything was kept.
    pub notes: Vec<Note>,
    /// How the file was written: updated in place, or rewritten whole and renamed into place.
    pub method: Method,
    /// Bytes written to the file: the whole file for a rewrite, about the label's size for an
    /// update in place.
    pub bytes_written: u64,
}

/// How a file-level write put the label into the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// The label was updated inside the file, in room the file had, with a crash-safe switch
    /// (see `aigc_label_audio::in_place`); the file keeps its inode.
    InPlace,
    /// The file was written whole to a temporary file and renamed over the target.
    Rewrite,
}

impl Method {
    /// `"in-place"` or `"rewrite"`, as the JSON output says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::InPlace => "in-place",
            Method::Rewrite => "rewrite",
        }
    }
}

thread_local! {
    static RECORDER: RefCell<Option<Vec<FileWrite>>> = const { RefCell::new(None) };
}

/// Runs `f` and returns, with its result, every file the file-level writers ([`crate::embed_file`],
/// `embed_signed_file`, `propagate_file`) completed on this thread while it ran: the format, the
/// file actually written, and the [`Note`]s on its identity. Calls may nest; each sees its own.
///
/// ```
/// use aigc_label::{embed_file, record_writes, Label, Options};
///
/// # let dir = tempfile::tempdir()?;
/// # let input = aigc_label_testutil::workspace_root().join("examples/samples/sample.png");
/// let output = dir.path().join("out.png");
/// let label = Label::new("001191440300708461136T1XGW3", "img-1");
/// let (result, writes) = record_writes(|| embed_file(&input, &output, &label, &Options::default()));
/// result?;
/// assert_eq!(writes[0].format, "png");
/// assert!(writes[0].notes.is_empty());
/// # Ok::<(), aigc_label::Error>(())
/// ```
pub fn record_writes<T>(f: impl FnOnce() -> T) -> (T, Vec<FileWrite>) {
    let outer = RECORDER.with(|r| r.replace(Some(Vec::new())));
    let value = f();
    let writes = RECORDER.with(|r| r.replace(outer)).unwrap_or_default();
    (value, writes)
}

pub(crate) fn record(write: FileWrite) {
    RECORDER.with(|r| {
        if let Some(writes) = r.borrow_mut().as_mut() {
            writes.push(write);
        }
    });
}

/// Runs `write` from the file at `input` into a temporary file beside `output`, and renames it
/// over `output` when `write` says so (the temporary file is removed otherwise, and on error).
///
/// Errors name the file at fault: opening or reading `input` and the carrier's step name the
/// input; creating, syncing or renaming the output name the output.
#[cfg(all(feature = "watermark", feature = "stamp"))]
pub(crate) fn write<T>(
    input: &Path,
    output: &Path,
    write: impl FnOnce(&dyn Carrier, &mut FileReader, &mut BufStream<&File>) -> Result<(T, bool)>,
) -> Result<T> {
    write_with(input, output, true, write)
}

/// [`write`], syncing the temporary file before the rename and the folder after it only when
/// `sync` is set ([`crate::Options::sync`]): without, the rename still replaces the file whole
/// for every other process, and durability is left to the caller.
pub(crate) fn write_with<T>(
    input: &Path,
    output: &Path,
    sync: bool,
    write: impl FnOnce(&dyn Carrier, &mut FileReader, &mut BufStream<&File>) -> Result<(T, bool)>,
) -> Result<T> {
    write_from(input, None, output, sync, write)
}

/// [`write_with`], reading `input` from `held` when the caller has read it already (an update
/// in place that found no room), so the file is not read from the disk again.
pub(crate) fn write_from<T>(
    input: &Path,
    held: Option<FileReader>,
    output: &Path,
    sync: bool,
    write: impl FnOnce(&dyn Carrier, &mut FileReader, &mut BufStream<&File>) -> Result<(T, bool)>,
) -> Result<T> {
    let opened = match held {
        Some(mut reader) => detect_named(&mut reader, input).map(|carrier| (carrier, reader)),
        None => open_with_carrier(input),
    };
    let (carrier, mut reader) = opened.map_err(|e| e.with_path(input))?;
    let (target, mut notes) = resolve_output(output).map_err(|e| Error::from(e).with_path(output))?;
    let dir = folder_of(&target);
    let temp = tempfile::Builder::new()
        .prefix(".aigc-label-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::from(e).with_path(output))?;
    let mut stream = match reader.whole_len() {
        // A small input's output is built, read back and checked in memory, then written once.
        Some(len) => BufStream::in_memory(temp.as_file(), len),
        None => BufStream::new(temp.as_file()),
    };
    let (value, keep) = write(carrier, &mut reader, &mut stream).map_err(|e| e.with_path(input))?;
    let mut held_len = None;
    if keep {
        held_len = stream.finish().map_err(|e| Error::from(e).with_path(output))?;
    }
    drop(stream);
    if keep {
        let placed = (|| -> io::Result<u64> {
            if sync {
                temp.as_file().sync_all()?;
            }
            let len = match held_len {
                Some(len) => len,
                None => temp.as_file().metadata()?.len(),
            };
            notes.extend(adopt_identity(temp.as_file(), &target, input)?);
            temp.persist(&target).map_err(|e| e.error)?;
            if sync {
                sync_folder(dir)?;
            }
            Ok(len)
        })();
        let bytes_written = placed.map_err(|e| Error::from(e).with_path(output))?;
        record(FileWrite {
            format: carrier.format(),
            path: target,
            notes,
            method: Method::Rewrite,
            bytes_written,
        });
    }
    Ok(value)
}

/// The folder a file is in (`.` for a bare file name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The file to replace for `output`: itself, or, when it is a symbolic link, the file the link
/// points to (the link is kept). A link to nothing is refused rather than followed into a new
/// file somewhere else.
pub(crate) fn resolve_output(output: &Path) -> io::Result<(PathBuf, Vec<Note>)> {
    match fs::symlink_metadata(output) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let target = fs::canonicalize(output).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("the output is a symlink to a file that cannot be reached: {e}"),
                )
            })?;
            Ok((target.clone(), vec![Note::ThroughSymlink { target }]))
        }
        _ => Ok((output.to_path_buf(), Vec::new())),
    }
}

/// Gives the temporary file the owner, group and mode of the file it replaces (or, for a new
/// file, the input's mode), clearing set-id bits when the owner or group cannot be kept.
#[cfg(unix)]
fn adopt_identity(temp: &File, target: &Path, input: &Path) -> io::Result<Vec<Note>> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    let mut notes = Vec::new();
    let (model, replacing) = match fs::metadata(target) {
        Ok(meta) => (meta, true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => (fs::metadata(input)?, false),
        Err(e) => return Err(e),
    };
    let wanted = (model.uid(), model.gid());
    let ours = temp.metadata()?;
    let mut now = (ours.uid(), ours.gid());
    if replacing && now != wanted {
        // Root may give the file away; anyone may pass it to a group they belong to.
        if std::os::unix::fs::fchown(temp, Some(wanted.0), Some(wanted.1)).is_err() {
            let _ = std::os::unix::fs::fchown(temp, None, Some(wanted.1));
        }
        let after = temp.metadata()?;
        now = (after.uid(), after.gid());
    }
    let mut mode = model.permissions().mode() & 0o7777;
    if now != wanted {
        if replacing {
            notes.push(Note::OwnerChanged { was: wanted, now });
        }
        if mode & SET_ID_BITS != 0 {
            notes.push(Note::SetIdCleared { mode });
            mode &= !SET_ID_BITS;
        }
    }
    // After fchown, which clears set-id bits on Linux; not when the file has the mode already
    // (the owner was not changed, and the mode is the temporary file's 0600).
    if ours.permissions().mode() & 0o7777 != mode || now != (ours.uid(), ours.gid()) {
        temp.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    Ok(notes)
}

/// Gives the temporary file the permissions of the file it replaces, or of the input.
#[cfg(not(unix))]
fn adopt_identity(temp: &File, target: &Path, input: &Path) -> io::Result<Vec<Note>> {
    let permissions = fs::metadata(target).or_else(|_| fs::metadata(input))?.permissions();
    temp.set_permissions(permissions)?;
    Ok(Vec::new())
}

/// Syncs the folder after a rename, so the new name survives a crash as well as the new bytes.
#[cfg(unix)]
fn sync_folder(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Folders cannot be opened for syncing here; the rename is as durable as the platform makes it.
#[cfg(not(unix))]
fn sync_folder(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// A file written and then read back, buffered both ways: writes go through a [`BufWriter`],
/// reads through a [`SeekBuf`] (whose buffer survives the seeks a verifier makes), and switching flushes the one or drops the other's read-ahead.
/// The trust crate writes a protected label and then reads the output back to check it, and an
/// unbuffered file would cost a system call per header field.
///
/// The output of a small input is held in memory instead ([`BufStream::in_memory`]): written,
/// read back and checked there, then put in the file with one write by [`BufStream::finish`].
/// The check sees the very bytes the file gets, without reading them back from the disk.
pub(crate) struct BufStream<F: Read + Write + Seek> {
    state: State<F>,
}

enum State<F: Read + Write + Seek> {
    /// The whole output so far, and the file it goes to when finished (or spilled).
    Memory(io::Cursor<Vec<u8>>, F),
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

    /// Keeps the output in memory, expecting about `len` bytes, until it passes
    /// [`MEMORY_OUTPUT`]; `inner` must be empty.
    fn in_memory(inner: F, len: u64) -> Self {
        // A label and its padding rarely add more than a few KiB.
        let expected = usize::try_from(len)
            .unwrap_or(0)
            .saturating_add(16 << 10)
            .min(MEMORY_OUTPUT);
        let mut bytes = Vec::new();
        // Only a hint: without it the vector grows as it must.
        let _ = bytes.try_reserve_exact(expected);
        BufStream {
            state: State::Memory(io::Cursor::new(bytes), inner),
        }
    }

    /// Puts everything written into the file: the bytes held in memory with one write, or what
    /// the write buffer holds. Returns the output's length when it was held in memory (the
    /// caller need not ask the file for it).
    fn finish(&mut self) -> io::Result<Option<u64>> {
        let held = match &self.state {
            State::Memory(bytes, _) => Some(bytes.get_ref().len() as u64),
            _ => None,
        };
        // Nothing is written after this, so the file needs no write buffer.
        self.spill_with(0)?;
        self.flush()?;
        Ok(held)
    }

    /// Moves an output held in memory to its file, and goes on writing there.
    fn spill(&mut self) -> io::Result<()> {
        self.spill_with(IO_BUFFER)
    }

    /// [`BufStream::spill`], with a write buffer of `capacity` bytes from then on.
    fn spill_with(&mut self, capacity: usize) -> io::Result<()> {
        if let State::Memory(..) = self.state {
            let State::Memory(bytes, mut file) = std::mem::replace(&mut self.state, State::Broken) else {
                return Err(broken());
            };
            // The file is empty ([`BufStream::in_memory`]) and at its start.
            file.write_all(bytes.get_ref())?;
            if bytes.position() != bytes.get_ref().len() as u64 {
                file.seek(SeekFrom::Start(bytes.position()))?;
            }
            self.state = State::Writing(BufWriter::with_capacity(capacity, file));
        }
        Ok(())
    }

    /// The file itself, with everything written so far flushed to it and its position at the
    /// output's end, for a copy that bypasses the buffer; `None` while the output is held in
    /// memory.
    pub(crate) fn file_for_copy(&mut self) -> io::Result<Option<&mut F>> {
        if let State::Memory(..) = self.state {
            return Ok(None);
        }
        let writer = self.writer()?;
        writer.flush()?;
        Ok(Some(writer.get_mut()))
    }

    fn reader(&mut self) -> io::Result<&mut SeekBuf<F>> {
        self.spill()?;
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
        self.spill()?;
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

impl BufStream<&File> {
    /// Cuts the output back to its first `len` bytes, and goes on writing there.
    pub(crate) fn truncate(&mut self, len: u64) -> io::Result<()> {
        if let State::Memory(bytes, _) = &mut self.state {
            bytes.get_mut().truncate(usize::try_from(len).unwrap_or(usize::MAX));
            bytes.set_position(len);
            return Ok(());
        }
        let writer = self.writer()?;
        writer.flush()?;
        let file = writer.get_mut();
        file.set_len(len)?;
        file.seek(SeekFrom::Start(len))?;
        Ok(())
    }
}

fn broken() -> io::Error {
    io::Error::other("an earlier flush of the output failed")
}

impl<F: Read + Write + Seek> Read for BufStream<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let State::Memory(bytes, _) = &mut self.state {
            return bytes.read(buf);
        }
        self.reader()?.read(buf)
    }
}

impl<F: Read + Write + Seek> Write for BufStream<F> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let State::Memory(bytes, _) = &mut self.state {
            let end = usize::try_from(bytes.position()).map_or(usize::MAX, |p| p.saturating_add(buf.len()));
            if end <= MEMORY_OUTPUT {
                return bytes.write(buf);
            }
        }
        self.writer()?.write(buf)
    }

    /// Flushes the write buffer; an output held in memory stays there until
    /// [`BufStream::finish`].
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.state {
            State::Writing(writer) => writer.flush(),
            State::Memory(..) | State::Reading(_) => Ok(()),
            State::Broken => Err(broken()),
        }
    }
}

impl<F: Read + Write + Seek> Seek for BufStream<F> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match &mut self.state {
            State::Memory(bytes, _) => bytes.seek(pos),
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

    fn sample() -> PathBuf {
        aigc_label_testutil::workspace_root().join("examples/samples/sample.png")
    }

    #[test]
    fn errors_name_the_file_at_fault() {
        let dir = tempfile::tempdir().unwrap();
        let label = crate::Label::new("001191440300708461136T1XGW3", "e-1");
        let options = crate::Options::default();
        let missing = dir.path().join("missing.png");
        let e = crate::embed_file(&missing, dir.path().join("out.png"), &label, &options).unwrap_err();
        assert_eq!(e.path(), Some(missing.as_path()), "{e}");
        assert!(matches!(e.without_path(), Error::Io(_)), "{e}");

        let nowhere = dir.path().join("no/such/folder/out.png");
        let e = crate::embed_file(sample(), &nowhere, &label, &options).unwrap_err();
        assert_eq!(
            e.path(),
            Some(nowhere.as_path()),
            "the output is at fault, not the input: {e}"
        );

        let text = dir.path().join("notes.txt");
        std::fs::write(&text, b"not media").unwrap();
        let e = crate::inspect_file(&text, &options).unwrap_err();
        assert_eq!(e.path(), Some(text.as_path()));
        assert!(
            e.is_input_fault() && matches!(e.without_path(), Error::Unsupported(_)),
            "{e}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_output_is_written_through_and_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.png");
        std::fs::copy(sample(), &target).unwrap();
        let link = dir.path().join("link.png");
        std::os::unix::fs::symlink("target.png", &link).unwrap();
        let label = crate::Label::new("001191440300708461136T1XGW3", "s-1");
        let (result, writes) = record_writes(|| crate::embed_file(&link, &link, &label, &crate::Options::default()));
        result.unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        let real = fs::canonicalize(&target).unwrap();
        assert_eq!(writes.len(), 1);
        assert_eq!(writes[0].path, real);
        assert_eq!(writes[0].notes, vec![Note::ThroughSymlink { target: real }]);
        let report = crate::inspect_file(&target, &crate::Options::default()).unwrap();
        assert_eq!(report.label(), Some(label));
        // Outside record_writes nothing is kept; inside, each call sees only its own writes.
        let (_, outer) = record_writes(|| {
            let (_, inner) = record_writes(|| ());
            assert!(inner.is_empty());
        });
        assert!(outer.is_empty());
    }

    /// The mode is set only when it differs from the temporary file's: both ways keep it.
    #[cfg(unix)]
    #[test]
    fn a_rewrite_keeps_the_mode_whether_or_not_it_is_the_temporary_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let label = crate::Label::new("001191440300708461136T1XGW3", "m-1");
        for mode in [0o600, 0o640, 0o644] {
            let file = dir.path().join(format!("m{mode:o}.png"));
            std::fs::copy(sample(), &file).unwrap();
            fs::set_permissions(&file, fs::Permissions::from_mode(mode)).unwrap();
            let (result, writes) =
                record_writes(|| crate::embed_file(&file, &file, &label, &crate::Options::default()));
            result.unwrap();
            assert_eq!(writes[0].method, Method::Rewrite);
            assert_eq!(fs::metadata(&file).unwrap().permissions().mode() & 0o7777, mode);
        }
    }

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

    #[test]
    fn an_output_in_memory_reaches_its_file_only_when_finished() {
        let mut file = Cursor::new(Vec::new());
        let mut s = BufStream::in_memory(&mut file, 11);
        s.write_all(b"hello world").unwrap();
        s.flush().unwrap();
        s.seek(SeekFrom::Start(6)).unwrap();
        let mut word = [0u8; 5];
        s.read_exact(&mut word).unwrap();
        assert_eq!(&word, b"world");
        s.seek(SeekFrom::Start(0)).unwrap();
        s.write_all(b"H").unwrap();
        assert!(matches!(s.state, State::Memory(..)), "still in memory");
        assert_eq!(
            s.finish().unwrap(),
            Some(11),
            "the length, known without asking the file"
        );
        // One write of the bytes, and no 256 KiB write buffer for writes that never come.
        assert!(matches!(&s.state, State::Writing(w) if w.capacity() == 0));
        drop(s);
        assert_eq!(file.get_ref(), b"Hello world");
    }

    #[test]
    fn an_output_in_memory_spills_to_its_file_past_the_limit() {
        let mut file = Cursor::new(Vec::new());
        let mut s = BufStream::in_memory(&mut file, 3);
        s.write_all(b"abc").unwrap();
        // A write far past the limit goes to the file, not into a huge zero-filled vector.
        s.seek(SeekFrom::Start(MEMORY_OUTPUT as u64 + 10)).unwrap();
        s.write_all(b"z").unwrap();
        assert!(matches!(s.state, State::Writing(_)));
        s.seek(SeekFrom::Start(1)).unwrap();
        let mut two = [0u8; 2];
        s.read_exact(&mut two).unwrap();
        assert_eq!(&two, b"bc");
        s.finish().unwrap();
        drop(s);
        let bytes = file.into_inner();
        assert_eq!(bytes.len(), MEMORY_OUTPUT + 11);
        assert_eq!(&bytes[..3], b"abc");
        assert_eq!(bytes.last(), Some(&b'z'));
    }
}
