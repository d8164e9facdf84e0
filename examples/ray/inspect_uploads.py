"""Inspect (and optionally propagate) a folder of uploads with Ray Data, writing a Parquet report.

    python inspect_uploads.py UPLOADS REPORT_DIR [--store DIR --platform CODE] [--address auto]

The pipeline is Ray Data's own: ``read_binary_files`` -> ``map_batches(label_batch)`` ->
``write_parquet``. There is no distribution layer of ours: the same script runs on a laptop
(a local cluster) and, unchanged, on a real cluster (``--address auto``, with UPLOADS and
REPORT_DIR on shared storage such as ``s3://bucket/uploads``).

Each report row is one file: ``file``, ``format``, ``verdict``, ``class``, ``producer``,
``produce_id``, ``error`` and ``json``, the exact object ``aigc-label inspect --json`` prints for
it. With ``--store`` the platform's step runs too: each upload with a label (or traces of
generation) is written to DIR with the platform's fields, and the row gains ``decision`` and
``stored``.

``label_batch`` is a plain function of a batch (a dict of columns), so it drops unchanged into
other engines: ``df.mapInPandas`` in Spark or ``ddf.map_partitions`` in Dask (see the README).
"""

import argparse
import json
import os
from typing import Any, Dict, List, Optional, Tuple

import aigc_label


def inspect_one(data: bytes, name: str) -> Tuple[Dict[str, Any], str]:
    """The ``inspect --json`` object for one upload, as a dict and as text; an unreadable upload
    is a row, not a crash."""
    try:
        report = aigc_label.inspect_bytes(data, name=name)
        return report.to_dict(), report.to_json()
    except aigc_label.AigcLabelError as e:
        line = {"file": name, "format": None, "verdict": "unreadable", "class": None, "labels": [],
                "error": e.message}
        return line, json.dumps(line, ensure_ascii=False, separators=(",", ":"))


def label_batch(batch: Dict[str, Any], store: Optional[str] = None, platform: Optional[str] = None,
                root: str = "") -> Dict[str, List[Any]]:
    """Inspects every upload of a batch (``bytes`` and ``path`` columns); with ``store``,
    propagates each into that folder (mirroring paths under ``root``)."""
    rows: Dict[str, List[Any]] = {k: [] for k in
                                  ("file", "format", "verdict", "class", "producer", "produce_id", "error", "json")}
    if store:
        rows["decision"], rows["stored"] = [], []
    for data, path in zip(batch["bytes"], batch["path"]):
        data, path = bytes(data), str(path)
        line, text = inspect_one(data, path)
        label = line["labels"][0]["fields"] if len(line["labels"]) == 1 else {}
        rows["file"].append(path)
        rows["format"].append(line["format"])
        rows["verdict"].append(line["verdict"])
        rows["class"].append(line["class"])
        rows["producer"].append(label.get("ContentProducer"))
        rows["produce_id"].append(label.get("ProduceID"))
        rows["error"].append(line["error"])
        rows["json"].append(text)
        if store:
            decision, stored = propagate_one(data, path, store, platform or "", root)
            rows["decision"].append(decision)
            rows["stored"].append(stored)
    return rows


def propagate_one(data: bytes, path: str, store: str, platform: str, root: str):
    """The platform's step on one upload: returns the decision and where the file went."""
    rel = os.path.relpath(path, root) if root else os.path.basename(path)
    try:
        out, outcome = aigc_label.propagate_bytes(data, platform, f"up-{rel}", name=path)
    except aigc_label.AigcLabelError:
        return "failed", None
    if not outcome.written:
        return outcome.decision, None
    target = os.path.join(store, rel)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as f:
        f.write(out)
    return outcome.decision, target


def run(uploads: str, report: str, store: Optional[str] = None, platform: Optional[str] = None,
        batch_size: int = 256) -> None:
    """The pipeline: read every file under ``uploads``, label batches, write Parquet."""
    import ray

    root = os.path.abspath(uploads) if "://" not in uploads else ""
    ds = ray.data.read_binary_files(uploads, include_paths=True)
    ds = ds.map_batches(label_batch, batch_size=batch_size, batch_format="numpy",
                        fn_kwargs={"store": store, "platform": platform, "root": root})
    ds.write_parquet(report)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("uploads")
    parser.add_argument("report")
    parser.add_argument("--store", help="propagate each upload into this folder")
    parser.add_argument("--platform", default="001191110108551385082Q20000", help="the platform's code")
    parser.add_argument("--address", help="a running cluster (auto), else a local one")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local cluster")
    args = parser.parse_args()

    import ray

    if args.address:
        ray.init(address=args.address)
    else:
        ray.init(num_cpus=args.num_cpus, include_dashboard=False)
    run(args.uploads, args.report, args.store, args.platform)


if __name__ == "__main__":
    main()
