//! `aigc-label propagate`: the distribution platform's step on uploads (spec section 1).
//!
//! For each file: inspect; decide the class (a label is present: keep it; none, but the uploader
//! declared AI: 2, possibly; none, no declaration, but traces of generation: 3, suspected;
//! otherwise nothing); write the single label copy with the platform's `ContentPropagator` and
//! `PropagateID`, and with `--sign-key` its signature in `ReservedCode2`. Writes are atomic
//! (see `aigc_label::propagate_file`); a file with nothing to add is not written at all.

use std::path::PathBuf;

use aigc_label::batch::Input;
use aigc_label::trust::LabelSigner;
use aigc_label::trust::propagate::{Decision, Request};

use crate::output::{self, Propagated, Summary};
use crate::paths::MadeFolders;
use crate::{
    Run, Selection, Target, error_status, expand_id, has_placeholder, is_single_file, load_signer, status, usage,
};

/// What `propagate` was asked for.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["output", "out_dir", "in_place"])))]
pub struct PropagateArgs {
    #[command(flatten)]
    selection: Selection,
    /// ContentPropagator: the platform's provider code.
    #[arg(long, value_name = "CODE")]
    platform: String,
    /// PropagateID, the platform's id for the content; with several files use a placeholder:
    /// {stem} {name} {path} (relative path) {num} (input number).
    #[arg(long, value_name = "ID")]
    propagate_id: String,
    /// The uploader declared the content AI-generated (class 2 when the file has no label).
    #[arg(long)]
    declared: bool,
    /// Sign ReservedCode2 with this private key (made by `aigc-label keygen`).
    #[arg(long, value_name = "KEY.pem")]
    sign_key: Option<PathBuf>,
    /// Key id for the signature (default: the key file's Key-ID line, or the key's digest).
    #[arg(long, value_name = "ID", requires = "sign_key")]
    key_id: Option<String>,
    /// Do not bind the signature to the file's content.
    #[arg(long, requires = "sign_key")]
    no_bind: bool,
    /// Output file (one input file only; an existing folder, or a name ending with `/`, is used as
    /// --out-dir).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output directory that mirrors the input tree.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Update each input in place (atomically).
    #[arg(long)]
    in_place: bool,
    /// Accept provider names and values that break the standard's "should" rules.
    #[arg(long)]
    lenient: bool,
    /// Do not sync the written files to disk: the write order (and so a killed run leaving the
    /// old label or the new one) is unchanged, but durability across a power cut is left to the
    /// caller, as with `cp` (sync the files, or the file system, yourself).
    #[arg(long)]
    no_sync: bool,
}

/// One file to propagate.
struct Job {
    input: PathBuf,
    output: PathBuf,
    propagate_id: String,
}

impl Input for Job {
    type Reader = aigc_label::OpenFile;
    fn name(&self) -> PathBuf {
        self.input.clone()
    }
    fn open(self) -> std::io::Result<aigc_label::OpenFile> {
        aigc_label::open_file(&self.input)
    }
}

/// The exit status for one file: 0 written, 1 nothing to add, 2 refused.
fn decision_status(decision: &Decision) -> u8 {
    match decision {
        Decision::Keep { .. } | Decision::Declared | Decision::Suspected { .. } => status::OK,
        Decision::Nothing => status::UNLABELLED,
        Decision::Refused { .. } => status::NON_COMPLIANT,
    }
}

/// Runs `propagate`; returns the exit status.
pub fn run(args: PropagateArgs) -> u8 {
    let single_file = is_single_file(&args.selection.paths);
    // -o follows embed's rule; --out-dir is always a folder.
    let target = match (args.output, args.out_dir) {
        (Some(out), _) if !single_file && !Target::names_folder(&out) => {
            return usage("-o names one output file; use --out-dir DIR (or -o DIR/) or --in-place for several files");
        }
        (Some(out), _) => match Target::from_output(Some(out), single_file) {
            Ok(target) => target,
            Err(message) => return usage(message),
        },
        (None, Some(dir)) => Target::Folder(dir),
        (None, None) => Target::InPlace,
    };
    if !single_file && !has_placeholder(&args.propagate_id) {
        return usage(
            "with several files, --propagate-id needs a placeholder ({stem}, {name}, {path} or {num}) so each file gets its own id",
        );
    }
    let signer = match load_signer(args.sign_key.as_deref(), args.key_id.as_deref()) {
        Ok(signer) => signer,
        Err(code) => return code,
    };
    let (mut run, options) = match Run::writing(args.selection, args.lenient, !args.no_sync, target.folder()) {
        Ok(run) => run,
        Err(code) => return code,
    };
    let items = std::mem::replace(&mut run.items, Box::new(std::iter::empty()));
    let template = args.propagate_id;
    let jobs = items.enumerate().map(move |(n, item)| Job {
        propagate_id: expand_id(&template, &item, n + 1),
        output: target.output_for(&item),
        input: item.path,
    });
    let (platform, declared, bind) = (args.platform, args.declared, !args.no_bind);
    // The target folder must exist before the decision is known, since the write is atomic
    // within it; a folder made for a file that needed no write is removed at the end.
    let folders = MadeFolders::default();
    let made = folders.clone();
    let work = move |job: Job| {
        made.make_parent(&job.output)?;
        let request = Request {
            platform: &platform,
            propagate_id: &job.propagate_id,
            declared_by_user: declared,
            signer: signer.as_deref().map(|k| k as &dyn LabelSigner),
            bind,
        };
        let (outcome, writes) =
            aigc_label::record_writes(|| aigc_label::propagate_file(&job.input, &job.output, &request, &options));
        Ok(Propagated {
            outcome: outcome?,
            output: job.output,
            notes: output::notes_of(&writes),
            writes,
        })
    };

    let format = run.format;
    let code = run.report(
        jobs,
        work,
        |result| match result {
            Ok(p) => decision_status(&p.outcome.decision),
            Err(e) => error_status(e),
        },
        Summary::add_propagate,
        |out, name, result| output::propagate(out, format, name, result),
    );
    folders.remove_empty();
    code
}
