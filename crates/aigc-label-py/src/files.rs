//! Implicit labels on files and bytes: inspect, embed (plain or signed), verify, propagate,
//! and `inspect_many` on all cores. Each returns the `--json` object as text.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use aigc_label::trust::propagate::Request;
use aigc_label::trust::{SignSpec, embed_signed};
use aigc_label::{Label, LabelValue, Options, Strictness, json};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{invalid, to_py};
use crate::trust::{Signer, TrustList};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(inspect_file, m)?)?;
    m.add_function(wrap_pyfunction!(inspect_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(inspect_many, m)?)?;
    m.add_function(wrap_pyfunction!(embed_file, m)?)?;
    m.add_function(wrap_pyfunction!(embed_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(verify_file, m)?)?;
    m.add_function(wrap_pyfunction!(verify_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(propagate_file, m)?)?;
    m.add_function(wrap_pyfunction!(propagate_bytes, m)?)?;
    Ok(())
}

fn options(lenient: bool) -> Options {
    let options = Options::default();
    if lenient {
        options.write_strictness(Strictness::Lenient)
    } else {
        options
    }
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The label a caller asks for: class, production pair, and the propagation pair when given
/// (else equal to the production pair).
fn label(
    producer: &str,
    produce_id: &str,
    value: &str,
    propagator: Option<&str>,
    propagate_id: Option<&str>,
) -> PyResult<Label> {
    let value =
        LabelValue::from_code(value).ok_or_else(|| invalid("label", format!("must be 1, 2 or 3, not {value:?}")))?;
    let label = Label::first_write(value, producer, produce_id);
    Ok(match (propagator, propagate_id) {
        (Some(p), Some(id)) => label.propagated(p, id),
        (None, None) => label,
        _ => {
            return Err(invalid(
                "propagator",
                "give both propagator and propagate_id, or neither",
            ));
        }
    })
}

/// Inspects the file at `path`; returns the `inspect --json` object.
#[pyfunction]
fn inspect_file(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    let result = py.detach(|| aigc_label::inspect_file(&path, &Options::default()));
    match result {
        Ok(report) => Ok(json::report(&path, &report).to_string()),
        Err(e) => Err(to_py(&e, Some(&text(&path)))),
    }
}

/// Inspects bytes held in memory; `name` is the object's `file`. As for files, a format without
/// magic bytes (Markdown without front matter) is recognised by `name`'s extension.
#[pyfunction]
fn inspect_bytes(py: Python<'_>, data: &[u8], name: &str) -> PyResult<String> {
    let result = py.detach(|| {
        let options = Options::default();
        let carrier = aigc_label::detect_named(Cursor::new(data), Path::new(name))?;
        aigc_label::core::inspect::inspect_with(carrier, &mut Cursor::new(data), &options)
    });
    match result {
        Ok(report) => Ok(json::report(Path::new(name), &report).to_string()),
        Err(e) => Err(to_py(&e, Some(name))),
    }
}

/// Inspects every path on `jobs` threads (default: all cores) with the GIL released; returns
/// one object per path, in the order given. A file that cannot be read is an object with
/// verdict `unreadable`, as in the command's batch mode.
#[pyfunction]
#[pyo3(signature = (paths, jobs=None))]
fn inspect_many(py: Python<'_>, paths: Vec<PathBuf>, jobs: Option<usize>) -> Vec<String> {
    py.detach(|| {
        let count = paths.len();
        let mut batch = aigc_label::Batch::new(Options::default());
        if let Some(jobs) = jobs {
            batch = batch.jobs(jobs);
        }
        let mut lines: Vec<Option<String>> = vec![None; count];
        for outcome in batch.inspect(paths) {
            let line = json::inspected(&outcome.name, &outcome.result).to_string();
            if let Some(slot) = usize::try_from(outcome.index).ok().and_then(|i| lines.get_mut(i)) {
                *slot = Some(line);
            }
        }
        lines.into_iter().flatten().collect()
    })
}

/// Embeds a label into the file at `input`, writing `output` atomically; with `signer`, signed
/// (and bound to the content unless `bind` is false). Returns the `embed --json` object.
#[pyfunction]
#[pyo3(signature = (input, output, producer, produce_id, *, label="1", propagator=None, propagate_id=None,
                    signer=None, bind=true, lenient=false))]
#[allow(clippy::too_many_arguments)]
fn embed_file(
    py: Python<'_>,
    input: PathBuf,
    output: PathBuf,
    producer: &str,
    produce_id: &str,
    label: &str,
    propagator: Option<&str>,
    propagate_id: Option<&str>,
    signer: Option<&Bound<'_, PyAny>>,
    bind: bool,
    lenient: bool,
) -> PyResult<String> {
    let wanted = self::label(producer, produce_id, label, propagator, propagate_id)?;
    let options = options(lenient);
    let signer = signer.map(Signer::from_py).transpose()?;
    let (result, writes) = py.detach(|| {
        aigc_label::record_writes(|| match &signer {
            None => aigc_label::embed_file(&input, &output, &wanted, &options),
            Some(signer) => {
                let spec = SignSpec {
                    bind,
                    ..SignSpec::producer(signer.as_dyn())
                };
                aigc_label::embed_signed_file(&input, &output, &wanted, &[spec], &options).map(|p| p.written)
            }
        })
    });
    match result {
        Ok(written) => {
            let format = writes.first().map_or("-", |w| w.format);
            Ok(json::embedded(&input, &output, format, &written, &writes).to_string())
        }
        Err(e) => Err(to_py(&e, Some(&text(&input)))),
    }
}

/// Embeds a label into bytes held in memory; returns the labelled bytes and the `embed --json`
/// object (`file` is `name`).
#[pyfunction]
#[pyo3(signature = (data, producer, produce_id, *, label="1", propagator=None, propagate_id=None,
                    signer=None, bind=true, lenient=false, name="-"))]
