"""Reads a .safetensors file into PyTorch tensors without the safetensors
package (not installed here), for the reference scripts that compute goldens:
bench/convert/compvis-reference.py, bench/checkpoint/check-activations.py and
scripts/make-clip-skip-fixture.py.
"""
import json

import numpy as np
import torch


def load_safetensors(path, float_dtype=torch.float64):
    """Every tensor of the file; floating-point ones as `float_dtype`."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    raw = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    np_dtype = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        arr = np.frombuffer(raw[b:end].tobytes(), dtype=np_dtype[e["dtype"]]).reshape(e["shape"])
        t = torch.from_numpy(arr.copy())
        out[name] = t.to(float_dtype) if t.is_floating_point() else t
    return out


def sub(sd, prefix):
    """The tensors under `prefix`, with the prefix taken off their names."""
    return {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
