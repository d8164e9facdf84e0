//! Label updates in place for the file-level calls (issue 16): when the input and the output are
//! one file and its format can take the new label in room it already has (FLAC padding, ID3v2
//! padding in MP3 and in an AIFF file's ID3 chunk, the `JUNK` chunk after a WAV file's `AIGC`
//! chunk, the `free` boxes our writer leaves in an MP4's label `meta` box, the room segment or
//! chunk our writer leaves next to a JPEG's or WebP's XMP one, the `roOm` chunk after a PNG's
//! XMP chunk, the `Void` inside a Matroska
//! file's label `Tags` element, the end of a TIFF file or the room its last update left), the label
//! is written there with a crash-safe switch, about the label's size instead of the whole file,
//! and the file keeps its inode, owner and mode. Otherwise (no room, another format) the caller
//! goes on with the atomic rewrite of [`crate::atomic`].
//!
//! The checks are those of a rewrite: the label is validated, only its producer may replace a
//! label ([`crate::embed_file`]), the caller's own check sees the report, and what was written is
//! read back (label, and for a signed propagation the bound digests) before success is reported.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

#[cfg(test)]
use crate::SMALL_FILE;
use aigc_label_core::in_place::{Steps, Update};

use crate::atomic::{FileWrite, Method, Note, record, resolve_output};
use crate::{Carrier, FileReader, Label, Options, Report, Result, Written, detect};

/// Whether `input` and `output` are the same existing file (an update in place).
pub(crate) fn same_file(input: &Path, output: &Path) -> bool {
    match (std::fs::metadata(input), std::fs::metadata(output)) {
        (Ok(a), Ok(b)) => same_inode(&a, &b),
        _ => false,
    }
}

