//! Label updates in place: the new label is written into room the file already has (FLAC
//! padding), and one small write then switches readers from the old label to the new one.
//!
//! The order makes a crash at any moment leave a file that reads as the old label or the new
//! one, never neither and never both:
//! 1. the new bytes go where no reader looks yet (inside padding), then [`Storage::sync`];
//! 2. one write of a few bytes, inside one 512-byte disk sector, re-links the structure so that
//!    readers skip the old label and reach the new one, then [`Storage::sync`];
//! 3. the old label's bytes, now padding nothing reads, are zeroed (a crash here leaves stale
//!    bytes in padding, which no reader sees), then [`Storage::sync`].
//!
//! When the file has no room, or no such switch exists, nothing is written and the update says
//! why ([`Update::Rewrite`]): the caller rewrites the file whole (atomically).

use std::io::SeekFrom;

use aigc_label_core::{Result, Written};

pub(crate) use aigc_label_core::in_place::in_one_sector;
pub use aigc_label_core::in_place::{Storage, Update};

/// A worked-out in-place update: the writes of each step, in order. Every step is synced
/// before the next starts; a switch step is a few bytes inside one sector.
#[derive(Debug, Default)]
pub(crate) struct Steps {
    /// The steps, each a list of writes.
    pub(crate) phases: Vec<Vec<(u64, Vec<u8>)>>,
    /// Where the label's structure ends up.
    pub(crate) label_range: std::ops::Range<u64>,
}

impl Steps {
    /// The three steps of a single switch: `prepare` (new bytes where no reader looks), the
    /// `switch`, then the `scrub` ranges zeroed.
    pub(crate) fn single_switch(
        prepare: Vec<(u64, Vec<u8>)>,
        switch: (u64, Vec<u8>),
        scrub: &[std::ops::Range<u64>],
        label_range: std::ops::Range<u64>,
    ) -> Steps {
        Steps {
            phases: vec![prepare, vec![switch], zeros(scrub)],
            label_range,
        }
    }

    /// Runs the steps on `file`, syncing after each; returns what was written.
    pub(crate) fn run<S: Storage + ?Sized>(&self, file: &mut S) -> Result<Written> {
        let mut written = 0u64;
        for phase in &self.phases {
            for (pos, bytes) in phase {
                put(file, *pos, bytes)?;
                written += bytes.len() as u64;
            }
            file.flush()?;
            file.sync()?;
        }
        Ok(Written {
            label_range: self.label_range.clone(),
            bytes_written: written,
        })
    }
}

/// Writes of zeros over `ranges`.
pub(crate) fn zeros(ranges: &[std::ops::Range<u64>]) -> Vec<(u64, Vec<u8>)> {
    ranges
        .iter()
        .map(|r| (r.start, vec![0; usize::try_from(r.end - r.start).unwrap_or(0)]))
        .collect()
}

fn put<S: Storage + ?Sized>(file: &mut S, pos: u64, bytes: &[u8]) -> Result<()> {
    file.seek(SeekFrom::Start(pos))?;
    file.write_all(bytes)?;
    Ok(())
}

/// `range` minus every range in `keep` (which must not overlap each other), in order.
pub(crate) fn subtract(range: std::ops::Range<u64>, keep: &[std::ops::Range<u64>]) -> Vec<std::ops::Range<u64>> {
    let mut keep: Vec<_> = keep.iter().filter(|k| k.start < k.end).cloned().collect();
    keep.sort_by_key(|k| k.start);
    let mut out = Vec::new();
    let mut at = range.start;
    for k in keep {
        if k.end <= at || k.start >= range.end {
            continue;
        }
        if k.start > at {
            out.push(at..k.start);
        }
        at = at.max(k.end);
    }
    if at < range.end {
        out.push(at..range.end);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtraction() {
        assert_eq!(subtract(0..10, &[2..4, 6..7]), [0..2, 4..6, 7..10]);
        assert!(subtract(0..10, std::slice::from_ref(&(0..10))).is_empty());
        assert_eq!(subtract(5..10, &[0..6, 9..20]), vec![6u64..9]);
    }
}
