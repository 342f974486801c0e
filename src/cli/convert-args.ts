import { UsageError } from '../errors.js';
import { COMPONENTS, type ComponentName } from '../models/checkpoint/component-weights.js';
import { loadModelConfig, type ModelConfig } from '../models/config.js';
import { sizeMultiple, type ConvertOptions } from '../models/convert.js';
import { TARGETS, type Target } from '../models/graph/nn.js';
import { PRECISIONS, type Precision } from '../models/graph/weights.js';
import { oneOf, parseFlags } from './parse-flags.js';

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
                       them the spatial dimensions are dynamic`;

export interface ConvertArgs {
  ckpt: string;
  out: string;
  components: ComponentName[];
  options: ConvertOptions;
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
  return { ckpt: values.ckpt, out: values.out, components: components as ComponentName[], options: { config, precision, target, height, width } };
}
