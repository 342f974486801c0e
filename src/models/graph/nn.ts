/**
 * PyTorch-like modules over Graph, taking their weights by checkpoint name:
 * `nn.conv2d(x, 'model.diffusion_model.input_blocks.0.0')` reads
 * `<name>.weight` and `<name>.bias`. Activations are NHWC.
 *
 * Group norm and attention are written as subgraphs of builtin ops (the
 * exact patterns are listed in README.md, so an engine can fuse them back);
 * with target 'gpu' they are wrapped in the STABLEHLO_COMPOSITEs
 * `odml.group_norm` and `odml.scaled_dot_product_attention` of the
 * reference converter, whose decompositions are those same patterns.
 */
import { UsageError } from '../../errors.js';
import { GROUP_NORM_GROUPS } from '../config.js';
import { composite } from './composite.js';
import type { Graph, Tensor } from './graph.js';
import type { RowRange, Weights } from './weights.js';

export type Target = 'cpu' | 'gpu';
export const TARGETS: readonly Target[] = ['cpu', 'gpu'];

/** Most negative float32: HF CLIP's causal-mask value. */
const MASKED = -3.4028234663852886e38;

export interface ConvOptions {
  stride?: number;
  /** [top, bottom, left, right] zero padding; default: (k - 1) / 2 on every side. */
  pad?: readonly [number, number, number, number];
  /** Only these output channels (rows of the weight and bias). */
  rows?: RowRange;
}

export class Nn {
  constructor(
    readonly g: Graph,
    readonly w: Weights,
    readonly target: Target,
  ) {}

  /** nn.Linear: x [..., in] → [..., out]. */
  linear(x: Tensor, name: string, options: { bias?: boolean; rows?: RowRange } = {}): Tensor {
    return this.g.within(name, () => {
      const weight = this.w.linearWeight(`${name}.weight`, options.rows);
      const bias = options.bias === false ? undefined : this.w.param(`${name}.bias`, options.rows);
      return this.g.fullyConnected(x, weight, bias); // [..., out]
    });
  }

  /** nn.Conv2d on NHWC x: [N, H, W, in] → [N, H', W', out]. */
  conv2d(x: Tensor, name: string, options: ConvOptions = {}): Tensor {
    return this.g.within(name, () => {
      const weight = this.w.convWeight(`${name}.weight`, options.rows); // [out, k, k, in]
      const bias = this.w.param(`${name}.bias`, options.rows);
      const k = weight.shape[1]!;
      const stride = options.stride ?? 1;
      const half = (k - 1) / 2;
      const pad = options.pad ?? [half, half, half, half];
      // Symmetric padding of an odd kernel at stride 1 is TFLite's SAME.
      if (stride === 1 && pad.every((p) => p === half)) return this.g.conv2d(x, weight, bias, 1, k === 1 ? 'VALID' : 'SAME');
      const padded = this.g.pad(x, [[0, 0], [pad[0], pad[1]], [pad[2], pad[3]], [0, 0]]);
      return this.g.conv2d(padded, weight, bias, stride, 'VALID');
    });
  }

  /** x · sigmoid(x) */
  silu(x: Tensor): Tensor {
    return this.g.mul(x, this.g.logistic(x));
  }

  /** CLIP's x · sigmoid(1.702 x) */
  quickGelu(x: Tensor): Tensor {
    return this.g.mul(x, this.g.logistic(this.g.mul(x, this.g.scalar(1.702))));
  }

  /** nn.GroupNorm(32, C) on NHWC x [N, H, W, C]. */
  groupNorm(x: Tensor, name: string, eps: number): Tensor {
    return this.g.within(name, () => {
      const gamma = this.w.param(`${name}.weight`);
      const beta = this.w.param(`${name}.bias`);
      if (this.target === 'cpu') return groupNormPattern(this.g, x, gamma, beta, eps);
      const attributes = { num_groups: GROUP_NORM_GROUPS, epsilon: Math.fround(eps), reduction_axes: [3], channel_axis: 3 };
      return composite(this.g, 'odml.group_norm', attributes, [x, gamma, beta], (sub, [xs, gs, bs]) =>
        groupNormPattern(sub, xs!, gs!, bs!, eps),
      );
    });
  }

  /** nn.LayerNorm over the last dimension. */
  layerNorm(x: Tensor, name: string, eps: number): Tensor {
    return this.g.within(name, () => {
      const g = this.g;
      const mean = g.mean(x, [-1]); // [..., 1]
      const d = g.sub(x, mean); // [..., C]
      const variance = g.mean(g.mul(d, d), [-1]); // [..., 1]
      const inv = g.rsqrt(g.add(variance, g.scalar(eps))); // [..., 1]
      return g.add(g.mul(g.mul(d, inv), this.w.param(`${name}.weight`)), this.w.param(`${name}.bias`)); // [..., C]
    });
  }

