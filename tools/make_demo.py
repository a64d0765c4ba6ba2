#!/usr/bin/env python3
"""Build nightcap's embedded demo: a synthetic scene world, a Show-Attend-and-Tell decoder
trained on it, and the committed assets (pipelines/demo/).

  python3 tools/make_demo.py [--seed 7] [--out pipelines/demo]          # generate + train + export + evaluate
  python3 tools/make_demo.py --evaluate-only [--out pipelines/demo]     # re-evaluate the committed assets
  python3 tools/make_demo.py --check DECODED.json [--out pipelines/demo]
        # score the output of tools/reference_decoder.py (or anything with the same JSON shape)

The world (see docs/demo.md): each 640x480 "image" holds 2..4 objects (shape, colour, size,
position) plus 2..8 background regions.  Every region gets a D-dim feature vector that
encodes what is in it plus Gaussian noise, a box (x1, y1, x2, y2) consistent with the
object's position and size, and a label (the object's shape word, or `background`).
Regions are shuffled, so position in the region list carries no information.

A caption describes the two largest objects: the subject (largest) and its relation to the
second largest ("to the left of", "above", ...).  3..5 references per image are drawn from a
small grammar; the shape noun is always exactly the region label (no synonyms), the
variation is in determiners, optional adjectives, adjective synonyms, relations and frames.

Outputs in --out:
  model.h5          nightcap model file (tools/export_pytorch.py::export of the trained state dict)
  features.h5       packed test split: features [N,R,D] f16, num_regions, image_ids, boxes, region_labels
  references.json   COCO caption format for the test split

Deterministic from --seed (torch.manual_seed, numpy Generator, deterministic algorithms,
a fixed thread count).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter

import h5py
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nightcap_model as nm  # noqa: E402
import export_pytorch  # noqa: E402

# ----------------------------------------------------------------------------- the world

WIDTH, HEIGHT = 640, 480
SHAPES = ["cube", "ball", "cone", "cylinder", "ring"]
COLOURS = ["red", "green", "blue", "yellow", "purple", "white"]
SIZES = ["small", "big"]
BACKGROUND = "background"
MAX_REGIONS = 12            # R: up to 4 objects + up to 8 background regions
SIZE_PX = {"small": (46, 80), "big": (108, 150)}   # object side length in pixels
SPECIALS = ["<pad>", "<start>", "<end>", "<unk>"]

# adjective synonyms (shape nouns never have synonyms: they must equal the region label)
SIZE_WORDS = {"small": [("small", 0.75), ("little", 0.25)], "big": [("big", 0.75), ("large", 0.25)]}
# relation of the subject to the reference object: phrasings and their weights
REL_WORDS = {
    "left": [("to the left of", 0.8), ("left of", 0.2)],
    "right": [("to the right of", 0.8), ("right of", 0.2)],
    "above": [("above", 0.8), ("over", 0.2)],
    "below": [("below", 0.7), ("under", 0.3)],
}
INVERSE = {"left": "right", "right": "left", "above": "below", "below": "above"}
GENERIC_REL = [("next to", 0.6), ("near", 0.25), ("beside", 0.15)]


class World:
    """Fixed random encoders of the world (drawn from the seed)."""

    def __init__(self, rng: np.random.Generator, dim: int = 64, noise: float = 0.45):
        self.dim, self.noise = dim, noise
        g = lambda *s: rng.standard_normal(s).astype(np.float64)  # noqa: E731
        self.shape_vec = g(len(SHAPES), dim) * 0.9
        self.colour_vec = g(len(COLOURS), dim) * 0.9
        self.object_vec = g(dim) * 0.5          # "there is an object here"
        self.background_vec = g(dim) * 0.5
        self.size_vec = g(dim) * 0.6            # times (side - 100) / 50
        self.x_vec = g(dim) * 0.5               # times x in [-1, 1]
        self.y_vec = g(dim) * 0.5
        self.texture = g(8, dim) * 0.6          # background textures

    def object_feature(self, rng, o):
        cx = (o["cx"] / WIDTH) * 2 - 1
        cy = (o["cy"] / HEIGHT) * 2 - 1
        v = (self.shape_vec[SHAPES.index(o["shape"])] + self.colour_vec[COLOURS.index(o["colour"])]
             + self.object_vec + self.size_vec * (o["side"] - 100) / 50 + self.x_vec * cx + self.y_vec * cy)
        return v + rng.standard_normal(self.dim) * self.noise

    def background_feature(self, rng, box):
        cx = ((box[0] + box[2]) / 2 / WIDTH) * 2 - 1
        cy = ((box[1] + box[3]) / 2 / HEIGHT) * 2 - 1
        w = rng.dirichlet(np.ones(3))
        tex = w @ self.texture[rng.choice(len(self.texture), 3, replace=False)]
        # a faint tint of some colour, so "colour" alone does not identify an object
        tint = self.colour_vec[rng.integers(len(COLOURS))] * rng.uniform(0.0, 0.3)
        v = self.background_vec + tex + tint + self.x_vec * cx + self.y_vec * cy
        return v + rng.standard_normal(self.dim) * self.noise


def relation(subject, other):
    """Canonical relation of `subject` to `other` from their centres (y grows downwards)."""
    dx, dy = subject["cx"] - other["cx"], subject["cy"] - other["cy"]
    if abs(dx) >= abs(dy):
        return "left" if dx < 0 else "right"
    return "above" if dy < 0 else "below"


def sample_scene(rng: np.random.Generator):
    """2..4 non-overlapping objects; the two largest are clearly ordered by size and their
    relation is clearly horizontal or vertical (no near-diagonal ambiguity)."""
    while True:
        n = int(rng.integers(2, 5))
        objs = []
        ok = True
        for _ in range(n):
            for _attempt in range(50):
                size = SIZES[int(rng.integers(2))]
                side = float(rng.uniform(*SIZE_PX[size]))
                cx = float(rng.uniform(side / 2 + 4, WIDTH - side / 2 - 4))
                cy = float(rng.uniform(side / 2 + 4, HEIGHT - side / 2 - 4))
                if all(max(abs(cx - o["cx"]) - (side + o["side"]) / 2, abs(cy - o["cy"]) - (side + o["side"]) / 2) > 8
                       for o in objs):
                    break
            else:
                ok = False
                break
            objs.append(dict(shape=SHAPES[int(rng.integers(len(SHAPES)))],
                             colour=COLOURS[int(rng.integers(len(COLOURS)))],
                             size=size, side=side, cx=cx, cy=cy))
        if not ok:
            continue
        order = sorted(range(n), key=lambda i: -objs[i]["side"])
        a, b = objs[order[0]], objs[order[1]]
        if a["side"] < b["side"] * 1.12:
            continue
        if n > 2 and b["side"] < objs[order[2]]["side"] * 1.12:
            continue
        dx, dy = abs(a["cx"] - b["cx"]), abs(a["cy"] - b["cy"])
        if abs(dx - dy) < 50:
            continue
        return objs, order[0], order[1]


def object_box(o):
    h = o["side"] / 2
    return [o["cx"] - h, o["cy"] - h, o["cx"] + h, o["cy"] + h]


def background_box(rng):
    w, h = float(rng.uniform(80, 320)), float(rng.uniform(60, 240))
    x1, y1 = float(rng.uniform(0, WIDTH - w)), float(rng.uniform(0, HEIGHT - h))
    return [x1, y1, x1 + w, y1 + h]


def _pick(rng, options):
    words, weights = zip(*options)
    p = np.asarray(weights, dtype=np.float64)
    return words[int(rng.choice(len(words), p=p / p.sum()))]


def noun_phrase(rng, o, det, p_size=0.45, p_colour=0.9):
    words = [det]
    if rng.random() < p_size:
        words.append(_pick(rng, SIZE_WORDS[o["size"]]))
    if rng.random() < p_colour:
        words.append(o["colour"])
    words.append(o["shape"])
    return " ".join(words)


FRAMES = [  # (name, weight)
    ("plain", 0.34), ("there_is", 0.18), ("generic", 0.14), ("inverse", 0.12),
    ("is", 0.12), ("and", 0.10),
]


def make_caption(rng, subj, ref):
    rel = relation(subj, ref)
    frame = _pick(rng, FRAMES)
    det = "a" if rng.random() < 0.85 else "one"
    if frame == "plain":
        s = f"{noun_phrase(rng, subj, det)} {_pick(rng, REL_WORDS[rel])} {noun_phrase(rng, ref, 'a')}"
    elif frame == "there_is":
        s = f"there is {noun_phrase(rng, subj, 'a')} {_pick(rng, REL_WORDS[rel])} {noun_phrase(rng, ref, 'a')}"
    elif frame == "generic":
        s = f"{noun_phrase(rng, subj, det)} {_pick(rng, GENERIC_REL)} {noun_phrase(rng, ref, 'a')}"
    elif frame == "inverse":
        s = f"{noun_phrase(rng, ref, 'a')} {_pick(rng, REL_WORDS[INVERSE[rel]])} {noun_phrase(rng, subj, 'a')}"
    elif frame == "is":
        s = f"{noun_phrase(rng, subj, 'the', p_colour=1.0)} is {_pick(rng, REL_WORDS[rel])} {noun_phrase(rng, ref, 'the', p_colour=1.0)}"
    else:  # and
        s = f"{noun_phrase(rng, subj, 'a')} and {noun_phrase(rng, ref, 'a')}"
    return s


def surface(rng, s):
    """COCO-like surface form: sometimes capitalised, sometimes with a final period."""
    if rng.random() < 0.5:
        s = s[0].upper() + s[1:]
    if rng.random() < 0.4:
        s = s + "."
    return s


def tokenize(caption: str):
    return re.sub(r"[^a-z ]", " ", caption.lower()).split()


def make_split(world: World, rng: np.random.Generator, n: int, scenes: list | None = None):
    """The split's arrays; with `scenes`, also appends each image's objects (shape, colour, size,
    centre) and its regions' boxes and labels, in stored order, without drawing anything more
    from `rng` (the arrays stay the same)."""
    D, R = world.dim, MAX_REGIONS
    feats = np.zeros((n, R, D), dtype=np.float32)
    boxes = np.zeros((n, R, 4), dtype=np.float32)
    labels = np.full((n, R), "", dtype=object)
    nreg = np.zeros(n, dtype=np.int64)
    caps = []
    for i in range(n):
        objs, si, ri = sample_scene(rng)
        nbg = int(rng.integers(2, R - len(objs) + 1))
        regions = [(world.object_feature(rng, o), object_box(o), o["shape"]) for o in objs]
        for _ in range(nbg):
            b = background_box(rng)
            regions.append((world.background_feature(rng, b), b, BACKGROUND))
        perm = rng.permutation(len(regions))
        for j, k in enumerate(perm):
            f, b, lab = regions[k]
            feats[i, j], boxes[i, j], labels[i, j] = f, np.round(b, 1), lab
        nreg[i] = len(regions)
        if scenes is not None:
            scenes.append({"objects": objs, "boxes": [np.round(regions[k][1], 1).tolist() for k in perm],
                           "labels": [regions[k][2] for k in perm]})
        k = int(rng.integers(3, 6))
        seen, cs = set(), []
        for _ in range(50):
            c = make_caption(rng, objs[si], objs[ri])
            if c not in seen:
                seen.add(c)
                cs.append(surface(rng, c))
            if len(cs) == k:
                break
        caps.append(cs)
    return feats, boxes, labels, nreg, caps


# ----------------------------------------------------------------------------- training


def build_vocab(captions):
    cnt = Counter(w for cs in captions for c in cs for w in tokenize(c))
    words = sorted(cnt, key=lambda w: (-cnt[w], w))
    return SPECIALS + words


def encode_captions(captions, vocab, max_len):
    idx = {w: i for i, w in enumerate(vocab)}
    rows, img = [], []
    for i, cs in enumerate(captions):
        for c in cs:
            toks = [idx.get(w, 3) for w in tokenize(c)][:max_len] + [2]
            rows.append(toks + [0] * (max_len + 1 - len(toks)))
            img.append(i)
    return torch.tensor(rows, dtype=torch.long), torch.tensor(img, dtype=torch.long)


def train(model, feats, nreg, caps, img_of, epochs, batch_size, lr, ds_lambda, rng_torch, log):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    n = caps.shape[0]
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=rng_torch)
        tot, cnt, t0 = 0.0, 0, time.perf_counter()
        for b in range(0, n, batch_size):
            sel = perm[b:b + batch_size]
            y = caps[sel]                                   # [B, T] targets (words + <end>, pad 0)
            im = img_of[sel]
            f, nr = feats[im], nreg[im]
            fz, mask, proj, h, c = model.prepare(f, nr)
            B, T = y.shape
            lengths = (y != 0).sum(1)
            Tm = int(lengths.max())
            prev = torch.full((B,), model.start_token, dtype=torch.long)
            loss = 0.0
            alpha_sum = torch.zeros(B, f.shape[1])
            for t in range(Tm):
                logp, h, c, alpha = model.step(prev, h, c, fz, proj, mask)
                m = (y[:, t] != 0).float()
                loss = loss + (F.nll_loss(logp, y[:, t], reduction="none") * m).sum()
                alpha_sum = alpha_sum + alpha * m.unsqueeze(1)
                prev = y[:, t]
            ntok = float((y != 0).sum())
            loss = loss / ntok
            if ds_lambda > 0:
                # doubly stochastic regulariser, over valid regions only
                reg = (((1.0 - alpha_sum) ** 2) * mask.float()).sum(1) / mask.float().sum(1)
                loss = loss + ds_lambda * reg.mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            tot += float(loss.detach()) * B
            cnt += B
        sched.step()
        log(f"epoch {ep + 1}/{epochs}: loss {tot / cnt:.4f} ({time.perf_counter() - t0:.1f}s)")


# ----------------------------------------------------------------------------- I/O


def write_features(path, feats, nreg, ids, boxes, labels):
    with h5py.File(path, "w") as f:
        kw = dict(compression="gzip", compression_opts=9, shuffle=True, track_times=False)
        N, R, D = feats.shape
        f.create_dataset("features", data=feats.astype(np.float16), chunks=(min(N, 64), R, D), **kw)
        f.create_dataset("num_regions", data=nreg.astype(np.int32), track_times=False)
        f.create_dataset("image_ids", data=np.asarray(ids, dtype=np.int64), track_times=False)
        f.create_dataset("boxes", data=boxes.astype(np.float32), chunks=(min(N, 256), R, 4), **kw)
        f.create_dataset("region_labels", data=labels.astype(object), dtype=h5py.string_dtype("utf-8"),
                         chunks=(min(N, 256), R), **kw)
        f.attrs["description"] = "nightcap demo test split (synthetic scenes, tools/make_demo.py)"


def read_labels(path):
    with h5py.File(path, "r") as f:
        labs = f["region_labels"][()]
        ids = [str(i) for i in f["image_ids"][()].tolist()]
    labs = np.vectorize(lambda x: x.decode("utf-8") if isinstance(x, bytes) else str(x), otypes=[object])(labs)
    return dict(zip(ids, labs))


def write_references(path, ids, caps):
    images = [{"id": int(i), "file_name": f"demo_{int(i)}.jpg", "width": WIDTH, "height": HEIGHT} for i in ids]
    anns, aid = [], 1
    for i, cs in zip(ids, caps):
        for c in cs:
            anns.append({"id": aid, "image_id": int(i), "caption": c})
            aid += 1
    data = {"info": {"description": "nightcap demo: synthetic scenes (tools/make_demo.py)"},
            "images": images, "annotations": anns}
    with open(path, "w") as f:
        json.dump(data, f, indent=0, separators=(",", ":"))
        f.write("\n")


# ----------------------------------------------------------------------------- evaluation


def coco_scores(results: dict, references: dict, use_ptb: bool = True):
    """results {id: caption}, references {id: [captions]} -> pycocoevalcap scores."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge
    ids = sorted(results)
    if use_ptb:
        from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
        tok = PTBTokenizer()
        gts = tok.tokenize({i: [{"caption": c} for c in references[i]] for i in ids})
        res = tok.tokenize({i: [{"caption": results[i]}] for i in ids})
    else:
        gts = {i: [" ".join(tokenize(c)) for c in references[i]] for i in ids}
        res = {i: [" ".join(tokenize(results[i]))] for i in ids}
    out = {}
    b, _ = Bleu(4).compute_score(gts, res, verbose=0)
    for k, v in enumerate(b):
        out[f"Bleu_{k + 1}"] = float(v)
    out["ROUGE_L"] = float(Rouge().compute_score(gts, res)[0])
    out["CIDEr"] = float(Cider().compute_score(gts, res)[0])
    return out


