//! `aigc-label` puts GB 45438-2025 implicit labels into AI-generated content and reads them back
//! out of uploaded files.
//!
//! Generation services call [`embed`] (or [`embed_file`]) on what they produce; distribution
//! platforms call [`inspect`] (or [`inspect_file`]) on every upload and act on the
//! [`Report`]'s [`Verdict`]. The format is detected from magic bytes, never from the file name.
//!
//! This crate is a facade: the label model, validation and the [`Carrier`] trait live in
//! [`aigc_label_core`] (re-exported as [`core`]), and each family of formats in an adapter crate,
//! enabled by a cargo feature and re-exported under its name: `image` (PNG, JPEG, WebP, GIF,
//! TIFF, HEIF/AVIF; `stamp` adds
//! explicit labels drawn onto images), `audio` (WAV, MP3, FLAC, Ogg, and audible cues), `video`
//! (MP4/MOV/M4A, Matroska/WebM, FLV, AVI), `text` (Markdown, PDF, OOXML, and text labels),
//! `trust` (signed labels bound to content, verification, the platform's propagation step).
//!
//! One design decision: path writes go to a temporary file in the target's folder, are read back
//! and checked, synced, and only then renamed over the target. A failure or a kill at any moment
//! leaves either the old file or the complete new one, never half of each. A file of at most
//! 1 MiB is read from the disk once, and its output checked in memory and written with one
//! write: one read, one write, one sync of the file and one of its folder.
//!
//! ```no_run
//! use aigc_label::{embed_file, inspect_file, Label, Options, Verdict};
//!
//! let label = Label::new("001191440300708461136T1XGW3", "img-20261123-0001");
//! embed_file("generated.png", "labelled.png", &label, &Options::default())?;
//!
//! let report = inspect_file("labelled.png", &Options::default())?;
//! assert_eq!(report.verdict, Verdict::Compliant);
//! assert_eq!(report.label(), Some(label));
//! # Ok::<(), aigc_label::Error>(())
//! ```
// A panic on uploaded bytes is a crash an uploader can trigger: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::OnceLock;

use aigc_label_core::embed as core_embed;

#[cfg(feature = "audio")]
pub use aigc_label_audio as audio;
pub use aigc_label_core as core;
pub use aigc_label_core::check::{Check, Level, Strictness};
pub use aigc_label_core::{
    Carrier, Error, Found, Label, LabelCopy, LabelValue, Limits, Options, Registry, Report, Result, Verdict, Written,
};
#[cfg(feature = "image")]
pub use aigc_label_image as image;
#[cfg(feature = "text")]
pub use aigc_label_text as text;
#[cfg(feature = "trust")]
pub use aigc_label_trust as trust;
#[cfg(feature = "video")]
pub use aigc_label_video as video;
#[cfg(feature = "watermark")]
pub use aigc_label_watermark as watermark;
#[cfg(all(feature = "watermark", feature = "stamp"))]
pub mod watermark_file;

mod atomic;
pub mod batch;
mod in_place;
#[cfg(feature = "json")]
pub mod json;
#[cfg(feature = "trust")]
pub mod protected;
mod rewrite;

#[cfg(feature = "trust")]
pub use protected::{Verified, embed_signed_file, propagate_file, verify_file, verify_reader};

pub use atomic::{FileWrite, Method, Note, record_writes};
pub use batch::{Batch, EmbedJob, embed_many, inspect_many};

/// Buffer size for file reads and writes: large enough that payload copies are few syscalls.
const IO_BUFFER: usize = 256 << 10;

/// Files up to this size are read whole, with one system call, when opened: carriers seek back
/// and forth (find the label, then copy), and a small file is cheaper held than re-read.
pub(crate) const SMALL_FILE: u64 = 1 << 20;

/// How the file-level functions read files: a file of at most 1 MiB is read whole when opened,
/// so it is read from the disk once however often carriers seek back; a larger one through a
/// buffer that survives the seeks carriers make between headers (see
/// [`aigc_label_core::io::SeekBuf`]), so the bytes read stay about the file's size and memory
/// stays flat whatever the file size.
///
/// Only regular files are opened: a FIFO, a pipe (`/dev/stdin` fed by `cat`), a socket or a
/// device has no end to seek to, and reading it whole could hang or fill memory, so
/// [`FileReader::open`] refuses it before reading a byte.
///
/// Private to the facade: callers get one through [`open_file`].
pub(crate) struct FileReader(Source);

