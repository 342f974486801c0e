import type { NoiseSource } from './sampler.js';
import { referenceSchedule } from './noise-schedule.js';
import { ScheduledSampler } from './scheduled-sampler.js';

/**
 * The reference's k_euler_ancestral: an Euler step down to
 * σ_down = σ_next²/σ, then fresh noise of size
 * σ_up = σ_next·√(1 − σ_next²/σ²). The noise is np.random.normal's float64
 * draws, added in float64 and rounded to float32 (numpy 1.x promotion); it
 * is drawn in every step, also the last where σ_up = 0.
 */
export class KEulerAncestralSampler extends ScheduledSampler {
  readonly name = 'k_euler_ancestral' as const;

  constructor(steps: number) {
    super(referenceSchedule(steps));
  }

  protected update(latents: Float32Array, eps: Float32Array, i: number, noise: NoiseSource | undefined): void {
    if (!noise) throw new Error('k_euler_ancestral needs a noise source');
    const from = this.sigmas[i]!;
    const to = this.sigmas[i + 1]!;
    const sigmaUp = to * Math.sqrt(1 - (to * to) / (from * from));
    const sigmaDown = (to * to) / from;
    const factor = Math.fround(sigmaDown - from);
    for (let k = 0; k < latents.length; k++) {
      latents[k] = latents[k]! + Math.fround(eps[k]! * factor);
    }
    const draws = noise.normal(latents.length);
    for (let k = 0; k < latents.length; k++) {
      latents[k] = latents[k]! + draws[k]! * sigmaUp;
    }
  }
}
