import { correctlyRoundedExp } from '../rng/correctly-rounded-exp.js';
import { interpOnIntegerGrid, linspace } from './numpy-numerics.js';
import { numpyFloat32Log } from './numpy-float32-log.js';

/** Stable Diffusion's training schedule: 1000 steps, "scaled linear" betas from 0.00085 to 0.012. */
export const TRAINING_STEPS = 1000;
const BETA_START = 0.00085;
const BETA_END = 0.012;

/**
 * ᾱ_t (alphas_cumprod) in float32, as the reference's util.get_alphas_cumprod:
 * betas = linspace(√0.00085, √0.012, 1000, float32)², ᾱ = cumprod(1 − β) in float32.
 */
export function alphasCumprod(): Float32Array {
  const roots = linspace(Math.sqrt(BETA_START), Math.sqrt(BETA_END), TRAINING_STEPS);
  const out = new Float32Array(TRAINING_STEPS);
  let product = 1;
  for (let t = 0; t < TRAINING_STEPS; t++) {
    const root = Math.fround(roots[t]!);
    const beta = Math.fround(root * root);
    const alpha = Math.fround(1 - beta);
    product = t === 0 ? alpha : Math.fround(product * alpha);
    out[t] = product;
  }
  return out;
}

/** σ_t = √((1 − ᾱ_t)/ᾱ_t) for every training step, in float32 as the reference computes it. */
export function trainingSigmas(): Float32Array {
  const ac = alphasCumprod();
  return ac.map((a) => Math.fround(Math.sqrt(Math.fround(Math.fround(1 - a) / a))));
}

/** log σ_t, float32, with numpy's own float32 log (see numpy-float32-log.ts). */
export function trainingLogSigmas(): Float32Array {
  return trainingSigmas().map(numpyFloat32Log);
}

export interface Schedule {
  /** The UNet timestep of each step (float64; fractional for some samplers). */
  timesteps: number[];
  /** σ before each step, then the final σ: length = steps + 1. */
  sigmas: number[];
}

/**
 * The reference k-samplers' schedule (k_euler.py, k_euler_ancestral.py,
 * k_lms.py): timesteps = linspace(999, 0, n); σ(t) by interpolating the
 * float32 log σ table at t, in float64, then exp; a final σ = 0.
 */
export function referenceSchedule(steps: number): Schedule {
  const timesteps = Array.from(linspace(TRAINING_STEPS - 1, 0, steps));
  const logSigmas = trainingLogSigmas();
  const sigmas = timesteps.map((t) => correctlyRoundedExp(interpOnIntegerGrid(t, logSigmas)));
  sigmas.push(0);
  return { timesteps, sigmas };
}

/**
 * The (fractional) training timestep whose σ is `sigma`, interpolating
 * linearly in log σ between neighbouring table entries and clamping to
 * [0, 999]: k-diffusion's DiscreteSchedule.sigma_to_t (not quantized).
 */
export function sigmaToTimestep(sigma: number, logSigmas: ArrayLike<number>): number {
  const logSigma = Math.log(sigma);
  let low = 0;
  for (let t = 0; t < logSigmas.length; t++) if (logSigma >= logSigmas[t]!) low = t;
  low = Math.min(low, logSigmas.length - 2);
  const lo = logSigmas[low]!;
  const hi = logSigmas[low + 1]!;
  const w = Math.min(1, Math.max(0, (lo - logSigma) / (lo - hi)));
  return (1 - w) * low + w * (low + 1);
}
