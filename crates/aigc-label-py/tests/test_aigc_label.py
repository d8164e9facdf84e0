"""The Python package against the bundled samples, PIL images and NumPy arrays; results compared
with the `aigc-label` command's `--json` output for the same files."""

import asyncio
import io
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import List

import numpy as np
import pytest
from PIL import Image

import aigc_label
from aigc_label import (
    AigcLabelError,
    AlreadyLabelled,
    CallbackSigner,
    FileError,
    FrameStamper,
    InvalidLabel,
    LabelStream,
    MalformedFile,
    SigningFailed,
    SigningKey,
    TrustList,
    Unsupported,
)

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = sorted(p for p in (ROOT / "examples" / "samples").iterdir() if p.name.startswith("sample."))
PRODUCER = "001191440300708461136T1XGW3"
OTHER_PRODUCER = "001191440300708461136T1XGW4"
PLATFORM = "001191110108551385082Q20000"


def cli_path() -> str:
    found = os.environ.get("AIGC_LABEL_CLI") or shutil.which("aigc-label")
    for profile in ("debug", "release"):
        candidate = ROOT / "target" / profile / "aigc-label"
        if not found and candidate.is_file():
            found = str(candidate)
    if not found:
        pytest.fail("the aigc-label command is needed: build it with `cargo build -p aigc-label-cli`")
    return found


def cli_lines(*args: str) -> List[dict]:
    """The command's JSON Lines, without the summary."""
    out = subprocess.run([cli_path(), *args, "--json"], capture_output=True, text=True, check=False)
    assert out.returncode in (0, 1, 2, 3), out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert "summary" in lines[-1]
    return lines[:-1]


@pytest.fixture(scope="session")
def schema():
    import jsonschema
    schema = json.loads((ROOT / "docs" / "output.schema.json").read_text())
    return lambda obj: jsonschema.validate(obj, schema)


@pytest.fixture
def labelled(tmp_path: Path) -> List[Path]:
    """Every sample with a label, written by the package."""
    out = []
    for sample in SAMPLES:
        target = tmp_path / sample.name
        aigc_label.embed_file(sample, target, PRODUCER, f"py-{sample.suffix[1:]}")
        out.append(target)
    return out


# ---- inspect ----------------------------------------------------------------------------------


def test_samples_are_there():
    assert len(SAMPLES) >= 10


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_inspect_file_equals_cli_on_unlabelled_samples(sample: Path, schema):
    report = aigc_label.inspect_file(str(sample))
    assert report.verdict == "unlabelled"
    assert report.label is None
    assert report.copies == []
    assert report.to_dict() == cli_lines("inspect", str(sample))[0]
    schema(report.to_dict())


def test_inspect_file_equals_cli_on_labelled_files(labelled: List[Path], schema):
    expected = {line["file"]: line for line in cli_lines("inspect", *map(str, labelled))}
    assert len(expected) == len(labelled)
    for path in labelled:
        line = expected[str(path)]
        report = aigc_label.inspect_file(str(path))
        assert report.to_dict() == line
        assert json.loads(report.to_json()) == line
        schema(report.to_dict())
        assert report.verdict == "compliant" and report.is_compliant
        assert report.label_class == "is"
        assert report.label.content_producer == PRODUCER
        assert report.label.produce_id == f"py-{path.suffix[1:]}"
        assert report.label.to_dict()["ContentProducer"] == PRODUCER
        (copy,) = report.copies
        assert copy.checks and all(c.ok for c in copy.checks)
        assert copy.failed == []
        assert copy.range[0] < copy.range[1] <= path.stat().st_size


def test_inspect_bytes_equals_inspect_file(labelled: List[Path]):
    for path in labelled:
        # Markdown has no magic bytes: like a file, bytes are recognised by the name's extension.
        from_bytes = aigc_label.inspect_bytes(path.read_bytes(), name=str(path))
        assert from_bytes.to_dict() == aigc_label.inspect_file(path).to_dict()


