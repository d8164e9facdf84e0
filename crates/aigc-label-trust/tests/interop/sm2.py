"""SM3withSM2 with the gmssl package (pure Python, GM/T 0003 with the default user id
1234567812345678), as an independent witness for the Rust implementation.

  python3 sm2.py verify LABEL.json PUBLIC_HEX SLOT   -> exit 0 when the DS signature verifies
  python3 sm2.py sign PRIVATE_HEX PUBLIC_HEX KEY_ID PRODUCER PRODUCE_ID  -> prints a label JSON
      whose ReservedCode1 holds a SecurityData envelope signed here (the guide's A.1 form)
"""
import json
import sys

from gmssl import func, sm2

import labelmsg

SM2_SM3 = "1.2.156.10197.1.501"


def crypt(private_hex, public_hex):
    # gmssl wants the point as x||y in hex, without the 04 prefix.
    public = public_hex[2:] if len(public_hex) == 130 else public_hex
    return sm2.CryptSM2(private_key=private_hex, public_key=public, asn1=True)


def verify(path, public_hex, slot):
    label = json.load(open(path))
    entry = labelmsg.signature_entry(label, slot)
    assert entry["AlgID"] == SM2_SM3, entry
    ok = crypt(None, public_hex).verify_with_sm3(entry["Value"], labelmsg.message(label, slot))
    print("verified" if ok else "FAILED")
    return 0 if ok else 1


def sign(private_hex, public_hex, key_id, producer, produce_id):
    label = {"Label": "1", "ContentProducer": producer, "ProduceID": produce_id, "ReservedCode1": "",
             "ContentPropagator": producer, "PropagateID": produce_id, "ReservedCode2": ""}
    message = labelmsg.pairs(label, 3).encode("ascii")
    signature = crypt(private_hex, public_hex).sign_with_sm3(message, func.random_hex(64))
    envelope = {"SecurityData": {"Type": "TC260PG", "Version": 1, "PubSD": [
        {"Type": "DS", "AlgID": SM2_SM3, "KeyID": key_id, "Value": signature}]}}
    label["ReservedCode1"] = json.dumps(envelope, separators=(",", ":"))
    print(labelmsg.label_json(label))
    return 0


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "verify":
        sys.exit(verify(args[0], args[1], int(args[2])))
    sys.exit(sign(*args))
