#!/usr/bin/env python3
"""Writes test/fixtures/pipeline-math/samplers.json: numbers computed with
numpy for testing src/pipeline/samplers/ and src/pipeline/time-embedding.ts.

- float32_log: np.log on float32 arrays (numpy's own vectorised kernel on
  x86-64 AVX2/AVX512F CPUs, which the reference's sigma table goes through).
- reference: the reference pipeline's samplers (ai-edge-torch stable_diffusion
  samplers/k_*.py, util.get_alphas_cumprod) re-evaluated here with numpy:
  alphas_cumprod, schedules (timesteps, sigmas, input scales) for several step
  counts, set_strength results and k_lms's trapezoid coefficients.
- ddim: diffusers DDIMScheduler (SD v1.5 config: leading spacing,
  steps_offset 1, set_alpha_to_one False, eta 0) written out in diffusers'
  own variance-preserving form, run on synthetic model outputs.
- dpmpp_2m: k-diffusion get_sigmas_karras + sigma_to_t + sample_dpmpp_2m
  (written in k-diffusion's t = -log(sigma) form), on synthetic outputs.
- exp: correctly rounded e^x (60-digit decimal) for the schedule's range and
  wider, to test src/pipeline/rng/correctly-rounded-exp.ts; numpy's own
  float64 exp is not always correctly rounded (it varies with CPU and numpy
  version), so the fixture's reference schedules may differ from ours by an
  ulp, never more than 2.

Usage: python3 scripts/gen-sampler-fixture.py
"""
import json
import os
from decimal import Decimal, getcontext

import numpy as np

TRAIN = 1000
out = {'about': 'made by scripts/gen-sampler-fixture.py with numpy ' + np.__version__}

# --- numpy float32 log --------------------------------------------------------
rs = np.random.RandomState(7)
betas = np.linspace(0.00085 ** 0.5, 0.012 ** 0.5, TRAIN, dtype=np.float32) ** 2
alphas_cumprod = np.cumprod(1.0 - betas, axis=0)
train_sigmas = ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5
log_inputs = np.concatenate([
    train_sigmas,
    np.exp(rs.uniform(-87, 88, 800)).astype(np.float32),
    rs.uniform(0.5, 2.0, 300).astype(np.float32),
    np.array([1e-40, 1e-45, 3e-39, 1.0, 2.0, 0.70710677, 0.7071068, 3.4028235e38], dtype=np.float32),
]).astype(np.float32)
out['float32_log'] = {
    'inputs': [float(v) for v in log_inputs],
    'outputs': [float(v) for v in np.log(log_inputs)],
}

# --- the reference samplers -----------------------------------------------------
out['alphas_cumprod'] = [float(v) for v in alphas_cumprod]
log_sigmas = np.log(train_sigmas)


def reference_schedule(n):
    timesteps = np.linspace(TRAIN - 1, 0, n)
    sigmas = np.exp(np.interp(timesteps, range(TRAIN), log_sigmas))
    return timesteps, np.append(sigmas, 0)


schedules = []
for n in (1, 2, 3, 4, 5, 7, 10, 20, 25, 50):
    ts, sig = reference_schedule(n)
    scales = [float(1 / (sig[i] ** 2 + 1) ** 0.5) for i in range(n)]
    schedules.append({'steps': n, 'timesteps': [float(v) for v in ts], 'sigmas': [float(v) for v in sig],
                      'input_scales': scales})
out['reference_schedules'] = schedules

strengths = []
for n, strength in ((20, 0.8), (4, 0.5), (7, 0.3), (10, 1.0), (50, 0.75), (3, 0.2)):
    _, sig = reference_schedule(n)
    start = n - int(n * strength)
    strengths.append({'steps': n, 'strength': strength, 'start_step': start,
                      'timesteps': [float(v) for v in np.linspace(TRAIN - 1, 0, n)[start:]],
                      'initial_scale': float(sig[start])})
out['set_strength'] = strengths

trapezoid = getattr(np, 'trapezoid', None) or np.trapz
lms = []
for n, start in ((4, 0), (20, 0), (20, 4)):
    _, sig = reference_schedule(n)
    coeffs = []
    for t in range(start, n):
        order = min(t - start + 1, 4)
        row = []
        for i in range(order):
            x = np.linspace(sig[t], sig[t + 1], 81)
            y = np.ones(81)
            for j in range(order):
                if i == j:
                    continue
                y *= x - sig[t - j]
                y /= sig[t - i] - sig[t - j]
            row.append(float(trapezoid(y=y, x=x)))
        coeffs.append(row)
    lms.append({'steps': n, 'start_step': start, 'coefficients': coeffs})