#[allow(clippy::too_many_arguments)]
fn embed_bytes<'py>(
    py: Python<'py>,
    data: &[u8],
    producer: &str,
    produce_id: &str,
    label: &str,
    propagator: Option<&str>,
    propagate_id: Option<&str>,
    signer: Option<&Bound<'py, PyAny>>,
    bind: bool,
    lenient: bool,
    name: &str,
) -> PyResult<(Bound<'py, PyBytes>, String)> {
    let wanted = self::label(producer, produce_id, label, propagator, propagate_id)?;
    let options = options(lenient);
    let signer = signer.map(Signer::from_py).transpose()?;
    let result = py.detach(|| {
        let mut output = Cursor::new(Vec::new());
        let mut input = Cursor::new(data);
        let carrier = aigc_label::detect(&mut input)?;
        let written = match &signer {
            None => aigc_label::embed_seekable(input, &mut output, &wanted, &options)?,
            Some(signer) => {
                let spec = SignSpec {
                    bind,
                    ..SignSpec::producer(signer.as_dyn())
                };
                embed_signed(carrier, &mut input, &mut output, &wanted, &[spec], &options)?.written
            }
        };
        Ok((output.into_inner(), carrier.format(), written))
    });
    match result {
        Ok((bytes, format, written)) => Ok((
            PyBytes::new(py, &bytes),
            json::embedded(Path::new(name), Path::new(name), format, &written, &[]).to_string(),
        )),
        Err(e) => Err(to_py(&e, Some(name))),
    }
}

/// Inspects the file at `path` and verifies every copy against `trust`; returns the
/// `inspect --trust --json` object.
#[pyfunction]
fn verify_file(py: Python<'_>, path: PathBuf, trust: PyRef<'_, TrustList>) -> PyResult<String> {
    let list = &trust.inner;
    let result = py.detach(|| aigc_label::verify_file(&path, list, &Options::default()));
    match result {
        Ok(v) => Ok(json::verified(&path, &v, true).to_string()),
        Err(e) => Err(to_py(&e, Some(&text(&path)))),
    }
}

/// [`verify_file`] on bytes held in memory; `name` is the object's `file`.
#[pyfunction]
fn verify_bytes(py: Python<'_>, data: &[u8], trust: PyRef<'_, TrustList>, name: &str) -> PyResult<String> {
    let list = &trust.inner;
    let result = py.detach(|| aigc_label::verify_reader(Cursor::new(data), list, &Options::default()));
    match result {
        Ok(v) => Ok(json::verified(Path::new(name), &v, true).to_string()),
        Err(e) => Err(to_py(&e, Some(name))),
    }
}

/// The platform's step on the file at `input`: decides the class and writes the label with
/// the platform's fields to `output` (atomically; nothing is written when there is nothing to
/// add). Returns the `propagate --json` object.
#[pyfunction]
#[pyo3(signature = (input, output, platform, propagate_id, *, declared=false, signer=None, bind=true, lenient=false))]
#[allow(clippy::too_many_arguments)]
fn propagate_file(
    py: Python<'_>,
    input: PathBuf,
    output: PathBuf,
    platform: &str,
    propagate_id: &str,
    declared: bool,
    signer: Option<&Bound<'_, PyAny>>,
    bind: bool,
    lenient: bool,
) -> PyResult<String> {
    let signer = signer.map(Signer::from_py).transpose()?;
    let options = options(lenient);
    let result = py.detach(|| {
        let request = Request {
            platform,
            propagate_id,
            declared_by_user: declared,
            signer: signer.as_ref().map(Signer::as_dyn),
            bind,
        };
        aigc_label::record_writes(|| aigc_label::propagate_file(&input, &output, &request, &options))
    });
    match result {
        (Ok(outcome), writes) => Ok(json::propagated(&input, &output, &outcome, &writes).to_string()),
        (Err(e), _) => Err(to_py(&e, Some(&text(&input)))),
    }
}

/// [`propagate_file`] on bytes held in memory: returns the new bytes (`None` when nothing was
/// written: keep the original) and the `propagate --json` object (`file` and `output` are
/// `name`).
#[pyfunction]
#[pyo3(signature = (data, platform, propagate_id, *, declared=false, signer=None, bind=true, lenient=false, name="-"))]
#[allow(clippy::too_many_arguments)]
fn propagate_bytes<'py>(
    py: Python<'py>,
    data: &[u8],
    platform: &str,
    propagate_id: &str,
    declared: bool,
    signer: Option<&Bound<'py, PyAny>>,
    bind: bool,
    lenient: bool,
    name: &str,
) -> PyResult<(Option<Bound<'py, PyBytes>>, String)> {
    let signer = signer.map(Signer::from_py).transpose()?;
    let options = options(lenient);
    let result = py.detach(|| {
        let request = Request {
            platform,
            propagate_id,
            declared_by_user: declared,
            signer: signer.as_ref().map(Signer::as_dyn),
            bind,
        };
        let mut input = Cursor::new(data);
        let carrier = aigc_label::detect(&mut input)?;
        let mut output = Cursor::new(Vec::new());
        let outcome = aigc_label::trust::propagate::propagate(carrier, &mut input, &mut output, &request, &options)?;
        Ok((outcome, output.into_inner()))
    });
    match result {
        Ok((outcome, bytes)) => {
            let out = outcome.written.is_some().then(|| PyBytes::new(py, &bytes));
            Ok((
                out,
                json::propagated(Path::new(name), Path::new(name), &outcome, &[]).to_string(),
            ))
        }
        Err(e) => Err(to_py(&e, Some(name))),
    }
}
