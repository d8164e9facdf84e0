//! `aigc-label`: embed, sign, verify and propagate GB 45438 implicit labels from the shell, one
//! file or millions.
//!
//! Exit status (aggregated over all files, the highest wins): 0 every file carries exactly one
//! compliant label (or every embed or propagation wrote its label); 1 some file has no label
//! (`propagate`: had nothing to add and was left as it was); 2 some label is non-compliant or
//! duplicated, or (`inspect --trust`) its protection is tampered: a signature that does not
//! verify, or signed content that changed (with `--require-trusted`, also unsigned or
//! unverifiable labels), or an embed was refused because the file carries another producer's
//! label, or `propagate` refused a label it cannot carry on; 3 some file could not be read
//! (malformed, truncated, unsupported, I/O); 64 bad usage (including a label that fails
//! validation, an unreadable key file or trust list, a key file or an embed output that exists
//! without `--force`, and a signature an embed would drop without `--force`); 130 interrupted.
//!
//! Messages name the file at fault: the library's file functions wrap their errors with the path
//! ([`aigc_label::Error::WithPath`]), and a row names its input, so an error about another file
//! (the output folder that cannot be made, say) names that one too.
// A panic on uploaded bytes is a crash an uploader can trigger: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![forbid(unsafe_code)]

mod keys;
mod output;
mod paths;
mod propagate;
mod stamp;
mod watermark;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aigc_label::batch::{Batch, EmbedJob, Progress};
use aigc_label::trust::{SignSpec, SigningKey, TrustList, TrustVerdict};
use aigc_label::{Error, Label, LabelValue, Options, Strictness, Verdict, Verified};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::output::{Format, Inspection, Summary};

