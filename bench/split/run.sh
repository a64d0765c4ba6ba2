#!/bin/sh
# The split benchmark (docs/performance.md): builds nightcap (release), writes the workload once
# into bench/.work/split, then times `run --split test` on a 5,000-of-50,000 split against the same
# 5,000 images in a file of their own. Options go to bench.py (--repeats N, --images, --split-images).
set -eu
cd "$(dirname "$0")/../.."
swift build -c release --product nightcap >&2
python3 bench/split/bench.py --nightcap .build/release/nightcap "$@"
