//! Many files at once, in parallel, with bounded memory.
//!
//! Platforms scan millions of uploads and generation services label whole output folders. The
//! functions here take any iterator of inputs (paths, or named readers), work on them on a rayon
//! pool, and hand results back through a bounded channel as they finish, so neither the input
//! list nor the results are ever held whole: memory depends on the number of workers, not files.
//!
//! Results arrive in completion order; each carries the index of its input so callers can
//! restore input order if they need it.
//!
//! A batch of one input (a command line naming one file) runs it on the calling thread: no pool,
//! no extra thread, nothing to start or join, so a single small file costs what the work costs
//! ([`Results::ran_inline`] says which way a batch ran).

use std::io::{Read, Seek};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use rayon::iter::{ParallelBridge, ParallelIterator};

use crate::{Label, Options, Report, Result, Written};

/// Counters passed to the progress callback after each input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Inputs finished so far (successfully or not).
    pub done: u64,
    /// Inputs that ended in an error.
    pub failed: u64,
}

/// Settings for a batch run.
#[derive(Clone)]
pub struct Batch {
    options: Options,
    /// Workers; `None` for one per available core, asked for only when a pool starts (a
    /// single input runs on the caller's thread, and asking reads cgroup files).
    jobs: Option<usize>,
    cancel: Arc<AtomicBool>,
    progress: Option<Arc<dyn Fn(Progress) + Send + Sync>>,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("options", &self.options)
            .field("jobs", &self.jobs)
            .finish_non_exhaustive()
    }
}

impl Batch {
    /// A batch with `options`, one worker per available core.
    pub fn new(options: Options) -> Self {
        Batch {
            options,
            jobs: None,
            cancel: Arc::new(AtomicBool::new(false)),
            progress: None,
        }
    }

    /// Uses `jobs` workers (at least one).
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = Some(jobs.max(1));
        self
    }

    /// Stops starting new inputs once `flag` is set (for Ctrl-C): inputs already started finish,
    /// so every output is complete or absent.
    pub fn cancel_on(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = flag;
        self
    }

    /// Calls `f` after each input finishes, from the worker that finished it.
    pub fn on_progress(mut self, f: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Inspects every input. See [`Input`] for what an input can be.
    pub fn inspect<I>(&self, inputs: I) -> Results<Report>
    where
        I: IntoIterator + Send + 'static,
        I::IntoIter: Send,
        I::Item: Input,
    {
        let options = self.options.clone();
        self.run(inputs, move |input: I::Item| match input.path() {
            Some(path) => crate::inspect_file(path, &options),
            None => crate::inspect(input.open()?, &options),
        })
    }

    /// Embeds a label into each file, writing each output atomically (see [`crate::embed_file`]).
    pub fn embed<I>(&self, jobs: I) -> Results<Written>
    where
        I: IntoIterator<Item = EmbedJob> + Send + 'static,
        I::IntoIter: Send,
    {
        let options = self.options.clone();
        self.run(jobs, move |job: EmbedJob| {
            if let Some(parent) = job.output.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| crate::Error::from(e).with_path(parent))?;
            }
            crate::embed_file(&job.input, &job.output, &job.label, &options)
        })
    }

    /// Runs `work` on every input, with this batch's workers, cancellation and progress: for
    /// file-level steps the other methods do not cover (signed embeds, verification,
    /// propagation). `work` builds its own output paths and labels; options are its to capture.
    ///
    /// ```
    /// use std::path::PathBuf;
    /// use aigc_label::{batch::Batch, Options};
    ///
    /// # let samples = aigc_label_testutil::workspace_root().join("examples/samples");
    /// let files = vec![samples.join("sample.png"), samples.join("sample.jpg")];
    /// let sizes: u64 = Batch::new(Options::default())
    ///     .each(files, |path: PathBuf| Ok(std::fs::metadata(path)?.len()))
    ///     .map(|outcome| outcome.result.unwrap())
    ///     .sum();
    /// assert!(sizes > 0);
    /// ```
    pub fn each<I, T, F>(&self, inputs: I, work: F) -> Results<T>
    where
        I: IntoIterator + Send + 'static,
        I::IntoIter: Send,
        I::Item: Input,
        T: Send + 'static,
        F: Fn(I::Item) -> Result<T> + Send + Sync + 'static,
    {
        self.run(inputs, work)
    }

    fn run<I, T, F>(&self, inputs: I, work: F) -> Results<T>
    where
        I: IntoIterator + Send + 'static,
        I::IntoIter: Send,
        I::Item: Input,
        T: Send + 'static,
        F: Fn(I::Item) -> Result<T> + Send + Sync + 'static,
    {
        // Two inputs are looked at first: with only one, a pool would cost more than the work.
        let mut inputs = inputs.into_iter();
        let first = inputs.next();
        let second = first.as_ref().and_then(|_| inputs.next());
        let (first, second) = match (first, second) {
            (Some(only), None) => return self.run_inline(only, &work),
            (None, _) => return Results::done(None),
            (Some(first), Some(second)) => (first, second),
        };
        let inputs = std::iter::once(first).chain(std::iter::once(second)).chain(inputs);
        let jobs = self
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let (tx, rx) = mpsc::sync_channel(jobs * 4);
        let cancel = Arc::clone(&self.cancel);
        let progress = self.progress.clone();
        let handle = std::thread::spawn(move || {
            let done = AtomicU64::new(0);
            let failed = AtomicU64::new(0);
            let task = |tx: &mut SyncSender<Outcome<T>>, (index, input): (usize, I::Item)| {
                if cancel.load(Ordering::Relaxed) {
                    return Err(());
                }
                let name = input.name();
                let result = work(input);
                let failed_now = u64::from(result.is_err());
                let progress_now = Progress {
                    done: done.fetch_add(1, Ordering::Relaxed) + 1,
                    failed: failed.fetch_add(failed_now, Ordering::Relaxed) + failed_now,
                };
                if let Some(f) = &progress {
                    f(progress_now);
                }
                tx.send(Outcome {
                    index: index as u64,
                    name,
                    result,
                })
                .map_err(|_| ())
            };
            let run = || inputs.into_iter().enumerate().par_bridge().try_for_each_with(tx, task);
            match rayon::ThreadPoolBuilder::new().num_threads(jobs).build() {
                Ok(pool) => pool.install(run),
                Err(_) => run(),
            }
        });
        Results {
            rx,
            handle: Some(handle),
            inline: false,
        }
    }

    /// Runs the only input on this thread, with the same cancellation and progress as a pool.
    fn run_inline<In: Input, T>(&self, input: In, work: &impl Fn(In) -> Result<T>) -> Results<T> {
        if self.cancel.load(Ordering::Relaxed) {
            return Results::done(None);
        }
        let name = input.name();
        let result = work(input);
        if let Some(f) = &self.progress {
            f(Progress {
                done: 1,
                failed: u64::from(result.is_err()),
            });
        }
        Results::done(Some(Outcome { index: 0, name, result }))
    }
}

