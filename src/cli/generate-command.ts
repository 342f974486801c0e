/**
 * `npm run generate`: argument parsing and the run itself (generate.ts is
 * the entry point), shared with `npm run demo`.
 */
import { randomInt } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { UsageError } from '../errors.js';
import { writeAll, writeFileAtomically } from '../io/fd-io.js';
import { encodeNpy } from '../io/npy.js';
import { AbortError } from '../pipeline/abort.js';
import { cliFlagName, DEFAULTS, MAX_SEED, resolveOptions, type GenerateOptions } from '../pipeline/generation-options.js';
import { generationText } from '../pipeline/generation-parameters.js';
import type { EmphasisMode } from '../pipeline/tokenizer/prompt-weights.js';
import { readImage } from '../pipeline/image/decode.js';
import { encodeJpeg, encodePng } from '../pipeline/image/encode.js';
import { SAMPLER_NAMES } from '../pipeline/samplers/index.js';
import { StableDiffusion, type GenerateResult } from '../pipeline/stable-diffusion.js';
import { type TokenizerMode } from '../pipeline/tokenizer/clip-tokenizer.js';
import { existingFolder, outputFile, parseFlags } from './parse-flags.js';
import { formatDuration, ProgressBar } from './progress.js';

export const GENERATE_USAGE = `usage: npm run generate -- --models DIR --prompt TEXT --output out.png|out.jpg [options]

Text-to-image (or image-to-image with --init-image) with the .tflite files
that npm run convert writes. The same options and --seed give the same image.

  --models DIR            folder with clip.tflite, diffusion.tflite, decoder.tflite
                          (and encoder.tflite for --init-image)
  --tokenizer DIR         folder with vocab.json and merges.txt (default: the CLIP
                          vocabulary bundled with sd-tflite, the same as SD v1.5's)
  --prompt TEXT           what to draw
  --negative-prompt TEXT  what to steer away from (default: empty; ignored when --cfg <= 1)
  --steps N               denoising steps (default ${DEFAULTS.steps})
  --sampler NAME          ${SAMPLER_NAMES.join(' | ')}
                          (default ${DEFAULTS.sampler}); lcm: for models converted with LCM-LoRA
                          (convert --lora), 4-8 steps (at most 50), --cfg 1-2
  --cfg X                 classifier-free guidance scale (default ${DEFAULTS.cfg}); <= 1 turns
                          guidance off (as diffusers): one text encoding, one UNet pass per step
  --seed N                0 to 4294967295; noise as numpy's legacy np.random.seed(N)
                          (default: a random seed, printed)
  --batch-count N         make N images, with seeds seed, seed+1, ... (default 1),
                          the models loaded once; out.png becomes out-<seed>.png
  --width N --height N    image size in pixels, multiples of 64 (default ${DEFAULTS.width}x${DEFAULTS.height})
  --init-image FILE       PNG or JPEG to start from (img2img), resized to the size
  --strength X            img2img: share of the schedule to run, in (0, 1] (default ${DEFAULTS.strength})
  --tokenizer-mode M      hf (default: as SD v1.5 was trained) or seed (the reference
                          pipeline's tokenizer, exactly)
  --emphasis M            off (default): brackets in prompts are text; a1111: (word),
                          [word], (word:1.3) weight words as AUTOMATIC1111's web UI does
  --threads N             kernel threads (default: the number of cores); the image
                          does not depend on it
  --int8-compute          int8 models: FULLY_CONNECTED and 1x1 convs as hybrid int8 kernels
                          (activations quantized per row, integer dot products);
                          faster, image within about 2e-3 of the default
  --output FILE           .png (generation parameters in text chunks) or .jpg/.jpeg
  --quality N             JPEG quality 1-100 (default 90)
  --save-latents FILE     also write the final latents as a .npy file

Ctrl-C stops at the end of the current step: images already finished stay,
no partial file is left, exit code 130.`;

export interface GenerateArgs {
  models: string;
  /** Tokenizer folder; undefined: the bundled CLIP vocabulary. */
  tokenizer: string | undefined;
  threads: number;
  /** Run int8 FULLY_CONNECTED and 1x1 CONV_2D weights as hybrid int8 kernels. */
  int8Compute: boolean;
  output: string;
  format: 'png' | 'jpeg';
  quality: number;
  saveLatents: string | undefined;
  initImage: string | undefined;
  /** Checked options (seed filled in: given or random; the first image's with --batch-count). */
  options: GenerateOptions & { seed: number };
  seedWasRandom: boolean;
  /** Images to make, with seeds options.seed, options.seed + 1, ... */
  batchCount: number;
}

/** How runGenerate ended: every image written, or stopped by its signal (Ctrl-C). */
export type GenerateOutcome = 'finished' | 'interrupted';

const DEFAULT_QUALITY = 90;