/// Where a [`FileReader`]'s bytes come from.
enum Source {
    /// A small file, read whole; shared with the rewrite's sink, which copies ranges straight
    /// from it ([`FileReader::held`]).
    Whole(std::io::Cursor<Held>),
    /// A larger file, read through a buffer.
    Buffered(aigc_label_core::io::SeekBuf<File>),
}

impl std::fmt::Debug for FileReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Source::Whole(bytes) => write!(f, "FileReader(whole, {} bytes)", bytes.get_ref().0.len()),
            Source::Buffered(_) => f.write_str("FileReader(buffered)"),
        }
    }
}

impl FileReader {
    /// Opens `path`, which must name a regular file (or a link to one).
    ///
    /// # Errors
    /// An [`std::io::ErrorKind::InvalidInput`] error for anything but a regular file; I/O errors
    /// opening the file.
    pub(crate) fn open(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let path = path.as_ref();
        // Checked before opening, since opening a FIFO blocks until a writer comes, and again on
        // the opened file, in case the path was swapped in between (opened without blocking).
        regular(&std::fs::metadata(path)?)?;
        let file = open_without_blocking(path)?;
        let meta = file.metadata()?;
        Self::from_file(file, &meta)
    }

    /// Reads `file`, opened for reading (without blocking, see [`open_without_blocking`]),
    /// whose metadata is `meta`: whole when it is small, else through a buffer.
    ///
    /// # Errors
    /// As [`FileReader::open`].
    pub(crate) fn from_file(mut file: File, meta: &std::fs::Metadata) -> std::io::Result<Self> {
        regular(meta)?;
        if meta.len() <= SMALL_FILE {
            if let Some(bytes) = read_small(&mut file, meta.len())? {
                return Ok(Self::from_bytes(bytes));
            }
        }
        Ok(Self::buffered(file))
    }

    /// A file read through a buffer, whatever its size.
    pub(crate) fn buffered(file: File) -> Self {
        FileReader(Source::Buffered(aigc_label_core::io::SeekBuf::with_capacity(
            IO_BUFFER, file,
        )))
    }

    /// A small file's bytes, already read whole.
    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Self {
        FileReader(Source::Whole(std::io::Cursor::new(Held(std::sync::Arc::new(bytes)))))
    }

    /// The bytes of a file held in memory, shared: a sink copies ranges straight from them
    /// while the carrier reads the same bytes through this reader.
    pub(crate) fn held(&self) -> Option<std::sync::Arc<Vec<u8>>> {
        match &self.0 {
            Source::Whole(bytes) => Some(std::sync::Arc::clone(&bytes.get_ref().0)),
            Source::Buffered(_) => None,
        }
    }

    /// The bytes of a file held in memory, taken back (copied only if a sink still shares
    /// them); `None` for a file read through a buffer.
    pub(crate) fn into_bytes(self) -> Option<Vec<u8>> {
        match self.0 {
            Source::Whole(bytes) => {
                Some(std::sync::Arc::try_unwrap(bytes.into_inner().0).unwrap_or_else(|shared| (*shared).clone()))
            }
            Source::Buffered(_) => None,
        }
    }

    /// The file, when it is read from the disk (not held in memory), for a copy that bypasses
    /// the buffer; the buffer seeks back before its next read.
    pub(crate) fn file_for_copy(&mut self) -> Option<&File> {
        match &mut self.0 {
            Source::Whole(_) => None,
            Source::Buffered(file) => Some(file.get_mut()),
        }
    }

    /// True when the file is read from the disk (not held in memory), so ranges of it can be
    /// copied between files by the kernel.
    pub(crate) fn on_disk(&self) -> bool {
        matches!(self.0, Source::Buffered(_))
    }

    /// The file's size when it is held whole in memory (a small file), so writers can keep a
    /// small output in memory too.
    pub(crate) fn whole_len(&self) -> Option<u64> {
        match &self.0 {
            Source::Whole(bytes) => Some(bytes.get_ref().0.len() as u64),
            Source::Buffered(_) => None,
        }
    }
}

