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

use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;

use crate::io::ReadSeek;
use crate::{Label, Limits, Result, Written};

pub mod room;

/// A file updated in place: readable, writable, seekable, and able to make what was written
/// durable before the next step.
pub trait Storage: Read + Write + Seek {
    /// Makes every write so far durable (`fdatasync` for a file; nothing in memory).
    ///
    /// # Errors
    /// I/O errors.
    fn sync(&mut self) -> std::io::Result<()>;

    /// Cuts the file to `len` bytes (or extends it with zeros), as `File::set_len`: the last
    /// step of an update that first wrote its switch past the end (PDF). A file system applies
    /// it whole or not at all. The default cannot: an update that needs it checks first, with
    /// the file's own length, and leaves the file to a rewrite.
    ///
    /// # Errors
    /// I/O errors; [`std::io::ErrorKind::Unsupported`] by default.
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        let _ = len;
        Err(std::io::ErrorKind::Unsupported.into())
    }
}

impl Storage for std::fs::File {
    fn sync(&mut self) -> std::io::Result<()> {
        self.sync_data()
    }

    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        std::fs::File::set_len(self, len)
    }
}

impl Storage for std::io::Cursor<Vec<u8>> {
    fn sync(&mut self) -> std::io::Result<()> {
        Ok(())
    }

    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        resize(self.get_mut(), len)
    }
}

impl Storage for std::io::Cursor<&mut Vec<u8>> {
    fn sync(&mut self) -> std::io::Result<()> {
        Ok(())
    }

    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        resize(self.get_mut(), len)
    }
}

/// A file in memory cut or grown (with zeros) to `len` bytes.
fn resize(bytes: &mut Vec<u8>, len: u64) -> std::io::Result<()> {
    let len = usize::try_from(len).map_err(std::io::Error::other)?;
    bytes
        .try_reserve(len.saturating_sub(bytes.len()))
        .map_err(std::io::Error::other)?;
    bytes.resize(len, 0);
    Ok(())
}

impl<S: Storage + ?Sized> Storage for &mut S {
    fn sync(&mut self) -> std::io::Result<()> {
        (**self).sync()
    }

    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        (**self).set_len(len)
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

/// What a carrier's plan for an update in place came to: the steps, or why the file needs a full
/// rewrite instead.
pub type Plan = std::result::Result<Steps, &'static str>;

/// A carrier's in-place update (see the module notes).
///
/// A carrier says only how it plans an update ([`InPlace::plan`]: where the new bytes go and
/// which few bytes switch readers over); running the steps, syncing after each, is the same for
/// every format and is provided ([`InPlace::update`]).
pub trait InPlace: Sync {
    /// Works out the writes that put `label` into `file` in place, crash-safely, reading only;
    /// `Err(why)` inside the result when the file has no room for it (or is not laid out as our
    /// writer leaves it) and needs a full rewrite.
    ///
    /// # Errors
    /// Malformed input, limits exceeded, I/O errors.
    fn plan(&self, file: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan>;

    /// Writes `label` into `file` in place, crash-safely, when the file has room for it;
    /// otherwise writes nothing and returns [`Update::Rewrite`]. The steps of the
    /// [`plan`](InPlace::plan) are made in order, each synced ([`Storage::sync`]) before the
    /// next but a last one of zeros ([`Steps::run`]).
    ///
    /// This moves bytes only: validating the label and the rule that only a label's producer
    /// may replace it (spec section 1) are the caller's, as for [`crate::Carrier::write`].
    ///
    /// # Errors
    /// Malformed input, limits exceeded, I/O errors. Nothing has been written when an error is
    /// returned before the first write; after it, the file still reads as the old label or the
    /// new.
    fn update(&self, file: &mut dyn Storage, label: &Label, limits: &Limits) -> Result<Update> {
        let plan = {
            let mut reader = &mut *file;
            self.plan(&mut reader, label, limits)?
        };
        match plan {
            Ok(steps) => steps.run(file),
            Err(why) => Ok(Update::Rewrite(why)),
        }
    }
}

/// A worked-out update: the writes of each step, in order, made only once every write is known.
/// Each step is synced before the next starts, and the last one too unless it is a *scrub*
/// ([`Steps::scrub`]: the old label's text zeroed where no reader looks any more; losing it to a
/// crash leaves a file that still reads as the new label). A switch step is a few bytes inside
/// one sector.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Steps {
    /// The steps, each a list of writes (position, bytes).
    pub phases: Vec<Vec<(u64, Vec<u8>)>>,
    /// Where the label's structure ends up.
    pub label_range: Range<u64>,
    /// The last step only scrubs (zeros, and whatever bytes keep a checksum right, where no
    /// reader looks any more), so it is not synced.
    pub scrub: bool,
    /// The length the file is cut to after the last step (then synced), for an update that
    /// ends by dropping a temporary copy past the end (PDF). A file system applies a cut whole
    /// or not at all. A storage that cannot cut ([`Storage::set_len`]'s default) gets
    /// [`Update::Rewrite`] before anything is written.
    pub cut: Option<u64>,
}

impl Steps {
    /// The three steps of a single switch: `prepare` (new bytes where no reader looks), the
    /// `switch`, then the `scrub` ranges zeroed.
    pub fn single_switch(
        prepare: Vec<(u64, Vec<u8>)>,
        switch: (u64, Vec<u8>),
        scrub: &[Range<u64>],
        label_range: Range<u64>,
    ) -> Steps {
        Steps {
            phases: vec![prepare, vec![switch], zeros(scrub)],
            label_range,
            scrub: true,
            cut: None,
        }
    }

    /// Makes the writes on `file`, syncing ([`Storage::sync`]) after each step but a last one
    /// that scrubs, then cuts the file to [`Steps::cut`] and syncs; returns what was written.
    /// A storage that cannot cut gets [`Update::Rewrite`] when the steps need a cut, before
    /// anything is written (asked with the file's own length).
    ///
    /// # Errors
    /// I/O errors; the file then reads as the old label or the new one.
    pub fn run<F: Storage + ?Sized>(&self, file: &mut F) -> Result<Update> {
        if self.cut.is_some() {
            let len = file.seek(SeekFrom::End(0))?;
            match file.set_len(len) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
                    return Ok(Update::Rewrite("the file cannot be cut to a new length"));
                }
                Err(e) => return Err(e.into()),
            }
        }
        let mut bytes_written = 0u64;
        for (i, phase) in self.phases.iter().enumerate() {
            for (pos, bytes) in phase {
                file.seek(SeekFrom::Start(*pos))?;
                file.write_all(bytes)?;
                bytes_written += bytes.len() as u64;
            }
            file.flush()?;
            if !(self.scrub && i + 1 == self.phases.len()) {
                file.sync()?;
            }
        }
        if let Some(len) = self.cut {
            file.set_len(len)?;
            file.sync()?;
        }
        Ok(Update::InPlace(Written {
            label_range: self.label_range.clone(),
            bytes_written,
        }))
    }
}

/// Writes of zeros over `ranges`.
pub fn zeros(ranges: &[Range<u64>]) -> Vec<(u64, Vec<u8>)> {
    ranges
        .iter()
        .map(|r| {
            (
                r.start,
                vec![0; usize::try_from(r.end.saturating_sub(r.start)).unwrap_or(0)],
            )
        })
        .collect()
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
