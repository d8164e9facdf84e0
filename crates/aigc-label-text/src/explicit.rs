//! Explicit text labels (GB 45438 §5.2: a text prompt at the start, the end or a suitable middle
//! position of the text) for plain text, Markdown and HTML.
//!
//! [`TextStyle`] holds the label text, checked when it is built, and where it goes. The `stamp_*`
//! functions take a whole text; [`stamp_stream`] copies plain text from a reader to a writer in
//! blocks, and [`crate::stream::LabelStream`] wraps the chunk streams of a language model.
//!
//! The lines a label adds end the way the text's own do: CRLF when the text's first line break
//! (within its first 64 KiB) is CRLF, LF otherwise, so a CRLF file does not come back with mixed
//! line endings. [`crate::stream::LabelStream`], which must emit the start label before any text,
//! uses LF.

use std::io::{Read, Write};

use aigc_label_core::{Error, Result};

use crate::blocks;
use crate::detect::has_label_elements;
use crate::stream::Segmenter;

/// The label written when the caller does not choose one.
pub const DEFAULT_LABEL: &str = "【AI生成】";

/// Longest label text accepted, in characters: a label is a short prompt, not a paragraph.
pub const MAX_LABEL_CHARS: usize = 200;

/// Where the label goes in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Position {
    /// Before the text (after a byte order mark, and after Markdown front matter).
    #[default]
    Start,
    /// After the text.
    End,
    /// Both before and after the text.
    StartAndEnd,
    /// As its own paragraph after the `n`-th paragraph (counting from 1; code blocks and front
    /// matter are not paragraphs). `0` means [`Position::Start`]; past the last paragraph the label
    /// goes at the end.
    AfterParagraph(usize),
}

/// The kind of text being stamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextKind {
    /// Plain text: paragraphs are separated by blank lines.
    Plain,
    /// Markdown: the label stays out of front matter and code blocks.
    Markdown,
    /// HTML: the label is a visible `<p>` element inside `<body>`.
    Html,
}

impl TextKind {
    /// The kind for a file name extension (`txt`, `md`, `html`, ...), case-insensitive.
    pub fn from_extension(ext: &str) -> Option<TextKind> {
        let ext = ext.to_ascii_lowercase();
        match ext.as_str() {
            "txt" | "text" | "log" => Some(TextKind::Plain),
            "md" | "markdown" | "mdown" | "mkd" | "mkdn" | "mdx" => Some(TextKind::Markdown),
            "html" | "htm" | "xhtml" => Some(TextKind::Html),
            _ => None,
        }
    }
}

/// The label text and its position.
///
/// ```
/// use aigc_label_text::{Position, TextStyle};
/// let style = TextStyle::new("本回答由人工智能生成")?.at(Position::End);
/// assert_eq!(aigc_label_text::stamp_text("你好", &style), "你好\n本回答由人工智能生成");
/// assert!(TextStyle::new("机器写的").is_err());
/// # Ok::<(), aigc_label_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TextStyle {
    label: String,
    position: Position,
}

impl Default for TextStyle {
    fn default() -> Self {
        TextStyle {
            label: DEFAULT_LABEL.to_string(),
            position: Position::Start,
        }
    }
}

impl TextStyle {
    /// A style with a custom label text, placed at the start.
    ///
    /// # Errors
    /// [`Error::Parameter`] when the text lacks the AI element (`AI`, `ＡＩ` or `人工智能`) or the
    /// generation element (`生成` or `合成`) GB 45438 §5 requires, is empty, is longer than
    /// [`MAX_LABEL_CHARS`], or holds control characters (a label is one line).
    pub fn new(label: impl Into<String>) -> Result<Self> {
        let label = label.into();
        validate_label_text(&label)?;
        Ok(TextStyle {
            label,
            position: Position::Start,
        })
    }

    /// This style with the label at `position`.
    pub fn at(mut self, position: Position) -> Self {
        self.position = position;
        self
    }

    /// The label text.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Where the label goes.
    pub fn position(&self) -> Position {
        self.position
    }
}

