//! The label's JSON text: a canonical writer and a lenient reader (GB 45438 Annex E).
//!
//! The writer emits compact JSON with the seven fields in Annex E order, in one of two shapes:
//! bare `{"Label":"1",...}` where the carrier's own key is already named `AIGC`, and wrapped
//! `{"AIGC":{"Label":"1",...}}` in generic fields such as EXIF `UserComment`.
//!
//! The reader is for uploads. It accepts both shapes, a numeric `Label`, XML/HTML entities left in
//! the text by a careless writer, surrounding whitespace and NUL padding, and records every
//! deviation in [`ParsedLabel`] instead of failing, so that validation can report each one by
//! check id. It fails only when the text is not JSON at all, and it never recurses deeper than
//! the depth limit it is given.
//!
//! The same bounded parser, [`parse_value`], is the workspace's one JSON reader: the trust
//! crate reads SecurityData envelopes with it. It keeps what the label rules need to see:
//! objects keep their member order and duplicate names ([`Value::Object`]), and nesting is
//! checked as it is read, so crafted input cannot make it recurse past the limit.

use crate::label::{FIELD_NAMES, Label, LabelValue};
use crate::{Error, Result};

/// Which JSON shape a label is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Shape {
    /// `{"Label":"1",...}`: for carriers whose key is already `AIGC`.
    Bare,
    /// `{"AIGC":{"Label":"1",...}}`: for generic fields (EXIF `UserComment`).
    Wrapped,
}

impl Shape {
    /// `bare` or `wrapped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Bare => "bare",
            Shape::Wrapped => "wrapped",
        }
    }
}

/// Writes `label` as canonical compact JSON in `shape`.
///
/// ```
/// use aigc_label_core::{json, Label};
/// let label = Label::new("p", "id");
/// assert_eq!(
///     json::to_json(&label, json::Shape::Bare),
///     r#"{"Label":"1","ContentProducer":"p","ProduceID":"id","ReservedCode1":"","ContentPropagator":"p","PropagateID":"id","ReservedCode2":""}"#
/// );
/// ```
pub fn to_json(label: &Label, shape: Shape) -> String {
    let mut out = String::with_capacity(160);
    if shape == Shape::Wrapped {
        out.push_str("{\"AIGC\":");
    }
    out.push('{');
    for (i, (name, value)) in label.fields().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(name);
        out.push_str("\":");
        push_json_string(&mut out, value);
    }
    out.push('}');
    if shape == Shape::Wrapped {
        out.push('}');
    }
    out
}

/// Appends `value` to `out` as a JSON string literal: quotes, backslashes and control characters
/// escaped, everything else as it is (UTF-8, not `\u` escapes).
pub fn push_json_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// What the lenient reader made of a label's text, deviations included.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ParsedLabel {
    /// The shape found; `None` if the top level was neither shape.
    pub shape: Option<Shape>,
    /// The seven values in Annex E order; `None` where the field is missing. Non-string values
    /// are kept as their JSON text.
    pub fields: [Option<String>; 7],
    /// Names of fields that are not among the seven.
    pub unknown: Vec<String>,
    /// Names of fields given more than once (the first value is kept).
    pub duplicates: Vec<String>,
    /// Names of the seven fields written with the wrong letter case.
    pub miscased: Vec<String>,
    /// Names of fields whose value was not a JSON string (a number, object, ...).
    pub non_string: Vec<String>,
    /// The `Label` value was a JSON number rather than a string.
    pub numeric_label: bool,
    /// XML/HTML entities had to be decoded before the text was JSON.
    pub entities_decoded: bool,
    /// The wrapped object was itself a JSON string that had to be parsed again.
    pub double_encoded: bool,
}

impl ParsedLabel {
    /// The value of field `name` (one of [`FIELD_NAMES`]), if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        FIELD_NAMES
            .iter()
            .position(|n| *n == name)
            .and_then(|i| self.fields[i].as_deref())
    }

    /// The label, if `Label` holds 1, 2 or 3; missing text fields become empty strings.
    pub fn to_label(&self) -> Option<Label> {
        let value = LabelValue::from_code(self.fields[0].as_deref()?.trim())?;
        let f = |i: usize| self.fields[i].clone().unwrap_or_default();
        Some(Label {
            value,
            content_producer: f(1),
            produce_id: f(2),
            reserved_code1: f(3),
            content_propagator: f(4),
            propagate_id: f(5),
            reserved_code2: f(6),
        })
    }
}

