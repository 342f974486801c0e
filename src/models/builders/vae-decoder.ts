/**
 * decoder.tflite, signature `decode`: scaled latents [1, 4, h, w] →
 * image [1, 3, 8h, 8w] in about [-1, 1] (not clamped). As the reference
 * converter's decoder, the graph divides by the scale factor (0.18215) and
 * applies post_quant_conv before CompVis's Decoder.
 */
import type { ModelConfig } from '../config.js';
import { VAE_PREFIX } from '../ldm-layout/index.js';
import type { Nn } from '../graph/nn.js';
import { attnBlock, midBlock, normSilu, resnetBlock } from './vae-blocks.js';

export function buildVaeDecoder(nn: Nn, config: ModelConfig, latentH: number, latentW: number): void {
  const g = nn.g;
  const d = config.vae.ddconfig;
  const P = `${VAE_PREFIX}decoder.`;
  const levels = d.ch_mult.length;
  const z = g.input('args_0', 'FLOAT32', [1, config.vae.embed_dim, latentH, latentW]); // [1, 4, h, w]
  let x = g.mul(g.nchwToNhwc(z), g.scalar(1 / config.scale_factor)); // [1, h, w, 4]
  x = nn.conv2d(x, `${VAE_PREFIX}post_quant_conv`); // [1, h, w, z]
  x = nn.conv2d(x, `${P}conv_in`); // [1, h, w, C_top]
  x = midBlock(nn, x, `${P}mid`);
  // Runs up[levels-1] ... up[0]; level i works at resolution / 2^i.
  for (let level = levels - 1; level >= 0; level--) {
    const up = `${P}up.${level}`;
    const out = d.ch * d.ch_mult[level]!;
    const hasAttn = d.attn_resolutions.includes(Math.floor(d.resolution / 2 ** (levels - 1)) * 2 ** (levels - 1 - level));
    for (let b = 0; b <= d.num_res_blocks; b++) {
      x = resnetBlock(nn, x, `${up}.block.${b}`, out); // [1, H, W, out]
      if (hasAttn) x = attnBlock(nn, x, `${up}.attn.${b}`);
    }
    if (level !== 0) x = nn.conv2d(g.upsampleNearest2x(x), `${up}.upsample.conv`); // [1, 2H, 2W, out]
  }
  x = nn.conv2d(normSilu(nn, x, `${P}norm_out`), `${P}conv_out`); // [1, 8h, 8w, 3]
  const image = g.nhwcToNchw(x); // [1, 3, 8h, 8w]
  g.markOutput(image);
  g.model.addSignature('decode', { args_0: z.id }, { output_0: image.id });
}
