"""Ed25519 with the `cryptography` package (OpenSSL), as an independent witness.

  python3 ed25519.py verify LABEL.json PUBLIC_HEX SLOT  -> exit 0 when the DS signature verifies
  python3 ed25519.py sign PRODUCER PRODUCE_ID            -> prints a label JSON signed in
      ReservedCode1 by a fresh key, with the public key embedded as a PubKey entry
  python3 ed25519.py sign-pem PKCS8.pem MESSAGE_HEX      -> prints the signature in hex, made
      with a private key file the Rust code wrote
"""
import json
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

import labelmsg

ED25519 = "1.3.101.112"


def verify(path, public_hex, slot):
    label = json.load(open(path))
    entry = labelmsg.signature_entry(label, slot)
    assert entry["AlgID"] == ED25519, entry
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
    key.verify(bytes.fromhex(entry["Value"]), labelmsg.message(label, slot))  # raises if invalid
    print("verified")
    return 0


def sign(producer, produce_id):
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    label = {"Label": "1", "ContentProducer": producer, "ProduceID": produce_id, "ReservedCode1": "",
             "ContentPropagator": producer, "PropagateID": produce_id, "ReservedCode2": ""}
    signature = key.sign(labelmsg.pairs(label, 3).encode("ascii")).hex()
    envelope = {"SecurityData": {"Type": "TC260PG", "Version": 1, "PubSD": [
        {"Type": "DS", "AlgID": ED25519, "KeyID": "py-key", "Value": signature},
        {"Type": "PubKey", "AlgID": ED25519, "KeyID": "py-key", "Value": public}]}}
    label["ReservedCode1"] = json.dumps(envelope, separators=(",", ":"))
    print(labelmsg.label_json(label))
    return 0


def sign_pem(path, message_hex):
    key = serialization.load_pem_private_key(open(path, "rb").read(), password=None)
    print(key.sign(bytes.fromhex(message_hex)).hex())
    return 0


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "verify":
        sys.exit(verify(args[0], args[1], int(args[2])))
    if command == "sign":
        sys.exit(sign(*args))
    sys.exit(sign_pem(*args))
