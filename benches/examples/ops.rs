//! One file-level operation, run a few times, for `benches/instructions.sh`: it counts the
//! instructions of each call under callgrind, which on a loaded machine is the steady measure
//! that wall-clock time is not. The operation is a function of its own (`op_inspect`,
//! `op_embed`) so callgrind can count inside it alone.
//!
//! Usage: `ops FAMILY inspect|embed [ROUNDS]`, FAMILY one of the worst-case files of
//! `tests/hostile/files.rs` ("png chunks", "ogg pages", ...), or `list` to print them.

use std::path::Path;

use aigc_label::{Label, Options, embed_file, inspect_file};

#[path = "../../tests/hostile/files.rs"]
mod files;

#[inline(never)]
fn op_inspect(input: &Path, options: &Options) {
    std::hint::black_box(inspect_file(input, options).map(|r| r.verdict)).ok();
}

#[inline(never)]
fn op_embed(input: &Path, output: &Path, label: &Label, options: &Options) {
    std::hint::black_box(embed_file(input, output, label, options)).ok();
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let all = files::all();
    let [_, family, rest @ ..] = args.as_slice() else {
        return Err("usage: ops FAMILY inspect|embed [ROUNDS] | ops list".into());
    };
    if family == "list" {
        all.iter().for_each(|h| println!("{}", h.name));
        return Ok(());
    }
    let what = rest.first().map_or("inspect", String::as_str);
    let rounds: usize = rest.get(1).map_or(Ok(3), |r| r.parse())?;
    let hostile = all
        .into_iter()
        .find(|h| h.name == family.as_str())
        .ok_or("no such family (ops list)")?;
    let ext = aigc_label::detect(std::io::Cursor::new(&hostile.bytes))?.extensions()[0];
    let dir = tempfile::tempdir()?;
    let input = dir.path().join(format!("input.{ext}"));
    let output = dir.path().join(format!("output.{ext}"));
    std::fs::write(&input, &hostile.bytes)?;
    let label = Label::new("001191440300708461136T1XGW3", "ops-1");
    // Syncs cost the disk's time, which callgrind does not count (nor do older revisions have
    // `Options::sync`): the defaults.
    let options = Options::default();
    for _ in 0..rounds {
        match what {
            "embed" => op_embed(&input, &output, &label, &options),
            _ => op_inspect(&input, &options),
        }
    }
    Ok(())
}
