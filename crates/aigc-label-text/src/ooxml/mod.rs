//! OOXML (docx, xlsx, pptx, their macro-enabled forms and templates): the implicit label as the
//! custom document property `AIGC` (`vt:lpwstr`) in `docProps/custom.xml` (spec section 4).
//!
//! The writer edits three small parts and nothing else: the custom properties part (created when
//! absent; otherwise every `AIGC` property is removed and one is added with a fresh `pid`, all
//! other properties kept as written), the package relationships `_rels/.rels` (a
//! `custom-properties` relationship when there is none) and `[Content_Types].xml` (an `Override`
//! for the part when there is none). Every other zip entry is copied byte for byte, local header,
//! compressed data and data descriptor included (see the `zip` module).
//!
//! [`Ooxml::sniff`] sees only the first bytes: a zip local header whose first entry is
//! `[Content_Types].xml` (or an OPC part such as `_rels/.rels`, `docProps/...`, `word/...`,
//! `xl/...`, `ppt/...`), which is how Office, LibreOffice and the common libraries write them.
//! [`is_ooxml`] checks the central directory for `[Content_Types].xml`, for callers that can seek.

mod xml;
pub(crate) mod zip;

use std::ops::Range;

use aigc_label_core::check::{Check, Strictness, id};
use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::json::{self, Shape};
use aigc_label_core::plan::{Plan as EditPlan, PlanBuilder};
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result};

use crate::util::xml_escape;
use xml::{Node, attr, local, nodes, part_text, prefix, root_insert, splice};
use zip::{Archive, Entry, FORMAT, NewPart, read_archive, read_entry, replacement_changes};

/// The package relationship type of the custom properties part (ECMA-376 Part 1 §15.2.12.2).
const CUSTOM_REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties";
/// Its content type.
const CUSTOM_TYPE: &str = "application/vnd.openxmlformats-officedocument.custom-properties+xml";
/// The namespaces of the part and of its value types.
const CUSTOM_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties";
const VT_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes";
/// The format id every custom property carries (ECMA-376 Part 1 §22.3.2.2).
const FMTID: &str = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}";
const DEFAULT_PART: &str = "docProps/custom.xml";
const CONTENT_TYPES: &str = "[Content_Types].xml";
const PACKAGE_RELS: &str = "_rels/.rels";

/// The OOXML carrier (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Ooxml;