/// Reads a label's JSON text leniently. `max_depth` bounds nesting (see [`crate::Limits`]).
///
/// # Errors
/// [`Error::Malformed`] (format `json`) when the text is not a JSON object even after the lenient
/// fix-ups; [`Error::Limit`] when arrays and objects nest deeper than `max_depth`.
///
/// ```
/// use aigc_label_core::json::{parse, Shape};
/// let p = parse(r#" {"AIGC":{"Label":1,"ContentProducer":"p","ProduceID":"x"}} "#, 32).unwrap();
/// assert_eq!(p.shape, Some(Shape::Wrapped));
/// assert!(p.numeric_label);
/// assert_eq!(p.get("Label"), Some("1"));
/// assert_eq!(p.get("ReservedCode1"), None);
/// ```
pub fn parse(text: &str, max_depth: usize) -> Result<ParsedLabel> {
    let trimmed = text
        .trim_start_matches('\u{feff}')
        .trim_matches(|c: char| c.is_whitespace() || c == '\0');
    let mut parsed = ParsedLabel::default();
    // Text that is JSON as it stands is taken as it stands, so a value that merely contains
    // `&quot;` keeps it; only text that is not JSON gets its entities decoded and a second try.
    let value = match Parser::new(trimmed, "json", max_depth).parse_document() {
        Ok(value) => value,
        Err(e) if !looks_entity_encoded(trimmed) => return Err(e),
        Err(_) => {
            parsed.entities_decoded = true;
            Parser::new(&decode_entities(trimmed), "json", max_depth).parse_document()?
        }
    };
    let Value::Object(top) = value else {
        return Err(Error::malformed("json", 0, "label text is not a JSON object"));
    };
    let wrapper = top.iter().find(|(k, _)| k.eq_ignore_ascii_case("AIGC"));
    match wrapper {
        Some((key, inner)) if top.len() == 1 => {
            if key != "AIGC" {
                parsed.miscased.push(key.clone());
            }
            parsed.shape = Some(Shape::Wrapped);
            match inner {
                Value::Object(members) => collect_fields(members, &mut parsed),
                Value::String(s) => {
                    parsed.double_encoded = true;
                    match Parser::new(s.trim(), "json", max_depth).parse_document()? {
                        Value::Object(members) => collect_fields(&members, &mut parsed),
                        _ => return Err(Error::malformed("json", 0, "\"AIGC\" string does not hold an object")),
                    }
                }
                _ => return Err(Error::malformed("json", 0, "\"AIGC\" does not hold an object")),
            }
        }
        _ => {
            parsed.shape = Some(Shape::Bare);
            collect_fields(&top, &mut parsed);
        }
    }
    Ok(parsed)
}

fn collect_fields(members: &[(String, Value)], parsed: &mut ParsedLabel) {
    for (key, value) in members {
        let index = FIELD_NAMES.iter().position(|n| n == key).or_else(|| {
            let i = FIELD_NAMES.iter().position(|n| n.eq_ignore_ascii_case(key))?;
            parsed.miscased.push(key.clone());
            Some(i)
        });
        let Some(i) = index else {
            parsed.unknown.push(key.clone());
            continue;
        };
        if parsed.fields[i].is_some() {
            parsed.duplicates.push(FIELD_NAMES[i].to_string());
            continue;
        }
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => {
                if i == 0 {
                    parsed.numeric_label = true;
                } else {
                    parsed.non_string.push(FIELD_NAMES[i].to_string());
                }
                n.clone()
            }
            other => {
                parsed.non_string.push(FIELD_NAMES[i].to_string());
                other.to_compact()
            }
        };
        parsed.fields[i] = Some(text);
    }
}

fn looks_entity_encoded(text: &str) -> bool {
    text.contains("&quot;") || text.contains("&#34;") || text.contains("&#x22;") || text.contains("&#X22;")
}

