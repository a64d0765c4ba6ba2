#!/usr/bin/env python3
"""Goldens for nightcap's Transformer family, made with self-critical.pytorch's own code.

Imports upstream's `captioning` package from a checkout (never copied into nightcap):
    python3 tools/make_transformer_goldens.py --upstream /path/to/self-critical.pytorch

It trains a small `TransformerModel` (caption_model `transformer`) for a short while on synthetic
region features whose captions depend on the regions (so decoding is not trivial), then writes to
Tests/CaptionerTests/Goldens/transformer/:

  log_zip/model-best.pth       torch.save(model.state_dict()) in the zip format (torch >= 1.6 default)
  log_zip/infos_tiny-best.pkl  {'opt': argparse.Namespace, 'vocab': {'1': word, ...}, 'iter', 'epoch', ...}
                               pickled with protocol 2 as upstream's misc.pickle_dump does
  log_legacy/model.pth         the same state dict, _use_new_zipfile_serialization=False (the zoo's format)
  log_legacy/infos_tiny.pkl    the same infos (upstream's names: model.pth goes with infos_<id>.pkl)
  features.h5          `features [N,R,D]` float32 (padding rows zero), `num_regions [N]`, `image_ids [N]`
  <case>.expected.json upstream's decoding of every image (see CASES)
  manifest.json        cases, margins, the tool's settings

Every case decodes the whole batch in one call of `model(fc, att, att_masks, opt=..., mode='sample')`,
as tools/eval.py -> eval_utils.eval_split does (padding masks when region counts differ, the text from
misc.decode_sequence with REMOVE_BAD_ENDINGS set like eval_split sets it).

Attention: the last decoder layer's cross-attention (`model.decoder.layers[-1].src_attn`), averaged
over heads, for every word of the chosen caption at the step that produced it. It is captured by a
forward hook on upstream's MultiHeadedAttention module (its `attn` attribute is `p_attn`), running
upstream's decoder on the chosen caption's prefix: the decoder is causal, so position t's attention
is exactly the one of the step that produced word t+1. For greedy cases the tool also captures it
during decoding and checks both agree.
"""

import argparse
import contextlib
import io
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

# name, beam_size, max_length, length_penalty, remove_bad_endings, suppress_UNK, same_regions
CASES = [
    ("greedy", 1, 16, "", 0, 1, False),
    ("greedy_bad_endings", 1, 16, "", 1, 1, False),
    ("greedy_short", 1, 4, "", 0, 1, False),
    ("greedy_full_regions", 1, 16, "", 0, 1, True),
    ("beam2", 2, 16, "", 0, 1, False),
    ("beam3", 3, 16, "", 0, 1, False),
    ("beam5", 5, 16, "", 0, 1, False),
    ("beam3_wu", 3, 16, "wu_0.7", 0, 1, False),
    ("beam5_avg", 5, 16, "avg_1", 0, 1, False),
    ("beam3_bad_endings", 3, 16, "", 1, 1, False),
    ("beam3_short", 3, 4, "", 0, 1, False),
    ("beam3_short_bad_endings", 3, 4, "", 1, 1, False),
    ("greedy_short_bad_endings", 1, 4, "", 1, 1, False),
    ("beam3_unk_allowed", 3, 16, "", 0, 0, False),
    ("beam5_full_regions", 5, 16, "", 0, 1, True),
]


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


def make_opt(upstream_opts, vocab, args):
    saved = sys.argv
    sys.argv = ["train.py", "--caption_model", "transformer", "--id", "nightcap-golden",
                "--input_json", "data/cocotalk.json", "--input_att_dir", "data/cocobu_att",
                "--max_epochs", "1", "--learning_rate", "0.001"]
    try:
        opt = upstream_opts.parse_opt()
    finally:
        sys.argv = saved
    opt.vocab_size = len(vocab)
    opt.seq_length = 16
    opt.att_feat_size = FEAT_DIM
    opt.fc_feat_size = FEAT_DIM
    # The transformer's config names (configs/transformer/transformer.yml) plus the older RNN names
    # they fall back to, set to different values so that a reader using the wrong one fails.
    opt.N_enc = args.layers
    opt.N_dec = args.layers
    opt.d_model = args.d_model
    opt.d_ff = args.d_ff
    opt.num_att_heads = args.heads
    opt.dropout = 0.1
    opt.num_layers = 6
    opt.input_encoding_size = 512
    opt.rnn_size = 2048
    return opt


