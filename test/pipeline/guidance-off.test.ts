import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Denoiser, PipelineComponents, TextEncoder } from '../../src/pipeline/components.js';
import { createSampler } from '../../src/pipeline/samplers/create-sampler.js';
import { NumpyLegacyRandom } from '../../src/pipeline/rng/numpy-legacy-random.js';
import { StableDiffusion } from '../../src/pipeline/stable-diffusion.js';
import { loadTfliteComponents } from '../../src/pipeline/tflite-components.js';
import { ClipTokenizer } from '../../src/pipeline/tokenizer/clip-tokenizer.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';
import { TOY, writeToyModels } from './pipeline-toy-models.js';
import { standInDecoder, standInDenoiser } from './stand-in-components.js';
import { writeTinyATflite } from '../support/tiny-a-tflite.js';

// cfg <= 1 (guidance off, as diffusers decides): one text encoding, and the
// UNet at batch 1 when the denoiser takes it, else [x, x] / [cond, cond] at
// batch 2; either way the prompt's noise prediction alone drives the sampler.
const TOKENIZER = new URL('../../assets/clip-tokenizer/', import.meta.url).pathname;
const tokenizer = ClipTokenizer.load(TOKENIZER);
const HIDDEN = 8;
const SIZE = 64;
const COUNT = 4 * (SIZE / 8) ** 2;

/** The stand-in UNet's prediction for one latent and its context (each batch item on its own). */
function predict(x: Float32Array, context: Float32Array): Float32Array {
  return Float32Array.from(x, (v, i) => Math.fround(0.3 * v + Math.sin(i) * context[i % context.length]!));
}

/** Components that record their calls; the denoiser takes a batch of 1 only when `batchOfOne`. */
function standIns(batchOfOne: boolean) {
  const calls = { texts: [] as number[][], batches: [] as number[], prepared: [] as number[] };
  const textEncoder: TextEncoder = {
    hiddenSize: HIDDEN,
    run: (tokens) => {
      calls.texts.push([...tokens.slice(0, 4)]);
      return Float32Array.from({ length: 77 * HIDDEN }, (_, i) => (tokens[i % 77]! % 1000) / 1000 - 0.3);
    },
  };
  const run: Denoiser['run'] = (latents, context) => {
    const batch = latents.length / COUNT;
    calls.batches.push(batch);
    expect(context.length).toBe(batch * 77 * HIDDEN);
    const out = new Float32Array(latents.length);
    for (let b = 0; b < batch; b++) {
      const ctx = context.subarray(b * 77 * HIDDEN, (b + 1) * 77 * HIDDEN);
      out.set(predict(latents.subarray(b * COUNT, (b + 1) * COUNT), ctx), b * COUNT);
    }
    return out;
  };
  const denoiser = standInDenoiser(HIDDEN, run, {
    acceptsBatchOfOne: batchOfOne,
    prepare: (_size, batch) => void calls.prepared.push(batch ?? 2),
  });
  const components: PipelineComponents = { textEncoder, denoiser, decoder: standInDecoder() };
  return { components, calls };
}

const base = { prompt: 'a red cube', steps: 4, seed: 7, width: SIZE, height: SIZE, sampler: 'lcm', cfg: 1 } as const;

