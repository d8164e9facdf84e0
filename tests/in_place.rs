//! Label updates in place through the file-level calls (issue 16): `embed_file` and
//! `propagate_file` with input and output the same file (FLAC, MP3, MP4, ... HEIF) write the
//! label inside it, about the label's size (bytes counted by the write itself and by the
//! kernel's `wchar`), keep the inode, report `"write": "in-place"`, and a producer's signature
//! and content binding (and a platform's bound signature) verify afterwards. Where there is no
//! room, the rewrite runs and says so.

use std::path::{Path, PathBuf};

use aigc_label::trust::propagate::{Decision, Request};
use aigc_label::trust::{Algorithm, SignSpec, SigningKey, TrustList, TrustVerdict};
use aigc_label::{
    FileWrite, Label, Method, Options, embed_file, embed_signed_file, json, propagate_file, record_writes, verify_file,
};

const PRODUCER: &str = "001191440300708461136T1XGW3";
const PLATFORM: &str = "001191110108551385082Q20000";

fn fixture(name: &str) -> PathBuf {
    let kind = match name.rsplit('.').next() {
        Some("mp4" | "mkv" | "webm") => "video",
        Some("tif") => "tiff",
        Some("jpg") => "jpeg",
        Some("webp") => "webp",
        Some("png") => "png",
        Some("heic" | "avif") => "heif",
        Some("pdf") => "text",
        _ => "audio",
    };
    aigc_label_testutil::workspace_root()
        .join("tests/fixtures")
        .join(kind)
        .join(name)
}

fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().ino()
}

fn only(writes: &[FileWrite]) -> &FileWrite {
    assert_eq!(writes.len(), 1, "{writes:?}");
    &writes[0]
}

#[test]
fn embed_in_place_updates_a_flac_label_inside_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("song.flac");
    let options = Options::default();
    // Our first write (a rewrite) reserves the room.
    let (r, writes) = record_writes(|| embed_file(fixture("sox.flac"), &file, &Label::new(PRODUCER, "a-1"), &options));
    r.unwrap();
    assert_eq!(only(&writes).method, Method::Rewrite);
    let len = std::fs::metadata(&file).unwrap().len();
    let ino = inode(&file);

    let label = Label::new(PRODUCER, format!("a-2-{}", "x".repeat(300)));
    let (r, writes) = record_writes(|| embed_file(&file, &file, &label, &options));
    let written = r.unwrap();
    let w = only(&writes);
    assert_eq!(w.method, Method::InPlace);
    assert_eq!(w.bytes_written, written.bytes_written);
    assert!(
        written.bytes_written < 1500,
        "{} bytes written in place",
        written.bytes_written
    );
    assert_eq!(inode(&file), ino, "the file itself, not a replacement");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), len);
    let report = aigc_label::inspect_file(&file, &options).unwrap();
    assert_eq!(report.label(), Some(label.clone()));
    assert_eq!(report.verdict, aigc_label::Verdict::Compliant);
    let line = json::embedded(&file, &file, "flac", &written, &writes);
    assert_eq!(line["write"], "in-place");
    assert_eq!(line["bytes"], written.bytes_written);

    // Another producer still may not replace it, in place or not.
    let e = embed_file(&file, &file, &Label::new("001191440300708461136T1XGW9", "b"), &options).unwrap_err();
    assert!(
        matches!(e.without_path(), aigc_label::Error::AlreadyLabelled { .. }),
        "{e}"
    );
    assert_eq!(aigc_label::inspect_file(&file, &options).unwrap().label(), Some(label));

    // A label bigger than the room: the rewrite, reported as such.
    let big = Label::new(PRODUCER, format!("a-3-{}", "y".repeat(9000)));
    let (r, writes) = record_writes(|| embed_file(&file, &file, &big, &options));
    r.unwrap();
    assert_eq!(only(&writes).method, Method::Rewrite);
    assert_eq!(aigc_label::inspect_file(&file, &options).unwrap().label(), Some(big));
}

