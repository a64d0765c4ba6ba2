#!/usr/bin/env python3
"""nightcap's Transformer family against self-critical.pytorch's own model code under PyTorch eager
(issue 15; docs/performance.md). Run it through run.sh.

  python3 bench/transformer/bench.py --nightcap .build/release/nightcap --ceiling WORK/sgemm_ceiling \
      --upstream /path/to/self-critical.pytorch --work bench/.work-transformer [--greedy-images 300] [--beam-images 150]

The image counts default to 300 greedy and 150 beam 5: a user evaluates a 5,000-image split, so
nightcap's start-up (about a second: reading, hashing and laying out the 220 MB checkpoint) must not
weigh as it does on 30 images, while upstream's side (as eval.py measures it, model already loaded)
has none; 150 beam-5 images keep upstream's side near 100 s.

In one run, on one machine, with the same weights and features:
  1. a random Transformer at the zoo's size (configs/transformer/transformer.yml: 6 + 6 layers,
     d_model 512, 8 heads, d_ff 2048; 2,048-d regions, 36 per image, vocabulary 9,487 + end token),
     built by upstream's models.setup and saved with torch.save beside an infos pickle; its end token
     never wins (generator.proj bias -100), so every caption runs 20 words;
  2. upstream's model(fc, att, None, opt, mode='sample') as eval_utils.eval_split calls it, batches of
     10 (eval.py's default from the infos), torch.set_num_threads(2), greedy and beam 5: decoding only
     (features already in memory; upstream re-decodes each hypothesis's prefix at every step);
  3. `nightcap run --threads 2` end to end (model .pth and infos read natively, HDF5 features, decode,
     SQLite with full attention, metrics), greedy and beam 5; its start-up (process start to the run's
     row: checkpoint read, hashed and laid out, plan validated; and to the first shard's commit) is
     reported beside it, with the rate after start-up;
  4. the sgemm ceiling of this machine's OpenBLAS at the step's product mix (sgemm_ceiling.c);
  5. parity: the captions of both, image for image.
Writes WORK/results.md and WORK/results.json.
"""
import argparse
from datetime import datetime, timezone
import json
import os
import pickle
import sqlite3
import subprocess
import sys
import time

import h5py
import numpy as np
import torch

V, D, K = 9487, 2048, 36
N_ENC, N_DEC, D_MODEL, D_FF, HEADS = 6, 6, 512, 2048, 8
MAX_LENGTH = 20


def log(message):
    print(message, file=sys.stderr, flush=True)


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def multiply_adds(beam):
    """Multiply-adds of one image that runs all 20 steps, with cached keys and values (nightcap's
    count: the encoder once, then one token per hypothesis and step)."""
    d, f = D_MODEL, D_FF
    once = K * D * d + N_ENC * K * (4 * d * d + 2 * d * f) + N_ENC * 2 * K * K * d + N_DEC * K * 2 * d * d
    rows = MAX_LENGTH if beam == 1 else 1 + (MAX_LENGTH - 1) * beam
    per_row = N_DEC * (6 * d * d + 2 * d * f + 2 * K * d) + d * (V + 1)
    prefix = N_DEC * 2 * d * (MAX_LENGTH + 1) / 2  # self-attention over the cached prefix, on average
    return once + rows * (per_row + prefix)


