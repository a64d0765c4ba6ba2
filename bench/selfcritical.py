"""What bench/updown and bench/transformer share: a random self-critical.pytorch model saved as its
users have it (model-best.pth beside infos_zoo-best.pkl), the workload files, upstream's decoding as
tools/eval.py runs it, a timed `nightcap run`, the sgemm probe (bench/sgemm_mix.c) and the results
table. Each bench builds its own model and counts its own work."""
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

V = 9487
MAX_LENGTH = 20


def log(message):
    print(message, file=sys.stderr, flush=True)


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def hypothesis_steps(beam):
    """Rows one image runs through the step when every caption runs all 20 words."""
    return MAX_LENGTH if beam == 1 else 1 + (MAX_LENGTH - 1) * beam


def upstream_model(upstream, arguments, configure=lambda opt: None):
    """Upstream's model for `arguments` (its command-line options), with a vocabulary of V words,
    built by its own models.setup with seed 0; `configure` may set options the command line lacks."""
    sys.path.insert(0, os.path.abspath(upstream))
    import captioning.models as models
    import captioning.utils.opts as opts
    saved = sys.argv
    sys.argv = [saved[0]] + arguments + ["--id", "zoo"]
    try:
        opt = opts.parse_opt()
    finally:
        sys.argv = saved
    opt.vocab_size = V
    configure(opt)
    vocab = {str(i): f"w{i}" for i in range(1, V)}
    vocab[str(V)] = "UNK"
    opt.vocab = vocab
    torch.manual_seed(0)
    model = models.setup(opt)
    del opt.vocab
    return model, opt, vocab


def save_workload(work, model, opt, vocab, feats, counts):
    """The checkpoint and infos as upstream's training writes them, features-N.h5 with the first N
    images for each count, and references for all of them."""
    model.eval()
    os.makedirs(os.path.join(work, "log_zoo"), exist_ok=True)
    torch.save(model.state_dict(), os.path.join(work, "log_zoo", "model-best.pth"))
    with open(os.path.join(work, "log_zoo", "infos_zoo-best.pkl"), "wb") as f:
        pickle.dump({"opt": opt, "vocab": vocab, "iter": 0, "epoch": 0}, f, protocol=2)
    for count in set(counts):
        with h5py.File(features_path(work, count), "w") as f:
            f.create_dataset("features", data=feats[:count])
            f.create_dataset("num_regions", data=np.full(count, feats.shape[1], dtype=np.int32))
            f.create_dataset("image_ids", data=np.arange(1, count + 1, dtype=np.int64))
    images = len(feats)
    anns = [{"id": i, "image_id": i, "caption": "w1 w2 w3"} for i in range(1, images + 1)]
    with open(os.path.join(work, "references.json"), "w") as f:
        json.dump({"images": [{"id": i} for i in range(1, images + 1)], "annotations": anns}, f)


def features_path(work, count):
    return os.path.join(work, f"features-{count}.h5")


def random_features(images, regions, dimension):
    return np.maximum(np.random.RandomState(1).normal(0, 1, (images, regions, dimension)), 0).astype(np.float32)


def upstream_decode(model, feats, vocab, beam, fc, batch=10):
    """Upstream's model(fc, att, None, opt, mode='sample') as eval_utils.eval_split calls it (batches
    of 10, eval.py's default), 2 threads, decoding only; `fc` gives a batch's pooled input."""
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
            seq, _ = model(fc(att), att, None, opt=opt, mode="sample")
            captions += misc.decode_sequence(vocab, seq)
    return time.perf_counter() - started, captions


def timestamp(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def nightcap_run(binary, work, images, beam, extra=()):
    """`nightcap run --threads 2` end to end on features-IMAGES.h5: wall seconds, the captions in
    image order, and the timing of its start-up (process start to the run's row and to the first
    shard's commit), the rate after the run's row and the CPU seconds."""
    db = os.path.join(work, f"nightcap-beam{beam}.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    launched = time.time()
    started = time.perf_counter()
    before = os.times()
    subprocess.run([binary, "run", "--features", features_path(work, images),
                    "--model", os.path.join(work, "log_zoo", "model-best.pth"),
                    "--references", os.path.join(work, "references.json"), "--db", db, "--threads", "2",
                    "--beam-size", str(beam), "--max-length", str(MAX_LENGTH), "--quiet", *extra],
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


def sgemm_mix(binary, threads, rows, shapes, probes=1, seconds=0.6):
    """OpenBLAS's rate at a step's products (bench/sgemm_mix.c), GFLOP/s: `shapes` are (n, k, count)
    for C[rows x n] = X[rows x k] W[k x n]; `probes` run at once (one per core), their rates summed."""
    arguments = [binary, str(threads), str(rows), str(seconds)] + [f"{n}:{k}:{count}" for n, k, count in shapes]
    running = [subprocess.Popen(arguments, stdout=subprocess.PIPE, text=True) for _ in range(probes)]
    rates = []
    for probe in running:
        out, _ = probe.communicate()
        if probe.returncode != 0:
            sys.exit(f"sgemm_mix failed ({probe.returncode})")
        rates.append(float(out.strip().splitlines()[-1].split()[1]))
    return sum(rates)


def write_results(work, results, names, rows):
    """results.json, and results.md: one column per name, a row per (label, key, format)."""
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    lines = ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for label, key, fmt in rows:
        lines.append(f"| {label} | " + " | ".join(fmt.format(results[n][key]) for n in names) + " |")
    lines.append(f"\nload average before {' '.join(results['load_before'])}, after {' '.join(results['load_after'])} (2 cores)")
    table = "\n".join(lines)
    with open(os.path.join(work, "results.md"), "w") as f:
        f.write(table + "\n")
    print(table)
