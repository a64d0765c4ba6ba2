import math
import numpy as np
import pytest
import torch

import nightcap_model as nm
from naive import naive_beam


def make_model(seed, act="tanh", fbeta=True, V=30, end_bias=0.0):
    torch.manual_seed(seed)
    m = nm.ShowAttendTell(V, 8, 16, 12, 10, act, fbeta, 0, 1, 2, 3)
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 0.6)
        m.fc.weight.mul_(3)
        m.fc.bias[2] += end_bias
    return m.double().eval()


def make_feats(seed, N=7, R=6, D=16):
    g = torch.Generator().manual_seed(seed)
    f = torch.randn(N, R, D, generator=g, dtype=torch.float64)
    nr = torch.tensor([(i % R) + 1 for i in range(N)])
    for i in range(N):
        f[i, nr[i]:] = 7.0
    return f, nr


@pytest.mark.parametrize("act,fbeta,K,lp,eb", [("tanh", True, 1, 0.0, 0.0), ("relu", False, 3, 0.0, 1.0),
                                             ("tanh", False, 3, 0.7, 0.5), ("relu", True, 5, 0.0, 2.0),
                                             ("tanh", True, 4, 1.0, -1.0)])
def test_matches_naive(act, fbeta, K, lp, eb):
    m = make_model(1, act, fbeta, end_bias=eb)
    f, nr = make_feats(2)
    res = nm.beam_search(m, f, nr, beam_size=K, max_length=9, length_penalty=lp)
    for i in range(f.shape[0]):
        toks, score, att = naive_beam(m, f[i], int(nr[i]), K, 9, lp)
        assert res[i].tokens == toks
        assert math.isclose(res[i].log_prob, score, rel_tol=1e-9, abs_tol=1e-9)
        assert np.allclose(res[i].attention, np.array(att).reshape(len(toks), int(nr[i])), atol=1e-12)


def test_exact_ties_follow_stable_order():
    # all logits equal -> every candidate ties; order must be lowest (hyp, token) first
    m = make_model(3, V=12)
    with torch.no_grad():
        m.fc.weight.zero_()
        m.fc.bias.zero_()
    f, nr = make_feats(4, N=3)
    for K in (1, 2, 3):
        res = nm.beam_search(m, f, nr, beam_size=K, max_length=5)
        for i in range(3):
            toks, score, _ = naive_beam(m, f[i], int(nr[i]), K, 5)
            assert res[i].tokens == toks
    # K=1 greedy with all ties: token 0 (pad) chosen every step
    assert nm.beam_search(m, f, nr, beam_size=1, max_length=4)[0].tokens == [0, 0, 0, 0]
    # K=3: candidates 0,1,2 ; token 2 is end -> finished at step 1 with empty caption;
    # that finished one has score log(1/12) which beats everything longer
    r = nm.beam_search(m, f, nr, beam_size=3, max_length=4)[0]
    assert r.tokens == [] and math.isclose(r.log_prob, -math.log(12))


def test_batch_equals_single():
    m = make_model(5, "relu", True, end_bias=1.0).float()
    f, nr = make_feats(6, N=9)
    f = f.float()
    batch = nm.beam_search(m, f, nr, beam_size=3, max_length=10)
    for i in range(9):
        one = nm.beam_search(m, f[i:i + 1], nr[i:i + 1], beam_size=3, max_length=10)[0]
        assert one.tokens == batch[i].tokens
        assert math.isclose(one.log_prob, batch[i].log_prob, rel_tol=1e-5)
        assert np.allclose(one.attention, batch[i].attention, atol=1e-6)
        assert one.attention.shape == (len(one.tokens), int(nr[i]))


def test_padding_is_ignored():
    m = make_model(7)
    f, nr = make_feats(8, N=6)
    g = f.clone()
    for i in range(6):
        g[i, nr[i]:] = -123.0
    a = nm.beam_search(m, f, nr, beam_size=3, max_length=8)
    b = nm.beam_search(m, g, nr, beam_size=3, max_length=8)
    for x, y in zip(a, b):
        assert x.tokens == y.tokens and x.log_prob == y.log_prob


def test_model_file_roundtrip(tmp_path):
    m = make_model(9, "relu", False).float()
    p = tmp_path / "m.h5"
    nm.save_model(str(p), m)
    m2 = nm.load_model_h5(str(p))
    assert m2.activation == "relu" and not m2.has_f_beta
    for k, v in m.state_dict().items():
        assert torch.equal(v, m2.state_dict()[k])
    p16 = tmp_path / "m16.h5"
    nm.save_model(str(p16), m, float16=True)
    m3 = nm.load_model_h5(str(p16))
    for k, v in m.state_dict().items():
        assert torch.equal(v.half().float(), m3.state_dict()[k])
    assert sorted(m.state_dict().keys()) == sorted(k for k in nm.TENSOR_SHAPES if not k.startswith("f_beta"))
