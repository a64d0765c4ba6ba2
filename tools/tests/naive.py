"""Deliberately simple, unbatched beam search written directly from the spec (for cross-checks)."""
import math
import torch


@torch.no_grad()
def naive_beam(model, feat, n, K, L, lp=0.0):
    """feat [R,D] tensor, n valid regions. Returns (tokens, score, attention rows list)."""
    R = feat.shape[0]
    v = feat[:n]
    m = v.mean(0)
    h, c = model.init_h(m), model.init_c(m)
    act = torch.tanh if model.activation == "tanh" else torch.relu
    att = model.attention
    live = [(0.0, [], [], h, c, model.start_token)]   # score, words, alphas, h, c, prev
    finished = []
    k = K
    t = 0
    while t < L and k > 0:
        cands = []
        outs = []
        for hi, (s, ws, als, h, c, w) in enumerate(live):
            e = torch.stack([att.attn_weight(act(att.image_proj(v[i]) + att.text_proj(h)))[0] for i in range(n)])
            alpha = torch.softmax(e, 0)
            z = (alpha[:, None] * v).sum(0)
            if model.f_beta is not None:
                z = torch.sigmoid(model.f_beta(h)) * z
            x = torch.cat([model.embedding.weight[w], z])
            h2, c2 = model.lstm(x[None], (h[None], c[None]))
            h2, c2 = h2[0], c2[0]
            logp = torch.log_softmax(model.fc(h2), 0)
            full_alpha = torch.zeros(R, dtype=alpha.dtype)
            full_alpha[:n] = alpha
            outs.append((h2, c2, full_alpha))
            for tok in range(model.vocab_size):
                cands.append((s + float(logp[tok]), hi, tok))
        order = sorted(range(len(cands)), key=lambda i: -cands[i][0])  # python sort is stable
        kept = [cands[i] for i in order[:k]]
        new_live = []
        for s, hi, tok in kept:
            ps, ws, als, _, _, _ = live[hi]
            h2, c2, al = outs[hi]
            if tok == model.end_token:
                finished.append((s, ws, als, t + 1))
                k -= 1
            else:
                new_live.append((s, ws + [tok], als + [al[:n].tolist()], h2, c2, tok))
        live = new_live
        t += 1
    for s, ws, als, _, _, _ in live:
        finished.append((s, ws, als, len(ws)))
    best, bv = None, -math.inf
    for f in finished:
        val = f[0] / (f[3] ** lp) if lp else f[0]
        if best is None or val > bv:
            best, bv = f, val
    return best[1], best[0], best[2]
