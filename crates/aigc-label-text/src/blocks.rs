//! A line scanner for plain text and Markdown: where the front matter ends, where paragraphs end,
//! and whether the text ends inside an open code fence.
//!
//! Only what label placement needs is recognised: YAML front matter (`---` ... `---` or `...`),
//! fenced code blocks (three or more backticks or tildes, closed by a fence of the same character
//! at least as long, CommonMark §4.5) and indented code blocks (four spaces or a tab after a blank
//! line, §4.4). A label is never placed inside any of these.

/// A code fence that is open: its character and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fence {
    pub ch: u8,
    pub len: usize,
}

impl Fence {
    /// The line that closes this fence.
    pub fn closer(self) -> String {
        String::from_utf8(vec![self.ch; self.len]).unwrap_or_default()
    }
}

/// What the scanner learnt about a text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Byte offset where the body starts (after the BOM and front matter).
    pub body_start: usize,
    /// Byte offset just past the last line of each paragraph outside code, in order.
    pub paragraph_ends: Vec<usize>,
    /// The fence left open at the end of the text, if any.
    pub open_fence: Option<Fence>,
}

/// Iterates over lines with their byte offsets; each line includes its line break.
pub(crate) fn lines_with_offsets(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        let rest = text.get(pos..).filter(|r| !r.is_empty())?;
        let len = rest.find('\n').map_or(rest.len(), |i| i + 1);
        let line = rest.get(..len)?;
        let start = pos;
        pos += len;
        Some((start, line))
    })
}

/// How far into a text its line ending is looked for: a label must be placed before a streamed
/// text's first line may have arrived, so the window is bounded, and the same for whole texts.
pub(crate) const EOL_WINDOW: usize = 64 << 10;

/// The line ending a text uses, told by its first line break in the first [`EOL_WINDOW`] bytes:
/// `"\r\n"` when that break is CRLF, `"\n"` otherwise (also when there is none). Every line
/// break we add uses it, so a CRLF file stays CRLF throughout.
pub(crate) fn line_ending(text: &[u8]) -> &'static str {
    let window = text.get(..EOL_WINDOW.min(text.len())).unwrap_or_default();
    match window.iter().position(|&b| b == b'\n') {
        Some(i) if i > 0 && window.get(i - 1) == Some(&b'\r') => "\r\n",
        _ => "\n",
    }
}

/// The byte length of a leading UTF-8 byte order mark.
pub(crate) fn bom_len(text: &str) -> usize {
    if text.starts_with('\u{feff}') { 3 } else { 0 }
}

/// True if `line` (with or without its line break) is exactly `marker`.
pub(crate) fn is_marker_line(line: &str, marker: &str) -> bool {
    line.trim_end_matches(['\n', '\r']).trim_end_matches([' ', '\t']) == marker
}

