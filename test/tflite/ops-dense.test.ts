// Single-op models for the ops with weights and windows, against the
// reference kernels (themselves checked against PyTorch) on awkward shapes:
// odd sizes, batch > 1, asymmetric stride/dilation so swapped options show.
import { describe, expect, it } from 'vitest';
import { f16ArrayToF32, f32ArrayToF16 } from '../../src/io/half.js';
import { batchMatmul } from '../../src/kernels/reference/batch-matmul.js';
import { conv2d, depthwiseConv2d } from '../../src/kernels/reference/conv2d.js';
import { fullyConnected } from '../../src/kernels/reference/fully-connected.js';
import { averagePool2d, maxPool2d } from '../../src/kernels/reference/pool.js';
import { resizeBilinear, resizeNearest } from '../../src/kernels/reference/resize.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';
import { bytesOf, random, runOp, size } from './ops-harness.js';

const t = (shape: number[], seed: number) => ({ shape, data: random(size(shape), seed) });
const c = (shape: number[], seed: number) => ({ ...t(shape, seed), constant: true });

describe('CONV_2D', () => {
  it.each([
    ['SAME', 2, 1, 1, 2, 'RELU6'],
    ['VALID', 1, 2, 2, 1, 'NONE'],
    ['SAME', 1, 1, 1, 1, 'RELU'],
  ] as const)('%s stride %i,%i dilation %i,%i %s', (padding, sh, sw, dh, dw, act) => {
    const x = t([2, 7, 6, 3], 1);
    const w = c([5, 3, 2, 3], 2);
    const b = c([5], 3);
    const [y] = runOp('CONV_2D', [x, w, b], { padding, strideH: sh, strideW: sw, dilationHFactor: dh, dilationWFactor: dw, fusedActivationFunction: act });
    const want = conv2d(x, w, b, { padding, stride: [sh, sw], dilation: [dh, dw], activation: act });
    expect(y!.shape).toEqual(want.shape);
    expect(y!.data).toEqual(want.data);
  });

  it('runs without bias and with grouped filters', () => {
    const x = t([1, 5, 5, 6], 4);
    const w = c([4, 3, 3, 3], 5);
    const [y] = runOp('CONV_2D', [x, w, { shape: [4], omitted: true }], { padding: 'SAME', strideH: 1, strideW: 1 });
    expect(y!.data).toEqual(conv2d(x, w, null, { padding: 'SAME' }).data);
  });

  it('takes float16 weights through DEQUANTIZE (folded at load, compact)', () => {
    const w = random(4 * 3 * 3 * 3, 6);
    const half = f32ArrayToF16(w);
    const x = t([1, 6, 5, 3], 7);
    // conv(x, dequantize(w16)) as a two-op model.
    const expected = conv2d(x, { data: f16ArrayToF32(half), shape: [4, 3, 3, 3] }, null, { padding: 'VALID' });
    const y = runTwoOpDequantize(x.data, half);
    expect(y.shape).toEqual(expected.shape);
    expect(y.data).toEqual(expected.data);
  });

  it('dequantizes per-channel int8 filters', () => {
    const q = Int8Array.from(random(4 * 2 * 2 * 3, 8, -127, 127), Math.round);
    const scale = [0.01, 0.02, 0.005, 0.03].map(Math.fround); // the file stores float32 scales
    const x = t([1, 4, 5, 3], 9);
    const [y] = runOp('CONV_2D', [x, { shape: [4, 2, 2, 3], data: q, constant: true, quantization: { scale, quantizedDimension: 0 } }], {
      padding: 'VALID', strideH: 1, strideW: 1,
    });
    const wf = Float32Array.from(q, (v, i) => v * scale[Math.floor(i / 12)]!);
    expect(y!.data).toEqual(conv2d(x, { data: wf, shape: [4, 2, 2, 3] }, null, { padding: 'VALID' }).data);
  });
});

function runTwoOpDequantize(x: Float32Array, half: Uint16Array) {
  const m = new TfliteModelBuilder();
  const xi = m.main.addInput('x', 'FLOAT32', [1, 6, 5, 3]);
  const w16 = m.main.addConstant('w16', 'FLOAT16', [4, 3, 3, 3], bytesOf(half));
  const w = m.main.addTensor('w', 'FLOAT32', [4, 3, 3, 3]);
  const y = m.main.addTensor('y', 'FLOAT32', [1, 4, 3, 4]);
  m.main.addOperator('DEQUANTIZE', [w16], [w]);
  m.main.addOperator('CONV_2D', [xi, w, -1], [y], { padding: 'VALID', strideW: 1, strideH: 1 });
  m.main.markOutput(y);
  const interp = Interpreter.load(m.toBuffer());
  const runner = interp.getSignatureRunner();
  // The folded weight keeps its float16 storage.
  const folded = runner.executor.tensors[w]!.constant!;
  expect(folded.storageType).toBe('FLOAT16');
  expect(runner.executor.steps.map((s) => s.node.op)).toEqual(['CONV_2D']);
  return runner.invoke({ x }).y!;
}

