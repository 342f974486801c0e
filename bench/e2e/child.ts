/**
 * One precision of the e2e benchmark, in a process of its own so that its
 * peak RSS is its own: loads clip, diffusion and decoder .tflite from one
 * folder on one kernel runtime (as the pipeline does), then times the text
 * encoder, denoising steps (batch 2 at the latent size, i.e. with guidance)
 * and the decoder; optionally a whole image through the pipeline (--full).
 * Writes a JSON result (E2eResult) to --out; progress goes to stderr.
 *
 * The files are opened as the pipeline opens them (WasmModelLoader: one
 * shared activation region, streamed weights, the pipeline's resident-weight
 * budget, or --resident-mib) and all three are planned before any runs, as
 * the pipeline's prepareComponents does. The memory after each stage goes to
 * stderr and to the JSON (`memory`).
 *
 * --full generates one image of --full-steps steps and splits its time as
 * the pipeline reports it (timings, stepTimings): text encoder, each step
 * inside the UNet and around it, decoder; set against the estimate from
 * this run's direct measurements (`fullImage`).
 *
 * Options: USAGE below (`node dist/bench/e2e/child.js --help`).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { existingFolder, oneOf, outputFile, parseFlags, wholeNumber } from '../../src/cli/parse-flags.js';
import { runCli } from '../../src/cli/run-cli.js';
import { SdError, UsageError } from '../../src/errors.js';
import { enableRelaxedSimd, type KernelVariant } from '../../src/kernels/wasm/loader.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import type { StageTimings, StepTiming } from '../../src/pipeline/generation.js';
import { StableDiffusion } from '../../src/pipeline/stable-diffusion.js';
import { WasmModelLoader } from '../../src/pipeline/tflite-components.js';
import { formatProfile, Profiler } from '../../src/tflite/interpreter/profiler.js';
import { imageSize } from './options.js';

export interface E2eResult {
  models: string;
  variant: KernelVariant;
  threads: number;
  width: number;
  height: number;
  /** UNet batch per step: 2 with guidance ([cond, uncond]), 1 without (cfg 1, LCM). */
  batch: 1 | 2;
  /** Opening the three files (structure, constants, fusion), s. */
  loadSeconds: number;
  /** Text encoder, batch 1: first call (includes preparing and packing) and a warm call, ms. */
  textEncoderFirstMs: number;
  textEncoderMs: number;
  /** Each timed denoising step, s (the first includes preparing and packing). */
  stepSeconds: number[];
  /** The step time the table uses: median of the steps after the first (the first alone if only one). */
  stepSecondsTypical: number;
  decoderSeconds: number | null;
  /** Kernel memory in use at the end (the WebAssembly.Memory size), bytes. */
  wasmMemoryBytes: number;
  /** Packed weights resident in kernel memory, bytes. */
  residentWeightBytes: number;
  /** Measured whole image (--full), s; null when estimated. */
  fullImageSeconds: number | null;
  /** --full: where the whole image's time went, as the pipeline reports it. */
  fullImage: FullImageBreakdown | null;
  /** Peak resident set size of this process, bytes. */
  peakRssBytes: number;
  /** Where the memory is after each stage (see MemorySnapshot). */
  memory: MemorySnapshot[];
  /** Planned activation bytes of each model's entry point at the sizes run. */
  activationBytes: Record<string, number>;
  /** The region the three models' activations share (the biggest plan). */
  sharedActivationBytes: number;

  /** --profile: the last timed step per op type (ms) and its slowest operators, as `tflite run --profile` prints them. */
  stepProfile: string | null;
}

/** The whole image of --full, as generate's result times it (ms unless named). */
export interface FullImageBreakdown {
  steps: number;
  seconds: number;
  timings: StageTimings;
  stepTimings: StepTiming[];
  /** Steps after the first (the first alone if only one): median ms inside the UNet, and median and largest ms of the pipeline's own work around it. */
  stepModelMs: number;
  stepOverheadMs: number;
  stepOverheadMaxMs: number;
  /** The first step's extra over stepModelMs (it also prepares the UNet's kernels). */
  firstStepExtraMs: number;
  /** 2 text encodings + steps × the direct step + the direct decoder, s, from this run's direct measurements (as the suite estimates). */
  estimateSeconds: number;
}

/** Process and kernel memory after one stage of the run. */
export interface MemorySnapshot {
  stage: string;
  rssBytes: number;
  /** Peak RSS so far. */
  maxRssBytes: number;
  /** V8 heap of the main thread, and memory of ArrayBuffers / Buffers outside it (the WebAssembly.Memory excluded). */
  heapUsedBytes: number;
  arrayBufferBytes: number;
  /** Size of the kernels' WebAssembly.Memory, and the arena's allocations in it. */
  wasmMemoryBytes: number;
  arenaTopBytes: number;
  residentWeightBytes: number;
}

