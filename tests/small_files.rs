//! A single small file is read once and written once, and a larger file's check re-reads its
//! structure, not its payload: the bytes one file-level write moves through system calls on
//! this thread, counted by the kernel in `/proc/thread-self/io` (Linux).

use std::path::Path;

use aigc_label::{Options, Verdict, embed_file, inspect_file};

/// `rchar` and `wchar` of this thread: bytes passed to read and write system calls.
fn io_counts() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/thread-self/io").ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
    };
    Some((field("rchar:")?, field("wchar:")?))
}

/// Bytes read and written while `f` runs on this thread.
fn counted<T>(f: impl FnOnce() -> T) -> Option<(T, u64, u64)> {
    let (r0, w0) = io_counts()?;
    let value = f();
    let (r1, w1) = io_counts()?;
    Some((value, r1 - r0, w1 - w0))
}

/// Writes a synthetic PNG of `width` x `height` pixels to `path`.
fn png_file(path: &Path, width: u32, height: u32) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    aigc_label_testutil::synthetic_png(&mut out, width, height).unwrap();
}

fn measure(input: &Path, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join(name);
    let label = aigc_label_testutil::sample_label();
    let options = Options::default();
    let Some(written) = read_once_written_once(input, &output, || embed_file(input, &output, &label, &options)) else {
        return;
    };
    assert_eq!(written.bytes_written, std::fs::metadata(&output).unwrap().len());
    assert_eq!(inspect_file(&output, &options).unwrap().verdict, Verdict::Compliant);
}

/// Runs `write` (from `input` to `output`) and checks that it read `input` once and wrote
/// `output` once; `None` where the kernel does not count (not Linux).
fn read_once_written_once<T>(input: &Path, output: &Path, write: impl FnOnce() -> aigc_label::Result<T>) -> Option<T> {
    let size = std::fs::metadata(input).unwrap().len();
    let Some((value, read, wrote)) = counted(write) else {
        eprintln!("SKIPPED small_files: no /proc/thread-self/io");
        return None;
    };
    let out_size = std::fs::metadata(output).unwrap().len();
    eprintln!(
        "{}: input {size}, output {out_size}, read {read}, wrote {wrote}",
        output.display()
    );
    // The input once, plus the few hundred bytes of /proc/thread-self/io itself; no read-back
    // from the disk (the output is checked in memory before it is written).
    assert!(read <= size + 1024, "read {read} bytes of a {size}-byte input");
    assert_eq!(wrote, out_size, "the output is written once");
    Some(value.unwrap())
}

#[test]
fn embedding_a_small_png_reads_it_once_and_writes_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    png_file(&input, 300, 300);
    assert!(
        std::fs::metadata(&input).unwrap().len() > 300_000,
        "a file bigger than every buffer"
    );
    measure(&input, "out.png");
}

#[test]
fn embedding_a_small_jpeg_reads_it_once_and_writes_it_once() {
    measure(&aigc_label_testutil::fixture("jpeg/xmp-extended.jpg"), "out.jpg");
}

/// Labels `file` in place for the first time (it has no label, so no room for one): the
/// in-place attempt reads it, finds no room and hands what it read to the rewrite, so the file is
/// read from the disk once, and written once (to the temporary file renamed over it).
fn first_label_in_place(file: &Path) {
    let label = aigc_label_testutil::sample_label();
    let options = Options::default();
    let (written, writes) =
        aigc_label::record_writes(|| read_once_written_once(file, file, || embed_file(file, file, &label, &options)));
    let Some(written) = written else {
        return;
    };
    assert_eq!(writes.len(), 1);
    assert_eq!(
        writes[0].method,
        aigc_label::Method::Rewrite,
        "a first label is a rewrite"
    );
    assert_eq!(written.bytes_written, std::fs::metadata(file).unwrap().len());
    let report = inspect_file(file, &options).unwrap();
    assert_eq!(report.verdict, Verdict::Compliant);
    assert_eq!(report.label(), Some(label));
}

