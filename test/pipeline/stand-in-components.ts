/**
 * Stand-ins for the networks, for pipeline tests that check the loop around
 * them (order of calls, abort, reuse, guidance) rather than the models: the
 * sizes of the toy models (4 latent channels, a 16-wide time embedding, any
 * size that is a multiple of 8 latent cells) with the behaviour each test gives.
 */
import type { Decoder, Denoiser } from '../../src/pipeline/components.js';

/** A UNet of the toy sizes whose prediction is `run`; `extra` adds or overrides members. */
export function standInDenoiser(contextWidth: number, run: Denoiser['run'], extra: Partial<Denoiser> = {}): Denoiser {
  return { latentChannels: 4, contextWidth, timeEmbeddingWidth: 16, sizeRule: { kind: 'multiple', multiple: 8 }, run, ...extra };
}

/** A decoder of 4 latent channels, 8x upscaling and 3 colours; by default tanh of the latents, repeated. */
export function standInDecoder(
  run: Decoder['run'] = (latents, size) => Float32Array.from({ length: 3 * 64 * size.height * size.width }, (_, i) => Math.tanh(latents[i % latents.length]!)),
): Decoder {
  return { latentChannels: 4, sizeRule: { kind: 'multiple', multiple: 1 }, run };
}