describe('guidance off (cfg <= 1) with stand-in components', () => {
  it('batch 1 and batch 2 ([x, x], [cond, cond]) give the same latents; one text encoding each', async () => {
    const one = standIns(true);
    const two = standIns(false);
    const r1 = await new StableDiffusion(one.components, tokenizer).generate(base);
    const r2 = await new StableDiffusion(two.components, tokenizer).generate(base);
    expect(one.calls.batches).toEqual([1, 1, 1, 1]);
    expect(two.calls.batches).toEqual([2, 2, 2, 2]);
    expect(one.calls.prepared).toEqual([1]);
    expect(two.calls.prepared).toEqual([2]);
    expect(one.calls.texts).toHaveLength(1);
    expect(two.calls.texts).toHaveLength(1);
    expect(r1.latents).toEqual(r2.latents);
    expect(r1.image.data).toEqual(r2.image.data);
  });

  it("the latents are the sampler run on the prompt's prediction alone (written out by hand)", async () => {
    for (const sampler of ['lcm', 'k_euler', 'k_euler_ancestral'] as const) {
      const { components } = standIns(true);
      const r = await new StableDiffusion(components, tokenizer).generate({ ...base, sampler });

      const cond = components.textEncoder.run(tokenizer.frame(tokenizer.textIds(base.prompt)).ids);
      const s = createSampler(sampler, base.steps);
      const rng = new NumpyLegacyRandom(base.seed);
      let latents = s.scaleInitialNoise(Float32Array.from(rng.normal(COUNT)));
      for (const _ of [...s.timesteps]) latents = s.step(latents, predict(s.scaleModelInput(latents), cond), rng);
      expect(r.latents, sampler).toEqual(latents);
    }
  });

  it('cfg below 1 runs as cfg 1 (diffusers ignores it); cfg 1.5 runs guidance at batch 2 with the negative prompt', async () => {
    const at1 = await new StableDiffusion(standIns(true).components, tokenizer).generate(base);
    const at05 = await new StableDiffusion(standIns(true).components, tokenizer).generate({ ...base, cfg: 0.5 });
    const at0 = await new StableDiffusion(standIns(false).components, tokenizer).generate({ ...base, cfg: 0 });
    expect(at05.latents).toEqual(at1.latents);
    expect(at0.latents).toEqual(at1.latents);

    const guided = standIns(true);
    const r = await new StableDiffusion(guided.components, tokenizer).generate({ ...base, cfg: 1.5, negativePrompt: 'blurry' });
    expect(guided.calls.batches).toEqual([2, 2, 2, 2]);
    expect(guided.calls.texts).toHaveLength(2);
    expect(r.warnings).toEqual([]);
    expect(r.latents).not.toEqual(at1.latents);
  });

  it('a negative prompt with cfg <= 1 is ignored, with a warning; none without one', async () => {
    const seen: string[] = [];
    const { components, calls } = standIns(true);
    const sd = new StableDiffusion(components, tokenizer);
    const withNegative = await sd.generate({ ...base, negativePrompt: 'blurry', onWarning: (w) => seen.push(w) });
    expect(withNegative.warnings).toEqual(['negative prompt ignored: cfg 1 <= 1 turns classifier-free guidance off, so only the prompt conditions the image']);
    expect(seen).toEqual(withNegative.warnings);
    expect(calls.texts).toHaveLength(1); // the negative prompt was not encoded
    const without = await new StableDiffusion(standIns(true).components, tokenizer).generate(base);
    expect(without.warnings).toEqual([]);
    expect(withNegative.latents).toEqual(without.latents);
  });
});

