/**
 * Where the tensor that the original LDM layout calls `ldmName` lives in a
 * diffusers folder (UNet2DConditionModel, AutoencoderKL, CLIPTextModel):
 * the folder part and candidate keys, first match wins (older diffusers
 * releases named the VAE attention projections query/key/value/proj_attn).
 *
 * Block numbering: LDM's input_blocks run 0 (conv_in), then per level
 * num_res_blocks ResBlocks (+ SpatialTransformers) and a Downsample;
 * diffusers groups them as down_blocks[level].resnets/attentions/
 * downsamplers. output_blocks hold num_res_blocks + 1 ResBlocks per level,
 * deepest level first, as up_blocks do. The VAE decoder's up[i] is
 * diffusers' up_blocks[levels - 1 - i].
 */
import type { ModelConfig } from '../config.js';
import { TEXT_ENCODER_PREFIX, UNET_PREFIX, VAE_PREFIX } from '../ldm-layout/index.js';

export type DiffusersPart = 'unet' | 'vae' | 'text_encoder';

export interface DiffusersLocation {
  part: DiffusersPart;
  keys: string[];
}

const RES_BLOCK: Record<string, string> = {
  'in_layers.0': 'norm1',
  'in_layers.2': 'conv1',
  'emb_layers.1': 'time_emb_proj',
  'out_layers.0': 'norm2',
  'out_layers.3': 'conv2',
  skip_connection: 'conv_shortcut',
};

const VAE_ATTENTION: Record<string, string[]> = {
  norm: ['group_norm'],
  q: ['to_q', 'query'],
  k: ['to_k', 'key'],
  v: ['to_v', 'value'],
  proj_out: ['to_out.0', 'proj_attn'],
};

/** `module.param` → [module, param] (param: weight or bias). */
function splitParam(rest: string): [string, string] {
  const dot = rest.lastIndexOf('.');
  return [rest.slice(0, dot), rest.slice(dot + 1)];
}

function resBlock(rest: string): string {
  const [module, param] = splitParam(rest);
  return `${RES_BLOCK[module] ?? module}.${param}`;
}

function unetKey(name: string, config: ModelConfig): string | undefined {
  const perLevel = config.unet.num_res_blocks + 1;
  let m: RegExpMatchArray | null;
  if ((m = name.match(/^time_embed\.(0|2)\.(weight|bias)$/))) return `time_embedding.linear_${m[1] === '0' ? 1 : 2}.${m[2]}`;
  if ((m = name.match(/^input_blocks\.0\.0\.(weight|bias)$/))) return `conv_in.${m[1]}`;
  if ((m = name.match(/^out\.(0|2)\.(weight|bias)$/))) return `${m[1] === '0' ? 'conv_norm_out' : 'conv_out'}.${m[2]}`;
  if ((m = name.match(/^input_blocks\.(\d+)\.(\d+)\.(.+)$/))) {
    const n = Number(m[1]) - 1;
    const level = Math.floor(n / perLevel);
    const j = n % perLevel;
    if (j === perLevel - 1) return m[3]!.startsWith('op.') ? `down_blocks.${level}.downsamplers.0.conv.${m[3]!.slice(3)}` : undefined;
    return m[2] === '0' ? `down_blocks.${level}.resnets.${j}.${resBlock(m[3]!)}` : `down_blocks.${level}.attentions.${j}.${m[3]}`;
  }
  if ((m = name.match(/^middle_block\.(\d)\.(.+)$/))) {
    if (m[1] === '1') return `mid_block.attentions.0.${m[2]}`;
    return `mid_block.resnets.${m[1] === '0' ? 0 : 1}.${resBlock(m[2]!)}`;
  }
  if ((m = name.match(/^output_blocks\.(\d+)\.(\d+)\.(.+)$/))) {
    const n = Number(m[1]);
    const up = Math.floor(n / perLevel);
    const j = n % perLevel;
    if (m[2] === '0') return `up_blocks.${up}.resnets.${j}.${resBlock(m[3]!)}`;
    if (m[3]!.startsWith('conv.')) return `up_blocks.${up}.upsamplers.0.${m[3]}`;
    return `up_blocks.${up}.attentions.${j}.${m[3]}`;
  }
  return undefined;
}

function vaeKeys(name: string, config: ModelConfig): string[] | undefined {
  const levels = config.vae.ddconfig.ch_mult.length;
  const resnet = (rest: string) => rest.replace(/^nin_shortcut\./, 'conv_shortcut.');
  const attention = (prefix: string, rest: string) => {
    const [module, param] = splitParam(rest);
    return (VAE_ATTENTION[module] ?? [module]).map((k) => `${prefix}.${k}.${param}`);
  };
  let m: RegExpMatchArray | null;
  if ((m = name.match(/^(encoder|decoder)\.(conv_in|conv_out)\.(.+)$/))) return [name];
  if ((m = name.match(/^(encoder|decoder)\.norm_out\.(.+)$/))) return [`${m[1]}.conv_norm_out.${m[2]}`];
  if ((m = name.match(/^(quant_conv|post_quant_conv)\.(.+)$/))) return [name];
  if ((m = name.match(/^(encoder|decoder)\.mid\.block_(1|2)\.(.+)$/))) return [`${m[1]}.mid_block.resnets.${Number(m[2]) - 1}.${resnet(m[3]!)}`];
  if ((m = name.match(/^(encoder|decoder)\.mid\.attn_1\.(.+)$/))) return attention(`${m[1]}.mid_block.attentions.0`, m[2]!);
  if ((m = name.match(/^encoder\.down\.(\d+)\.(block|attn)\.(\d+)\.(.+)$/))) {
    const prefix = `encoder.down_blocks.${m[1]}`;
    return m[2] === 'block' ? [`${prefix}.resnets.${m[3]}.${resnet(m[4]!)}`] : attention(`${prefix}.attentions.${m[3]}`, m[4]!);
  }
  if ((m = name.match(/^encoder\.down\.(\d+)\.downsample\.conv\.(.+)$/))) return [`encoder.down_blocks.${m[1]}.downsamplers.0.conv.${m[2]}`];
  if ((m = name.match(/^decoder\.up\.(\d+)\.(block|attn)\.(\d+)\.(.+)$/))) {
    const prefix = `decoder.up_blocks.${levels - 1 - Number(m[1])}`;
    return m[2] === 'block' ? [`${prefix}.resnets.${m[3]}.${resnet(m[4]!)}`] : attention(`${prefix}.attentions.${m[3]}`, m[4]!);
  }
  if ((m = name.match(/^decoder\.up\.(\d+)\.upsample\.conv\.(.+)$/))) return [`decoder.up_blocks.${levels - 1 - Number(m[1])}.upsamplers.0.conv.${m[2]}`];
  return undefined;
}

/** The diffusers location of an LDM tensor name, or undefined for names diffusers does not store. */
export function diffusersLocation(ldmName: string, config: ModelConfig): DiffusersLocation | undefined {
  if (ldmName.startsWith(UNET_PREFIX)) {
    const key = unetKey(ldmName.slice(UNET_PREFIX.length), config);
    return key === undefined ? undefined : { part: 'unet', keys: [key] };
  }
  if (ldmName.startsWith(VAE_PREFIX)) {
    const keys = vaeKeys(ldmName.slice(VAE_PREFIX.length), config);
    return keys === undefined ? undefined : { part: 'vae', keys };
  }
  if (ldmName.startsWith(TEXT_ENCODER_PREFIX)) return { part: 'text_encoder', keys: [`text_model.${ldmName.slice(TEXT_ENCODER_PREFIX.length)}`] };
  return undefined;
}
