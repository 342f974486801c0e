export { createSampler, isSamplerName } from './create-sampler.js';
export { SAMPLER_NAMES, type NoiseSource, type Sampler, type SamplerName } from './sampler.js';
