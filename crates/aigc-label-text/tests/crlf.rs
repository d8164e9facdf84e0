//! CRLF files stay CRLF: every line we add (front matter, the `AIGC` mapping, the visible label)
//! ends the way the file's first line does, and every original line is kept byte for byte.

use std::io::Cursor;

use aigc_label_core::{Carrier, Limits};
use aigc_label_testutil::{fixture, sample_label};
use aigc_label_text::{Markdown, Position, TextStyle, stamp_html, stamp_markdown, stamp_stream, stamp_text};

const POSITIONS: [Position; 4] = [
    Position::Start,
    Position::End,
    Position::StartAndEnd,
    Position::AfterParagraph(1),
];

fn read(name: &str) -> String {
    String::from_utf8(std::fs::read(fixture(name)).unwrap()).unwrap()
}

/// Every line break in `text` is CRLF, and there is no lone CR.
fn assert_all_crlf(text: &str, what: &str) {
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\n' => assert!(i > 0 && bytes[i - 1] == b'\r', "{what}: LF without CR at {i}: {text:?}"),
            b'\r' => assert_eq!(bytes.get(i + 1), Some(&b'\n'), "{what}: lone CR at {i}: {text:?}"),
            _ => {}
        }
    }
}

/// The original's lines appear in the output in order, byte for byte (line breaks included),
/// and every other output line is one we add: blank, the label, or front matter of ours.
fn assert_lines_kept(input: &str, output: &str, what: &str) {
    let mut out = output.split_inclusive('\n');
    for line in input.split_inclusive('\n') {
        loop {
            let next = out
                .next()
                .unwrap_or_else(|| panic!("{what}: line {line:?} lost: {output:?}"));
            if next == line {
                break;
            }
            let added = next.trim();
            let ours = added.is_empty()
                || added.contains("AI生成")
                || added == "---"
                || added == "AIGC:"
                || next.starts_with("  ");
            assert!(ours, "{what}: unexpected line {next:?} before {line:?}: {output:?}");
        }
    }
}

fn check(input: &str, output: &str, what: &str) {
    assert_all_crlf(output, what);
    assert_lines_kept(input, output, what);
    assert!(output.contains("【AI生成】"), "{what}: no label: {output:?}");
}

#[test]
fn stamping_keeps_crlf() {
    for name in ["text/crlf.txt", "text/crlf.md"] {
        let input = read(name);
        assert_all_crlf(&input, name);
        for position in POSITIONS {
            let style = TextStyle::default().at(position);
            let what = format!("{name} {position:?}");
            let plain = stamp_text(&input, &style);
            check(&input, &plain, &format!("stamp_text {what}"));
            let mut streamed = Vec::new();
            stamp_stream(&mut input.as_bytes(), &mut streamed, &style).unwrap();
            assert_eq!(String::from_utf8(streamed).unwrap(), plain, "stamp_stream {what}");
            check(
                &input,
                &stamp_markdown(&input, &style),
                &format!("stamp_markdown {what}"),
            );
        }
    }
    let html = "<html>\r\n<body>\r\n<p>一</p>\r\n</body>\r\n</html>\r\n";
    for position in POSITIONS {
        let out = stamp_html(html, &TextStyle::default().at(position));
        assert_all_crlf(&out, "html");
        assert_lines_kept(html, &out, "html");
    }
}

#[test]
fn streamed_text_decides_its_line_ending_before_the_start_label() {
    // The first line break arrives in a later read than the text before it.
    struct Trickle<'a>(&'a [u8]);
    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(3).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let input = read("text/crlf.txt");
    let style = TextStyle::default().at(Position::StartAndEnd);
    let mut out = Vec::new();
    stamp_stream(&mut Trickle(input.as_bytes()), &mut out, &style).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), stamp_text(&input, &style));
}

#[test]
fn embedding_keeps_crlf() {
    // With front matter (the fixture), and without: the same text with none.
    for (what, input) in [
        ("front matter", read("text/crlf.md")),
        ("no front matter", read("text/crlf.txt")),
    ] {
        let mut out = Vec::new();
        Markdown
            .write(
                &mut Cursor::new(input.as_bytes()),
                &mut out,
                &sample_label(),
                &Limits::default(),
            )
            .unwrap();
        let out = String::from_utf8(out).unwrap();
        check(&input, &out, what);
        let found = Markdown
            .find(&mut Cursor::new(out.as_bytes()), &Limits::default())
            .unwrap();
        assert_eq!(found.len(), 1, "{what}");
        // Stamped, then embedded: still one visible label, still CRLF.
        let stamped = stamp_markdown(&input, &TextStyle::default().at(Position::End));
        let mut again = Vec::new();
        Markdown
            .write(
                &mut Cursor::new(stamped.as_bytes()),
                &mut again,
                &sample_label(),
                &Limits::default(),
            )
            .unwrap();
        let again = String::from_utf8(again).unwrap();
        check(&input, &again, what);
        assert_eq!(again.matches("【AI生成】").count(), 1, "{what}: {again:?}");
    }
}

#[test]
fn lf_files_stay_lf() {
    let input = "一\n\n二\r\n";
    let out = stamp_text(input, &TextStyle::default().at(Position::StartAndEnd));
    assert_eq!(out, "【AI生成】\n一\n\n二\r\n【AI生成】\n");
}
