#!/usr/bin/env python3
"""Cross-checks src/io/safetensors.ts against the reference Python library
(Hugging Face `safetensors`, numpy flavour), both ways:

  1. a file written by safetensors.numpy.save_file is read by our reader;
  2. a file written by our writeSafetensors is read by safetensors.numpy.load_file.

Every numpy-expressible dtype (all but BF16), a scalar, a zero-size tensor and
metadata are compared value for value. Needs python3 with numpy and
safetensors (e.g. `python3 -m venv --system-site-packages V && V/bin/pip
install safetensors`) and a build (`npm run build`):

    V/bin/python bench/io/crosscheck-python-safetensors.py [DIST_DIR=dist]
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from safetensors.numpy import load_file, save_file
from safetensors import safe_open

DIST = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "dist")
MODULE = "file://" + os.path.join(DIST, "src", "io", "safetensors.js")

TENSORS = {
    "f64": np.array([[1.5, -2.25], [1e300, 0.1]], dtype=np.float64),
    "f32": np.array([1.0, -0.5, 3.25, np.inf], dtype=np.float32),
    "f16": np.array([1.0, -2.0, 6.1e-5, 65504.0, -np.inf, 0.1], dtype=np.float16),
    "i64": np.array([2**53 + 1, -(2**63), 0, 77], dtype=np.int64),
    "i32": np.array([[-7, 0, 2**31 - 1]], dtype=np.int32),
    "i16": np.array([-32768, 12], dtype=np.int16),
    "i8": np.array([-128, 5, 127], dtype=np.int8),
    "u8": np.array([0, 200, 255], dtype=np.uint8),
    "bool": np.array([True, False, True]),
    "scalar": np.array(42.0, dtype=np.float32),
    "empty": np.zeros((0, 4), dtype=np.float32),
    "odd": np.arange(5, dtype=np.uint8),
}
METADATA = {"format": "np", "note": "crosscheck"}
DTYPE = {"float64": "F64", "float32": "F32", "float16": "F16", "int64": "I64", "int32": "I32",
         "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL"}


def node(script):
    out = subprocess.run(["node", "--input-type=module", "-e", script], check=True, capture_output=True, text=True)
    return out.stdout


def main():
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        # 1. Python writes, we read: dtype, shape, raw bytes and readFloat32 values.
        py_file = os.path.join(tmp, "py.safetensors")
        save_file(TENSORS, py_file, metadata=METADATA)
        dump = json.loads(node(f"""
import {{ SafetensorsFile }} from {json.dumps(MODULE)};
const st = SafetensorsFile.open({json.dumps(py_file)});
const out = {{ metadata: st.metadata, tensors: {{}} }};
for (const e of st.entries.values()) {{
  out.tensors[e.name] = {{ dtype: e.dtype, shape: e.shape, hex: Buffer.from(st.readBytes(e.name)).toString('hex'),
    f32: Array.from(st.readFloat32(e.name), (v) => (Number.isFinite(v) ? v : String(v))) }};
}}
st.close();
console.log(JSON.stringify(out));
"""))
        if dump["metadata"] != METADATA:
            print("metadata differs:", dump["metadata"]); failures += 1
        for name, arr in TENSORS.items():
            got = dump["tensors"][name]
            with np.errstate(over="ignore"):  # 1e300 -> inf is the expected float32
                as_f32 = arr.reshape(-1).astype(np.float32).astype(np.float64).tolist()
            want_f32 = [v if np.isfinite(v) else ("Infinity" if v > 0 else "-Infinity") for v in as_f32]
            # JSON integers come back as Python ints: compare as floats.
            got_f32 = [v if isinstance(v, str) else float(v) for v in got["f32"]]
            ok = (got["dtype"] == DTYPE[str(arr.dtype)] and got["shape"] == list(arr.shape)
                  and got["hex"] == arr.tobytes().hex() and got_f32 == want_f32)
            print(f"python -> ours  {name:7s} {'ok' if ok else 'MISMATCH ' + json.dumps(got)[:200]}")
            failures += not ok

        # 2. We write, Python reads.
        ours = os.path.join(tmp, "ours.safetensors")
        spec = [{"name": n, "dtype": DTYPE[str(a.dtype)], "shape": list(a.shape), "hex": a.tobytes().hex()} for n, a in TENSORS.items()]
        node(f"""
import {{ writeSafetensors }} from {json.dumps(MODULE)};
const spec = {json.dumps(spec)};
writeSafetensors({json.dumps(ours)}, spec.map((t) => ({{ name: t.name, dtype: t.dtype, shape: t.shape,
  data: () => new Uint8Array(Buffer.from(t.hex, 'hex')) }})), {json.dumps(METADATA)});
""")
        loaded = load_file(ours)
        with safe_open(ours, framework="np") as f:
            meta = f.metadata()
        if meta != METADATA:
            print("metadata differs:", meta); failures += 1
        for name, arr in TENSORS.items():
            got = loaded[name]
            ok = got.dtype == arr.dtype and got.shape == arr.shape and got.tobytes() == arr.tobytes()
            print(f"ours -> python  {name:7s} {'ok' if ok else 'MISMATCH'}")
            failures += not ok
    print("all match" if failures == 0 else f"{failures} mismatches")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