/// Exit statuses, in increasing order of severity.
mod status {
    pub const OK: u8 = 0;
    pub const UNLABELLED: u8 = 1;
    pub const NON_COMPLIANT: u8 = 2;
    pub const UNREADABLE: u8 = 3;
    pub const USAGE: u8 = 64;
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Parser)]
#[command(
    name = "aigc-label",
    version,
    about = "Embed, sign, inspect, verify and propagate GB 45438-2025 AI-generated content labels"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write an implicit label into files (the format is detected from their bytes).
    Embed(EmbedArgs),
    /// Read, validate and report every label in each file; with --trust, verify signatures and
    /// content bindings too.
    Inspect(InspectArgs),
    /// The platform's step on uploads: decide the class, write the platform's propagation
    /// fields (and signature) into the file's single label.
    Propagate(propagate::PropagateArgs),
    /// Make a signing key pair (SM2 or Ed25519) for signed labels.
    Keygen(keys::KeygenArgs),
    /// Add the explicit label people see or hear (image banner, audio cue, text prompt), and the
    /// implicit label when --producer is given.
    Stamp(stamp::StampArgs),
    /// Hide the label's digest in an image's pixels (an invisible watermark that survives
    /// re-encoding, resizing and cropping) and write the implicit label too.
    Watermark(watermark::WatermarkArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// Which files to work on.
#[derive(clap::Args)]
struct Selection {
    /// Files and directories (walked recursively); `-` reads a list of paths from standard input.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Only walk into files matching this glob (repeatable; a leading `!` excludes).
    #[arg(long = "glob", short = 'g', value_name = "GLOB")]
    globs: Vec<String>,
    /// Only walk into files of these formats (by extension), named as the format or one of its
    /// extensions: png, jpeg (or jpg), mp4 (or mov), ...
    #[arg(long = "format", value_delimiter = ',', value_name = "FORMAT")]
    formats: Vec<String>,
    /// Skip files of these formats, or with these extensions, in walks.
    #[arg(long = "exclude-format", value_delimiter = ',', value_name = "FORMAT")]
    exclude_formats: Vec<String>,
    /// Walk into hidden files and folders too (names starting with `.`).
    #[arg(long)]
    hidden: bool,
    /// List each entry a walk skipped (hidden, symbolic link, not a supported format), on
    /// standard error; the summary counts them either way.
    #[arg(long)]
    show_skipped: bool,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
    /// One JSON object per file, one per line, then a summary object.
    #[arg(long)]
    json: bool,
    /// No progress bar and no summary on a terminal.
    #[arg(long, short = 'q')]
    quiet: bool,
}

#[derive(clap::Args)]
struct EmbedArgs {
    #[command(flatten)]
    selection: Selection,
    /// Output file; or output folder, mirroring the input tree (with several inputs, or when it
    /// exists as a folder or ends with `/`). Missing folders are created.
    #[arg(short, long, conflicts_with = "in_place")]
    output: Option<PathBuf>,
    /// Replace each input with its labelled version (atomically; owner, group and mode are kept,
    /// a symbolic link is written through to its file).
    #[arg(long)]
    in_place: bool,
    /// Replace an existing output file, and drop a signature (ReservedCode1) when re-embedding
    /// a signed file without --sign-key.
    #[arg(long)]
    force: bool,
    /// ContentProducer: the generation service's 27-character provider code.
    #[arg(long)]
    producer: String,
    /// ProduceID; with several files use a placeholder for a unique id per file:
    /// {stem} {name} {path} (relative path) {num} (input number).
    #[arg(long)]
    produce_id: String,
    /// Label value: 1 AI-generated, 2 possibly, 3 suspected.
    #[arg(long, value_enum, default_value = "1")]
    label: LabelArg,
    /// ContentPropagator (defaults to the producer, as on a first write).
    #[arg(long, requires = "propagate_id")]
    propagator: Option<String>,
    /// PropagateID (defaults to the produce id); takes the same placeholders.
    #[arg(long, requires = "propagator")]
    propagate_id: Option<String>,
    /// ReservedCode1: the producer's protection data.
    #[arg(long, default_value = "", conflicts_with = "sign_key")]
    reserved_code1: String,
    /// Sign the label (ReservedCode1) with this private key (made by `aigc-label keygen`).
    #[arg(long, value_name = "KEY.pem")]
    sign_key: Option<PathBuf>,
    /// Key id for the signature (default: the key file's Key-ID line, or the key's digest).
    #[arg(long, value_name = "ID", requires = "sign_key")]
    key_id: Option<String>,
    /// Do not bind the signature to the file's content (the guide's plain A.1 signature).
    #[arg(long, requires = "sign_key")]
    no_bind: bool,
    /// Accept provider names and values that break the standard's "should" rules.
    #[arg(long)]
    lenient: bool,
    /// Do not sync the written files to disk: the write order (and so a killed run leaving the
    /// old label or the new one) is unchanged, but durability across a power cut is left to the
    /// caller, as with `cp` (sync the files, or the file system, yourself).
    #[arg(long)]
    no_sync: bool,
}

#[derive(clap::Args)]
struct InspectArgs {
    #[command(flatten)]
    selection: Selection,
    /// Treat every broken "should" rule as non-compliant.
    #[arg(long)]
    strict: bool,
    /// Print every label's fields, not only failed checks.
    #[arg(long, short = 'v')]
    verbose: bool,
    /// Verify signatures and content bindings against this trust list (lines of
    /// `PROVIDER ALG:HEX [KEYID]`, as `keygen` prints them).
    #[arg(long, value_name = "FILE")]
    trust: Option<PathBuf>,
    /// With --trust, count a label that is not trusted (unsigned, unknown key, unsupported) as
    /// non-compliant (exit 2); a tampered label always is.
    #[arg(long, requires = "trust")]
    require_trusted: bool,
    /// Also look for an invisible watermark in each image (`aigc-label watermark`), and say
    /// whether it matches the file's label.
    #[arg(long)]
    watermark: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum LabelArg {
    #[value(name = "1")]
    Is,
    #[value(name = "2")]
    Possibly,
    #[value(name = "3")]
    Suspected,
}

impl From<LabelArg> for LabelValue {
    fn from(v: LabelArg) -> Self {
        match v {
            LabelArg::Is => LabelValue::Is,
            LabelArg::Possibly => LabelValue::Possibly,
            LabelArg::Suspected => LabelValue::Suspected,
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { status::USAGE } else { status::OK });
        }
    };
    let code = match cli.command {
        Command::Embed(args) => embed(args),
        Command::Inspect(args) => inspect(args),
        Command::Propagate(args) => propagate::run(args),
        Command::Keygen(args) => match keys::keygen(&args) {
            Ok(line) => {
                println!("{line}");
                status::OK
            }
            Err(e) => {
                eprintln!("aigc-label: keygen: {e}");
                error_status(&e)
            }
        },
        Command::Stamp(args) => match stamp::run(&args) {
            Ok(message) => {
                if !message.is_empty() {
                    eprintln!("{message}");
                }
                status::OK
            }
            Err(e) => {
                eprintln!("aigc-label: {}: {e}", args.input.display());
                error_status(&e)
            }
        },
        Command::Watermark(args) => match watermark::run(&args) {
            Ok(message) => {
                eprintln!("{message}");
                status::OK
            }
            Err(e) => {
                eprintln!("aigc-label: {}: {e}", args.input.display());
                error_status(&e)
            }
        },
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "aigc-label", &mut std::io::stdout());
            status::OK
        }
        Command::Man => match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
            Ok(()) => status::OK,
            Err(_) => status::UNREADABLE,
        },
    };
    ExitCode::from(code)
}

