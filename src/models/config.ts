import { readFileSync } from 'node:fs';
import { FormatError, UsageError } from '../errors.js';

/**
 * Architecture hyperparameters of a Stable Diffusion v1 model, with the field
 * names of the original configs (see DESIGN.md): the UNet's
 * `unet_config.params` of LDM's v1-inference.yaml, the VAE's `embed_dim` and
 * `ddconfig`, and Hugging Face's CLIPTextConfig for the text encoder.
 */
export interface UNetConfig {
  in_channels: number;
  out_channels: number;
  model_channels: number;
  /** Downsampling factors (1, 2, 4, ...) at which a SpatialTransformer follows each ResBlock. */
  attention_resolutions: number[];
  num_res_blocks: number;
  channel_mult: number[];
  num_heads: number;
  transformer_depth: number;
  context_dim: number;
}

export interface VaeDdConfig {
  double_z: boolean;
  z_channels: number;
  resolution: number;
  in_channels: number;
  out_ch: number;
  ch: number;
  ch_mult: number[];
  num_res_blocks: number;
  /** Feature-map sizes (for an input of `resolution` pixels) that get an AttnBlock. */
  attn_resolutions: number[];
}

export interface VaeConfig {
  embed_dim: number;
  ddconfig: VaeDdConfig;
}

export type TextHiddenAct = 'quick_gelu' | 'gelu';

export interface TextEncoderConfig {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  max_position_embeddings: number;
  hidden_act: TextHiddenAct;
  layer_norm_eps: number;
}

export interface ModelConfig {
  unet: UNetConfig;
  vae: VaeConfig;
  text_encoder: TextEncoderConfig;
  /** Latent scaling: latents = scale_factor · VAE sample. */
  scale_factor: number;
}

/** GroupNorm group count used by every norm in the UNet and the VAE. */
export const GROUP_NORM_GROUPS = 32;

/** Stable Diffusion v1.5: LDM v1-inference.yaml and CLIP ViT-L/14's text config. */
export const SD15_CONFIG: ModelConfig = deepFreeze({
  unet: {
    in_channels: 4,
    out_channels: 4,
    model_channels: 320,
    attention_resolutions: [4, 2, 1],
    num_res_blocks: 2,
    channel_mult: [1, 2, 4, 4],
    num_heads: 8,
    transformer_depth: 1,
    context_dim: 768,
  },
  vae: {
    embed_dim: 4,
    ddconfig: {
      double_z: true,
      z_channels: 4,
      resolution: 256,
      in_channels: 3,
      out_ch: 3,
      ch: 128,
      ch_mult: [1, 2, 4, 4],
      num_res_blocks: 2,
      attn_resolutions: [],
    },
  },
  text_encoder: {
    vocab_size: 49408,
    hidden_size: 768,
    intermediate_size: 3072,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    max_position_embeddings: 77,
    hidden_act: 'quick_gelu',
    layer_norm_eps: 1e-5,
  },
  scale_factor: 0.18215,
});

/**
 * 'sd15' gives the built-in SD v1.5 config; anything else is the path of a
 * model-config JSON file. Missing fields take SD v1.5's values; unknown
 * fields, wrong types and impossible architectures are FormatErrors naming
 * the field path (e.g. `unet.model_channels`).
 */
export function loadModelConfig(nameOrPath: string): ModelConfig {
  if (nameOrPath === 'sd15') return cloneConfig(SD15_CONFIG);
  let text: string;
  try {
    text = readFileSync(nameOrPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`model config '${nameOrPath}' is neither 'sd15' nor a readable JSON file (${code ?? String(err)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FormatError(nameOrPath, `invalid JSON: ${(err as Error).message}`);
  }
  return parseModelConfig(json, nameOrPath);
}

/** Validates a parsed model-config object; `source` names it in error messages. */
export function parseModelConfig(json: unknown, source: string): ModelConfig {
  const fail = (detail: string): never => {
    throw new FormatError(source, detail);
  };
  const config = mergeOverDefaults(SD15_CONFIG, json, '', fail) as ModelConfig;
  checkArchitecture(config, fail);
  return config;
}

/** Deep copy, so callers may mutate their config without touching SD15_CONFIG. */
export function cloneConfig(config: ModelConfig): ModelConfig {
  return JSON.parse(JSON.stringify(config)) as ModelConfig;
}

type Fail = (detail: string) => never;

/**
 * Walks `value` alongside the default: objects must have only the default's
 * keys, leaves must have the default's type (numbers, booleans, strings,
 * arrays of numbers). Missing keys take the default.
 */
function mergeOverDefaults(def: unknown, value: unknown, path: string, fail: Fail): unknown {
  const where = path === '' ? 'the top level' : path;
  if (Array.isArray(def)) {
    if (!Array.isArray(value)) fail(`${where}: expected an array of numbers, got ${describe(value)}`);
    const arr = value as unknown[];
    arr.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${where}[${i}]: expected a number, got ${describe(v)}`);
    });
    return [...(arr as number[])];
  }
  if (def !== null && typeof def === 'object') {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      fail(`${where}: expected an object, got ${describe(value)}`);
    }
    const obj = value as Record<string, unknown>;
    const defObj = def as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (!Object.hasOwn(defObj, key)) {
        fail(`${join(path, key)}: unknown field (expected one of: ${Object.keys(defObj).join(', ')})`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const [key, defValue] of Object.entries(defObj)) {
      out[key] = Object.hasOwn(obj, key)
        ? mergeOverDefaults(defValue, obj[key], join(path, key), fail)
        : structuredClone(defValue);
    }
    return out;
  }
  if (typeof def === 'number') {
    if (typeof value !== 'number' || !Number.isFinite(value)) fail(`${where}: expected a number, got ${describe(value)}`);
    return value;
  }
  if (typeof value !== typeof def) fail(`${where}: expected a ${typeof def}, got ${describe(value)}`);
  return value;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** Rejects values the original code could not build (or that our graphs cannot run). */
