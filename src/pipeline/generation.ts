/**
 * One image from prompts, in the reference pipeline's exact order
 * (ai-edge-torch's stable_diffusion/pipeline.py), which fixes where every
 * noise draw comes from:
 *
 *   tokenize prompt and negative prompt; text encoder on each (batch 1);
 *   with emphasis, each output scaled per token (prompt-weights.ts);
 *   context = [cond, uncond]
 *   txt2img: latents = normal(C·h·w) · initialScale
 *   img2img: image resized and scaled to [-1,1]; encoder noise = normal();
 *            latents = encoder(image, noise); latent noise = normal();
 *            setStrength; latents += latent noise · initialScale
 *   per step: UNet on [x, x] (x = latents · inputScale) with the context and
 *             the time embedding; guidance; sampler step (ancestral samplers
 *             and lcm draw from the same source)
 *   decode; rescale to 8-bit.
 *
 * Guidance off (cfg <= 1, as diffusers): the negative prompt is neither
 * tokenized nor encoded, context = cond, and the UNet runs on x alone when
 * the denoiser takes a batch of 1, else on [x, x] with [cond, cond] (the
 * first half of its output is used). No draw moves.
 *
 * With `signal`, an abort stops the run at the next step boundary (see
 * abort.ts); the components are left between calls, ready for the next run.
 */
import { UsageError } from '../errors.js';
import { checkpoint, throwIfAborted } from './abort.js';
import { VAE_SCALE, type LatentSize, type PipelineComponents, type SizedComponent } from './components.js';
import type { ResolvedOptions, StepProgress } from './generation-options.js';
import { classifierFreeGuidance, guidanceEnabled } from './guidance.js';
import { readImage } from './image/decode.js';
import { resizeBicubic } from './image/resize.js';
import { imageFromNchw, nchwFromImage, type RgbImage } from './image/rgb-image.js';
import { checkLatentChannels, checkLatentSize } from './latent-size.js';
import { createSampler, type NoiseSource } from './samplers/index.js';
import { timeEmbedding } from './time-embedding.js';
import type { ClipTokenizer } from './tokenizer/clip-tokenizer.js';
import { encodePrompt, weightContext, type PromptEncoding } from './tokenizer/prompt-weights.js';

/** Milliseconds spent in each stage. */
export interface StageTimings {
  /**
   * Setting the graphs up for the image size (shapes, memory plan, kernel
   * set-up): the first image, or the first at a new size; about 0 after.
   */
  prepare: number;
  tokenize: number;
  textEncoder: number;
  /** img2img only (0 otherwise): reading, resizing and encoding the init image. */
  imageEncoder: number;
  denoise: number;
  decode: number;
}

/** One denoising step's milliseconds. */
export interface StepTiming {
  /** The whole step. */
  total: number;
  /**
   * Of which in the UNet call (its inputs copied in and its output out
   * included). The rest is the pipeline's own work: input scaling, time
   * embedding, guidance, the sampler update and the progress callback.
   */
  model: number;
}

export interface PipelineOutput {
  image: RgbImage;
  /** Final latents [1, C, height/8, width/8], what the decoder read. */
  latents: Float32Array;
  latentShape: [number, number, number, number];
  /** Denoising steps run: `steps`, or floor(steps·strength) for img2img. */
  stepsRun: number;
  timings: StageTimings;
  /** Each denoising step (timings.denoise split up): the first one also prepares the UNet's kernels. */
  stepTimings: StepTiming[];
  warnings: string[];
}

export type PromptTokenizer = Pick<ClipTokenizer, 'textIds' | 'frame'>;

export interface PipelineHooks {
  onProgress?: (progress: StepProgress) => void;
  onWarning?: (message: string) => void;
  /** Aborting it stops the run at the next step boundary with an AbortError. */
  signal?: AbortSignal;
}

/**
 * The UNet's batch: 2 with guidance ([cond, uncond]); without, 1 when the
 * denoiser takes it, else 2 ([cond, cond]).
 */
export function denoiserBatch(components: PipelineComponents, cfg: number): 1 | 2 {
  return !guidanceEnabled(cfg) && components.denoiser.acceptsBatchOfOne === true ? 1 : 2;
}

/** Checks that the graphs take the requested size and sets them up for it. */
export function prepareComponents(components: PipelineComponents, options: ResolvedOptions): LatentSize {
  const size = { height: options.height / VAE_SCALE, width: options.width / VAE_SCALE };
  const used: [string, SizedComponent][] = [
    ['diffusion.tflite', components.denoiser],
    ['decoder.tflite', components.decoder],
  ];
  if (options.initImage !== undefined) {
    const encoder = components.imageEncoder;
    if (!encoder) throw new UsageError('img2img needs encoder.tflite in the models folder (convert with --components ...,encoder)');
    checkLatentChannels(components.denoiser, encoder, 'encoder.tflite');
    used.push(['encoder.tflite', encoder]);
  }
  for (const [what, component] of used) checkLatentSize(component.sizeRule, size, what);
  const batch = denoiserBatch(components, options.cfg);
  for (const [, component] of used) {
    if (component === components.denoiser) components.denoiser.prepare?.(size, batch);
    else component.prepare?.(size);
  }
  return size;
}

