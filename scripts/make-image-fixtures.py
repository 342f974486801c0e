#!/usr/bin/python3
"""Writes test/fixtures/images/: a small seeded RGB image and PIL's bicubic
resizes of it (PIL's Image.resize default, which the reference pipeline uses
for img2img), so our resize is checked against PIL without Python in CI."""
import json
import os

import numpy as np
from PIL import Image

out = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'images')
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
# Smooth gradients plus noise: resampling errors show on both.
y, x = np.mgrid[0:37, 0:53]
base = np.stack([x * 4.5, y * 6.5, (x + y) * 2.8], axis=-1)
src = np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)
Image.fromarray(src).save(os.path.join(out, 'src-53x37.png'))
cases = []
for w, h in [(64, 64), (24, 16), (53, 80), (11, 37)]:
    dst = np.array(Image.fromarray(src).resize((w, h)))
    name = f'pil-bicubic-{w}x{h}.png'
    Image.fromarray(dst).save(os.path.join(out, name))
    cases.append({'width': w, 'height': h, 'file': name})
with open(os.path.join(out, 'manifest.json'), 'w') as f:
    json.dump({'source': 'src-53x37.png', 'pil': Image.__version__, 'resizes': cases}, f, indent=1)