def pad_batch(images, torch):
    """Zero-padded att feats and masks as dataloader.collate_func builds them (masks None if all full)."""
    max_r = max(f.shape[0] for f in images)
    att = np.zeros((len(images), max_r, FEAT_DIM), dtype=np.float32)
    mask = np.zeros((len(images), max_r), dtype=np.float32)
    for i, f in enumerate(images):
        att[i, :f.shape[0]] = f
        mask[i, :f.shape[0]] = 1
    att_t = torch.from_numpy(att)
    mask_t = None if mask.sum() == mask.size else torch.from_numpy(mask)
    fc_t = torch.zeros(len(images), 0)  # use_fc is False for the transformer
    return fc_t, att_t, mask_t


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
        # Predict every word and the end token (the first 0 after the words).
        lengths = (target > 0).sum(1) + 1
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
    """A forward hook on the last decoder layer's cross-attention; keeps its `attn` (p_attn)."""

    def __init__(self, module):
        self.module = module
        self.calls = []
        self.handle = module.register_forward_hook(self.hook)

    def hook(self, module, inputs, output):
        self.calls.append(module.attn.detach().clone())

    def remove(self):
        self.handle.remove()


def chosen_attention(model, att, mask, seqs, torch, tm):
    """Head-averaged last-layer cross-attention of every word of each chosen caption."""
    with torch.no_grad():
        _, _, memory, masks = model._prepare_feature(att.new_zeros(att.shape[0], 0), att, mask)
        probe = AttentionProbe(model.model.decoder.layers[-1].src_attn)
        try:
            result = []
            for i, seq in enumerate(seqs):
                if len(seq) == 0:
                    result.append([])
                    continue
                ys = torch.tensor([[0] + seq], dtype=torch.long)  # BOS then the words; predicts words and end
                probe.calls.clear()
                model.model.decode(memory[i:i + 1], masks[i:i + 1], ys, tm.subsequent_mask(ys.size(1)))
                p = probe.calls[-1][0].mean(0)  # [T, K] averaged over heads
                result.append(p[:len(seq)])
            return result
        finally:
            probe.remove()