def test_inspect_many_equals_cli_batch(labelled: List[Path], tmp_path: Path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a media file")
    paths = [*labelled, *SAMPLES, junk]
    reports = aigc_label.inspect_many(paths, jobs=2)
    assert [r.file for r in reports] == [str(p) for p in paths]
    by_file = {line["file"]: line for line in cli_lines("inspect", *map(str, paths))}
    for report in reports:
        assert report.to_dict() == by_file[report.file]
    assert reports[-1].verdict == "unreadable" and "unsupported" in reports[-1].error


def test_inspect_many_releases_the_gil(labelled: List[Path]):
    """With forced GIL switches turned off, the main thread can run while another thread is
    inside inspect_many only if inspect_many released the GIL. The worker cannot record that it
    finished before the main thread looks: it needs the GIL back to do so. (A named pipe used to
    drive this test; named pipes are now refused as input.)"""
    import sys
    import threading

    # Enough work (tens of milliseconds) that the main thread, woken by `started`, gets the
    # released GIL before the worker is done even on a loaded machine; with 50 files the worker
    # could finish inside the wake-up latency and take the GIL back first.
    paths = [p for p in labelled if p.suffix == ".png"] * 2000
    started = threading.Event()
    state = {"done": False, "reports": None}

    def work():
        started.set()
        state["reports"] = aigc_label.inspect_many(paths, jobs=1)
        state["done"] = True

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        worker = threading.Thread(target=work)
        worker.start()
        started.wait()
        # This line runs while the worker is inside inspect_many only if it let go of the GIL;
        # holding it, the worker would finish and set `done` before the main thread ran again.
        seen_inside = not state["done"]
    finally:
        sys.setswitchinterval(interval)
    worker.join()
    assert seen_inside, "the main thread could not run while inspect_many worked: the GIL was held"
    reports = state["reports"]
    assert len(reports) == len(paths)
    assert all(r.verdict == "compliant" and r.label.produce_id == "py-png" for r in reports)


# ---- errors ------------------------------------------------------------------------------------


def test_errors_are_typed_and_name_the_file(tmp_path: Path):
    png = (ROOT / "examples" / "samples" / "sample.png").read_bytes()
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(png[:60])
    with pytest.raises(MalformedFile) as e:
        aigc_label.inspect_file(truncated)
    assert e.value.path == str(truncated) and str(truncated) in str(e.value)
    assert isinstance(e.value, AigcLabelError)

    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(Unsupported) as e:
        aigc_label.inspect_file(junk)
    assert e.value.path == str(junk)
    assert e.value.format is None, "no format recognised it"

    with pytest.raises(FileError) as e:
        aigc_label.inspect_file(tmp_path / "missing.png")
    assert "missing.png" in str(e.value)

    with pytest.raises(Unsupported):
        aigc_label.inspect_bytes(b"junk", name="upload-7")

    with pytest.raises(InvalidLabel) as e:
        aigc_label.embed_bytes(png, "not-a-code", "x")
    assert isinstance(e.value, ValueError)
    assert e.value.parameter == "label"
    with pytest.raises(InvalidLabel):
        aigc_label.embed_bytes(png, PRODUCER, "x", label="7")
    with pytest.raises(InvalidLabel):
        aigc_label.embed_bytes(png, PRODUCER, "x", propagator=PLATFORM)

    ok = tmp_path / "ok.png"
    ok.write_bytes(aigc_label.embed_bytes(png, PRODUCER, "x"))
    with pytest.raises(AlreadyLabelled) as e:
        aigc_label.embed_file(ok, tmp_path / "o.png", OTHER_PRODUCER, "y")
    assert e.value.producer == PRODUCER
    assert e.value.path.endswith("ok.png")
    assert not (tmp_path / "o.png").exists()


def test_lenient_accepts_provider_names():
    png = (ROOT / "examples" / "samples" / "sample.png").read_bytes()
    with pytest.raises(InvalidLabel):
        aigc_label.embed_bytes(png, "doubao", "x")
    out = aigc_label.embed_bytes(png, "doubao", "x", lenient=True)
    assert aigc_label.inspect_bytes(out).label.content_producer == "doubao"


# ---- embed -------------------------------------------------------------------------------------


def test_embed_file_result_equals_cli_embed(tmp_path: Path, schema):
    sample = ROOT / "examples" / "samples" / "sample.flac"
    ours = aigc_label.embed_file(sample, tmp_path / "a.flac", PRODUCER, "same-id")
    (theirs,) = cli_lines("embed", str(sample), "-o", str(tmp_path / "b.flac"), "--producer", PRODUCER,
                          "--produce-id", "same-id")
    assert theirs["output"] == str(tmp_path / "b.flac")
    theirs["output"] = str(tmp_path / "a.flac")
    assert ours.to_dict() == theirs
    schema(ours.to_dict())
    assert ours.output == str(tmp_path / "a.flac") and ours.format == "flac" and ours.notes == []
    assert ours.result == "labelled" and ours.bytes == (tmp_path / "a.flac").stat().st_size
    assert (tmp_path / "a.flac").read_bytes() == (tmp_path / "b.flac").read_bytes()


def test_embed_bytes_round_trips_and_keeps_the_rest():
    jpg = (ROOT / "examples" / "samples" / "sample.jpg").read_bytes()
    out = aigc_label.embed_bytes(jpg, PRODUCER, "mem-1", propagator=PLATFORM, propagate_id="up-1", label="1")
    report = aigc_label.inspect_bytes(out)
    assert report.verdict == "compliant"
    assert report.label.content_propagator == PLATFORM and report.label.propagate_id == "up-1"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(out))), np.asarray(Image.open(io.BytesIO(jpg))))


