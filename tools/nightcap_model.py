"""Reference PyTorch implementation of the nightcap Show-Attend-and-Tell decoder.

Contents
  * ShowAttendTell      -- nn.Module whose state_dict() keys are exactly the tensor
                           names of the nightcap model file (schemas/model-format.md).
  * beam_search         -- batched (images x hypotheses) beam search implementing the
                           nightcap search contract exactly (stable tie-breaking).
  * save_model_h5 / load_model_h5   -- the HDF5 model file.
  * save_features_h5 / load_features_h5 -- the packed region-feature file.

Only torch, numpy and h5py are needed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MODEL_TYPE = "show-attend-tell"
FORMAT_VERSION = 1
ACTIVATIONS = ("tanh", "relu")

# name -> shape expressed in the sizes V, E, D, H, A (f_beta is optional)
TENSOR_SHAPES = {
    "embedding.weight": ("V", "E"),
    "attention.image_proj.weight": ("A", "D"),
    "attention.image_proj.bias": ("A",),
    "attention.text_proj.weight": ("A", "H"),
    "attention.text_proj.bias": ("A",),
    "attention.attn_weight.weight": (1, "A"),
    "attention.attn_weight.bias": (1,),
    "init_h.weight": ("H", "D"),
    "init_h.bias": ("H",),
    "init_c.weight": ("H", "D"),
    "init_c.bias": ("H",),
    "f_beta.weight": ("D", "H"),
    "f_beta.bias": ("D",),
    "lstm.weight_ih": ("4H", "E+D"),
    "lstm.weight_hh": ("4H", "H"),
    "lstm.bias_ih": ("4H",),
    "lstm.bias_hh": ("4H",),
    "fc.weight": ("V", "H"),
    "fc.bias": ("V",),
}
OPTIONAL_TENSORS = ("f_beta.weight", "f_beta.bias")
REQUIRED_TENSORS = tuple(k for k in TENSOR_SHAPES if k not in OPTIONAL_TENSORS)
TOKEN_ATTRS = ("pad_token", "start_token", "end_token", "unk_token")


class ModelFormatError(ValueError):
    pass


# --------------------------------------------------------------------------- module


class Attention(nn.Module):
    def __init__(self, feature_dim: int, hidden_dim: int, attention_dim: int, activation: str = "tanh"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"attention activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.activation = activation
        self.image_proj = nn.Linear(feature_dim, attention_dim)
        self.text_proj = nn.Linear(hidden_dim, attention_dim)
        self.attn_weight = nn.Linear(attention_dim, 1)

    def act(self, x):
        return torch.tanh(x) if self.activation == "tanh" else torch.relu(x)

    def forward(self, feats, img_proj, mask, h):
        """feats [G,R,D] (padding zeroed), img_proj [G,R,A], mask [G,R] bool (True = valid),
        h [G,H] or [G,K,H] (K hypotheses per image, sharing the image tensors without copies)
        -> z [G,D] / [G,K,D], alpha [G,R] / [G,K,R] (exactly 0 on padding)."""
        flat = h.dim() == 2
        if flat:
            h = h.unsqueeze(1)
        pre = img_proj.unsqueeze(1) + self.text_proj(h).unsqueeze(2)      # [G,K,R,A]
        pre = pre.tanh_() if self.activation == "tanh" else pre.relu_()   # in place: no extra [G,K,R,A]
        e = torch.matmul(pre, self.attn_weight.weight[0]) + self.attn_weight.bias[0]
        e = e.masked_fill(~mask.unsqueeze(1), float("-inf"))
        alpha = torch.softmax(e, dim=-1)                      # [G,K,R]
        z = torch.bmm(alpha, feats)                            # [G,K,D]
        if flat:
            return z.squeeze(1), alpha.squeeze(1)
        return z, alpha


class ShowAttendTell(nn.Module):
    def __init__(self, vocab_size: int, embed_dim: int, feature_dim: int, hidden_dim: int,
                 attention_dim: int, activation: str = "tanh", use_f_beta: bool = True,
                 pad_token: int = 0, start_token: int = 1, end_token: int = 2, unk_token: int = 3,
                 vocab: Optional[Sequence[str]] = None):
        super().__init__()
        self.vocab_size, self.embed_dim, self.feature_dim = vocab_size, embed_dim, feature_dim
        self.hidden_dim, self.attention_dim = hidden_dim, attention_dim
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.attention = Attention(feature_dim, hidden_dim, attention_dim, activation)
        self.init_h = nn.Linear(feature_dim, hidden_dim)
        self.init_c = nn.Linear(feature_dim, hidden_dim)
        self.f_beta = nn.Linear(hidden_dim, feature_dim) if use_f_beta else None
        self.lstm = nn.LSTMCell(embed_dim + feature_dim, hidden_dim, bias=True)
        self.fc = nn.Linear(hidden_dim, vocab_size)
        self.pad_token, self.start_token = int(pad_token), int(start_token)
        self.end_token, self.unk_token = int(end_token), int(unk_token)
        self.vocab = list(vocab) if vocab is not None else [f"w{i}" for i in range(vocab_size)]

    @property
    def activation(self) -> str:
        return self.attention.activation

    @property
    def has_f_beta(self) -> bool:
        return self.f_beta is not None

    # -- pieces of the recurrence ------------------------------------------------
    def prepare(self, features: torch.Tensor, num_regions: torch.Tensor):
        """features [B,R,D], num_regions [B] -> (feats with padding zeroed, mask, img_proj, h0, c0)."""
        B, R, _ = features.shape
        mask = torch.arange(R, device=features.device).unsqueeze(0) < num_regions.unsqueeze(1)
        feats = torch.where(mask.unsqueeze(-1), features, torch.zeros((), dtype=features.dtype))
        mean = feats.sum(1) / num_regions.to(feats.dtype).unsqueeze(1)
        img_proj = self.attention.image_proj(feats)
        return feats, mask, img_proj, self.init_h(mean), self.init_c(mean)

    def step(self, words, h, c, feats, img_proj, mask):
        """One decoder step.  Either M independent hypotheses (words [M], h/c [M,H], image
        tensors [M,...]) or G images x K hypotheses (words [G*K], h/c [G*K,H], image tensors
        [G,...], hypotheses of image g in rows g*K..g*K+K-1).
        Returns (logp [rows,V], h, c, alpha [rows,R])."""
        G = feats.shape[0]
        K = h.shape[0] // G
        z, alpha = self.attention(feats, img_proj, mask, h.view(G, K, -1))
        z, alpha = z.reshape(G * K, -1), alpha.reshape(G * K, -1)
        if self.f_beta is not None:
            z = torch.sigmoid(self.f_beta(h)) * z
        x = torch.cat([self.embedding(words), z], dim=1)
        h, c = self.lstm(x, (h, c))
        logp = torch.log_softmax(self.fc(h), dim=-1)
        return logp, h, c, alpha


# --------------------------------------------------------------------------- search


@dataclass
class Hypothesis:
    tokens: List[int]            # caption words (no start / end token)
    score: float                 # raw summed log-prob (includes end token's logp if ended)
    length: int                  # len(tokens) + 1 if ended else len(tokens)
    ended: bool
    attention: Optional[np.ndarray] = None  # [len(tokens), num_regions]


@dataclass
class DecodeResult:
    tokens: List[int]
    log_prob: float
    attention: Optional[np.ndarray]          # [len(tokens), num_regions] or None
    ended: bool
    finished: List[Hypothesis] = field(default_factory=list)   # in "finished order"
    min_select_gap: float = math.inf         # min over steps of (k-th - (k+1)-th) candidate score
    final_gap: float = math.inf              # best - second best normalised final score


def _normalise(score: float, length: int, alpha: float) -> float:
    if alpha == 0.0:
        return score
    return score / (float(length) ** alpha)


@torch.no_grad()
def beam_search(model: ShowAttendTell, features: torch.Tensor, num_regions: torch.Tensor,
                beam_size: int = 3, max_length: int = 20, length_penalty: float = 0.0,
                return_attention: bool = True, keep_finished: bool = False) -> List[DecodeResult]:
    """Batched beam search over B images (features [B,R,D], num_regions [B]).

    Live hypotheses live in slots [B, K]; slots 0..n_b-1 of image b are its live
    hypotheses in kept order (best first).  Every step runs all live slots of the
    batch through the decoder at once.  Selection per image is a stable sort of the
    flattened (hyp, token) candidate index on -score, done exactly via
    "threshold by topk, then stable-sort everything >= threshold".
    """
    if beam_size < 1:
        raise ValueError("beam_size must be >= 1")
    if max_length < 1:
        raise ValueError("max_length must be >= 1")
    dtype = next(model.parameters()).dtype
    features = features.to(dtype)
    num_regions = num_regions.to(torch.long)
    B, R, _ = features.shape
    if B == 0:
        return []
    if int(num_regions.min()) < 1 or int(num_regions.max()) > R:
        raise ValueError(f"num_regions must be in 1...{R}")
    K, V, L = beam_size, model.vocab_size, max_length
    END = model.end_token
    dev = features.device
    feats, mask, img_proj, h0, c0 = model.prepare(features, num_regions)
    ninf = float("-inf")

    # State of the *active* images only (images with hypotheses still wanted); when images
    # finish, all per-image and per-slot tensors are compacted once (no per-step copies of
    # the large feature tensors).
    act = torch.arange(B, device=dev)                                     # original image index
    valid = torch.zeros(B, K, dtype=torch.bool, device=dev)
    valid[:, 0] = True
    score = torch.full((B, K), ninf, dtype=dtype, device=dev)
    score[:, 0] = 0
    h = h0.repeat_interleave(K, 0)
    c = c0.repeat_interleave(K, 0)
    words = torch.full((B * K,), model.start_token, dtype=torch.long, device=dev)
    tok_hist = torch.full((B * K, L), -1, dtype=torch.long, device=dev)
    att_hist = torch.zeros((B * K, L, R), dtype=dtype, device=dev) if return_attention else None
    want = torch.full((B,), K, dtype=torch.long, device=dev)             # k per image
    nreg = num_regions.tolist()

    finished: List[List[Hypothesis]] = [[] for _ in range(B)]
    min_gap = [math.inf] * B
    steps_done = 0

    for t in range(L):
        Ba = act.numel()
        if Ba == 0:
            break
        S = Ba * K
        # every slot (dead ones too: they carry score -inf) goes through the step as matmuls
        logp, h_next, c_next, alpha = model.step(words, h, c, feats, img_proj, mask)
        steps_done = t + 1

        cand = (score.unsqueeze(-1) + logp.view(Ba, K, V)).view(Ba, K * V)  # dead slots: -inf
        top = torch.topk(cand, min(K + 1, K * V), dim=1).values              # [Ba, K+1], values only
        thr = top.gather(1, (want - 1).unsqueeze(1))                          # k-th best value
        if keep_finished:  # robustness bookkeeping: gap between k-th and (k+1)-th candidate
            nxt = top.gather(1, want.clamp(max=top.shape[1] - 1).unsqueeze(1))
            for b, g in zip(act.tolist(), (thr - nxt).squeeze(1).tolist()):
                min_gap[b] = min(min_gap[b], g)
        # exact selection: everything >= threshold, stable-sorted by (-score, flat index)
        sb, sidx = (cand >= thr).nonzero(as_tuple=True)                      # row-major: b, then idx
        sval = cand[sb, sidx]
        o = torch.sort(-sval, stable=True).indices
        sb, sidx, sval = sb[o], sidx[o], sval[o]
        o = torch.sort(sb, stable=True).indices                              # group by image
        sb, sidx, sval = sb[o], sidx[o], sval[o]
        cnt = torch.bincount(sb, minlength=Ba)
        start = torch.cumsum(cnt, 0) - cnt
        rank = torch.arange(sb.numel(), device=dev) - start[sb]
        keep = rank < want[sb]
        sb, sidx, sval = sb[keep], sidx[keep], sval[keep]
        hyp, tok = sidx // V, sidx % V
        src = sb * K + hyp
        is_end = tok == END

        # finished hypotheses of this step, in (image, kept) order
        if bool(is_end.any()):
            fe = is_end.nonzero().squeeze(1)
            for b, s, v in zip(act[sb[fe]].tolist(), src[fe].tolist(), sval[fe].tolist()):
                att = att_hist[s, :t, :nreg[b]].cpu().numpy() if return_attention else None
                finished[b].append(Hypothesis(tok_hist[s, :t].tolist(), float(v), t + 1, True, att))
            want = want - torch.bincount(sb[is_end], minlength=Ba)

        # surviving hypotheses -> compact slots 0..n-1 in kept order
        ne = ~is_end
        nb, nsrc, ntok, nval = sb[ne], src[ne], tok[ne], sval[ne]
        ncnt = torch.bincount(nb, minlength=Ba)
        pos = torch.arange(nb.numel(), device=dev) - (torch.cumsum(ncnt, 0) - ncnt)[nb]
        dst = nb * K + pos
        valid = torch.zeros(S, dtype=torch.bool, device=dev)
        valid[dst] = True
        score = torch.full((S,), ninf, dtype=dtype, device=dev)
        score[dst] = nval
        h = torch.zeros_like(h_next)
        c = torch.zeros_like(c_next)
        h[dst], c[dst] = h_next[nsrc], c_next[nsrc]
        words = torch.full((S,), model.start_token, dtype=torch.long, device=dev)
        words[dst] = ntok
        nt = torch.full_like(tok_hist, -1)
        nt[dst] = tok_hist[nsrc]
        nt[dst, t] = ntok
        tok_hist = nt
        if return_attention:
            na = torch.zeros_like(att_hist)
            na[dst] = att_hist[nsrc]
            na[dst, t] = alpha[nsrc]
            att_hist = na
        valid, score = valid.view(Ba, K), score.view(Ba, K)

        # drop images that need no more hypotheses
        still = want > 0
        if not bool(still.all()):
            act, want = act[still], want[still]
            feats, mask, img_proj = feats[still], mask[still], img_proj[still]
            valid, score = valid[still], score[still]
            rows = still.repeat_interleave(K)
            h, c, words, tok_hist = h[rows], c[rows], words[rows], tok_hist[rows]
            if return_attention:
                att_hist = att_hist[rows]

    # hypotheses still live are finished as they are (slot order == kept order)
    n = steps_done
    acts = act.tolist()
    scores_l = score.tolist()
    for b, j in valid.nonzero().tolist():
        s = b * K + j
        ob = acts[b]
        att = att_hist[s, :n, :nreg[ob]].cpu().numpy() if return_attention else None
        finished[ob].append(Hypothesis(tok_hist[s, :n].tolist(), float(scores_l[b][j]), n, False, att))

    results = []
    for b in range(B):
        fin = finished[b]
        best_i, best_v = 0, _normalise(fin[0].score, fin[0].length, length_penalty)
        norms = [best_v]
        for i in range(1, len(fin)):
            v = _normalise(fin[i].score, fin[i].length, length_penalty)
            norms.append(v)
            if v > best_v:
                best_i, best_v = i, v
        others = [v for i, v in enumerate(norms) if i != best_i]
        final_gap = best_v - max(others) if others else math.inf
        best = fin[best_i]
        results.append(DecodeResult(best.tokens, best.score, best.attention, best.ended,
                                    fin if keep_finished else [], min_gap[b], final_gap))
    return results


@torch.no_grad()
def decode_batched(model, features, num_regions, batch_size: int = 50, **kw) -> List[DecodeResult]:
    out = []
    for i in range(0, features.shape[0], batch_size):
        out.extend(beam_search(model, features[i:i + batch_size], num_regions[i:i + batch_size], **kw))
    return out


def caption_text(model: ShowAttendTell, tokens: Sequence[int]) -> str:
    return " ".join(model.vocab[t] for t in tokens)


# --------------------------------------------------------------------------- HDF5 model file


def _str_attr(v) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, np.ndarray) and v.shape == ():
        v = v[()]
        if isinstance(v, bytes):
            return v.decode("utf-8")
    return str(v)


def save_model_h5(path: str, state: dict, vocab: Sequence[str], activation: str,
                  pad_token: int, start_token: int, end_token: int, unk_token: int,
                  float16: bool = False) -> None:
    """Write a nightcap model file from a state dict with the canonical names.
    Validates the state dict before writing."""
    tensors = {k: (v.detach().cpu().numpy() if torch.is_tensor(v) else np.asarray(v)) for k, v in state.items()}
    validate_tensors(tensors, vocab, activation, dict(pad_token=pad_token, start_token=start_token,
                                                      end_token=end_token, unk_token=unk_token))
    dt = "f2" if float16 else "f4"
    with h5py.File(path, "w") as f:
        for name in TENSOR_SHAPES:
            if name in tensors:
                f.create_dataset(name, data=np.asarray(tensors[name], dtype=np.float64).astype(dt))
        f.create_dataset("vocab", data=np.array(list(vocab), dtype=object), dtype=h5py.string_dtype("utf-8"))
        f.attrs["model_type"] = MODEL_TYPE
        f.attrs["format_version"] = np.int64(FORMAT_VERSION)
        f.attrs["attention_activation"] = activation
        for k, v in (("pad_token", pad_token), ("start_token", start_token),
                     ("end_token", end_token), ("unk_token", unk_token)):
            f.attrs[k] = np.int64(v)


def save_model(path: str, model: ShowAttendTell, float16: bool = False) -> None:
    save_model_h5(path, model.state_dict(), model.vocab, model.activation, model.pad_token,
                  model.start_token, model.end_token, model.unk_token, float16=float16)


def infer_sizes(tensors: dict) -> dict:
    V, E = tensors["embedding.weight"].shape
    A, D = tensors["attention.image_proj.weight"].shape
    H = tensors["init_h.weight"].shape[0]
    return dict(V=V, E=E, D=D, H=H, A=A)


def validate_tensors(tensors: dict, vocab: Sequence[str], activation: str, tokens: dict) -> dict:
    missing = [k for k in REQUIRED_TENSORS if k not in tensors]
    if missing:
        raise ModelFormatError(f"missing tensors: {', '.join(missing)}")
    fb = [k for k in OPTIONAL_TENSORS if k in tensors]
    if len(fb) == 1:
        raise ModelFormatError(f"f_beta.weight and f_beta.bias must both be present or both absent (found only {fb[0]})")
    for k in tensors:
        if k in TENSOR_SHAPES and np.asarray(tensors[k]).ndim != len(TENSOR_SHAPES[k]):
            raise ModelFormatError(f"{k}: expected rank {len(TENSOR_SHAPES[k])}, got shape {tuple(np.shape(tensors[k]))}")
    s = infer_sizes(tensors)
    env = dict(s)
    env["4H"] = 4 * s["H"]
    env["E+D"] = s["E"] + s["D"]
    for k, shape in TENSOR_SHAPES.items():
        if k not in tensors:
            continue
        want = tuple(env[d] if isinstance(d, str) else d for d in shape)
        got = tuple(np.shape(tensors[k]))
        if got != want:
            raise ModelFormatError(f"{k}: expected shape {want} ({'x'.join(map(str, shape))}), got {got}")
        arr = np.asarray(tensors[k], dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise ModelFormatError(f"{k}: contains non-finite values")
    if len(vocab) != s["V"]:
        raise ModelFormatError(f"vocab has {len(vocab)} entries but embedding.weight has V={s['V']} rows")
    if activation not in ACTIVATIONS:
        raise ModelFormatError(f"attention_activation must be 'tanh' or 'relu', got {activation!r}")
    for k in TOKEN_ATTRS:
        v = tokens.get(k)
        if v is None:
            raise ModelFormatError(f"missing token id {k}")
        if not (0 <= int(v) < s["V"]):
            raise ModelFormatError(f"{k}={v} out of range 0..{s['V'] - 1}")
    if int(tokens["start_token"]) == int(tokens["end_token"]):
        raise ModelFormatError("start_token and end_token must differ")
    return s


def load_model_h5(path: str, dtype: torch.dtype = torch.float32) -> ShowAttendTell:
    """Read a model file.  float16 datasets are converted f16 -> f32 (or f64) exactly."""
    with h5py.File(path, "r") as f:
        attrs = {k: f.attrs[k] for k in f.attrs}
        mt = _str_attr(attrs.get("model_type", ""))
        if mt != MODEL_TYPE:
            raise ModelFormatError(f"model_type must be {MODEL_TYPE!r}, got {mt!r}")
        fv = attrs.get("format_version")
        if fv is None or int(np.asarray(fv)) != FORMAT_VERSION:
            raise ModelFormatError(f"unsupported format_version {fv!r} (expected {FORMAT_VERSION})")
        activation = _str_attr(attrs.get("attention_activation", "tanh"))
        tokens = {}
        for k in TOKEN_ATTRS:
            if k not in attrs:
                raise ModelFormatError(f"missing root attribute {k}")
            tokens[k] = int(np.asarray(attrs[k]))
        tensors = {}
        for k in TENSOR_SHAPES:
            if k in f:
                ds = f[k]
                if ds.dtype not in (np.dtype("f2"), np.dtype("f4"), np.dtype("<f2"), np.dtype("<f4"),
                                    np.dtype(">f2"), np.dtype(">f4")):
                    raise ModelFormatError(f"{k}: dtype {ds.dtype} not float16/float32")
                tensors[k] = ds[()].astype(np.float32)
        if "vocab" not in f:
            raise ModelFormatError("missing dataset vocab")
        vocab = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in f["vocab"][()].tolist()]
    s = validate_tensors(tensors, vocab, activation, tokens)
    model = ShowAttendTell(s["V"], s["E"], s["D"], s["H"], s["A"], activation,
                           use_f_beta="f_beta.weight" in tensors, vocab=vocab, **tokens)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=True)
    model.eval()
    return model.to(dtype)


# --------------------------------------------------------------------------- features file


def save_features_h5(path: str, features: np.ndarray, num_regions: Optional[np.ndarray] = None,
                     image_ids: Optional[Sequence] = None) -> None:
    with h5py.File(path, "w") as f:
        f.create_dataset("features", data=np.asarray(features, dtype=np.float32))
        if num_regions is not None:
            f.create_dataset("num_regions", data=np.asarray(num_regions, dtype=np.int32))
        if image_ids is not None:
            ids = list(image_ids)
            if all(isinstance(i, (int, np.integer)) for i in ids):
                f.create_dataset("image_ids", data=np.asarray(ids, dtype=np.int64))
            else:
                f.create_dataset("image_ids", data=np.array([str(i) for i in ids], dtype=object),
                                 dtype=h5py.string_dtype("utf-8"))


def load_features_h5(path: str, limit: Optional[int] = None):
    """Returns (features float32/64 numpy [N,R,D], num_regions int64 [N], image_ids list[str])."""
    with h5py.File(path, "r") as f:
        if "features" not in f:
            raise ValueError(f"{path}: missing dataset 'features'")
        ds = f["features"]
        if ds.ndim != 3:
            raise ValueError(f"{path}: features must be [N,R,D], got shape {ds.shape}")
        n = ds.shape[0] if limit is None else min(limit, ds.shape[0])
        feats = ds[:n]
        if feats.dtype == np.float16:
            feats = feats.astype(np.float32)
        R = feats.shape[1]
        if "num_regions" in f:
            nr = f["num_regions"][:n].astype(np.int64)
        else:
            nr = np.full((n,), R, dtype=np.int64)
        if "image_ids" in f:
            raw = f["image_ids"][:n].tolist()
            ids = [r.decode("utf-8") if isinstance(r, bytes) else str(r) for r in raw]
        else:
            ids = [str(i) for i in range(n)]
    if n and (nr.min() < 1 or nr.max() > R):
        raise ValueError(f"{path}: num_regions must be in 1...{R}")
    return feats, nr, ids
