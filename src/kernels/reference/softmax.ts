/**
 * SOFTMAX over the last axis with TFLite's beta: y = exp(beta x) / sum(exp(beta x)),
 * computed as exp(beta x - max(beta x)) so that no exponent overflows.
 */
import { UsageError } from '../../errors.js';
import type { Tensor } from './tensor.js';

export function softmax(x: Tensor, beta = 1): Tensor {
  if (x.shape.length === 0) throw new UsageError('softmax needs rank >= 1');
  const n = x.shape[x.shape.length - 1]!;
  const out = new Float32Array(x.data.length);
  const row = new Float64Array(n);
  for (let start = 0; start < x.data.length; start += n) {
    let max = -Infinity;
    for (let i = 0; i < n; i++) max = Math.max(max, beta * x.data[start + i]!);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      row[i] = Math.exp(beta * x.data[start + i]! - max);
      sum += row[i]!;
    }
    for (let i = 0; i < n; i++) out[start + i] = row[i]! / sum;
  }
  return { data: out, shape: [...x.shape] };
}
