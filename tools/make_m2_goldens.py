#!/usr/bin/env python3
"""Goldens for nightcap's Meshed-Memory Transformer family, made with upstream's own code.

Imports aimagelab/meshed-memory-transformer's `models` and `data.vocab` from a checkout (never
copied into nightcap):
    python3 tools/make_m2_goldens.py --upstream /path/to/meshed-memory-transformer

Upstream targets torch 1.x. On torch 2 it needs exactly two fixes, applied here at import time and
nowhere else (upstream's files are not edited):
  1. masks built as uint8 (`torch.triu(..., dtype=torch.uint8)`, `.byte()`) reach `masked_fill`,
     which torch 2 refuses: `Tensor.masked_fill` is wrapped to turn a uint8 mask into bool (what
     torch 1.x did with it);
  2. `selected_beam = selected_idx / candidate_logprob.shape[-1]` in
     `models/beam_search/beam_search.py` was integer division on torch 1.x: `BeamSearch.iter` is
     recompiled from upstream's own source with that one expression replaced by
     `torch.div(selected_idx, candidate_logprob.shape[-1], rounding_mode='floor')`.
`data/__init__.py` imports the COCO dataset code (pycocotools, spacy); only `data/vocab.py` is
loaded, as the module `data.vocab`, so that the pickled vocabulary names `data.vocab.Vocab` as
upstream's `vocab.pkl` does. `tqdm` is replaced by a stand-in when it is not installed (only
`vocab.py`'s download helpers use it).

It trains a small model (upstream's `Transformer`, `MemoryAugmentedEncoder` with
`ScaledDotProductAttentionMemory`, `MeshedDecoder`; 3 encoder layers as the decoder requires,
2 decoder layers, d_model 12, 4 heads, d_ff 24, 3 memory slots) on synthetic detections whose captions depend
on the regions, with upstream's feature preparation (`ImageDetectionsField.preprocess`: the first 50
detections, zero rows to 50). It writes to Tests/CaptionerTests/Goldens/m2/:

  m2_zip/m2.pth          the dict train.py saves (torch_rng_state, cuda_rng_state, numpy_rng_state,
                         random_rng_state, epoch, val_loss, val_cider, state_dict, optimizer,
                         scheduler, patience, best_cider, use_rl), zip format
  m2_zip/vocab.pkl       the pickled data.vocab.Vocab (protocol 3, as upstream's shipped vocab.pkl)
  m2_legacy/m2.pth       the same dict, _use_new_zipfile_serialization=False (torch 1.1 era)
  m2_legacy/vocab.pkl    the same vocabulary
  detections.h5          `<image_id>_features [N_i, D]` float32 per image (coco_detections.hdf5's
                         layout); images with fewer than, exactly and more than 50 detections
  <case>.expected.json   upstream's decoding of every image (see CASES)
  manifest.json          cases, model sizes, gaps

Deterministic (seeded, one thread): a second run writes the same bytes, except the legacy
checkpoint's storage keys, which torch's legacy format takes from memory addresses.

Decoding is `model.beam_search(images, max_len, <eos>, beam, out_size=1)` as test.py calls it, the
whole batch at once; beam 1 is nightcap's greedy (the tool checks it equals upstream's greedy
`CaptioningModel.test`). The caption is test.py's: `text_field.decode` (cut at the first `<eos>`),
then `itertools.groupby` (consecutive repeats collapsed), joined and stripped.

Attention: the last decoder layer's meshed cross-attention (`enc_att`, one shared
ScaledDotProductAttention applied to each of the 3 encoder levels), its softmax weights averaged
over the 3 levels and the heads: a distribution over all 50 rows. A forward hook on
`decoder.layers[-1].enc_att.attention` recomputes the softmax from the module's own inputs and
weights (upstream does not keep it). It is captured by running upstream's stateful decoder on the
chosen caption alone (batch 1, the caption's prefix word by word). The goldens store the weights of
the image's real rows (`min(N_i, 50)`) and, separately, `padding_share` per word: the weight the
zero rows received (upstream's padding mask is computed after the input projection and never masks
them), so real weights + padding share = 1.
"""

import argparse
import importlib.machinery
import importlib.util
import itertools
import json
import os
import pickle
import random
import sys
import types
from collections import Counter

import numpy as np

OBJECTS = ["dog", "cat", "man", "woman", "horse", "car", "table", "ball", "tree", "bird"]
ATTRS = ["red", "blue", "small", "big", "black", "white"]
OTHER = ["a", "the", "on", "near", "with", "and", "is", "sitting", "standing", "in", "of", "to"]
FEAT_DIM = len(OBJECTS) + len(ATTRS) + 4
MAX_DETECTIONS = 50

