#!/usr/bin/env python3
"""Export a PyTorch Show-Attend-and-Tell decoder to a nightcap model file (HDF5).

Two input flavours (auto-detected, or forced with --format):

  native    a state_dict (.pt/.pth) whose keys are the nightcap names
            (embedding.weight, attention.image_proj.weight, ..., lstm.weight_ih, ..., fc.bias),
            or a dict holding such a state dict under 'state_dict' / 'model' / 'decoder'.
            Optional metadata in the checkpoint dict: 'vocab' (list of words or {word: id}),
            'attention_activation', 'pad_token', 'start_token', 'end_token', 'unk_token'.
            Vocabulary otherwise from --vocab (vocab.json: list or {word: id}; vocab.txt: one
            word per line, line number = id).

  sgrvinod  a checkpoint of sgrvinod/a-PyTorch-Tutorial-to-Image-Captioning
            (dict with key 'decoder' holding the pickled DecoderWithAttention module or its
            state_dict).  Key mapping: attention.encoder_att -> attention.image_proj,
            attention.decoder_att -> attention.text_proj, attention.full_att -> attention.attn_weight,
            decode_step -> lstm; embedding, init_h, init_c, f_beta, fc kept.  Attention is relu.
            Vocabulary and token ids from --word-map WORDMAP.json ({word: id} with
            <pad>, <start>, <end>, <unk>).

Token ids can always be overridden with --pad-token/--start-token/--end-token/--unk-token,
and the activation with --activation.  --float16 stores float16 tensors.

Loading a pickled *module* (not a plain state dict) requires unpickling arbitrary objects:
only do that with checkpoints you trust.  Classes that cannot be imported (e.g. the
tutorial's models.DecoderWithAttention / Encoder, torchvision) are replaced by stubs, so
the tutorial code does not need to be installed.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import types

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nightcap_model as nm  # noqa: E402

SGRVINOD_MAP = [
    ("attention.encoder_att.", "attention.image_proj."),
    ("attention.decoder_att.", "attention.text_proj."),
    ("attention.full_att.", "attention.attn_weight."),
    ("decode_step.", "lstm."),
    ("embedding.", "embedding."),
    ("init_h.", "init_h."),
    ("init_c.", "init_c."),
    ("f_beta.", "f_beta."),
    ("fc.", "fc."),
]
SGRVINOD_EXPECTED = [
    "attention.encoder_att.weight", "attention.encoder_att.bias",
    "attention.decoder_att.weight", "attention.decoder_att.bias",
    "attention.full_att.weight", "attention.full_att.bias",
    "embedding.weight",
    "decode_step.weight_ih", "decode_step.weight_hh", "decode_step.bias_ih", "decode_step.bias_hh",
    "init_h.weight", "init_h.bias", "init_c.weight", "init_c.bias",
    "f_beta.weight", "f_beta.bias", "fc.weight", "fc.bias",
]
SGRVINOD_OPTIONAL = {"f_beta.weight", "f_beta.bias"}


class ExportError(Exception):
    pass


# ------------------------------------------------------------------ tolerant unpickling


class _StubModule(nn.Module):
    """Stand-in for classes whose code is not importable; nn.Module.__setstate__ restores
    _parameters/_buffers/_modules so state_dict() works."""


class _StubObject:
    def __init__(self, *a, **k):
        pass

    def __setstate__(self, state):
        if isinstance(state, dict):
            self.__dict__.update(state)


def _make_pickle_module():
    mod = types.ModuleType("nightcap_tolerant_pickle")
    mod.__dict__.update({k: getattr(pickle, k) for k in dir(pickle) if not k.startswith("__")})

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            try:
                return super().find_class(module, name)
            except (ImportError, AttributeError):
                # Modules (DecoderWithAttention, Attention, Encoder, torchvision nets ...)
                low = name.lower()
                if any(s in low for s in ("decoder", "encoder", "attention", "net", "model", "sequential",
                                          "block", "bottleneck", "layer")):
                    return type(name, (_StubModule,), {"__module__": module})
                return type(name, (_StubObject,), {"__module__": module})

    mod.Unpickler = Unpickler
    mod.load = lambda f, **kw: Unpickler(f, **kw).load()
    mod.loads = None
    return mod


def load_checkpoint(path: str):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e_safe:  # pickled modules / optimizers are not loadable with weights_only
        print(f"note: {os.path.basename(path)} is not a plain weights file ({type(e_safe).__name__}); "
              "falling back to full unpickling (trusted files only)", file=sys.stderr)
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_make_pickle_module())


# ------------------------------------------------------------------ helpers


def _as_state_dict(obj, what: str) -> dict:
    if isinstance(obj, nn.Module):
        return dict(obj.state_dict())
    if isinstance(obj, dict) and obj and all(isinstance(k, str) for k in obj):
        tens = {k: v for k, v in obj.items() if torch.is_tensor(v)}
        if tens:
            return tens
    raise ExportError(f"{what}: expected an nn.Module or a state_dict, got {type(obj).__name__}")


def _strip_prefix(sd: dict) -> dict:
    for pre in ("module.", "decoder.", "model."):
        if sd and all(k.startswith(pre) for k in sd):
            sd = {k[len(pre):]: v for k, v in sd.items()}
    return sd


def _check_keys(sd: dict, expected, optional, flavour):
    keys = set(sd)
    missing = [k for k in expected if k not in keys and k not in optional]
    unexpected = sorted(k for k in keys if k not in set(expected))
    opt_present = [k for k in optional if k in keys]
    problems = []
    if missing:
        problems.append("missing keys: " + ", ".join(missing))
    if unexpected:
        problems.append("unexpected keys: " + ", ".join(unexpected))
    if len(opt_present) == 1:
        problems.append(f"{opt_present[0]} present without its pair (f_beta needs weight and bias)")
    if problems:
        raise ExportError(f"not a {flavour} checkpoint this exporter understands; " + "; ".join(problems))


def map_sgrvinod(sd: dict) -> dict:
    sd = _strip_prefix(sd)
    _check_keys(sd, SGRVINOD_EXPECTED, SGRVINOD_OPTIONAL, "sgrvinod DecoderWithAttention")
    out = {}
    for k, v in sd.items():
        for a, b in SGRVINOD_MAP:
            if k.startswith(a):
                out[b + k[len(a):]] = v
                break
    return out


def map_native(sd: dict) -> dict:
    sd = _strip_prefix(sd)
    _check_keys(sd, list(nm.TENSOR_SHAPES), set(nm.OPTIONAL_TENSORS), "nightcap-native")
    return dict(sd)


def read_vocab(path: str):
    """vocab.json (list, or {word: id}) or vocab.txt (one word per line). Returns list by id."""
    if path.endswith(".json"):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return vocab_from_obj(data, path)
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def vocab_from_obj(data, what="vocab"):
    if isinstance(data, list):
        return [str(w) for w in data]
    if isinstance(data, dict):
        inv = {}
        for w, i in data.items():
            i = int(i)
            if i in inv:
                raise ExportError(f"{what}: id {i} used by both {inv[i]!r} and {w!r}")
            inv[i] = w
        n = len(inv)
        if sorted(inv) != list(range(n)):
            gaps = sorted(set(range(max(inv) + 1)) - set(inv))[:10]
            raise ExportError(f"{what}: ids are not contiguous 0..{n - 1} (missing e.g. {gaps})")
        return [inv[i] for i in range(n)]
    raise ExportError(f"{what}: expected a list of words or a {{word: id}} object")


def tokens_from_vocab(vocab, pad=None, start=None, end=None, unk=None):
    idx = {w: i for i, w in enumerate(vocab)}

    def find(names):
        for n in names:
            if n in idx:
                return idx[n]
        return None

    return {
        "pad_token": pad if pad is not None else find(["<pad>", "<PAD>", "<null>", "<NULL>"]),
        "start_token": start if start is not None else find(["<start>", "<START>", "<bos>", "<s>", "<sos>"]),
        "end_token": end if end is not None else find(["<end>", "<END>", "<eos>", "</s>"]),
        "unk_token": unk if unk is not None else find(["<unk>", "<UNK>"]),
    }


def detect_format(ckpt) -> str:
    if isinstance(ckpt, dict) and "decoder" in ckpt:
        try:
            sd = _strip_prefix(_as_state_dict(ckpt["decoder"], "checkpoint['decoder']"))
        except ExportError:
            sd = {}
        if any(k.startswith(("decode_step.", "attention.encoder_att.", "attention.decoder_att.",
                             "attention.full_att.")) for k in sd):
            return "sgrvinod"
    return "native"


def native_state(ckpt) -> dict:
    if isinstance(ckpt, nn.Module):
        return ckpt.state_dict()
    if isinstance(ckpt, dict):
        for key in ("state_dict", "model", "decoder", "model_state_dict"):
            if key in ckpt and (isinstance(ckpt[key], (dict, nn.Module))):
                return _as_state_dict(ckpt[key], f"checkpoint[{key!r}]")
        return _as_state_dict(ckpt, "checkpoint")
    raise ExportError(f"cannot interpret checkpoint of type {type(ckpt).__name__}")


def export(checkpoint: str, out: str, fmt: str = "auto", vocab_path=None, word_map=None,
           activation=None, pad=None, start=None, end=None, unk=None, float16=False) -> dict:
    ckpt = load_checkpoint(checkpoint)
    if fmt == "auto":
        fmt = detect_format(ckpt)
    meta = ckpt if isinstance(ckpt, dict) else {}
    if fmt == "sgrvinod":
        if not isinstance(ckpt, dict) or "decoder" not in ckpt:
            raise ExportError("sgrvinod checkpoint must be a dict with key 'decoder' "
                              f"(found keys: {sorted(ckpt)[:20] if isinstance(ckpt, dict) else type(ckpt).__name__})")
        state = map_sgrvinod(_as_state_dict(ckpt["decoder"], "checkpoint['decoder']"))
        default_act = "relu"
        vsrc = word_map or vocab_path
        if vsrc is None:
            raise ExportError("sgrvinod checkpoints carry no vocabulary: pass --word-map WORDMAP_*.json")
        vocab = read_vocab(vsrc)
    else:
        state = map_native(native_state(ckpt))
        default_act = meta.get("attention_activation", "tanh") if isinstance(meta, dict) else "tanh"
        if vocab_path or word_map:
            vocab = read_vocab(vocab_path or word_map)
        elif isinstance(meta, dict) and "vocab" in meta:
            vocab = vocab_from_obj(meta["vocab"], "checkpoint['vocab']")
        else:
            raise ExportError("no vocabulary: pass --vocab vocab.json|vocab.txt (checkpoint has no 'vocab')")
    ids = tokens_from_vocab(vocab, pad, start, end, unk)
    for k in nm.TOKEN_ATTRS:  # checkpoint metadata wins over vocab guessing, CLI wins over both
        if isinstance(meta, dict) and k in meta and {"pad_token": pad, "start_token": start,
                                                     "end_token": end, "unk_token": unk}[k] is None:
            ids[k] = int(meta[k])
    missing = [k for k, v in ids.items() if v is None]
    if missing:
        raise ExportError("could not determine " + ", ".join(missing) +
                          " from the vocabulary; pass --" + " --".join(m.replace("_", "-") for m in missing))
    act = activation or default_act
    state = {k: v.detach().float() for k, v in state.items()}
    try:
        nm.save_model_h5(out, state, vocab, act, float16=float16, **ids)
    except nm.ModelFormatError as e:
        if os.path.exists(out):
            os.remove(out)
        raise ExportError(str(e))
    progress = training_progress(meta)
    if progress:
        import h5py
        with h5py.File(out, "a") as f:
            for key, value in progress.items():
                f.attrs[key] = value
    return {"format": fmt, "activation": act, "vocab_size": len(vocab), **ids,
            "f_beta": "f_beta.weight" in state, "float16": float16, **progress}


def training_progress(meta) -> dict:
    """The checkpoint's training step, epoch and best validation score, as the model file's optional
    root attributes `iter`, `epoch`, `best_val_score` (schemas/model-format.md), which `nightcap run`
    records with the run: `iter` (or `global_step`), `epoch`, `best_val_score` of a checkpoint dict.
    Values that are not plain numbers are left out."""
    import numpy as np
    if not isinstance(meta, dict):
        return {}
    def number(key, kind):
        value = meta.get(key)
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            return None
        return np.int64(value) if kind is int else np.float64(value)
    out = {}
    step = number("iter", int)
    if step is None:
        step = number("global_step", int)
    if step is not None:
        out["iter"] = step
    epoch = number("epoch", int)
    if epoch is not None:
        out["epoch"] = epoch
    score = number("best_val_score", float)
    if score is not None:
        out["best_val_score"] = score
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint")
    p.add_argument("--out", "-o", required=True)
    p.add_argument("--format", choices=["auto", "native", "sgrvinod"], default="auto")
    p.add_argument("--vocab", help="vocab.json (list or {word:id}) or vocab.txt (one word per line)")
    p.add_argument("--word-map", help="sgrvinod WORDMAP_*.json ({word: id})")
    p.add_argument("--activation", choices=list(nm.ACTIVATIONS))
    p.add_argument("--pad-token", type=int)
    p.add_argument("--start-token", type=int)
    p.add_argument("--end-token", type=int)
    p.add_argument("--unk-token", type=int)
    p.add_argument("--float16", action="store_true")
    a = p.parse_args(argv)
    try:
        info = export(a.checkpoint, a.out, a.format, a.vocab, a.word_map, a.activation,
                      a.pad_token, a.start_token, a.end_token, a.unk_token, a.float16)
    except (ExportError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {a.out}: " + ", ".join(f"{k}={v}" for k, v in info.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
