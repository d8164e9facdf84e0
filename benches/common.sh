# Set-up shared by the hyperfine benches (`inplace_vs_cp.sh`, `rewrite_vs_cp.sh`); sourced, not
# run. After `bench_setup NAME "$@"`:
#   check  1 when --check was given (the bench then exits 1 below its goal), else empty;
#   bin    the CLI: the BINARY argument, or a fresh release build;
#   work   a temporary folder in BENCH_TMP (default TMPDIR or /tmp), removed on exit.
# `noise_mp4 OUT [FFMPEG OPTIONS...]` writes ~100 MB of MPEG-4 noise (14 s at 640x360): noise
# compresses badly, so it takes seconds to encode, not minutes.
# Needs hyperfine and ffmpeg (Debian packages `hyperfine`, `ffmpeg`).

bench_setup() {
  local name=$1
  shift
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  check=
  if [[ ${1:-} == --check ]]; then check=1; shift; fi
  local tool
  for tool in hyperfine ffmpeg; do
    command -v "$tool" > /dev/null || { echo "needs $tool (apt-get install hyperfine ffmpeg)" >&2; exit 2; }
  done
  if [[ -n ${1:-} ]]; then
    bin=$(realpath "$1")
  else
    cargo build --quiet --release -p aigc-label-cli
    bin=$(realpath "${CARGO_TARGET_DIR:-target}/release/aigc-label")
  fi
  work=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/$name.XXXXXX")
  trap 'rm -rf "$work"' EXIT
}

noise_mp4() {
  local out=$1
  shift
  ffmpeg -v error -f lavfi -i "nullsrc=s=640x360:r=25,geq=random(1)*255:128:128" -t 14 \
    -c:v mpeg4 -q:v 1 "$@" -y "$out"
}
