"""The Python examples run and do what they say."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aigc_label  # noqa: E402
from diffusers_hook import LabelHook, fake_pipeline  # noqa: E402
from upload_check import PLATFORM, check_upload  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def test_diffusers_hook_stamps_signs_and_saves(tmp_path):
    key = aigc_label.keygen("ed25519")
    path = LabelHook(str(tmp_path), key)(fake_pipeline(1), "img-42")
    trust = aigc_label.TrustList()
    trust.add("001191440300708461136T1XGW3", key)
    report = aigc_label.verify_file(path, trust)
    assert report.verdict == "compliant" and report.trust == "trusted"
    assert report.label.produce_id == "img-42"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img-42.png"], "no temporary file is left"


def test_upload_check_decides_and_propagates():
    png = (SAMPLES / "sample.png").read_bytes()
    plain = check_upload(png, "a.png", "up-1")
    assert (plain["verdict"], plain["decision"], plain["class"]) == ("unlabelled", "nothing", None)
    assert plain["stored_bytes"] == png

    declared = check_upload(png, "b.png", "up-2", declared=True)
    assert (declared["decision"], declared["class"]) == ("declared", "possibly")
    assert aigc_label.inspect_bytes(declared["stored_bytes"]).label.content_propagator == PLATFORM

    labelled = aigc_label.embed_bytes(png, "001191440300708461136T1XGW3", "img-1")
    kept = check_upload(labelled, "c.png", "up-3")
    assert (kept["verdict"], kept["decision"], kept["class"]) == ("compliant", "keep", "is")
    assert aigc_label.inspect_bytes(kept["stored_bytes"]).label.propagate_id == "up-3"

    assert check_upload(b"junk", "d.bin", "up-4")["status"] == 422