fn usage(message: impl std::fmt::Display) -> u8 {
    eprintln!("aigc-label: {message}");
    status::USAGE
}

/// Ctrl-C stops starting new files; a second Ctrl-C exits at once. Outputs are written
/// atomically, so either way each is complete or absent.
fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = Arc::clone(&flag);
    let _ = ctrlc::set_handler(move || {
        if handler_flag.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(status::INTERRUPTED));
        }
        eprintln!("aigc-label: interrupted; finishing the files in progress (Ctrl-C again to stop now)");
    });
    flag
}

/// The batch runner, progress bar and file list shared by both commands.
struct Run {
    batch: Batch,
    items: Box<dyn Iterator<Item = paths::Item> + Send>,
    format: Format,
    bar: Option<indicatif::ProgressBar>,
    interrupted: Arc<AtomicBool>,
}

/// The key of `--sign-key` (with `--key-id`), loaded once for every file of a batch; a key that
/// does not load is a usage error (its exit code).
fn load_signer(path: Option<&std::path::Path>, key_id: Option<&str>) -> Result<Option<Arc<SigningKey>>, u8> {
    path.map(|path| {
        keys::load(path, key_id)
            .map(Arc::new)
            .map_err(|e| usage(format_args!("--sign-key: {e}")))
    })
    .transpose()
}

impl Run {
    /// [`Run::new`] for a command that writes labels, with the options it writes by
    /// (`--lenient` relaxes the check of the label written).
    fn writing(
        selection: Selection,
        lenient: bool,
        sync: bool,
        output: Option<&std::path::Path>,
    ) -> Result<(Run, Options), u8> {
        let mut options = Options::default().with_sync(sync);
        if lenient {
            options = options.write_strictness(Strictness::Lenient);
        }
        Ok((Run::new(selection, options.clone(), output)?, options))
    }