describe('DEPTHWISE_CONV_2D', () => {
  it.each([
    ['SAME', 2, 1, 'RELU'],
    ['VALID', 1, 2, 'NONE'],
  ] as const)('%s stride %i,%i, multiplier 2, batch 2 (%s)', (padding, sh, sw, act) => {
    const x = t([2, 6, 7, 3], 10);
    const w = c([1, 3, 3, 6], 11);
    const b = c([6], 12);
    const [y] = runOp('DEPTHWISE_CONV_2D', [x, w, b], { padding, strideH: sh, strideW: sw, depthMultiplier: 2, fusedActivationFunction: act });
    expect(y!.data).toEqual(depthwiseConv2d(x, w, b, { padding, stride: [sh, sw], depthMultiplier: 2, activation: act }).data);
  });
});

describe('FULLY_CONNECTED', () => {
  it('keeps dims of a batched input', () => {
    const x = t([2, 3, 7], 13);
    const w = c([5, 7], 14);
    const b = c([5], 15);
    const [y] = runOp('FULLY_CONNECTED', [x, w, b], { keepNumDims: true, fusedActivationFunction: 'RELU' });
    expect(y!.shape).toEqual([2, 3, 5]);
    expect(y!.data).toEqual(fullyConnected(x, w, b, { keepNumDims: true, activation: 'RELU' }).data);
  });

  it('flattens to rows without keep_num_dims', () => {
    const x = t([2, 3, 7], 16);
    const w = c([9, 21], 17);
    const [y] = runOp('FULLY_CONNECTED', [x, w, { shape: [9], omitted: true }], {});
    expect(y!.shape).toEqual([2, 9]);
    expect(y!.data).toEqual(fullyConnected(x, w, null).data);
  });

  it('dequantizes symmetric per-channel int8 weights', () => {
    const q = Int8Array.from(random(6 * 5, 18, -127, 127), Math.round);
    const scale = [0.1, 0.2, 0.05, 0.3, 0.15, 0.07].map(Math.fround);
    const x = t([3, 5], 19);
    const [y] = runOp('FULLY_CONNECTED', [x, { shape: [6, 5], data: q, constant: true, quantization: { scale } }], {});
    const wf = Float32Array.from(q, (v, i) => v * scale[Math.floor(i / 5)]!);
    expect(y!.data).toEqual(fullyConnected(x, { data: wf, shape: [6, 5] }, null).data);
  });
});

describe('BATCH_MATMUL', () => {
  it.each([
    [false, false, [2, 1, 3, 5], [4, 5, 7]],
    [true, false, [3, 5, 3], [3, 5, 6]],
    [false, true, [1, 3, 5], [2, 6, 5]],
    [true, true, [2, 5, 3], [6, 5]],
  ])('adj_x %s adj_y %s [%s] x [%s]', (adjX, adjY, a, b) => {
    const x = t(a, 20);
    const y = t(b, 21);
    const [z] = runOp('BATCH_MATMUL', [x, y], { adjX, adjY });
    const want = batchMatmul(x, y, { adjX, adjY });
    expect(z!.shape).toEqual(want.shape);
    expect(z!.data).toEqual(want.data);
  });
});

describe('pooling', () => {
  it.each([
    ['AVERAGE_POOL_2D', 'SAME'],
    ['MAX_POOL_2D', 'VALID'],
    ['AVERAGE_POOL_2D', 'VALID'],
    ['MAX_POOL_2D', 'SAME'],
  ] as const)('%s %s, filter 3x2, stride 2x1', (op, padding) => {
    const x = t([2, 7, 5, 3], 22);
    const [y] = runOp(op, [x], { padding, filterHeight: 3, filterWidth: 2, strideH: 2, strideW: 1, fusedActivationFunction: 'RELU6' });
    const kernel = op === 'MAX_POOL_2D' ? maxPool2d : averagePool2d;
    expect(y!.data).toEqual(kernel(x, { filter: [3, 2], stride: [2, 1], padding, activation: 'RELU6' }).data);
  });
});

describe('resize', () => {
  it.each([
    ['RESIZE_NEAREST_NEIGHBOR', false, false],
    ['RESIZE_NEAREST_NEIGHBOR', true, false],
    ['RESIZE_NEAREST_NEIGHBOR', false, true],
    ['RESIZE_BILINEAR', false, false],
    ['RESIZE_BILINEAR', true, false],
    ['RESIZE_BILINEAR', false, true],
  ] as const)('%s align_corners %s half_pixel %s', (op, alignCorners, halfPixelCenters) => {
    const x = t([2, 3, 5, 3], 23);
    const [y] = runOp(op, [x, { shape: [2], data: Int32Array.of(7, 4), constant: true }], { alignCorners, halfPixelCenters });
    const kernel = op === 'RESIZE_BILINEAR' ? resizeBilinear : resizeNearest;
    const want = kernel(x, [7, 4], { alignCorners, halfPixelCenters });
    expect(y!.shape).toEqual([2, 7, 4, 3]);
    expect(y!.data).toEqual(want.data);
  });
});
