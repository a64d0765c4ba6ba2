#!/usr/bin/env python3
"""Expected pycocoevalcap scores for the val2014 held-out human captions.

Scores val2014-heldout-human-results against val2014-minus-heldout with pycocoevalcap's
Bleu(4), Rouge() and Cider() on the PTB tokenization given in val2014-ptb-tokenized.json.gz
(no Java needed), in pycocoevalcap's image order (the references' "images" list), and writes
Tests/CaptionMetricsTests/Fixtures/val2014-heldout-expected.json.

    pip install pycocoevalcap==1.2
    python3 tools/coco_expected.py [DATA_DIR] [OUT]
With --time it only prints the scorers' wall time (used by bench/score/run.sh).
"""
import gzip, json, os, sys, time

from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.rouge.rouge import Rouge

here = os.path.dirname(os.path.abspath(__file__))
args = [a for a in sys.argv[1:] if not a.startswith("--")]
data = args[0] if args else os.environ.get("NIGHTCAP_COCO_DATA", os.path.join(here, "..", "..", "shared", "data", "coco-captions"))
out = args[1] if len(args) > 1 else os.path.join(here, "..", "Tests", "CaptionMetricsTests", "Fixtures", "val2014-heldout-expected.json")

def load(name):
    with gzip.open(os.path.join(data, name), "rt") as f:
        return json.load(f)

t_load = time.time()
ptb = {}
for row in load("val2014-ptb-tokenized.json.gz"):
    ptb.setdefault((row["image_id"], row["raw"]), []).append(row["ptb"])
refs = load("val2014-minus-heldout.json.gz")
results = load("val2014-heldout-human-results.json.gz")
res_by_image = {r["image_id"]: r["caption"] for r in results}
anns = {}
for a in refs["annotations"]:
    anns.setdefault(a["image_id"], []).append(a["caption"])
order = [img["id"] for img in refs["images"] if img["id"] in res_by_image and img["id"] in anns]
gts = {i: [ptb[(i, c)][0] for c in anns[i]] for i in order}
res = {i: [ptb[(i, res_by_image[i])][0]] for i in order}

t0 = time.time()
scores = {}
b, _ = Bleu(4).compute_score(gts, res, verbose=0)
for k in range(4):
    scores["Bleu_%d" % (k + 1)] = b[k]
scores["ROUGE_L"], _ = Rouge().compute_score(gts, res)
c, _ = Cider().compute_score(gts, res)
scores["CIDEr"] = float(c)
elapsed = time.time() - t0
if "--time" in sys.argv:
    print("pycocoevalcap scorers: %.2f s (images %d; reading and lookup %.2f s)" % (elapsed, len(order), t0 - t_load))
    sys.exit(0)
with open(out, "w") as f:
    json.dump({
        "tool": "pycocoevalcap 1.2 Bleu(4), Rouge(), Cider() on the PTB tokenization of val2014-ptb-tokenized.json.gz",
        "results": "val2014-heldout-human-results.json.gz",
        "references": "val2014-minus-heldout.json.gz",
        "images": len(order),
        "corpus": {k: float(v) for k, v in scores.items()},
    }, f, indent=1)
print(json.dumps(scores), "in %.1f s" % elapsed)
