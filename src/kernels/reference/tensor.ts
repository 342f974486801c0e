/**
 * The tensor value the reference kernels take and return: a dense,
 * row-major (C order) float32 array and its shape. Kernels never alias their
 * inputs: every result is a fresh array.
 */
import { UsageError } from '../../errors.js';

export interface Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** Number of elements of a shape ([] is a scalar: 1 element). */
export function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

/** A tensor, after checking that every dimension is a non-negative integer and the data fits the shape. */
export function tensor(data: Float32Array, shape: readonly number[]): Tensor {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new UsageError(`invalid tensor shape [${shape.join(', ')}]`);
  }
  if (data.length !== sizeOf(shape)) {
    throw new UsageError(`tensor data has ${data.length} elements, shape [${shape.join(', ')}] needs ${sizeOf(shape)}`);
  }
  return { data, shape: [...shape] };
}

/** Row-major strides in elements: strides[i] = product of shape[i+1..]. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= shape[i]!;
  }
  return strides;
}

/** The tensor's dims after checking its rank; `what` names it in the error. */
export function dimsOf(t: Tensor, rank: number, what: string): number[] {
  if (t.shape.length !== rank) {
    throw new UsageError(`${what} must have rank ${rank}, got shape [${t.shape.join(', ')}]`);
  }
  return [...t.shape];
}

/** NumPy broadcasting of two shapes (dims aligned from the right; 1 stretches). */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new UsageError(`shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Strides for reading a tensor of `shape` as if broadcast to `target`
 * (same rank as target; 0 where the dim is stretched or missing).
 */
export function broadcastStrides(shape: readonly number[], target: readonly number[]): number[] {
  const own = stridesOf(shape);
  const offset = target.length - shape.length;
  if (offset < 0) throw new UsageError(`shape [${shape.join(', ')}] has more dims than [${target.join(', ')}]`);
  return target.map((d, i) => {
    if (i < offset) return 0;
    const dim = shape[i - offset]!;
    if (dim === d) return d === 1 ? 0 : own[i - offset]!;
    if (dim === 1) return 0;
    throw new UsageError(`shape [${shape.join(', ')}] does not broadcast to [${target.join(', ')}]`);
  });
}

/** Resolves a possibly negative axis against a rank. */
export function normalizeAxis(axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new UsageError(`axis ${axis} is out of range for rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}
