//! The SecurityData envelope of TC260-PG-202511A, carried in `ReservedCode1` / `ReservedCode2`
//! (spec section 3).
//!
//! The guide's form, which [`SecurityData::to_json`] writes, is compact JSON:
//!
//! ```text
//! {"SecurityData":{"Type":"TC260PG","Version":1,"PubSD":[...],"Bindings":[...],"PrivSD":...,"Extension":...}}
//! ```
//!
//! `Type` and `Version` are mandatory, the other members optional. A `PubSD` entry is a digital
//! signature (`"Type":"DS"`, with `AlgID`, `KeyID` and the hex signature) or a public key
//! (`"Type":"PubKey"`, with `AlgID`, `KeyID` and the hex key). The member holding the hex bytes is
//! not named by the texts this project could read; this crate writes `Value` in every entry
//! (\[ours\]) and reads the spellings seen elsewhere (`Signature`, `SignValue`, `PubKey`, `Key`, ...).
//! A `Bindings` entry (Appendix A.2, content binding) is written as
//! `{"Type":"Hash","AlgID":"<digest OID>","Scope":"file-except-label","Value":"<hex>"}`; the scope
//! names which bytes the digest covers (see [`crate::binding`]).
//!
//! Why the writer's output passes the core's strict charset rule: every value is printable ASCII
//! without a backslash, the JSON is compact (no spaces), and bytes are hex. Inside the label's
//! JSON the envelope is a string, so its quotes become `\"`, the one escape the rule allows.
//!
//! [`SecurityData::parse`] is for uploads: member names in any case or separator style, `Version`
//! as a number or a string, `PubSD`/`Bindings` as an array or a single object, a bare envelope
//! without the `SecurityData` wrapper, an envelope double-encoded as a JSON string, XML entities
//! left by a careless writer, hex in either case. Every such deviation is listed in
//! [`Parsed::deviations`]. Size is checked against [`Limits`] before parsing, nesting while
//! parsing (by the core's JSON reader, [`aigc_label_core::json::parse_value`]).

use aigc_label_core::{Error, Limits, Result, json};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::hex;

/// The envelope's `Type`.
pub const TYPE: &str = "TC260PG";
/// The envelope `Version` this crate writes and verifies.
pub const VERSION: u64 = 1;
/// `Type` of a signature entry in `PubSD`.
pub const ENTRY_SIGNATURE: &str = "DS";
/// `Type` of a public key entry in `PubSD`.
pub const ENTRY_PUBLIC_KEY: &str = "PubKey";
/// `Type` of a content binding that is a digest.
pub const BINDING_HASH: &str = "Hash";
/// `Scope` of a binding whose digest covers the whole file except the label's own structure
/// (\[ours\]; see [`crate::binding`]).
pub const SCOPE_FILE_EXCEPT_LABEL: &str = "file-except-label";

const FORMAT: &str = "securitydata";

/// A SecurityData envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityData {
    /// `Version` (this crate writes and verifies 1).
    pub version: u64,
    /// `PubSD`: signatures, public keys and entries of other types, in order.
    pub pub_sd: Vec<PubSd>,
    /// `Bindings`; empty when absent.
    pub bindings: Vec<Binding>,
    /// `PrivSD`, kept as read.
    pub priv_sd: Option<Value>,
    /// `Extension`, kept as read.
    pub extension: Option<Value>,
}

impl Default for SecurityData {
    fn default() -> Self {
        SecurityData {
            version: VERSION,
            pub_sd: Vec::new(),
            bindings: Vec::new(),
            priv_sd: None,
            extension: None,
        }
    }
}

/// One `PubSD` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PubSd {
    /// `"Type":"DS"`: a digital signature.
    Signature(SignatureEntry),
    /// `"Type":"PubKey"`: a public key.
    PublicKey(KeyEntry),
    /// An entry of another type, kept as read.
    Other(Value),
}

/// A `DS` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignatureEntry {
    /// `AlgID`, as read (see [`crate::Algorithm::from_alg_id`]).
    pub alg_id: String,
    /// `KeyID`: names the key that made the signature.
    pub key_id: String,
    /// The signature bytes (DER for SM2, raw for Ed25519); empty when the hex was unreadable.
    pub value: Vec<u8>,
}

