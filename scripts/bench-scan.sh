#!/usr/bin/env bash
# End-to-end rate of `mule qr scan` at a QR profile: a bundle's frames (`qr encode --png`),
# filmed as a 1280x720 camera would (the code at about 60% of the height, slight perspective,
# blur, noise, JPEG), played as an MJPEG stream at the profile's frame rate and looped like a
# screen, piped into `mule qr scan --input -` until it has rebuilt the bundle.
# Prints the bundle size, the scan's time, frames decoded and dropped, and KB/s of bundle.
#
# Usage: scripts/bench-scan.sh [ENTRIES] [PROFILE]   (default 2000 entries, about 90 KB; default)
# MULE=path/to/mule picks the binary (default: a release build). Needs ffmpeg, python3.
set -euo pipefail

ENTRIES=${1:-2000}
PROFILE=${2:-default}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
if [ -z "${MULE:-}" ]; then
    cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" --bin mule
    MULE="${CARGO_TARGET_DIR:-$ROOT/target}/release/mule"
fi
case "$PROFILE" in
    small) FPS=8 ;; default) FPS=12 ;; large | duo) FPS=15 ;; photo) FPS=2 ;;
    *) echo "unknown profile $PROFILE" >&2; exit 2 ;;
esac

# Entries that do not compress much, as real observations mostly do not.
python3 -c "
import hashlib
for i in range($ENTRIES):
    print('{\"i\":%d,\"h\":\"%s\"}' % (i, hashlib.sha256(str(i).encode()).hexdigest()))
" | "$MULE" --store "$WORK/src" append obs - >/dev/null
"$MULE" --store "$WORK/src" export --all -o "$WORK/all.mule" >/dev/null
"$MULE" qr encode "$WORK/all.mule" --png "$WORK/frames" --profile "$PROFILE" >/dev/null
CAMERA="scale=-2:432,pad=1280:720:(ow-iw)/2:(oh-ih)/2:white,\
perspective=x0=20:y0=12:x1=W-8:y1=20:x2=10:y2=H-16:x3=W-24:y3=H-6:sense=destination,\
gblur=sigma=0.7,noise=alls=8:allf=t"
ffmpeg -nostdin -loglevel error -framerate "$FPS" -i "$WORK/frames/frame-%05d.png" \
    -vf "$CAMERA" -c:v mjpeg -q:v 6 -f mjpeg "$WORK/stream.mjpeg"

# The stream at the profile's frame rate (-re paces it; the mjpeg demuxer needs the rate
# given), looped as a screen loops it.
report=$(ffmpeg -nostdin -loglevel error -re -stream_loop 20 -framerate "$FPS" -f mjpeg \
    -i "$WORK/stream.mjpeg" -c copy -f mjpeg pipe:1 2>/dev/null |
    "$MULE" --store "$WORK/dst" --json qr scan --input - -o "$WORK/rebuilt.mule" || true)
cmp -s "$WORK/rebuilt.mule" "$WORK/all.mule" || { echo "scan failed: $report" >&2; exit 1; }
python3 -c "
import json, sys
r = json.loads(sys.argv[1])
size = r['bundles'][0]['bytes']
print(f'| profile | bundle | time | frames decoded | dropped | rate |')
print(f'|---|---|---|---|---|---|')
print(f'| $PROFILE ({$FPS} fps) | {size/1000:.1f} KB | {r[\"ms\"]/1000:.1f} s | {r[\"images\"]} | {r[\"dropped\"]} | {size/r[\"ms\"]:.1f} KB/s |')
" "$report"
