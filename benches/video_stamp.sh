#!/usr/bin/env bash
# The explicit label on a 60 s 1080p H.264 clip (issue 14), side by side with ffmpeg drawing
# the same text over the whole clip:
#   aigc-label stamp clip.mp4 -o ours.mp4                 (re-encodes up to the first keyframe
#                                                          at or after 2 s, copies the rest)
#   ffmpeg -i clip.mp4 -vf drawtext=... -c:a copy out.mp4 (re-encodes all 1800 frames)
# and prints both wall times and the ratio; the target is at least 5x.
# The clip: testsrc2 1920x1080 at 30 fps, libx264 High (-preset veryfast, keyframes every 2 s,
# B-frames), AAC. Both encoders use libx264's default preset; ours at -crf 18.
# Needs ffmpeg (Debian package `ffmpeg`). Run by hand: it takes minutes on a busy machine.
# Usage: benches/video_stamp.sh [--debug]   (--debug times the debug build instead of release)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v ffmpeg > /dev/null || { echo "needs ffmpeg (apt-get install ffmpeg)" >&2; exit 2; }
profile=release
if [ "${1:-}" = "--debug" ]; then profile=debug; cargo build --quiet -p aigc-label-cli
else cargo build --quiet --release -p aigc-label-cli; fi
bin=$(realpath "${CARGO_TARGET_DIR:-target}/$profile/aigc-label")
font=$(realpath crates/aigc-label-image/fonts/AigcLabelSans-Bold.otf)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ffmpeg -v error -nostdin -f lavfi -i testsrc2=size=1920x1080:rate=30:duration=60 \
  -f lavfi -i sine=frequency=440:sample_rate=48000:duration=60 \
  -c:v libx264 -preset veryfast -pix_fmt yuv420p -g 60 -keyint_min 60 -sc_threshold 0 -bf 2 \
  -c:a aac -b:a 128k "$work/clip.mp4"
echo "clip: $(stat -c %s "$work/clip.mp4") bytes, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

now() { date +%s.%N; }
t0=$(now)
"$bin" stamp "$work/clip.mp4" -o "$work/ours.mp4"
t1=$(now)
ffmpeg -v error -nostdin -i "$work/clip.mp4" \
  -vf "drawtext=fontfile=$font:text='AI生成':fontsize=54:fontcolor=white:box=1:boxcolor=black@0.6:x=24:y=h-th-24:enable='lt(t,2)'" \
  -c:v libx264 -crf 18 -c:a copy "$work/theirs.mp4"
t2=$(now)
ours=$(echo "$t1 - $t0" | bc -l)
theirs=$(echo "$t2 - $t1" | bc -l)
printf 'aigc-label stamp (%s): %.2f s\nffmpeg drawtext, whole clip: %.2f s\nspeed-up: %.1fx (target 5x)\n' \
  "$profile" "$ours" "$theirs" "$(echo "$theirs / $ours" | bc -l)"
printf 'sizes: source %s, ours %s, drawtext %s bytes\n' "$(stat -c %s "$work/clip.mp4")" \
  "$(stat -c %s "$work/ours.mp4")" "$(stat -c %s "$work/theirs.mp4")"
ffmpeg -v error -nostdin -i "$work/ours.mp4" -f null - && echo "ours decodes without a message"
