/**
 * GATHER with TFLite semantics: output = params[..., indices[...], ...]
 * along `axis`, with `batchDims` leading dims shared by params and indices.
 * Output shape: params[:axis] + indices[batchDims:] + params[axis+1:].
 * Out-of-range indices are an error (TFLite reports them too).
 */
import { UsageError } from '../../errors.js';
import { normalizeAxis, sizeOf } from './tensor.js';
import { emptyTensorLike, type TypedArray, type TypedTensor } from './typed-tensor.js';

export function gather<T extends TypedArray>(
  params: TypedTensor<T>,
  indices: TypedTensor<Int32Array>,
  axis = 0,
  batchDims = 0,
): TypedTensor<T> {
  const a = normalizeAxis(axis, params.shape.length);
  const b = batchDims < 0 ? batchDims + indices.shape.length : batchDims;
  if (!(b >= 0 && b <= a && b <= indices.shape.length)) {
    throw new UsageError(`gather: batch_dims ${batchDims} does not fit axis ${a} and indices [${indices.shape.join(', ')}]`);
  }
  for (let i = 0; i < b; i++) {
    if (params.shape[i] !== indices.shape[i]) {
      throw new UsageError(`gather: batch dim ${i} differs: params [${params.shape.join(', ')}], indices [${indices.shape.join(', ')}]`);
    }
  }
  const shape = [...params.shape.slice(0, a), ...indices.shape.slice(b), ...params.shape.slice(a + 1)];
  const out = emptyTensorLike(params.data, shape);
  const batches = sizeOf(params.shape.slice(0, b));
  const outer = sizeOf(params.shape.slice(b, a));
  const axisSize = params.shape[a]!;
  const inner = sizeOf(params.shape.slice(a + 1));
  const perBatch = sizeOf(indices.shape.slice(b));
  const dst = out.data as TypedArray;
  let o = 0;
  for (let bi = 0; bi < batches; bi++) {
    for (let oi = 0; oi < outer; oi++) {
      for (let k = 0; k < perBatch; k++) {
        const index = indices.data[bi * perBatch + k]!;
        if (!(index >= 0 && index < axisSize)) throw new UsageError(`gather: index ${index} is outside [0, ${axisSize})`);
        const from = ((bi * outer + oi) * axisSize + index) * inner;
        dst.set(params.data.subarray(from, from + inner) as never, o);
        o += inner;
      }
    }
  }
  return out;
}
