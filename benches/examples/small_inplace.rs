//! The in-process half of `benches/small_inplace_lib.sh`: labels one small file in place through
//! the library, as many rounds as asked, and prints the median and mean time of the write in
//! microseconds. Each round first restores FILE from ORIGINAL (not timed), so every timed write
//! is the same first labelling that `exiv2_xmp` times for one XMP property.
//!
//! Prints two numbers: the median wall-clock time and the median CPU time (user and system, of
//! the process) per write; on a loaded machine the second is the steadier.
//!
//! Usage: `small_inplace ORIGINAL FILE ROUNDS [--sync]`; without `--sync` nothing is synced,
//! as libexiv2 syncs nothing.

use std::time::Instant;

use aigc_label::{Label, Options, embed_file};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, original, file, rounds, rest @ ..] = args.as_slice() else {
        return Err("usage: small_inplace ORIGINAL FILE ROUNDS [--sync]".into());
    };
    let rounds: usize = rounds.parse()?;
    let mut options = Options::default();
    options.sync = rest.iter().any(|a| a == "--sync");
    let label = Label::new("001191440300708461136T1XGW3", "bench-1");
    let mut wall = Vec::with_capacity(rounds);
    let mut cpu = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        std::fs::copy(original, file)?;
        let (start, start_cpu) = (Instant::now(), cpu_micros());
        embed_file(file, file, &label, &options)?;
        wall.push(start.elapsed().as_secs_f64() * 1e6);
        cpu.push(cpu_micros() - start_cpu);
    }
    println!("{:.1} {:.1}", median(&mut wall), median(&mut cpu));
    Ok(())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// The process's CPU time so far, in microseconds.
fn cpu_micros() -> f64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    now.tv_sec as f64 * 1e6 + now.tv_nsec as f64 / 1e3
}
