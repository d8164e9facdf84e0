"""Generates a folder of uploads for the Ray example, its test and its bench: copies of the
bundled samples, about half labelled (each with its own id), some signed-looking variants with
a platform's fields, and a few unreadable files (truncated, or not media at all).

    python make_uploads.py DIR [COUNT]
"""

import os
import sys
from pathlib import Path

import aigc_label

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
PRODUCER = "001191440300708461136T1XGW3"
PLATFORM = "001191110108551385082Q20000"


def make_uploads(folder: str, count: int = 2000) -> int:
    """Writes ``count`` files under ``folder`` in 10 subfolders; returns how many."""
    samples = sorted(p for p in SAMPLES.iterdir() if p.name.startswith("sample."))
    blobs = [(p.suffix, p.read_bytes()) for p in samples]
    for i in range(count):
        suffix, data = blobs[i % len(blobs)]
        kind = (i // len(blobs)) % 5
        # Markdown has no magic bytes, so in memory it cannot be labelled: it stays unlabelled.
        if kind in (0, 1, 2) and suffix != ".md":
            extra = {"propagator": PLATFORM, "propagate_id": f"up-{i}"} if kind == 2 else {}
            data = aigc_label.embed_bytes(data, PRODUCER, f"gen-{i}", **extra)
        elif kind == 3 and i % 7 == 0:
            data = data[: max(16, len(data) // 3)]  # truncated in transit
        elif kind == 3 and i % 11 == 0:
            # Not media at all, though named like an image: the command's folder walk skips files
            # that neither their name nor their bytes mark as a supported format, and counts
            # them as skipped; a platform is handed such uploads by name, so the report has them.
            suffix, data = ".png", os.urandom(64)
        target = Path(folder) / f"d{i % 10}" / f"upload-{i:05}{suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return count


if __name__ == "__main__":
    print(make_uploads(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2000))
