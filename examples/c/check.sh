#!/usr/bin/env bash
# Runs the C tests, then the example on every bundled sample, checking that the JSON the C ABI
# returns equals the line `aigc-label inspect --json` prints for the same file.
#   check.sh WRAPPER BUILD_DIR CLI SAMPLES_DIR    (WRAPPER: "" or a valgrind command line)
set -euo pipefail
wrapper=$1 build=$2 cli=$3 samples=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

$wrapper "$build/test" "$samples" "$tmp"

n=0
for f in "$samples"/sample.*; do
  expected=$("$cli" inspect --json "$f" | head -n 1) || true   # exit 1: unlabelled samples
  actual=$($wrapper "$build/example" "$f" | head -n 1)
  if [ "$expected" != "$actual" ]; then
    echo "C ABI and CLI differ on $f:"; echo "  cli: $expected"; echo "  C:   $actual"; exit 1
  fi
  n=$((n + 1))
done
[ "$n" -ge 10 ] || { echo "only $n samples found in $samples"; exit 1; }
echo "C example: $n samples, JSON equal to aigc-label inspect --json"
