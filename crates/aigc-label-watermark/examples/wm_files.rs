//! Embed and detect on image files, for scripts that compare the watermark with other tools
//! (`benches/watermark_compare.py`).
//!
//! ```text
//! wm_files embed PAYLOAD_HEX IN OUT      # prints the PSNR of OUT against IN
//! wm_files detect DEGREES FILE...        # one line per file: the payload in hex, or "none"
//! ```
//!
//! `DEGREES` is the rotation search's reach (`0` is plain `detect`). The output format is
//! chosen by OUT's extension (PNG or JPEG).

use std::process::ExitCode;

use aigc_label_watermark::{DEFAULT_PSNR, detect_rotated, embed_at_psnr};

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
        _ => Err("usage: wm_files embed PAYLOAD_HEX IN OUT | wm_files detect DEGREES FILE...".into()),
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
