// Other resolutions from the same files (issue 7 part 4; 768x512 and
// 512x768 at full size): tiny-a converted once with dynamic spatial dims,
// run wide and tall. The UNet on the WebAssembly kernels must match the
// plain reference kernels at both orientations (a mixed-up H and W in a
// kernel's indexing shows there), and whole images must come out at the
// asked width x height.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StableDiffusion } from '../../src/pipeline/stable-diffusion.js';
import { loadTfliteComponents } from '../../src/pipeline/tflite-components.js';
import { timeEmbedding } from '../../src/pipeline/time-embedding.js';
import { random } from '../tflite/ops-harness.js';
import { writeTinyATflite } from '../support/tiny-a-tflite.js';

let work: string;
let models: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sd-non-square-'));
  models = join(work, 'models');
  mkdirSync(models);
  writeTinyATflite(models, ['clip', 'diffusion', 'decoder']);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('non-square sizes from one dynamic-size conversion (tiny-a)', () => {
  it('UNet at 16x8 and 8x16 latents: WebAssembly kernels match the reference kernels', async () => {
    const fast = await loadTfliteComponents(models, 2, 'wasm');
    const plain = await loadTfliteComponents(models, 1, 'reference');
    try {
      const d = fast.denoiser;
      const context = random(2 * 77 * d.contextWidth, 7);
      const temb = timeEmbedding(500, d.timeEmbeddingWidth);
      for (const size of [{ height: 16, width: 8 }, { height: 8, width: 16 }]) {
        const x = random(2 * d.latentChannels * size.height * size.width, size.height);
        const a = d.run(x, context, temb, size);
        const b = plain.denoiser.run(x, context, temb, size);
        expect(a.length).toBe(2 * d.latentChannels * size.height * size.width);
        let [num, den] = [0, 0];
        a.forEach((v, i) => {
          num += (v - b[i]!) ** 2;
          den += b[i]! ** 2;
        });
        expect(Math.sqrt(num / den)).toBeLessThan(1e-5);
      }
    } finally {
      await fast.close();
      await plain.close();
    }
  });

  it.each([
    [128, 64],
    [64, 128],
  ])('whole image at %ix%i', async (width, height) => {
    const sd = await StableDiffusion.load({ models, threads: 2 });
    try {
      const r = await sd.generate({ prompt: 'a wide or tall picture', seed: 5, steps: 2, width, height, tokenizerMode: 'seed' });
      expect([r.image.width, r.image.height]).toEqual([width, height]);
      expect(r.image.data.length).toBe(width * height * 3);
      expect(r.latentShape).toEqual([1, 4, height / 8, width / 8]);
      expect(r.latents.every(Number.isFinite)).toBe(true);
    } finally {
      await sd.close();
    }
  });
});
