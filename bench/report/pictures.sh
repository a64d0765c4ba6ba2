#!/usr/bin/env bash
# Benchmark: the size of `nightcap report --images` pages with the pictures embedded as they are on
# disk (--image-size 4096, larger than any of them) and scaled down (the default 480, and 320), on
# the demo run with its 600 image ids given the JPEG photos named on the command line (cycled:
# <id>.jpg links to the next photo). Prints each page's size, wall and CPU seconds.
# Usage: bench/report/pictures.sh PHOTO.jpg [PHOTO.jpg ...]
# NIGHTCAP_BIN picks the binary (default: a release build, built here).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
[ $# -ge 1 ] || { echo "usage: $0 PHOTO.jpg [PHOTO.jpg ...]" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ -z "${NIGHTCAP_BIN:-}" ]; then
  (cd "$root" && swift build -c release --product nightcap >/dev/null)
  NIGHTCAP_BIN="$root/.build/release/nightcap"
fi
photos=("$@")
for photo in "${photos[@]}"; do
  printf '%s: %s bytes\n' "$photo" "$(stat -c %s "$photo")"
done
"$NIGHTCAP_BIN" run "$root/pipelines/demo.toml" --db "$tmp/demo.sqlite" --quiet --threads 2
mkdir "$tmp/pictures"
i=0
for id in $(seq 100001 100600); do
  ln -s "$(realpath "${photos[$((i % ${#photos[@]}))]}")" "$tmp/pictures/$id.jpg"
  i=$((i + 1))
done
echo "machine: $(nproc) cores, $(uname -sm), load average $(cut -d' ' -f1-3 /proc/loadavg)"
run() {
  local name="$1"; shift
  /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$NIGHTCAP_BIN" report 1 --db "$tmp/demo.sqlite" \
    --images "$tmp/pictures" "$@" --out "$tmp/page.html" >/dev/null
  read -r wall user sys < "$tmp/time"
  printf '%-40s %6s s wall %6s s user %10s bytes\n' "$name" "$wall" "$user" "$(stat -c %s "$tmp/page.html")"
}
run "40 images, pictures as on disk" --image-size 4096
run "40 images, --image-size 480 (default)"
run "40 images, --image-size 320" --image-size 320
run "100 images, --image-size 480" --worst 50 --best 50