  /**
   * Scaled dot-product attention on per-head tensors: q [B, T, N, D],
   * k and v [B, S, N, D] → [B, T, N, D]. `mask` (additive, broadcast to
   * [B, N, T, S]) is given for causal attention only.
   */
  attention(q: Tensor, k: Tensor, v: Tensor, mask?: Tensor): Tensor {
    const scale = 1 / Math.sqrt(q.shape[3]!);
    if (this.target === 'cpu') return attentionPattern(this.g, q, k, v, scale, mask);
    // As the reference, the composite always gets a mask, zeros [1, 1, T, S] when there is none
    // (XNNPACK's fused attention checks its sizes, so T and S must be static for --target gpu).
    const [t, s] = [q.shape[1]!, k.shape[1]!];
    if (t === -1 || s === -1) throw new UsageError('--target gpu needs static image sizes: give --height and --width');
    const m = mask ?? this.g.zeros([1, 1, t, s]);
    return composite(this.g, 'odml.scaled_dot_product_attention', { scale: Math.fround(scale) }, [q, k, v, m], (sub, [qs, ks, vs, ms]) =>
      attentionPattern(sub, qs!, ks!, vs!, scale, ms),
    );
  }

  /** Multi-head attention with projections named as CompVis CrossAttention / HF CLIPAttention. */
  multiHeadAttention(
    x: Tensor,
    context: Tensor,
    heads: number,
    names: { q: string; k: string; v: string; out: string },
    options: { qkvBias: boolean; mask?: Tensor },
  ): Tensor {
    const g = this.g;
    const bias = options.qkvBias;
    const q = this.linear(x, names.q, { bias }); // [B, T, C]
    const k = this.linear(context, names.k, { bias }); // [B, S, C]
    const v = this.linear(context, names.v, { bias }); // [B, S, C]
    const c = q.shape[2]!;
    const d = c / heads;
    const perHead = (t: Tensor) => g.reshapeKeepingBatch(t, [t.shape[1]!, heads, d]); // [B, T, N, D]
    const o = this.attention(perHead(q), perHead(k), perHead(v), options.mask); // [B, T, N, D]
    return this.linear(g.reshapeKeepingBatch(o, [o.shape[1]!, c]), names.out); // [B, T, C]
  }

  /** Causal mask [1, 1, T, T]: 0 on and below the diagonal, the most negative float above. */
  causalMask(t: number): Tensor {
    const mask = new Float32Array(t * t);
    for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) mask[i * t + j] = MASKED;
    return this.g.floatConstant([1, 1, t, t], mask);
  }
}

/**
 * Group norm of NHWC x with statistics on [N, 1, 1, C] tensors only (so H
 * and W may be dynamic): per-channel means over H and W, averaged within
 * each group and repeated per channel by a GATHER.
 */
function groupNormPattern(g: Graph, x: Tensor, gamma: Tensor, beta: Tensor, eps: number): Tensor {
  const [n, , , c] = x.shape as [number, number, number, number];
  const groups = GROUP_NORM_GROUPS;
  const channelGroup = g.int32(Array.from({ length: c }, (_, i) => Math.floor(i / (c / groups))));
  const groupMean = (perChannel: Tensor) => {
    const grouped = g.reshape(perChannel, [n, groups, c / groups]); // [N, G, C/G]
    const means = g.mean(grouped, [2], false); // [N, G]
    return g.reshape(g.gather(means, channelGroup, 1), [n, 1, 1, c]); // [N, 1, 1, C]
  };
  const mean = groupMean(g.mean(x, [1, 2])); // [N, 1, 1, C]
  const d = g.sub(x, mean); // [N, H, W, C]
  const variance = groupMean(g.mean(g.mul(d, d), [1, 2])); // [N, 1, 1, C]
  const scale = g.mul(g.rsqrt(g.add(variance, g.scalar(eps))), gamma); // [N, 1, 1, C]
  return g.add(g.mul(d, scale), beta); // [N, H, W, C]
}

function attentionPattern(g: Graph, q: Tensor, k: Tensor, v: Tensor, scale: number, mask?: Tensor): Tensor {
  const heads = (t: Tensor) => g.transpose(t, [0, 2, 1, 3]); // [B, N, T, D]
  const scores = g.batchMatmul(g.mul(heads(q), g.scalar(scale)), heads(k), true); // [B, N, T, S]
  const weights = g.softmax(mask ? g.add(scores, mask) : scores); // [B, N, T, S]
  return g.transpose(g.batchMatmul(weights, heads(v), false), [0, 2, 1, 3]); // [B, T, N, D]
}
