#!/bin/sh
# nightcap's UpDown family against self-critical.pytorch under PyTorch eager (docs/performance.md).
# Needs PyTorch, h5py and a checkout of ruotianluo/self-critical.pytorch (UPSTREAM, default
# /work/upstream/self-critical.pytorch). Extra arguments go to bench.py: --images N (greedy, default 500),
# --beam-images N (beam 5, default 250), --beams 1,5.
set -eu
cd "$(dirname "$0")/../.."
work=bench/.work-updown
mkdir -p "$work"
swift build -c release --product nightcap >&2
cc -O2 -o "$work/sgemm_mix" bench/sgemm_mix.c -lopenblas
python3 bench/updown/bench.py --nightcap .build/release/nightcap --ceiling "$work/sgemm_mix" \
    --upstream "${UPSTREAM:-/work/upstream/self-critical.pytorch}" --work "$work" "$@"
