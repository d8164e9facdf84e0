#!/usr/bin/env bash
# Regenerates the bundled sample files used by `cargo run --example quickstart`.
# Tools: ImageMagick 6 (Debian package imagemagick).
set -euo pipefail
cd "$(dirname "$0")"
convert -size 320x200 gradient:'#3a6ea5-#f4d35e' -fill '#1b1b1b' -pointsize 28 \
  -gravity center -annotate 0 'sample' -depth 8 -alpha off -define png:exclude-chunks=date,time -strip sample.png
convert -seed 7 -size 320x200 plasma:orange-purple -quality 85 -strip sample.jpg
