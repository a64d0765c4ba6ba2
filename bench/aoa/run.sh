#!/bin/sh
# nightcap's AoANet family against self-critical.pytorch under PyTorch eager (bench/aoa/README.md).
# Needs PyTorch, h5py, yacs and a checkout of ruotianluo/self-critical.pytorch (UPSTREAM, default
# /work/upstream/self-critical.pytorch). Extra arguments go to bench.py (default --greedy-images 500 --beam-images 250).
set -eu
cd "$(dirname "$0")/../.."
work=bench/.work-aoa
mkdir -p "$work"
swift build -c release --product nightcap >&2
cc -O2 -o "$work/sgemm_mix" bench/sgemm_mix.c -lopenblas
python3 bench/aoa/bench.py --nightcap .build/release/nightcap --ceiling "$work/sgemm_mix" \
    --upstream "${UPSTREAM:-/work/upstream/self-critical.pytorch}" --work "$work" "$@"