# name, beam size, max length
CASES = [
    ("greedy", 1, 20),
    ("beam3", 3, 20),
    ("beam5", 5, 20),
    ("beam5_short", 5, 4),
    ("greedy_short", 1, 4),
]


def load_upstream(root):
    sys.path.insert(0, root)
    import torch
    if importlib.util.find_spec("tqdm") is None:
        stand_in = types.ModuleType("tqdm")
        stand_in.__spec__ = importlib.machinery.ModuleSpec("tqdm", None)
        stand_in.tqdm = None
        sys.modules["tqdm"] = stand_in
    # data.vocab alone (data/__init__ imports the COCO pipeline).
    package = types.ModuleType("data")
    package.__path__ = [os.path.join(root, "data")]
    sys.modules["data"] = package
    for name in ("utils", "vocab"):
        spec = importlib.util.spec_from_file_location(f"data.{name}", os.path.join(root, "data", f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[f"data.{name}"] = module
        spec.loader.exec_module(module)
    vocab_module = sys.modules["data.vocab"]

    # Fix 1: uint8 masks -> bool in masked_fill.
    original_masked_fill = torch.Tensor.masked_fill

    def masked_fill(self, mask, value):
        if mask.dtype == torch.uint8:
            mask = mask.bool()
        return original_masked_fill(self, mask, value)

    torch.Tensor.masked_fill = masked_fill

    import models.beam_search.beam_search as bs
    import models.transformer as mt
    import inspect
    import textwrap
    # Fix 2: floor division of the flat index, recompiled from upstream's own source.
    source = textwrap.dedent(inspect.getsource(bs.BeamSearch.iter))
    old = "selected_beam = selected_idx / candidate_logprob.shape[-1]"
    assert source.count(old) == 1, "beam_search.py changed: the floor-division fix no longer applies"
    source = source.replace(old, "selected_beam = torch.div(selected_idx, candidate_logprob.shape[-1], rounding_mode='floor')")
    namespace = {}
    exec(compile(source, bs.__file__, "exec"), bs.__dict__, namespace)
    bs.BeamSearch.iter = namespace["iter"]
    return torch, mt, vocab_module


def make_image(rng, detections):
    """Detections: object, attribute, salience; returns (features [n, D], caption words)."""
    feats = np.zeros((detections, FEAT_DIM), dtype=np.float32)
    objs = rng.integers(0, len(OBJECTS), size=detections)
    attrs = rng.integers(0, len(ATTRS), size=detections)
    sal = rng.random(detections).astype(np.float32)
    for r in range(detections):
        feats[r, objs[r]] = 1.0 + 0.3 * rng.standard_normal()
        feats[r, len(OBJECTS) + attrs[r]] = 1.0 + 0.3 * rng.standard_normal()
        feats[r, len(OBJECTS) + len(ATTRS)] = sal[r] * 2
        feats[r, len(OBJECTS) + len(ATTRS) + 1] = (r % 10) / 10.0
        feats[r, len(OBJECTS) + len(ATTRS) + 2:] = 0.5 * rng.standard_normal(2)
    seen = min(detections, MAX_DETECTIONS)
    order = np.argsort(-sal[:seen])
    a, b = order[0], order[min(1, seen - 1)]
    words = ["a"]
    if sal[a] > 0.5:
        words.append(ATTRS[attrs[a]])
    if sal[a] > 0.8:  # "a big big dog": consecutive repeats, which test.py's groupby collapses
        words.append(ATTRS[attrs[a]])
    words.append(OBJECTS[objs[a]])
    if seen >= 4:
        words += ["is", "sitting" if objs[a] % 2 == 0 else "standing"]
    if seen >= 2:
        words += [["on", "near", "with", "in"][(objs[a] + objs[b]) % 4], "the", OBJECTS[objs[b]]]
    if seen >= 30:
        c = order[2]
        words += ["and", "a", ATTRS[attrs[c]], OBJECTS[objs[c]]]
    if rng.random() < 0.1:  # some unknown words, so that <unk> has probability
        words[rng.integers(1, len(words))] = "zebra"
    return feats, words


def preprocess(feats):
    """ImageDetectionsField.preprocess with max_detections=50."""
    delta = MAX_DETECTIONS - feats.shape[0]
    if delta > 0:
        feats = np.concatenate([feats, np.zeros((delta, feats.shape[1]))], axis=0)
    elif delta < 0:
        feats = feats[:MAX_DETECTIONS]
    return feats.astype(np.float32)


def build_vocab(vocab_module, rng):
    counter = Counter()
    for _ in range(400):
        _, words = make_image(rng, int(rng.integers(1, 70)))
        counter.update(w for w in words if w != "zebra")
    for w in OBJECTS + ATTRS + OTHER:
        counter[w] += 1
    # TextField.build_vocab: specials unk, pad, init (bos), eos.
    return vocab_module.Vocab(counter, specials=["<unk>", "<pad>", "<bos>", "<eos>"], min_freq=1)


def encode(words, vocab, length):
    ids = [vocab.stoi["<bos>"]] + [vocab.stoi[w] for w in words][:length] + [vocab.stoi["<eos>"]]
    return ids + [vocab.stoi["<pad>"]] * (length + 2 - len(ids))


def train(model, vocab, args, torch, rng):
    pad = vocab.stoi["<pad>"]
    optim = torch.optim.Adam(model.parameters(), lr=1, betas=(0.9, 0.98))
    warmup = 200

    def lambda_lr(s):  # train.py's schedule, scaled to this model
        s += 1
        return (args.d_model ** -.5) * min(s ** -.5, s * warmup ** -1.5) * 2

    scheduler = torch.optim.lr_scheduler.LambdaLR(optim, lambda_lr)
    model.train()
    for it in range(args.iterations):
        data = [make_image(rng, int(k)) for k in rng.integers(1, 70, size=args.batch)]
        images = torch.from_numpy(np.stack([preprocess(f) for f, _ in data]))
        captions = torch.tensor([encode(w, vocab, 16) for _, w in data])
        out = model(images, captions[:, :-1])
        target = captions[:, 1:]
        loss = torch.nn.functional.nll_loss(out.reshape(-1, out.shape[-1]), target.reshape(-1), ignore_index=pad)
        optim.zero_grad()
        loss.backward()
        optim.step()
        scheduler.step()
        if it % 50 == 0 or it == args.iterations - 1:
            print(f"iter {it}: loss {loss.item():.3f}", file=sys.stderr)
    model.eval()
    return optim, scheduler, loss.item()


class CrossAttentionProbe:
    """Forward hook on the last decoder layer's enc_att.attention: recomputes its softmax weights."""

    def __init__(self, module, torch):
        self.calls = []
        self.torch = torch
        self.handle = module.register_forward_hook(self.hook)

    def hook(self, module, inputs, output):
        torch = self.torch
        queries, keys = inputs[0], inputs[1]
        mask = inputs[3] if len(inputs) > 3 else None
        b_s, nq, nk = queries.shape[0], queries.shape[1], keys.shape[1]
        q = module.fc_q(queries).view(b_s, nq, module.h, module.d_k).permute(0, 2, 1, 3)
        k = module.fc_k(keys).view(b_s, nk, module.h, module.d_k).permute(0, 2, 3, 1)
        att = torch.matmul(q, k) / np.sqrt(module.d_k)
        if mask is not None:
            att = att.masked_fill(mask, -np.inf)
        self.calls.append(torch.softmax(att, -1).detach().clone())  # (b_s, h, nq, nk)

    def remove(self):
        self.handle.remove()


def chosen_attention(model, image, tokens, bos, torch):
    """Per word of `tokens` (the caption up to and including <eos> if any): the last layer's cross
    attention, mean over encoder levels and heads, over all 50 rows."""
    probe = CrossAttentionProbe(model.decoder.layers[-1].enc_att.attention, torch)
    rows = []
    try:
        with torch.no_grad(), model.statefulness(1):
            enc, mask = model.encoder(image.unsqueeze(0))
            model.enc_output, model.mask_enc = enc, mask
            previous = bos
            for t, word in enumerate(tokens):
                probe.calls.clear()
                model.decoder(torch.tensor([[previous]]), enc, mask)
                levels = probe.calls
                assert len(levels) == 3
                rows.append(torch.stack([c[0, :, 0, :] for c in levels]).mean(dim=(0, 1)))
                previous = word
    finally:
        probe.remove()
    return rows


def run_case(model, name, beam, max_len, images, counts, ids, vocab, torch):
    eos, bos = vocab.stoi["<eos>"], vocab.stoi["<bos>"]
    with torch.no_grad():
        out, log_probs = model.beam_search(images, max_len, eos, beam, out_size=1)
        if beam == 1:
            greedy, _ = model.test(images, max_len, eos)

            def cut(rows):  # the words test.py keeps: up to the first <eos>
                return [r[:r.index(eos)] if eos in r else r for r in rows.tolist()]
            assert cut(out) == cut(greedy), f"{name}: beam_search(beam 1) differs from CaptioningModel.test"
    out = out.view(len(ids), -1)
    log_probs = log_probs.view(len(ids), -1)
    result = []
    for i in range(len(ids)):
        row = [int(x) for x in out[i].tolist()]
        tokens = []
        for x in row:
            tokens.append(x)
            if x == eos:
                break
        words = [vocab.itos[x] for x in tokens if x != eos]  # text_field.decode: cut at <eos>
        caption = " ".join(k for k, _ in itertools.groupby(words)).strip()  # test.py
        ended = tokens[-1] == eos if tokens else False
        attention = chosen_attention(model, images[i], tokens, bos, torch)
        seen = min(counts[i], MAX_DETECTIONS)
        lp = [float(log_probs[i, t]) for t in range(len(tokens))]
        result.append({
            "image_id": ids[i], "detections": counts[i], "tokens": tokens[:len(words)], "words": words,
            "ended": ended, "caption": caption, "token_log_probs": lp, "log_prob": float(sum(lp)),
            "attention": [[short(x) for x in a[:seen]] for a in attention[:len(words)]],
            "padding_share": [short(a[seen:].sum()) for a in attention[:len(words)]],
        })
    return result


def short(x):
    """A float32 value with 8 significant digits (its error, < 1e-8 here, is far below the tests' 1e-5)."""
    return float(f"{float(x):.8g}")


def gaps(model, images, max_len, beam, eos, torch):
    """The smallest gap between the chosen final score and the runner-up (beam > 1)."""
    with torch.no_grad():
        out, lp = model.beam_search(images, max_len, eos, beam, out_size=beam)
    scores = lp.sum(-1)  # per beam; finished beams' log probs are zero after <eos>
    s = torch.sort(scores, -1, descending=True).values
    return float((s[:, 0] - s[:, 1]).min())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", default="/work/upstream-m2")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "Tests", "CaptionerTests", "Goldens", "m2"))
    parser.add_argument("--d-model", type=int, default=12)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--d-ff", type=int, default=24)
    parser.add_argument("--decoder-layers", type=int, default=2)
    parser.add_argument("--memory", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    torch, mt, vocab_module = load_upstream(os.path.abspath(args.upstream))
    import h5py
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    random.seed(args.seed)
    np.random.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    vocab = build_vocab(vocab_module, rng)

    d_k = args.d_model // args.heads
    encoder = mt.MemoryAugmentedEncoder(3, 0, d_in=FEAT_DIM, d_model=args.d_model, d_k=d_k, d_v=d_k, h=args.heads, d_ff=args.d_ff,
                                        attention_module=mt.ScaledDotProductAttentionMemory,
                                        attention_module_kwargs={"m": args.memory})
    decoder = mt.MeshedDecoder(len(vocab), 20, args.decoder_layers, vocab.stoi["<pad>"], d_model=args.d_model, d_k=d_k, d_v=d_k,
                               h=args.heads, d_ff=args.d_ff)
    model = mt.Transformer(vocab.stoi["<bos>"], encoder, decoder)
    optim, scheduler, loss = train(model, vocab, args, torch, rng)

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    checkpoint = {
        "torch_rng_state": torch.get_rng_state(),
        "cuda_rng_state": torch.cuda.get_rng_state() if torch.cuda.is_available() else torch.get_rng_state(),
        "numpy_rng_state": np.random.get_state(),
        "random_rng_state": random.getstate(),
        "epoch": 3,
        "val_loss": loss,
        "val_cider": 0.5,
        "state_dict": model.state_dict(),
        "optimizer": optim.state_dict(),
        "scheduler": scheduler.state_dict(),
        "patience": 0,
        "best_cider": 0.5,
        "use_rl": False,
    }
    for folder, zipped in (("m2_zip", True), ("m2_legacy", False)):
        os.makedirs(os.path.join(out, folder), exist_ok=True)
        torch.save(checkpoint, os.path.join(out, folder, "m2.pth"), _use_new_zipfile_serialization=zipped)
        with open(os.path.join(out, folder, "vocab.pkl"), "wb") as f:
            pickle.dump(vocab, f, protocol=3)
    # torch 1.x-era checkpoints (legacy format) pickle numpy's RNG state under numpy 1's module
    # name: the legacy file gets `numpy.core.multiarray` (GLOBAL opcodes are newline-terminated
    # text, so the rename keeps the pickle valid), the zip file keeps numpy 2's `numpy._core`.
    legacy = os.path.join(out, "m2_legacy", "m2.pth")
    with open(legacy, "rb") as f:
        raw = f.read()
    assert raw.count(b"cnumpy._core.multiarray\n") > 0, "no numpy._core global in the legacy checkpoint"
    with open(legacy, "wb") as f:
        f.write(raw.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n"))
    # The legacy checkpoint reloads into upstream's model with the same captions (checked below).

    counts = [1, 3, 8, 20, 35, 49, 50, 50, 51, 70]
    feats = [make_image(rng, k)[0] for k in counts]
    for k in (6, 57):  # strong noise, unlike training
        counts.append(k)
        feats.append((3.0 * rng.standard_normal((k, FEAT_DIM))).astype(np.float32))
    ids = [str(300 + i) for i in range(len(counts))]
    with h5py.File(os.path.join(out, "detections.h5"), "w") as f:
        for image_id, x in zip(ids, feats):
            f.create_dataset(f"{image_id}_features", data=x)
    images = torch.from_numpy(np.stack([preprocess(x) for x in feats]))

    reloaded = mt.Transformer(vocab.stoi["<bos>"],
                              mt.MemoryAugmentedEncoder(3, 0, d_in=FEAT_DIM, d_model=args.d_model, d_k=d_k, d_v=d_k, h=args.heads,
                                                        d_ff=args.d_ff, attention_module=mt.ScaledDotProductAttentionMemory,
                                                        attention_module_kwargs={"m": args.memory}),
                              mt.MeshedDecoder(len(vocab), 20, args.decoder_layers, vocab.stoi["<pad>"], d_model=args.d_model, d_k=d_k,
                                               d_v=d_k, h=args.heads, d_ff=args.d_ff))
    reloaded.load_state_dict(torch.load(os.path.join(out, "m2_legacy", "m2.pth"), weights_only=False)["state_dict"])
    reloaded.eval()

    eos = vocab.stoi["<eos>"]
    manifest_cases = []
    for name, beam, max_len in CASES:
        result = run_case(model, name, beam, max_len, images, counts, ids, vocab, torch)
        again = run_case(reloaded, name, beam, max_len, images, counts, ids, vocab, torch)
        assert [r["tokens"] for r in result] == [r["tokens"] for r in again], f"{name}: the saved checkpoint decodes differently"
        gap = gaps(model, images, max_len, beam, eos, torch) if beam > 1 else None
        with open(os.path.join(out, f"{name}.expected.json"), "w") as f:
            json.dump({"name": name, "beam_size": beam, "max_length": max_len, "features": "detections.h5", "images": result},
                      f, indent=None, separators=(",", ":"))
        collapsed = sum(1 for r in result if r["caption"] != " ".join(r["words"]))
        manifest_cases.append({"name": name, "expected": f"{name}.expected.json", "beam_size": beam, "max_length": max_len,
                               "min_final_gap": gap, "images_with_collapsed_repeats": collapsed,
                               "images_ended": sum(1 for r in result if r["ended"])})
        print(f"{name}: gap {gap}; collapsed {collapsed}; " + " | ".join(r["caption"] for r in result[:6]), file=sys.stderr)
    manifest = {
        "format": "nightcap-m2-goldens", "version": 1, "generator": "tools/make_m2_goldens.py",
        "upstream": "aimagelab/meshed-memory-transformer (models/transformer, models/beam_search)",
        "torch": torch.__version__, "numpy": np.__version__,
        "torch2_fixes": ["uint8 masks to bool in masked_fill", "floor division of selected_idx in BeamSearch.iter"],
        "model": {"N_enc": 3, "N_dec": args.decoder_layers, "d_model": args.d_model, "heads": args.heads, "d_k": d_k,
                  "d_ff": args.d_ff, "memory_slots": args.memory, "max_len": 20, "d_in": FEAT_DIM, "vocab_size": len(vocab),
                  "training_iterations": args.iterations, "seed": args.seed},
        "specials": {w: vocab.stoi[w] for w in ("<unk>", "<pad>", "<bos>", "<eos>")},
        "attention": "last decoder layer's cross-attention (enc_att), mean over the 3 encoder levels and the heads; "
                     "weights of the image's real rows (min(detections, 50)); padding_share = the zero rows' weight",
        "cases": manifest_cases,
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
