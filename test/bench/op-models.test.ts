/**
 * The benchmark's single-op models (bench/kernels/op-models.ts) compute
 * what their labels say: each runs in our interpreter (reference kernels) at
 * a small awkward shape and matches a plain loop implementation, and the
 * attention and group-norm graphs are the ones our fusion turns into one
 * fused step (so the benchmark times the fused kernels).
 */
import { describe, expect, it } from 'vitest';
import { attentionCase, convCase, fcCase, groupNormCase, inputName, random, SIGNATURE, type OpCase } from '../../bench/kernels/op-models.js';
import { failureSummary } from '../../bench/peers/litert-bench.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';

function runCase(c: OpCase): { out: Float32Array; steps: string[]; inputs: Float32Array[] } {
  const interp = Interpreter.load(c.model());
  try {
    const runner = interp.getSignatureRunner(SIGNATURE);
    const inputs = c.inputs();
    const { output_0 } = runner.invoke(Object.fromEntries(inputs.map((x, i) => [inputName(i), x])));
    return { out: output_0!.data as Float32Array, steps: runner.executor.steps.map((s) => s.node.op), inputs };
  } finally {
    interp.close();
  }
}

function expectClose(actual: Float32Array, expected: Float64Array, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst).toBeLessThan(tolerance);
}

describe('bench single-op models', () => {
  it('CONV_2D 3x3 SAME with bias', () => {
    const [h, w, cin, cout] = [5, 6, 3, 4];
    const c = convCase(h, w, cin, cout);
    expect(c.flops).toBe(2 * h * w * 9 * cin * cout);
    const { out, inputs } = runCase(c);
    const x = inputs[0]!;
    const filter = random(cout * 9 * cin, 1); // OHWI
    const bias = random(cout, 2);
    const expected = new Float64Array(h * w * cout);
    for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) for (let o = 0; o < cout; o++) {
      let sum = bias[o]!;
      for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) {
        const iy = y + ky - 1;
        const ix = xx + kx - 1;
        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
        for (let i = 0; i < cin; i++) sum += x[(iy * w + ix) * cin + i]! * filter[((o * 3 + ky) * 3 + kx) * cin + i]!;
      }
      expected[(y * w + xx) * cout + o] = sum;
    }
    expectClose(out, expected, 1e-5);
  });

  it('FULLY_CONNECTED', () => {
    const [m, k, n] = [7, 5, 3];
    const { out, inputs } = runCase(fcCase(m, k, n));
    const weights = random(n * k, 1);
    const bias = random(n, 2);
    const expected = new Float64Array(m * n);
    for (let r = 0; r < m; r++) for (let o = 0; o < n; o++) {
      let sum = bias[o]!;
      for (let i = 0; i < k; i++) sum += inputs[0]![r * k + i]! * weights[o * k + i]!;
      expected[r * n + o] = sum;
    }
    expectClose(out, expected, 1e-5);
  });

  it('attention (fused into one step)', () => {
    const [b, heads, t, s, d] = [1, 2, 5, 3, 4];
    const c = attentionCase(b, heads, t, s, d);
    expect(c.flops).toBe(4 * b * heads * t * s * d);
    const { out, steps, inputs } = runCase(c);
    expect(steps).toEqual(['FUSED_ATTENTION']);
    const [q, k, v] = inputs as [Float32Array, Float32Array, Float32Array];
    const expected = new Float64Array(b * heads * t * d);
    for (let h = 0; h < b * heads; h++) for (let i = 0; i < t; i++) {
      const scores = Array.from({ length: s }, (_, j) => {
        let dot = 0;
        for (let e = 0; e < d; e++) dot += q[(h * t + i) * d + e]! * k[(h * s + j) * d + e]!;
        return dot / Math.sqrt(d);
      });
      const max = Math.max(...scores);
      const weights = scores.map((x) => Math.exp(x - max));
      const total = weights.reduce((a, x) => a + x, 0);
      for (let e = 0; e < d; e++) {
        expected[(h * t + i) * d + e] = weights.reduce((a, wj, j) => a + (wj / total) * v[(h * s + j) * d + e]!, 0);
      }
    }
    expectClose(out, expected, 1e-5);
  });

  it('group norm, 32 groups (fused into one step)', () => {
    const [h, w, ch] = [3, 5, 64];
    const c = groupNormCase(h, w, ch);
    expect(c.bytes).toBe(12 * h * w * ch);
    const { out, steps, inputs } = runCase(c);
    expect(steps).toEqual(['FUSED_GROUP_NORM']);
    const x = inputs[0]!;
    const gamma = random(ch, 1);
    const beta = random(ch, 2);
    const per = ch / 32;
    const expected = new Float64Array(h * w * ch);
    for (let g = 0; g < 32; g++) {
      const values: number[] = [];
      for (let p = 0; p < h * w; p++) for (let j = 0; j < per; j++) values.push(x[p * ch + g * per + j]!);
      const mean = values.reduce((a, v) => a + v, 0) / values.length;
      const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
      for (let p = 0; p < h * w; p++) for (let j = 0; j < per; j++) {
        const i = p * ch + g * per + j;
        expected[i] = ((x[i]! - mean) / Math.sqrt(variance + 1e-5)) * gamma[g * per + j]! + beta[g * per + j]!;
      }
    }
    expectClose(out, expected, 1e-5);
  });
});

describe('LiteRT.js failure summary', () => {
  it('names allocation failures and otherwise quotes the ERROR line LiteRT.js logged', () => {
    expect(failureSummary('LiteRT.js: Failed to allocate tensors\nLiteRT.js log:\nINFO: x')).toBe('fails (allocation)');
    expect(failureSummary('LiteRT.js: LiteRT.js logged an error: ERROR: failed to delegate BATCH_MATMUL node #1\nLiteRT.js log:\nINFO: a\nERROR: failed to delegate BATCH_MATMUL node #1'))
      .toBe('fails (failed to delegate BATCH_MATMUL node #1)');
    expect(failureSummary('LiteRT.js child process exited (SIGKILL)')).toBe('fails (LiteRT.js child process exited (SIGKILL))');
  });
});
