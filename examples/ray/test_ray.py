"""The Ray Data example on a local cluster with 2 workers over 2,000+ generated uploads: its
Parquet report equals `aigc-label inspect --json` on the same folder, file by file."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aigc_label  # noqa: E402
from inspect_uploads import label_batch, run  # noqa: E402
from make_uploads import PLATFORM, make_uploads  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
COUNT = int(os.environ.get("RAY_TEST_FILES", "2000"))


def cli() -> str:
    found = os.environ.get("AIGC_LABEL_CLI") or shutil.which("aigc-label")
    for profile in ("debug", "release"):
        candidate = ROOT / "target" / profile / "aigc-label"
        if not found and candidate.is_file():
            found = str(candidate)
    assert found, "build the command first: cargo build -p aigc-label-cli"
    return found


def cli_report(folder: Path):
    out = subprocess.run([cli(), "inspect", "--json", "-q", str(folder)], capture_output=True, text=True)
    assert out.returncode in (0, 1, 2, 3), out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert "summary" in lines[-1]
    return {os.path.abspath(line["file"]): line for line in lines[:-1]}, lines[-1]["summary"]


@pytest.fixture(scope="module")
def uploads(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uploads")
    make_uploads(str(folder), COUNT)
    return folder


@pytest.fixture(scope="module")
def ray_local():
    if os.environ.get("CI"):
        import ray
    else:
        ray = pytest.importorskip("ray")
    # Workers import label_batch from this folder, as a real cluster would from an installed
    # module (every worker needs `aigc-label` installed: a runtime_env or the cluster's image).
    here = str(Path(__file__).resolve().parent)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": here}})
    yield ray
    ray.shutdown()


def test_ray_report_equals_cli(uploads: Path, ray_local, tmp_path: Path):
    import pyarrow.parquet as pq

    report_dir = tmp_path / "report"
    store = tmp_path / "stored"
    run(str(uploads), str(report_dir), store=str(store), platform=PLATFORM)
    rows = pq.read_table(str(report_dir)).to_pylist()
    expected, summary = cli_report(uploads)

    assert len(rows) == COUNT == len(expected) == summary["files"]
    verdicts = {}
    for row in rows:
        path = os.path.abspath(row["file"] if row["file"].startswith("/") else "/" + row["file"])
        line = json.loads(row["json"])
        want = expected[path]
        # The command names files as it walked them; compare everything else exactly.
        assert {**line, "file": None} == {**want, "file": None}, path
        assert row["verdict"] == want["verdict"] and row["format"] == want["format"]
        verdicts[row["verdict"]] = verdicts.get(row["verdict"], 0) + 1
    assert verdicts == summary["verdicts"]
    assert verdicts.get("compliant", 0) > COUNT // 3 and verdicts.get("unreadable", 0) > 0

    # The platform's step ran beside it: every labelled upload was stored with its fields.
    kept = [r for r in rows if r["decision"] == "keep"]
    assert len(kept) == verdicts["compliant"]
    for row in kept[:50]:
        assert aigc_label.inspect_file(row["stored"]).label.content_propagator == PLATFORM


def test_label_batch_is_a_plain_function(uploads: Path):
    """What Spark's mapInPandas or Dask's map_partitions would call: no Ray needed."""
    paths = sorted(uploads.rglob("*"))[:40]
    paths = [p for p in paths if p.is_file()]
    batch = {"bytes": [p.read_bytes() for p in paths], "path": [str(p) for p in paths]}
    rows = label_batch(batch)
    assert rows["file"] == [str(p) for p in paths]
    expected, _ = cli_report(uploads)
    for path, text in zip(paths, rows["json"]):
        assert json.loads(text) == {**expected[str(path)], "file": str(path)}