    /// Sets up a run over `selection`; `output` is the command's output folder, which walks
    /// never enter.
    fn new(selection: Selection, options: Options, output: Option<&std::path::Path>) -> Result<Run, u8> {
        let include = if selection.formats.is_empty() {
            None
        } else {
            let mut out = Vec::new();
            for name in &selection.formats {
                let carrier = carrier_named(name)
                    .ok_or_else(|| usage(format_args!("unknown format {name:?} (known: {})", known_formats())))?;
                out.extend(carrier.extensions().iter().map(|e| e.to_string()));
            }
            Some(out)
        };
        // Excluding what no carrier reads is allowed (walks skip it anyway): a bare extension.
        let exclude: Vec<String> = selection
            .exclude_formats
            .iter()
            .flat_map(|name| match carrier_named(name) {
                Some(carrier) => carrier.extensions().iter().map(|e| e.to_string()).collect(),
                None => vec![name.trim_start_matches('.').to_ascii_lowercase()],
            })
            .collect();
        let include = match include {
            Some(list) => Some(list.into_iter().filter(|e| !exclude.contains(e)).collect()),
            None if !exclude.is_empty() => Some(
                aigc_label::registry()
                    .carriers()
                    .iter()
                    .flat_map(|c| c.extensions().iter().map(|e| e.to_string()))
                    .filter(|e| !exclude.contains(e))
                    .collect(),
            ),
            None => None,
        };
        let filter = paths::Filter::new(&selection.globs, include).map_err(|e| usage(format_args!("bad glob: {e}")))?;

        let interrupted = interrupt_flag();
        let show_bar = !selection.quiet && std::io::stderr().is_terminal();
        let bar = show_bar.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {pos} files, {per_sec}, {msg}") {
                bar.set_style(style);
            }
            bar
        });
        let mut batch = Batch::new(options).cancel_on(Arc::clone(&interrupted));
        if let Some(jobs) = selection.jobs {
            batch = batch.jobs(jobs);
        }
        if let Some(bar) = &bar {
            let bar = bar.clone();
            batch = batch.on_progress(move |p: Progress| {
                bar.set_position(p.done);
                bar.set_message(format!("{} failed", p.failed));
            });
        }
        let format = if selection.json {
            Format::Json
        } else {
            Format::Table {
                summary: !selection.quiet,
            }
        };
        let walk = paths::WalkOptions {
            hidden: selection.hidden,
            show_skipped: selection.show_skipped,
            avoid: output.map(paths::real_folder).into_iter().collect(),
        };
        Ok(Run {
            batch,
            items: Box::new(paths::expand(selection.paths, filter, walk)),
            format,
            bar,
            interrupted,
        })
    }

    /// Runs `work` on every job, prints each file's report as it finishes (`print`) and counts
    /// it in the summary (`count`), then ends the run (see [`Run::finish`]). Returns the worst
    /// of the files' exit statuses (`status_of`); a report that cannot be printed (stdout
    /// closed) stops the run with exit 3.
    fn report<I, T, F>(
        &self,
        jobs: I,
        work: F,
        status_of: impl Fn(&aigc_label::Result<T>) -> u8,
        count: impl Fn(&mut Summary, &aigc_label::Result<T>),
        mut print: impl FnMut(&mut dyn Write, &std::path::Path, &aigc_label::Result<T>) -> std::io::Result<()>,
    ) -> u8
    where
        I: IntoIterator + Send + 'static,
        I::IntoIter: Send,
        I::Item: aigc_label::batch::Input,
        T: Send + 'static,
        F: Fn(I::Item) -> aigc_label::Result<T> + Send + Sync + 'static,
    {
        let mut summary = Summary::default();
        let mut worst = status::OK;
        let mut stdout = std::io::stdout().lock();
        for outcome in self.batch.each(jobs, work) {
            worst = worst.max(status_of(&outcome.result));
            count(&mut summary, &outcome.result);
            if print(&mut stdout, &outcome.name, &outcome.result).is_err() {
                return status::UNREADABLE;
            }
        }
        drop(stdout);
        self.finish(&mut summary, worst)
    }

    fn finish(&self, summary: &mut Summary, worst: u8) -> u8 {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        summary.skipped = paths::SKIPPED.counts();
        let mut stdout = std::io::stdout().lock();
        let _ = output::summary(&mut stdout, self.format, summary);
        let _ = stdout.flush();
        let mut worst = worst;
        if paths::WALK_FAILED.load(Ordering::Relaxed) {
            worst = worst.max(status::UNREADABLE);
        }
        if self.interrupted.load(Ordering::Relaxed) {
            eprintln!("aigc-label: interrupted after {} files", summary.files);
            worst = status::INTERRUPTED;
        }
        worst
    }
}