impl Carrier for Ooxml {
    /// The media type is the family's common prefix; see [`media_type_for_extension`] for the
    /// exact type.
    fn info(&self) -> &'static aigc_label_core::Info {
        &aigc_label_core::Info {
            format: FORMAT,
            media_type: "application/vnd.openxmlformats-officedocument",
            extensions: &[
                "docx", "xlsx", "pptx", "docm", "xlsm", "pptm", "dotx", "dotm", "xltx", "xltm", "potx", "potm", "ppsx",
                "ppsm",
            ],
        }
    }

    fn sniff(&self, head: &[u8]) -> bool {
        if !head.starts_with(b"PK\x03\x04") {
            return false;
        }
        let name_len = head
            .get(26..28)
            .map_or(0, |b| usize::from(u16::from_le_bytes([b[0], b[1]])));
        let Some(name) = head.get(30..30 + name_len.min(head.len().saturating_sub(30))) else {
            return false;
        };
        [
            &b"[Content_Types].xml"[..],
            b"_rels/",
            b"docProps/",
            b"word/",
            b"xl/",
            b"ppt/",
        ]
        .iter()
        .any(|p| name.starts_with(p))
    }

    fn find(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Found>> {
        let mut src = Source::new(input, FORMAT)?;
        let archive = open(&mut src, limits)?;
        let (part, referenced) = custom_part_name(&mut src, &archive, limits)?;
        let Some(entry) = archive.entry(&part).cloned() else {
            return Ok(Vec::new());
        };
        let text = part_text(read_entry(&mut src, &entry, limits)?, &part)?;
        copies(&text, &entry, &part, referenced, limits)
    }

    /// One read of the central directory and the parts that change: the custom properties
    /// part's copies are reported, the changed parts deflated anew, every other entry planned
    /// as a copied range and the central directory rebuilt.
    fn plan(
        &self,
        input: &mut dyn ReadSeek,
        label: &Label,
        limits: &Limits,
        out: PlanBuilder<'_>,
    ) -> Result<Option<EditPlan>> {
        edit_plan(input, label, limits, out).map(Some)
    }

    /// Which bytes a content binding covers in an OOXML package: everything except
    ///
    /// - the zip entry of the custom properties part (`docProps/custom.xml`, or wherever
    ///   `_rels/.rels` points): local header, compressed data and anything up to the next
    ///   entry (the label structure [`Ooxml::find`] reports);
    /// - that part's central directory record (its CRC-32 and sizes change with the label);
    /// - the 4-byte local header offset (8 bytes in a Zip64 extra field) in the central
    ///   directory records of the entries stored after that part, which move when it grows
    ///   or shrinks;
    /// - the central directory's size and offset in the end of central directory record, and
    ///   in the Zip64 end record and locator when the package has them.
    ///
    /// Every other entry (document body, styles, media, `_rels/.rels`, `[Content_Types].xml`)
    /// is covered byte for byte, local header, data and data descriptor, and so is the rest of
    /// every central directory record, entry names and CRCs included. Rewriting the label
    /// replaces the part in place and copies everything else in the same order, so those bytes
    /// stay identical. (A package whose part is not yet referenced from `_rels/.rels` or
    /// `[Content_Types].xml` gets those entries edited on the first write only.)
    ///
    /// A package without the part has nothing excluded.
    ///
    /// # Errors
    /// As [`Ooxml::find`].
    fn binding_exclusions(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Range<u64>>> {
        let mut src = Source::new(input, FORMAT)?;
        let archive = open(&mut src, limits)?;
        let (part, _) = custom_part_name(&mut src, &archive, limits)?;
        Ok(archive
            .entry(&part)
            .map(|entry| replacement_changes(&archive, entry, limits))
            .unwrap_or_default())
    }
}

/// The label copies in `text`, the custom properties part `part` stored in `entry`, as
/// [`Ooxml::find`] reports them; `referenced` says whether `_rels/.rels` points at the part.
fn copies(text: &str, entry: &Entry, part: &str, referenced: bool, limits: &Limits) -> Result<Vec<Found>> {
    let props = custom_properties(text, limits, part)?;
    let mut found = Vec::new();
    for p in props
        .iter()
        .filter(|p| p.name.eq_ignore_ascii_case("AIGC"))
        .take(limits.max_copies)
    {
        let mut checks = Vec::new();
        let mut warn = |detail: String| checks.push(Check::should(id::CARRIER_PLACE, Strictness::Lenient, detail));
        if p.name != "AIGC" {
            warn(format!("property is named {:?}, not \"AIGC\"", p.name));
        }
        if p.value_type != "lpwstr" {
            warn(format!("property type is vt:{}, not vt:lpwstr", p.value_type));
        }
        if !referenced {
            warn(format!("{part} is not referenced from _rels/.rels"));
        }
        found.push(Found {
            carrier: format!("{part} AIGC").into(),
            range: entry.span.clone(),
            text: p.value.clone(),
            expected_shape: Shape::Bare,
            checks,
        });
    }
    Ok(found)
}

/// Plans [`Ooxml::write`]'s output, collecting the copies [`Ooxml::find`] reports on the way.
///
/// The entries' local headers are checked as the rewrite copies them (not first, as
/// [`Ooxml::find`] does), so that a streaming builder writes each while it is in the input's
/// buffer: the central directory, at the end, and the parts that change are read first, and
/// then the entries once.
fn edit_plan(input: &mut dyn ReadSeek, label: &Label, limits: &Limits, mut out: PlanBuilder<'_>) -> Result<EditPlan> {
    let mut src = Source::new(input, FORMAT)?;
    let archive = checked(zip::read_directory(&mut src, limits)?)?;
    let value = json::to_json(label, Shape::Bare);
    let mut replaced = Vec::new();
    let mut added = Vec::new();

    let rels_entry = archive.entry(PACKAGE_RELS).cloned();
    let (part, referenced) = custom_part_name(&mut src, &archive, limits)?;
    let (custom, found) = match archive.entry(&part).cloned() {
        Some(entry) => {
            let bytes = read_entry(&mut src, &entry, limits)?;
            let bom = bom_of(&bytes);
            let text = part_text(bytes, &part)?;
            let found = copies(&text, &entry, &part, referenced, limits)?;
            let new = NewPart {
                name: entry.name.clone(),
                data: [bom, set_property(&text, &value, limits, &part)?.as_bytes()].concat(),
            };
            replaced.push(new);
            (entry.name, found)
        }
        None => {
            added.push(NewPart {
                name: part.clone(),
                data: new_custom_part(&value).into_bytes(),
            });
            (part.clone(), Vec::new())
        }
    };
    if !referenced {
        let rels = rels_entry.ok_or_else(|| Error::malformed(FORMAT, 0, "no _rels/.rels: not an OPC package"))?;
        let bytes = read_entry(&mut src, &rels, limits)?;
        let bom = bom_of(&bytes);
        let text = part_text(bytes, PACKAGE_RELS)?;
        replaced.push(NewPart {
            name: rels.name.clone(),
            data: [bom, add_relationship(&text, &custom, limits)?.as_bytes()].concat(),
        });
    }
    let types_entry = archive
        .entry(CONTENT_TYPES)
        .cloned()
        .ok_or_else(|| Error::malformed(FORMAT, 0, "no [Content_Types].xml"))?;
    let bytes = read_entry(&mut src, &types_entry, limits)?;
    let bom = bom_of(&bytes);
    let types = part_text(bytes, CONTENT_TYPES)?;
    if let Some(new_types) = add_override(&types, &custom, limits)? {
        replaced.push(NewPart {
            name: types_entry.name.clone(),
            data: [bom, new_types.as_bytes()].concat(),
        });
    }
    // Another producer's label stops the write before anything is copied.
    out.drain(&mut src, &found)?;
    let rewritten = zip::rewrite(&mut src, &archive, &replaced, &added, &mut out)?;
    let label_range = rewritten
        .parts
        .into_iter()
        .find(|(n, _)| *n == custom)
        .map(|(_, r)| r)
        .unwrap_or(0..0);
    Ok(out.finish(found, label_range))
}

/// The media type of an OOXML file by its extension (`docx`, `xlsx`, `pptx`, ...).
pub fn media_type_for_extension(ext: &str) -> Option<&'static str> {
    Some(match ext.to_ascii_lowercase().as_str() {
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "dotx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
        "docm" => "application/vnd.ms-word.document.macroEnabled.12",
        "dotm" => "application/vnd.ms-word.template.macroEnabled.12",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xltx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
        "xlsm" => "application/vnd.ms-excel.sheet.macroEnabled.12",
        "xltm" => "application/vnd.ms-excel.template.macroEnabled.12",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "potx" => "application/vnd.openxmlformats-officedocument.presentationml.template",
        "ppsx" => "application/vnd.openxmlformats-officedocument.presentationml.slideshow",
        "pptm" => "application/vnd.ms-powerpoint.presentation.macroEnabled.12",
        "potm" => "application/vnd.ms-powerpoint.template.macroEnabled.12",
        "ppsm" => "application/vnd.ms-powerpoint.slideshow.macroEnabled.12",
        _ => return None,
    })
}

