import { UsageError } from '../../errors.js';
import type { NoiseSource } from './sampler.js';
import { alphasCumprod, type Schedule, TRAINING_STEPS } from './noise-schedule.js';
import { ScheduledSampler } from './scheduled-sampler.js';

/** LCMScheduler's original_inference_steps: the distillation grid's size (LCM-LoRA for SD v1.5 is distilled on it). */
export const LCM_ORIGINAL_STEPS = 50;
/** LCMScheduler's timestep_scaling: t is multiplied by it in the boundary condition. */
const TIMESTEP_SCALING = 10;
/** σ_data of the consistency-model boundary condition. */
const SIGMA_DATA = 0.5;

/**
 * Latent Consistency Model multistep sampling (Luo et al. 2023, Algorithm 3)
 * as Hugging Face diffusers' LCMScheduler runs it with SD v1.5's config
 * (what LCM-LoRA, e.g. latent-consistency/lcm-lora-sdv1-5, is used with):
 *
 * - timesteps: the distillation grid 20k − 1 (k = 1..50), reversed, at the
 *   indices floor(linspace(0, 50, n, endpoint=False)): 4 steps are 999,
 *   759, 499, 259 (diffusers since PR #5836; at most 50 steps);
 * - each step predicts x0 = (x − √(1−ᾱ_t)·ε)/√ᾱ_t from the UNet's ε and the
 *   consistency function's output denoised = c_out·x0 + c_skip·x, with
 *   c_skip = σ_d²/((10t)² + σ_d²), c_out = 10t/√((10t)² + σ_d²), σ_d = 0.5;
 * - then jumps back to the next timestep with fresh noise z:
 *   x = √ᾱ_next·denoised + √(1−ᾱ_next)·z; the last step returns denoised.
 *
 * Latents are kept in this project's scale X = x/√ᾱ_t (see ddim.ts), so
 * the re-noising is X = denoised + σ_next·z, txt2img starts from
 * X = noise·√(σ²+1) (diffusers' x = noise), img2img from x0 + σ·noise
 * (diffusers' add_noise), and inputScale hands the UNet diffusers' x.
 * The last step leaves denoised itself, the latent diffusers decodes.
 *
 * Noise: latents.length fresh draws per step except the last, after the
 * UNet call, as diffusers draws them (rounded to float32 like its randn).
 */
export class LcmSampler extends ScheduledSampler {
  readonly name = 'lcm' as const;
  private readonly alphas: Float32Array;
  private readonly steppedTimesteps: readonly number[];

  constructor(steps: number) {
    const schedule = lcmSchedule(steps);
    super(schedule);
    this.steppedTimesteps = schedule.timesteps;
    this.alphas = alphasCumprod();
    this.scaleAtStart = Math.sqrt(this.sigmas[0]! ** 2 + 1);
  }

  protected update(latents: Float32Array, eps: Float32Array, i: number, noise: NoiseSource | undefined): void {
    const t = this.steppedTimesteps[i]!;
    const alpha = this.alphas[t]!;
    const sqrtAlpha = Math.sqrt(alpha);
    const sqrtBeta = Math.sqrt(1 - alpha);
    const { cSkip, cOut } = boundaryCondition(t);
    // The UNet's input exactly as scaleModelInput handed it over (float32): diffusers' sample.
    const sigma = this.sigmas[i]!;
    const inputScale = Math.fround(1 / Math.sqrt(sigma * sigma + 1));
    const last = i === this.steps - 1;
    const draws = last ? undefined : noiseFor(noise, latents.length);
    const sigmaNext = this.sigmas[i + 1]!;
    for (let k = 0; k < latents.length; k++) {
      const x = Math.fround(latents[k]! * inputScale);
      const x0 = (x - sqrtBeta * eps[k]!) / sqrtAlpha;
      const denoised = cOut * x0 + cSkip * x;
      latents[k] = draws ? denoised + sigmaNext * Math.fround(draws[k]!) : denoised;
    }
  }
}

function noiseFor(noise: NoiseSource | undefined, count: number): Float64Array {
  if (!noise) throw new Error('lcm needs a noise source');
  return noise.normal(count);
}

/** c_skip and c_out of the consistency model's boundary condition at training timestep t. */
export function boundaryCondition(t: number): { cSkip: number; cOut: number } {
  const scaled = t * TIMESTEP_SCALING;
  const d2 = scaled * scaled + SIGMA_DATA * SIGMA_DATA;
  return { cSkip: (SIGMA_DATA * SIGMA_DATA) / d2, cOut: scaled / Math.sqrt(d2) };
}

/** LCMScheduler.set_timesteps for `steps` (strength 1); σ of each, then 0 (the last step ends clean). */
function lcmSchedule(steps: number): Schedule {
  if (steps > LCM_ORIGINAL_STEPS) {
    throw new UsageError(`lcm takes at most ${LCM_ORIGINAL_STEPS} steps (its original_inference_steps), got ${steps}`);
  }
  const stride = Math.floor(TRAINING_STEPS / LCM_ORIGINAL_STEPS);
  // grid[j] = the j-th timestep of the reversed distillation grid: 999, 979, ..., 19.
  const grid = (j: number) => (LCM_ORIGINAL_STEPS - j) * stride - 1;
  const timesteps: number[] = [];
  for (let i = 0; i < steps; i++) timesteps.push(grid(Math.floor((i * LCM_ORIGINAL_STEPS) / steps)));
  const ac = alphasCumprod();
  const sigmas = timesteps.map((t) => Math.sqrt((1 - ac[t]!) / ac[t]!));
  sigmas.push(0);
  return { timesteps, sigmas };
}
