/** Source of standard normal draws, e.g. NumpyLegacyRandom (np.random.normal's float64 values). */
export interface NoiseSource {
  normal(count: number): Float64Array;
}

export const SAMPLER_NAMES = ['k_euler', 'k_euler_ancestral', 'k_lms', 'ddim', 'dpmpp_2m', 'lcm'] as const;
export type SamplerName = (typeof SAMPLER_NAMES)[number];

/**
 * A denoising schedule plus its update rule, used by the pipeline loop the
 * way the reference pipeline uses its samplers:
 *
 *   sampler = createSampler(name, steps)
 *   txt2img: latents = sampler.scaleInitialNoise(rng.normalFloat32(n))
 *   img2img: sampler.setStrength(s);
 *            latents = encoded + sampler.scaleInitialNoise(rng.normalFloat32(n))
 *   for (const t of sampler.timesteps) {          // one UNet call per entry
 *     unetIn = sampler.scaleModelInput(latents)   // latents · inputScale()
 *     eps = guidance(unet([unetIn, unetIn], context, timeEmbedding(t)))
 *     latents = sampler.step(latents, eps, rng)   // advances to the next step
 *   }
 *
 * Latents are float32 [1,4,h,w] (flat); the model output is the UNet's noise
 * prediction ε after classifier-free guidance. Latents live in the
 * "variance exploding" scale of k-diffusion: x = x0 + σ·ε.
 */
export interface Sampler {
  readonly name: SamplerName;
  /** Timesteps still to run (after setStrength, only the remaining ones). */
  readonly timesteps: readonly number[];
  /** σ of every step of the full schedule, plus the final σ (length steps + 1). */
  readonly sigmas: readonly number[];
  /** What the initial noise is multiplied by (σ of the first step to run). */
  readonly initialScale: number;
  /** Index into sigmas of the next step. */
  readonly stepIndex: number;
  /** noise · float32(initialScale) in float32: the starting latents (txt2img) or what img2img adds. */
  scaleInitialNoise(noise: Float32Array): Float32Array;
  /** Factor applied to the latents before the UNet at the current step: 1/√(σ²+1). */
  inputScale(): number;
  /** latents · float32(inputScale()), in float32 as the reference (numpy 1.x) computes it. */
  scaleModelInput(latents: Float32Array): Float32Array;
  /**
   * img2img: start at step steps − floor(steps·strength) (the reference's
   * set_strength); initialScale becomes that step's σ.
   */
  setStrength(strength: number): void;
  /**
   * One update. Modifies `latents` in place and returns it. Samplers that add
   * noise draw latents.length values from `noise` once per step:
   * k_euler_ancestral in every step, also the last, as the reference does;
   * lcm in every step but the last, as diffusers' LCMScheduler does.
   */
  step(latents: Float32Array, modelOutput: Float32Array, noise?: NoiseSource): Float32Array;
}
