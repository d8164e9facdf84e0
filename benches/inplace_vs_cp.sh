#!/usr/bin/env bash
# `propagate --in-place` on a ~1 GB MP4 that has room (our first write leaves it in the label's
# `meta` box) against `cp` of the same file (issue 16, part 1). The in-place update writes the
# new `keys`/`ilst` and one 4-byte switch, a few KiB in all, so it should take a small fraction
# of the copy: the goal is at least 100x faster than cp. Both are timed by hyperfine from a
# process start. Each timed propagation is preceded (in --prepare, not timed) by one with
# another PropagateID, so every timed run really writes a new label.
# Needs hyperfine and ffmpeg (Debian packages `hyperfine`, `ffmpeg`), and ~2 GB of free disk in
# BENCH_TMP (default TMPDIR or /tmp); the files are removed on exit.
# Usage: benches/inplace_vs_cp.sh [--check] [BINARY]; with --check it exits 1 when cp is less
# than 100x the in-place time. BINARY defaults to a fresh release build of the CLI.
set -euo pipefail
source "$(dirname "$0")/common.sh"
bench_setup inplace-vs-cp "$@"
producer=001191440300708461136T1XGW3
platform=001191110108551385082Q20000
# ~100 MB of noise (fast to encode), then the same stream ten times over without re-encoding.
noise_mp4 "$work/part.mp4"
ffmpeg -v error -stream_loop 9 -i "$work/part.mp4" -c copy -y "$work/big.mp4"
rm -f "$work/part.mp4"
# Our first write (a full rewrite) labels the file and leaves the room.
"$bin" embed -q --producer "$producer" --produce-id bench-1 "$work/big.mp4" -o "$work/in.mp4"
rm -f "$work/big.mp4"
size=$(stat -c %s "$work/in.mp4")
echo "== $size bytes ($((size >> 20)) MiB), labelled by our first write"
in=$work/in.mp4
out=$work/copy.mp4
propagate="$bin propagate -q --in-place --platform $platform"
hyperfine -N --warmup 2 --min-runs 20 --style basic --export-json "$work/r.json" \
  --prepare "$propagate --no-sync --propagate-id upload-a $in" \
  -n "propagate --in-place" "$propagate --propagate-id upload-b $in" \
  --prepare "$propagate --no-sync --propagate-id upload-a $in" \
  -n "propagate --in-place --no-sync" "$propagate --no-sync --propagate-id upload-b $in" \
  --prepare "rm -f $out" \
  -n cp "cp $in $out" \
  --prepare "rm -f $out" \
  -n "cp+sync" "sh -c 'cp $in $out && sync -f $out'"
ratios=$(python3 -c '
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
p, q = r["propagate --in-place"], r["propagate --in-place --no-sync"]
print("%.0f %.0f %.0f %.0f" % (r["cp"] / p, r["cp+sync"] / p, r["cp"] / q, r["cp+sync"] / q))' "$work/r.json")
read -r synced synced_vs_sync unsynced unsynced_vs_sync <<< "$ratios"
echo "cp / propagate --in-place = ${synced}x (cp+sync: ${synced_vs_sync}x); with --no-sync: ${unsynced}x (cp+sync: ${unsynced_vs_sync}x)"
ratio=$synced
# What was timed updated the label: the file reads as the platform's, and was not rewritten.
ino=$(stat -c %i "$in")
$propagate --propagate-id upload-c "$in"
[[ $(stat -c %i "$in") == "$ino" ]] || { echo "the file was rewritten, not updated in place" >&2; exit 1; }
"$bin" inspect --json "$in" | grep -q upload-c || { echo "the new label is not there" >&2; exit 1; }
if [[ -n $check ]]; then
  python3 -c 'import sys; sys.exit(float(sys.argv[1]) < 100)' "$ratio" || { echo "below 100x cp" >&2; exit 1; }
fi
