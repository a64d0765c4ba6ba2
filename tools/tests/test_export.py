"""Self-test of tools/export_pytorch.py: fake sgrvinod and native checkpoints -> model file -> reload."""
import json
import subprocess
import sys
import os
import types

import numpy as np
import pytest
import torch
import torch.nn as nn

import export_pytorch as ex
import nightcap_model as nm

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
V, E, D, H, A = 11, 8, 16, 12, 10
WORDS = ["<pad>", "a", "dog", "cat", "on", "the", "mat", "runs", "<unk>", "<start>", "<end>"]
WORD_MAP = {w: i for i, w in enumerate(WORDS)}


def sgrvinod_state(seed=0, f_beta=True):
    g = torch.Generator().manual_seed(seed)
    shapes = {
        "attention.encoder_att.weight": (A, D), "attention.encoder_att.bias": (A,),
        "attention.decoder_att.weight": (A, H), "attention.decoder_att.bias": (A,),
        "attention.full_att.weight": (1, A), "attention.full_att.bias": (1,),
        "embedding.weight": (V, E),
        "decode_step.weight_ih": (4 * H, E + D), "decode_step.weight_hh": (4 * H, H),
        "decode_step.bias_ih": (4 * H,), "decode_step.bias_hh": (4 * H,),
        "init_h.weight": (H, D), "init_h.bias": (H,), "init_c.weight": (H, D), "init_c.bias": (H,),
        "f_beta.weight": (D, H), "f_beta.bias": (D,), "fc.weight": (V, H), "fc.bias": (V,),
    }
    sd = {k: torch.randn(*s, generator=g) for k, s in shapes.items()}
    if not f_beta:
        del sd["f_beta.weight"], sd["f_beta.bias"]
    return sd


RENAME = {"attention.encoder_att": "attention.image_proj", "attention.decoder_att": "attention.text_proj",
          "attention.full_att": "attention.attn_weight", "decode_step": "lstm"}


def renamed(k):
    for a, b in RENAME.items():
        if k.startswith(a + "."):
            return b + k[len(a):]
    return k


def check_file(path, sd, float16=False, act="relu", fbeta=True):
    m = nm.load_model_h5(str(path))
    assert m.activation == act and m.has_f_beta == fbeta
    assert m.vocab == WORDS
    assert (m.pad_token, m.start_token, m.end_token, m.unk_token) == (0, 9, 10, 8)
    got = m.state_dict()
    assert set(got) == {renamed(k) for k in sd}
    for k, v in sd.items():
        want = v.half().float() if float16 else v
        assert torch.equal(got[renamed(k)], want), k


@pytest.fixture
def word_map(tmp_path):
    p = tmp_path / "WORDMAP_test.json"
    p.write_text(json.dumps(WORD_MAP))
    return str(p)


@pytest.mark.parametrize("float16", [False, True])
def test_sgrvinod_state_dict(tmp_path, word_map, float16):
    sd = sgrvinod_state(1)
    ck = tmp_path / "BEST_checkpoint.pth.tar"
    torch.save({"epoch": 3, "bleu-4": 0.2, "decoder": sd, "encoder": None}, ck)
    out = tmp_path / "m.h5"
    info = ex.export(str(ck), str(out), word_map=word_map, float16=float16)
    assert info["format"] == "sgrvinod"
    check_file(out, sd, float16=float16)


def test_sgrvinod_dataparallel_prefix_no_fbeta(tmp_path, word_map):
    sd = sgrvinod_state(2, f_beta=False)
    ck = tmp_path / "ck.pth"
    torch.save({"decoder": {"module." + k: v for k, v in sd.items()}}, ck)
    out = tmp_path / "m.h5"
    ex.export(str(ck), str(out), word_map=word_map)
    check_file(out, sd, fbeta=False)


