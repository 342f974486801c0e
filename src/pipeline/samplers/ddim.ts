import { UsageError } from '../../errors.js';
import { alphasCumprod, type Schedule, TRAINING_STEPS } from './noise-schedule.js';
import { ScheduledSampler } from './scheduled-sampler.js';

/**
 * DDIM with η = 0 (Song et al. 2021), as Hugging Face diffusers'
 * DDIMScheduler runs it with Stable Diffusion v1.5's scheduler config
 * (timestep_spacing "leading", steps_offset 1, set_alpha_to_one false):
 * timesteps 1000/n·(n−1)+1, …, 1 (integer step ratio floor(1000/n)), each
 * step going to the previous timestep's ᾱ and the last one to ᾱ_0.
 *
 * In diffusers' scale x = √ᾱ·x0 + √(1−ᾱ)·ε, DDIM sets
 * x_prev = √ᾱ_prev·x0 + √(1−ᾱ_prev)·ε with x0 = (x − √(1−ᾱ)·ε)/√ᾱ. Writing
 * x = √ᾱ·X with σ = √((1−ᾱ)/ᾱ) turns this into X_prev = X + (σ_prev − σ)·ε
 * on the latents X this project's samplers use (Karras et al. 2022 note
 * that DDIM is Euler's method on the probability-flow ODE). So:
 *  - inputScale 1/√(σ²+1) = √ᾱ hands the UNet diffusers' x exactly;
 *  - txt2img starts from X = noise·√(σ²+1) (diffusers' x_T = noise), so
 *    initialScale is √(σ²+1) there and σ after setStrength (img2img:
 *    diffusers' add_noise gives X = x0 + σ·noise);
 *  - the last step multiplies by √ᾱ_0 so that the result is diffusers' final
 *    x, the latent it decodes.
 */
export class DdimSampler extends ScheduledSampler {
  readonly name = 'ddim' as const;

  constructor(steps: number) {
    super(ddimSchedule(steps));
    this.scaleAtStart = Math.sqrt(this.sigmas[0]! ** 2 + 1);
  }

  protected update(latents: Float32Array, eps: Float32Array, i: number): void {
    const from = this.sigmas[i]!;
    const to = this.sigmas[i + 1]!;
    const last = i === this.steps - 1;
    const toDiffusersScale = last ? 1 / Math.sqrt(to * to + 1) : 1;
    for (let k = 0; k < latents.length; k++) {
      latents[k] = (latents[k]! + (to - from) * eps[k]!) * toDiffusersScale;
    }
  }
}

function ddimSchedule(steps: number): Schedule {
  if (steps > TRAINING_STEPS) throw new UsageError(`ddim takes at most ${TRAINING_STEPS} steps, got ${steps}`);
  const ac = alphasCumprod();
  const sigmaAt = (t: number): number => Math.sqrt((1 - ac[t]!) / ac[t]!);
  const ratio = Math.floor(TRAINING_STEPS / steps);
  const timesteps: number[] = [];
  for (let i = steps - 1; i >= 0; i--) timesteps.push(i * ratio + 1);
  const sigmas = timesteps.map(sigmaAt);
  sigmas.push(sigmaAt(0)); // set_alpha_to_one = false: the last step ends at ᾱ_0
  return { timesteps, sigmas };
}