/// A `PubKey` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyEntry {
    /// `AlgID` of the signatures the key verifies.
    pub alg_id: String,
    /// `KeyID`.
    pub key_id: String,
    /// The key bytes (SEC1 point for SM2, 32 raw bytes for Ed25519); empty when unreadable.
    pub value: Vec<u8>,
}

/// A `Bindings` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Binding {
    /// `Type` (this crate writes and checks [`BINDING_HASH`]).
    pub kind: String,
    /// `AlgID` of the digest.
    pub alg_id: String,
    /// `Scope`: which bytes the digest covers.
    pub scope: String,
    /// The digest; empty when the hex was unreadable.
    pub value: Vec<u8>,
}

/// What [`SecurityData::parse`] made of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The envelope.
    pub data: SecurityData,
    /// Every way the text departs from the guide's spelling (case, types, shapes), for people.
    pub deviations: Vec<String>,
    /// Members and `PubSD` entry types this reader does not know. No signature covers what a
    /// reader does not understand, and a renamed member (`PubSD` spelled `QubSD`) would make
    /// its content vanish, so verification does not trust an envelope with unknown parts.
    pub unknown: Vec<String>,
}

/// Findings while reading, sorted by kind.
#[derive(Default)]
struct Notes {
    spelling: Vec<String>,
    unknown: Vec<String>,
}

// Wire shapes: field order is the guide's, and serde writes struct fields in declaration order.
#[derive(Serialize)]
struct WireEnvelope<'a> {
    #[serde(rename = "SecurityData")]
    data: WireData<'a>,
}

#[derive(Serialize)]
struct WireData<'a> {
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(rename = "Version")]
    version: u64,
    #[serde(rename = "PubSD", skip_serializing_if = "Vec::is_empty")]
    pub_sd: Vec<WireEntry<'a>>,
    #[serde(rename = "Bindings", skip_serializing_if = "Vec::is_empty")]
    bindings: Vec<WireBinding<'a>>,
    #[serde(rename = "PrivSD", skip_serializing_if = "Option::is_none")]
    priv_sd: Option<&'a Value>,
    #[serde(rename = "Extension", skip_serializing_if = "Option::is_none")]
    extension: Option<&'a Value>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum WireEntry<'a> {
    Entry {
        #[serde(rename = "Type")]
        kind: &'static str,
        #[serde(rename = "AlgID")]
        alg_id: &'a str,
        #[serde(rename = "KeyID")]
        key_id: &'a str,
        #[serde(rename = "Value")]
        value: String,
    },
    Other(&'a Value),
}

#[derive(Serialize)]
struct WireBinding<'a> {
    #[serde(rename = "Type")]
    kind: &'a str,
    #[serde(rename = "AlgID")]
    alg_id: &'a str,
    #[serde(rename = "Scope")]
    scope: &'a str,
    #[serde(rename = "Value")]
    value: String,
}

impl SecurityData {
    /// Writes the guide's form: compact JSON, members in the guide's order, lowercase hex.
    ///
    /// ```
    /// use aigc_label_trust::envelope::{PubSd, SecurityData, SignatureEntry};
    /// let mut sd = SecurityData::default();
    /// sd.pub_sd.push(PubSd::Signature(SignatureEntry {
    ///     alg_id: "1.2.156.10197.1.501".into(),
    ///     key_id: "k1".into(),
    ///     value: vec![0x30, 0x06],
    /// }));
    /// assert_eq!(
    ///     sd.to_json()?,
    ///     r#"{"SecurityData":{"Type":"TC260PG","Version":1,"PubSD":[{"Type":"DS","AlgID":"1.2.156.10197.1.501","KeyID":"k1","Value":"3006"}]}}"#
    /// );
    /// # Ok::<(), aigc_label_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Parameter`] when a value (a `KeyID`, say, or a string inside `Extension`) holds a
    /// character the label's strict charset rule forbids: anything outside printable ASCII
    /// 0x21-0x7E, or a backslash (spec section 2).
    pub fn to_json(&self) -> Result<String> {
        let pub_sd = self
            .pub_sd
            .iter()
            .map(|e| match e {
                PubSd::Signature(s) => WireEntry::Entry {
                    kind: ENTRY_SIGNATURE,
                    alg_id: &s.alg_id,
                    key_id: &s.key_id,
                    value: hex::encode(&s.value),
                },
                PubSd::PublicKey(k) => WireEntry::Entry {
                    kind: ENTRY_PUBLIC_KEY,
                    alg_id: &k.alg_id,
                    key_id: &k.key_id,
                    value: hex::encode(&k.value),
                },
                PubSd::Other(v) => WireEntry::Other(v),
            })
            .collect();
        let bindings = self
            .bindings
            .iter()
            .map(|b| WireBinding {
                kind: &b.kind,
                alg_id: &b.alg_id,
                scope: &b.scope,
                value: hex::encode(&b.value),
            })
            .collect();
        let wire = WireEnvelope {
            data: WireData {
                kind: TYPE,
                version: self.version,
                pub_sd,
                bindings,
                priv_sd: self.priv_sd.as_ref(),
                extension: self.extension.as_ref(),
            },
        };
        let text = serde_json::to_string(&wire)
            .map_err(|e| Error::parameter("SecurityData", format!("does not serialise: {e}")))?;
        match text
            .char_indices()
            .find(|&(_, c)| !('\u{21}'..='\u{7e}').contains(&c) || c == '\\')
        {
            None => Ok(text),
            Some((at, c)) => Err(Error::parameter(
                "SecurityData",
                format!("holds {c:?} at {at}; label values allow printable ASCII without a backslash"),
            )),
        }
    }

