#!/usr/bin/env python3
"""Side-by-side robustness of aigc-label's watermark and invisible-watermark (issue 19).

The same images (the photos in WM_PHOTOS, at least 256 px a side, plus generated pictures) get a
random 64-bit payload from each method, then the same attacks (Pillow); the table counts exact
payload recoveries per attack, and the mean bit accuracy for invisible-watermark (which has no
check, so it always returns 64 bits). aigc-label runs through the `wm_files` example with its
rotation search over 3 degrees. Also printed: detections on the unmarked originals, and the
mean CPU time (one core) of embed and detect on the 1920x1080 generated picture.

Setup (a virtual environment is fine):
    pip install --no-deps invisible-watermark
    pip install opencv-python-headless PyWavelets numpy pillow
    cargo build --release -p aigc-label-watermark --example wm_files
    WM_PHOTOS=.../skimage/data python3 benches/watermark_compare.py

invisible-watermark imports its torch-based RivaGAN module unconditionally; torch is not needed
for dwtDct and dwtDctSvd, so a stub stands in for it.
"""

import math
import os
import random
import subprocess
import sys
import tempfile
import time
import types

import numpy as np
from PIL import Image

sys.modules.setdefault("torch", types.ModuleType("torch"))
import cv2  # noqa: E402

cv2.setNumThreads(1)  # one core, as the Rust side
from imwatermark import WatermarkDecoder, WatermarkEncoder  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WM_FILES = os.environ.get("WM_FILES", os.path.join(ROOT, "target", "release", "examples", "wm_files"))


def jpeg(img, quality, fmt="JPEG"):
    path = tempfile.mktemp(suffix="." + fmt.lower())
    img.save(path, fmt, quality=quality)
    out = Image.open(path).convert("RGB")
    out.load()
    os.unlink(path)
    return out


def scale(img, f):
    return img.resize((int(img.width * f), int(img.height * f)), Image.BILINEAR)


def crop(img, left, top, right, bottom):
    w, h = img.size
    x, y = int(w * left), int(h * top)
    return img.crop((x, y, x + int(w * (1 - left - right)), y + int(h * (1 - top - bottom))))


def tone(img, gain, offset):
    a = np.asarray(img, dtype=np.float32)
    return Image.fromarray(np.clip(np.round((a - 128) * gain + 128 + offset), 0, 255).astype(np.uint8))


def noise(img, sigma, seed=7):
    a = np.asarray(img, dtype=np.float32)
    a = a + np.random.default_rng(seed).normal(0, sigma, a.shape)
    return Image.fromarray(np.clip(np.round(a), 0, 255).astype(np.uint8))


def rotate(img, degrees):
    """Rotation about the centre, cropped to the largest centred rectangle of the original
    aspect ratio without corner fill (the same bound as the Rust tests)."""
    w, h = img.size
    turned = img.rotate(degrees, resample=Image.BILINEAR)
    s, c = abs(math.sin(math.radians(degrees))), abs(math.cos(math.radians(degrees)))
    k = 1 / (c + s * max(w / h, h / w))
    m = (1 - k) / 2
    return crop(turned, m, m, m, m)


ATTACKS = [
    ("none", lambda i: i),
    ("jpeg50", lambda i: jpeg(i, 50)),
    ("webp50", lambda i: jpeg(i, 50, "WEBP")),
    ("scale0.5", lambda i: scale(i, 0.5)),
    ("scale0.3", lambda i: scale(i, 0.3)),
    ("crop10", lambda i: crop(i, 0.1, 0.1, 0.1, 0.1)),
    ("crop60area", lambda i: crop(i, 0.05, 0.17, 0.17, 0.05)),
    ("rotate2", lambda i: rotate(i, 2)),
    ("bright+20%", lambda i: tone(i, 1.0, 25.6)),
    ("bright-20%", lambda i: tone(i, 1.0, -25.6)),
    ("contrast+20%", lambda i: tone(i, 1.2, 0)),
    ("contrast-20%", lambda i: tone(i, 0.8, 0)),
    ("noise5", lambda i: noise(i, 5)),
    ("chain", lambda i: crop(jpeg(scale(i, 0.5), 70), 0.05, 0.05, 0.05, 0.05)),
]


