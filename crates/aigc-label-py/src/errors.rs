//! Library errors as the Python package's exceptions (`aigc_label.errors`), each naming the file.

use aigc_label::Error;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// The exception class in `aigc_label.errors` for `error`. The error type may grow variants;
/// unknown ones are the base class.
fn class_name(error: &Error) -> &'static str {
    match error.without_path() {
        Error::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => "MalformedFile",
        Error::Io(_) => "FileError",
        Error::Malformed { .. } | Error::Truncated { .. } => "MalformedFile",
        Error::Unsupported(_) => "Unsupported",
        Error::Limit { .. } => "LimitExceeded",
        Error::Parameter { .. } => "InvalidLabel",
        Error::AlreadyLabelled { .. } => "AlreadyLabelled",
        Error::Verification(_) => "VerificationFailed",
        Error::Signing(_) => "SigningFailed",
        _ => "AigcLabelError",
    }
}

/// `error`, about `path` (`None` for calls that concern no file), as a Python exception.
pub fn to_py(error: &Error, path: Option<&str>) -> PyErr {
    // The file functions name the file at fault (an output, a key) in the error itself; that
    // path wins over the one the call was about, and the message is said once, without it.
    let named = error.path().map(|p| p.to_string_lossy().into_owned());
    let path = named.as_deref().or(path);
    let error = error.without_path();
    Python::attach(|py| {
        let made = py.import("aigc_label.errors").and_then(|module| {
            let class = module.getattr(class_name(error))?;
            let producer = match error {
                Error::AlreadyLabelled { producer } => Some(producer.as_str()),
                _ => None,
            };
            let exception = class.call1((error.to_string(), path, producer))?;
            // The structured fields, for callers that sort failures without reading messages.
            match error {
                Error::Parameter { name, .. } => exception.setattr("parameter", *name)?,
                Error::Unsupported(feature) => exception.setattr("format", feature.format())?,
                _ => {}
            }
            Ok(exception)
        });
        match made {
            Ok(exception) => PyErr::from_value(exception),
            Err(_) => PyRuntimeError::new_err(match path {
                Some(path) => format!("{path}: {error}"),
                None => error.to_string(),
            }),
        }
    })
}

/// A caller's mistake (argument `name` is wrong as `problem` says) as
/// `aigc_label.errors.InvalidLabel`, a `ValueError`.
pub fn invalid(name: &'static str, problem: impl Into<String>) -> PyErr {
    to_py(&Error::parameter(name, problem.into()), None)
}
