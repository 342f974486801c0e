/**
 * sd-tflite's public API. `StableDiffusion` is the pipeline; the pieces
 * below are for callers who build their own loop or files.
 */
export { StableDiffusion, type GenerateResult, type LoadOptions } from './pipeline/stable-diffusion.js';
export { DEFAULTS, type GenerateOptions, type ResolvedOptions, type StepProgress } from './pipeline/generation-options.js';
export type { StageTimings, StepTiming } from './pipeline/generation.js';
export { loadTfliteComponents, type KernelChoice, type LoadedTfliteComponents } from './pipeline/tflite-components.js';
export type { Decoder, Denoiser, ImageEncoder, LatentSize, LatentSizeRule, PipelineComponents, TextEncoder } from './pipeline/components.js';
export { generationText, type GenerationParameters } from './pipeline/generation-parameters.js';
export { bundledTokenizerDir } from './pipeline/tokenizer/bundled-vocabulary.js';
export { EMPHASIS_MODES, encodePrompt, parsePromptWeights, weightContext, type EmphasisMode, type PromptEncoding } from './pipeline/tokenizer/prompt-weights.js';
export { ClipTokenizer, CONTEXT_LENGTH, TOKENIZER_MODES, truncationWarning, type EncodedPrompt, type TokenizerMode } from './pipeline/tokenizer/clip-tokenizer.js';
export { createSampler, isSamplerName, SAMPLER_NAMES, type NoiseSource, type Sampler, type SamplerName } from './pipeline/samplers/index.js';
export { NumpyLegacyRandom, randomSeed } from './pipeline/rng/index.js';
export { timeEmbedding } from './pipeline/time-embedding.js';
export { classifierFreeGuidance } from './pipeline/guidance.js';
export { encodeJpeg, encodePng, readImage, resizeBicubic, type RgbImage } from './pipeline/image/index.js';
export { SdError, FormatError, UsageError } from './errors.js';
export { AbortError } from './pipeline/abort.js';
