#!/usr/bin/env python3
"""Draw small pictures of the demo's synthetic scenes, for `nightcap report --images`.

  python3 tools/draw_demo_scenes.py [--seed 7] [--assets pipelines/demo] [--out pipelines/demo/images]

The demo's test split is regenerated from its seed with tools/make_demo.py's own generator
(the world encoders and the test-split stream; no training), which yields every object's shape,
colour, size and position. Before drawing anything, the regenerated boxes, labels and region
counts are checked against the committed features.h5: a mismatch (other seed, other generator)
stops the tool. Each scene becomes `<image_id>.png`, 320x240 (half the world's 640x480; the report
reads the size from the PNG header and draws the 640x480 boxes over it scaled), 8-bit palette:
background regions as grey rectangles, objects as their shape in their colour.

Deterministic: the same assets give the same bytes (pure-Python PNG writer, zlib level 9).
"""
from __future__ import annotations

import argparse
import os
import struct
import sys
import zlib

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_demo as md  # noqa: E402

SCALE = 2  # world pixels per picture pixel
PALETTE = {
    "sky": (206, 212, 218), "outline": (40, 40, 40),
    "red": (214, 48, 49), "green": (46, 160, 67), "blue": (45, 98, 200), "yellow": (240, 200, 40),
    "purple": (136, 64, 170), "white": (250, 250, 250),
    "bg0": (176, 182, 188), "bg1": (160, 168, 160), "bg2": (188, 176, 166), "bg3": (150, 158, 172),
}
NAMES = list(PALETTE)
INDEX = {name: i for i, name in enumerate(NAMES)}


def png(pixels: np.ndarray) -> bytes:
    """An 8-bit palette PNG of `pixels` (uint8 indices into PALETTE)."""
    h, w = pixels.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))
    palette = b"".join(bytes(PALETTE[n]) for n in NAMES)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
            + chunk(b"PLTE", palette) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def draw(scene) -> np.ndarray:
    w, h = md.WIDTH // SCALE, md.HEIGHT // SCALE
    img = np.full((h, w), INDEX["sky"], dtype=np.uint8)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    yy, xx = yy * SCALE, xx * SCALE  # world coordinates of pixel centres
    for j, (box, label) in enumerate(zip(scene["boxes"], scene["labels"])):
        if label == md.BACKGROUND:
            x1, y1, x2, y2 = box
            img[(xx >= x1) & (xx < x2) & (yy >= y1) & (yy < y2)] = INDEX[f"bg{j % 4}"]
    for o in sorted(scene["objects"], key=lambda o: -o["side"]):
        cx, cy, r = o["cx"], o["cy"], o["side"] / 2
        colour = INDEX[o["colour"]]
        dx, dy = xx - cx, yy - cy
        inside_box = (np.abs(dx) <= r) & (np.abs(dy) <= r)
        if o["shape"] == "cube":
            body = inside_box
            edge = body & ((np.abs(dx) > r - 2 * SCALE) | (np.abs(dy) > r - 2 * SCALE))
        elif o["shape"] == "ball":
            d = np.hypot(dx, dy)
            body, edge = d <= r, (d <= r) & (d > r - 2 * SCALE)
        elif o["shape"] == "cone":
            # apex at the top centre, base along the bottom edge
            half = (dy + r) / 2
            body = inside_box & (np.abs(dx) <= half)
            edge = body & ((np.abs(dx) > half - 2 * SCALE) | (dy > r - 2 * SCALE))
        elif o["shape"] == "cylinder":
            cap = r * 0.3
            core = (np.abs(dx) <= r * 0.8) & (np.abs(dy) <= r - cap)
            top = ((dx / (r * 0.8)) ** 2 + ((dy + r - cap) / cap) ** 2) <= 1
            bottom = ((dx / (r * 0.8)) ** 2 + ((dy - r + cap) / cap) ** 2) <= 1
            body = core | top | bottom
            rim = ((dx / (r * 0.8)) ** 2 + ((dy + r - cap) / cap) ** 2)
            edge = body & ((np.abs(np.abs(dx) - r * 0.8) < 2 * SCALE) | ((rim > 0.7) & (rim <= 1)))
        else:  # ring
            d = np.hypot(dx, dy)
            body = (d <= r) & (d >= r * 0.55)
            edge = body & ((d > r - 2 * SCALE) | (d < r * 0.55 + 2 * SCALE))
        img[body] = colour
        img[edge] = INDEX["outline"]
    return img


def main(argv=None):
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--test-images", type=int, default=600)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--assets", default=os.path.join(here, "pipelines", "demo"))
    p.add_argument("--out", default=os.path.join(here, "pipelines", "demo", "images"))
    a = p.parse_args(argv)

    world = md.World(np.random.default_rng([a.seed, 1]), dim=a.dim)
    scenes: list = []
    md.make_split(world, np.random.default_rng([a.seed, 3]), a.test_images, scenes)
    with h5py.File(os.path.join(a.assets, "features.h5"), "r") as f:
        boxes, nreg, ids = f["boxes"][()], f["num_regions"][()], f["image_ids"][()].tolist()
        labels = [[x.decode() if isinstance(x, bytes) else str(x) for x in row] for row in f["region_labels"][()]]
    if len(ids) != len(scenes):
        sys.exit(f"{a.assets}/features.h5 holds {len(ids)} images, the seed gives {len(scenes)}: other assets?")
    for i, scene in enumerate(scenes):
        n = len(scene["boxes"])
        if (n != int(nreg[i]) or labels[i][:n] != scene["labels"]
                or not np.allclose(boxes[i, :n], np.asarray(scene["boxes"], dtype=np.float32), atol=0.051)):
            sys.exit(f"image {ids[i]}: the regenerated scene differs from {a.assets}/features.h5 "
                     f"(seed {a.seed}): not the committed demo")
    os.makedirs(a.out, exist_ok=True)
    total = 0
    for image_id, scene in zip(ids, scenes):
        data = png(draw(scene))
        total += len(data)
        with open(os.path.join(a.out, f"{image_id}.png"), "wb") as f:
            f.write(data)
    print(f"drew {len(scenes)} scenes into {a.out}: {total:,} bytes, {total / len(scenes) / 1024:.1f} KB each on average")


if __name__ == "__main__":
    main()
