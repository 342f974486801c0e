import type { VaeConfig } from '../config.js';
import { SpecList } from './tensor-spec.js';

/**
 * `first_stage_model.*`: CompVis AutoencoderKL (ldm/modules/diffusionmodules/
 * model.py Encoder and Decoder, then quant_conv and post_quant_conv), built
 * level by level from ddconfig as the original constructors do.
 */
export function vaeSpecs(vae: VaeConfig, into: SpecList): void {
  const d = vae.ddconfig;
  encoderSpecs(vae, into.sub('encoder'));
  decoderSpecs(vae, into.sub('decoder'));
  into.conv('quant_conv', 2 * d.z_channels, 2 * vae.embed_dim, 1);
  into.conv('post_quant_conv', vae.embed_dim, d.z_channels, 1);
}

function encoderSpecs(vae: VaeConfig, s: SpecList): void {
  const d = vae.ddconfig;
  const levels = d.ch_mult.length;
  s.conv('conv_in', d.in_channels, d.ch, 3);
  let blockIn = d.ch;
  let res = d.resolution;
  for (let level = 0; level < levels; level++) {
    const down = s.sub('down').sub(level);
    const blockOut = d.ch * d.ch_mult[level]!;
    const hasAttn = d.attn_resolutions.includes(res);
    for (let b = 0; b < d.num_res_blocks; b++) {
      resnetBlock(down.sub('block').sub(b), blockIn, blockOut);
      blockIn = blockOut;
    }
    // Module order within a level: all blocks, then all attention blocks.
    if (hasAttn) for (let b = 0; b < d.num_res_blocks; b++) attnBlock(down.sub('attn').sub(b), blockIn);
    if (level !== levels - 1) {
      down.sub('downsample').conv('conv', blockIn, blockIn, 3);
      res = Math.floor(res / 2);
    }
  }
  midSpecs(s.sub('mid'), blockIn);
  s.norm('norm_out', blockIn);
  s.conv('conv_out', blockIn, d.double_z ? 2 * d.z_channels : d.z_channels, 3);
}

function decoderSpecs(vae: VaeConfig, s: SpecList): void {
  const d = vae.ddconfig;
  const levels = d.ch_mult.length;
  const levelOut = (level: number) => d.ch * d.ch_mult[level]!;
  s.conv('conv_in', d.z_channels, levelOut(levels - 1), 3);
  midSpecs(s.sub('mid'), levelOut(levels - 1));
  // The decoder is built from the deepest level up, but stored as up[0..n-1]
  // (ModuleList.insert(0, ...)), so state_dict order is by level index. A level
  // takes the channels of the level below it (the deepest takes its own).
  const lowestRes = Math.floor(d.resolution / 2 ** (levels - 1));
  for (let level = 0; level < levels; level++) {
    const up = s.sub('up').sub(level);
    const out = levelOut(level);
    const levelIn = levelOut(Math.min(level + 1, levels - 1));
    for (let b = 0; b <= d.num_res_blocks; b++) resnetBlock(up.sub('block').sub(b), b === 0 ? levelIn : out, out);
    if (d.attn_resolutions.includes(lowestRes * 2 ** (levels - 1 - level))) {
      for (let b = 0; b <= d.num_res_blocks; b++) attnBlock(up.sub('attn').sub(b), out);
    }
    if (level !== 0) up.sub('upsample').conv('conv', out, out, 3);
  }
  s.norm('norm_out', levelOut(0));
  s.conv('conv_out', levelOut(0), d.out_ch, 3);
}

function midSpecs(s: SpecList, ch: number): void {
  resnetBlock(s.sub('block_1'), ch, ch);
  attnBlock(s.sub('attn_1'), ch);
  resnetBlock(s.sub('block_2'), ch, ch);
}

/** ResnetBlock without time embedding; nin_shortcut (1x1) only when channels change. */
function resnetBlock(s: SpecList, inC: number, outC: number): void {
  s.norm('norm1', inC);
  s.conv('conv1', inC, outC, 3);
  s.norm('norm2', outC);
  s.conv('conv2', outC, outC, 3);
  if (inC !== outC) s.conv('nin_shortcut', inC, outC, 1);
}

/** Single-head spatial self-attention with 1x1-conv projections. */
function attnBlock(s: SpecList, ch: number): void {
  s.norm('norm', ch);
  s.conv('q', ch, ch, 1);
  s.conv('k', ch, ch, 1);
  s.conv('v', ch, ch, 1);
  s.conv('proj_out', ch, ch, 1);
}
