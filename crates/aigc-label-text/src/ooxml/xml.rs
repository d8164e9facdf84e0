//! The three small OPC parts the OOXML carrier edits (`docProps/custom.xml`, `_rels/.rels`,
//! `[Content_Types].xml`), as flat lists of elements with byte ranges, read with `quick-xml`.
//! Edits splice text at those ranges, so everything else in a part stays as it was.

use std::ops::Range;

use aigc_label_core::{Error, Limits, Result};
use quick_xml::Reader;
use quick_xml::events::Event;

use super::zip::FORMAT;

/// An element start (or empty element) with its attributes, or an end tag, or text.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Start {
        name: String,
        attrs: Vec<(String, String)>,
        range: Range<usize>,
        empty: bool,
        depth: usize,
    },
    End {
        name: String,
        range: Range<usize>,
        depth: usize,
    },
    Text {
        text: String,
    },
}

/// The local part of a qualified name.
pub(crate) fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// The prefix of a qualified name, with its colon (`"vt:"`), or `""`.
pub(crate) fn prefix(name: &str) -> &str {
    match name.rfind(':') {
        Some(i) => name.get(..=i).unwrap_or_default(),
        None => "",
    }
}

/// The value of attribute `name` (by local name).
pub(crate) fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == name || (local(k) == name && !k.starts_with("xmlns")))
        .map(|(_, v)| v.as_str())
}

/// The part's text: UTF-8, with a byte order mark removed. Other encodings are unsupported.
pub(crate) fn part_text(bytes: Vec<u8>, part: &str) -> Result<String> {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err(Error::unsupported("ooxml", format!("UTF-16 XML in {part}")));
    }
    let bytes = match bytes.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    String::from_utf8(bytes).map_err(|e| {
        Error::malformed(
            FORMAT,
            e.utf8_error().valid_up_to() as u64,
            format!("{part} is not UTF-8"),
        )
    })
}

/// Parses `text` into nodes, within [`Limits::max_depth`] and [`Limits::max_structures`].
pub(crate) fn nodes(text: &str, limits: &Limits, part: &str) -> Result<Vec<Node>> {
    let mut reader = Reader::from_str(text);
    let mut out = Vec::new();
    let mut depth = 0usize;
    let bad = |at: u64, what: String| Error::malformed(FORMAT, at, format!("{part}: {what}"));
    loop {
        if out.len() as u64 >= limits.max_structures {
            return Err(Error::Limit {
                format: FORMAT,
                offset: 0,
                what: "XML nodes",
                found: out.len() as u64,
                limit: limits.max_structures,
            });
        }
        let start = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader
            .read_event()
            .map_err(|e| bad(reader.error_position(), e.to_string()))?;
        let end = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let empty = end >= 2 && text.get(end - 2..end) == Some("/>");
                let mut attrs = Vec::new();
                for a in e.attributes() {
                    let a = a.map_err(|err| bad(start as u64, err.to_string()))?;
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|err| bad(start as u64, err.to_string()))?;
                    attrs.push((a.key.0.to_string(), value.into_owned()));
                }
                out.push(Node::Start {
                    name: e.name().0.to_string(),
                    attrs,
                    range: start..end,
                    empty,
                    depth,
                });
                if !empty {
                    depth += 1;
                    if depth > limits.max_depth {
                        return Err(bad(start as u64, "elements nested deeper than the limit".into()));
                    }
                }
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                out.push(Node::End {
                    name: e.name().0.to_string(),
                    range: start..end,
                    depth,
                });
            }
            Event::Text(t) => out.push(Node::Text {
                text: t.xml10_content().into_owned(),
            }),
            Event::CData(t) => out.push(Node::Text {
                text: t.xml10_content().into_owned(),
            }),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => match &*r {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => format!("&{other};"),
                    },
                };
                out.push(Node::Text { text: resolved });
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if depth != 0 {
        return Err(Error::malformed(
            FORMAT,
            text.len() as u64,
            format!("{part}: unclosed elements"),
        ));
    }
    Ok(out)
}

/// Where new children of the root element go: before its end tag, or (for an empty root)
/// the root's start tag must be opened first.
#[derive(Debug, Clone)]
pub(crate) enum Insert {
    /// Insert at this offset (the start of the root's end tag).
    At(usize),
    /// The root is `<Root .../>`: its `/>` spans this range; replace it with `>` + children +
    /// end tag.
    Open { slash: Range<usize>, name: String },
}