    /// The signatures (`DS` entries), in order.
    pub fn signatures(&self) -> impl Iterator<Item = &SignatureEntry> {
        self.pub_sd.iter().filter_map(|e| match e {
            PubSd::Signature(s) => Some(s),
            _ => None,
        })
    }

    /// The public keys (`PubKey` entries), in order.
    pub fn public_keys(&self) -> impl Iterator<Item = &KeyEntry> {
        self.pub_sd.iter().filter_map(|e| match e {
            PubSd::PublicKey(k) => Some(k),
            _ => None,
        })
    }

    /// This envelope with every signature value emptied: the form a bound signature covers
    /// (see [`crate::message`]).
    pub fn without_signature_values(&self) -> SecurityData {
        let mut out = self.clone();
        for entry in &mut out.pub_sd {
            if let PubSd::Signature(s) = entry {
                s.value.clear();
            }
        }
        out
    }

    /// True when `text` names a SecurityData envelope (any case), so that a reader can tell an
    /// envelope it cannot parse from protection data of some other kind.
    pub fn mentioned_in(text: &str) -> bool {
        text.len() >= 12
            && text
                .as_bytes()
                .windows(12)
                .any(|w| w.eq_ignore_ascii_case(b"securitydata"))
    }

    /// Reads an envelope leniently (see the module documentation).
    ///
    /// # Errors
    /// [`Error::Limit`] when `text` is longer than [`Limits::max_label_bytes`] or nests deeper
    /// than [`Limits::max_depth`]; [`Error::Malformed`] (format `securitydata`) when it is not
    /// JSON, has no envelope, or lacks the mandatory `Type` (`TC260PG`) or `Version`.
    pub fn parse(text: &str, limits: &Limits) -> Result<Parsed> {
        let mut notes = Notes::default();
        let trimmed = text
            .trim_start_matches('\u{feff}')
            .trim_matches(|c: char| c.is_whitespace() || c == '\0');
        if trimmed.len() as u64 > limits.max_label_bytes {
            return Err(Error::Limit {
                format: FORMAT,
                offset: 0,
                what: "SecurityData size",
                found: trimmed.len() as u64,
                limit: limits.max_label_bytes,
            });
        }
        let decoded;
        let source = if trimmed.contains("&quot;") || trimmed.contains("&#34;") {
            decoded = decode_entities(trimmed);
            notes.spelling.push("XML entities left in the JSON text".to_string());
            decoded.as_str()
        } else {
            trimmed
        };
        let mut value = parse_json(source, limits)?;
        if let Value::String(inner) = &value {
            notes
                .spelling
                .push("the envelope is a JSON string holding JSON".to_string());
            value = parse_json(inner.trim(), limits)?;
        }
        let Value::Object(top) = value else {
            return Err(malformed("not a JSON object"));
        };
        let data = match lookup(&top, &["SecurityData"], "envelope", &mut notes) {
            Some((_, Value::Object(inner))) => {
                if top.len() > 1 {
                    notes
                        .spelling
                        .push(format!("{} members beside SecurityData", top.len() - 1));
                }
                read_data(inner, &mut notes)?
            }
            Some((_, Value::String(s))) => {
                notes
                    .spelling
                    .push("SecurityData is a JSON string holding JSON".to_string());
                match parse_json(s.trim(), limits)? {
                    Value::Object(inner) => read_data(&inner, &mut notes)?,
                    _ => return Err(malformed("SecurityData does not hold an object")),
                }
            }
            Some(_) => return Err(malformed("SecurityData does not hold an object")),
            None if top.keys().any(|k| same_name(k, "Type")) => {
                notes
                    .spelling
                    .push("bare envelope without the SecurityData wrapper".to_string());
                read_data(&top, &mut notes)?
            }
            None => return Err(malformed("no SecurityData member")),
        };
        Ok(Parsed {
            data,
            deviations: notes.spelling,
            unknown: notes.unknown,
        })
    }
}

