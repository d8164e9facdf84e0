//! A signed label end to end, the code the README shows: a generation service signs and binds
//! its label, a platform verifies it against the keys it trusts and propagates it with its own
//! signature, and the producer's signature and binding still verify afterwards.
//!
//! Run with `cargo run --features trust --example signed`. Outputs go to `target/signed/`.

use std::path::Path;

use aigc_label::trust::propagate::Request;
use aigc_label::trust::{Algorithm, SignSpec, SigningKey, TrustList, TrustVerdict};
use aigc_label::{Label, Options, embed_signed_file, propagate_file, verify_file};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out_dir = root.join("target/signed");
    std::fs::create_dir_all(&out_dir)?;
    let (generated, labelled, stored) = (
        root.join("examples/samples/sample.png"),
        out_dir.join("labelled.png"),
        out_dir.join("stored.png"),
    );

    // The generation service: SM3withSM2 (or Ed25519), the signature in ReservedCode1.
    let key = SigningKey::generate(Algorithm::Sm2Sm3)?;
    let label = Label::new("001191440300708461136T1XGW3", "img-0001");
    embed_signed_file(
        &generated,
        &labelled,
        &label,
        &[SignSpec::producer(&key)],
        &Options::default(),
    )?;

    // The platform, on upload: verify against the keys it trusts, then add its fields and
    // signature.
    let platform = SigningKey::generate(Algorithm::Ed25519)?;
    let mut trust = TrustList::new();
    trust
        .add("001191440300708461136T1XGW3", key.public_key())
        .add("001191110108551385082Q20000", platform.public_key());
    let verified = verify_file(&labelled, &trust, &Options::default())?;
    assert_eq!(verified.trust_verdict(), Some(TrustVerdict::Trusted));

    let request = Request {
        platform: "001191110108551385082Q20000",
        propagate_id: "up-77",
        declared_by_user: false,
        signer: Some(&platform),
        bind: true,
    };
    let outcome = propagate_file(&labelled, &stored, &request, &Options::default())?;
    println!("{}: {}", outcome.decision.as_str(), outcome.decision.reason());

    let after = verify_file(&stored, &trust, &Options::default())?;
    for v in after.verifications.iter().flatten() {
        println!(
            "producer: signature {}, binding {}; platform: signature {}, binding {}; verdict {}",
            v.producer.signature.as_str(),
            v.producer.binding.as_str(),
            v.propagator.signature.as_str(),
            v.propagator.binding.as_str(),
            v.verdict().as_str()
        );
    }
    assert_eq!(after.trust_verdict(), Some(TrustVerdict::Trusted));
    Ok(())
}
