import type { UNetConfig } from '../config.js';
import { SpecList } from './tensor-spec.js';

/**
 * `model.diffusion_model.*`: the tensors of CompVis openaimodel.py UNetModel
 * with use_spatial_transformer=True, legacy=False, use_scale_shift_norm=False,
 * resblock_updown=False, conv_resample=True, num_head_channels=-1, built
 * module by module from the config as UNetModel.__init__ does.
 */
export function unetSpecs(u: UNetConfig, into: SpecList): void {
  const timeEmbedDim = u.model_channels * 4;
  into.sub('time_embed').linear('0', u.model_channels, timeEmbedDim);
  into.sub('time_embed').linear('2', timeEmbedDim, timeEmbedDim);

  const inputBlocks = into.sub('input_blocks');
  let block = 0;
  inputBlocks.sub(block++).conv('0', u.in_channels, u.model_channels, 3);
  const skipChannels = [u.model_channels];
  let ch = u.model_channels;
  let ds = 1;
  u.channel_mult.forEach((mult, level) => {
    for (let r = 0; r < u.num_res_blocks; r++) {
      const layers = inputBlocks.sub(block++);
      resBlock(layers.sub(0), ch, u.model_channels * mult, timeEmbedDim);
      ch = u.model_channels * mult;
      if (u.attention_resolutions.includes(ds)) spatialTransformer(layers.sub(1), ch, u);
      skipChannels.push(ch);
    }
    if (level !== u.channel_mult.length - 1) {
      inputBlocks.sub(block++).sub(0).conv('op', ch, ch, 3); // Downsample, stride 2
      skipChannels.push(ch);
      ds *= 2;
    }
  });

  const middle = into.sub('middle_block');
  resBlock(middle.sub(0), ch, ch, timeEmbedDim);
  spatialTransformer(middle.sub(1), ch, u);
  resBlock(middle.sub(2), ch, ch, timeEmbedDim);

  const outputBlocks = into.sub('output_blocks');
  block = 0;
  [...u.channel_mult.entries()].reverse().forEach(([level, mult]) => {
    for (let i = 0; i <= u.num_res_blocks; i++) {
      const layers = outputBlocks.sub(block++);
      const skip = skipChannels.pop()!;
      resBlock(layers.sub(0), ch + skip, u.model_channels * mult, timeEmbedDim);
      ch = u.model_channels * mult;
      let next = 1;
      if (u.attention_resolutions.includes(ds)) spatialTransformer(layers.sub(next++), ch, u);
      if (level !== 0 && i === u.num_res_blocks) {
        layers.sub(next).conv('conv', ch, ch, 3); // Upsample: nearest 2x then conv
        ds /= 2;
      }
    }
  });

  into.sub('out').norm('0', ch);
  into.sub('out').conv('2', u.model_channels, u.out_channels, 3);
}

/** ResBlock: GN-SiLU-conv, emb projection, GN-SiLU-dropout-conv, skip. */
function resBlock(s: SpecList, inC: number, outC: number, embC: number): void {
  s.sub('in_layers').norm('0', inC);
  s.sub('in_layers').conv('2', inC, outC, 3);
  s.sub('emb_layers').linear('1', embC, outC);
  s.sub('out_layers').norm('0', outC);
  s.sub('out_layers').conv('3', outC, outC, 3);
  // Identity when the channel count is unchanged, else a 1x1 conv.
  if (inC !== outC) s.conv('skip_connection', inC, outC, 1);
}

/** SpatialTransformer: GN, 1x1 proj_in, transformer_depth blocks, 1x1 proj_out. */
function spatialTransformer(s: SpecList, ch: number, u: UNetConfig): void {
  const inner = u.num_heads * Math.floor(ch / u.num_heads);
  s.norm('norm', ch);
  s.conv('proj_in', ch, inner, 1);
  for (let d = 0; d < u.transformer_depth; d++) {
    const b = s.sub('transformer_blocks').sub(d);
    crossAttention(b.sub('attn1'), inner, inner);
    b.sub('ff').sub('net').sub('0').linear('proj', inner, inner * 8); // GEGLU: value and gate halves
    b.sub('ff').sub('net').linear('2', inner * 4, inner);
    crossAttention(b.sub('attn2'), inner, u.context_dim);
    b.norm('norm1', inner);
    b.norm('norm2', inner);
    b.norm('norm3', inner);
  }
  s.conv('proj_out', inner, ch, 1);
}

function crossAttention(s: SpecList, dim: number, contextDim: number): void {
  s.linear('to_q', dim, dim, false);
  s.linear('to_k', contextDim, dim, false);
  s.linear('to_v', contextDim, dim, false);
  s.sub('to_out').linear('0', dim, dim);
}
