//! Label updates in place, the capability a carrier offers through [`Carrier::in_place`]: the
//! new label goes into room the file already has (padding, a `free` box), and one small write
//! then switches readers from the old label to the new one, so a crash at any moment leaves a
//! file that reads as the old label or the new one.
//!
//! What is shared by every format lives here: the file an update writes ([`Storage`]), what an
//! update did ([`Update`]), the capability itself ([`InPlace`]) and the sector rule a switch
//! write obeys ([`in_one_sector`]). How a format finds room and where its switch is stays in its
//! carrier.
//!
//! [`Carrier::in_place`]: crate::Carrier::in_place

use std::io::{Read, Seek, Write};

use crate::{Label, Limits, Result, Written};

/// A file updated in place: readable, writable, seekable, and able to make what was written
/// durable before the next step.
pub trait Storage: Read + Write + Seek {
    /// Makes every write so far durable (`fdatasync` for a file; nothing in memory).
    ///
    /// # Errors
    /// I/O errors.
    fn sync(&mut self) -> std::io::Result<()>;
}

impl Storage for std::fs::File {
    fn sync(&mut self) -> std::io::Result<()> {
        self.sync_data()
    }
}

impl Storage for std::io::Cursor<Vec<u8>> {
    fn sync(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Storage for std::io::Cursor<&mut Vec<u8>> {
    fn sync(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<S: Storage + ?Sized> Storage for &mut S {
    fn sync(&mut self) -> std::io::Result<()> {
        (**self).sync()
    }
}

/// What an in-place update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// The label was written in place: where it is, and the bytes written in all steps.
    InPlace(Written),
    /// Nothing was written; the file needs a full rewrite, for this reason.
    Rewrite(&'static str),
}

/// A carrier's in-place update (see the module notes).
pub trait InPlace: Sync {
    /// Writes `label` into `file` in place, crash-safely, when the file has room for it;
    /// otherwise writes nothing and returns [`Update::Rewrite`].
    ///
    /// This moves bytes only: validating the label and the rule that only a label's producer
    /// may replace it (spec section 1) are the caller's, as for [`crate::Carrier::write`].
    ///
    /// # Errors
    /// Malformed input, limits exceeded, I/O errors. Nothing has been written when an error is
    /// returned before the first write; after it, the file still reads as the old label or the
    /// new.
    fn update(&self, file: &mut dyn Storage, label: &Label, limits: &Limits) -> Result<Update>;
}

/// The sector size a switch write stays inside: disks write a sector whole or not at all.
pub const SECTOR: u64 = 512;

/// True when `len` bytes at `pos` lie inside one [`SECTOR`].
#[inline]
pub fn in_one_sector(pos: u64, len: u64) -> bool {
    len > 0 && pos / SECTOR == (pos + len - 1) / SECTOR
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_switch_write_stays_in_one_sector() {
        assert!(in_one_sector(508, 4));
        assert!(!in_one_sector(509, 4));
        assert!(in_one_sector(512, 4));
        assert!(!in_one_sector(512, 0));
    }
}