/** The toy UNet of pipeline-toy-models.ts (0.1·x + mean(context) + mean(temb)) with a dynamic batch dim. */
function writeDynamicBatchDiffusion(path: string): void {
  const m = new TfliteModelBuilder();
  const g = m.main;
  const { channels: c, latent: s, hidden: h, tembWidth: w } = TOY;
  const bytes = (a: Float32Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const i32 = (name: string, ...v: number[]) => g.addConstant(name, 'INT32', [v.length], bytes(Int32Array.from(v)));
  const op = (name: Parameters<typeof g.addOperator>[0], inputs: number[], shape: number[], options?: object) => {
    const out = g.addTensor(`t${inputs.join('_')}_${name}`, 'FLOAT32', shape);
    g.addOperator(name, inputs, [out], options as never);
    return out;
  };
  const x = g.addInput('args_0', 'FLOAT32', [-1, c, s, s]);
  const ctx = g.addInput('args_1', 'FLOAT32', [-1, 77, h]);
  const temb = g.addInput('args_2', 'FLOAT32', [1, w]);
  const xs = op('MUL', [x, g.addConstant('tenth', 'FLOAT32', [], bytes(Float32Array.of(0.1)))], [-1, c, s, s]);
  const cm = op('MEAN', [ctx, i32('axes12', 1, 2)], [-1, 1, 1], { keepDims: true });
  const cm4 = op('RESHAPE', [cm, i32('shape_b111', -1, 1, 1, 1)], [-1, 1, 1, 1]);
  const tm = op('MEAN', [temb, i32('axes1', 1)], [1, 1], { keepDims: true });
  const tm4 = op('RESHAPE', [tm, i32('shape_1111', 1, 1, 1, 1)], [1, 1, 1, 1]);
  const a = op('ADD', [xs, cm4], [-1, c, s, s]);
  const y = op('ADD', [a, tm4], [-1, c, s, s]);
  g.markOutput(y);
  m.addSignature('diffusion', { args_0: x, args_1: ctx, args_2: temb }, { output_0: y });
  m.writeFile(path);
}

describe('guidance off on .tflite files run by the interpreter', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'sd-guidance-off-'));
    for (const d of ['static', 'dynamic', 'tiny-a']) mkdirSync(join(work, d));
    writeToyModels(join(work, 'static'), false);
    writeToyModels(join(work, 'dynamic'), false);
    writeDynamicBatchDiffusion(join(work, 'dynamic', 'diffusion.tflite'));
    writeTinyATflite(join(work, 'tiny-a'), ['clip', 'diffusion', 'decoder']);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** Loads a models folder; records the batch of every UNet call. */
  async function load(dir: string, kernels: 'reference' | 'wasm' = 'reference') {
    const components = await loadTfliteComponents(join(work, dir), 1, kernels);
    const batches: number[] = [];
    const run = components.denoiser.run.bind(components.denoiser);
    components.denoiser.run = (latents, context, temb, size) => {
      batches.push(latents.length / (components.denoiser.latentChannels * size.height * size.width));
      return run(latents, context, temb, size);
    };
    return { sd: new StableDiffusion(components, tokenizer, () => components.close()), components, batches };
  }

  it('a dynamic batch dim runs batch 1 at cfg 1, a fixed one batch 2; same latents; cfg 7.5 the same on both', async () => {
    const fixed = await load('static');
    const dynamic = await load('dynamic');
    try {
      expect(fixed.components.denoiser.acceptsBatchOfOne).toBe(false);
      expect(dynamic.components.denoiser.acceptsBatchOfOne).toBe(true);
      const options = { ...base, width: TOY.pixels, height: TOY.pixels, steps: 3 };
      const a = await fixed.sd.generate(options);
      const b = await dynamic.sd.generate(options);
      expect(fixed.batches).toEqual([2, 2, 2]);
      expect(dynamic.batches).toEqual([1, 1, 1]);
      expect(b.latents).toEqual(a.latents);
      // Guidance on after a batch-1 run: the dynamic graph resizes back to batch 2.
      const guided = { ...options, cfg: 7.5, negativePrompt: 'blurry', sampler: 'k_euler' } as const;
      const c = await fixed.sd.generate(guided);
      const d = await dynamic.sd.generate(guided);
      expect(dynamic.batches.slice(3)).toEqual([2, 2, 2]);
      expect(d.latents).toEqual(c.latents);
      expect(d.latents).not.toEqual(b.latents);
    } finally {
      await fixed.sd.close();
      await dynamic.sd.close();
    }
  });

  it('tiny-a from our converter (dynamic batch): lcm at cfg 1 on batch 1 gives the latents of batch 2 with [x, x], bit for bit', async () => {
    const one = await load('tiny-a', 'wasm');
    const two = await load('tiny-a', 'wasm');
    // The same file, its batch-1 ability hidden: the pipeline falls back to [x, x] / [cond, cond].
    Object.defineProperty(two.components.denoiser, 'acceptsBatchOfOne', { value: false });
    try {
      expect(one.components.denoiser.acceptsBatchOfOne).toBe(true);
      const options = { prompt: 'a red cube', sampler: 'lcm', steps: 4, cfg: 1, seed: 5, width: 64, height: 64 } as const;
      const a = await one.sd.generate(options);
      const b = await two.sd.generate(options);
      expect(one.batches).toEqual([1, 1, 1, 1]);
      expect(two.batches).toEqual([2, 2, 2, 2]);
      expect(a.latents).toEqual(b.latents);
    } finally {
      await one.sd.close();
      await two.sd.close();
    }
  });
});
