import { describe, expect, it } from 'vitest';
import type { PipelineComponents, TextEncoder } from '../../src/pipeline/components.js';
import { StableDiffusion } from '../../src/pipeline/stable-diffusion.js';
import { ClipTokenizer } from '../../src/pipeline/tokenizer/clip-tokenizer.js';
import { standInDecoder, standInDenoiser } from './stand-in-components.js';

// generate({ emphasis: 'a1111' }): the UNet's context is the text encoder's
// output for the prompt without brackets, each token row scaled by its
// weight and the whole rescaled to its mean (checked here in float64).
const tokenizer = ClipTokenizer.load(new URL('../../assets/clip-tokenizer/', import.meta.url).pathname);
const HIDDEN = 4;

/** A text encoder whose rows depend on token and position; a UNet that records the context it is given. */
function recordingComponents() {
  const contexts: Float32Array[] = [];
  const textEncoder: TextEncoder = {
    hiddenSize: HIDDEN,
    run: (tokens) => Float32Array.from({ length: 77 * HIDDEN }, (_, i) => Math.fround(Math.sin(tokens[Math.floor(i / HIDDEN)]! * 0.01 + i) + 0.3)),
  };
  const denoiser = standInDenoiser(HIDDEN, (latents, context) => {
    contexts.push(context.slice());
    return latents.map((v) => 0.1 * v);
  });
  const components: PipelineComponents = { textEncoder, denoiser, decoder: standInDecoder() };
  return { components, contexts, textEncoder };
}

const base = { steps: 1, seed: 3, width: 64, height: 64, negativePrompt: 'blurry' } as const;

describe('generate with emphasis', () => {
  it('a1111 scales the emphasized token rows and keeps the mean; the negative prompt is unchanged', async () => {
    const { components, contexts, textEncoder } = recordingComponents();
    const sd = new StableDiffusion(components, tokenizer);
    const warnings: string[] = [];
    await sd.generate({ ...base, prompt: 'a (red:1.5) [cube]', emphasis: 'a1111', onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([]);

    const plain = textEncoder.run(tokenizer.encode('a red cube').ids);
    const weights = [1, 1, 1.5, 1 / 1.1, ...new Array(73).fill(1)];
    const scaled = Array.from(plain, (v, i) => v * Math.fround(weights[Math.floor(i / HIDDEN)]!));
    const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);
    const restore = sum(plain) / sum(scaled);
    const cond = contexts[0]!.subarray(0, 77 * HIDDEN);
    let maxDiff = 0;
    for (let i = 0; i < cond.length; i++) maxDiff = Math.max(maxDiff, Math.abs(cond[i]! - scaled[i]! * restore));
    expect(maxDiff).toBeLessThan(1e-6);
    expect(Math.abs(cond[2 * HIDDEN]! / plain[2 * HIDDEN]! - 1.5 * restore)).toBeLessThan(1e-6);

    const uncond = contexts[0]!.subarray(77 * HIDDEN);
    expect(Array.from(uncond)).toEqual(Array.from(textEncoder.run(tokenizer.encode('blurry').ids)));
  });

  it('off (default): brackets are text, the context is the plain output, and a warning says how to weight them', async () => {
    const { components, contexts, textEncoder } = recordingComponents();
    const sd = new StableDiffusion(components, tokenizer);
    const result = await sd.generate({ ...base, prompt: 'a (red:1.5) cube' });
    expect(Array.from(contexts[0]!.subarray(0, 77 * HIDDEN))).toEqual(Array.from(textEncoder.run(tokenizer.encode('a (red:1.5) cube').ids)));
    expect(result.warnings).toEqual(['prompt: the prompt has emphasis brackets such as (word:1.2); they are read as text (--emphasis a1111 weights them)']);
    await expect(sd.generate({ ...base, prompt: 'x', emphasis: 'strong' as never })).rejects.toThrow('emphasis must be one of off, a1111, got "strong"');
  });
});
