#!/usr/bin/env python3
"""Writes the PyTorch checkpoint fixtures of Tests/PythonFilesTests/Fixtures/checkpoints/ with real torch.

Every fixture is tiny (KBs). `expected.json` records what torch itself reads back from each file
(shapes, dtypes, values converted to float32, options, vocabularies), so the Swift tests compare
nightcap's native reader with torch's own loader, not with numbers typed by hand.

Usage: python3 tools/make_checkpoint_fixtures.py [--out DIR]
Deterministic: fixed seeds; rerunning rewrites the same values (zip records also carry torch's
version and a serialization id, so the bytes may differ between torch versions, the values do not).
"""
import argparse
import collections
import io
import json
import os
import pickle
import sys

import numpy as np
import torch

DEFAULT_OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "PythonFilesTests", "Fixtures", "checkpoints")


def updown_like_state_dict(seed, vocab=7, E=4, R=5, A=3, D=6):
    """A tiny state dict with UpDown's key names and shapes (spec section 1.2)."""
    g = torch.Generator().manual_seed(seed)
    shapes = [
        ("embed.0.weight", (vocab + 1, E)),
        ("fc_embed.0.weight", (R, D)), ("fc_embed.0.bias", (R,)),
        ("att_embed.0.weight", (R, D)), ("att_embed.0.bias", (R,)),
        ("logit.weight", (vocab + 1, R)), ("logit.bias", (vocab + 1,)),
        ("ctx2att.weight", (A, R)), ("ctx2att.bias", (A,)),
        ("core.att_lstm.weight_ih", (4 * R, E + 2 * R)), ("core.att_lstm.weight_hh", (4 * R, R)),
        ("core.att_lstm.bias_ih", (4 * R,)), ("core.att_lstm.bias_hh", (4 * R,)),
        ("core.lang_lstm.weight_ih", (4 * R, 2 * R)), ("core.lang_lstm.weight_hh", (4 * R, R)),
        ("core.lang_lstm.bias_ih", (4 * R,)), ("core.lang_lstm.bias_hh", (4 * R,)),
        ("core.attention.h2att.weight", (A, R)), ("core.attention.h2att.bias", (A,)),
        ("core.attention.alpha_net.weight", (1, A)), ("core.attention.alpha_net.bias", (1,)),
    ]
    sd = collections.OrderedDict()
    for name, shape in shapes:
        sd[name] = torch.randn(*shape, generator=g)
    # The `_metadata` attribute a real state_dict() carries (pickled by the final BUILD).
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("embed", {"version": 1})])
    return sd


