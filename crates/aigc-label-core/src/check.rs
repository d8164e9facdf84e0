//! Validation with stable check ids.
//!
//! Every rule of spec sections 2 and 4 that a label can break has an id (see [`id`]) that never
//! changes, so platforms can count and filter deviations across millions of uploads. A rule the
//! standard states with "shall" always fails; a "should" rule fails in [`Strictness::Strict`]
//! (used for what we write) and only warns in [`Strictness::Lenient`] (used for uploads).

use std::fmt;

use crate::json::{ParsedLabel, Shape};
use crate::label::{FIELD_NAMES, Label, LabelValue};
use crate::provider::{ServiceType, parse_provider_code};

/// The stable check ids.
pub mod id {
    /// The label text is JSON.
    pub const JSON_SYNTAX: &str = "json.syntax";
    /// The text needed XML/HTML entity decoding to become JSON.
    pub const JSON_ENTITIES: &str = "json.entities";
    /// The wrapped object was a JSON string holding JSON.
    pub const JSON_DOUBLE_ENCODED: &str = "json.double-encoded";
    /// Bare or wrapped, as the carrier calls for.
    pub const JSON_SHAPE: &str = "json.shape";
    /// All seven fields are present.
    pub const FIELD_MISSING: &str = "field.missing";
    /// No fields beyond the seven.
    pub const FIELD_UNKNOWN: &str = "field.unknown";
    /// No field is given twice.
    pub const FIELD_DUPLICATE: &str = "field.duplicate";
    /// Field names are spelled with the right letter case.
    pub const FIELD_CASE: &str = "field.case";
    /// Field values are JSON strings.
    pub const FIELD_TYPE: &str = "field.type";
    /// Values use printable ASCII 0x21-0x7E without a backslash.
    pub const FIELD_CHARSET: &str = "field.charset";
    /// Required values are not empty.
    pub const FIELD_EMPTY: &str = "field.empty";
    /// `Label` is 1, 2 or 3.
    pub const LABEL_VALUE: &str = "label.value";
    /// `Label` is a string, not a number.
    pub const LABEL_NUMERIC: &str = "label.numeric";
    /// `ContentProducer` is a 27-character provider code of a generation service.
    pub const PRODUCER_CODE: &str = "producer.code";
    /// `ContentPropagator` is a 27-character provider code.
    pub const PROPAGATOR_CODE: &str = "propagator.code";
    /// The file carries exactly one label.
    pub const COPIES_SINGLE: &str = "copies.single";
    /// The label sits in the carrier the spec fixes for the format.
    pub const CARRIER_PLACE: &str = "carrier.place";
    /// The XMP property sits in the TC260 namespace as the spec spells it
    /// (`http://www.tc260.org.cn/ns/AIGC/1.0/`), not a variant (`https`, no trailing slash).
    pub const XMP_NAMESPACE: &str = "xmp.namespace";
    /// The file's structure is whole: no structure declares a size that runs past the end of
    /// the file. A lenient reader clamps such a size to the end, still reports the copies it
    /// read before, and attaches this check; writers refuse such a file or repair it, and say
    /// which.
    pub const STRUCTURE_TRUNCATED: &str = "structure.truncated";
}

/// How hard validation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Strictness {
    /// Every "should" of the standard is enforced: for labels we write.
    Strict,
    /// "Should" rules only warn: for reading what others wrote.
    #[default]
    Lenient,
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Level {
    /// The rule holds.
    Pass,
    /// A "should" rule is broken; the label is still compliant in lenient mode.
    Warn,
    /// The label is not compliant.
    Fail,
}

impl Level {
    /// `pass`, `warn` or `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Pass => "pass",
            Level::Warn => "warn",
            Level::Fail => "fail",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Check {
    /// Stable id from [`id`].
    pub id: &'static str,
    /// The outcome.
    pub level: Level,
    /// What was found, for people.
    pub detail: String,
}

impl Check {
    /// The placement checks of one label copy ([`id::CARRIER_PLACE`]): a pass saying `ok` (where
    /// the standard puts the label, and the copy is) when there are no `problems`, else one
    /// warning for each.
    pub fn placement(problems: Vec<String>, ok: &'static str) -> Vec<Check> {
        if problems.is_empty() {
            vec![Check::pass(id::CARRIER_PLACE, ok)]
        } else {
            problems
                .into_iter()
                .map(|p| Check::warn(id::CARRIER_PLACE, p))
                .collect()
        }
    }

