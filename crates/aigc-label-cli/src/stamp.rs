//! `aigc-label stamp`: the explicit label people see or hear, plus the implicit label when a
//! producer is given.
//!
//! The medium decides the label: images get a text banner (`aigc_label::image::stamp`), audio
//! (WAV, AIFF, MP3, AAC in MP4/M4A, FLAC, Ogg Vorbis and Opus) the rhythm cue or a voice prompt
//! (`aigc_label::audio::stamp_file`), text, Markdown and HTML a text prompt (`aigc_label::text`). `-` reads text from standard input and `-o -` writes it to
//! standard output.
//!
//! A file output is staged: the explicit label is written to a file in a private temporary
//! folder beside the output, the implicit label (with `--producer`) is embedded into that file,
//! and only when both steps succeeded is it renamed into place. A failed run leaves no output, and an existing file at
//! the output path unchanged.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use aigc_label::audio::cue::{self, Cue, Mode, Rhythm, VoicePrompt};
use aigc_label::core::stamp::Medium as StampMedium;
use aigc_label::image::stamp::{FileOptions, Position as ImagePosition, Stamper, Style, stamp_file};
use aigc_label::text::{Markdown, Position as TextPosition, TextKind, TextStyle};
use aigc_label::{Carrier, Error, Label, Limits, Options, Result};

/// What `stamp` was asked for.
#[derive(clap::Args)]
pub struct StampArgs {
    /// Input file, or `-` for text on standard input.
    pub input: PathBuf,
    /// Output file, or `-` for standard output (text only).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Label text (must contain 人工智能 or AI, and 生成 or 合成). Default: AI生成 on images,
    /// 【AI生成】 in text.
    #[arg(long)]
    pub text: Option<String>,
    /// Images: top-left, top, top-right, right, bottom-right, bottom, bottom-left, left.
    /// Text: start, end, both, or a paragraph number to place the label after.
    #[arg(long)]
    pub position: Option<String>,
    /// Audio: the cue, `rhythm` (short-long short-short, the default) or `voice` (with --voice
    /// FILE). Video (MP4 with AAC sound): also mix this cue into the sound, at the --at points.
    #[arg(long)]
    pub cue: Option<String>,
    /// Audio: a WAV recording of the spoken prompt, for `--cue voice`.
    #[arg(long)]
    pub voice: Option<PathBuf>,
    /// Audio: where the cue goes: start, end, times like 12.5s or shares like 50%, comma-separated. Video:
    /// where the label shows besides the opening seconds: end, 50%, 12.5s, comma-separated.
    #[arg(long, default_value = "start")]
    pub at: String,
    /// Video: how many seconds each label shows (at least 2).
    #[arg(long, default_value_t = 2.0)]
    pub duration: f64,
    /// Audio: lay the cue over the content (with ducking) instead of inserting it (WAV, AIFF,
    /// FLAC, MP3, Ogg Opus and Vorbis, AAC in M4A; only what the cue covers is re-encoded).
    #[arg(long)]
    pub mix: bool,
    /// Text from standard input: plain, markdown or html (files: from the extension).
    #[arg(long)]
    pub kind: Option<String>,
    /// Also write the implicit label: the generation service's provider code.
    #[arg(long, requires = "produce_id")]
    pub producer: Option<String>,
    /// The implicit label's ProduceID.
    #[arg(long, requires = "producer")]
    pub produce_id: Option<String>,
}

/// The medium of the input.
enum Medium {
    Image,
    /// WAV, AIFF, MP3, FLAC, Ogg Vorbis / Opus: `aigc_label::audio::stamp_file`.
    Audio,
    Video,
    Text(TextKind),
}