fn malformed(what: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::malformed(FORMAT, 0, what)
}

/// Parses JSON with the core's bounded reader (the workspace's one JSON parser), which checks
/// nesting as it reads, and hands the tree on as a `serde_json` value: the type the envelope's
/// public fields (`PrivSD`, `Extension`, unknown entries) are kept in.
fn parse_json(text: &str, limits: &Limits) -> Result<Value> {
    to_serde(json::parse_value(text, FORMAT, limits.max_depth)?)
}

/// The core's tree as a `serde_json` value, with `serde_json`'s own reading rules: a repeated
/// member name keeps its last value, numbers are integers when they fit and floats otherwise.
fn to_serde(value: json::Value) -> Result<Value> {
    Ok(match value {
        json::Value::Null => Value::Null,
        json::Value::Bool(b) => Value::Bool(b),
        json::Value::Number(text) => Value::Number(number(&text)?),
        json::Value::String(s) => Value::String(s),
        json::Value::Array(items) => Value::Array(items.into_iter().map(to_serde).collect::<Result<_>>()?),
        json::Value::Object(members) => {
            let mut map = Map::new();
            for (key, value) in members {
                map.insert(key, to_serde(value)?);
            }
            Value::Object(map)
        }
    })
}

fn number(text: &str) -> Result<serde_json::Number> {
    if let Ok(n) = text.parse::<u64>() {
        return Ok(n.into());
    }
    if let Ok(n) = text.parse::<i64>() {
        return Ok(n.into());
    }
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .ok_or_else(|| malformed(format!("number {text} out of range")))
}

fn decode_entities(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Member names compare equal ignoring case and the separators `-`, `_` and spaces.
fn same_name(a: &str, b: &str) -> bool {
    let strip = |s: &str| {
        s.chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .map(|c| c.to_ascii_lowercase())
            .collect::<String>()
    };
    strip(a) == strip(b)
}

/// Finds the member named by any of `names` (the first is the guide's spelling); records a
/// deviation when it is found under another spelling.
fn lookup<'a>(
    obj: &'a Map<String, Value>,
    names: &[&str],
    context: &str,
    notes: &mut Notes,
) -> Option<(&'a str, &'a Value)> {
    let canonical = names.first()?;
    if let Some((k, v)) = obj.get_key_value(*canonical) {
        return Some((k.as_str(), v));
    }
    let (k, v) = obj.iter().find(|(k, _)| names.iter().any(|n| same_name(k, n)))?;
    notes.spelling.push(format!("{context}: {k:?} read as {canonical:?}"));
    Some((k.as_str(), v))
}

/// Records members of `obj` that none of `known` (lists of spellings) names.
fn note_unknown(obj: &Map<String, Value>, known: &[&[&str]], context: &str, notes: &mut Notes) {
    for key in obj.keys() {
        if !known.iter().any(|names| names.iter().any(|n| same_name(key, n))) {
            notes.unknown.push(format!("{context}: unknown member {key:?}"));
        }
    }
}

const TYPE_NAMES: &[&str] = &["Type"];
const VERSION_NAMES: &[&str] = &["Version", "Ver"];
const PUBSD_NAMES: &[&str] = &["PubSD", "PublicSD", "PublicSecurityData"];
const BINDINGS_NAMES: &[&str] = &["Bindings", "Binding"];
const PRIVSD_NAMES: &[&str] = &["PrivSD", "PrivateSD", "PrivateSecurityData"];
const EXTENSION_NAMES: &[&str] = &["Extension", "Extensions", "Ext"];
const ALG_NAMES: &[&str] = &["AlgID", "Alg", "Algorithm", "AlgorithmID"];
const KEY_ID_NAMES: &[&str] = &["KeyID", "Kid", "KeyIdentifier"];
const SIGNATURE_VALUE_NAMES: &[&str] = &["Value", "Signature", "SignValue", "SignatureValue", "Sig", "SignData"];
const KEY_VALUE_NAMES: &[&str] = &["Value", "PubKey", "PublicKey", "Key", "KeyValue"];
const SCOPE_NAMES: &[&str] = &["Scope", "Range", "Content"];
const DIGEST_VALUE_NAMES: &[&str] = &["Value", "Hash", "Digest", "HashValue"];

