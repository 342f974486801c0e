// Single-op models for the data-movement ops, on arange inputs so expected
// values can be written by hand (strided-slice cases computed with numpy
// 2.4: x = np.arange(120).reshape(2, 3, 4, 5), expressions in the names).
import { describe, expect, it } from 'vitest';
import { transpose } from '../../src/kernels/reference/transpose.js';
import type { TypedArray } from '../../src/kernels/reference/typed-tensor.js';
import { random, runOp, size } from './ops-harness.js';

const arange = (shape: number[]) => ({ shape, data: Float32Array.from({ length: size(shape) }, (_, i) => i) });
const ints = (...v: number[]) => ({ shape: [v.length], data: Int32Array.from(v), constant: true });
const list = (d: TypedArray) => Array.from(d as ArrayLike<number>);

describe('RESHAPE, SQUEEZE, EXPAND_DIMS', () => {
  it('RESHAPE from a shape tensor with -1', () => {
    const x = arange([2, 3, 4]);
    const [y] = runOp('RESHAPE', [x, ints(4, -1)]);
    expect(y!.shape).toEqual([4, 6]);
    expect(y!.data).toEqual(x.data);
  });

  it('RESHAPE from the new_shape option', () => {
    const [y] = runOp('RESHAPE', [arange([6])], { newShape: [3, 1, 2] });
    expect(y!.shape).toEqual([3, 1, 2]);
  });

  it('RESHAPE rejects a size mismatch', () => {
    expect(() => runOp('RESHAPE', [arange([6]), ints(4, -1)])).toThrow(/operator 0 \(RESHAPE\).*cannot reshape 6 elements/);
  });

  it('SQUEEZE listed dims, or all size-1 dims', () => {
    expect(runOp('SQUEEZE', [arange([1, 3, 1, 2])], { squeezeDims: [-2] })[0]!.shape).toEqual([1, 3, 2]);
    expect(runOp('SQUEEZE', [arange([1, 3, 1, 2])], {})[0]!.shape).toEqual([3, 2]);
  });

  it('EXPAND_DIMS at a negative axis', () => {
    expect(runOp('EXPAND_DIMS', [arange([3, 2]), ints(-1)])[0]!.shape).toEqual([3, 2, 1]);
  });
});

