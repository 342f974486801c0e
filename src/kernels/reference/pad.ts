/**
 * PAD / PADV2 with TFLite semantics: paddings[d] = [before, after] elements
 * added around dim d, filled with `value` (0 for PAD).
 */
import { UsageError } from '../../errors.js';
import { stridesOf } from './tensor.js';
import { emptyTensorLike, type TypedArray, type TypedTensor } from './typed-tensor.js';

export function pad<T extends TypedArray>(
  x: TypedTensor<T>,
  paddings: readonly (readonly [number, number])[],
  value: number | bigint = 0,
): TypedTensor<T> {
  const rank = x.shape.length;
  if (paddings.length !== rank) {
    throw new UsageError(`pad needs ${rank} [before, after] pairs for shape [${x.shape.join(', ')}], got ${paddings.length}`);
  }
  for (const [b, a] of paddings) {
    if (!Number.isInteger(b) || !Number.isInteger(a) || b < 0 || a < 0) {
      throw new UsageError(`pad amounts must be non-negative integers, got [${paddings.map((p) => `[${p.join(', ')}]`).join(', ')}]`);
    }
  }
  const shape = x.shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]);
  const out = emptyTensorLike(x.data, shape);
  if (value !== 0) (out.data as TypedArray).fill(value as never);
  const outStrides = stridesOf(shape);
  const inStrides = stridesOf(x.shape);
  // Copy the input row by row (last dim contiguous) into its padded place.
  const last = rank === 0 ? 1 : x.shape[rank - 1]!;
  const rows = last === 0 ? 0 : x.data.length / last;
  for (let r = 0; r < rows; r++) {
    let rest = r * last;
    let o = 0;
    for (let d = 0; d < rank; d++) {
      const index = Math.floor(rest / inStrides[d]!);
      rest -= index * inStrides[d]!;
      o += (index + paddings[d]![0]) * outStrides[d]!;
    }
    (out.data as TypedArray).set(x.data.subarray(r * last, r * last + last) as never, o);
  }
  return out;
}