/// Checks a custom explicit label text (see [`TextStyle::new`]).
///
/// # Errors
/// [`Error::Parameter`] naming what is missing.
pub fn validate_label_text(label: &str) -> Result<()> {
    let fail = |what: &str| Err(Error::parameter("explicit label", format!("{label:?}: {what}")));
    if label.trim().is_empty() {
        return fail("is empty");
    }
    if label.chars().count() > MAX_LABEL_CHARS {
        return fail("is longer than 200 characters");
    }
    if label.chars().any(char::is_control) {
        return fail("holds a control character or line break; a label is one line");
    }
    if !has_label_elements(label) {
        return fail(
            "GB 45438 §5 requires an AI element (\"人工智能\" or \"AI\") and a generation element (\"生成\" or \"合成\"), e.g. \"AI生成\"",
        );
    }
    Ok(())
}

/// Stamps `text` of `kind` (see [`stamp_text`], [`stamp_markdown`], [`stamp_html`]).
pub fn stamp(kind: TextKind, text: &str, style: &TextStyle) -> String {
    match kind {
        TextKind::Plain => stamp_text(text, style),
        TextKind::Markdown => stamp_markdown(text, style),
        TextKind::Html => stamp_html(text, style),
    }
}

/// Puts the label into plain text.
///
/// At the start the label is a line of its own; at the end it follows a line break; after a
/// paragraph it is a paragraph of its own, after the blank line that ends that paragraph. This is
/// exactly what [`stamp_stream`] and [`crate::LabelStream`] produce from the same text.
///
/// ```
/// use aigc_label_text::{stamp_text, Position, TextStyle};
/// let style = TextStyle::default().at(Position::AfterParagraph(1));
/// assert_eq!(stamp_text("一\n\n二\n", &style), "一\n\n【AI生成】\n\n二\n");
/// ```
pub fn stamp_text(text: &str, style: &TextStyle) -> String {
    let bom = blocks::bom_len(text);
    let (head, body) = text.split_at(bom);
    let mut placer = Placer::new(style).with_eol(blocks::line_ending(text.as_bytes()));
    let mut out = String::with_capacity(text.len() + 4 * style.label.len() + 4);
    out.push_str(head);
    out.push_str(&placer.start());
    out.push_str(&placer.feed(body.to_string()));
    out.push_str(&placer.end());
    out
}

/// Puts the label into Markdown, outside front matter and code blocks.
///
/// At the start it goes after the front matter, as a paragraph of its own; at the end it follows
/// a blank line (closing a code fence the text left open, which renders the same); after the
/// `n`-th paragraph it is a paragraph of its own.
///
/// ```
/// use aigc_label_text::{stamp_markdown, Position, TextStyle};
/// let md = "---\ntitle: t\n---\n# 标题\n\n```\ncode\n```\n";
/// let out = stamp_markdown(md, &TextStyle::default());
/// assert_eq!(out, "---\ntitle: t\n---\n【AI生成】\n\n# 标题\n\n```\ncode\n```\n");
/// ```
pub fn stamp_markdown(text: &str, style: &TextStyle) -> String {
    let layout = blocks::scan(text, true);
    let eol = blocks::line_ending(text.as_bytes());
    let label = &style.label;
    let mut out = String::with_capacity(text.len() + 2 * label.len() + 16);
    let start_block = format!("{label}{eol}{eol}");
    let (start, middle) = match style.position {
        Position::Start | Position::AfterParagraph(0) => (true, None),
        Position::End => (false, None),
        Position::StartAndEnd => (true, None),
        Position::AfterParagraph(n) => (false, layout.paragraph_ends.get(n - 1).copied()),
    };
    let end = matches!(style.position, Position::End | Position::StartAndEnd)
        || (matches!(style.position, Position::AfterParagraph(n) if n > 0) && middle.is_none());
    let body_start = layout.body_start.min(text.len());
    out.push_str(text.get(..body_start).unwrap_or_default());
    if start {
        out.push_str(&start_block);
    }
    match middle.filter(|&m| m < text.len()) {
        Some(m) => {
            out.push_str(text.get(body_start..m).unwrap_or_default());
            out.push_str(eol);
            out.push_str(label);
            out.push_str(eol);
            out.push_str(text.get(m..).unwrap_or_default());
        }
        None => {
            out.push_str(text.get(body_start..).unwrap_or_default());
            if end || middle.is_some() {
                let end = markdown_end(out.is_empty(), out.ends_with('\n'), label, layout.open_fence, eol);
                out.push_str(&end);
            }
        }
    }
    out
}

