import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupNorm as referenceGroupNorm } from '../../src/kernels/reference/group-norm.js';
import { layerNorm as referenceLayerNorm } from '../../src/kernels/reference/layer-norm.js';
import type { KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { groupNorm, layerNorm } from '../../src/kernels/wasm/norms.js';
import { VARIANTS, alloc, createRuntimes, put, random, randomFloats, relativeToMaxError, sameBits, withArena } from './wasm-kernel-harness.js';

interface GroupCase {
  b: number;
  p: number;
  c: number;
  g: number;
  silu?: boolean;
  /** Added to every input: a mean far from 0 tests the shifted sums. */
  offset?: number;
}

const groupCases: GroupCase[] = [
  { b: 1, p: 7, c: 6, g: 3 },
  { b: 2, p: 300, c: 64, g: 32, silu: true },
  { b: 1, p: 600, c: 40, g: 8, offset: 100 },
  { b: 3, p: 5, c: 35, g: 5, silu: true },
  { b: 1, p: 257, c: 96, g: 32, offset: -3 },
];

const layerCases = [
  { rows: 3, n: 5, affine: true },
  { rows: 77, n: 96, affine: true },
  { rows: 10, n: 130, affine: false },
  { rows: 1, n: 1, affine: true },
];

for (const variant of VARIANTS) {
  describe(`wasm norms (${variant} SIMD)`, () => {
    let runtimes: KernelRuntime[] = [];
    beforeAll(async () => {
      runtimes = await createRuntimes(variant);
    });
    afterAll(async () => {
      for (const rt of runtimes) await rt.close();
    });

    it.each(groupCases.map((c) => [`group norm B=${c.b} P=${c.p} C=${c.c} G=${c.g}${c.silu ? ' +SiLU' : ''}${c.offset ? ` offset ${c.offset}` : ''}`, c] as const))(
      '%s',
      (_name, c) => {
        const rnd = random(c.p * 31 + c.c);
        const x = randomFloats(c.b * c.p * c.c, rnd, -2, 2).map((v) => v + (c.offset ?? 0));
        const gamma = randomFloats(c.c, rnd, 0.5, 1.5);
        const beta = randomFloats(c.c, rnd);
        const eps = 1e-5;
        const want = referenceGroupNorm(
          { data: x, shape: [c.b, c.p, c.c] },
          { data: gamma, shape: [c.c] },
          { data: beta, shape: [c.c] },
          { groups: c.g, eps, silu: c.silu },
        ).data;
        const results = runtimes.map((rt) =>
          withArena(rt, () => {
            const out = alloc(rt, x.length);
            groupNorm(rt, { x: put(rt, x), out, gamma: put(rt, gamma), beta: put(rt, beta), batch: c.b, positions: c.p, channels: c.c, groups: c.g, eps, silu: c.silu });
            return { ptr: out, length: x.length };
          }),
        );
        for (const r of results.slice(1)) expect(sameBits(r, results[0]!)).toBe(true);
        expect(relativeToMaxError(results[0]!, want)).toBeLessThan(1e-5);
      },
    );

    it('group norm in place equals out of place', () => {
      const rt = runtimes[1]!;
      const rnd = random(5);
      const x = randomFloats(2 * 50 * 32, rnd);
      const gamma = randomFloats(32, rnd);
      const beta = randomFloats(32, rnd);
      const args = { batch: 2, positions: 50, channels: 32, groups: 8, eps: 1e-6, silu: true };
      const apart = withArena(rt, () => {
        const out = alloc(rt, x.length);
        groupNorm(rt, { ...args, x: put(rt, x), out, gamma: put(rt, gamma), beta: put(rt, beta) });
        return { ptr: out, length: x.length };
      });
      const inPlace = withArena(rt, () => {
        const xp = put(rt, x);
        groupNorm(rt, { ...args, x: xp, out: xp, gamma: put(rt, gamma), beta: put(rt, beta) });
        return { ptr: xp, length: x.length };
      });
      expect(sameBits(inPlace, apart)).toBe(true);
    });

    it.each(layerCases.map((c) => [`layer norm ${c.rows}x${c.n}${c.affine ? '' : ' no affine'}`, c] as const))('%s', (_name, c) => {
      const rnd = random(c.rows * 7 + c.n);
      const x = randomFloats(c.rows * c.n, rnd, -3, 5);
      const gamma = c.affine ? randomFloats(c.n, rnd, 0.5, 1.5) : null;
      const beta = c.affine ? randomFloats(c.n, rnd) : null;
      const want = referenceLayerNorm(
        { data: x, shape: [c.rows, c.n] },
        gamma && { data: gamma, shape: [c.n] },
        beta && { data: beta, shape: [c.n] },
        1e-5,
      ).data;
      const results = runtimes.map((rt) =>
        withArena(rt, () => {
          const out = alloc(rt, x.length);
          layerNorm(rt, {
            x: put(rt, x), out, rows: c.rows, size: c.n, eps: 1e-5,
            gamma: gamma ? put(rt, gamma) : undefined, beta: beta ? put(rt, beta) : undefined,
          });
          return { ptr: out, length: x.length };
        }),
      );
      for (const r of results.slice(1)) expect(sameBits(r, results[0]!)).toBe(true);
      expect(relativeToMaxError(results[0]!, want)).toBeLessThan(1e-5);
    });

    it('rejects channels that do not split into the groups', () => {
      expect(() => groupNorm(runtimes[0]!, { x: 64, out: 64, gamma: 64, beta: 64, batch: 1, positions: 2, channels: 10, groups: 4, eps: 1e-5 })).toThrow(/groups/);
    });
  });
}
