import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { cliFlagName, resolveOptions } from '../../src/pipeline/generation-options.js';
import { createSampler } from '../../src/pipeline/samplers/create-sampler.js';
import { alphasCumprod } from '../../src/pipeline/samplers/noise-schedule.js';
import type { NoiseSource } from '../../src/pipeline/samplers/sampler.js';

/** Made by scripts/gen-lcm-fixture.py: diffusers' LCMScheduler re-evaluated in numpy float32. */
interface Run {
  steps: number;
  noise: number[];
  eps: number[][];
  step_noise: number[][];
  unet_inputs: number[][];
  final: number[];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/pipeline-math/lcm.json', import.meta.url), 'utf8')) as {
  schedules: { steps: number; timesteps: number[] }[];
  alphas_cumprod: Record<string, number>;
  txt2img: Run[];
  img2img: (Run & { strength: number; timesteps: number[]; x0: number[] })[];
};

/** Hands out the fixture's per-step draws in order, and counts what was taken. */
function queuedNoise(draws: number[][]): NoiseSource & { taken: number } {
  const queue = draws.map((d) => Float64Array.from(d));
  return {
    taken: 0,
    normal(count) {
      const next = queue.shift();
      if (!next || next.length !== count) throw new Error(`unexpected draw of ${count} values`);
      this.taken++;
      return next;
    },
  };
}

/** |got − want| <= rel · max|want| elementwise: float32 rounding of a few operations per step. */
function expectRelClose(got: ArrayLike<number>, want: readonly number[], rel: number): void {
  expect(got.length).toBe(want.length);
  const scale = Math.max(...want.map(Math.abs));
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= rel * scale)) expect.fail(`element ${i}: ${got[i]} vs ${want[i]}`);
  }
}

describe("lcm (diffusers' LCMScheduler, SD v1.5, original_inference_steps 50)", () => {
  it('timesteps as LCMScheduler.set_timesteps spaces them (4 steps: 999, 759, 499, 259)', () => {
    for (const { steps, timesteps } of fixture.schedules) expect(createSampler('lcm', steps).timesteps).toEqual(timesteps);
  });

  it('uses the same alphas_cumprod table as the fixture (float32)', () => {
    const ac = alphasCumprod();
    for (const [t, a] of Object.entries(fixture.alphas_cumprod)) expect(ac[Number(t)]).toBeCloseTo(a, 9);
  });

  for (const run of fixture.txt2img) {
    it(`txt2img, ${run.steps} steps: every UNet input, the noise draws and the final latent as diffusers`, () => {
      const sampler = createSampler('lcm', run.steps);
      const noise = queuedNoise(run.step_noise);
      // As the pipeline: float32(normal) · initialScale.
      let latents = sampler.scaleInitialNoise(Float32Array.from(run.noise));
      run.eps.forEach((eps, i) => {
        expectRelClose(sampler.scaleModelInput(latents), run.unet_inputs[i]!, 5e-7);
        latents = sampler.step(latents, Float32Array.from(eps), noise);
      });
      expect(noise.taken).toBe(run.steps - 1); // fresh noise in every step but the last
      expectRelClose(latents, run.final, 5e-7);
      expect(() => sampler.step(latents, latents, noise)).toThrow(/all \d+ steps already taken/);
    });
  }

  for (const run of fixture.img2img) {
    it(`img2img, ${run.steps} steps at strength ${run.strength}: diffusers' img2img pipeline's last timesteps, add_noise start`, () => {
      const sampler = createSampler('lcm', run.steps);
      sampler.setStrength(run.strength);
      expect(sampler.timesteps).toEqual(run.timesteps);
      const noise = queuedNoise(run.step_noise);
      // As the pipeline: encoded + scaleInitialNoise(float32(normal)).
      const added = sampler.scaleInitialNoise(Float32Array.from(run.noise));
      let latents = Float32Array.from(run.x0, (v, i) => v + added[i]!);
      run.eps.forEach((eps, i) => {
        expectRelClose(sampler.scaleModelInput(latents), run.unet_inputs[i]!, 5e-7);
        latents = sampler.step(latents, Float32Array.from(eps), noise);
      });
      expect(noise.taken).toBe(run.timesteps.length - 1);
      expectRelClose(latents, run.final, 5e-7);
    });
  }

  it('one step needs no noise source; more than 50 steps is a UsageError naming the limit', () => {
    const sampler = createSampler('lcm', 1);
    const out = sampler.step(new Float32Array(4).fill(1), new Float32Array(4));
    expect(out.every((v) => Number.isFinite(v))).toBe(true);
    expect(() => createSampler('lcm', 51)).toThrow(UsageError);
    expect(() => createSampler('lcm', 51)).toThrow(/at most 50 steps/);
    expect(() => createSampler('lcm', 4).step(new Float32Array(4), new Float32Array(4))).toThrow(/noise source/);
  });

  it('generate options refuse lcm past 50 steps before any work, naming the option or the flag', () => {
    const options = { prompt: 'x', sampler: 'lcm', steps: 51 };
    expect(() => resolveOptions(options)).toThrow(new UsageError('steps must be at most 50 with sampler lcm, got 51'));
    expect(() => resolveOptions(options, cliFlagName)).toThrow(new UsageError('--steps must be at most 50 with --sampler lcm, got 51'));
    expect(resolveOptions({ ...options, steps: 50 }).steps).toBe(50);
    expect(resolveOptions({ ...options, sampler: 'ddim' }).steps).toBe(51);
  });
});
