//! The C ABI of `aigc-label`: embed and inspect GB 45438-2025 implicit labels on paths and on
//! memory buffers, for services written in C, C++, Go (cgo) or anything else that calls C.
//!
//! Every function returns an [`AigcStatus`] (0 is success) and hands results back as
//! NUL-terminated JSON strings, the same objects `aigc-label inspect --json` and `embed --json`
//! print (`docs/output.schema.json`), built by [`aigc_label::json`]. The caller frees what the
//! library allocates with the matching free function: [`aigc_string_free`] for strings,
//! [`aigc_buffer_free`] for buffers. [`aigc_last_error`] returns the message of the calling
//! thread's last failure.
//!
//! One design decision: results are JSON, not C structs. A report holds nested, variable-length
//! data (copies, checks, verification), which as structs would need a dozen types and free
//! functions, and would change the ABI whenever a field is added; a JSON string keeps the ABI at
//! a handful of functions, and every language has a JSON parser.
//!
//! No panic crosses the boundary: each function runs its body under
//! [`std::panic::catch_unwind`] and reports [`AigcStatus::Panic`] instead.
//!
//! ```c
//! char *json = NULL;
//! if (aigc_inspect_file("upload.png", &json) == AIGC_STATUS_OK) {
//!     puts(json);
//! }
//! aigc_string_free(json);
//! ```
// A panic on uploaded bytes is a crash an uploader can trigger: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use aigc_label::{Error, Label, Options};

/// What a call did. `AIGC_STATUS_OK` is 0; every other value is a failure whose message
/// [`aigc_last_error`] returns.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AigcStatus {
    /// Success.
    Ok = 0,
    /// A required pointer was NULL, or a string was not UTF-8.
    InvalidArgument = 1,
    /// Reading or writing a file failed (not found, permission denied, disk full, ...).
    Io = 2,
    /// The input does not follow its format's rules, or ends early.
    Malformed = 3,
    /// The format, or a feature of it, is not supported.
    Unsupported = 4,
    /// A declared size or count in the input exceeds the library's limits.
    Limit = 5,
    /// The label asked for fails validation (a producer that is not a 27-character code, ...).
    InvalidLabel = 6,
    /// The file already carries another producer's label, which may not be replaced.
    AlreadyLabelled = 7,
    /// The label read back after writing differs from what was written.
    Verification = 8,
    /// A bug: the library panicked. The call had no effect on its outputs.
    Panic = 9,
    /// Any other failure.
    Other = 10,
}

impl AigcStatus {
    /// The status for a library error; unknown variants (the error type may grow) are `Other`.
    fn of(error: &Error) -> Self {
        match error.without_path() {
            Error::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => AigcStatus::Malformed,
            Error::Io(_) => AigcStatus::Io,
            Error::Malformed { .. } | Error::Truncated { .. } => AigcStatus::Malformed,
            Error::Unsupported(_) => AigcStatus::Unsupported,
            Error::Limit { .. } => AigcStatus::Limit,
            Error::Parameter { .. } => AigcStatus::InvalidLabel,
            Error::AlreadyLabelled { .. } => AigcStatus::AlreadyLabelled,
            Error::Verification(_) => AigcStatus::Verification,
            _ => AigcStatus::Other,
        }
    }
}

thread_local! {
    /// The message of this thread's last failure.
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// A failure: its status and message.
struct Failure(AigcStatus, String);

impl Failure {
    fn argument(what: &str) -> Self {
        Failure(AigcStatus::InvalidArgument, what.to_string())
    }
}

impl From<&Error> for Failure {
    fn from(e: &Error) -> Self {
        Failure(AigcStatus::of(e), e.to_string())
    }
}

/// Runs `body`, turning a failure or a panic into a status and the thread's last error.
fn guard(body: impl FnOnce() -> Result<(), Failure>) -> AigcStatus {
    let (status, message) = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => (AigcStatus::Ok, None),
        Ok(Err(Failure(status, message))) => (status, Some(message)),
        Err(_) => (
            AigcStatus::Panic,
            Some("internal error: the library panicked".to_string()),
        ),
    };
    let message = message.map(|m| CString::new(m.replace('\0', " ")).unwrap_or_default());
    LAST_ERROR.with(|last| *last.borrow_mut() = message);
    status
}

/// A `&str` from a C string argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string valid for the call.
unsafe fn text<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(Failure::argument(&format!("{name} is NULL")));
    }
    // SAFETY: the caller promises a NUL-terminated string that outlives the call.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| Failure::argument(&format!("{name} is not UTF-8")))
}

/// A byte slice from a C buffer argument; NULL is allowed when `len` is 0.
///
/// # Safety
/// `ptr` points to `len` readable bytes valid for the call (or is NULL with `len` 0).
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Failure::argument("data is NULL"))
        };
    }
    // SAFETY: the caller promises `len` readable bytes at `ptr` that outlive the call.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Stores `value` as a new C string in `*out`.
