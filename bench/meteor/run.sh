#!/usr/bin/env bash
# Benchmark: METEOR alone, nightcap (`nightcap score --metrics METEOR`, release build) next to
# pycocoevalcap's Meteor() (meteor-1.5.jar: JVM start and data load included), on the first 5,000
# and 1,000 val2014 images, the held-out human caption against the other four (tools/make_meteor_goldens.py
# builds pycocoevalcap's input the same way). nightcap's first run builds the paraphrase index in a
# fresh cache folder and is shown separately; then three runs with the cache. Peak RSS from
# /usr/bin/time -v. Usage: bench/meteor/run.sh   (NIGHTCAP_COCO_DATA overrides the data folder)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
data="${NIGHTCAP_COCO_DATA:-$root/../shared/data/coco-captions}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The same images and captions as the goldens: the first N images of the references' order.
python3 - "$data" "$tmp" <<'PY'
import gzip, json, os, sys
data, out = sys.argv[1], sys.argv[2]
def load(name):
    with gzip.open(os.path.join(data, name), "rt") as f:
        return json.load(f)
refs = load("val2014-minus-heldout.json.gz")
results = load("val2014-heldout-human-results.json.gz")
held = {r["image_id"] for r in results}
order = [img["id"] for img in refs["images"] if img["id"] in held]
for n in (5000, 1000):
    keep = set(order[:n])
    with open(os.path.join(out, "refs-%d.json" % n), "w") as f:
        json.dump({"images": [i for i in refs["images"] if i["id"] in keep],
                   "annotations": [a for a in refs["annotations"] if a["image_id"] in keep]}, f)
    with open(os.path.join(out, "results-%d.json" % n), "w") as f:
        json.dump([r for r in results if r["image_id"] in keep], f)
PY

(cd "$root" && swift build -c release --product nightcap >/dev/null)
bin="$root/.build/release/nightcap"
echo "machine: $(nproc) cores, $(uname -sm)"

peak() { grep 'Maximum resident' "$1" | awk '{printf "%.0f MB", $NF / 1024}'; }
timed() {  # timed LABEL LOG COMMAND...: wall time and peak RSS of one command
    local label="$1" log="$2"; shift 2
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -v "$@" > "$tmp/out.txt" 2> "$log"
    end=$(date +%s.%N)
    printf "%-52s %6.2f s   peak RSS %s   %s\n" "$label" "$(echo "$end - $start" | bc)" "$(peak "$log")" "$(grep METEOR "$tmp/out.txt" | head -1)"
}

for n in 5000 1000; do
    score=("$bin" score --metrics METEOR --results "$tmp/results-$n.json" --references "$tmp/refs-$n.json")
    if [ "$n" = 5000 ]; then
        NIGHTCAP_CACHE_DIR="$tmp/cache" timed "nightcap, $n images, first run (builds the index)" "$tmp/first.log" "${score[@]}"
    fi
    for run in 1 2 3; do
        NIGHTCAP_CACHE_DIR="$tmp/cache" timed "nightcap, $n images, run $run" "$tmp/run.log" "${score[@]}"
    done
    if python3 -c "import pycocoevalcap" 2>/dev/null; then
        start=$(date +%s.%N)
        /usr/bin/time -v python3 "$root/tools/make_meteor_goldens.py" --time --images "$n" "$data" > "$tmp/py.txt" 2> "$tmp/py.log"
        end=$(date +%s.%N)
        printf "%-52s %6.2f s   peak RSS %s (python; the JVM is its child)\n" "pycocoevalcap Meteor(), $n images (process)" \
            "$(echo "$end - $start" | bc)" "$(peak "$tmp/py.log")"
        cat "$tmp/py.txt"
    else
        echo "pycocoevalcap not installed: pip install pycocoevalcap==1.2 (and Java) to time it"
    fi
done
