//! Independent witnesses: signatures we write verify with Python's `gmssl` (SM2) and
//! `cryptography` (Ed25519), and signatures they make over a label verify with ours. Locally a
//! missing interpreter or module skips; under `CI=true` it fails (.ci/run installs
//! `pip install gmssl cryptography`).

mod common;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aigc_label_core::json::{self, Shape};
use aigc_label_core::{Label, Limits};
use aigc_label_image::Png;
use aigc_label_testutil::{python_with, tool};
use aigc_label_trust::binding::file_except_label;
use aigc_label_trust::{
    Algorithm, LabelSigner, PublicKey, SignatureStatus, SigningKey, Slot, SlotContent, TrustList, sign_slot, verify,
};
use common::*;

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop").join(name)
}

fn python(python: &Path, script_name: &str, args: &[&str]) -> Output {
    Command::new(python)
        .arg(script(script_name))
        .args(args)
        .output()
        .expect("python3 runs")
}

fn succeeds(out: &Output) -> bool {
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    out.status.success()
}

/// A label signed in both slots by `producer` and `platform`, bound or in the guide's form.
fn signed_label(producer: &dyn LabelSigner, platform: &dyn LabelSigner, bound: bool) -> Label {
    let mut label = propagated_label();
    for (slot, signer) in [(Slot::Producer, producer), (Slot::Propagator, platform)] {
        let digest = signer.algorithm().digest().digest(b"stand-in content");
        let content = SlotContent {
            bindings: if bound {
                vec![file_except_label(signer.algorithm().digest(), digest)]
            } else {
                vec![]
            },
            embed_public_key: true,
        };
        sign_slot(&mut label, slot, signer, content).unwrap();
    }
    label
}

/// Writes the label's canonical JSON to a file python reads.
fn label_file(dir: &Path, label: &Label) -> PathBuf {
    let path = dir.join("label.json");
    std::fs::write(&path, json::to_json(label, Shape::Bare)).unwrap();
    path
}

fn public_hex(key: &SigningKey) -> String {
    key.public_key().to_text().split_once(':').unwrap().1.to_string()
}

fn secret_hex(key: &SigningKey) -> String {
    key.to_text().split_once(':').unwrap().1.to_string()
}

#[test]
fn sm2_signatures_we_write_verify_with_gmssl() {
    let Some(py) = python_with("gmssl") else { return };
    let dir = tempfile::tempdir().unwrap();
    let producer = producer_key();
    let platform = SigningKey::parse("sm2:6f2a1c0d9b8e7f6a5b4c3d2e1f00112233445566778899aabbccddeeff001122").unwrap();
    for bound in [false, true] {
        let label = signed_label(&producer, &platform, bound);
        let path = label_file(dir.path(), &label);
        let p = path.to_str().unwrap();
        assert!(
            succeeds(&python(&py, "sm2.py", &["verify", p, &public_hex(&producer), "1"])),
            "bound {bound}"
        );
        assert!(
            succeeds(&python(&py, "sm2.py", &["verify", p, &public_hex(&platform), "2"])),
            "bound {bound}"
        );
        if !bound {
            continue;
        }
        // The witness is not vacuous: it rejects an altered label and the wrong key.
        let mut altered = label.clone();
        altered.produce_id.push('x');
        let path = label_file(dir.path(), &altered);
        assert!(
            !python(
                &py,
                "sm2.py",
                &["verify", path.to_str().unwrap(), &public_hex(&producer), "1"]
            )
            .status
            .success()
        );
        assert!(
            !python(&py, "sm2.py", &["verify", p, &public_hex(&platform), "1"])
                .status
                .success()
        );
    }
}

