#!/usr/bin/env python3
"""The throughput benchmark's driver (issue 7; docs/performance.md). Run it through run.sh.

  python3 bench/throughput/bench.py --nightcap .build/release/nightcap --work bench/.work [--quick]

Measures, in one run, on the workload of make_workload.py:
  1. the sgemm ceiling of this machine's OpenBLAS at the decoder's shapes (bench/sgemm_mix.c, 1 and 2 threads);
  2. `nightcap run` end to end (HDF5 read, decode, SQLite write of captions and full attention,
     metrics), greedy and beam 3, on 2 and on 1 thread(s), 1,000 and 300 images, under /usr/bin/time -v,
     with the time before the first shard is committed (start-up) and after the last (the tail);
  3. `nightcap run` on 4,000 images (beam 3, 2 threads) for peak memory;
  4. tools/reference_decoder.py (PyTorch eager) on the same files, batches of 50, 1 and 2 threads (best;
     300 images: 2 threads);
  5. parity: the first 20 images decoded by the reference decoder against what nightcap stored.
Prints a Markdown table and writes it, with all raw numbers, to WORK/results.md and WORK/results.json.
"""
import argparse
import json
import os
import re
import sqlite3
import struct
import subprocess
import sys
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
V, E, H, A, D, R = 9487, 512, 512, 512, 2048, 36
MAX_LENGTH = 16


def multiply_adds(beam):
    """Multiply-adds of one image that runs all MAX_LENGTH steps (docs/performance.md)."""
    once = R * D * A + D * 2 * H  # image_proj of every region; init_h | init_c on the mean region
    per_hypothesis_step = (
        H * (A + 4 * H + D)  # h x [text_proj | weight_hh | f_beta]
        + D * 4 * H  # context part of weight_ih
        + R * A  # attention scores: w . tanh(P_i + t)
        + R * D  # context z = sum alpha_i v_i
        + H * V  # fc
    )
    # Step 0 has one hypothesis per image (the start token); later steps have `beam` of them.
    hypothesis_steps = 1 + (MAX_LENGTH - 1) * beam
    return once + hypothesis_steps * per_hypothesis_step


def product_mix(beam):
    """Multiply-adds of one image per sgemm shape of CEILING_SHAPES (the products only)."""
    prefix = "beam3" if beam == 3 else "greedy"
    steps = 1 + (MAX_LENGTH - 1) * beam
    return {"image_proj": R * D * A, f"{prefix}_hidden_fused": steps * H * (A + 4 * H + D),
            f"{prefix}_context_gates": steps * D * 4 * H, f"{prefix}_fc": steps * H * V}


def mix_ceiling(rows, beam, key):
    """The sgemm rate of the decoder's product mix: total work over the sum of each shape's time."""
    mix = product_mix(beam)
    return sum(mix.values()) / sum(work / rows[name][key] for name, work in mix.items())


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# The shapes of bench/sgemm_mix.c runs for the ceiling: rows, then (name, N, K) per product. One
# decode batch of 256 images (3 x 256 rows per step with beam 3, 256 greedy) and the image
# projection, whose rows are the regions of 256 images.
CEILING_SHAPES = [
    (3 * 256, [("beam3_hidden_fused", A + 4 * H + D, H), ("beam3_context_gates", 4 * H, D), ("beam3_fc", V, H)]),
    (256, [("greedy_hidden_fused", A + 4 * H + D, H), ("greedy_context_gates", 4 * H, D), ("greedy_fc", V, H)]),
    (256 * R, [("image_proj", A, D)]),
]


def ceiling(binary, threads, seconds):
    """Each product's best rate, wall clock and per CPU-second (bench/sgemm_mix.c)."""
    rates = {}
    for rows, shapes in CEILING_SHAPES:
        arguments = [binary, str(threads), str(rows), str(seconds)] + [f"{n}:{k}" for _, n, k in shapes]
        out = subprocess.run(arguments, check=True, capture_output=True, text=True).stdout
        lines = [line.split() for line in out.splitlines() if line.startswith("shape ")]
        for (name, _, _), parts in zip(shapes, lines, strict=True):
            rates[name] = {"wall": float(parts[5]), "per_cpu": float(parts[7])}
    return rates


