//! `aigc-label watermark`: the invisible watermark on an image file, and what `inspect
//! --watermark` adds to each file's report.

use std::path::{Path, PathBuf};

use aigc_label::image::stamp::{Carried, FileOptions};
use aigc_label::watermark::{DEFAULT_PSNR, Detection, payload_for};
use aigc_label::watermark_file::{detect_watermark_file, watermark_file};
use aigc_label::{Error, Label, Report, Result};
use serde_json::{Value, json};

/// What `watermark` was asked for.
#[derive(clap::Args)]
pub struct WatermarkArgs {
    /// Input image (PNG, JPEG, WebP, GIF, TIFF).
    pub input: PathBuf,
    /// Output file, in the input's format (may be the input itself).
    #[arg(short, long)]
    pub output: PathBuf,
    /// The generation service's provider code: with --produce-id, the label whose digest the
    /// watermark carries; it is written as the implicit label too.
    #[arg(long)]
    pub producer: String,
    /// The implicit label's ProduceID.
    #[arg(long)]
    pub produce_id: String,
    /// Target PSNR in dB against the input (higher is fainter and less robust).
    #[arg(long, default_value_t = DEFAULT_PSNR)]
    pub psnr: f32,
    /// Overwrite an existing output.
    #[arg(long)]
    pub force: bool,
}

/// Marks the file; the message says what was kept.
pub fn run(args: &WatermarkArgs) -> Result<String> {
    if args.output.exists() && args.output != args.input && !args.force {
        return Err(Error::parameter(
            "--output",
            format!("{} exists (use --force to overwrite)", args.output.display()),
        ));
    }
    if !(20.0..=60.0).contains(&args.psnr) {
        return Err(Error::parameter("--psnr", "must be between 20 and 60 dB"));
    }
    let label = Label::new(args.producer.clone(), args.produce_id.clone());
    let report = watermark_file(&args.input, &args.output, &label, args.psnr, &FileOptions::default())?;
    let kept = |what: &str, c: &Carried| match c {
        Carried::Absent => String::new(),
        Carried::Kept => format!(", {what} kept"),
        Carried::Dropped(why) => format!(", {what} dropped ({why})"),
    };
    Ok(format!(
        "{}: watermark {:016x} at {:.2} dB, {} re-encoded{}{}, implicit label written",
        args.output.display(),
        payload_for(&label),
        args.psnr,
        report.format,
        kept("ICC profile", &report.icc_profile),
        kept("EXIF", &report.exif),
    ))
}

/// The watermark in `path`, and whether it matches a label the file carries (`payload_for`
/// of one of its copies).
pub struct Finding {
    detection: Result<Option<Detection>>,
    matches_label: bool,
}

/// Looks for the watermark in `path` (whose label report is `report`, when it could be read).
pub fn find(path: &Path, report: Option<&Report>) -> Finding {
    let detection = detect_watermark_file(path, &FileOptions::default());
    let matches_label = match (&detection, report) {
        (Ok(Some(found)), Some(report)) => report
            .copies
            .iter()
            .filter_map(|c| c.label())
            .any(|label| payload_for(&label) == found.payload),
        _ => false,
    };
    Finding {
        detection,
        matches_label,
    }
}

impl Finding {
    /// One line for the text report.
    pub fn line(&self, path: &Path) -> String {
        match &self.detection {
            Ok(Some(found)) => format!(
                "{:<14} {}: payload {:016x}, confidence {:.1}{}",
                "watermark",
                path.display(),
                found.payload,
                found.confidence,
                if self.matches_label {
                    ", matches the file's label"
                } else {
                    ""
                }
            ),
            Ok(None) => format!("{:<14} {}: none found", "watermark", path.display()),
            Err(e) => format!("{:<14} {}: not searched: {e}", "watermark", path.display()),
        }
    }

    /// The `watermark` member of the JSON report.
    pub fn json(&self) -> Value {
        match &self.detection {
            Ok(Some(found)) => json!({
                "found": true,
                "payload": format!("{:016x}", found.payload),
                "confidence": found.confidence,
                "matches_label": self.matches_label,
            }),
            Ok(None) => json!({ "found": false }),
            Err(e) => json!({ "found": false, "error": e.to_string() }),
        }
    }
}