/// The insertion point for children of the root element named `root_local`.
pub(crate) fn root_insert(nodes: &[Node], root_local: &str, part: &str) -> Result<(Insert, String)> {
    let root = nodes.iter().find_map(|n| match n {
        Node::Start {
            name,
            range,
            empty,
            depth: 0,
            ..
        } if local(name) == root_local => Some((name.clone(), range.clone(), *empty)),
        _ => None,
    });
    let Some((name, range, empty)) = root else {
        return Err(Error::malformed(
            FORMAT,
            0,
            format!("{part}: no <{root_local}> root element"),
        ));
    };
    if empty {
        return Ok((
            Insert::Open {
                slash: range.end - 2..range.end,
                name: name.clone(),
            },
            name,
        ));
    }
    let end = nodes.iter().rev().find_map(|n| match n {
        Node::End {
            name: n,
            range,
            depth: 0,
        } if local(n) == root_local => Some(range.start),
        _ => None,
    });
    let end = end.ok_or_else(|| Error::malformed(FORMAT, 0, format!("{part}: root element not closed")))?;
    Ok((Insert::At(end), name))
}

/// `text` with `removed` ranges cut out and `children` inserted as the root's last children.
pub(crate) fn splice(text: &str, removed: &[Range<usize>], insert: &Insert, children: &str) -> String {
    let at = match insert {
        Insert::At(at) => *at,
        Insert::Open { slash, .. } => slash.start,
    };
    let addition = match insert {
        Insert::At(_) => children.to_string(),
        Insert::Open { name, .. } => format!(">{children}</{name}>"),
    };
    let skip_to = match insert {
        Insert::At(at) => *at,
        Insert::Open { slash, .. } => slash.end,
    };
    let mut cuts: Vec<Range<usize>> = removed.to_vec();
    cuts.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len() + addition.len());
    let mut pos = 0;
    for cut in cuts.iter().filter(|c| c.end <= at) {
        out.push_str(text.get(pos..cut.start.max(pos)).unwrap_or_default());
        pos = pos.max(cut.end);
    }
    out.push_str(text.get(pos..at.max(pos)).unwrap_or_default());
    out.push_str(&addition);
    out.push_str(text.get(skip_to.max(pos)..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_and_splice() {
        let text = r#"<?xml version="1.0"?><a:R xmlns:a="u"><a:x k="1&amp;2">t&lt;&#x4eba;</a:x><a:y/></a:R>"#;
        let n = nodes(text, &Limits::default(), "t").unwrap();
        let Node::Start { attrs, .. } = &n[1] else {
            panic!("{n:?}")
        };
        assert_eq!(attr(attrs, "k"), Some("1&2"));
        let texts: String = n
            .iter()
            .filter_map(|n| match n {
                Node::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(texts, "t<人");
        let (insert, root) = root_insert(&n, "R", "t").unwrap();
        assert_eq!(root, "a:R");
        let y = n
            .iter()
            .find_map(|n| match n {
                Node::Start { name, range, .. } if name == "a:y" => Some(range.clone()),
                _ => None,
            })
            .unwrap();
        let out = splice(text, &[y], &insert, "<a:z/>");
        assert!(out.ends_with("</a:x><a:z/></a:R>"), "{out}");
        let empty = r#"<R xmlns="u"/>"#;
        let n = nodes(empty, &Limits::default(), "t").unwrap();
        let (insert, _) = root_insert(&n, "R", "t").unwrap();
        assert_eq!(splice(empty, &[], &insert, "<c/>"), r#"<R xmlns="u"><c/></R>"#);
    }

    #[test]
    fn malformed_and_deep() {
        for bad in ["<a><b></a>", "<a>", "<a x=\"1></a>"] {
            assert!(nodes(bad, &Limits::default(), "t").is_err(), "{bad}");
        }
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(nodes(&deep, &Limits::default(), "t").is_err());
        assert!(part_text(vec![0xff, 0xfe, 0], "t").is_err());
        assert_eq!(part_text(b"\xef\xbb\xbf<a/>".to_vec(), "t").unwrap(), "<a/>");
    }
}