/// True when `input` is a zip whose central directory lists `[Content_Types].xml`: the check
/// [`Ooxml::sniff`] cannot make from the first bytes alone.
///
/// # Errors
/// I/O errors; a malformed zip is `Ok(false)`.
pub fn is_ooxml(input: &mut dyn ReadSeek, limits: &Limits) -> Result<bool> {
    let mut src = Source::new(input, FORMAT)?;
    match read_archive(&mut src, limits) {
        Ok(archive) => Ok(archive.entry(CONTENT_TYPES).is_some()),
        Err(Error::Io(e)) => Err(Error::Io(e)),
        Err(_) => Ok(false),
    }
}

fn open(src: &mut Source<'_>, limits: &Limits) -> Result<Archive> {
    checked(read_archive(src, limits)?)
}

/// `archive`, when it is an OOXML package.
fn checked(archive: Archive) -> Result<Archive> {
    if archive.entry(CONTENT_TYPES).is_none() {
        return Err(Error::malformed(
            FORMAT,
            0,
            "zip without [Content_Types].xml is not an OOXML package",
        ));
    }
    Ok(archive)
}

/// The custom properties part named by the package relationships, and whether a relationship
/// names it; [`DEFAULT_PART`] when none does.
fn custom_part_name(src: &mut Source<'_>, archive: &Archive, limits: &Limits) -> Result<(String, bool)> {
    let Some(rels) = archive.entry(PACKAGE_RELS).cloned() else {
        return Ok((DEFAULT_PART.to_string(), false));
    };
    let text = part_text(read_entry(src, &rels, limits)?, PACKAGE_RELS)?;
    for node in nodes(&text, limits, PACKAGE_RELS)? {
        let Node::Start { name, attrs, .. } = node else {
            continue;
        };
        let custom = local(&name) == "Relationship"
            && attr(&attrs, "Type").is_some_and(is_custom_rel)
            && attr(&attrs, "TargetMode") != Some("External");
        if let Some(target) = attr(&attrs, "Target").filter(|_| custom) {
            return Ok((part_from_target(target), true));
        }
    }
    Ok((DEFAULT_PART.to_string(), false))
}

