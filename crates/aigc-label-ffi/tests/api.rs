//! The C functions called from Rust: statuses, JSON results equal to the facade's `--json`
//! objects, output pointers cleared on failure, and the last error message.

use std::ffi::{c_char, CStr, CString};
use std::path::Path;
use std::ptr;

use aigc_label::{json, Options};
use aigc_label_ffi::*;

const PRODUCER: &str = "001191440300708461136T1XGW3";

/// Takes a string the library returned, freeing it.
fn take(s: *mut c_char) -> Option<String> {
    if s.is_null() {
        return None;
    }
    let text = unsafe { CStr::from_ptr(s) }.to_str().unwrap().to_string();
    unsafe { aigc_string_free(s) };
    Some(text)
}

fn value(s: *mut c_char) -> serde_json::Value {
    serde_json::from_str(&take(s).expect("a JSON result")).unwrap()
}

fn sample(name: &str) -> std::path::PathBuf {
    aigc_label_testutil::workspace_root()
        .join("examples/samples")
        .join(name)
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

#[test]
fn inspect_file_gives_the_json_the_facade_gives() {
    let path = sample("sample.png");
    let mut out = ptr::null_mut();
    let status = unsafe { aigc_inspect_file(c(path.to_str().unwrap()).as_ptr(), &mut out) };
    assert_eq!(status, AigcStatus::Ok);
    let expected = json::inspected(&path, &aigc_label::inspect_file(&path, &Options::default()));
    assert_eq!(value(out), expected);
    assert_eq!(take(aigc_last_error()), None);
}

#[test]
fn embed_buffer_then_inspect_buffer_round_trips() {
    let data = std::fs::read(sample("sample.jpg")).unwrap();
    let (mut out, mut out_len, mut json_out) = (ptr::null_mut(), 0usize, ptr::null_mut());
    let status = unsafe {
        aigc_embed_buffer(
            data.as_ptr(),
            data.len(),
            c(PRODUCER).as_ptr(),
            c("img-1").as_ptr(),
            &mut out,
            &mut out_len,
            &mut json_out,
        )
    };
    assert_eq!(status, AigcStatus::Ok);
    let embedded = value(json_out);
    assert_eq!(embedded["result"], "labelled");
    assert_eq!(embedded["bytes"], out_len as u64);
    let labelled = unsafe { std::slice::from_raw_parts(out, out_len) }.to_vec();
    unsafe { aigc_buffer_free(out, out_len) };
    assert!(labelled.len() > data.len());

    let mut report = ptr::null_mut();
    let status = unsafe { aigc_inspect_buffer(labelled.as_ptr(), labelled.len(), c("up.jpg").as_ptr(), &mut report) };
    assert_eq!(status, AigcStatus::Ok);
    let report = value(report);
    assert_eq!(report["file"], "up.jpg");
    assert_eq!(report["verdict"], "compliant");
    assert_eq!(report["labels"][0]["fields"]["ContentProducer"], PRODUCER);
    assert_eq!(report["labels"][0]["fields"]["ProduceID"], "img-1");
}

#[test]
fn embed_file_writes_a_labelled_copy() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.wav");
    let mut out = ptr::null_mut();
    let status = unsafe {
        aigc_embed_file(
            c(sample("sample.wav").to_str().unwrap()).as_ptr(),
            c(output.to_str().unwrap()).as_ptr(),
            c(PRODUCER).as_ptr(),
            c("wav-1").as_ptr(),
            &mut out,
        )
    };
    assert_eq!(status, AigcStatus::Ok);
    assert_eq!(value(out)["result"], "labelled");
    let report = aigc_label::inspect_file(&output, &Options::default()).unwrap();
    assert_eq!(report.label().unwrap().produce_id, "wav-1");
}

