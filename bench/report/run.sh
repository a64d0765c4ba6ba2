#!/usr/bin/env bash
# Benchmark: `nightcap report` (release build) on a COCO-sized synthetic results database (two
# runs of 5,000 images, 36 regions, 8..16 words; bench/report/make_results.py): a one-run report
# (40 images), a 100-image report, and --vs reports (which add the paired bootstrap, 1,000
# resamples); wall and CPU seconds and page sizes. Usage: bench/report/run.sh [IMAGES]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
images="${1:-5000}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && swift build -c release --product nightcap >/dev/null)
bin="$root/.build/release/nightcap"
python3 "$root/bench/report/make_results.py" "$tmp/results.sqlite" --images "$images"
echo "machine: $(nproc) cores, $(uname -sm), load average $(cut -d' ' -f1-3 /proc/loadavg)"
run() {
  local name="$1"; shift
  /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$bin" report "$@" --db "$tmp/results.sqlite" --out "$tmp/$name.html" >/dev/null
  read -r wall user sys < "$tmp/time"
  printf '%-34s %6s s wall %6s s user %6s s sys %10s bytes\n' "$name" "$wall" "$user" "$sys" "$(stat -c %s "$tmp/$name.html")"
}
run "report (20 worst + 20 best)" 1
run "report (50 worst + 50 best)" 1 --worst 50 --best 50
run "report --vs (20 + 20)" 1 --vs 2
run "report --vs (50 + 50)" 1 --vs 2 --worst 50 --best 50
