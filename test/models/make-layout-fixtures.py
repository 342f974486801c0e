#!/usr/bin/env python3
"""Key/shape lists of the original CompVis modules, for the layout tests.

Builds CompVis UNetModel and AutoencoderKL's Encoder/Decoder/quant convs for a
few deliberately unusual configs (other level counts, shrinking channels,
attention in the VAE, deeper transformers) and writes their state_dict names
and shapes, in order, to test/models/fixtures/layout-<name>.json. The text
encoder is not covered here (Hugging Face transformers is not installed); the
tiny-a checkpoint and SD v1.5's parameter count cover it.

Run with Debian's python3-torch and a CompVis/stable-diffusion checkout
(21f890f9 was used); einops, omegaconf and ldm.util are stubbed since only the
constructors run:

    /usr/bin/python3 test/models/make-layout-fixtures.py /path/to/stable-diffusion
"""
import json
import os
import sys
import types

COMPVIS = sys.argv[1]
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
sys.path.insert(0, COMPVIS)
sys.modules["einops"] = types.SimpleNamespace(rearrange=None, repeat=None)
sys.modules["ldm.util"] = types.SimpleNamespace(instantiate_from_config=None)
sys.modules["omegaconf"] = types.SimpleNamespace()
sys.modules["omegaconf.listconfig"] = types.SimpleNamespace(ListConfig=type("ListConfig", (), {}))

import torch  # noqa: E402
from ldm.modules.diffusionmodules.model import Decoder, Encoder  # noqa: E402
from ldm.modules.diffusionmodules.openaimodel import UNetModel  # noqa: E402

CONFIGS = {
    "odd-a": {
        "unet": dict(in_channels=3, out_channels=3, model_channels=32, attention_resolutions=[2],
                     num_res_blocks=1, channel_mult=[1, 2, 3], num_heads=4, transformer_depth=2, context_dim=64),
        "vae": dict(embed_dim=3, ddconfig=dict(double_z=True, z_channels=5, resolution=32, in_channels=3, out_ch=3,
                                                ch=32, ch_mult=[1, 2, 2], num_res_blocks=1, attn_resolutions=[16, 8])),
        "text_encoder": dict(hidden_size=64, intermediate_size=256, num_hidden_layers=1, num_attention_heads=2),
    },
    "odd-b": {
        "unet": dict(in_channels=4, out_channels=4, model_channels=32, attention_resolutions=[1, 2],
                     num_res_blocks=3, channel_mult=[2, 1], num_heads=1, transformer_depth=1, context_dim=32),
        "vae": dict(embed_dim=4, ddconfig=dict(double_z=True, z_channels=4, resolution=64, in_channels=1, out_ch=2,
                                                ch=32, ch_mult=[2, 1, 1, 3], num_res_blocks=3, attn_resolutions=[64])),
        "text_encoder": dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=1),
    },
}


def table(module, prefix):
    return [[prefix + k, list(v.shape)] for k, v in module.state_dict().items()]


for name, cfg in CONFIGS.items():
    u = cfg["unet"]
    unet = UNetModel(image_size=32, use_spatial_transformer=True, legacy=False, **u)
    dd = cfg["vae"]["ddconfig"]
    embed = cfg["vae"]["embed_dim"]
    vae = torch.nn.Module()
    vae.encoder = Encoder(**dd)
    vae.decoder = Decoder(**dd)
    vae.quant_conv = torch.nn.Conv2d(2 * dd["z_channels"], 2 * embed, 1)
    vae.post_quant_conv = torch.nn.Conv2d(embed, dd["z_channels"], 1)
    out = {
        "config": cfg,
        "made_by": "test/models/make-layout-fixtures.py with CompVis/stable-diffusion UNetModel, Encoder, Decoder",
        "unet": table(unet, "model.diffusion_model."),
        "vae": table(vae, "first_stage_model."),
    }
    with open(os.path.join(OUT, f"layout-{name}.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(name, len(out["unet"]), len(out["vae"]))
