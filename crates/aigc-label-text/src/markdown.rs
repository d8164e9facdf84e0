//! Markdown: the implicit label as an `AIGC:` mapping in YAML front matter, and the explicit label
//! at the end of the text (TC260-PG-20258A, text guide; spec section 4).
//!
//! ```text
//! ---
//! title: 周报
//! AIGC:
//!   Label: "1"
//!   ContentProducer: "001191440300708461136T1XGW3"
//!   ...
//! ---
//! 正文……
//!
//! 【AI生成】
//! ```
//!
//! The writer edits the front matter line by line: it removes any top-level `AIGC` entry and
//! appends the new mapping before the closing `---`, so every other key, comment, quoting style
//! and line ending stays exactly as it was (re-serialising YAML would reorder and requote the
//! author's keys). Values are double-quoted so that any YAML parser reads them as strings. The
//! body is copied in blocks; the visible label is appended unless a line outside code already is
//! one (ours from an earlier write, a stamp placed at the start or after a paragraph). Every
//! line we add (new front matter, the mapping, the visible label) ends with the file's own line
//! break, told by its first one: a CRLF file stays CRLF.
//!
//! The reader turns the mapping into bare JSON for the core to validate. It also reads the forms
//! seen when other tools write or re-save front matter: `AIGC: '{"Label":"1",...}'` (a JSON
//! string, single- or double-quoted, possibly folded over several lines by a YAML dumper), a
//! flow mapping `AIGC: {Label: "1", ...}`, and a block scalar `AIGC: |` holding JSON; each is
//! reported with a `carrier.place` warning, since the guide asks for the mapping.
//!
//! Markdown has no magic bytes. [`Markdown::sniff`] accepts only a file that opens with a `---`
//! line followed by a `key:` line (YAML front matter); anything else must be chosen by name or
//! extension (`md`, `markdown`).

use std::io::Write;
use std::ops::Range;

use aigc_label_core::check::{Check, Strictness, id};
use aigc_label_core::io::{CountingWriter, ReadSeek, Source};
use aigc_label_core::json::Shape;
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result, Written};

use crate::blocks::{self, Layout, State};
use crate::detect;
use crate::explicit::{DEFAULT_LABEL, markdown_end};
use crate::util::{JsonValue, is_json_number, json_object};

const FORMAT: &str = "markdown";

/// The Markdown carrier (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Markdown;

