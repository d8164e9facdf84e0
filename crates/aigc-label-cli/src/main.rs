//! `aigc-label`: embed and inspect GB 45438 implicit labels from the shell.
//!
//! Exit status (aggregated over all files, the highest wins):
//! 0 every file carries exactly one compliant label (or the embed succeeded); 1 some file has no
//! label; 2 some label is non-compliant or duplicated (or an embed was refused because the file
//! carries another producer's label); 3 some file could not be read (malformed, truncated,
//! unsupported, I/O); 64 bad usage (including a label that fails validation).
#![forbid(unsafe_code)]

mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use aigc_label::{Error, Label, LabelValue, Options, Strictness, Verdict};
use clap::{Parser, Subcommand, ValueEnum};

/// Exit statuses, in increasing order of severity.
mod status {
    pub const OK: u8 = 0;
    pub const UNLABELLED: u8 = 1;
    pub const NON_COMPLIANT: u8 = 2;
    pub const UNREADABLE: u8 = 3;
    pub const USAGE: u8 = 64;
}

#[derive(Parser)]
#[command(
    name = "aigc-label",
    version,
    about = "Embed and inspect GB 45438-2025 AI-generated content labels"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write an implicit label into a file (the format is detected from its bytes).
    Embed(EmbedArgs),
    /// Read, validate and report every label in each file.
    Inspect(InspectArgs),
}

#[derive(clap::Args)]
struct EmbedArgs {
    /// Input file.
    input: PathBuf,
    /// Output file (may equal the input for an in-place update; written atomically).
    #[arg(short, long)]
    output: PathBuf,
    /// ContentProducer: the generation service's 27-character provider code.
    #[arg(long)]
    producer: String,
    /// ProduceID: the producer's unique id for this content.
    #[arg(long)]
    produce_id: String,
    /// Label value: 1 AI-generated, 2 possibly, 3 suspected.
    #[arg(long, value_enum, default_value = "1")]
    label: LabelArg,
    /// ContentPropagator (defaults to the producer, as on a first write).
    #[arg(long, requires = "propagate_id")]
    propagator: Option<String>,
    /// PropagateID (defaults to the produce id).
    #[arg(long, requires = "propagator")]
    propagate_id: Option<String>,
    /// ReservedCode1: the producer's protection data.
    #[arg(long, default_value = "")]
    reserved_code1: String,
    /// Accept provider names and values that break the standard's "should" rules.
    #[arg(long)]
    lenient: bool,
}

#[derive(clap::Args)]
struct InspectArgs {
    /// Files to inspect.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// One JSON object per file, one per line.
    #[arg(long)]
    json: bool,
    /// Treat every broken "should" rule as non-compliant.
    #[arg(long)]
    strict: bool,
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
    ExitCode::from(match cli.command {
        Command::Embed(args) => embed(args),
        Command::Inspect(args) => inspect(args),
    })
}

fn embed(args: EmbedArgs) -> u8 {
    let mut label = Label::first_write(args.label.into(), args.producer, args.produce_id);
    label.reserved_code1 = args.reserved_code1;
    if let (Some(propagator), Some(id)) = (args.propagator, args.propagate_id) {
        label.content_propagator = propagator;
        label.propagate_id = id;
    }
    let mut options = Options::default();
    if args.lenient {
        options = options.write_strictness(Strictness::Lenient);
    }
    match aigc_label::embed_file(&args.input, &args.output, &label, &options) {
        Ok(written) => {
            eprintln!(
                "{}: labelled ({} bytes, label at bytes {}..{})",
                args.output.display(),
                written.bytes_written,
                written.label_range.start,
                written.label_range.end
            );
            status::OK
        }
        Err(e) => {
            eprintln!("aigc-label: {}: {e}", args.input.display());
            error_status(&e)
        }
    }
}

fn error_status(e: &Error) -> u8 {
    match e {
        Error::Parameter(_) => status::USAGE,
        Error::AlreadyLabelled { .. } => status::NON_COMPLIANT,
        _ => status::UNREADABLE,
    }
}

fn inspect(args: InspectArgs) -> u8 {
    let mut options = Options::default();
    if args.strict {
        options = options.read_strictness(Strictness::Strict);
    }
    let mut worst = status::OK;
    let mut stdout = std::io::stdout().lock();
    for file in &args.files {
        let result = aigc_label::inspect_file(file, &options);
        let code = match &result {
            Ok(report) => match report.verdict {
                Verdict::Compliant => status::OK,
                Verdict::Unlabelled => status::UNLABELLED,
                Verdict::NonCompliant => status::NON_COMPLIANT,
            },
            Err(_) => status::UNREADABLE,
        };
        worst = worst.max(code);
        let printed = if args.json {
            output::json_line(&mut stdout, file, &result)
        } else {
            output::text(&mut stdout, file, &result)
        };
        if printed.is_err() {
            return worst.max(status::UNREADABLE);
        }
    }
    worst
}
