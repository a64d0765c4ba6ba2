#!/usr/bin/env python3
"""Goldens for nightcap's AoANet family, made with self-critical.pytorch's own code.

Imports upstream's `captioning` package from a checkout (never copied into nightcap):
    python3 tools/make_aoa_goldens.py --upstream /path/to/self-critical.pytorch

It trains three small `AoAModel`s (caption_model `aoa`, captioning/models/AoAModel.py) for a short
while on synthetic region features whose captions depend on the regions (so decoding is not
trivial), covering the options that change the computation:

  aoa     the zoo's configs/aoa.yml scaled down: refine 1, refine_aoa 1, use_ff 0, use_multi_head 2,
          multi_head_scale 1, mean_feats 1, ctx_drop 1, decoder_type AoA
  plain   refine 0, use_multi_head 1 (AttModel's additive Attention), mean_feats 0 (fc_embed of the
          pooled features, the region mean as cocobu_fc holds it), ctx_drop 0, decoder_type AoA
  lstm    refine 1, refine_aoa 0 (the refiner's attention with its output layer), use_multi_head 2,
          multi_head_scale 2, decoder_type LSTM, out_res 1

and writes to Tests/CaptionerTests/Goldens/aoa/:

  aoa/log_zip/model-best.pth, aoa/log_zip/infos_aoa-best.pkl    torch.save zip + infos (protocol 2)
  aoa/log_legacy/model.pth, aoa/log_legacy/infos_aoa.pkl        legacy torch.save + infos
  plain/log_zip/..., lstm/log_legacy/...                        one saved form each
  features.h5          `features [N,R,D]` float32 (padding rows zero), `num_regions [N]`, `image_ids [N]`
  features-full.h5     images that all have 6 regions (upstream then runs without masks)
  <model>_<case>.expected.json   upstream's decoding of every image (see CASES)
  manifest.json        models, cases, margins, the tool's settings

Every case decodes the whole batch in one call of `model(fc, att, att_masks, opt=..., mode='sample')`,
as tools/eval.py -> eval_utils.eval_split does (padding masks when region counts differ and None
otherwise, as dataloader.collate_func; the text from misc.decode_sequence with REMOVE_BAD_ENDINGS set
like eval_split sets it). `fc` is the mean of the raw regions (numpy's `mean(0)`, what cocobu_fc
holds); only mean_feats 0 reads it.

Attention: the decoder's attention over the refined regions for every word of the chosen caption, at
the step that produced it, averaged over heads when it is multi-head. It is captured by a forward
hook on upstream's `model.core.attention`: for `MultiHeadedDotAttention` its `attn` attribute
(p_attn, [B, h, 1, K]) averaged over h; for the additive `Attention` (which keeps no weights) the
hook recomputes the weights from the module's own inputs and parameters with the lines of its
forward. The chosen caption is re-run through `get_logprobs_state` from the zero state (the decoder
state depends only on the prefix), so beam captions get the attention of their own prefix; for greedy
cases the tool also captures the attention during decoding and checks both agree.
"""

import argparse
import contextlib
import json
import os
import pickle
import random
import sys

import numpy as np

VOCAB_OBJECTS = ["dog", "cat", "man", "woman", "horse", "car", "table", "ball", "tree", "bird"]
VOCAB_ATTRS = ["red", "blue", "small", "big", "black", "white"]
VOCAB_OTHER = ["a", "the", "on", "near", "with", "and", "is", "sitting", "standing", "in", "of", "to"]
OBJ_DIM = len(VOCAB_OBJECTS)
ATTR_DIM = len(VOCAB_ATTRS)
FEAT_DIM = OBJ_DIM + ATTR_DIM + 4  # object one-hot, attribute one-hot, salience, position, 2 noise

# name, options, saved forms, cases; each model's seed is --seed plus its offset (MODEL_SEEDS)
MODELS = [
    ("aoa", {"refine": 1, "refine_aoa": 1, "use_ff": 0, "decoder_type": "AoA", "use_multi_head": 2, "num_heads": 4,
             "multi_head_scale": 1, "mean_feats": 1, "ctx_drop": 1, "dropout_aoa": 0.3},
     ("zip", "legacy"), "all"),
    ("plain", {"refine": 0, "refine_aoa": 0, "use_ff": 0, "decoder_type": "AoA", "use_multi_head": 1, "num_heads": 4,
               "multi_head_scale": 1, "mean_feats": 0, "ctx_drop": 0, "dropout_aoa": 0.3},
     ("zip",), "few"),
    ("lstm", {"refine": 1, "refine_aoa": 0, "use_ff": 0, "decoder_type": "LSTM", "use_multi_head": 2, "num_heads": 4,
              "multi_head_scale": 2, "mean_feats": 1, "ctx_drop": 1, "dropout_aoa": 0.3, "out_res": 1},
     ("legacy",), "few"),
]

