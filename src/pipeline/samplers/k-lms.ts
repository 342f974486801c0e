import { linspace, trapezoid } from './numpy-numerics.js';
import { referenceSchedule } from './noise-schedule.js';
import { ScheduledSampler } from './scheduled-sampler.js';

const LMS_ORDER = 4;
const INTEGRATION_POINTS = 81;

/**
 * The reference's k_lms: linear multistep of order up to 4 over the last
 * model outputs. Coefficient i is the integral from σ to σ_next of the
 * Lagrange basis polynomial through the σs of the remembered steps,
 * approximated by the trapezoid rule on 81 points, exactly as the reference
 * computes it (linspace, products, np.trapezoid's pairwise sum).
 */
export class KLmsSampler extends ScheduledSampler {
  readonly name = 'k_lms' as const;
  private outputs: Float32Array[] = [];

  constructor(steps: number) {
    super(referenceSchedule(steps));
  }

  protected override resetHistory(): void {
    this.outputs = [];
  }

  protected update(latents: Float32Array, eps: Float32Array, t: number): void {
    this.outputs = [Float32Array.from(eps), ...this.outputs.slice(0, LMS_ORDER - 1)];
    const coeffs = lmsCoefficients(this.sigmas, t, this.outputs.length);
    this.outputs.forEach((output, i) => {
      const c = Math.fround(coeffs[i]!);
      for (let k = 0; k < latents.length; k++) {
        latents[k] = latents[k]! + Math.fround(c * output[k]!);
      }
    });
  }
}

/**
 * The LMS coefficients of step t for `order` remembered outputs (newest
 * first): coefficient i integrates, from σ_t to σ_t+1, the Lagrange basis
 * polynomial that is 1 at σ_(t−i) and 0 at the other remembered σs.
 */
export function lmsCoefficients(sigmas: readonly number[], t: number, order: number): number[] {
  const x = linspace(sigmas[t]!, sigmas[t + 1]!, INTEGRATION_POINTS);
  const coeffs: number[] = [];
  for (let i = 0; i < order; i++) {
    const y = new Float64Array(INTEGRATION_POINTS).fill(1);
    for (let j = 0; j < order; j++) {
      if (i === j) continue;
      const denom = sigmas[t - i]! - sigmas[t - j]!;
      for (let k = 0; k < INTEGRATION_POINTS; k++) {
        y[k] = (y[k]! * (x[k]! - sigmas[t - j]!)) / denom;
      }
    }
    coeffs.push(trapezoid(y, x));
  }
  return coeffs;
}
