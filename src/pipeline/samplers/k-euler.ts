import { referenceSchedule } from './noise-schedule.js';
import { ScheduledSampler } from './scheduled-sampler.js';

/**
 * The reference's k_euler (Euler's method on the probability-flow ODE, as in
 * k-diffusion): x += ε · (σ_next − σ). The factor is rounded to float32 and
 * the update done in float32, as numpy 1.x does for a float64 scalar times a
 * float32 array.
 */
export class KEulerSampler extends ScheduledSampler {
  readonly name = 'k_euler' as const;

  constructor(steps: number) {
    super(referenceSchedule(steps));
  }

  protected update(latents: Float32Array, eps: Float32Array, i: number): void {
    const factor = Math.fround(this.sigmas[i + 1]! - this.sigmas[i]!);
    for (let k = 0; k < latents.length; k++) {
      latents[k] = latents[k]! + Math.fround(eps[k]! * factor);
    }
  }
}
