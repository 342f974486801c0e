import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineComponents, TextEncoder } from '../../src/pipeline/components.js';
import { StableDiffusion } from '../../src/pipeline/stable-diffusion.js';
import { ClipTokenizer } from '../../src/pipeline/tokenizer/clip-tokenizer.js';
import { writeToyModels } from './pipeline-toy-models.js';
import { standInDecoder, standInDenoiser } from './stand-in-components.js';

// generate({ signal }): an abort stops the run at the next step boundary,
// rejects with an AbortError, and leaves the models ready for the next call.
const TOKENIZER = new URL('../../assets/clip-tokenizer/', import.meta.url).pathname;
const tokenizer = ClipTokenizer.load(TOKENIZER);
const HIDDEN = 8;

/** Components that count their calls; the UNet depends on latents and context and takes at least `busyMs`. */
function countingComponents(busyMs = 0) {
  const calls = { text: 0, unet: 0, decoder: 0 };
  const textEncoder: TextEncoder = {
    hiddenSize: HIDDEN,
    run: (tokens) => (calls.text++, Float32Array.from({ length: 77 * HIDDEN }, (_, i) => tokens[i % 77]! / 1e5)),
  };
  const denoiser = standInDenoiser(HIDDEN, (latents, context) => {
    calls.unet++;
    const until = performance.now() + busyMs;
    while (performance.now() < until);
    return Float32Array.from(latents, (v, i) => Math.fround(0.1 * v + context[i % context.length]!));
  });
  const decoded = standInDecoder();
  const decoder = standInDecoder((latents, size) => (calls.decoder++, decoded.run(latents, size)));
  const components: PipelineComponents = { textEncoder, denoiser, decoder };
  return { components, calls };
}

const options = { prompt: 'a red cube', steps: 6, seed: 3, width: 64, height: 64, sampler: 'k_euler_ancestral' } as const;

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject');
}

describe('generate with an AbortSignal', () => {
  it('aborted during step 2: stops after that step, AbortError with the reason as cause; the next call is a fresh run', async () => {
    const { components, calls } = countingComponents();
    const sd = new StableDiffusion(components, tokenizer);
    const stop = new AbortController();
    const reason = new Error('user pressed stop');
    const err = await rejection(sd.generate({ ...options, signal: stop.signal, onProgress: (p) => p.step === 2 && stop.abort(reason) }));
    expect(err.name).toBe('AbortError');
    expect(err.code).toBe('ABORT_ERR');
    expect(err.message).toBe('generate was aborted');
    expect(err.cause).toBe(reason);
    expect(calls).toEqual({ text: 2, unet: 2, decoder: 0 });

    const again = await sd.generate(options);
    const fresh = await new StableDiffusion(countingComponents().components, tokenizer).generate(options);
    expect(again.latents).toEqual(fresh.latents);
    expect(again.image.data).toEqual(fresh.image.data);
    expect(again.stepsRun).toBe(6);
  });

  it('an abort from a timer lands between steps while the UNet runs (generate yields to the event loop)', async () => {
    const { components, calls } = countingComponents(4);
    const sd = new StableDiffusion(components, tokenizer);
    const err = await rejection(sd.generate({ ...options, steps: 500, signal: AbortSignal.timeout(40) }));
    expect(err.name).toBe('AbortError');
    expect((err.cause as Error).name).toBe('TimeoutError');
    expect(calls.unet).toBeGreaterThan(0);
    expect(calls.unet).toBeLessThan(500);
    expect(calls.decoder).toBe(0);
  });

  it('already aborted: rejects before any network runs', async () => {
    const { components, calls } = countingComponents();
    const err = await rejection(new StableDiffusion(components, tokenizer).generate({ ...options, signal: AbortSignal.abort() }));
    expect(err.name).toBe('AbortError');
    expect(calls).toEqual({ text: 0, unet: 0, decoder: 0 });
  });

  it('calls made together run one after another, and aborting one leaves the others as if run alone', async () => {
    const { components } = countingComponents();
    const sd = new StableDiffusion(components, tokenizer);
    const stop = new AbortController();
    const order: string[] = [];
    const track = (name: string) => (p: { step: number }) => order.push(`${name}${p.step}`);
    const [a, b, c] = await Promise.allSettled([
      sd.generate({ ...options, width: 64, onProgress: track('a') }),
      sd.generate({ ...options, width: 128, signal: stop.signal, onProgress: (p) => (track('b')(p), p.step === 1 && stop.abort()) }),
      sd.generate({ ...options, seed: 4, width: 128, onProgress: track('c') }),
    ]);
    expect(order.join(' ')).toBe('a0 a1 a2 a3 a4 a5 a6 b0 b1 c0 c1 c2 c3 c4 c5 c6');
    expect(b.status === 'rejected' && (b.reason as Error).name).toBe('AbortError');
    const alone = (o: object) => new StableDiffusion(countingComponents().components, tokenizer).generate({ ...options, ...o });
    expect(a.status === 'fulfilled' && a.value.latents).toEqual((await alone({ width: 64 })).latents);
    expect(c.status === 'fulfilled' && c.value.latents).toEqual((await alone({ seed: 4, width: 128 })).latents);
  });

  it('a call waiting for its turn rejects as soon as it is aborted, without waiting for the one running', async () => {
    const { components, calls } = countingComponents(2);
    const sd = new StableDiffusion(components, tokenizer);
    const running = sd.generate({ ...options, steps: 100 });
    const stop = new AbortController();
    const waiting = sd.generate({ ...options, signal: stop.signal });
    setTimeout(() => stop.abort(), 20);
    expect((await rejection(waiting)).name).toBe('AbortError');
    expect(calls.unet).toBeLessThan(100); // the first call is still running
    expect((await running).stepsRun).toBe(100);
    expect(calls.unet).toBe(100); // the aborted call ran no step
    expect((await sd.generate(options)).stepsRun).toBe(6);
  });
});

describe('abort on .tflite files run by the interpreter', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'sd-abort-'));
    mkdirSync(join(work, 'models'));
    writeToyModels(join(work, 'models'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('abort mid-run, then generate again: the same image as a freshly loaded model', async () => {
    const opts = { prompt: 'a red cube', negativePrompt: 'blurry', steps: 5, seed: 42, width: 64, height: 64, sampler: 'k_euler_ancestral' } as const;
    const sd = await StableDiffusion.load({ models: join(work, 'models'), tokenizer: TOKENIZER, threads: 1 });
    try {
      const stop = new AbortController();
      const err = await rejection(sd.generate({ ...opts, seed: 7, signal: stop.signal, onProgress: (p) => p.step === 3 && stop.abort() }));
      expect(err.name).toBe('AbortError');
      const again = await sd.generate(opts);

      const freshSd = await StableDiffusion.load({ models: join(work, 'models'), tokenizer: TOKENIZER, threads: 1 });
      const fresh = await freshSd.generate(opts);
      await freshSd.close();
      expect(again.latents).toEqual(fresh.latents);
      expect(again.image.data).toEqual(fresh.image.data);
    } finally {
      await sd.close();
    }
  });
});