/// A small file's bytes, shared between its reader and a sink copying from them.
struct Held(std::sync::Arc<Vec<u8>>);

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Reads a file whose size was `len` (at most [`SMALL_FILE`]) whole; `None`, with the file back
/// at its start, when it has grown past [`SMALL_FILE`] since.
pub(crate) fn read_small(file: &mut File, len: u64) -> std::io::Result<Option<Vec<u8>>> {
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    let mut bytes = Vec::new();
    // One byte more than the size, so the read that finds the end needs no regrowth.
    bytes
        .try_reserve_exact(len.saturating_add(1))
        .map_err(std::io::Error::other)?;
    bytes.resize(len, 0);
    // The size is known, so one read usually fills it (read_to_end would probe in small steps).
    let mut filled = 0;
    while let Some(rest) = bytes.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        match file.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    bytes.truncate(filled);
    // Whatever the file grew by since its size was taken, up to one byte past the limit.
    (&mut *file)
        .take((SMALL_FILE + 1).saturating_sub(filled as u64))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > SMALL_FILE {
        file.seek(SeekFrom::Start(0))?;
        return Ok(None);
    }
    Ok(Some(bytes))
}

/// Opens `path` for reading; on Unix with `O_NONBLOCK`, so that a FIFO swapped in after the
/// type check does not block the open (the flag changes nothing for regular files).
#[cfg(unix)]
pub(crate) fn open_without_blocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
pub(crate) fn open_without_blocking(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

/// Refuses anything but a regular file, naming what it is.
fn regular(meta: &std::fs::Metadata) -> std::io::Result<()> {
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    let message = if kind.is_dir() {
        "not a regular file but a directory".to_string()
    } else {
        format!(
            "not a regular file but {}; save the stream to a file and name that file",
            special_kind(&kind)
        )
    };
    Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, message))
}

#[cfg(unix)]
fn special_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a FIFO or pipe"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "a special file"
}

impl Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match &mut self.0 {
            Source::Whole(bytes) => bytes.read(buf),
            Source::Buffered(file) => file.read(buf),
        }
    }
}

impl Seek for FileReader {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        match &mut self.0 {
            Source::Whole(bytes) => bytes.seek(pos),
            Source::Buffered(file) => file.seek(pos),
        }
    }
}

/// A file opened by [`open_file`].
pub type OpenFile = Box<dyn aigc_label_core::io::ReadSeek + Send>;

/// Opens `path` for reading as the file-level functions read it: only a regular file (or a
/// link to one) is opened, so a FIFO, a pipe, a device or a socket is refused before a byte is
/// read; a file of at most 1 MiB is read whole, a larger one through a buffer that survives
/// the seeks carriers make.
///
/// # Errors
/// An [`std::io::ErrorKind::InvalidInput`] error for anything but a regular file; I/O errors
/// opening the file.
pub fn open_file(path: impl AsRef<Path>) -> std::io::Result<OpenFile> {
    Ok(Box::new(FileReader::open(path)?))
}

/// The carrier for the file at `path`, from its magic bytes alone (a format without them, such
/// as Markdown without front matter, is `None`; [`inspect_file`] then goes by the extension).
///
/// # Errors
/// Errors opening the file, wrapped in [`Error::WithPath`] with `path`.
pub fn detect_file(path: impl AsRef<Path>) -> Result<Option<&'static dyn Carrier>> {
    let path = path.as_ref();
    let mut reader = FileReader::open(path).map_err(|e| Error::from(e).with_path(path))?;
    Ok(detect(&mut reader).ok())
}

/// Every carrier compiled into this build, in detection order.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        #[allow(unused_mut)]
        let mut registry = Registry::new();
        #[cfg(feature = "image")]
        {
            for carrier in aigc_label_image::carriers() {
                registry = registry.with(carrier);
            }
        }
        #[cfg(feature = "audio")]
        for carrier in aigc_label_audio::carriers() {
            registry = registry.with(carrier);
        }
        #[cfg(feature = "video")]
        for carrier in aigc_label_video::carriers() {
            registry = registry.with(carrier);
        }
        #[cfg(feature = "text")]
        for carrier in aigc_label_text::carriers() {
            registry = registry.with(carrier);
        }
        registry
    })
}

/// The carrier for the format of `input`, detected from its first bytes.
///
/// # Errors
/// [`Error::Unsupported`] when no compiled-in carrier recognises the stream; I/O errors.
pub fn detect<R: Read + Seek>(mut input: R) -> Result<&'static dyn Carrier> {
    aigc_label_core::inspect::detect(registry(), &mut input)
}

