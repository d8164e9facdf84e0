//! One run of ffmpeg or ffprobe: arguments, pipes, a bounded stderr tail and progress.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::Error;

/// How much of stderr an error message keeps: the last lines, up to this many bytes.
const STDERR_TAIL: usize = 8 * 1024;
/// Longest stderr line kept whole; longer ones are cut (a crafted file name can be long).
const LINE_MAX: usize = 1024;

/// A progress report, parsed from ffmpeg's `-progress` output once per block of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Frames written to the output so far (0 for audio-only jobs).
    pub frames: u64,
    /// Output timestamp reached.
    pub out_time: Duration,
    /// True on the last report, when ffmpeg has finished.
    pub done: bool,
}

type ProgressFn = Box<dyn FnMut(Progress) + Send>;

/// An ffmpeg or ffprobe command line, not yet started. Built by [`crate::Tools::ffmpeg`] and
/// [`crate::Tools::ffprobe`].
pub struct Job {
    program: PathBuf,
    tool: &'static str,
    args: Vec<OsString>,
    stdin: bool,
    stdout: bool,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("program", &self.program)
            .field("args", &self.args)
            .finish_non_exhaustive()
    }
}

impl Job {
    pub(crate) fn new(program: &Path, tool: &'static str) -> Self {
        Self {
            program: program.to_path_buf(),
            tool,
            args: Vec::new(),
            stdin: false,
            stdout: false,
            progress: None,
        }
    }

    /// Adds one argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// The arguments so far (for messages and tests).
    pub fn arguments(&self) -> &[OsString] {
        &self.args
    }

    /// Gives the program a pipe on stdin (for `-i pipe:0`, `-f rawvideo`, ...), taken with
    /// [`Running::take_stdin`].
    pub fn pipe_stdin(&mut self) -> &mut Self {
        self.stdin = true;
        self
    }

    /// Gives the program a pipe on stdout (for `pipe:1` outputs), taken with
    /// [`Running::take_stdout`].
    pub fn pipe_stdout(&mut self) -> &mut Self {
        self.stdout = true;
        self
    }

    /// Calls `f` with ffmpeg's progress (`-progress pipe:2`), from the thread that reads
    /// stderr. ffprobe has no progress output; do not use this with it.
    pub fn on_progress(&mut self, f: impl FnMut(Progress) + Send + 'static) -> &mut Self {
        self.progress = Some(Box::new(f));
        self
    }

    /// Starts the program.
    ///
    /// Pipes are blocking and the program writes stdout while it reads stdin: a caller that
    /// uses both must feed stdin from one thread and drain stdout from another (for instance with
    /// `std::thread::scope`), or both sides wait forever.
    ///
    /// # Errors
    /// [`Error::Io`] when the program cannot start.
    pub fn spawn(&mut self) -> Result<Running, Error> {
        let mut cmd = Command::new(&self.program);
        if self.progress.is_some() {
            // Global options, so their place on the command line does not matter; first is
            // clearest.
            cmd.args(["-progress", "pipe:2", "-nostats"]);
        }
        cmd.args(&self.args)
            .stdin(if self.stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(if self.stdout { Stdio::piped() } else { Stdio::null() })
            .stderr(Stdio::piped());
        let tool = self.tool;
        let mut child = cmd.spawn().map_err(|source| Error::Io { tool, source })?;
        let stderr = child.stderr.take();
        let progress = self.progress.take();
        let reader = stderr.map(|s| std::thread::spawn(move || read_stderr(s, progress)));
        Ok(Running {
            child,
            tool,
            stderr: reader,
        })
    }

    /// Runs the program to the end and returns what it printed on stdout.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot start, [`Error::Failed`] (with the end of its stderr) when
    /// it exits unsuccessfully.
    pub fn output(&mut self) -> Result<Vec<u8>, Error> {
        self.stdout = true;
        let mut running = self.spawn()?;
        let mut out = Vec::new();
        if let Some(mut stdout) = running.take_stdout() {
            stdout.read_to_end(&mut out).map_err(|source| Error::Io {
                tool: running.tool,
                source,
            })?;
        }
        running.wait()?;
        Ok(out)
    }

    /// Runs the program to the end, discarding stdout.
    ///
    /// # Errors
    /// As [`Job::output`].
    pub fn run(&mut self) -> Result<(), Error> {
        self.spawn()?.wait()
    }
}

/// A started program.
#[derive(Debug)]
pub struct Running {
    child: Child,
    tool: &'static str,
    stderr: Option<JoinHandle<String>>,
}

impl Running {
    /// The pipe to the program's stdin, if [`Job::pipe_stdin`] asked for one. Drop it to close
    /// stdin (end of input).
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    /// The pipe from the program's stdout, if [`Job::pipe_stdout`] asked for one.
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// Which program this is.
    pub fn tool(&self) -> &'static str {
        self.tool
    }

