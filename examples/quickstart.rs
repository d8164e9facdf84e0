//! Labels every bundled sample file and prints what `inspect` reads back.
//!
//! Run with `cargo run --example quickstart`. Outputs go to `target/quickstart/`.

use std::path::Path;

use aigc_label::{Label, Options, embed_file, inspect_file};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/samples");
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/quickstart");
    std::fs::create_dir_all(&out_dir)?;

    let mut inputs: Vec<_> = std::fs::read_dir(&samples)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("sample."))
        })
        .collect();
    inputs.sort();

    let options = Options::default();
    for (i, input) in inputs.iter().enumerate() {
        let name = input.file_name().ok_or("sample without a name")?;
        let output = out_dir.join(name);
        // A generation service's provider code and its own id for this piece of content.
        let label = Label::new("001191440300708461136T1XGW3", format!("quickstart-{:04}", i + 1));
        embed_file(input, &output, &label, &options)?;

        let report = inspect_file(&output, &options)?;
        println!("{} -> {}", input.display(), output.display());
        println!("  format {}, verdict {}", report.format, report.verdict.as_str());
        for copy in &report.copies {
            println!(
                "  label in {} at bytes {}..{}",
                copy.carrier, copy.range.start, copy.range.end
            );
            println!("    {}", copy.text);
            for check in copy.checks.iter().filter(|c| !c.is_ok()) {
                println!("    {check}");
            }
        }
        if report.label() != Some(label) {
            return Err(format!("{}: the label read back differs from the one written", output.display()).into());
        }
    }
    Ok(())
}