# ---- propagate ---------------------------------------------------------------------------------


def test_propagate_file_equals_cli(labelled: List[Path], tmp_path: Path, schema):
    src = next(p for p in labelled if p.suffix == ".png")
    ours = aigc_label.propagate_file(src, tmp_path / "ours.png", PLATFORM, "up-1")
    (theirs,) = cli_lines("propagate", str(src), "-o", str(tmp_path / "cli.png"), "--platform", PLATFORM,
                          "--propagate-id", "up-1")
    theirs["output"] = str(tmp_path / "ours.png")
    assert ours.to_dict() == theirs
    schema(ours.to_dict())
    assert ours.decision == "keep" and ours.written and ours.label_class == "is"
    assert ours.label.content_propagator == PLATFORM
    assert (tmp_path / "ours.png").read_bytes() == (tmp_path / "cli.png").read_bytes()


def test_propagate_decisions(tmp_path: Path):
    sample = ROOT / "examples" / "samples" / "sample.png"
    nothing = aigc_label.propagate_file(sample, tmp_path / "n.png", PLATFORM, "up-2")
    assert nothing.decision == "nothing" and not nothing.written and nothing.output is None
    assert not (tmp_path / "n.png").exists()
    declared = aigc_label.propagate_file(sample, tmp_path / "d.png", PLATFORM, "up-3", declared=True)
    assert declared.decision == "declared" and declared.label_class == "possibly"
    assert aigc_label.inspect_file(tmp_path / "d.png").label.label == "2"

    data, outcome = aigc_label.propagate_bytes(sample.read_bytes(), PLATFORM, "up-4")
    assert outcome.decision == "nothing" and data == sample.read_bytes()
    data, outcome = aigc_label.propagate_bytes(sample.read_bytes(), PLATFORM, "up-5", declared=True, name="u.png")
    assert outcome.written and outcome.file == "u.png"
    assert aigc_label.inspect_bytes(data).label.propagate_id == "up-5"


# ---- trust -------------------------------------------------------------------------------------


def test_keys_signed_embed_and_verify_equal_cli(tmp_path: Path):
    key = aigc_label.keygen("sm2", key_id="gen-2026")
    assert key.algorithm == "sm2" and key.key_id == "gen-2026"
    key_file = tmp_path / "gen.pem"
    key_file.write_text(key.to_pem())
    again = SigningKey.from_file(key_file)
    assert again.public_key() == key.public_key() and again.key_id == "gen-2026"
    assert SigningKey.from_pem(key.to_pem()).public_key() == key.public_key()

    trust = TrustList()
    trust.add(PRODUCER, key.public_key(), key_id="gen-2026")
    assert len(trust) == 1
    trust_file = tmp_path / "trust.txt"
    trust_file.write_text(trust.to_text())
    assert len(TrustList.from_file(trust_file)) == 1 and len(TrustList.parse(trust.to_text())) == 1

    sample = ROOT / "examples" / "samples" / "sample.wav"
    out = tmp_path / "signed.wav"
    aigc_label.embed_file(sample, out, PRODUCER, "sig-1", signer=key)
    report = aigc_label.verify_file(out, trust)
    assert report.trust == "trusted"
    assert report.copies[0].verification["producer"]["signature"]["status"] == "valid"
    (line,) = cli_lines("inspect", "--trust", str(trust_file), str(out))
    assert report.to_dict() == line

    assert aigc_label.verify_bytes(out.read_bytes(), trust, name=str(out)).to_dict() == line
    assert aigc_label.verify_file(out, TrustList()).trust == "untrusted"

    tampered = bytearray(out.read_bytes())
    tampered[100] ^= 0xFF
    assert aigc_label.verify_bytes(bytes(tampered), trust).trust == "tampered"


