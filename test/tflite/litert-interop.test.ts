// Our writer's files run in Google's own runtime (issue 3, part 5): each
// single-op model is built with src/tflite's writer, run in LiteRT.js, and
// its output checked against a float64 reference computed here. Tolerance is
// max|diff| / max|reference| (the corpus manifest's rel_diff): 1e-5, or 1e-2
// where LiteRT.js may quantize activations against int8 weights.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLiteRt, type LiteRt } from '../../bench/peers/litert.js';
import { f16ArrayToF32, f32ArrayToF16 } from '../../src/io/half.js';
import { TfliteModelBuilder, type SubgraphBuilder } from '../../src/tflite/writer.js';
import type { WriteOptions } from '../../src/tflite/writer-serialize.js';
import * as ref from '../support/f64-reference-ops.js';
import type { F64Tensor } from '../support/f64-reference-ops.js';

const bytesOf = (a: Float32Array | Int32Array | Uint16Array | Int8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const f64 = (shape: number[], data: ArrayLike<number>) => ref.tensor(shape, data);

/** A random float32 activation input: its data and the same values as a float64 tensor. */
function randomInput(shape: number[], seed: number, lo = -1, hi = 1): { data: Float32Array; t: F64Tensor } {
  const data = ref.uniform(ref.count(shape), seed, lo, hi);
  return { data, t: f64(shape, data) };
}

/** A float32 constant in the model, and its float64 values. */
function constant(sg: SubgraphBuilder, name: string, shape: number[], seed: number): { index: number; t: F64Tensor } {
  const data = ref.uniform(ref.count(shape), seed, -0.5, 0.5);
  return { index: sg.addConstant(name, 'FLOAT32', shape, bytesOf(data)), t: f64(shape, data) };
}

function int32Constant(sg: SubgraphBuilder, name: string, values: number[]): number {
  return sg.addConstant(name, 'INT32', [values.length], bytesOf(Int32Array.from(values)));
}

interface Case {
  name: string;
  /** Builds the model into `m` and returns its inputs and the float64 reference of its one output. */
  build(m: TfliteModelBuilder): { inputs: Record<string, Float32Array>; expected: F64Tensor };
  tolerance?: number;
  write?: WriteOptions;
}

/** One op on activation inputs (name, shape, seed) plus extra (constant) operand indices after them. */
function unary(
  op: Parameters<SubgraphBuilder['addOperator']>[0],
  shape: number[],
  f: (x: F64Tensor) => F64Tensor,
  options?: Record<string, unknown>,
  range: [number, number] = [-1, 1],
): Case['build'] {
  return (m) => {
    const x = randomInput(shape, 11, ...range);
    const expected = f(x.t);
    const xi = m.main.addInput('x', 'FLOAT32', shape);
    const y = m.main.addTensor('y', 'FLOAT32', expected.shape);
    m.main.addOperator(op, [xi], [y], options as never);
    m.main.markOutput(y);
    return { inputs: { x: x.data }, expected };
  };
}

function binary(op: 'ADD' | 'SUB' | 'MUL', aShape: number[], bShape: number[], f: (a: number, b: number) => number): Case['build'] {
  return (m) => {
    const a = randomInput(aShape, 21);
    const b = randomInput(bShape, 22);
    const expected = ref.broadcast(a.t, b.t, f);
    const ai = m.main.addInput('a', 'FLOAT32', aShape);
    const bi = m.main.addInput('b', 'FLOAT32', bShape);
    const y = m.main.addTensor('y', 'FLOAT32', expected.shape);
    m.main.addOperator(op, [ai, bi], [y], {});
    m.main.markOutput(y);
    return { inputs: { a: a.data, b: b.data }, expected };
  };
}

function conv(
  inShape: [number, number, number, number],
  outChannels: number,
  kernel: [number, number],
  options: ref.Conv2dOptions,
): Case['build'] {
  return (m) => {
    const x = randomInput(inShape, 31);
    const w = constant(m.main, 'w', [outChannels, kernel[0], kernel[1], inShape[3]], 32);
    const b = constant(m.main, 'b', [outChannels], 33);
    const expected = ref.conv2d(x.t, w.t, b.t, options);
    const xi = m.main.addInput('x', 'FLOAT32', inShape);
    const y = m.main.addTensor('y', 'FLOAT32', expected.shape);
    m.main.addOperator('CONV_2D', [xi, w.index, b.index], [y], {
      padding: options.padding,
      strideH: options.stride?.[0] ?? 1,
      strideW: options.stride?.[1] ?? 1,
      dilationHFactor: options.dilation?.[0] ?? 1,
      dilationWFactor: options.dilation?.[1] ?? 1,
      fusedActivationFunction: options.activation ?? 'NONE',
    });
    m.main.markOutput(y);
    return { inputs: { x: x.data }, expected };
  };
}

function fullyConnected(inShape: number[], units: number): Case['build'] {
  return (m) => {
    const k = inShape[inShape.length - 1]!;
    const x = randomInput(inShape, 41);
    const w = constant(m.main, 'w', [units, k], 42);
    const b = constant(m.main, 'b', [units], 43);
    const expected = ref.fullyConnected(x.t, w.t, b.t);
    const xi = m.main.addInput('x', 'FLOAT32', inShape);
    const y = m.main.addTensor('y', 'FLOAT32', expected.shape);
    m.main.addOperator('FULLY_CONNECTED', [xi, w.index, b.index], [y], {});
    m.main.markOutput(y);
    return { inputs: { x: x.data }, expected };
  };
}

function batchMatmul(aShape: number[], bShape: number[], adjX: boolean, adjY: boolean): Case['build'] {
  return (m) => {
    const a = randomInput(aShape, 51);
    const b = randomInput(bShape, 52);
    const expected = ref.batchMatmul(a.t, b.t, adjX, adjY);
    const ai = m.main.addInput('a', 'FLOAT32', aShape);
    const bi = m.main.addInput('b', 'FLOAT32', bShape);
    const y = m.main.addTensor('y', 'FLOAT32', expected.shape);
    m.main.addOperator('BATCH_MATMUL', [ai, bi], [y], { adjX, adjY });
    m.main.markOutput(y);
    return { inputs: { a: a.data, b: b.data }, expected };
  };
}

/** Per-output-channel symmetric int8 quantization of a float32 weight, dimension 0. */
function quantizeInt8PerChannel(w: Float32Array, channels: number): { q: Int8Array; scale: number[]; dequantized: F64Tensor['data'] } {
  const per = w.length / channels;
  const q = new Int8Array(w.length);
  const scale: number[] = [];
  const dequantized = new Float64Array(w.length);
  for (let c = 0; c < channels; c++) {
    let max = 0;
    for (let i = 0; i < per; i++) max = Math.max(max, Math.abs(w[c * per + i]!));
    const s = Math.fround(max / 127);
    scale.push(s);
    for (let i = 0; i < per; i++) {
      q[c * per + i] = Math.round(w[c * per + i]! / s);
      dequantized[c * per + i] = q[c * per + i]! * s;
    }
  }
  return { q, scale, dequantized };
}

const cases: Case[] = [
  { name: 'CONV_2D 3x3 SAME stride 1 with bias', build: conv([1, 7, 9, 5], 6, [3, 3], { padding: 'SAME' }) },
  { name: 'CONV_2D 3x3 VALID stride 2, RELU, batch 2', build: conv([2, 9, 8, 3], 4, [3, 3], { padding: 'VALID', stride: [2, 2], activation: 'RELU' }) },
  { name: 'CONV_2D 3x3 SAME stride 2 (uneven padding)', build: conv([1, 8, 10, 4], 5, [3, 3], { padding: 'SAME', stride: [2, 2] }) },
  { name: 'CONV_2D 3x3 SAME dilation 2', build: conv([1, 9, 7, 3], 4, [3, 3], { padding: 'SAME', dilation: [2, 2] }) },
  { name: 'CONV_2D 1x1', build: conv([1, 5, 6, 7], 9, [1, 1], { padding: 'VALID' }) },
  { name: 'FULLY_CONNECTED [3,10] -> 7', build: fullyConnected([3, 10], 7) },
  { name: 'FULLY_CONNECTED rank 3 input flattened', build: fullyConnected([2, 3, 13], 5) },
  { name: 'BATCH_MATMUL [2,5,6] x [2,6,7]', build: batchMatmul([2, 5, 6], [2, 6, 7], false, false) },
  { name: 'BATCH_MATMUL adj_y [2,5,6] x [2,7,6]^T', build: batchMatmul([2, 5, 6], [2, 7, 6], false, true) },
  { name: 'BATCH_MATMUL batch broadcast [3,4,5] x [1,5,2]', build: batchMatmul([3, 4, 5], [1, 5, 2], false, false) },
  { name: 'SOFTMAX last axis', build: unary('SOFTMAX', [3, 4, 11], (x) => ref.softmax(x, 1), { beta: 1 }, [-4, 4]) },
  { name: 'SOFTMAX beta 0.5', build: unary('SOFTMAX', [5, 9], (x) => ref.softmax(x, 0.5), { beta: 0.5 }, [-4, 4]) },
  { name: 'ADD broadcasting [2,3,4] + [4]', build: binary('ADD', [2, 3, 4], [4], (a, b) => a + b) },
  { name: 'SUB broadcasting [2,1,4] - [3,1]', build: binary('SUB', [2, 1, 4], [3, 1], (a, b) => a - b) },
  { name: 'MUL broadcasting [2,3,5] * [2,3,1]', build: binary('MUL', [2, 3, 5], [2, 3, 1], (a, b) => a * b) },
  {
    name: 'MUL by a constant [1,1,1,6] (per-channel scale)',
    build: (m) => {
      const x = randomInput([2, 3, 4, 6], 61);
      const c = constant(m.main, 'scale', [1, 1, 1, 6], 62);
      const expected = ref.broadcast(x.t, c.t, (a, b) => a * b);
      const xi = m.main.addInput('x', 'FLOAT32', [2, 3, 4, 6]);
      const y = m.main.addTensor('y', 'FLOAT32', expected.shape);
      m.main.addOperator('MUL', [xi, c.index], [y], {});
      m.main.markOutput(y);
      return { inputs: { x: x.data }, expected };
    },
  },
  ...([
    ['MEAN over H,W keep_dims', [2, 5, 6, 3], [1, 2], true],
    ['MEAN over last axis', [4, 3, 7], [-1], false],
  ] as const).map(([name, shape, axes, keepDims]): Case => ({
    name,
    build: (m) => {
      const x = randomInput([...shape], 71);
      const expected = ref.mean(x.t, [...axes], keepDims);
      const xi = m.main.addInput('x', 'FLOAT32', [...shape]);
      const ai = int32Constant(m.main, 'axes', [...axes]);
      const y = m.main.addTensor('y', 'FLOAT32', expected.shape);
      m.main.addOperator('MEAN', [xi, ai], [y], { keepDims });
      m.main.markOutput(y);
      return { inputs: { x: x.data }, expected };
    },
  })),
  { name: 'RSQRT', build: unary('RSQRT', [3, 17], (x) => ref.map(x, ref.rsqrt), undefined, [0.01, 4]) },
  { name: 'GELU exact', build: unary('GELU', [4, 19], (x) => ref.map(x, (v) => ref.gelu(v, false)), { approximate: false }, [-5, 5]) },
  { name: 'GELU tanh approximation', build: unary('GELU', [4, 19], (x) => ref.map(x, (v) => ref.gelu(v, true)), { approximate: true }, [-5, 5]) },
  { name: 'LOGISTIC', build: unary('LOGISTIC', [5, 13], (x) => ref.map(x, ref.logistic), undefined, [-8, 8]) },
  {
    name: 'RESHAPE [2,3,4] -> [6,4]',
    build: (m) => {
      const x = randomInput([2, 3, 4], 81);
      const xi = m.main.addInput('x', 'FLOAT32', [2, 3, 4]);
      const shape = int32Constant(m.main, 'shape', [6, 4]);
      const y = m.main.addTensor('y', 'FLOAT32', [6, 4]);
      m.main.addOperator('RESHAPE', [xi, shape], [y], { newShape: [6, 4] });
      m.main.markOutput(y);
      return { inputs: { x: x.data }, expected: f64([6, 4], x.t.data) };
    },
  },
  ...([
    ['TRANSPOSE NHWC -> NCHW', [2, 3, 4, 5], [0, 3, 1, 2]],
    ['TRANSPOSE rank 3 [1,0,2]', [3, 5, 2], [1, 0, 2]],
  ] as const).map(([name, shape, perm]): Case => ({
    name,
    build: (m) => {
      const x = randomInput([...shape], 91);
      const expected = ref.transpose(x.t, [...perm]);
      const xi = m.main.addInput('x', 'FLOAT32', [...shape]);
      const pi = int32Constant(m.main, 'perm', [...perm]);
      const y = m.main.addTensor('y', 'FLOAT32', expected.shape);
      m.main.addOperator('TRANSPOSE', [xi, pi], [y]);
      m.main.markOutput(y);
      return { inputs: { x: x.data }, expected };
    },
  })),
  {
    name: 'CONCATENATION of three along axis 1',
    build: (m) => {
      const parts = [[2, 3, 4], [2, 5, 4], [2, 1, 4]].map((s, i) => randomInput(s, 100 + i));
      const expected = ref.concatenate(parts.map((p) => p.t), 1);
      const ins = parts.map((p, i) => m.main.addInput(`x${i}`, 'FLOAT32', p.t.shape));
      const y = m.main.addTensor('y', 'FLOAT32', expected.shape);
      m.main.addOperator('CONCATENATION', ins, [y], { axis: 1 });
      m.main.markOutput(y);
      return { inputs: Object.fromEntries(parts.map((p, i) => [`x${i}`, p.data])), expected };
    },
  },
  ...([
    ['RESIZE_NEAREST_NEIGHBOR x2', [1, 3, 4, 2], [6, 8], false, false],
    ['RESIZE_NEAREST_NEIGHBOR half_pixel_centers, non-integer scale', [2, 3, 5, 3], [7, 8], false, true],
    ['RESIZE_NEAREST_NEIGHBOR align_corners', [1, 4, 3, 2], [7, 5], true, false],
  ] as const).map(([name, shape, size, alignCorners, halfPixelCenters]): Case => ({
    name,
    build: (m) => {
      const x = randomInput([...shape], 111);
      const expected = ref.resizeNearest(x.t, size[0], size[1], alignCorners, halfPixelCenters);
      const xi = m.main.addInput('x', 'FLOAT32', [...shape]);
      const si = int32Constant(m.main, 'size', [...size]);
      const y = m.main.addTensor('y', 'FLOAT32', expected.shape);
      m.main.addOperator('RESIZE_NEAREST_NEIGHBOR', [xi, si], [y], { alignCorners, halfPixelCenters });
      m.main.markOutput(y);
      return { inputs: { x: x.data }, expected };
    },
  })),
  {
    name: 'GATHER rows of a table by constant int32 indices [2,3]',
    build: (m) => {
      const table = randomInput([10, 6], 121);
      const indices = { shape: [2, 3], data: [7, 0, 9, 3, 3, 1] };
      const expected = ref.gather(table.t, indices, 0);
      const ti = m.main.addInput('table', 'FLOAT32', [10, 6]);
      const ii = m.main.addConstant('indices', 'INT32', indices.shape, bytesOf(Int32Array.from(indices.data)));
      const y = m.main.addTensor('y', 'FLOAT32', expected.shape);
      m.main.addOperator('GATHER', [ti, ii], [y], { axis: 0 });
      m.main.markOutput(y);
      return { inputs: { table: table.data }, expected };
    },
  },
  {
    name: 'GATHER along axis 1',
    build: (m) => {
      const x = randomInput([3, 5, 4], 131);
      const indices = { shape: [2], data: [4, 1] };
      const expected = ref.gather(x.t, indices, 1);
      const xi = m.main.addInput('x', 'FLOAT32', [3, 5, 4]);
      const ii = int32Constant(m.main, 'indices', indices.data);
      const y = m.main.addTensor('y', 'FLOAT32', expected.shape);
      m.main.addOperator('GATHER', [xi, ii], [y], { axis: 1 });
      m.main.markOutput(y);
      return { inputs: { x: x.data }, expected };
    },
  },
  {
    name: 'DEQUANTIZE FLOAT16 weights -> FULLY_CONNECTED',
    build: (m) => {
      const x = randomInput([4, 24], 141);
      const w16 = f32ArrayToF16(ref.uniform(9 * 24, 142, -0.5, 0.5));
      const w = f64([9, 24], f16ArrayToF32(w16));
      const b = constant(m.main, 'b', [9], 143);
      const expected = ref.fullyConnected(x.t, w, b.t);
      const xi = m.main.addInput('x', 'FLOAT32', [4, 24]);
      const wq = m.main.addConstant('w_f16', 'FLOAT16', [9, 24], bytesOf(w16));
      const wf = m.main.addTensor('w', 'FLOAT32', [9, 24]);
      const y = m.main.addTensor('y', 'FLOAT32', expected.shape);
      m.main.addOperator('DEQUANTIZE', [wq], [wf]);
      m.main.addOperator('FULLY_CONNECTED', [xi, wf, b.index], [y], {});
      m.main.markOutput(y);
      return { inputs: { x: x.data }, expected };
    },
  },
  {
    name: 'DEQUANTIZE FLOAT16 weights -> CONV_2D',
    build: (m) => {
      const x = randomInput([1, 6, 7, 5], 151);
      const w16 = f32ArrayToF16(ref.uniform(4 * 3 * 3 * 5, 152, -0.5, 0.5));
      const w = f64([4, 3, 3, 5], f16ArrayToF32(w16));
      const b = constant(m.main, 'b', [4], 153);
      const expected = ref.conv2d(x.t, w, b.t, { padding: 'SAME' });
      const xi = m.main.addInput('x', 'FLOAT32', [1, 6, 7, 5]);
      const wq = m.main.addConstant('w_f16', 'FLOAT16', [4, 3, 3, 5], bytesOf(w16));
      const wf = m.main.addTensor('w', 'FLOAT32', [4, 3, 3, 5]);
      const y = m.main.addTensor('y', 'FLOAT32', expected.shape);
      m.main.addOperator('DEQUANTIZE', [wq], [wf]);
      m.main.addOperator('CONV_2D', [xi, wf, b.index], [y], { padding: 'SAME', strideH: 1, strideW: 1 });
      m.main.markOutput(y);
      return { inputs: { x: x.data }, expected };
    },
  },
  {
    name: 'DEQUANTIZE per-channel INT8 weights -> FULLY_CONNECTED',
    build: (m) => {
      const x = randomInput([5, 32], 161);
      const { q, scale, dequantized } = quantizeInt8PerChannel(ref.uniform(11 * 32, 162, -0.5, 0.5), 11);
      const b = constant(m.main, 'b', [11], 163);
      const expected = ref.fullyConnected(x.t, f64([11, 32], dequantized), b.t);
      const xi = m.main.addInput('x', 'FLOAT32', [5, 32]);
      const wq = m.main.addConstant('w_int8', 'INT8', [11, 32], bytesOf(q), { quantization: { scale, quantizedDimension: 0 } });
      const wf = m.main.addTensor('w', 'FLOAT32', [11, 32]);
      const y = m.main.addTensor('y', 'FLOAT32', expected.shape);
      m.main.addOperator('DEQUANTIZE', [wq], [wf]);
      m.main.addOperator('FULLY_CONNECTED', [xi, wf, b.index], [y], {});
      m.main.markOutput(y);
      return { inputs: { x: x.data }, expected };
    },
  },
  {
    name: 'DEQUANTIZE per-channel INT8 weights -> CONV_2D',
    build: (m) => {
      const x = randomInput([1, 7, 6, 8], 171);
      const { q, scale, dequantized } = quantizeInt8PerChannel(ref.uniform(6 * 3 * 3 * 8, 172, -0.5, 0.5), 6);
      const b = constant(m.main, 'b', [6], 173);
      const expected = ref.conv2d(x.t, f64([6, 3, 3, 8], dequantized), b.t, { padding: 'SAME' });
      const xi = m.main.addInput('x', 'FLOAT32', [1, 7, 6, 8]);
      const wq = m.main.addConstant('w_int8', 'INT8', [6, 3, 3, 8], bytesOf(q), { quantization: { scale, quantizedDimension: 0 } });
      const wf = m.main.addTensor('w', 'FLOAT32', [6, 3, 3, 8]);
      const y = m.main.addTensor('y', 'FLOAT32', expected.shape);
      m.main.addOperator('DEQUANTIZE', [wq], [wf]);
      m.main.addOperator('CONV_2D', [xi, wf, b.index], [y], { padding: 'SAME', strideH: 1, strideW: 1 });
      m.main.markOutput(y);
      return { inputs: { x: x.data }, expected };
    },
  },
  {
    // Dynamic-range ("hybrid") kernel: LiteRT.js quantizes the activations too.
    name: 'FULLY_CONNECTED with per-channel INT8 weights directly',
    tolerance: 1e-2,
    build: (m) => {
      const x = randomInput([5, 32], 201);
      const { q, scale, dequantized } = quantizeInt8PerChannel(ref.uniform(11 * 32, 202, -0.5, 0.5), 11);
      const b = constant(m.main, 'b', [11], 203);
      const expected = ref.fullyConnected(x.t, f64([11, 32], dequantized), b.t);
      const xi = m.main.addInput('x', 'FLOAT32', [5, 32]);
      const wq = m.main.addConstant('w_int8', 'INT8', [11, 32], bytesOf(q), { quantization: { scale, quantizedDimension: 0 } });
      const y = m.main.addTensor('y', 'FLOAT32', expected.shape);
      m.main.addOperator('FULLY_CONNECTED', [xi, wq, b.index], [y], {});
      m.main.markOutput(y);
      return { inputs: { x: x.data }, expected };
    },
  },
  {
    name: 'CONV_2D with per-channel INT8 weights directly',
    tolerance: 1e-2,
    build: (m) => {
      const x = randomInput([1, 7, 6, 8], 211);
      const { q, scale, dequantized } = quantizeInt8PerChannel(ref.uniform(6 * 3 * 3 * 8, 212, -0.5, 0.5), 6);
      const b = constant(m.main, 'b', [6], 213);
      const expected = ref.conv2d(x.t, f64([6, 3, 3, 8], dequantized), b.t, { padding: 'SAME' });
      const xi = m.main.addInput('x', 'FLOAT32', [1, 7, 6, 8]);
      const wq = m.main.addConstant('w_int8', 'INT8', [6, 3, 3, 8], bytesOf(q), { quantization: { scale, quantizedDimension: 0 } });
      const y = m.main.addTensor('y', 'FLOAT32', expected.shape);
      m.main.addOperator('CONV_2D', [xi, wq, b.index], [y], { padding: 'SAME', strideH: 1, strideW: 1 });
      m.main.markOutput(y);
      return { inputs: { x: x.data }, expected };
    },
  },
  {
    name: 'FULLY_CONNECTED in the forced offset layout (buffers after the flatbuffer)',
    write: { forceOffsetLayout: true },
    build: fullyConnected([3, 20], 6),
  },
  {
    name: 'CONV_2D in the forced offset layout',
    write: { forceOffsetLayout: true },
    build: conv([1, 6, 5, 4], 3, [3, 3], { padding: 'SAME' }),
  },
  {
    name: 'dynamic batch (-1 in shape_signature) FULLY_CONNECTED',
    build: (m) => {
      const x = randomInput([1, 12], 181);
      const w = constant(m.main, 'w', [5, 12], 182);
      const b = constant(m.main, 'b', [5], 183);
      const expected = ref.fullyConnected(x.t, w.t, b.t);
      const xi = m.main.addInput('x', 'FLOAT32', [-1, 12]);
      const y = m.main.addTensor('y', 'FLOAT32', [-1, 5]);
      m.main.addOperator('FULLY_CONNECTED', [xi, w.index, b.index], [y], {});
      m.main.markOutput(y);
      return { inputs: { x: x.data }, expected };
    },
  },
];

describe('our .tflite files in LiteRT.js', () => {
  let rt: LiteRt;
  beforeAll(async () => {
    rt = await loadLiteRt({ threads: 1 });
  });
  afterAll(async () => {
    await rt?.close();
  });

  it.each(cases)('$name', async (c) => {
    const m = new TfliteModelBuilder();
    const { inputs, expected } = c.build(m);
    const bytes = m.toBuffer(c.write);
    if (c.write?.forceOffsetLayout) expect(bytes).not.toEqual(m.toBuffer());
    const model = await rt.loadModel(bytes);
    const { outputs } = await model.run(inputs);
    // Without a SignatureDef, inputs by position follow the subgraph's input order.
    const positional = await model.run(Object.values(inputs));
    await model.dispose();
    expect(positional.outputs[0]!.data).toEqual(outputs[0]!.data);
    expect(outputs).toHaveLength(1);
    const [out] = outputs;
    expect(out!.dtype).toBe('float32');
    expect(out!.shape).toEqual(expected.shape);
    expect(ref.relativeError(out!.data, expected.data)).toBeLessThanOrEqual(c.tolerance ?? 1e-5);
  });

  it('runs a model through its SignatureDef, by the reference converter names, NCHW at the boundary', async () => {
    // decode-like: NCHW latents -> NHWC -> 3x3 conv -> NCHW, as signature "decode" args_0 -> output_0.
    const m = new TfliteModelBuilder();
    const sg = m.main;
    const x = randomInput([1, 4, 5, 6], 191);
    const w = constant(sg, 'conv.weight', [3, 3, 3, 4], 192);
    const b = constant(sg, 'conv.bias', [3], 193);
    const nhwc = ref.transpose(x.t, [0, 2, 3, 1]);
    const expected = ref.transpose(ref.conv2d(nhwc, w.t, b.t, { padding: 'SAME' }), [0, 3, 1, 2]);

    const xi = sg.addInput('serving_decode_args_0:0', 'FLOAT32', [1, 4, 5, 6]);
    const toNhwc = int32Constant(sg, 'perm_nhwc', [0, 2, 3, 1]);
    const toNchw = int32Constant(sg, 'perm_nchw', [0, 3, 1, 2]);
    const h = sg.addTensor('nhwc', 'FLOAT32', [1, 5, 6, 4]);
    const c = sg.addTensor('conv', 'FLOAT32', [1, 5, 6, 3]);
    const y = sg.addTensor('StatefulPartitionedCall:0', 'FLOAT32', [1, 3, 5, 6]);
    sg.addOperator('TRANSPOSE', [xi, toNhwc], [h]);
    sg.addOperator('CONV_2D', [h, w.index, b.index], [c], { padding: 'SAME', strideH: 1, strideW: 1 });
    sg.addOperator('TRANSPOSE', [c, toNchw], [y]);
    sg.markOutput(y);
    m.addSignature('decode', { args_0: xi }, { output_0: y });

    const model = await rt.loadModel(m.toBuffer());
    expect(model.signatures).toEqual([
      {
        key: 'decode',
        inputs: [{ name: 'args_0', dtype: 'float32', shape: [1, 4, 5, 6] }],
        outputs: [{ name: 'output_0', dtype: 'float32', shape: [1, 3, 5, 6] }],
      },
    ]);
    const { outputs } = await model.run({ args_0: x.data }, { signature: 'decode' });
    expect(outputs[0]!.name).toBe('output_0');
    expect(outputs[0]!.shape).toEqual([1, 3, 5, 6]);
    expect(ref.relativeError(outputs[0]!.data, expected.data)).toBeLessThanOrEqual(1e-5);
  });
});
