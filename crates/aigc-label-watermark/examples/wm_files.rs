//! Embed and detect on image files, for scripts that compare the watermark with other tools
//! (`benches/watermark_compare.py`).
//!
//! ```text
//! wm_files embed PAYLOAD_HEX IN OUT      # prints the PSNR of OUT against IN
//! wm_files detect DEGREES FILE...        # one line per file: the payload in hex, or "none"
//! wm_files time FILE                     # ms per call of embed_at_psnr and detect (marked):
//!                                        # best wall time of 5, then mean CPU time over 20
//!                                        # (Linux); then CPU ms of embed, and of detect and
//!                                        # detect_rotated(3) on FILE unmarked
//! ```
//!
//! `DEGREES` is the rotation search's reach (`0` is plain `detect`). The output format is
//! chosen by OUT's extension (PNG or JPEG).

use std::process::ExitCode;

use std::time::Instant;

use aigc_label_watermark::{DEFAULT_PSNR, DEFAULT_STRENGTH, detect, detect_rotated, embed, embed_at_psnr};

/// This process's CPU time (user + system) in clock ticks, from `/proc/self/stat` (Linux; the
/// CPU figure is what a loaded machine can still measure fairly).
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Mean CPU milliseconds per call of `f` over 20 calls (ticks assumed 100 per second).
fn cpu_ms(mut f: impl FnMut()) -> Option<f64> {
    let start = cpu_ticks()?;
    for _ in 0..20 {
        f();
    }
    Some((cpu_ticks()? - start) as f64 * 10.0 / 20.0)
}

/// The shortest of 5 runs of `f`, in milliseconds.
fn best_ms(mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1000.0
        })
        .fold(f64::INFINITY, f64::min)
}

fn psnr(a: &image::RgbaImage, b: &image::RgbaImage) -> f64 {
    let (mut se, mut n) = (0.0f64, 0.0f64);
    for (p, q) in a.pixels().zip(b.pixels()) {
        for c in 0..3 {
            se += (f64::from(p.0[c]) - f64::from(q.0[c])).powi(2);
            n += 1.0;
        }
    }
    10.0 * (255.0f64.powi(2) / (se / n.max(1.0)).max(1e-12)).log10()
}

fn run(args: &[String]) -> Result<(), String> {
    match args {
        [cmd, payload, input, output] if cmd == "embed" => {
            let payload = u64::from_str_radix(payload, 16).map_err(|e| format!("payload: {e}"))?;
            let img = image::open(input).map_err(|e| format!("{input}: {e}"))?.to_rgba8();
            let marked = embed_at_psnr(&img, payload, DEFAULT_PSNR);
            image::DynamicImage::ImageRgba8(marked.clone())
                .to_rgb8()
                .save(output)
                .map_err(|e| format!("{output}: {e}"))?;
            println!("{:.2}", psnr(&img, &marked));
            Ok(())
        }
        [cmd, degrees, files @ ..] if cmd == "detect" => {
            let degrees: f32 = degrees.parse().map_err(|e| format!("degrees: {e}"))?;
            for file in files {
                let found = image::open(file)
                    .ok()
                    .and_then(|img| detect_rotated(&img.to_rgba8(), degrees));
                match found {
                    Some(d) => println!("{file} {:016x}", d.payload),
                    None => println!("{file} none"),
                }
            }
            Ok(())
        }
        [cmd, input] if cmd == "time" => {
            let img = image::open(input).map_err(|e| format!("{input}: {e}"))?.to_rgba8();
            let marked = embed_at_psnr(&img, 42, DEFAULT_PSNR);
            let embed_ms = best_ms(|| drop(std::hint::black_box(embed_at_psnr(&img, 42, DEFAULT_PSNR))));
            let detect_ms = best_ms(|| {
                std::hint::black_box(detect(&marked));
            });
            let cpu = |f: &mut dyn FnMut()| cpu_ms(f).map_or("?".to_owned(), |ms| format!("{ms:.1}"));
            let embed_cpu = cpu(&mut || drop(std::hint::black_box(embed_at_psnr(&img, 42, DEFAULT_PSNR))));
            let detect_cpu = cpu(&mut || {
                std::hint::black_box(detect(&marked));
            });
            let plain_cpu = cpu(&mut || drop(std::hint::black_box(embed(&img, 42, DEFAULT_STRENGTH))));
            let unmarked_cpu = cpu(&mut || {
                std::hint::black_box(detect(&img));
            });
            let rotated_cpu = cpu(&mut || {
                std::hint::black_box(detect_rotated(&img, 3.0));
            });
            println!("{embed_ms:.1} {detect_ms:.1} {embed_cpu} {detect_cpu} {plain_cpu} {unmarked_cpu} {rotated_cpu}");
            Ok(())
        }
        _ => Err("usage: wm_files embed PAYLOAD_HEX IN OUT | detect DEGREES FILE... | time FILE".into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
