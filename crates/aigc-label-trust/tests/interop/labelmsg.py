"""The signed message of a GB 45438 label, built independently of the Rust code from the rules
in aigc_label_trust::message: TC260-PG-202511A Appendix A.1 (the first three pairs, compact,
comma-joined, no braces) and the project's bound form (pairs up to the slot, the slot's envelope
with every DS value emptied)."""
import json

FIELDS = ["Label", "ContentProducer", "ProduceID", "ReservedCode1",
          "ContentPropagator", "PropagateID", "ReservedCode2"]


def pairs(label, count):
    return ",".join(json.dumps(name) + ":" + json.dumps(label[name]) for name in FIELDS[:count])


def message(label, slot):
    """slot is 1 (ReservedCode1) or 2 (ReservedCode2)."""
    field = "ReservedCode%d" % slot
    envelope = json.loads(label[field])
    data = envelope["SecurityData"]
    if not data.get("Bindings"):
        return pairs(label, 3 if slot == 1 else 6).encode("ascii")
    for entry in data.get("PubSD", []):
        if entry.get("Type") == "DS":
            entry["Value"] = ""
    blanked = dict(label)
    blanked[field] = json.dumps(envelope, separators=(",", ":"))
    return pairs(blanked, 4 if slot == 1 else 7).encode("ascii")


def signature_entry(label, slot):
    data = json.loads(label["ReservedCode%d" % slot])["SecurityData"]
    return next(e for e in data["PubSD"] if e["Type"] == "DS")


def label_json(label):
    return json.dumps({name: label[name] for name in FIELDS}, separators=(",", ":"))
