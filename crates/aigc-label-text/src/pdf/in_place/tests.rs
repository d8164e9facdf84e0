use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use aigc_label_core::in_place::{Storage, Update};
use aigc_label_core::json::{self, Shape};
use aigc_label_core::{Carrier, Label};
use aigc_label_testutil::in_place::{Recorder, replay_torn};
use aigc_label_testutil::{fixture, run, tool};

use super::*;
use crate::pdf::tests::tiny_pdf;

fn label() -> Label {
    Label::new("001191440300708461136T1XGW3", "pdf-in-place")
}

/// The label texts `find` reports in `file`.
fn texts(file: &[u8]) -> Vec<String> {
    Pdf.find(&mut Cursor::new(file), &Limits::default())
        .unwrap()
        .into_iter()
        .map(|f| f.text)
        .collect()
}

/// The update on `input`, recorded: the file after it, the writes, and the syncs.
fn recorded(input: &[u8]) -> (Update, Recorder) {
    let mut rec = Recorder::new(input.to_vec());
    let update = Pdf
        .in_place()
        .unwrap()
        .update(&mut rec, &label(), &Limits::default())
        .unwrap();
    (update, rec)
}

/// Every torn state of the update on `input`: each write cut every `body_step` bytes (the tail
/// and the switch lie in one sector: whole or not at all). Each state reads as exactly the old
/// label or the new one, the old until the switch lands; `seen` gets each state. An append is
/// three writes; a replacement of our own update four, and the cut of the file after them,
/// whose state `seen` gets last (write 4, cut 0). Returns the file at the end.
fn torn_states(
    input: &[u8],
    old: Option<&str>,
    body_step: usize,
    mut seen: impl FnMut(&[u8], usize, usize),
) -> Vec<u8> {
    let (update, rec) = recorded(input);
    assert!(matches!(update, Update::InPlace(_)), "{update:?}");
    let new = json::to_json(&label(), Shape::Bare);
    let replaces = !rec.cuts.is_empty();
    let writes = rec.writes.len();
    if replaces {
        assert_eq!(writes, 4, "the tail, the body, the switch, the update at its place");
        assert_eq!(rec.syncs, vec![1, 2, 3, 4, 4], "a sync after each step and the cut");
        let (probe, cut) = (rec.cuts[0], rec.cuts[1]);
        assert_eq!(
            probe,
            (0, input.len() as u64),
            "asked first, with the file's own length"
        );
        assert_eq!((rec.cuts.len(), cut.0), (2, 4), "the cut comes last");
    } else {
        assert_eq!(writes, 3, "the tail, the body, the switch");
        assert_eq!(rec.syncs, vec![1, 2, 3], "a sync after each step");
    }
    // The states of a replacement: each still ends with our update (what an interrupted update
    // leaves after it, before the switch; its copy past the end, after it).
    let mut states = Vec::new();
    let mut check = |state: &[u8], i: usize, cut: usize| {
        let switched = i > 2 || (i == 2 && cut > 0);
        if replaces {
            states.push(state.to_vec());
        }
        let want: Vec<String> = if switched {
            vec![new.clone()]
        } else {
            old.map(str::to_string).into_iter().collect()
        };
        assert_eq!(texts(state), want, "write {i} cut at {cut}");
        seen(state, i, cut);
    };
    let mut last = replay_torn(
        input,
        &rec.writes,
        |i, bytes| if i == 1 || i == 3 { body_step } else { bytes.len() },
        &mut check,
    );
    if let Some(&(_, len)) = rec.cuts.get(1) {
        last.truncate(usize::try_from(len).unwrap());
        check(&last, 4, 0);
    }
    assert_eq!(last, rec.into_inner());
    for (n, state) in states.iter().enumerate() {
        assert_eq!(rewritten(state), last, "state {n}: a rewrite finishes the update");
    }
    last
}

#[test]
fn every_torn_state_reads_as_the_old_label_or_the_new() {
    let input = tiny_pdf("<< /Title (t) /AIGC (old) >>");
    let last = torn_states(&input, Some("old"), 7, |_, _, _| {});
    let mut written = Vec::new();
    Pdf.write(&mut Cursor::new(&input), &mut written, &label(), &Limits::default())
        .unwrap();
    assert_eq!(last, written, "in place ends with the writer's bytes exactly");
}

#[test]
fn writes_the_update_and_the_offset_once_more() {
    let input = tiny_pdf("<< /Title (t) >>");
    let mut written = Vec::new();
    Pdf.write(&mut Cursor::new(&input), &mut written, &label(), &Limits::default())
        .unwrap();
    let (update, rec) = recorded(&input);
    let Update::InPlace(w) = update else {
        panic!("{update:?}")
    };
    let digits = rec.writes[2].1.len() as u64;
    assert!((1..=20).contains(&digits));
    assert_eq!(w.bytes_written, (written.len() - input.len()) as u64 + digits);
    assert_eq!(rec.written(), w.bytes_written);
    let file = rec.into_inner();
    assert_eq!(file, written);
    let found = Pdf.find(&mut Cursor::new(&file), &Limits::default()).unwrap();
    assert_eq!(found[0].range, w.label_range);
}