    /// A passed check.
    pub fn pass(id: &'static str, detail: impl Into<String>) -> Self {
        Check {
            id,
            level: Level::Pass,
            detail: detail.into(),
        }
    }

    /// A broken "shall" rule.
    pub fn fail(id: &'static str, detail: impl Into<String>) -> Self {
        Check {
            id,
            level: Level::Fail,
            detail: detail.into(),
        }
    }

    /// A carrier's finding about a copy it accepts but the spec does not call for (a wild
    /// placement, say). Inspection in strict mode turns it into a failure.
    pub fn warn(id: &'static str, detail: impl Into<String>) -> Self {
        Check {
            id,
            level: Level::Warn,
            detail: detail.into(),
        }
    }

    /// A broken "should" rule: fails when strict, warns when lenient.
    pub fn should(id: &'static str, strictness: Strictness, detail: impl Into<String>) -> Self {
        let level = match strictness {
            Strictness::Strict => Level::Fail,
            Strictness::Lenient => Level::Warn,
        };
        Check {
            id,
            level,
            detail: detail.into(),
        }
    }

    /// True unless the check failed.
    pub fn is_ok(&self) -> bool {
        self.level != Level::Fail
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.level.as_str(), self.id, self.detail)
    }
}

/// True when `c` is allowed in a field value: printable ASCII 0x21-0x7E except the backslash
/// (a quote reaches the value only through the `\"` escape, which the rules allow).
fn allowed_char(c: char) -> bool {
    ('\u{21}'..='\u{7e}').contains(&c) && c != '\\'
}

/// Checks the values of a complete label (shared by [`validate_label`] and [`validate_parsed`]).
fn check_values(values: [(&'static str, &str); 7], strictness: Strictness, out: &mut Vec<Check>) {
    let bad: Vec<String> = values
        .iter()
        .filter_map(|(name, v)| {
            v.chars()
                .find(|&c| !allowed_char(c))
                .map(|c| format!("{name} has {c:?}"))
        })
        .collect();
    out.push(if bad.is_empty() {
        Check::pass(id::FIELD_CHARSET, "all values are printable ASCII")
    } else {
        Check::should(id::FIELD_CHARSET, strictness, bad.join("; "))
    });

    let empty_required: Vec<&str> = [values[1], values[2]]
        .iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(n, _)| *n)
        .collect();
    let empty_propagation: Vec<&str> = [values[4], values[5]]
        .iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(n, _)| *n)
        .collect();
    out.push(if !empty_required.is_empty() {
        Check::fail(id::FIELD_EMPTY, format!("{} empty", empty_required.join(", ")))
    } else if !empty_propagation.is_empty() {
        Check::should(
            id::FIELD_EMPTY,
            strictness,
            format!("{} empty", empty_propagation.join(", ")),
        )
    } else {
        Check::pass(id::FIELD_EMPTY, "producer and propagator fields are set")
    });

    // A label of class 2 or 3 is written by a distribution platform for content whose producer
    // is unknown (spec section 1), so the platform's own code stands in as ContentProducer.
    let platform_may_produce = matches!(values[0].1, "2" | "3");
    out.push(provider_check(
        id::PRODUCER_CODE,
        values[1].1,
        ServiceType::Generation,
        platform_may_produce,
        strictness,
    ));
    if !values[4].1.is_empty() {
        out.push(provider_check(
            id::PROPAGATOR_CODE,
            values[4].1,
            ServiceType::Distribution,
            true,
            strictness,
        ));
    }
}