def test_sgrvinod_pickled_module_without_its_code(tmp_path, word_map):
    """'decoder' holds a whole pickled module whose class (models.DecoderWithAttention) is not
    importable at export time."""
    code = r'''
import sys, types, torch, torch.nn as nn
models = types.ModuleType("models"); sys.modules["models"] = models
class Attention(nn.Module):
    def __init__(s, E, H, A):
        super().__init__(); s.encoder_att = nn.Linear(E, A); s.decoder_att = nn.Linear(H, A)
        s.full_att = nn.Linear(A, 1); s.relu = nn.ReLU(); s.softmax = nn.Softmax(dim=1)
class DecoderWithAttention(nn.Module):
    def __init__(s, A, Emb, H, V, D):
        super().__init__(); s.attention = Attention(D, H, A); s.embedding = nn.Embedding(V, Emb)
        s.dropout = nn.Dropout(p=0.5); s.decode_step = nn.LSTMCell(Emb + D, H, bias=True)
        s.init_h = nn.Linear(D, H); s.init_c = nn.Linear(D, H); s.f_beta = nn.Linear(H, D)
        s.sigmoid = nn.Sigmoid(); s.fc = nn.Linear(H, V)
for c in (Attention, DecoderWithAttention):
    c.__module__ = "models"; setattr(models, c.__name__, c)
torch.manual_seed(0)
dec = DecoderWithAttention(%d, %d, %d, %d, %d)
opt = torch.optim.Adam(dec.parameters(), lr=4e-4)
torch.save({"epoch": 1, "epochs_since_improvement": 0, "bleu-4": 0.1, "encoder": None,
            "decoder": dec, "decoder_optimizer": opt, "encoder_optimizer": None}, sys.argv[1])
torch.save(dec.state_dict(), sys.argv[2])
''' % (A, E, H, V, D)
    ck, sdp = tmp_path / "ck.pth.tar", tmp_path / "sd.pt"
    subprocess.run([sys.executable, "-c", code, str(ck), str(sdp)], check=True)
    sd = torch.load(sdp)
    assert "models" not in sys.modules
    out = tmp_path / "m.h5"
    info = ex.export(str(ck), str(out), word_map=word_map)
    assert info["format"] == "sgrvinod" and info["activation"] == "relu"
    check_file(out, sd)


def test_native_state_dict_with_metadata_and_cli(tmp_path):
    torch.manual_seed(3)
    m = nm.ShowAttendTell(V, E, D, H, A, "tanh", True, 0, 9, 10, 8, vocab=WORDS)
    ck = tmp_path / "native.pt"
    torch.save(m.state_dict(), ck)
    vt = tmp_path / "vocab.txt"
    vt.write_text("\n".join(WORDS) + "\n")
    out = tmp_path / "m.h5"
    rc = subprocess.run([sys.executable, os.path.join(TOOLS, "export_pytorch.py"), str(ck), "--vocab", str(vt),
                         "--activation", "tanh", "--out", str(out)]).returncode
    assert rc == 0
    check_file(out, {k: v for k, v in m.state_dict().items()}, act="tanh")
    # metadata inside the checkpoint
    ck2 = tmp_path / "native2.pt"
    torch.save({"state_dict": m.state_dict(), "vocab": WORDS, "attention_activation": "relu",
                "pad_token": 0, "start_token": 9, "end_token": 10, "unk_token": 8}, ck2)
    out2 = tmp_path / "m2.h5"
    ex.export(str(ck2), str(out2))
    check_file(out2, m.state_dict(), act="relu")


def test_refuses_unknown_checkpoint(tmp_path, word_map):
    sd = sgrvinod_state(4)
    sd["attention.extra_gate.weight"] = torch.zeros(3)
    del sd["init_c.bias"]
    ck = tmp_path / "bad.pth"
    torch.save({"decoder": sd}, ck)
    with pytest.raises(ex.ExportError) as e:
        ex.export(str(ck), str(tmp_path / "x.h5"), word_map=word_map)
    msg = str(e.value)
    assert "init_c.bias" in msg and "attention.extra_gate.weight" in msg
    assert not (tmp_path / "x.h5").exists()
    # CLI exit code and message
    r = subprocess.run([sys.executable, os.path.join(TOOLS, "export_pytorch.py"), str(ck), "--word-map", word_map,
                        "--out", str(tmp_path / "y.h5")], capture_output=True, text=True)
    assert r.returncode == 2 and "missing keys: init_c.bias" in r.stderr