fn is_custom_rel(t: &str) -> bool {
    t.ends_with("/custom-properties") || t.ends_with("/customProperties")
}

/// The zip entry name for a package-relative relationship target.
fn part_from_target(target: &str) -> String {
    let t = target.trim_start_matches('/');
    t.strip_prefix("./").unwrap_or(t).to_string()
}

/// One custom property.
#[derive(Debug)]
struct Property {
    name: String,
    pid: Option<i64>,
    /// The property element, start tag to end tag.
    range: std::ops::Range<usize>,
    value: String,
    /// Local name of the value element (`lpwstr`, `lpstr`, ...).
    value_type: String,
}

fn custom_properties(text: &str, limits: &Limits, part: &str) -> Result<Vec<Property>> {
    Ok(parse_custom(text, limits, part)?.1)
}

/// The nodes of a custom properties part and its `property` elements.
fn parse_custom(text: &str, limits: &Limits, part: &str) -> Result<(Vec<Node>, Vec<Property>)> {
    let all = nodes(text, limits, part)?;
    let mut props = Vec::new();
    let mut current: Option<Property> = None;
    for node in &all {
        match node {
            Node::Start {
                name,
                attrs,
                range,
                empty,
                depth: 1,
                ..
            } if local(name) == "property" => {
                let prop = Property {
                    name: attr(attrs, "name").unwrap_or_default().to_string(),
                    pid: attr(attrs, "pid").and_then(|p| p.trim().parse().ok()),
                    range: range.clone(),
                    value: String::new(),
                    value_type: String::new(),
                };
                if *empty {
                    props.push(prop);
                } else {
                    current = Some(prop);
                }
            }
            Node::Start { name, depth: 2, .. } => {
                if let Some(p) = current.as_mut().filter(|p| p.value_type.is_empty()) {
                    p.value_type = local(name).to_string();
                }
            }
            Node::Text { text } => {
                if let Some(p) = current.as_mut() {
                    p.value.push_str(text);
                }
            }
            Node::End { name, range, depth: 1 } if local(name) == "property" => {
                if let Some(mut p) = current.take() {
                    p.range.end = range.end;
                    props.push(p);
                }
            }
            _ => {}
        }
    }
    Ok((all, props))
}

