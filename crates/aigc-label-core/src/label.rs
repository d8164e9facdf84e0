//! The implicit label: seven string fields in the order of GB 45438 Annex E.

use std::fmt;

/// Names of the seven fields, in the order Annex E writes them.
pub const FIELD_NAMES: [&str; 7] = [
    "Label",
    "ContentProducer",
    "ProduceID",
    "ReservedCode1",
    "ContentPropagator",
    "PropagateID",
    "ReservedCode2",
];

/// The `Label` field: how sure the writer is that the content is AI-generated.
///
/// GB 45438 §6.1 defines `"1"` for AI-generated content. The platform classes "possibly" and
/// "suspected" of the CAC Measures are written as `"2"` and `"3"` (a project decision; see
/// `docs/spec.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum LabelValue {
    /// `"1"`: the content is AI-generated (a label was present, or we generated it).
    Is,
    /// `"2"`: no label, but the uploader declared the content AI-generated.
    Possibly,
    /// `"3"`: no label and no declaration, but traces of generation were found.
    Suspected,
}

impl LabelValue {
    /// The field's text: `"1"`, `"2"` or `"3"`.
    pub fn as_str(self) -> &'static str {
        match self {
            LabelValue::Is => "1",
            LabelValue::Possibly => "2",
            LabelValue::Suspected => "3",
        }
    }

    /// Parses `"1"`, `"2"` or `"3"`.
    pub fn from_code(s: &str) -> Option<Self> {
        match s {
            "1" => Some(LabelValue::Is),
            "2" => Some(LabelValue::Possibly),
            "3" => Some(LabelValue::Suspected),
            _ => None,
        }
    }

    /// A short English word for reports: `is`, `possibly`, `suspected`.
    pub fn word(self) -> &'static str {
        match self {
            LabelValue::Is => "is",
            LabelValue::Possibly => "possibly",
            LabelValue::Suspected => "suspected",
        }
    }
}

impl fmt::Display for LabelValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One implicit label.
///
/// Construct a first write with [`Label::new`], which copies the production pair into the
/// propagation pair as the standard requires; a platform then calls [`Label::propagated`].
///
/// ```
/// use aigc_label_core::{Label, LabelValue};
/// let label = Label::new("001191440300708461136T1XGW3", "img-20261123-0001");
/// assert_eq!(label.value, LabelValue::Is);
/// assert_eq!(label.content_propagator, label.content_producer);
/// assert_eq!(label.propagate_id, label.produce_id);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Label {
    /// `Label`.
    pub value: LabelValue,
    /// `ContentProducer`: the generation service's provider code (or name).
    pub content_producer: String,
    /// `ProduceID`: the producer's unique id for this content.
    pub produce_id: String,
    /// `ReservedCode1`: the producer's protection data; may be empty.
    pub reserved_code1: String,
    /// `ContentPropagator`: the distribution service's provider code (or name).
    pub content_propagator: String,
    /// `PropagateID`: the propagator's unique id for this content.
    pub propagate_id: String,
    /// `ReservedCode2`: the propagator's protection data; may be empty.
    pub reserved_code2: String,
}

impl Label {
    /// A first write by a generation service: `Label` is `"1"` and the propagation pair equals
    /// the production pair.
    pub fn new(producer: impl Into<String>, produce_id: impl Into<String>) -> Self {
        Label::first_write(LabelValue::Is, producer, produce_id)
    }

    /// A first write with an explicit `Label` value; the propagation pair equals the production
    /// pair.
    pub fn first_write(value: LabelValue, producer: impl Into<String>, produce_id: impl Into<String>) -> Self {
        let content_producer = producer.into();
        let produce_id = produce_id.into();
        Label {
            value,
            content_propagator: content_producer.clone(),
            propagate_id: produce_id.clone(),
            content_producer,
            produce_id,
            reserved_code1: String::new(),
            reserved_code2: String::new(),
        }
    }

    /// This label with a distribution platform's fields set; the production fields are kept.
    pub fn propagated(mut self, propagator: impl Into<String>, propagate_id: impl Into<String>) -> Self {
        self.content_propagator = propagator.into();
        self.propagate_id = propagate_id.into();
        self.reserved_code2.clear();
        self
    }

    /// The seven field values in Annex E order, paired with their names.
    pub fn fields(&self) -> [(&'static str, &str); 7] {
        [
            (FIELD_NAMES[0], self.value.as_str()),
            (FIELD_NAMES[1], &self.content_producer),
            (FIELD_NAMES[2], &self.produce_id),
            (FIELD_NAMES[3], &self.reserved_code1),
            (FIELD_NAMES[4], &self.content_propagator),
            (FIELD_NAMES[5], &self.propagate_id),
            (FIELD_NAMES[6], &self.reserved_code2),
        ]
    }
}
