/**
 * MEAN and SUM over a set of axes (negative axes count from the end,
 * repeats are ignored), with TFLite's keep_dims: reduced dims stay as 1 or
 * are dropped. No axes returns a copy. Accumulates in float64.
 */
import { normalizeAxis, sizeOf, stridesOf, type Tensor } from './tensor.js';

function reduceSum(x: Tensor, axes: readonly number[], keepDims: boolean): { sums: Float64Array; shape: number[]; count: number } {
  const rank = x.shape.length;
  const reduced = new Set(axes.map((a) => normalizeAxis(a, rank)));
  const keptShape = x.shape.map((d, i) => (reduced.has(i) ? 1 : d));
  const keptStrides = stridesOf(keptShape);
  const inStrides = stridesOf(x.shape);
  const sums = new Float64Array(sizeOf(keptShape));
  for (let i = 0; i < x.data.length; i++) {
    let o = 0;
    for (let d = 0; d < rank; d++) {
      if (!reduced.has(d)) o += (Math.floor(i / inStrides[d]!) % x.shape[d]!) * keptStrides[d]!;
    }
    sums[o] += x.data[i]!;
  }
  const shape = keepDims ? keptShape : x.shape.filter((_, i) => !reduced.has(i));
  const count = [...reduced].reduce((n, a) => n * x.shape[a]!, 1);
  return { sums, shape, count };
}

export function sum(x: Tensor, axes: readonly number[], keepDims = false): Tensor {
  const { sums, shape } = reduceSum(x, axes, keepDims);
  return { data: Float32Array.from(sums), shape };
}

export function mean(x: Tensor, axes: readonly number[], keepDims = false): Tensor {
  const { sums, shape, count } = reduceSum(x, axes, keepDims);
  return { data: Float32Array.from(sums, (s) => s / count), shape };
}
