//! Bounded work per upload: for every container family, a file of more than 8 MiB made of
//! hundreds of thousands of (nearly) empty structures is inspected and labelled while counting
//! the bytes read, both those the carrier asks for and those that reach the file under the
//! facade's buffer. Each pass must read about the file's size, not a buffer per structure.
//! Times are in `benches/hostile.rs`.

use std::io::{self, Cursor, Read, Seek, SeekFrom};

use aigc_label::core::io::SeekBuf;
use aigc_label::{Options, Verdict};

#[path = "hostile/files.rs"]
mod files;

use files::{Hostile, MIN_SIZE};

/// Counts the bytes read through it.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl<R: Seek> Seek for Counted<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// The stack a file-level call reads through, counted above the buffer (what the carrier asks
/// for) and below it (what reaches the file).
type Stack<'a> = Counted<SeekBuf<Counted<Cursor<&'a [u8]>>>>;

fn stack(bytes: &[u8]) -> Stack<'_> {
    let file = Counted {
        inner: Cursor::new(bytes),
        read: 0,
    };
    Counted {
        inner: SeekBuf::with_capacity(256 << 10, file),
        read: 0,
    }
}

/// (asked for by the carrier, read from the file).
fn counts(stack: &Stack<'_>) -> (u64, u64) {
    (stack.read, stack.inner.get_ref().read)
}

/// Bytes one pass over a file of `len` bytes may read from it: the file once, give or take the
/// buffer's refills around it.
fn file_allowance(len: u64) -> u64 {
    len + len / 16 + (1 << 20)
}

/// Bytes one pass may ask the buffer for: carriers read a little around each structure (a
/// 16-byte window over a 13-byte GIF comment), never a buffer's worth.
fn asked_allowance(len: u64) -> u64 {
    2 * len + (1 << 20)
}

/// Passes an embed makes over the file. A carrier that streams its plan makes one: its scan
/// writes each structure's bytes to the output while they are still in the buffer (see
/// [`aigc_label::core::plan`]), guessing where the label goes when that depends on what comes
/// later. A carrier that plans without streaming makes two: its one scan (labels found and
/// output planned together), then the copy of the planned ranges; the scan reads only
/// headers, so on real media (payload, not structure) the file is read about once (see
/// `planned_embeds_read_a_payload_once`). The others make three: the inspection for another
/// producer's label, then the carrier's own check and plan, then the copy; except PDF, whose
/// inspection reads the trailer and cross-reference data only, so that embedding reads the file
/// once, in its write.
fn embed_passes(name: &str) -> u64 {
    if STREAMED.iter().any(|p| name.starts_with(p)) {
        1
    } else if PLANNED.iter().any(|p| name.starts_with(p)) {
        2
    } else {
        3
    }
}

/// The families whose carriers stream their plans.
const STREAMED: [&str; 16] = [
    "mp4", "png", "jpeg", "gif", "webp", "wav", "ogg", "mp3", "flv", "pdf", "avi RIFF", "flac", "matroska", "ooxml",
    "tiff", "avif",
];

/// The families whose carriers plan their writes.
const PLANNED: [&str; 15] = [
    "mp4", "png", "jpeg", "gif", "webp", "avif", "wav", "avi RIFF", "flv", "ogg", "matroska", "flac", "mp3", "ooxml",
    "tiff",
];

