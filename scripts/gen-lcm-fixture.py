#!/usr/bin/env python3
"""Writes test/fixtures/pipeline-math/lcm.json: Hugging Face diffusers'
LCMScheduler (Latent Consistency Model multistep sampling, as LCM-LoRA for
SD v1.5 uses it) re-evaluated here with numpy from its definition, to test
src/pipeline/samplers/lcm.ts, which is written independently of this.

LCMScheduler with SD v1.5's config: 1000 training steps, scaled-linear
betas 0.00085-0.012, original_inference_steps 50, timestep_scaling 10,
epsilon prediction, no clipping.
- schedule: the distillation grid t = 20k - 1 (k = 1..50, 1000 // 50 = 20),
  reversed; inference steps pick the indices floor(linspace(0, 50, n,
  endpoint=False)) of it (diffusers since PR #5836).
- step at t with ε: x0 = (x - sqrt(1 - a_t) ε) / sqrt(a_t);
  c_skip = 0.25 / ((10t)² + 0.25), c_out = 10t / sqrt((10t)² + 0.25);
  denoised = c_out x0 + c_skip x; then, except in the last step,
  x = sqrt(a_prev) denoised + sqrt(1 - a_prev) z with z fresh N(0, 1) noise
  (a_prev: alphas_cumprod at the next timestep); the last step returns denoised.
- txt2img starts from x = noise (init_noise_sigma 1); img2img (diffusers'
  StableDiffusionImg2ImgPipeline with LCMScheduler, how LCM-LoRA img2img
  runs) keeps the last int(n * strength) timesteps and starts from
  add_noise(x0, noise, t_start) = sqrt(a) x0 + sqrt(1 - a) noise.
Arithmetic is float32 as diffusers runs it in torch (scalars as float32 or
Python floats times float32 tensors); noise is given as float64 draws (what
our NoiseSource returns) and cast to float32 as torch's randn would be.

Usage: /usr/bin/python3 scripts/gen-lcm-fixture.py
"""
import json
import os

import numpy as np

TRAIN = 1000
ORIGINAL_STEPS = 50
TIMESTEP_SCALING = 10.0
SIGMA_DATA = 0.5
SIZE = 16  # one [1, 4, 2, 2] latent

f32 = np.float32
betas = np.linspace(0.00085 ** 0.5, 0.012 ** 0.5, TRAIN, dtype=f32) ** 2
alphas_cumprod = np.cumprod(f32(1.0) - betas, dtype=f32)


def lcm_timesteps(n):
    k = TRAIN // ORIGINAL_STEPS
    grid = (np.arange(1, ORIGINAL_STEPS + 1) * k - 1)[::-1]
    idx = np.floor(np.linspace(0, len(grid), num=n, endpoint=False)).astype(np.int64)
    return [int(t) for t in grid[idx]]


def boundary(t):
    s = t * TIMESTEP_SCALING
    return SIGMA_DATA ** 2 / (s * s + SIGMA_DATA ** 2), s / (s * s + SIGMA_DATA ** 2) ** 0.5


def run(timesteps, start, x, eps_seq, draws):
    """Steps start..n-1 of the schedule from sample x; returns UNet inputs, denoised per step and the result."""
    n = len(timesteps)
    unet_inputs, denoised_seq = [], []
    used = 0
    for j, i in enumerate(range(start, n)):
        t = timesteps[i]
        unet_inputs.append([float(v) for v in x])  # scale_model_input is the identity
        eps = eps_seq[j]
        a = alphas_cumprod[t]
        b = f32(1) - a
        c_skip, c_out = boundary(t)
        x0 = (x - np.sqrt(b) * eps) / np.sqrt(a)
        denoised = f32(c_out) * x0 + f32(c_skip) * x
        denoised_seq.append([float(v) for v in denoised])
        if i != n - 1:
            a_prev = alphas_cumprod[timesteps[i + 1]]
            z = draws[used].astype(f32)
            used += 1
            x = np.sqrt(a_prev) * denoised + np.sqrt(f32(1) - a_prev) * z
        else:
            x = denoised
        assert x.dtype == f32
    assert used == len(draws)
    return unet_inputs, denoised_seq, [float(v) for v in x]


rs = np.random.RandomState(11)
out = {'about': 'made by scripts/gen-lcm-fixture.py with numpy ' + np.__version__}
out['schedules'] = [{'steps': n, 'timesteps': lcm_timesteps(n)} for n in (1, 2, 3, 4, 5, 6, 8, 10, 16, 25, 50)]
out['alphas_cumprod'] = {str(t): float(alphas_cumprod[t]) for t in (19, 259, 499, 759, 999)}

txt2img = []
for n in (1, 4, 6):
    ts = lcm_timesteps(n)
    noise = rs.standard_normal(SIZE)  # float64 draws; the pipeline rounds them to float32
    eps_seq = rs.standard_normal((n, SIZE)).astype(f32)
    draws = rs.standard_normal((n - 1, SIZE))
    x = noise.astype(f32)
    unet_inputs, denoised, final = run(ts, 0, x, eps_seq, draws)
    txt2img.append({'steps': n, 'noise': [float(v) for v in noise], 'eps': eps_seq.tolist(), 'step_noise': draws.tolist(),
                    'unet_inputs': unet_inputs, 'denoised': denoised, 'final': final})
out['txt2img'] = txt2img

img2img = []
for n, strength in ((4, 0.6), (8, 0.5)):
    ts = lcm_timesteps(n)
    run_steps = min(int(n * strength), n)
    start = n - run_steps
    x0 = (rs.standard_normal(SIZE) * 0.8).astype(f32)
    noise = rs.standard_normal(SIZE)
    eps_seq = rs.standard_normal((run_steps, SIZE)).astype(f32)
    draws = rs.standard_normal((run_steps - 1, SIZE))
    a = alphas_cumprod[ts[start]]
    x = np.sqrt(a) * x0 + np.sqrt(f32(1) - a) * noise.astype(f32)
    unet_inputs, denoised, final = run(ts, start, x, eps_seq, draws)
    img2img.append({'steps': n, 'strength': strength, 'timesteps': ts[start:], 'x0': x0.tolist(), 'noise': noise.tolist(),
                    'eps': eps_seq.tolist(), 'step_noise': draws.tolist(), 'unet_inputs': unet_inputs, 'final': final})
out['img2img'] = img2img

path = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'pipeline-math', 'lcm.json')
with open(path, 'w') as f:
    json.dump(out, f, separators=(',', ':'))
    f.write('\n')
print('wrote', os.path.normpath(path), os.path.getsize(path), 'bytes')
