/**
 * Scaled dot-product attention in the layout of the
 * odml.scaled_dot_product_attention composite (ai-edge-torch):
 * q [B, T, N, H], k [B, S, KN, H], v [B, S, KN, Hv], output [B, T, N, Hv].
 *
 *   out[b, t, n] = sum_s softmax_s(scale * q[b,t,n] . k[b,s,kn] + mask[b,n,t,s]) v[b,s,kn]
 *
 * Key/value heads may be fewer than query heads (grouped-query attention):
 * query head n uses kv head floor(n / (N / KN)), as repeat_interleave does.
 * The optional additive mask broadcasts (NumPy rules) to [B, N, T, S].
 * `causal` lets query t see keys 0..t only (PyTorch's is_causal, CLIP's
 * mask). A row with every key masked out gives NaN, as in PyTorch.
 *
 * About the composite: its attributes carry `scale`; in ai-edge-torch's
 * decomposition a call without a mask is causal (is_causal = mask is None),
 * while SD's self- and cross-attention always pass an all-zero mask
 * [B, 1, T, S], so SD attention is not causal.
 */
import { UsageError } from '../../errors.js';
import { broadcastStrides, dimsOf, type Tensor } from './tensor.js';

export interface AttentionOptions {
  readonly scale: number;
  readonly mask?: Tensor | null;
  readonly causal?: boolean;
}

export function attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions): Tensor {
  const [batch, tq, heads, dim] = dimsOf(q, 4, 'attention query') as [number, number, number, number];
  const [kb, sk, kvHeads, kdim] = dimsOf(k, 4, 'attention key') as [number, number, number, number];
  const [vb, sv, vHeads, vdim] = dimsOf(v, 4, 'attention value') as [number, number, number, number];
  if (kb !== batch || vb !== batch || kdim !== dim || sv !== sk || vHeads !== kvHeads) {
    throw new UsageError(
      `attention shapes do not match: q [${q.shape.join(', ')}], k [${k.shape.join(', ')}], v [${v.shape.join(', ')}]`,
    );
  }
  if (kvHeads === 0 || heads % kvHeads !== 0) {
    throw new UsageError(`attention: ${heads} query heads are not a multiple of ${kvHeads} key/value heads`);
  }
  const headsPerKv = heads / kvHeads;
  const mask = options.mask ?? null;
  const maskStrides = mask === null ? null : broadcastStrides(mask.shape, [batch, heads, tq, sk]);
  const scores = new Float64Array(sk);
  const out = new Float32Array(batch * tq * heads * vdim);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < tq; t++) {
      for (let n = 0; n < heads; n++) {
        const kn = Math.floor(n / headsPerKv);
        const qBase = ((b * tq + t) * heads + n) * dim;
        let max = -Infinity;
        for (let s = 0; s < sk; s++) {
          const kBase = ((b * sk + s) * kvHeads + kn) * dim;
          let dot = 0;
          for (let h = 0; h < dim; h++) dot += q.data[qBase + h]! * k.data[kBase + h]!;
          let score = options.scale * dot;
          if (mask !== null && maskStrides !== null) {
            score += mask.data[b * maskStrides[0]! + n * maskStrides[1]! + t * maskStrides[2]! + s * maskStrides[3]!]!;
          }
          if (options.causal && s > t) score = -Infinity;
          scores[s] = score;
          max = Math.max(max, score);
        }
        let sum = 0;
        for (let s = 0; s < sk; s++) {
          scores[s] = Math.exp(scores[s]! - max);
          sum += scores[s]!;
        }
        const oBase = ((b * tq + t) * heads + n) * vdim;
        for (let h = 0; h < vdim; h++) {
          let acc = 0;
          for (let s = 0; s < sk; s++) acc += scores[s]! * v.data[((b * sk + s) * kvHeads + kn) * vdim + h]!;
          out[oBase + h] = acc / sum;
        }
      }
    }
  }
  return { data: out, shape: [batch, tq, heads, vdim] };
}