/// Checks that `value` is a provider code of `role`'s service type, or of any type when
/// `any_service` (a propagator may be a generation service distributing its own content).
fn provider_check(
    check_id: &'static str,
    value: &str,
    role: ServiceType,
    any_service: bool,
    strictness: Strictness,
) -> Check {
    match parse_provider_code(value) {
        Ok(code) if code.service == role || any_service => {
            Check::pass(check_id, format!("{value} is a {} service code", code.service))
        }
        Ok(code) => Check::should(
            check_id,
            strictness,
            format!("{value} names a {} service, expected {role}", code.service),
        ),
        Err(e) => Check::should(check_id, strictness, format!("{value:?}: {e}")),
    }
}

/// Validates a label we are about to write.
///
/// ```
/// use aigc_label_core::{check::{validate_label, Strictness}, Label};
/// let good = Label::new("001191440300708461136T1XGW3", "abc");
/// assert!(validate_label(&good, Strictness::Strict).iter().all(|c| c.is_ok()));
/// let named = Label::new("doubao", "abc");
/// assert!(validate_label(&named, Strictness::Strict).iter().any(|c| !c.is_ok()));
/// assert!(validate_label(&named, Strictness::Lenient).iter().all(|c| c.is_ok()));
/// ```
pub fn validate_label(label: &Label, strictness: Strictness) -> Vec<Check> {
    let mut out = Vec::new();
    check_values(label.fields(), strictness, &mut out);
    out
}

