//! Helpers every audio carrier shares: the `AIGC` key, label text decoding, the structure budget,
//! the [`Found`] record, the size of the padding a writer adds, and the list of byte ranges a
//! content binding leaves out.

use std::borrow::Cow;
use std::ops::Range;

#[cfg(test)]
use aigc_label_core::Error;
use aigc_label_core::check::{Check, Strictness, id};
use aigc_label_core::json::Shape;
use aigc_label_core::{Found, Limits, Result};

/// The key every audio carrier names its label with (spec section 4).
pub(crate) const KEY: &str = "AIGC";

/// True when `name` is the `AIGC` key in any letter case.
pub(crate) fn is_key(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(KEY.as_bytes())
}

/// The label text held in `raw`: UTF-8 (invalid sequences replaced, so the JSON reader can judge
/// the rest), with the trailing NUL terminators that RIFF and ID3 strings carry removed.
pub(crate) fn text_of(raw: &[u8]) -> String {
    let end = raw.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    String::from_utf8_lossy(&raw[..end]).into_owned()
}

/// A label copy found by an audio carrier. Every audio carrier's key is already `AIGC`, so the
/// bare JSON shape is the expected one (spec section 2).
pub(crate) fn found(
    carrier: impl Into<Cow<'static, str>>,
    range: Range<u64>,
    text: String,
    checks: Vec<Check>,
) -> Found {
    Found {
        carrier: carrier.into(),
        range,
        text,
        expected_shape: Shape::Bare,
        checks,
    }
}

/// A carrier-level placement finding: the copy was read, but it does not sit where spec
/// section 4 puts it. Lenient strictness makes it a warning; core raises it to a failure when
/// reading strictly.
pub(crate) fn misplaced(detail: impl Into<String>) -> Check {
    Check::should(id::CARRIER_PLACE, Strictness::Lenient, detail)
}

/// Counts structures walked in one file against [`Limits::max_structures`], so that no loop
/// over file-controlled counts runs unbounded: the container layer's budget, with the format
/// its errors name.
pub(crate) struct Budget {
    format: &'static str,
    inner: aigc_label_core::container::Budget,
}

impl Budget {
    pub(crate) fn new(format: &'static str, limits: &Limits) -> Self {
        Budget {
            format,
            inner: aigc_label_core::container::Budget::new(limits),
        }
    }

    /// Charges one structure at `offset`.
    ///
    /// # Errors
    /// [`Error::Limit`] once the budget is spent.
    pub(crate) fn tick(&mut self, offset: u64, _limits: &Limits) -> Result<()> {
        self.inner.tick(self.format, offset)
    }

    /// The budget itself, for a container walker.
    pub(crate) fn inner(&mut self) -> &mut aigc_label_core::container::Budget {
        &mut self.inner
    }
}

/// The byte ranges a carrier's `binding_exclusions` collects, at most
/// [`Limits::max_structures`] of them (the bound the trait promises): the container layer's
/// list, which drops empty ranges and sorts and merges the rest.
pub(crate) struct Exclusions(aigc_label_core::container::Exclusions);

impl Exclusions {
    pub(crate) fn new(format: &'static str, limits: &Limits) -> Self {
        Exclusions(aigc_label_core::container::Exclusions::new(format, u64::MAX, limits))
    }

    /// Adds `range`.
    ///
    /// # Errors
    /// [`Error::Limit`] when the list would pass [`Limits::max_structures`] ranges.
    pub(crate) fn push(&mut self, range: Range<u64>) -> Result<()> {
        self.0.add(range)
    }

    pub(crate) fn into_vec(self) -> Vec<Range<u64>> {
        self.0.into_ranges()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_strips_terminators_only_at_the_end() {
        assert_eq!(text_of(b"{\"a\":1}\0\0"), "{\"a\":1}");
        assert_eq!(text_of(b"\0\0"), "");
        assert_eq!(text_of(b"a\0b"), "a\0b");
        assert_eq!(text_of(&[0xff, b'x']), "\u{fffd}x");
    }

    #[test]
    fn key_is_case_insensitive() {
        assert!(is_key(b"AIGC") && is_key(b"aigc") && is_key(b"AiGc"));
        assert!(!is_key(b"AIGC ") && !is_key(b"AIG"));
    }

    #[test]
    fn exclusions_drop_empty_ranges_and_are_bounded() {
        let mut limits = Limits::default();
        limits.max_structures = 2;
        let mut e = Exclusions::new("t", &limits);
        e.push(5..5).unwrap();
        e.push(1..2).unwrap();
        e.push(3..4).unwrap();
        assert!(matches!(e.push(6..7), Err(Error::Limit { .. })));
        assert_eq!(e.into_vec(), [1..2, 3..4]);
    }

    #[test]
    fn budget_runs_out() {
        let mut limits = Limits::default();
        limits.max_structures = 2;
        let mut b = Budget::new("t", &limits);
        assert!(b.tick(0, &limits).is_ok() && b.tick(1, &limits).is_ok());
        assert!(matches!(b.tick(2, &limits), Err(Error::Limit { .. })));
    }
}
