/**
 * The library API:
 *
 *   const sd = await StableDiffusion.load({ models: 'out/sd15' }); // tokenizer: the bundled CLIP vocabulary
 *   const { image, seed, timings } = await sd.generate({ prompt: 'a red cube', seed: 42 });
 *   writeFileSync('out.png', encodePng(image, generationText(...)));
 *   await sd.close();
 *
 * `generate` is the reference pipeline (see generation.ts); with a seed it
 * draws every noise value as numpy's legacy RNG does, so the same options
 * give the same image. Several images: call it again with seed + 1, ... (the
 * text encodings are reused). Calls on one instance run one after another.
 */
import { availableParallelism } from 'node:os';
import { SdError, UsageError } from '../errors.js';
import { settleOnAbort } from './abort.js';
import type { PipelineComponents } from './components.js';
import { checkLatentChannels } from './latent-size.js';
import { resolveOptions, type GenerateOptions, type ResolvedOptions } from './generation-options.js';
import { runPipeline, type PipelineOutput, type PromptTokenizer } from './generation.js';
import { NumpyLegacyRandom, randomSeed } from './rng/index.js';
import type { Int8GemmOptions } from '../kernels/wasm/gemm-int8-pack.js';
import { loadTfliteComponents, type KernelChoice } from './tflite-components.js';
import { CachingTextEncoder } from './text-encoder-cache.js';
import { bundledTokenizerDir } from './tokenizer/bundled-vocabulary.js';
import { ClipTokenizer } from './tokenizer/clip-tokenizer.js';

export interface LoadOptions {
  /** Folder with clip.tflite, diffusion.tflite, decoder.tflite and (for img2img) encoder.tflite. */
  models: string;
  /**
   * Folder with vocab.json and merges.txt (or an SD repository folder holding
   * tokenizer/); default: the CLIP vocabulary bundled with the package (the
   * same files as SD v1.5's tokenizer/ folder).
   */
  tokenizer?: string;
  /** Threads for the kernels; default: the number of cores (as the generate CLI). The result does not depend on it. */
  threads?: number;
  /** 'wasm' (default): WebAssembly SIMD kernels; 'reference': plain TypeScript kernels (slow). */
  kernels?: KernelChoice;
  /**
   * With the wasm kernels: run FULLY_CONNECTED and 1x1 CONV_2D with int8
   * weights (int8 files) as hybrid int8 kernels, activations quantized per
   * row at run time
   * (faster, slightly less accurate; options as in WasmKernelOptions).
   * Default false.
   */
  int8Compute?: boolean | Int8GemmOptions;
}

export interface GenerateResult extends PipelineOutput {
  /** The seed used: the one given, or the random one picked (print it to repeat the run). */
  seed: number;
  /** The options as run, defaults filled in. */
  options: ResolvedOptions & { seed: number };
}

export class StableDiffusion {
  /** The text encoder's recent outputs, kept across generate calls (same bits, one CLIP run less per repeated prompt). */
  private readonly textEncoder: CachingTextEncoder;
  /**
   * The last generate call queued: the networks hold per-size state and
   * shared buffers, so calls that overlap (generate yields between steps)
   * must run one after another.
   */
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * From components already at hand (e.g. other runtimes, or recorded
   * tensors in tests); `close` is called by close().
   */
  constructor(
    private readonly components: PipelineComponents,
    private readonly tokenizer: PromptTokenizer,
    private readonly onClose: () => Promise<void> | void = () => {},
  ) {
    checkComponentsFit(components);
    this.textEncoder = new CachingTextEncoder(components.textEncoder);
  }

  /** Opens the tokenizer and the .tflite files of DESIGN.md's contracts. */
  static async load(options: LoadOptions): Promise<StableDiffusion> {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) throw new UsageError(`threads must be a whole number >= 1, got ${threads}`);
    const tokenizer = ClipTokenizer.load(options.tokenizer ?? bundledTokenizerDir());
    const kernels = options.kernels ?? 'wasm';
    if (kernels !== 'wasm' && kernels !== 'reference') throw new UsageError(`kernels must be 'wasm' or 'reference', got ${JSON.stringify(kernels)}`);
    if (options.int8Compute && kernels !== 'wasm') throw new UsageError("int8Compute runs on the wasm kernels, not kernels: 'reference'");
    const components = await loadTfliteComponents(options.models, threads, kernels, { int8Compute: options.int8Compute });
    try {
      return new StableDiffusion(components, tokenizer, () => components.close());
    } catch (err) {
      await components.close();
      throw err;
    }
  }


  /**
   * Text-to-image, or image-to-image with `initImage`. Rejects with a
   * UsageError for bad options before any work, with an AbortError when
   * `signal` is aborted (at the next step boundary). A call made while
   * another runs waits for it (and rejects at once if aborted meanwhile).
   */
  generate(options: GenerateOptions): Promise<GenerateResult> {
    // The queue follows the work itself, so an early rejection never lets the next call overlap it.
    const work = this.queue.then(() => this.generateNow(options));
    this.queue = work.catch(() => {});
    return settleOnAbort(work, options.signal instanceof AbortSignal ? options.signal : undefined);
  }

  private async generateNow(options: GenerateOptions): Promise<GenerateResult> {
    const resolved = resolveOptions(options);
    const seed = resolved.seed ?? randomSeed();
    const c = this.components;
    // imageEncoder stays a getter: a loaded model folder opens encoder.tflite on first use.
    const components: PipelineComponents = { textEncoder: this.textEncoder, denoiser: c.denoiser, decoder: c.decoder, get imageEncoder() { return c.imageEncoder; } };
    const output = await runPipeline(components, this.tokenizer, resolved, new NumpyLegacyRandom(seed), {
      onProgress: options.onProgress,
      onWarning: options.onWarning,
      signal: options.signal,
    });
    return { ...output, seed, options: { ...resolved, seed } };
  }

  /** Releases the models and stops the kernel threads, after the generate calls already made have settled. */
  async close(): Promise<void> {
    await this.queue;
    await this.onClose();
  }
}

/**
 * The text encoder's width must be the UNet's context width, and the
 * decoder's latent channels the UNet's (the image encoder is checked when
 * first used: it may be opened lazily).
 */
function checkComponentsFit(c: PipelineComponents): void {
  if (c.textEncoder.hiddenSize !== c.denoiser.contextWidth) {
    throw new SdError(
      `the models do not fit together: clip.tflite gives ${c.textEncoder.hiddenSize}-wide text features, diffusion.tflite reads ${c.denoiser.contextWidth}-wide context (converted from different checkpoints or configs?)`,
    );
  }
  checkLatentChannels(c.denoiser, c.decoder, 'decoder.tflite');
}