/// The text that ends a Markdown body with a label paragraph, given whether the body is empty and
/// whether it ends with a line break; its line breaks are `eol`.
pub(crate) fn markdown_end(
    empty: bool,
    ends_with_newline: bool,
    label: &str,
    open_fence: Option<blocks::Fence>,
    eol: &str,
) -> String {
    let mut s = String::new();
    if !empty && !ends_with_newline {
        s.push_str(eol);
    }
    if let Some(fence) = open_fence {
        s.push_str(&fence.closer());
        s.push_str(eol);
    }
    if !empty {
        s.push_str(eol);
    }
    s.push_str(label);
    s.push_str(eol);
    s
}

/// The HTML element that carries the label: a visible paragraph, never a comment.
pub fn html_element(label: &str) -> String {
    format!(
        "<p class=\"aigc-label\" role=\"note\">{}</p>",
        crate::util::escape_markup(label, false)
    )
}

/// Puts the label into HTML as a visible `<p class="aigc-label">` element.
///
/// At the start it goes right after the `<body>` tag (or after `</head>`, or at the very start
/// when neither exists); at the end, right before `</body>` (or at the very end); after the `n`-th
/// paragraph, right after its `</p>`. Comments, `<script>`, `<style>` and `<template>` content
/// are skipped when looking for tags.
///
/// ```
/// use aigc_label_text::{stamp_html, Position, TextStyle};
/// let html = "<html><body><p>你好</p></body></html>";
/// let out = stamp_html(html, &TextStyle::default().at(Position::End));
/// assert_eq!(out, "<html><body><p>你好</p>\n<p class=\"aigc-label\" role=\"note\">【AI生成】</p>\n</body></html>");
/// ```
pub fn stamp_html(text: &str, style: &TextStyle) -> String {
    let tags = html_tags(text);
    let eol = blocks::line_ending(text.as_bytes());
    let element = format!("{eol}{}{eol}", html_element(&style.label));
    let start = tags.body_open.or(tags.head_close).unwrap_or(0);
    let end = tags.body_close.unwrap_or(text.len());
    let mut inserts: Vec<(usize, String)> = Vec::new();
    match style.position {
        Position::Start | Position::AfterParagraph(0) => inserts.push((start, element)),
        Position::End => inserts.push((end, element)),
        Position::StartAndEnd => {
            inserts.push((start, element.clone()));
            inserts.push((end, element));
        }
        Position::AfterParagraph(n) => {
            let at = tags.paragraph_ends.get(n - 1).copied().unwrap_or(end);
            inserts.push((at, element));
        }
    }
    let mut out = String::with_capacity(text.len() + inserts.iter().map(|(_, s)| s.len()).sum::<usize>());
    let mut pos = 0;
    for (at, s) in inserts {
        let at = at.clamp(pos, text.len());
        out.push_str(text.get(pos..at).unwrap_or_default());
        out.push_str(&s);
        pos = at;
    }
    out.push_str(text.get(pos..).unwrap_or_default());
    out
}

/// Offsets of the tags that matter for placing a label in HTML.
#[derive(Debug, Default)]
struct HtmlTags {
    /// Just past the `<body ...>` tag.
    body_open: Option<usize>,
    /// Just past `</head>`.
    head_close: Option<usize>,
    /// At the last `</body>`.
    body_close: Option<usize>,
    /// Just past each `</p>`.
    paragraph_ends: Vec<usize>,
}

