/**
 * Group normalisation in channels-last layout ([N, ...spatial, C], e.g.
 * NHWC), as the odml.group_norm composite sees it: channels split into
 * `groups` consecutive groups; each (sample, group) is normalised by its
 * mean and biased variance over all spatial positions and the group's
 * channels, then scaled by gamma[c] and shifted by beta[c]. With `silu`,
 * y * sigmoid(y) follows (SD's ResNet blocks).
 */
import { UsageError } from '../../errors.js';
import { siluScalar } from './activation.js';
import { sizeOf, type Tensor } from './tensor.js';

export interface GroupNormOptions {
  readonly groups: number;
  readonly eps: number;
  readonly silu?: boolean;
}

export function groupNorm(x: Tensor, gamma: Tensor, beta: Tensor, options: GroupNormOptions): Tensor {
  if (x.shape.length < 2) throw new UsageError(`group norm input must be [N, ..., C], got [${x.shape.join(', ')}]`);
  const batch = x.shape[0]!;
  const channels = x.shape[x.shape.length - 1]!;
  const { groups, eps } = options;
  if (!Number.isInteger(groups) || groups < 1 || channels % groups !== 0) {
    throw new UsageError(`group norm: ${channels} channels do not split into ${groups} groups`);
  }
  for (const [name, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (t.shape.length !== 1 || t.shape[0] !== channels) {
      throw new UsageError(`group norm ${name} must have shape [${channels}], got [${t.shape.join(', ')}]`);
    }
  }
  const spatial = sizeOf(x.shape.slice(1, -1));
  const perGroup = channels / groups;
  const count = spatial * perGroup;
  const out = new Float32Array(x.data.length);
  for (let b = 0; b < batch; b++) {
    for (let g = 0; g < groups; g++) {
      // Element (position p, channel i of the group) of this sample and group.
      const at = (p: number, i: number): number => (b * spatial + p) * channels + g * perGroup + i;
      let sum = 0;
      for (let p = 0; p < spatial; p++) for (let i = 0; i < perGroup; i++) sum += x.data[at(p, i)]!;
      const mean = sum / count;
      let squares = 0;
      for (let p = 0; p < spatial; p++) {
        for (let i = 0; i < perGroup; i++) squares += (x.data[at(p, i)]! - mean) ** 2;
      }
      const invStd = 1 / Math.sqrt(squares / count + eps);
      for (let p = 0; p < spatial; p++) {
        for (let i = 0; i < perGroup; i++) {
          const c = g * perGroup + i;
          const y = (x.data[at(p, i)]! - mean) * invStd * gamma.data[c]! + beta.data[c]!;
          out[at(p, i)] = options.silu ? siluScalar(y) : y;
        }
      }
    }
  }
  return { data: out, shape: [...x.shape] };
}
