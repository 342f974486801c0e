import { UsageError } from '../errors.js';
import type { RgbImage } from './image/rgb-image.js';
import { isSamplerName, SAMPLER_NAMES, type SamplerName } from './samplers/index.js';
import { LCM_ORIGINAL_STEPS } from './samplers/lcm.js';
import { TOKENIZER_MODES, type TokenizerMode } from './tokenizer/clip-tokenizer.js';
import { EMPHASIS_MODES, type EmphasisMode } from './tokenizer/prompt-weights.js';

/** What one denoising step reports to `onProgress`. */
export interface StepProgress {
  /** Steps done so far: 0 just before the first, then 1 after it, ... */
  step: number;
  /** Steps this run takes (fewer than `steps` for img2img). */
  totalSteps: number;
  /** The timestep just run (for step 0: the one about to run). */
  timestep: number;
}

export interface GenerateOptions {
  prompt: string;
  /** What the image should not look like (the unconditional prompt); default ''. Ignored, with a warning, when cfg <= 1. */
  negativePrompt?: string;
  /** Denoising steps of the full schedule; default 20. */
  steps?: number;
  /**
   * k_euler (default), k_euler_ancestral, k_lms, ddim, dpmpp_2m, or lcm
   * (Latent Consistency Model sampling, for models with LCM-LoRA merged:
   * 4-8 steps, at most 50, with cfg 1-2).
   */
  sampler?: string;
  /**
   * Classifier-free guidance scale; default 7.5. At cfg <= 1 guidance is
   * off, as in diffusers: the prompt's noise prediction alone is used (cfg
   * below 1 acts as 1), the negative prompt is ignored, and each step
   * runs the UNet once on one latent (at batch 1 when diffusion.tflite has
   * a dynamic batch dim) instead of on [cond, uncond].
   */
  cfg?: number;
  /** 0 to 2^32 − 1; numpy's legacy RNG seeded with it draws all noise. Default: a random seed (reported in the result). */
  seed?: number;
  /** Pixels, a multiple of 8 that the graphs take (64 for dynamic graphs); default 512. */
  width?: number;
  height?: number;
  /** img2img: the starting image (resized to width × height), or its PNG/JPEG path. */
  initImage?: RgbImage | string;
  /** img2img: how much of the schedule to run, in (0, 1]; default 0.8. */
  strength?: number;
  /** 'hf' (default, what SD v1.5 was trained with) or 'seed' (the reference pipeline's tokenizer). */
  tokenizerMode?: TokenizerMode;
  /**
   * 'off' (default): brackets in prompts are text, as SD v1.5's tokenizer
   * reads them; 'a1111': (word), [word] and (word:1.3) weight words as
   * AUTOMATIC1111's web UI does (see tokenizer/prompt-weights.ts).
   */
  emphasis?: EmphasisMode;
  /** Called just before the first denoising step (step 0) and after every step. */
  onProgress?: (progress: StepProgress) => void;
  /** Called with warnings (e.g. a truncated prompt) as soon as they arise. */
  onWarning?: (message: string) => void;
  /**
   * Aborting it stops the run at the next step boundary: `generate` rejects
   * with an AbortError (`name === 'AbortError'`, the signal's reason as
   * `cause`) and the loaded models stay usable.
   */
  signal?: AbortSignal;
}

/** The options that take a value a message may have to name. */
export type OptionName = 'prompt' | 'negativePrompt' | 'steps' | 'sampler' | 'cfg' | 'seed' | 'width' | 'height' | 'strength' | 'tokenizerMode' | 'emphasis' | 'signal';

/**
 * How a message names an option: library callers see the option's own name
 * (`steps`), command-line users the flag they typed (`--steps`).
 */
export type OptionNamer = (option: OptionName) => string;

export const libraryOptionName: OptionNamer = (option) => option;

