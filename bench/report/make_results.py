#!/usr/bin/env python3
"""Write a COCO-sized synthetic results database for timing `nightcap report`.

  python3 bench/report/make_results.py OUT.sqlite [--images 5000] [--regions 36] [--seed 1]

Two completed runs ("before", "after") over the same images: captions of 8..16 words from a
COCO-like vocabulary, every word's attention over `--regions` regions (float32 blobs, as nightcap
stores them), boxes and labels on a 640x480 frame, per-image scores and BLEU statistics, corpus
scores. The schema is schemas/results.sql, applied as is. Values are random, not a model's output:
this measures the report's reading and rendering, nothing else.
"""
import argparse
import json
import os
import random
import sqlite3
import struct

WORDS = ("a an the man woman dog cat person people table plate pizza train bus street sign tree "
         "grass field water boat beach surfboard wave kite sky bed room kitchen sitting standing "
         "riding holding next to on of in with near top white black red large small two").split()
LABELS = "person dog cat table pizza train bus sign tree grass water boat surfboard kite sky bed".split()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--images", type=int, default=5000)
    p.add_argument("--regions", type=int, default=36)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rng = random.Random(a.seed)
    if os.path.exists(a.out):
        os.remove(a.out)
    db = sqlite3.connect(a.out)
    with open(os.path.join(here, "..", "..", "schemas", "results.sql")) as f:
        db.executescript(f.read())
    ids = [str(100000 + 7 * i) for i in range(a.images)]
    regions = []
    for image_id in ids:
        for r in range(a.regions):
            x, y = rng.uniform(0, 560), rng.uniform(0, 400)
            regions.append((image_id, r, round(x, 1), round(y, 1), round(x + rng.uniform(20, 80), 1),
                            round(y + rng.uniform(20, 80), 1), rng.choice(LABELS)))
    for run_id, name in ((1, "before"), (2, "after")):
        db.execute("INSERT INTO runs (run_id, name, status, fingerprint, config, image_count, shard_size, shard_count, "
                   "references_path) VALUES (?, ?, 'completed', ?, ?, ?, 256, ?, NULL)",
                   (run_id, name, f"bench-{name}", json.dumps({"beamSize": 3}), a.images, (a.images + 255) // 256))
        for shard in range((a.images + 255) // 256):
            db.execute("INSERT INTO shards (run_id, shard, first_image, num_images, seconds) VALUES (?, ?, ?, ?, 1.0)",
                       (run_id, shard, shard * 256, min(256, a.images - shard * 256)))
        captions, attention, metrics, stats = [], [], [], []
        for index, image_id in enumerate(ids):
            n = rng.randint(8, 16)
            words = [rng.choice(WORDS) for _ in range(n)]
            captions.append((run_id, image_id, index, index // 256, " ".join(words), n, -rng.uniform(3, 12)))
            for position, word in enumerate(words):
                w = [rng.random() ** 4 for _ in range(a.regions)]
                s = sum(w)
                w = [x / s for x in w]
                top = max(range(a.regions), key=lambda k: w[k])
                attention.append((run_id, image_id, position, word, struct.pack(f"<{a.regions}f", *w), top, w[top]))
            guess = [max(0, n - k) for k in range(4)]
            correct = [rng.randint(0, g) for g in guess]
            stats.append((run_id, image_id, n, n + rng.randint(-2, 2), *guess, *correct))
            for metric in ("Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L"):
                metrics.append((run_id, image_id, metric, rng.random()))
            metrics.append((run_id, image_id, "CIDEr", rng.uniform(0, 3)))
        db.executemany("INSERT INTO captions VALUES (?, ?, ?, ?, ?, ?, ?)", captions)
        db.executemany("INSERT INTO attention VALUES (?, ?, ?, ?, ?, ?, ?)", attention)
        db.executemany("INSERT INTO regions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [(run_id, *r) for r in regions])
        db.executemany("INSERT INTO image_metrics VALUES (?, ?, ?, ?)", metrics)
        db.executemany("INSERT INTO bleu_stats VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", stats)
        for metric in ("Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr"):
            db.execute("INSERT INTO run_metrics SELECT run_id, metric, avg(value) FROM image_metrics "
                       "WHERE run_id = ? AND metric = ? GROUP BY run_id, metric", (run_id, metric))
        db.execute("UPDATE runs SET finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE run_id = ?", (run_id,))
    db.commit()
    db.close()
    print(f"{a.out}: 2 runs x {a.images} images, {a.regions} regions")


if __name__ == "__main__":
    main()
