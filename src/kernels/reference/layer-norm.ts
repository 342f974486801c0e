/**
 * Layer normalisation over the last axis: each row is normalised by its
 * mean and biased variance, then scaled by gamma and shifted by beta (each
 * [C], or null for 1 and 0).
 */
import { UsageError } from '../../errors.js';
import type { Tensor } from './tensor.js';

export function layerNorm(x: Tensor, gamma: Tensor | null, beta: Tensor | null, eps: number): Tensor {
  if (x.shape.length === 0) throw new UsageError('layer norm needs rank >= 1');
  const n = x.shape[x.shape.length - 1]!;
  for (const [name, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (t !== null && (t.shape.length !== 1 || t.shape[0] !== n)) {
      throw new UsageError(`layer norm ${name} must have shape [${n}], got [${t.shape.join(', ')}]`);
    }
  }
  const out = new Float32Array(x.data.length);
  for (let start = 0; start < x.data.length; start += n) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += x.data[start + i]!;
    const mean = sum / n;
    let squares = 0;
    for (let i = 0; i < n; i++) squares += (x.data[start + i]! - mean) ** 2;
    const invStd = 1 / Math.sqrt(squares / n + eps);
    for (let i = 0; i < n; i++) {
      const scale = gamma === null ? 1 : gamma.data[i]!;
      const shift = beta === null ? 0 : beta.data[i]!;
      out[start + i] = (x.data[start + i]! - mean) * invStd * scale + shift;
    }
  }
  return { data: out, shape: [...x.shape] };
}