function integer(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,12}$/.test(text)) throw new UsageError(`--${flag} must be a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}

function decimal(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) throw new UsageError(`--${flag} must be a number, got ${JSON.stringify(text)}`);
  return Number(text);
}

function required(name: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError(`--${name} is required\n${GENERATE_USAGE}`);
  return value;
}

/** Parses and checks the command line (nothing is loaded yet); `undefined` when only --help was asked. */
export function parseGenerateArgs(argv: string[]): GenerateArgs | undefined {
  const values = parseFlags(argv, {
    models: { type: 'string' },
    tokenizer: { type: 'string' },
    prompt: { type: 'string' },
    'negative-prompt': { type: 'string' },
    steps: { type: 'string' },
    sampler: { type: 'string' },
    cfg: { type: 'string' },
    seed: { type: 'string' },
    'batch-count': { type: 'string' },
    width: { type: 'string' },
    height: { type: 'string' },
    'init-image': { type: 'string' },
    strength: { type: 'string' },
    'tokenizer-mode': { type: 'string' },
    emphasis: { type: 'string' },
    threads: { type: 'string' },
    'int8-compute': { type: 'boolean' },
    output: { type: 'string' },
    quality: { type: 'string' },
    'save-latents': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, GENERATE_USAGE);
  if (values.help) return undefined;
  const models = required('models', values.models);
  const prompt = values.prompt;
  if (prompt === undefined) throw new UsageError(`--prompt is required\n${GENERATE_USAGE}`);
  const output = required('output', values.output);

  const ext = extname(output).toLowerCase();
  const format = ext === '.png' ? 'png' : ext === '.jpg' || ext === '.jpeg' ? 'jpeg' : undefined;
  if (!format) throw new UsageError(`--output must end in .png, .jpg or .jpeg, got ${JSON.stringify(output)}`);
  const quality = integer('quality', values.quality);
  if (quality !== undefined && format !== 'jpeg') throw new UsageError('--quality applies to JPEG output (.jpg/.jpeg) only');
  if (quality !== undefined && !(quality >= 1 && quality <= 100)) throw new UsageError(`--quality must be from 1 to 100, got ${quality}`);
  const saveLatents = values['save-latents'];
  if (saveLatents !== undefined && extname(saveLatents).toLowerCase() !== '.npy') {
    throw new UsageError(`--save-latents must name a .npy file, got ${JSON.stringify(saveLatents)}`);
  }
  outputFile('--output', output, { makeFolder: false });
  if (saveLatents !== undefined) outputFile('--save-latents', saveLatents, { makeFolder: false });

  const threads = integer('threads', values.threads) ?? availableParallelism();
  if (threads < 1) throw new UsageError(`--threads must be at least 1, got ${threads}`);
  const strength = decimal('strength', values.strength);
  if (strength !== undefined && values['init-image'] === undefined) throw new UsageError('--strength needs --init-image');

  const batchCount = integer('batch-count', values['batch-count']) ?? 1;
  if (batchCount < 1 || batchCount - 1 > MAX_SEED) throw new UsageError(`--batch-count must be from 1 to ${MAX_SEED + 1}, got ${batchCount}`);
  const givenSeed = integer('seed', values.seed);
  // A random first seed is drawn once, so that every seed of the batch is in range.
  const seed = givenSeed ?? randomInt(0, MAX_SEED + 2 - batchCount);
  if (givenSeed !== undefined && givenSeed <= MAX_SEED && givenSeed + batchCount - 1 > MAX_SEED) {
    throw new UsageError(`--seed ${givenSeed} with --batch-count ${batchCount} runs past the largest seed, ${MAX_SEED}`);
  }
  const options = {
    prompt,
    negativePrompt: values['negative-prompt'],
    steps: integer('steps', values.steps),
    sampler: values.sampler,
    cfg: decimal('cfg', values.cfg),
    seed,
    width: integer('width', values.width),
    height: integer('height', values.height),
    strength,
    tokenizerMode: values['tokenizer-mode'] as TokenizerMode | undefined,
    emphasis: values.emphasis as EmphasisMode | undefined,
    // A placeholder path for the checks; the image itself is read in runGenerate.
    initImage: values['init-image'],
  };
  resolveOptions(options, cliFlagName); // every option checked before anything is loaded
  return {
    models,
    tokenizer: values.tokenizer,
    threads,
    int8Compute: values['int8-compute'] ?? false,
    output,
    format,
    quality: quality ?? DEFAULT_QUALITY,
    saveLatents,
    initImage: values['init-image'],
    options,
    seedWasRandom: givenSeed === undefined,
    batchCount,
  };
}

/**
 * Where the image (or latents) with `seed` goes: `path` itself for a single
 * image; in a batch, `out.png` becomes `out-<seed>.png`, so each name says how
 * to make that image alone (sd.cpp numbers them out.png, out_2.png, ...;
 * AUTOMATIC1111 puts the seed in the name, as here).
 */
export function batchFileName(path: string, seed: number, batchCount: number): string {
  if (batchCount === 1) return path;
  const ext = extname(path);
  return `${path.slice(0, path.length - ext.length)}-${seed}${ext}`;
}

function ms(milliseconds: number): string {
  return milliseconds >= 1000 ? `${(milliseconds / 1000).toFixed(2)} s` : `${milliseconds.toFixed(0)} ms`;
}

/** The per-stage timing summary printed at the end, summed over the images of a batch. */
export function timingSummary(results: GenerateResult[], loadMs: number, writeMs: number): string {
  const t = { prepare: 0, tokenize: 0, textEncoder: 0, imageEncoder: 0, denoise: 0, decode: 0 };
  for (const r of results) for (const stage of Object.keys(t) as (keyof typeof t)[]) t[stage] += r.timings[stage];
  const steps = results.reduce((sum, r) => sum + r.stepsRun, 0);
  const images = results.length;
  const rows: [string, string][] = [
    ['load models', ms(loadMs)],
    ['prepare', ms(t.prepare)],
    ['tokenize', ms(t.tokenize)],
    ['text encoder', ms(t.textEncoder)],
    ...(results[0]?.options.initImage !== undefined ? [['image encoder', ms(t.imageEncoder)] as [string, string]] : []),
    ['denoise', `${ms(t.denoise)} (${images > 1 ? `${images} images, ` : ''}${steps} steps, ${ms(t.denoise / steps)}/step)`],
    ['decode', ms(t.decode)],
    ['write', ms(writeMs)],
  ];
  const total = loadMs + writeMs + Object.values(t).reduce((a, b) => a + b, 0);
  rows.push(['total', `${ms(total)} (${formatDuration(total / 1000)})`]);
  if (images > 1) rows.push(['per image', ms((total - loadMs) / images)]);
  return `timings:\n${rows.map(([k, v]) => `  ${k.padEnd(14)}${v}`).join('\n')}\n`;
}

/** Writes one result (and its latents with --save-latents), each to a temporary name renamed at the end; returns the image's path. */
function writeResult(args: GenerateArgs, result: GenerateResult): string {
  const o = result.options;
  const parameters = generationText({ ...o, strength: o.initImage === undefined ? undefined : o.strength });
  if (args.int8Compute) parameters.int8_compute = 'true'; // the image differs slightly without it
  const image = args.format === 'png' ? encodePng(result.image, parameters) : encodeJpeg(result.image, args.quality);
  if (args.saveLatents !== undefined) {
    const npy = encodeNpy({ dtype: 'float32', shape: result.latentShape, data: result.latents });
    writeFileAtomically(batchFileName(args.saveLatents, result.seed, args.batchCount), (fd) => writeAll(fd, npy));
  }
  const output = batchFileName(args.output, result.seed, args.batchCount);
  writeFileAtomically(output, (fd) => writeAll(fd, image));
  return output;
}

/**
 * Loads the models once and makes `batchCount` images, writing each as soon
 * as it is done. When `signal` is aborted (generate.ts: Ctrl-C) it stops at
 * the next step boundary, says so in one line and returns 'interrupted':
 * images already written stay, the unfinished one leaves no file.
 */
export async function runGenerate(
  args: GenerateArgs,
  stderr: NodeJS.WriteStream = process.stderr,
  stdout: NodeJS.WritableStream = process.stdout,
  signal?: AbortSignal,
): Promise<GenerateOutcome> {
  // Read the init image first: a bad file should fail before the models load.
  const initImage = args.initImage === undefined ? undefined : readImage(args.initImage);
  existingFolder('--models', args.models);
  const { batchCount: count } = args;
  const first = args.options.seed;
  const seeds = count === 1 ? `seed ${first}` : `seeds ${first} to ${first + count - 1}`;
  stderr.write(`${seeds}${args.seedWasRandom ? ` (random; pass --seed ${first} to repeat)` : ''}\n`);

  const loadStarted = performance.now();
  const sd = await StableDiffusion.load({ models: args.models, tokenizer: args.tokenizer, threads: args.threads, int8Compute: args.int8Compute });
  const loadMs = performance.now() - loadStarted;
  const results: GenerateResult[] = [];
  let writeMs = 0;
  let bar: ProgressBar | undefined;
  try {
    for (let k = 0; k < count; k++) {
      const label = count === 1 ? 'denoise' : `image ${k + 1}/${count} denoise`;
      const result = await sd.generate({
        ...args.options,
        seed: first + k,
        initImage,
        signal,
        // The same prompts warn the same for every image: once is enough.
        onWarning: k === 0 ? (w) => stderr.write(`warning: ${w}\n`) : undefined,
        onProgress: (p) => {
          if (p.step === 0) bar = new ProgressBar({ label, total: p.totalSteps, unit: 'step', stream: stderr as NodeJS.WriteStream });
          else bar?.tick();
        },
      });
      const writeStarted = performance.now();
      const file = writeResult(args, result);
      writeMs += performance.now() - writeStarted;
      results.push(result);
      const o = result.options;
      stdout.write(`wrote ${file} (${o.width}x${o.height}, ${o.sampler}, ${o.steps} steps, cfg ${o.cfg}, seed ${result.seed})\n`);
    }
  } catch (err) {
    if (!(err instanceof AbortError)) throw err;
    bar?.endLine();
    const written = count === 1 ? 'no image written' : `${results.length} of ${count} images written`;
    stderr.write(`interrupted: stopped at a step boundary, ${written}\n`);
    return 'interrupted';
  } finally {
    await sd.close();
  }
  stderr.write(timingSummary(results, loadMs, writeMs));
  return 'finished';
}