/// Validates a label read from a file, given the shape its carrier calls for.
pub fn validate_parsed(parsed: &ParsedLabel, expected: Shape, strictness: Strictness) -> Vec<Check> {
    let mut out = vec![Check::pass(id::JSON_SYNTAX, "label text is JSON")];
    if parsed.entities_decoded {
        out.push(Check::should(
            id::JSON_ENTITIES,
            strictness,
            "XML/HTML entities were left in the JSON text",
        ));
    }
    if parsed.double_encoded {
        out.push(Check::should(
            id::JSON_DOUBLE_ENCODED,
            strictness,
            "the AIGC object was a JSON string",
        ));
    }
    out.push(match parsed.shape {
        Some(shape) if shape == expected => Check::pass(
            id::JSON_SHAPE,
            format!("{} JSON, as this carrier calls for", shape.as_str()),
        ),
        Some(shape) => Check::should(
            id::JSON_SHAPE,
            strictness,
            format!(
                "{} JSON where this carrier calls for {}",
                shape.as_str(),
                expected.as_str()
            ),
        ),
        None => Check::fail(id::JSON_SHAPE, "neither bare nor wrapped"),
    });

    let missing: Vec<&str> = FIELD_NAMES
        .iter()
        .zip(&parsed.fields)
        .filter(|(_, v)| v.is_none())
        .map(|(n, _)| *n)
        .collect();
    out.push(if missing.is_empty() {
        Check::pass(id::FIELD_MISSING, "all seven fields present")
    } else if missing
        .iter()
        .any(|n| matches!(*n, "Label" | "ContentProducer" | "ProduceID"))
    {
        Check::fail(id::FIELD_MISSING, format!("missing {}", missing.join(", ")))
    } else {
        Check::should(id::FIELD_MISSING, strictness, format!("missing {}", missing.join(", ")))
    });
    if !parsed.unknown.is_empty() {
        out.push(Check::should(
            id::FIELD_UNKNOWN,
            strictness,
            format!("unknown {}", parsed.unknown.join(", ")),
        ));
    }
    if !parsed.duplicates.is_empty() {
        out.push(Check::fail(
            id::FIELD_DUPLICATE,
            format!("given twice: {}", parsed.duplicates.join(", ")),
        ));
    }
    if !parsed.miscased.is_empty() {
        out.push(Check::should(
            id::FIELD_CASE,
            strictness,
            format!("miscased {}", parsed.miscased.join(", ")),
        ));
    }
    if !parsed.non_string.is_empty() {
        out.push(Check::should(
            id::FIELD_TYPE,
            strictness,
            format!("not strings: {}", parsed.non_string.join(", ")),
        ));
    }

    let raw_label = parsed.fields[0].as_deref().unwrap_or("");
    match LabelValue::from_code(raw_label.trim()) {
        Some(v) => out.push(Check::pass(id::LABEL_VALUE, format!("Label {v} ({})", v.word()))),
        None => out.push(Check::fail(
            id::LABEL_VALUE,
            format!("Label is {raw_label:?}, expected 1, 2 or 3"),
        )),
    }
    if parsed.numeric_label {
        out.push(Check::should(
            id::LABEL_NUMERIC,
            strictness,
            "Label is a JSON number, expected a string",
        ));
    }

    let value = |i: usize| parsed.fields[i].as_deref().unwrap_or("");
    let values = [0, 1, 2, 3, 4, 5, 6].map(|i| (FIELD_NAMES[i], value(i)));
    check_values(values, strictness, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{self, to_json};

    fn ids(checks: &[Check], level: Level) -> Vec<&'static str> {
        checks.iter().filter(|c| c.level == level).map(|c| c.id).collect()
    }

    #[test]
    fn canonical_label_passes_strict() {
        let label = Label::new("001191440300708461136T1XGW3", "abc-1");
        let parsed = json::parse(&to_json(&label, Shape::Bare), 8).unwrap();
        let checks = validate_parsed(&parsed, Shape::Bare, Strictness::Strict);
        assert_eq!(ids(&checks, Level::Fail), Vec::<&str>::new());
        assert_eq!(ids(&checks, Level::Warn), Vec::<&str>::new());
    }

    #[test]
    fn should_rules_warn_when_lenient_and_fail_when_strict() {
        let text = r#"{"AIGC":{"Label":1,"ContentProducer":"doubao","ProduceID":"a b","Extra":"x"}}"#;
        let parsed = json::parse(text, 8).unwrap();
        let lenient = validate_parsed(&parsed, Shape::Bare, Strictness::Lenient);
        assert_eq!(ids(&lenient, Level::Fail), Vec::<&str>::new());
        let mut warned = ids(&lenient, Level::Warn);
        warned.sort();
        assert_eq!(
            warned,
            [
                "field.charset",
                "field.empty",
                "field.missing",
                "field.unknown",
                "json.shape",
                "label.numeric",
                "producer.code"
            ]
        );
        let strict = validate_parsed(&parsed, Shape::Bare, Strictness::Strict);
        assert_eq!(ids(&strict, Level::Warn), Vec::<&str>::new());
        assert_eq!(ids(&strict, Level::Fail).len(), 7);
    }

    #[test]
    fn shall_rules_always_fail() {
        let parsed = json::parse(
            r#"{"Label":"7","ContentProducer":"","ProduceID":"x","ProduceID":"y"}"#,
            8,
        )
        .unwrap();
        let checks = validate_parsed(&parsed, Shape::Bare, Strictness::Lenient);
        let mut failed = ids(&checks, Level::Fail);
        failed.sort();
        assert_eq!(failed, ["field.duplicate", "field.empty", "label.value"]);
    }

    #[test]
    fn quote_escape_allowed_backslash_not() {
        let mut label = Label::new("001191440300708461136T1XGW3", "a");
        label.reserved_code1 = r#"{"SecurityData":{}}"#.into();
        assert!(validate_label(&label, Strictness::Strict).iter().all(Check::is_ok));
        label.reserved_code1 = r"a\b".into();
        let checks = validate_label(&label, Strictness::Strict);
        assert_eq!(ids(&checks, Level::Fail), ["field.charset"]);
    }

    #[test]
    fn producer_must_be_a_generation_service() {
        let label = Label::new("001191110108551385082Q20000", "a");
        let checks = validate_label(&label, Strictness::Strict);
        assert_eq!(ids(&checks, Level::Fail), ["producer.code"]);
    }

    #[test]
    fn a_platform_may_produce_possibly_and_suspected_labels() {
        for value in [LabelValue::Possibly, LabelValue::Suspected] {
            let label = Label::first_write(value, "001191110108551385082Q20000", "up-1");
            let checks = validate_label(&label, Strictness::Strict);
            assert!(checks.iter().all(Check::is_ok), "{value:?}: {checks:?}");
        }
        let bad = Label::first_write(LabelValue::Possibly, "001191110108551385083Q20000", "up-1");
        assert_eq!(
            ids(&validate_label(&bad, Strictness::Strict), Level::Fail),
            ["producer.code", "propagator.code"]
        );
    }
}