    /// Closes stdin, waits for the program to exit and checks its status.
    ///
    /// # Errors
    /// [`Error::Failed`] with the end of stderr when it exits unsuccessfully.
    pub fn wait(mut self) -> Result<(), Error> {
        drop(self.child.stdin.take());
        let tool = self.tool;
        let status = self.child.wait().map_err(|source| Error::Io { tool, source })?;
        let stderr = self.stderr.take().and_then(|h| h.join().ok()).unwrap_or_default();
        if status.success() {
            Ok(())
        } else {
            Err(Error::Failed { tool, status, stderr })
        }
    }

    /// Stops the program (after an error on our side) and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(h) = self.stderr.take() {
            let _ = h.join();
        }
    }
}

/// Reads stderr to its end: progress blocks go to `progress`, the rest is kept as a tail of at
/// most [`STDERR_TAIL`] bytes, lines cut at [`LINE_MAX`].
fn read_stderr(mut stderr: impl Read, mut progress: Option<ProgressFn>) -> String {
    let mut tail: VecDeque<String> = VecDeque::new();
    let mut tail_len = 0usize;
    let mut line: Vec<u8> = Vec::new();
    let mut state = Progress::default();
    let mut block = [0u8; 4096];
    let mut keep = |line: &[u8], tail: &mut VecDeque<String>, tail_len: &mut usize| {
        let text = String::from_utf8_lossy(line).trim_end().to_string();
        let progress_line = text.split_once('=').filter(|(key, _)| is_progress_key(key));
        if let (Some(p), Some((key, value))) = (progress.as_mut(), progress_line) {
            match key {
                "frame" => state.frames = value.trim().parse().unwrap_or(state.frames),
                "out_time_us" => {
                    if let Ok(us) = value.trim().parse::<u64>() {
                        state.out_time = Duration::from_micros(us);
                    }
                }
                "progress" => {
                    state.done = value.trim() == "end";
                    p(state);
                }
                _ => {}
            }
            return;
        }
        if text.is_empty() {
            return;
        }
        *tail_len += text.len() + 1;
        tail.push_back(text);
        while *tail_len > STDERR_TAIL {
            match tail.pop_front() {
                Some(old) => *tail_len -= old.len() + 1,
                None => break,
            }
        }
    };
    loop {
        let n = match stderr.read(&mut block) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &b in block.get(..n).unwrap_or_default() {
            if b == b'\n' {
                keep(&line, &mut tail, &mut tail_len);
                line.clear();
            } else if line.len() < LINE_MAX {
                line.push(b);
            }
        }
    }
    if !line.is_empty() {
        keep(&line, &mut tail, &mut tail_len);
    }
    Vec::from(tail).join("\n")
}

/// The keys of ffmpeg's `-progress` blocks (ffmpeg 4 to 7).
fn is_progress_key(key: &str) -> bool {
    matches!(
        key,
        "frame"
            | "fps"
            | "bitrate"
            | "total_size"
            | "out_time_us"
            | "out_time_ms"
            | "out_time"
            | "dup_frames"
            | "drop_frames"
            | "speed"
            | "progress"
    ) || (key.starts_with("stream_") && key.ends_with("_q"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn stderr_tail_is_bounded_and_progress_parsed() {
        let mut text = String::new();
        for i in 0..2000 {
            text.push_str(&format!("warning line {i}\n"));
        }
        text.push_str("frame=12\nout_time_us=500000\nprogress=continue\n");
        text.push_str(&"x".repeat(10_000));
        text.push_str("\nframe=24\nout_time_us=1000000\nprogress=end\nlast words\n");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let tail = read_stderr(text.as_bytes(), Some(Box::new(move |p| sink.lock().unwrap().push(p))));
        assert!(tail.len() <= STDERR_TAIL, "{}", tail.len());
        assert!(tail.ends_with("last words"));
        assert!(!tail.contains("frame="));
        assert!(tail.contains(&"x".repeat(LINE_MAX)));
        assert!(!tail.contains(&"x".repeat(LINE_MAX + 1)));
        let seen = seen.lock().unwrap();
        assert_eq!(
            *seen,
            [
                Progress {
                    frames: 12,
                    out_time: Duration::from_millis(500),
                    done: false
                },
                Progress {
                    frames: 24,
                    out_time: Duration::from_secs(1),
                    done: true
                }
            ]
        );
    }

    #[test]
    fn without_progress_everything_is_kept() {
        let tail = read_stderr(&b"frame=1\nboom"[..], None);
        assert_eq!(tail, "frame=1\nboom");
    }
}
