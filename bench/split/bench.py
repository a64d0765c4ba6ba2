#!/usr/bin/env python3
"""The split benchmark (docs/performance.md): `nightcap run --split test` on a features file of
50,000 images whose test split is 5,000 of them, against the same 5,000 images in a file of their
own. A split run reads and decodes only the split's images, so it should cost about what the small
file costs; the criterion is at most 1.2x.

  python3 bench/split/bench.py --nightcap .build/release/nightcap [--work bench/.work/split]
                               [--images 50000] [--split-images 5000] [--repeats 3]

Workload (written once into --work, kept while its parameters match a stamp file):
  model.h5            random Show-Attend-and-Tell model, V=1000, E=H=A=64, D=64; the end token never
                      wins, so every image runs all max_length steps (fixed work per image).
  features-all.h5     packed [N, 10, 64] float32, one image per chunk, shuffle + gzip 4 (like real
                      dumps), num_regions, image_ids 100000 + row.
  features-split.h5   the split's images only, in file order (their compressed chunks copied as they are).
  dataset_coco.json   Karpathy split file of all N images, 5 captions each; `--split-images` images
                      chosen at random (seeded) over the whole file are "test", the others "train".
Both runs use the same split file and `--split test`; each starts with a new database. The runs
alternate (all, split-only, all, ...) and the medians are compared, so that the shared machine's
load falls on both alike.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import nightcap_model as nm  # noqa: E402

V, E, H, A, D, R = 1000, 64, 64, 64, 64, 10
PAD, START, END, UNK = 0, 1, 2, 3


def make_model(path, rng):
    def u(*shape, fan_in):
        bound = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, size=shape).astype(np.float32)

    state = {
        "embedding.weight": rng.normal(0, 1, size=(V, E)).astype(np.float32),
        "attention.image_proj.weight": u(A, D, fan_in=D), "attention.image_proj.bias": u(A, fan_in=D),
        "attention.text_proj.weight": u(A, H, fan_in=H), "attention.text_proj.bias": u(A, fan_in=H),
        "attention.attn_weight.weight": u(1, A, fan_in=A), "attention.attn_weight.bias": u(1, fan_in=A),
        "init_h.weight": u(H, D, fan_in=D), "init_h.bias": u(H, fan_in=D),
        "init_c.weight": u(H, D, fan_in=D), "init_c.bias": u(H, fan_in=D),
        "f_beta.weight": u(D, H, fan_in=H), "f_beta.bias": u(D, fan_in=H),
        "lstm.weight_ih": u(4 * H, E + D, fan_in=H), "lstm.weight_hh": u(4 * H, H, fan_in=H),
        "lstm.bias_ih": u(4 * H, fan_in=H), "lstm.bias_hh": u(4 * H, fan_in=H),
        "fc.weight": u(V, H, fan_in=H), "fc.bias": u(V, fan_in=H),
    }
    state["fc.bias"][END] = -1e4  # the end token never wins: every caption runs max_length steps
    vocab = ["<pad>", "<start>", "<end>", "<unk>"] + [f"w{i}" for i in range(4, V)]
    nm.save_model_h5(path, state, vocab, "tanh", PAD, START, END, UNK)
    return vocab


def make_features(path, n, rng):
    import h5py
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("features", shape=(n, R, D), dtype="f4", chunks=(1, R, D),
                              shuffle=True, compression="gzip", compression_opts=4)
        block = 1000
        for s in range(0, n, block):
            e = min(n, s + block)
            x = rng.normal(0, 1, size=(e - s, R, D)).astype(np.float32)
            np.maximum(x, 0, out=x)  # post-ReLU region features: about half exact zeros
            ds[s:e] = x
        f.create_dataset("num_regions", data=np.full((n,), R, dtype=np.int32))
        f.create_dataset("image_ids", data=np.arange(100000, 100000 + n, dtype=np.int64))


def copy_rows(source, path, rows):
    import h5py
    with h5py.File(source, "r") as f, h5py.File(path, "w") as g:
        src = f["features"]
        ds = g.create_dataset("features", shape=(len(rows), R, D), dtype="f4", chunks=(1, R, D),
                              shuffle=True, compression="gzip", compression_opts=4)
        for i, row in enumerate(rows):
            mask, chunk = src.id.read_direct_chunk((int(row), 0, 0))
            ds.id.write_direct_chunk((i, 0, 0), chunk, mask)
        g.create_dataset("num_regions", data=f["num_regions"][:][rows])
        g.create_dataset("image_ids", data=f["image_ids"][:][rows])


def make_split_file(path, n, test_rows, vocab, rng):
    test = set(int(r) for r in test_rows)
    images = []
    for i in range(n):
        sentences = [{"raw": " ".join(vocab[t] for t in rng.integers(4, V, size=int(rng.integers(8, 13))))}
                     for _ in range(5)]
        images.append({"cocoid": 100000 + i, "filename": f"COCO_val2014_{100000 + i:012d}.jpg",
                       "split": "test" if i in test else "train", "sentences": sentences})
    with open(path, "w") as f:
        json.dump({"images": images}, f)


def make_workload(work, n, k, seed):
    os.makedirs(work, exist_ok=True)
    stamp = os.path.join(work, "workload.stamp")
    want = f"v1 images={n} split={k} seed={seed}"
    if os.path.exists(stamp) and open(stamp).read().strip() == want:
        print(f"workload in {work} is up to date ({want})", file=sys.stderr)
        return
    rng = np.random.default_rng(seed)
    vocab = make_model(os.path.join(work, "model.h5"), rng)
    rows = np.sort(rng.choice(n, size=k, replace=False))
    make_features(os.path.join(work, "features-all.h5"), n, rng)
    copy_rows(os.path.join(work, "features-all.h5"), os.path.join(work, "features-split.h5"), rows)
    make_split_file(os.path.join(work, "dataset_coco.json"), n, rows, vocab, rng)
    with open(stamp, "w") as f:
        f.write(want + "\n")
    print(f"wrote workload to {work} ({want})", file=sys.stderr)


def timed_run(nightcap, work, features, name):
    db = os.path.join(work, f"{name}.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    command = [nightcap, "run", "--features", os.path.join(work, features), "--model", os.path.join(work, "model.h5"),
               "--references", os.path.join(work, "dataset_coco.json"), "--split", "test", "--db", db, "--quiet"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    summary = next((line.strip() for line in done.stdout.splitlines() if line.strip().startswith("images:")), "?")
    return seconds, summary


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nightcap", required=True)
    p.add_argument("--work", default=os.path.join("bench", ".work", "split"))
    p.add_argument("--images", type=int, default=50000)
    p.add_argument("--split-images", type=int, default=5000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=11)
    a = p.parse_args()
    make_workload(a.work, a.images, a.split_images, a.seed)
    times = {"all": [], "split": []}
    summaries = {}
    for repeat in range(a.repeats):
        for name, features in (("all", "features-all.h5"), ("split", "features-split.h5")):
            seconds, summaries[name] = timed_run(a.nightcap, a.work, features, name)
            times[name].append(seconds)
            print(f"  {name:5s} run {repeat + 1}: {seconds:6.2f} s  ({summaries[name]})", file=sys.stderr)
    whole, alone = statistics.median(times["all"]), statistics.median(times["split"])
    print(f"split of {a.split_images:,} in a file of {a.images:,} images: {whole:.2f} s (median of {a.repeats})")
    print(f"the same {a.split_images:,} images in a file of their own:   {alone:.2f} s (median of {a.repeats})")
    ratio = whole / alone
    print(f"ratio {ratio:.2f} (criterion: at most 1.20) {'PASS' if ratio <= 1.2 else 'FAIL'}")


if __name__ == "__main__":
    main()
