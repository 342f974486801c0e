import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { geluScalar, siluScalar, type FusedActivation } from '../../src/kernels/reference/activation.js';
import { binary as referenceBinary, type BinaryOp } from '../../src/kernels/reference/elementwise.js';
import { erf } from '../../src/kernels/reference/erf.js';
import { geglu as referenceGeglu } from '../../src/kernels/reference/geglu.js';
import { UNARY_FUNCTIONS } from '../../src/kernels/reference/unary.js';
import { binary, binaryOutputShape, geglu, unary, type WasmUnaryOp } from '../../src/kernels/wasm/elementwise.js';
import type { KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { VARIANTS, alloc, createRuntimes, put, random, randomFloats, relativeToMaxError, sameBits, withArena } from './wasm-kernel-harness.js';

const sizeOf = (shape: readonly number[]) => shape.reduce((x, y) => x * y, 1);

const shapePairs: [number[], number[], string][] = [
  [[2, 3, 7], [2, 3, 7], 'same shape'],
  [[2, 9], [1], 'scalar b'],
  [[], [5, 3], 'scalar a'],
  [[4, 5, 13], [13], 'per-channel b'],
  [[6], [3, 1, 6], 'per-channel a'],
  [[2, 1, 3, 5], [4, 1, 5], 'general'],
  [[3, 1], [1, 6], 'outer product'],
  [[2, 4, 1], [2, 1, 1], 'last axis broadcast'],
];

const ops: BinaryOp[] = ['ADD', 'SUB', 'MUL', 'DIV', 'SQUARED_DIFFERENCE'];
const activations: FusedActivation[] = ['NONE', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'TANH'];

/** Reference and domain of each unary op; `bound` is the max relative error per element allowed. */
const unaryCases: { op: WasmUnaryOp; fn: (x: number) => number; lo: number; hi: number; bound: number }[] = [
  { op: 'EXP', fn: Math.exp, lo: -86, hi: 88.5, bound: 2e-7 },
  { op: 'EXP2_NONPOSITIVE', fn: (x) => 2 ** x, lo: -125, hi: 0, bound: 3e-7 },
  { op: 'LOGISTIC', fn: UNARY_FUNCTIONS.LOGISTIC, lo: -80, hi: 30, bound: 2.5e-7 },
  { op: 'TANH', fn: Math.tanh, lo: -12, hi: 12, bound: 2.5e-7 },
  { op: 'ERF', fn: erf, lo: -5, hi: 5, bound: 2.5e-7 },
  { op: 'SILU', fn: siluScalar, lo: -80, hi: 30, bound: 2.5e-7 },
  // x·Φ(x) for x < 0 cancels in 1 + erf: bounded relative to max(|x|, 1) instead (see below).
  { op: 'GELU', fn: (x) => geluScalar(x, false), lo: -8, hi: 8, bound: 2.5e-7 },
  { op: 'GELU_TANH', fn: (x) => geluScalar(x, true), lo: -8, hi: 8, bound: 2.5e-7 },
];

for (const variant of VARIANTS) {
  describe(`wasm elementwise (${variant} SIMD)`, () => {
    let runtimes: KernelRuntime[] = [];
    beforeAll(async () => {
      runtimes = await createRuntimes(variant);
    });
    afterAll(async () => {
      for (const rt of runtimes) await rt.close();
    });

    it.each(shapePairs.map(([a, b, name]) => [`binary ${name} [${a.join(',')}] op [${b.join(',')}]`, a, b] as const))(
      '%s',
      (_name, aShape, bShape) => {
        const rnd = random(sizeOf(aShape) * 7 + sizeOf(bShape));
        const a = randomFloats(sizeOf(aShape), rnd, -3, 3);
        const b = randomFloats(sizeOf(bShape), rnd, 0.5, 2);
        const shape = binaryOutputShape(aShape, bShape);
        for (const op of ops) {
          for (const act of activations) {
            const want = referenceBinary(op, { data: a, shape: aShape }, { data: b, shape: bShape }, act).data;
            const results = runtimes.map((rt) =>
              withArena(rt, () => {
                const out = alloc(rt, sizeOf(shape));
                binary(rt, op, { ptr: put(rt, a), shape: aShape }, { ptr: put(rt, b), shape: bShape }, out, act);
                return { ptr: out, length: sizeOf(shape) };
              }),
            );
            for (const r of results.slice(1)) expect(sameBits(r, results[0]!)).toBe(true);
            // float32 add/sub/mul/div are exact roundings, as the reference's; the square and tanh round more.
            if (op !== 'SQUARED_DIFFERENCE' && act !== 'TANH') expect(sameBits(results[0]!, want), `${op} ${act}`).toBe(true);
            else expect(relativeToMaxError(results[0]!, want), `${op} ${act}`).toBeLessThan(1e-6);
          }
        }
      },
    );

    it.each(unaryCases.map((c) => [c.op, c] as const))('unary %s accuracy', (_name, c) => {
      const n = 20003;
      const x = Float32Array.from({ length: n }, (_, i) => c.lo + ((c.hi - c.lo) * i) / (n - 1));
      const results = runtimes.map((rt) =>
        withArena(rt, () => {
          const out = alloc(rt, n);
          unary(rt, c.op, put(rt, x), out, n);
          return { ptr: out, length: n };
        }),
      );
      for (const r of results.slice(1)) expect(sameBits(r, results[0]!)).toBe(true);
      let worst = 0;
      for (let i = 0; i < n; i++) {
        const want = c.fn(x[i]!);
        const scale = c.op.startsWith('GELU') ? Math.max(Math.abs(x[i]!), 1) : Math.abs(want);
        const diff = Math.abs(results[0]![i]! - want);
        if (diff > 0) worst = Math.max(worst, diff / scale);
      }
      expect(worst).toBeLessThan(c.bound);
    });

    it('unary edge values', () => {
      const rt = runtimes[0]!;
      const x = Float32Array.from([0, -0, Infinity, -Infinity, 89, -90, NaN]);
      const run = (op: WasmUnaryOp) =>
        withArena(rt, () => {
          const out = alloc(rt, x.length);
          unary(rt, op, put(rt, x), out, x.length);
          return { ptr: out, length: x.length };
        });
      expect(Array.from(run('EXP'))).toEqual([1, 1, Infinity, 0, Infinity, 0, NaN]);
      expect(Array.from(run('TANH')).slice(0, 6)).toEqual([0, -0, 1, -1, 1, -1]);
      expect(Array.from(run('LOGISTIC')).slice(0, 6)).toEqual([0.5, 0.5, 1, 0, 1, 0]);
      expect(Array.from(run('ERF')).slice(0, 4)).toEqual([0, -0, 1, -1]);
    });

    it.each([
      [3, 5, false],
      [77, 40, false],
      [10, 33, true],
    ] as const)('geglu %i rows x %i (approximate %s)', (rows, half, approximate) => {
      const rnd = random(rows * half);
      const x = randomFloats(rows * 2 * half, rnd, -4, 4);
      const want = referenceGeglu({ data: x, shape: [rows, 2 * half] }, approximate).data;
      const results = runtimes.map((rt) =>
        withArena(rt, () => {
          const out = alloc(rt, rows * half);
          geglu(rt, put(rt, x), out, rows, half, approximate);
          return { ptr: out, length: rows * half };
        }),
      );
      for (const r of results.slice(1)) expect(sameBits(r, results[0]!)).toBe(true);
      expect(relativeToMaxError(results[0]!, want)).toBeLessThan(1e-6);
    });
  });
}
