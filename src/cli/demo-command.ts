/**
 * `npm run demo`: the whole chain on a fresh machine, with no download —
 * a tiny checkpoint of RANDOM weights (SD v1.5's architecture, scaled
 * down), converted to the four .tflite files by our converter, then one
 * image generated from them. demo.ts is the entry point.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { openCheckpoint } from '../models/checkpoint/checkpoint.js';
import { COMPONENTS } from '../models/checkpoint/component-weights.js';
import { parseModelConfig } from '../models/config.js';
import { checkComponents, writeComponent } from '../models/convert.js';
import { writeRandomCheckpoint } from '../models/random-checkpoint.js';
import { parseGenerateArgs, runGenerate } from './generate-command.js';
import { outputFolder, parseFlags } from './parse-flags.js';
import { formatBytes } from './progress.js';

export const DEMO_USAGE = `usage: npm run demo [-- --out DIR] [--prompt TEXT] [--steps N] [--size N] [--seed N] [--tokenizer DIR]

Makes a tiny checkpoint of RANDOM weights, converts it to .tflite and
generates an image, with no download, in well under a minute. The weights
are random, so the image is noise-like: this shows the machinery works, not
what Stable Diffusion draws. For real images use the SD v1.5 weights (see
README).

  --out DIR        where the checkpoint, models and image go (default sd-tflite-demo)
  --prompt TEXT    default "a photograph of an astronaut riding a horse"
  --steps N        default 20
  --size N         image width and height in pixels, a multiple of 64 (default 128)
  --seed N         default 42
  --tokenizer DIR  vocab.json + merges.txt (default: the real CLIP vocabulary
                   bundled with sd-tflite, assets/clip-tokenizer)`;

/**
 * SD v1.5's architecture at a tiny width (the tiny-a test model's config):
 * 32 UNet/VAE channels, a 2-layer 32-wide text encoder, the real vocabulary.
 */
const DEMO_CONFIG = {
  unet: { in_channels: 4, out_channels: 4, model_channels: 32, attention_resolutions: [4, 2, 1], num_res_blocks: 2, channel_mult: [1, 1, 2, 2], num_heads: 2, transformer_depth: 1, context_dim: 32 },
  vae: { embed_dim: 4, ddconfig: { double_z: true, z_channels: 4, resolution: 256, in_channels: 3, out_ch: 3, ch: 32, ch_mult: [1, 1, 2, 2], num_res_blocks: 2, attn_resolutions: [] } },
  text_encoder: { vocab_size: 49408, hidden_size: 32, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 2, max_position_embeddings: 77, hidden_act: 'quick_gelu', layer_norm_eps: 1e-5 },
  scale_factor: 0.18215,
};

export interface DemoArgs {
  out: string;
  prompt: string;
  steps: number;
  size: number;
  seed: number;
  /** Tokenizer folder; undefined: the bundled CLIP vocabulary. */
  tokenizer: string | undefined;
}

export function parseDemoArgs(argv: string[]): DemoArgs | undefined {
  const values = parseFlags(argv, {
    out: { type: 'string' },
    prompt: { type: 'string' },
    steps: { type: 'string' },
    size: { type: 'string' },
    seed: { type: 'string' },
    tokenizer: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, DEMO_USAGE);
  if (values.help) return undefined;
  const int = (flag: string, text: string | undefined, fallback: number) => {
    if (text === undefined) return fallback;
    if (!/^\d{1,10}$/.test(text)) throw new UsageError(`--${flag} must be a whole number, got ${JSON.stringify(text)}`);
    return Number(text);
  };
  const size = int('size', values.size, 128);
  if (size < 64 || size % 64 !== 0 || size > 1024) throw new UsageError(`--size must be a multiple of 64 from 64 to 1024, got ${size}`);
  return {
    out: values.out ?? 'sd-tflite-demo',
    prompt: values.prompt ?? 'a photograph of an astronaut riding a horse',
    steps: int('steps', values.steps, 20),
    size,
    seed: int('seed', values.seed, 42),
    tokenizer: values.tokenizer,
  };
}

export async function runDemo(args: DemoArgs, stderr: NodeJS.WriteStream = process.stderr, stdout: NodeJS.WritableStream = process.stdout): Promise<string> {
  const out = resolve(args.out);
  if (existsSync(out) && !statSync(out).isDirectory()) throw new UsageError(`--out ${args.out} exists and is not a folder`);
  outputFolder('--out', join(out, 'models'));
  const image = join(out, 'demo.png');
  // Check the generation options before the (short) setup work.
  const generateArgv = [
    '--models', join(out, 'models'), '--prompt', args.prompt,
    '--steps', String(args.steps), '--seed', String(args.seed), '--width', String(args.size), '--height', String(args.size),
    '--output', image,
    ...(args.tokenizer === undefined ? [] : ['--tokenizer', args.tokenizer]),
  ];
  const generate = parseGenerateArgs(generateArgv)!;

  stdout.write(
    'sd-tflite demo: the weights are RANDOM (nothing is downloaded), so the image will be noise-like.\n' +
      'It shows the whole chain working: checkpoint -> .tflite files -> our interpreter -> PNG.\n\n',
  );
  const started = performance.now();
  const config = parseModelConfig(DEMO_CONFIG, 'the demo config');
  const ckptPath = join(out, 'random-tiny.safetensors');
  const made = writeRandomCheckpoint(ckptPath, config, { seed: args.seed, precision: 'fp32' });
  stdout.write(`1/3 random checkpoint: ${ckptPath} (${made.tensorsTotal} tensors, ${formatBytes(made.bytesTotal)}, SD v1.5 key layout)\n`);

  // Pinned to the demo's size: one fixed-shape conversion is all the demo needs.
  const checkpoint = openCheckpoint(ckptPath, config);
  try {
    const weights = checkComponents(checkpoint, COMPONENTS, config);
    for (const component of COMPONENTS) {
      writeComponent(component, weights.get(component)!, join(out, 'models', `${component}.tflite`), {
        config,
        precision: 'fp32',
        target: 'cpu',
        height: args.size,
        width: args.size,
      });
    }
  } finally {
    checkpoint.close();
  }
  stdout.write(`2/3 converted: ${COMPONENTS.map((c) => `${c}.tflite`).join(', ')} in ${join(out, 'models')}\n`);
  stdout.write(`3/3 generating ${args.size}x${args.size}, ${args.steps} steps:\n`);
  await runGenerate(generate, stderr, stdout);
  const seconds = (performance.now() - started) / 1000;
  stdout.write(
    `\ndone in ${seconds.toFixed(1)} s: ${image}\n` +
      'Again: RANDOM weights, so a noise-like image is the expected result.\n' +
      'For real images, convert the SD v1.5 weights (v1-5-pruned-emaonly.safetensors) and point\n' +
      '`npm run generate` at them: see README.md.\n',
  );
  return image;
}