def make_workload(upstream, work, counts):
    sys.path.insert(0, os.path.abspath(upstream))
    import captioning.models as models
    import captioning.utils.opts as opts
    saved = sys.argv
    sys.argv = [saved[0], "--caption_model", "transformer", "--input_encoding_size", str(D_MODEL), "--rnn_size", str(D_FF),
                "--num_layers", str(N_ENC), "--att_feat_size", str(D), "--input_att_dir", "data/cocobu_att", "--id", "zoo"]
    try:
        opt = opts.parse_opt()
    finally:
        sys.argv = saved
    opt.vocab_size = V
    opt.N_enc, opt.N_dec, opt.d_model, opt.d_ff, opt.num_att_heads = N_ENC, N_DEC, D_MODEL, D_FF, HEADS
    vocab = {str(i): f"w{i}" for i in range(1, V)}
    vocab[str(V)] = "UNK"
    opt.vocab = vocab
    torch.manual_seed(0)
    model = models.setup(opt)
    del opt.vocab
    with torch.no_grad():
        model.model.generator.proj.bias[0] = -100.0  # the end token never wins: every caption runs 20 words
    model.eval()
    os.makedirs(os.path.join(work, "log_zoo"), exist_ok=True)
    torch.save(model.state_dict(), os.path.join(work, "log_zoo", "model-best.pth"))
    with open(os.path.join(work, "log_zoo", "infos_zoo-best.pkl"), "wb") as f:
        pickle.dump({"opt": opt, "vocab": vocab, "iter": 0, "epoch": 0}, f, protocol=2)
    images = max(counts)
    g = np.random.RandomState(1)
    feats = np.maximum(g.normal(0, 1, (images, K, D)), 0).astype(np.float32)
    for count in set(counts):  # the first `count` images, one file per run size
        with h5py.File(os.path.join(work, f"features-{count}.h5"), "w") as f:
            f.create_dataset("features", data=feats[:count])
            f.create_dataset("num_regions", data=np.full(count, K, dtype=np.int32))
            f.create_dataset("image_ids", data=np.arange(1, count + 1, dtype=np.int64))
    anns = [{"id": i, "image_id": i, "caption": "w1 w2 w3"} for i in range(1, images + 1)]
    with open(os.path.join(work, "references.json"), "w") as f:
        json.dump({"images": [{"id": i} for i in range(1, images + 1)], "annotations": anns}, f)
    return model, feats, vocab


def upstream_decode(model, feats, vocab, beam, batch=10):
    import captioning.utils.misc as misc
    torch.set_num_threads(2)
    opt = {"beam_size": beam, "max_length": MAX_LENGTH, "sample_method": "greedy", "sample_n": 1, "suppress_UNK": 1,
           "remove_bad_endings": 0, "length_penalty": "", "temperature": 1.0, "group_size": 1}
    model.seq_length = MAX_LENGTH
    captions = []
    started = time.perf_counter()
    with torch.no_grad():
        for first in range(0, len(feats), batch):
            att = torch.from_numpy(feats[first:first + batch])
            fc = att.new_zeros(att.shape[0], 0)  # use_fc is False for the transformer
            seq, _ = model(fc, att, None, opt=opt, mode="sample")
            captions += misc.decode_sequence(vocab, seq)
    return time.perf_counter() - started, captions


