#!/usr/bin/env python3
"""Reference outputs of the ORIGINAL modules for a full-size checkpoint, for
bench/convert/full-size-vs-compvis.ts: CompVis UNetModel, Encoder, Decoder
and the AutoencoderKL convs (strict load_state_dict), and a plain PyTorch CLIP
text transformer over the Hugging Face names (transformers is not installed
here), all in float64, on small seeded inputs (latents 8x8, image 64x64).
Conventions as test/fixtures/tiny-a/manifest.json: the UNet is fed the time
embedding [cos(t f), sin(t f)] (its own timestep_embedding is bypassed), the
decoder includes 1/0.18215 and post_quant_conv, the encoder quant_conv, the
clamped log-variance and 0.18215 (mean + std noise).

  PYTHONPATH=<einops checkout> /usr/bin/python3 bench/convert/compvis-reference.py \
      CKPT.safetensors COMPVIS_DIR OUT_DIR

Writes OUT_DIR/<name>.npy for every input and output.
"""
import argparse
import os
import sys

import numpy as np
import torch

ap = argparse.ArgumentParser()
ap.add_argument("ckpt")
ap.add_argument("compvis")
ap.add_argument("out")
args = ap.parse_args()
sys.path.insert(0, args.compvis)
# CompVis imports omegaconf and ldm.util at module level; neither is needed here.
sys.modules.setdefault("omegaconf", type(sys)("omegaconf"))
sys.modules["omegaconf.listconfig"] = type(sys)("omegaconf.listconfig")
sys.modules["omegaconf.listconfig"].ListConfig = type("ListConfig", (), {})
util = type(sys)("ldm.util")
util.instantiate_from_config = None
sys.modules["ldm.util"] = util
import ldm.modules.diffusionmodules.openaimodel as openaimodel  # noqa: E402
import ldm.modules.diffusionmodules.util as diffusion_util  # noqa: E402
from ldm.modules.diffusionmodules.model import Decoder, Encoder  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "reference"))
from clip_text import clip_text  # noqa: E402
from safetensors_torch import load_safetensors, sub  # noqa: E402

UNET = dict(in_channels=4, out_channels=4, model_channels=320, attention_resolutions=[4, 2, 1], num_res_blocks=2,
            channel_mult=[1, 2, 4, 4], num_heads=8, transformer_depth=1, context_dim=768)
DDCONFIG = dict(double_z=True, z_channels=4, resolution=256, in_channels=3, out_ch=3, ch=128, ch_mult=[1, 2, 4, 4],
                num_res_blocks=2, attn_resolutions=[])
HIDDEN, HEADS, LAYERS = 768, 12, 12


def save(name, t, dtype=np.float32):
    np.save(os.path.join(args.out, f"{name}.npy"), t.detach().numpy().astype(dtype))


os.makedirs(args.out, exist_ok=True)
torch.manual_seed(1)
sd = load_safetensors(args.ckpt)

# CLIP text encoder.
t = sub(sd, "cond_stage_model.transformer.text_model.")
tokens = torch.tensor([[49406, 320, 1125, 539, 320, 2368, 49407] + [49407] * 70])
clip_out = clip_text(t, tokens, HIDDEN, HEADS, LAYERS)
save("clip_tokens", tokens, np.int32)
save("clip_out", clip_out)

# UNet, fed the time embedding for t = 500 directly.
latent = torch.randn(2, 4, 8, 8, dtype=torch.float64)
context = torch.randn(2, 77, HIDDEN, dtype=torch.float64)
half = 160
freqs = torch.pow(10000.0, -torch.arange(half, dtype=torch.float64) / half)
temb = torch.cat([torch.cos(500 * freqs), torch.sin(500 * freqs)])[None].float().double()
# GroupNorm32 computes in float32 whatever its input; keep float64 throughout.
diffusion_util.GroupNorm32.forward = torch.nn.GroupNorm.forward
openaimodel.timestep_embedding = lambda ts, dim, repeat_only=False: temb.expand(len(ts), -1)
unet = openaimodel.UNetModel(image_size=32, use_spatial_transformer=True, legacy=False, **UNET).double().eval()
unet.load_state_dict(sub(sd, "model.diffusion_model."), strict=True)
unet.dtype = torch.float64  # forward() casts its input to this (float32 by default)
with torch.no_grad():
    unet_out = unet(latent.float().double(), timesteps=torch.tensor([500, 500]), context=context.float().double())
for name, value in [("unet_latent", latent), ("unet_context", context), ("unet_temb", temb), ("unet_out", unet_out)]:
    save(name, value)

# VAE.
vae = torch.nn.Module()
vae.encoder, vae.decoder = Encoder(**DDCONFIG), Decoder(**DDCONFIG)
vae.quant_conv = torch.nn.Conv2d(8, 8, 1)
vae.post_quant_conv = torch.nn.Conv2d(4, 4, 1)
vae.load_state_dict(sub(sd, "first_stage_model."), strict=True)
vae = vae.double().eval()
z = torch.randn(1, 4, 8, 8, dtype=torch.float64).float().double()
image = (torch.rand(1, 3, 64, 64, dtype=torch.float64) * 2 - 1).float().double()
noise = torch.randn(1, 4, 8, 8, dtype=torch.float64).float().double()
with torch.no_grad():
    decoded = vae.decoder(vae.post_quant_conv(z / 0.18215))
    mean, logvar = torch.chunk(vae.quant_conv(vae.encoder(image)), 2, dim=1)
    encoded = 0.18215 * (mean + torch.exp(0.5 * logvar.clamp(-30, 20)) * noise)
for name, value in [("dec_latent", z), ("dec_out", decoded), ("enc_image", image), ("enc_noise", noise), ("enc_out", encoded)]:
    save(name, value)
print(f"wrote references to {args.out}")