def test_trust_and_propagate_errors(tmp_path: Path):
    with pytest.raises(InvalidLabel):
        aigc_label.keygen("rsa")
    with pytest.raises(InvalidLabel):
        SigningKey.from_pem("not a key")
    with pytest.raises(FileError) as e:
        SigningKey.from_file(tmp_path / "missing.pem")
    assert e.value.path.endswith("missing.pem")
    with pytest.raises(InvalidLabel):
        TrustList.parse("001191440300708461136T1XGW3 sm2:zz")
    with pytest.raises(InvalidLabel):
        TrustList().add(PRODUCER, "sm2:00")
    with pytest.raises(TypeError):
        TrustList().add(PRODUCER, 42)  # type: ignore[arg-type]
    with pytest.raises(FileError):
        aigc_label.verify_file(tmp_path / "missing.png", TrustList())
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"junk" * 10)
    with pytest.raises(Unsupported) as e:
        aigc_label.propagate_file(junk, tmp_path / "out.bin", PLATFORM, "up-1")
    assert e.value.path == str(junk) and not (tmp_path / "out.bin").exists()
    with pytest.raises(Unsupported):
        aigc_label.propagate_bytes(b"junk", PLATFORM, "up-1")
    with pytest.raises(Unsupported):
        aigc_label.verify_bytes(b"junk", TrustList())


def test_callback_signer_signs_through_python(tmp_path: Path):
    remote = SigningKey.generate("ed25519", key_id="kms-7")
    calls = []

    def sign(message: bytes) -> bytes:
        calls.append(message)
        return remote.sign(message)

    signer = CallbackSigner("ed25519", "kms-7", sign, public_key=remote.public_key())
    assert signer.key_id == "kms-7" and signer.algorithm == "ed25519"
    png = (ROOT / "examples" / "samples" / "sample.png").read_bytes()
    out = aigc_label.embed_bytes(png, PRODUCER, "cb-1", signer=signer)
    assert len(calls) == 1
    trust = TrustList()
    trust.add(PRODUCER, remote)
    assert aigc_label.verify_bytes(out, trust).trust == "trusted"

    # A platform signs its propagation through a callback too.
    platform = SigningKey.generate("sm2")
    trust.add(PLATFORM, platform)
    data, outcome = aigc_label.propagate_bytes(
        out, PLATFORM, "up-9", signer=CallbackSigner("sm2", platform.key_id, platform.sign)
    )
    assert outcome.decision == "keep"
    assert aigc_label.verify_bytes(data, trust).trust == "trusted"

    def refuse(message: bytes) -> bytes:
        raise RuntimeError("the key service is down")

    with pytest.raises(SigningFailed) as e:
        aigc_label.embed_bytes(png, PRODUCER, "cb-2", signer=CallbackSigner("ed25519", "kms-7", refuse))
    assert "the key service is down" in str(e.value)
    with pytest.raises(TypeError):
        aigc_label.embed_bytes(png, PRODUCER, "cb-3", signer="not a signer")  # type: ignore[arg-type]


# ---- explicit labels ---------------------------------------------------------------------------


def changed_box(a: np.ndarray, b: np.ndarray):
    ys, xs = np.nonzero(np.any(a != b, axis=-1))
    return ys.min(), ys.max(), xs.min(), xs.max()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_stamp_image_on_pil(mode: str):
    image = Image.new(mode, (400, 300), 90)
    image.info["dpi"] = (72, 72)
    out = aigc_label.stamp_image(image, position="top-left")
    assert isinstance(out, Image.Image) and out.size == image.size
    assert out.info["dpi"] == (72, 72)
    before = np.asarray(image.convert(out.mode))
    after = np.asarray(out)
    if before.ndim == 2:
        before, after = before[..., None], after[..., None]
    y0, y1, x0, x1 = changed_box(before, after)
    assert y0 < 150 and x0 < 200, "the label sits top-left"
    assert (y1 - y0) >= 0.05 * 300, "the label is at least 5% of the shortest side high"
    assert np.array_equal(before[200:, 250:], after[200:, 250:]), "pixels outside the label are kept"


