#!/bin/sh
# nightcap's Transformer family against self-critical.pytorch under PyTorch eager (docs/performance.md).
# Needs PyTorch, h5py, yacs and a checkout of ruotianluo/self-critical.pytorch (UPSTREAM, default
# /work/upstream/self-critical.pytorch). Extra arguments go to bench.py (default --greedy-images 300 --beam-images 150).
set -eu
cd "$(dirname "$0")/../.."
work=bench/.work-transformer
mkdir -p "$work"
swift build -c release --product nightcap >&2
cc -O2 -o "$work/sgemm_mix" bench/sgemm_mix.c -lopenblas
python3 bench/transformer/bench.py --nightcap .build/release/nightcap --ceiling "$work/sgemm_mix" \
    --upstream "${UPSTREAM:-/work/upstream/self-critical.pytorch}" --work "$work" "$@"
