/** TRANSPOSE: output dim i is input dim perm[i]. */
import { UsageError } from '../../errors.js';
import { sizeOf, stridesOf, type Tensor } from './tensor.js';

export function transpose(x: Tensor, perm: readonly number[]): Tensor {
  const rank = x.shape.length;
  const sorted = [...perm].sort((p, q) => p - q);
  if (perm.length !== rank || sorted.some((p, i) => p !== i)) {
    throw new UsageError(`transpose perm [${perm.join(', ')}] is not a permutation of ${rank} axes`);
  }
  const shape = perm.map((p) => x.shape[p]!);
  const inStrides = stridesOf(x.shape);
  const outStrides = stridesOf(shape);
  const out = new Float32Array(sizeOf(shape));
  for (let o = 0; o < out.length; o++) {
    let i = 0;
    for (let d = 0; d < rank; d++) i += (Math.floor(o / outStrides[d]!) % shape[d]!) * inStrides[perm[d]!]!;
    out[o] = x.data[i]!;
  }
  return { data: out, shape };
}
