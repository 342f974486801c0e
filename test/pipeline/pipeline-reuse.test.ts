import { describe, expect, it } from 'vitest';
import type { PipelineComponents, TextEncoder } from '../../src/pipeline/components.js';
import { StableDiffusion } from '../../src/pipeline/stable-diffusion.js';
import { CachingTextEncoder } from '../../src/pipeline/text-encoder-cache.js';
import { ClipTokenizer } from '../../src/pipeline/tokenizer/clip-tokenizer.js';
import { standInDecoder, standInDenoiser } from './stand-in-components.js';

const tokenizer = ClipTokenizer.load(new URL('../../assets/clip-tokenizer/', import.meta.url).pathname);
const HIDDEN = 8;

/** Features that depend on every token, written into one buffer the encoder reuses (as an arena view would be). */
function countingEncoder() {
  const calls: number[][] = [];
  const buffer = new Float32Array(77 * HIDDEN);
  const encoder: TextEncoder = {
    hiddenSize: HIDDEN,
    run(tokens) {
      calls.push([...tokens]);
      for (let i = 0; i < buffer.length; i++) buffer[i] = Math.fround(tokens[i % 77]! / 1e5 + (i % HIDDEN) * 1e-3);
      return buffer;
    },
  };
  return { encoder, calls };
}

/** A UNet whose prediction depends on the context (so a wrong cached context changes the latents), taking at least `busyMs`. */
function components(encoder: TextEncoder, busyMs = 0): PipelineComponents {
  const denoiser = standInDenoiser(HIDDEN, (latents, context) => {
    const until = performance.now() + busyMs;
    while (performance.now() < until);
    return Float32Array.from(latents, (v, i) => Math.fround(0.1 * v + context[i % context.length]!));
  });
  const decoder = standInDecoder((latents, size) => new Float32Array(3 * 64 * size.height * size.width));
  return { textEncoder: encoder, denoiser, decoder };
}

const options = { steps: 3, seed: 11, width: 64, height: 64 } as const;

describe('StableDiffusion reuses text encodings across images', () => {
  it('a repeated prompt runs the text encoder no more; a new prompt once (the negative prompt is remembered); same latents as a fresh pipeline', async () => {
    const { encoder, calls } = countingEncoder();
    const sd = new StableDiffusion(components(encoder), tokenizer);
    const first = await sd.generate({ prompt: 'a red cube', ...options });
    expect(calls.length).toBe(2);
    const again = await sd.generate({ prompt: 'a red cube', ...options });
    expect(calls.length).toBe(2);
    expect(again.latents).toEqual(first.latents);
    const other = await sd.generate({ prompt: 'a blue ball', ...options });
    expect(calls.length).toBe(3);
    expect(calls[2]).toEqual([...tokenizer.encode('a blue ball', 'hf').ids]);

    const fresh = await new StableDiffusion(components(countingEncoder().encoder), tokenizer).generate({ prompt: 'a blue ball', ...options });
    expect(other.latents).toEqual(fresh.latents);
    expect(other.latents).not.toEqual(first.latents);
  });

  it('keeps the last `capacity` token sequences, as copies of what the encoder returned', () => {
    const { encoder, calls } = countingEncoder();
    const cache = new CachingTextEncoder(encoder, 2);
    const ids = (k: number) => Int32Array.from({ length: 77 }, (_, i) => (i === 0 ? 49406 : 320 + k));
    const a = cache.run(ids(1));
    const aValue = a.slice();
    cache.run(ids(2));
    expect(cache.run(ids(1))).toEqual(aValue); // still there, and not overwritten by the encoder's next call
    expect(calls.length).toBe(2);
    cache.run(ids(3)); // evicts ids(2), the least recently used
    cache.run(ids(1));
    expect(calls.length).toBe(3);
    cache.run(ids(2));
    expect(calls.length).toBe(4);
    expect(cache.hiddenSize).toBe(HIDDEN);
  });
});

describe('timings', () => {
  it('prepare: setting the graphs up for the size counts as its own stage', async () => {
    const c = components(countingEncoder().encoder);
    c.denoiser.prepare = () => {
      const until = performance.now() + 5;
      while (performance.now() < until);
    };
    const r = await new StableDiffusion(c, tokenizer).generate({ prompt: 'x', ...options });
    expect(r.timings.prepare).toBeGreaterThanOrEqual(5);
  });

  it('one entry per step; the model share is the time inside the UNet call; together within timings.denoise', async () => {
    const r = await new StableDiffusion(components(countingEncoder().encoder, 5), tokenizer).generate({ prompt: 'x', ...options });
    expect(r.stepTimings.length).toBe(3);
    for (const { total, model } of r.stepTimings) {
      expect(model).toBeGreaterThanOrEqual(5);
      expect(total).toBeGreaterThanOrEqual(model);
    }
    const sum = r.stepTimings.reduce((a, s) => a + s.total, 0);
    // denoise also counts the initial noise and the sampler's set-up.
    expect(sum).toBeLessThanOrEqual(r.timings.denoise + 1e-6);
  });
});