def dtype_state_dict():
    """Every element type and view a reader must honour."""
    g = torch.Generator().manual_seed(7)
    base = torch.randn(6, 5, generator=g)
    shared = torch.arange(20, dtype=torch.float32) / 8
    sd = collections.OrderedDict()
    sd["f32"] = torch.randn(3, 4, generator=g)
    sd["f16"] = torch.randn(2, 3, generator=g).half()
    sd["bf16"] = torch.randn(2, 3, generator=g).bfloat16()
    sd["f64"] = torch.randn(3, 2, generator=g).double() / 3
    sd["transposed"] = base.t()                      # strides (1, 5)
    sd["column_slice"] = base[1:5, 1:4]              # offset 6, strides (5, 1)
    sd["every_other"] = shared[3:17:2]               # offset 3, stride 2, shares a storage
    sd["shared_whole"] = shared                      # the same storage as every_other
    sd["scalar_f32"] = torch.tensor(2.5)             # 0-d
    sd["num_batches_tracked"] = torch.tensor(123, dtype=torch.long)  # 0-d int64, as BatchNorm has
    sd["int32"] = torch.tensor([[-3, 4], [5, -6]], dtype=torch.int32)
    sd["uint8"] = torch.tensor([0, 7, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["empty"] = torch.zeros(0, 3)
    sd["expanded"] = torch.tensor([1.0, 2.0, 3.0]).expand(2, 3)  # stride 0
    sd["f16_transposed"] = torch.randn(3, 2, generator=g).half().t()
    return sd


def many_tensors_state_dict(count=300):
    """More than 256 memo entries: LONG_BINPUT/LONG_BINGET, as a Transformer's 262 tensors need."""
    sd = collections.OrderedDict()
    for i in range(count):
        sd["layers.%d.weight" % i] = torch.full((2,), float(i) / 4)
    return sd


def vocabulary():
    return {"1": "a", "2": "man", "3": "riding", "4": "caf\u00e9", "5": "UNK", "6": "horse", "7": "na\u00efve"}


def namespace():
    opt = argparse.Namespace()
    opt.caption_model = "updown"
    opt.input_encoding_size = 4
    opt.rnn_size = 5
    opt.att_hid_size = 3
    opt.att_feat_size = 6
    opt.fc_feat_size = 6
    opt.vocab_size = 7
    opt.use_bn = 0
    opt.drop_prob_lm = 0.5
    opt.input_fc_dir = "data/cocobu_fc"
    opt.input_att_dir = "data/cocobu_att"
    opt.use_fc = True
    opt.use_box = False
    opt.start_from = None
    opt.set_cfgs = []
    opt.learning_rate = 5e-4
    opt.seq_length = 16
    opt.id = "fixture"
    return opt


def infos(opt_overrides=None, with_vocab=True):
    opt = namespace()
    for k, v in (opt_overrides or {}).items():
        setattr(opt, k, v)
    out = {
        "iter": 1200,
        "epoch": 3,
        "opt": opt,
        "best_val_score": np.float64(1.0543),
        "loader_state_dict": {"train": {"index_list": [3, 1, 2], "iter_counter": 2}},
    }
    if with_vocab:
        out["vocab"] = vocabulary()
    return out


# A Python 2.7 `cPickle.dumps(infos)` (protocol 0), written byte for byte as Python 2 writes it
# (spec Appendix C): STRING opcodes for str, UNICODE for unicode, I01 for True, copy_reg for the
# Namespace, a numpy scalar whose data is a raw str. Python 3 reads it with encoding='latin-1'
# below, and that reading is what the Swift test compares with.
PY2_INFOS = (
    b"(dp1\nS'opt'\np2\nccopy_reg\n_reconstructor\np3\n(cargparse\nNamespace\np4\nc__builtin__\nobject\np5\nNtRp6\n"
    b"(dp7\nS'start_from'\nNsS'use_att'\nI01\nsS'rnn_size'\nI5\nsS'caption_model'\nS'topdown'\np8\n"
    b"sS'drop_prob_lm'\nF0.5\nsS'input_fc_dir'\nS'data/cocotalk_fc'\np9\nsS'learning_rate'\nF0.0005\n"
    b"sS'use_bn'\nI0\nsS'seq_length'\nI16\nsS'big'\nL123456789012345678901234567890L\n"
    b"sS'escaped'\nS'it\\'s \\x41\\n'\nsbsS'best_val_score'\np10\ncnumpy.core.multiarray\nscalar\np11\n"
    b"(cnumpy\ndtype\np12\n(S'f8'\nI0\nI1\ntRp13\n(I3\nS'<'\nNNNI-1\nI-1\nI0\ntbS'\\x8d\\x97n\\x12\\x83\\xc0\\xf0?'\ntRp14\n"
    b"sS'vocab'\np15\n(dp16\nS'1'\nS'a'\nsS'2'\nVcaf\xe9\nsS'3'\nVsnow\\u2603man\nsS'4'\nS'horse'\nss."
)


def write_torch04_legacy(path):
    """A legacy file as torch <= 0.4 wrote it, which modern torch cannot write but still loads:
    tensors rebuilt by the 4-argument `torch._utils._rebuild_tensor`, and persistent ids whose sixth
    element is a view `(view_key, offset, size)` of a larger storage (torch 0.3 serialised
    `storage[a:b]` views this way). Laid out as `_legacy_save` does: magic, protocol version,
    system info, the object, the sorted storage keys, then each storage's int64 size and bytes."""
    root = (torch.arange(12, dtype=torch.float32) - 4) / 4

    class View:
        def __init__(self, offset, size):
            self.offset, self.size = offset, size

    class OldTensor:
        def __init__(self, storage, offset, size, stride):
            self.args = (storage, offset, size, stride)

        def __reduce__(self):
            return (torch._utils._rebuild_tensor, self.args)

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, View):
                return ("storage", torch.FloatStorage, "140230", "cpu", 12, ("140230v%d" % obj.offset, obj.offset, obj.size))
            return None

    sd = collections.OrderedDict()
    sd["whole_view"] = OldTensor(View(2, 6), 0, (2, 3), (3, 1))   # storage[2:8] as 2x3
    sd["inner_view"] = OldTensor(View(5, 4), 1, (3,), (1,))       # storage[5:9], from its element 1
    buf = io.BytesIO()
    for obj in (0x1950a86a20f9469cfc6c, 1001, {"protocol_version": 1001, "little_endian": True,
                                                "type_sizes": {"short": 2, "int": 4, "long": 8}}):
        pickle.dump(obj, buf, protocol=2)
    Pickler(buf, protocol=2).dump(sd)
    pickle.dump(["140230"], buf, protocol=2)
    buf.write(np.int64(12).tobytes())
    buf.write(root.numpy().tobytes())
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def save(obj, path, **kw):
    torch.save(obj, path, **kw)


def tensor_record(t):
    t = t.detach()
    return {
        "shape": list(t.shape),
        "dtype": str(t.dtype).replace("torch.", ""),
        "values": [float(v) for v in t.float().reshape(-1).tolist()],
    }


def option_record(v):
    if v is None:
        return {"none": True}
    if isinstance(v, bool):
        return {"bool": v}
    if isinstance(v, int):
        # Python's unbounded ints beyond 64 bits become TrainingOption.other.
        return {"int": v} if -2**63 <= v < 2**63 else {"other": True}
    if isinstance(v, float):
        return {"double": v}
    if isinstance(v, str):
        return {"string": v}
    return {"other": True}


def infos_record(d):
    opt = d["opt"] if isinstance(d["opt"], dict) else vars(d["opt"])
    return {
        "options": {k: option_record(v) for k, v in opt.items()},
        "vocabulary": {str(k): v for k, v in d["vocab"].items()},
    }


def checkpoint_record(path, container="state dict", prefix=None, embedded=None, skipped=()):
    loaded = torch.load(path, map_location="cpu", weights_only=False)
    sd = loaded
    if container == "['state_dict']":
        sd = loaded["state_dict"]
    elif container == "['model']":
        sd = loaded["model"]
    tensors = collections.OrderedDict()
    for k, v in sd.items():
        if not torch.is_tensor(v) or k in ("_vocab", "_opt"):
            continue
        name = k[len(prefix):] if prefix and k.startswith(prefix) else k
        tensors[name] = tensor_record(v)
    with open(path, "rb") as f:
        head = f.read(4)
    record = {
        "format": "zip" if head == b"PK\x03\x04" else "legacy",
        "container": container,
        "removed_prefix": prefix,
        "tensor_names": list(tensors.keys()),
        "tensors": tensors,
        "skipped": list(skipped),
    }
    if embedded is not None:
        record["embedded_infos"] = embedded
    return record


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)
    expected = {"torch": torch.__version__, "checkpoints": {}, "infos": {}, "id_maps": {}}
    cks = expected["checkpoints"]

    sd = updown_like_state_dict(1)
    save(sd, p("updown_zip.pth"))
    cks["updown_zip.pth"] = checkpoint_record(p("updown_zip.pth"))
    cks["updown_zip.pth"]["pickle_protocol"] = 2
    save(sd, p("updown_legacy.pth"), _use_new_zipfile_serialization=False)
    cks["updown_legacy.pth"] = checkpoint_record(p("updown_legacy.pth"))
    cks["updown_legacy.pth"]["pickle_protocol"] = 2
    save(sd, p("updown_protocol4.pth"), pickle_protocol=4)
    cks["updown_protocol4.pth"] = checkpoint_record(p("updown_protocol4.pth"))
    cks["updown_protocol4.pth"]["pickle_protocol"] = 4
    save(sd, p("updown_legacy_protocol4.pth"), pickle_protocol=4, _use_new_zipfile_serialization=False)
    cks["updown_legacy_protocol4.pth"] = checkpoint_record(p("updown_legacy_protocol4.pth"))
    cks["updown_legacy_protocol4.pth"]["pickle_protocol"] = 4

    dt = dtype_state_dict()
    save(dt, p("dtypes_zip.pth"))
    cks["dtypes_zip.pth"] = checkpoint_record(p("dtypes_zip.pth"))
    save(dt, p("dtypes_legacy.pth"), _use_new_zipfile_serialization=False)
    cks["dtypes_legacy.pth"] = checkpoint_record(p("dtypes_legacy.pth"))

    write_torch04_legacy(p("torch04_views.pth"))
    cks["torch04_views.pth"] = checkpoint_record(p("torch04_views.pth"))

    save(many_tensors_state_dict(), p("many_tensors.pth"))
    cks["many_tensors.pth"] = checkpoint_record(p("many_tensors.pth"))

    prefixed = collections.OrderedDict(("module." + k, v) for k, v in updown_like_state_dict(2).items())
    save(prefixed, p("dataparallel.pth"))
    cks["dataparallel.pth"] = checkpoint_record(p("dataparallel.pth"), prefix="module.")

    save({"model": updown_like_state_dict(3), "epoch": 4, "optimizer": {"lr": 0.1}}, p("wrapped_model.pth"),
         _use_new_zipfile_serialization=False)
    cks["wrapped_model.pth"] = checkpoint_record(p("wrapped_model.pth"), container="['model']")

    # A Lightning checkpoint as self-critical.pytorch's train_pl.py writes it: the LightningModule's
    # state_dict (model keys, no prefix) plus `_vocab`/`_opt` uint8 tensors holding pickle.dumps (the
    # default protocol: 4 on this Python), beside Lightning's own bookkeeping.
    lit_sd = updown_like_state_dict(4)
    opt = namespace()
    vocab = vocabulary()
    lit_sd["_vocab"] = torch.ByteTensor(torch.ByteStorage.from_buffer(pickle.dumps(vocab)))
    lit_sd["_opt"] = torch.ByteTensor(torch.ByteStorage.from_buffer(pickle.dumps(opt)))
    adam = torch.optim.Adam([torch.nn.Parameter(torch.zeros(2))])
    lightning = {
        "epoch": 2, "global_step": 300, "pytorch-lightning_version": "1.9.5",
        "state_dict": lit_sd,
        "optimizer_states": [adam.state_dict()],
        "lr_schedulers": [],
        "callbacks": {"ModelCheckpoint{'monitor': 'CIDEr'}": {"best_model_score": torch.tensor(1.05)}},
        "loops": {"fit_loop": {"state_dict": {}}},
        "hparams_name": "opt",
        "hyper_parameters": {"opt": opt},
    }
    save(lightning, p("lightning.ckpt"))
    cks["lightning.ckpt"] = checkpoint_record(
        p("lightning.ckpt"), container="['state_dict']", embedded=infos_record({"opt": opt, "vocab": vocab}))

    # A state dict holding a quantized tensor: rebuilt by torch._utils._rebuild_qtensor, not allowed.
    q = collections.OrderedDict()
    q["weight"] = torch.randn(2, 2)
    q["quantized"] = torch.quantize_per_tensor(torch.tensor([0.5, 1.0]), 0.1, 0, torch.quint8)
    save(q, p("quantized.pth"))

    # A storage type off the allow-list: complex numbers (torch.ComplexFloatStorage).
    save(collections.OrderedDict([("weight", torch.ones(2)), ("spectrum", torch.zeros(3, dtype=torch.complex64))]),
         p("complex.pth"))

    # Dicts without a state dict: a wrapper whose 'model' holds no tensors, and no tensors at all.
    save({"model": {"note": "weights saved elsewhere"}, "epoch": 1}, p("empty_model.pth"))
    save({"epoch": 3, "lr": 0.1}, p("no_tensors.pth"))

    # A whole pickled module (torch.save(model)), not a state dict.
    save(torch.nn.Linear(2, 2), p("whole_module.pth"))

    # A TorchScript archive.
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), p("torchscript.pt"))

    # safetensors with the same names.
    from safetensors.torch import save_file
    st = updown_like_state_dict(5)
    st["att_embed.0.weight"] = st["att_embed.0.weight"].half()
    st["num_batches_tracked"] = torch.tensor(9, dtype=torch.long)
    save_file(dict(st), p("updown.safetensors"), metadata={"format": "pt"})
    from safetensors.torch import load_file
    back = load_file(p("updown.safetensors"))
    cks["updown.safetensors"] = {
        "format": "safetensors", "container": "safetensors", "removed_prefix": None,
        "tensor_names": sorted(back.keys()),  # safetensors keeps no order; nightcap lists names sorted
        "tensors": {k: tensor_record(v) for k, v in back.items()}, "skipped": [],
    }

    # Infos pickles: protocol 2 (Python 3, what training writes since 2019), protocol 0 from
    # Python 3, a Python 2 protocol-0 file, and one without vocab.
    inf = expected["infos"]
    with open(p("infos_protocol2.pkl"), "wb") as f:
        pickle.dump(infos(), f, protocol=2)
    with open(p("infos_protocol0.pkl"), "wb") as f:
        f.write(pickle.dumps(infos({"caption_model": "topdown"}), protocol=0))
    with open(p("infos_python2.pkl"), "wb") as f:
        f.write(PY2_INFOS)
    with open(p("infos_novocab.pkl"), "wb") as f:
        pickle.dump(infos(with_vocab=False), f, protocol=2)
    for name in ["infos_protocol2.pkl", "infos_protocol0.pkl", "infos_python2.pkl"]:
        with open(p(name), "rb") as f:
            loaded = pickle.load(f, encoding="latin-1")
        record = infos_record(loaded)
        record["best_val_score"] = float(loaded["best_val_score"])
        inf[name] = record

    # An id map as bottom-up-attention converters write it ({image_id: row}, pickle's default protocol).
    ids = [391895, 522418, 184613, 318219, 554625]
    with open(p("val36_imgid2idx.pkl"), "wb") as f:
        pickle.dump({image_id: row for row, image_id in enumerate(ids)}, f)
    expected["id_maps"]["val36_imgid2idx.pkl"] = [str(i) for i in ids]

    with open(p("expected.json"), "w") as f:
        json.dump(expected, f, sort_keys=True, separators=(",", ":"))
        f.write("\n")
    total = sum(os.path.getsize(p(n)) for n in os.listdir(out))
    print("wrote %d files, %d bytes, to %s" % (len(os.listdir(out)), total, out), file=sys.stderr)


if __name__ == "__main__":
    main()
