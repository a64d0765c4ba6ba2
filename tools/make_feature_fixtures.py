#!/usr/bin/env python3
"""Writes the feature-file fixtures that the Swift tests cannot write themselves.

The Swift tests write every layout, dtype and compression with nightcap's own HDF5 writer. Only
files that need a filter this HDF5 build lacks come from h5py: `lzf` is a filter that h5py ships
and libhdf5 does not, so nightcap must refuse it with a clear message.

    python3 tools/make_feature_fixtures.py   # writes Tests/RegionFeaturesTests/Fixtures/lzf-features.h5
"""
import pathlib

import h5py
import numpy as np

out = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "RegionFeaturesTests" / "Fixtures"
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(7)
with h5py.File(out / "lzf-features.h5", "w") as f:
    f.create_dataset("features", data=rng.standard_normal((3, 4, 8)).astype("f4"), chunks=(1, 4, 8), compression="lzf")
    f.create_dataset("num_regions", data=np.array([4, 2, 3], dtype="i4"))
    f.create_dataset("image_ids", data=np.array([11, 12, 13], dtype="i8"))
print("wrote", out / "lzf-features.h5")
