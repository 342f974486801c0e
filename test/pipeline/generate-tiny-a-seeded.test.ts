import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGenerateArgs, runGenerate } from '../../src/cli/generate-command.js';
import { readNpyFloat32 } from '../../src/io/npy.js';
import type { PipelineComponents } from '../../src/pipeline/components.js';
import { decodeImage } from '../../src/pipeline/image/decode.js';
import { NumpyLegacyRandom } from '../../src/pipeline/rng/index.js';
import { createSampler } from '../../src/pipeline/samplers/index.js';
import { StableDiffusion } from '../../src/pipeline/stable-diffusion.js';
import { loadTfliteComponents } from '../../src/pipeline/tflite-components.js';
import { ClipTokenizer } from '../../src/pipeline/tokenizer/clip-tokenizer.js';
import { writeTinyATflite } from '../support/tiny-a-tflite.js';
import { textSink } from '../support/text-sink.js';

/*
 * End to end against the reference pipeline: tiny-a converted by our
 * converter, run by our interpreter through `npm run generate`'s code, with
 * --seed and --tokenizer-mode seed, compared with test/fixtures/tiny-a-seeded
 * (the reference pipeline on the original networks, float64, numpy's RNG).
 * Three of the twelve cases run by default (every sampler, both seeds, both
 * prompt pairs); SD_TFLITE_ALL_SEEDED=1 runs all twelve.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures');
const SEEDED = join(FIXTURES, 'tiny-a-seeded');
const VOCAB = join(ROOT, 'assets', 'clip-tokenizer');
const manifest = JSON.parse(readFileSync(join(SEEDED, 'manifest.json'), 'utf8')) as {
  cases: { id: string; sampler: string; seed: number; prompt: string; negative_prompt: string; steps: number; cfg_scale: number; width: number; height: number; files: { png: string; final_latents: string } }[];
};
const DEFAULT_CASES = ['k_euler_s42_p0', 'k_euler_ancestral_s1234_p1', 'k_lms_s42_p1'];
const cases = process.env['SD_TFLITE_ALL_SEEDED'] === '1' ? manifest.cases : manifest.cases.filter((c) => DEFAULT_CASES.includes(c.id));

let work: string;
let models: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sd-seeded-'));
  models = join(work, 'models');
  mkdirSync(models);
  // The default conversion: dynamic spatial sizes, resized by the pipeline per run.
  writeTinyATflite(models);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Case = (typeof manifest.cases)[number];

function generateArgs(c: Case, output: string, latents: string, threads: number, extra: string[] = []): string[] {
  return [
    '--models', models, '--tokenizer', VOCAB, '--tokenizer-mode', 'seed',
    '--prompt', c.prompt, '--negative-prompt', c.negative_prompt, '--sampler', c.sampler, '--seed', String(c.seed),
    '--steps', String(c.steps), '--cfg', String(c.cfg_scale), '--width', String(c.width), '--height', String(c.height),
    '--threads', String(threads), '--output', output, '--save-latents', latents, ...extra,
  ];
}

async function generate(c: Case, name: string, threads: number): Promise<{ png: Buffer; latents: Float32Array }> {
  const output = join(work, `${name}.png`);
  const latents = join(work, `${name}.npy`);
  await runGenerate(parseGenerateArgs(generateArgs(c, output, latents, threads))!, textSink(), textSink());
  return { png: readFileSync(output), latents: readNpyFloat32(latents).data };
}

/** PNG bytes of the cases run above, for the repeat test. */
const written = new Map<string, { png: Buffer; latents: Float32Array }>();