/// Decodes the XML predefined entities and numeric character references; anything else is kept.
pub(crate) fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest.char_indices().take(12).find(|&(_, c)| c == ';').map(|(i, _)| i);
        let decoded = end.and_then(|end| decode_entity(&rest[1..end]).map(|c| (c, end)));
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_entity(name: &str) -> Option<char> {
    match name {
        "quot" => Some('"'),
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "apos" => Some('\''),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// Parses one JSON document (RFC 8259, nothing but whitespace around it). Errors name
/// `format`; `max_depth` bounds how deeply arrays and objects nest.
///
/// # Errors
/// [`Error::Malformed`] when `text` is not JSON; [`Error::Limit`] when arrays and objects nest
/// deeper than `max_depth`.
///
/// ```
/// use aigc_label_core::json::{Value, parse_value};
/// let v = parse_value(r#"{"a":1,"a":[true]}"#, "json", 4).unwrap();
/// let Value::Object(members) = &v else { panic!() };
/// assert_eq!(members.len(), 2, "duplicate names are kept");
/// assert!(parse_value("[[[[[]]]]]", "json", 4).is_err());
/// ```
pub fn parse_value(text: &str, format: &'static str, max_depth: usize) -> Result<Value> {
    Parser::new(text, format, max_depth).parse_document()
}

/// A JSON value as read: objects keep their member order and duplicate names, numbers their
/// text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written (`1`, `-0.5e3`, ...).
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object's members in document order, duplicates included.
    Object(Vec<(String, Value)>),
}

impl Value {
    /// Compact JSON text for the value.
    pub fn to_compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push_str(n),
            Value::String(s) => push_json_string(out, s),
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Value::Object(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    push_json_string(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// A small recursive-descent JSON parser with a depth bound. Labels are tiny, so clarity wins
/// over speed; every index is checked.
struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    format: &'static str,
    max_depth: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, format: &'static str, max_depth: usize) -> Self {
        Parser {
            bytes: text.as_bytes(),
            text,
            pos: 0,
            format,
            max_depth,
        }
    }

    fn err(&self, what: &'static str) -> Error {
        Error::malformed(self.format, self.pos as u64, what)
    }

    /// Checks that an array or object opened at value depth `depth` (so nested `depth + 1`
    /// deep) stays within the limit: the bound on the parser's recursion.
    fn enter(&self, depth: usize) -> Result<()> {
        if depth >= self.max_depth {
            return Err(Error::Limit {
                format: self.format,
                offset: self.pos as u64,
                what: "JSON nesting depth",
                found: depth as u64 + 1,
                limit: self.max_depth as u64,
            });
        }
        Ok(())
    }

    fn parse_document(&mut self) -> Result<Value> {
        self.skip_ws();
        let v = self.value(0)?;
        self.skip_ws();
        if self.pos != self.bytes.len() {
            return Err(self.err("unexpected text after the JSON value"));
        }
        Ok(v)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, b: u8, what: &'static str) -> Result<()> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(what))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value> {
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(_) => Err(self.err("expected a JSON value")),
            None => Err(self.err("unexpected end of text")),
        }
    }

    fn literal(&mut self, word: &'static str, v: Value) -> Result<Value> {
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value> {
        self.enter(depth)?;
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.err("expected a member name"));
            }
            let key = self.string()?;
            self.skip_ws();
            self.expect(b':', "expected ':' after a member name")?;
            self.skip_ws();
            let v = self.value(depth + 1)?;
            members.push((key, v));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                _ => return Err(self.err("expected ',' or '}' in an object")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value> {
        self.enter(depth)?;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.err("expected ',' or ']' in an array")),
            }
        }
    }

    fn number(&mut self) -> Result<Value> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.pos;
            while let Some(b'0'..=b'9') = p.peek() {
                p.pos += 1;
            }
            p.pos > s
        };
        if !digits(self) {
            return Err(self.err("expected digits"));
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !digits(self) {
                return Err(self.err("expected digits after '.'"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !digits(self) {
                return Err(self.err("expected exponent digits"));
            }
        }
        Ok(Value::Number(
            self.text.get(start..self.pos).unwrap_or_default().to_string(),
        ))
    }

    fn string(&mut self) -> Result<String> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // The run ends on an ASCII byte or at the end, so it is a char boundary.
            out.push_str(self.text.get(run_start..self.pos).unwrap_or_default());
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.escape()?;
                    out.push(c);
                }
                Some(_) => return Err(self.err("control character in a string")),
                None => return Err(self.err("unterminated string")),
            }
        }
    }

    fn escape(&mut self) -> Result<char> {
        let b = self.peek().ok_or_else(|| self.err("unterminated escape"))?;
        self.pos += 1;
        Ok(match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4()?;
                if (0xD800..0xDC00).contains(&hi) {
                    if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                        return Err(self.err("unpaired surrogate"));
                    }
                    self.pos += 2;
                    let lo = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return Err(self.err("invalid low surrogate"));
                    }
                    let code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    char::from_u32(code).ok_or_else(|| self.err("invalid code point"))?
                } else {
                    char::from_u32(hi).ok_or_else(|| self.err("invalid code point"))?
                }
            }
            _ => return Err(self.err("invalid escape")),
        })
    }

    fn hex4(&mut self) -> Result<u32> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("short \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.err("invalid \\u escape"))?;
        let v = u32::from_str_radix(text, 16).map_err(|_| self.err("invalid \\u escape"))?;
        self.pos += 4;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Label {
        Label::new("001191440300708461136T1XGW3", "abc-123")
    }

    #[test]
    fn round_trip_both_shapes() {
        for shape in [Shape::Bare, Shape::Wrapped] {
            let text = to_json(&sample(), shape);
            let parsed = parse(&text, 32).unwrap();
            assert_eq!(parsed.shape, Some(shape));
            assert_eq!(parsed.to_label(), Some(sample()));
            assert!(parsed.unknown.is_empty() && parsed.duplicates.is_empty());
            assert!(!parsed.numeric_label && !parsed.entities_decoded);
        }
    }

    #[test]
    fn wrapped_form_is_annex_e_literal() {
        let text = to_json(&sample(), Shape::Wrapped);
        assert!(text.starts_with("{\"AIGC\":{\"Label\":\"1\",\"ContentProducer\":"));
        assert!(text.ends_with("\"ReservedCode2\":\"\"}}"));
    }

    #[test]
    fn escapes_quotes_and_backslashes() {
        let mut l = sample();
        l.reserved_code1 = r#"{"SecurityData":"a\b"}"#.into();
        let text = to_json(&l, Shape::Bare);
        assert!(text.contains(r#""ReservedCode1":"{\"SecurityData\":\"a\\b\"}""#));
        assert_eq!(parse(&text, 32).unwrap().to_label(), Some(l));
    }

    #[test]
    fn lenient_entities_whitespace_nul_numeric() {
        let text = "\u{feff}  {&quot;Label&quot;:2,&quot;ContentProducer&quot;:&quot;a&amp;b&quot;}\0\0";
        let p = parse(text, 32).unwrap();
        assert!(p.entities_decoded);
        assert!(p.numeric_label);
        assert_eq!(p.get("Label"), Some("2"));
        assert_eq!(p.get("ContentProducer"), Some("a&b"));
        assert_eq!(p.to_label().unwrap().value, LabelValue::Possibly);
    }

    #[test]
    fn reports_unknown_duplicate_miscased_and_non_string() {
        let p = parse(r#"{"label":"1","Label":"3","Extra":1,"ProduceID":{"a":[1,2]}}"#, 32).unwrap();
        assert_eq!(p.miscased, vec!["label"]);
        assert_eq!(p.duplicates, vec!["Label"]);
        assert_eq!(p.unknown, vec!["Extra"]);
        assert_eq!(p.non_string, vec!["ProduceID"]);
        assert_eq!(p.get("ProduceID"), Some(r#"{"a":[1,2]}"#));
        assert_eq!(p.get("Label"), Some("1"));
    }

    #[test]
    fn json_with_an_entity_inside_a_value_is_taken_as_it_stands() {
        let p = parse(r#"{"Label":"1","ProduceID":"&quot;"}"#, 8).unwrap();
        assert!(!p.entities_decoded);
        assert_eq!(p.get("ProduceID"), Some("&quot;"));
    }

    #[test]
    fn double_encoded_wrapper() {
        let p = parse(r#"{"AIGC":"{\"Label\":\"1\",\"ProduceID\":\"x\"}"}"#, 32).unwrap();
        assert!(p.double_encoded);
        assert_eq!(p.shape, Some(Shape::Wrapped));
        assert_eq!(p.get("ProduceID"), Some("x"));
    }

    #[test]
    fn rejects_non_json_and_deep_nesting() {
        for bad in [
            "",
            "Label=1",
            "[1]",
            "{\"a\":}",
            "{\"a\":\"x",
            "{\"a\":\"\\ud800\"}",
            "{} x",
        ] {
            assert!(
                matches!(parse(bad, 32), Err(Error::Malformed { format: "json", .. })),
                "{bad:?}"
            );
        }
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(100), "]".repeat(100));
        assert!(parse(&deep, 32).is_err());
        assert!(parse(&deep, 200).is_ok());
    }

    #[test]
    fn parse_value_bounds_nesting_and_keeps_duplicates() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse_value(&nested(4), "json", 4).is_ok());
        assert!(matches!(
            parse_value(&nested(5), "securitydata", 4),
            Err(Error::Limit {
                format: "securitydata",
                what: "JSON nesting depth",
                found: 5,
                limit: 4,
                ..
            })
        ));
        assert!(matches!(
            parse_value(&nested(100_000), "json", 32),
            Err(Error::Limit { found: 33, .. })
        ));
        let v = parse_value(r#" {"a":1,"b":{"a":"x"},"a":-2.5e1} "#, "json", 4).unwrap();
        let Value::Object(members) = &v else { panic!("{v:?}") };
        let names: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["a", "b", "a"]);
        assert_eq!(members[2].1, Value::Number("-2.5e1".into()));
        assert_eq!(v.to_compact(), r#"{"a":1,"b":{"a":"x"},"a":-2.5e1}"#);
    }

    #[test]
    fn unicode_escapes() {
        let p = parse(r#"{"ProduceID":"\u4eba\ud83d\ude00"}"#, 8).unwrap();
        assert_eq!(p.get("ProduceID"), Some("人😀"));
    }
}
