//! PDF: the implicit label as the `/AIGC` entry of the document information dictionary (spec
//! section 4), written as an incremental update (ISO 32000-1 §7.5.6).
//!
//! The writer copies the original file unchanged and appends one update: a new revision of the
//! Info dictionary (same object number when one exists, every other entry copied byte for byte,
//! `/AIGC` set to the label), a cross-reference section in the style of the file's newest one (a
//! classic `xref` table, or an xref stream when the file uses streams), and a trailer with
//! `/Prev`, `/Size`, `/Root`, `/Info`, `/ID` and every other entry of the previous trailer. Because the original bytes are untouched,
//! signatures over the original revision stay valid and every reader sees the same pages.
//! A new object (the Info dictionary when the file has none as an object, the xref stream)
//! takes a number past every object the file holds, found in every cross-reference section and
//! by the object headers in the bytes copied, never from the trailer's `/Size` alone, which some
//! writers get wrong (`numbers`); our `/Size` covers it.
//!
//! Relabelling replaces our own update instead of stacking another: when the file ends with an
//! update exactly as this writer would render it against the revision before it, that update
//! is dropped and a new one written in its place (see [`Pdf::binding_exclusions`] for why). An
//! update written by anyone else is never dropped; a label in it is superseded by a new update
//! and stays in the file's history, as incremental updates always keep it; readers, including
//! this one, see only the newest Info dictionary.
//!
//! The reader resolves the newest trailer through the `/Prev` chain, xref streams (FlateDecode
//! with PNG predictors) and object streams; it reads only the trailer, the Info dictionary and the
//! objects on the way. It is a small reader of our own rather than `lopdf`: `lopdf` parses the
//! whole document into memory (every page object and stream), which is neither bounded by our
//! [`Limits`] nor needed to read one dictionary, and its error paths on crafted files are not
//! under our control. Ours touches a few kilobytes of a file of any size, and every length,
//! offset, count and nesting level it reads is checked.
//!
//! Encrypted files are refused: their Info strings are encrypted, so a label could be neither
//! read nor written without the key.

mod in_place;
mod lex;
mod numbers;
mod xref;

use std::io::Write;
use std::ops::Range;

use aigc_label_core::check::{Check, Strictness, id};
use aigc_label_core::io::{CountingWriter, ReadSeek, Source};
use aigc_label_core::json::{self, Shape};
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result, Written};

use crate::util::Prefix;
use lex::{Obj, write_name};
use numbers::{Numbers, ScanningWriter};
use xref::{Doc, FORMAT, XrefStyle};

/// Width in bytes of the offset field in the xref streams we write. Fixed, so the stream's
/// layout does not depend on how long the label is (8 bytes hold any offset).
const OFFSET_WIDTH: usize = 8;

/// The PDF carrier (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Pdf;