#[cfg(unix)]
fn same_inode(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_inode(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

/// A file opened for an update in place, with its carrier.
struct Target {
    carrier: &'static dyn Carrier,
    file: Stored,
    path: PathBuf,
    notes: Vec<Note>,
}

/// The file of an update in place. A small one (up to [`SMALL_FILE`]) is read whole when it is
/// opened and its reads are served from that copy: the checks and the update walk the file a
/// few bytes per structure, and each of those reads would otherwise be a system call (about
/// sixty for a plain JPEG, a large share of a small file's whole update). Writes go to the file
/// first, then to the copy, so the two never differ in what was written.
struct Stored {
    file: File,
    /// The small file's bytes.
    copy: Option<Vec<u8>>,
    /// Where the next read or write of the copy starts.
    pos: u64,
}

impl Stored {
    #[cfg(test)]
    fn new(mut file: File) -> std::io::Result<Self> {
        let len = file.metadata()?.len();
        let copy = match len <= SMALL_FILE {
            true => crate::read_small(&mut file, len)?,
            false => None,
        };
        Ok(Stored { file, copy, pos: 0 })
    }

    /// The file as the rewrite reads it: from the copy when there is one (the file is not
    /// read again), else through a buffer on the handle.
    fn into_reader(self) -> FileReader {
        match self.copy {
            Some(bytes) => FileReader::from_bytes(bytes),
            None => FileReader::buffered(self.file),
        }
    }
}

impl Read for Stored {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some(copy) = &self.copy else {
            return self.file.read(buf);
        };
        let rest = usize::try_from(self.pos)
            .ok()
            .and_then(|at| copy.get(at..))
            .unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Write for Stored {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let Some(copy) = &mut self.copy else {
            return self.file.write(buf);
        };
        self.file.seek(SeekFrom::Start(self.pos))?;
        let n = self.file.write(buf)?;
        let at = usize::try_from(self.pos).map_err(std::io::Error::other)?;
        let end = at
            .checked_add(n)
            .ok_or_else(|| std::io::Error::other("write past usize"))?;
        if end > copy.len() {
            // The file grows the same way: a gap before `at` reads as zeros.
            copy.try_reserve(end - copy.len()).map_err(std::io::Error::other)?;
            copy.resize(end, 0);
        }
        copy[at..end].copy_from_slice(&buf[..n]);
        self.pos = end as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Stored {
    /// Cuts (or grows) the file and its copy to `len` bytes.
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.file.set_len(len)?;
        if let Some(copy) = &mut self.copy {
            aigc_label_core::in_place::Storage::set_len(&mut std::io::Cursor::new(copy), len)?;
        }
        Ok(())
    }
}

impl Seek for Stored {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let Some(copy) = &self.copy else {
            return self.file.seek(pos);
        };
        let to = match pos {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => (copy.len() as u64).checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = to.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start of the file")
        })?;
        Ok(self.pos)
    }
}

/// What opening a file for an update in place found.
enum Opened {
    /// A file whose format has an in-place update, opened read-write.
    Target(Target),
    /// Another format, or a file this process may not write: the rewrite goes on, from the
    /// file as it was read here when it was (so a small file is read from the disk once).
    Rewrite(Option<FileReader>),
}

/// Opens `path` (through a symlink): read-write when it is a regular file whose format has an
/// in-place update. The file is read (a small one whole) before its format is known, so that
/// the rewrite another format needs reads it from here and not from the disk again.
fn open(path: &Path) -> Result<Opened> {
    let (target, notes) = resolve_output(path)?;
    // Errors here (not a regular file, say) are left for the rewrite to report.
    let Ok(file) = crate::open_without_blocking(&target) else {
        return Ok(Opened::Rewrite(None));
    };
    let read = file.metadata();
    let Ok((mut reader, meta)) = read.and_then(|meta| Ok((FileReader::from_file(file, &meta)?, meta))) else {
        return Ok(Opened::Rewrite(None));
    };
    let carrier = match detect(&mut reader) {
        Ok(c) if supported(c) => c,
        _ => return Ok(Opened::Rewrite(Some(reader))),
    };
    // A file this process may not write is still replaced by the rewrite (a rename), as before.
    let Ok(writable) = OpenOptions::new().read(true).write(true).open(&target) else {
        return Ok(Opened::Rewrite(Some(reader)));
    };
    // The bytes read must be the file written: the path may have been swapped in between.
    if !same_inode(&meta, &writable.metadata()?) {
        return Ok(Opened::Rewrite(None));
    }
    Ok(Opened::Target(Target {
        carrier,
        file: Stored {
            file: writable,
            copy: reader.into_bytes(),
            pos: 0,
        },
        path: target,
        notes,
    }))
}

/// The formats updated in place: those whose carrier has the capability.
fn supported(carrier: &dyn Carrier) -> bool {
    carrier.in_place().is_some()
}

/// Writes `label` into the file in place; `None`, having written nothing, when it has no room.
/// The steps are synced when `options.sync` is set ([`Options::sync`]).
#[cfg(feature = "trust")]
fn update(carrier: &dyn Carrier, file: &mut Stored, label: &Label, options: &Options) -> Result<Option<Written>> {
    let Some(in_place) = carrier.in_place() else {
        return Ok(None);
    };
    let file = &mut InPlaceFile {
        file,
        sync: options.sync,
    };
    Ok(match in_place.update(file, label, &options.limits)? {
        Update::InPlace(written) => Some(written),
        Update::Rewrite(_) => None,
    })
}

/// Makes the writes of `steps` on the file, as [`InPlace::update`] does; each step is synced
/// when `options.sync` is set ([`Options::sync`]). `None`: nothing was written, the file
/// needs a rewrite (it cannot be cut as the steps need).
///
/// [`InPlace::update`]: aigc_label_core::in_place::InPlace::update
fn run(steps: &Steps, file: &mut Stored, options: &Options) -> Result<Option<Written>> {
    let file = &mut InPlaceFile {
        file,
        sync: options.sync,
    };
    Ok(match steps.run(file)? {
        Update::InPlace(written) => Some(written),
        Update::Rewrite(_) => None,
    })
}

/// The file of an update in place, syncing its steps or not ([`Options::sync`]).
struct InPlaceFile<'a> {
    file: &'a mut Stored,
    sync: bool,
}

impl std::io::Read for InPlaceFile<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.file.read(buf)
    }
}

impl std::io::Write for InPlaceFile<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl std::io::Seek for InPlaceFile<'_> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.file.seek(pos)
    }
}

impl aigc_label_core::in_place::Storage for InPlaceFile<'_> {
    fn sync(&mut self) -> std::io::Result<()> {
        match self.sync {
            true => self.file.file.sync_data(),
            false => Ok(()),
        }
    }

    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.file.set_len(len)
    }
}

impl Target {
    /// Records the write for [`crate::record_writes`].
    fn record(self, written: &Written) {
        record(FileWrite {
            format: self.carrier.format(),
            path: self.path,
            notes: self.notes,
            method: Method::InPlace,
            bytes_written: written.bytes_written,
        });
    }
}

/// What an attempt at an update in place did.
pub(crate) enum Tried<T> {
    /// The file was updated in place.
    Done(T),
    /// Nothing was written: rewrite instead, reading the file from the reader when there is
    /// one (the attempt read it, so the rewrite need not read it from the disk again).
    Rewrite(Option<FileReader>),
}

