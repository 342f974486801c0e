/**
 * The VAE's building blocks (CompVis ldm/modules/diffusionmodules/model.py),
 * shared by the encoder and the decoder: ResnetBlock without time embedding
 * and the single-head AttnBlock with 1x1-conv projections. GroupNorm eps is
 * 1e-6 throughout the VAE.
 */
import type { Tensor } from '../graph/graph.js';
import type { Nn } from '../graph/nn.js';

export const VAE_NORM_EPS = 1e-6;

/** GroupNorm → SiLU: the normalisation every VAE conv is preceded by. */
export function normSilu(nn: Nn, x: Tensor, name: string): Tensor {
  return nn.silu(nn.groupNorm(x, name, VAE_NORM_EPS));
}

/** ResnetBlock: x [N, H, W, in] → [N, H, W, out]; nin_shortcut (1x1) when channels change. */
export function resnetBlock(nn: Nn, x: Tensor, name: string, outChannels: number): Tensor {
  let h = nn.conv2d(normSilu(nn, x, `${name}.norm1`), `${name}.conv1`); // [N, H, W, out]
  h = nn.conv2d(normSilu(nn, h, `${name}.norm2`), `${name}.conv2`); // [N, H, W, out]
  const skip = x.shape[3] === outChannels ? x : nn.conv2d(x, `${name}.nin_shortcut`); // [N, H, W, out]
  return nn.g.add(skip, h);
}

/** AttnBlock: self-attention over all H·W positions, one head of C channels. */
export function attnBlock(nn: Nn, x: Tensor, name: string): Tensor {
  const g = nn.g;
  const [n, , , c] = x.shape as [number, number, number, number];
  const h = nn.groupNorm(x, `${name}.norm`, VAE_NORM_EPS); // [N, H, W, C]
  const tokens = (t: Tensor) => g.reshape(t, [n, -1, 1, c]); // [N, HW, 1, C]
  const q = tokens(nn.conv2d(h, `${name}.q`));
  const k = tokens(nn.conv2d(h, `${name}.k`));
  const v = tokens(nn.conv2d(h, `${name}.v`));
  const o = g.reshapeLike(nn.attention(q, k, v), x); // [N, H, W, C]
  return g.add(x, nn.conv2d(o, `${name}.proj_out`));
}

/** Mid block: ResnetBlock, AttnBlock, ResnetBlock at constant channels. */
export function midBlock(nn: Nn, x: Tensor, name: string): Tensor {
  const c = x.shape[3]!;
  x = resnetBlock(nn, x, `${name}.block_1`, c);
  x = attnBlock(nn, x, `${name}.attn_1`);
  return resnetBlock(nn, x, `${name}.block_2`, c);
}
