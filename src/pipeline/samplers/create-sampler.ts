import { UsageError } from '../../errors.js';
import { DdimSampler } from './ddim.js';
import { DpmPp2mKarrasSampler } from './dpmpp-2m.js';
import { KEulerAncestralSampler } from './k-euler-ancestral.js';
import { KEulerSampler } from './k-euler.js';
import { KLmsSampler } from './k-lms.js';
import { LcmSampler } from './lcm.js';
import { SAMPLER_NAMES, type Sampler, type SamplerName } from './sampler.js';

export function isSamplerName(name: string): name is SamplerName {
  return (SAMPLER_NAMES as readonly string[]).includes(name);
}

/** A fresh sampler for `steps` denoising steps (k_euler is the reference pipeline's default). */
export function createSampler(name: string, steps: number): Sampler {
  if (!Number.isInteger(steps) || steps < 1) {
    throw new UsageError(`steps must be a whole number >= 1, got ${steps}`);
  }
  if (!isSamplerName(name)) {
    throw new UsageError(`unknown sampler '${name}'; expected one of ${SAMPLER_NAMES.join(', ')}`);
  }
  switch (name) {
    case 'k_euler':
      return new KEulerSampler(steps);
    case 'k_euler_ancestral':
      return new KEulerAncestralSampler(steps);
    case 'k_lms':
      return new KLmsSampler(steps);
    case 'ddim':
      return new DdimSampler(steps);
    case 'dpmpp_2m':
      return new DpmPp2mKarrasSampler(steps);
    case 'lcm':
      return new LcmSampler(steps);
  }
}
