//! XMP packets checked against exiftool, the reference reader: it must read the label from
//! packets we make or update, and keep reading every other property unchanged; we must read
//! what it writes. Each test is skipped (with a message) when exiftool is missing outside CI.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use aigc_label_core::{Limits, xmp};
use aigc_label_testutil::{exiftool_aigc, run, tool, workspace_root};

/// Quotes, markup characters and non-ASCII text exercise every escape.
const JSON: &str = r#"{"Label":"1","ContentProducer":"001191440300708461136T1XGW3","ProduceID":"a&b<c>'d' 中文","ReservedCode1":"","ContentPropagator":"001191440300708461136T1XGW3","PropagateID":"x","ReservedCode2":""}"#;

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("xmp_interop");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

/// Runs exiftool with the TC260 config; `None` when exiftool is missing outside CI.
fn exiftool(args: &[&str], file: &Path) -> Option<String> {
    let exiftool = tool("exiftool")?;
    let config = workspace_root().join("tests/exiftool/tc260.config");
    let mut all: Vec<&OsStr> = vec!["-config".as_ref(), config.as_os_str()];
    all.extend(args.iter().map(OsStr::new));
    all.push(file.as_os_str());
    Some(String::from_utf8_lossy(&run(&exiftool, &all)).into_owned())
}

/// Every XMP tag exiftool reads, one `-G1 -s` line each, except `XMP-TC260:AIGC`.
fn other_tags(file: &Path) -> Option<Vec<String>> {
    let listing = exiftool(&["-a", "-G1", "-s", "-XMP:all"], file)?;
    Some(
        listing
            .lines()
            .filter(|l| !l.starts_with("[XMP-TC260]"))
            .map(str::to_string)
            .collect(),
    )
}

/// A packet exiftool writes, with a title (escaped) and a creator tool.
fn exiftool_packet(name: &str, extra: &[&str]) -> Option<(PathBuf, Vec<u8>)> {
    let path = scratch(name);
    let mut args = vec![
        "-q",
        "-XMP-dc:Title=Sunset & \"sea\" <1>",
        "-XMP-xmp:CreatorTool=Tool 1.0",
    ];
    args.extend_from_slice(extra);
    exiftool(&args, &path)?;
    let bytes = std::fs::read(&path).unwrap();
    Some((path, bytes))
}

#[test]
fn exiftool_reads_new_packets() {
    for padding in [0, xmp::DEFAULT_PADDING] {
        let path = scratch(&format!("new-{padding}.xmp"));
        std::fs::write(&path, xmp::new_packet(JSON, padding)).unwrap();
        let Some(read) = exiftool_aigc(&path) else { return };
        assert_eq!(read, JSON);
        let warnings = exiftool(&["-Warning", "-Error"], &path).unwrap_or_default();
        assert!(warnings.trim().is_empty(), "{warnings}");
    }
}

