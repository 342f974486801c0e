"""A plain PyTorch CLIP text transformer over the Hugging Face / LDM names
(transformers is not installed here), in float64: OpenAI's CLIP text model as
SD v1 uses it (causal self-attention, pre-LN layers, quick_gelu), with the
final layer norm applied to the output of the last `layers` run, which is
what "CLIP skip" means in SD tools (skip 2 = the penultimate layer).
Used by bench/convert/compvis-reference.py and scripts/make-clip-skip-fixture.py.
"""
import math

import torch


def clip_text(t, tokens, hidden, heads, layers, eps=1e-5):
    """t: tensors under text_model.*; tokens: int [B, L]. Returns [B, L, hidden]."""
    batch, length = tokens.shape
    x = t["embeddings.token_embedding.weight"][tokens] + t["embeddings.position_embedding.weight"][None, :length]
    mask = torch.full((length, length), float("-inf"), dtype=torch.float64).triu(1)
    for i in range(layers):
        p = f"encoder.layers.{i}."
        ln = lambda h, n: torch.nn.functional.layer_norm(h, (hidden,), t[p + n + ".weight"], t[p + n + ".bias"], eps)  # noqa: E731
        lin = lambda h, n: h @ t[p + n + ".weight"].T + t[p + n + ".bias"]  # noqa: E731
        h = ln(x, "layer_norm1")
        q, k, v = (lin(h, f"self_attn.{n}_proj").view(batch, length, heads, hidden // heads).transpose(1, 2) for n in "qkv")
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hidden // heads) + mask, -1) @ v
        x = x + lin(a.transpose(1, 2).reshape(batch, length, hidden), "self_attn.out_proj")
        h = lin(ln(x, "layer_norm2"), "mlp.fc1")
        x = x + lin(h * torch.sigmoid(1.702 * h), "mlp.fc2")
    return torch.nn.functional.layer_norm(x, (hidden,), t["final_layer_norm.weight"], t["final_layer_norm.bias"], eps)
