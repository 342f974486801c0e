import { UsageError } from '../errors.js';
import { COMPONENTS, type ComponentName } from '../models/checkpoint/component-weights.js';
import { loadModelConfig, type ModelConfig } from '../models/config.js';
import { sizeMultiple, type ConvertOptions } from '../models/convert.js';
import { TARGETS, type Target } from '../models/graph/nn.js';
import { PRECISIONS, type Precision } from '../models/graph/weights.js';
import type { LoraSpec } from '../models/lora/lora-merge.js';
import { existingFile, oneOf, parseFlags, wholeNumber } from './parse-flags.js';

export const CONVERT_USAGE = `usage: npm run convert -- --ckpt PATH --out DIR [options]

Converts a Stable Diffusion v1 checkpoint into clip.tflite, diffusion.tflite,
decoder.tflite and encoder.tflite (signatures encode, diffusion, decode and
encode, as the reference ai-edge-torch conversion names them).

  --ckpt PATH          original-LDM .safetensors file (v1-5-pruned-emaonly.safetensors)
                       or a diffusers folder (text_encoder/, unet/, vae/)
  --out DIR            output folder (created if missing); each file is written
                       under a temporary name and renamed when complete
  --precision P        fp32 (default), fp16 (FLOAT16 weights + DEQUANTIZE) or
                       int8 (weight-only, symmetric, per output channel)
  --model-config C     sd15 (default) or a model-config JSON file
  --components LIST    comma-separated subset of clip,diffusion,decoder,encoder (default: all)
  --target T           cpu (default: builtin ops only) or gpu (odml.group_norm and
                       odml.scaled_dot_product_attention composites; needs --height/--width)
  --height H --width W image size in pixels (multiples of 64 for SD v1.5); without
                       them the spatial dimensions are dynamic
  --lora FILE[:M]      merge a LoRA .safetensors into the UNet and text encoder
                       weights before they are written (so every --precision
                       carries it), with multiplier M (default 1; negative and
                       0 allowed); repeat the flag to merge several. Formats:
                       kohya-ss/sd-scripts (lora_unet_*/lora_te_*: lora_down,
                       lora_up, alpha; LoCon conv layers too) and diffusers/PEFT
                       (unet.*/text_encoder.* lora_A/lora_B). LoHa, LoKr, DoRA,
                       and SDXL or SD 2.x LoRAs are refused with the reason
  --vae FILE           take the VAE (decoder and encoder) from this .safetensors
                       instead, e.g. vae-ft-mse-840000-ema-pruned.safetensors;
                       LDM (encoder.*, decoder.*, with or without first_stage_model.)
                       or diffusers AutoencoderKL names
  --clip-skip N        text encoder output from the layer N-1 before the last,
                       through the final layer norm, as SD tools' "CLIP skip"
                       (default 1: the last layer; 2 for models trained so)`;

export interface ConvertArgs {
  ckpt: string;
  out: string;
  components: ComponentName[];
  options: ConvertOptions;
  /** --lora files in order, with their multipliers. */
  loras: LoraSpec[];
  /** --vae: the file the VAE's tensors come from instead of the checkpoint. */
  vae: string | undefined;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * `FILE[:MULTIPLIER]`. The text after the last ':' is the multiplier when it
 * is a number; a path may itself hold ':' (`C:\lora.safetensors`), so only a
 * suffix after a `.safetensors` name must be a number.
 */
export function parseLoraArg(text: string): LoraSpec {
  const colon = text.lastIndexOf(':');
  const suffix = text.slice(colon + 1);
  let spec: LoraSpec = { path: text, multiplier: 1 };
  if (colon >= 0 && NUMBER.test(suffix)) {
    spec = { path: text.slice(0, colon), multiplier: Number(suffix) };
  } else if (colon > 0 && /\.safetensors$/i.test(text.slice(0, colon))) {
    throw new UsageError(`--lora ${text}: the multiplier after ':' must be a number (as in --lora style.safetensors:0.8), got ${JSON.stringify(suffix)}`);
  }
  if (spec.path === '') throw new UsageError(`--lora needs a file path, got ${JSON.stringify(text)}`);
  if (!Number.isFinite(spec.multiplier)) throw new UsageError(`--lora ${text}: the multiplier must be a finite number, got ${JSON.stringify(suffix)}`);
  return spec;
}

function imageSize(flag: string, value: string | undefined, config: ModelConfig): number | undefined {
  if (value === undefined) return undefined;
  const multiple = sizeMultiple(config);
  const n = /^\d{1,6}$/.test(value) ? Number(value) : NaN;
  if (!(n > 0) || n % multiple !== 0) throw new UsageError(`${flag} must be a positive multiple of ${multiple}, got ${JSON.stringify(value)}`);
  return n;
}

/** Parses and checks the command line; `undefined` when only --help was asked. */
export function parseConvertArgs(argv: string[]): ConvertArgs | undefined {
  const values = parseFlags(argv, {
    ckpt: { type: 'string' },
    out: { type: 'string' },
    precision: { type: 'string' },
    'model-config': { type: 'string' },
    components: { type: 'string' },
    target: { type: 'string' },
    height: { type: 'string' },
    width: { type: 'string' },
    lora: { type: 'string', multiple: true },
    vae: { type: 'string' },
    'clip-skip': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, CONVERT_USAGE);
  if (values.help) return undefined;
  if (!values.ckpt) throw new UsageError(`--ckpt PATH is required\n${CONVERT_USAGE}`);
  if (!values.out) throw new UsageError(`--out DIR is required\n${CONVERT_USAGE}`);
  const precision: Precision = oneOf('--precision', values.precision ?? 'fp32', PRECISIONS);
  const target: Target = oneOf('--target', values.target ?? 'cpu', TARGETS);
  const components = values.components === undefined ? [...COMPONENTS] : values.components.split(',').map((c) => c.trim());
  for (const c of components) {
    if (!COMPONENTS.includes(c as ComponentName)) throw new UsageError(`--components: unknown component ${JSON.stringify(c)} (known: ${COMPONENTS.join(', ')})`);
  }
  if (components.length === 0 || new Set(components).size !== components.length) throw new UsageError(`--components must name each component at most once`);
  const config = loadModelConfig(values['model-config'] ?? 'sd15');
  const height = imageSize('--height', values.height, config);
  const width = imageSize('--width', values.width, config);
  if ((height === undefined) !== (width === undefined)) throw new UsageError('--height and --width go together');
  if (target === 'gpu' && height === undefined && components.some((c) => c !== 'clip')) {
    throw new UsageError('--target gpu needs --height and --width (its attention composites take static sizes)');
  }
  const loras = (values.lora ?? []).map(parseLoraArg);
  const vae = values.vae === undefined ? undefined : existingFile('--vae', values.vae);
  const layers = config.text_encoder.num_hidden_layers;
  const clipSkip = values['clip-skip'] === undefined ? 1 : wholeNumber('--clip-skip', values['clip-skip'], 1, layers);
  const options = { config, precision, target, height, width, clipSkip };
  return { ckpt: values.ckpt, out: values.out, components: components as ComponentName[], options, loras, vae };
}