/** negativePrompt → --negative-prompt. */
export const cliFlagName: OptionNamer = (option) => `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** GenerateOptions with defaults filled in and every value checked. */
export interface ResolvedOptions {
  prompt: string;
  negativePrompt: string;
  steps: number;
  sampler: SamplerName;
  cfg: number;
  seed: number | undefined;
  width: number;
  height: number;
  initImage: RgbImage | string | undefined;
  strength: number;
  tokenizerMode: TokenizerMode;
  emphasis: EmphasisMode;
}

export const DEFAULTS = {
  negativePrompt: '',
  steps: 20,
  sampler: 'k_euler',
  cfg: 7.5,
  width: 512,
  height: 512,
  strength: 0.8,
  tokenizerMode: 'hf',
  emphasis: 'off',
} as const;

export const MAX_SEED = 0xffffffff;

/** Largest width/height we accept: beyond it activations alone outgrow memory. */
export const MAX_SIDE = 4096;

/**
 * Fills in defaults and checks every option, with a UsageError naming the
 * bad one as `name` spells it (default: the option's own name).
 */
export function resolveOptions(options: GenerateOptions, name: OptionNamer = libraryOptionName): ResolvedOptions {
  if (typeof options.prompt !== 'string') throw new UsageError(`${name('prompt')} must be a string`);
  const negativePrompt = options.negativePrompt ?? DEFAULTS.negativePrompt;
  if (typeof negativePrompt !== 'string') throw new UsageError(`${name('negativePrompt')} must be a string`);

  const steps = options.steps ?? DEFAULTS.steps;
  if (!Number.isInteger(steps) || steps < 1) throw new UsageError(`${name('steps')} must be a whole number >= 1, got ${steps}`);
  // The schedule spaces timesteps over 1000 training steps.
  if (steps > 1000) throw new UsageError(`${name('steps')} must be at most 1000, got ${steps}`);

  const sampler = options.sampler ?? DEFAULTS.sampler;
  if (!isSamplerName(sampler)) throw new UsageError(`${name('sampler')} must be one of ${SAMPLER_NAMES.join(', ')}, got ${JSON.stringify(sampler)}`);
  // LCM's timesteps are a subset of its 50-entry distillation grid.
  if (sampler === 'lcm' && steps > LCM_ORIGINAL_STEPS) {
    throw new UsageError(`${name('steps')} must be at most ${LCM_ORIGINAL_STEPS} with ${name('sampler')} lcm, got ${steps}`);
  }

  const cfg = options.cfg ?? DEFAULTS.cfg;
  if (typeof cfg !== 'number' || !Number.isFinite(cfg)) throw new UsageError(`${name('cfg')} must be a finite number, got ${cfg}`);

  const seed = options.seed;
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED)) {
    throw new UsageError(`${name('seed')} must be a whole number from 0 to ${MAX_SEED}, got ${seed}`);
  }

  const width = options.width ?? DEFAULTS.width;
  const height = options.height ?? DEFAULTS.height;
  for (const [option, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 8 || v > MAX_SIDE || v % 8 !== 0) {
      throw new UsageError(`${name(option)} must be a multiple of 8 from 8 to ${MAX_SIDE}, got ${v}`);
    }
  }

  const strength = options.strength ?? DEFAULTS.strength;
  if (typeof strength !== 'number' || !(strength > 0 && strength <= 1)) {
    throw new UsageError(`${name('strength')} must be in (0, 1], got ${strength}`);
  }

  const tokenizerMode = options.tokenizerMode ?? DEFAULTS.tokenizerMode;
  if (!(TOKENIZER_MODES as readonly string[]).includes(tokenizerMode)) {
    throw new UsageError(`${name('tokenizerMode')} must be one of ${TOKENIZER_MODES.join(', ')}, got ${JSON.stringify(tokenizerMode)}`);
  }

  const emphasis = options.emphasis ?? DEFAULTS.emphasis;
  if (!(EMPHASIS_MODES as readonly string[]).includes(emphasis)) {
    throw new UsageError(`${name('emphasis')} must be one of ${EMPHASIS_MODES.join(', ')}, got ${JSON.stringify(emphasis)}`);
  }

  if (options.initImage !== undefined) {
    // img2img runs the last floor(steps·strength) steps of the schedule.
    const run = Math.floor(steps * strength);
    if (run === 0) {
      throw new UsageError(
        `${name('strength')} ${strength} with ${name('steps')} ${steps} runs no denoising step (floor(steps x strength) = 0); raise the strength or the steps`,
      );
    }
  }

  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new UsageError(`${name('signal')} must be an AbortSignal`);
  }

  return {
    prompt: options.prompt,
    negativePrompt,
    steps,
    sampler,
    cfg,
    seed,
    width,
    height,
    initImage: options.initImage,
    strength,
    tokenizerMode,
    emphasis,
  };
}
