#!/usr/bin/env bash
# Regenerates the bundled sample files used by `cargo run --example quickstart`.
# Tools (Debian packages): imagemagick, sox, ffmpeg, libreoffice-writer-nogui (soffice). The
# text on sample.png is drawn with the font bundled in the repository, so no system fonts (nor
# Ghostscript's) are needed.
set -euo pipefail
cd "$(dirname "$0")"
for tool in convert sox ffmpeg soffice; do
  command -v "$tool" > /dev/null || { echo "make.sh needs $tool (see the Debian packages above)" >&2; exit 1; }
done
font=../../crates/aigc-label-image/fonts/AigcLabelSans-Bold.otf
convert -size 320x200 gradient:'#3a6ea5-#f4d35e' -fill '#1b1b1b' -font "$font" -pointsize 28 \
  -gravity center -annotate 0 'sample' -depth 8 -alpha off -define png:exclude-chunks=date,time -strip sample.png
convert -seed 7 -size 320x200 plasma:orange-purple -quality 85 -strip sample.jpg
sox -n -r 16000 -c 1 -b 16 sample.wav synth 0.5 sine 440 fade 0.05 0.5 0.05
ffmpeg -v error -y -i sample.wav -c:a libmp3lame -b:a 32k -map_metadata -1 -fflags +bitexact sample.mp3
ffmpeg -v error -y -i sample.wav -c:a flac -map_metadata -1 -fflags +bitexact sample.flac
ffmpeg -v error -y -i sample.wav -c:a libvorbis -q:a 0 -map_metadata -1 -fflags +bitexact sample.ogg
ffmpeg -v error -y -f lavfi -i testsrc=size=96x64:rate=10 -t 1 -pix_fmt yuv420p -c:v libx264 -preset ultrafast \
  -map_metadata -1 -fflags +bitexact -movflags +faststart sample.mp4
ffmpeg -v error -y -f lavfi -i testsrc=size=96x64:rate=10 -t 1 -pix_fmt yuv420p -c:v libx264 -preset ultrafast \
  -map_metadata -1 -fflags +bitexact sample.mkv
printf '# A generated answer\n\nThe tide rises twice a day because the Moon pulls on the oceans.\n' > sample.md
soffice --headless --convert-to pdf --outdir . sample.md > /dev/null 2>&1 || true
cp sample.md sample.txt && soffice --headless --convert-to docx --outdir . sample.txt > /dev/null 2>&1 && rm -f sample.txt
