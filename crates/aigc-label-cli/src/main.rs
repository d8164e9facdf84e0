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
//! validation, an unreadable key file or trust list, and a key file that exists without
//! `--force`); 130 interrupted.
#![forbid(unsafe_code)]

mod keys;
mod output;
mod paths;
mod propagate;
mod stamp;

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
    /// Only walk into files of these formats (by extension): png, jpeg, ...
    #[arg(long = "format", value_delimiter = ',', value_name = "FORMAT")]
    formats: Vec<String>,
    /// Skip files of these formats (by extension) in walks.
    #[arg(long = "exclude-format", value_delimiter = ',', value_name = "FORMAT")]
    exclude_formats: Vec<String>,
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
    /// Output file, or output directory that mirrors the input tree.
    #[arg(short, long, required_unless_present = "in_place", conflicts_with = "in_place")]
    output: Option<PathBuf>,
    /// Replace each input with its labelled version (atomically).
    #[arg(long)]
    in_place: bool,
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

impl Run {
    fn new(selection: Selection, options: Options) -> Result<Run, u8> {
        let extensions = |names: &[String]| -> Result<Vec<String>, u8> {
            let mut out = Vec::new();
            for name in names {
                let carrier = aigc_label::registry()
                    .by_name(name)
                    .ok_or_else(|| usage(format_args!("unknown format {name:?} (known: {})", known_formats())))?;
                out.extend(carrier.extensions().iter().map(|e| e.to_string()));
            }
            Ok(out)
        };
        let include = if selection.formats.is_empty() {
            None
        } else {
            Some(extensions(&selection.formats)?)
        };
        let exclude = extensions(&selection.exclude_formats)?;
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
        Ok(Run {
            batch,
            items: Box::new(paths::expand(selection.paths, filter)),
            format,
            bar,
            interrupted,
        })
    }

    fn finish(&self, summary: &Summary, worst: u8) -> u8 {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
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
    let mut run = match Run::new(args.selection, options.clone()) {
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
    let mut summary = Summary::default();
    let mut worst = status::OK;
    let mut stdout = std::io::stdout().lock();
    for outcome in run.batch.each(items.map(|item| item.path), work) {
        let code = match &outcome.result {
            Ok(inspection) => inspect_status(inspection, args.require_trusted),
            Err(_) => status::UNREADABLE,
        };
        worst = worst.max(code);
        summary.add_inspect(&outcome.result);
        let printed = output::inspect(&mut stdout, run.format, args.verbose, &outcome.name, &outcome.result);
        if printed.is_err() {
            return status::UNREADABLE;
        }
    }
    drop(stdout);
    run.finish(&summary, worst)
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

fn embed(args: EmbedArgs) -> u8 {
    let single_file = is_single_file(&args.selection.paths);
    if !single_file && !has_placeholder(&args.produce_id) {
        return usage(
            "with several files, --produce-id needs a placeholder ({stem}, {name}, {path} or {num}) so each file gets its own id",
        );
    }
    let output_dir = match (&args.output, single_file) {
        (Some(out), false) => Some(out.clone()),
        (Some(out), true) if out.is_dir() => Some(out.clone()),
        _ => None,
    };
    let signer: Option<Arc<SigningKey>> = match &args.sign_key {
        Some(path) => match keys::load(path, args.key_id.as_deref()) {
            Ok(key) => Some(Arc::new(key)),
            Err(e) => return usage(format_args!("--sign-key: {e}")),
        },
        None => None,
    };
    let bind = !args.no_bind;
    let mut options = Options::default();
    if args.lenient {
        options = options.write_strictness(Strictness::Lenient);
    }
    let mut run = match Run::new(args.selection, options.clone()) {
        Ok(run) => run,
        Err(code) => return code,
    };
    let items = std::mem::replace(&mut run.items, Box::new(std::iter::empty()));
    let template = Label::first_write(args.label.into(), args.producer, String::new());
    let (propagator, propagate_id) = (args.propagator, args.propagate_id);
    let reserved_code1 = args.reserved_code1;
    let produce_id = args.produce_id;
    let single_output = args.output.clone();
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
        let output = match (&output_dir, &single_output) {
            (Some(dir), _) => dir.join(&item.relative),
            (None, Some(file)) => file.clone(),
            (None, None) => item.path.clone(),
        };
        EmbedJob {
            input: item.path,
            output,
            label,
        }
    });

    let mut summary = Summary::default();
    let mut worst = status::OK;
    let mut stdout = std::io::stdout().lock();
    let work = move |job: EmbedJob| {
        if let Some(parent) = job.output.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        match &signer {
            Some(key) => {
                let spec = SignSpec::producer(key.as_ref());
                let spec = if bind { spec } else { spec.unbound() };
                aigc_label::embed_signed_file(&job.input, &job.output, &job.label, &[spec], &options)
                    .map(|protected| protected.written)
            }
            None => aigc_label::embed_file(&job.input, &job.output, &job.label, &options),
        }
    };
    for outcome in run.batch.each(jobs, work) {
        let code = match &outcome.result {
            Ok(_) => status::OK,
            Err(e) => error_status(e),
        };
        worst = worst.max(code);
        summary.add_embed(&outcome.result);
        if output::embed(&mut stdout, run.format, &outcome.name, &outcome.result).is_err() {
            return status::UNREADABLE;
        }
    }
    drop(stdout);
    run.finish(&summary, worst)
}

fn error_status(e: &Error) -> u8 {
    match e {
        Error::Parameter(_) => status::USAGE,
        Error::AlreadyLabelled { .. } => status::NON_COMPLIANT,
        _ => status::UNREADABLE,
    }
}
