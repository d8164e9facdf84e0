//! Label updates in place: the new label is written into room the file already has (FLAC
//! padding), and one small write then switches readers from the old label to the new one.
//!
//! The order makes a crash at any moment leave a file that reads as the old label or the new
//! one, never neither and never both:
//! 1. the new bytes go where no reader looks yet (inside padding), then [`Storage::sync`];
//! 2. one write of a few bytes, inside one 512-byte disk sector, re-links the structure so that
//!    readers skip the old label and reach the new one, then [`Storage::sync`];
//! 3. the old label's bytes, now padding nothing reads, are zeroed, and not synced: lost, they
//!    leave stale bytes in padding, which no reader sees (the next update's first sync makes
//!    them durable), and a third sync would cost as much as the other two together.
//!
//! When the file has no room, or no such switch exists, nothing is written and the update says
//! why ([`Update::Rewrite`]): the caller rewrites the file whole (atomically).

pub(crate) use aigc_label_core::in_place::{InPlace, Plan, Steps, zeros};
pub(crate) use aigc_label_core::in_place::{SECTOR, in_one_sector};
pub use aigc_label_core::in_place::{Storage, Update};

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