/// Finds and validates every label in `input`.
///
/// # Errors
/// [`Error::Unsupported`] for unknown formats, malformed or truncated input, limits exceeded, I/O
/// errors. A readable file whose label is broken is not an error: see [`Report::verdict`].
pub fn inspect<R: Read + Seek>(mut input: R, options: &Options) -> Result<Report> {
    aigc_label_core::inspect(registry(), &mut input, options)
}

/// The carrier for `input`, detected from its first bytes, or, for formats that have none
/// (Markdown without front matter), from the extension of `name` (the file's name, or the name
/// an upload was given).
///
/// # Errors
/// As [`detect`], when neither the bytes nor the name's extension name a format.
pub fn detect_named<R: Read + Seek>(input: R, name: &Path) -> Result<&'static dyn Carrier> {
    match detect(input) {
        Err(Error::Unsupported(why)) => name
            .extension()
            .and_then(|e| e.to_str())
            .and_then(|e| registry().by_extension(e))
            .ok_or(Error::Unsupported(why)),
        other => other,
    }
}

/// The carrier for the file at `path` (see [`detect_named`]) and its opened reader.
fn open_with_carrier(path: &Path) -> Result<(&'static dyn Carrier, FileReader)> {
    let mut reader = FileReader::open(path)?;
    let carrier = detect_named(&mut reader, path)?;
    Ok((carrier, reader))
}

/// [`inspect`] on a file. A file whose format has no magic bytes (Markdown without front
/// matter) is read by the carrier its extension names.
///
/// # Errors
/// As [`inspect`], plus errors opening the file; each wrapped in [`Error::WithPath`] with
/// `path`.
pub fn inspect_file(path: impl AsRef<Path>, options: &Options) -> Result<Report> {
    let path = path.as_ref();
    let (carrier, mut reader) = open_with_carrier(path).map_err(|e| e.with_path(path))?;
    aigc_label_core::inspect::inspect_with(carrier, &mut reader, options).map_err(|e| e.with_path(path))
}

/// Copies `input` to `output` with `label` embedded in the format's carrier.
///
/// `output` is write-only here, so nothing is read back; [`embed_file`], [`embed_seekable`] and
/// [`embed_to_vec`] verify what they wrote. A carrier that plans writes the output while it
/// scans the input, so after an error (another producer's label met part way, a malformed
/// structure) `output` may hold the first part of an output: discard it. ([`embed_file`]
/// removes its temporary file; [`embed_to_vec`] restores the vector.)
///
/// # Errors
/// [`Error::Parameter`] when `label` fails validation at `options.write` strictness,
/// [`Error::AlreadyLabelled`] when the file carries another producer's label, and as [`inspect`].
pub fn embed<R: Read + Seek, W: Write>(
    mut input: R,
    mut output: W,
    label: &Label,
    options: &Options,
) -> Result<Written> {
    let written = aigc_label_core::embed(registry(), &mut input, &mut output, label, options)?;
    output.flush()?;
    Ok(written)
}

/// As [`embed`], then reads the output back and checks that it carries exactly `label`, once.
///
/// # Errors
/// As [`embed`], plus [`Error::Verification`].
pub fn embed_seekable<R: Read + Seek, W: Read + Write + Seek>(
    mut input: R,
    mut output: W,
    label: &Label,
    options: &Options,
) -> Result<Written> {
    let carrier = detect(&mut input)?;
    let start = output.stream_position()?;
    let written = aigc_label_core::embed::embed_with(carrier, &mut input, &mut output, label, options)?;
    output.flush()?;
    output.seek(SeekFrom::Start(start))?;
    let mut window = Window { inner: output, start };
    aigc_label_core::readback(carrier, &mut window, label, options)?;
    Ok(written)
}

