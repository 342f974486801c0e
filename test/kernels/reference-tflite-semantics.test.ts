// Hand-checked tiny cases for TFLite semantics that PyTorch has no direct
// golden for: SAME/VALID padding, resize modes, fused activations,
// depth multipliers, keep_num_dims, and argument checking.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import {
  add,
  applyFusedActivation,
  attention,
  averagePool2d,
  batchMatmul,
  conv2d,
  depthwiseConv2d,
  fullyConnected,
  geglu,
  groupNorm,
  hardSwish,
  maxPool2d,
  mean,
  resizeBilinear,
  resizeNearest,
  softmax,
  sum,
  tensor,
  windowAxis,
  type Tensor,
} from '../../src/kernels/reference/index.js';
import { expectClose, readFloat32Npy } from '../fixtures/ops/golden.js';
import * as f64 from '../support/f64-reference-ops.js';

const t = (values: number[], shape: number[]): Tensor => tensor(Float32Array.from(values), shape);
const range = (n: number, from = 1): number[] => Array.from({ length: n }, (_, i) => i + from);
const values = (x: Tensor): number[] => [...x.data];

describe('TFLite SAME/VALID padding', () => {
  it.each([
    // in, filter, stride, dilation -> out, before, after
    [8, 3, 2, 1, 4, 0, 1], // even input, stride 2: the extra pixel goes after (SD's VAE downsampling)
    [7, 3, 2, 1, 4, 1, 1],
    [5, 1, 2, 1, 3, 0, 0],
    [6, 4, 1, 1, 6, 1, 2],
    [9, 3, 1, 2, 9, 2, 2], // dilation 2: effective filter 5
    [3, 5, 1, 1, 3, 2, 2],
  ])('SAME in=%i filter=%i stride=%i dilation=%i -> out %i, pad %i/%i', (inSize, f, s, d, out, before, after) => {
    expect(windowAxis('SAME', inSize, f, s, d)).toEqual({ outSize: out, before, after });
  });

  it.each([
    [7, 3, 2, 1, 3],
    [8, 3, 2, 1, 3],
    [9, 3, 1, 2, 5],
    [5, 1, 2, 1, 3],
  ])('VALID in=%i filter=%i stride=%i dilation=%i -> out %i', (inSize, f, s, d, out) => {
    expect(windowAxis('VALID', inSize, f, s, d)).toEqual({ outSize: out, before: 0, after: 0 });
  });

  it('rejects a window larger than a VALID input', () => {
    expect(() => windowAxis('VALID', 2, 3, 1, 1)).toThrow(UsageError);
  });

  it('conv2d SAME on an odd input pads one pixel on each side', () => {
    // 3x3 input 1..9, 3x3 box filter, stride 2: each output sums the in-range part of its window.
    const y = conv2d(t(range(9), [1, 3, 3, 1]), t(Array(9).fill(1), [1, 3, 3, 1]), null, { padding: 'SAME', stride: [2, 2] });
    expect(y.shape).toEqual([1, 2, 2, 1]);
    expect(values(y)).toEqual([1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9]);
  });

  it('conv2d SAME on an even input pads only after (bottom/right)', () => {
    const y = conv2d(t(range(16), [1, 4, 4, 1]), t(Array(9).fill(1), [1, 3, 3, 1]), null, { padding: 'SAME', stride: [2, 2] });
    expect(values(y)).toEqual([
      1 + 2 + 3 + 5 + 6 + 7 + 9 + 10 + 11,
      3 + 4 + 7 + 8 + 11 + 12,
      9 + 10 + 11 + 13 + 14 + 15,
      11 + 12 + 15 + 16,
    ]);
  });

  it('conv2d VALID, OHWI filter channel order and bias', () => {
    // 1x1x2 input [1, 10]; filter [out=2, 1, 1, in=2]: out0 = 1*1 + 10*2, out1 = 1*3 + 10*4.
    const y = conv2d(t([1, 10], [1, 1, 1, 2]), t([1, 2, 3, 4], [2, 1, 1, 2]), t([0.5, -0.5], [2]), { padding: 'VALID' });
    expect(values(y)).toEqual([21.5, 42.5]);
  });

  it('average pool divides by the cells inside the input; max pool ignores padding', () => {
    const x = t(range(9), [1, 3, 3, 1]);
    const options = { filter: [2, 2], stride: [2, 2], padding: 'SAME' } as const;
    expect(values(averagePool2d(x, options))).toEqual([3, 4.5, 7.5, 9]);
    expect(values(maxPool2d(x, options))).toEqual([5, 6, 8, 9]);
    expect(values(maxPool2d(x, { ...options, activation: 'RELU6' }))).toEqual([5, 6, 6, 6]);
    // All negative: padding must not contribute zeros to the max.
    expect(values(maxPool2d(t(range(9, -20), [1, 3, 3, 1]), options))).toEqual([-16, -15, -13, -12]);
  });
});