#[test]
fn updated_packet_keeps_other_properties() {
    let Some((before, packet)) = exiftool_packet("plain.xmp", &[]) else {
        return;
    };
    let limits = Limits::default();
    assert!(xmp::find_aigc(&packet, &limits).unwrap().is_empty());
    let updated = xmp::set_aigc(&packet, JSON, &limits).unwrap();
    // The declaration joins exiftool's own, on its own line and in its quotes.
    let text = String::from_utf8_lossy(&updated);
    assert!(
        text.contains("'http://purl.org/dc/elements/1.1/'\n  xmlns:TC260='http://www.tc260.org.cn/ns/AIGC/1.0/'>"),
        "{text}"
    );
    let after = scratch("plain-updated.xmp");
    std::fs::write(&after, &updated).unwrap();
    assert_eq!(exiftool_aigc(&after).unwrap(), JSON);
    let tags = other_tags(&after).unwrap();
    assert_eq!(tags, other_tags(&before).unwrap());
    assert!(tags.iter().any(|l| l.contains("Sunset & \"sea\" <1>")), "{tags:#?}");
    assert!(
        tags.iter().any(|l| l.contains("CreatorTool") && l.contains("Tool 1.0")),
        "{tags:#?}"
    );

    // Updating again keeps the length (the padding added on growth absorbs it) and the tags.
    let again = xmp::set_aigc(&updated, r#"{"Label":"2"}"#, &limits).unwrap();
    assert_eq!(again.len(), updated.len());
    let path = scratch("plain-updated-again.xmp");
    std::fs::write(&path, &again).unwrap();
    assert_eq!(exiftool_aigc(&path).unwrap(), r#"{"Label":"2"}"#);
    assert_eq!(other_tags(&path).unwrap(), other_tags(&before).unwrap());
}

#[test]
fn reads_and_replaces_what_exiftool_writes() {
    let set = format!("-XMP-TC260:AIGC={JSON}");
    let Some((before, packet)) = exiftool_packet("labelled.xmp", &[&set]) else {
        return;
    };
    let limits = Limits::default();
    let hits = xmp::find_aigc(&packet, &limits).unwrap();
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0].value, JSON);
    assert_eq!(hits[0].form, xmp::XmpForm::Element);

    let new = JSON.replace("\"x\"", "\"y\"");
    let updated = xmp::set_aigc(&packet, &new, &limits).unwrap();
    let after = scratch("labelled-updated.xmp");
    std::fs::write(&after, &updated).unwrap();
    assert_eq!(exiftool_aigc(&after).unwrap(), new);
    assert_eq!(other_tags(&after).unwrap(), other_tags(&before).unwrap());
    let hits = xmp::find_aigc(&updated, &limits).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].value, new);
}

/// The label as exiftool reads it from any XMP group. exiftool (12.57) files a namespace from
/// a config file under the prefix the packet uses (`XMP-ns1`), so `XMP-TC260:AIGC` only finds
/// the `TC260` prefix; `XMP:AIGC` finds it under any prefix.
fn any_prefix_aigc(file: &Path) -> Option<String> {
    exiftool(&["-XMP:AIGC", "-b"], file)
}

#[test]
fn exiftool_agrees_on_attribute_form_and_other_prefixes() {
    for prefix in ["TC260", "ns1"] {
        let packet = format!(
            "<?xpacket begin='\u{feff}' id='W5M0MpCehiHzreSzNTczkc9d'?>\n\
             <x:xmpmeta xmlns:x='adobe:ns:meta/' xmlns:{prefix}='{ns}'>\n\
             <rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>\n\
             <rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/' dc:format='image/jpeg' \
             {prefix}:AIGC='{{&quot;Label&quot;:&#34;2&#34;}}'/>\n\
             </rdf:RDF>\n</x:xmpmeta>\n{pad}<?xpacket end='w'?>",
            ns = xmp::TC260_NS,
            pad = " ".repeat(400),
        );
        let path = scratch(&format!("attribute-{prefix}.xmp"));
        std::fs::write(&path, &packet).unwrap();
        let Some(read) = any_prefix_aigc(&path) else { return };
        assert_eq!(read, r#"{"Label":"2"}"#);
        let limits = Limits::default();
        let hits = xmp::find_aigc(packet.as_bytes(), &limits).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(
            (hits[0].value.as_str(), hits[0].prefix.as_str()),
            (r#"{"Label":"2"}"#, prefix)
        );
        assert_eq!(hits[0].form, xmp::XmpForm::Attribute);

        let updated = xmp::set_aigc(packet.as_bytes(), JSON, &limits).unwrap();
        assert_eq!(updated.len(), packet.len());
        let after = scratch(&format!("attribute-{prefix}-updated.xmp"));
        std::fs::write(&after, &updated).unwrap();
        assert_eq!(any_prefix_aigc(&after).unwrap(), JSON);
        let others = |f: &Path| -> Vec<String> {
            let tags = other_tags(f).unwrap();
            tags.into_iter().filter(|l| !l.starts_with("[XMP-ns1]")).collect()
        };
        assert_eq!(others(&after), others(&path));
        assert!(others(&path).iter().any(|l| l.contains("image/jpeg")));
    }
}
