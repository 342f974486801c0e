/**
 * GEGLU, the gate of SD's transformer feed-forward (diffusers' GEGLU): the
 * projected input's last dim 2F splits into value = [..., :F] and
 * gate = [..., F:], and the output [..., F] is value * gelu(gate).
 */
import { UsageError } from '../../errors.js';
import { geluScalar } from './activation.js';
import type { Tensor } from './tensor.js';

export function geglu(x: Tensor, approximate = false): Tensor {
  const last = x.shape[x.shape.length - 1];
  if (last === undefined || last % 2 !== 0) {
    throw new UsageError(`geglu needs an even last dim, got [${x.shape.join(', ')}]`);
  }
  const half = last / 2;
  const rows = last === 0 ? 0 : x.data.length / last;
  const out = new Float32Array(rows * half);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < half; i++) {
      const value = x.data[r * last + i]!;
      const gate = x.data[r * last + half + i]!;
      out[r * half + i] = value * geluScalar(gate, approximate);
    }
  }
  return { data: out, shape: [...x.shape.slice(0, -1), half] };
}
