//! The structure budget: how many structures (boxes, chunks, entries) one pass may walk, so that
//! no crafted file can make a loop run long ([`Limits::max_structures`]).

use crate::{Error, Limits, Result};

/// Counts the structures a walk visits against [`Limits::max_structures`].
#[derive(Debug, Clone)]
pub struct Budget {
    left: u64,
    limit: u64,
    what: &'static str,
}

impl Budget {
    /// A budget of `limits.max_structures`.
    #[inline]
    pub fn new(limits: &Limits) -> Self {
        Budget::counting(limits, "structures walked")
    }

    /// A budget of `limits.max_structures` whose error names what it counts ("chunk count").
    #[inline]
    pub fn counting(limits: &Limits, what: &'static str) -> Self {
        Budget {
            left: limits.max_structures,
            limit: limits.max_structures,
            what,
        }
    }

    /// Charges one structure at `offset`.
    ///
    /// # Errors
    /// [`Error::Limit`] once the budget is spent.
    #[inline]
    pub fn tick(&mut self, format: &'static str, offset: u64) -> Result<()> {
        self.take(format, 1, offset)
    }

    /// Charges `n` structures at `offset` (a table of `n` entries).
    ///
    /// # Errors
    /// [`Error::Limit`] when fewer than `n` are left.
    #[inline]
    pub fn take(&mut self, format: &'static str, n: u64, offset: u64) -> Result<()> {
        match self.left.checked_sub(n) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(self.spent(format, offset)),
        }
    }

    #[cold]
    fn spent(&self, format: &'static str, offset: u64) -> Error {
        Error::Limit {
            format,
            offset,
            what: self.what,
            found: self.limit.saturating_add(1),
            limit: self.limit,
        }
    }
}

/// Checks a nesting depth against [`Limits::max_depth`].
///
/// # Errors
/// [`Error::Limit`] when `depth` is deeper.
#[inline]
pub fn check_depth(format: &'static str, offset: u64, depth: usize, limits: &Limits) -> Result<()> {
    if depth > limits.max_depth {
        return Err(Error::Limit {
            format,
            offset,
            what: "nesting depth",
            found: depth as u64,
            limit: limits.max_depth as u64,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_runs_out() {
        let limits = Limits {
            max_structures: 3,
            ..Limits::default()
        };
        let mut b = Budget::new(&limits);
        assert!(b.tick("t", 0).is_ok());
        assert!(b.take("t", 2, 0).is_ok());
        assert!(matches!(
            b.tick("t", 9),
            Err(Error::Limit {
                offset: 9,
                found: 4,
                limit: 3,
                ..
            })
        ));
        let mut b = Budget::new(&limits);
        assert!(b.take("t", 4, 0).is_err(), "a table larger than the budget");
    }

    #[test]
    fn depth_is_checked() {
        let limits = Limits::default();
        assert!(check_depth("t", 0, limits.max_depth, &limits).is_ok());
        assert!(check_depth("t", 0, limits.max_depth + 1, &limits).is_err());
    }
}
