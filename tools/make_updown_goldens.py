#!/usr/bin/env python3
"""Goldens for nightcap's UpDown family, made with self-critical.pytorch's own code.

  python3 tools/make_updown_goldens.py --upstream /path/to/self-critical.pytorch \
      [--out Tests/CaptionerTests/Goldens/updown]

Upstream's `captioning` package is imported from --upstream (a checkout of
ruotianluo/self-critical.pytorch; nothing of it is copied here).  The tool

  1. trains two SMALL UpDown models (use_bn 0 and use_bn 2) for a few hundred steps on
     synthetic region features whose captions depend on the regions (so attention matters and
     captions are not trivial; some captions hold UNK and end in "bad endings");
  2. saves them as upstream does: `torch.save(model.state_dict())` in the zip format and in the
     legacy format (`_use_new_zipfile_serialization=False`), beside infos pickles shaped like
     upstream's (`opt` an argparse.Namespace from upstream's parse_opt, `vocab` {'1': word},
     numpy best_val_score...) in protocol 2 and protocol 0;
  3. also writes every tensor to an HDF5 file and the options/vocabulary to JSON (readable
     without a pickle reader);
  4. decodes one padded batch of images with different region counts through upstream's
     `eval_utils.eval_split` (the text tools/eval.py prints) and through the same
     `model(..., mode='sample')` call it makes (tokens and log-probabilities), for greedy, beam
     2/3/5, length penalties, remove_bad_endings, suppress_UNK on/off and short max lengths;
  5. records every word's attention weights: the final sequences are replayed through upstream's
     `get_logprobs_state` on the same padded batch, and the weights upstream's Attention module
     hands to its `torch.bmm` are captured;
  6. reports near-ties: the smallest margin of every greedy argmax and of every beam selection
     (the beam_size-th against the next candidate, captured from beam_step's `torch.sort`), and
     of the final choice among finished beams.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import pickle
import sys
import tempfile

import h5py
import numpy as np
import torch

WORDS = ["a", "the", "on", "with", "in", "of", "near", "is", "man", "woman", "dog", "cat", "red", "blue",
         "green", "small", "sitting", "standing", "running", "table", "grass", "street", "bench", "and",
         "two", "UNK"]  # UNK last, as prepro_labels.py appends it
OBJECTS = ["man", "woman", "dog", "cat"]
COLORS = ["red", "blue", "green", "small"]
PLACES = ["table", "grass", "street", "bench"]
ACTIONS = ["sitting", "standing", "running"]
D = 20  # att_feat_size = fc_feat_size
E, R, A = 24, 32, 16
TRAIN_LENGTH = 16

# Region counts of the golden batch: padding and att_masks (all different from the maximum).
GOLDEN_REGIONS = [1, 2, 3, 4, 5, 6, 7, 9, 10, 12]

# name, model, beam_size, max_length, length_penalty, remove_bad_endings, suppress_UNK
CASES = [
    ("greedy", "plain", 1, 20, "", 0, 1),
    # No greedy case with remove_bad_endings: upstream's _sample indexes with a uint8 mask there,
    # which torch >= 2 rejects ("masked_fill_ only supports boolean masks").
    ("greedy_max4", "plain", 1, 4, "", 0, 1),
    ("beam2", "plain", 2, 20, "", 0, 1),
    ("beam3", "plain", 3, 20, "", 0, 1),
    ("beam5", "plain", 5, 20, "", 0, 1),
    ("beam3_wu07", "plain", 3, 20, "wu_0.7", 0, 1),
    ("beam5_avg", "plain", 5, 20, "avg_0", 0, 1),
    ("beam3_rbe_max5", "plain", 3, 5, "", 1, 1),
    ("beam5_rbe_max6", "plain", 5, 6, "", 1, 1),
    ("beam3_unk", "plain", 3, 20, "", 0, 0),
    ("beam5_max4_wu", "plain", 5, 4, "wu_1.5", 0, 1),
    ("unk_greedy", "unk", 1, 20, "", 0, 1),
    ("unk_beam3", "unk", 3, 20, "", 0, 1),
    ("unk_beam3_nosuppress", "unk", 3, 20, "", 0, 0),
    ("bn_greedy", "bn", 1, 20, "", 0, 1),
    ("bn_beam3", "bn", 3, 20, "", 0, 1),
]


def import_upstream(path: str):
    sys.path.insert(0, os.path.abspath(path))
    import captioning.models as models  # noqa: E402
    att_model = sys.modules["captioning.models.AttModel"]  # the module (the package re-exports a class of that name)
    import captioning.utils.eval_utils as eval_utils  # noqa: E402
    import captioning.utils.misc as misc  # noqa: E402
    import captioning.utils.opts as opts  # noqa: E402
    return models, att_model, eval_utils, misc, opts


class World:
    """Synthetic images: a subject region (object + colour), a place region, an action hint in the rest."""

    def __init__(self, seed: int):
        g = np.random.RandomState(seed)
        self.g = g
        self.obj = g.normal(0, 1, (len(OBJECTS), D)).astype(np.float32)
        self.col = g.normal(0, 1, (len(COLORS), D)).astype(np.float32)
        self.place = g.normal(0, 1, (len(PLACES), D)).astype(np.float32)
        self.act = g.normal(0, 1, (len(ACTIONS), D)).astype(np.float32)

    def image(self, regions: int):
        g = self.g
        o, c, p, a = g.randint(len(OBJECTS)), g.randint(len(COLORS)), g.randint(len(PLACES)), g.randint(len(ACTIONS))
        att = g.normal(0, 0.6, (regions, D)).astype(np.float32)
        att += 0.5 * self.act[a]
        order = g.permutation(regions)
        att[order[0]] += 1.5 * (self.obj[o] + 0.7 * self.col[c])
        if regions > 1:
            att[order[1]] += 1.5 * self.place[p]
        att = np.maximum(att, 0).astype(np.float32)  # bottom-up features are non-negative
        return att, (o, c, p, a)

    def caption(self, facts):
        g = self.g
        o, c, p, a = facts
        obj = OBJECTS[o] if g.rand() > 0.15 else "UNK"
        templates = [
            f"a {COLORS[c]} {obj} {ACTIONS[a]} on the {PLACES[p]}",
            f"a {obj} {ACTIONS[a]} near a {PLACES[p]}",
            f"the {obj} is {ACTIONS[a]} in the {PLACES[p]}",
            f"two {obj} and a {PLACES[p]}",
            f"a {COLORS[c]} {obj} with a",  # a bad ending, on purpose
        ]
        return templates[g.choice(len(templates), p=[0.35, 0.25, 0.2, 0.1, 0.1])].split()


def make_opt(opts, use_bn: int):
    saved = sys.argv
    sys.argv = [saved[0], "--caption_model", "updown", "--input_encoding_size", str(E), "--rnn_size", str(R),
                "--att_hid_size", str(A), "--fc_feat_size", str(D), "--att_feat_size", str(D),
                "--input_fc_dir", "data/cocobu_fc", "--input_att_dir", "data/cocobu_att", "--id", "small",
                "--use_bn", str(use_bn), "--max_length", str(TRAIN_LENGTH)]
    try:
        opt = opts.parse_opt()
    finally:
        sys.argv = saved
    opt.vocab_size = len(WORDS)
    opt.seq_length = TRAIN_LENGTH
    return opt


def collate(atts):
    """Zero-padded att_feats, fc (the dataloader's att.mean(0) fallback) and att_masks, as collate_func."""
    kmax = max(a.shape[0] for a in atts)
    att = np.zeros((len(atts), kmax, D), dtype=np.float32)
    masks = np.zeros((len(atts), kmax), dtype=np.float32)
    fc = np.stack([a.mean(0) for a in atts]).astype(np.float32)
    for i, a in enumerate(atts):
        att[i, : a.shape[0]] = a
        masks[i, : a.shape[0]] = 1
    m = None if masks.sum() == masks.size else torch.from_numpy(masks)
    return torch.from_numpy(fc), torch.from_numpy(att), m


def train(models, opts, use_bn: int, seed: int):
    torch.manual_seed(seed)
    world = World(seed)
    opt = make_opt(opts, use_bn)
    vocab = {str(i + 1): w for i, w in enumerate(WORDS)}
    index = {w: i + 1 for i, w in enumerate(WORDS)}
    opt.vocab = vocab
    model = models.setup(opt)
    del opt.vocab
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    for step in range(600):
        atts, labels = [], []
        for _ in range(32):
            att, facts = world.image(int(world.g.randint(1, 13)))
            atts.append(att)
            words = world.caption(facts)
            row = np.zeros(TRAIN_LENGTH + 2, dtype=np.int64)
            row[1: 1 + len(words)] = [index[w] for w in words]
            labels.append(row)
        fc, att, masks = collate(atts)
        labels = torch.from_numpy(np.stack(labels))
        out = model(fc, att, labels[:, :-1], masks)
        target = labels[:, 1:]
        valid = torch.cat([torch.ones(len(atts), 1), (target[:, :-1] > 0).float()], 1)
        nll = -out.gather(2, target.unsqueeze(2)).squeeze(2)
        loss = (nll * valid).sum() / valid.sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    return model, opt, vocab, float(loss)


class OneBatchLoader:
    """The loader interface eval_utils.eval_split uses, serving one batch."""

    def __init__(self, fc, att, masks, ids):
        self.data = {"fc_feats": fc, "att_feats": att, "att_masks": masks, "labels": None, "masks": None,
                     "infos": [{"id": i, "file_path": f"{i}.jpg"} for i in ids],
                     "bounds": {"it_pos_now": len(ids), "it_max": len(ids), "wrapped": True}}

    def reset_iterator(self, split):
        pass

    def get_batch(self, split):
        return self.data


@contextlib.contextmanager
def capture_attention(att_model, sink):
    """Records the attention weights upstream's Attention.forward passes to torch.bmm."""
    original_forward = att_model.Attention.forward
    original_bmm = torch.bmm

    def forward(self, *args, **kwargs):
        def bmm(weight, feats, *rest, **kw):
            sink.append(weight.squeeze(1).detach().clone())
            return original_bmm(weight, feats, *rest, **kw)
        torch.bmm = bmm
        try:
            return original_forward(self, *args, **kwargs)
        finally:
            torch.bmm = original_bmm

    att_model.Attention.forward = forward
    try:
        yield
    finally:
        att_model.Attention.forward = original_forward


@contextlib.contextmanager
def capture_sorts(sink):
    """Records the sorted candidate scores of every beam_step (its torch.sort call)."""
    original = torch.sort

    def sort(*args, **kwargs):
        result = original(*args, **kwargs)
        sink.append(result[0].detach().clone())
        return result
    torch.sort = sort
    try:
        yield
    finally:
        torch.sort = original


def eval_kwargs_for(opts, infos_opt, beam, max_length, penalty, rbe, unk, tmp):
    """The options tools/eval.py hands to eval_split: eval's own defaults, then every infos key eval lacks."""
    parser = argparse.ArgumentParser()
    opts.add_eval_options(parser)
    opts.add_diversity_opts(parser)
    args = ["--beam_size", str(beam), "--max_length", str(max_length), "--remove_bad_endings", str(rbe),
            "--suppress_UNK", str(unk), "--language_eval", "0", "--verbose_loss", "0", "--dump_images", "0", "--verbose_beam", "0", "--id", "golden"]
    if penalty:
        args += ["--length_penalty", penalty]
    opt = parser.parse_args(args)
    for k, v in vars(infos_opt).items():
        if k not in vars(opt):
            vars(opt).update({k: v})
    kwargs = vars(opt)
    kwargs["dataset"] = "synthetic"
    kwargs["verbose"] = False  # tools/eval.py's own options
    kwargs["device"] = "cpu"
    return kwargs


def decode_case(model, att_model, eval_utils, misc, opts, infos_opt, vocab, batch, case, tmp):
    name, _, beam, max_length, penalty, rbe, unk = case
    fc, att, masks, ids = batch
    kwargs = eval_kwargs_for(opts, infos_opt, beam, max_length, penalty, rbe, unk, tmp)
    model.seq_length = max_length  # what models.setup(opt) makes of eval's max_length
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            _, predictions, _ = eval_utils.eval_split(model, None, OneBatchLoader(fc, att, masks, ids), kwargs)
    finally:
        os.chdir(cwd)
    texts = [p["caption"] for p in predictions]
    model.eval()  # eval_split leaves the model in training mode

    # The call eval_split makes, for tokens and log-probabilities (and the beam margins).
    sorts = []
    sample_opt = dict(kwargs)
    sample_opt["sample_n"] = 1
    os.environ["REMOVE_BAD_ENDINGS"] = str(rbe)
    with torch.no_grad(), capture_sorts(sorts):
        seq, seq_logprobs = model(fc, att, masks, opt=sample_opt, mode="sample")
    again = misc.decode_sequence(model.vocab, seq)
    assert again == texts, (again, texts)

    n = fc.shape[0]
    images = []
    min_margin = float("inf")
    margins = []
    lengths = []
    for i in range(n):
        toks = seq[i].tolist()
        length = toks.index(0) if 0 in toks else len(toks)
        ended = length < max_length
        words_lp = [float(seq_logprobs[i, t, toks[t]]) for t in range(length)]
        if ended:
            words_lp.append(float(seq_logprobs[i, length, 0]))
        lengths.append(length + (1 if ended else 0))
        entry = {"image_id": ids[i], "regions": int(masks[i].sum()) if masks is not None else att.shape[1],
                 "tokens": toks[:length], "caption": texts[i], "ended": ended, "word_log_probs": words_lp}
        if beam > 1:
            done = model.done_beams[i]
            entry["score"] = float(done[0]["p"])
            if len(done) > 1:
                gap = float(done[0]["p"]) - float(done[1]["p"])
                if not torch.equal(done[0]["seq"], done[1]["seq"]):
                    margins.append(("final", ids[i], gap))
        else:
            lp = seq_logprobs[i]
            for t in range(length + (1 if ended else 0)):
                top = torch.topk(lp[t], 2).values
                margins.append(("step %d" % t, ids[i], float(top[0] - top[1])))
        images.append(entry)
    for t, ys in enumerate(sorts):
        if beam <= 1 or ys.dim() != 2 or ys.shape[0] != n:
            continue
        for i in range(n):
            kth, nxt = float(ys[i, beam - 1]), float(ys[i, beam])
            if kth > -500:  # among live candidates; finished beams are pushed down by 1000
                margins.append(("beam step %d" % t, ids[i], kth - nxt))

    # Attention of every word: replay each final sequence on the same padded batch.
    steps = max(lengths)
    inputs = torch.zeros(n, steps, dtype=torch.long)
    for i, e in enumerate(images):
        inputs[i, 1: 1 + len(e["tokens"])] = torch.tensor(e["tokens"][: steps - 1], dtype=torch.long)
    weights = []
    with torch.no_grad(), capture_attention(att_model, weights):
        p_fc, p_att, pp_att, p_masks = model._prepare_feature(fc, att, masks)
        state = model.init_hidden(n)
        replay_lp = []
        for t in range(steps):
            lp, state = model.get_logprobs_state(inputs[:, t], p_fc, p_att, pp_att, p_masks, state)
            replay_lp.append(lp)
    for i, e in enumerate(images):
        k = e["regions"]
        e["attention"] = [[float(x) for x in weights[t][i, :k]] for t in range(lengths[i])]
        for t in range(lengths[i]):
            tok = e["tokens"][t] if t < len(e["tokens"]) else 0
            assert abs(float(replay_lp[t][i, tok]) - e["word_log_probs"][t]) < 1e-4, (name, i, t)
        total = np.float32(0)
        for x in e["word_log_probs"]:
            total = np.float32(total + np.float32(x))
        e["log_prob"] = float(total)
    for _, _, gap in margins:
        min_margin = min(min_margin, gap)
    near = sorted(margins, key=lambda m: m[2])[:3]
    return {"name": name, "beam_size": beam, "max_length": max_length, "length_penalty": penalty,
            "remove_bad_endings": rbe, "suppress_unk": unk, "images": images,
            "min_margin": min_margin, "nearest": [{"where": w, "image_id": i, "margin": g} for w, i, g in near]}


def save_model(model, opt, vocab, folder, stem, out, legacy, protocol, best):
    path = os.path.join(out, folder)
    os.makedirs(path, exist_ok=True)
    suffix = "-best" if best else ""
    model_path = os.path.join(path, f"model{suffix}.pth")
    if legacy:
        torch.save(model.state_dict(), model_path, _use_new_zipfile_serialization=False)
    else:
        torch.save(model.state_dict(), model_path)
    infos = {"iter": 600, "epoch": 3, "vocab": vocab, "opt": opt,
             "loader_state_dict": {"train": {"index_list": [3, 1, 2], "iter_counter": 600}},
             "best_val_score": np.float64(0.5)}
    with open(os.path.join(path, f"infos_{stem}{suffix}.pkl"), "wb") as f:
        pickle.dump(infos, f, protocol=protocol)
    return os.path.relpath(model_path, out)


def dump_plain(model, opt, vocab, out, stem):
    """The tensors as HDF5 datasets named by state-dict key, options and vocabulary as JSON."""
    with h5py.File(os.path.join(out, f"{stem}.tensors.h5"), "w") as f:
        for key, value in model.state_dict().items():
            f.create_dataset(key, data=value.detach().numpy().astype(np.float32))

    def plain(v):
        if isinstance(v, (bool, int, float, str)) or v is None:
            return v
        return repr(v)
    with open(os.path.join(out, f"{stem}.infos.json"), "w") as f:
        json.dump({"options": {k: plain(v) for k, v in sorted(vars(opt).items())}, "vocab": vocab}, f, indent=1,
                  sort_keys=True)


def write_features(out, atts, ids):
    kmax = max(a.shape[0] for a in atts)
    feats = np.zeros((len(atts), kmax, D), dtype=np.float32)
    for i, a in enumerate(atts):
        feats[i, : a.shape[0]] = a
    with h5py.File(os.path.join(out, "features.h5"), "w") as f:
        f.create_dataset("features", data=feats)
        f.create_dataset("num_regions", data=np.array([a.shape[0] for a in atts], dtype=np.int32))
        f.create_dataset("image_ids", data=np.array(ids, dtype=np.int64))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", default="/work/upstream/self-critical.pytorch")
    parser.add_argument("--out", default="Tests/CaptionerTests/Goldens/updown")
    parser.add_argument("--reuse", action="store_true",
                        help="load the models this tool saved before (log_zip, log_bn) instead of training them again")
    args = parser.parse_args()
    torch.set_num_threads(1)
    models, att_model, eval_utils, misc, opts = import_upstream(args.upstream)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    trained = {}
    for name, use_bn, seed, folder in [("plain", 0, 7, "log_zip"), ("bn", 2, 8, "log_bn")]:
        if args.reuse:
            stem = "small" if name == "plain" else "bn"
            with open(os.path.join(out, folder, f"infos_{stem}-best.pkl"), "rb") as f:
                infos = pickle.load(f)
            opt, vocab = infos["opt"], infos["vocab"]
            opt.vocab = vocab
            model = models.setup(opt)
            del opt.vocab
            model.load_state_dict(torch.load(os.path.join(out, folder, "model-best.pth"), map_location="cpu"))
            model.eval()
        else:
            model, opt, vocab, loss = train(models, opts, use_bn, seed)
            print(f"trained {name}: final loss {loss:.3f}", file=sys.stderr)
        trained[name] = (model, opt, vocab)

    # A variant of the plain model whose UNK logit is raised, so that UNK wins often: greedy emits
    # it (upstream's greedy never suppresses it) and suppress_UNK changes beam-search captions.
    model, opt, vocab = trained["plain"]
    unk = copy.deepcopy(model)
    with torch.no_grad():
        unk.logit.bias[len(WORDS)] += 2.5
    unk.eval()
    trained["unk"] = (unk, opt, vocab)

    files = {}
    model, opt, vocab = trained["plain"]
    files["plain"] = {
        "zip": save_model(model, opt, vocab, "log_zip", "small", out, legacy=False, protocol=2, best=True),
        "legacy": save_model(model, opt, vocab, "log_legacy", "small", out, legacy=True, protocol=0, best=False),
    }
    dump_plain(model, opt, vocab, out, "plain")
    model, opt, vocab = trained["bn"]
    files["bn"] = {"zip": save_model(model, opt, vocab, "log_bn", "bn", out, legacy=False, protocol=2, best=True)}
    dump_plain(model, opt, vocab, out, "bn")
    model, opt, vocab = trained["unk"]
    files["unk"] = {"zip": save_model(model, opt, vocab, "log_unk", "unk", out, legacy=False, protocol=2, best=True)}

    world = World(99)
    atts = [world.image(k)[0] for k in GOLDEN_REGIONS]
    ids = [1000 + i for i in range(len(atts))]
    write_features(out, atts, ids)
    fc, att, masks = collate(atts)

    manifest = {"format": "nightcap-updown-goldens", "version": 1, "generator": "tools/make_updown_goldens.py",
                "upstream": "ruotianluo/self-critical.pytorch", "torch": torch.__version__,
                "features": "features.h5", "models": {}, "cases": []}
    for name, (model, opt, vocab) in trained.items():
        manifest["models"][name] = {"tensors": f"{name}.tensors.h5", "infos_json": f"{name}.infos.json",
                                    "checkpoints": files[name], "use_bn": opt.use_bn}
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            model, opt, vocab = trained[case[1]]
            result = decode_case(model, att_model, eval_utils, misc, opts, opt, vocab, (fc, att, masks, ids), case, tmp)
            result["model"] = case[1]
            with open(os.path.join(out, f"{case[0]}.expected.json"), "w") as f:
                json.dump(result, f, indent=1)
            manifest["cases"].append({"name": case[0], "model": case[1], "expected": f"{case[0]}.expected.json",
                                      "min_margin": result["min_margin"]})
            captions = "; ".join(e["caption"] for e in result["images"][:4])
            print(f"{case[0]:16s} min margin {result['min_margin']:.2e}  {captions}", file=sys.stderr)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