impl Carrier for Markdown {
    fn info(&self) -> &'static aigc_label_core::Info {
        &aigc_label_core::Info {
            format: FORMAT,
            media_type: "text/markdown",
            extensions: &["md", "markdown", "mdown", "mkd", "mkdn", "mdx"],
        }
    }

    fn traces(&self) -> Option<&'static dyn aigc_label_core::traces::TraceScanner> {
        Some(&aigc_label_core::traces::TextScanner)
    }

    fn stamp(&self) -> Option<&dyn aigc_label_core::stamp::Stamp> {
        Some(&aigc_label_core::stamp::Medium::Text)
    }

    /// A leading `---` line (after an optional BOM) followed by a `key:` line: YAML front matter.
    fn sniff(&self, head: &[u8]) -> bool {
        let head = head.strip_prefix("\u{feff}".as_bytes()).unwrap_or(head);
        let rest = head.strip_prefix(b"---\n").or_else(|| head.strip_prefix(b"---\r\n"));
        let Some(rest) = rest else { return false };
        if head.contains(&0) {
            return false;
        }
        let line_end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = rest.get(..line_end).unwrap_or_default();
        let key_len = line
            .iter()
            .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'"' | b'\''))
            .count();
        key_len > 0 && line.get(key_len) == Some(&b':')
    }

    fn find(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Found>> {
        let mut src = Source::new(input, FORMAT)?;
        let Some(head) = read_front_matter(&mut src, limits)? else {
            return Ok(Vec::new());
        };
        let inner = head.text.get(head.inner.clone()).unwrap_or_default();
        let mut found = Vec::new();
        for entry in top_level_entries(inner, limits)? {
            if !entry.key.eq_ignore_ascii_case("AIGC") || found.len() >= limits.max_copies {
                continue;
            }
            let value = aigc_value(&entry, limits)?;
            let mut checks = Vec::new();
            if entry.key != "AIGC" {
                checks.push(Check::should(
                    id::CARRIER_PLACE,
                    Strictness::Lenient,
                    format!("front matter key is {:?}, not \"AIGC\"", entry.key),
                ));
            }
            if value.form != Form::Mapping {
                checks.push(Check::should(
                    id::CARRIER_PLACE,
                    Strictness::Lenient,
                    format!("AIGC is {}, not the mapping of seven fields", value.form.describe()),
                ));
            }
            let start = (head.inner.start + entry.range.start) as u64;
            let end = (head.inner.start + entry.range.end) as u64;
            found.push(Found {
                carrier: "YAML front matter AIGC".into(),
                range: start..end,
                text: value.text,
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
        write_with(input, output, label, limits, DEFAULT_LABEL)
    }
}

/// As [`Carrier::write`] for [`Markdown`], with `visible` as the explicit label appended to the
/// text (check it with [`crate::validate_label_text`] or take it from a [`crate::TextStyle`]).
///
/// # Errors
/// Malformed front matter (not UTF-8), limits exceeded, I/O errors.
pub fn write_with(
    input: &mut dyn ReadSeek,
    output: &mut dyn Write,
    label: &Label,
    limits: &Limits,
    visible: &str,
) -> Result<Written> {
    let mut src = Source::new(input, FORMAT)?;
    let head = read_front_matter(&mut src, limits)?;
    let mut out = CountingWriter::new(output);
    let label_range;
    let body_start;
    let eol;
    match head {
        Some(head) => {
            let text = head.text.as_str();
            // The opening marker's line break is the file's first.
            eol = blocks::line_ending(text.as_bytes());
            let inner = text.get(head.inner.clone()).unwrap_or_default();
            let kept = without_aigc(inner, limits)?;
            out.write_all(text.get(..head.inner.start).unwrap_or_default().as_bytes())?;
            out.write_all(kept.as_bytes())?;
            if !kept.is_empty() && !kept.ends_with('\n') {
                out.write_all(eol.as_bytes())?;
            }
            let start = out.count();
            out.write_all(yaml_block(label, eol).as_bytes())?;
            label_range = start..out.count();
            let closing = text.get(head.inner.end..head.end).unwrap_or_default();
            out.write_all(closing.as_bytes())?;
            if !closing.ends_with('\n') {
                // The file ended on the closing marker: the body must start on a line of its own.
                out.write_all(eol.as_bytes())?;
            }
            body_start = head.end as u64;
        }
        None => {
            src.seek_to(0)?;
            let mut bom = [0u8; 3];
            let n = src.read_up_to(&mut bom)?;
            let bom_len = if bom.get(..n) == Some("\u{feff}".as_bytes()) {
                3
            } else {
                0
            };
            eol = first_line_ending(&mut src)?;
            out.write_all(bom.get(..bom_len).unwrap_or_default())?;
            out.write_all(format!("---{eol}").as_bytes())?;
            let start = out.count();
            out.write_all(yaml_block(label, eol).as_bytes())?;
            label_range = start..out.count();
            out.write_all(format!("---{eol}").as_bytes())?;
            body_start = bom_len as u64;
        }
    }
    src.seek_to(body_start)?;
    let body = copy_body(&mut src, &mut out)?;
    // One visible label is enough: one already standing on its own line anywhere outside code
    // (ours from an earlier write, a stamp placed at the start or after a paragraph, the
    // author's) means none is appended.
    if !body.has_label && !body.ends_with_label() {
        let end = markdown_end(body.len == 0, body.ends_with_newline(), visible, body.state.fence, eol);
        out.write_all(end.as_bytes())?;
    }
    out.flush()?;
    Ok(Written {
        label_range,
        bytes_written: out.count(),
    })
}

/// The file's line ending (see [`blocks::line_ending`]), from the bytes up to its first line
/// break, read in blocks and no further than [`blocks::EOL_WINDOW`].
fn first_line_ending(src: &mut Source<'_>) -> Result<&'static str> {
    src.seek_to(0)?;
    let mut head = Vec::new();
    let mut block = vec![0u8; 4 << 10];
    while head.len() < blocks::EOL_WINDOW && !head.contains(&b'\n') {
        let n = src.read_up_to(&mut block)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(block.get(..n).unwrap_or_default());
    }
    Ok(blocks::line_ending(&head))
}

/// The front matter as read from the head of the file.
struct Head {
    /// The file's bytes up to at least the end of the front matter, as text.
    text: String,
    /// The lines between the markers.
    inner: Range<usize>,
    /// Just past the closing marker line.
    end: usize,
}

/// Reads the head of the file in growing blocks until the front matter closes; `None` when the
/// file does not open with front matter. The front matter counts against
/// [`Limits::max_metadata_bytes`].
fn read_front_matter(src: &mut Source<'_>, limits: &Limits) -> Result<Option<Head>> {
    src.seek_to(0)?;
    let mut bytes: Vec<u8> = Vec::new();
    let mut block: u64 = 4 << 10;
    loop {
        let want = block.min(src.remaining());
        if want == 0 {
            return Ok(None);
        }
        limits.check_metadata(FORMAT, 0, bytes.len() as u64 + want)?;
        let more = src.read_vec(want, "front matter", limits)?;
        bytes.extend_from_slice(&more);
        block = block.saturating_mul(2);
        // Only the valid UTF-8 prefix is looked at: the body after the front matter may be in
        // any encoding, the front matter itself may not.
        let (text, invalid) = match std::str::from_utf8(&bytes) {
            Ok(t) => (t, false),
            Err(e) => (
                std::str::from_utf8(bytes.get(..e.valid_up_to()).unwrap_or_default()).unwrap_or_default(),
                e.error_len().is_some(),
            ),
        };
        match starts_with_marker(text.as_bytes()) {
            Some(false) => return Ok(None),
            None if invalid => return Ok(None),
            None => continue,
            Some(true) => {}
        }
        if let Some((inner, end)) = blocks::front_matter(text) {
            let text = text.get(..end).unwrap_or_default().to_string();
            return Ok(Some(Head { text, inner, end }));
        }
        if invalid {
            return Err(Error::malformed(FORMAT, text.len() as u64, "front matter is not UTF-8"));
        }
    }
}

/// Whether the bytes open with a `---` line: `None` while the first line is incomplete.
fn starts_with_marker(bytes: &[u8]) -> Option<bool> {
    let b = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let nl = b.iter().position(|&c| c == b'\n')?;
    let line = b.get(..nl)?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Some(line.trim_ascii_end() == b"---")
}

/// One top-level entry of the front matter.
#[derive(Debug)]
struct Entry<'a> {
    key: String,
    /// Byte range of its lines in the front matter text, trailing blank lines excluded.
    range: Range<usize>,
    /// The key line after the colon, line break excluded.
    rest: &'a str,
    /// The entry's following lines, line breaks included.
    body: &'a str,
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '\t']).len()
}

/// The key of a top-level `key:` line, unquoted, and the text after the colon.
fn key_line(line: &str) -> Option<(String, &str)> {
    let first = line.chars().next()?;
    if first.is_whitespace() || matches!(first, '#' | '-' | '%' | '[' | '{' | '?' | '|' | '>') {
        return None;
    }
    let body = line.trim_end_matches(['\n', '\r']);
    let colon = if first == '"' || first == '\'' {
        let close = body.get(1..)?.find(first)? + 1;
        close + body.get(close..)?.find(':')?
    } else {
        body.char_indices()
            .find(|&(i, c)| {
                c == ':'
                    && body
                        .get(i + 1..)
                        .is_none_or(|r| r.is_empty() || r.starts_with([' ', '\t']))
            })?
            .0
    };
    let key = body.get(..colon)?.trim();
    let key = key
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .or_else(|| key.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')))
        .unwrap_or(key);
    Some((key.to_string(), body.get(colon + 1..).unwrap_or_default()))
}

/// Splits front matter text into its top-level entries. Lines before the first key belong to no
/// entry. A col-0 comment belongs to none either, unless more lines of the entry follow it (YAML
/// ignores comments, so those lines are still the entry's): the entry then spans it, and removing
/// the entry never leaves its later lines behind, orphaned under the key before it.
fn top_level_entries<'a>(text: &'a str, limits: &Limits) -> Result<Vec<Entry<'a>>> {
    let mut entries: Vec<Entry<'a>> = Vec::new();
    let mut current: Option<(String, usize, &'a str, usize, usize)> = None; // key, start, rest, body start, end
    let mut count = 0u64;
    let close = |cur: Option<(String, usize, &'a str, usize, usize)>, entries: &mut Vec<Entry<'a>>| {
        if let Some((key, start, rest, body_start, end)) = cur {
            let body = text.get(body_start..end.max(body_start)).unwrap_or_default();
            entries.push(Entry {
                key,
                range: start..end,
                rest,
                body,
            });
        }
    };
    for (offset, line) in blocks::lines_with_offsets(text) {
        crate::util::count_structure(&mut count, limits, FORMAT, offset as u64)?;
        let end = offset + line.len();
        let blank = line.trim().is_empty() || line.starts_with('#');
        let continues = line.starts_with([' ', '\t']) || line.starts_with("- ") || line.trim_end() == "-";
        if blank {
            continue;
        }
        if continues {
            if let Some(cur) = current.as_mut() {
                cur.4 = end;
            }
            continue;
        }
        close(current.take(), &mut entries);
        if let Some((key, rest)) = key_line(line) {
            current = Some((key, offset, rest, end, end));
        }
    }
    close(current, &mut entries);
    Ok(entries)
}

/// The front matter text with every top-level `AIGC` entry removed.
fn without_aigc(inner: &str, limits: &Limits) -> Result<String> {
    let mut out = String::with_capacity(inner.len());
    let mut pos = 0;
    for entry in top_level_entries(inner, limits)? {
        if entry.key.eq_ignore_ascii_case("AIGC") {
            out.push_str(inner.get(pos..entry.range.start).unwrap_or_default());
            pos = entry.range.end;
        }
    }
    out.push_str(inner.get(pos..).unwrap_or_default());
    Ok(out)
}

/// How the `AIGC` value was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Mapping,
    Scalar,
    Flow,
    Block,
}

impl Form {
    fn describe(self) -> &'static str {
        match self {
            Form::Mapping => "a mapping",
            Form::Scalar => "a string holding JSON",
            Form::Flow => "a flow mapping",
            Form::Block => "a block scalar holding JSON",
        }
    }
}