fn medium(args: &StampArgs) -> Result<Medium> {
    let text_kind = |name: &str| match name.to_ascii_lowercase().as_str() {
        "plain" | "text" | "txt" => Ok(TextKind::Plain),
        "markdown" | "md" => Ok(TextKind::Markdown),
        "html" => Ok(TextKind::Html),
        other => Err(Error::parameter("--kind", format!("unknown text kind {other:?}"))),
    };
    if args.input.as_os_str() == "-" {
        return Ok(Medium::Text(
            args.kind.as_deref().map_or(Ok(TextKind::Plain), text_kind)?,
        ));
    }
    if let Some(kind) = &args.kind {
        return Ok(Medium::Text(text_kind(kind)?));
    }
    // The registry detects; the format's stamp capability says which medium's stamper takes
    // the file, looking inside where the container holds several (an M4A is audio).
    let Some(carrier) = aigc_label::detect_file(&args.input)? else {
        let ext = args.input.extension().and_then(|e| e.to_str()).unwrap_or("");
        return TextKind::from_extension(ext)
            .map(Medium::Text)
            .ok_or_else(|| Error::unsupported("stamp", "unrecognised input; for text use --kind"));
    };
    let Some(stamp) = carrier.stamp() else {
        return Err(Error::unsupported(
            "stamp",
            format!("stamp does not handle {} files yet", carrier.format()),
        ));
    };
    let mut file = aigc_label::open_file(&args.input).map_err(|e| Error::from(e).with_path(&args.input))?;
    let medium = stamp
        .medium(&mut file, &Limits::default())
        .map_err(|e| e.with_path(&args.input))?;
    Ok(match medium {
        StampMedium::Image => Medium::Image,
        StampMedium::Audio => Medium::Audio,
        StampMedium::Video => Medium::Video,
        StampMedium::Text if carrier.format() == Markdown.format() => Medium::Text(TextKind::Markdown),
        StampMedium::Text => Medium::Text(
            TextKind::from_extension(args.input.extension().and_then(|e| e.to_str()).unwrap_or(""))
                .unwrap_or(TextKind::Plain),
        ),
    })
}

/// Runs the command.
///
/// # Errors
/// Bad parameters, unreadable input, I/O.
pub fn run(args: &StampArgs) -> Result<String> {
    let label = match (&args.producer, &args.produce_id) {
        (Some(p), Some(id)) => Some(Label::new(p.clone(), id.clone())),
        _ => None,
    };
    match medium(args)? {
        Medium::Image => image(args, label.as_ref()),
        Medium::Audio => audio(args, label.as_ref()),
        Medium::Video => video(args, label.as_ref()),
        Medium::Text(kind) => text(args, kind, label.as_ref()),
    }
}

/// An output file being made, in a private temporary folder beside the output (so the final
/// rename stays on one file system, and the file keeps the output's name, whose extension names
/// the format of Markdown without front matter). The folder and everything in it is removed
/// when this is dropped; [`Staged::commit`] first renames the file into place.
struct Staged {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl Staged {
    fn new(output: &Path) -> Result<Self> {
        let parent = output
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dir = tempfile::Builder::new()
            .prefix(".aigc-label-")
            .suffix(".tmp")
            .tempdir_in(parent)?;
        let name = output.file_name().unwrap_or("output".as_ref());
        let path = dir.path().join(name);
        Ok(Staged { dir, path })
    }

    /// Where the steps write: a path a step may also replace (by its own rename).
    fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the staged file through `write`, buffered.
    fn write(&mut self, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
        let mut out = BufWriter::new(std::fs::File::create(&self.path)?);
        write(&mut out)?;
        out.flush()?;
        Ok(())
    }

    /// Embeds the implicit label into the staged file, when one was asked for.
    fn embed(&self, label: Option<&Label>) -> Result<()> {
        if let Some(label) = label {
            aigc_label::embed_file(&self.path, &self.path, label, &Options::default())?;
        }
        Ok(())
    }