#[test]
fn failures_set_status_message_and_an_unreadable_object() {
    // Not a known format.
    let junk = b"just some bytes, no format";
    let mut out = ptr::null_mut();
    let status = unsafe { aigc_inspect_buffer(junk.as_ptr(), junk.len(), ptr::null(), &mut out) };
    assert_eq!(status, AigcStatus::Unsupported);
    let line = value(out);
    assert_eq!(line["verdict"], "unreadable");
    assert_eq!(line["file"], "-");
    assert!(take(aigc_last_error()).unwrap().contains("unsupported"));

    // A missing file.
    let status = unsafe { aigc_inspect_file(c("/nonexistent/x.png").as_ptr(), &mut out) };
    assert_eq!(status, AigcStatus::Io);
    assert_eq!(value(out)["file"], "/nonexistent/x.png");

    // A truncated PNG.
    let png = std::fs::read(sample("sample.png")).unwrap();
    let cut = &png[..60];
    let status = unsafe { aigc_inspect_buffer(cut.as_ptr(), cut.len(), ptr::null(), &mut out) };
    assert_eq!(
        status,
        AigcStatus::Malformed,
        "{}",
        take(aigc_last_error()).unwrap_or_default()
    );
    take(out);

    // An invalid producer code: nothing is handed over.
    let (mut buf, mut len) = (ptr::null_mut(), 7usize);
    let status = unsafe {
        aigc_embed_buffer(
            png.as_ptr(),
            png.len(),
            c("bad").as_ptr(),
            c("x").as_ptr(),
            &mut buf,
            &mut len,
            &mut out,
        )
    };
    assert_eq!(status, AigcStatus::InvalidLabel);
    assert!(buf.is_null());
    assert_eq!(len, 0);
    assert_eq!(value(out)["result"], "failed");

    // Another producer's label may not be replaced.
    let mut labelled = std::io::Cursor::new(Vec::new());
    aigc_label::embed(
        std::io::Cursor::new(&png),
        &mut labelled,
        &aigc_label::Label::new(PRODUCER, "a"),
        &Options::default(),
    )
    .unwrap();
    let labelled = labelled.into_inner();
    let other = "001191440300708461136T1XGW4";
    let status = unsafe {
        aigc_embed_buffer(
            labelled.as_ptr(),
            labelled.len(),
            c(other).as_ptr(),
            c("b").as_ptr(),
            &mut buf,
            &mut len,
            &mut out,
        )
    };
    assert_eq!(
        status,
        AigcStatus::AlreadyLabelled,
        "{}",
        take(aigc_last_error()).unwrap_or_default()
    );
    take(out);
}

#[test]
fn bad_arguments_are_reported_not_dereferenced() {
    let mut out = ptr::null_mut();
    assert_eq!(
        unsafe { aigc_inspect_file(ptr::null(), &mut out) },
        AigcStatus::InvalidArgument
    );
    assert!(out.is_null());
    assert!(take(aigc_last_error()).unwrap().contains("path is NULL"));
    assert_eq!(
        unsafe { aigc_inspect_file(c("x").as_ptr(), ptr::null_mut()) },
        AigcStatus::InvalidArgument
    );
    let not_utf8 = [0xffu8, 0xfe, 0];
    assert_eq!(
        unsafe { aigc_inspect_file(not_utf8.as_ptr().cast(), &mut out) },
        AigcStatus::InvalidArgument
    );
    assert_eq!(
        unsafe { aigc_inspect_buffer(ptr::null(), 5, ptr::null(), &mut out) },
        AigcStatus::InvalidArgument
    );
    // An empty buffer is not a bad argument, only an unsupported input.
    assert_eq!(
        unsafe { aigc_inspect_buffer(ptr::null(), 0, ptr::null(), &mut out) },
        AigcStatus::Unsupported
    );
    take(out);
    let version = unsafe { CStr::from_ptr(aigc_version()) }.to_str().unwrap();
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    assert!(Path::new(env!("CARGO_MANIFEST_DIR")).join("aigc_label.h").is_file());
}
