/** TRANSPOSE for any element type (int32 shape tensors too): output dim i is input dim perm[i]. */
import { UsageError } from '../../errors.js';
import { stridesOf } from './tensor.js';
import { emptyTensorLike, type TypedArray, type TypedTensor } from './typed-tensor.js';

export function permute<T extends TypedArray>(x: TypedTensor<T>, perm: readonly number[]): TypedTensor<T> {
  const rank = x.shape.length;
  const sorted = [...perm].sort((p, q) => p - q);
  if (perm.length !== rank || sorted.some((p, i) => p !== i)) {
    throw new UsageError(`transpose perm [${perm.join(', ')}] is not a permutation of ${rank} axes`);
  }
  const shape = perm.map((p) => x.shape[p]!);
  const out = emptyTensorLike(x.data, shape);
  if (out.data.length === 0) return out;
  const inStrides = stridesOf(x.shape);
  const stepOf = perm.map((p) => inStrides[p]!); // input stride of each output dim
  const src = x.data as TypedArray;
  const dst = out.data as TypedArray;
  // Odometer over output indices, tracking the input offset incrementally.
  const index = new Array<number>(rank).fill(0);
  let from = 0;
  for (let o = 0; o < dst.length; o++) {
    dst[o] = src[from]!;
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) {
        from += stepOf[d]!;
        break;
      }
      from -= (shape[d]! - 1) * stepOf[d]!;
      index[d] = 0;
    }
  }
  return out;
}