#[test]
fn a_first_label_in_place_reads_a_small_jpeg_once_and_writes_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("photo.jpg");
    std::fs::copy(aigc_label_testutil::fixture("jpeg/xmp-extended.jpg"), &file).unwrap();
    first_label_in_place(&file);
}

#[test]
fn a_first_label_in_place_reads_a_small_png_once_and_writes_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("picture.png");
    png_file(&file, 300, 300);
    first_label_in_place(&file);
}

#[cfg(feature = "trust")]
#[test]
fn propagating_a_small_labelled_jpeg_reads_it_once_and_writes_it_once() {
    use aigc_label::trust::propagate::Request;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jpg");
    let options = Options::default();
    let label = aigc_label_testutil::sample_label();
    embed_file(
        aigc_label_testutil::fixture("jpeg/xmp-extended.jpg"),
        &input,
        &label,
        &options,
    )
    .unwrap();
    let output = dir.path().join("out.jpg");
    let request = Request {
        platform: "001191110108551385082Q20000",
        propagate_id: "p-1",
        declared_by_user: false,
        signer: None,
        bind: false,
    };
    let outcome = read_once_written_once(&input, &output, || {
        aigc_label::propagate_file(&input, &output, &request, &options)
    });
    if let Some(outcome) = outcome {
        assert_eq!(outcome.label.unwrap().propagate_id, "p-1");
    }
}

#[test]
fn checking_a_larger_output_rereads_its_structure_not_its_payload() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    png_file(&input, 1200, 1000);
    let size = std::fs::metadata(&input).unwrap().len();
    let output = dir.path().join("out.png");
    let label = aigc_label_testutil::sample_label();
    let Some((written, read, wrote)) = counted(|| embed_file(&input, &output, &label, &Options::default())) else {
        return;
    };
    written.unwrap();
    let reread = read - size;
    eprintln!("{size}-byte png: read {read} ({reread} re-read by the check), wrote {wrote}");
    assert!(size > 4 << 20, "past the in-memory limit");
    // The check seeks over the 4.8 MB of IDAT: the output's headers and the label's chunk, in
    // read-back buffer fills of 64 KiB, not the whole output again.
    assert!(reread <= 256 << 10, "the check re-read {reread} bytes");
    assert_eq!(wrote, std::fs::metadata(&output).unwrap().len(), "written once");
}

/// A PCM WAV file of `data` bytes of silence.
fn wav(data: u32) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    // PCM, one channel, 44.1 kHz, 88,200 bytes a second, 2-byte frames of 16 bits.
    for field in [1u16, 1] {
        out.extend_from_slice(&field.to_le_bytes());
    }
    out.extend_from_slice(&44_100u32.to_le_bytes());
    out.extend_from_slice(&88_200u32.to_le_bytes());
    for field in [2u16, 16] {
        out.extend_from_slice(&field.to_le_bytes());
    }
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data.to_le_bytes());
    out.resize(out.len() + data as usize, 0);
    out
}

#[test]
fn an_update_in_place_of_a_larger_file_reads_its_structure_not_its_payload() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("long.wav");
    std::fs::write(&file, wav(3 << 20)).unwrap();
    let options = Options::default();
    let first = aigc_label_testutil::sample_label();
    embed_file(&file, &file, &first, &options).unwrap();
    let second = first.propagated("001191110108551385082Q20000", "p-1");
    let Some(((result, writes), read, wrote)) =
        counted(|| aigc_label::record_writes(|| embed_file(&file, &file, &second, &options)))
    else {
        return;
    };
    result.unwrap();
    let size = std::fs::metadata(&file).unwrap().len();
    eprintln!("{size}-byte wav updated in place: read {read}, wrote {wrote}");
    assert_eq!(writes[0].method, aigc_label::Method::InPlace);
    // The head for the format, the chunks' headers and the label: a few KiB (about 5), not the
    // 3 MiB file, which the in-place attempt does not read whole past 1 MiB.
    assert!(read < 64 << 10, "read {read} bytes of a {size}-byte file");
    assert_eq!(inspect_file(&file, &options).unwrap().label(), Some(second));
}
