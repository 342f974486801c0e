import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { readNpyFloat32 } from '../../src/io/npy.js';
import { linspace } from '../../src/pipeline/samplers/numpy-numerics.js';
import { timeEmbedding } from '../../src/pipeline/time-embedding.js';

const tinyA = new URL('../fixtures/tiny-a/', import.meta.url);
const npy = (name: string): Float32Array => readNpyFloat32(new URL(`${name}.npy`, tinyA).pathname).data;

/** float64 evaluations of the formula, made by scripts/gen-sampler-fixture.py. */
const float64Cases = (
  JSON.parse(readFileSync(new URL('../fixtures/pipeline-math/samplers.json', import.meta.url), 'utf8')) as {
    time_embedding_float64: { width: number; t: number; float64: number[] }[];
  }
).time_embedding_float64;

/** Ours against a float32 reference embedding: every element within 1 ulp, most identical. */
function expectMatchesReference(ours: Float32Array, ref: Float32Array): void {
  expect(ours.length).toBe(ref.length);
  let identical = 0;
  ours.forEach((v, k) => {
    expect(Math.abs(v - ref[k]!)).toBeLessThanOrEqual(2 ** -24); // 1 ulp for values in [0.5, 1)
    if (v === ref[k]) identical++;
  });
  expect(identical).toBeGreaterThanOrEqual(ours.length * 0.85);
}

describe('timeEmbedding', () => {
  it("tiny-a UNet goldens' embeddings (t = 999, 500, and fractional t from linspace(999, 0, 20))", () => {
    expectMatchesReference(timeEmbedding(999, 32), npy('unet_in_temb'));
    expectMatchesReference(timeEmbedding(500, 32), npy('unet_nonsq_temb'));
    const mixed = npy('unet_mixed_temb');
    const t20 = linspace(999, 0, 20);
    expectMatchesReference(timeEmbedding(t20[1]!, 32), mixed.subarray(0, 32));
    expectMatchesReference(timeEmbedding(t20[18]!, 32), mixed.subarray(32));
  });

  it('is the float64 formula up to float32 rounding of t·freq (width 320 as SD v1.5, and others)', () => {
    for (const c of float64Cases) {
      const ours = timeEmbedding(c.t, c.width);
      // |Δx| <= ulp(t·freq)/2 <= t·2^-24 moves cos/sin by at most that much, plus the final rounding.
      const tol = c.t * 2 ** -24 + 2 ** -24;
      c.float64.forEach((v, k) => expect(Math.abs(ours[k]! - v)).toBeLessThanOrEqual(tol));
    }
  });

  it('t = 0 gives cos = 1 then sin = 0', () => {
    expect(Array.from(timeEmbedding(0, 8))).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
  });

  it('rejects widths that cannot be split into cos and sin halves', () => {
    expect(() => timeEmbedding(1, 7)).toThrow(UsageError);
    expect(() => timeEmbedding(1, 0)).toThrow(UsageError);
  });
});