def test_refuses_bad_shapes_and_half_fbeta(tmp_path, word_map):
    sd = sgrvinod_state(5)
    del sd["f_beta.bias"]
    ck = tmp_path / "b1.pth"
    torch.save({"decoder": sd}, ck)
    with pytest.raises(ex.ExportError, match="f_beta"):
        ex.export(str(ck), str(tmp_path / "x.h5"), word_map=word_map)
    sd = sgrvinod_state(5)
    sd["fc.bias"] = torch.zeros(V + 1)
    torch.save({"decoder": sd}, ck)
    with pytest.raises(ex.ExportError, match="fc.bias"):
        ex.export(str(ck), str(tmp_path / "x.h5"), word_map=word_map)


def test_exported_model_decodes_like_sgrvinod_math(tmp_path, word_map):
    """One decoder step of the exported model equals sgrvinod's formulas on the original tensors."""
    sd = sgrvinod_state(6)
    ck = tmp_path / "ck.pth"
    torch.save({"decoder": sd}, ck)
    out = tmp_path / "m.h5"
    ex.export(str(ck), str(out), word_map=word_map)
    m = nm.load_model_h5(str(out)).double()
    s = {k: v.double() for k, v in sd.items()}
    enc = torch.randn(1, 5, D, dtype=torch.float64)
    mean = enc.mean(1)
    h = mean @ s["init_h.weight"].T + s["init_h.bias"]
    c = mean @ s["init_c.weight"].T + s["init_c.bias"]
    att1 = enc @ s["attention.encoder_att.weight"].T + s["attention.encoder_att.bias"]
    att2 = h @ s["attention.decoder_att.weight"].T + s["attention.decoder_att.bias"]
    att = (torch.relu(att1 + att2.unsqueeze(1)) @ s["attention.full_att.weight"].T + s["attention.full_att.bias"]).squeeze(2)
    alpha = torch.softmax(att, 1)
    z = (enc * alpha.unsqueeze(2)).sum(1)
    z = torch.sigmoid(h @ s["f_beta.weight"].T + s["f_beta.bias"]) * z
    x = torch.cat([s["embedding.weight"][[9]], z], 1)
    gates = x @ s["decode_step.weight_ih"].T + s["decode_step.bias_ih"] + h @ s["decode_step.weight_hh"].T + s["decode_step.bias_hh"]
    i, f, g, o = gates.chunk(4, 1)
    c2 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h2 = torch.sigmoid(o) * torch.tanh(c2)
    logp = torch.log_softmax(h2 @ s["fc.weight"].T + s["fc.bias"], 1)
    feats, mask, ip, h0, c0 = m.prepare(enc, torch.tensor([5]))
    lp, _, _, al = m.step(torch.tensor([9]), h0, c0, feats, ip, mask)
    assert torch.allclose(lp, logp, atol=1e-10) and torch.allclose(al, alpha, atol=1e-12)


def test_training_progress_becomes_model_file_attributes(tmp_path, word_map):
    """A checkpoint's iter/epoch/best_val_score become the model file's optional root attributes,
    which `nightcap run` records with the run; a checkpoint without them writes none."""
    import h5py
    sd = sgrvinod_state(4)
    ck = tmp_path / "ck.pth.tar"
    torch.save({"epoch": 7, "iter": 42000, "best_val_score": np.float64(1.125), "decoder": sd}, ck)
    out = tmp_path / "m.h5"
    info = ex.export(str(ck), str(out), word_map=word_map)
    assert (info["iter"], info["epoch"], info["best_val_score"]) == (42000, 7, 1.125)
    with h5py.File(out, "r") as f:
        assert int(f.attrs["iter"]) == 42000 and int(f.attrs["epoch"]) == 7
        assert float(f.attrs["best_val_score"]) == 1.125
    bare = tmp_path / "bare.pth"
    torch.save({"decoder": sd, "epoch": "three"}, bare)
    out2 = tmp_path / "m2.h5"
    ex.export(str(bare), str(out2), word_map=word_map)
    with h5py.File(out2, "r") as f:
        assert not {"iter", "epoch", "best_val_score"} & set(f.attrs)
