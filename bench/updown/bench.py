#!/usr/bin/env python3
"""nightcap's UpDown family against self-critical.pytorch's own model code under PyTorch eager
(issue 14; docs/performance.md). Run it through run.sh.

  python3 bench/updown/bench.py --nightcap .build/release/nightcap --ceiling WORK/sgemm_ceiling \
      --upstream /path/to/self-critical.pytorch --work bench/.work-updown [--images 500] [--beam-images 250]

In one run, on one machine, with the same weights and features:
  1. a random UpDown model at the zoo's size (E = R = 1000, A = 512, 2,048-d regions, 36 per image,
     vocabulary 9,487 + end token), built by upstream's models.setup and saved with torch.save beside
     an infos pickle; its end token never wins (logit bias -100), so every caption runs 20 words;
  2. upstream's model(fc, att, None, opt, mode='sample') as eval_utils.eval_split calls it, batches of
     10 (eval.py's default from the infos), torch.set_num_threads(2), greedy and beam 5: decoding only
     (features already in memory, fc = att.mean(1) as the dataloader);
  3. `nightcap run --threads 2` end to end (model .pth and infos read natively, HDF5 features, decode,
     SQLite with full attention, metrics), greedy and beam 5, at nightcap's default shard size; its
     start-up (process start to the run's row, i.e. model read, hashed and built; to the first shard
     committed) and its rate after the run's row are reported apart;
  4. the sgemm ceiling of this machine's OpenBLAS at the step's product mix (sgemm_ceiling.c), as
     nightcap runs the products: two single-threaded probes at once (one per core), each at the rows
     of one of nightcap's sub-batches (128 images x beam);
  5. parity: the captions of both, image for image.
Greedy and beam 5 run on different image counts (default 500 and 250): a user evaluates a 5,000-image
split, so a run's one-off start-up (reading and hashing a 208 MB checkpoint) must weigh as little as
it does there; both counts keep a run past start-up for several seconds on 2 cores, and upstream
decodes the same images in the same run.
Writes WORK/results.md and WORK/results.json.
"""
import argparse
import json
from datetime import datetime, timezone
import os
import pickle
import sqlite3
import subprocess
import sys
import time

import h5py
import numpy as np
import torch

V, E, R, A, D, K = 9487, 1000, 1000, 512, 2048, 36
MAX_LENGTH = 20


def log(message):
    print(message, file=sys.stderr, flush=True)


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def multiply_adds(beam):
    """Multiply-adds of one image that runs all 20 steps (upstream's step count)."""
    once = K * D * R + K * R * A + D * R + R * 4 * R  # att_embed, ctx2att, fc_embed, fc part of att_lstm
    per_row = (E + 2 * R) * 4 * R + R * 4 * R + R * A + K * A + K * R + 2 * R * 4 * R + R * 4 * R + R * (V + 1)
    rows = MAX_LENGTH if beam == 1 else 1 + (MAX_LENGTH - 1) * beam
    return once + rows * per_row


def make_workload(upstream, work, images):
    sys.path.insert(0, os.path.abspath(upstream))
    import captioning.models as models
    import captioning.utils.opts as opts
    saved = sys.argv
    sys.argv = [saved[0], "--caption_model", "updown", "--input_encoding_size", str(E), "--rnn_size", str(R),
                "--att_hid_size", str(A), "--fc_feat_size", str(D), "--att_feat_size", str(D),
                "--input_fc_dir", "data/cocobu_fc", "--input_att_dir", "data/cocobu_att", "--id", "zoo"]
    try:
        opt = opts.parse_opt()
    finally:
        sys.argv = saved
    opt.vocab_size = V
    vocab = {str(i): f"w{i}" for i in range(1, V)}
    vocab[str(V)] = "UNK"
    opt.vocab = vocab
    torch.manual_seed(0)
    model = models.setup(opt)
    del opt.vocab
    with torch.no_grad():
        model.logit.bias[0] = -100.0  # the end token never wins: every caption runs 20 words
    model.eval()
    os.makedirs(os.path.join(work, "log_zoo"), exist_ok=True)
    torch.save(model.state_dict(), os.path.join(work, "log_zoo", "model-best.pth"))
    with open(os.path.join(work, "log_zoo", "infos_zoo-best.pkl"), "wb") as f:
        pickle.dump({"opt": opt, "vocab": vocab, "iter": 0, "epoch": 0}, f, protocol=2)
    g = np.random.RandomState(1)
    feats = np.maximum(g.normal(0, 1, (images, K, D)), 0).astype(np.float32)
    with h5py.File(os.path.join(work, "features.h5"), "w") as f:
        f.create_dataset("features", data=feats)
        f.create_dataset("num_regions", data=np.full(images, K, dtype=np.int32))
        f.create_dataset("image_ids", data=np.arange(1, images + 1, dtype=np.int64))
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
            fc = att.mean(1)
            seq, _ = model(fc, att, None, opt=opt, mode="sample")
            captions += misc.decode_sequence(vocab, seq)
    return time.perf_counter() - started, captions