fn read_data(obj: &Map<String, Value>, notes: &mut Notes) -> Result<SecurityData> {
    note_unknown(
        obj,
        &[
            TYPE_NAMES,
            VERSION_NAMES,
            PUBSD_NAMES,
            BINDINGS_NAMES,
            PRIVSD_NAMES,
            EXTENSION_NAMES,
        ],
        "SecurityData",
        notes,
    );
    match lookup(obj, TYPE_NAMES, "SecurityData", notes) {
        Some((_, Value::String(t))) if t == TYPE => {}
        Some((_, Value::String(t))) if same_name(t, TYPE) => notes.spelling.push(format!("Type spelled {t:?}")),
        Some((_, other)) => return Err(malformed(format!("Type is {other}, expected \"{TYPE}\""))),
        None => return Err(malformed("Type is missing (mandatory)")),
    }
    let version = match lookup(obj, VERSION_NAMES, "SecurityData", notes) {
        Some((_, Value::Number(n))) => n.as_u64().ok_or_else(|| malformed(format!("Version is {n}")))?,
        Some((_, Value::String(s))) => {
            notes
                .spelling
                .push(format!("Version is the string {s:?}, expected a number"));
            let t = s.trim().trim_start_matches(['v', 'V']);
            let t = t.strip_suffix(".0").unwrap_or(t);
            t.parse().map_err(|_| malformed(format!("Version is {s:?}")))?
        }
        Some((_, other)) => return Err(malformed(format!("Version is {other}"))),
        None => return Err(malformed("Version is missing (mandatory)")),
    };
    let pub_sd = match lookup(obj, PUBSD_NAMES, "SecurityData", notes) {
        Some((_, v)) => as_list(v, "PubSD", notes)
            .iter()
            .enumerate()
            .map(|(i, e)| read_entry(e, i, notes))
            .collect(),
        None => Vec::new(),
    };
    let bindings = match lookup(obj, BINDINGS_NAMES, "SecurityData", notes) {
        Some((_, v)) => as_list(v, "Bindings", notes)
            .iter()
            .enumerate()
            .map(|(i, e)| read_binding(e, i, notes))
            .collect(),
        None => Vec::new(),
    };
    Ok(SecurityData {
        version,
        pub_sd,
        bindings,
        priv_sd: lookup(obj, PRIVSD_NAMES, "SecurityData", notes).map(|(_, v)| v.clone()),
        extension: lookup(obj, EXTENSION_NAMES, "SecurityData", notes).map(|(_, v)| v.clone()),
    })
}

/// An array's items, or a single object as a list of one.
fn as_list<'a>(value: &'a Value, name: &str, notes: &mut Notes) -> Vec<&'a Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => {
            notes.spelling.push(format!("{name} is not an array"));
            vec![other]
        }
    }
}

fn string_member(obj: &Map<String, Value>, names: &[&str], context: &str, notes: &mut Notes) -> String {
    match lookup(obj, names, context, notes) {
        Some((_, Value::String(s))) => s.clone(),
        Some((k, Value::Number(n))) => {
            notes.spelling.push(format!("{context}: {k} is a number"));
            n.to_string()
        }
        Some((k, _)) => {
            notes.spelling.push(format!("{context}: {k} is not a string"));
            String::new()
        }
        None => String::new(),
    }
}

fn hex_member(obj: &Map<String, Value>, names: &[&str], context: &str, notes: &mut Notes) -> Vec<u8> {
    let text = string_member(obj, names, context, notes);
    let digits = text.trim();
    let digits = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
        .unwrap_or(digits);
    if digits.bytes().any(|b| b.is_ascii_uppercase()) {
        notes.spelling.push(format!("{context}: uppercase hex"));
    }
    match hex::decode(digits) {
        Some(bytes) if !bytes.is_empty() => bytes,
        _ => {
            notes.spelling.push(format!(
                "{context}: {} is missing or not hex",
                names.first().unwrap_or(&"Value")
            ));
            Vec::new()
        }
    }
}