def grounding(decoded, labels_by_id):
    """decoded: list of {image_id, caption, attention [T][n]}.  For every generated word equal
    to a non-background label, is the arg-max attention region labelled with that word?"""
    label_set = {l for labs in labels_by_id.values() for l in labs if l and l != BACKGROUND}
    hit = tot = 0
    per = Counter()
    per_hit = Counter()
    for d in decoded:
        labs = labels_by_id[str(d["image_id"])]
        words = d["caption"].split()
        for t, w in enumerate(words):
            if w in label_set:
                j = int(np.argmax(np.asarray(d["attention"][t])))
                ok = labs[j] == w
                tot += 1
                hit += ok
                per[w] += 1
                per_hit[w] += ok
    return {"grounded": hit, "shape_words": tot, "rate": hit / tot if tot else float("nan"),
            "per_label": {w: f"{per_hit[w]}/{per[w]}" for w in sorted(per)}}


def load_references(path):
    with open(path) as f:
        data = json.load(f)
    refs = {}
    for a in data["annotations"]:
        refs.setdefault(str(a["image_id"]), []).append(a["caption"])
    return refs


def evaluate(decoded, out_dir, use_ptb=True):
    refs = load_references(os.path.join(out_dir, "references.json"))
    labels = read_labels(os.path.join(out_dir, "features.h5"))
    res = {str(d["image_id"]): d["caption"] for d in decoded}
    scores = coco_scores(res, refs, use_ptb)
    g = grounding(decoded, labels)
    exact = sum(1 for i, c in res.items() if c in {" ".join(tokenize(r)) for r in refs[i]})
    return {**scores, "grounding": g, "exact_reference_match": exact / len(res), "images": len(res)}


