//! Plain-text files (Markdown, `.txt`, subtitles): explicit label text in the body.
//!
//! Text has no magic bytes; the registry finds Markdown by its front matter or its file name, and
//! this scanner reads what it found. The file is read in blocks and searched line by line, so
//! memory stays flat however long the file; a line longer than [`MAX_LINE`] is searched in
//! pieces (a label split across two pieces of one huge line may be missed, which a hostile file
//! gains nothing from: traces only ever raise suspicion).

use std::ops::Range;

use crate::io::ReadSeek;
use crate::{Limits, Result};

use super::{Trace, TraceScanner, explicit_label};

/// Bytes read per call.
const BLOCK: usize = 64 << 10;
/// Longest line searched whole.
const MAX_LINE: usize = 64 << 10;
/// Traces reported per file: the first few are evidence enough.
const MAX_TRACES: usize = 16;

/// The plain-text scanner.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextScanner;

impl TraceScanner for TextScanner {
    fn format(&self) -> &'static str {
        "text"
    }

    fn scan(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Trace>> {
        let mut out = Vec::new();
        let mut line: Vec<u8> = Vec::new();
        let mut line_start = 0u64;
        let mut pos = 0u64;
        let mut block = vec![0u8; BLOCK];
        let mut blocks = 0u64;
        loop {
            let n = match input.read(&mut block) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            blocks += 1;
            if blocks > limits.max_structures {
                break;
            }
            for piece in block.get(..n).unwrap_or(&[]).split_inclusive(|&b| b == b'\n') {
                line.extend_from_slice(piece);
                pos += piece.len() as u64;
                if piece.ends_with(b"\n") || line.len() >= MAX_LINE {
                    search(&line, line_start..pos, &mut out);
                    line.clear();
                    line_start = pos;
                }
            }
            if out.len() >= MAX_TRACES {
                out.truncate(MAX_TRACES);
                return Ok(out);
            }
        }
        search(&line, line_start..pos, &mut out);
        out.truncate(MAX_TRACES);
        Ok(out)
    }
}

fn search(line: &[u8], range: Range<u64>, out: &mut Vec<Trace>) {
    if line.is_empty() {
        return;
    }
    out.extend(explicit_label(&String::from_utf8_lossy(line), "text line", range));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn scan(text: &[u8]) -> Vec<Trace> {
        TextScanner.scan(&mut Cursor::new(text), &Limits::default()).unwrap()
    }

    #[test]
    fn labels_standing_alone_are_found_with_their_line() {
        let text = "# 标题\n\n正文第一段。\n\n【AI生成】\n";
        let traces = scan(text.as_bytes());
        assert_eq!(traces.len(), 1);
        let range = traces[0].range.start as usize..traces[0].range.end as usize;
        assert_eq!(&text[range], "【AI生成】\n");
        assert!(traces[0].detail.contains("AI生成"));
        assert_eq!(scan("关于生成式AI的研究：AI生成内容的监管\n".as_bytes()), []);
        assert_eq!(scan(b""), []);
    }

    #[test]
    fn lines_split_across_blocks_and_huge_lines_are_bounded() {
        let mut text = vec![b'x'; BLOCK - 3];
        text.extend_from_slice("\n由AI生成\n".as_bytes());
        assert_eq!(scan(&text).len(), 1);
        let long = "本内容由AI生成。".repeat(MAX_LINE);
        let traces = scan(long.as_bytes());
        assert_eq!(traces.len(), MAX_TRACES);
        assert!(
            traces
                .iter()
                .all(|t| t.range.end - t.range.start <= MAX_LINE as u64 + 3)
        );
    }
}
