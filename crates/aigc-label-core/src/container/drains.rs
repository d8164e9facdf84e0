//! Draining a streaming plan in blocks of output, not once per structure.

use crate::Result;
use crate::carrier::Found;
use crate::io::Source;
use crate::plan::PlanBuilder;

/// Output planned between two drains: small enough that what it copies is still in the input's
/// buffer ([`crate::io::SeekBuf`] keeps 4 KiB of the old buffer in front of a sequential
/// refill), large enough that a walk of a million tiny structures drains thousands of times,
/// not a million (each drain seeks back, copies and seeks on).
const BLOCK: u64 = 2 << 10;

/// Calls [`PlanBuilder::drain`] at the top of a walk's loop once a block of output has been
/// planned since the last drain, or a label copy was met (the producer check is not delayed).
#[derive(Debug, Default)]
pub struct Drains {
    at: u64,
    copies: usize,
}

impl Drains {
    /// Drains `out` when due (see [`Drains`]).
    ///
    /// # Errors
    /// As [`PlanBuilder::drain`].
    pub fn drain(&mut self, out: &mut PlanBuilder<'_>, src: &mut Source<'_>, found: &[Found]) -> Result<()> {
        if out.position() < self.at.saturating_add(BLOCK) && found.len() == self.copies {
            return Ok(());
        }
        self.at = out.position();
        self.copies = found.len();
        out.drain(src, found)
    }
}