/// The carrier a `--format` name means: a format's name (`jpeg`) or one of its extensions
/// (`jpg`).
fn carrier_named(name: &str) -> Option<&'static dyn aigc_label::Carrier> {
    let name = name.trim_start_matches('.');
    let registry = aigc_label::registry();
    registry.by_name(name).or_else(|| registry.by_extension(name))
}

fn known_formats() -> String {
    aigc_label::registry()
        .carriers()
        .iter()
        .map(|c| c.format())
        .collect::<Vec<_>>()
        .join(", ")
}

fn inspect(args: InspectArgs) -> u8 {
    let mut options = Options::default();
    if args.strict {
        options = options.read_strictness(Strictness::Strict);
    }
    let trust = match &args.trust {
        Some(path) => match TrustList::from_file(path) {
            Ok(list) => Some(Arc::new(list)),
            Err(e) => return usage(format_args!("--trust {}: {e}", path.display())),
        },
        None => None,
    };
    let mut run = match Run::new(args.selection, options.clone(), None) {
        Ok(run) => run,
        Err(code) => return code,
    };
    let items = std::mem::replace(&mut run.items, Box::new(std::iter::empty()));
    let work = move |path: PathBuf| match &trust {
        Some(list) => aigc_label::verify_file(&path, list, &options).map(|verified| Inspection {
            verified,
            with_trust: true,
        }),
        None => aigc_label::inspect_file(&path, &options).map(|report| Inspection {
            verified: Verified {
                report,
                verifications: Vec::new(),
            },
            with_trust: false,
        }),
    };
    let (format, verbose, require_trusted) = (run.format, args.verbose, args.require_trusted);
    let print = if args.watermark {
        inspect_watermark
    } else {
        output::inspect
    };
    run.report(
        items.map(|item| item.path),
        work,
        |result| match result {
            Ok(inspection) => inspect_status(inspection, require_trusted),
            Err(_) => status::UNREADABLE,
        },
        Summary::add_inspect,
        |out, name, result| print(out, format, verbose, name, result),
    )
}

/// [`output::inspect`] with the watermark search's finding: a `watermark` member in JSON, a
/// line after the file's report in text.
fn inspect_watermark(
    out: &mut dyn Write,
    format: Format,
    verbose: bool,
    file: &std::path::Path,
    result: &aigc_label::Result<Inspection>,
) -> std::io::Result<()> {
    let report = result.as_ref().ok().map(|i| &i.verified.report);
    let finding = watermark::find(file, report);
    if format == Format::Json {
        let mut value = output::inspect_json(file, result);
        if let Some(object) = value.as_object_mut() {
            object.insert("watermark".into(), finding.json());
        }
        return writeln!(out, "{value}");
    }
    output::inspect(out, format, verbose, file, result)?;
    writeln!(out, "{}", finding.line(file))
}

/// The exit status for one inspected file: the report's verdict, raised to non-compliant when
/// the label's protection is tampered (or, with `require_trusted`, anything but trusted).
fn inspect_status(inspection: &Inspection, require_trusted: bool) -> u8 {
    let format = match inspection.verified.report.verdict {
        Verdict::Compliant => status::OK,
        Verdict::Unlabelled => status::UNLABELLED,
        Verdict::NonCompliant => status::NON_COMPLIANT,
    };
    let protection = match inspection.trust_verdict() {
        Some(TrustVerdict::Tampered) => status::NON_COMPLIANT,
        Some(TrustVerdict::Untrusted | TrustVerdict::Unsigned) if require_trusted => status::NON_COMPLIANT,
        _ => status::OK,
    };
    format.max(protection)
}