function checkArchitecture(c: ModelConfig, fail: Fail): void {
  const positiveInt = (path: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) fail(`${path}: expected a positive integer, got ${v}`);
  };
  const positiveIntList = (path: string, list: number[], allowEmpty: boolean) => {
    if (!allowEmpty && list.length === 0) fail(`${path}: must not be empty`);
    list.forEach((v, i) => positiveInt(`${path}[${i}]`, v));
  };
  const groupable = (path: string, channels: number) => {
    if (channels % GROUP_NORM_GROUPS !== 0) {
      fail(`${path}: gives ${channels} channels, not a multiple of the ${GROUP_NORM_GROUPS} GroupNorm groups`);
    }
  };

  const u = c.unet;
  for (const key of ['in_channels', 'out_channels', 'model_channels', 'num_res_blocks', 'num_heads', 'transformer_depth', 'context_dim'] as const) {
    positiveInt(`unet.${key}`, u[key]);
  }
  positiveIntList('unet.channel_mult', u.channel_mult, false);
  positiveIntList('unet.attention_resolutions', u.attention_resolutions, true);
  u.channel_mult.forEach((m, i) => {
    const ch = u.model_channels * m;
    groupable(`unet.model_channels × unet.channel_mult[${i}]`, ch);
    // Level i works at downsampling factor 2^i; the middle block (deepest level) always has attention.
    const hasAttention = u.attention_resolutions.includes(2 ** i) || i === u.channel_mult.length - 1;
    if (hasAttention && ch % u.num_heads !== 0) {
      fail(`unet.num_heads: ${u.num_heads} does not divide the ${ch} channels of level ${i}, which has attention`);
    }
  });

  const d = c.vae.ddconfig;
  positiveInt('vae.embed_dim', c.vae.embed_dim);
  for (const key of ['z_channels', 'resolution', 'in_channels', 'out_ch', 'ch', 'num_res_blocks'] as const) {
    positiveInt(`vae.ddconfig.${key}`, d[key]);
  }
  // AutoencoderKL asserts double_z: the encoder emits mean and log-variance.
  if (!d.double_z) fail('vae.ddconfig.double_z: must be true (AutoencoderKL needs mean and log-variance)');
  positiveIntList('vae.ddconfig.ch_mult', d.ch_mult, false);
  positiveIntList('vae.ddconfig.attn_resolutions', d.attn_resolutions, true);
  d.ch_mult.forEach((m, i) => groupable(`vae.ddconfig.ch × vae.ddconfig.ch_mult[${i}]`, d.ch * m));

  const t = c.text_encoder;
  for (const key of ['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'max_position_embeddings'] as const) {
    positiveInt(`text_encoder.${key}`, t[key]);
  }
  if (t.hidden_size % t.num_attention_heads !== 0) {
    fail(`text_encoder.num_attention_heads: ${t.num_attention_heads} does not divide hidden_size ${t.hidden_size}`);
  }
  if (t.hidden_act !== 'quick_gelu' && t.hidden_act !== 'gelu') {
    fail(`text_encoder.hidden_act: expected "quick_gelu" or "gelu", got ${describe(t.hidden_act)}`);
  }
  if (!(t.layer_norm_eps > 0)) fail(`text_encoder.layer_norm_eps: expected a positive number, got ${t.layer_norm_eps}`);
  // The pipeline feeds CLIP's output to cross-attention and VAE latents to the UNet.
  if (u.context_dim !== t.hidden_size) {
    fail(`unet.context_dim: ${u.context_dim} must equal text_encoder.hidden_size ${t.hidden_size}`);
  }
  if (u.in_channels !== c.vae.embed_dim || u.out_channels !== c.vae.embed_dim) {
    fail(`unet.in_channels/out_channels: ${u.in_channels}/${u.out_channels} must equal vae.embed_dim ${c.vae.embed_dim}`);
  }
  if (!(c.scale_factor > 0)) fail(`scale_factor: expected a positive number, got ${c.scale_factor}`);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