/// PDF: the writer's incremental update is appended in place (its tail first, pointing at the
/// old cross-reference section, then its body, then the `startxref` offset switched), so the
/// original bytes stay as they were and only the update is written. Relabelling replaces our
/// own update rather than stacking another, in place too: a copy past the end, the switch, the
/// update at its place, the file cut after it; the rewrite's bytes.
#[test]
fn pdf_embed_in_place_appends_the_update() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.pdf");
    std::fs::copy(fixture("classic.pdf"), &file).unwrap();
    let original = std::fs::read(&file).unwrap();
    let ino = inode(&file);
    let options = Options::default();
    let label = Label::new(PRODUCER, "pdf-1");
    let (r, writes) = record_writes(|| embed_file(&file, &file, &label, &options));
    let written = r.unwrap();
    let w = only(&writes);
    assert_eq!(w.method, Method::InPlace);
    assert_eq!(inode(&file), ino, "the file itself, not a replacement");
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(
        bytes[..original.len()],
        original[..],
        "the original revision is untouched"
    );
    let appended = (bytes.len() - original.len()) as u64;
    // The update, and the offset after `startxref` once more.
    assert!(
        written.bytes_written > appended && written.bytes_written <= appended + 20,
        "{} bytes written for {appended} appended",
        written.bytes_written
    );
    let report = aigc_label::inspect_file(&file, &options).unwrap();
    assert_eq!(report.label(), Some(label));
    assert_eq!(report.verdict, aigc_label::Verdict::Compliant);
    let line = json::embedded(&file, &file, "pdf", &written, &writes);
    assert_eq!(line["write"], "in-place");

    // Our own update is replaced, not stacked, in place: the bytes of the rewrite.
    let relabel = Label::new(PRODUCER, "pdf-2");
    let mut rewritten = Vec::new();
    aigc_label::embed(std::io::Cursor::new(&bytes), &mut rewritten, &relabel, &options).unwrap();
    let (r, writes) = record_writes(|| embed_file(&file, &file, &relabel, &options));
    let written = r.unwrap();
    assert_eq!(only(&writes).method, Method::InPlace);
    assert_eq!(inode(&file), ino);
    let again = std::fs::read(&file).unwrap();
    assert_eq!(again, rewritten);
    let update = (again.len() - original.len()) as u64;
    assert!(
        written.bytes_written <= 2 * update + 20,
        "{} bytes written for an update of {update}",
        written.bytes_written
    );
    assert_eq!(again[..original.len()], original[..]);
    let startxrefs = |b: &[u8]| b.windows(9).filter(|w| w == b"startxref").count();
    assert_eq!(startxrefs(&again), startxrefs(&original) + 1);
    assert_eq!(
        aigc_label::inspect_file(&file, &options).unwrap().label(),
        Some(relabel)
    );
}

/// PDF propagation: the file ends with our own update, which the new label replaces in place
/// (its copy past the end, the switch, the update where the rewrite puts it, the file cut after
/// it), so the producer's binding holds as after a rewrite; a second propagation likewise. The
/// update is written twice. Both the xref-table and the xref-stream styles.
#[test]
fn pdf_signed_and_bound_labels_survive_an_in_place_propagation() {
    for name in ["classic.pdf", "objstm.pdf"] {
        let file = in_place_propagation(name, 2);
        let bytes = std::fs::read(file.path()).unwrap();
        let original = std::fs::read(fixture(name)).unwrap();
        assert_eq!(
            bytes[..original.len()],
            original[..],
            "{name}: the original revision is untouched"
        );
        let startxrefs = |b: &[u8]| b.windows(9).filter(|w| w == b"startxref").count();
        assert_eq!(
            startxrefs(&bytes),
            startxrefs(&original) + 1,
            "{name}: one update of ours"
        );
    }
}

