// Single-op models for the elementwise, reduction and type ops: binary ops
// with broadcasting and fused activations (float32 and int32), every unary
// op against its float64 formula, softmax, MEAN/SUM, DEQUANTIZE and CAST.
import { describe, expect, it } from 'vitest';
import { erf } from '../../src/kernels/reference/erf.js';
import { binary } from '../../src/kernels/reference/elementwise.js';
import { mean, sum } from '../../src/kernels/reference/reduce.js';
import { softmax } from '../../src/kernels/reference/softmax.js';
import { random, runOp, size } from './ops-harness.js';

const t = (shape: number[], seed: number, lo = -1, hi = 1) => ({ shape, data: random(size(shape), seed, lo, hi) });

describe('binary ops', () => {
  it.each(['ADD', 'SUB', 'MUL', 'DIV'] as const)('%s broadcasts [2,3,1,5] with [4,1] and applies RELU', (op) => {
    const a = t([2, 3, 1, 5], 1);
    const b = t([4, 1], 2, 0.5, 2);
    const [y] = runOp(op, [a, b], { fusedActivationFunction: 'RELU' });
    expect(y!.shape).toEqual([2, 3, 4, 5]);
    expect(y!.data).toEqual(binary(op, a, b, 'RELU').data);
  });

  it('SQUARED_DIFFERENCE with a constant scalar', () => {
    const a = t([3, 7], 3);
    const b = { shape: [], data: Float32Array.of(0.25), constant: true };
    const [y] = runOp('SQUARED_DIFFERENCE', [a, b]);
    expect(y!.data).toEqual(Float32Array.from(a.data, (v) => (v - 0.25) ** 2));
  });

  it('int32 ADD and MUL (shape arithmetic) wrap like C', () => {
    const a = { shape: [3], data: Int32Array.of(1, 2, 0x7fffffff) };
    const b = { shape: [1], data: Int32Array.of(3), constant: true };
    expect(runOp('ADD', [a, b], {}, [{ type: 'INT32' }])[0]!.data).toEqual(Int32Array.of(4, 5, -0x7ffffffe));
    expect(runOp('MUL', [a, b], {}, [{ type: 'INT32' }])[0]!.data).toEqual(Int32Array.of(3, 6, 0x7ffffffd));
  });

  it('refuses mixed types', () => {
    expect(() => runOp('ADD', [t([2], 4), { shape: [2], data: Int32Array.of(1, 2) }])).toThrow(/ADD on FLOAT32 and INT32/);
  });
});

const UNARY: Array<[string, (x: number) => number, number, number]> = [
  ['RSQRT', (x) => 1 / Math.sqrt(x), 0.1, 4],
  ['SQRT', Math.sqrt, 0, 4],
  ['EXP', Math.exp, -5, 5],
  ['LOG', Math.log, 0.01, 10],
  ['TANH', Math.tanh, -4, 4],
  ['LOGISTIC', (x) => 1 / (1 + Math.exp(-x)), -8, 8],
  ['RELU', (x) => Math.max(0, x), -2, 2],
  ['RELU6', (x) => Math.min(6, Math.max(0, x)), -3, 9],
  ['HARD_SWISH', (x) => (x * Math.min(6, Math.max(0, x + 3))) / 6, -5, 5],
  ['SIN', Math.sin, -7, 7],
  ['COS', Math.cos, -7, 7],
  ['ABS', Math.abs, -3, 3],
  ['NEG', (x) => -x, -3, 3],
  ['SQUARE', (x) => x * x, -3, 3],
  ['FLOOR', Math.floor, -3, 3],
  ['CEIL', Math.ceil, -3, 3],
  ['RELU_N1_TO_1', (x) => Math.min(1, Math.max(-1, x)), -3, 3],
];

describe('unary ops', () => {
  it.each(UNARY)('%s', (op, fn, lo, hi) => {
    const x = t([2, 3, 13], 5, lo, hi);
    const [y] = runOp(op as 'EXP', [x]);
    expect(y!.shape).toEqual([2, 3, 13]);
    expect(y!.data).toEqual(Float32Array.from(x.data, fn));
  });

  it.each([false, true])('GELU approximate=%s', (approximate) => {
    const x = t([5, 11], 6, -4, 4);
    const [y] = runOp('GELU', [x], { approximate });
    const exact = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));
    const tanhForm = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    expect(y!.data).toEqual(Float32Array.from(x.data, approximate ? tanhForm : exact));
  });
});

describe('SOFTMAX, MEAN, SUM', () => {
  it('SOFTMAX with beta over the last axis', () => {
    const x = t([3, 2, 7], 7, -3, 3);
    const [y] = runOp('SOFTMAX', [x], { beta: 0.5 });
    expect(y!.data).toEqual(softmax(x, 0.5).data);
    const row = Array.from(y!.data.slice(0, 7) as Float32Array).reduce((a, b) => a + b, 0);
    expect(row).toBeCloseTo(1, 6);
  });

  it.each([
    ['MEAN', [1, -1], true],
    ['MEAN', [0, 2], false],
    ['SUM', [-1], false],
    ['SUM', [1, 2, 1], true],
  ] as const)('%s axes %j keep_dims %s', (op, axes, keepDims) => {
    const x = t([2, 5, 3, 7], 8);
    const [y] = runOp(op, [x, { shape: [axes.length], data: Int32Array.from(axes), constant: true }], { keepDims });
    const want = (op === 'MEAN' ? mean : sum)(x, axes, keepDims);
    expect(y!.shape).toEqual(want.shape);
    expect(y!.data).toEqual(want.data);
  });
});

describe('DEQUANTIZE and CAST', () => {
  it('dequantizes an int8 activation with scale and zero point', () => {
    const [y] = runOp('DEQUANTIZE', [{ shape: [4], data: Int8Array.of(-128, -3, 0, 127), quantization: { scale: [0.5], zeroPoint: [-3] } }]);
    expect(y!.data).toEqual(Float32Array.of(-62.5, 0, 1.5, 65));
  });

  it('casts float32 to int32 toward zero, and int32 to float32 and bool', () => {
    const [i] = runOp('CAST', [{ shape: [5], data: Float32Array.of(-2.7, -0.5, 0, 1.9, 3) }], {}, [{ type: 'INT32' }]);
    expect(i!.data).toEqual(Int32Array.of(-2, 0, 0, 1, 3));
    expect(i!.dtype).toBe('int32');
    const [f] = runOp('CAST', [{ shape: [3], data: Int32Array.of(-4, 0, 16777217) }], {}, [{ type: 'FLOAT32' }]);
    expect(f!.data).toEqual(Float32Array.of(-4, 0, 16777216));
    const [b] = runOp('CAST', [{ shape: [3], data: Int32Array.of(-4, 0, 2) }], {}, [{ type: 'BOOL' }]);
    expect(Array.from(b!.data as Uint8Array)).toEqual([1, 0, 1]);
    expect(b!.dtype).toBe('bool');
  });
});