fn html_tags(text: &str) -> HtmlTags {
    let bytes = text.as_bytes();
    let mut tags = HtmlTags::default();
    let mut pos = 0;
    while let Some(rel) = text.get(pos..).and_then(|r| r.find('<')) {
        let lt = pos + rel;
        let rest = text.get(lt..).unwrap_or_default();
        if rest.starts_with("<!--") {
            pos = rest.find("-->").map_or(text.len(), |i| lt + i + 3);
            continue;
        }
        let Some(gt) = rest.find('>') else { break };
        let tag_end = lt + gt + 1;
        let name = tag_name(rest.get(1..gt).unwrap_or_default());
        pos = tag_end;
        match name.as_str() {
            "body" => tags.body_open = tags.body_open.or(Some(tag_end)),
            "/head" => tags.head_close = tags.head_close.or(Some(tag_end)),
            "/body" => tags.body_close = Some(lt),
            "/p" => tags.paragraph_ends.push(tag_end),
            "script" | "style" | "template" | "textarea" => {
                let closer = format!("</{name}");
                pos = find_ascii_ci(bytes, tag_end, closer.as_bytes()).unwrap_or(text.len());
            }
            _ => {}
        }
    }
    tags
}

/// The lowercased tag name of a tag's inner text (`/p`, `body`).
fn tag_name(inner: &str) -> String {
    let (slash, rest) = match inner.strip_prefix('/') {
        Some(r) => ("/", r),
        None => ("", inner),
    };
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    format!("{slash}{name}")
}

fn find_ascii_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let tail = hay.get(from..)?;
    tail.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|i| from + i)
}

/// Places a label in plain text that arrives in pieces: before it, after it, or after the blank
/// line that ends the `n`-th paragraph. Fed text that is already cut at safe boundaries.
#[derive(Debug, Clone)]
pub(crate) struct Placer {
    label: String,
    first: bool,
    last: bool,
    /// Paragraph after which the label goes, if it has not gone yet.
    after: Option<usize>,
    paragraphs: usize,
    line_has_text: bool,
    in_paragraph: bool,
    ended_with_newline: bool,
    empty: bool,
    /// The line break the label's lines end with (the text's own, see
    /// [`blocks::line_ending`]).
    eol: &'static str,
}

impl Placer {
    pub fn new(style: &TextStyle) -> Self {
        let (first, last, after) = match style.position {
            Position::Start | Position::AfterParagraph(0) => (true, false, None),
            Position::End => (false, true, None),
            Position::StartAndEnd => (true, true, None),
            Position::AfterParagraph(n) => (false, false, Some(n)),
        };
        Placer {
            label: style.label.clone(),
            first,
            last,
            after,
            paragraphs: 0,
            line_has_text: false,
            in_paragraph: false,
            ended_with_newline: false,
            empty: true,
            eol: "\n",
        }
    }

    /// This placer with the label's lines ending in `eol`.
    pub fn with_eol(mut self, eol: &'static str) -> Self {
        self.eol = eol;
        self
    }

    /// What goes before the text.
    pub fn start(&mut self) -> String {
        if self.first {
            format!("{}{}", self.label, self.eol)
        } else {
            String::new()
        }
    }

    /// Passes `text` through, with the label spliced in after the chosen paragraph.
    pub fn feed(&mut self, mut text: String) -> String {
        if text.is_empty() {
            return text;
        }
        self.empty = false;
        self.ended_with_newline = text.ends_with('\n');
        let Some(n) = self.after else {
            return text;
        };
        let mut split = None;
        for (i, c) in text.char_indices() {
            if c == '\n' {
                if self.line_has_text {
                    self.in_paragraph = true;
                } else if self.in_paragraph {
                    self.in_paragraph = false;
                    self.paragraphs += 1;
                    if self.paragraphs == n {
                        split = Some(i + 1);
                        break;
                    }
                }
                self.line_has_text = false;
            } else if !c.is_whitespace() {
                self.line_has_text = true;
            }
        }
        match split {
            Some(at) => {
                self.after = None;
                let rest = text.split_off(at);
                text.push_str(&self.label);
                text.push_str(self.eol);
                text.push_str(self.eol);
                text.push_str(&rest);
                text
            }
            None => text,
        }
    }

    /// What goes after the text: the end label, or a paragraph label that found no place.
    pub fn end(&mut self) -> String {
        if !(self.last || self.after.take().is_some()) {
            return String::new();
        }
        if self.empty {
            self.label.clone()
        } else if self.ended_with_newline {
            format!("{}{}", self.label, self.eol)
        } else {
            format!("{}{}", self.eol, self.label)
        }
    }
}

