/**
 * The four networks the pipeline drives, behind small interfaces so the
 * pipeline does not care whether a component is a .tflite file run by our
 * interpreter (tflite-components.ts) or, in tests, a replay of recorded
 * tensors. All tensors are flat float32 (int32 for tokens) in NCHW order,
 * with the shapes of DESIGN.md's signature contracts.
 */

/** A latent's spatial size: the image's size divided by VAE_SCALE. */
export interface LatentSize {
  height: number;
  width: number;
}

/** Pixels per latent cell: the VAE downsamples three times. */
export const VAE_SCALE = 8;

/**
 * Which latent sizes a component's graph takes: any multiple of `multiple`
 * (spatial dims stored as -1, resized per run), or one fixed size (a graph
 * converted with pinned --height/--width, or the reference converter's).
 */
export type LatentSizeRule = { kind: 'multiple'; multiple: number } | { kind: 'fixed'; height: number; width: number };

export interface SizedComponent {
  readonly sizeRule: LatentSizeRule;
  /**
   * Sets the graph up for `size` before any work starts, so a size the
   * graph cannot take fails fast with a UsageError (optional).
   */
  prepare?(size: LatentSize): void;
}

/** clip.tflite `encode`: tokens [1,77] → last hidden state [1,77,hiddenSize]. */
export interface TextEncoder {
  readonly hiddenSize: number;
  run(tokens: Int32Array): Float32Array;
}

/**
 * diffusion.tflite `diffusion`: latents [B,C,h,w], context
 * [B,77,contextWidth], time embedding [1,timeEmbeddingWidth] → noise
 * prediction [B,C,h,w]. B is 2 ([cond, uncond] with guidance), or 1 when
 * guidance is off and `acceptsBatchOfOne`; `run` reads B from the latents'
 * length.
 */
export interface Denoiser extends SizedComponent {
  readonly latentChannels: number;
  readonly contextWidth: number;
  readonly timeEmbeddingWidth: number;
  /**
   * Whether the graph takes a batch of 1 (its batch dim is dynamic). When
   * absent or false, the pipeline runs guidance-off steps at batch 2 on
   * [x, x] and [cond, cond] instead.
   */
  readonly acceptsBatchOfOne?: boolean;
  /** Sets the graph up for `size` at `batch` (2 when not given). */
  prepare?(size: LatentSize, batch?: number): void;
  run(latents: Float32Array, context: Float32Array, timeEmbedding: Float32Array, size: LatentSize): Float32Array;
}

/** decoder.tflite `decode`: latents [1,C,h,w] → image [1,3,8h,8w] in about [-1,1]. */
export interface Decoder extends SizedComponent {
  readonly latentChannels: number;
  run(latents: Float32Array, size: LatentSize): Float32Array;
}

/** encoder.tflite `encode`: image [1,3,8h,8w] in [-1,1], noise [1,C,h,w] → latents [1,C,h,w]. */
export interface ImageEncoder extends SizedComponent {
  readonly latentChannels: number;
  run(image: Float32Array, noise: Float32Array, size: LatentSize): Float32Array;
}

export interface PipelineComponents {
  textEncoder: TextEncoder;
  denoiser: Denoiser;
  decoder: Decoder;
  /** Only needed for img2img. */
  imageEncoder?: ImageEncoder;
}