/// A PDF propagation in place killed at any step leaves a file the next propagation in place
/// finishes: before the switch, our update followed by what was written past it; after it, the
/// copy of the new update past the end. Both signatures verify, bound, afterwards.
#[test]
fn pdf_propagation_in_place_finishes_an_interrupted_one() {
    use aigc_label::core::Carrier;
    use aigc_label_testutil::in_place::{Recorder, replay_torn};
    let dir = tempfile::tempdir().unwrap();
    let signed = dir.path().join("signed.pdf");
    let options = Options::default();
    let producer_key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let platform_key = SigningKey::generate(Algorithm::Sm2Sm3).unwrap();
    let label = Label::new(PRODUCER, "doc-1");
    embed_signed_file(
        fixture("classic.pdf"),
        &signed,
        &label,
        &[SignSpec::producer(&producer_key)],
        &options,
    )
    .unwrap();
    let bytes = std::fs::read(&signed).unwrap();
    // The writes of an update in place, to be cut short.
    let mut rec = Recorder::new(bytes.clone());
    let pdf = aigc_label::text::Pdf;
    let crashed = aigc_label::inspect_file(&signed, &options)
        .unwrap()
        .label()
        .unwrap()
        .propagated(PLATFORM, "crashed");
    pdf.in_place()
        .unwrap()
        .update(&mut rec, &crashed, &options.limits)
        .unwrap();
    assert_eq!(rec.writes.len(), 4, "a replacement");
    let mut states = Vec::new();
    replay_torn(
        &bytes,
        &rec.writes,
        // The tail and the switch lie in one sector: whole or not at all.
        |i, b| {
            if i == 0 || i == 2 {
                b.len()
            } else {
                (b.len() / 2).max(1)
            }
        },
        |state, i, cut| states.push((format!("write {i} cut at {cut}"), state.to_vec())),
    );
    let mut trust = TrustList::new();
    trust.add(PRODUCER, producer_key.public_key());
    trust.add(PLATFORM, platform_key.public_key());
    let file = dir.path().join("doc.pdf");
    for (what, state) in states {
        std::fs::write(&file, &state).unwrap();
        let request = Request {
            platform: PLATFORM,
            propagate_id: "upload-7",
            declared_by_user: false,
            signer: Some(&platform_key),
            bind: true,
        };
        let (outcome, writes) = record_writes(|| propagate_file(&file, &file, &request, &options));
        outcome.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(only(&writes).method, Method::InPlace, "{what}");
        let verified = verify_file(&file, &trust, &options).unwrap();
        assert_eq!(verified.trust_verdict(), Some(TrustVerdict::Trusted), "{what}");
        assert!(
            verified.verifications.iter().all(|v| v.as_ref().unwrap().is_bound()),
            "{what}"
        );
        // One update of ours after the original: what was left past it is gone.
        let now = std::fs::read(&file).unwrap();
        let original = std::fs::read(fixture("classic.pdf")).unwrap();
        let startxrefs = |b: &[u8]| b.windows(9).filter(|w| w == b"startxref").count();
        assert!(now.starts_with(&original), "{what}");
        assert_eq!(startxrefs(&now), startxrefs(&original) + 1, "{what}");
    }
}

#[test]
fn signed_and_bound_labels_survive_an_in_place_propagation() {
    signed_and_bound_propagation_in_place("ffmpeg.flac");
}

/// WAV (plain RIFF and RF64): the label goes into the `JUNK` room after the `AIGC` chunk, which
/// the binding leaves out with the label.
#[test]
fn wav_signed_and_bound_labels_survive_an_in_place_propagation() {
    for name in ["pcm16_mono.wav", "rf64.wav"] {
        let file = signed_and_bound_propagation_in_place(name);
        let bytes = std::fs::read(file.path()).unwrap();
        let original = std::fs::read(fixture(name)).unwrap();
        let data = |b: &[u8]| b.windows(4).position(|w| w == b"data").unwrap();
        let (a, b) = (data(&original), data(&bytes));
        assert_eq!(a, b, "{name}: nothing moves before the samples");
        assert_eq!(
            original[a..],
            bytes[b..b + original.len() - a],
            "{name}: samples unchanged"
        );
    }
}

/// AIFF: the label frame moves within the padding of the ID3 chunk's tag, which the binding
/// leaves out.
#[test]
fn aiff_signed_and_bound_labels_survive_an_in_place_propagation() {
    // The ID3 steps write the frame's bytes about four times (see `Mp3`'s update in place).
    in_place_propagation("sox.aiff", 4);
}

/// MP4: the new `keys` and `ilst` go into the `free` boxes of the label's `meta` box, which the
/// binding leaves out with the rest of that box; nothing else changes, so the decoded frames
/// are the same.
#[test]
fn mp4_signed_and_bound_labels_survive_an_in_place_propagation() {
    for name in ["mp4_faststart.mp4", "mp4_fragmented.mp4"] {
        let file = signed_and_bound_propagation_in_place(name);
        if let Some(ffmpeg) = aigc_label_testutil::tool("ffmpeg") {
            let frames = |path: &Path| framemd5(&ffmpeg, path);
            let (a, b) = (frames(&fixture(name)), frames(file.path()));
            assert!(!a.is_empty());
            assert_eq!(a, b, "{name}: decoded frames");
        }
    }
}

/// Matroska and WebM: the new `Tag` goes into the `Void` inside the label's `Tags` element, which
/// the binding leaves out whole; nothing else changes, so the decoded frames are the same.
#[test]
fn matroska_signed_and_bound_labels_survive_an_in_place_propagation() {
    for name in ["mkv_plain.mkv", "webm_plain.webm"] {
        let file = signed_and_bound_propagation_in_place(name);
        if let Some(ffmpeg) = aigc_label_testutil::tool("ffmpeg") {
            let (a, b) = (framemd5(&ffmpeg, &fixture(name)), framemd5(&ffmpeg, file.path()));
            assert!(!a.is_empty());
            assert_eq!(a, b, "{name}: decoded frames");
        }
    }
}