fn check(hostile: Hostile) {
    let Hostile {
        name,
        structures,
        bytes,
    } = hostile;
    let len = bytes.len() as u64;
    assert!(bytes.len() >= MIN_SIZE, "{name}: only {len} bytes");
    assert!(structures >= 20_000, "{name}: only {structures} structures");
    let options = Options::default();
    let label = aigc_label_testutil::sample_label();

    let mut input = stack(&bytes);
    let report = aigc_label::inspect(&mut input, &options).unwrap_or_else(|e| panic!("{name}: inspect: {e}"));
    assert_eq!(report.verdict, Verdict::Unlabelled, "{name}");
    let (asked, read) = counts(&input);
    eprintln!("{name}: {len} bytes, {structures} structures; inspect asked {asked}, read {read}");
    assert!(
        asked <= asked_allowance(len),
        "{name}: inspect asked for {asked} bytes of {len}"
    );
    assert!(
        read <= file_allowance(len),
        "{name}: inspect read {read} bytes of {len}"
    );

    let mut input = stack(&bytes);
    let mut output = Vec::new();
    aigc_label::embed_to_vec(&mut input, &mut output, &label, &options)
        .unwrap_or_else(|e| panic!("{name}: embed: {e}"));
    let (asked, read) = counts(&input);
    eprintln!("{name}: embed asked {asked}, read {read}, wrote {}", output.len());
    let passes = embed_passes(name);
    // A streaming scan asks the buffer for each structure twice: to read it, then to copy it.
    assert!(
        asked <= passes * asked_allowance(len) + len,
        "{name}: embed asked for {asked} bytes of {len}"
    );
    assert!(
        read <= passes * file_allowance(len),
        "{name}: embed read {read} bytes of {len}"
    );
    assert!(output.len() as u64 >= len, "{name}: the output lost bytes");

    let out_len = output.len() as u64;
    let mut labelled = stack(&output);
    let report = aigc_label::inspect(&mut labelled, &options).unwrap_or_else(|e| panic!("{name}: re-inspect: {e}"));
    assert_eq!(report.verdict, Verdict::Compliant, "{name}");
    assert_eq!(report.label(), Some(label), "{name}");
    let (asked, read) = counts(&labelled);
    assert!(
        asked <= asked_allowance(out_len),
        "{name}: re-inspect asked for {asked} bytes"
    );
    assert!(read <= file_allowance(out_len), "{name}: re-inspect read {read} bytes");
}

macro_rules! family {
    ($($test:ident => $build:ident,)*) => {$(
        #[test]
        fn $test() {
            check(files::$build());
        }
    )*};
}

family! {
    png_chunks => png,
    jpeg_appn_segments => jpeg,
    wav_riff_chunks => wav,
    webp_riff_chunks => webp,
    avi_riff_chunks => avi,
    gif_extension_blocks => gif,
    flv_tags => flv,
    ogg_pages => ogg,
    mp4_boxes => mp4,
    avif_boxes => avif,
    matroska_ebml_elements => matroska,
    tiff_ifds => tiff,
    flac_metadata_blocks => flac,
    mp3_id3_frames => mp3,
    pdf_objects => pdf,
    ooxml_zip_entries => docx,
}

/// A file that is mostly payload, as real media is (one structure of 8 MiB after a fixture's
/// own): a carrier that plans scans the headers once and copies the rest, so embed reads the
/// file about once, the payload in the copy only.
#[test]
fn planned_embeds_read_a_payload_once() {
    let payload = vec![0x5a; files::MIN_SIZE];
    let mp4 = {
        let mut bytes = std::fs::read(aigc_label_testutil::fixture("video/mp4_faststart.mp4")).unwrap();
        bytes.extend_from_slice(&(payload.len() as u32 + 8).to_be_bytes());
        bytes.extend_from_slice(b"free");
        bytes.extend_from_slice(&payload);
        bytes
    };
    let png = {
        let base = std::fs::read(aigc_label_testutil::fixture("png/rgb.png")).unwrap();
        let iend = base.len() - 12;
        assert_eq!(&base[iend + 4..iend + 8], b"IEND");
        let mut bytes = base[..iend].to_vec();
        bytes.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        bytes.extend_from_slice(b"prIv");
        bytes.extend_from_slice(&payload);
        bytes.extend_from_slice(&crc32fast::hash(&[&b"prIv"[..], &payload].concat()).to_be_bytes());
        bytes.extend_from_slice(&base[iend..]);
        bytes
    };
    let label = aigc_label_testutil::sample_label();
    for (name, bytes) in [("mp4", mp4), ("png", png)] {
        let len = bytes.len() as u64;
        let mut input = stack(&bytes);
        let mut output = Vec::new();
        aigc_label::embed(&mut input, &mut output, &label, &Options::default()).unwrap();
        let (asked, read) = counts(&input);
        eprintln!("{name} with an 8 MiB payload: {len} bytes; embed asked {asked}, read {read}");
        assert!(
            asked <= len + (1 << 20),
            "{name}: embed asked for {asked} bytes of {len}"
        );
        assert!(read <= file_allowance(len), "{name}: embed read {read} bytes of {len}");
        let report = aigc_label::inspect(Cursor::new(&output), &Options::default()).unwrap();
        assert_eq!(report.label(), Some(label.clone()), "{name}");
    }
}

