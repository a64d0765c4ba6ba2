#!/bin/sh
# The throughput benchmark (docs/performance.md): builds nightcap (release) and the sgemm probe
# (bench/sgemm_mix.c), writes the workload once into bench/.work/, then measures nightcap, the machine's ceiling
# and PyTorch eager side by side. Pass --quick to skip the 4,000-image run and 1-thread PyTorch.
set -eu
cd "$(dirname "$0")/../.."
work=bench/.work
mkdir -p "$work"
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time: apt-get install time" >&2; exit 1; }
swift build -c release --product nightcap >&2
cc -O2 -o "$work/sgemm_mix" bench/sgemm_mix.c -lopenblas
python3 bench/throughput/make_workload.py --out "$work" --images 4000
python3 bench/throughput/bench.py --nightcap .build/release/nightcap --ceiling "$work/sgemm_mix" --work "$work" "$@"