/// TIFF: the new XMP packet goes past the end of the file (the first time) or into the label
/// room the previous update left, and one IFD entry is flipped to it; the binding leaves the
/// packet and its rooms out. The packet keeps its 2 KiB of padding, so about the label's size
/// plus that is written.
#[test]
fn tiff_signed_and_bound_labels_survive_an_in_place_propagation() {
    for name in ["le.tif", "bigtiff-be.tif"] {
        in_place_propagation(name, 4);
    }
}

/// JPEG: the new XMP segment goes into the room segment our writer left next to the old one,
/// which the binding leaves out with the label's segment; the pixels decode the same.
#[test]
fn jpeg_signed_and_bound_labels_survive_an_in_place_propagation() {
    let name = "exif-icc-xmp.jpg";
    let file = signed_and_bound_propagation_in_place(name);
    if let Some(djpeg) = aigc_label_testutil::tool("djpeg") {
        let decode = |path: &Path| aigc_label_testutil::run(&djpeg, &["-pnm".as_ref(), path.as_os_str()]);
        let pixels = decode(&fixture(name));
        assert!(!pixels.is_empty());
        assert!(pixels == decode(file.path()), "decoded pixels changed");
    }
}

/// WebP: the same through a `JUNK` room chunk next to the `XMP ` chunk.
#[test]
fn webp_signed_and_bound_labels_survive_an_in_place_propagation() {
    signed_and_bound_propagation_in_place("icc-exif.webp");
}

/// PNG: the new `iTXt` chunk goes into the `roOm` chunk after the old one and the `paSt` chunk
/// before it grows over the old one, both of which the binding leaves out; the pixels decode the
/// same. A signed label's envelopes may be written with character references, which keep the
/// room's CRC at every write and double their size in the file: up to 4 copies' worth.
#[test]
fn png_signed_and_bound_labels_survive_an_in_place_propagation() {
    let name = "rgba.png";
    let file = in_place_propagation(name, 4);
    if let Some(compare) = aigc_label_testutil::tool("compare") {
        let out = std::process::Command::new(compare)
            .args(["-metric", "AE"])
            .arg(fixture(name))
            .arg(file.path())
            .arg("null:")
            .output()
            .unwrap();
        let differ = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && differ.trim() == "0",
            "decoded pixels changed: {differ}"
        );
    }
}

/// HEIF and AVIF: the new packet goes into the room after the old one in the label's own
/// `mdat`, and the item's `iloc` extent is flipped to it; the binding leaves that `mdat` and the
/// `iloc` entry out. The packet keeps its 2 KiB of padding.
#[test]
fn heif_signed_and_bound_labels_survive_an_in_place_propagation() {
    for name in ["rgb.heic", "rgb.avif"] {
        in_place_propagation(name, 4);
    }
}

/// Signs and binds a label into a copy of fixture `name`, propagates it in place twice with a
/// bound platform signature, and checks both signatures and bindings; returns the file.
fn signed_and_bound_propagation_in_place(name: &str) -> tempfile::NamedTempFile {
    in_place_propagation(name, 2)
}