/// [`crate::embed_file`] with input and output the same file `path`, in place when it can be;
/// `check`, when given, sees the report first (and is used up).
pub(crate) fn embed(
    path: &Path,
    label: &Label,
    options: &Options,
    check: &mut Option<impl FnOnce(&Report) -> Result<()>>,
) -> Result<Tried<Written>> {
    let mut target = match open(path).map_err(|e| e.with_path(path))? {
        Opened::Target(target) => target,
        Opened::Rewrite(reader) => return Ok(Tried::Rewrite(reader)),
    };
    let written = embed_into(&mut target, label, options, check).map_err(|e| e.with_path(path))?;
    Ok(match written {
        Some(w) => {
            target.record(&w);
            Tried::Done(w)
        }
        // The copy holds the file as it is (whatever was written went to both).
        None => Tried::Rewrite(Some(target.file.into_reader())),
    })
}

/// The update's plan comes first: it only reads, and when the file has no room (a first label)
/// the rewrite takes over at once and validates, inspects and checks on its own, so a first
/// label does that once, not twice. With room, the checks of a rewrite run before the first
/// write, in its order (label, report, `check`, producer), and a plan's error after them.
fn embed_into(
    target: &mut Target,
    label: &Label,
    options: &Options,
    check: &mut Option<impl FnOnce(&Report) -> Result<()>>,
) -> Result<Option<Written>> {
    let plan = match target.carrier.in_place() {
        Some(in_place) => in_place.plan(&mut target.file, label, &options.limits),
        None => return Ok(None),
    };
    if let Ok(Err(_no_room)) = plan {
        return Ok(None);
    }
    aigc_label_core::embed::check_label(label, options)?;
    let report = aigc_label_core::inspect::inspect_with(target.carrier, &mut target.file, options)?;
    if let Some(check) = check.take() {
        check(&report)?;
    }
    aigc_label_core::embed::refuse_other_producers(&report, label)?;
    let Ok(steps) = plan? else {
        return Ok(None);
    };
    let Some(written) = run(&steps, &mut target.file, options)? else {
        return Ok(None);
    };
    aigc_label_core::readback(target.carrier, &mut target.file, label, options)?;
    Ok(Some(written))
}

/// [`crate::propagate_file`] with input and output the same file `path`, in place when it can
/// be. `None`: nothing was written, go on with the rewrite (which decides again).
#[cfg(feature = "trust")]
pub(crate) fn propagate(
    path: &Path,
    request: &aigc_label_trust::propagate::Request<'_>,
    options: &Options,
) -> Result<Option<aigc_label_trust::propagate::Outcome>> {
    let Opened::Target(mut target) = open(path).map_err(|e| e.with_path(path))? else {
        return Ok(None);
    };
    let run = |target: &mut Target| -> Result<Option<aigc_label_trust::propagate::Outcome>> {
        let planned = aigc_label_trust::propagate::plan(target.carrier, &mut target.file, request, options)?;
        let Some(signed) = &planned.signed else {
            // Nothing to write: the file stays as it is.
            return Ok(Some(planned.outcome(None)));
        };
        aigc_label_core::embed::check_label(&signed.label, options)?;
        let Some(written) = update(target.carrier, &mut target.file, &signed.label, options)? else {
            return Ok(None);
        };
        signed.check(target.carrier, &mut target.file, options)?;
        Ok(Some(planned.outcome(Some(written))))
    };
    let outcome = run(&mut target).map_err(|e| e.with_path(path))?;
    if let Some(written) = outcome.as_ref().and_then(|o| o.written.as_ref()) {
        target.record(written);
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The copy and the file agree after every kind of write, and reads see what was written.
    #[test]
    fn a_small_file_held_in_memory_reads_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        let file = OpenOptions::new().read(true).write(true).open(&path).unwrap();
        let mut stored = Stored::new(file).unwrap();
        assert!(stored.copy.is_some(), "a small file is held in memory");
        let mut head = [0u8; 4];
        stored.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"0123");
        stored.seek(SeekFrom::Current(-2)).unwrap();
        stored.write_all(b"ab").unwrap();
        stored.seek(SeekFrom::End(3)).unwrap();
        stored.write_all(b"tail").unwrap();
        stored.seek(SeekFrom::Start(0)).unwrap();
        let mut all = Vec::new();
        stored.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"01ab456789\0\0\0tail");
        assert_eq!(std::fs::read(&path).unwrap(), all, "the file holds what the copy holds");
        assert!(stored.seek(SeekFrom::Current(-100)).is_err());
    }
}
