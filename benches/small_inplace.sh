#!/usr/bin/env bash
# One small file labelled in place, side by side with exiv2 writing the same kind of XMP
# (issue 16, part 3). Makes a ~130 KB JPEG and a ~370 KB PNG with ImageMagick, then times with
# hyperfine, each run on a fresh copy of the file (restored in --prepare, not timed):
#   aigc-label embed --in-place FILE          (one file: no worker pool, read once, written once)
#   exiv2 -M"set Xmp.dc.title ..." mo FILE    (one XMP property written in place)
# and prints each mean and the ratio aigc-label / exiv2 (the goal is at most 0.5).
# Needs hyperfine and exiv2 (Debian packages `hyperfine`, `exiv2`) and ImageMagick's convert.
# Usage: benches/small_inplace.sh [--check|-] [BINARY]; with --check it exits 1 when a ratio is
# above 0.5. BINARY defaults to a fresh release build of the CLI.
# Both are timed from a process start: `aigc-label --version` alone takes about 1.3 ms here,
# exiv2's about 2.1 ms; aigc-label also syncs the file and its folder (exiv2 does not), unless
# given --no-sync, which is timed too.
set -euo pipefail
cd "$(dirname "$0")/.."
check=${1:-}
for tool in hyperfine exiv2 convert; do
  command -v "$tool" > /dev/null || { echo "needs $tool (apt-get install hyperfine exiv2 imagemagick)" >&2; exit 2; }
done
if [[ -n ${2:-} ]]; then
  bin=$(realpath "$2")
else
  cargo build --quiet --release -p aigc-label-cli
  bin=$(realpath "${CARGO_TARGET_DIR:-target}/release/aigc-label")
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
convert -seed 7 -size 700x520 plasma:fractal -quality 90 "$work/orig.jpg"
convert -seed 7 -size 300x230 plasma:fractal "$work/orig.png"

ratios=()
for ext in jpg png; do
  orig=$work/orig.$ext
  file=$work/file.$ext
  echo "== $ext, $(stat -c %s "$orig") bytes"
  hyperfine -N --warmup 5 --min-runs 40 --style basic --export-json "$work/$ext.json" \
    --prepare "cp $orig $file" \
    -n aigc-label "$bin embed --in-place -q --producer 001191440300708461136T1XGW3 --produce-id bench-1 $file" \
    --prepare "cp $orig $file" \
    -n "aigc-label --no-sync" "$bin embed --in-place -q --no-sync --producer 001191440300708461136T1XGW3 --produce-id bench-1 $file" \
    --prepare "cp $orig $file" \
    -n exiv2 "exiv2 -M 'set Xmp.dc.title bench-1' mo $file"
  ratios+=("$(python3 -c 'import json,sys; r={x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}; print("%.2f" % (r["aigc-label"] / r["exiv2"]))' "$work/$ext.json")")
  unsynced=$(python3 -c 'import json,sys; r={x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}; print("%.2f" % (r["aigc-label --no-sync"] / r["exiv2"]))' "$work/$ext.json")
  echo "$ext: aigc-label / exiv2 = ${ratios[-1]}x; with --no-sync (exiv2 makes no sync either): ${unsynced}x"
  # What was timed labels the file: inspect exits 0 only for a compliant label.
  cp "$orig" "$file"
  "$bin" embed --in-place -q --producer 001191440300708461136T1XGW3 --produce-id bench-1 "$file" > /dev/null
  "$bin" inspect -q "$file"
done
if [[ $check == --check ]]; then
  for r in "${ratios[@]}"; do
    python3 -c 'import sys; sys.exit(float(sys.argv[1]) > 0.5)' "$r" || { echo "above 0.5x exiv2" >&2; exit 1; }
  done
fi