# Offsets chosen so that no image's decoding is the bare end token (the tool asserts it).
MODEL_SEEDS = {"aoa": 400, "plain": 100, "lstm": 200}

# name, beam_size, max_length, length_penalty, remove_bad_endings, suppress_UNK, same_regions
CASES = [
    ("greedy", 1, 16, "", 0, 1, False),
    ("greedy_bad_endings", 1, 16, "", 1, 1, False),
    ("greedy_short", 1, 4, "", 0, 1, False),
    ("greedy_full_regions", 1, 16, "", 0, 1, True),
    ("beam3", 3, 16, "", 0, 1, False),
    ("beam5", 5, 16, "", 0, 1, False),
    ("beam3_wu", 3, 16, "wu_0.7", 0, 1, False),
    ("beam5_avg", 5, 16, "avg_1", 0, 1, False),
    ("beam3_bad_endings", 3, 16, "", 1, 1, False),
    ("beam3_short", 3, 4, "", 0, 1, False),
    ("beam3_unk_allowed", 3, 16, "", 0, 0, False),
    ("beam5_full_regions", 5, 16, "", 0, 1, True),
]
FEW_CASES = ["greedy", "greedy_short", "beam3", "beam5", "beam3_bad_endings", "beam5_full_regions"]


def build_vocab():
    words = VOCAB_OBJECTS + VOCAB_ATTRS + VOCAB_OTHER + ["UNK"]  # UNK last, as prepro_labels.py does
    return {str(i + 1): w for i, w in enumerate(words)}


def make_image(rng, regions):
    """Regions: object, attribute, salience; returns (features [regions, D], caption words)."""
    feats = np.zeros((regions, FEAT_DIM), dtype=np.float32)
    objs = rng.integers(0, OBJ_DIM, size=regions)
    attrs = rng.integers(0, ATTR_DIM, size=regions)
    sal = rng.random(regions).astype(np.float32)
    for r in range(regions):
        feats[r, objs[r]] = 1.0 + 0.3 * rng.standard_normal()
        feats[r, OBJ_DIM + attrs[r]] = 1.0 + 0.3 * rng.standard_normal()
        feats[r, OBJ_DIM + ATTR_DIM] = sal[r] * 2
        feats[r, OBJ_DIM + ATTR_DIM + 1] = r / 10.0
        feats[r, OBJ_DIM + ATTR_DIM + 2:] = 0.5 * rng.standard_normal(2)
    order = np.argsort(-sal)
    a, b = order[0], order[min(1, regions - 1)]
    words = ["a"]
    if sal[a] > 0.5:
        words.append(VOCAB_ATTRS[attrs[a]])
    words.append(VOCAB_OBJECTS[objs[a]])
    if regions >= 4:
        words += ["is", "sitting" if objs[a] % 2 == 0 else "standing"]
    if regions >= 2:
        rel = ["on", "near", "with", "in"][(objs[a] + objs[b]) % 4]
        words += [rel, "the", VOCAB_OBJECTS[objs[b]]]
    if regions >= 7:
        c = order[2]
        words += ["and", "a", VOCAB_ATTRS[attrs[c]], VOCAB_OBJECTS[objs[c]]]
    # Noisy references, as in COCO: some captions stop after "on the" or "a" (so that ending after a
    # bad word has probability, which remove_bad_endings forbids), some hold an unknown word (so that
    # suppress_UNK has something to suppress).
    if len(words) > 4 and rng.random() < 0.2:
        cut = [j for j, w in enumerate(words[2:], 2) if w in ("the", "a", "on", "is")]
        if cut:
            words = words[:cut[rng.integers(0, len(cut))] + 1]
    if rng.random() < 0.2:
        words[rng.integers(1, len(words))] = "UNK"
    return feats, words