///
/// # Safety
/// `out` is a valid pointer to a `char *` (checked non-NULL by the caller).
unsafe fn put_string(out: *mut *mut c_char, value: &serde_json::Value) {
    let text = CString::new(value.to_string()).unwrap_or_default();
    // SAFETY: the caller checked `out` and promises it is writable.
    unsafe { *out = text.into_raw() };
}

/// Clears an output pointer so it is NULL on every path that does not set it.
///
/// # Safety
/// `out` is NULL or a writable pointer to a `char *`.
unsafe fn clear<T>(out: *mut *mut T) -> Result<(), Failure> {
    if out.is_null() {
        return Err(Failure::argument("an output pointer is NULL"));
    }
    // SAFETY: non-NULL, and the caller promises it is writable.
    unsafe { *out = std::ptr::null_mut() };
    Ok(())
}

/// The label a generation service writes: class 1, the production pair, the propagation pair
/// equal to it (GB 45438 Annex E, first write).
fn label(producer: &str, produce_id: &str) -> Label {
    Label::new(producer, produce_id)
}

/// Inspects the file at `path`: finds every label copy, validates it, and stores in `*json_out`
/// the `inspect --json` object for the file.
///
/// On a file that cannot be read (not found, malformed, unsupported) the status says why and
/// `*json_out` still holds an object, with verdict `unreadable` and the message in `error`.
/// `*json_out` is NULL only after `AIGC_STATUS_INVALID_ARGUMENT` or `AIGC_STATUS_PANIC`.
///
/// # Safety
/// `path` is a NUL-terminated UTF-8 string; `json_out` is a writable `char **`. Free
/// `*json_out` with [`aigc_string_free`].
#[no_mangle]
pub unsafe extern "C" fn aigc_inspect_file(path: *const c_char, json_out: *mut *mut c_char) -> AigcStatus {
    guard(|| {
        // SAFETY: as the caller promises.
        unsafe { clear(json_out) }?;
        // SAFETY: as the caller promises.
        let path = unsafe { text(path, "path") }?;
        let result = aigc_label::inspect_file(path, &Options::default());
        // SAFETY: `json_out` was checked by `clear`.
        unsafe { put_string(json_out, &aigc_label::json::inspected(Path::new(path), &result)) };
        result.map(|_| ()).map_err(|e| Failure::from(&e))
    })
}

/// Inspects `len` bytes at `data` held in memory, as [`aigc_inspect_file`] does a file; `name`
/// (may be NULL, then `-`) is what the JSON object's `file` says. The format is detected from
/// the bytes.
///
/// # Safety
/// `data` points to `len` readable bytes (may be NULL when `len` is 0); `name` is NULL or a
/// NUL-terminated UTF-8 string; `json_out` is a writable `char **`. Free `*json_out` with
/// [`aigc_string_free`].
#[no_mangle]
pub unsafe extern "C" fn aigc_inspect_buffer(
    data: *const u8,
    len: usize,
    name: *const c_char,
    json_out: *mut *mut c_char,
) -> AigcStatus {
    guard(|| {
        // SAFETY: as the caller promises.
        unsafe { clear(json_out) }?;
        // SAFETY: as the caller promises.
        let data = unsafe { bytes(data, len) }?;
        // SAFETY: as the caller promises.
        let name = if name.is_null() {
            "-"
        } else {
            unsafe { text(name, "name") }?
        };
        let result = aigc_label::inspect(Cursor::new(data), &Options::default());
        // SAFETY: `json_out` was checked by `clear`.
        unsafe { put_string(json_out, &aigc_label::json::inspected(Path::new(name), &result)) };
        result.map(|_| ()).map_err(|e| Failure::from(&e))
    })
}