def run_case(model, name, beam, max_len, penalty, bad_endings, suppress, att, mask, counts, ids, vocab,
             torch, misc, tm):
    model.seq_length = max_len
    opt = {"beam_size": beam, "sample_method": "greedy", "max_length": max_len, "length_penalty": penalty,
           "remove_bad_endings": bad_endings, "suppress_UNK": suppress, "sample_n": 1, "group_size": 1,
           "temperature": 1.0, "decoding_constraint": 0, "block_trigrams": 0}
    os.environ["REMOVE_BAD_ENDINGS"] = str(bad_endings)  # as eval_split does
    fc = torch.zeros(att.shape[0], 0)
    probe = AttentionProbe(model.model.decoder.layers[-1].src_attn) if beam == 1 else None
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
    attention = chosen_attention(model, att, mask, seqs, torch, tm)
    if probe:  # greedy: step t's last position is the attention of word t+1
        for i, s in enumerate(seqs):
            for t in range(len(s)):
                during = probe.calls[t][i, :, -1, :].mean(0)
                diff = (during - attention[i][t]).abs().max().item()
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
        entry = {"image_id": ids[i], "num_regions": int(k), "tokens": s, "caption": sents[i],
                 "words": [vocab[str(x)] for x in s], "ended": ended, "token_log_probs": token_lp,
                 "log_prob": float(sum(token_lp)),
                 "attention": [[float(x) for x in attention[i][t][:k]] for t in range(len(s))]}
        # Masked regions get exactly zero weight in upstream (masked_fill -inf before the softmax).
        for t in range(len(s)):
            assert float(attention[i][t][k:].abs().sum()) == 0.0
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
            entry["n_best"] = [{"tokens": [int(x) for x in d["seq"].tolist()], "p": d["p"]} for d in done]
        images.append(entry)
    return {"name": name, "beam_size": beam, "max_length": max_len, "length_penalty": penalty,
            "remove_bad_endings": bad_endings, "suppress_unk": suppress, "images": images}, min_gap


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", default="/work/upstream/self-critical.pytorch")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "Tests", "CaptionerTests",
                                                      "Goldens", "transformer"))
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--d-model", type=int, default=32)
    parser.add_argument("--d-ff", type=int, default=64)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=600)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--images", type=int, default=14)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    sys.path.insert(0, args.upstream)
    import torch
    import captioning.models as models
    import importlib
    tm = importlib.import_module("captioning.models.TransformerModel")  # the package shadows it with the class
    import captioning.utils.misc as misc
    import captioning.utils.opts as upstream_opts
    import h5py

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    random.seed(args.seed)
    vocab = build_vocab()
    opt = make_opt(upstream_opts, vocab, args)
    opt.vocab = vocab
    model = models.setup(opt)
    del opt.vocab
    train(model, vocab, args, torch, rng)

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    state = model.state_dict()
    infos = {"opt": opt, "vocab": vocab, "iter": args.iterations, "epoch": 1,
             "loader_state_dict": {"train": {"index_list": [], "iter_counter": 0}},
             "best_val_score": np.float64(-1.0)}
    for folder, model_name, infos_name, zipped in (("log_zip", "model-best.pth", "infos_tiny-best.pkl", True),
                                                   ("log_legacy", "model.pth", "infos_tiny.pkl", False)):
        os.makedirs(os.path.join(out, folder), exist_ok=True)
        torch.save(state, os.path.join(out, folder, model_name), _use_new_zipfile_serialization=zipped)
        with open(os.path.join(out, folder, infos_name), "wb") as f:
            pickle.dump(infos, f, protocol=2)  # misc.pickle_dump

    counts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 5, 3, 8][:args.images]
    feats = [make_image(rng, k)[0] for k in counts]
    # Six images of strong noise, unlike anything in training: their captions end oddly, which
    # exercises the bad-endings rule (the manifest's `differs_from` shows it changes captions).
    for k in (4, 9, 2, 7, 5, 10):
        counts.append(k)
        feats.append((3.0 * rng.standard_normal((k, FEAT_DIM))).astype(np.float32))
    ids = [str(100 + i) for i in range(len(counts))]
    fc, att, mask = pad_batch(feats, torch)
    full_feats = [make_image(rng, 6)[0] for _ in range(5)]
    _, full_att, full_mask = pad_batch(full_feats, torch)
    assert full_mask is None
    full_ids = [str(200 + i) for i in range(5)]
    with h5py.File(os.path.join(out, "features.h5"), "w") as f:
        f.create_dataset("features", data=att.numpy())
        f.create_dataset("num_regions", data=np.array(counts, dtype=np.int32))
        f.create_dataset("image_ids", data=np.array([int(x) for x in ids], dtype=np.int64))
    with h5py.File(os.path.join(out, "features-full.h5"), "w") as f:
        f.create_dataset("features", data=full_att.numpy())
        f.create_dataset("num_regions", data=np.array([6] * 5, dtype=np.int32))
        f.create_dataset("image_ids", data=np.array([int(x) for x in full_ids], dtype=np.int64))

    manifest_cases = []
    overall_gap = float("inf")
    for name, beam, max_len, penalty, bad, suppress, same in CASES:
        if same:
            result, gap = run_case(model, name, beam, max_len, penalty, bad, suppress, full_att, None,
                                   [6] * 5, full_ids, vocab, torch, misc, tm)
            features = "features-full.h5"
        else:
            result, gap = run_case(model, name, beam, max_len, penalty, bad, suppress, att, mask, counts, ids,
                                   vocab, torch, misc, tm)
            features = "features.h5"
        result["features"] = features
        with open(os.path.join(out, f"{name}.expected.json"), "w") as f:
            json.dump(result, f, indent=None, separators=(",", ":"))
        overall_gap = min(overall_gap, gap)
        manifest_cases.append({"name": name, "features": features, "expected": f"{name}.expected.json",
                               "beam_size": beam, "max_length": max_len, "length_penalty": penalty,
                               "remove_bad_endings": bad, "suppress_unk": suppress, "min_gap": gap})
        print(f"{name}: min gap {gap:.3g}; " + " | ".join(im["caption"] for im in result["images"][:5]),
              file=sys.stderr)
    # Which options change which captions: proof that each case exercises what it names.
    base = {"greedy_bad_endings": "greedy", "greedy_short_bad_endings": "greedy_short", "beam3_bad_endings": "beam3",
            "beam3_short_bad_endings": "beam3_short", "beam3_unk_allowed": "beam3", "beam3_wu": "beam3",
            "beam5_avg": "beam5", "beam5": "beam3", "beam3": "beam2"}
    captions = {}
    for case in manifest_cases:
        with open(os.path.join(out, case["expected"])) as f:
            captions[case["name"]] = [(im["tokens"], im["caption"]) for im in json.load(f)["images"]]
    for case in manifest_cases:
        if case["name"] in base:
            other = base[case["name"]]
            changed = sum(1 for a, b in zip(captions[case["name"]], captions[other]) if a != b)
            case["differs_from"] = {"case": other, "images": changed}
            print(f"{case['name']} differs from {other} on {changed} images", file=sys.stderr)
    manifest = {"format": "nightcap-transformer-goldens", "version": 1,
                "generator": "tools/make_transformer_goldens.py",
                "upstream": "ruotianluo/self-critical.pytorch (captioning/models/TransformerModel.py)",
                "torch": torch.__version__,
                "model": {"N_enc": args.layers, "N_dec": args.layers, "d_model": args.d_model, "d_ff": args.d_ff,
                          "num_att_heads": args.heads, "vocab_size": len(vocab), "att_feat_size": FEAT_DIM,
                          "training_iterations": args.iterations, "seed": args.seed},
                "attention": "last decoder layer's cross-attention (src_attn), averaged over heads",
                "min_gap": overall_gap, "cases": manifest_cases}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