/// One file to label: where from, where to (may equal `input`), and with what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedJob {
    /// The file to read.
    pub input: PathBuf,
    /// The file to write atomically.
    pub output: PathBuf,
    /// The label for this file.
    pub label: Label,
}

impl Input for EmbedJob {
    type Reader = crate::OpenFile;
    fn name(&self) -> PathBuf {
        self.input.clone()
    }
    fn open(self) -> std::io::Result<Self::Reader> {
        crate::open_file(&self.input)
    }
}

/// What a batch can read: a path, or a named reader.
pub trait Input: Send {
    /// The reader [`Input::open`] yields.
    type Reader: Read + Seek;
    /// The name reported with the result.
    fn name(&self) -> PathBuf;
    /// The file to read, when the input is one: file-level functions then also pick carriers
    /// for formats without magic bytes by the file's extension.
    fn path(&self) -> Option<&std::path::Path> {
        None
    }
    /// Opens the input.
    ///
    /// # Errors
    /// I/O errors opening it.
    fn open(self) -> std::io::Result<Self::Reader>;
}

impl Input for PathBuf {
    type Reader = crate::OpenFile;
    fn name(&self) -> PathBuf {
        self.clone()
    }
    fn path(&self) -> Option<&std::path::Path> {
        Some(self)
    }
    fn open(self) -> std::io::Result<Self::Reader> {
        crate::open_file(&self)
    }
}

impl<R: Read + Seek + Send> Input for (PathBuf, R) {
    type Reader = R;
    fn name(&self) -> PathBuf {
        self.0.clone()
    }
    fn open(self) -> std::io::Result<R> {
        Ok(self.1)
    }
}

/// One input's result.
#[derive(Debug)]
pub struct Outcome<T> {
    /// Position of the input in the input iterator.
    pub index: u64,
    /// The input's name.
    pub name: PathBuf,
    /// What came of it.
    pub result: Result<T>,
}

/// Results of a batch, in completion order. Dropping it stops the batch after the inputs in
/// flight.
pub struct Results<T> {
    rx: Receiver<Outcome<T>>,
    handle: Option<JoinHandle<std::result::Result<(), ()>>>,
    inline: bool,
}