fn read_entry(value: &Value, index: usize, notes: &mut Notes) -> PubSd {
    let Value::Object(obj) = value else {
        notes.spelling.push(format!("PubSD[{index}] is not an object"));
        return PubSd::Other(value.clone());
    };
    let context = format!("PubSD[{index}]");
    let kind = string_member(obj, TYPE_NAMES, &context, notes);
    let is_signature = ["DS", "Signature", "DigitalSignature", "Sign"]
        .iter()
        .any(|n| same_name(&kind, n));
    let is_key = ["PubKey", "PublicKey", "PK", "Key"].iter().any(|n| same_name(&kind, n));
    if (is_signature && kind != ENTRY_SIGNATURE) || (is_key && kind != ENTRY_PUBLIC_KEY) {
        notes.spelling.push(format!("{context}: Type spelled {kind:?}"));
    }
    if is_signature {
        note_unknown(
            obj,
            &[TYPE_NAMES, ALG_NAMES, KEY_ID_NAMES, SIGNATURE_VALUE_NAMES],
            &context,
            notes,
        );
        PubSd::Signature(SignatureEntry {
            alg_id: string_member(obj, ALG_NAMES, &context, notes),
            key_id: string_member(obj, KEY_ID_NAMES, &context, notes),
            value: hex_member(obj, SIGNATURE_VALUE_NAMES, &context, notes),
        })
    } else if is_key {
        note_unknown(
            obj,
            &[TYPE_NAMES, ALG_NAMES, KEY_ID_NAMES, KEY_VALUE_NAMES],
            &context,
            notes,
        );
        PubSd::PublicKey(KeyEntry {
            alg_id: string_member(obj, ALG_NAMES, &context, notes),
            key_id: string_member(obj, KEY_ID_NAMES, &context, notes),
            value: hex_member(obj, KEY_VALUE_NAMES, &context, notes),
        })
    } else {
        notes.unknown.push(format!("{context}: unknown entry type {kind:?}"));
        PubSd::Other(value.clone())
    }
}