/// The custom properties part with exactly one `AIGC` property holding `value`.
/// The UTF-8 byte order mark a part opens with (empty when none): an edited part keeps it.
fn bom_of(bytes: &[u8]) -> &'static [u8] {
    const BOM: &[u8] = b"\xef\xbb\xbf";
    if bytes.starts_with(BOM) { BOM } else { b"" }
}

fn set_property(text: &str, value: &str, limits: &Limits, part: &str) -> Result<String> {
    let (all, props) = parse_custom(text, limits, part)?;
    let (insert, root_name) = root_insert(&all, "Properties", part)?;
    let removed: Vec<_> = props
        .iter()
        .filter(|p| p.name.eq_ignore_ascii_case("AIGC"))
        .map(|p| p.range.clone())
        .collect();
    let pid = props
        .iter()
        .filter(|p| !p.name.eq_ignore_ascii_case("AIGC"))
        .filter_map(|p| p.pid)
        .max()
        .map_or(2, |m| m.saturating_add(1).max(2));
    let root_attrs = all.iter().find_map(|n| match n {
        Node::Start { attrs, depth: 0, .. } => Some(attrs.clone()),
        _ => None,
    });
    let vt_prefix = root_attrs
        .unwrap_or_default()
        .into_iter()
        .find(|(k, v)| k.starts_with("xmlns:") && v == VT_NS)
        .map(|(k, _)| k.trim_start_matches("xmlns:").to_string());
    let element = property_element(prefix(&root_name), vt_prefix.as_deref(), pid, value);
    Ok(splice(text, &removed, &insert, &element))
}

/// A `property` element. When the root binds no prefix to the value-types namespace, the value
/// element declares it itself.
fn property_element(prop_prefix: &str, vt_prefix: Option<&str>, pid: i64, value: &str) -> String {
    let (vt, decl) = match vt_prefix {
        Some(p) => (p.to_string(), String::new()),
        None => ("vt".to_string(), format!(" xmlns:vt=\"{VT_NS}\"")),
    };
    format!(
        "<{prop_prefix}property fmtid=\"{FMTID}\" pid=\"{pid}\" name=\"AIGC\"><{vt}:lpwstr{decl}>{}</{vt}:lpwstr></{prop_prefix}property>",
        xml_escape(value)
    )
}

fn new_custom_part(value: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<Properties xmlns=\"{CUSTOM_NS}\" xmlns:vt=\"{VT_NS}\">{}</Properties>",
        property_element("", Some("vt"), 2, value)
    )
}

/// `_rels/.rels` with a relationship to the custom properties part.
fn add_relationship(text: &str, part: &str, limits: &Limits) -> Result<String> {
    let all = nodes(text, limits, PACKAGE_RELS)?;
    let (insert, root_name) = root_insert(&all, "Relationships", PACKAGE_RELS)?;
    let ids: Vec<String> = all
        .iter()
        .filter_map(|n| match n {
            Node::Start { attrs, .. } => attr(attrs, "Id").map(str::to_string),
            _ => None,
        })
        .collect();
    let id = (0..)
        .map(|n| {
            if n == 0 {
                "rIdAIGC".to_string()
            } else {
                format!("rIdAIGC{n}")
            }
        })
        .find(|c| !ids.contains(c))
        .unwrap_or_default();
    let element = format!(
        "<{}Relationship Id=\"{id}\" Type=\"{CUSTOM_REL}\" Target=\"{}\"/>",
        prefix(&root_name),
        xml_escape(part)
    );
    Ok(splice(text, &[], &insert, &element))
}

