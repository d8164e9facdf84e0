//! A batch killed at random moments leaves every file as it was or as the command makes it, never
//! in between: `embed --in-place` (atomic rewrites) byte for byte, and `propagate --in-place`
//! (updates inside the file) reading as exactly one label, the old or the new.

use std::io::Cursor;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PRODUCER: &str = "001191440300708461136T1XGW3";
const FILES: usize = 120;

/// A small xorshift generator: the test prints its seed so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Runs `aigc-label ARGS DIR` over a fresh folder of [`FILES`] files made by `setup(dir, i)` in
/// 8 rounds: round 0 runs to the end and measures how long a run takes; later rounds are killed
/// at a random moment inside the shortest run seen. After each, `done(file, context)` says whether a file
/// reads as the command makes it (`true`) or as it was (`false`), and panics on anything else.
fn kill_rounds<T>(args: &[&str], setup: impl Fn(&Path, usize) -> T, done: impl Fn(&T, &str) -> bool) {
    let seed = std::env::var("KILL_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("KILL_TEST_SEED={seed}");
    let mut rng = Rng(seed);
    let mut span = Duration::ZERO;
    let mut saw_partial_run = false;
    for round in 0..8 {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<T> = (0..FILES).map(|i| setup(dir.path(), i)).collect();
        let mut child = Command::new(env!("CARGO_BIN_EXE_aigc-label"))
            .args(args)
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let delay = if round == 0 {
            Duration::MAX
        } else {
            Duration::from_micros(rng.below(span.as_micros() as u64))
        };
        while start.elapsed() < delay && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_micros(200));
        }
        // A run that ended by itself bounds the span: the first run is often the slowest (cold
        // caches), and a span longer than a run would leave later kills landing after it.
        if child.try_wait().unwrap().is_some() {
            let took = start.elapsed().max(Duration::from_millis(1));
            span = if round == 0 { took } else { span.min(took) };
        }
        let _ = child.kill();
        let status = child.wait().unwrap();

        let context = format!("round {round} (seed {seed})");
        let finished = files.iter().filter(|f| done(f, &context)).count();
        let (after, before) = (finished, FILES - finished);
        eprintln!(
            "round {round}: stopped after {:?} ({status}); {after} done, {before} as before",
            start.elapsed()
        );
        if round == 0 {
            assert_eq!(after, FILES, "an uninterrupted run does every file");
        }
        saw_partial_run |= after > 0 && before > 0;
    }
    assert!(
        saw_partial_run,
        "no kill landed mid-run (seed {seed}); the test did not probe anything"
    );
}

#[test]
fn killed_batch_leaves_each_file_original_or_complete() {
    let root = aigc_label_testutil::workspace_root().join("examples/samples");
    let originals: Vec<(&str, Vec<u8>)> = [("png", "sample.png"), ("jpg", "sample.jpg")]
        .into_iter()
        .map(|(ext, n)| (ext, std::fs::read(root.join(n)).unwrap()))
        .collect();
    let args = [
        "embed",
        "--in-place",
        "-q",
        "-j",
        "2",
        "--producer",
        PRODUCER,
        "--produce-id",
        "{stem}",
    ];
    let setup = |dir: &Path, i: usize| {
        let (ext, bytes) = &originals[i % originals.len()];
        let path = dir.join(format!("f{i:04}.{ext}"));
        std::fs::write(&path, bytes).unwrap();
        let label = aigc_label::Label::new(PRODUCER, format!("f{i:04}"));
        let mut labelled = Vec::new();
        aigc_label::embed(
            Cursor::new(bytes),
            &mut labelled,
            &label,
            &aigc_label::Options::default(),
        )
        .unwrap();
        (path, bytes.clone(), labelled)
    };
    kill_rounds(&args, setup, |(path, original, labelled), context| {
        let now = std::fs::read(path).unwrap();
        assert!(
            &now == labelled || &now == original,
            "{context}: {} is neither the original nor the labelled file",
            path.display()
        );
        &now == labelled
    });
}

/// `propagate --in-place` on files our first write labelled (issue 16): the label is updated
/// inside each file, not rewritten. A kill at any moment leaves each file reading as exactly one
/// label, the producer's or the propagated one, never neither and never both, at its size and
/// inode. FLAC: padding and one 4-byte switch; MP3: two switches through a `PRIV` frame; MP4:
/// the label moves between the `free` boxes of its `meta` box with one switch of at most 4 bytes.
#[test]
fn killed_in_place_propagation_leaves_the_old_label_or_the_new() {
    for (fixture, ext) in [
        ("audio/ffmpeg.flac", "flac"),
        ("audio/id3v24.mp3", "mp3"),
        ("video/mp4_faststart.mp4", "mp4"),
    ] {
        eprintln!("{fixture}");
        killed_in_place_propagation(fixture, ext, &[]);
    }
}

/// The same for JPEG, whose new XMP segment goes into the room segment next to the old one,
/// with one 3-byte switch (segment length and identifier).
#[test]
fn killed_in_place_propagation_on_jpeg_leaves_the_old_label_or_the_new() {
    killed_in_place_propagation("jpeg/exif-icc-xmp.jpg", "jpg", &[]);
}