function log(label: string, text: string): void {
  process.stderr.write(`[${label}] ${text}\n`);
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Deterministic test data (values only matter for not being degenerate). */
function pseudoRandom(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32 - 0.5) * 2 * scale;
  }
  return out;
}

const USAGE = `usage: node dist/bench/e2e/child.js --models DIR --out FILE [--label TEXT] [--threads N]
         [--variant simd|relaxed] [--steps-to-time N] [--skip-decoder] [--width W --height H]
         [--full TOKENIZER_DIR [--full-steps N]] [--profile] [--resident-mib N] [--int8-compute] [--batch 1|2]

  --models DIR          folder with clip.tflite, diffusion.tflite, decoder.tflite
  --out FILE            JSON result (E2eResult)
  --label TEXT          progress prefix (default e2e)
  --threads N           kernel threads (default 2)
  --variant V           simd or relaxed (default relaxed)
  --steps-to-time N     denoising steps to time, 0 for none (default 2)
  --skip-decoder        do not time the decoder
  --width W --height H  image size in pixels, multiples of 8 (default 512x512)
  --full DIR            also time a whole image through the pipeline, with this tokenizer
  --full-steps N        denoising steps of that image (default 20)
  --profile             profile the last timed step
  --resident-mib N      resident-weight budget in MiB (default: the pipeline's)
  --int8-compute        int8 files with hybrid int8 kernels
  --batch N             UNet batch per step: 2 (default: with guidance) or 1 (no guidance,
                        as --cfg 1 / LCM; needs a diffusion.tflite with a dynamic batch);
                        --full then generates with --cfg 1`;