def timestamp(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def nightcap_run(binary, work, images, beam, shard_size):
    db = os.path.join(work, f"nightcap-beam{beam}.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    launched = time.time()
    started = time.perf_counter()
    before = os.times()
    subprocess.run([binary, "run", "--features", os.path.join(work, f"features-{images}.h5"),
                    "--model", os.path.join(work, "log_zoo", "model-best.pth"),
                    "--references", os.path.join(work, "references.json"), "--db", db, "--threads", "2",
                    "--beam-size", str(beam), "--max-length", str(MAX_LENGTH), "--shard-size", str(shard_size), "--quiet"],
                   check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    ended = time.time()
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    with sqlite3.connect(db) as connection:
        rows = connection.execute("select image_id, caption from captions order by image_index").fetchall()
        created = timestamp(connection.execute("select created_at from runs").fetchone()[0])
        committed = [timestamp(t) for (t,) in connection.execute("select finished_at from shards")]
    timing = {"to_run_row": created - launched, "to_first_shard": min(committed) - launched,
              "after_start_images_per_s": images / (ended - created), "cpu_seconds": cpu}
    return seconds, [caption for _, caption in rows], timing


def ceiling(binary, rows):
    out = subprocess.run([binary, "2", str(rows), "0.6"], check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1].split()[1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nightcap", required=True)
    p.add_argument("--ceiling", required=True)
    p.add_argument("--upstream", default="/work/upstream/self-critical.pytorch")
    p.add_argument("--work", default="bench/.work-transformer")
    p.add_argument("--greedy-images", type=int, default=300)
    p.add_argument("--beam-images", type=int, default=150)
    p.add_argument("--images", type=int, help="both image counts")
    a = p.parse_args()
    if a.images:
        a.greedy_images = a.beam_images = a.images
    counts = {1: a.greedy_images, 5: a.beam_images}
    os.makedirs(a.work, exist_ok=True)
    results = {"load_before": load_average(), "images": {"greedy": a.greedy_images, "beam5": a.beam_images}}
    log("writing the workload (random zoo-size Transformer, features, references)")
    model, feats, vocab = make_workload(a.upstream, a.work, list(counts.values()))
    for beam in (1, 5):
        name = "greedy" if beam == 1 else f"beam{beam}"
        images = counts[beam]
        # Two shards, so both worker threads are busy from the start; each decodes its shard in
        # sub-batches (greedy: up to 256 images, one product row each; beam 5: up to 128 images in
        # passes of up to 25, 125 rows).
        shard = (images + 1) // 2
        log(f"{name}: upstream (PyTorch eager, 2 threads), {images} images")
        up_seconds, up_captions = upstream_decode(model, feats[:images], vocab, beam)
        log(f"{name}: nightcap run (2 threads), {images} images")
        nc_seconds, nc_captions, timing = nightcap_run(os.path.abspath(a.nightcap), a.work, images, beam, shard)
        same = sum(x == y for x, y in zip(up_captions, nc_captions))
        gflop = 2 * multiply_adds(beam) / 1e9
        rows = min(shard, 256) if beam == 1 else min(shard, 128 // beam) * beam
        peak = ceiling(os.path.abspath(a.ceiling), rows)
        results[name] = {"images": images, "upstream_seconds": up_seconds, "upstream_images_per_s": images / up_seconds,
                         "nightcap_seconds": nc_seconds, "nightcap_images_per_s": images / nc_seconds,
                         "speedup": up_seconds / nc_seconds, "same_captions": same, "gflop_per_image": gflop,
                         "ceiling_gflops": peak, "ceiling_images_per_s": peak / gflop, "rows_per_step": rows, **timing}
        log(json.dumps(results[name]))
    results["load_after"] = load_average()
    for n in ("greedy", "beam5"):
        results[n]["cpu_per_image"] = results[n]["cpu_seconds"] / results[n]["images"]
    with open(os.path.join(a.work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    lines = ["| | greedy | beam 5 |", "|---|---|---|"]

    def row(label, key, fmt):
        lines.append(f"| {label} | " + " | ".join(fmt.format(results[n][key]) for n in ("greedy", "beam5")) + " |")
    row("images", "images", "{}")
    row("upstream (PyTorch eager, 2 threads), images/s", "upstream_images_per_s", "{:.2f}")
    row("nightcap run end to end (2 threads), images/s", "nightcap_images_per_s", "{:.2f}")
    row("**speed-up** (goal: 3x greedy, 5x beam 5)", "speedup", "**{:.2f}x**")
    row("nightcap start-up: process start to the run's row (s)", "to_run_row", "{:.2f}")
    row("nightcap: process start to the first shard committed (s)", "to_first_shard", "{:.2f}")
    row("nightcap after start-up (run's row to exit), images/s", "after_start_images_per_s", "{:.2f}")
    row("nightcap CPU (user + sys) per image (s)", "cpu_per_image", "{:.3f}")
    row("GFLOP per image (products)", "gflop_per_image", "{:.2f}")
    row("sgemm ceiling at the step's product mix (2 threads), GFLOP/s", "ceiling_gflops", "{:.1f}")
    row("sgemm ceiling, images/s", "ceiling_images_per_s", "{:.2f}")
    row("hypotheses per product (nightcap)", "rows_per_step", "{}")
    row("identical captions", "same_captions", "{}")
    lines.append(f"\nload average before {' '.join(results['load_before'])}, after {' '.join(results['load_after'])} (2 cores)")
    table = "\n".join(lines)
    with open(os.path.join(a.work, "results.md"), "w") as f:
        f.write(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