def make_opt(upstream_opts, vocab, model_id, options, args):
    saved = sys.argv
    sys.argv = ["train.py", "--caption_model", "aoa", "--id", model_id,
                "--input_json", "data/cocotalk.json", "--input_fc_dir", "data/cocobu_fc",
                "--input_att_dir", "data/cocobu_att", "--max_epochs", "1", "--learning_rate", "0.001"]
    try:
        opt = upstream_opts.parse_opt()
    finally:
        sys.argv = saved
    opt.vocab_size = len(vocab)
    opt.seq_length = 16
    opt.att_feat_size = FEAT_DIM
    opt.fc_feat_size = FEAT_DIM
    opt.rnn_size = args.rnn_size
    opt.input_encoding_size = args.encoding_size  # differs from rnn_size, so a reader mixing them fails
    opt.att_hid_size = args.att_hid_size
    opt.num_layers = 2
    for key, value in options.items():  # what configs/aoa.yml sets through --cfg
        setattr(opt, key, value)
    return opt


def pad_batch(images, torch):
    """Zero-padded att feats and masks as dataloader.collate_func builds them (masks None if all full),
    and fc = each image's region mean (numpy's float32 mean(0), what cocobu_fc holds)."""
    max_r = max(f.shape[0] for f in images)
    att = np.zeros((len(images), max_r, FEAT_DIM), dtype=np.float32)
    mask = np.zeros((len(images), max_r), dtype=np.float32)
    for i, f in enumerate(images):
        att[i, :f.shape[0]] = f
        mask[i, :f.shape[0]] = 1
    fc = np.stack([f.mean(0) for f in images]).astype(np.float32)
    mask_t = None if mask.sum() == mask.size else torch.from_numpy(mask)
    return torch.from_numpy(fc), torch.from_numpy(att), mask_t


def encode_words(words, word_to_ix, length):
    seq = np.zeros(length + 2, dtype=np.int64)
    for j, w in enumerate(words[:length]):
        seq[j + 1] = word_to_ix[w]
    return seq


def train(model, vocab, args, torch, rng):
    word_to_ix = {w: int(i) for i, w in vocab.items()}
    model.train()
    optim = torch.optim.Adam(model.parameters(), lr=args.lr)
    for it in range(args.iterations):
        counts = rng.integers(1, 11, size=args.batch)
        data = [make_image(rng, int(k)) for k in counts]
        fc, att, mask = pad_batch([d[0] for d in data], torch)
        labels = torch.from_numpy(np.stack([encode_words(d[1], word_to_ix, 16) for d in data]))
        out = model(fc, att, labels[:, :-1], mask)
        target = labels[:, 1:]
        lengths = (target > 0).sum(1) + 1  # every word and the end token
        masks = (torch.arange(target.shape[1])[None, :] < lengths[:, None]).float()
        loss = -(out.gather(2, target.unsqueeze(2)).squeeze(2) * masks).sum() / masks.sum()
        optim.zero_grad()
        loss.backward()
        optim.step()
        if it % 100 == 0 or it == args.iterations - 1:
            print(f"iter {it}: loss {loss.item():.3f}", file=sys.stderr)
    model.eval()


@contextlib.contextmanager
def uint8_masks_as_bool(torch, enabled):
    """Greedy `remove_bad_endings` in AttModel._sample indexes with `torch.from_numpy(x.astype('uint8'))`.
    torch 1.x read a uint8 index as a mask (with a deprecation warning); torch 2 refuses it. While
    enabled, uint8 arrays become bool tensors, which is the meaning upstream's code had when written."""
    if not enabled:
        yield
        return
    original = torch.from_numpy

    def from_numpy(array):
        tensor = original(array)
        return tensor.bool() if tensor.dtype == torch.uint8 else tensor

    torch.from_numpy = from_numpy
    try:
        yield
    finally:
        torch.from_numpy = original


