#!/usr/bin/env python3
"""Writes test/fixtures/pipeline-math/log.json: inputs and the C library's
natural log (Python's math.log calls it; numpy's legacy Gaussian does too),
for testing src/pipeline/rng/correctly-rounded-log.ts.

glibc's log is not quite correctly rounded (documented worst case ~0.52 ulp):
where it differs from the correctly rounded value (found with 60-digit
decimal arithmetic) the fixture lists both, and it lists the draws of
test/fixtures/numpy-legacy-normal.json and tiny-a-seeded/rng_normal_s*.npy whose Gaussian pair came from such an
r2 (there numpy's float64 draw is 1 ulp from the correctly rounded one).

Inputs: the kind numpy's polar Gaussian feeds to log (r2 = x1^2 + x2^2 in
(0, 1) from doubles with 53-bit mantissas), uniform (0, 1), a wide
log-uniform range, values near 1 and subnormals. Values are written with
repr(), which round-trips exactly through JSON in JavaScript.

Usage: python3 scripts/gen-log-fixture.py
"""
import json
import math
from decimal import Decimal, getcontext
import os
import platform
import sys

import numpy as np

rs = np.random.RandomState(20261126)
inputs = []

# numpy legacy_gauss's r2 (rejecting r2 >= 1 and r2 == 0)
while len(inputs) < 1200:
    x1 = 2.0 * rs.random_sample() - 1.0
    x2 = 2.0 * rs.random_sample() - 1.0
    r2 = x1 * x1 + x2 * x2
    if 0.0 < r2 < 1.0:
        inputs.append(r2)
inputs += list(rs.random_sample(400))
inputs += list(np.exp(rs.uniform(-700.0, 700.0, 400)))
inputs += [1.0 + k * 2.0**-52 for k in range(-20, 21) if k != 0]
inputs += list(1.0 + rs.uniform(-1e-3, 1e-3, 150))
inputs += list(rs.uniform(0.70, 1.42, 150))
inputs += [5e-324, 1e-320, 2.2250738585072014e-308, 1.7976931348623157e308, 0.5, 2.0, 10.0]

getcontext().prec = 60


def correctly_rounded_log(x):
    return float(Decimal(x).ln())  # Decimal(float) is exact; float() rounds to nearest


cases = [[repr(float(x)), repr(math.log(float(x)))] for x in inputs]
not_cr = [[repr(float(x)), repr(math.log(float(x))), repr(correctly_rounded_log(float(x)))]
          for x in inputs if math.log(float(x)) != correctly_rounded_log(float(x))]

# Replay numpy's legacy_gauss (checked against numpy below) to find the draws of
# numpy-legacy-normal.json whose r2 hits a glibc log that is not correctly rounded.
fixtures = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures')
with open(os.path.join(fixtures, 'numpy-legacy-normal.json')) as f:
    legacy = json.load(f)
legacy_ties = []


def find_ties(source, seed, expected):
    """Replays np.random.seed(seed) + normal draws; records pairs whose r2 has a non-CR glibc log."""
    state = np.random.RandomState(seed)
    replay = []
    while len(replay) < len(expected):
        while True:
            x1 = 2.0 * state.random_sample() - 1.0
            x2 = 2.0 * state.random_sample() - 1.0
            r2 = x1 * x1 + x2 * x2
            if 0.0 < r2 < 1.0:
                break
        f = math.sqrt(-2.0 * math.log(r2) / r2)
        if math.log(r2) != correctly_rounded_log(r2):
            legacy_ties.append({'source': source, 'seed': seed, 'indices': [len(replay), len(replay) + 1],
                                'r2': r2, 'glibc_log': math.log(r2), 'correct_log': correctly_rounded_log(r2)})
        replay += [f * x2, f * x1]
    assert replay[:len(expected)] == list(expected), 'replay differs from ' + source


for case in legacy['cases']:
    find_ties('numpy-legacy-normal.json', case['seed'], [v for d in case['draws'] for v in d['values']])
for seed in (42, 1234):
    name = 'tiny-a-seeded/rng_normal_s%d.npy' % seed
    find_ties(name, seed, [float(v) for v in np.load(os.path.join(fixtures, name)).ravel()])
out_dir = os.path.join(fixtures, 'pipeline-math')
os.makedirs(out_dir, exist_ok=True)
path = os.path.join(out_dir, 'log.json')
with open(path + '.tmp', 'w') as f:
    f.write('{"about": "x and math.log(x) (glibc log, as numpy calls it); made by scripts/gen-log-fixture.py",\n')
    f.write(' "python": %s, "libc": %s,\n "cases": [\n' % (
        json.dumps(sys.version.split()[0]), json.dumps(' '.join(platform.libc_ver()))))
    f.write(',\n'.join('  [%s, %s]' % (x, y) for x, y in cases))
    f.write('\n ],\n "glibc_not_correctly_rounded": [\n')
    f.write(',\n'.join('  [%s, %s, %s]' % tuple(c) for c in not_cr))
    f.write('\n ],\n "numpy_draws_on_glibc_ties": %s\n}\n' % json.dumps(legacy_ties))
os.replace(path + '.tmp', path)
print('wrote', path, len(cases), 'cases')