    /// Syncs the staged file, gives it the permissions of the file it replaces (or of `input`),
    /// and renames it to `output`.
    fn commit(self, output: &Path, input: &Path) -> Result<()> {
        std::fs::File::open(&self.path)?.sync_all()?;
        if let Ok(meta) = std::fs::metadata(output).or_else(|_| std::fs::metadata(input)) {
            std::fs::set_permissions(&self.path, meta.permissions())?;
        }
        std::fs::rename(&self.path, output)?;
        drop(self.dir);
        Ok(())
    }
}

fn image(args: &StampArgs, label: Option<&Label>) -> Result<String> {
    let mut style = match &args.text {
        Some(t) => Style::with_text(t.clone())?,
        None => Style::default(),
    };
    if let Some(p) = &args.position {
        style = style.at(p.parse::<ImagePosition>()?);
    }
    let stamper = Stamper::new(style)?;
    let mut input = BufReader::new(aigc_label::open_file(&args.input)?);
    let mut report = None;
    let mut staged = Staged::new(&args.output)?;
    staged.write(|out| {
        report = Some(stamp_file(&mut input, out, &stamper, label, &FileOptions::default())?);
        Ok(())
    })?;
    staged.commit(&args.output, &args.input)?;
    let report = report.ok_or_else(|| Error::parameter("input", "nothing stamped"))?;
    let r = report.stamped.rect;
    Ok(format!(
        "{}: {} label at {}x{}+{}+{} (ink {} px), implicit label {}",
        args.output.display(),
        report.format,
        r.width,
        r.height,
        r.x,
        r.y,
        report.stamped.ink_height,
        if report.implicit.is_some() {
            "written"
        } else {
            "not asked for"
        }
    ))
}

/// The cue `--cue` (and `--voice`) asks for.
fn cue_of(args: &StampArgs) -> Result<Cue> {
    Ok(match args.cue.as_deref().unwrap_or("rhythm") {
        "rhythm" => Cue::Rhythm(Rhythm::default()),
        "voice" => {
            let path = args
                .voice
                .as_ref()
                .ok_or_else(|| Error::parameter("--voice", "--cue voice needs --voice FILE"))?;
            Cue::Voice(VoicePrompt::from_wav_file(path)?)
        }
        other => {
            return Err(Error::parameter(
                "--cue",
                format!("unknown cue {other:?} (rhythm or voice)"),
            ));
        }
    })
}

fn audio(args: &StampArgs, label: Option<&Label>) -> Result<String> {
    let cue = cue_of(args)?;
    let at = cue::parse_positions(&args.at)?;
    let mode = if args.mix {
        Mode::Mix(Default::default())
    } else {
        Mode::Insert
    };
    let staged = Staged::new(&args.output)?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} samples") {
        bar.set_style(style);
    }
    let stamped = aigc_label::audio::stamp_file_with_progress(&args.input, staged.path(), &cue, &at, &mode, &mut |p| {
        bar.set_length(p.total);
        bar.set_position(p.frames);
    });
    bar.finish_and_clear();
    let stamped = stamped?;
    staged.embed(label)?;
    staged.commit(&args.output, &args.input)?;
    let rate = f64::from(stamped.spec.sample_rate.max(1));
    let seconds: Vec<String> = stamped
        .positions
        .iter()
        .map(|&p| format!("{:.3} s", p as f64 / rate))
        .collect();
    Ok(format!(
        "{}: {} cue of {:.3} s {} at {}{}",
        args.output.display(),
        stamped.format,
        stamped.cue_frames as f64 / rate,
        if args.mix { "mixed in" } else { "inserted" },
        seconds.join(", "),
        implicit_note(label)
    ))
}

