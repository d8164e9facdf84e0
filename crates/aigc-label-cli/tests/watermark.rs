//! `aigc-label watermark` and `inspect --watermark`: the mark is found again after the file is
//! re-encoded smaller with its metadata stripped (by ImageMagick), and not in the original.

use std::process::{Command, Output};

use aigc_label_testutil::{fixture, tool};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aigc-label"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn watermark_then_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("stamp/metadata.jpg");
    let out = dir.path().join("out.jpg");
    let (input, out_s) = (input.to_str().unwrap(), out.to_str().unwrap());
    let made = run(&[
        "watermark",
        input,
        "-o",
        out_s,
        "--producer",
        "001191440300708461136T1XGW3",
        "--produce-id",
        "cli-wm-1",
    ]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    assert!(String::from_utf8_lossy(&made.stderr).contains("EXIF kept"));
    // A second run without --force refuses to overwrite.
    let again = run(&[
        "watermark",
        input,
        "-o",
        out_s,
        "--producer",
        "001191440300708461136T1XGW3",
        "--produce-id",
        "x",
    ]);
    assert!(!again.status.success());

    let json = run(&["inspect", "--watermark", "--json", out_s]);
    let line: serde_json::Value = serde_json::from_slice(json.stdout.split(|&b| b == b'\n').next().unwrap()).unwrap();
    assert_eq!(line["watermark"]["found"], true, "{line}");
    assert_eq!(line["watermark"]["matches_label"], true, "{line}");
    let payload = line["watermark"]["payload"].as_str().unwrap().to_owned();

    let original = run(&["inspect", "--watermark", input]);
    assert!(String::from_utf8_lossy(&original.stdout).contains("none found"));

    // Stripped and shrunk: the label is gone, the watermark is not.
    let Some(magick) = tool("convert") else { return };
    let small = dir.path().join("small.jpg");
    let status = Command::new(magick)
        .arg(&out)
        .args(["-strip", "-resize", "60%", "-quality", "75"])
        .arg(&small)
        .status()
        .unwrap();
    assert!(status.success());
    let text = run(&["inspect", "--watermark", small.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains(&format!("payload {payload}")), "{stdout}");
    assert!(stdout.contains("unlabelled"), "{stdout}");
}