/// Size of the blocks [`stamp_stream`] reads.
const STREAM_BLOCK: usize = 64 << 10;

/// Copies UTF-8 plain text from `input` to `output` with the label placed as [`stamp_text`]
/// places it, in blocks: memory stays flat whatever the text's size. For `stamp` on files and on
/// stdin/stdout.
///
/// # Errors
/// [`Error::Malformed`] (format `text`) when the input is not UTF-8: a label in another encoding
/// would be garbage; I/O errors.
pub fn stamp_stream(input: &mut dyn Read, output: &mut dyn Write, style: &TextStyle) -> Result<u64> {
    let mut sink = StreamSink {
        placer: Placer::new(style),
        output,
        written: 0,
        at_start: true,
        head: String::new(),
    };
    let mut seg = Segmenter::strict();
    let mut buf = vec![0u8; STREAM_BLOCK];
    let mut offset = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        let ready = seg
            .push_bytes(buf.get(..n).unwrap_or_default())
            .map_err(|at| Error::malformed("text", offset + at as u64, "not UTF-8"))?;
        offset += n as u64;
        sink.pass(ready)?;
    }
    let tail = seg
        .finish_strict()
        .map_err(|at| Error::malformed("text", offset.saturating_sub(at as u64), "incomplete UTF-8 at the end"))?;
    sink.pass(tail)?;
    sink.finish()
}

/// The writing half of [`stamp_stream`].
struct StreamSink<'a> {
    placer: Placer,
    output: &'a mut dyn Write,
    written: u64,
    at_start: bool,
    /// The text held back until its line ending is known (its first line break has arrived, or
    /// [`blocks::EOL_WINDOW`] bytes without one).
    head: String,
}