def time_v(command, env=None):
    """Runs `command` under /usr/bin/time -v; returns (wall s, user s, sys s, max RSS MiB, stdout)."""
    proc = subprocess.run(["/usr/bin/time", "-v"] + command, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(command)}\n{proc.stdout}\n{proc.stderr}")
    err = proc.stderr

    def field(name):
        return re.search(re.escape(name) + r":\s*(\S+)", err).group(1)

    clock = field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")
    wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(clock)))
    return wall, float(field("User time (seconds)")), float(field("System time (seconds)")), \
        int(field("Maximum resident set size (kbytes)")) / 1024, proc.stdout


def nightcap(binary, work, features, beam, threads, tag):
    db = os.path.join(work, f"run-{tag}.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    command = [binary, "run", "--features", os.path.join(work, features), "--model", os.path.join(work, "model.h5"),
               "--references", os.path.join(work, "references.json"), "--db", db, "--beam-size", str(beam),
               "--max-length", str(MAX_LENGTH), "--threads", str(threads), "--attention", "full",
               "--name", tag, "--quiet"]
    load = load_average()
    launched = time.time()
    wall, user, system, rss, _ = time_v(command)
    ended = time.time()
    with sqlite3.connect(db) as c:
        committed = [datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()
                     for (t,) in c.execute("SELECT finished_at FROM shards")]
        created = datetime.strptime(c.execute("SELECT created_at FROM runs").fetchone()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
        created = created.replace(tzinfo=timezone.utc).timestamp()
        images = c.execute("SELECT count(*) FROM captions").fetchone()[0]
        words = c.execute("SELECT count(*) FROM attention").fetchone()[0]
        decode_seconds = c.execute("SELECT sum(seconds) FROM shards").fetchone()[0]
        metrics = dict(c.execute("SELECT metric, value FROM run_metrics"))
    result = {"tag": tag, "beam": beam, "threads": threads, "images": images, "attention_rows": words,
              "wall": wall, "user": user, "sys": system, "max_rss_mib": rss, "load_before": load,
              "shard_seconds": decode_seconds, "images_per_s": images / wall,
              "images_per_cpu_s": images / (user + system), "metrics": metrics, "db": db,
              # Process start to the run's row (the plan loaded: decoding starts), to the first shard's
              # commit, and the last shard's commit to exit.
              "to_run_row": created - launched, "to_first_shard": min(committed) - launched, "after_last_shard": ended - max(committed)}
    log(f"nightcap {tag}: {images} images in {wall:.1f} s ({result['images_per_s']:.1f}/s, "
        f"run row at {result['to_run_row']:.2f} s, first shard at {result['to_first_shard']:.2f} s, {result['after_last_shard']:.2f} s after the last; "
        f"{result['images_per_cpu_s']:.1f}/CPU-s), decode {decode_seconds:.1f} worker-s, RSS {rss:.0f} MiB, load {load}")
    return result


def pytorch(work, features, beam, threads, images, out_name, attention=False):
    out = os.path.join(work, out_name)
    command = [sys.executable, os.path.join(ROOT, "tools", "reference_decoder.py"), "--model", os.path.join(work, "model.h5"),
               "--features", os.path.join(work, features), "--beam-size", str(beam), "--max-length", str(MAX_LENGTH),
               "--batch-size", "50", "--threads", str(threads), "--limit", str(images), "--out", out]
    if not attention:
        command.append("--no-attention")
    load = load_average()
    launched = time.time()
    subprocess.run(command, check=True, capture_output=True, text=True)
    process_seconds = time.time() - launched
    with open(out) as f:
        result = json.load(f)
    # The whole process too (Python's start, `import torch`, the model and features loaded, the
    # decode, the JSON written): what a user's evaluation script takes; its images/s is the decode's.
    result["process_seconds"] = process_seconds
    log(f"pytorch beam {beam}, {threads} thread(s): {result['images_per_second']:.1f} images/s (load {load})")
    return result


def parity(reference, db):
    """Tokens (as caption text) identical, attention within 1e-5, log-prob within 1e-4 relative."""
    with sqlite3.connect(db) as c:
        captions = {row[0]: (row[1], row[2]) for row in c.execute("SELECT image_id, caption, log_prob FROM captions")}
        attention = {}
        for image_id, position, blob in c.execute("SELECT image_id, position, weights FROM attention"):
            attention[(image_id, position)] = struct.unpack(f"<{len(blob) // 4}f", blob)
    same, worst_attention, worst_logp = 0, 0.0, 0.0
    for image in reference["images"]:
        caption, logp = captions[image["image_id"]]
        same += caption == image["caption"]
        worst_logp = max(worst_logp, abs(logp - image["log_prob"]) / max(abs(image["log_prob"]), 1e-30))
        for position, row in enumerate(image["attention"]):
            stored = attention[(image["image_id"], position)]
            worst_attention = max(worst_attention, max(abs(a - b) for a, b in zip(stored, row)))
    return {"images": len(reference["images"]), "identical_captions": same,
            "max_attention_difference": worst_attention, "max_log_prob_relative_difference": worst_logp,
            "ok": same == len(reference["images"]) and worst_attention <= 1e-5 and worst_logp <= 1e-4}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nightcap", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--ceiling", required=True, help="the bench/sgemm_mix.c binary")
    p.add_argument("--quick", action="store_true", help="skip the 4,000-image run and the 1-thread PyTorch runs")
    a = p.parse_args()
    work = os.path.abspath(a.work)
    started = time.time()
    results = {"load_at_start": load_average(), "cores": os.cpu_count(),
               "gflop_per_image": {str(k): 2 * multiply_adds(k) / 1e9 for k in (1, 3)}}
    log(f"load average at start: {results['load_at_start']}")

    results["ceiling"] = {str(t): ceiling(os.path.abspath(a.ceiling), t, 0.6) for t in (1, 2)}
    results["mix_ceiling"] = {f"k{k}-t{t}": {key: mix_ceiling(results["ceiling"][str(t)], k, key) for key in ("wall", "per_cpu")}
                              for k in (1, 3) for t in (1, 2)}
    log(f"sgemm ceiling at the decoder's product mix (GFLOP/s): {json.dumps(results['mix_ceiling'])}")

    runs = {}
    for beam in (1, 3):
        for threads in (2, 1):
            runs[f"k{beam}-t{threads}"] = nightcap(a.nightcap, work, "features-1000.h5", beam, threads, f"k{beam}-t{threads}-1000")
            runs[f"k{beam}-t{threads}-300"] = nightcap(a.nightcap, work, "features-300.h5", beam, threads, f"k{beam}-t{threads}-300")
    if not a.quick:
        runs["k3-t2-4000"] = nightcap(a.nightcap, work, "features.h5", 3, 2, "k3-t2-4000")
    results["nightcap"] = runs

    torch, torch300 = {}, {}
    for beam in (1, 3):
        for threads in ((2,) if a.quick else (2, 1)):
            torch[f"k{beam}-t{threads}"] = pytorch(work, "features-1000.h5", beam, threads, 1000, f"torch-k{beam}-t{threads}.json")
        torch300[f"k{beam}-t2"] = pytorch(work, "features-300.h5", beam, 2, 300, f"torch-k{beam}-t2-300.json")
    results["pytorch"] = {k: {"images_per_s": v["images_per_second"], "seconds": v["seconds"],
                              "process_seconds": v["process_seconds"]} for k, v in torch.items()}
    results["pytorch_300"] = {k: {"images_per_s": v["images_per_second"], "seconds": v["seconds"],
                                  "process_seconds": v["process_seconds"]} for k, v in torch300.items()}

    checks = {}
    for beam in (1, 3):
        reference = pytorch(work, "features-1000.h5", beam, 2, 20, f"parity-k{beam}.json", attention=True)
        checks[f"k{beam}"] = parity(reference, runs[f"k{beam}-t2"]["db"])
        log(f"parity beam {beam}: {checks[f'k{beam}']}")
    # The AVX2 kernels against the portable Swift loops: the stored results must be equal byte for byte.
    same = []
    for kernels in ("wide", "portable"):
        env = dict(os.environ, NIGHTCAP_KERNELS=kernels)
        db = os.path.join(work, f"kernels-{kernels}.sqlite")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        subprocess.run([a.nightcap, "run", "--features", os.path.join(work, "features-256.h5"), "--model",
                        os.path.join(work, "model.h5"), "--references", os.path.join(work, "references.json"), "--db", db,
                        "--beam-size", "3", "--max-length", str(MAX_LENGTH), "--quiet"], check=True, env=env,
                       capture_output=True)
        with sqlite3.connect(db) as c:
            same.append((list(c.execute("SELECT image_id, caption, log_prob FROM captions ORDER BY image_id")),
                         list(c.execute("SELECT image_id, position, weights FROM attention ORDER BY image_id, position"))))
    checks["kernels"] = {"images": len(same[0][0]), "identical": same[0] == same[1]}
    log(f"AVX2 kernels vs portable Swift loops, 256 images, beam 3: {checks['kernels']}")
    results["parity"] = checks
    results["load_at_end"] = load_average()
    results["seconds"] = time.time() - started

    table = render(results)
    print(table)
    with open(os.path.join(work, "results.md"), "w") as f:
        f.write(table + "\n")
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)


