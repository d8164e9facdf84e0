#!/usr/bin/env bash
# Instructions per file-level call, counted by callgrind, at two revisions: the paired "no
# slower" check that holds on a loaded machine, where wall-clock benches drift by 10-20%
# (issue 17). For each worst-case file of `tests/hostile/files.rs` and each of inspect and
# embed, `examples/ops.rs` runs the call three times under valgrind; the count inside the call,
# divided by the calls, is printed for BASE and for HEAD with the change.
# The example is copied into BASE's tree, so any revision with `tests/hostile/files.rs` works.
# Needs valgrind (Debian package `valgrind`). Takes about 15 minutes on 2 cores.
# Usage: benches/instructions.sh BASE [HEAD] [FAMILY...]; HEAD defaults to the working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind > /dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }
base=${1:?usage: benches/instructions.sh BASE [HEAD] [FAMILY...]}
head=${2:-}
shift $(( $# < 2 ? $# : 2 ))
work=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/instructions.XXXXXX")
cleanup() { git worktree remove --force "$work/base" 2> /dev/null || true; [[ -n $head ]] && git worktree remove --force "$work/head" 2> /dev/null; rm -rf "$work"; }
trap cleanup EXIT
target=${CARGO_TARGET_DIR:-$PWD/target}
build() { # TREE NAME: builds the example in TREE, copies it to $work/NAME
  if [[ $1 != . ]]; then mkdir -p "$1/benches/examples"; cp benches/examples/ops.rs "$1/benches/examples/"; fi
  (cd "$1" && CARGO_TARGET_DIR=$target cargo build --quiet --release -p aigc-label-benches --example ops)
  cp "$target/release/examples/ops" "$work/$2"
}
git worktree add -q --detach "$work/base" "$base"
build "$work/base" ops-base
if [[ -n $head ]]; then git worktree add -q --detach "$work/head" "$head"; build "$work/head" ops-head; else build . ops-head; fi
families=("$@")
if (( ${#families[@]} == 0 )); then mapfile -t families < <("$work/ops-head" list); fi
count() { # BIN FAMILY OP -> instructions per call
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" --toggle-collect="ops::op_$3" "$1" "$2" "$3" 3 > /dev/null 2>&1
  awk '/^(summary|totals):/ {print int($2 / 3); exit}' "$work/cg.out"
}
printf '%-26s %-8s %14s %14s %8s\n' family call base head change
for family in "${families[@]}"; do
  for op in inspect embed; do
    b=$(count "$work/ops-base" "$family" "$op") h=$(count "$work/ops-head" "$family" "$op")
    printf '%-26s %-8s %14s %14s %+7.1f%%\n' "$family" "$op" "$b" "$h" "$(awk -v b="$b" -v h="$h" 'BEGIN {print (h - b) * 100 / b}')"
  done
done