impl Carrier for Pdf {
    fn info(&self) -> &'static aigc_label_core::Info {
        &aigc_label_core::Info {
            format: FORMAT,
            media_type: "application/pdf",
            extensions: &["pdf"],
        }
    }

    fn in_place(&self) -> Option<&dyn aigc_label_core::in_place::InPlace> {
        Some(self)
    }

    /// `%PDF-` in the first bytes (readers accept a header after some junk).
    fn sniff(&self, head: &[u8]) -> bool {
        head.windows(5).any(|w| w == b"%PDF-")
    }

    fn find(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Found>> {
        let mut src = Source::new(input, FORMAT)?;
        let mut doc = Doc::open(&mut src, limits)?;
        refuse_encrypted(&doc)?;
        let Some(info) = read_info(&mut doc)? else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        for (key, value, _) in &info.labels {
            if found.len() >= limits.max_copies {
                break;
            }
            let text = label_text(&mut doc, value)?;
            let mut checks = Vec::new();
            if key.as_slice() != b"AIGC" {
                checks.push(Check::should(
                    id::CARRIER_PLACE,
                    Strictness::Lenient,
                    format!("Info key is /{}, not /AIGC", String::from_utf8_lossy(key)),
                ));
            }
            found.push(Found {
                carrier: "Info /AIGC".into(),
                range: info.file_range.clone(),
                text,
                expected_shape: Shape::Bare,
                checks,
            });
        }
        Ok(found)
    }

    fn write(
        &self,
        input: &mut dyn ReadSeek,
        output: &mut dyn Write,
        label: &Label,
        limits: &Limits,
    ) -> Result<Written> {
        let mut out = CountingWriter::new(output);
        let (_, update) = copy_base(input, &mut out, label, limits)?;
        out.write_all(&update.bytes)?;
        out.flush()?;
        Ok(Written {
            label_range: update.info_range,
            bytes_written: out.count(),
        })
    }

    /// Which bytes a content binding covers in a PDF: everything except, in the incremental
    /// update this carrier wrote last,
    ///
    /// - the Info object from `N G obj` to the dictionary's closing `>>` (the label structure
    ///   [`Pdf::find`] reports; the other Info entries are copies of the previous revision's),
    /// - the decimal offset after the final `startxref`, which moves with the label's length,
    /// - in an xref stream, the 8-byte offset field of the row for the stream itself.
    ///
    /// Covered are the whole earlier file (the original document, every earlier revision and
    /// any label history in it) and the rest of our update: `endobj`, the xref table or stream
    /// with the Info object's offset, the trailer (`/Size`, `/Root`, `/Info`, `/ID`, `/Prev` and
    /// the entries carried over from the previous trailer) and `%%EOF`. That is exactly what stays the same when the label is rewritten, because
    /// the writer drops its own last update and renders the new one against the same revision.
    /// So the binding also proves the update adds nothing but the label: no page, annotation
    /// or other object can ride along in it.
    ///
    /// A file whose newest update is not ours (unlabelled, labelled by another tool, or edited
    /// after labelling) gets the default: the structure [`Pdf::find`] reports. Such a file is
    /// not stable under rewriting (the writer appends to it), which is the point: a binding
    /// over our update breaks when anything is appended after it.
    ///
    /// A file the writer cannot plan an update for (a damaged trailer, say) gets the default
    /// too: it cannot be rewritten, so nothing about rewriting needs excluding.
    ///
    /// A file an update in place left unfinished (see `in_place`: our update followed by bytes
    /// no reader reaches, or a copy of ours after them) gets the exclusions of the update of
    /// ours it ends with; the unreached bytes stay covered, so a binding does not verify until
    /// the next write, which drops them, finishes the job.
    ///
    /// # Errors
    /// As [`Pdf::find`].
    fn binding_exclusions(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Range<u64>>> {
        match base_revision(input, limits).map(|base| base.replaced) {
            Ok(Some(update)) => {
                let mut ranges = vec![update.info_range];
                ranges.extend(update.moving);
                Ok(ranges)
            }
            Ok(None) | Err(_) => Ok(self.find(input, limits)?.into_iter().map(|f| f.range).collect()),
        }
    }
}

/// A revision an update can be written against: the first `len` bytes of the file.
struct Revision {
    len: u64,
    ends_with_eol: bool,
    plan: Plan,
    /// Where the newest Info object starts and its `/AIGC` value as written, when it may be
    /// our own update's: an indirect object with a single `/AIGC` entry.
    own_candidate: Option<(u64, Vec<u8>)>,
    /// The newest trailer's `/Prev`.
    newest_prev: Option<u64>,
}

impl Revision {
    /// Reads the revision made of the first `cut` bytes of `input` (all of it for `u64::MAX`).
    fn read(input: &mut dyn ReadSeek, cut: u64, limits: &Limits) -> Result<Self> {
        let mut prefix = Prefix::new(input, cut)?;
        let mut src = Source::new(&mut prefix, FORMAT)?;
        let len = src.len();
        let (plan, own_candidate, newest_prev) = {
            let mut doc = Doc::open(&mut src, limits)?;
            refuse_encrypted(&doc)?;
            let info = read_info(&mut doc)?;
            let candidate = info.as_ref().and_then(Info::own_candidate);
            let prev = doc
                .trailer_value(b"Prev")
                .and_then(|(v, ..)| v.as_int())
                .and_then(|p| u64::try_from(p).ok());
            let mut plan = plan_update(&doc, info)?;
            plan.listed_end = plan.listed_end.max(doc.object_streams_end());
            (plan, candidate, prev)
        };
        let ends_with_eol = if len == 0 {
            true
        } else {
            src.seek_to(len - 1)?;
            matches!(src.read_array::<1>("last byte")?, [b'\n' | b'\r'])
        };
        Ok(Revision {
            len,
            ends_with_eol,
            plan,
            own_candidate,
            newest_prev,
        })
    }

    /// The update setting `/AIGC` to `label` (an encoded PDF string) after this revision, its
    /// objects numbered by `numbers`.
    fn render(&self, label: &[u8], numbers: Numbers) -> Update {
        self.plan.render(self.len, self.ends_with_eol, label, numbers)
    }
}

/// The revision a new update goes after, and the update of ours it replaces, if any.
struct Base {
    revision: Revision,
    replaced: Option<Update>,
}

/// The revision the writer updates. When the file ends with an update this carrier wrote, that
/// update is dropped and the revision before it is the base, so relabelling replaces our
/// update instead of stacking another: every other byte of the file stays as it was (what the
/// content binding relies on), and our old labels do not pile up in the history.
///
/// "Ours" is decided by rendering the update again: the newest Info object is taken as the
/// start of the update, the file before it is read as a revision of its own, and the update
/// this writer would append to it (with the same label value, and the object numbers the tail's
/// trailer names) must equal the file's tail byte for byte. Anything else, including another
/// tool's update that looks similar, is kept. The numbers are read from the tail rather than
/// allocated again, which would mean scanning the whole earlier revision; a rewrite allocates
/// them from that same revision by the same rule, so it gives them again.
///
/// Ours too is the copy an update in place leaves past the end until it cuts the file (see
/// `in_place`): the same update rendered against the revision its `/Prev` names, but placed
/// after bytes no reader reaches (our old update, the new one half written, zeros). That
/// revision ends with its `%%EOF` (and white space) after the section `/Prev` names, and the
/// copy must equal, byte for byte, what this writer renders there; a rewrite (or the next update
/// in place) then drops the copy and the bytes before it, and the file is what the interrupted
/// update would have left.
fn base_revision(input: &mut dyn ReadSeek, limits: &Limits) -> Result<Base> {
    let newest = Revision::read(input, u64::MAX, limits)?;
    let not_ours = |revision| {
        Ok(Base {
            revision,
            replaced: None,
        })
    };
    let Some((start, label)) = newest.own_candidate.clone() else {
        return not_ours(newest);
    };
    let Some(numbers) = newest.plan.numbers_in_trailer() else {
        return not_ours(newest);
    };
    let tail_len = newest.len.saturating_sub(start);
    if start == 0 || tail_len == 0 || tail_len > limits.max_metadata_bytes {
        return not_ours(newest);
    }
    let mut src = Source::new(input, FORMAT)?;
    src.seek_to(start)?;
    let tail = src.read_vec(tail_len, "newest update", limits)?;
    match Revision::read(input, start, limits) {
        Ok(before) => {
            let update = before.render(&label, numbers);
            let rest = tail.strip_prefix(update.bytes.as_slice());
            if rest.is_some_and(|rest| rest.is_empty() || unreached_tail(rest, newest.plan.prev)) {
                return Ok(Base {
                    revision: before,
                    replaced: Some(update),
                });
            }
        }
        Err(Error::Io(e)) => return Err(Error::Io(e)),
        Err(_) => {}
    }
    match copy_of_ours(input, &newest, start, (&label, numbers), &tail, limits)? {
        Some(base) => Ok(base),
        None => not_ours(newest),
    }
}

/// True when `rest`, the bytes after our update, are what an update in place interrupted before
/// its switch leaves there (see `in_place`): bytes no reader reaches (zeros, part of a copy of
/// the new update) and its tail, `startxref`, our update's section offset `xref` (padded with
/// spaces), `%%EOF`, the only `startxref` among them. They are dropped with our update, and
/// covered by a binding until then (it does not verify over them).
fn unreached_tail(rest: &[u8], xref: u64) -> bool {
    let Some(at) = rest.windows(9).position(|w| w == b"startxref") else {
        return false;
    };
    let Some(tail) = rest.get(at + 9..) else {
        return false;
    };
    let digits = xref.to_string();
    let Some(tail) = tail.strip_prefix(b"\n") else {
        return false;
    };
    let tail = tail
        .get(tail.iter().take_while(|&&b| b == b' ').count()..)
        .unwrap_or_default();
    tail.strip_prefix(digits.as_bytes()) == Some(b"\n%%EOF\n")
}

/// How many `%%EOF` markers after the `/Prev` section are tried as the end of its revision.
const EOF_CANDIDATES: usize = 4;

/// The base and the copy when the update at `start` (`tail`, to the end of the file) is the
/// copy an interrupted update in place left (see [`base_revision`]); `None` otherwise.
fn copy_of_ours(
    input: &mut dyn ReadSeek,
    newest: &Revision,
    start: u64,
    (label, numbers): (&[u8], Numbers),
    tail: &[u8],
    limits: &Limits,
) -> Result<Option<Base>> {
    let Some(prev) = newest.newest_prev.filter(|&p| p < start) else {
        return Ok(None);
    };
    let span = start - prev;
    if span > limits.max_metadata_bytes {
        return Ok(None);
    }
    let mut src = Source::new(input, FORMAT)?;
    src.seek_to(prev)?;
    let between = src.read_vec(span, "bytes before the newest update", limits)?;
    let ends = between
        .windows(5)
        .enumerate()
        .filter(|(_, w)| *w == b"%%EOF")
        .map(|(at, _)| at + 5)
        .take(EOF_CANDIDATES);
    let mut tried = Vec::new();
    for at in ends {
        let blank = between
            .get(at..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .count();
        let end = prev + (at + blank) as u64;
        if end >= start || tried.contains(&end) {
            continue;
        }
        tried.push(end);
        let revision = match Revision::read(input, end, limits) {
            Ok(r) => r,
            Err(Error::Io(e)) => return Err(Error::Io(e)),
            Err(_) => continue,
        };
        if revision.plan.prev != prev {
            continue;
        }
        let copy = revision.plan.render(start, true, label, numbers);
        if copy.bytes == tail {
            return Ok(Some(Base {
                revision,
                replaced: Some(copy),
            }));
        }
    }
    Ok(None)
}

/// Copies the revision the writer updates (see [`base_revision`]) from `input` to `out` and
/// renders the update setting the label after it.
fn copy_base(input: &mut dyn ReadSeek, out: &mut dyn Write, label: &Label, limits: &Limits) -> Result<(Base, Update)> {
    let base = base_revision(input, limits)?;
    let update = copy_and_render(input, &base.revision, out, label)?;
    Ok((base, update))
}

/// Copies `revision` from `input` to `out` and renders the update setting the label after it.
fn copy_and_render(
    input: &mut dyn ReadSeek,
    revision: &Revision,
    out: &mut dyn Write,
    label: &Label,
) -> Result<Update> {
    let numbers = copy_numbering(input, revision, out)?;
    Ok(revision.render(&encoded(label), numbers))
}

/// Copies `revision` from `input` to `out` and returns the numbers an update after it takes.
fn copy_numbering(input: &mut dyn ReadSeek, revision: &Revision, out: &mut dyn Write) -> Result<Numbers> {
    let mut src = Source::new(input, FORMAT)?;
    // The revision's object headers are counted on the way through, so the new objects
    // take numbers nothing in the file uses (see `numbers`).
    let mut scanning = ScanningWriter::new(out);
    src.copy_to(&mut scanning, revision.len, "original revision")?;
    Ok(revision.plan.numbers(scanning.highest()))
}

/// `label` as the `/AIGC` value the writer puts in the Info dictionary.
fn encoded(label: &Label) -> Vec<u8> {
    encode_text_string(&json::to_json(label, Shape::Bare))
}

fn refuse_encrypted(doc: &Doc<'_, '_>) -> Result<()> {
    if doc.trailer_value(b"Encrypt").is_some() {
        return Err(Error::unsupported(
            "pdf",
            "encryption: its Info strings are encrypted, so the label cannot be read or written",
        ));
    }
    Ok(())
}

/// The Info dictionary of the newest revision.
struct Info {
    /// Its object number and generation, when it is an indirect object.
    reference: Option<(u32, u16)>,
    /// Every entry except the label, as written: key and raw value bytes.
    entries: Vec<(Vec<u8>, Vec<u8>)>,
    /// The `/AIGC` entries (any letter case): key, value, and the value as written.
    labels: Vec<(Vec<u8>, Obj, Vec<u8>)>,
    /// Where the dictionary's object (or object stream) is in the file.
    file_range: Range<u64>,
}

impl Info {
    /// Where the dictionary starts and its label as written, when this could be the Info object
    /// of our own update: an indirect object with exactly one entry, spelt `/AIGC`.
    fn own_candidate(&self) -> Option<(u64, Vec<u8>)> {
        self.reference?;
        match self.labels.as_slice() {
            [(key, _, raw)] if key.as_slice() == b"AIGC" => Some((self.file_range.start, raw.clone())),
            _ => None,
        }
    }
}

fn read_info(doc: &mut Doc<'_, '_>) -> Result<Option<Info>> {
    let (dict, buf, reference, file_range) = match doc.trailer_value(b"Info") {
        None => return Ok(None),
        Some((Obj::Ref(num, gen_), ..)) => {
            let (num, gen_) = (*num, *gen_);
            match doc.resolve(num, 0)? {
                Some(parsed) => match parsed.obj {
                    Obj::Dict(d) => (d, parsed.buf, Some((num, gen_)), parsed.file_range),
                    _ => {
                        return Err(Error::malformed(
                            FORMAT,
                            parsed.file_range.start,
                            "/Info is not a dictionary",
                        ));
                    }
                },
                None => return Ok(None),
            }
        }
        Some((Obj::Dict(d), buf, _)) => (d.clone(), buf.to_vec(), None, doc.startxref..doc.startxref),
        Some(_) => {
            return Err(Error::malformed(
                FORMAT,
                doc.startxref,
                "trailer /Info is not a dictionary",
            ));
        }
    };
    let mut info = Info {
        reference,
        entries: Vec::new(),
        labels: Vec::new(),
        file_range,
    };
    for (key, value, range) in dict.entries {
        let raw = buf.get(range).unwrap_or_default().to_vec();
        if key.eq_ignore_ascii_case(b"AIGC") {
            info.labels.push((key, value, raw));
        } else {
            info.entries.push((key, raw));
        }
    }
    Ok(Some(info))
}

/// The text of an `/AIGC` value: a text string, possibly behind an indirect reference.
fn label_text(doc: &mut Doc<'_, '_>, value: &Obj) -> Result<String> {
    let resolved;
    let value = match value {
        Obj::Ref(num, _) => {
            resolved = doc.resolve(*num, 0)?.map(|p| p.obj);
            resolved.as_ref().unwrap_or(&Obj::Null)
        }
        v => v,
    };
    Ok(match value {
        Obj::Str(bytes) => decode_text_string(bytes),
        Obj::Name(n) => String::from_utf8_lossy(n).into_owned(),
        _ => String::new(),
    })
}

/// Decodes a PDF text string (§7.9.2.2): UTF-16BE with a byte order mark, UTF-8 with one
/// (PDF 2.0), otherwise PDFDocEncoding. Wild writers also put bare UTF-8 or UTF-16LE; both are
/// accepted.
pub(crate) fn decode_text_string(bytes: &[u8]) -> String {
    let utf16 = |b: &[u8], be: bool| {
        let units: Vec<u16> = b
            .chunks_exact(2)
            .map(|p| {
                if be {
                    u16::from_be_bytes([p[0], p[1]])
                } else {
                    u16::from_le_bytes([p[0], p[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    if let Some(rest) = bytes.strip_prefix(&[0xfe, 0xff]) {
        utf16(rest, true)
    } else if let Some(rest) = bytes.strip_prefix(&[0xff, 0xfe]) {
        utf16(rest, false)
    } else if let Some(rest) = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        String::from_utf8_lossy(rest).into_owned()
    } else if let Ok(s) = std::str::from_utf8(bytes) {
        s.to_string()
    } else {
        // PDFDocEncoding agrees with Latin-1 except in 0x18-0x1F and 0x80-0x9F, which labels
        // (printable ASCII) never use.
        bytes.iter().map(|&b| char::from(b)).collect()
    }
}

/// Encodes `text` as a PDF text string: a literal string when it is printable ASCII (escaping
/// parentheses and backslashes), otherwise hex UTF-16BE with a byte order mark.
pub(crate) fn encode_text_string(text: &str) -> Vec<u8> {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        let mut out = Vec::with_capacity(text.len() + 8);
        out.push(b'(');
        for b in text.bytes() {
            if matches!(b, b'(' | b')' | b'\\') {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b')');
        out
    } else {
        let mut out = b"<FEFF".to_vec();
        for unit in text.encode_utf16() {
            out.extend_from_slice(format!("{unit:04X}").as_bytes());
        }
        out.push(b'>');
        out
    }
}

/// Trailer keys an update writes itself, or that belong to one cross-reference section (an xref
/// stream's own keys, a hybrid file's `/XRefStm`): not carried over from the previous trailer.
const OWN_TRAILER_KEYS: &[&[u8]] = &[
    b"Size",
    b"Prev",
    b"Root",
    b"Info",
    b"ID",
    b"XRefStm",
    b"Type",
    b"W",
    b"Index",
    b"Length",
    b"Filter",
    b"DecodeParms",
    b"F",
    b"FFilter",
    b"FDecodeParms",
    b"DL",
];

/// Everything an update needs from the original file.
struct Plan {
    style: XrefStyle,
    prev: u64,
    /// The trailer's `/Size`, as claimed (not trusted for new numbers).
    size: u32,
    /// One more than the highest object number the cross-reference chain knows of.
    listed_end: u32,
    root: Vec<u8>,
    id: Option<Vec<u8>>,
    /// The Info dictionary's object, when it is an indirect one.
    info_ref: Option<(u32, u16)>,
    entries: Vec<(Vec<u8>, Vec<u8>)>,
    /// The previous trailer's other entries, key and raw value: an update's trailer carries
    /// every entry of the one before but `/Prev` (ISO 32000-1 §7.5.6), since readers look at the
    /// newest trailer only.
    carried: Vec<(Vec<u8>, Vec<u8>)>,
}

fn plan_update(doc: &Doc<'_, '_>, info: Option<Info>) -> Result<Plan> {
    let raw = |key: &[u8]| {
        doc.trailer_value(key)
            .map(|(_, buf, r)| buf.get(r).unwrap_or_default().to_vec())
    };
    let size = doc
        .trailer_value(b"Size")
        .and_then(|(v, ..)| v.as_int())
        .and_then(|s| u32::try_from(s).ok())
        .ok_or_else(|| Error::malformed(FORMAT, doc.startxref, "trailer without a valid /Size"))?;
    let root = raw(b"Root").ok_or_else(|| Error::malformed(FORMAT, doc.startxref, "trailer without /Root"))?;
    let (info_ref, entries) = match info {
        Some(info) => (info.reference, info.entries),
        None => (None, Vec::new()),
    };
    // Carried as written, not re-serialised and not refused: each key is written anew by
    // `write_name` (so a key of any bytes, 0xFF or white space included, lexes back as itself)
    // and each value is the exact run of bytes the lexer read as one complete object, which the
    // ` /` written after it cannot extend. The update's trailer then says what the previous one
    // said, including entries this writer does not know (which a re-serialisation of parsed
    // values would lose: reals, and strings whose bytes are kept only as read). An output once
    // failed to read back around a carried `/Indo 3 0 R`: the cause was the reader's look-ahead
    // for `N G R` at the end of its read window (see `lex`), not the carrying.
    let carried = doc
        .trailer
        .entries
        .iter()
        .filter(|(key, value, _)| *value != Obj::Null && !OWN_TRAILER_KEYS.contains(&key.as_slice()))
        .map(|(key, _, range)| {
            (
                key.clone(),
                doc.trailer_buf.get(range.clone()).unwrap_or_default().to_vec(),
            )
        })
        .collect();
    Ok(Plan {
        style: doc.style,
        prev: doc.startxref,
        size,
        listed_end: doc.listed_end,
        root,
        id: raw(b"ID"),
        info_ref,
        entries,
        carried,
    })
}

/// The bytes appended to the file, and where the new Info object is.
struct Update {
    /// Where the bytes go in the file.
    at: u64,
    bytes: Vec<u8>,
    info_range: Range<u64>,
    /// Bytes after the Info object whose value depends on the label's length: the offset after
    /// `startxref`, and in an xref stream the offset field of the stream's own row.
    moving: Vec<Range<u64>>,
}

impl Plan {
    /// The numbers for an update of this revision, whose highest object header (see
    /// [`numbers::HeaderScan`]) is `scanned`: past everything the chain lists and the scan saw.
    fn numbers(&self, scanned: Option<u32>) -> Numbers {
        let next = self.listed_end.max(scanned.map_or(0, |n| n.saturating_add(1)));
        Numbers::allocate(self.info_ref, next, self.style == XrefStyle::Stream)
    }

    /// The numbers an update of ours in this (newest) revision used, read from its trailer;
    /// `None` when the Info dictionary is not an indirect object (never the case in ours).
    fn numbers_in_trailer(&self) -> Option<Numbers> {
        Some(Numbers::from_trailer(self.info_ref?, self.size))
    }

    /// The update after a revision of `file_len` bytes, with `/AIGC` set to `label` (an encoded
    /// PDF string, see [`encode_text_string`]) and objects numbered by `numbers`.
    fn render(&self, file_len: u64, ends_with_eol: bool, label: &[u8], numbers: Numbers) -> Update {
        let mut out: Vec<u8> = Vec::new();
        if !ends_with_eol {
            out.push(b'\n');
        }
        let (num, gen_) = numbers.info;
        let info_offset = file_len + out.len() as u64;
        out.extend_from_slice(format!("{num} {gen_} obj\n<<").as_bytes());
        for (key, raw) in &self.entries {
            write_name(&mut out, key);
            out.push(b' ');
            out.extend_from_slice(raw);
            out.push(b'\n');
        }
        out.extend_from_slice(b"/AIGC ");
        out.extend_from_slice(label);
        out.extend_from_slice(b">>");
        let info_end = file_len + out.len() as u64;
        out.extend_from_slice(b"\nendobj\n");
        let xref_offset = file_len + out.len() as u64;
        let mut moving = Vec::new();
        let mut trailer = Vec::new();
        trailer.extend_from_slice(b"/Root ");
        trailer.extend_from_slice(&self.root);
        trailer.extend_from_slice(format!(" /Info {num} {gen_} R").as_bytes());
        if let Some(id) = &self.id {
            trailer.extend_from_slice(b" /ID ");
            trailer.extend_from_slice(id);
        }
        for (key, raw) in &self.carried {
            trailer.push(b' ');
            write_name(&mut trailer, key);
            trailer.push(b' ');
            trailer.extend_from_slice(raw);
        }
        trailer.extend_from_slice(format!(" /Prev {}", self.prev).as_bytes());
        match self.style {
            XrefStyle::Table => {
                out.extend_from_slice(
                    format!(
                        "xref\n{num} 1\n{info_offset:010} {gen_:05} n\r\ntrailer\n<< /Size {} ",
                        numbers.size
                    )
                    .as_bytes(),
                );
                out.extend_from_slice(&trailer);
                out.extend_from_slice(b" >>\n");
            }
            XrefStyle::Stream => {
                let (xnum, size) = (numbers.xref, numbers.size);
                let width = OFFSET_WIDTH;
                let mut data = Vec::new();
                for (offset, g) in [(info_offset, gen_), (xref_offset, 0)] {
                    data.push(1);
                    data.extend_from_slice(&offset.to_be_bytes()[8 - width..]);
                    data.extend_from_slice(&g.to_be_bytes());
                }
                let index = if num + 1 == xnum {
                    format!("{num} 2")
                } else {
                    format!("{num} 1 {xnum} 1")
                };
                out.extend_from_slice(
                    format!(
                        "{xnum} 0 obj\n<< /Type /XRef /Size {size} /W [1 {width} 2] /Index [{index}] /Length {} ",
                        data.len()
                    )
                    .as_bytes(),
                );
                out.extend_from_slice(&trailer);
                out.extend_from_slice(b" >>\nstream\r\n");
                // The second row is the stream's own: type byte, then its offset.
                let own_offset = file_len + out.len() as u64 + (1 + width + 2) as u64 + 1;
                moving.push(own_offset..own_offset + width as u64);
                out.extend_from_slice(&data);
                out.extend_from_slice(b"\r\nendstream\nendobj\n");
            }
        }
        out.extend_from_slice(b"startxref\n");
        let digits = file_len + out.len() as u64;
        out.extend_from_slice(xref_offset.to_string().as_bytes());
        moving.push(digits..file_len + out.len() as u64);
        out.extend_from_slice(b"\n%%EOF\n");
        Update {
            at: file_len,
            bytes: out,
            info_range: info_offset..info_end,
            moving,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A one-page PDF with a classic xref table, offsets computed here.
    pub(crate) fn tiny_pdf(info: &str) -> Vec<u8> {
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>".to_string(),
            info.to_string(),
        ];
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(b"xref\n0 5\n0000000000 65535 f \n");
        for o in offsets {
            out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!("trailer\n<< /Size 5 /Root 1 0 R /Info 4 0 R /ID [<00><01>] >>\nstartxref\n{xref}\n%%EOF")
                .as_bytes(),
        );
        out
    }

    fn label() -> Label {
        Label::new("001191440300708461136T1XGW3", "pdf-1")
    }

    #[test]
    fn update_keeps_original_and_info_entries() {
        let input = tiny_pdf("<< /Title (Hello \\(world\\)) /Author <FEFF4EBA> /aigc (old) >>");
        let mut out = Vec::new();
        let w = Pdf
            .write(&mut Cursor::new(&input), &mut out, &label(), &Limits::default())
            .unwrap();
        assert_eq!(&out[..input.len()], &input[..]);
        assert_eq!(w.bytes_written, out.len() as u64);
        let tail = String::from_utf8_lossy(&out[input.len()..]).into_owned();
        assert!(
            tail.starts_with("\n4 0 obj\n<</Title (Hello \\(world\\))\n/Author <FEFF4EBA>\n/AIGC ("),
            "{tail}"
        );
        assert!(tail.contains("/Prev "), "{tail}");
        assert!(tail.contains("/ID [<00><01>]"), "{tail}");
        let found = Pdf.find(&mut Cursor::new(&out), &Limits::default()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(json::parse(&found[0].text, 32).unwrap().to_label(), Some(label()));
        assert_eq!(found[0].range, w.label_range);
    }

    /// `file` without the bytes in `ranges`.
    fn covered(file: &[u8], ranges: &[Range<u64>]) -> Vec<u8> {
        (0..file.len())
            .filter(|&i| !ranges.iter().any(|r| r.contains(&(i as u64))))
            .map(|i| file[i])
            .collect()
    }

    fn startxrefs(file: &[u8]) -> usize {
        file.windows(9).filter(|w| w == b"startxref").count()
    }

    #[test]
    fn relabelling_replaces_our_update() {
        // The tiny file ends without an end-of-line: the first update adds one, and keeps it.
        let input = tiny_pdf("<< /Title (t) >>");
        let long = Label {
            reserved_code1: "(x)".repeat(500),
            ..label()
        };
        let mut a = Vec::new();
        Pdf.write(&mut Cursor::new(&input), &mut a, &label(), &Limits::default())
            .unwrap();
        let mut b = Vec::new();
        let w = Pdf
            .write(&mut Cursor::new(&a), &mut b, &long, &Limits::default())
            .unwrap();
        assert!(b.starts_with(&input) && b[input.len()] == b'\n');
        assert_eq!((startxrefs(&a), startxrefs(&b)), (2, 2));
        assert_eq!(w.label_range.start, input.len() as u64 + 1);
        let ex = |f: &[u8]| Pdf.binding_exclusions(&mut Cursor::new(f), &Limits::default()).unwrap();
        let (ea, eb) = (ex(&a), ex(&b));
        assert_eq!(ea.len(), 2, "Info object and the startxref offset: {ea:?}");
        assert_eq!(eb[0], w.label_range);
        assert_eq!(covered(&a, &ea), covered(&b, &eb));
        let tail = String::from_utf8_lossy(&b[eb[1].start as usize - 10..]).into_owned();
        assert!(tail.starts_with("startxref\n") && tail.ends_with("\n%%EOF\n"), "{tail}");
    }

    #[test]
    fn lookalike_update_is_not_ours() {
        let input = tiny_pdf("<< /Title (t) >>");
        let mut a = Vec::new();
        Pdf.write(&mut Cursor::new(&input), &mut a, &label(), &Limits::default())
            .unwrap();
        // Our update with its /ID changed: no longer what this writer renders, so it is kept.
        let at = a.len() - a.windows(4).rev().position(|w| w == b"<01>").unwrap() - 4;
        a[at + 2] = b'2';
        let found = Pdf.find(&mut Cursor::new(&a), &Limits::default()).unwrap();
        let ex = Pdf
            .binding_exclusions(&mut Cursor::new(&a), &Limits::default())
            .unwrap();
        assert_eq!(ex, vec![found[0].range.clone()]);
        let mut b = Vec::new();
        Pdf.write(&mut Cursor::new(&a), &mut b, &label(), &Limits::default())
            .unwrap();
        assert!(b.starts_with(&a));
        assert_eq!(startxrefs(&b), 3);
    }

    #[test]
    fn what_an_interrupted_update_leaves_after_ours_is_dropped_with_it() {
        let input = tiny_pdf("<< /Title (t) >>");
        let mut ours = Vec::new();
        Pdf.write(&mut Cursor::new(&input), &mut ours, &label(), &Limits::default())
            .unwrap();
        let text = String::from_utf8_lossy(&ours).into_owned();
        let xref = text.rsplit("startxref\n").next().unwrap().trim_end_matches("\n%%EOF\n");
        let relabel = |file: &[u8]| {
            let mut out = Vec::new();
            Pdf.write(&mut Cursor::new(file), &mut out, &label(), &Limits::default())
                .unwrap();
            out
        };
        let with = |rest: &str| [ours.as_slice(), rest.as_bytes()].concat();
        // Zeros, part of a copy, and its tail naming our section (padded): dropped.
        for rest in [
            format!("\0\0\0\0startxref\n{xref}\n%%EOF\n"),
            format!("\0\05 0 obj\n<</AIGC (x)>>\nendobj\nxref\nstartxref\n   {xref}\n%%EOF\n"),
        ] {
            assert_eq!(relabel(&with(&rest)), ours, "{rest:?}");
        }
        // Anything else after our update is kept: the new update goes after it.
        for rest in [
            "\n%%EOF\n".to_string(),
            format!("startxref\n{xref}\n%%EOF\nstartxref\n{xref}\n%%EOF\n"),
            format!("startxref\n{xref}\n%%EOF\n "),
        ] {
            let file = with(&rest);
            assert!(relabel(&file).starts_with(&file), "{rest:?}");
        }
    }

    #[test]
    fn reads_wild_encodings() {
        let json = json::to_json(&label(), Shape::Bare);
        let hex: String = encode_text_string(&format!("{json}é"))
            .iter()
            .map(|&b| b as char)
            .collect();
        assert!(hex.starts_with("<FEFF"));
        let input = tiny_pdf(&format!("<< /AIGC {hex} >>"));
        let found = Pdf.find(&mut Cursor::new(&input), &Limits::default()).unwrap();
        assert_eq!(found[0].text, format!("{json}é"));
        let input = tiny_pdf("<< /aigc (x) >>");
        let found = Pdf.find(&mut Cursor::new(&input), &Limits::default()).unwrap();
        assert_eq!(found[0].checks.len(), 1);
        assert_eq!(decode_text_string(b"\xff\xfeA\0"), "A");
        assert_eq!(decode_text_string(b"\xef\xbb\xbf\xe4\xba\xba"), "人");
        assert_eq!(decode_text_string(b"caf\xe9"), "café");
    }

    #[test]
    fn no_info_gets_a_new_object() {
        let mut input = tiny_pdf("<< >>");
        let text = String::from_utf8_lossy(&input).replace(" /Info 4 0 R", "             ");
        input = text.into_bytes();
        assert!(
            Pdf.find(&mut Cursor::new(&input), &Limits::default())
                .unwrap()
                .is_empty()
        );
        let mut out = Vec::new();
        Pdf.write(&mut Cursor::new(&input), &mut out, &label(), &Limits::default())
            .unwrap();
        let tail = String::from_utf8_lossy(&out[input.len()..]).into_owned();
        assert!(tail.contains("\n5 0 obj\n"), "{tail}");
        assert!(tail.contains("/Size 6 "), "{tail}");
        assert_eq!(Pdf.find(&mut Cursor::new(&out), &Limits::default()).unwrap().len(), 1);
    }

    /// `tiny_pdf` without an Info dictionary, its trailer claiming `/Size {size}`, and `extra`
    /// (an object no cross-reference section lists) before the table.
    fn lying_pdf(size: u32, extra: &str) -> Vec<u8> {
        let text = String::from_utf8_lossy(&tiny_pdf("<< >>"))
            .replace(" /Info 4 0 R", "")
            .replace("/Size 5", &format!("/Size {size}"));
        let xref = text.find("xref\n").unwrap();
        let text = format!("{}{extra}{}", &text[..xref], &text[xref..]);
        let shift = extra.len();
        let start = text.rfind("startxref\n").unwrap() + 10;
        let digits = text[start..].find('\n').unwrap();
        let old: usize = text[start..start + digits].parse().unwrap();
        format!("{}{}{}", &text[..start], old + shift, &text[start + digits..]).into_bytes()
    }

    fn update_of(input: &[u8]) -> String {
        let mut out = Vec::new();
        Pdf.write(&mut Cursor::new(input), &mut out, &label(), &Limits::default())
            .unwrap();
        assert!(out.starts_with(input));
        String::from_utf8_lossy(&out[input.len()..]).into_owned()
    }

    /// A PDF 1.5 file whose pages tree (object 2) and page (object 3) sit in object stream 4,
    /// with an uncompressed xref stream (object 5); the object stream's header names the page
    /// `page_number` (3 when it tells the truth).
    fn objstm_pdf(page_number: u32) -> Vec<u8> {
        let bodies = [
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        ];
        let header = format!("2 0 {page_number} {}", bodies[0].len() + 1);
        let first = header.len() + 1;
        let data = format!("{header}\n{}\n{}", bodies[0], bodies[1]);
        let mut out = b"%PDF-1.5\n".to_vec();
        let catalog = out.len();
        out.extend_from_slice(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
        let stm = out.len();
        out.extend_from_slice(
            format!(
                "4 0 obj\n<< /Type /ObjStm /N 2 /First {first} /Length {} >>\nstream\n{data}\nendstream\nendobj\n",
                data.len()
            )
            .as_bytes(),
        );
        let xref = out.len();
        let mut rows = vec![0u8, 0, 0, 0];
        for (kind, field, index) in [(1, catalog, 0), (2, 4, 0), (2, 4, 1), (1, stm, 0), (1, xref, 0)] {
            rows.push(kind);
            rows.extend_from_slice(&(field as u16).to_be_bytes());
            rows.push(index);
        }
        out.extend_from_slice(
            format!(
                "5 0 obj\n<< /Type /XRef /Size 6 /W [1 2 1] /Root 1 0 R /Length {} >>\nstream\n",
                rows.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&rows);
        out.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{xref}\n%%EOF\n").as_bytes());
        out
    }

    #[test]
    fn numbers_in_object_stream_headers_are_not_reused() {
        let honest = update_of(&objstm_pdf(3));
        assert!(honest.starts_with("6 0 obj\n"), "{honest}");
        assert!(honest.contains("/Size 8 "), "Info 6, xref stream 7: {honest}");
        // The header names object 9, which no xref stream lists.
        let lying = update_of(&objstm_pdf(9));
        assert!(lying.starts_with("10 0 obj\n"), "{lying}");
        assert!(lying.contains("/Size 12 "), "{lying}");
    }

    #[test]
    fn other_trailer_entries_are_carried_over() {
        let input = String::from_utf8_lossy(&tiny_pdf("<< /Title (t) >>"))
            .replace(
                "/ID [<00><01>]",
                "/ID [<00><01>] /DocChecksum /ABCDEF /My#20Key (kept) /Gone null",
            )
            .into_bytes();
        let tail = update_of(&input);
        let trailer = &tail[tail.find("trailer").unwrap()..];
        assert!(
            trailer.contains("/ID [<00><01>] /DocChecksum /ABCDEF /My#20Key (kept) /Prev "),
            "{trailer}"
        );
        assert!(!trailer.contains("Gone"), "{trailer}");
        let mut once = Vec::new();
        Pdf.write(&mut Cursor::new(&input), &mut once, &label(), &Limits::default())
            .unwrap();
        let mut twice = Vec::new();
        Pdf.write(&mut Cursor::new(&once), &mut twice, &label(), &Limits::default())
            .unwrap();
        assert_eq!(
            once, twice,
            "our update with carried entries is still recognised as ours"
        );
    }

    #[test]
    fn new_objects_never_reuse_a_number() {
        // /Size 2 claims objects 0 and 1 only; the table lists 0 to 4.
        let tail = update_of(&lying_pdf(2, ""));
        assert!(tail.starts_with("\n5 0 obj\n"), "{tail}");
        assert!(tail.contains("/Size 6 "), "{tail}");
        // An object the table does not list at all, found by its header.
        let tail = update_of(&lying_pdf(5, "9 0 obj\n(orphan)\nendobj\n"));
        assert!(tail.starts_with("\n10 0 obj\n"), "{tail}");
        assert!(tail.contains("/Size 11 "), "{tail}");
        // Relabelling finds its own update again and keeps its numbers.
        let input = lying_pdf(5, "9 0 obj\n(orphan)\nendobj\n");
        let mut once = Vec::new();
        Pdf.write(&mut Cursor::new(&input), &mut once, &label(), &Limits::default())
            .unwrap();
        let mut twice = Vec::new();
        Pdf.write(&mut Cursor::new(&once), &mut twice, &label(), &Limits::default())
            .unwrap();
        assert_eq!(once, twice);
    }

    #[test]
    fn malformed_inputs_fail_cleanly() {
        let good = tiny_pdf("<< /Title (x) >>");
        let mut cases: Vec<Vec<u8>> = vec![
            b"%PDF-1.4\n".to_vec(),
            b"%PDF-1.4\nstartxref\n999999\n%%EOF".to_vec(),
            b"%PDF-1.4\nstartxref\n0\n%%EOF".to_vec(),
            b"%PDF-1.4\nxref\n0 99999999\nstartxref\n9\n%%EOF".to_vec(),
        ];
        for cut in [10, good.len() / 2, good.len() - 30] {
            cases.push(good[..cut].to_vec());
        }
        // A /Prev chain that loops back on itself.
        let looped = String::from_utf8_lossy(&good).replace("/ID [<00><01>]", &format!("/Prev {}", good.len() - 120));
        cases.push(looped.into_bytes());
        for case in cases {
            let r = Pdf.find(&mut Cursor::new(&case), &Limits::default());
            assert!(r.is_err() || r.as_ref().is_ok_and(|f| f.is_empty()), "{r:?}");
        }
    }

    #[test]
    fn encrypted_is_refused() {
        let input = String::from_utf8_lossy(&tiny_pdf("<< >>"))
            .replace("/ID [<00><01>]", "/Encrypt 9 0 R")
            .into_bytes();
        assert!(matches!(
            Pdf.find(&mut Cursor::new(&input), &Limits::default()),
            Err(Error::Unsupported(_))
        ));
    }
}
