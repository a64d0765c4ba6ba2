#!/usr/bin/env python3
"""Reference (PyTorch, CPU) decoder for nightcap model files.

  python3 tools/reference_decoder.py --model M.h5 --features F.h5 \
      [--beam-size 3] [--max-length 20] [--length-penalty 0] [--batch-size 50] \
      [--threads N] [--limit N] [--no-attention] [--float64] --out out.json

Output JSON:
  {"images": [{"image_id": str, "tokens": [int], "caption": str, "log_prob": float,
               "attention": [[float] * num_regions] * len(tokens)}],   # omitted with --no-attention
   "seconds": float, "images_per_second": float,
   "model": str, "features": str, "beam_size": int, "max_length": int, "length_penalty": float}
"seconds" covers decoding only (not file I/O or model loading).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nightcap_model as nm  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--features", required=True)
    p.add_argument("--beam-size", type=int, default=3)
    p.add_argument("--max-length", type=int, default=20)
    p.add_argument("--length-penalty", type=float, default=0.0)
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--no-attention", action="store_true")
    p.add_argument("--float64", action="store_true", help="compute in float64 instead of float32")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.beam_size < 1 or a.max_length < 1 or a.batch_size < 1:
        p.error("--beam-size, --max-length and --batch-size must be >= 1")

    dtype = torch.float64 if a.float64 else torch.float32
    model = nm.load_model_h5(a.model, dtype=dtype)
    feats, nr, ids = nm.load_features_h5(a.features, limit=a.limit)
    if feats.shape[2] != model.feature_dim:
        sys.exit(f"error: features have D={feats.shape[2]} but the model expects D={model.feature_dim}")
    ft = torch.from_numpy(feats).to(dtype)
    nrt = torch.from_numpy(nr)

    t0 = time.perf_counter()
    res = nm.decode_batched(model, ft, nrt, batch_size=a.batch_size, beam_size=a.beam_size,
                            max_length=a.max_length, length_penalty=a.length_penalty,
                            return_attention=not a.no_attention)
    secs = time.perf_counter() - t0

    images = []
    for iid, r in zip(ids, res):
        d = {"image_id": iid, "tokens": [int(t) for t in r.tokens],
             "caption": nm.caption_text(model, r.tokens), "log_prob": float(r.log_prob)}
        if not a.no_attention:
            d["attention"] = [[float(x) for x in row] for row in r.attention]
        images.append(d)
    out = {"images": images, "seconds": secs,
           "images_per_second": (len(images) / secs) if secs > 0 else None,
           "model": os.path.basename(a.model), "features": os.path.basename(a.features),
           "beam_size": a.beam_size, "max_length": a.max_length, "length_penalty": a.length_penalty}
    with open(a.out, "w") as f:
        json.dump(out, f)
    print(f"decoded {len(images)} images in {secs:.3f}s "
          f"({out['images_per_second'] or 0:.1f} images/s) -> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