/// As [`embed_seekable`], appending the output to `output`: read back and checked there, and
/// `output` left as it was when anything fails. A carrier that plans writes the output while it
/// scans the input, and may write past its guess of where the label goes (cutting the vector
/// back if the guess proves wrong), so the input is read about once.
///
/// # Errors
/// As [`embed_seekable`].
pub fn embed_to_vec<R: Read + Seek>(
    mut input: R,
    output: &mut Vec<u8>,
    label: &Label,
    options: &Options,
) -> Result<Written> {
    let carrier = detect(&mut input)?;
    let start = output.len();
    let result = core_embed::embed_to(
        carrier,
        &mut input,
        &mut aigc_label_core::plan::VecSink::new(output),
        label,
        options,
    )
    .and_then(|written| {
        let mut window = std::io::Cursor::new(output.get(start..).unwrap_or_default());
        aigc_label_core::readback(carrier, &mut window, label, options)?;
        Ok(written)
    });
    if result.is_err() {
        output.truncate(start);
    }
    result
}

/// Embeds `label` into the file at `input`, writing `output` atomically (the two may be the same
/// path for an in-place update).
///
/// When `input` and `output` are one file whose format has room for the label (FLAC or ID3v2
/// padding, `free` boxes in an MP4's label `meta` box, which our writes reserve:
/// [`Limits::label_room`]), the label is updated inside the file with
/// a crash-safe switch, writing about the label's size; [`record_writes`] reports which
/// ([`Method`]).
///
/// The output goes to a temporary file beside `output`, is read back and verified, synced to
/// disk, given the owner, group and mode of an existing `output` (or the mode of `input`), and
/// renamed into place; a symlink at `output` is written through. [`record_writes`] tells what
/// was kept (see [`Note`]).
///
/// # Errors
/// As [`embed_seekable`], plus errors creating, syncing or renaming the temporary file; each
/// wrapped in [`Error::WithPath`] with the file at fault (`input`, or `output` for errors
/// writing it).
pub fn embed_file(
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    label: &Label,
    options: &Options,
) -> Result<Written> {
    embed_atomic(
        input.as_ref(),
        output.as_ref(),
        label,
        options,
        None::<fn(&Report) -> Result<()>>,
    )
}

/// As [`embed_file`], after `check` has seen the input's [`Report`] and let the write go on:
/// for callers with a rule of their own about what may be relabelled (the command line refuses
/// to drop a producer's signature). The report comes from the file opened for the write, so a
/// small input is still read from the disk once.
///
/// # Errors
/// As [`embed_file`], and `check`'s error (wrapped with `input`), with nothing written.
pub fn embed_file_checked(
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    label: &Label,
    options: &Options,
    check: impl FnOnce(&Report) -> Result<()>,
) -> Result<Written> {
    embed_atomic(input.as_ref(), output.as_ref(), label, options, Some(check))
}

/// [`embed_file`], with `check` run on the input's report first when there is one.
fn embed_atomic(
    input: &Path,
    output: &Path,
    label: &Label,
    options: &Options,
    mut check: Option<impl FnOnce(&Report) -> Result<()>>,
) -> Result<Written> {
    // One file: updated in place when its format has room for the label (issue 16).
    let mut held = None;
    if in_place::same_file(input, output) {
        match in_place::embed(output, label, options, &mut check)? {
            in_place::Tried::Done(written) => return Ok(written),
            in_place::Tried::Rewrite(reader) => held = reader,
        }
    }
    atomic::write_from(input, held, output, options.sync, |carrier, reader, out| {
        // The carrier's scan writes the output as it walks, so the input is read once; a
        // refusal (another producer's label, `check`) leaves the temporary file to be removed.
        let mut sink = rewrite::FileSink::new(out, reader);
        let streamed = core_embed::stream(carrier, reader, &mut sink, label, options, |report| match check {
            Some(check) => check(report),
            None => Ok(()),
        })?;
        sink.finish(reader)?;
        if let Some(plan) = &streamed.plan {
            rewrite::check_new_bytes(plan, out)?;
        }
        out.seek(SeekFrom::Start(0))?;
        aigc_label_core::readback(carrier, out, label, options)?;
        Ok((streamed.written, true))
    })
}

/// A view of a stream that starts at `start`, so a verifier sees offset 0 where the output began.
struct Window<S> {
    inner: S,
    start: u64,
}

impl<S: Read> Read for Window<S> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<S: Seek> Seek for Window<S> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let pos = match pos {
            SeekFrom::Start(p) => SeekFrom::Start(self.start.saturating_add(p)),
            other => other,
        };
        let absolute = self.inner.seek(pos)?;
        absolute
            .checked_sub(self.start)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start of the output"))
    }
}