def nightcap_run(binary, work, features, beam):
    db = os.path.join(work, f"nightcap-beam{beam}.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    launched = time.time()
    started = time.perf_counter()
    subprocess.run([binary, "run", "--features", features,
                    "--model", os.path.join(work, "log_zoo", "model-best.pth"),
                    "--references", os.path.join(work, "references.json"), "--db", db, "--threads", "2",
                    "--beam-size", str(beam), "--max-length", str(MAX_LENGTH), "--quiet"],
                   check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started

    def stamp(text):
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()
    with sqlite3.connect(db) as connection:
        rows = connection.execute("select image_id, caption from captions order by image_index").fetchall()
        created = stamp(connection.execute("select created_at from runs").fetchone()[0])
        committed = [stamp(t) for (t,) in connection.execute("select finished_at from shards")]
    timing = {"to_run_row": created - launched, "to_first_shard": min(committed) - launched}
    return seconds, [caption for _, caption in rows], timing


def ceiling(binary, rows):
    """Two single-threaded probes at once, one per core, as nightcap's two workers: their summed rate."""
    probes = [subprocess.Popen([binary, "1", str(rows), "0.6"], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    rates = []
    for probe in probes:
        out, _ = probe.communicate()
        if probe.returncode != 0:
            sys.exit(f"sgemm_ceiling failed ({probe.returncode})")
        rates.append(float(out.strip().splitlines()[-1].split()[1]))
    return sum(rates)


def subset(work, feats, images):
    """The first `images` images of the workload as their own features file."""
    path = os.path.join(work, f"features-{images}.h5")
    with h5py.File(path, "w") as f:
        f.create_dataset("features", data=feats[:images])
        f.create_dataset("num_regions", data=np.full(images, K, dtype=np.int32))
        f.create_dataset("image_ids", data=np.arange(1, images + 1, dtype=np.int64))
    return path


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nightcap", required=True)
    p.add_argument("--ceiling", required=True)
    p.add_argument("--upstream", default="/work/upstream/self-critical.pytorch")
    p.add_argument("--work", default="bench/.work-updown")
    p.add_argument("--images", type=int, default=500, help="images of the greedy run")
    p.add_argument("--beam-images", type=int, default=250, help="images of the beam runs")
    p.add_argument("--beams", default="1,5", help="beam sizes to measure (1 is greedy), e.g. 5")
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    beams = [int(b) for b in a.beams.split(",")]
    counts = {beam: a.images if beam == 1 else a.beam_images for beam in beams}
    results = {"load_before": load_average(), "images": a.images, "beam_images": a.beam_images}
    log("writing the workload (random zoo-size UpDown model, features, references)")
    model, feats, vocab = make_workload(a.upstream, a.work, max(counts.values()))
    for beam in beams:
        name = "greedy" if beam == 1 else f"beam{beam}"
        images = counts[beam]
        features = subset(a.work, feats, images)
        load = load_average()
        log(f"{name}, {images} images: upstream (PyTorch eager, 2 threads)")
        up_seconds, up_captions = upstream_decode(model, feats[:images], vocab, beam)
        log(f"{name}, {images} images: nightcap run (2 threads)")
        nc_seconds, nc_captions, timing = nightcap_run(os.path.abspath(a.nightcap), a.work, features, beam)
        same = sum(x == y for x, y in zip(up_captions, nc_captions))
        gflop = 2 * multiply_adds(beam) / 1e9
        rows = min(128, images) * beam  # one sub-batch of nightcap's (ShardProcessor.decodeBatchSize)
        peak = ceiling(os.path.abspath(a.ceiling), rows)
        results[name] = {"images": images, "load_before": load,
                         "upstream_seconds": up_seconds, "upstream_images_per_s": images / up_seconds,
                         "nightcap_seconds": nc_seconds, "nightcap_images_per_s": images / nc_seconds,
                         "nightcap_to_run_row": timing["to_run_row"], "nightcap_to_first_shard": timing["to_first_shard"],
                         "nightcap_after_run_row_images_per_s": images / (nc_seconds - timing["to_run_row"]),
                         "speedup": up_seconds / nc_seconds, "same_captions": same, "gflop_per_image": gflop,
                         "ceiling_gflops": peak, "ceiling_images_per_s": peak / gflop, "rows_per_step": rows}
        log(json.dumps(results[name]))
    results["load_after"] = load_average()
    with open(os.path.join(a.work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    names = [n for n in ("greedy", "beam5") if n in results]
    lines = ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]

    def row(label, key, fmt):
        lines.append(f"| {label} | " + " | ".join(fmt.format(results[n][key]) for n in names) + " |")
    row("images", "images", "{}")
    row("upstream (PyTorch eager, 2 threads), images/s", "upstream_images_per_s", "{:.1f}")
    row("nightcap run end to end (2 threads), images/s", "nightcap_images_per_s", "{:.1f}")
    row("**speed-up** (goal: 2x greedy, 3x beam 5)", "speedup", "**{:.2f}x**")
    row("nightcap start-up: process start to the run's row (model read, hashed, built), s", "nightcap_to_run_row", "{:.2f}")
    row("nightcap: process start to the first shard committed, s", "nightcap_to_first_shard", "{:.2f}")
    row("nightcap after the run's row, images/s", "nightcap_after_run_row_images_per_s", "{:.1f}")
    row("GFLOP per image (products, as upstream computes them)", "gflop_per_image", "{:.2f}")
    row("sgemm ceiling at the step's product mix (2 cores, a sub-batch's rows each), GFLOP/s", "ceiling_gflops", "{:.0f}")
    row("sgemm ceiling, images/s", "ceiling_images_per_s", "{:.1f}")
    row("identical captions", "same_captions", "{}")
    lines.append(f"\nload average before {' '.join(results['load_before'])}, after {' '.join(results['load_after'])} (2 cores)")
    table = "\n".join(lines)
    with open(os.path.join(a.work, "results.md"), "w") as f:
        f.write(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