def generated():
    """Gradient and value-noise pictures at three sizes."""
    rng = np.random.default_rng(45438)
    out = []
    for k, (w, h) in enumerate([(512, 512), (1024, 768), (1920, 1080), (1024, 768)]):
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        if k % 2 == 0:
            base = np.stack([40 + 170 * x / w, 60 + 120 * y / h, 200 - 150 * x * y / (w * h)], -1)
        else:
            coarse = cv2.resize(rng.random((h // 48 + 2, w // 48 + 2), dtype=np.float32), (w, h))
            fine = cv2.resize(rng.random((h // 3 + 2, w // 3 + 2), dtype=np.float32), (w, h))
            t = 30 + 190 * coarse + 40 * (fine - 0.5)
            base = np.stack([t, t * 0.8 + 20, t * 0.6 + 40], -1)
        out.append((f"generated-{k}-{w}x{h}", Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))))
    return out


def photos():
    folder = os.environ.get("WM_PHOTOS")
    if not folder:
        return []
    out = []
    for name in sorted(os.listdir(folder)):
        if name.lower().endswith((".png", ".jpg", ".jpeg")):
            img = Image.open(os.path.join(folder, name)).convert("RGB")
            if img.width >= 256 and img.height >= 256:
                out.append((name, img))
    return out


def cpu_ms(f, runs=20):
    """Mean CPU time of `f()` in milliseconds (CPU, not wall: fair on a loaded machine)."""
    start = time.process_time()
    for _ in range(runs):
        f()
    return (time.process_time() - start) * 1000 / runs


def psnr(a, b):
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return 10 * math.log10(255**2 / max(np.mean(d * d), 1e-12))


def to_bgr(img):
    return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)


def iw_embed(img, bits, method):
    enc = WatermarkEncoder()
    enc.set_watermark("bits", bits)
    bgr = enc.encode(to_bgr(img), method)
    return Image.fromarray(cv2.cvtColor(np.clip(bgr, 0, 255).astype(np.uint8), cv2.COLOR_BGR2RGB))


def iw_detect(img, bits, method):
    """(exact, bit accuracy); images under invisible-watermark's 256x256 minimum count as lost."""
    if img.width * img.height < 256 * 256:
        return False, 0.5
    try:
        got = WatermarkDecoder("bits", 64).decode(to_bgr(img), method)
    except Exception:  # noqa: BLE001 - any failure to decode is a miss
        return False, 0.5
    same = sum(int(a) == int(b) for a, b in zip(got, bits))
    return same == 64, same / 64


def main():
    if not os.path.exists(WM_FILES):
        sys.exit(f"{WM_FILES} missing: cargo build --release -p aigc-label-watermark --example wm_files")
    images = photos() + generated()
    rng = random.Random(19)
    tmp = tempfile.mkdtemp(prefix="wm_compare_")
    methods = ["aigc-label", "dwtDct", "dwtDctSvd"]
    exact = {(m, a): 0 for m in methods for a, _ in ATTACKS}
    accuracy = {(m, a): 0.0 for m in methods for a, _ in ATTACKS}
    psnrs = {m: [] for m in methods}
    for n, (name, img) in enumerate(images):
        payload = rng.getrandbits(64)
        bits = [(payload >> (63 - i)) & 1 for i in range(64)]
        src = os.path.join(tmp, f"{n}.png")
        img.save(src)
        ours = os.path.join(tmp, f"{n}-ours.png")
        out = subprocess.run([WM_FILES, "embed", f"{payload:016x}", src, ours], capture_output=True, text=True, check=True)
        marked = {"aigc-label": Image.open(ours).convert("RGB")}
        psnrs["aigc-label"].append(float(out.stdout))
        for m in methods[1:]:
            marked[m] = iw_embed(img, bits, m)
            psnrs[m].append(psnr(img, marked[m]))
        files = []
        for a, attack in ATTACKS:
            attacked = attack(marked["aigc-label"])
            path = os.path.join(tmp, f"{n}-{a}.png")
            attacked.save(path)
            files.append((a, path))
            for m in methods[1:]:
                ok, acc = iw_detect(attack(marked[m]), bits, m)
                exact[(m, a)] += ok
                accuracy[(m, a)] += acc
        out = subprocess.run([WM_FILES, "detect", "3"] + [p for _, p in files], capture_output=True, text=True, check=True)
        for (a, _), line in zip(files, out.stdout.splitlines()):
            found = line.rsplit(" ", 1)[-1]
            ok = found == f"{payload:016x}"
            if found not in ("none", f"{payload:016x}"):
                print(f"WRONG PAYLOAD: {name} {a} {found}", file=sys.stderr)
            exact[("aigc-label", a)] += ok
            accuracy[("aigc-label", a)] += 1.0 if ok else 0.0
        print(f"{name} {img.width}x{img.height} done", file=sys.stderr)
    total = len(images)
    # Unmarked originals: aigc-label reports a payload only when the check passes;
    # invisible-watermark always returns 64 bits, so it has no notion of "no watermark".
    originals = [os.path.join(tmp, f"{n}.png") for n in range(total)]
    out = subprocess.run([WM_FILES, "detect", "3"] + originals, capture_output=True, text=True, check=True)
    false_ours = sum(not line.endswith(" none") for line in out.stdout.splitlines())
    # Timings on the 1920x1080 generated picture.
    big_name, big = next((n, i) for n, i in images if i.size == (1920, 1080))
    big_path = os.path.join(tmp, "big.png")
    big.save(big_path)
    ours_ms = subprocess.run([WM_FILES, "time", big_path], capture_output=True, text=True, check=True).stdout.split()
    times = {"aigc-label": (float(ours_ms[2]), float(ours_ms[3]))}
    bits = [1, 0] * 32
    for m in methods[1:]:
        marked = iw_embed(big, bits, m)
        times[m] = (cpu_ms(lambda: iw_embed(big, bits, m)), cpu_ms(lambda: iw_detect(marked, bits, m)))
    print(f"\n{total} images ({len(images) - 4} photos, 4 generated); exact 64-bit recoveries "
          "(invisible-watermark: mean bit accuracy in brackets)\n")
    print("| attack | aigc-label | dwtDct | dwtDctSvd |")
    print("|---|---|---|---|")
    print("| PSNR dB (min / mean) | " + " | ".join(
        f"{min(psnrs[m]):.1f} / {sum(psnrs[m]) / total:.1f}" for m in methods) + " |")
    for a, _ in ATTACKS:
        cells = [f"{exact[('aigc-label', a)]}/{total}"]
        for m in methods[1:]:
            cells.append(f"{exact[(m, a)]}/{total} ({100 * accuracy[(m, a)] / total:.0f}%)")
        print(f"| {a} | " + " | ".join(cells) + " |")
    print(f"| unmarked originals detected | {false_ours}/{total} | no check | no check |")
    print(f"| embed / detect, CPU ms, {big_name} | " + " | ".join(
        f"{times[m][0]:.0f} / {times[m][1]:.0f}" for m in methods) + " |")


if __name__ == "__main__":
    main()
