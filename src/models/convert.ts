/**
 * Checkpoint → .tflite, one component at a time: builds the component's
 * graph over its checked weights and streams the file out (temporary name,
 * renamed at the end; models over 2 GB get the offset layout).
 */
import { SdError, UsageError } from '../errors.js';
import { TfliteModelBuilder } from '../tflite/writer.js';
import { buildClip } from './builders/clip.js';
import { buildUnet } from './builders/unet.js';
import { buildVaeDecoder } from './builders/vae-decoder.js';
import { buildVaeEncoder } from './builders/vae-encoder.js';
import type { Checkpoint } from './checkpoint/checkpoint.js';
import { ComponentWeights, componentSpecs, type ComponentName } from './checkpoint/component-weights.js';
import type { ModelConfig } from './config.js';
import { Graph } from './graph/graph.js';
import { Nn, type Target } from './graph/nn.js';
import { Weights, type Precision, type WeightSource } from './graph/weights.js';
import type { LoraMerge } from './lora/lora-merge.js';

export interface ConvertOptions {
  config: ModelConfig;
  precision: Precision;
  target: Target;
  /** Image size in pixels; undefined leaves the spatial dimensions dynamic. */
  height?: number;
  width?: number;
  /** Text encoder output from the layer clipSkip-1 before the last (default 1: the last); see buildClip. */
  clipSkip?: number;
}

/** Pixels per latent cell: the VAE halves the resolution at every level but the last. */
export function vaeFactor(config: ModelConfig): number {
  return 2 ** (config.vae.ddconfig.ch_mult.length - 1);
}

/** Image sizes must be multiples of this: the VAE's factor times the UNet's own downsampling. */
export function sizeMultiple(config: ModelConfig): number {
  return vaeFactor(config) * 2 ** (config.unet.channel_mult.length - 1);
}

/** The component's graph; weights are read only when the model is written. */
export function buildComponent(component: ComponentName, source: WeightSource, options: ConvertOptions): { model: TfliteModelBuilder; weights: Weights } {
  const { config } = options;
  const clipSkip = component === 'clip' && (options.clipSkip ?? 1) !== 1 ? `, clip skip ${options.clipSkip}` : '';
  const model = new TfliteModelBuilder(`sd-tflite ${component} (${options.precision}, ${options.target}${clipSkip})`);
  const graph = new Graph(model, model.main);
  const weights = new Weights(graph, source, options.precision);
  const nn = new Nn(graph, weights, options.target);
  const pixels = (size: number | undefined) => size ?? -1;
  const latent = (size: number | undefined) => (size === undefined ? -1 : size / vaeFactor(config));
  switch (component) {
    case 'clip':
      buildClip(nn, config.text_encoder, options.clipSkip);
      break;
    case 'diffusion':
      buildUnet(nn, config.unet, config.text_encoder.max_position_embeddings, latent(options.height), latent(options.width));
      break;
    case 'decoder':
      buildVaeDecoder(nn, config, latent(options.height), latent(options.width));
      break;
    case 'encoder':
      buildVaeEncoder(nn, config, pixels(options.height), pixels(options.width));
      break;
  }
  return { model, weights };
}

export interface ComponentProgress {
  /** Called once the graph is built, with the number and total size of the constants to write. */
  start(tensors: number, bytes: number): void;
  written(name: string, bytes: number): void;
}

/**
 * Checks every component's weights (so a bad checkpoint fails before any
 * file is written); with `loras` (already checked), they are merged in as
 * each weight is read.
 */
export function checkComponents(checkpoint: Checkpoint, components: readonly ComponentName[], config: ModelConfig, loras?: LoraMerge): Map<ComponentName, WeightSource> {
  return new Map(
    components.map((c) => {
      const weights = new ComponentWeights(checkpoint, componentSpecs(c, config));
      return [c, loras ? loras.over(weights) : weights];
    }),
  );
}

export function writeComponent(component: ComponentName, source: WeightSource, outFile: string, options: ConvertOptions, progress?: ComponentProgress): void {
  const { model, weights } = buildComponent(component, source, options);
  progress?.start(weights.count, weights.bytes);
  if (progress) weights.onWritten = (name, bytes) => progress.written(name, bytes);
  try {
    model.writeFile(outFile);
  } catch (err) {
    if (err instanceof SdError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code) throw new UsageError(`cannot write ${outFile}: ${(err as Error).message}`);
    throw err;
  }
}