export async function runPipeline(
  components: PipelineComponents,
  tokenizer: PromptTokenizer,
  options: ResolvedOptions,
  noise: NoiseSource,
  hooks: PipelineHooks = {},
): Promise<PipelineOutput> {
  const { textEncoder, denoiser, decoder } = components;
  const { signal } = hooks;
  throwIfAborted(signal);
  const timings: StageTimings = { prepare: 0, tokenize: 0, textEncoder: 0, imageEncoder: 0, denoise: 0, decode: 0 };
  let t0 = performance.now();
  const lap = (stage: keyof StageTimings) => {
    const now = performance.now();
    timings[stage] += now - t0;
    t0 = now;
  };
  const size = prepareComponents(components, options);
  lap('prepare');
  // Read the init image before any long work, so a bad file fails fast.
  const initImage = typeof options.initImage === 'string' ? readImage(options.initImage) : options.initImage;
  lap('imageEncoder');
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    hooks.onWarning?.(message);
  };

  const guided = guidanceEnabled(options.cfg);
  if (!guided && options.negativePrompt !== '') {
    warn(`negative prompt ignored: cfg ${options.cfg} <= 1 turns classifier-free guidance off, so only the prompt conditions the image`);
  }
  const prompts = [['prompt', options.prompt], ...(guided ? [['negative prompt', options.negativePrompt]] : [])] as const;
  const encodings = prompts.map(([which, text]) => {
    const encoding = encodePrompt(tokenizer, text, options.tokenizerMode, options.emphasis);
    for (const w of encoding.warnings) warn(`${which}: ${w}`);
    return encoding;
  });
  lap('tokenize');

  const conditioning = ({ encoded, weights }: PromptEncoding) => {
    const hidden = textEncoder.run(encoded.ids);
    return weights ? weightContext(hidden, weights, textEncoder.hiddenSize) : hidden;
  };
  const cond = conditioning(encodings[0]!);
  const batch = denoiserBatch(components, options.cfg);
  // [cond, uncond] with guidance; without, [cond, cond] at batch 2 so that both halves give the prompt's prediction.
  const context = batch === 1 ? cond : concat(cond, guided ? conditioning(encodings[1]!) : cond);
  lap('textEncoder');
  await checkpoint(signal);

  const channels = denoiser.latentChannels;
  const count = channels * size.height * size.width;
  const sampler = createSampler(options.sampler, options.steps);
  let latents: Float32Array;
  if (initImage === undefined) {
    latents = sampler.scaleInitialNoise(Float32Array.from(noise.normal(count)));
  } else {
    const pixels = nchwFromImage(resizeBicubic(initImage, options.width, options.height));
    const encoderNoise = Float32Array.from(noise.normal(count));
    const encoded = checkLength(components.imageEncoder!.run(pixels, encoderNoise, size), count, 'image encoder output');
    const latentNoise = Float32Array.from(noise.normal(count));
    sampler.setStrength(options.strength);
    const added = sampler.scaleInitialNoise(latentNoise);
    latents = encoded.map((v, i) => v + added[i]!);
    lap('imageEncoder');
    await checkpoint(signal);
  }

  const totalSteps = sampler.timesteps.length;
  const timesteps = [...sampler.timesteps];
  const stepTimings: StepTiming[] = [];
  hooks.onProgress?.({ step: 0, totalSteps, timestep: timesteps[0]! });
  for (const [i, timestep] of timesteps.entries()) {
    const started = performance.now();
    const x = sampler.scaleModelInput(latents);
    const temb = timeEmbedding(timestep, denoiser.timeEmbeddingWidth);
    const modelStarted = performance.now();
    const out = checkLength(denoiser.run(batch === 1 ? x : concat(x, x), context, temb, size), batch * count, 'diffusion output');
    const model = performance.now() - modelStarted;
    const eps = guided ? classifierFreeGuidance(out, options.cfg) : out.subarray(0, count);
    latents = sampler.step(latents, eps, noise);
    hooks.onProgress?.({ step: i + 1, totalSteps, timestep });
    stepTimings.push({ total: performance.now() - started, model });
    await checkpoint(signal); // also before the decoder, after the last step
  }
  lap('denoise');

  const decoded = checkLength(decoder.run(latents, size), 3 * options.width * options.height, 'decoder output');
  const image = imageFromNchw(decoded, options.height, options.width);
  lap('decode');

  return { image, latents, latentShape: [1, channels, size.height, size.width], stepsRun: totalSteps, timings, stepTimings, warnings };
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function checkLength(data: Float32Array, expected: number, what: string): Float32Array {
  if (data.length !== expected) throw new Error(`${what} has ${data.length} values, expected ${expected}`);
  return data;
}