#[test]
fn the_old_tail_is_padded_to_the_new_ones_length() {
    // The old offset has three digits, the new one four (a title length whose tail stays
    // inside a sector).
    let (input, rec) = (0..1000)
        .map(|n| tiny_pdf(&format!("<< /Title ({}) >>", "t".repeat(n))))
        .map(|input| {
            let (update, rec) = recorded(&input);
            (input, rec, update)
        })
        .find_map(|(input, rec, update)| {
            let padded = rec.writes.first().is_some_and(|w| w.1.starts_with(b"startxref\n "));
            (matches!(update, Update::InPlace(_)) && padded).then_some((input, rec))
        })
        .unwrap();
    let (at, tail) = &rec.writes[0];
    let text = String::from_utf8(tail.clone()).unwrap();
    assert!(
        text.starts_with("startxref\n ") && text.ends_with("\n%%EOF\n"),
        "{text:?}"
    );
    let (switch_at, new) = &rec.writes[2];
    assert_eq!(*switch_at, at + 10);
    assert_eq!(text.len(), 10 + new.len() + 7);
    let number: u64 = text[10..10 + new.len()].trim().parse().unwrap();
    let expected = String::from_utf8_lossy(&input);
    let old_xref: u64 = expected
        .rsplit("startxref\n")
        .next()
        .unwrap()
        .trim_end_matches("\n%%EOF")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(number, old_xref);
    // The tools take the padded offset too, in every state.
    let pages = witnesses(&input, None, "original");
    torn_states(&input, None, usize::MAX, |state, i, cut| {
        witnesses(state, Some(&pages), &format!("padded: write {i} cut at {cut}"));
    });
}

/// `input` labelled by the writer with `old`.
fn labelled(input: &[u8], old: &Label) -> Vec<u8> {
    let mut out = Vec::new();
    Pdf.write(&mut Cursor::new(input), &mut out, old, &Limits::default())
        .unwrap();
    out
}

/// What the rewrite makes of `input` with the test's label.
fn rewritten(input: &[u8]) -> Vec<u8> {
    labelled(input, &label())
}

#[test]
fn our_own_update_is_replaced_in_place_by_the_rewrites_bytes() {
    let input = tiny_pdf("<< /Title (t) >>");
    // Old labels shorter and longer than the new one: the copy goes right after our update, or
    // past where the new update ends, over a hole.
    for produce_id in ["a", &"b".repeat(400)] {
        let old = Label::new("001191440300708461136T1XGW3", produce_id);
        let file = labelled(&input, &old);
        let old_text = json::to_json(&old, Shape::Bare);
        let mut states = Vec::new();
        let last = torn_states(&file, Some(&old_text), 5, |state, _, _| {
            states.push(state.to_vec());
        });
        assert_eq!(last, rewritten(&file), "the rewrite's bytes exactly");
        // Killed at any moment, the file still ends with our update (followed by what the
        // update wrote past it, before its switch) or with the copy (after it): the next write,
        // a rewrite or in place, makes what the update would have, for any label.
        let other = Label::new("001191440300708461136T1XGW3", "c".repeat(200));
        assert!(states.len() > 10, "{}", states.len());
        for copy in &states {
            assert_eq!(labelled(copy, &other), labelled(&file, &other));
            let (update, rec) = recorded(copy);
            assert!(matches!(update, Update::InPlace(_)), "{update:?}");
            assert_eq!(rec.into_inner(), last);
        }
        assert!(last.starts_with(&input[..input.len() - 1]));
        let (update, rec) = recorded(&file);
        let Update::InPlace(w) = update else {
            panic!("{update:?}")
        };
        // The update twice (its copy past the end, then at its place) and the switched digits.
        let update_len = (last.len() - input.len()) as u64;
        assert_eq!(w.bytes_written, rec.written());
        assert!(
            w.bytes_written > 2 * update_len - 10 && w.bytes_written <= 2 * update_len + 20,
            "{} bytes written for an update of {update_len}",
            w.bytes_written
        );
        let found = Pdf.find(&mut Cursor::new(&last), &Limits::default()).unwrap();
        assert_eq!(found[0].range, w.label_range);
    }
}

#[test]
fn repeated_relabels_do_not_grow_the_file() {
    let mut file = labelled(&tiny_pdf("<< /Title (t) >>"), &label());
    let len = file.len();
    for _ in 0..5 {
        let (update, rec) = recorded(&file);
        assert!(matches!(update, Update::InPlace(_)), "{update:?}");
        file = rec.into_inner();
        assert_eq!(file.len(), len);
    }
    assert_eq!(file, rewritten(&file));
}