/// True when `template` holds a per-file placeholder.
fn has_placeholder(template: &str) -> bool {
    ["{stem}", "{name}", "{path}", "{num}", "{n}"]
        .iter()
        .any(|p| template.contains(p))
}

/// True when the command works on one named file (not a directory, not a list on stdin).
fn is_single_file(paths: &[PathBuf]) -> bool {
    matches!(paths, [only] if only.as_os_str() != "-" && !only.is_dir())
}

/// Fills the placeholders of a ProduceID / PropagateID template. `{n}` is the older spelling of
/// `{num}`; help texts name `{num}` because clap renders `{n}` as a line break.
fn expand_id(template: &str, item: &paths::Item, n: usize) -> String {
    let stem = item.path.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default();
    let name = item.path.file_name().map(|s| s.to_string_lossy()).unwrap_or_default();
    let relative = item.relative.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/");
    template
        .replace("{stem}", &stem)
        .replace("{name}", &name)
        .replace("{path}", &relative)
        .replace("{num}", &n.to_string())
        .replace("{n}", &n.to_string())
}

/// Where the outputs of a command go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// One output file, for one input.
    File(PathBuf),
    /// A folder that mirrors the input tree.
    Folder(PathBuf),
    /// Each input is replaced.
    InPlace,
}

impl Target {
    /// The one rule for `-o`: with one input file it names the output file, unless it is an
    /// existing folder or ends with `/` (then the output goes into that folder under the input's
    /// name); with several inputs it must be a folder. Missing folders are created.
    fn from_output(output: Option<PathBuf>, single_file: bool) -> Result<Target, String> {
        let Some(out) = output else {
            return Ok(Target::InPlace);
        };
        let names_folder = Target::names_folder(&out);
        if single_file && !names_folder {
            return Ok(Target::File(out));
        }
        if !names_folder && out.exists() {
            return Err(format!(
                "-o {}: with several inputs, -o names a folder (it mirrors the input tree), and this is a file",
                out.display()
            ));
        }
        Ok(Target::Folder(out))
    }

    /// True when `out` names a folder: it is one, or its name ends with `/`.
    fn names_folder(out: &std::path::Path) -> bool {
        out.is_dir() || out.as_os_str().to_string_lossy().ends_with(std::path::is_separator)
    }

    /// The output for `item`.
    fn output_for(&self, item: &paths::Item) -> PathBuf {
        match self {
            Target::File(file) => file.clone(),
            Target::Folder(dir) => dir.join(&item.relative),
            Target::InPlace => item.path.clone(),
        }
    }

    /// The folder walks must not enter.
    fn folder(&self) -> Option<&std::path::Path> {
        match self {
            Target::Folder(dir) => Some(dir),
            _ => None,
        }
    }
}

/// True when `a` and `b` name the same existing file.
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(a), Ok(b)) if a == b)
}

/// Refuses, without `--force`, what `embed` would lose silently: an existing output file that
/// is not the input. The other thing it would lose, a signature, is checked on the input opened
/// for the write ([`keeps_signature`]), so a small file is read once.
fn embed_guard(job: &EmbedJob) -> aigc_label::Result<()> {
    if job.output.symlink_metadata().is_ok() && !same_file(&job.input, &job.output) {
        return Err(Error::parameter(
            "output",
            format!("{} exists; pass --force to replace it", job.output.display()),
        ));
    }
    Ok(())
}

