//! A batch `embed --in-place` killed at random moments leaves every file either the original or
//! the fully labelled version, byte for byte.

use std::io::Cursor;
use std::path::PathBuf;
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

#[test]
fn killed_batch_leaves_each_file_original_or_complete() {
    let root = aigc_label_testutil::workspace_root().join("examples/samples");
    let originals: Vec<(String, Vec<u8>)> = ["sample.png", "sample.jpg"]
        .iter()
        .map(|n| {
            (
                n.rsplit('.').next().unwrap().to_string(),
                std::fs::read(root.join(n)).unwrap(),
            )
        })
        .collect();
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

    // Round 0 runs to the end and measures how long a run takes; later rounds are killed at
    // random moments inside that span.
    let mut span = Duration::ZERO;
    let mut saw_partial_run = false;
    for round in 0..8 {
        let dir = tempfile::tempdir().unwrap();
        let mut expected: Vec<(PathBuf, Vec<u8>, Vec<u8>)> = Vec::new();
        for i in 0..FILES {
            let (ext, bytes) = &originals[i % originals.len()];
            let path = dir.path().join(format!("f{i:04}.{ext}"));
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
            expected.push((path, bytes.clone(), labelled));
        }

        let mut child = Command::new(env!("CARGO_BIN_EXE_aigc-label"))
            .args([
                "embed",
                "--in-place",
                "-q",
                "-j",
                "2",
                "--producer",
                PRODUCER,
                "--produce-id",
                "{stem}",
            ])
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
        if round == 0 {
            span = start.elapsed().max(Duration::from_millis(1));
        }
        let _ = child.kill();
        let status = child.wait().unwrap();

        let (mut done, mut untouched) = (0, 0);
        for (path, original, labelled) in &expected {
            let now = std::fs::read(path).unwrap();
            if &now == labelled {
                done += 1;
            } else if &now == original {
                untouched += 1;
            } else {
                panic!(
                    "round {round} (seed {seed}): {} is neither the original nor the labelled file",
                    path.display()
                );
            }
        }
        eprintln!(
            "round {round}: stopped after {:?} ({status}); {done} labelled, {untouched} original",
            start.elapsed()
        );
        if round == 0 {
            assert_eq!(done, FILES, "an uninterrupted run labels every file");
        }
        saw_partial_run |= done > 0 && untouched > 0;
    }
    assert!(
        saw_partial_run,
        "no kill landed mid-run (seed {seed}); the test did not probe anything"
    );
}

/// `propagate --in-place` on FLAC files our first write labelled (issue 16): the label is updated
/// inside each file (padding, one 4-byte switch), not rewritten. A kill at any moment leaves each
/// file reading as exactly one label, the producer's or the propagated one, never neither and
/// never both; and the audio frames are the same bytes.
#[test]
fn killed_in_place_propagation_on_flac_leaves_the_old_label_or_the_new() {
    killed_in_place_propagation("audio/ffmpeg.flac", "flac", &[]);
}

/// The same for MP3, whose update takes two switches through a `PRIV` frame.
#[test]
fn killed_in_place_propagation_on_mp3_leaves_the_old_label_or_the_new() {
    killed_in_place_propagation("audio/id3v24.mp3", "mp3", &[]);
}

/// The same for MP4, whose label moves between the `free` boxes of its `meta` box with one
/// switch of at most 4 bytes.
#[test]
fn killed_in_place_propagation_on_mp4_leaves_the_old_label_or_the_new() {
    killed_in_place_propagation("video/mp4_faststart.mp4", "mp4", &[]);
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

/// The same for WAV, whose label moves into the `JUNK` room after its `AIGC` chunk with one
/// chunk header switch.
#[test]
fn killed_in_place_propagation_on_wav_leaves_the_old_label_or_the_new() {
    killed_in_place_propagation("audio/pcm16_mono.wav", "wav", &[]);
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
    let original = std::fs::read(
        aigc_label_testutil::workspace_root()
            .join("tests/fixtures")
            .join(fixture),
    )
    .unwrap();
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
    let options = aigc_label::Options::default();
    let mut span = Duration::ZERO;
    let mut saw_partial_run = false;
    for round in 0..8 {
        let dir = tempfile::tempdir().unwrap();
        let mut expected = Vec::new();
        for i in 0..FILES {
            let path = dir.path().join(format!("f{i:04}.{ext}"));
            let old = aigc_label::Label::new(PRODUCER, format!("f{i:04}"));
            let mut labelled = Vec::new();
            aigc_label::embed(Cursor::new(&original), &mut labelled, &old, &options).unwrap();
            std::fs::write(&path, &labelled).unwrap();
            let new = old.clone().propagated(PLATFORM, format!("f{i:04}"));
            let inode = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&path).unwrap());
            expected.push((path, labelled.len(), old, new, inode));
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_aigc-label"))
            .args([
                "propagate",
                "--in-place",
                "-q",
                "-j",
                "2",
                "--platform",
                PLATFORM,
                "--propagate-id",
                "{stem}",
            ])
            .args(extra)
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
        if round == 0 {
            span = start.elapsed().max(Duration::from_millis(1));
        }
        let _ = child.kill();
        let status = child.wait().unwrap();

        let (mut new_count, mut old_count) = (0, 0);
        for (path, len, old, new, inode) in &expected {
            // Updated in place: the same file, not a renamed copy.
            let now_inode = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).unwrap());
            assert_eq!(
                now_inode,
                *inode,
                "round {round}: {} was rewritten, not updated in place",
                path.display()
            );
            let now = std::fs::read(path).unwrap();
            assert_eq!(
                now.len(),
                *len,
                "round {round} (seed {seed}): {} changed size",
                path.display()
            );
            let report = aigc_label::inspect(Cursor::new(&now), &options).unwrap();
            match report.label() {
                Some(l) if &l == new => new_count += 1,
                Some(l) if &l == old => old_count += 1,
                other => panic!(
                    "round {round} (seed {seed}): {} reads as {other:?} ({} copies)",
                    path.display(),
                    report.copies.len()
                ),
            }
        }
        eprintln!(
            "round {round}: stopped after {:?} ({status}); {new_count} propagated, {old_count} as before",
            start.elapsed()
        );
        if round == 0 {
            assert_eq!(new_count, FILES, "an uninterrupted run propagates every file");
        }
        saw_partial_run |= new_count > 0 && old_count > 0;
    }
    assert!(
        saw_partial_run,
        "no kill landed mid-run (seed {seed}); the test did not probe anything"
    );
}
