/**
 * encoder.tflite, signature `encode`: image [1, 3, H, W] in [-1, 1] and
 * noise [1, 4, H/8, W/8] → latents [1, 4, H/8, W/8]. CompVis's Encoder,
 * then quant_conv; mean and log-variance (logvar clamped to [-30, 20]);
 * (mean + exp(logvar / 2) · noise) · scale_factor.
 */
import type { ModelConfig } from '../config.js';
import { VAE_PREFIX } from '../ldm-layout/index.js';
import type { Nn } from '../graph/nn.js';
import { attnBlock, midBlock, normSilu, resnetBlock } from './vae-blocks.js';

export function buildVaeEncoder(nn: Nn, config: ModelConfig, imageH: number, imageW: number): void {
  const g = nn.g;
  const d = config.vae.ddconfig;
  const embed = config.vae.embed_dim;
  const P = `${VAE_PREFIX}encoder.`;
  const levels = d.ch_mult.length;
  const factor = 2 ** (levels - 1);
  const latent = (s: number) => (s === -1 ? -1 : s / factor);
  const image = g.input('args_0', 'FLOAT32', [1, d.in_channels, imageH, imageW]); // [1, 3, H, W]
  const noise = g.input('args_1', 'FLOAT32', [1, embed, latent(imageH), latent(imageW)]); // [1, 4, h, w]
  let x = nn.conv2d(g.nchwToNhwc(image), `${P}conv_in`); // [1, H, W, ch]
  let res = d.resolution;
  for (let level = 0; level < levels; level++) {
    const down = `${P}down.${level}`;
    const out = d.ch * d.ch_mult[level]!;
    const hasAttn = d.attn_resolutions.includes(res);
    for (let b = 0; b < d.num_res_blocks; b++) {
      x = resnetBlock(nn, x, `${down}.block.${b}`, out);
      if (hasAttn) x = attnBlock(nn, x, `${down}.attn.${b}`);
    }
    if (level !== levels - 1) {
      // Downsample: pad 0 left/top, 1 right/bottom, then 3x3 stride 2.
      x = nn.conv2d(x, `${down}.downsample.conv`, { stride: 2, pad: [0, 1, 0, 1] }); // [1, H/2, W/2, out]
      res = Math.floor(res / 2);
    }
  }
  x = midBlock(nn, x, `${P}mid`);
  x = nn.conv2d(normSilu(nn, x, `${P}norm_out`), `${P}conv_out`); // [1, h, w, 2z]
  // quant_conv's output channels are [mean | logvar]: two convs on its row halves.
  const mean = nn.conv2d(x, `${VAE_PREFIX}quant_conv`, { rows: { start: 0, count: embed } }); // [1, h, w, 4]
  let logvar = nn.conv2d(x, `${VAE_PREFIX}quant_conv`, { rows: { start: embed, count: embed } }); // [1, h, w, 4]
  logvar = g.minimum(g.maximum(logvar, g.scalar(-30)), g.scalar(20));
  const std = g.exp(g.mul(logvar, g.scalar(0.5))); // [1, h, w, 4]
  const sample = g.add(mean, g.mul(std, g.nchwToNhwc(noise))); // [1, h, w, 4]
  const latents = g.nhwcToNchw(g.mul(sample, g.scalar(config.scale_factor))); // [1, 4, h, w]
  g.markOutput(latents);
  g.model.addSignature('encode', { args_0: image.id, args_1: noise.id }, { output_0: latents.id });
}
