import { describe, expect, it } from 'vitest';
import { SdError, UsageError } from '../../src/errors.js';
import type { Decoder, Denoiser, ImageEncoder, PipelineComponents, TextEncoder } from '../../src/pipeline/components.js';
import { resolveOptions, type GenerateOptions } from '../../src/pipeline/generation-options.js';
import { resizeBicubic } from '../../src/pipeline/image/resize.js';
import { nchwFromImage, type RgbImage } from '../../src/pipeline/image/rgb-image.js';
import { NumpyLegacyRandom } from '../../src/pipeline/rng/index.js';
import { createSampler } from '../../src/pipeline/samplers/index.js';
import { StableDiffusion } from '../../src/pipeline/stable-diffusion.js';
import { ClipTokenizer } from '../../src/pipeline/tokenizer/clip-tokenizer.js';

const tokenizer = ClipTokenizer.load(new URL('../../assets/clip-tokenizer/', import.meta.url).pathname);
const HIDDEN = 8;

/** Components that record what they are given; the UNet predicts zero noise. */
function fakeComponents(overrides: Partial<Denoiser> = {}) {
  const log = { encoderImage: [] as Float32Array[], encoderNoise: [] as Float32Array[], unetIn: [] as Float32Array[] };
  const textEncoder: TextEncoder = { hiddenSize: HIDDEN, run: (tokens) => Float32Array.from({ length: 77 * HIDDEN }, (_, i) => tokens[i % 77]! / 1e5) };
  const denoiser: Denoiser = {
    latentChannels: 4,
    contextWidth: HIDDEN,
    timeEmbeddingWidth: 16,
    sizeRule: { kind: 'multiple', multiple: 8 },
    run(latents) {
      log.unetIn.push(latents.slice());
      return new Float32Array(latents.length);
    },
    ...overrides,
  };
  const decoder: Decoder = {
    latentChannels: 4,
    sizeRule: { kind: 'multiple', multiple: 1 },
    run: (latents, size) => new Float32Array(3 * 64 * size.height * size.width).fill(0.5),
  };
  const imageEncoder: ImageEncoder = {
    latentChannels: 4,
    sizeRule: { kind: 'multiple', multiple: 1 },
    run(image, noise) {
      log.encoderImage.push(image.slice());
      log.encoderNoise.push(noise.slice());
      return Float32Array.from(noise, (v, i) => Math.fround(i / 100 - 1));
    },
  };
  const components: PipelineComponents = { textEncoder, denoiser, decoder, imageEncoder };
  return { components, log };
}

function testImage(width: number, height: number): RgbImage {
  return { width, height, data: Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37) % 256) };
}

