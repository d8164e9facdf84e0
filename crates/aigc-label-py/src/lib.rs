//! The native half of the `aigc-label` Python package (module `aigc_label._native`).
//!
//! The Python half (`python/aigc_label/`) is what users import: typed result classes, the
//! exception hierarchy, PIL and NumPy adapters, and the sync and async `LabelStream`. This half
//! is thin on purpose: every file-level call returns the JSON object `aigc-label --json` prints
//! (built by [`aigc_label::json`]), which the Python side parses into its classes, so the
//! package's results equal the command's by construction. Pixels, samples and frames cross the
//! boundary as `bytes` with their layout, because the stable ABI (`abi3`, CPython 3.9+) has no
//! buffer protocol before 3.11.
//!
//! Errors are raised as the Python package's exception classes (`aigc_label.errors`), each with
//! the file it concerns. Long calls (`inspect_many`, file reads and writes) release the GIL.
// A panic on uploaded bytes is a crash an uploader can trigger: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use pyo3::prelude::*;

mod errors;
mod files;
mod stamp;
mod trust;

/// The module `aigc_label._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    files::register(m)?;
    trust::register(m)?;
    stamp::register(m)?;
    Ok(())
}