struct Value {
    text: String,
    form: Form,
}

fn aigc_value(entry: &Entry<'_>, limits: &Limits) -> Result<Value> {
    let rest = strip_comment(entry.rest).trim();
    let both = format!("{}\n{}", entry.rest, entry.body);
    if rest.is_empty() {
        let pairs = block_mapping(entry.body, limits)?;
        return Ok(Value {
            text: json_object(&pairs),
            form: Form::Mapping,
        });
    }
    let (text, form) = if rest.starts_with(['"', '\'']) {
        let start = both.find(['"', '\'']).unwrap_or(0);
        (
            quoted(&both, start).map(|(v, _)| v).unwrap_or_else(|| rest.to_string()),
            Form::Scalar,
        )
    } else if rest.starts_with('{') {
        let raw = fold_plain(&both);
        let text = flow_mapping(&raw).map_or(raw, |pairs| json_object(&pairs));
        (text, Form::Flow)
    } else if rest.starts_with(['|', '>']) {
        (block_scalar(rest, entry.body), Form::Block)
    } else {
        (fold_plain(&both), Form::Scalar)
    };
    Ok(Value { text, form })
}

/// Removes a ` #` comment from a line that holds no quotes.
fn strip_comment(line: &str) -> &str {
    if line.contains(['"', '\'']) {
        return line;
    }
    match line.find(" #") {
        Some(i) => line.get(..i).unwrap_or(line),
        None => line,
    }
}