/// Writes the file at `input` to `output` with the implicit label of `producer` (the service
/// provider's 27-character code) and `produce_id`, atomically: a temporary file beside
/// `output`, read back and verified, synced, renamed. `input` and `output` may be the same path. `*json_out` receives the `embed --json`
/// object for `input`, whatever the status (except after `AIGC_STATUS_INVALID_ARGUMENT` or
/// `AIGC_STATUS_PANIC`, when it is NULL).
///
/// # Safety
/// `input`, `output`, `producer` and `produce_id` are NUL-terminated UTF-8 strings;
/// `json_out` is a writable `char **`. Free `*json_out` with [`aigc_string_free`].
#[no_mangle]
pub unsafe extern "C" fn aigc_embed_file(
    input: *const c_char,
    output: *const c_char,
    producer: *const c_char,
    produce_id: *const c_char,
    json_out: *mut *mut c_char,
) -> AigcStatus {
    guard(|| {
        // SAFETY: as the caller promises, for every argument below.
        unsafe { clear(json_out) }?;
        let (input, output) = unsafe { (text(input, "input")?, text(output, "output")?) };
        let (producer, produce_id) = unsafe { (text(producer, "producer")?, text(produce_id, "produce_id")?) };
        let (result, writes) = aigc_label::record_writes(|| {
            aigc_label::embed_file(input, output, &label(producer, produce_id), &Options::default())
        });
        let line = match &result {
            Ok(written) => {
                let format = writes.first().map_or("-", |w| w.format);
                aigc_label::json::embedded(Path::new(input), Path::new(output), format, written, &writes)
            }
            Err(e) => aigc_label::json::embed_failed(Path::new(input), e),
        };
        // SAFETY: `json_out` was checked by `clear`.
        unsafe { put_string(json_out, &line) };
        result.map(|_| ()).map_err(|e| Failure::from(&e))
    })
}

/// Embeds the label of `producer` and `produce_id` into `len` bytes at `data` held in memory,
/// reads the result back and verifies it, and hands it over in `*out` / `*out_len` (free it
/// with [`aigc_buffer_free`]). `*json_out` receives the `embed --json` object (its `file` is
/// `-`), whatever the status (except after `AIGC_STATUS_INVALID_ARGUMENT` or
/// `AIGC_STATUS_PANIC`). On failure `*out` is NULL and `*out_len` 0.
///
/// # Safety
/// `data` points to `len` readable bytes (may be NULL when `len` is 0); `producer` and
/// `produce_id` are NUL-terminated UTF-8 strings; `out`, `out_len` and `json_out` are writable.
#[no_mangle]
pub unsafe extern "C" fn aigc_embed_buffer(
    data: *const u8,
    len: usize,
    producer: *const c_char,
    produce_id: *const c_char,
    out: *mut *mut u8,
    out_len: *mut usize,
    json_out: *mut *mut c_char,
) -> AigcStatus {
    guard(|| {
        // SAFETY: as the caller promises, for every argument below.
        unsafe { clear(json_out) }?;
        unsafe { clear(out) }?;
        if out_len.is_null() {
            return Err(Failure::argument("out_len is NULL"));
        }
        unsafe { *out_len = 0 };
        let data = unsafe { bytes(data, len) }?;
        let (producer, produce_id) = unsafe { (text(producer, "producer")?, text(produce_id, "produce_id")?) };
        let mut output = Cursor::new(Vec::new());
        let result = aigc_label::detect(Cursor::new(data)).and_then(|carrier| {
            let written = aigc_label::embed_seekable(
                Cursor::new(data),
                &mut output,
                &label(producer, produce_id),
                &Options::default(),
            )?;
            Ok((carrier.format(), written))
        });
        let stdout = Path::new("-");
        let line = match &result {
            Ok((format, written)) => aigc_label::json::embedded(stdout, stdout, format, written, &[]),
            Err(e) => aigc_label::json::embed_failed(stdout, e),
        };
        // SAFETY: `json_out` was checked by `clear`.
        unsafe { put_string(json_out, &line) };
        result.map_err(|e| Failure::from(&e))?;
        let buffer = output.into_inner().into_boxed_slice();
        let length = buffer.len();
        // SAFETY: both checked above; ownership of the buffer passes to the caller, who hands
        // it back to `aigc_buffer_free` with this length.
        unsafe {
            *out_len = length;
            *out = Box::into_raw(buffer).cast::<u8>();
        }
        Ok(())
    })
}

/// The message of the calling thread's last failure, as a new string to free with
/// [`aigc_string_free`], or NULL when the last call succeeded (or none failed yet).
#[no_mangle]
pub extern "C" fn aigc_last_error() -> *mut c_char {
    catch_unwind(|| LAST_ERROR.with(|last| last.borrow().clone()))
        .ok()
        .flatten()
        .map_or(std::ptr::null_mut(), CString::into_raw)
}

/// Frees a string this library returned. NULL is ignored.
///
/// # Safety
/// `s` is NULL or a string from this library, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn aigc_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: the caller passes back a pointer `CString::into_raw` made, once.
        drop(unsafe { CString::from_raw(s) });
    }
}

/// Frees a buffer this library returned, with the length it returned. NULL is ignored.
///
/// # Safety
/// `data` is NULL or a buffer from [`aigc_embed_buffer`], not yet freed, and `len` its length.
#[no_mangle]
pub unsafe extern "C" fn aigc_buffer_free(data: *mut u8, len: usize) {
    if !data.is_null() {
        // SAFETY: the caller passes back the pointer and length of a boxed slice, once.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len)) });
    }
}

/// The library's version, a static string (do not free it).
#[no_mangle]
pub extern "C" fn aigc_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
