"""A diffusers-style post-processing hook: the image a pipeline returns -> the visible label ->
a signed implicit label bound to the file's content -> the saved file.

    python diffusers_hook.py OUT_DIR

No model is downloaded: a generated gradient stands in for ``pipe(prompt).images[0]``. In a
real service, call ``hook(image, request_id)`` on each image the pipeline returns, e.g.

    image = pipe(prompt).images[0]
    path = hook(image, request_id)
"""

import os
import sys
import tempfile

import numpy as np
from PIL import Image

import aigc_label

PRODUCER = "001191440300708461136T1XGW3"  # the generation service's provider code


class LabelHook:
    """Stamps, labels and signs every image a pipeline returns, saving it under ``out_dir``."""

    def __init__(self, out_dir: str, key: aigc_label.SigningKey) -> None:
        self.out_dir = out_dir
        self.key = key
        os.makedirs(out_dir, exist_ok=True)

    def __call__(self, image: Image.Image, request_id: str) -> str:
        stamped = aigc_label.stamp_image(image)  # the label people see: AI生成, >= 5% high
        with tempfile.NamedTemporaryFile(suffix=".png", dir=self.out_dir, delete=False) as tmp:
            stamped.save(tmp, format="PNG")
        path = os.path.join(self.out_dir, f"{request_id}.png")
        try:
            # The label machines read, signed and bound to the pixels, written atomically.
            aigc_label.embed_file(tmp.name, path, PRODUCER, request_id, signer=self.key)
        finally:
            os.unlink(tmp.name)
        return path


def fake_pipeline(seed: int) -> Image.Image:
    """Stands in for a diffusion pipeline: a 512x512 RGB image."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:512, 0:512]
    pixels = np.stack([x % 256, y % 256, (x + y + rng.integers(0, 255)) % 256], axis=-1).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def main(out_dir: str) -> None:
    key = aigc_label.keygen("sm2", key_id="gen-2026")
    hook = LabelHook(out_dir, key)
    path = hook(fake_pipeline(7), "img-20261207-0001")

    trust = aigc_label.TrustList()
    trust.add(PRODUCER, key)
    report = aigc_label.verify_file(path, trust)
    print(f"{path}: {report.verdict}, class {report.label_class}, protection {report.trust}")
    assert report.verdict == "compliant" and report.trust == "trusted"


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