/// If `text` (after a BOM) opens with YAML front matter, the byte range of its inner lines and
/// the offset just past the closing marker line.
pub(crate) fn front_matter(text: &str) -> Option<(std::ops::Range<usize>, usize)> {
    let start = bom_len(text);
    let mut lines = lines_with_offsets(text.get(start..)?).map(|(o, l)| (o + start, l));
    let (_, first) = lines.next()?;
    if !is_marker_line(first, "---") || !first.ends_with('\n') {
        return None;
    }
    let inner_start = start + first.len();
    for (offset, line) in lines {
        if is_marker_line(line, "---") || is_marker_line(line, "...") {
            return Some((inner_start..offset, offset + line.len()));
        }
    }
    None
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// A fence opener or closer: up to three spaces, then three or more backticks or tildes.
fn fence_of(line: &str) -> Option<(Fence, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = line.get(indent..)?;
    let ch = *rest.as_bytes().first()?;
    if ch != b'`' && ch != b'~' {
        return None;
    }
    let len = rest.bytes().take_while(|&b| b == ch).count();
    (len >= 3).then(|| (Fence { ch, len }, rest.get(len..).unwrap_or_default()))
}

fn is_indented_code(line: &str) -> bool {
    line.starts_with("    ") || line.starts_with('\t')
}

/// Scans `text`. With `markdown` false, the whole text is plain paragraphs.
pub(crate) fn scan(text: &str, markdown: bool) -> Layout {
    let mut layout = Layout {
        body_start: bom_len(text),
        ..Layout::default()
    };
    if let Some((_, end)) = front_matter(text).filter(|_| markdown) {
        layout.body_start = end;
    }
    let body = text.get(layout.body_start..).unwrap_or_default();
    let mut state = State::default();
    for (offset, line) in lines_with_offsets(body) {
        let end = layout.body_start + offset + line.len();
        state.line(line, end, markdown, &mut layout);
    }
    if let Some(end) = state.paragraph_end {
        layout.paragraph_ends.push(end);
    }
    layout.open_fence = state.fence;
    layout
}

/// The scanner's state between lines; also driven line by line by the Markdown carrier, which
/// streams its body.
#[derive(Debug, Default, Clone)]
pub(crate) struct State {
    pub fence: Option<Fence>,
    in_indented_code: bool,
    /// End offset of the paragraph being read, if a paragraph is open.
    paragraph_end: Option<usize>,
}

impl State {
    /// Feeds one line ending at byte `end`; closes paragraphs into `layout`.
    pub fn line(&mut self, line: &str, end: usize, markdown: bool, layout: &mut Layout) {
        if markdown {
            if let Some(open) = self.fence {
                let closes =
                    fence_of(line).is_some_and(|(f, rest)| f.ch == open.ch && f.len >= open.len && is_blank(rest));
                if closes {
                    self.fence = None;
                }
                return;
            }
            // A backtick fence's info string may not contain a backtick (CommonMark §4.5).
            let opener = fence_of(line).filter(|(f, rest)| !(f.ch == b'`' && rest.contains('`')));
            if let Some((f, _)) = opener {
                self.close_paragraph(layout);
                self.fence = Some(f);
                return;
            }
            if self.paragraph_end.is_none() && (is_indented_code(line) || (self.in_indented_code && is_blank(line))) {
                self.in_indented_code = true;
                return;
            }
            self.in_indented_code = false;
        }
        if is_blank(line) {
            self.close_paragraph(layout);
        } else {
            self.paragraph_end = Some(end);
        }
    }

    fn close_paragraph(&mut self, layout: &mut Layout) {
        if let Some(end) = self.paragraph_end.take() {
            layout.paragraph_ends.push(end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_and_paragraphs() {
        let text = "---\ntitle: x\n---\nfirst\nline\n\nsecond\n";
        let (inner, end) = front_matter(text).unwrap();
        assert_eq!(&text[inner], "title: x\n");
        let layout = scan(text, true);
        assert_eq!(layout.body_start, end);
        let ends: Vec<&str> = layout.paragraph_ends.iter().map(|&e| &text[..e]).collect();
        assert_eq!(ends, ["---\ntitle: x\n---\nfirst\nline\n", text]);
    }

    #[test]
    fn code_is_not_a_paragraph() {
        let text = "p1\n\n```rust\nlet x;\n\nmore\n```\n\n    indented\n\n    still code\np2\n";
        let layout = scan(text, true);
        assert_eq!(layout.paragraph_ends.len(), 2, "{layout:?}");
        assert!(layout.open_fence.is_none());
        assert_eq!(scan(text, false).paragraph_ends.len(), 5);
    }

    #[test]
    fn open_fence_at_end() {
        let layout = scan("p\n\n~~~~\ncode\n~~~\n", true);
        assert_eq!(layout.open_fence, Some(Fence { ch: b'~', len: 4 }));
        assert_eq!(layout.open_fence.unwrap().closer(), "~~~~");
    }

    #[test]
    fn line_endings() {
        assert_eq!(line_ending(b"a\r\nb\n"), "\r\n");
        assert_eq!(line_ending(b"a\nb\r\n"), "\n");
        assert_eq!(line_ending(b"\na"), "\n");
        assert_eq!(line_ending(b"no break"), "\n");
        assert_eq!(line_ending(b"lone\rcr\r\n"), "\r\n");
        let far = [vec![b'x'; EOL_WINDOW], b"\r\n".to_vec()].concat();
        assert_eq!(line_ending(&far), "\n", "past the window");
    }

    #[test]
    fn no_front_matter_without_closing_line() {
        assert!(front_matter("---\ntitle: x\n").is_none());
        assert!(front_matter("--- \nx\n---").is_some());
        assert!(front_matter("\u{feff}---\r\nx: 1\r\n...\r\nbody").is_some());
    }
}
