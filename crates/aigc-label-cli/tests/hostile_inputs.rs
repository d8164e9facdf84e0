//! Non-regular inputs named on the command line: a device, a named FIFO nobody writes to, a
//! pipe (`cat f | aigc-label inspect /dev/stdin`), an endless pipe. Each is refused with a
//! message that says what it is, exit status 3, no output written, and neither a hang nor
//! unbounded memory (see README, "Non-regular inputs").
#![cfg(unix)]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use common::{PRODUCER, bin, code, sample};

/// Waits for `child`, killing it and failing the test if it is still running after a minute:
/// a guard against a hang, not a measure of speed.
fn finish(mut child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("aigc-label hung on a non-regular input");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// Runs `args` with standard input closed.
fn run(args: &[&str]) -> Output {
    let child = bin()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run aigc-label");
    finish(child)
}

/// Asserts exit status 3 and a message naming `what`.
fn assert_refused(out: &Output, what: &str) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(code(out), 3, "{text}");
    assert!(text.contains("not a regular file"), "{text}");
    assert!(text.contains(what), "{text}");
}

fn embed_args<'a>(input: &'a str, output: &'a str) -> Vec<&'a str> {
    vec![
        "embed",
        input,
        "-o",
        output,
        "--producer",
        PRODUCER,
        "--produce-id",
        "hostile-1",
    ]
}

#[test]
fn a_device_is_refused_by_inspect_embed_propagate_and_stamp() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let out = out.to_str().unwrap();
    assert_refused(&run(&["inspect", "/dev/zero"]), "character device");
    assert_refused(&run(&embed_args("/dev/zero", out)), "character device");
    assert_refused(
        &run(&[
            "propagate",
            "/dev/zero",
            "-o",
            out,
            "--platform",
            common::PLATFORM,
            "--propagate-id",
            "p-1",
        ]),
        "character device",
    );
    assert_refused(&run(&["stamp", "/dev/zero", "-o", out]), "character device");
    assert!(!Path::new(out).exists(), "an output was written");
}

#[test]
fn a_fifo_nobody_writes_to_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("upload.png");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let fifo = fifo.to_str().unwrap();
    assert_refused(&run(&["inspect", fifo]), "FIFO or pipe");
    let out = dir.path().join("out.png");
    assert_refused(&run(&embed_args(fifo, out.to_str().unwrap())), "FIFO or pipe");
    assert!(!out.exists());
}

/// Runs `aigc-label inspect /dev/stdin` with `feed` writing into its standard input.
fn inspect_stdin(feed: impl FnOnce(&mut dyn Write) + Send + 'static) -> Output {
    let mut child = bin()
        .args(["inspect", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run aigc-label");
    let mut stdin = child.stdin.take().unwrap();
    // The command refuses without reading, so the writer stops on a broken pipe.
    let writer = std::thread::spawn(move || feed(&mut stdin));
    let out = finish(child);
    writer.join().unwrap();
    out
}

#[test]
fn a_file_piped_to_dev_stdin_is_refused() {
    let png = std::fs::read(sample("sample.png")).unwrap();
    let out = inspect_stdin(move |w| {
        let _ = w.write_all(&png);
    });
    assert_refused(&out, "FIFO or pipe");
}

#[test]
fn an_endless_pipe_is_refused_without_reading_it() {
    let out = inspect_stdin(|w| {
        let zeros = vec![0u8; 64 << 10];
        while w.write_all(&zeros).is_ok() {}
    });
    assert_refused(&out, "FIFO or pipe");
}

#[test]
fn a_regular_file_redirected_to_stdin_is_read() {
    let file = std::fs::File::open(sample("sample.png")).unwrap();
    let child = bin()
        .args(["inspect", "/dev/stdin"])
        .stdin(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = finish(child);
    assert_ne!(code(&out), 3, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("png"));
}

#[test]
fn stamp_stops_an_endless_markdown_pipe_at_its_size_limit() {
    // Markdown needs the whole document to place its label, so `stamp -` holds it in memory:
    // an endless pipe must stop at the documented bound (64 MiB), not exhaust memory.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.md");
    let mut child = bin()
        .args(["stamp", "-", "--kind", "markdown", "-o"])
        .arg(&out)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run aigc-label");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let line = b"# words\n".repeat(8 << 10);
        while stdin.write_all(&line).is_ok() {}
    });
    let output = finish(child);
    writer.join().unwrap();
    assert_eq!(code(&output), 3, "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("document size"));
    assert!(!out.exists());
}
