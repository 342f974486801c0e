#!/usr/bin/env python3
"""Loads a make-checkpoint file into the ORIGINAL modules and runs them once,
printing the spread of activations block by block: evidence that the random
weight scale keeps every stage finite and non-trivial, and (strict
load_state_dict) that the file's names and shapes are exactly the ones the
original code expects.

  UNet, VAE: CompVis/stable-diffusion UNetModel, Encoder, Decoder (checkout path
             given; einops must be importable, e.g. a checkout on PYTHONPATH).
  Text:      a plain PyTorch CLIP text transformer over the HF names (quick_gelu,
             causal mask, final layer norm), since transformers is not installed.

  /usr/bin/python3 bench/checkpoint/check-activations.py CKPT.safetensors COMPVIS_DIR \
      [--config sd15|FILE.json] [--latent 32]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

SD15 = {
    "unet": dict(in_channels=4, out_channels=4, model_channels=320, attention_resolutions=[4, 2, 1],
                 num_res_blocks=2, channel_mult=[1, 2, 4, 4], num_heads=8, transformer_depth=1, context_dim=768),
    "vae": dict(embed_dim=4, ddconfig=dict(double_z=True, z_channels=4, resolution=256, in_channels=3, out_ch=3,
                                           ch=128, ch_mult=[1, 2, 4, 4], num_res_blocks=2, attn_resolutions=[])),
    "text_encoder": dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                         num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu",
                         layer_norm_eps=1e-5),
}

ap = argparse.ArgumentParser()
ap.add_argument("ckpt")
ap.add_argument("compvis")
ap.add_argument("--config", default="sd15")
ap.add_argument("--latent", type=int, default=32)
args = ap.parse_args()
sys.path.insert(0, args.compvis)
sys.modules.setdefault("omegaconf", type(sys)("omegaconf"))
sys.modules["omegaconf.listconfig"] = type(sys)("omegaconf.listconfig")
sys.modules["omegaconf.listconfig"].ListConfig = type("ListConfig", (), {})
util = type(sys)("ldm.util")
util.instantiate_from_config = None
sys.modules["ldm.util"] = util
from ldm.modules.diffusionmodules.model import Decoder, Encoder  # noqa: E402
from ldm.modules.diffusionmodules.openaimodel import UNetModel  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "reference"))
from safetensors_torch import load_safetensors, sub  # noqa: E402

cfg = SD15
if args.config != "sd15":
    with open(args.config) as f:
        user = json.load(f)
    for part in ("unet", "text_encoder"):
        cfg[part] = {**cfg[part], **user.get(part, {})}
    cfg["vae"] = {"embed_dim": user.get("vae", {}).get("embed_dim", 4),
                  "ddconfig": {**cfg["vae"]["ddconfig"], **user.get("vae", {}).get("ddconfig", {})}}


def stats(label, t):
    t = t.double()
    finite = bool(torch.isfinite(t).all())
    print(f"  {label:<34} std {t.std().item():10.4f}  max|x| {t.abs().max().item():10.4f}  finite {finite}")
    if not finite:
        raise SystemExit(f"non-finite values after {label}")


torch.manual_seed(0)
sd = load_safetensors(args.ckpt, torch.float32)
print(f"{args.ckpt}: {len(sd)} tensors")

# Text encoder: plain CLIP text transformer over the checkpoint's names.
te = cfg["text_encoder"]
t = sub(sd, "cond_stage_model.transformer.text_model.")
used = set()


def w(name):
    used.add(name)
    return t[name]


tokens = torch.tensor([[49406, 320, 1125, 539, 320, 2368, 49407] + [49407] * (te["max_position_embeddings"] - 7)])
assert torch.equal(w("embeddings.position_ids"), torch.arange(te["max_position_embeddings"])[None])
x = w("embeddings.token_embedding.weight")[tokens] + w("embeddings.position_embedding.weight")[None]
H, heads = te["hidden_size"], te["num_attention_heads"]
L = x.shape[1]
mask = torch.full((L, L), float("-inf")).triu(1)
print("text encoder:")
stats("embeddings", x)
for i in range(te["num_hidden_layers"]):
    p = f"encoder.layers.{i}."
    ln = lambda h, n: torch.nn.functional.layer_norm(h, (H,), w(p + n + ".weight"), w(p + n + ".bias"), te["layer_norm_eps"])  # noqa: E731
    lin = lambda h, n: h @ w(p + n + ".weight").T + w(p + n + ".bias")  # noqa: E731
    h = ln(x, "layer_norm1")
    q, k, v = (lin(h, f"self_attn.{n}_proj").view(1, L, heads, H // heads).transpose(1, 2) for n in "qkv")
    a = torch.softmax(q @ k.transpose(-1, -2) / (H // heads) ** 0.5 + mask, -1) @ v
    x = x + lin(a.transpose(1, 2).reshape(1, L, H), "self_attn.out_proj")
    h = lin(ln(x, "layer_norm2"), "mlp.fc1")
    h = h * torch.sigmoid(1.702 * h) if te["hidden_act"] == "quick_gelu" else torch.nn.functional.gelu(h)
    x = x + lin(h, "mlp.fc2")
    stats(f"layer {i}", x)
context = torch.nn.functional.layer_norm(x, (H,), w("final_layer_norm.weight"), w("final_layer_norm.bias"), te["layer_norm_eps"])
stats("final_layer_norm (context)", context)
assert used == set(t), f"unused text encoder tensors: {sorted(set(t) - used)}"

# UNet: strict load into the original module, one forward with hooks.
unet = UNetModel(image_size=32, use_spatial_transformer=True, legacy=False, **cfg["unet"]).eval()
unet.load_state_dict(sub(sd, "model.diffusion_model."), strict=True)
print("unet (strict load OK):")
for name, m in [*((f"input_blocks.{i}", b) for i, b in enumerate(unet.input_blocks)), ("middle_block", unet.middle_block),
                *((f"output_blocks.{i}", b) for i, b in enumerate(unet.output_blocks))]:
    m.register_forward_hook(lambda _m, _i, o, name=name: stats(name, o))
s = args.latent
latent = torch.randn(2, cfg["unet"]["in_channels"], s, s)
with torch.no_grad():
    h = unet(latent, timesteps=torch.tensor([500, 500]), context=torch.cat([context, context]))
stats("unet output (noise prediction)", h)

# VAE: strict loads, decode a latent and encode an image.
dd, embed = cfg["vae"]["ddconfig"], cfg["vae"]["embed_dim"]
vae = torch.nn.Module()
vae.encoder, vae.decoder = Encoder(**dd), Decoder(**dd)
vae.quant_conv = torch.nn.Conv2d(2 * dd["z_channels"], 2 * embed, 1)
vae.post_quant_conv = torch.nn.Conv2d(embed, dd["z_channels"], 1)
vae.load_state_dict(sub(sd, "first_stage_model."), strict=True)
vae.eval()
print("vae (strict load OK):")
with torch.no_grad():
    image = vae.decoder(vae.post_quant_conv(latent[:1] / 0.18215))
    stats("decoder output (image)", image)
    moments = vae.quant_conv(vae.encoder(torch.rand(1, dd["in_channels"], 8 * s, 8 * s) * 2 - 1))
    stats("encoder moments", moments)
known = {k for k in sd if k.startswith(("model.diffusion_model.", "first_stage_model.", "cond_stage_model."))}
print(f"other tensors: {sorted(set(sd) - known)}")
