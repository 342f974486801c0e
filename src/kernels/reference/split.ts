/** SPLIT / SPLIT_V: cuts a tensor along one axis into pieces of the given sizes (which must add up to the dim). */
import { UsageError } from '../../errors.js';
import { normalizeAxis } from './tensor.js';
import { sliceStrided } from './slice.js';
import type { TypedArray, TypedTensor } from './typed-tensor.js';

export function split<T extends TypedArray>(x: TypedTensor<T>, sizes: readonly number[], axis: number): TypedTensor<T>[] {
  const a = normalizeAxis(axis, x.shape.length);
  const total = sizes.reduce((n, s) => n + s, 0);
  if (sizes.some((s) => !Number.isInteger(s) || s < 0) || total !== x.shape[a]) {
    throw new UsageError(`split sizes [${sizes.join(', ')}] do not add up to dim ${a} of [${x.shape.join(', ')}]`);
  }
  let start = 0;
  return sizes.map((size) => {
    const ranges = x.shape.map((d, i) => (i === a ? { start, stride: 1, count: size } : { start: 0, stride: 1, count: d }));
    start += size;
    return sliceStrided(x, ranges, ranges.map((r) => r.count));
  });
}

/** Equal pieces: SPLIT's num_splits must divide the dim. */
export function splitEven<T extends TypedArray>(x: TypedTensor<T>, pieces: number, axis: number): TypedTensor<T>[] {
  const a = normalizeAxis(axis, x.shape.length);
  const dim = x.shape[a]!;
  if (!Number.isInteger(pieces) || pieces < 1 || dim % pieces !== 0) {
    throw new UsageError(`cannot split dim ${a} of [${x.shape.join(', ')}] into ${pieces} equal pieces`);
  }
  return split(x, new Array<number>(pieces).fill(dim / pieces), a);
}
