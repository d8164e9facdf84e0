#!/usr/bin/env bash
# A full rewrite against `cp` (issue 16, part 2): `embed -o` of a ~100 MB fast-start MP4 (moov
# before mdat, so nothing but moov changes) next to `cp` of the same file, both timed by
# hyperfine from a process start, the output removed between runs (in --prepare, not timed).
# The goal: aigc-label at most 1.2x cp. cp uses copy_file_range (coreutils 9); aigc-label uses
# it where input and output offsets align alike within a page (the label's growth shifts the
# media here, so it copies in blocks); it also reads back what it wrote and syncs the file and
# its folder, which cp does not, so `cp` followed by `sync -f` is timed too, like for like.
# Needs hyperfine and ffmpeg (Debian packages `hyperfine`, `ffmpeg`).
# Usage: benches/rewrite_vs_cp.sh [--check] [BINARY]; with --check it exits 1 when
# aigc-label / (cp + sync) is above 1.2. BINARY defaults to a fresh release build of the CLI.
set -euo pipefail
source "$(dirname "$0")/common.sh"
bench_setup rewrite-vs-cp "$@"
noise_mp4 "$work/in.mp4" -movflags +faststart
size=$(stat -c %s "$work/in.mp4")
echo "== $size bytes ($((size >> 20)) MiB), moov before mdat"
out=$work/out.mp4
hyperfine -N --warmup 2 --min-runs 10 --style basic --export-json "$work/r.json" \
  --prepare "rm -f $out" \
  -n aigc-label "$bin embed -q --producer 001191440300708461136T1XGW3 --produce-id bench-1 $work/in.mp4 -o $out" \
  -n "aigc-label --no-sync" "$bin embed -q --no-sync --producer 001191440300708461136T1XGW3 --produce-id bench-1 $work/in.mp4 -o $out" \
  -n cp "cp $work/in.mp4 $out" \
  -n "cp+sync" "sh -c 'cp $work/in.mp4 $out && sync -f $out'"
ratio=$(python3 -c '
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print("%.2f %.2f" % (r["aigc-label"] / r["cp"], r["aigc-label"] / r["cp+sync"]))
print("%.2f" % (r["aigc-label --no-sync"] / r["cp"]), file=sys.stderr)' "$work/r.json" 2> "$work/nosync")
echo "aigc-label / cp = ${ratio% *}x, aigc-label / (cp + sync) = ${ratio#* }x, aigc-label --no-sync / cp = $(cat "$work/nosync")x"
# What was timed labels the file: inspect exits 0 only for a compliant label.
rm -f "$out"
"$bin" embed -q --producer 001191440300708461136T1XGW3 --produce-id bench-1 "$work/in.mp4" -o "$out" > /dev/null
"$bin" inspect -q "$out"
if [[ -n $check ]]; then
  python3 -c 'import sys; sys.exit(float(sys.argv[1]) > 1.2)' "${ratio#* }" || { echo "above 1.2x cp" >&2; exit 1; }
fi