/// Video: the label drawn on the opening seconds (and `--at` points), re-encoding only up to
/// the next keyframe where the container allows (see `aigc_label::video::stamp`).
fn video(args: &StampArgs, label: Option<&Label>) -> Result<String> {
    use aigc_label::video::stamp::{At, Method, StampOptions};
    let mut style = match &args.text {
        Some(t) => Style::with_text(t.clone())?,
        None => Style::default(),
    };
    if let Some(p) = &args.position {
        style = style.at(p.parse::<ImagePosition>()?);
    }
    // `--cue`: containers whose sound track the audio stamper mixes into (it names the codecs
    // it handles in each); others are refused before any work.
    let sound_containers = [
        aigc_label::video::Bmff.format(),
        aigc_label::video::Matroska.format(),
        aigc_label::video::Flv.format(),
        aigc_label::video::Avi.format(),
    ];
    if args.cue.is_some()
        && !aigc_label::detect_file(&args.input)?.is_some_and(|c| sound_containers.contains(&c.format()))
    {
        return Err(Error::unsupported(
            "stamp",
            "--cue on a video mixes the cue into the sound of MP4/MOV, Matroska/WebM, FLV and AVI files; \
             other containers are not handled (leave out --cue, or stamp the sound track on its own with --mix)",
        ));
    }
    let options = StampOptions {
        style,
        seconds: args.duration,
        at: At::parse_list(&args.at)?,
        ..StampOptions::default()
    };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} frames {per_sec}") {
        bar.set_style(style);
    }
    let staged = Staged::new(&args.output)?;
    let report = aigc_label::video::stamp::stamp_file_with_progress(&args.input, staged.path(), &options, &mut |p| {
        bar.set_length(p.total);
        bar.set_position(p.frames);
    });
    bar.finish_and_clear();
    let report = report?;
    // `--cue`: the cue mixed into the sound at the same points (mixed, not inserted: an insert
    // would put the sound out of step with the picture).
    let sound = match &args.cue {
        Some(_) => {
            let at = cue::parse_positions(&args.at)?;
            let mix = Mode::Mix(Default::default());
            let stamped = aigc_label::audio::stamp_file(staged.path(), staged.path(), &cue_of(args)?, &at, &mix)?;
            let rate = f64::from(stamped.spec.sample_rate.max(1));
            format!(
                "; {} cue of {:.3} s mixed into the sound",
                args.cue.as_deref().unwrap_or("rhythm"),
                stamped.cue_frames as f64 / rate
            )
        }
        None => String::new(),
    };
    staged.embed(label)?;
    staged.commit(&args.output, &args.input)?;
    let how = match report.method {
        Method::Spliced => format!(
            "{} frames re-encoded, {} copied unchanged from {}",
            report.reencoded_frames,
            report.copied_frames,
            report
                .splice_at
                .iter()
                .map(|t| format!("{t:.3} s"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => format!(
            "{} frames re-encoded ({})",
            report.reencoded_frames,
            report.reason.as_deref().unwrap_or("whole file")
        ),
    };
    Ok(format!(
        "{}: {} label on {} frames; {how}{sound}{}",
        args.output.display(),
        report.codec,
        report.labelled_frames,
        implicit_note(label)
    ))
}

fn implicit_note(label: Option<&Label>) -> &'static str {
    if label.is_some() {
        ", implicit label written"
    } else {
        ""
    }
}

fn text(args: &StampArgs, kind: TextKind, label: Option<&Label>) -> Result<String> {
    let mut style = match &args.text {
        Some(t) => TextStyle::new(t.clone())?,
        None => TextStyle::default(),
    };
    if let Some(p) = &args.position {
        style = style.at(match p.as_str() {
            "start" => TextPosition::Start,
            "end" => TextPosition::End,
            "both" => TextPosition::StartAndEnd,
            n => TextPosition::AfterParagraph(
                n.parse()
                    .map_err(|_| Error::parameter("--position", format!("unknown text position {n:?}")))?,
            ),
        });
    }
    if label.is_some() && kind != TextKind::Markdown {
        return Err(Error::unsupported(
            "stamp",
            "plain text and HTML have no place for the implicit label: use Markdown, PDF or Office \
             files for it, or leave out --producer",
        ));
    }
    let to_stdout = args.output.as_os_str() == "-";
    let from_stdin = args.input.as_os_str() == "-";
    if (from_stdin || to_stdout) && label.is_some() {
        return Err(Error::parameter(
            "--output",
            "the implicit label needs files, not standard input/output",
        ));
    }
    if to_stdout {
        let mut input: Box<dyn Read> = if from_stdin {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(aigc_label::open_file(&args.input)?)
        };
        let stamped = stamp_any(&mut input, kind, &style)?;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(stamped.as_bytes())?;
        stdout.flush()?;
        return Ok(String::new());
    }
    let mut staged = Staged::new(&args.output)?;
    if from_stdin && kind == TextKind::Plain {
        let mut input = std::io::stdin().lock();
        staged.write(|out| aigc_label::text::stamp_stream(&mut input, out, &style).map(|_| ()))?;
    } else if from_stdin {
        let stamped = stamp_any(&mut std::io::stdin().lock(), kind, &style)?;
        staged.write(|out| Ok(out.write_all(stamped.as_bytes())?))?;
    } else if kind == TextKind::Plain {
        let mut input = aigc_label::open_file(&args.input)?;
        staged.write(|out| aigc_label::text::stamp_stream(&mut input, out, &style).map(|_| ()))?;
    } else {
        let mut input = aigc_label::open_file(&args.input)?;
        let stamped = stamp_any(&mut input, kind, &style)?;
        staged.write(|out| Ok(out.write_all(stamped.as_bytes())?))?;
    }
    staged.embed(label)?;
    staged.commit(&args.output, &args.input)?;
    Ok(format!(
        "{}: text label placed{}",
        args.output.display(),
        implicit_note(label)
    ))
}

/// Largest Markdown or HTML document `stamp` holds in memory (they need the whole document to
/// place the label); a pipe that never ends stops here instead of exhausting memory. Plain text
/// is streamed and has no such bound.
const MAX_WHOLE_TEXT: u64 = 64 << 20;

/// Stamps Markdown and HTML, which need the whole document to place the label.
fn stamp_any(input: &mut dyn Read, kind: TextKind, style: &TextStyle) -> Result<String> {
    let mut text = String::new();
    let read = input
        .take(MAX_WHOLE_TEXT + 1)
        .read_to_string(&mut text)
        .map_err(|_| Error::malformed("text", 0, "input is not UTF-8 text"))?;
    if read as u64 > MAX_WHOLE_TEXT {
        return Err(Error::Limit {
            format: "text",
            offset: 0,
            what: "document size",
            found: read as u64,
            limit: MAX_WHOLE_TEXT,
        });
    }
    Ok(aigc_label::text::stamp(kind, &text, style))
}
