//! Traces of generation in files made by real tools (tests/fixtures/trust/make.sh).

use std::io::Cursor;
use std::path::Path;
use std::sync::OnceLock;

use aigc_label_core::io::ReadSeek;
use aigc_label_core::{Error, Limits, Registry, Result};
use aigc_label_testutil::{fixture, fixtures, tool};
use aigc_label_trust::traces::{self, Trace, TraceKind};

/// The carriers the fixtures need, registered as the facade registers them.
fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let image = aigc_label_image::carriers().into_iter();
        let video = aigc_label_video::carriers().into_iter();
        let text = aigc_label_text::carriers().into_iter();
        image.chain(video).chain(text).fold(Registry::new(), Registry::with)
    })
}

/// The traces in `input`: the registry detects the format, the trust crate scans it; an
/// unknown format has none.
fn detect(input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Trace>> {
    match aigc_label_core::inspect::detect(registry(), input) {
        Ok(carrier) => traces::detect(carrier, input, limits),
        Err(Error::Unsupported(_)) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

fn traces_in(rel: &str) -> (Vec<u8>, Vec<Trace>) {
    let bytes = std::fs::read(fixture(rel)).unwrap();
    let input = &mut Cursor::new(&bytes);
    // As the facade does for formats without magic bytes: the file name's extension.
    let by_name = Path::new(rel)
        .extension()
        .and_then(|e| registry().by_extension(e.to_str()?));
    let traces = match (aigc_label_core::inspect::detect(registry(), input), by_name) {
        (Err(_), Some(carrier)) => traces::detect(carrier, input, &Limits::default()),
        _ => detect(input, &Limits::default()),
    };
    (bytes, traces.unwrap_or_else(|e| panic!("{rel}: {e}")))
}

fn summary(traces: &[Trace]) -> Vec<(TraceKind, &str, &str)> {
    traces
        .iter()
        .map(|t| (t.kind, t.location.as_ref(), t.detail.as_str()))
        .collect()
}

#[test]
fn c2pa_manifests_made_by_c2pa_python() {
    for (rel, location, marker) in [
        ("trust/c2pa.jpg", "JPEG APP11 JUMBF", &b"\xff\xeb"[..]),
        ("trust/c2pa.png", "PNG caBX chunk", &b"caBX"[..]),
        ("trust/c2pa.mp4", "BMFF uuid box", &b"uuid"[..]),
    ] {
        let (bytes, traces) = traces_in(rel);
        assert_eq!(traces.len(), 1, "{rel}: {traces:#?}");
        let t = &traces[0];
        assert_eq!(
            (t.kind, t.location.as_ref()),
            (TraceKind::C2paManifest, location),
            "{rel}"
        );
        // The range is the structure's: it starts at the segment marker / chunk / box header.
        let start = t.range.start as usize;
        let at = &bytes[start..start + 8];
        assert!(
            at.windows(marker.len()).any(|w| w == marker),
            "{rel}: range starts at {at:?}"
        );
        assert!(t.range.end as usize <= bytes.len());
    }
}

#[test]
fn iptc_digital_source_type_written_by_exiftool() {
    let (_, traces) = traces_in("trust/dst-trained.jpg");
    assert_eq!(
        summary(&traces),
        [(TraceKind::DigitalSourceType, "JPEG APP1 XMP", "trainedAlgorithmicMedia")]
    );
    let (_, traces) = traces_in("trust/dst-composite.png");
    assert_eq!(
        summary(&traces),
        [(TraceKind::DigitalSourceType, "PNG iTXt XMP", "compositeSynthetic")]
    );
}

#[test]
fn exiftool_writes_a_source_type_now_and_it_is_found() {
    let Some(exiftool) = tool("exiftool") else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.png");
    std::fs::copy(fixture("png/rgb.png"), &path).unwrap();
    aigc_label_testutil::run(
        &exiftool,
        &[
            "-q".as_ref(),
            "-overwrite_original".as_ref(),
            "-XMP-iptcExt:DigitalSourceType=http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia".as_ref(),
            "-XMP-xmp:CreatorTool=ComfyUI".as_ref(),
            path.as_os_str(),
        ],
    );
    let bytes = std::fs::read(&path).unwrap();
    let traces = detect(&mut Cursor::new(&bytes), &Limits::default()).unwrap();
    let kinds: Vec<_> = traces.iter().map(|t| (t.kind, t.detail.as_str())).collect();
    assert!(
        kinds.contains(&(TraceKind::DigitalSourceType, "algorithmicMedia")),
        "{kinds:?}"
    );
    assert!(
        kinds
            .iter()
            .any(|(k, d)| *k == TraceKind::GeneratorSoftware && d.contains("ComfyUI")),
        "{kinds:?}"
    );
}

#[test]
fn generator_software_in_exif_and_png_text() {
    let (_, traces) = traces_in("trust/software-midjourney.jpg");
    assert_eq!(traces.len(), 1);
    assert_eq!(
        (traces[0].kind, traces[0].location.as_ref()),
        (TraceKind::GeneratorSoftware, "JPEG APP1 EXIF")
    );
    assert!(traces[0].detail.contains("Midjourney"));
    let (_, traces) = traces_in("trust/software-novelai.png");
    assert_eq!(traces.len(), 1, "{traces:#?}");
    assert_eq!(traces[0].kind, TraceKind::GeneratorSoftware);
    assert!(traces[0].detail.contains("NovelAI"));
}

#[test]
fn generator_settings_in_png_text_chunks() {
    let (bytes, traces) = traces_in("trust/a1111-parameters.png");
    assert_eq!(traces.len(), 1);
    assert_eq!(
        (traces[0].kind, traces[0].location.as_ref()),
        (TraceKind::GeneratorText, "PNG tEXt chunk")
    );
    assert!(traces[0].detail.starts_with("parameters: a cat in the snow"));
    assert_eq!(&bytes[traces[0].range.start as usize + 4..][..4], b"tEXt");
    let (_, traces) = traces_in("trust/comfyui.png");
    let keywords: Vec<_> = traces.iter().map(|t| t.detail.split(':').next().unwrap()).collect();
    assert_eq!(keywords, ["prompt", "workflow"]);
}

#[test]
fn no_traces_in_camera_pictures_or_plain_fixtures() {
    assert_eq!(traces_in("trust/camera.jpg").1, []);
    for (dir, exts) in [("png", &["png"][..]), ("jpeg", &["jpg"][..])] {
        for path in fixtures(dir, exts) {
            let bytes = std::fs::read(&path).unwrap();
            let traces = detect(&mut Cursor::new(&bytes), &Limits::default()).unwrap();
            assert_eq!(traces, [], "{}", path.display());
        }
    }
}

#[test]
fn unknown_formats_have_no_traces_and_damaged_files_do_not_panic() {
    assert_eq!(
        detect(&mut Cursor::new(b"RIFF\0\0\0\0WAVE"), &Limits::default()).unwrap(),
        []
    );
    assert_eq!(detect(&mut Cursor::new(b""), &Limits::default()).unwrap(), []);
    for path in fixtures("trust", &["png", "jpg", "mp4"]) {
        let bytes = std::fs::read(&path).unwrap();
        for cut in (0..bytes.len()).step_by(97) {
            let _ = detect(&mut Cursor::new(&bytes[..cut]), &Limits::default());
        }
        for pos in (0..bytes.len()).step_by(89) {
            let mut damaged = bytes.clone();
            damaged[pos] ^= 0xA5;
            let _ = detect(&mut Cursor::new(&damaged), &Limits::default());
        }
    }
}

#[test]
fn lying_lengths_are_errors_not_allocations() {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&0x7FFF_FFF0u32.to_be_bytes());
    png.extend_from_slice(b"tEXt");
    assert!(detect(&mut Cursor::new(&png), &Limits::default()).is_err());
    let mut mp4 = 24u32.to_be_bytes().to_vec();
    mp4.extend_from_slice(b"ftypisom");
    mp4.extend_from_slice(&[0; 12]);
    mp4.extend_from_slice(&1u32.to_be_bytes());
    mp4.extend_from_slice(b"uuid");
    mp4.extend_from_slice(&u64::MAX.to_be_bytes());
    assert!(detect(&mut Cursor::new(&mp4), &Limits::default()).is_err());
    let mut limits = Limits::default();
    limits.max_structures = 3;
    let many = std::fs::read(fixture("trust/comfyui.png")).unwrap();
    assert!(detect(&mut Cursor::new(&many), &limits).is_err());
}

#[test]
fn explicit_label_text_in_metadata_written_by_exiftool() {
    for (path, location, phrase) in [
        ("trust/explicit-png-comment.png", "PNG iTXt chunk", "AI生成"),
        ("trust/explicit-exif-description.jpg", "JPEG APP1 EXIF", "【AI生成】"),
        ("trust/explicit-xmp-description.jpg", "JPEG APP1 XMP", "人工智能合成"),
        ("trust/explicit-comment.jpg", "JPEG COM", "AI-generated image"),
    ] {
        let (bytes, traces) = traces_in(path);
        assert_eq!(traces.len(), 1, "{path}: {traces:#?}");
        assert_eq!(
            (traces[0].kind, traces[0].location.as_ref()),
            (TraceKind::ExplicitLabel, location),
            "{path}"
        );
        assert!(traces[0].detail.contains(phrase), "{path}: {}", traces[0].detail);
        let held = &bytes[traces[0].range.start as usize..traces[0].range.end as usize];
        assert!(
            String::from_utf8_lossy(held).contains(phrase) || location == "JPEG APP1 XMP",
            "{path}: the range holds the text"
        );
    }
}

#[test]
fn explicit_label_text_in_a_markdown_body_but_not_in_an_article_about_ai() {
    let (bytes, traces) = traces_in("trust/explicit.md");
    assert_eq!(
        summary(&traces),
        [(TraceKind::ExplicitLabel, "text line", "explicit label \"AI生成\"")]
    );
    let line = &bytes[traces[0].range.start as usize..traces[0].range.end as usize];
    assert_eq!(std::str::from_utf8(line).unwrap(), "（本文由AI生成）\n");
    assert_eq!(traces_in("trust/article.md").1, []);
}