#[test]
fn sm2_signature_made_by_gmssl_verifies_with_ours() {
    let Some(py) = python_with("gmssl") else { return };
    let key = producer_key();
    let out = python(
        &py,
        "sm2.py",
        &[
            "sign",
            &secret_hex(&key),
            &public_hex(&key),
            "gm-key",
            PRODUCER,
            "py-0001",
        ],
    );
    assert!(succeeds(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let label = json::parse(text.trim(), 32).unwrap().to_label().unwrap();
    let mut trust = TrustList::new();
    trust.add_with_id(PRODUCER, "gm-key", key.public_key());
    let v = verify(&Png, &label, &mut Cursor::new(b""), &trust, &Limits::default()).unwrap();
    assert!(
        matches!(
            v.producer.signature,
            SignatureStatus::Valid {
                algorithm: Algorithm::Sm2Sm3,
                ..
            }
        ),
        "{v:#?}"
    );
    let mut altered = label;
    altered.produce_id = "py-0002".into();
    let v = verify(&Png, &altered, &mut Cursor::new(b""), &trust, &Limits::default()).unwrap();
    assert!(matches!(v.producer.signature, SignatureStatus::Invalid(_)));
}

#[test]
fn ed25519_signatures_we_write_verify_with_cryptography() {
    let Some(py) = python_with("cryptography") else { return };
    let dir = tempfile::tempdir().unwrap();
    let producer = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let platform = platform_key();
    for bound in [false, true] {
        let label = signed_label(&producer, &platform, bound);
        let path = label_file(dir.path(), &label);
        let p = path.to_str().unwrap();
        assert!(
            succeeds(&python(&py, "ed25519.py", &["verify", p, &public_hex(&producer), "1"])),
            "bound {bound}"
        );
        assert!(
            succeeds(&python(&py, "ed25519.py", &["verify", p, &public_hex(&platform), "2"])),
            "bound {bound}"
        );
        assert!(
            !python(&py, "ed25519.py", &["verify", p, &public_hex(&platform), "1"])
                .status
                .success()
        );
    }
}

#[test]
fn ed25519_signature_made_by_cryptography_verifies_with_ours() {
    let Some(py) = python_with("cryptography") else { return };
    let out = python(&py, "ed25519.py", &["sign", PRODUCER, "py-0001"]);
    assert!(succeeds(&out));
    let label = json::parse(String::from_utf8(out.stdout).unwrap().trim(), 32)
        .unwrap()
        .to_label()
        .unwrap();
    // Without a trust list the embedded key verifies it; trusting that key makes it valid.
    let v = verify(
        &Png,
        &label,
        &mut Cursor::new(b""),
        &TrustList::new(),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(
        v.producer.signature,
        SignatureStatus::UnknownKey {
            key_id: "py-key".into(),
            embedded_key_verifies: true
        }
    );
    let envelope = aigc_label_trust::envelope::SecurityData::parse(&label.reserved_code1, &Limits::default()).unwrap();
    let embedded = envelope.data.public_keys().next().unwrap();
    let mut trust = TrustList::new();
    trust.add_with_id(
        PRODUCER,
        "py-key",
        PublicKey::from_bytes(Algorithm::Ed25519, &embedded.value).unwrap(),
    );
    let v = verify(&Png, &label, &mut Cursor::new(b""), &trust, &Limits::default()).unwrap();
    assert!(
        matches!(
            v.producer.signature,
            SignatureStatus::Valid {
                algorithm: Algorithm::Ed25519,
                ..
            }
        ),
        "{v:#?}"
    );
}

#[test]
fn key_files_we_write_load_in_other_implementations() {
    let dir = tempfile::tempdir().unwrap();
    if let Some(py) = python_with("cryptography") {
        let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
        let pem = dir.path().join("ed25519.pem");
        std::fs::write(&pem, key.to_pem().unwrap()).unwrap();
        let out = python(&py, "ed25519.py", &["sign-pem", pem.to_str().unwrap(), "616263"]);
        assert!(succeeds(&out));
        let signature = String::from_utf8(out.stdout).unwrap();
        let bytes: Vec<u8> = (0..128)
            .step_by(2)
            .map(|i| u8::from_str_radix(&signature[i..i + 2], 16).unwrap())
            .collect();
        assert!(key.public_key().verify(b"abc", &bytes));
    }
    // OpenSSL reads our SM2 PKCS#8 file and derives the same public key.
    if let Some(openssl) = tool("openssl") {
        let key = producer_key();
        let pem = dir.path().join("sm2.pem");
        std::fs::write(&pem, key.to_pem().unwrap()).unwrap();
        let public = aigc_label_testutil::run(
            &openssl,
            &["pkey".as_ref(), "-in".as_ref(), pem.as_os_str(), "-pubout".as_ref()],
        );
        assert_eq!(
            PublicKey::parse(&String::from_utf8(public).unwrap()).unwrap(),
            key.public_key()
        );
    }
}
