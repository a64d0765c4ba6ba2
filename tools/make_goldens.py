#!/usr/bin/env python3
"""Generate the golden decoder fixtures in Tests/CaptionerTests/Goldens/ (deterministic).

  python3 tools/make_goldens.py [--out Tests/CaptionerTests/Goldens]

For every case: a small model file (shared between cases), a packed features file and an
expected-output JSON, plus manifest.json.  Images are drawn from a seeded pool and only
images whose decode is robust are kept:
  * float64 decode gives identical tokens to the float32 reference decode,
  * at every step the gap between the k-th and (k+1)-th candidate score is >= GAP_MIN,
  * the final choice beats the runner-up (after length normalisation) by >= GAP_MIN,
  * batch decode == one-image-at-a-time decode.
Each case is required to contain captions that end at once (empty), end early and never
end (hit max_length), and every num_regions value 1..R.  The expected values are computed
from the *written* files (float16 models: float16 weights upcast to float32).
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nightcap_model as nm  # noqa: E402

GAP_MIN = 5e-3  # stricter than the required 1e-3; the pool is large enough
V, E, D, H, A, R = 40, 8, 16, 12, 10, 6
N_IMAGES = 10
POOL = 160

CONTENT_WORDS = ["a", "an", "the", "man", "woman", "dog", "cat", "bird", "horse", "car", "bus",
                 "street", "field", "table", "pizza", "on", "in", "with", "of", "near", "riding",
                 "sitting", "standing", "holding", "red", "white", "black", "small", "large",
                 "two", "people", "grass", "water", "boat", "café", "naïve"]  # two non-ASCII words (UTF-8)


def vocab_layout(style: str):
    """'simple': <pad>=0 <start>=1 <end>=2 <unk>=3 then words.
    'sgrvinod': <pad>=0, words 1.., <unk>, <start>, <end> (like the tutorial's WORDMAP)."""
    words = CONTENT_WORDS[: V - 4]
    if style == "simple":
        vocab = ["<pad>", "<start>", "<end>", "<unk>"] + words
    else:
        vocab = ["<pad>"] + words + ["<unk>", "<start>", "<end>"]
    assert len(vocab) == V
    idx = {w: i for i, w in enumerate(vocab)}
    return vocab, dict(pad_token=idx["<pad>"], start_token=idx["<start>"], end_token=idx["<end>"],
                       unk_token=idx["<unk>"])


# name, seed, activation, f_beta, float16, vocab style, end-bias
MODELS = [
    ("tanh_fbeta", 11, "tanh", True, False, "simple", 0.0),
    ("relu_nofbeta", 12, "relu", False, False, "sgrvinod", 0.0),
    ("relu_fbeta_f16", 13, "relu", True, True, "sgrvinod", 0.5),
    ("tanh_nofbeta", 14, "tanh", False, False, "simple", 0.0),
]

# name, model, beam, max_length, length_penalty, pool seed
CASES = [
    ("tanh_fbeta_greedy", "tanh_fbeta", 1, 12, 0.0, 101),
    ("tanh_fbeta_beam3", "tanh_fbeta", 3, 12, 0.0, 102),
    ("relu_nofbeta_greedy", "relu_nofbeta", 1, 10, 0.0, 103),
    ("relu_nofbeta_beam3", "relu_nofbeta", 3, 10, 0.0, 104),
    ("relu_fbeta_f16_beam3", "relu_fbeta_f16", 3, 12, 0.0, 105),
    ("relu_fbeta_f16_beam5", "relu_fbeta_f16", 5, 10, 0.0, 106),
    ("tanh_nofbeta_beam3_lp07", "tanh_nofbeta", 3, 12, 0.7, 107),
]

# Exact-tie cases (no gap filtering): fc.weight is all zero, so every logit equals its bias
# exactly in any implementation / summation order, and logp does not depend on the state.
# Biases: tokens 10, 11 and <end> (id 39, sgrvinod layout) tie at 4.0, the other words 0,
# <pad>/<start> -20.  Expected (independent of the image):
#   greedy: the tie {10, 11, 39} goes to the lowest id 10 every step -> [10]*L, never ends;
#   beam 3: step 1 keeps 10, 11, <end> in id order, so <end> is kept and finishes the empty
#           caption with score x = logp(tie); every longer hypothesis scores <= 2x < x -> [].
TIES_MODEL = ("ties", 15, "tanh", True, False, "sgrvinod")
TIE_TOKENS = (10, 11)
TIES_CASES = [
    ("ties_greedy", 1, 6, 108),
    ("ties_beam3", 3, 6, 109),
]
N_TIE_IMAGES = 4


def build_ties_model():
    name, seed, act, fbeta, f16, style = TIES_MODEL
    m = build_model(seed, act, fbeta, style, 0.0)
    with torch.no_grad():
        m.fc.weight.zero_()
        m.fc.bias.zero_()
        for t in TIE_TOKENS + (m.end_token,):
            m.fc.bias[t] = 4.0
        for t in (m.pad_token, m.start_token):
            m.fc.bias[t] = -20.0
    assert m.end_token > max(TIE_TOKENS)
    return m


def build_model(seed, act, fbeta, style, end_bias):
    vocab, ids = vocab_layout(style)
    torch.manual_seed(seed)
    m = nm.ShowAttendTell(V, E, D, H, A, act, fbeta, vocab=vocab, **ids)
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0.0, 0.5)
        m.fc.weight.mul_(3.0)                   # logits with std ~2-3: varied, well separated
        m.fc.weight[ids["end_token"]].mul_(3.0)  # end logit strongly state dependent -> all end kinds
        m.fc.bias[ids["end_token"]] = end_bias
        # <pad> and <start> are never produced as words (their logit sits ~20 below the rest), so
        # the goldens do not depend on whether a caption filter drops them.
        for t in (ids["pad_token"], ids["start_token"]):
            m.fc.weight[t].zero_()
            m.fc.bias[t] = -20.0
    return m.eval()