/// The same for WebP, whose new `XMP ` chunk goes into the `JUNK` room next to the old one, with
/// one 8-byte switch (FourCC and size).
#[test]
fn killed_in_place_propagation_on_webp_leaves_the_old_label_or_the_new() {
    killed_in_place_propagation("webp/icc-exif.webp", "webp", &[]);
}

/// The same for PNG, whose new `iTXt` chunk goes into the `roOm` chunk after the old one in
/// writes that each keep the room's CRC, with one 12-byte switch (the `paSt` chunk's length and
/// first data bytes) that makes the old chunk part of `paSt`; pngcheck finds every CRC right in
/// every killed file.
#[test]
fn killed_in_place_propagation_on_png_leaves_the_old_label_or_the_new() {
    killed_in_place_propagation("png/rgb.png", "png", &[]);
}

/// The same for WAV, whose label moves into the `JUNK` room after its `AIGC` chunk with one
/// chunk header switch.
#[test]
fn killed_in_place_propagation_on_wav_leaves_the_old_label_or_the_new() {
    killed_in_place_propagation("audio/pcm16_mono.wav", "wav", &[]);
}

/// The same for Matroska, whose new `Tag` goes into the `Void` inside the label's `Tags`
/// element, with one switch of an element header.
#[test]
fn killed_in_place_propagation_on_matroska_leaves_the_old_label_or_the_new() {
    killed_in_place_propagation("video/mkv_plain.mkv", "mkv", &[]);
}

/// The same for TIFF, whose new XMP packet goes past the end of the file (or into the room an
/// earlier update left) before one IFD entry is flipped to it.
#[test]
fn killed_in_place_propagation_on_tiff_leaves_the_old_label_or_the_new() {
    killed_in_place_propagation("tiff/le.tif", "tif", &[]);
}

/// The same for PDF, whose file ends with our own update: a copy of the new update goes past
/// the end (its tail first), one switch of the `startxref` offset, the update where the rewrite
/// puts it, and the file cut after it; the finished file is the rewrite's bytes.
#[test]
fn killed_in_place_propagation_on_pdf_leaves_the_old_label_or_the_new() {
    killed_in_place_propagation("text/classic.pdf", "pdf", &[]);
}

/// The same for HEIF, whose new XMP packet goes into the room of the label's own `mdat` before
/// the item's `iloc` extent is flipped to it.
#[test]
fn killed_in_place_propagation_on_heif_leaves_the_old_label_or_the_new() {
    killed_in_place_propagation("heif/rgb.heic", "heic", &[]);
}

/// Without syncs (`--no-sync`) the writes come in the same order, so a killed process still
/// leaves the old label or the new one (durability across a power cut is what it gives up).
#[test]
fn killed_in_place_propagation_without_sync_leaves_the_old_label_or_the_new() {
    killed_in_place_propagation("audio/pcm16_mono.wav", "wav", &["--no-sync"]);
    killed_in_place_propagation("video/mp4_faststart.mp4", "mp4", &["--no-sync"]);
}

fn killed_in_place_propagation(fixture: &str, ext: &str, extra: &[&str]) {
    const PLATFORM: &str = "001191110108551385082Q20000";
    let original = std::fs::read(aigc_label_testutil::fixture(fixture)).unwrap();
    let options = aigc_label::Options::default();
    let mut args = vec![
        "propagate",
        "--in-place",
        "-q",
        "-j",
        "2",
        "--platform",
        PLATFORM,
        "--propagate-id",
        "{stem}",
    ];
    args.extend_from_slice(extra);
    let setup = |dir: &Path, i: usize| {
        let path = dir.join(format!("f{i:04}.{ext}"));
        let old = aigc_label::Label::new(PRODUCER, format!("f{i:04}"));
        let mut labelled = Vec::new();
        aigc_label::embed(Cursor::new(&original), &mut labelled, &old, &options).unwrap();
        std::fs::write(&path, &labelled).unwrap();
        let new = old.clone().propagated(PLATFORM, format!("f{i:04}"));
        let inode = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&path).unwrap());
        (path, labelled.len(), old, new, inode)
    };
    kill_rounds(&args, setup, |(path, len, old, new, inode), context| {
        // Updated in place: the same file, not a renamed copy.
        let now_inode = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).unwrap());
        assert_eq!(
            now_inode,
            *inode,
            "{context}: {} was rewritten, not updated in place",
            path.display()
        );
        let now = std::fs::read(path).unwrap();
        // A TIFF update appends its packet the first time (the room it leaves is reused later);
        // a PDF one puts a copy of its update past the end before it cuts the file after the
        // update at its place.
        let grows = ext == "tif" && now.len() > *len;
        assert!(
            now.len() == *len || grows || ext == "pdf",
            "{context}: {} changed size",
            path.display()
        );
        // PNG: every chunk's CRC holds at every moment, the room's during step 1 included.
        if let Some(pngcheck) = aigc_label_testutil::tool("pngcheck").filter(|_| ext == "png") {
            let out = std::process::Command::new(pngcheck).arg(path).output().unwrap();
            assert!(
                out.status.success(),
                "{context}: pngcheck: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        let report = aigc_label::inspect(Cursor::new(&now), &options).unwrap();
        match report.label() {
            Some(l) if &l == new => true,
            Some(l) if &l == old => false,
            other => panic!(
                "{context}: {} reads as {other:?} ({} copies)",
                path.display(),
                report.copies.len()
            ),
        }
    });
}