describe('fused activations', () => {
  it.each([
    ['NONE', [-7, -0.5, 0.5, 7]],
    ['RELU', [0, 0, 0.5, 7]],
    ['RELU6', [0, 0, 0.5, 6]],
    ['RELU_N1_TO_1', [-1, -0.5, 0.5, 1]],
    ['TANH', [Math.tanh(-7), Math.tanh(-0.5), Math.tanh(0.5), Math.tanh(7)]],
  ] as const)('%s', (activation, want) => {
    expect([-7, -0.5, 0.5, 7].map((v) => applyFusedActivation(v, activation))).toEqual(want);
    // Applied after the bias, by conv2d, fullyConnected and add alike.
    const x = t([-7, -0.5, 0.5, 7], [1, 1, 4, 1]);
    expect(values(conv2d(x, t([1], [1, 1, 1, 1]), t([0], [1]), { padding: 'VALID', activation }))).toEqual(
      want.map(Math.fround),
    );
    expect(values(fullyConnected(t([-8, -1.5, -0.5, 6], [4, 1]), t([1], [1, 1]), t([1], [1]), { activation }))).toEqual(
      want.map(Math.fround),
    );
    expect(values(add(x, t([0], []), activation))).toEqual(want.map(Math.fround));
  });

  it('rejects SIGN_BIT and unknown activations', () => {
    expect(() => applyFusedActivation(1, 'SIGN_BIT' as never)).toThrow(UsageError);
  });

  it('hard swish', () => {
    expect(values(hardSwish(t([-4, -3, 1, 3, 4], [5])))).toEqual([-0, -0, 4 / 6, 3, 4].map(Math.fround));
  });
});

describe('depthwise conv2d', () => {
  it('output channel c * multiplier + m reads input channel c', () => {
    // Input channels [1, 10], multiplier 2, 1x1 filter [1, 1, 1, 4] = [1, 2, 3, 4].
    const y = depthwiseConv2d(t([1, 10], [1, 1, 1, 2]), t([1, 2, 3, 4], [1, 1, 1, 4]), null, {
      padding: 'VALID',
      depthMultiplier: 2,
    });
    expect(values(y)).toEqual([1, 2, 30, 40]);
  });

  it('rejects a multiplier that does not match the filter', () => {
    expect(() =>
      depthwiseConv2d(t([1, 10], [1, 1, 1, 2]), t([1, 2, 3, 4], [1, 1, 1, 4]), null, { padding: 'VALID', depthMultiplier: 3 }),
    ).toThrow(UsageError);
  });
});

describe('fully connected keep_num_dims', () => {
  const x = t(range(12), [2, 3, 2]);
  const w = t([1, 0, 0, 1, 1, 1], [3, 2]); // units: x0, x1, x0 + x1
  it('keeps the input dims when asked', () => {
    const y = fullyConnected(x, w, null, { keepNumDims: true });
    expect(y.shape).toEqual([2, 3, 3]);
    expect(values(y).slice(0, 6)).toEqual([1, 2, 3, 3, 4, 7]);
  });
  it('flattens to [rows, units] otherwise, also when the last dim is not the depth', () => {
    expect(fullyConnected(x, w, null).shape).toEqual([6, 3]);
    const y = fullyConnected(t(range(8), [2, 4]), w, null);
    expect(y.shape).toEqual([4, 3]);
    expect(values(y).slice(3, 6)).toEqual([3, 4, 7]);
    expect(() => fullyConnected(t(range(8), [2, 4]), w, null, { keepNumDims: true })).toThrow(UsageError);
  });
});

