#!/usr/bin/env python3
"""Golden for `convert --clip-skip N`: tiny-a's text encoder output with the
final layer norm applied to the hidden state N-1 layers before the last (as
SD tools define CLIP skip), from the plain PyTorch CLIP of
scripts/reference/clip_text.py, in float64. The full-depth output is first
checked against the golden of OpenAI's original code (tiny-a/clip_out.npy).

  /usr/bin/python3 scripts/make-clip-skip-fixture.py

Writes test/fixtures/clip-skip/tiny-a-clip-skip-2.npy (float32 [2, 77, 32], the two prompts of clip_tokens.npy).
"""
import json
import os
import sys

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "scripts", "reference"))
from clip_text import clip_text  # noqa: E402
from safetensors_torch import load_safetensors, sub  # noqa: E402

TINY_A = os.path.join(ROOT, "test", "fixtures", "tiny-a")
config = json.load(open(os.path.join(TINY_A, "model-config.json")))["text_encoder"]
hidden, heads, layers = config["hidden_size"], config["num_attention_heads"], config["num_hidden_layers"]
t = sub(load_safetensors(os.path.join(TINY_A, "tiny-a.safetensors")), "cond_stage_model.transformer.text_model.")
tokens = torch.from_numpy(np.load(os.path.join(TINY_A, "clip_tokens.npy")).astype(np.int64))

with torch.no_grad():
    full = clip_text(t, tokens, hidden, heads, layers).numpy()
    golden = np.load(os.path.join(TINY_A, "clip_out.npy"))
    error = np.abs(full - golden).max() / np.abs(golden).max()
    assert error < 1e-6, f"full-depth CLIP differs from the original code's golden: {error}"
    skip2 = clip_text(t, tokens, hidden, heads, layers - 1).numpy()

out = os.path.join(ROOT, "test", "fixtures", "clip-skip")
os.makedirs(out, exist_ok=True)
np.save(os.path.join(out, "tiny-a-clip-skip-2.npy"), skip2.astype(np.float32))
print(f"full depth vs golden: {error:.2e}; skip 2 differs from full by {np.abs(skip2 - full).max():.3f}")