/// The same stack on real files: `inspect_file` and `embed_file` (whose read-back check goes
/// through the atomic writer's buffered stream) handle a worst case and agree with each other.
#[test]
fn the_file_functions_handle_a_worst_case() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("many-chunks.png");
    let output = dir.path().join("labelled.png");
    let bytes = files::png().bytes;
    std::fs::write(&input, &bytes).unwrap();
    let options = Options::default();
    let label = aigc_label_testutil::sample_label();
    let report = aigc_label::inspect_file(&input, &options).unwrap();
    assert_eq!(report.verdict, Verdict::Unlabelled);
    let written = aigc_label::embed_file(&input, &output, &label, &options).unwrap();
    assert_eq!(written.bytes_written, std::fs::metadata(&output).unwrap().len());
    let report = aigc_label::inspect_file(&output, &options).unwrap();
    assert_eq!(report.label(), Some(label));
    // Everything but the label's chunk and our chunks around it (the 16-byte `paSt` before it,
    // the `roOm` after it, for later updates in place) is the input, byte for byte.
    let out = std::fs::read(&output).unwrap();
    let range = written.label_range.start as usize..written.label_range.end as usize;
    assert_eq!(&out[range.start - 12..range.start - 8], b"paSt");
    assert_eq!(&out[range.end + 4..range.end + 8], b"roOm");
    let room = u32::from_be_bytes(out[range.end..range.end + 4].try_into().unwrap()) as usize + 12;
    assert_eq!([&out[..range.start - 16], &out[range.end + room..]].concat(), bytes);
}

/// Non-regular inputs: a FIFO, a pipe, a device or a socket has no end to seek to, and reading
/// one whole could hang or fill memory, so the file-level functions refuse it before reading.
#[cfg(unix)]
mod non_regular {
    use std::path::{Path, PathBuf};
    use std::sync::mpsc;
    use std::time::Duration;

    use aigc_label::{Error, Options, embed_file, inspect_file};

    /// Runs `f` on another thread; a call that blocks (opening a FIFO nobody writes to) fails
    /// the test instead of hanging it.
    fn without_hanging<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the call blocked on a non-regular input")
    }

    /// Inspect and embed both refuse `path` with an error naming `what`, and embed writes
    /// nothing.
    fn refused(path: PathBuf, what: &'static str) {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("out");
        let (inspected, embedded) = {
            let (path, output) = (path.clone(), output.clone());
            without_hanging(move || {
                let options = Options::default();
                let label = aigc_label_testutil::sample_label();
                (
                    inspect_file(&path, &options),
                    embed_file(&path, &output, &label, &options),
                )
            })
        };
        for result in [inspected.map(|_| ()), embedded.map(|_| ())] {
            // The file functions name the path; what was refused is the error inside.
            if let Err(e) = &result {
                assert_eq!(e.path(), Some(path.as_path()), "{e}");
            }
            match result.as_ref().map_err(Error::without_path) {
                Err(Error::Io(e)) => {
                    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{}: {e}", path.display());
                    assert!(e.to_string().contains(what), "{}: {e}", path.display());
                }
                other => panic!("{}: expected a refusal, got {other:?}", path.display()),
            }
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "embed wrote something"
        );
    }

    #[test]
    fn a_device_is_refused() {
        refused(PathBuf::from("/dev/zero"), "character device");
    }

    #[test]
    fn a_fifo_nobody_writes_to_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        refused(fifo, "FIFO or pipe");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_pipe_is_refused() {
        use std::os::fd::AsRawFd;
        use std::process::{Command, Stdio};
        // `cat` copies a pipe we hold the write end of into a pipe we name by its descriptor,
        // as `cat f | aigc-label inspect /dev/stdin` would.
        let mut cat = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = cat.stdout.take().unwrap();
        let path = PathBuf::from(format!("/proc/self/fd/{}", stdout.as_raw_fd()));
        refused(path, "FIFO or pipe");
        drop(cat.stdin.take());
        cat.wait().unwrap();
    }

    #[test]
    fn a_socket_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("socket");
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        refused(path, "socket");
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        refused(dir.path().to_path_buf(), "a directory");
    }

    #[test]
    fn a_link_to_a_regular_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link.png");
        let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/samples/sample.png");
        std::os::unix::fs::symlink(target, &link).unwrap();
        let report = inspect_file(&link, &Options::default()).unwrap();
        assert_eq!(report.format, "png");
    }
}