describe.sequential('generate on converted tiny-a vs the reference pipeline (tiny-a-seeded)', () => {
  for (const c of cases) {
    it(`${c.id}: final latents within 1e-3 x max|ref|, uint8 image within 1 for >= 99.9% of values`, async () => {
      const ours = await generate(c, c.id, 1);
      written.set(c.id, ours);
      const ref = readNpyFloat32(join(SEEDED, c.files.final_latents)).data;
      expect(ours.latents.length).toBe(ref.length);
      let maxRef = 0;
      let maxDiff = 0;
      ref.forEach((r, i) => {
        maxRef = Math.max(maxRef, Math.abs(r));
        maxDiff = Math.max(maxDiff, Math.abs(ours.latents[i]! - r));
      });
      expect(maxDiff / maxRef).toBeLessThanOrEqual(1e-3);

      const refPng = join(SEEDED, c.files.png);
      const a = decodeImage(ours.png, `${c.id}.png`);
      const b = decodeImage(readFileSync(refPng), refPng);
      expect([a.width, a.height]).toEqual([b.width, b.height]);
      let within = 0;
      a.data.forEach((v, i) => {
        if (Math.abs(v - b.data[i]!) <= 1) within++;
      });
      expect(within / a.data.length).toBeGreaterThanOrEqual(0.999);
    });
  }

  it('the same command twice, and with --threads 1 vs 2, writes byte-identical images', async () => {
    const c = cases.find((x) => x.sampler === 'k_euler_ancestral')!;
    const one = written.get(c.id)!;
    const [again, two] = [await generate(c, 'repeat', 1), await generate(c, 'threads-2', 2)];
    expect(again.png.equals(one.png)).toBe(true);
    expect(two.png.equals(one.png)).toBe(true);
    expect(two.latents).toEqual(one.latents);
  });

  it('--batch-count 3 from seed - 1: the second image is byte-identical to the single run with the seed', async () => {
    const c = cases.find((x) => x.sampler === 'k_euler_ancestral')!; // draws noise every step: the most seed-dependent
    const one = written.get(c.id)!;
    const out = join(work, 'batch.png');
    const lat = join(work, 'batch.npy');
    await runGenerate(parseGenerateArgs(generateArgs({ ...c, seed: c.seed - 1 }, out, lat, 1, ['--batch-count', '3']))!, textSink(), textSink());
    const images = [c.seed - 1, c.seed, c.seed + 1].map((s) => readFileSync(join(work, `batch-${s}.png`)));
    expect(images[1]!.equals(one.png)).toBe(true);
    expect(readNpyFloat32(join(work, `batch-${c.seed}.npy`)).data).toEqual(one.latents);
    expect(images[0]!.equals(one.png) || images[2]!.equals(one.png)).toBe(false);
  });

  it('img2img on the real encoder at a non-square size: encoder noise, then latent noise, from the seed', async () => {
    const loaded = await loadTfliteComponents(models, 1);
    const encoded: Float32Array[] = [];
    const unetIn: Float32Array[] = [];
    const { denoiser, imageEncoder } = loaded;
    const encoder = imageEncoder!;
    // The real components, recording what goes into the UNet and comes out of the encoder.
    const components: PipelineComponents = {
      textEncoder: loaded.textEncoder,
      decoder: loaded.decoder,
      denoiser: {
        latentChannels: denoiser.latentChannels,
        contextWidth: denoiser.contextWidth,
        timeEmbeddingWidth: denoiser.timeEmbeddingWidth,
        sizeRule: denoiser.sizeRule,
        run: (x, ctx, t, size) => (unetIn.push(x), denoiser.run(x, ctx, t, size)),
      },
      imageEncoder: {
        latentChannels: encoder.latentChannels,
        sizeRule: encoder.sizeRule,
        run: (img, noise, size) => (encoded.push(encoder.run(img, noise, size)), encoded.at(-1)!),
      },
    };
    const sd = new StableDiffusion(components, ClipTokenizer.load(VOCAB), () => loaded.close());
    const init = decodeImage(readFileSync(join(SEEDED, 'k_euler_s42_p0.png')), 'init');
    const r = await sd.generate({ prompt: 'a cat', seed: 3, steps: 4, strength: 0.5, width: 128, height: 64, initImage: init, tokenizerMode: 'seed' });
    await sd.close();
    expect([r.image.width, r.image.height]).toEqual([128, 64]);
    expect(r.latentShape).toEqual([1, 4, 8, 16]);
    expect(unetIn.length).toBe(2);

    const rng = new NumpyLegacyRandom(3);
    rng.normal(512); // the encoder's noise
    const sampler = createSampler('k_euler', 4);
    sampler.setStrength(0.5);
    const noise = sampler.scaleInitialNoise(rng.normalFloat32(512));
    const start = sampler.scaleModelInput(encoded[0]!.map((v, i) => v + noise[i]!));
    expect(unetIn[0]!.subarray(0, 512)).toEqual(start);
  });

  it('a size the dynamic UNet cannot take is refused before any work', async () => {
    const sd = await StableDiffusion.load({ models }); // the bundled vocabulary
    await expect(sd.generate({ prompt: 'x', width: 96, height: 64, steps: 1 })).rejects.toThrow(/diffusion.tflite takes widths and heights that are multiples of 64 pixels; got 96x64/);
    await sd.close();
    // Past the size rule, the graph's own shape inference is the last check, also a UsageError.
    const loaded = await loadTfliteComponents(models, 1, 'reference');
    expect(() => loaded.denoiser.prepare!({ height: 9, width: 8 })).toThrow(/diffusion.tflite cannot take 64x72: .*CONCATENATION/);
    await loaded.close();
  });
});
