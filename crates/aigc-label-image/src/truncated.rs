//! The lenient-read rule every image carrier's `find` applies to a file cut short (a size that
//! runs past the end of the file): read up to the cut, and report what was read with a
//! [`structure.truncated`](id::STRUCTURE_TRUNCATED) warning, while `write` refuses the file.
//! Inspect and embed then agree: a label that sits before the cut is seen, flagged, and not
//! rewritten into a file whose image data is incomplete.

use aigc_label_core::check::{Check, id};
use aigc_label_core::{Error, Found, Result};

/// Applies the rule to the copies `found` in a file cut short at `offset`, where `what` says
/// which structure the end of the file cut: each copy gets the warning. Without a copy the cut
/// is returned as the [`Error::Truncated`] it is, since a label may have sat in the part that
/// is missing, and "unlabelled" would be a guess.
///
/// # Errors
/// [`Error::Truncated`] when nothing was found before the cut.
pub(crate) fn flag(format: &'static str, found: &mut [Found], offset: u64, what: &str) -> Result<()> {
    if found.is_empty() {
        return Err(Error::truncated(format, offset, what.to_string()));
    }
    let check = Check::warn(
        id::STRUCTURE_TRUNCATED,
        format!(
            "the {format} file is truncated: {what} (byte {offset}); it was read up to the end of the file, and \
             embedding refuses to write it"
        ),
    );
    found.iter_mut().for_each(|f| f.checks.push(check.clone()));
    Ok(())
}
