#!/usr/bin/env bash
# The small-file comparison of `small_inplace.sh` (issue 16, part 3) without process start-up:
# the same ~130 KB JPEG and ~370 KB PNG, labelled in process by our library
# (`examples/small_inplace.rs`: `embed_file` in place) and given one XMP property in process by
# libexiv2 (`native/exiv2_xmp.cpp`, built here against Debian's libexiv2-dev). Each round
# restores the file first (not timed). Two cases:
#   first   the plain file: its first label, which for us is a crash-safe rewrite (temporary
#           file, rename) and for libexiv2 a rewrite of the file over itself;
#   update  the file as our first write left it (a label and the room beside it): we update the
#           label in place, libexiv2 sets the property in the XMP that is there. The two run in turns, ROUNDS writes per turn, five turns
# each, and the script prints each side's median (of the turns' medians) and the ratio
# aigc-label / exiv2, in wall-clock time and in CPU time (steadier on a loaded machine); the
# goal, for the update, is at most 0.5. Our write is timed without syncs (libexiv2 makes
# none) and, for reference, with them. For a first label the turns also time the floor
# (`native/replace_floor.c`): the system calls of our crash-safe rewrite alone (read the file,
# create a temporary file, one write, chmod, rename, close) with no parsing at all, which bounds
# what any user-space saving can reach against libexiv2 on this file system.
# Needs g++, gcc, pkg-config, libexiv2-dev and ImageMagick's convert.
# Usage: benches/small_inplace_lib.sh [--check] [ROUNDS]; with --check it exits 1 when an
# update's wall-clock ratio is above 0.5.
set -euo pipefail
cd "$(dirname "$0")/.."
check=
if [[ ${1:-} == --check ]]; then check=1; shift; fi
rounds=${1:-200}
for tool in g++ gcc pkg-config convert; do
  command -v "$tool" > /dev/null || { echo "needs $tool (apt-get install g++ gcc pkg-config imagemagick libexiv2-dev)" >&2; exit 2; }
done
pkg-config --exists exiv2 || { echo "needs libexiv2-dev" >&2; exit 2; }
work=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/small-inplace.XXXXXX")
trap 'rm -rf "$work"' EXIT
g++ -O2 -std=c++17 -o "$work/exiv2_xmp" benches/native/exiv2_xmp.cpp $(pkg-config --cflags --libs exiv2)
gcc -O2 -o "$work/replace_floor" benches/native/replace_floor.c
cargo build --quiet --release -p aigc-label-benches --example small_inplace
ours=${CARGO_TARGET_DIR:-target}/release/examples/small_inplace
convert -seed 7 -size 700x520 plasma:fractal -quality 90 "$work/orig.jpg"
convert -seed 7 -size 300x230 plasma:fractal "$work/orig.png"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
status=0
cli=${CARGO_TARGET_DIR:-target}/release/aigc-label
cargo build --quiet --release -p aigc-label-cli
for case in first-jpg first-png update-jpg update-png; do
  ext=${case#*-} orig=$work/orig.$ext file=$work/file.$ext
  if [[ $case == update-* ]]; then
    "$cli" embed -q --producer 001191440300708461136T1XGW3 --produce-id bench-0 "$orig" -o "$work/labelled.$ext" > /dev/null
    orig=$work/labelled.$ext
  fi
  : > "$work/ours"; : > "$work/synced"; : > "$work/exiv2"; : > "$work/floor"
  # The floor writes what our first label adds to this file, in bytes.
  "$ours" "$orig" "$file" 1 > /dev/null
  extra=$(($(stat -c %s "$file") - $(stat -c %s "$orig")))
  for _ in 1 2 3 4 5; do
    "$work/exiv2_xmp" "$orig" "$file" "$rounds" >> "$work/exiv2"
    if [[ $case == first-* ]]; then "$work/replace_floor" "$orig" "$file" "$rounds" "$extra" >> "$work/floor"; fi
    "$ours" "$orig" "$file" "$rounds" >> "$work/ours"
    "$ours" "$orig" "$file" "$rounds" --sync >> "$work/synced"
  done
  # Column 1: wall-clock medians; column 2: CPU-time medians.
  for col in 1 2; do
    o=$(cut -d' ' -f$col "$work/ours" | median)
    s=$(cut -d' ' -f$col "$work/synced" | median)
    e=$(cut -d' ' -f$col "$work/exiv2" | median)
    what=$([[ $col == 1 ]] && echo wall || echo cpu)
    echo "$case ($(stat -c %s "$orig") bytes), $what: aigc-label ${o} us, libexiv2 ${e} us: $(ratio "$o" "$e")x (synced: ${s} us, $(ratio "$s" "$e")x)"
    if [[ $case == first-* ]]; then
      f=$(cut -d' ' -f$col "$work/floor" | median)
      echo "  floor (system calls of the rewrite alone): ${f} us, $(ratio "$f" "$e")x"
    fi
    if [[ -n $check && $col == 1 && $case == update-* ]] && awk -v r="$(ratio "$o" "$e")" 'BEGIN {exit !(r > 0.5)}'; then status=1; fi
  done
  # What was timed labels the file: the CLI's inspect exits 0 only for a compliant label.
  "$cli" inspect -q "$file" > /dev/null
done
exit $status