/// Refuses to re-embed a label signed by the same producer without a key, which would drop the
/// signature. Another producer's label is refused by embed itself (exit 2), signed or not.
fn keeps_signature(label: &Label, report: &aigc_label::Report) -> aigc_label::Result<()> {
    if !label.reserved_code1.is_empty() {
        return Ok(());
    }
    let producer = label.content_producer.as_str();
    let signed_by_us = |c: &aigc_label::LabelCopy| {
        c.field("ContentProducer") == Some(producer) && c.field("ReservedCode1").is_some_and(|v| !v.is_empty())
    };
    if report.copies.iter().any(signed_by_us) {
        return Err(Error::parameter(
            "--sign-key",
            "the file's label is signed (ReservedCode1); embedding without --sign-key would drop the signature: \
             sign with --sign-key, or pass --force to drop it",
        ));
    }
    Ok(())
}

fn embed(args: EmbedArgs) -> u8 {
    let single_file = is_single_file(&args.selection.paths);
    if args.output.is_none() && !args.in_place {
        return usage("embed needs -o OUT (a file, or a folder for several inputs) or --in-place (replace each input)");
    }
    if !single_file && !has_placeholder(&args.produce_id) {
        return usage(
            "with several files, --produce-id needs a placeholder ({stem}, {name}, {path} or {num}) so each file gets its own id",
        );
    }
    let target = match Target::from_output(args.output.clone(), single_file) {
        Ok(target) => target,
        Err(message) => return usage(message),
    };
    let signer = match load_signer(args.sign_key.as_deref(), args.key_id.as_deref()) {
        Ok(signer) => signer,
        Err(code) => return code,
    };
    let bind = !args.no_bind;
    let (mut run, options) = match Run::writing(args.selection, args.lenient, !args.no_sync, target.folder()) {
        Ok(run) => run,
        Err(code) => return code,
    };
    let items = std::mem::replace(&mut run.items, Box::new(std::iter::empty()));
    let template = Label::first_write(args.label.into(), args.producer, String::new());
    let (propagator, propagate_id) = (args.propagator, args.propagate_id);
    let reserved_code1 = args.reserved_code1;
    let produce_id = args.produce_id;
    let jobs = items.enumerate().map(move |(n, item)| {
        let mut label = template.clone();
        label.produce_id = expand_id(&produce_id, &item, n + 1);
        label.reserved_code1 = reserved_code1.clone();
        match (&propagator, &propagate_id) {
            (Some(p), Some(id)) => {
                label.content_propagator = p.clone();
                label.propagate_id = expand_id(id, &item, n + 1);
            }
            _ => {
                label.content_propagator = label.content_producer.clone();
                label.propagate_id = label.produce_id.clone();
            }
        }
        EmbedJob {
            output: target.output_for(&item),
            input: item.path,
            label,
        }
    });

    let force = args.force;
    let folders = paths::MadeFolders::default();
    let made = folders.clone();
    let work = move |job: EmbedJob| {
        if !force {
            embed_guard(&job)?;
        }
        made.make_parent(&job.output)?;
        let (written, writes) = aigc_label::record_writes(|| match &signer {
            Some(key) => {
                let spec = SignSpec::producer(key.as_ref());
                let spec = if bind { spec } else { spec.unbound() };
                aigc_label::embed_signed_file(&job.input, &job.output, &job.label, &[spec], &options)
                    .map(|protected| protected.written)
            }
            None if force => aigc_label::embed_file(&job.input, &job.output, &job.label, &options),
            None => aigc_label::embed_file_checked(&job.input, &job.output, &job.label, &options, |report| {
                keeps_signature(&job.label, report)
            }),
        });
        Ok(output::Embedded::new(written?, job.output, writes))
    };
    let format = run.format;
    let code = run.report(
        jobs,
        work,
        |result| result.as_ref().map_or_else(error_status, |_| status::OK),
        Summary::add_embed,
        |out, name, result| output::embed(out, format, name, result),
    );
    folders.remove_empty();
    code
}

fn error_status(e: &Error) -> u8 {
    match e.without_path() {
        Error::Parameter { .. } => status::USAGE,
        Error::AlreadyLabelled { .. } => status::NON_COMPLIANT,
        _ => status::UNREADABLE,
    }
}