/// `[Content_Types].xml` with an `Override` for the part, or `None` when it has one.
fn add_override(text: &str, part: &str, limits: &Limits) -> Result<Option<String>> {
    let all = nodes(text, limits, CONTENT_TYPES)?;
    let part_name = format!("/{part}");
    let has = all.iter().any(|n| match n {
        Node::Start { name, attrs, .. } => {
            local(name) == "Override" && attr(attrs, "PartName").is_some_and(|p| p.eq_ignore_ascii_case(&part_name))
        }
        _ => false,
    });
    if has {
        return Ok(None);
    }
    let (insert, root_name) = root_insert(&all, "Types", CONTENT_TYPES)?;
    let element = format!(
        "<{}Override PartName=\"{}\" ContentType=\"{CUSTOM_TYPE}\"/>",
        prefix(&root_name),
        xml_escape(&part_name)
    );
    Ok(Some(splice(text, &[], &insert, &element)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    const TYPES: &str = r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#;
    const RELS: &str = r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;

    fn package(extra: &[(&str, &[u8])]) -> Vec<u8> {
        let mut parts: Vec<(&str, &[u8])> = vec![
            (CONTENT_TYPES, TYPES.as_bytes()),
            (PACKAGE_RELS, RELS.as_bytes()),
            ("word/document.xml", b"<w:document/>"),
        ];
        parts.extend_from_slice(extra);
        zip::tests::build(&parts, false)
    }

    fn label() -> Label {
        Label::new("001191440300708461136T1XGW3", "docx-1")
    }

    #[test]
    fn creates_part_relationship_and_override() {
        let input = package(&[]);
        assert!(Ooxml.sniff(&input[..64]));
        assert!(
            Ooxml
                .find(&mut Cursor::new(&input), &Limits::default())
                .unwrap()
                .is_empty()
        );
        let mut out = Vec::new();
        Ooxml
            .write(&mut Cursor::new(&input), &mut out, &label(), &Limits::default())
            .unwrap();
        let found = Ooxml.find(&mut Cursor::new(&out), &Limits::default()).unwrap();
        assert_eq!(found.len(), 1);
        assert!(found[0].checks.is_empty(), "{:?}", found[0].checks);
        assert_eq!(json::parse(&found[0].text, 32).unwrap().to_label(), Some(label()));
        let mut cur = Cursor::new(&out);
        let mut src = Source::new(&mut cur, FORMAT).unwrap();
        let archive = read_archive(&mut src, &Limits::default()).unwrap();
        let read = |src: &mut Source<'_>, n: &str| {
            String::from_utf8(read_entry(src, &archive.entry(n).unwrap().clone(), &Limits::default()).unwrap()).unwrap()
        };
        assert!(read(&mut src, PACKAGE_RELS).contains("Target=\"docProps/custom.xml\""));
        assert!(read(&mut src, CONTENT_TYPES).contains("PartName=\"/docProps/custom.xml\""));
    }

    #[test]
    fn keeps_other_properties_and_replaces_label() {
        let custom = format!(
            r#"<?xml version="1.0"?><op:Properties xmlns:op="{CUSTOM_NS}" xmlns:v="{VT_NS}"><op:property fmtid="{FMTID}" pid="7" name="Client"><v:lpwstr>A &amp; B</v:lpwstr></op:property><op:property fmtid="{FMTID}" pid="8" name="aigc"><v:lpstr>old</v:lpstr></op:property></op:Properties>"#
        );
        let types = TYPES.replace(
            "</Types>",
            "<Override PartName=\"/docProps/custom.xml\" ContentType=\"x\"/></Types>",
        );
        let rels = RELS.replace(
            "</Relationships>",
            &format!(
                "<Relationship Id=\"rId9\" Type=\"{CUSTOM_REL}\" Target=\"/docProps/custom.xml\"/></Relationships>"
            ),
        );
        let input = zip::tests::build(
            &[
                (CONTENT_TYPES, types.as_bytes()),
                (PACKAGE_RELS, rels.as_bytes()),
                ("docProps/custom.xml", custom.as_bytes()),
            ],
            true,
        );
        let found = Ooxml.find(&mut Cursor::new(&input), &Limits::default()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].text, "old");
        assert_eq!(found[0].checks.len(), 2, "miscased name and wrong type");
        let mut out = Vec::new();
        Ooxml
            .write(&mut Cursor::new(&input), &mut out, &label(), &Limits::default())
            .unwrap();
        let mut cur = Cursor::new(&out);
        let mut src = Source::new(&mut cur, FORMAT).unwrap();
        let archive = read_archive(&mut src, &Limits::default()).unwrap();
        assert_eq!(archive.entries.len(), 3, "rels and types untouched, custom replaced");
        let text = String::from_utf8(
            read_entry(
                &mut src,
                &archive.entry("docProps/custom.xml").unwrap().clone(),
                &Limits::default(),
            )
            .unwrap(),
        )
        .unwrap();
        assert!(
            text.contains("name=\"Client\"><v:lpwstr>A &amp; B</v:lpwstr>"),
            "{text}"
        );
        assert!(text.contains("<op:property fmtid=\"{D5CDD505-2E9C-101B-9397-08002B2CF9AE}\" pid=\"8\" name=\"AIGC\"><v:lpwstr>{&quot;Label&quot;"), "{text}");
        assert!(!text.contains("old"));
        let types_entry = archive.entry(CONTENT_TYPES).unwrap();
        let original = {
            let mut c = Cursor::new(&input);
            let mut s = Source::new(&mut c, FORMAT).unwrap();
            read_archive(&mut s, &Limits::default())
                .unwrap()
                .entry(CONTENT_TYPES)
                .unwrap()
                .clone()
        };
        assert_eq!(
            &out[types_entry.span.start as usize..types_entry.span.end as usize],
            &input[original.span.start as usize..original.span.end as usize]
        );
    }

    #[test]
    fn edited_parts_keep_their_byte_order_mark() {
        let bom = "\u{feff}";
        let custom =
            format!("{bom}<?xml version=\"1.0\"?><Properties xmlns=\"{CUSTOM_NS}\" xmlns:vt=\"{VT_NS}\"></Properties>");
        let input = zip::tests::build(
            &[
                (CONTENT_TYPES, format!("{bom}{TYPES}").as_bytes()),
                (PACKAGE_RELS, format!("{bom}{RELS}").as_bytes()),
                ("docProps/custom.xml", custom.as_bytes()),
            ],
            false,
        );
        let mut out = Vec::new();
        Ooxml
            .write(&mut Cursor::new(&input), &mut out, &label(), &Limits::default())
            .unwrap();
        let mut cur = Cursor::new(&out);
        let mut src = Source::new(&mut cur, FORMAT).unwrap();
        let archive = read_archive(&mut src, &Limits::default()).unwrap();
        for name in [CONTENT_TYPES, PACKAGE_RELS, "docProps/custom.xml"] {
            let bytes = read_entry(&mut src, &archive.entry(name).unwrap().clone(), &Limits::default()).unwrap();
            let text = String::from_utf8(bytes).unwrap();
            assert!(text.starts_with("\u{feff}<?xml"), "{name}: {text}");
            assert!(text.contains("custom"), "{name} was edited: {text}");
        }
    }

    #[test]
    fn not_ooxml() {
        let plain = zip::tests::build(&[("a.txt", b"x")], false);
        assert!(Ooxml.find(&mut Cursor::new(&plain), &Limits::default()).is_err());
        assert!(!is_ooxml(&mut Cursor::new(&plain), &Limits::default()).unwrap());
        assert!(is_ooxml(&mut Cursor::new(package(&[])), &Limits::default()).unwrap());
        assert!(!Ooxml.sniff(b"PK\x03\x04"));
        assert!(!Ooxml.sniff(&plain[..40]));
        assert_eq!(
            media_type_for_extension("XLSX").map(|m| m.ends_with(".sheet")),
            Some(true)
        );
    }
}