/// A plain scalar over several lines: lines joined by single spaces.
fn fold_plain(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| strip_comment(l).trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `|` keeps line breaks, `>` folds them into spaces; the common indentation is removed.
fn block_scalar(indicator: &str, body: &str) -> String {
    // A col-0 line inside a top-level entry's block scalar can only be a comment.
    let content = || body.lines().filter(|l| !l.starts_with('#'));
    let indent = content()
        .filter(|l| !l.trim().is_empty())
        .map(indent_of)
        .min()
        .unwrap_or(0);
    let lines: Vec<&str> = content()
        .map(|l| l.get(indent..).unwrap_or("").trim_end_matches('\r'))
        .collect();
    let sep = if indicator.starts_with('>') { " " } else { "\n" };
    lines.join(sep).trim_end().to_string()
}

/// The key/value pairs of a block mapping (the `AIGC:` entry's body).
fn block_mapping(body: &str, limits: &Limits) -> Result<Vec<(String, JsonValue)>> {
    let mut pairs = Vec::new();
    let lines: Vec<(usize, &str)> = blocks::lines_with_offsets(body).collect();
    let child_indent = lines
        .iter()
        .map(|(_, l)| *l)
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(indent_of);
    let Some(child) = child_indent else {
        return Ok(pairs);
    };
    let mut i = 0;
    let mut count = 0u64;
    while let Some(&(offset, line)) = lines.get(i) {
        crate::util::count_structure(&mut count, limits, FORMAT, offset as u64)?;
        i += 1;
        if indent_of(line) != child || line.trim().is_empty() {
            continue;
        }
        let Some((key, rest)) = key_line(line.get(child..).unwrap_or_default()) else {
            continue;
        };
        let value_text = strip_comment(rest).trim();
        let deeper_end = |from: usize| {
            let mut j = from;
            while let Some(&(_, l)) = lines.get(j) {
                if !l.trim().is_empty() && indent_of(l) <= child {
                    break;
                }
                j += 1;
            }
            j
        };
        let value = if value_text.starts_with(['"', '\'']) {
            let quote_at =
                offset + line.len() - line.trim_start().len() + line.trim_start().find(['"', '\'']).unwrap_or(0);
            let quote_at = line.find(['"', '\'']).map_or(quote_at, |q| offset + q);
            match quoted(body, quote_at) {
                Some((v, end)) => {
                    while lines.get(i).is_some_and(|&(o, _)| o < end) {
                        i += 1;
                    }
                    JsonValue::Str(v)
                }
                None => JsonValue::Str(value_text.to_string()),
            }
        } else if value_text.starts_with(['|', '>']) {
            let end = deeper_end(i);
            let block: String = lines.get(i..end).unwrap_or_default().iter().map(|(_, l)| *l).collect();
            i = end;
            JsonValue::Str(block_scalar(value_text, &block))
        } else if value_text.is_empty() {
            // `Key:` alone is null in YAML (or a nested collection, which a field cannot be).
            i = deeper_end(i);
            JsonValue::Raw("null".into())
        } else {
            let end = deeper_end(i);
            let mut folded = value_text.to_string();
            for (_, l) in lines.get(i..end).unwrap_or_default() {
                let t = strip_comment(l).trim();
                if !t.is_empty() {
                    folded.push(' ');
                    folded.push_str(t);
                }
            }
            i = end;
            if is_json_number(&folded) {
                JsonValue::Raw(folded)
            } else {
                JsonValue::Str(folded)
            }
        };
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// A single- or double-quoted YAML scalar starting at byte `start` of `text` (the quote), which
/// may be folded over several lines. Returns the value and the offset after the closing quote.
fn quoted(text: &str, start: usize) -> Option<(String, usize)> {
    let rest = text.get(start..)?;
    let quote = rest.chars().next()?;
    let mut out = String::new();
    let mut chars = rest.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c == quote => {
                if quote == '\'' && chars.peek().is_some_and(|&(_, n)| n == '\'') {
                    chars.next();
                    out.push('\'');
                } else {
                    return Some((out, start + i + 1));
                }
            }
            '\\' if quote == '"' => {
                let (_, e) = chars.next()?;
                match e {
                    '\n' | '\r' => {
                        while chars
                            .peek()
                            .is_some_and(|&(_, n)| n == ' ' || n == '\t' || n == '\n' || n == '\r')
                        {
                            chars.next();
                        }
                    }
                    'x' => out.push(hex_escape(&mut chars, 2)?),
                    'u' => out.push(hex_escape(&mut chars, 4)?),
                    'U' => out.push(hex_escape(&mut chars, 8)?),
                    e => out.push(match e {
                        '0' => '\0',
                        'a' => '\u{7}',
                        'b' => '\u{8}',
                        't' | '\t' => '\t',
                        'n' => '\n',
                        'v' => '\u{b}',
                        'f' => '\u{c}',
                        'r' => '\r',
                        'e' => '\u{1b}',
                        'N' => '\u{85}',
                        '_' => '\u{a0}',
                        'L' => '\u{2028}',
                        'P' => '\u{2029}',
                        other => other,
                    }),
                }
            }
            '\r' => {}
            '\n' => {
                // Folding: trailing spaces go, a single break is a space, each empty line a break.
                while out.ends_with([' ', '\t']) {
                    out.pop();
                }
                let mut breaks = 0;
                while let Some(&(_, n)) = chars.peek() {
                    match n {
                        ' ' | '\t' | '\r' => {
                            chars.next();
                        }
                        '\n' => {
                            breaks += 1;
                            chars.next();
                        }
                        _ => break,
                    }
                }
                if breaks == 0 {
                    out.push(' ');
                } else {
                    out.extend(std::iter::repeat_n('\n', breaks));
                }
            }
            c => out.push(c),
        }
    }
    None
}

fn hex_escape(chars: &mut impl Iterator<Item = (usize, char)>, n: usize) -> Option<char> {
    let mut v = 0u32;
    for _ in 0..n {
        v = v.checked_mul(16)?.checked_add(chars.next()?.1.to_digit(16)?)?;
    }
    char::from_u32(v)
}

/// A one-level flow mapping `{Label: "1", ContentProducer: x}`; `None` if it is anything else.
fn flow_mapping(text: &str) -> Option<Vec<(String, JsonValue)>> {
    let inner = text.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut pairs = Vec::new();
    let mut pos = 0;
    loop {
        let rest = inner.get(pos..)?;
        let skipped = rest.len() - rest.trim_start().len();
        pos += skipped;
        if inner.get(pos..)?.is_empty() {
            return Some(pairs);
        }
        let (key, _, after_key) = flow_scalar(inner, pos, ":")?;
        let colon = inner.get(after_key..)?.find(':')? + after_key + 1;
        let skipped = inner.get(colon..)?.len() - inner.get(colon..)?.trim_start().len();
        let (value, was_quoted, after_value) = flow_scalar(inner, colon + skipped, ",")?;
        let value = if !was_quoted && is_json_number(&value) {
            JsonValue::Raw(value)
        } else {
            JsonValue::Str(value)
        };
        pairs.push((key, value));
        let rest = inner.get(after_value..)?.trim_start();
        pos = inner.len() - rest.len();
        match rest.strip_prefix(',') {
            Some(_) => pos += 1,
            None if rest.is_empty() => return Some(pairs),
            None => return None,
        }
    }
}

/// A quoted or plain scalar in a flow collection, ending before `stop` (or the end); the flag
/// says whether it was quoted (a quoted `"1"` stays a string).
fn flow_scalar(text: &str, start: usize, stop: &str) -> Option<(String, bool, usize)> {
    let rest = text.get(start..)?;
    if rest.starts_with(['"', '\'']) {
        let (v, end) = quoted(text, start)?;
        return Some((v, true, end));
    }
    let len = rest.find(stop).unwrap_or(rest.len());
    Some((rest.get(..len)?.trim().to_string(), false, start + len))
}

/// The `AIGC:` mapping we write, values double-quoted.
fn yaml_block(label: &Label, eol: &str) -> String {
    let mut out = format!("AIGC:{eol}");
    for (name, value) in label.fields() {
        out.push_str("  ");
        out.push_str(name);
        out.push_str(": ");
        out.push_str(&yaml_double_quoted(value));
        out.push_str(eol);
    }
    out
}

fn yaml_double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() || c == '\u{feff}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What [`copy_body`] learnt about the body it copied.
struct Body {
    len: u64,
    state: State,
    /// The last bytes of the body (up to [`TAIL`]).
    tail: Vec<u8>,
    /// A line outside code blocks holds an explicit label.
    has_label: bool,
}

/// How many trailing bytes of the body are kept to look for an existing visible label.
const TAIL: usize = 1024;

/// How much of one line is kept for recognising fences; longer lines are still copied whole.
const LINE_PREFIX: usize = 256;

impl Body {
    fn ends_with_newline(&self) -> bool {
        self.tail.last() == Some(&b'\n')
    }

    /// True when the last non-blank line holds an explicit label (ours from an earlier write, or
    /// the author's).
    fn ends_with_label(&self) -> bool {
        let text = String::from_utf8_lossy(&self.tail);
        text.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .is_some_and(detect::contains_label)
    }
}

/// Copies the rest of `src` to `out` in blocks, tracking code fences line by line and keeping
/// the tail; memory stays flat however long the text or its lines.
fn copy_body(src: &mut Source<'_>, out: &mut dyn Write) -> Result<Body> {
    let mut body = Body {
        len: 0,
        state: State::default(),
        tail: Vec::new(),
        has_label: false,
    };
    let mut layout = Layout::default();
    let mut line: Vec<u8> = Vec::new();
    let mut line_has_text = false;
    let mut buf = vec![0u8; aigc_label_core::io::COPY_BLOCK];
    loop {
        let n = src.read_up_to(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = buf.get(..n).unwrap_or_default();
        out.write_all(chunk)?;
        body.len += n as u64;
        for &b in chunk {
            if b == b'\n' {
                body.has_label |= feed_line(&mut body.state, &mut line, line_has_text, &mut layout);
                line_has_text = false;
            } else {
                line_has_text |= !b.is_ascii_whitespace();
                if line.len() < LINE_PREFIX {
                    line.push(b);
                }
            }
        }
        body.tail.extend_from_slice(chunk);
        if body.tail.len() > 2 * TAIL {
            let cut = body.tail.len() - TAIL;
            body.tail.drain(..cut);
        }
    }
    if !line.is_empty() {
        body.has_label |= feed_line(&mut body.state, &mut line, line_has_text, &mut layout);
    }
    Ok(body)
}

/// Feeds one line (its first [`LINE_PREFIX`] bytes) to the block tracker; true when it stands
/// outside code and holds an explicit label.
fn feed_line(state: &mut State, line: &mut Vec<u8>, has_text: bool, layout: &mut Layout) -> bool {
    let mut text = String::from_utf8_lossy(line).into_owned();
    let label = state.fence.is_none() && detect::contains_label(&text);
    if has_text && text.trim().is_empty() {
        text.push('x');
    }
    text.push('\n');
    state.line(&text, 0, true, layout);
    layout.paragraph_ends.clear();
    line.clear();
    label && state.fence.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn label() -> Label {
        Label::new("001191440300708461136T1XGW3", "md-1")
    }

    fn write(input: &str) -> String {
        let mut out = Vec::new();
        let w = Markdown
            .write(
                &mut Cursor::new(input.as_bytes()),
                &mut out,
                &label(),
                &Limits::default(),
            )
            .unwrap();
        assert_eq!(w.bytes_written, out.len() as u64);
        String::from_utf8(out).unwrap()
    }

    fn find(input: &str) -> Vec<Found> {
        Markdown
            .find(&mut Cursor::new(input.as_bytes()), &Limits::default())
            .unwrap()
    }

    #[test]
    fn writes_new_front_matter_and_visible_label() {
        let out = write("# 标题\n\n正文");
        assert!(out.starts_with("---\nAIGC:\n  Label: \"1\"\n  ContentProducer: \"001191440300708461136T1XGW3\"\n"));
        assert!(out.ends_with("---\n# 标题\n\n正文\n\n【AI生成】\n"), "{out}");
        let found = find(&out);
        assert_eq!(found.len(), 1);
        let parsed = aigc_label_core::json::parse(&found[0].text, 32).unwrap();
        assert_eq!(parsed.to_label(), Some(label()));
        assert!(found[0].checks.is_empty());
        // Writing again replaces the mapping and does not add a second visible label.
        let again = write(&out);
        assert_eq!(again, out);
    }

    #[test]
    fn merges_into_existing_front_matter() {
        let input =
            "\u{feff}---\r\ntitle: \"周报\"   # keep\r\nAIGC: old\r\ntags:\r\n- a\r\n- b\r\n\r\n---\r\nbody\r\n";
        let out = write(input);
        assert!(
            out.starts_with(
                "\u{feff}---\r\ntitle: \"周报\"   # keep\r\ntags:\r\n- a\r\n- b\r\n\r\nAIGC:\r\n  Label: \"1\"\r\n"
            ),
            "{out}"
        );
        assert!(out.ends_with("---\r\nbody\r\n\r\n【AI生成】\r\n"), "{out:?}");
        assert_eq!(find(&out).len(), 1);
    }

    #[test]
    fn reads_wild_forms() {
        let json = r#"{"Label":"1","ContentProducer":"p","ProduceID":"x","ReservedCode1":"","ContentPropagator":"p","PropagateID":"x","ReservedCode2":""}"#;
        let single = format!("---\nAIGC: '{json}'\n---\n");
        let double = format!("---\nAIGC: \"{}\"\n---\n", json.replace('"', "\\\""));
        let block = format!("---\nAIGC: |\n  {json}\n---\n");
        let folded = "---\nAIGC: '{\"Label\":\"1\",\n  \"ProduceID\":\"x\"}'\n---\n".to_string();
        let flow = "---\nAIGC: {Label: \"1\", ProduceID: x, Extra: 2}\n---\n".to_string();
        for (input, want) in [
            (single, json.to_string()),
            (double, json.to_string()),
            (block, json.to_string()),
            (folded, r#"{"Label":"1", "ProduceID":"x"}"#.to_string()),
            (flow, r#"{"Label":"1","ProduceID":"x","Extra":2}"#.to_string()),
        ] {
            let found = find(&input);
            assert_eq!(found.len(), 1, "{input}");
            assert_eq!(found[0].text, want, "{input}");
            assert_eq!(found[0].checks.len(), 1, "{input}");
        }
    }

    #[test]
    fn mapping_values_quoted_plain_and_numeric() {
        let input = "---\naigc:\n  Label: 1   # numeric\n  ContentProducer: 'it''s'\n  ProduceID: \"a\\\"b\\u00e9\"\n  ReservedCode1: >\n    long\n    text\n  Nested:\n    deep: 1\n---\n";
        let found = find(input);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].text,
            r#"{"Label":1,"ContentProducer":"it's","ProduceID":"a\"bé","ReservedCode1":"long text","Nested":null}"#
        );
        assert_eq!(found[0].checks.len(), 1, "miscased key is reported");
    }

    #[test]
    fn body_in_another_encoding() {
        let mut input = b"---\nAIGC: x\n---\n".to_vec();
        input.extend_from_slice(b"\xc4\xe3\xba\xc3 GBK body\n");
        let found = Markdown.find(&mut Cursor::new(&input), &Limits::default()).unwrap();
        assert_eq!(found.len(), 1);
        let bad = b"---\nAIGC: \xff\n---\n";
        assert!(Markdown.find(&mut Cursor::new(&bad[..]), &Limits::default()).is_err());
    }

    #[test]
    fn a_comment_inside_the_label_block_keeps_the_block_whole() {
        let input = "---\ntitle: x\n# about the title\nAIGC:\n  Label: \"1\"\n# a note\n  ProduceID: \"old\"\n# about the author\nauthor: me\n---\nBody\n";
        let found = find(input);
        assert_eq!(found[0].text, r#"{"Label":"1","ProduceID":"old"}"#);
        let out = write(input);
        assert!(!out.contains("old"), "no line of the old label is left behind: {out}");
        assert!(
            out.starts_with("---\ntitle: x\n# about the title\n# about the author\nauthor: me\nAIGC:\n"),
            "{out}"
        );
        let block = "---\nAIGC: |\n  {\"Label\":\"1\",\n# a note\n  \"ProduceID\":\"b\"}\n---\n";
        assert_eq!(find(block)[0].text, "{\"Label\":\"1\",\n\"ProduceID\":\"b\"}");
        assert!(!write(block).contains("\"b\"}"));
    }

    #[test]
    fn closing_marker_at_end_of_file() {
        let out = write("---\ntitle: x\n---");
        assert!(out.ends_with("\n---\n【AI生成】\n"), "{out}");
        assert_eq!(find(&out).len(), 1);
    }

    #[test]
    fn a_visible_label_anywhere_outside_code_is_not_repeated() {
        let stamped = "---\ntitle: t\n---\n【AI生成】\n\n正文第一段。\n\n正文第二段。\n";
        let out = write(stamped);
        assert_eq!(out.matches("AI生成").count(), 1, "{out}");
        assert!(out.ends_with("正文第二段。\n"), "{out}");
        // A label inside a code block is an example, not the document's label.
        let example = "---\ntitle: t\n---\n```\n【AI生成】\n```\n\n正文。\n";
        let out = write(example);
        assert_eq!(out.matches("AI生成").count(), 2, "{out}");
    }

    #[test]
    fn visible_label_outside_open_fence() {
        let out = write("text\n```\ncode");
        assert!(out.ends_with("text\n```\ncode\n```\n\n【AI生成】\n"), "{out}");
    }

    #[test]
    fn no_front_matter_means_no_label() {
        assert!(find("# title\n---\nAIGC: x\n").is_empty());
        assert!(find("---\nAIGC: x\n").is_empty(), "unclosed");
        assert!(find("").is_empty());
    }

    #[test]
    fn sniff() {
        assert!(Markdown.sniff(b"---\ntitle: x\n"));
        assert!(Markdown.sniff(b"\xef\xbb\xbf---\r\nAIGC:\r\n"));
        assert!(!Markdown.sniff(b"---\n\n"));
        assert!(!Markdown.sniff(b"# x\n"));
        assert!(!Markdown.sniff(b"---\nx: \0"));
    }

    #[test]
    fn front_matter_limit() {
        let big = format!("---\nk: {}\n---\n", "x".repeat(10_000));
        let mut limits = Limits::default();
        limits.max_metadata_bytes = 1000;
        assert!(matches!(
            Markdown.find(&mut Cursor::new(big.as_bytes()), &limits),
            Err(Error::Limit { .. })
        ));
    }
}
