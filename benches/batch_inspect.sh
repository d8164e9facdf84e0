#!/usr/bin/env bash
# Batch inspection throughput, side by side with exiftool (issue: platform scale).
#
# Makes a folder of N small labelled images (half PNG, half JPEG, from the bundled samples,
# labelled by `aigc-label embed`), warms the page cache, then times one run of
#   aigc-label inspect --json DIR      (all cores)
#   exiftool -r DIR                    (one process, as platforms run it)
# and prints files per second for each and the ratio. Usage: benches/batch_inspect.sh [N] [--check]
# With --check it exits 1 unless aigc-label reaches 5,000 files/s and 10x exiftool's rate.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
check=${2:-}
cargo build --quiet --release -p aigc-label-cli
bin=${CARGO_TARGET_DIR:-target}/release/aigc-label
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/in"
for ((i = 0; i < n; i++)); do
  if ((i % 2)); then cp examples/samples/sample.jpg "$work/in/f$i.jpg"; else cp examples/samples/sample.png "$work/in/f$i.png"; fi
done
"$bin" embed --in-place -q --producer 001191440300708461136T1XGW3 --produce-id '{stem}' "$work/in" > /dev/null
cat "$work"/in/* > /dev/null   # warm the page cache

now() { date +%s.%N; }
t0=$(now); "$bin" inspect --json "$work/in" > "$work/ours.jsonl"; t1=$(now)
t2=$(now); exiftool -r -q -q "$work/in" > "$work/exiftool.txt" 2>&1 || true; t3=$(now)

compliant=$(grep -c '"verdict":"compliant"' "$work/ours.jsonl" || true)
python3 - "$n" "$t0" "$t1" "$t2" "$t3" "$compliant" "$check" <<'PY'
import sys
n, t0, t1, t2, t3, compliant, check = int(sys.argv[1]), *map(float, sys.argv[2:6]), int(sys.argv[6]), sys.argv[7]
ours, theirs = n / (t1 - t0), n / (t3 - t2)
print(f"files: {n}, compliant: {compliant}")
print(f"aigc-label inspect: {t1 - t0:.3f} s, {ours:,.0f} files/s")
print(f"exiftool -r:        {t3 - t2:.3f} s, {theirs:,.0f} files/s")
print(f"ratio: {ours / theirs:.1f}x")
ok = compliant == n and ours >= 5000 and ours >= 10 * theirs
if check == "--check" and not ok:
    sys.exit("below target: need every file compliant, >= 5,000 files/s and >= 10x exiftool")
PY