describe('StableDiffusion.generate with recording components', () => {
  it('img2img draws encoder noise, then latent noise, then the ancestral noise, from one seeded RNG', async () => {
    const { components, log } = fakeComponents();
    const sd = new StableDiffusion(components, tokenizer);
    const init = testImage(53, 37);
    const result = await sd.generate({ prompt: 'a cat', initImage: init, strength: 0.5, steps: 10, seed: 7, sampler: 'k_euler_ancestral', width: 64, height: 64 });

    const n = 4 * 8 * 8;
    const rng = new NumpyLegacyRandom(7);
    const encoderNoise = rng.normalFloat32(n);
    const latentNoise = rng.normalFloat32(n);
    expect(log.encoderNoise).toEqual([encoderNoise]);
    expect(log.encoderImage).toEqual([nchwFromImage(resizeBicubic(init, 64, 64))]);

    // The same run by hand: encoded + latent noise · σ_start, five steps of zero noise prediction.
    const sampler = createSampler('k_euler_ancestral', 10);
    sampler.setStrength(0.5);
    const encoded = Float32Array.from(encoderNoise, (_, i) => Math.fround(i / 100 - 1));
    const added = sampler.scaleInitialNoise(latentNoise);
    let latents = encoded.map((v, i) => v + added[i]!);
    expect(log.unetIn.length).toBe(5);
    for (let i = 0; i < 5; i++) {
      const x = sampler.scaleModelInput(latents);
      expect(log.unetIn[i]!.subarray(0, n)).toEqual(x);
      expect(log.unetIn[i]!.subarray(n)).toEqual(x);
      latents = sampler.step(latents, new Float32Array(n), rng);
    }
    expect(result.latents).toEqual(latents);
    expect(result.seed).toBe(7);
    expect(result.stepsRun).toBe(5);
    expect(result.timings.imageEncoder).toBeGreaterThanOrEqual(0);
    expect(result.image.data.every((v) => v === 191)).toBe(true); // (0.5 + 1) · 127.5 = 191.25, truncated
  });

  it('txt2img with a seed: the initial latents are that seed\'s first draw · σ_max', async () => {
    const { components, log } = fakeComponents();
    await new StableDiffusion(components, tokenizer).generate({ prompt: 'x', steps: 3, seed: 42, width: 64, height: 128 });
    const sampler = createSampler('k_euler', 3);
    const first = sampler.scaleModelInput(sampler.scaleInitialNoise(new NumpyLegacyRandom(42).normalFloat32(4 * 16 * 8)));
    expect(log.unetIn[0]!.subarray(0, first.length)).toEqual(first);
  });

  it('without a seed picks one, reports it, and that seed repeats the run', async () => {
    const a = await new StableDiffusion(fakeComponents().components, tokenizer).generate({ prompt: 'x', steps: 2, width: 64, height: 64 });
    expect(Number.isInteger(a.seed) && a.seed >= 0 && a.seed <= 0xffffffff).toBe(true);
    expect(a.options.seed).toBe(a.seed);
    const b = await new StableDiffusion(fakeComponents().components, tokenizer).generate({ prompt: 'x', steps: 2, width: 64, height: 64, seed: a.seed });
    expect(b.latents).toEqual(a.latents);
  });

  it('reports every step and warns about a truncated prompt', async () => {
    const steps: string[] = [];
    const warnings: string[] = [];
    const long = Array.from({ length: 90 }, () => 'cat').join(' ');
    const r = await new StableDiffusion(fakeComponents().components, tokenizer).generate({
      prompt: long,
      steps: 3,
      seed: 1,
      width: 64,
      height: 64,
      onProgress: (p) => steps.push(`${p.step}/${p.totalSteps}@${p.timestep}`),
      onWarning: (w) => warnings.push(w),
    });
    expect(steps).toEqual(['0/3@999', '1/3@999', '2/3@499.5', '3/3@0']);
    expect(warnings).toEqual(['prompt: the prompt is 90 tokens; the text encoder reads 75, so the last 15 tokens were dropped']);
    expect(r.warnings).toEqual(warnings);
  });
});

