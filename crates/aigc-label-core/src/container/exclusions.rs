//! The byte ranges a content binding leaves out of a file (`Carrier::binding_exclusions`),
//! collected once for every carrier.

use std::ops::Range;

use crate::{Error, Limits, Result};

/// The byte ranges a content binding leaves out of a file ([`crate::Carrier::binding_exclusions`]),
/// collected while a carrier walks it.
///
/// Ranges are clipped to the file, empty ones dropped, and sorted and merged at the end; their
/// number is bounded by `Limits::max_structures`, as the trait asks, so a crafted file with
/// millions of offset fields gives an error rather than an unbounded list.
pub struct Exclusions {
    format: &'static str,
    len: u64,
    limit: u64,
    ranges: Vec<Range<u64>>,
}

impl Exclusions {
    /// An empty list for a file of `len` bytes.
    #[inline]
    pub fn new(format: &'static str, len: u64, limits: &Limits) -> Self {
        Exclusions {
            format,
            len,
            limit: limits.max_structures,
            ranges: Vec::new(),
        }
    }

    /// Leaves out `range` (clipped to the file; nothing when empty).
    ///
    /// # Errors
    /// [`Error::Limit`] past `Limits::max_structures` ranges.
    #[inline]
    pub fn add(&mut self, range: Range<u64>) -> Result<()> {
        let range = range.start.min(self.len)..range.end.min(self.len);
        if range.is_empty() {
            return Ok(());
        }
        // Offset tables give runs of adjacent fields: extend the last range instead of adding.
        if let Some(last) = self.ranges.last_mut() {
            if last.start <= range.start && range.start <= last.end {
                last.end = last.end.max(range.end);
                return Ok(());
            }
        }
        if self.ranges.len() as u64 >= self.limit {
            return Err(Error::Limit {
                format: self.format,
                offset: range.start,
                what: "ranges left out of the content binding",
                found: self.limit.saturating_add(1),
                limit: self.limit,
            });
        }
        self.ranges
            .try_reserve(1)
            .map_err(|_| Error::malformed(self.format, range.start, "too many excluded ranges"))?;
        self.ranges.push(range);
        Ok(())
    }

    /// Leaves out the `width` bytes at `at`.
    ///
    /// # Errors
    /// As [`Exclusions::add`].
    #[inline]
    pub fn field(&mut self, at: u64, width: u64) -> Result<()> {
        self.add(at..at.saturating_add(width))
    }

    /// The ranges, sorted by start and merged where they touch or overlap.
    #[inline]
    pub fn into_ranges(mut self) -> Vec<Range<u64>> {
        self.ranges.sort_by_key(|r| r.start);
        let mut out: Vec<Range<u64>> = Vec::with_capacity(self.ranges.len());
        for r in self.ranges {
            match out.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => out.push(r),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusions_merge_clip_and_are_bounded() {
        let limits = Limits {
            max_structures: 3,
            ..Limits::default()
        };
        let mut x = Exclusions::new("t", 100, &limits);
        x.add(10..14).unwrap();
        x.field(14, 4).unwrap();
        let (from, to) = (50, 40);
        x.add(from..to).unwrap();
        x.add(90..120).unwrap();
        x.add(0..2).unwrap();
        x.field(1, 4).unwrap();
        assert!(x.add(30..31).is_err(), "a fourth range is over the limit");
        assert_eq!(x.into_ranges(), [0..5, 10..18, 90..100]);
    }

    #[test]
    fn ranges_pushed_out_of_order_come_out_sorted() {
        let mut x = Exclusions::new("t", u64::MAX, &Limits::default());
        x.add(20..30).unwrap();
        x.add(0..5).unwrap();
        x.add(5..6).unwrap();
        assert_eq!(x.into_ranges(), [0..6, 20..30]);
    }
}
