//! The read budget of one pass over a file.
//!
//! A carrier walks each structure once, so what it reads in one pass (an inspection, or the copy
//! an embed makes) is about the file's size. A carrier bug that re-reads (a scan restarted per
//! structure, a header read again after every skip) would turn a crafted file of many small
//! structures into unbounded work; [`within_budget`] turns it into an [`Error::Limit`] instead.
//! The budget is the stream's length (twice for a write, which checks the file and then copies
//! it), plus [`Limits::max_metadata_bytes`] for reading a metadata structure again, plus
//! [`Limits::read_slack_per_seek`] for every seek, since a carrier seeks about once per
//! structure and may read a little around each.

use std::io::{self, Read, Seek, SeekFrom};

use super::ReadSeek;
use crate::{Error, Limits, Result};

/// Runs `pass` on `input` through a reader that stops with an error once the pass has read more
/// than its budget; `reads` is how many times the pass may read the whole stream (1 for an
/// inspection, 2 for a write).
///
/// # Errors
/// [`Error::Limit`] (`what` = "bytes read") when the budget ran out, whatever `pass` made of the
/// failed read; otherwise what `pass` returns; I/O errors finding the stream's length.
pub fn within_budget<T>(
    input: &mut dyn ReadSeek,
    limits: &Limits,
    reads: u64,
    format: &'static str,
    pass: impl FnOnce(&mut dyn ReadSeek) -> Result<T>,
) -> Result<T> {
    let here = input.stream_position()?;
    let len = input.seek(SeekFrom::End(0))?;
    input.seek(SeekFrom::Start(here))?;
    let mut budgeted = Budgeted {
        inner: input,
        base: len.saturating_mul(reads).saturating_add(limits.max_metadata_bytes),
        slack: limits.read_slack_per_seek,
        read: 0,
        seeks: 0,
        exceeded: false,
    };
    let result = pass(&mut budgeted);
    if budgeted.exceeded {
        return Err(Error::Limit {
            format,
            offset: budgeted.inner.stream_position().unwrap_or(0),
            what: "bytes read",
            found: budgeted.read.saturating_add(1),
            limit: budgeted.allowed(),
        });
    }
    result
}

/// Counts what a pass reads and refuses reads past its budget.
struct Budgeted<'a> {
    inner: &'a mut dyn ReadSeek,
    /// What the pass may read however few seeks it makes.
    base: u64,
    slack: u64,
    read: u64,
    seeks: u64,
    exceeded: bool,
}

impl Budgeted<'_> {
    fn allowed(&self) -> u64 {
        self.base
            .saturating_add(self.slack.saturating_mul(self.seeks.saturating_add(1)))
    }
}

impl Read for Budgeted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let left = self.allowed().saturating_sub(self.read);
        if left == 0 {
            // At the end of the stream a read costs nothing: only refuse one that finds data.
            if self.inner.read(&mut [0u8; 1])? == 0 {
                return Ok(0);
            }
            self.exceeded = true;
            return Err(io::Error::other("read budget exceeded"));
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.read = self.read.saturating_add(n as u64);
        Ok(n)
    }
}

impl Seek for Budgeted<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.seeks = self.seeks.saturating_add(1);
        self.inner.seek(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn limits(slack: u64) -> Limits {
        Limits {
            read_slack_per_seek: slack,
            max_metadata_bytes: 0,
            ..Limits::default()
        }
    }

    #[test]
    fn a_pass_may_read_the_file_and_some_slack_per_seek() {
        let mut c = Cursor::new(vec![7u8; 1000]);
        let total = within_budget(&mut c, &limits(16), 1, "test", |r| {
            let mut all = Vec::new();
            r.read_to_end(&mut all)?;
            for at in [0, 500, 990] {
                r.seek(SeekFrom::Start(at))?;
                r.read_exact(&mut [0u8; 10])?;
            }
            Ok(all.len())
        })
        .unwrap();
        assert_eq!(total, 1000);
    }

    #[test]
    fn re_reading_the_file_per_structure_hits_the_limit() {
        let mut c = Cursor::new(vec![7u8; 1000]);
        let result = within_budget(&mut c, &limits(16), 1, "test", |r| {
            for _ in 0..100 {
                r.seek(SeekFrom::Start(0))?;
                r.read_exact(&mut [0u8; 100])?;
            }
            Ok(())
        });
        match result {
            Err(Error::Limit { what, limit, .. }) => {
                assert_eq!(what, "bytes read");
                assert!(limit < 3000, "limit {limit}");
            }
            other => panic!("expected a limit error, got {other:?}"),
        }
    }

    #[test]
    fn a_pass_that_swallows_the_failed_read_still_fails() {
        let mut c = Cursor::new(vec![7u8; 100]);
        let result = within_budget(&mut c, &limits(0), 1, "test", |r| {
            let mut all = Vec::new();
            r.read_to_end(&mut all)?;
            r.seek(SeekFrom::Start(0))?;
            let _ignored = r.read_to_end(&mut all);
            Ok(())
        });
        assert!(matches!(result, Err(Error::Limit { .. })));
    }

    /// A carrier with the bug the budget is for: it walks 8-byte structures but re-reads the
    /// file from the start at each one.
    struct Rereading;

    impl crate::Carrier for Rereading {
        fn info(&self) -> &'static crate::Info {
            &crate::Info {
                format: "rereading",
                media_type: "application/octet-stream",
                extensions: &[],
            }
        }
        fn sniff(&self, _: &[u8]) -> bool {
            true
        }
        fn find(&self, input: &mut dyn ReadSeek, _: &Limits) -> Result<Vec<crate::Found>> {
            let len = input.seek(SeekFrom::End(0))?;
            for at in (0..len).step_by(8) {
                input.seek(SeekFrom::Start(0))?;
                let mut prefix = vec![0u8; usize::try_from(at).unwrap_or(0)];
                input.read_exact(&mut prefix)?;
            }
            Ok(Vec::new())
        }
        fn write(
            &self,
            _: &mut dyn ReadSeek,
            _: &mut dyn std::io::Write,
            _: &crate::Label,
            _: &Limits,
        ) -> Result<crate::Written> {
            Err(Error::unsupported("test", "read only"))
        }
    }

    #[test]
    fn inspection_stops_a_carrier_that_re_reads_with_a_limit_error() {
        let options = crate::Options::default().limits(Limits {
            max_metadata_bytes: 1 << 10,
            ..Limits::default()
        });
        let mut c = Cursor::new(vec![0u8; 64 << 10]);
        match crate::inspect::inspect_with(&Rereading, &mut c, &options) {
            Err(Error::Limit { format, what, .. }) => assert_eq!((format, what), ("rereading", "bytes read")),
            other => panic!("expected a limit error, got {other:?}"),
        }
        // The same file in one pass is within budget.
        let mut once = Cursor::new(vec![0u8; 64 << 10]);
        let read = within_budget(&mut once, &options.limits, 1, "test", |r| {
            let mut all = Vec::new();
            Ok(r.read_to_end(&mut all)?)
        });
        assert_eq!(read.unwrap(), 64 << 10);
    }
}