class AttentionProbe:
    """A forward hook on the decoder's attention module (`model.core.attention`): per call, the
    weights over the regions [B, K], averaged over heads when multi-head."""

    def __init__(self, module, torch, F):
        self.calls = []
        self.torch = torch
        self.F = F
        self.handle = module.register_forward_hook(self.hook)

    def hook(self, module, inputs, output):
        if hasattr(module, "h"):  # MultiHeadedDotAttention: p_attn [B, h, 1, K]
            self.calls.append(module.attn.detach()[:, :, 0, :].mean(1).clone())
            return
        # AttModel.Attention keeps no weights: its forward's lines up to the weights, on its inputs.
        h, att_feats, p_att_feats, att_masks = inputs
        att_size = att_feats.numel() // att_feats.size(0) // att_feats.size(-1)
        att = p_att_feats.view(-1, att_size, module.att_hid_size)
        att_h = module.h2att(h).unsqueeze(1).expand_as(att)
        dot = module.alpha_net(self.torch.tanh(att + att_h).view(-1, module.att_hid_size)).view(-1, att_size)
        weight = self.F.softmax(dot, dim=1)
        if att_masks is not None:
            weight = weight * att_masks.view(-1, att_size).to(weight)
            weight = weight / weight.sum(1, keepdim=True)
        self.calls.append(weight.detach().clone())

    def remove(self):
        self.handle.remove()


def chosen_attention(model, fc, att, mask, seqs, torch, F):
    """The decoder's attention of every word of each chosen caption: the caption re-run from the zero
    state through get_logprobs_state, image by image, on the batch's prepared features."""
    with torch.no_grad():
        p_fc, p_att, pp_att, p_mask = model._prepare_feature(fc, att, mask)
        probe = AttentionProbe(model.core.attention, torch, F)
        try:
            result = []
            for i, seq in enumerate(seqs):
                probe.calls.clear()
                state = model.init_hidden(1)
                for t in range(len(seq)):
                    it = torch.tensor([0 if t == 0 else seq[t - 1]], dtype=torch.long)
                    _, state = model.get_logprobs_state(it, p_fc[i:i + 1], p_att[i:i + 1], pp_att[i:i + 1],
                                                        None if p_mask is None else p_mask[i:i + 1], state)
                result.append([c[0] for c in probe.calls])
            return result
        finally:
            probe.remove()


def as_float32(x):
    """A float32 value as the shortest decimal that reads back as the same float32 (exact, and short)."""
    return float(str(np.float32(x)))


