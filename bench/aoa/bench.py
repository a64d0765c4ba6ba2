#!/usr/bin/env python3
"""nightcap's AoANet family against self-critical.pytorch's own model code under PyTorch eager
(issue 22; bench/aoa/README.md). Run it through run.sh.

  python3 bench/aoa/bench.py --nightcap .build/release/nightcap --ceiling WORK/sgemm_mix \
      --upstream /path/to/self-critical.pytorch --work bench/.work-aoa [--greedy-images 500] [--beam-images 250]

In one run, on one machine, with the same weights and features:
  1. a random AoANet at the zoo's size (configs/aoa.yml: refine 1 with the AoA gate, use_ff 0,
     use_multi_head 2 with 8 heads, multi_head_scale 1, mean_feats 1, ctx_drop 1, decoder_type AoA,
     rnn_size and input_encoding_size 1024; 2,048-d regions, 36 per image, vocabulary 9,487 + end
     token), built by upstream's models.setup and saved with torch.save beside an infos pickle; its
     end token never wins (logit bias -100), so every caption runs 20 words;
  2. upstream's model(fc, att, None, opt, mode='sample') as eval_utils.eval_split calls it, with
     torch.set_num_threads(2), greedy and beam 5, in batches of 10 (eval.py's default) and in the
     batch size that was fastest for upstream among --upstream-batches (timed on the same images):
     decoding only (features already in memory);
  3. `nightcap run --threads 2` end to end (model .pth and infos read natively, HDF5 features, decode,
     SQLite with full attention, metrics), greedy and beam 5; its start-up (process start to the run's
     row, and to the first shard's commit) on its own row, with the rate after start-up;
  4. the sgemm ceiling of this machine's OpenBLAS at the step's product mix (bench/sgemm_mix.c);
  5. parity: the captions of both, image for image.
Writes WORK/results.md and WORK/results.json.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from selfcritical import (V, hypothesis_steps, load_average, log, nightcap_run,  # noqa: E402
                          random_features, save_workload, sgemm_mix, upstream_decode, upstream_model, write_results)

D, K = 2048, 36
R, E, HEADS = 1024, 1024, 8
# One decoder step's products, (n, k, count): the attention LSTM's stacked input and hidden weights,
# the query projection, the AoA layer, the logit layer.
SHAPES = [(4 * R, E + 2 * R, 1), (R, R, 1), (2 * R, 2 * R, 1), (V + 1, R, 1)]


def multiply_adds(beam):
    """Multiply-adds of one image that runs all 20 steps (nightcap's count: the encoder once, then
    one row per hypothesis and step)."""
    once = K * D * R + 6 * K * (3 * R * R + 2 * R * 2 * R) + 6 * 2 * K * K * R + K * 2 * R * R
    per_row = 4 * R * (E + 2 * R) + R * R + 2 * K * R + 2 * R * 2 * R + R * (V + 1)
    return once + hypothesis_steps(beam) * per_row


def make_workload(upstream, work, counts):
    def configure(opt):
        for key, value in {"refine": 1, "refine_aoa": 1, "use_ff": 0, "decoder_type": "AoA", "use_multi_head": 2,
                           "num_heads": HEADS, "multi_head_scale": 1, "mean_feats": 1, "ctx_drop": 1,
                           "dropout_aoa": 0.3}.items():
            setattr(opt, key, value)
    model, opt, vocab = upstream_model(upstream, [
        "--caption_model", "aoa", "--input_encoding_size", str(E), "--rnn_size", str(R), "--num_layers", "2",
        "--att_feat_size", str(D), "--input_att_dir", "data/cocobu_att", "--input_fc_dir", "data/cocobu_fc"], configure)
    with torch.no_grad():
        model.logit.bias[0] = -100.0  # the end token never wins: every caption runs 20 words
    feats = random_features(max(counts), K, D)
    save_workload(work, model, opt, vocab, feats, counts)
    return model, feats, vocab


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nightcap", required=True)
    p.add_argument("--ceiling", required=True, help="the sgemm_mix binary")
    p.add_argument("--upstream", default="/work/upstream/self-critical.pytorch")
    p.add_argument("--work", default="bench/.work-aoa")
    p.add_argument("--greedy-images", type=int, default=500)
    p.add_argument("--beam-images", type=int, default=250)
    p.add_argument("--upstream-batches", default="10,25,50,100",
                   help="upstream batch sizes tried (on 100 greedy / 50 beam images) to find its best")
    p.add_argument("--images", type=int, help="both image counts")
    a = p.parse_args()
    if a.images:
        a.greedy_images = a.beam_images = a.images
    counts = {1: a.greedy_images, 5: a.beam_images}
    os.makedirs(a.work, exist_ok=True)
    results = {"load_before": load_average(), "images": {"greedy": a.greedy_images, "beam5": a.beam_images}}
    log("writing the workload (random zoo-size AoANet, features, references)")
    model, feats, vocab = make_workload(a.upstream, a.work, list(counts.values()))
    no_fc = lambda att: att.new_zeros(att.shape[0], 0)  # use_fc is False for aoa; mean_feats 1 reads none
    for beam in (1, 5):
        name = "greedy" if beam == 1 else f"beam{beam}"
        images = counts[beam]
        shard = (images + 1) // 2  # two shards: both worker threads busy from the start
        probe = min(images, 100 if beam == 1 else 50)
        trials = {}
        for size in [int(x) for x in a.upstream_batches.split(",")]:
            seconds, _ = upstream_decode(model, feats[:probe], vocab, beam, fc=no_fc, batch=size)
            trials[size] = probe / seconds
            log(f"{name}: upstream batch {size}: {trials[size]:.2f} images/s on {probe} images")
        best = max(trials, key=trials.get)
        log(f"{name}: upstream (PyTorch eager, 2 threads, batch 10), {images} images")
        up_seconds, up_captions = upstream_decode(model, feats[:images], vocab, beam, fc=no_fc, batch=10)
        log(f"{name}: upstream (batch {best}), {images} images")
        best_seconds, best_captions = upstream_decode(model, feats[:images], vocab, beam, fc=no_fc, batch=best)
        log(f"{name}: nightcap run (2 threads), {images} images")
        nc_seconds, nc_captions, timing = nightcap_run(os.path.abspath(a.nightcap), a.work, images, beam,
                                                       extra=["--shard-size", str(shard)])
        same = sum(x == y for x, y in zip(up_captions, nc_captions))
        same_best = sum(x == y for x, y in zip(best_captions, nc_captions))
        gflop = 2 * multiply_adds(beam) / 1e9
        rows = min(shard, 128) * beam
        peak = sgemm_mix(os.path.abspath(a.ceiling), 2, rows, SHAPES)
        results[name] = {"images": images, "upstream_seconds": up_seconds, "upstream_images_per_s": images / up_seconds,
                         "upstream_best_batch": best, "upstream_best_images_per_s": images / best_seconds,
                         "upstream_batch_trials": trials,
                         "nightcap_seconds": nc_seconds, "nightcap_images_per_s": images / nc_seconds,
                         "speedup": up_seconds / nc_seconds, "speedup_best": best_seconds / nc_seconds,
                         "same_captions": f"{same} / {same_best}", "gflop_per_image": gflop,
                         "ceiling_gflops": peak, "ceiling_images_per_s": peak / gflop, "rows_per_step": rows, **timing}
        log(json.dumps(results[name]))
    results["load_after"] = load_average()
    for n in ("greedy", "beam5"):
        results[n]["cpu_per_image"] = results[n]["cpu_seconds"] / results[n]["images"]
    write_results(a.work, results, ["greedy", "beam5"], [
        ("images", "images", "{}"),
        ("upstream (PyTorch eager, 2 threads), batch 10 (eval.py's default), images/s", "upstream_images_per_s", "{:.2f}"),
        ("upstream's best batch size", "upstream_best_batch", "{}"),
        ("upstream at its best batch size, images/s", "upstream_best_images_per_s", "{:.2f}"),
        ("nightcap run end to end (2 threads), images/s", "nightcap_images_per_s", "{:.2f}"),
        ("**speed-up** vs batch 10 (goal: 3x greedy, 4x beam 5)", "speedup", "**{:.2f}x**"),
        ("speed-up vs upstream's best batch", "speedup_best", "{:.2f}x"),
        ("nightcap start-up: process start to the run's row (s)", "to_run_row", "{:.2f}"),
        ("nightcap: process start to the first shard committed (s)", "to_first_shard", "{:.2f}"),
        ("nightcap after start-up (run's row to exit), images/s", "after_start_images_per_s", "{:.2f}"),
        ("nightcap CPU (user + sys) per image (s)", "cpu_per_image", "{:.3f}"),
        ("GFLOP per image (products)", "gflop_per_image", "{:.2f}"),
        ("sgemm ceiling at the step's product mix (2 threads), GFLOP/s", "ceiling_gflops", "{:.1f}"),
        ("sgemm ceiling, images/s", "ceiling_images_per_s", "{:.2f}"),
        ("hypotheses per product (nightcap)", "rows_per_step", "{}"),
        ("identical captions (vs batch 10 / vs best batch)", "same_captions", "{}"),
    ])


if __name__ == "__main__":
    main()