describe('TRANSPOSE, CONCATENATION, SPLIT', () => {
  it('TRANSPOSE by a permutation', () => {
    const x = arange([2, 3, 5, 1]);
    const [y] = runOp('TRANSPOSE', [x, ints(2, 0, 3, 1)]);
    expect(y!.shape).toEqual([5, 2, 1, 3]);
    expect(y!.data).toEqual(transpose(x, [2, 0, 3, 1]).data);
  });

  it.each([[[0, 1, 2, 3, 4]], [[4, 3, 2, 1, 0]], [[1, 3, 0, 4, 2]], [[0, 2, 1, 3, 4]]])('TRANSPOSE rank 5 by %j', (perm) => {
    const x = { shape: [2, 3, 1, 5, 7], data: random(210, 3) };
    const [y] = runOp('TRANSPOSE', [x, ints(...perm)]);
    expect(y!.data).toEqual(transpose(x, perm).data);
  });

  it('TRANSPOSE of an int32 tensor', () => {
    const [y] = runOp('TRANSPOSE', [{ shape: [2, 3], data: Int32Array.of(1, 2, 3, 4, 5, 6) }, ints(1, 0)], undefined, [{ type: 'INT32' }]);
    expect(y!.shape).toEqual([3, 2]);
    expect(y!.data).toEqual(Int32Array.of(1, 4, 2, 5, 3, 6));
  });

  it('CONCATENATION on the last axis', () => {
    const a = arange([2, 2]);
    const b = { shape: [2, 1], data: Float32Array.of(-1, -2) };
    const [y] = runOp('CONCATENATION', [a, b, a], { axis: -1 });
    expect(y!.shape).toEqual([2, 5]);
    expect(list(y!.data)).toEqual([0, 1, -1, 0, 1, 2, 3, -2, 2, 3]);
  });

  it('CONCATENATION of int32 tensors on axis 0', () => {
    const [y] = runOp('CONCATENATION', [{ shape: [1], data: Int32Array.of(7) }, ints(1, 2)], { axis: 0 }, [{ type: 'INT32' }]);
    expect(y!.data).toEqual(Int32Array.of(7, 1, 2));
  });

  it('SPLIT into equal pieces along axis 1', () => {
    const outs = runOp('SPLIT', [ints(1), arange([2, 6])], { numSplits: 3 }, [{}, {}, {}]);
    expect(outs.map((o) => o.shape)).toEqual([[2, 2], [2, 2], [2, 2]]);
    expect(outs.map((o) => list(o.data))).toEqual([[0, 1, 6, 7], [2, 3, 8, 9], [4, 5, 10, 11]]);
  });

  it('SPLIT_V with a -1 size', () => {
    const outs = runOp('SPLIT_V', [arange([5, 2]), ints(1, -1), ints(0)], undefined, [{}, {}]);
    expect(outs.map((o) => o.shape)).toEqual([[1, 2], [4, 2]]);
    expect(list(outs[1]!.data)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('SLICE and STRIDED_SLICE', () => {
  it('SLICE with size -1', () => {
    const [y] = runOp('SLICE', [arange([3, 4]), ints(1, 2), ints(-1, 1)]);
    expect(y!.shape).toEqual([2, 1]);
    expect(list(y!.data)).toEqual([6, 10]);
  });

  it('SLICE of an int32 tensor', () => {
    const [y] = runOp('SLICE', [{ shape: [4], data: Int32Array.of(5, 6, 7, 8) }, ints(1), ints(2)], undefined, [{ type: 'INT32' }]);
    expect(y!.data).toEqual(Int32Array.of(6, 7));
  });

  it.each([
    ['x[0:2, -1:-4:-1, 3:0:-2, 0:5:2]', [0, -1, 3, 0], [2, -4, 0, 5], [1, -1, -2, 2], {}, [2, 3, 2, 3],
      [55, 57, 59, 45, 47, 49, 35, 37, 39, 25, 27, 29, 15, 17, 19, 5, 7, 9, 115, 117, 119, 105, 107, 109, 95, 97, 99, 85, 87, 89, 75, 77, 79, 65, 67, 69]],
    ['x[:1, 1, 1:3, 1:] (begin, end and shrink masks)', [1, 1, 1, 1], [1, 2, 3, 4], [1, 1, 1, 1], { beginMask: 1, endMask: 8, shrinkAxisMask: 2 }, [1, 2, 4],
      [26, 27, 28, 29, 31, 32, 33, 34]],
    ['x[..., None, 1:3] (ellipsis and new axis)', [0, 0, 1], [0, 0, 3], [1, 1, 1], { ellipsisMask: 1, newAxisMask: 2 }, [2, 3, 4, 1, 2],
      [1, 2, 6, 7, 11, 12, 16, 17, 21, 22, 26, 27, 31, 32, 36, 37, 41, 42, 46, 47, 51, 52, 56, 57, 61, 62, 66, 67, 71, 72, 76, 77, 81, 82, 86, 87, 91, 92, 96, 97, 101, 102, 106, 107, 111, 112, 116, 117]],
    ['x[0:2, 1:3, 0:4, 2:5] (offset: end counts from begin)', [0, 1, 0, 2], [2, 2, 4, 3], [1, 1, 1, 1], { offset: true }, [2, 2, 4, 3],
      [22, 23, 24, 27, 28, 29, 32, 33, 34, 37, 38, 39, 42, 43, 44, 47, 48, 49, 52, 53, 54, 57, 58, 59, 82, 83, 84, 87, 88, 89, 92, 93, 94, 97, 98, 99, 102, 103, 104, 107, 108, 109, 112, 113, 114, 117, 118, 119]],
  ] as const)('%s', (_, begin, end, strides, masks, shape, values) => {
    const [y] = runOp('STRIDED_SLICE', [arange([2, 3, 4, 5]), ints(...begin), ints(...end), ints(...strides)], masks);
    expect(y!.shape).toEqual(shape);
    expect(list(y!.data)).toEqual(values);
  });
});

describe('PAD and GATHER', () => {
  it('PAD with zeros, asymmetric', () => {
    const [y] = runOp('PAD', [arange([1, 2, 2]), { shape: [3, 2], data: Int32Array.of(0, 1, 1, 0, 0, 2), constant: true }]);
    expect(y!.shape).toEqual([2, 3, 4]);
    expect(list(y!.data)).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('PADV2 with a fill value', () => {
    const [y] = runOp('PADV2', [arange([2]), { shape: [1, 2], data: Int32Array.of(1, 2), constant: true }, { shape: [], data: Float32Array.of(-9), constant: true }]);
    expect(list(y!.data)).toEqual([-9, 0, 1, -9, -9]);
  });

  it('GATHER rows by int32 indices fed at run time (embedding lookup)', () => {
    const table = arange([5, 3]);
    const [y] = runOp('GATHER', [{ ...table, constant: true }, { shape: [2, 2], data: Int32Array.of(4, 0, 2, 2) }], { axis: 0 });
    expect(y!.shape).toEqual([2, 2, 3]);
    expect(list(y!.data)).toEqual([12, 13, 14, 0, 1, 2, 6, 7, 8, 6, 7, 8]);
  });

  it('GATHER on axis 1 with batch_dims 1', () => {
    const [y] = runOp('GATHER', [arange([2, 3, 2]), { shape: [2, 2], data: Int32Array.of(2, 0, 1, 1), constant: true }], { axis: 1, batchDims: 1 });
    expect(y!.shape).toEqual([2, 2, 2]);
    expect(list(y!.data)).toEqual([4, 5, 0, 1, 8, 9, 8, 9]);
  });

  it('GATHER rejects an index out of range', () => {
    expect(() => runOp('GATHER', [arange([3, 2]), { shape: [1], data: Int32Array.of(3) }], { axis: 0 })).toThrow(/index 3 is outside \[0, 3\)/);
  });
});
