import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readNpy, readNpyFloat32 } from '../../src/io/npy.js';
import { classifierFreeGuidance } from '../../src/pipeline/guidance.js';
import { NumpyLegacyRandom } from '../../src/pipeline/rng/numpy-legacy-random.js';
import { createSampler } from '../../src/pipeline/samplers/create-sampler.js';
import type { NoiseSource } from '../../src/pipeline/samplers/sampler.js';
import { timeEmbedding } from '../../src/pipeline/time-embedding.js';
import { relativeError } from '../support/f64-reference-ops.js';

/*
 * The reference pipeline's own 4-step runs on tiny-a (test/fixtures/tiny-a,
 * manifest "cases.pipeline"), every intermediate recorded. The UNet is
 * replaced by its recorded output at each step, after checking that the
 * recorded UNet input is exactly what our sampler hands it.
 */
const dir = new URL('../fixtures/tiny-a/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as {
  cases: {
    pipeline: Record<
      string,
      {
        cfg_scale: number;
        sigmas: number[];
        timesteps: number[];
        initial_scale: number;
        steps: { index: number; timestep: number; input_scale: number }[];
      }
    >;
  };
};
const TEMB_WIDTH = 32; // tiny-a's model_channels

function npy(name: string): Float32Array {
  return readNpyFloat32(new URL(`${name}.npy`, dir).pathname).data;
}

/** Recorded noise of step i, as np.random.normal would hand it to the sampler. */
function recordedNoise(): NoiseSource & { calls: number } {
  const source = {
    calls: 0,
    normal(count: number): Float64Array {
      const data = npy(`pipe_anc_noise_${source.calls++}`);
      expect(data.length).toBe(count);
      return Float64Array.from(data);
    },
  };
  return source;
}

function ulpDistance(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(a - b) / 2 ** (Math.floor(Math.log2(Math.abs(b))) - 52);
}


for (const [name, run] of Object.entries(manifest.cases.pipeline)) {
  describe(`tiny-a reference pipeline: ${name}`, () => {
    const steps = run.steps.length;

    it('schedule: timesteps exact; sigmas, initial and input scales within 1 ulp (float64)', () => {
      const sampler = createSampler(name, steps);
      expect(sampler.timesteps).toEqual(run.timesteps);
      run.sigmas.forEach((s, i) => expect(ulpDistance(sampler.sigmas[i]!, s)).toBeLessThanOrEqual(1));
      expect(ulpDistance(sampler.initialScale, run.initial_scale)).toBeLessThanOrEqual(1);
      const noise = { normal: (n: number) => new Float64Array(n) };
      for (const step of run.steps) {
        expect(ulpDistance(sampler.inputScale(), step.input_scale)).toBeLessThanOrEqual(1);
        sampler.step(new Float32Array(4), new Float32Array(4), noise);
      }
    });

    it('initial latents = float32 noise · initial scale, bit for bit', () => {
      const sampler = createSampler(name, steps);
      expect(sampler.scaleInitialNoise(npy('pipe_init_noise'))).toEqual(npy(`pipe_${name}_latents_init`));
    });

    for (let i = 0; i < steps; i++) {
      it(`step ${i}: UNet input, time embedding, guidance and the sampler step against the recording`, () => {
        const sampler = createSampler(name, steps);
        const noise = recordedNoise();
        // Bring the sampler (and its multistep memory) to step i on the recorded trajectory.
        for (let j = 0; j < i; j++) {
          const before = j === 0 ? npy(`pipe_${name}_latents_init`) : npy(`pipe_${name}_step${j - 1}_latents`);
          sampler.step(before, npy(`pipe_${name}_step${j}_cfg_out`), noise);
        }
        const latents = i === 0 ? npy(`pipe_${name}_latents_init`) : npy(`pipe_${name}_step${i - 1}_latents`);

        const unetIn = npy(`pipe_${name}_step${i}_unet_in`);
        const ours = sampler.scaleModelInput(latents);
        expect(unetIn.subarray(0, ours.length)).toEqual(ours);
        expect(unetIn.subarray(ours.length)).toEqual(ours);

        const temb = timeEmbedding(sampler.timesteps[i]!, TEMB_WIDTH);
        const refTemb = npy(`pipe_${name}_step${i}_temb`);
        temb.forEach((v, k) => expect(Math.abs(v - refTemb[k]!)).toBeLessThanOrEqual(2 ** -24)); // ≤ 1 ulp of |x| < 1

        const cfgOut = classifierFreeGuidance(npy(`pipe_${name}_step${i}_unet_out`), run.cfg_scale);
        expect(cfgOut).toEqual(npy(`pipe_${name}_step${i}_cfg_out`));

        const next = sampler.step(latents, cfgOut, noise);
        const expected = npy(`pipe_${name}_step${i}_latents`);
        expect(relativeError(next, expected)).toBeLessThanOrEqual(1e-5);
        expect(next).toEqual(expected); // in fact bit for bit
      });
    }

    it('whole loop with the recorded UNet outputs: final latents bit for bit, noise drawn once per step', () => {
      const sampler = createSampler(name, steps);
      const noise = recordedNoise();
      let latents = sampler.scaleInitialNoise(npy('pipe_init_noise'));
      sampler.timesteps.forEach((_, i) => {
        expect(npy(`pipe_${name}_step${i}_unet_in`).subarray(0, latents.length)).toEqual(
          sampler.scaleModelInput(latents),
        );
        const eps = classifierFreeGuidance(npy(`pipe_${name}_step${i}_unet_out`), run.cfg_scale);
        latents = sampler.step(latents, eps, noise);
      });
      expect(latents).toEqual(npy(`pipe_${name}_final_latents`));
      expect(noise.calls).toBe(name === 'k_euler_ancestral' ? steps : 0);
    });
  });
}

describe('tiny-a-seeded: the draw order of a seeded k_euler_ancestral run', () => {
  for (const seed of [42, 1234]) {
    it(`seed ${seed}: initial noise, then one latent-sized draw per step (rng_normal_s${seed}.npy rows)`, () => {
      const rows = readNpy(new URL(`../fixtures/tiny-a-seeded/rng_normal_s${seed}.npy`, import.meta.url).pathname)
        .data as Float64Array;
      const rng = new NumpyLegacyRandom(seed);
      const sampler = createSampler('k_euler_ancestral', 4);
      let latents = sampler.scaleInitialNoise(rng.normalFloat32(256));
      expect(latents).toEqual(sampler.scaleInitialNoise(Float32Array.from(rows.subarray(0, 256))));
      const drawn: Float64Array[] = [];
      const recording = {
        normal(n: number): Float64Array {
          const d = rng.normal(n);
          drawn.push(d);
          return d;
        },
      };
      for (let i = 0; i < 4; i++) latents = sampler.step(latents, new Float32Array(256), recording);
      expect(drawn.length).toBe(4);
      drawn.forEach((d, i) => {
        // float32 equality: the float64 values may differ by 1 ulp where glibc's log is not correctly rounded.
        expect(Float32Array.from(d)).toEqual(Float32Array.from(rows.subarray((i + 1) * 256, (i + 2) * 256)));
      });
    });
  }
});