describe('argument checks', () => {
  const bad: [Partial<GenerateOptions>, RegExp][] = [
    [{ steps: 0 }, /steps must be a whole number >= 1, got 0/],
    [{ steps: 2.5 }, /steps must be a whole number/],
    [{ sampler: 'euler' }, /^sampler must be one of k_euler, k_euler_ancestral, k_lms, ddim, dpmpp_2m, lcm, got "euler"$/],
    [{ cfg: Number.NaN }, /cfg must be a finite number/],
    [{ seed: -1 }, /seed must be a whole number from 0 to 4294967295/],
    [{ seed: 2 ** 32 }, /seed must be a whole number/],
    [{ width: 100 }, /width must be a multiple of 8 from 8 to 4096, got 100/],
    [{ height: 0 }, /height must be a multiple of 8/],
    [{ strength: 0 }, /strength must be in \(0, 1\], got 0/],
    [{ strength: 1.01 }, /strength must be in \(0, 1\]/],
    [{ tokenizerMode: 'python' as 'hf' }, /^tokenizerMode must be one of hf, seed, got "python"$/],
    [{ negativePrompt: 3 as unknown as string }, /^negativePrompt must be a string$/],
    [{ signal: 'stop' as unknown as AbortSignal }, /^signal must be an AbortSignal$/],
    [{ initImage: testImage(8, 8), steps: 4, strength: 0.2 }, /^strength 0.2 with steps 4 runs no denoising step/],
  ];
  for (const [opts, message] of bad) {
    it(`rejects ${JSON.stringify(opts, (k, v) => (k === 'data' ? undefined : Number.isNaN(v) ? 'NaN' : v))}`, () => {
      expect(() => resolveOptions({ prompt: 'x', ...opts })).toThrow(message);
      expect(() => resolveOptions({ prompt: 'x', ...opts })).toThrow(UsageError);
    });
  }

  it('strength 1 and defaults pass', () => {
    expect(resolveOptions({ prompt: 'x', strength: 1 })).toMatchObject({ steps: 20, sampler: 'k_euler', cfg: 7.5, width: 512, height: 512, strength: 1, tokenizerMode: 'hf', negativePrompt: '' });
  });

  it('a dynamic UNet takes multiples of 64 pixels only', async () => {
    const { components, log } = fakeComponents();
    const sd = new StableDiffusion(components, tokenizer);
    await expect(sd.generate({ prompt: 'x', width: 72, height: 64, steps: 1 })).rejects.toThrow(
      'diffusion.tflite takes widths and heights that are multiples of 64 pixels; got 72x64',
    );
    expect(log.unetIn.length).toBe(0);
  });

  it('a graph converted for one size rejects others', async () => {
    const sd = new StableDiffusion(fakeComponents({ sizeRule: { kind: 'fixed', height: 8, width: 8 } }).components, tokenizer);
    await expect(sd.generate({ prompt: 'x', width: 128, height: 64, steps: 1 })).rejects.toThrow(/diffusion.tflite was converted for 64x64 only; 128x64 needs/);
    expect((await sd.generate({ prompt: 'x', width: 64, height: 64, steps: 1, seed: 0 })).image.width).toBe(64);
  });

  it('img2img without an image encoder is a usage error', async () => {
    const { components } = fakeComponents();
    delete components.imageEncoder;
    const sd = new StableDiffusion(components, tokenizer);
    await expect(sd.generate({ prompt: 'x', initImage: testImage(64, 64), width: 64, height: 64 })).rejects.toThrow(/img2img needs encoder.tflite/);
  });

  it('an unreadable init image path is a clear error before any UNet call', async () => {
    const { components, log } = fakeComponents();
    await expect(new StableDiffusion(components, tokenizer).generate({ prompt: 'x', initImage: '/nonexistent/cat.png', width: 64, height: 64 })).rejects.toThrow(
      /\/nonexistent\/cat.png: cannot read image \(ENOENT\)/,
    );
    expect(log.unetIn.length).toBe(0);
  });

  it('components that do not fit together are rejected at construction', async () => {
    const { components } = fakeComponents({ contextWidth: 16 });
    expect(() => new StableDiffusion(components, tokenizer)).toThrow(SdError);
    expect(() => new StableDiffusion(components, tokenizer)).toThrow(/clip.tflite gives 8-wide text features, diffusion.tflite reads 16-wide context/);
    const other = fakeComponents().components;
    other.decoder = { ...other.decoder, latentChannels: 8 };
    expect(() => new StableDiffusion(other, tokenizer)).toThrow(/diffusion.tflite has 4 latent channels, decoder.tflite 8/);
    const enc = fakeComponents().components;
    enc.imageEncoder = { ...enc.imageEncoder!, latentChannels: 3 };
    const sd = new StableDiffusion(enc, tokenizer); // the image encoder is checked when img2img needs it
    await expect(sd.generate({ prompt: 'x', width: 64, height: 64, initImage: testImage(8, 8) })).rejects.toThrow(/diffusion.tflite has 4 latent channels, encoder.tflite 3/);
  });

  it('load: a missing models folder or file is a usage error', async () => {
    const tok = new URL('../../assets/clip-tokenizer/', import.meta.url).pathname;
    await expect(StableDiffusion.load({ models: '/nonexistent-models', tokenizer: tok })).rejects.toThrow(/models folder \/nonexistent-models does not exist/);
    const file = new URL('../fixtures/tiny-a/model-config.json', import.meta.url).pathname;
    await expect(StableDiffusion.load({ models: file, tokenizer: tok })).rejects.toThrow(/^\/.*model-config\.json is not a folder \(the models folder holds clip.tflite, diffusion.tflite, decoder.tflite\)$/);
    await expect(StableDiffusion.load({ models: new URL('../fixtures/tiny-a/', import.meta.url).pathname, tokenizer: tok })).rejects.toThrow(
      /has no clip.tflite \(expected clip.tflite, diffusion.tflite, decoder.tflite, encoder.tflite; make them with npm run convert\)/,
    );
    await expect(StableDiffusion.load({ models: '.', tokenizer: tok, threads: 0 })).rejects.toThrow(/threads must be a whole number >= 1/);
  });
});

describe('public API (src/index.ts)', () => {
  it('exports the pipeline, tokenizer, samplers, RNG, image helpers and errors', async () => {
    const api = await import('../../src/index.js');
    expect(api.StableDiffusion).toBe(StableDiffusion);
    expect(api.ClipTokenizer).toBe(ClipTokenizer);
    expect(api.SAMPLER_NAMES).toEqual(['k_euler', 'k_euler_ancestral', 'k_lms', 'ddim', 'dpmpp_2m', 'lcm']);
    expect(api.createSampler('k_lms', 4).timesteps).toEqual([999, 666, 333, 0]);
    expect(new api.NumpyLegacyRandom(7).normal(2)).toEqual(new NumpyLegacyRandom(7).normal(2));
    expect(api.UsageError).toBe(UsageError);
    expect(typeof api.encodePng).toBe('function');
    expect(typeof api.loadTfliteComponents).toBe('function');
    expect(api.DEFAULTS).toMatchObject({ steps: 20, sampler: 'k_euler', cfg: 7.5, width: 512, height: 512, strength: 0.8 });
  });
});