impl StreamSink<'_> {
    fn emit(&mut self, s: &str) -> Result<()> {
        self.output.write_all(s.as_bytes())?;
        self.written += s.len() as u64;
        Ok(())
    }

    /// Passes text on; the head of the text is held until its line ending is known.
    fn pass(&mut self, text: String) -> Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        if self.at_start {
            self.head.push_str(&text);
            if self.head.contains('\n') || self.head.len() >= blocks::EOL_WINDOW {
                self.start()?;
            }
            return Ok(());
        }
        let fed = self.placer.feed(text);
        self.emit(&fed)
    }

    /// Sends the held head: the line ending is decided, the start label goes after a BOM.
    fn start(&mut self) -> Result<()> {
        self.at_start = false;
        let mut text = std::mem::take(&mut self.head);
        self.placer = self.placer.clone().with_eol(blocks::line_ending(text.as_bytes()));
        let body = text.split_off(blocks::bom_len(&text));
        self.emit(&text)?;
        let start = self.placer.start();
        self.emit(&start)?;
        let fed = self.placer.feed(body);
        self.emit(&fed)
    }

    fn finish(mut self) -> Result<u64> {
        if self.at_start {
            self.start()?;
        }
        let end = self.placer.end();
        self.emit(&end)?;
        self.output.flush()?;
        Ok(self.written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style(p: Position) -> TextStyle {
        TextStyle::default().at(p)
    }

    #[test]
    fn validates_custom_labels() {
        for ok in ["【AI生成】", "本内容由人工智能合成", "ＡＩ生成", "AI-生成"] {
            assert!(TextStyle::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "  ",
            "AI",
            "人工智能",
            "生成",
            "机器生成",
            "AIGC生成",
            "AI生成\n第二行",
            &"AI生成".repeat(60),
        ] {
            let err = TextStyle::new(bad).unwrap_err().to_string();
            assert!(err.contains("explicit label"), "{bad}: {err}");
        }
    }

    #[test]
    fn plain_positions() {
        let t = "第一段\n\n第二段\n";
        assert_eq!(stamp_text(t, &style(Position::Start)), "【AI生成】\n第一段\n\n第二段\n");
        assert_eq!(stamp_text(t, &style(Position::End)), "第一段\n\n第二段\n【AI生成】\n");
        assert_eq!(stamp_text("无换行", &style(Position::End)), "无换行\n【AI生成】");
        assert_eq!(
            stamp_text(t, &style(Position::StartAndEnd)),
            "【AI生成】\n第一段\n\n第二段\n【AI生成】\n"
        );
        assert_eq!(
            stamp_text(t, &style(Position::AfterParagraph(1))),
            "第一段\n\n【AI生成】\n\n第二段\n"
        );
        assert_eq!(
            stamp_text(t, &style(Position::AfterParagraph(2))),
            "第一段\n\n第二段\n【AI生成】\n"
        );
        assert_eq!(stamp_text("", &style(Position::End)), "【AI生成】");
        assert_eq!(
            stamp_text("\u{feff}x", &style(Position::Start)),
            "\u{feff}【AI生成】\nx"
        );
    }

    #[test]
    fn markdown_positions_avoid_code_and_front_matter() {
        let md = "---\na: 1\n---\n段一\n\n```\n代码\n\n更多\n```\n\n段二";
        assert_eq!(
            stamp_markdown(md, &style(Position::AfterParagraph(1))),
            "---\na: 1\n---\n段一\n\n【AI生成】\n\n```\n代码\n\n更多\n```\n\n段二"
        );
        assert_eq!(
            stamp_markdown(md, &style(Position::AfterParagraph(2))),
            "---\na: 1\n---\n段一\n\n```\n代码\n\n更多\n```\n\n段二\n\n【AI生成】\n"
        );
        assert_eq!(
            stamp_markdown("x\n```\nopen", &style(Position::End)),
            "x\n```\nopen\n```\n\n【AI生成】\n"
        );
        assert_eq!(stamp_markdown("", &style(Position::End)), "【AI生成】\n");
    }

    #[test]
    fn html_positions() {
        let html = "<!DOCTYPE html><html><head><style>p{}</style></head><BODY class=x><!-- <p>no</p> --><p>一</p><script>'</p>'</script><p>二</p></body></html>";
        let el = html_element(DEFAULT_LABEL);
        let start = stamp_html(html, &style(Position::Start));
        assert!(start.contains(&format!("<BODY class=x>\n{el}\n<!--")), "{start}");
        let mid = stamp_html(html, &style(Position::AfterParagraph(1)));
        assert!(mid.contains(&format!("<p>一</p>\n{el}\n<script>")), "{mid}");
        let mid2 = stamp_html(html, &style(Position::AfterParagraph(2)));
        assert!(mid2.contains(&format!("<p>二</p>\n{el}\n</body>")), "{mid2}");
        let end = stamp_html("<p>x</p>", &style(Position::End));
        assert_eq!(end, format!("<p>x</p>\n{el}\n"));
        let fragment = stamp_html("<p>x</p>", &style(Position::Start));
        assert_eq!(fragment, format!("\n{el}\n<p>x</p>"));
        assert!(html_element("<AI生成&>").contains("&lt;AI生成&amp;&gt;"));
    }

    #[test]
    fn stream_matches_whole_text() {
        let text = "\u{feff}第一段\n\n第二段 é́ 👩‍👩‍👧\n\n第三段";
        for p in [
            Position::Start,
            Position::End,
            Position::StartAndEnd,
            Position::AfterParagraph(1),
            Position::AfterParagraph(2),
            Position::AfterParagraph(9),
        ] {
            let mut out = Vec::new();
            let n = stamp_stream(&mut text.as_bytes(), &mut out, &style(p)).unwrap();
            assert_eq!(n, out.len() as u64);
            assert_eq!(String::from_utf8(out).unwrap(), stamp_text(text, &style(p)), "{p:?}");
        }
        let mut out = Vec::new();
        assert!(stamp_stream(&mut &b"ok\xff"[..], &mut out, &style(Position::End)).is_err());
        assert!(stamp_stream(&mut &b"ok\xe4\xb8"[..], &mut out, &style(Position::End)).is_err());
    }

    #[test]
    fn extensions() {
        assert_eq!(TextKind::from_extension("MD"), Some(TextKind::Markdown));
        assert_eq!(TextKind::from_extension("htm"), Some(TextKind::Html));
        assert_eq!(TextKind::from_extension("txt"), Some(TextKind::Plain));
        assert_eq!(TextKind::from_extension("pdf"), None);
    }
}
