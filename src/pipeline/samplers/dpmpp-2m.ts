import { type Schedule, sigmaToTimestep, trainingSigmas } from './noise-schedule.js';
import { ScheduledSampler } from './scheduled-sampler.js';

const KARRAS_RHO = 7;

/**
 * DPM-Solver++(2M) (Lu et al. 2022) with Karras et al. (2022) sigmas, as
 * k-diffusion's sample_dpmpp_2m + get_sigmas_karras (what AUTOMATIC1111
 * calls "DPM++ 2M Karras"):
 *  - σ_i = (σmax^(1/ρ) + i/(n−1)·(σmin^(1/ρ) − σmax^(1/ρ)))^ρ, ρ = 7, then 0;
 *    σmin, σmax = the training table's σ_0, σ_999;
 *  - the UNet timestep of σ is k-diffusion's sigma_to_t (log-σ
 *    interpolation, fractional, not quantized);
 *  - with D = x − σ·ε (the denoised estimate), h = log(σ/σ_next):
 *    first step (and after setStrength): x = (σ_next/σ)·x − expm1(−h)·D;
 *    later: r = log(σ_prev/σ)/h, D' = (1 + 1/(2r))·D − 1/(2r)·D_prev,
 *    x = (σ_next/σ)·x − expm1(−h)·D'; the step to σ = 0 returns D.
 * Arithmetic in float64 per element, latents stored as float32.
 */
export class DpmPp2mKarrasSampler extends ScheduledSampler {
  readonly name = 'dpmpp_2m' as const;
  private previousDenoised: Float64Array | undefined;

  constructor(steps: number) {
    super(karrasSchedule(steps));
  }

  protected override resetHistory(): void {
    this.previousDenoised = undefined;
  }

  protected update(latents: Float32Array, eps: Float32Array, i: number): void {
    const sigma = this.sigmas[i]!;
    const next = this.sigmas[i + 1]!;
    const denoised = new Float64Array(latents.length);
    for (let k = 0; k < latents.length; k++) denoised[k] = latents[k]! - sigma * eps[k]!;
    if (next === 0) {
      latents.set(denoised);
    } else {
      const h = Math.log(sigma / next);
      const ratio = next / sigma;
      const weight = -Math.expm1(-h);
      const previous = this.previousDenoised;
      if (previous === undefined) {
        for (let k = 0; k < latents.length; k++) latents[k] = ratio * latents[k]! + weight * denoised[k]!;
      } else {
        const r = Math.log(this.sigmas[i - 1]! / sigma) / h;
        const a = 1 + 1 / (2 * r);
        const b = 1 / (2 * r);
        for (let k = 0; k < latents.length; k++) {
          latents[k] = ratio * latents[k]! + weight * (a * denoised[k]! - b * previous[k]!);
        }
      }
    }
    this.previousDenoised = denoised;
  }
}

function karrasSchedule(steps: number): Schedule {
  const table = trainingSigmas();
  const logTable = Array.from(table, (s) => Math.log(s));
  const minInvRho = table[0]! ** (1 / KARRAS_RHO);
  const maxInvRho = table[table.length - 1]! ** (1 / KARRAS_RHO);
  const sigmas: number[] = [];
  for (let i = 0; i < steps; i++) {
    const ramp = steps === 1 ? 0 : i / (steps - 1);
    sigmas.push((maxInvRho + ramp * (minInvRho - maxInvRho)) ** KARRAS_RHO);
  }
  const timesteps = sigmas.map((s) => sigmaToTimestep(s, logTable));
  sigmas.push(0);
  return { timesteps, sigmas };
}