/// A PNG whose XMP chunk comes after the image data, behind 8 MiB of empty chunks: the
/// streaming scan guesses a new packet before the first `IDAT` and writes on, then meets the
/// packet the label must merge, cuts the output back and writes the rest again. The output is
/// the carrier's two-pass output, byte for byte, and the file is read at most twice.
#[test]
fn a_png_whose_packet_comes_after_the_image_is_restarted_once() {
    let base = std::fs::read(aigc_label_testutil::fixture("png/label-xmp-after-idat.png")).unwrap();
    let idat = base.windows(4).position(|w| w == b"IDAT").unwrap() - 4;
    let xmp = base.windows(4).rposition(|w| w == b"iTXt").unwrap() - 4;
    assert!(idat < xmp, "the fixture's packet follows its image data");
    let mut chunk = vec![0, 0, 0, 0];
    chunk.extend_from_slice(b"hoSt");
    chunk.extend_from_slice(&crc32fast::hash(b"hoSt").to_be_bytes());
    let bytes = [&base[..xmp], &chunk.repeat(MIN_SIZE / chunk.len() + 1), &base[xmp..]].concat();
    let len = bytes.len() as u64;
    let options = Options::default();
    // The fixture's own producer, relabelling its file.
    let old = aigc_label::inspect(Cursor::new(&bytes), &options)
        .unwrap()
        .label()
        .unwrap();
    let label = aigc_label::Label::new(old.content_producer.clone(), "restarted");

    let mut expected = Vec::new();
    aigc_label::Carrier::write(
        &aigc_label::image::Png,
        &mut Cursor::new(&bytes),
        &mut expected,
        &label,
        &options.limits,
    )
    .unwrap();
    let mut input = stack(&bytes);
    let mut output = Vec::new();
    aigc_label::embed_to_vec(&mut input, &mut output, &label, &options).unwrap();
    let (asked, read) = counts(&input);
    eprintln!("png with its packet after 8 MiB: {len} bytes; embed asked {asked}, read {read}");
    assert!(
        output == expected,
        "the restarted output differs from the two-pass output"
    );
    assert!(read > len + (1 << 20), "no restart: read {read} of {len}");
    assert!(read <= 2 * file_allowance(len), "embed read {read} bytes of {len}");
    let report = aigc_label::inspect(Cursor::new(&output), &options).unwrap();
    assert_eq!(report.label(), Some(label));
}

/// Another producer's label met late in a streamed write (after 2 MiB of output were written):
/// the write is refused, and neither a file nor a partial vector is left behind.
#[test]
fn a_write_refused_part_way_leaves_nothing() {
    let base = std::fs::read(aigc_label_testutil::fixture("png/label-xmp-after-idat.png")).unwrap();
    let xmp = base.windows(4).rposition(|w| w == b"iTXt").unwrap() - 4;
    let mut chunk = vec![0, 0, 0, 0];
    chunk.extend_from_slice(b"hoSt");
    chunk.extend_from_slice(&crc32fast::hash(b"hoSt").to_be_bytes());
    let bytes = [&base[..xmp], &chunk.repeat((2 << 20) / chunk.len()), &base[xmp..]].concat();
    let options = Options::default();
    let theirs = aigc_label::inspect(Cursor::new(&bytes), &options)
        .unwrap()
        .label()
        .unwrap();
    let producer = ["001191440300708461136T1XGW3", "001191440300708461136T1XGW9"]
        .into_iter()
        .find(|p| *p != theirs.content_producer)
        .unwrap();
    let label = aigc_label::Label::new(producer, "refused");

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("theirs.png");
    std::fs::write(&input, &bytes).unwrap();
    let output = dir.path().join("out").join("ours.png");
    std::fs::create_dir(output.parent().unwrap()).unwrap();
    let result = aigc_label::embed_file(&input, &output, &label, &options);
    assert!(
        matches!(
            result.as_ref().map_err(aigc_label::Error::without_path),
            Err(aigc_label::Error::AlreadyLabelled { .. })
        ),
        "{result:?}"
    );
    assert_eq!(
        std::fs::read_dir(output.parent().unwrap()).unwrap().count(),
        0,
        "a file was left"
    );

    let mut vec = b"kept".to_vec();
    let result = aigc_label::embed_to_vec(Cursor::new(&bytes), &mut vec, &label, &options);
    assert!(
        matches!(result, Err(aigc_label::Error::AlreadyLabelled { .. })),
        "{result:?}"
    );
    assert_eq!(vec, b"kept");
}
