import { UsageError } from '../../errors.js';
import { correctlyRoundedLog } from './correctly-rounded-log.js';
import { Mt19937 } from './mt19937.js';

/**
 * numpy's legacy global RNG, reproduced bit for bit: `np.random.seed(seed)`
 * followed by `np.random.normal(size=n)` calls (RandomState: MT19937 and the
 * Marsaglia polar Gaussian that keeps its second value for the next call).
 * The cached value survives between calls, exactly as in numpy, so an odd
 * count in one call shifts every later draw.
 */
export class NumpyLegacyRandom {
  private readonly mt: Mt19937;
  private cachedGauss: number | undefined;

  /** Same as `np.random.seed(seed)` for an integer seed in [0, 2^32 − 1]. */
  constructor(seed: number) {
    this.mt = new Mt19937(seed);
  }

  /** `np.random.random_sample()`: uniform double in [0, 1). */
  randomDouble(): number {
    return this.mt.nextDouble();
  }

  /** One standard normal draw (numpy's legacy_gauss). */
  gauss(): number {
    if (this.cachedGauss !== undefined) {
      const g = this.cachedGauss;
      this.cachedGauss = undefined;
      return g;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2 * this.mt.nextDouble() - 1;
      x2 = 2 * this.mt.nextDouble() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * correctlyRoundedLog(r2)) / r2);
    this.cachedGauss = f * x1;
    return f * x2;
  }

  /** `np.random.normal(size=count)` (loc 0, scale 1): float64 draws in C order. */
  normal(count: number): Float64Array {
    if (!Number.isInteger(count) || count < 0) {
      throw new UsageError(`normal: count must be a non-negative integer, got ${count}`);
    }
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = this.gauss();
    return out;
  }

  /** `np.random.normal(size=count).astype(np.float32)`, as the pipeline uses its noise. */
  normalFloat32(count: number): Float32Array {
    return Float32Array.from(this.normal(count));
  }
}
