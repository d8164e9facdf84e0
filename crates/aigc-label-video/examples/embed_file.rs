//! Embeds a sample label into a file: `cargo run --example embed_file -- IN OUT`.
use std::io::Cursor;

use aigc_label_core::{Carrier, Label, Limits, Registry};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(input), Some(output)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: embed_file IN OUT");
        std::process::exit(2);
    };
    let registry = aigc_label_video::carriers()
        .into_iter()
        .fold(Registry::new(), Registry::with);
    let data = std::fs::read(input)?;
    let carrier: &dyn Carrier = aigc_label_core::inspect::detect(&registry, &mut Cursor::new(&data))?;
    let label = Label::new("001191440300708461136T1XGW3", "example-0001");
    let mut out = Vec::new();
    let written = carrier.write(&mut Cursor::new(&data), &mut out, &label, &Limits::default())?;
    std::fs::write(output, &out)?;
    println!(
        "{}: label at {:?}, {} bytes",
        carrier.format(),
        written.label_range,
        written.bytes_written
    );
    Ok(())
}
