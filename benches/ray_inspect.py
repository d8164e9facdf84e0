"""Throughput of the Python package and of the Ray Data example, next to the command's own
batch mode, on the same generated folder and machine.

    python benches/ray_inspect.py [N] [--cli PATH] [--num-cpus K]

Needs the package installed (`pip install ./crates/aigc-label-py`), Ray for the Ray row
(`pip install "ray[data]"`), and the command (`cargo build --release -p aigc-label-cli`). Makes N
uploads with examples/ray/make_uploads.py, warms the page cache, then times once each:
  aigc-label inspect --json DIR        (the command, all cores)
  aigc_label.inspect_many(paths)       (the package, all cores, GIL released)
  examples/ray/inspect_uploads.py run  (Ray Data on a local cluster of K CPUs, Parquet report)
and prints files per second for each. Ray's row includes its task scheduling and the Parquet
write, not the cluster start.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "ray"))

import aigc_label  # noqa: E402
from make_uploads import make_uploads  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=5000)
    parser.add_argument("--cli", default=str(ROOT / "target" / "release" / "aigc-label"))
    parser.add_argument("--num-cpus", type=int, default=os.cpu_count())
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as work:
        uploads = Path(work) / "uploads"
        make_uploads(str(uploads), args.n)
        paths = sorted(str(p) for p in uploads.rglob("*") if p.is_file())
        for p in paths:
            Path(p).read_bytes()  # warm the page cache
        rows = []

        t = time.perf_counter()
        subprocess.run([args.cli, "inspect", "--json", "-q", str(uploads)], stdout=subprocess.DEVNULL, check=False)
        rows.append(("aigc-label inspect --json", time.perf_counter() - t))

        t = time.perf_counter()
        reports = aigc_label.inspect_many(paths)
        rows.append(("python inspect_many", time.perf_counter() - t))
        assert len(reports) == len(paths)

        try:
            import ray
        except ImportError:
            print("ray is not installed: no Ray row")
        else:
            from inspect_uploads import run

            ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"PYTHONPATH": str(ROOT / "examples" / "ray")}})
            t = time.perf_counter()
            run(str(uploads), str(Path(work) / "report"))
            rows.append((f"ray data, {args.num_cpus} CPUs", time.perf_counter() - t))
            ray.shutdown()

    print(f"files: {len(paths)}, cpus: {os.cpu_count()}")
    for name, seconds in rows:
        print(f"{name:<28} {seconds:7.3f} s {len(paths) / seconds:10,.0f} files/s")


if __name__ == "__main__":
    main()