@pytest.mark.parametrize("channels", [3, 4])
def test_stamp_image_on_numpy(channels: int):
    array = np.full((240, 320, channels), 40, dtype=np.uint8)
    out = aigc_label.stamp_image(array)
    assert out.shape == array.shape and out.dtype == np.uint8
    y0, y1, x0, x1 = changed_box(array, out)
    assert y0 > 120 and x0 > 160, "bottom-right by default"
    assert np.array_equal(array[:100, :100], out[:100, :100])
    with pytest.raises(InvalidLabel):
        aigc_label.stamp_image(np.zeros((10, 10), dtype=np.float32))
    with pytest.raises(InvalidLabel):
        aigc_label.stamp_image(array, text="")


def test_stamp_audio_inserts_and_mixes():
    rate = 16000
    mono = (np.sin(np.arange(rate) / 10.0) * 3000).astype(np.int16)
    inserted = aigc_label.stamp_audio(mono, rate)
    assert inserted.dtype == np.int16 and len(inserted) > len(mono)
    assert np.array_equal(inserted[-len(mono):], mono), "the content follows the cue unchanged"

    stereo = np.zeros((rate * 3, 2), dtype=np.float32)
    mixed = aigc_label.stamp_audio(stereo, rate, at="end", mix=True)
    assert mixed.shape == stereo.shape and mixed.dtype == np.float32
    assert np.abs(mixed[: rate // 2]).max() == 0 and np.abs(mixed[-rate:]).max() > 0.01

    wide = np.zeros(rate, dtype=np.int32)
    assert len(aigc_label.stamp_audio(wide, rate, at="0.5s", bits=24)) > rate
    with pytest.raises(InvalidLabel):
        aigc_label.stamp_audio(np.zeros(10, dtype=np.float64), rate)
    with pytest.raises(InvalidLabel):
        aigc_label.stamp_audio(mono, rate, at="sometime")


@pytest.mark.parametrize("fmt,shape", [("rgb", (72, 128, 3)), ("rgba", (72, 128, 4)), ("i420", (72 * 128 * 3 // 2,))])
def test_frame_stamper_labels_the_opening_seconds(fmt: str, shape):
    stamper = FrameStamper(128, 72, fmt, fps=10, seconds=2.0)
    assert stamper.frame_len == int(np.prod(shape))
    drawn = []
    for pts in range(40):
        frame = np.full(shape, 16, dtype=np.uint8)
        original = frame.copy()
        did = stamper.stamp(frame, pts)
        assert did == stamper.shows_at(pts)
        assert did == (not np.array_equal(frame, original))
        drawn.append(did)
    assert drawn[:20] == [True] * 20 and not any(drawn[20:])
    with pytest.raises(InvalidLabel):
        FrameStamper(128, 72, "yuv444")
    with pytest.raises(AigcLabelError):
        FrameStamper(128, 72, "rgb", seconds=1.0)
    with pytest.raises(AigcLabelError):
        stamper.stamp(np.zeros(10, dtype=np.uint8), 0)


def test_label_stream_sync():
    out = "".join(LabelStream(iter(["你", "好", "！"])))
    assert out == "【AI生成】\n你好！"
    # Bytes that cut a character in half are joined before they go out.
    chunks = [b"\xe4\xbd", b"\xa0\xe5", b"\xa5\xbd"]
    pieces = list(LabelStream(chunks, position="both"))
    assert "".join(pieces) == "【AI生成】\n你好\n【AI生成】"
    assert all("\ufffd" not in p for p in pieces)
    assert "".join(LabelStream([], position="end")).strip() == "【AI生成】"
    assert "".join(LabelStream(["hi"], text="[AI合成]")).startswith("[AI合成]")
    with pytest.raises(InvalidLabel):
        LabelStream([], text="[AI]")
    with pytest.raises(InvalidLabel):
        LabelStream([], position="middle")
    with pytest.raises(TypeError):
        list(LabelStream([1, 2]))  # type: ignore[list-item]


def test_label_stream_async():
    async def tokens():
        for t in ["The ", "tide ", "rises."]:
            await asyncio.sleep(0)
            yield t

    async def collect() -> List[str]:
        return [piece async for piece in LabelStream(tokens(), position="both")]

    pieces = asyncio.run(collect())
    assert "".join(pieces) == "【AI生成】\nThe tide rises.\n【AI生成】"
    assert len(pieces) >= 4, "text streams out token by token, not all at the end"


def test_typing_files_ship():
    package = Path(aigc_label.__file__).parent
    assert (package / "py.typed").is_file()
    assert (package / "_native.pyi").is_file()
    assert aigc_label.__version__
