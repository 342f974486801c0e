import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { softmax as referenceSoftmax } from '../../src/kernels/reference/softmax.js';
import type { KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { softmax } from '../../src/kernels/wasm/softmax.js';
import { VARIANTS, alloc, createRuntimes, put, random, randomFloats, relativeToMaxError, sameBits, withArena } from './wasm-kernel-harness.js';

const cases = [
  { rows: 1, n: 1, beta: 1 },
  { rows: 3, n: 5, beta: 1 },
  { rows: 16, n: 77, beta: 1 },
  { rows: 7, n: 1030, beta: 0.5 },
  { rows: 5, n: 12, beta: -2 },
];

for (const variant of VARIANTS) {
  describe(`wasm softmax (${variant} SIMD)`, () => {
    let runtimes: KernelRuntime[] = [];
    beforeAll(async () => {
      runtimes = await createRuntimes(variant);
    });
    afterAll(async () => {
      for (const rt of runtimes) await rt.close();
    });

    it.each(cases.map((c) => [`${c.rows}x${c.n} beta=${c.beta}`, c] as const))('%s', (_name, c) => {
      const rnd = random(c.rows * 13 + c.n);
      const x = randomFloats(c.rows * c.n, rnd, -20, 20);
      if (c.n > 2 && c.beta > 0) x[1] = -Infinity; // a masked entry gives exactly 0
      const want = referenceSoftmax({ data: x, shape: [c.rows, c.n] }, c.beta).data;
      const results = runtimes.map((rt) =>
        withArena(rt, () => {
          const out = alloc(rt, x.length);
          softmax(rt, { x: put(rt, x), out, rows: c.rows, size: c.n, beta: c.beta });
          return { ptr: out, length: x.length };
        }),
      );
      for (const r of results.slice(1)) expect(sameBits(r, results[0]!)).toBe(true);
      const got = results[0]!;
      if (c.n > 2 && c.beta > 0) expect(got[1]).toBe(0);
      // Each probability to a few ulp of itself, plus the float32 rounding of
      // its exponent beta·x - max (half an ulp of a number up to 80).
      for (let r = 0; r < c.rows; r++) {
        let max = -Infinity;
        for (let i = 0; i < c.n; i++) max = Math.max(max, c.beta * x[r * c.n + i]!);
        for (let i = r * c.n; i < (r + 1) * c.n; i++) {
          if (x[i] === -Infinity) continue;
          const bound = (4e-7 + 6e-8 * Math.abs(c.beta * x[i]! - max)) * want[i]!;
          expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(bound);
        }
      }
      expect(relativeToMaxError(got, want)).toBeLessThan(1e-6);
    });
  });
}
