/**
 * diffusion.tflite, signature `diffusion`: latents [2, 4, h, w], context
 * [2, 77, context_dim] and the time embedding [1, model_channels] (computed
 * by the pipeline) → noise prediction [2, 4, h, w]. CompVis openaimodel.py
 * UNetModel with SpatialTransformers, built from the config as its
 * constructor does; time_embed (Linear-SiLU-Linear) runs inside the graph.
 *
 * The batch B of latents, context and the output is dynamic (shape 2, shape
 * signature -1, for every target): resized to 1, one UNet call serves
 * sampling without guidance (cfg 1). Batch items are independent.
 *
 * The time embedding's batch dimension is dynamic (shape [1, 320], shape
 * signature [-1, 320]): [2, 320] gives each latent its own timestep.
 */
import type { UNetConfig } from '../config.js';
import { UNET_PREFIX } from '../ldm-layout/index.js';
import type { Tensor } from '../graph/graph.js';
import type { Nn } from '../graph/nn.js';

const RES_NORM_EPS = 1e-5;
const TRANSFORMER_NORM_EPS = 1e-6;
const LAYER_NORM_EPS = 1e-5;

/** `contextTokens`: the text encoder's sequence length (max_position_embeddings, 77). */
export function buildUnet(nn: Nn, u: UNetConfig, contextTokens: number, latentH: number, latentW: number): void {
  const g = nn.g;
  const P = UNET_PREFIX;
  // Batch: dynamic, 2 ([cond, uncond]) by default.
  const latentsDefault = [2, u.in_channels, Math.max(latentH, 1), Math.max(latentW, 1)]; // what `shape` holds
  const latents = g.input('args_0', 'FLOAT32', [-1, u.in_channels, latentH, latentW], latentsDefault); // [B, 4, h, w]
  const context = g.input('args_1', 'FLOAT32', [-1, contextTokens, u.context_dim], [2, contextTokens, u.context_dim]); // [B, 77, D]
  const time = g.input('args_2', 'FLOAT32', [-1, u.model_channels]); // [1, mc]

  let emb = nn.linear(time, `${P}time_embed.0`); // [1, 4mc]
  emb = nn.linear(nn.silu(emb), `${P}time_embed.2`); // [1, 4mc]
  const embSilu = nn.silu(emb); // emb_layers.0 of every ResBlock

  const resBlock = (x: Tensor, name: string, outC: number): Tensor => {
    let h = nn.conv2d(nn.silu(nn.groupNorm(x, `${name}.in_layers.0`, RES_NORM_EPS)), `${name}.in_layers.2`); // [B, H, W, out]
    const e = nn.linear(embSilu, `${name}.emb_layers.1`); // [1, out]
    h = g.add(h, g.reshape(e, [-1, 1, 1, outC])); // [B, H, W, out]
    h = nn.conv2d(nn.silu(nn.groupNorm(h, `${name}.out_layers.0`, RES_NORM_EPS)), `${name}.out_layers.3`);
    const skip = x.shape[3] === outC ? x : nn.conv2d(x, `${name}.skip_connection`); // [B, H, W, out]
    return g.add(skip, h);
  };

  const spatialTransformer = (x: Tensor, name: string): Tensor => {
    const [, hh, ww, c] = x.shape as [number, number, number, number];
    let h = nn.groupNorm(x, `${name}.norm`, TRANSFORMER_NORM_EPS); // [B, H, W, C]
    h = nn.conv2d(h, `${name}.proj_in`); // [B, H, W, C]
    let t = g.reshapeKeepingBatch(h, [hh === -1 || ww === -1 ? -1 : hh * ww, c]); // [B, HW, C]
    for (let d = 0; d < u.transformer_depth; d++) {
      const blk = `${name}.transformer_blocks.${d}`;
      const attn = (which: string) => ({ q: `${blk}.${which}.to_q`, k: `${blk}.${which}.to_k`, v: `${blk}.${which}.to_v`, out: `${blk}.${which}.to_out.0` });
      const n1 = nn.layerNorm(t, `${blk}.norm1`, LAYER_NORM_EPS);
      t = g.add(t, nn.multiHeadAttention(n1, n1, u.num_heads, attn('attn1'), { qkvBias: false })); // [B, HW, C]
      const n2 = nn.layerNorm(t, `${blk}.norm2`, LAYER_NORM_EPS);
      t = g.add(t, nn.multiHeadAttention(n2, context, u.num_heads, attn('attn2'), { qkvBias: false })); // [B, HW, C]
      // GEGLU: proj's output rows are [value | gate]; two linears on the row halves.
      const n3 = nn.layerNorm(t, `${blk}.norm3`, LAYER_NORM_EPS);
      const inner = 4 * c;
      const value = nn.linear(n3, `${blk}.ff.net.0.proj`, { rows: { start: 0, count: inner } }); // [B, HW, 4C]
      const gate = nn.linear(n3, `${blk}.ff.net.0.proj`, { rows: { start: inner, count: inner } }); // [B, HW, 4C]
      t = g.add(t, nn.linear(g.mul(value, g.gelu(gate)), `${blk}.ff.net.2`)); // [B, HW, C]
    }
    h = nn.conv2d(g.reshapeLike(t, x), `${name}.proj_out`); // [B, H, W, C]
    return g.add(h, x);
  };

  let h = nn.conv2d(g.nchwToNhwc(latents), `${P}input_blocks.0.0`); // [B, h, w, mc]
  const skips: Tensor[] = [h];
  let block = 1;
  let ds = 1;
  u.channel_mult.forEach((mult, level) => {
    for (let r = 0; r < u.num_res_blocks; r++) {
      const name = `${P}input_blocks.${block++}`;
      h = resBlock(h, `${name}.0`, u.model_channels * mult);
      if (u.attention_resolutions.includes(ds)) h = spatialTransformer(h, `${name}.1`);
      skips.push(h);
    }
    if (level !== u.channel_mult.length - 1) {
      // Downsample: 3x3 stride 2, padding 1 on every side.
      h = nn.conv2d(h, `${P}input_blocks.${block++}.0.op`, { stride: 2, pad: [1, 1, 1, 1] }); // [B, H/2, W/2, C]
      skips.push(h);
      ds *= 2;
    }
  });

  const c = h.shape[3]!;
  h = resBlock(h, `${P}middle_block.0`, c);
  h = spatialTransformer(h, `${P}middle_block.1`);
  h = resBlock(h, `${P}middle_block.2`, c);

  block = 0;
  [...u.channel_mult.entries()].reverse().forEach(([level, mult]) => {
    for (let i = 0; i <= u.num_res_blocks; i++) {
      const name = `${P}output_blocks.${block++}`;
      h = g.concat([h, skips.pop()!], 3); // [B, H, W, C + C_skip]
      h = resBlock(h, `${name}.0`, u.model_channels * mult);
      let next = 1;
      if (u.attention_resolutions.includes(ds)) h = spatialTransformer(h, `${name}.${next++}`);
      if (level !== 0 && i === u.num_res_blocks) {
        h = nn.conv2d(g.upsampleNearest2x(h), `${name}.${next}.conv`); // [B, 2H, 2W, C]
        ds /= 2;
      }
    }
  });

  h = nn.silu(nn.groupNorm(h, `${P}out.0`, RES_NORM_EPS));
  const out = g.nhwcToNchw(nn.conv2d(h, `${P}out.2`)); // [B, 4, h, w]
  g.markOutput(out, latentsDefault);
  g.model.addSignature('diffusion', { args_0: latents.id, args_1: context.id, args_2: time.id }, { output_0: out.id });
}
