#!/usr/bin/env python3
"""Writes the throughput benchmark's workload (docs/performance.md).

  python3 bench/throughput/make_workload.py --out bench/.work [--images 4000] [--seed 7]

Files written into --out:
  model.h5          random Show-Attend-and-Tell model, V=9487, E=H=A=512, D=2048, tanh, f_beta;
                    fc.bias of the end token is -1e4, so no caption ever ends: every image runs
                    all max_length steps and the work per image is fixed.
  features.h5       packed layout: features [N, 36, 2048] float32 (post-ReLU-like, about half
                    zeros), chunked one image per chunk, shuffle + gzip level 4, like real dumps;
                    num_regions [N] int32 (all 36), image_ids [N] int64.
  features-1000.h5  the first 1,000 images of features.h5 (compressed chunks copied as they are);
  features-256.h5   the first 256 (one shard), for the AVX2-versus-portable kernel check.
  features-300.h5   the first 300 (a shard of 256 and one of 44: fewer shards than a 64-core machine's
                    threads, the case that sub-batches are for).
  references.json   COCO annotations: 5 random captions of 8-12 vocabulary words per image.
Existing files with the same parameters are kept (a stamp file records them).
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import nightcap_model as nm  # noqa: E402

V, E, H, A, D, R = 9487, 512, 512, 512, 2048, 36
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
        block = 100
        for s in range(0, n, block):
            e = min(n, s + block)
            x = rng.normal(0, 1, size=(e - s, R, D)).astype(np.float32)
            np.maximum(x, 0, out=x)  # post-ReLU region features: about half exact zeros
            ds[s:e] = x
        f.create_dataset("num_regions", data=np.full((n,), R, dtype=np.int32))
        f.create_dataset("image_ids", data=np.arange(100000, 100000 + n, dtype=np.int64))


def copy_first(source, path, n):
    import h5py
    with h5py.File(source, "r") as f, h5py.File(path, "w") as g:
        src = f["features"]
        ds = g.create_dataset("features", shape=(n, R, D), dtype="f4", chunks=(1, R, D),
                              shuffle=True, compression="gzip", compression_opts=4)
        for i in range(n):
            mask, chunk = src.id.read_direct_chunk((i, 0, 0))
            ds.id.write_direct_chunk((i, 0, 0), chunk, mask)
        g.create_dataset("num_regions", data=f["num_regions"][:n])
        g.create_dataset("image_ids", data=f["image_ids"][:n])


def make_references(path, n, vocab, rng):
    images = [{"id": 100000 + i} for i in range(n)]
    annotations = []
    for i in range(n):
        for _ in range(5):
            words = [vocab[t] for t in rng.integers(4, V, size=int(rng.integers(8, 13)))]
            annotations.append({"image_id": 100000 + i, "id": len(annotations), "caption": " ".join(words)})
    with open(path, "w") as f:
        json.dump({"images": images, "annotations": annotations}, f)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--images", type=int, default=4000)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    stamp = os.path.join(a.out, "workload.stamp")
    want = f"v3 images={a.images} seed={a.seed}"
    if os.path.exists(stamp) and open(stamp).read().strip() == want:
        # The 300-image file came later than the others: made from them when missing.
        if not os.path.exists(os.path.join(a.out, "features-300.h5")):
            copy_first(os.path.join(a.out, "features.h5"), os.path.join(a.out, "features-300.h5"), min(300, a.images))
        print(f"workload in {a.out} is up to date ({want})", file=sys.stderr)
        return
    rng = np.random.default_rng(a.seed)
    vocab = make_model(os.path.join(a.out, "model.h5"), rng)
    make_references(os.path.join(a.out, "references.json"), a.images, vocab, rng)
    make_features(os.path.join(a.out, "features.h5"), a.images, rng)
    copy_first(os.path.join(a.out, "features.h5"), os.path.join(a.out, "features-1000.h5"), min(1000, a.images))
    copy_first(os.path.join(a.out, "features.h5"), os.path.join(a.out, "features-256.h5"), min(256, a.images))
    copy_first(os.path.join(a.out, "features.h5"), os.path.join(a.out, "features-300.h5"), min(300, a.images))
    with open(stamp, "w") as f:
        f.write(want + "\n")
    print(f"wrote workload to {a.out} ({want})", file=sys.stderr)


if __name__ == "__main__":
    main()