def run_case(model, name, beam, max_len, penalty, bad_endings, suppress, fc, att, mask, counts, ids, vocab,
             torch, F, misc):
    model.seq_length = max_len
    opt = {"beam_size": beam, "sample_method": "greedy", "max_length": max_len, "length_penalty": penalty,
           "remove_bad_endings": bad_endings, "suppress_UNK": suppress, "sample_n": 1, "group_size": 1,
           "temperature": 1.0, "decoding_constraint": 0, "block_trigrams": 0}
    os.environ["REMOVE_BAD_ENDINGS"] = str(bad_endings)  # as eval_split does
    probe = AttentionProbe(model.core.attention, torch, F) if beam == 1 else None
    with torch.no_grad(), uint8_masks_as_bool(torch, enabled=bool(bad_endings) and beam == 1):
        seq, seq_logprobs = model(fc, att, mask, opt=opt, mode="sample")
    if probe:
        probe.remove()
    sents = misc.decode_sequence(vocab, seq)
    seqs = []
    for row in seq.tolist():
        words = []
        for ix in row:
            if ix == 0:
                break
            words.append(ix)
        seqs.append(words)
    attention = chosen_attention(model, fc, att, mask, seqs, torch, F)
    if probe:  # greedy: call t is the step that produced word t, for every image still running
        for i, s in enumerate(seqs):
            for t in range(len(s)):
                diff = (probe.calls[t][i] - attention[i][t]).abs().max().item()
                assert diff < 1e-6, f"{name}: image {i} word {t}: decode-time attention differs by {diff}"
    images = []
    min_gap = float("inf")
    for i, s in enumerate(seqs):
        k = counts[i]
        lp = seq_logprobs[i]
        token_lp = [lp[t, s[t]].item() for t in range(len(s))]
        ended = len(s) < max_len
        if ended:
            token_lp.append(lp[len(s), 0].item())
        for t in range(len(s)):  # padded regions get exactly zero weight in upstream
            assert float(attention[i][t][k:].abs().sum()) == 0.0, f"{name}: image {i}: weight on padding"
        entry = {"image_id": ids[i], "num_regions": int(k), "tokens": s, "caption": sents[i],
                 "ended": ended, "token_log_probs": [as_float32(x) for x in token_lp],
                 "log_prob": float(sum(token_lp)),
                 "attention": [[as_float32(x) for x in attention[i][t][:k].tolist()] for t in range(len(s))]}
        if beam == 1:
            gaps = []
            for t in range(len(s) + (1 if ended else 0)):
                top = torch.topk(lp[t], 2).values
                gaps.append(float(top[0] - top[1]))
            entry["min_top2_gap"] = min(gaps) if gaps else None
            if gaps:
                min_gap = min(min_gap, min(gaps))
        else:
            done = model.done_beams[i]
            entry["score"] = done[0]["p"]
            if len(done) > 1:
                entry["runner_up_gap"] = done[0]["p"] - done[1]["p"]
                min_gap = min(min_gap, entry["runner_up_gap"])
        images.append(entry)
    return {"name": name, "beam_size": beam, "max_length": max_len, "length_penalty": penalty,
            "remove_bad_endings": bad_endings, "suppress_unk": suppress, "images": images}, min_gap


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", default="/work/upstream-sc-aoa")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "Tests", "CaptionerTests",
                                                      "Goldens", "aoa"))
    parser.add_argument("--rnn-size", type=int, default=16)
    parser.add_argument("--encoding-size", type=int, default=12)
    parser.add_argument("--att-hid-size", type=int, default=12)
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--model", action="append", choices=[m[0] for m in MODELS],
                        help="make only this model's files (repeatable; default all). Runs for different models may "
                             "go in parallel: each writes its own <model>/ files, and manifest.json is rebuilt from "
                             "every <model>/cases.json present, so the result equals one run for all")
    args = parser.parse_args()

    sys.path.insert(0, args.upstream)
    import torch
    import torch.nn.functional as F
    import captioning.models as models
    import captioning.utils.misc as misc
    import captioning.utils.opts as upstream_opts
    import h5py

    torch.set_num_threads(1)
    vocab = build_vocab()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    # The images every model decodes: region counts 1...10 (padded batches), four images of strong
    # noise unlike anything in training (their captions end oddly, which exercises the bad-endings
    # rule), and a batch whose images all have 6 regions (no masks).
    rng = np.random.default_rng(args.seed)
    counts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 3, 8]
    feats = [make_image(rng, k)[0] for k in counts]
    for k in (4, 9, 2, 7):
        counts.append(k)
        feats.append((3.0 * rng.standard_normal((k, FEAT_DIM))).astype(np.float32))
    ids = [str(100 + i) for i in range(len(counts))]
    fc, att, mask = pad_batch(feats, torch)
    full_feats = [make_image(rng, 6)[0] for _ in range(5)]
    full_fc, full_att, full_mask = pad_batch(full_feats, torch)
    assert full_mask is None
    full_ids = [str(200 + i) for i in range(5)]
    for name, data, regions, image_ids in (("features.h5", att, counts, ids), ("features-full.h5", full_att, [6] * 5, full_ids)):
        partial = os.path.join(out, f".{name}.{os.getpid()}")  # the same bytes from every run; replaced atomically
        with h5py.File(partial, "w") as f:
            f.create_dataset("features", data=data.numpy())
            f.create_dataset("num_regions", data=np.array(regions, dtype=np.int32))
            f.create_dataset("image_ids", data=np.array([int(x) for x in image_ids], dtype=np.int64))
        os.replace(partial, os.path.join(out, name))

    for model_name, options, forms, which in MODELS:
        if args.model and model_name not in args.model:
            continue
        manifest_cases = []
        seed = args.seed + MODEL_SEEDS[model_name]
        torch.manual_seed(seed)
        random.seed(seed)
        train_rng = np.random.default_rng(seed)
        opt = make_opt(upstream_opts, vocab, model_name, options, args)
        opt.vocab = vocab
        model = models.setup(opt)
        del opt.vocab
        train(model, vocab, args, torch, train_rng)
        state = model.state_dict()
        infos = {"opt": opt, "vocab": vocab, "iter": args.iterations, "epoch": 1,
                 "loader_state_dict": {"train": {"index_list": [], "iter_counter": 0}},
                 "best_val_score": np.float64(-1.0)}
        saved = []
        for form in forms:
            folder = os.path.join(out, model_name, "log_" + form)
            os.makedirs(folder, exist_ok=True)
            model_file, infos_file = (("model-best.pth", f"infos_{model_name}-best.pkl") if form == "zip"
                                      else ("model.pth", f"infos_{model_name}.pkl"))
            torch.save(state, os.path.join(folder, model_file), _use_new_zipfile_serialization=(form == "zip"))
            with open(os.path.join(folder, infos_file), "wb") as f:
                pickle.dump(infos, f, protocol=2)  # misc.pickle_dump
            saved.append(f"{model_name}/log_{form}/{model_file}")
        model_entry = {"name": model_name, "checkpoints": saved, "options": options,
                       "rnn_size": args.rnn_size, "input_encoding_size": args.encoding_size,
                       "att_hid_size": args.att_hid_size, "vocab_size": len(vocab),
                       "att_feat_size": FEAT_DIM, "tensors": len(state),
                       "training_iterations": args.iterations, "seed": seed}
        captions = {}
        for name, beam, max_len, penalty, bad, suppress, same in CASES:
            if which == "few" and name not in FEW_CASES:
                continue
            if same:
                result, gap = run_case(model, name, beam, max_len, penalty, bad, suppress, full_fc, full_att, None,
                                       [6] * 5, full_ids, vocab, torch, F, misc)
                features = "features-full.h5"
            else:
                result, gap = run_case(model, name, beam, max_len, penalty, bad, suppress, fc, att, mask, counts, ids,
                                       vocab, torch, F, misc)
                features = "features.h5"
            result["model"] = model_name
            result["features"] = features
            expected = f"{model_name}_{name}.expected.json"
            with open(os.path.join(out, expected), "w") as f:
                json.dump(result, f, indent=None, separators=(",", ":"))
            captions[name] = [(im["tokens"], im["caption"]) for im in result["images"]]
            manifest_cases.append({"name": f"{model_name}_{name}", "model": model_name, "checkpoints": saved,
                                   "features": features, "expected": expected, "beam_size": beam,
                                   "max_length": max_len, "length_penalty": penalty, "remove_bad_endings": bad,
                                   "suppress_unk": suppress, "min_gap": gap})
            first_words = [len(im["tokens"]) > 0 for im in result["images"]]
            assert all(first_words), f"{model_name} {name}: an empty caption (the end token won at the first step)"
            print(f"{model_name} {name}: min gap {gap:.3g}; " + " | ".join(im["caption"] for im in result["images"][:4]),
                  file=sys.stderr)
        # Which options change which captions: proof that each case exercises what it names.
        base = {"greedy_bad_endings": "greedy", "beam3_bad_endings": "beam3", "beam3_unk_allowed": "beam3",
                "beam3_wu": "beam3", "beam5_avg": "beam5", "beam5": "beam3", "beam3": "greedy"}
        for case in manifest_cases:
            short = case["name"][len(model_name) + 1:]
            if case["model"] == model_name and short in base and base[short] in captions:
                other = base[short]
                changed = sum(1 for a, b in zip(captions[short], captions[other]) if a != b)
                case["differs_from"] = {"case": f"{model_name}_{other}", "images": changed}
                print(f"{case['name']} differs from {other} on {changed} images", file=sys.stderr)
        with open(os.path.join(out, model_name, "cases.json"), "w") as f:
            json.dump({"model": model_entry, "cases": manifest_cases}, f, indent=1)
        write_manifest(out, torch.__version__)


def write_manifest(out, torch_version):
    """manifest.json from every model's cases.json present, in MODELS order."""
    models, cases = [], []
    for name, _, _, _ in MODELS:
        path = os.path.join(out, name, "cases.json")
        if os.path.exists(path):
            with open(path) as f:
                part = json.load(f)
            models.append(part["model"])
            cases += part["cases"]
    manifest = {"format": "nightcap-aoa-goldens", "version": 1, "generator": "tools/make_aoa_goldens.py",
                "upstream": "ruotianluo/self-critical.pytorch (captioning/models/AoAModel.py)",
                "torch": torch_version, "models": models,
                "attention": "the decoder's attention over the refined regions (model.core.attention), averaged over heads",
                "min_gap": min((c["min_gap"] for c in cases), default=None), "cases": cases}
    partial = os.path.join(out, f".manifest.json.{os.getpid()}")
    with open(partial, "w") as f:
        json.dump(manifest, f, indent=1)
    os.replace(partial, os.path.join(out, "manifest.json"))


if __name__ == "__main__":
    main()