describe('resize nearest (TFLite modes)', () => {
  const row = (n: number) => t(range(n, 0), [1, 1, n, 1]);
  it.each([
    // width in -> out, align_corners, half_pixel_centers, chosen source columns
    [3, 5, false, false, [0, 0, 1, 1, 2]],
    [3, 5, true, false, [0, 1, 1, 2, 2]], // round() with halves away from zero: 0.5 -> 1, 1.5 -> 2
    [3, 5, false, true, [0, 0, 1, 2, 2]],
    [5, 2, false, false, [0, 2]],
    [5, 2, true, false, [0, 4]],
    [5, 2, false, true, [1, 3]],
    [4, 8, false, true, [0, 0, 1, 1, 2, 2, 3, 3]],
  ] as const)('%i -> %i, align_corners %s, half_pixel_centers %s', (inW, outW, alignCorners, halfPixelCenters, want) => {
    const y = resizeNearest(row(inW), [1, outW], { alignCorners, halfPixelCenters });
    expect(values(y)).toEqual(want);
  });

  it('resizes height and width independently and copies every channel', () => {
    const x = t([1, -1, 2, -2, 3, -3, 4, -4], [1, 2, 2, 2]);
    const y = resizeNearest(x, [4, 2]);
    expect(y.shape).toEqual([1, 4, 2, 2]);
    expect(values(y)).toEqual([1, -1, 2, -2, 1, -1, 2, -2, 3, -3, 4, -4, 3, -3, 4, -4]);
  });

  it.each([
    [[2, 3, 5, 17], [6, 10], false, false], // 2x upsample, channel runs copied whole, rows repeated
    [[1, 4, 4, 3], [12, 7], false, false], // uneven, few channels
    [[2, 5, 3, 20], [3, 8], true, false],
    [[1, 4, 6, 16], [8, 12], false, true],
  ] as const)('%j -> %j (align %s, half pixel %s): the plain per-element reference, into a given output', (shape, size, alignCorners, halfPixelCenters) => {
    const data = Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, (_, i) => Math.sin(i) * 10);
    const want = f64.resizeNearest({ shape: [...shape], data: Float64Array.from(data) }, size[0], size[1], alignCorners, halfPixelCenters);
    const out = new Float32Array(want.data.length).fill(NaN);
    const y = resizeNearest(t([...data], [...shape]), [size[0], size[1]], { alignCorners, halfPixelCenters }, out);
    expect(y.data).toBe(out);
    expect(Array.from(out)).toEqual(Array.from(want.data));
    expect(() => resizeNearest(t([...data], [...shape]), [size[0], size[1]], {}, new Float32Array(3))).toThrow(UsageError);
  });
});

describe('resize bilinear (TFLite modes)', () => {
  it.each([
    [false, false, [4, 7, 10, 10]], // legacy: src = x * in/out, the right edge clamps
    [true, false, [4, 6, 8, 10]], // src = x * (in-1)/(out-1)
    [false, true, [4, 5.5, 8.5, 10]], // src = (x + 0.5) * in/out - 0.5, clamped at both edges
  ] as const)('[4, 10] -> 4 wide, align_corners %s, half_pixel_centers %s', (alignCorners, halfPixelCenters, want) => {
    const y = resizeBilinear(t([4, 10], [1, 1, 2, 1]), [1, 4], { alignCorners, halfPixelCenters });
    expect(values(y)).toEqual(want.map(Math.fround));
  });

  it('interpolates in both axes', () => {
    const y = resizeBilinear(t([0, 10, 20, 30], [1, 2, 2, 1]), [3, 3], { alignCorners: true });
    expect(values(y)).toEqual([0, 5, 10, 10, 15, 20, 20, 25, 30]);
  });

  it('rejects align_corners with half_pixel_centers', () => {
    expect(() => resizeBilinear(t([0, 1], [1, 1, 2, 1]), [1, 4], { alignCorners: true, halfPixelCenters: true })).toThrow(
      UsageError,
    );
  });
});