def make_pool(seed):
    g = np.random.default_rng(seed)
    f = g.standard_normal((POOL, R, D)).astype(np.float32)
    f *= g.uniform(0.3, 2.0, (POOL, 1, 1)).astype(np.float32)
    f += (g.uniform(-1.5, 1.5, (POOL, 1, 1)) * g.standard_normal((1, 1, D))).astype(np.float32)
    nr = g.integers(1, R + 1, POOL).astype(np.int32)
    for i in range(POOL):
        f[i, nr[i]:] = 7.0  # garbage padding: masking bugs show
    ids = (seed * 100000 + 7 * np.arange(POOL) + 3).astype(np.int64)
    return f, nr, ids


def end_kind(r):
    if not r.ended:
        return "never"
    return "at_once" if not r.tokens else "early"


def decode(model, f, nr, case, **kw):
    _, _, K, L, lp, _ = case
    return nm.beam_search(model, torch.from_numpy(f), torch.from_numpy(nr.astype(np.int64)),
                          beam_size=K, max_length=L, length_penalty=lp, **kw)


def select(info, need_flags):
    """info: list of dicts (pool order) for robust images. Deterministic greedy selection."""
    chosen = []
    cnt = collections.Counter()

    def take(pred):
        for x in info:
            if x["i"] not in [c["i"] for c in chosen] and pred(x):
                chosen.append(x)
                cnt[x["kind"]] += 1
                return True
        return False

    for flag in need_flags:
        take(lambda x, fl=flag: x[fl])
    for kind in ("at_once", "early", "never"):
        while cnt[kind] < 2 and take(lambda x, k=kind: x["kind"] == k):
            pass
    for n in range(1, R + 1):
        if n not in {c["nr"] for c in chosen}:
            take(lambda x, n=n: x["nr"] == n)
    while len(chosen) < N_IMAGES:
        least = min(("early", "never", "at_once"), key=lambda k: cnt[k])
        if not take(lambda x, k=least: x["kind"] == k) and not take(lambda x: True):
            break
    chosen.sort(key=lambda x: x["i"])
    return [c["i"] for c in chosen]


def fl(x):
    return float(x)


