#!/usr/bin/env bash
# Runs every command of the README's `sh` blocks, as written, the way a new user following the
# README would: in a fresh folder holding the inputs the commands name (in.png, other.jpg,
# clip.mp4, photo.jpg, uploads/, outputs/, made from the bundled samples), one command after
# another, so later commands see what earlier ones wrote (gen.pem, trust.txt, platform.pem, ...).
#
# A command passes when it exits 0 or 1 (1: some file has no label, an answer rather than a
# failure); anything else (2 non-compliant, 3 unreadable, 64 bad usage, ...) fails the script.
# Cargo commands are not run here: `.ci/run` runs the quickstart and the tests itself, and
# `cargo install` is stood in for by the debug build of the command, put first on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cargo build --quiet -p aigc-label-cli
target_dir=${CARGO_TARGET_DIR:-target}
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
bin_dir="$target_dir/debug"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
samples="$root/examples/samples"
cp "$samples/sample.png" "$work/in.png"
cp "$samples/sample.jpg" "$work/other.jpg"
cp "$samples/sample.jpg" "$work/photo.jpg"
cp "$samples/sample.mp4" "$work/clip.mp4"
mkdir -p "$work/uploads/sub" "$work/outputs"
cp "$samples"/sample.{png,jpg,wav,mp3,md,pdf} "$work/uploads/"
cp "$samples/sample.png" "$work/uploads/sub/b.png"
cp "$samples"/sample.{png,flac,mkv,docx} "$work/outputs/"

# The README's sh blocks, one command per line (backslash continuations joined, comments and
# blank lines dropped).
commands=$(awk '
  /^```sh$/ { inside = 1; next }
  /^```/    { inside = 0; next }
  inside {
    line = $0
    if (line ~ /^[[:space:]]*#/ || line ~ /^[[:space:]]*$/) next
    if (line ~ /\\$/) { pending = pending substr(line, 1, length(line) - 1); next }
    print pending line
    pending = ""
  }' README.md)
[ -n "$commands" ] || { echo "no sh blocks in README.md"; exit 1; }

failed=0
ran=0
cd "$work"
while IFS= read -r command; do
  case "$command" in
    cargo\ *|tests/*|.ci/*)
      echo "-- not run here (CI runs it, or it builds the command): $command"
      continue ;;
  esac
  ran=$((ran + 1))
  status=0
  PATH="$bin_dir:$PATH" bash -c "set -o pipefail; $command" > "$work/.out" 2>&1 || status=$?
  if [ "$status" -le 1 ]; then
    echo "ok ($status): $command"
  else
    echo "FAILED ($status): $command"
    sed 's/^/    /' "$work/.out"
    failed=$((failed + 1))
  fi
done <<< "$commands"
echo "-- README commands: $ran run, $failed failed"
[ "$failed" -eq 0 ]
