//! Helpers shared by the command's end-to-end tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// A generation service's provider code.
pub const PRODUCER: &str = "001191440300708461136T1XGW3";
/// A distribution platform's provider code.
pub const PLATFORM: &str = "001191110108551385082Q20000";

/// The command under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aigc-label"))
}

/// A bundled sample file.
pub fn sample(name: &str) -> PathBuf {
    aigc_label_testutil::workspace_root()
        .join("examples/samples")
        .join(name)
}

/// Runs the command with `args`.
pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run aigc-label")
}

/// The exit status.
pub fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

/// The per-file objects of a JSON Lines output; checks that the last line is the summary and
/// that it counts those files.
pub fn json_lines(out: &Output) -> Vec<Value> {
    let mut lines: Vec<Value> = String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let summary = lines.pop().expect("a summary line");
    assert_eq!(summary["summary"]["files"], lines.len() as u64, "{summary}");
    lines
}

/// Validates every line of `out` against the committed schema with Python's `jsonschema`, a
/// validator from outside the project; returns how many lines there were (None: skipped).
pub fn assert_valid(out: &Output) -> Option<usize> {
    let python = aigc_label_testutil::python_with("jsonschema")?;
    let schema = aigc_label_testutil::workspace_root().join("docs/output.schema.json");
    let script = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
n = 0
for line in sys.stdin:
    errors = [e.message for e in validator.iter_errors(json.loads(line))]
    if errors:
        sys.exit(f"{line.strip()}: {errors}")
    n += 1
print(n)
"#;
    let mut child = Command::new(python)
        .args(["-c", script])
        .arg(schema)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(&out.stdout).unwrap();
    }
    let result = child.wait_with_output().unwrap();
    assert!(
        result.status.success(),
        "schema validation failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    Some(String::from_utf8(result.stdout).unwrap().trim().parse().unwrap())
}
