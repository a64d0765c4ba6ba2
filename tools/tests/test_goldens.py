"""The committed goldens are reproducible and the reference decoder CLI reproduces them."""
import json
import math
import os
import subprocess
import sys

import pytest

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLD = os.path.join(os.path.dirname(TOOLS), "Tests", "CaptionerTests", "Goldens")


def load(p):
    with open(p, encoding="utf-8") as f:
        return json.load(f)


def _close(x, y):
    if isinstance(x, float) or isinstance(y, float):
        return math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-7)
    if isinstance(x, dict):
        return isinstance(y, dict) and x.keys() == y.keys() and all(_close(x[k], y[k]) for k in x)
    if isinstance(x, list):
        return isinstance(y, list) and len(x) == len(y) and all(_close(a, b) for a, b in zip(x, y))
    return x == y


def test_regenerated_goldens_identical(tmp_path):
    subprocess.run([sys.executable, os.path.join(TOOLS, "make_goldens.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    for fn in sorted(os.listdir(GOLD)):
        if fn.startswith("."):
            continue
        a, b = os.path.join(GOLD, fn), tmp_path / fn
        assert b.exists(), fn
        if fn.endswith(".json"):   # floats may differ in the last bits on another BLAS
            assert _close(load(a), load(b)), fn
        else:
            assert open(a, "rb").read() == b.read_bytes(), fn


def test_manifest_consistent():
    m = load(os.path.join(GOLD, "manifest.json"))
    total = sum(os.path.getsize(os.path.join(GOLD, f)) for f in os.listdir(GOLD))
    assert total < 300_000
    assert m["min_gap"] >= 1e-3
    for c in m["cases"]:
        e = load(os.path.join(GOLD, c["expected"]))
        assert e["model"] == c["model"] and e["features"] == c["features"]
        if not c["exact_ties"]:
            assert all(c["end_kinds"][k] >= 1 for k in ("at_once", "early", "never"))
            assert c["min_gap"] >= 1e-3
        for im in e["images"]:
            assert len(im["attention"]) == len(im["tokens"])
            assert all(len(r) == im["num_regions"] for r in im["attention"])
            assert all(abs(sum(r) - 1) < 1e-5 for r in im["attention"])
            if not im["ended"]:
                assert len(im["tokens"]) == e["max_length"]


@pytest.mark.parametrize("case", ["ties_beam3", "relu_fbeta_f16_beam5", "tanh_nofbeta_beam3_lp07", "tanh_fbeta_greedy"])
def test_cli_reproduces(case, tmp_path):
    e = load(os.path.join(GOLD, f"{case}.expected.json"))
    out = tmp_path / "o.json"
    subprocess.run([sys.executable, os.path.join(TOOLS, "reference_decoder.py"),
                    "--model", os.path.join(GOLD, e["model"]), "--features", os.path.join(GOLD, e["features"]),
                    "--beam-size", str(e["beam_size"]), "--max-length", str(e["max_length"]),
                    "--length-penalty", str(e["length_penalty"]), "--batch-size", "3", "--threads", "1", "--out", str(out)],
                   check=True, capture_output=True)
    got = load(out)
    assert len(got["images"]) == len(e["images"])
    for g, w in zip(got["images"], e["images"]):
        assert g["image_id"] == w["image_id"] and g["tokens"] == w["tokens"] and g["caption"] == w["caption"]
        assert math.isclose(g["log_prob"], w["log_prob"], abs_tol=1e-4)
        for r1, r2 in zip(g["attention"], w["attention"]):
            assert len(r1) == len(r2) and all(abs(x - y) < 1e-5 for x, y in zip(r1, r2))