def decode_assets(out_dir, beam_size=3, max_length=20):
    model = nm.load_model_h5(os.path.join(out_dir, "model.h5"))
    feats, nr, ids = nm.load_features_h5(os.path.join(out_dir, "features.h5"))
    res = nm.decode_batched(model, torch.from_numpy(feats), torch.from_numpy(nr), batch_size=50,
                            beam_size=beam_size, max_length=max_length)
    return [{"image_id": i, "caption": nm.caption_text(model, r.tokens), "attention": r.attention.tolist()}
            for i, r in zip(ids, res)]


# ----------------------------------------------------------------------------- main


def main(argv=None):
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", default=os.path.join(here, "pipelines", "demo"))
    p.add_argument("--train-images", type=int, default=4000)
    p.add_argument("--test-images", type=int, default=600)
    p.add_argument("--first-id", type=int, default=100001)
    p.add_argument("--dim", type=int, default=64, help="region feature size D")
    p.add_argument("--embed", type=int, default=32, help="E")
    p.add_argument("--hidden", type=int, default=128, help="H")
    p.add_argument("--attention", type=int, default=64, help="A")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--ds-lambda", type=float, default=0.0, help="doubly stochastic attention regulariser")
    p.add_argument("--float16", action="store_true", help="store the model as float16")
    p.add_argument("--threads", type=int, default=1, help="torch threads (fixed for reproducibility)")
    p.add_argument("--no-ptb", action="store_true", help="tokenize with lowercase+strip instead of PTBTokenizer (Java)")
    p.add_argument("--evaluate-only", action="store_true")
    p.add_argument("--check", metavar="DECODED.json", help="score tools/reference_decoder.py output")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731

    if a.check or a.evaluate_only:
        if a.check:
            with open(a.check) as f:
                decoded = json.load(f)["images"]
        else:
            decoded = decode_assets(a.out)
        print(json.dumps(evaluate(decoded, a.out, not a.no_ptb), indent=2))
        return

    torch.manual_seed(a.seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(a.seed)
    world = World(np.random.default_rng([a.seed, 1]), dim=a.dim)
    t0 = time.perf_counter()
    tr = make_split(world, np.random.default_rng([a.seed, 2]), a.train_images)
    te = make_split(world, np.random.default_rng([a.seed, 3]), a.test_images)
    log(f"generated {a.train_images} train + {a.test_images} test images in {time.perf_counter() - t0:.1f}s")
    del rng

    vocab = build_vocab(tr[4])
    max_len = max(len(tokenize(c)) for cs in tr[4] for c in cs)
    caps, img_of = encode_captions(tr[4], vocab, max_len)
    log(f"vocabulary {len(vocab)} words, {caps.shape[0]} training captions, max length {max_len}")

    model = nm.ShowAttendTell(len(vocab), a.embed, a.dim, a.hidden, a.attention, "tanh", use_f_beta=True,
                              pad_token=0, start_token=1, end_token=2, unk_token=3, vocab=vocab)
    feats = torch.from_numpy(tr[0])
    nreg = torch.from_numpy(tr[3])
    gen = torch.Generator().manual_seed(a.seed)
    t1 = time.perf_counter()
    train(model, feats, nreg, caps, img_of, a.epochs, a.batch_size, a.lr, a.ds_lambda, gen, log)
    train_secs = time.perf_counter() - t1
    log(f"trained in {train_secs:.0f}s")
    model.eval()

    os.makedirs(a.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        ck = os.path.join(tmp, "demo.pt")
        torch.save({"state_dict": model.state_dict(), "vocab": vocab, "attention_activation": "tanh",
                    "pad_token": 0, "start_token": 1, "end_token": 2, "unk_token": 3}, ck)
        info = export_pytorch.export(ck, os.path.join(a.out, "model.h5"), float16=a.float16)
    log(f"exported model.h5: {info}")
    ids = list(range(a.first_id, a.first_id + a.test_images))
    write_features(os.path.join(a.out, "features.h5"), te[0], te[3], ids, te[1], te[2])
    write_references(os.path.join(a.out, "references.json"), ids, te[4])

    decoded = decode_assets(a.out)
    ev = evaluate(decoded, a.out, not a.no_ptb)
    ev["train_seconds"] = round(train_secs, 1)
    ev["vocab_size"] = len(vocab)
    ev["labels"] = SHAPES + [BACKGROUND]
    for d in decoded[:8]:
        log(f"  {d['image_id']}: {d['caption']}")
    print(json.dumps(ev, indent=2))


if __name__ == "__main__":
    main()
