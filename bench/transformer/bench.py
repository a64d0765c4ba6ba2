#!/usr/bin/env python3
"""nightcap's Transformer family against self-critical.pytorch's own model code under PyTorch eager
(issue 15; docs/performance.md). Run it through run.sh.

  python3 bench/transformer/bench.py --nightcap .build/release/nightcap --ceiling WORK/sgemm_mix \
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
from selfcritical import (V, MAX_LENGTH, hypothesis_steps, load_average, log, nightcap_run,  # noqa: E402
                          random_features, save_workload, sgemm_mix, upstream_decode, upstream_model, write_results)

D, K = 2048, 36
N_ENC, N_DEC, D_MODEL, D_FF, HEADS = 6, 6, 512, 2048, 8
# One decoder step's products, (n, k, count): per layer the stacked query/key/value, the
# self-attention output, the cross-attention query and output, the feed-forward's two; the logit layer.
SHAPES = [(3 * D_MODEL, D_MODEL, N_DEC), (D_MODEL, D_MODEL, 3 * N_DEC), (D_FF, D_MODEL, N_DEC), (D_MODEL, D_FF, N_DEC),
          (V + 1, D_MODEL, 1)]


def multiply_adds(beam):
    """Multiply-adds of one image that runs all 20 steps, with cached keys and values (nightcap's
    count: the encoder once, then one token per hypothesis and step)."""
    d, f = D_MODEL, D_FF
    once = K * D * d + N_ENC * K * (4 * d * d + 2 * d * f) + N_ENC * 2 * K * K * d + N_DEC * K * 2 * d * d
    per_row = N_DEC * (6 * d * d + 2 * d * f + 2 * K * d) + d * (V + 1)
    prefix = N_DEC * 2 * d * (MAX_LENGTH + 1) / 2  # self-attention over the cached prefix, on average
    return once + hypothesis_steps(beam) * (per_row + prefix)


def make_workload(upstream, work, counts):
    def configure(opt):
        opt.N_enc, opt.N_dec, opt.d_model, opt.d_ff, opt.num_att_heads = N_ENC, N_DEC, D_MODEL, D_FF, HEADS
    model, opt, vocab = upstream_model(upstream, [
        "--caption_model", "transformer", "--input_encoding_size", str(D_MODEL), "--rnn_size", str(D_FF),
        "--num_layers", str(N_ENC), "--att_feat_size", str(D), "--input_att_dir", "data/cocobu_att"], configure)
    with torch.no_grad():
        model.model.generator.proj.bias[0] = -100.0  # the end token never wins: every caption runs 20 words
    feats = random_features(max(counts), K, D)
    save_workload(work, model, opt, vocab, feats, counts)
    return model, feats, vocab


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nightcap", required=True)
    p.add_argument("--ceiling", required=True, help="the sgemm_mix binary")
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
        # use_fc is False for the transformer: an empty pooled input
        up_seconds, up_captions = upstream_decode(model, feats[:images], vocab, beam, fc=lambda att: att.new_zeros(att.shape[0], 0))
        log(f"{name}: nightcap run (2 threads), {images} images")
        nc_seconds, nc_captions, timing = nightcap_run(os.path.abspath(a.nightcap), a.work, images, beam,
                                                       extra=["--shard-size", str(shard)])
        same = sum(x == y for x, y in zip(up_captions, nc_captions))
        gflop = 2 * multiply_adds(beam) / 1e9
        rows = min(shard, 256) if beam == 1 else min(shard, 128 // beam) * beam
        peak = sgemm_mix(os.path.abspath(a.ceiling), 2, rows, SHAPES)
        results[name] = {"images": images, "upstream_seconds": up_seconds, "upstream_images_per_s": images / up_seconds,
                         "nightcap_seconds": nc_seconds, "nightcap_images_per_s": images / nc_seconds,
                         "speedup": up_seconds / nc_seconds, "same_captions": same, "gflop_per_image": gflop,
                         "ceiling_gflops": peak, "ceiling_images_per_s": peak / gflop, "rows_per_step": rows, **timing}
        log(json.dumps(results[name]))
    results["load_after"] = load_average()
    for n in ("greedy", "beam5"):
        results[n]["cpu_per_image"] = results[n]["cpu_seconds"] / results[n]["images"]
    write_results(a.work, results, ["greedy", "beam5"], [
        ("images", "images", "{}"),
        ("upstream (PyTorch eager, 2 threads), images/s", "upstream_images_per_s", "{:.2f}"),
        ("nightcap run end to end (2 threads), images/s", "nightcap_images_per_s", "{:.2f}"),
        ("**speed-up** (goal: 3x greedy, 5x beam 5)", "speedup", "**{:.2f}x**"),
        ("nightcap start-up: process start to the run's row (s)", "to_run_row", "{:.2f}"),
        ("nightcap: process start to the first shard committed (s)", "to_first_shard", "{:.2f}"),
        ("nightcap after start-up (run's row to exit), images/s", "after_start_images_per_s", "{:.2f}"),
        ("nightcap CPU (user + sys) per image (s)", "cpu_per_image", "{:.3f}"),
        ("GFLOP per image (products)", "gflop_per_image", "{:.2f}"),
        ("sgemm ceiling at the step's product mix (2 threads), GFLOP/s", "ceiling_gflops", "{:.1f}"),
        ("sgemm ceiling, images/s", "ceiling_images_per_s", "{:.2f}"),
        ("hypotheses per product (nightcap)", "rows_per_step", "{}"),
        ("identical captions", "same_captions", "{}"),
    ])


if __name__ == "__main__":
    main()
