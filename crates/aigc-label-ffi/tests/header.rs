//! The committed `aigc_label.h` is what cbindgen generates from the current source.

use std::ffi::OsStr;
use std::path::Path;

#[test]
fn committed_header_is_current() {
    let Some(cbindgen) = aigc_label_testutil::tool("cbindgen") else {
        return;
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let fresh = tmp.path().join("aigc_label.h");
    let out = std::process::Command::new(&cbindgen)
        .current_dir(dir)
        .args([
            OsStr::new("--config"),
            OsStr::new("cbindgen.toml"),
            OsStr::new("--output"),
        ])
        .arg(&fresh)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cbindgen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = std::fs::read_to_string(dir.join("aigc_label.h")).unwrap();
    let generated = std::fs::read_to_string(&fresh).unwrap();
    assert!(
        committed == generated,
        "crates/aigc-label-ffi/aigc_label.h is stale; regenerate it with \
         `cd crates/aigc-label-ffi && cbindgen --config cbindgen.toml --output aigc_label.h`"
    );
}
