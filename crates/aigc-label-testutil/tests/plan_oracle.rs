//! `plan_agrees` checks the output on its own terms, not only against `Carrier::write` (which
//! executes the same plan): a plan that leaves an old copy behind agrees with itself, and fails.

use std::ops::Range;

use aigc_label_core::carrier::Info;
use aigc_label_core::io::ReadSeek;
use aigc_label_core::json::{self, Shape};
use aigc_label_core::plan::{Plan, PlanBuilder};
use aigc_label_core::{Carrier, Found, Label, Limits, Result};
use aigc_label_testutil::{plan_agrees, sample_label};

/// Lines of text, each line that opens with `{` a label copy. The plan puts the new label
/// first; `faulty` keeps the old copies after it (as a carrier that misses a copy would).
struct Lines {
    faulty: bool,
}

/// Each line: its range, whether it is a label copy, its text.
fn lines(input: &mut dyn ReadSeek) -> Result<Vec<(Range<u64>, bool, String)>> {
    input.rewind()?;
    let mut all = Vec::new();
    input.read_to_end(&mut all)?;
    let mut out = Vec::new();
    let mut start = 0u64;
    for line in all.split_inclusive(|&b| b == b'\n') {
        let text = String::from_utf8_lossy(line).trim_end().to_string();
        let end = start + line.len() as u64;
        out.push((start..end, text.starts_with('{'), text));
        start = end;
    }
    Ok(out)
}

impl Carrier for Lines {
    fn info(&self) -> &'static Info {
        &Info {
            format: "lines",
            media_type: "text/x-lines",
            extensions: &["lines"],
        }
    }

    fn sniff(&self, _: &[u8]) -> bool {
        true
    }

    fn find(&self, input: &mut dyn ReadSeek, _: &Limits) -> Result<Vec<Found>> {
        Ok(lines(input)?
            .into_iter()
            .filter(|(_, copy, _)| *copy)
            .map(|(range, _, text)| Found {
                carrier: "line".into(),
                range,
                text,
                expected_shape: Shape::Bare,
                checks: Vec::new(),
            })
            .collect())
    }

    fn plan(
        &self,
        input: &mut dyn ReadSeek,
        label: &Label,
        limits: &Limits,
        mut out: PlanBuilder<'_>,
    ) -> Result<Option<Plan>> {
        let found = self.find(input, limits)?;
        out.put(format!("{}\n", json::to_json(label, Shape::Bare)).as_bytes());
        let label_range = 0..out.position();
        for (range, copy, _) in lines(input)? {
            if self.faulty || !copy {
                out.copy(range);
            }
        }
        Ok(Some(out.finish(found, label_range)))
    }
}

fn labelled() -> Vec<u8> {
    let old = json::to_json(&sample_label(), Shape::Bare);
    format!("a line\n{old}\nanother line\n").into_bytes()
}

#[test]
fn a_plan_that_removes_the_old_copy_passes() {
    let label = Label::new(sample_label().content_producer, "new");
    plan_agrees(&Lines { faulty: false }, &labelled(), &label, &Limits::default());
}

#[test]
fn a_plan_that_agrees_with_itself_but_leaves_a_copy_fails() {
    let label = Label::new(sample_label().content_producer, "new");
    let failed = std::panic::catch_unwind(|| {
        plan_agrees(&Lines { faulty: true }, &labelled(), &label, &Limits::default());
    });
    let payload = failed.expect_err("a second copy must fail the check");
    let message = payload.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("exactly one label"), "{message}");
}