/// [`signed_and_bound_propagation_in_place`], for a format whose update writes the label's
/// bytes about `copies` times.
fn in_place_propagation(name: &str, copies: usize) -> tempfile::NamedTempFile {
    let ext = name.rsplit('.').next().unwrap();
    let tmp = tempfile::Builder::new().suffix(&format!(".{ext}")).tempfile().unwrap();
    let file = tmp.path().to_path_buf();
    let options = Options::default();
    let producer_key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let platform_key = SigningKey::generate(Algorithm::Sm2Sm3).unwrap();
    embed_signed_file(
        fixture(name),
        &file,
        &Label::new(PRODUCER, "clip-1"),
        &[SignSpec::producer(&producer_key)],
        &options,
    )
    .unwrap();
    let ino = inode(&file);
    let request = Request {
        platform: PLATFORM,
        propagate_id: "upload-7",
        declared_by_user: false,
        signer: Some(&platform_key),
        bind: true,
    };
    let (outcome, writes) = record_writes(|| propagate_file(&file, &file, &request, &options));
    let outcome = outcome.unwrap();
    assert!(matches!(outcome.decision, Decision::Keep { .. }));
    let w = only(&writes);
    assert_eq!(w.method, Method::InPlace);
    let label_len =
        outcome.label.as_ref().unwrap().reserved_code2.len() + outcome.label.as_ref().unwrap().reserved_code1.len();
    eprintln!(
        "in-place propagation: {} bytes written, label fields {} bytes",
        w.bytes_written, label_len
    );
    assert!(
        w.bytes_written < (copies * label_len) as u64 + 2048,
        "{} bytes",
        w.bytes_written
    );
    assert_eq!(inode(&file), ino);
    let line = json::propagated(&file, &file, &outcome, &writes);
    assert_eq!(line["write"], "in-place");
    assert_eq!(line["written"], true);
    assert_eq!(line["bytes_written"], w.bytes_written);

    let mut trust = TrustList::new();
    trust.add(PRODUCER, producer_key.public_key());
    trust.add(PLATFORM, platform_key.public_key());
    let verified = verify_file(&file, &trust, &options).unwrap();
    assert_eq!(verified.trust_verdict(), Some(TrustVerdict::Trusted));
    let v = verified.verifications[0].as_ref().unwrap();
    assert!(v.is_bound(), "{v:?}");
    assert_eq!(verified.report.label().unwrap().propagate_id, "upload-7");

    // Propagating again (a second platform step) stays in place and keeps both bindings.
    let request = Request {
        propagate_id: "upload-8",
        ..request
    };
    let (outcome, writes) = record_writes(|| propagate_file(&file, &file, &request, &options));
    outcome.unwrap();
    assert_eq!(only(&writes).method, Method::InPlace);
    let verified = verify_file(&file, &trust, &options).unwrap();
    assert_eq!(verified.trust_verdict(), Some(TrustVerdict::Trusted));
    assert!(verified.verifications.iter().all(|v| v.as_ref().unwrap().is_bound()));
    let report = aigc_label::inspect_file(&file, &options).unwrap();
    assert_eq!(report.verdict, aigc_label::Verdict::Compliant, "{name}");
    tmp
}

#[test]
fn a_file_written_to_another_path_is_a_rewrite() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.flac");
    let (r, writes) = record_writes(|| {
        embed_file(
            fixture("ffmpeg.flac"),
            &out,
            &Label::new(PRODUCER, "c"),
            &Options::default(),
        )
    });
    let written = r.unwrap();
    let w = only(&writes);
    assert_eq!(w.method, Method::Rewrite);
    assert_eq!(w.bytes_written, std::fs::metadata(&out).unwrap().len());
    assert_eq!(
        json::embedded(&out, &out, "flac", &written, &writes)["write"],
        "rewrite"
    );
}

#[test]
fn mp3_propagation_in_place_keeps_the_producer_binding() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("song.mp3");
    let options = Options::default();
    let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    embed_signed_file(
        fixture("id3v24.mp3"),
        &file,
        &Label::new(PRODUCER, "track-1"),
        &[SignSpec::producer(&key)],
        &options,
    )
    .unwrap();
    let ino = inode(&file);
    let request = Request {
        platform: PLATFORM,
        propagate_id: "upload-9",
        declared_by_user: false,
        signer: None,
        bind: false,
    };
    let (outcome, writes) = record_writes(|| propagate_file(&file, &file, &request, &options));
    outcome.unwrap();
    let w = only(&writes);
    assert_eq!(w.method, Method::InPlace);
    eprintln!("mp3 in-place propagation: {} bytes written", w.bytes_written);
    assert!(w.bytes_written < 4096, "{}", w.bytes_written);
    assert_eq!(inode(&file), ino);
    let mut trust = TrustList::new();
    trust.add(PRODUCER, key.public_key());
    let verified = verify_file(&file, &trust, &options).unwrap();
    assert_eq!(verified.trust_verdict(), Some(TrustVerdict::Trusted));
    assert!(verified.verifications[0].as_ref().unwrap().is_bound());
    assert_eq!(verified.report.label().unwrap().propagate_id, "upload-9");
}

/// ffmpeg's frame checksums of every stream of `path`, without the header lines.
fn framemd5(ffmpeg: &Path, path: &Path) -> String {
    let out = aigc_label_testutil::run(
        ffmpeg,
        &[
            "-v".as_ref(),
            "error".as_ref(),
            "-nostdin".as_ref(),
            "-i".as_ref(),
            path.as_os_str(),
            "-map".as_ref(),
            "0".as_ref(),
            "-f".as_ref(),
            "framemd5".as_ref(),
            "-".as_ref(),
        ],
    );
    let text = String::from_utf8_lossy(&out).into_owned();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}