describe("against Google's runtime", () => {
  it('softmax matches LiteRT.js on the corpus SOFTMAX model (1x256x256x3, last axis, beta 1)', () => {
    const dir = '../tflite-corpus/softmax_1x256x256x3/default/litert';
    const shape = [1, 256, 256, 3];
    const x = readFloat32Npy(`${dir}/input_0_input.npy`, shape);
    expectClose(softmax(x), readFloat32Npy(`${dir}/output_0_output.npy`, shape), 1e-6);
  });
});

describe('small semantic checks of the other kernels', () => {
  it('softmax beta scales the logits', () => {
    const x = t([0, Math.log(2)], [1, 2]);
    expect(values(softmax(x))).toEqual([1 / 3, 2 / 3].map(Math.fround));
    expect(values(softmax(x, 2))).toEqual([1 / 5, 4 / 5].map(Math.fround));
    expect(values(softmax(t([-1e30, 1e30, 1e30], [3])))).toEqual([0, 0.5, 0.5]);
  });

  it('geglu: first half is the value, second half the gate', () => {
    expect(values(geglu(t([2, 3, 0, 100], [1, 4])))).toEqual([0, 300]);
  });

  it('group norm keeps groups apart on channels-last input of any rank', () => {
    // [N=1, L=2, C=2], 2 groups: channel 0 = [1, 3], channel 1 = [20, 40].
    const y = groupNorm(t([1, 20, 3, 40], [1, 2, 2]), t([1, 2], [2]), t([0, 5], [2]), { groups: 2, eps: 0 });
    expect(values(y)).toEqual([-1, 3, 1, 7]);
  });

  it('causal attention: the first query sees only the first key', () => {
    const q = t(range(6), [1, 2, 1, 3]);
    const k = t(range(6, 2), [1, 2, 1, 3]);
    const v = t([5, 6, 7, 100, 200, 300], [1, 2, 1, 3]);
    const y = attention(q, k, v, { scale: 1, causal: true });
    expect(values(y).slice(0, 3)).toEqual([5, 6, 7]);
    // An additive mask of -inf does the same.
    const masked = attention(q, k, v, { scale: 1, mask: t([0, -Infinity, 0, 0], [2, 2]) });
    expect(values(masked)).toEqual(values(y));
  });

  it('mean/sum: negative and repeated axes, empty axes, keep_dims', () => {
    const x = t(range(6), [2, 3]);
    expect(mean(x, [-1, 1])).toEqual({ data: Float32Array.from([2, 5]), shape: [2] });
    expect(sum(x, [0], true)).toEqual({ data: Float32Array.from([5, 7, 9]), shape: [1, 3] });
    expect(sum(x, [])).toEqual({ data: x.data, shape: [2, 3] });
    expect(() => sum(x, [2])).toThrow(UsageError);
  });

  it('batch matmul broadcasts a rank-2 operand over batches', () => {
    const a = t(range(8), [2, 2, 2]);
    const y = batchMatmul(a, t([1, 0, 0, 1], [2, 2]));
    expect(values(y)).toEqual(range(8));
  });

  it('rejects shapes that do not fit', () => {
    expect(() => add(t(range(3), [3]), t(range(2), [2]))).toThrow(UsageError);
    expect(() => conv2d(t(range(6), [1, 1, 2, 3]), t(range(4), [1, 1, 1, 2]), null, { padding: 'VALID' })).toThrow(
      UsageError,
    );
    expect(() => batchMatmul(t(range(6), [2, 3]), t(range(6), [2, 3]))).toThrow(UsageError);
    expect(() => tensor(new Float32Array(5), [2, 3])).toThrow(UsageError);
  });
});
