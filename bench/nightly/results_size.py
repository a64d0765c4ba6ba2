#!/usr/bin/env python3
"""How large a results file grows per nightly run: a synthetic 5,000-image run shaped like a
bottom-up-attention evaluation (36 regions per image, boxes and labels), decoded by the demo model,
scored against five references per image, once per attention setting (full, top-5, none).

  python3 bench/nightly/results_size.py [--nightcap .build/release/nightcap] [--images 5000] [--out /tmp/nightcap-size]

The features are the demo's (pipelines/demo/features.h5) tiled to --images images and padded with
background regions to 36 (so every word's attention has 36 weights, as with 36-box dumps); the
references are the demo's, repeated for the tiled images. Prints the file size after each run and
after VACUUM, per run and per image. docs/nightly.md quotes its output.
"""
import argparse
import json
import os
import sqlite3
import subprocess
import sys

import h5py
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_inputs(out, images, regions):
    demo = h5py.File(os.path.join(REPO, "pipelines/demo/features.h5"), "r")
    feats, boxes = demo["features"][...], demo["boxes"][...]
    counts, ids = demo["num_regions"][...], demo["image_ids"][...]
    labels = demo["region_labels"].asstr()[...]
    n, r, d = feats.shape
    rng = np.random.default_rng(5)
    f = np.zeros((images, regions, d), np.float16)
    b = np.zeros((images, regions, 4), np.float32)
    lab = np.full((images, regions), "background", dtype=object)
    for i in range(images):
        k = i % n
        c = int(counts[k])
        f[i, :c], b[i, :c], lab[i, :c] = feats[k, :c], boxes[k, :c], labels[k, :c]
        # Background regions: the demo's own background features, shifted by noise.
        background = [j for j in range(c) if labels[k, j] == "background"] or [0]
        for j in range(c, regions):
            f[i, j] = feats[k, background[j % len(background)]] + rng.normal(0, 0.05, d).astype(np.float16)
            b[i, j] = [0, 0, 640, 480]
    new_ids = np.arange(1, images + 1, dtype=np.int64) + 900_000
    path = os.path.join(out, "features.h5")
    with h5py.File(path, "w") as h:
        h["features"] = f
        h["boxes"] = b
        h["image_ids"] = new_ids
        h["num_regions"] = np.full(images, regions, np.int32)
        h.create_dataset("region_labels", data=lab.astype(object), dtype=h5py.string_dtype("utf-8"))
    refs = json.load(open(os.path.join(REPO, "pipelines/demo/references.json")))
    by_image = {}
    for a in refs["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a["caption"])
    annotations = []
    for i in range(images):
        for caption in by_image[int(ids[i % n])][:5]:
            annotations.append({"id": len(annotations) + 1, "image_id": int(new_ids[i]), "caption": caption})
    references = os.path.join(out, "references.json")
    json.dump({"images": [{"id": int(x)} for x in new_ids], "annotations": annotations}, open(references, "w"))
    return path, references


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nightcap", default=os.path.join(REPO, ".build/release/nightcap"))
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--regions", type=int, default=36)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="/tmp/nightcap-size")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    features, references = make_inputs(args.out, args.images, args.regions)
    model = os.path.join(REPO, "pipelines/demo/model.h5")
    print(f"{args.images} images, {args.regions} regions each, demo model, beam 3, max length 20")
    print("| attention | file after the run | after VACUUM | per image | attention rows |")
    print("|---|---|---|---|---|")
    for attention in ["full", "top-5", "none"]:
        db = os.path.join(args.out, f"size-{attention}.sqlite")
        for suffix in ["", "-wal", "-shm"]:
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        subprocess.run([args.nightcap, "run", "--features", features, "--model", model, "--references", references,
                        "--db", db, "--attention", attention, "--threads", str(args.threads), "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)
        size = os.path.getsize(db)
        connection = sqlite3.connect(db)
        rows = connection.execute("SELECT count(*) FROM attention").fetchone()[0]
        connection.execute("VACUUM")
        connection.close()
        vacuumed = os.path.getsize(db)
        print(f"| {attention} | {size / 1e6:.1f} MB | {vacuumed / 1e6:.1f} MB | {vacuumed / args.images / 1e3:.2f} kB | {rows:,} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