def render(r):
    mc = r["mix_ceiling"]
    lines = [
        f"Load average {r['load_at_start']} at the start, {r['load_at_end']} at the end ({r['cores']} cores); "
        f"{r['seconds']:.0f} s in all. sgemm ceiling at the decoder's product mix, 1 / 2 threads: "
        f"greedy {mc['k1-t1']['wall']:.1f} / {mc['k1-t2']['wall']:.1f} GFLOP/s, beam 3 {mc['k3-t1']['wall']:.1f} / "
        f"{mc['k3-t2']['wall']:.1f} GFLOP/s (1 thread per CPU-second: {mc['k1-t1']['per_cpu']:.1f} / {mc['k3-t1']['per_cpu']:.1f}).",
        "",
        "| | greedy | beam 3 |",
        "| --- | --- | --- |",
    ]

    def row(name, f):
        lines.append(f"| {name} | {f(1)} | {f(3)} |")

    n = r["nightcap"]
    t = r["pytorch"]
    gf = {k: r["gflop_per_image"][str(k)] for k in (1, 3)}

    def torch_best(k):
        return max(v["images_per_s"] for key, v in t.items() if key.startswith(f"k{k}-"))

    row("GFLOP per image (analytic)", lambda k: f"{gf[k]:.3f}")
    row("nightcap images/s, 2 threads (end to end, wall)", lambda k: f"{n[f'k{k}-t2']['images_per_s']:.1f}")
    row("nightcap images/CPU-s, 2 threads", lambda k: f"{n[f'k{k}-t2']['images_per_cpu_s']:.1f}")
    row("PyTorch eager images/s (best of 1, 2 threads; batches of 50; --no-attention)",
        lambda k: " / ".join(f"{t[key]['images_per_s']:.1f}" for key in sorted(t) if key.startswith(f"k{k}-")) +
        f" (best {torch_best(k):.1f})")
    row("**nightcap / PyTorch** (goal >= 2)", lambda k: f"**{n[f'k{k}-t2']['images_per_s'] / torch_best(k):.2f}x**")
    def decode_only(k):  # images / decode-phase time, the time PyTorch's figure covers
        return n[f"k{k}-t2"]["images"] / (n[f"k{k}-t2"]["shard_seconds"] / n[f"k{k}-t2"]["threads"])

    row("nightcap decode-only images/s, 2 threads (images / (worker-seconds / 2))", lambda k: f"{decode_only(k):.1f}")
    row("nightcap decode-only / PyTorch", lambda k: f"{decode_only(k) / torch_best(k):.2f}x")
    row("decode GFLOP/s, 2 threads end to end (images x GFLOP / wall) vs 2-thread ceiling",
        lambda k: f"{n[f'k{k}-t2']['images'] * gf[k] / n[f'k{k}-t2']['wall']:.1f} ({n[f'k{k}-t2']['images'] * gf[k] / n[f'k{k}-t2']['wall'] / mc[f'k{k}-t2']['wall']:.0%} of {mc[f'k{k}-t2']['wall']:.0f})")
    row("decode GFLOP/s, 2 threads, decode phase (images x GFLOP / (worker-seconds / 2)) vs 2-thread ceiling",
        lambda k: f"{decode_only(k) * gf[k]:.1f} ({decode_only(k) * gf[k] / mc[f'k{k}-t2']['wall']:.0%})")
    row("decode GFLOP/s, 1 thread, decode phase (images x GFLOP / worker-seconds) vs 1-thread ceiling",
        lambda k: f"{n[f'k{k}-t1']['images'] * gf[k] / n[f'k{k}-t1']['shard_seconds']:.1f} ({n[f'k{k}-t1']['images'] * gf[k] / n[f'k{k}-t1']['shard_seconds'] / mc[f'k{k}-t1']['wall']:.0%} of {mc[f'k{k}-t1']['wall']:.0f})")
    row("GFLOP per CPU-second, 1 thread run, end to end (images x GFLOP / (user + sys)) vs ceiling per CPU-second",
        lambda k: f"{n[f'k{k}-t1']['images'] * gf[k] / (n[f'k{k}-t1']['user'] + n[f'k{k}-t1']['sys']):.1f} ({n[f'k{k}-t1']['images'] * gf[k] / (n[f'k{k}-t1']['user'] + n[f'k{k}-t1']['sys']) / mc[f'k{k}-t1']['per_cpu']:.0%} of {mc[f'k{k}-t1']['per_cpu']:.0f})")
    row("nightcap images/s, 1 thread", lambda k: f"{n[f'k{k}-t1']['images_per_s']:.1f}")
    row("**2 threads / 1 thread** (goal >= 1.85)", lambda k: f"**{n[f'k{k}-t2']['images_per_s'] / n[f'k{k}-t1']['images_per_s']:.2f}x**")
    row("start-up: process start to the run's row written (plan loaded) / to the first shard committed, 1,000 images, 2 threads (s)",
        lambda k: f"{n[f'k{k}-t2']['to_run_row']:.2f} / {n[f'k{k}-t2']['to_first_shard']:.2f}")
    row("tail: last shard committed to process exit (corpus metrics), 1,000 images, 2 threads (s)",
        lambda k: f"{n[f'k{k}-t2']['after_last_shard']:.2f}")
    t3 = r["pytorch_300"]
    row("300 images (a shard of 256 and one of 44): nightcap images/s, 2 / 1 threads",
        lambda k: f"{n[f'k{k}-t2-300']['images_per_s']:.1f} / {n[f'k{k}-t1-300']['images_per_s']:.1f}")
    row("300 images: PyTorch eager images/s, 2 threads", lambda k: f"{t3[f'k{k}-t2']['images_per_s']:.1f}")
    row("**300 images: nightcap / PyTorch** (goal >= 2)",
        lambda k: f"**{n[f'k{k}-t2-300']['images_per_s'] / t3[f'k{k}-t2']['images_per_s']:.2f}x**")
    row("**300 images: 2 threads / 1 thread** (goal >= 1.85)",
        lambda k: f"**{n[f'k{k}-t2-300']['images_per_s'] / n[f'k{k}-t1-300']['images_per_s']:.2f}x**")
    row("300 images, 2 threads: to the run's row / to the first shard / tail (s)",
        lambda k: f"{n[f'k{k}-t2-300']['to_run_row']:.2f} / {n[f'k{k}-t2-300']['to_first_shard']:.2f} / {n[f'k{k}-t2-300']['after_last_shard']:.2f}")
    # For context, not the goals' measure: both programs as whole processes, PyTorch's from Python's
    # start to its exit (no SQLite, no metrics), nightcap's end to end as above.
    if all("process_seconds" in v for v in list(t.values()) + list(t3.values())):
        row("for context: whole processes, 2 threads, 1,000 / 300 images: PyTorch eager (python start to exit: import torch, "
            "model and features loaded, decode; no SQLite, no metrics) images/s, and nightcap / it",
            lambda k: " / ".join(
                f"{images / torch_run['process_seconds']:.1f} ({n[key]['images_per_s'] / (images / torch_run['process_seconds']):.2f}x)"
                for images, torch_run, key in ((1000, t[f'k{k}-t2'], f'k{k}-t2'), (300, t3[f'k{k}-t2'], f'k{k}-t2-300'))))
    # What bounds the goals (docs/performance.md, "What bounds the goals"): the start-up S (process
    # start to the run's row) runs before any decoding, and the CPU outside the decoders (reading and
    # inflating features, SQLite, metrics, the start-up's threads) shares the cores with them once
    # there are as many decoders as cores.
    def cpu(key):
        return n[key]["user"] + n[key]["sys"]

    def other(key):
        return cpu(key) - n[key]["shard_seconds"]

    row("CPU-seconds, 1,000 images, 1 / 2 threads: decoders (worker-seconds) + everything else (user + sys - worker-seconds)",
        lambda k: " / ".join(f"{n[f'k{k}-t{t}']['shard_seconds']:.2f} + {other(f'k{k}-t{t}'):.2f}" for t in (1, 2)))

    def best_two_thread_wall(key, k, per_thread_gflops):
        # S on one core, then the decoders' work at `per_thread_gflops` per core and the rest
        # (less the start-up's own core-seconds) spread evenly over the two cores.
        s = n[key]["to_run_row"]
        decode = n[key]["images"] * gf[k] / per_thread_gflops
        return s + (decode + max(other(key) - s, 0)) / 2

    def bound_ratio(k):  # the model's 2 threads / 1 thread
        one = n[f"k{k}-t1"]
        best = best_two_thread_wall(f"k{k}-t1", k, one["images"] * gf[k] / one["shard_seconds"])
        return f"{one['wall'] / best:.2f}x"

    row("2 threads / 1 thread, model: the 1-thread run's start-up S serial, its decoders and other CPU spread over 2 cores, "
        "T1 / (S + (decoders + other - S) / 2)", bound_ratio)
    row("nightcap / PyTorch, model: the 2-thread run with its decoders at the 1-thread sgemm ceiling on each core (all else as measured)",
        lambda k: f"{n[f'k{k}-t2']['images'] / best_two_thread_wall(f'k{k}-t2', k, mc[f'k{k}-t1']['wall']) / torch_best(k):.2f}x")
    row("peak RSS, 1,000 images, 2 threads (MiB)", lambda k: f"{n[f'k{k}-t2']['max_rss_mib']:.0f}")
    if "k3-t2-4000" in n:
        big = n["k3-t2-4000"]
        lines.append(f"| peak RSS, 4,000 images, 2 threads (MiB) | | {big['max_rss_mib']:.0f} "
                     f"(**{big['max_rss_mib'] / n['k3-t2']['max_rss_mib']:.2f}x** the 1,000-image run; {big['images_per_s']:.1f} images/s) |")
    p = r["parity"]
    row("parity, first 20 images vs tools/reference_decoder.py",
        lambda k: f"{p[f'k{k}']['identical_captions']}/{p[f'k{k}']['images']} captions identical, "
                  f"attention max diff {p[f'k{k}']['max_attention_difference']:.1e}, "
                  f"log-prob max rel diff {p[f'k{k}']['max_log_prob_relative_difference']:.1e}")
    lines.append(f"| AVX2 kernels vs portable Swift loops (256 images, beam 3, stored results) | | "
                 f"{'identical' if p['kernels']['identical'] else '**DIFFERENT**'} ({p['kernels']['images']} images) |")
    loads = ", ".join(f"{k}: {v['load_before']}" for k, v in n.items())
    lines += ["", f"Load average before each nightcap run: {loads}."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