def main(argv=None):
    p = argparse.ArgumentParser()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p.add_argument("--out", default=os.path.join(root, "Tests", "CaptionerTests", "Goldens"))
    a = p.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    models, model_entries = {}, []
    for name, seed, act, fbeta, f16, style, eb in MODELS:
        path = os.path.join(a.out, f"{name}.model.h5")
        nm.save_model(path, build_model(seed, act, fbeta, style, eb), float16=f16)
        m32 = nm.load_model_h5(path, torch.float32)   # exactly what a f16->f32 reader sees
        m64 = nm.load_model_h5(path, torch.float64)
        models[name] = (m32, m64)
        model_entries.append({"name": name, "file": f"{name}.model.h5", "dtype": "float16" if f16 else "float32",
                              "attention_activation": act, "f_beta": fbeta,
                              "vocab_size": V, "embed_dim": E, "feature_dim": D, "hidden_dim": H,
                              "attention_dim": A, "pad_token": m32.pad_token, "start_token": m32.start_token,
                              "end_token": m32.end_token, "unk_token": m32.unk_token})

    case_entries = []
    overall = math.inf
    for case in CASES:
        cname, mname, K, L, lp, pseed = case
        m32, m64 = models[mname]
        f, nr, ids = make_pool(pseed)
        r32 = decode(m32, f, nr, case, keep_finished=True)
        r64 = decode(m64, f.astype(np.float64), nr, case)
        alt = None
        if K > 1 and lp == 0.0:    # does beam differ from greedy?
            alt = decode(m32, f, nr, (cname, mname, 1, L, 0.0, pseed))
        elif lp != 0.0:            # does the length penalty change the answer?
            alt = decode(m32, f, nr, (cname, mname, K, L, 0.0, pseed))
        info = []
        for i, (x, y) in enumerate(zip(r32, r64)):
            if x.tokens != y.tokens:
                continue
            if x.min_select_gap < GAP_MIN or x.final_gap < GAP_MIN:
                continue
            info.append({"i": i, "nr": int(nr[i]), "kind": end_kind(x),
                         "differs": alt is not None and alt[i].tokens != x.tokens})
        need = ["differs"] if alt is not None else []
        sel = select(info, need)
        fs, nrs, idss = f[sel], nr[sel], ids[sel]
        fpath = f"{cname}.features.h5"
        nm.save_features_h5(os.path.join(a.out, fpath), fs, nrs, [int(i) for i in idss])
        # recompute from the written features file, batched and one by one
        ff, fnr, fids = nm.load_features_h5(os.path.join(a.out, fpath))
        res = decode(m32, ff, fnr, case, keep_finished=True)
        for j in range(len(sel)):
            one = decode(m32, ff[j:j + 1], fnr[j:j + 1], case)[0]
            assert one.tokens == res[j].tokens, (cname, j)
            assert math.isclose(one.log_prob, res[j].log_prob, rel_tol=1e-5, abs_tol=1e-5)
            assert res[j].tokens == r32[sel[j]].tokens
        res64 = decode(m64, ff.astype(np.float64), fnr, case)
        assert [r.tokens for r in res] == [r.tokens for r in res64]
        kinds = collections.Counter(end_kind(r) for r in res)
        for k in ("at_once", "early", "never"):
            if kinds[k] == 0:
                raise SystemExit(f"{cname}: no image with end kind {k!r}; adjust seeds / end bias")
        if sorted(set(int(x) for x in fnr)) != list(range(1, R + 1)):
            raise SystemExit(f"{cname}: num_regions coverage incomplete: {sorted(set(fnr.tolist()))}")
        ndiff = sum(1 for j in sel if alt is not None and alt[j].tokens != r32[j].tokens)
        if alt is not None and ndiff == 0:
            raise SystemExit(f"{cname}: no image where {'beam differs from greedy' if lp == 0 else 'length penalty matters'}")
        sel_gap = min(r.min_select_gap for r in res)
        fin_gap = min(r.final_gap for r in res)
        assert sel_gap >= GAP_MIN and fin_gap >= GAP_MIN
        overall = min(overall, sel_gap, fin_gap)
        images = []
        for iid, n, r in zip(fids, fnr, res):
            assert r.attention.shape == (len(r.tokens), int(n))
            images.append({"image_id": iid, "num_regions": int(n), "tokens": [int(t) for t in r.tokens],
                           "caption": nm.caption_text(m32, r.tokens), "log_prob": fl(r.log_prob),
                           "ended": bool(r.ended),
                           "attention": [[fl(v) for v in row] for row in r.attention]})
        exp = {"name": cname, "model": f"{mname}.model.h5", "features": fpath, "beam_size": K, "max_length": L,
               "length_penalty": lp, "images": images}
        epath = f"{cname}.expected.json"
        with open(os.path.join(a.out, epath), "w", encoding="utf-8") as fh:
            json.dump(exp, fh, ensure_ascii=False, indent=1)
            fh.write("\n")
        case_entries.append({
            "name": cname, "model": f"{mname}.model.h5", "features": fpath, "expected": epath,
            "beam_size": K, "max_length": L, "length_penalty": lp, "num_images": len(images),
            "end_kinds": {k: kinds[k] for k in ("at_once", "early", "never")},
            "num_regions": sorted(set(int(x) for x in fnr)),
            "images_differing_from": (None if alt is None else
                                      {"what": "greedy" if lp == 0 else "length_penalty 0", "count": ndiff}),
            "min_select_gap": sel_gap, "min_final_gap": (None if math.isinf(fin_gap) else fin_gap),
            "exact_ties": False, "min_gap": min(sel_gap, fin_gap)})
        print(f"{cname}: pool robust {len(info)}/{POOL}, kinds {dict(kinds)}, differs {ndiff}, "
              f"min select gap {sel_gap:.4g}, min final gap {fin_gap:.4g}", file=sys.stderr)

    # ---- exact-tie cases
    name, seed, act, fbeta, f16, style = TIES_MODEL
    path = os.path.join(a.out, f"{name}.model.h5")
    nm.save_model(path, build_ties_model(), float16=f16)
    m32, m64 = nm.load_model_h5(path, torch.float32), nm.load_model_h5(path, torch.float64)
    model_entries.append({"name": name, "file": f"{name}.model.h5", "dtype": "float16" if f16 else "float32",
                          "attention_activation": act, "f_beta": fbeta,
                          "vocab_size": V, "embed_dim": E, "feature_dim": D, "hidden_dim": H,
                          "attention_dim": A, "pad_token": m32.pad_token, "start_token": m32.start_token,
                          "end_token": m32.end_token, "unk_token": m32.unk_token})
    for cname, K, L, pseed in TIES_CASES:
        case = (cname, name, K, L, 0.0, pseed)
        f, nr, ids = make_pool(pseed)
        # first images with distinct num_regions
        sel, seen = [], set()
        for i in range(POOL):
            if int(nr[i]) not in seen:
                sel.append(i)
                seen.add(int(nr[i]))
            if len(sel) == N_TIE_IMAGES:
                break
        fpath = f"{cname}.features.h5"
        nm.save_features_h5(os.path.join(a.out, fpath), f[sel], nr[sel], [int(i) for i in ids[sel]])
        ff, fnr, fids = nm.load_features_h5(os.path.join(a.out, fpath))
        res = decode(m32, ff, fnr, case)
        res64 = decode(m64, ff.astype(np.float64), fnr, case)
        want = [TIE_TOKENS[0]] * L if K == 1 else []
        for r, r64 in zip(res, res64):
            assert r.tokens == want == r64.tokens, (cname, r.tokens)
            assert r.ended == (K != 1)
        images = []
        for iid, n, r in zip(fids, fnr, res):
            images.append({"image_id": iid, "num_regions": int(n), "tokens": [int(t) for t in r.tokens],
                           "caption": nm.caption_text(m32, r.tokens), "log_prob": fl(r.log_prob),
                           "ended": bool(r.ended),
                           "attention": [[fl(v) for v in row] for row in r.attention]})
        exp = {"name": cname, "model": f"{name}.model.h5", "features": fpath, "beam_size": K, "max_length": L,
               "length_penalty": 0.0, "images": images}
        epath = f"{cname}.expected.json"
        with open(os.path.join(a.out, epath), "w", encoding="utf-8") as fh:
            json.dump(exp, fh, ensure_ascii=False, indent=1)
            fh.write("\n")
        kinds = collections.Counter(end_kind(r) for r in res)
        case_entries.append({
            "name": cname, "model": f"{name}.model.h5", "features": fpath, "expected": epath,
            "beam_size": K, "max_length": L, "length_penalty": 0.0, "num_images": len(images),
            "end_kinds": {k: kinds[k] for k in ("at_once", "early", "never")},
            "num_regions": sorted(set(int(x) for x in fnr)), "images_differing_from": None,
            "exact_ties": True, "min_select_gap": 0.0, "min_final_gap": None, "min_gap": 0.0})
        print(f"{cname}: exact ties, tokens {want}", file=sys.stderr)

    manifest = {
        "format": "nightcap-decoder-goldens", "version": 1, "generator": "tools/make_goldens.py",
        "gap_threshold": GAP_MIN, "min_gap": overall,   # over the cases with exact_ties == false
        "tolerance_hint": {"log_prob_abs": 1e-4, "attention_abs": 1e-5},
        "models": model_entries, "cases": case_entries,
    }
    with open(os.path.join(a.out, "manifest.json"), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=1)
        fh.write("\n")
    total = 0
    for fn in sorted(os.listdir(a.out)):
        if fn.startswith("."):
            continue
        sz = os.path.getsize(os.path.join(a.out, fn))
        total += sz
    print(f"total fixture size {total} bytes, overall min gap {overall:.4g}", file=sys.stderr)


if __name__ == "__main__":
    main()