fn read_binding(value: &Value, index: usize, notes: &mut Notes) -> Binding {
    let context = format!("Bindings[{index}]");
    let Value::Object(obj) = value else {
        notes.spelling.push(format!("{context} is not an object"));
        return Binding::default();
    };
    note_unknown(
        obj,
        &[TYPE_NAMES, ALG_NAMES, SCOPE_NAMES, DIGEST_VALUE_NAMES],
        &context,
        notes,
    );
    Binding {
        kind: string_member(obj, TYPE_NAMES, &context, notes),
        alg_id: string_member(obj, ALG_NAMES, &context, notes),
        scope: string_member(obj, SCOPE_NAMES, &context, notes),
        value: hex_member(obj, DIGEST_VALUE_NAMES, &context, notes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SecurityData {
        SecurityData {
            pub_sd: vec![
                PubSd::Signature(SignatureEntry {
                    alg_id: crate::alg::SM2_SM3_OID.into(),
                    key_id: "0123456789abcdef".into(),
                    value: vec![0x30, 0x44, 0x02, 0x20],
                }),
                PubSd::PublicKey(KeyEntry {
                    alg_id: crate::alg::SM2_SM3_OID.into(),
                    key_id: "0123456789abcdef".into(),
                    value: vec![4; 65],
                }),
            ],
            bindings: vec![Binding {
                kind: BINDING_HASH.into(),
                alg_id: crate::alg::SM3_OID.into(),
                scope: SCOPE_FILE_EXCEPT_LABEL.into(),
                value: vec![0xab; 32],
            }],
            ..SecurityData::default()
        }
    }

    #[test]
    fn writes_the_guide_form_and_reads_it_back() {
        let sd = sample();
        let text = sd.to_json().unwrap();
        assert!(text.starts_with(r#"{"SecurityData":{"Type":"TC260PG","Version":1,"PubSD":[{"Type":"DS","#));
        assert!(!text.contains(' '));
        let parsed = SecurityData::parse(&text, &Limits::default()).unwrap();
        assert_eq!(parsed.data, sd);
        assert_eq!(parsed.deviations, Vec::<String>::new());
        assert_eq!(parsed.unknown, Vec::<String>::new());
    }

    #[test]
    fn minimal_envelope_has_only_the_mandatory_members() {
        assert_eq!(
            SecurityData::default().to_json().unwrap(),
            r#"{"SecurityData":{"Type":"TC260PG","Version":1}}"#
        );
    }

    #[test]
    fn charset_is_enforced_on_write() {
        let mut sd = sample();
        sd.extension = Some(Value::String("two words".into()));
        assert!(matches!(sd.to_json(), Err(Error::Parameter { .. })));
        let mut sd = sample();
        sd.extension = Some(Value::String("a\\b".into()));
        assert!(sd.to_json().is_err());
        let mut sd = sample();
        sd.extension = Some(serde_json::json!({"Producer":"x","N":3}));
        assert!(sd.to_json().is_ok());
    }

    #[test]
    fn variant_spellings_are_read_and_reported() {
        let text = r#" {"securitydata":{"type":"tc260pg","version":"1","pubsd":{"type":"ds","algid":"SM3withSM2",
            "keyid":"k","Signature":"0A0B"},"bindings":[{"type":"Hash","Alg":"SM3","Scope":"file-except-label","Hash":"0xFF"}],
            "Extra":true}} "#;
        let parsed = SecurityData::parse(text, &Limits::default()).unwrap();
        let sig = parsed.data.signatures().next().unwrap();
        assert_eq!(sig.value, [0x0a, 0x0b]);
        assert_eq!(sig.alg_id, "SM3withSM2");
        assert_eq!(parsed.data.version, 1);
        assert_eq!(parsed.data.bindings[0].value, [0xff]);
        assert_eq!(parsed.unknown, ["SecurityData: unknown member \"Extra\""]);
        let all = parsed.deviations.join("\n");
        for expected in [
            "read as \"SecurityData\"",
            "Version is the string",
            "PubSD is not an array",
            "uppercase hex",
        ] {
            assert!(all.contains(expected), "{expected} not in {all}");
        }
    }

    #[test]
    fn bare_double_encoded_and_entity_forms() {
        let limits = Limits::default();
        let bare = SecurityData::parse(r#"{"Type":"TC260PG","Version":1}"#, &limits).unwrap();
        assert!(bare.deviations[0].contains("bare"));
        let double = serde_json::to_string(r#"{"SecurityData":{"Type":"TC260PG","Version":1}}"#).unwrap();
        assert_eq!(
            SecurityData::parse(&double, &limits).unwrap().data,
            SecurityData::default()
        );
        let entities = "{&quot;SecurityData&quot;:{&quot;Type&quot;:&quot;TC260PG&quot;,&quot;Version&quot;:1}}";
        assert_eq!(
            SecurityData::parse(entities, &limits).unwrap().data,
            SecurityData::default()
        );
    }

    #[test]
    fn mandatory_members_and_bounds() {
        let limits = Limits::default();
        for bad in [
            r#"{"SecurityData":{"Version":1}}"#,
            r#"{"SecurityData":{"Type":"TC260PG"}}"#,
            r#"{"SecurityData":{"Type":"C2PA","Version":1}}"#,
            r#"{"SecurityData":{"Type":"TC260PG","Version":-1}}"#,
            r#"{"SecurityData":[]}"#,
            r#"{"Other":{}}"#,
            "[1,2]",
            "not json",
            "",
        ] {
            assert!(SecurityData::parse(bad, &limits).is_err(), "{bad}");
        }
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(SecurityData::parse(&deep, &limits), Err(Error::Limit { .. })));
        let long = format!(
            r#"{{"SecurityData":{{"Type":"TC260PG","Version":1,"Extension":"{}"}}}}"#,
            "a".repeat(70_000)
        );
        assert!(matches!(SecurityData::parse(&long, &limits), Err(Error::Limit { .. })));
        // Brackets inside strings do not count as nesting.
        let quoted = format!(
            r#"{{"SecurityData":{{"Type":"TC260PG","Version":1,"Extension":"{}"}}}}"#,
            "[".repeat(100)
        );
        assert!(SecurityData::parse(&quoted, &limits).is_ok());
    }

    #[test]
    fn mentioned_in_tells_envelopes_from_other_data() {
        assert!(SecurityData::mentioned_in(r#"{"securityData":1}"#));
        assert!(!SecurityData::mentioned_in("3045022100ab"));
    }
}
