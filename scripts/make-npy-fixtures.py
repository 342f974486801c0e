#!/usr/bin/env python3
"""Writes small .npy files made by real numpy into test/fixtures/npy/, with
expected.json describing each (dtype, shape, values as numpy sees them), so
the .npy reader is tested against numpy's own output. Run from the repo root:

    python3 scripts/make-npy-fixtures.py
"""
import json
import os

import numpy as np
from numpy.lib import format as npformat

OUT = os.path.join("test", "fixtures", "npy")


def save(name, arr, version=None):
    path = os.path.join(OUT, name)
    if version is None:
        np.save(path, arr)
    else:
        with open(path, "wb") as f:
            npformat.write_array(f, arr, version=version)


def values(arr):
    flat = np.ascontiguousarray(arr).reshape(-1)
    if arr.dtype == np.int64:
        return [str(int(v)) for v in flat]  # exact beyond 2^53
    if arr.dtype == np.bool_:
        return [bool(v) for v in flat]
    out = []
    for v in flat.astype(np.float64):
        out.append(repr(float(v)) if not np.isfinite(v) else float(v))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    good = {
        "f32.npy": np.array([[0.5, -1.25, 3.0], [1e-8, -0.0, 65504.0]], dtype=np.float32),
        "f16.npy": np.array([1.0, -2.0, 6.1e-5, 65504.0, np.inf, -np.inf, 0.1], dtype=np.float16),
        "f64.npy": np.array([[1.0 / 3.0], [-1e300]], dtype=np.float64),
        "i32.npy": np.array([-(2**31), 0, 2**31 - 1, 49406], dtype=np.int32).reshape(2, 2),
        "i64.npy": np.array([2**53 + 1, -(2**63), 0, 77], dtype=np.int64),
        "i8.npy": np.array([-128, -1, 0, 127], dtype=np.int8),
        "u8.npy": np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10,
        "bool.npy": np.array([[True, False, True]]),
        "scalar.npy": np.float32(2.5),
        "empty.npy": np.zeros((0, 3), dtype=np.float32),
        "fortran-1d.npy": np.asfortranarray(np.arange(4, dtype=np.float32)),
    }
    expected = {}
    for name, arr in good.items():
        save(name, arr)
        expected[name] = {"dtype": str(np.asarray(arr).dtype), "shape": list(np.shape(arr)), "values": values(np.asarray(arr)), "version": "1.0"}

    arr = np.arange(6, dtype=np.float32).reshape(3, 2) - 2.5
    for version, name in [((2, 0), "v2.npy"), ((3, 0), "v3.npy")]:
        save(name, arr, version)
        expected[name] = {"dtype": "float32", "shape": [3, 2], "values": values(arr), "version": "%d.%d" % version}

    # Files the reader must refuse, each with the words its error should contain.
    bad = {
        "fortran.npy": (np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)), "Fortran order"),
        "big-endian.npy": (np.arange(3, dtype=">f4"), "big endian"),
        "complex.npy": (np.zeros(2, dtype=np.complex64), "not supported"),
        "structured.npy": (np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]), "structured"),
        "unicode.npy": (np.array(["ab", "c"]), "not supported"),
    }
    rejected = {}
    for name, (arr, words) in bad.items():
        save(name, arr)
        rejected[name] = words

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"numpy": np.__version__, "files": expected, "rejected": rejected}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
