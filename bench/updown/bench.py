#!/usr/bin/env python3
"""nightcap's UpDown family against self-critical.pytorch's own model code under PyTorch eager
(issue 14; docs/performance.md). Run it through run.sh.

  python3 bench/updown/bench.py --nightcap .build/release/nightcap --ceiling WORK/sgemm_mix \
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
  4. the sgemm ceiling of this machine's OpenBLAS at the step's product mix (bench/sgemm_mix.c), as
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
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from selfcritical import (V, hypothesis_steps, load_average, log, nightcap_run, random_features,  # noqa: E402
                          save_workload, sgemm_mix, upstream_decode, upstream_model, write_results)

E, R, A, D, K = 1000, 1000, 512, 2048, 36
# The step's products as upstream computes them, (n, k, count): the attention LSTM
# [h_lang | word | h_att] x [3000 x 4000], h2att [1000 x 512], the language LSTM [3000 x 4000], logit.
SHAPES = [(4 * R, E + 2 * R, 1), (A, R, 1), (4 * R, 3 * R, 1), (V + 1, R, 1)]


def multiply_adds(beam):
    """Multiply-adds of one image that runs all 20 steps (upstream's step count)."""
    once = K * D * R + K * R * A + D * R + R * 4 * R  # att_embed, ctx2att, fc_embed, fc part of att_lstm
    per_row = (E + 2 * R) * 4 * R + R * 4 * R + R * A + K * A + K * R + 2 * R * 4 * R + R * 4 * R + R * (V + 1)
    return once + hypothesis_steps(beam) * per_row


def make_workload(upstream, work, counts):
    model, opt, vocab = upstream_model(upstream, [
        "--caption_model", "updown", "--input_encoding_size", str(E), "--rnn_size", str(R), "--att_hid_size", str(A),
        "--fc_feat_size", str(D), "--att_feat_size", str(D), "--input_fc_dir", "data/cocobu_fc",
        "--input_att_dir", "data/cocobu_att"])
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
    model, feats, vocab = make_workload(a.upstream, a.work, list(counts.values()))
    for beam in beams:
        name = "greedy" if beam == 1 else f"beam{beam}"
        images = counts[beam]
        load = load_average()
        log(f"{name}, {images} images: upstream (PyTorch eager, 2 threads)")
        up_seconds, up_captions = upstream_decode(model, feats[:images], vocab, beam, fc=lambda att: att.mean(1))
        log(f"{name}, {images} images: nightcap run (2 threads)")
        nc_seconds, nc_captions, timing = nightcap_run(os.path.abspath(a.nightcap), a.work, images, beam)
        same = sum(x == y for x, y in zip(up_captions, nc_captions))
        gflop = 2 * multiply_adds(beam) / 1e9
        rows = min(128, images) * beam  # one sub-batch of nightcap's (ShardProcessor.decodeBatchSize)
        # Two single-threaded probes at once, one per core, as nightcap's two workers.
        peak = sgemm_mix(os.path.abspath(a.ceiling), 1, rows, SHAPES, probes=2)
        results[name] = {"images": images, "load_before": load,
                         "upstream_seconds": up_seconds, "upstream_images_per_s": images / up_seconds,
                         "nightcap_seconds": nc_seconds, "nightcap_images_per_s": images / nc_seconds,
                         "nightcap_to_run_row": timing["to_run_row"], "nightcap_to_first_shard": timing["to_first_shard"],
                         "nightcap_after_run_row_images_per_s": images / (nc_seconds - timing["to_run_row"]),
                         "speedup": up_seconds / nc_seconds, "same_captions": same, "gflop_per_image": gflop,
                         "ceiling_gflops": peak, "ceiling_images_per_s": peak / gflop, "rows_per_step": rows}
        log(json.dumps(results[name]))
    results["load_after"] = load_average()
    write_results(a.work, results, [n for n in ("greedy", "beam5") if n in results], [
        ("images", "images", "{}"),
        ("upstream (PyTorch eager, 2 threads), images/s", "upstream_images_per_s", "{:.1f}"),
        ("nightcap run end to end (2 threads), images/s", "nightcap_images_per_s", "{:.1f}"),
        ("**speed-up** (goal: 2x greedy, 3x beam 5)", "speedup", "**{:.2f}x**"),
        ("nightcap start-up: process start to the run's row (model read, hashed, built), s", "nightcap_to_run_row", "{:.2f}"),
        ("nightcap: process start to the first shard committed, s", "nightcap_to_first_shard", "{:.2f}"),
        ("nightcap after the run's row, images/s", "nightcap_after_run_row_images_per_s", "{:.1f}"),
        ("GFLOP per image (products, as upstream computes them)", "gflop_per_image", "{:.2f}"),
        ("sgemm ceiling at the step's product mix (2 cores, a sub-batch's rows each), GFLOP/s", "ceiling_gflops", "{:.0f}"),
        ("sgemm ceiling, images/s", "ceiling_images_per_s", "{:.1f}"),
        ("identical captions", "same_captions", "{}"),
    ])


if __name__ == "__main__":
    main()
