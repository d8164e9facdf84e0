//! The property the `securitydata` fuzz target checks, here so that ordinary tests replay the
//! corpus with it (`tests/fuzz_corpus.rs`). Not part of the API proper.

use std::io::Cursor;

use std::io::Write;

use aigc_label_core::io::ReadSeek;
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result, Written};

use crate::envelope::SecurityData;
use crate::trust::TrustList;

/// On arbitrary bytes: the trace scanners never panic; the lenient envelope reader never
/// panics; an envelope it reads, written in the guide's form, reads back as the same envelope,
/// and writing that again changes nothing; verifying a label that carries it never panics.
pub fn securitydata(data: &[u8]) {
    let limits = Limits::default();
    for scanner in crate::traces::scanners() {
        let _ = scanner.scan(&mut Cursor::new(data), &limits);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut label = Label::new("001191440300708461136T1XGW3", "fuzz");
    label.reserved_code1 = text.to_string();
    let _ = crate::verify::verify(&Raw, &label, &mut Cursor::new(data), &TrustList::new(), &limits);
    let Ok(parsed) = SecurityData::parse(text, &limits) else {
        return;
    };
    let Ok(canonical) = parsed.data.to_json() else {
        return;
    };
    let again = SecurityData::parse(&canonical, &limits)
        .unwrap_or_else(|e| panic!("the guide's form {canonical:?} does not read back: {e}"));
    assert_eq!(again.data, parsed.data, "{canonical}");
    assert_eq!(again.data.to_json().ok().as_deref(), Some(canonical.as_str()));
}

/// A carrier for bytes with no structure: it finds nothing, excludes nothing, and cannot write.
struct Raw;

impl Carrier for Raw {
    fn info(&self) -> &'static aigc_label_core::Info {
        &aigc_label_core::Info {
            format: "raw",
            media_type: "application/octet-stream",
            extensions: &[],
        }
    }

    fn sniff(&self, _head: &[u8]) -> bool {
        false
    }

    fn find(&self, _input: &mut dyn ReadSeek, _limits: &Limits) -> Result<Vec<Found>> {
        Ok(Vec::new())
    }

    fn write(&self, _: &mut dyn ReadSeek, _: &mut dyn Write, _: &Label, _: &Limits) -> Result<Written> {
        Err(Error::unsupported("raw", "raw bytes carry no label"))
    }
}
