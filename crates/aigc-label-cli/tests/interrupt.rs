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