out['lms_coefficients'] = lms

# --- synthetic model outputs shared by the DDIM and DPM++ runs ----------------------
SIZE = 16
noise = rs.standard_normal(SIZE).astype(np.float32)
eps_seq = rs.standard_normal((50, SIZE)).astype(np.float32)
out['synthetic'] = {'noise': [float(v) for v in noise], 'eps': [[float(v) for v in e] for e in eps_seq]}

# --- DDIM as diffusers ------------------------------------------------------------
ac64 = alphas_cumprod.astype(np.float64)
ddim = []
for n in (4, 20, 50):
    ratio = TRAIN // n
    timesteps = (np.arange(0, n) * ratio).round()[::-1].astype(np.int64) + 1
    x = noise.astype(np.float64)  # diffusers: latents = randn * init_noise_sigma (1.0)
    unet_inputs = []
    for i, t in enumerate(timesteps):
        prev = t - ratio
        a_t = ac64[t]
        a_prev = ac64[prev] if prev >= 0 else ac64[0]
        unet_inputs.append(float(x[0]))
        e = eps_seq[i].astype(np.float64)
        x0 = (x - (1 - a_t) ** 0.5 * e) / a_t ** 0.5
        x = a_prev ** 0.5 * x0 + (1 - a_prev) ** 0.5 * e
    ddim.append({'steps': n, 'timesteps': [int(v) for v in timesteps], 'unet_input_0': unet_inputs,
                 'final': [float(v) for v in x]})
out['ddim'] = ddim

# --- DPM++ 2M Karras as k-diffusion -----------------------------------------------------
sig_t = train_sigmas.astype(np.float64)
log_t = np.log(sig_t)


def sigma_to_t(sigma):
    log_sigma = np.log(sigma)
    dists = log_sigma - log_t[:, None]
    low_idx = np.cumsum(dists >= 0, axis=0).argmax(axis=0).clip(max=len(log_t) - 2)
    low, high = log_t[low_idx], log_t[low_idx + 1]
    w = np.clip((low - log_sigma) / (low - high), 0, 1)
    return (1 - w) * low_idx + w * (low_idx + 1)


dpm = []
for n in (4, 20):
    ramp = np.linspace(0, 1, n)
    min_inv, max_inv = sig_t[0] ** (1 / 7), sig_t[-1] ** (1 / 7)
    sigmas = np.append((max_inv + ramp * (min_inv - max_inv)) ** 7, 0.0)
    timesteps = sigma_to_t(sigmas[:-1])
    x = noise.astype(np.float64) * sigmas[0]
    old = None
    for i in range(n):
        e = eps_seq[i].astype(np.float64)
        denoised = x - sigmas[i] * e
        t, t_next = -np.log(sigmas[i]), (-np.log(sigmas[i + 1]) if sigmas[i + 1] > 0 else np.inf)
        h = t_next - t
        if old is None or sigmas[i + 1] == 0:
            x = (np.exp(-t_next) / np.exp(-t)) * x - np.expm1(-h) * denoised
        else:
            h_last = t - (-np.log(sigmas[i - 1]))
            r = h_last / h
            d = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * old
            x = (np.exp(-t_next) / np.exp(-t)) * x - np.expm1(-h) * d
        old = denoised
    dpm.append({'steps': n, 'sigmas': [float(v) for v in sigmas], 'timesteps': [float(v) for v in timesteps],
                'final': [float(v) for v in x]})
out['dpmpp_2m_karras'] = dpm

# --- time embedding, float64 (an independent check of the formula; the reference is float32) ---
temb = []
for width, t in ((320, 999.0), (320, 1.0), (32, 946.4210526315790), (8, 0.0)):
    half = width // 2
    freqs = np.array([10000.0 ** (-i / half) for i in range(half)])
    temb.append({'width': width, 't': t, 'float64': [float(v) for v in np.concatenate([np.cos(t * freqs), np.sin(t * freqs)])]})
out['time_embedding_float64'] = temb

# --- correctly rounded exp ---------------------------------------------------------
getcontext().prec = 60
exp_inputs = np.concatenate([rs.uniform(-4.0, 3.0, 300), rs.uniform(-700.0, 700.0, 100), [0.0, 1.0, -1.0, 1e-300]])
out['exp'] = [[float(x), float(Decimal(float(x)).exp())] for x in exp_inputs]

path = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'pipeline-math', 'samplers.json')
with open(path + '.tmp', 'w') as f:
    json.dump(out, f, separators=(',', ':'))
os.replace(path + '.tmp', path)
print('wrote', path, os.path.getsize(path), 'bytes')