/// A storage that cannot cut the file (the default `set_len`).
struct Uncut(Cursor<Vec<u8>>);

impl Read for Uncut {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl std::io::Write for Uncut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Seek for Uncut {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.0.seek(pos)
    }
}

impl Storage for Uncut {
    fn sync(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_storage_that_cannot_cut_leaves_our_update_to_a_rewrite() {
    let input = tiny_pdf("<< /Title (t) >>");
    let update = |bytes: &[u8]| {
        let mut uncut = Uncut(Cursor::new(bytes.to_vec()));
        let update = Pdf
            .in_place()
            .unwrap()
            .update(&mut uncut, &label(), &Limits::default())
            .unwrap();
        (update, uncut.0.into_inner())
    };
    let file = labelled(&input, &label());
    let (done, after) = update(&file);
    assert!(matches!(done, Update::Rewrite(_)), "{done:?}");
    assert_eq!(after, file, "nothing written");
    // An append needs no cut.
    let (done, after) = update(&input);
    assert!(matches!(done, Update::InPlace(_)), "{done:?}");
    assert_eq!(after, rewritten(&input));
}

#[test]
fn a_tail_across_a_sector_is_left_to_a_rewrite() {
    // Grow the Title until the tail straddles a sector boundary: some length must.
    let mut refused = 0;
    for n in 0..300 {
        let input = tiny_pdf(&format!("<< /Title ({}) >>", "x".repeat(n)));
        let (update, rec) = recorded(&input);
        if let Update::Rewrite(_) = update {
            assert!(rec.writes.is_empty());
            refused += 1;
        } else {
            let (at, tail) = &rec.writes[0];
            assert!(in_one_sector(*at, tail.len() as u64));
        }
    }
    assert!((1..300).contains(&refused), "{refused}");
}

#[test]
fn a_replacement_moves_its_copy_so_its_tail_stays_in_one_sector() {
    // Whatever the update's length, the copy's place is free: none is left to a rewrite.
    let mut moved = 0;
    for n in 0..300 {
        let input = tiny_pdf(&format!("<< /Title ({}) >>", "x".repeat(n)));
        let file = labelled(&input, &Label::new("001191440300708461136T1XGW3", "first"));
        let (update, rec) = recorded(&file);
        assert!(matches!(update, Update::InPlace(_)), "{n}: {update:?}");
        let (at, tail) = &rec.writes[0];
        assert!(in_one_sector(*at, tail.len() as u64), "{n}");
        // Past the old update and the new one, unless moved on to the next sector.
        let done = rewritten(&file);
        moved += usize::from(rec.writes[1].0 > file.len().max(done.len()) as u64);
        assert_eq!(rec.into_inner(), done, "{n}");
    }
    assert!((1..300).contains(&moved), "{moved}");
}

/// qpdf, pdfinfo and pdftoppm on `state`: a valid file with the same pages as `pages`.
fn witnesses(state: &[u8], pages: Option<&[u8]>, what: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.pdf");
    std::fs::write(&path, state).unwrap();
    if let Some(qpdf) = tool("qpdf") {
        let out = std::process::Command::new(&qpdf)
            .arg("--check")
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{what}: qpdf --check: {text}");
        assert!(!text.contains("WARNING") && !text.contains("recover"), "{what}: {text}");
    }
    if let Some(pdfinfo) = tool("pdfinfo") {
        let out = std::process::Command::new(&pdfinfo).arg(&path).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && err.is_empty(), "{what}: pdfinfo: {err}");
    }
    let mut rendered = Vec::new();
    if let Some(pdftoppm) = tool("pdftoppm") {
        rendered = run(&pdftoppm, &["-r".as_ref(), "20".as_ref(), path.as_os_str()]);
        if let Some(pages) = pages {
            assert!(rendered == pages, "{what}: pages differ");
        }
    }
    rendered
}

fn witnessed(input: &Path) {
    let input = std::fs::read(input).unwrap();
    witnessed_bytes(&input);
    // The same file labelled by the writer: our own update, replaced.
    let ours = labelled(&input, &Label::new("001191440300708461136T1XGW3", "first"));
    witnessed_bytes(&ours);
}

fn witnessed_bytes(input: &[u8]) {
    let old = texts(input).first().cloned();
    let pages = witnesses(input, None, "original");
    let mut states = 0;
    // Every state at the tools: each body cut in about 4 places.
    let (_, rec) = recorded(input);
    let step = (rec.writes[1].1.len() / 4).max(1);
    torn_states(input, old.as_deref(), step, |state, i, cut| {
        witnesses(state, Some(&pages), &format!("write {i} cut at {cut}"));
        states += 1;
    });
    assert!(states >= 6);
}

#[test]
fn every_torn_state_passes_qpdf_pdfinfo_and_renders_the_same_pages() {
    for name in ["text/classic.pdf", "text/objstm.pdf"] {
        witnessed(&fixture(name));
    }
}
