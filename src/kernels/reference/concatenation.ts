/** CONCATENATION along one axis (negative counts from the end); every other dim must match. */
import { UsageError } from '../../errors.js';
import { normalizeAxis, sizeOf } from './tensor.js';
import { emptyTensorLike, type TypedArray, type TypedTensor } from './typed-tensor.js';

export function concatenate<T extends TypedArray>(parts: readonly TypedTensor<T>[], axis: number): TypedTensor<T> {
  const first = parts[0];
  if (!first) throw new UsageError('concatenation needs at least one input');
  const rank = first.shape.length;
  const a = normalizeAxis(axis, rank);
  for (const p of parts) {
    if (p.shape.length !== rank || p.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new UsageError(`concatenation on axis ${a}: shapes [${first.shape.join(', ')}] and [${p.shape.join(', ')}] do not fit`);
    }
  }
  const shape = [...first.shape];
  shape[a] = parts.reduce((n, p) => n + p.shape[a]!, 0);
  const out = emptyTensorLike(first.data, shape);
  const outer = sizeOf(shape.slice(0, a));
  const inner = sizeOf(shape.slice(a + 1));
  const outRow = shape[a]! * inner;
  let at = 0;
  for (const p of parts) {
    const row = p.shape[a]! * inner;
    for (let o = 0; o < outer; o++) {
      (out.data as TypedArray).set(p.data.subarray(o * row, (o + 1) * row) as never, o * outRow + at);
    }
    at += row;
  }
  return out;
}