impl<T> Results<T> {
    /// Results already complete: at most one outcome, computed on the calling thread.
    fn done(outcome: Option<Outcome<T>>) -> Self {
        let (tx, rx) = mpsc::sync_channel(1);
        if let Some(outcome) = outcome {
            // The receiver is alive and the channel has room for the one outcome.
            let _ = tx.send(outcome);
        }
        Results {
            rx,
            handle: None,
            inline: true,
        }
    }

    /// True when the batch ran on the calling thread, without a worker pool: it had at most one
    /// input, and its outcome was complete before this value was returned.
    pub fn ran_inline(&self) -> bool {
        self.inline
    }
}

impl<T> Iterator for Results<T> {
    type Item = Outcome<T>;

    fn next(&mut self) -> Option<Outcome<T>> {
        match self.rx.recv() {
            Ok(outcome) => Some(outcome),
            Err(_) => {
                if let Some(handle) = self.handle.take() {
                    let _ = handle.join();
                }
                None
            }
        }
    }
}

/// Inspects every path in `paths` with default batch settings (all cores).
pub fn inspect_many<I>(paths: I, options: &Options) -> Results<Report>
where
    I: IntoIterator + Send + 'static,
    I::IntoIter: Send,
    I::Item: Input,
{
    Batch::new(options.clone()).inspect(paths)
}

/// Runs every embed job with default batch settings (all cores).
pub fn embed_many<I>(jobs: I, options: &Options) -> Results<Written>
where
    I: IntoIterator<Item = EmbedJob> + Send + 'static,
    I::IntoIter: Send,
{
    Batch::new(options.clone()).embed(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::thread::ThreadId;

    fn threads_of(batch: &Batch, inputs: Vec<PathBuf>) -> (bool, Vec<ThreadId>, Vec<Progress>) {
        let progress = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&progress);
        let batch = batch.clone().on_progress(move |p| seen.lock().unwrap().push(p));
        let results = batch.each(inputs, |_: PathBuf| Ok(std::thread::current().id()));
        let inline = results.ran_inline();
        let threads = results.map(|o| o.result.unwrap()).collect();
        let progress = progress.lock().unwrap().clone();
        (inline, threads, progress)
    }

    #[test]
    fn one_input_runs_on_the_calling_thread() {
        let batch = Batch::new(Options::default()).jobs(4);
        let (inline, threads, progress) = threads_of(&batch, vec![PathBuf::from("a.png")]);
        assert!(inline);
        assert_eq!(threads, vec![std::thread::current().id()]);
        assert_eq!(progress, vec![Progress { done: 1, failed: 0 }]);
    }

    #[test]
    fn several_inputs_run_on_the_pool() {
        let batch = Batch::new(Options::default()).jobs(2);
        let inputs = vec![PathBuf::from("a.png"), PathBuf::from("b.png"), PathBuf::from("c.png")];
        let (inline, threads, progress) = threads_of(&batch, inputs);
        assert!(!inline);
        assert_eq!(threads.len(), 3, "every input ran, the two peeked ones too");
        assert!(threads.iter().all(|t| *t != std::thread::current().id()));
        assert_eq!(progress.len(), 3);
    }

    #[test]
    fn no_input_and_a_cancelled_single_input_yield_nothing() {
        let batch = Batch::new(Options::default());
        let (inline, threads, _) = threads_of(&batch, Vec::new());
        assert!(inline && threads.is_empty());
        let cancelled = Arc::new(AtomicBool::new(true));
        let batch = Batch::new(Options::default()).cancel_on(cancelled);
        let (_, threads, progress) = threads_of(&batch, vec![PathBuf::from("a.png")]);
        assert!(threads.is_empty() && progress.is_empty());
    }

    #[test]
    fn a_failing_single_input_is_counted_as_failed() {
        let batch = Batch::new(Options::default());
        let failed = Arc::new(AtomicU64::new(0));
        let count = Arc::clone(&failed);
        let batch = batch.on_progress(move |p| count.store(p.failed, Ordering::Relaxed));
        let outcomes: Vec<_> = batch
            .each(vec![PathBuf::from("x")], |_: PathBuf| -> Result<()> {
                Err(crate::Error::parameter("test", "no"))
            })
            .collect();
        assert_eq!(outcomes.len(), 1);
        assert_eq!(outcomes[0].name, PathBuf::from("x"));
        assert!(outcomes[0].result.is_err());
        assert_eq!(failed.load(Ordering::Relaxed), 1);
    }
}