/** A full garbage collection now (V8's gc(), exposed at run time). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function breakdown(timings: StageTimings, stepTimings: StepTiming[], secondsMeasured: number, estimateSeconds: number): FullImageBreakdown {
  const later = stepTimings.length > 1 ? stepTimings.slice(1) : stepTimings;
  const stepModelMs = median(later.map((s) => s.model));
  const overheads = later.map((s) => s.total - s.model);
  return {
    steps: stepTimings.length, seconds: secondsMeasured, timings, stepTimings, stepModelMs,
    stepOverheadMs: median(overheads), stepOverheadMaxMs: Math.max(...overheads),
    firstStepExtraMs: stepTimings[0]!.total - stepModelMs, estimateSeconds,
  };
}

/** The breakdown in a few lines; `compare`: set it against the estimate (which needs a timed step and the decoder). */
function describeBreakdown(b: FullImageBreakdown, compare: boolean): string {
  const s = (ms: number) => (ms / 1000).toFixed(2);
  const t = b.timings;
  const outside = b.seconds * 1000 - Object.values(t).reduce((x, y) => x + y, 0);
  const lines = [
    `whole image split: prepare ${s(t.prepare)} s, tokenize ${s(t.tokenize)} s, text encoder ${s(t.textEncoder)} s (2 calls), denoise ${s(t.denoise)} s, decode ${s(t.decode)} s, outside the stages ${s(outside)} s`,
    `  per step (after the first): ${s(b.stepModelMs)} s in the UNet, ${b.stepOverheadMs.toFixed(1)} ms around it (max ${b.stepOverheadMaxMs.toFixed(1)} ms; ${((100 * b.stepOverheadMs) / b.stepModelMs).toFixed(3)}% of the step); the first step ${s(b.firstStepExtraMs)} s more`,
  ];
  if (compare) lines.push(`  measured ${b.seconds.toFixed(1)} s, estimated from the direct runs above ${b.estimateSeconds.toFixed(1)} s (${(100 * (b.seconds / b.estimateSeconds - 1)).toFixed(1)}%)`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<void> {
  const values = parseFlags(argv, {
    models: { type: 'string' },
    out: { type: 'string' },
    label: { type: 'string', default: 'e2e' },
    threads: { type: 'string', default: '2' },
    variant: { type: 'string', default: 'relaxed' },
    'steps-to-time': { type: 'string', default: '2' },
    batch: { type: 'string', default: '2' },
    'skip-decoder': { type: 'boolean', default: false },
    width: { type: 'string', default: '512' },
    height: { type: 'string', default: '512' },
    full: { type: 'string' },
    'full-steps': { type: 'string', default: '20' },
    profile: { type: 'boolean', default: false },
    'resident-mib': { type: 'string' },
    'int8-compute': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  }, USAGE);
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.models || !values.out) throw new UsageError(`--models and --out are required\n${USAGE}`);
  existingFolder('--models', values.models);
  outputFile('--out', values.out);
  if (values.full !== undefined) existingFolder('--full', values.full);
  const label = values.label;
  const threads = wholeNumber('--threads', values.threads);
  const steps = wholeNumber('--steps-to-time', values['steps-to-time'], 0);
  const batch = wholeNumber('--batch', values.batch, 1, 2) as 1 | 2;
  const fullSteps = wholeNumber('--full-steps', values['full-steps'], 1);
  const [width, height] = [imageSize('--width', values.width), imageSize('--height', values.height)];
  const residentMib = values['resident-mib'] === undefined ? undefined : wholeNumber('--resident-mib', values['resident-mib'], 0);
  const variant: KernelVariant = oneOf('--variant', values.variant, ['simd', 'relaxed']);
  if (variant === 'relaxed' && !enableRelaxedSimd()) throw new UsageError('this engine cannot run relaxed SIMD');
  const [lh, lw] = [height / 8, width / 8];

  const memory: MemorySnapshot[] = [];
  const snapshot = (stage: string, rt?: KernelRuntime): void => {
    const m = process.memoryUsage();
    memory.push({
      stage, rssBytes: m.rss, maxRssBytes: process.resourceUsage().maxRSS * 1024, heapUsedBytes: m.heapUsed, arrayBufferBytes: m.arrayBuffers,
      wasmMemoryBytes: rt?.memory.buffer.byteLength ?? 0, arenaTopBytes: rt?.arena.top ?? 0, residentWeightBytes: rt?.arena.residentWeightBytes ?? 0,
    });
    const gb = (b: number) => (b / 1e9).toFixed(3);
    const s = memory.at(-1)!;
    log(label, `memory ${stage}: rss ${gb(s.rssBytes)} (max ${gb(s.maxRssBytes)}) heap ${gb(s.heapUsedBytes)} arraybuffers ${gb(s.arrayBufferBytes)} wasm ${gb(s.wasmMemoryBytes)} arena top ${gb(s.arenaTopBytes)} resident ${gb(s.residentWeightBytes)} GB`);
  };
  snapshot('start');
  const int8Compute = values['int8-compute']!;
  // The direct runs in a function of their own, so that their kernel memory
  // can be collected before --full loads the pipeline's: else peak RSS would
  // count both (int8: 2.4 GB instead of 1.3).
  const models = values.models;
  const timeDirectly = async () => {
    const runtime = await createKernelRuntime({ threads, variant });
    snapshot('kernel runtime', runtime);
    const loader = new WasmModelLoader(runtime, { int8Compute }, residentMib === undefined ? undefined : residentMib * 2 ** 20);
    let t = performance.now();
    const clip = loader.load(join(models, 'clip.tflite'));
    const unet = loader.load(join(models, 'diffusion.tflite'));
    const decoder = values['skip-decoder'] ? undefined : loader.load(join(models, 'decoder.tflite'));
    const loadSeconds = seconds(t);
    log(label, `loaded in ${loadSeconds.toFixed(1)} s`);
    snapshot('loaded', runtime);

    // Shapes first, as the pipeline does (prepareComponents): every model is planned before any runs.
    const enc = clip.getSignatureRunner('encode');
    const diffusion = unet.getSignatureRunner('diffusion');
    const [latentsIn, contextIn] = diffusion.inputDetails();
    if (batch === 1 && latentsIn!.shapeSignature?.[0] !== -1) {
      throw new SdError(`--batch 1: ${join(models, 'diffusion.tflite')} has a fixed batch of ${latentsIn!.shape[0]} (files converted before the dynamic batch; convert it again)`);
    }
    diffusion.resizeInput('args_0', [batch, 4, lh, lw]);
    diffusion.resizeInput('args_1', [batch, ...contextIn!.shape.slice(1)]);
    const dec = decoder?.getSignatureRunner('decode');
    dec?.resizeInput('args_0', [1, 4, lh, lw]);
    const activationBytes: Record<string, number> = {};
    t = performance.now();
    for (const [name, runner] of [['clip', enc], ['diffusion', diffusion], ['decoder', dec]] as const) {
      if (!runner) continue;
      runner.outputDetails();
      activationBytes[name] = runner.executor.memoryPlan!.totalBytes;
    }
    log(label, `prepared in ${seconds(t).toFixed(1)} s; activations ${Object.entries(activationBytes).map(([k, v]) => `${k} ${(v / 1e6).toFixed(1)} MB`).join(', ')}`);
    snapshot('prepared', runtime);

    const tokens = Int32Array.from({ length: 77 }, (_, i) => (i === 0 ? 49406 : i < 9 ? 320 + i * 17 : 49407));
    t = performance.now();
    enc.invoke({ args_0: tokens });
    const textEncoderFirstMs = seconds(t) * 1000;
    t = performance.now();
    const context1 = enc.invoke({ args_0: tokens }).output_0!.data as Float32Array;
    const textEncoderMs = seconds(t) * 1000;
    log(label, `text encoder ${textEncoderFirstMs.toFixed(0)} ms first, ${textEncoderMs.toFixed(0)} ms warm`);
    snapshot('text encoder', runtime);

    const context = new Float32Array(context1.length * batch);
    for (let b = 0; b < batch; b++) context.set(context1, b * context1.length);
    const latents = pseudoRandom(batch * 4 * lh * lw, 1);
    const half = 160;
    const timeEmbedding = Float32Array.from({ length: 320 }, (_, i) => (i < half ? Math.cos(500 * 10000 ** (-i / half)) : Math.sin(500 * 10000 ** (-(i - half) / half))));
    const stepSeconds: number[] = [];
    let stepProfile: string | null = null;
    for (let s = 0; s < steps; s++) {
      // Profile the last step (after the first, which also prepares), when asked.
      const profiler = values.profile && s === steps - 1 ? new Profiler() : undefined;
      t = performance.now();
      diffusion.invoke({ args_0: latents, args_1: context, args_2: timeEmbedding }, { timer: profiler?.timer() });
      if (profiler) {
        stepProfile = formatProfile(profiler, 1, 25);
        process.stderr.write(stepProfile);
      }
      stepSeconds.push(seconds(t));
      log(label, `denoising step ${s + 1}/${steps}: ${stepSeconds.at(-1)!.toFixed(1)} s (batch ${batch}, ${lw}x${lh} latent)`);
      snapshot(`step ${s + 1}`, runtime);
    }
    const stepSecondsTypical = stepSeconds.length > 1 ? median(stepSeconds.slice(1)) : (stepSeconds[0] ?? 0);

    let decoderSeconds: number | null = null;
    if (dec) {
      t = performance.now();
      dec.invoke({ args_0: pseudoRandom(4 * lh * lw, 2) });
      decoderSeconds = seconds(t);
      log(label, `decoder ${width}x${height}: ${decoderSeconds.toFixed(1)} s`);
      snapshot('decoder', runtime);
    }
    const sharedActivationBytes = loader.activationBytes;
    loader.close();
    const wasmMemoryBytes = runtime.memory.buffer.byteLength;
    const residentWeightBytes = runtime.arena.residentWeightBytes;
    await runtime.close();
    return {
      loadSeconds, textEncoderFirstMs, textEncoderMs, stepSeconds, stepSecondsTypical, stepProfile, decoderSeconds,
      activationBytes, sharedActivationBytes, wasmMemoryBytes, residentWeightBytes,
    };
  };
  const {
    loadSeconds, textEncoderFirstMs, textEncoderMs, stepSeconds, stepSecondsTypical, stepProfile, decoderSeconds,
    activationBytes, sharedActivationBytes, wasmMemoryBytes, residentWeightBytes,
  } = await timeDirectly();

  let fullImageSeconds: number | null = null;
  let fullImage: FullImageBreakdown | null = null;
  if (values.full) {
    collectGarbage();
    snapshot('direct runs collected');
    const sd = await StableDiffusion.load({ models: values.models, tokenizer: values.full, threads, int8Compute });
    const t = performance.now();
    const r = await sd.generate({
      prompt: 'a photograph of an astronaut riding a horse', steps: fullSteps, seed: 1, width, height, cfg: batch === 1 ? 1 : undefined,
      onProgress: ({ step, totalSteps }) => log(label, `full image: step ${step}/${totalSteps}`),
    });
    fullImageSeconds = seconds(t);
    snapshot('whole image');
    await sd.close();
    const estimate = (batch * textEncoderMs) / 1000 + fullSteps * stepSecondsTypical + (decoderSeconds ?? 0); // one text encoding per batch item
    fullImage = breakdown(r.timings, r.stepTimings, fullImageSeconds, estimate);
    log(label, `whole ${width}x${height} image, ${fullSteps} steps: ${fullImageSeconds.toFixed(1)} s`);
    log(label, describeBreakdown(fullImage, steps > 0 && decoderSeconds !== null));
  }

  const result: E2eResult = {
    models: values.models, variant, threads, width, height, batch, loadSeconds, textEncoderFirstMs, textEncoderMs, stepSeconds, stepSecondsTypical,
    decoderSeconds, wasmMemoryBytes, residentWeightBytes, fullImageSeconds, fullImage, peakRssBytes: process.resourceUsage().maxRSS * 1024, stepProfile,
    memory, activationBytes, sharedActivationBytes,
  };
  writeFileSync(values.out, JSON.stringify(result, null, 2));
}

runCli(main);
