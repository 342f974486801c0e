// Decoding in overlapping latent tiles (src/pipeline/tiled-decode.ts). The
// blend itself is checked exactly with a "decoder" that is local (each
// pixel depends on its own latent cell only: tiles then agree where they
// overlap, so the blend must give the untiled result to rounding). On
// tiny-a's real VAE decoder, group norm statistics and (in SD) the
// mid-block attention are global, so tiles differ: the test records how
// far, as numbers the report quotes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTfliteComponents, type LoadedTfliteComponents } from '../../src/pipeline/tflite-components.js';
import type { Decoder, LatentSize } from '../../src/pipeline/components.js';
import { decodeTiled, tileStarts, TiledDecoder } from '../../src/pipeline/tiled-decode.js';
import { relativeError } from '../support/f64-reference-ops.js';
import { random } from '../tflite/ops-harness.js';
import { writeTinyATflite } from '../support/tiny-a-tflite.js';

/** A per-cell "decoder": pixel (c, Y, X) = f(latents at (Y/8, X/8)), as a decoder without any spatial mixing. */
function localDecode(latents: Float32Array, size: LatentSize): Float32Array {
  const { height: h, width: w } = size;
  const [H, W] = [8 * h, 8 * w];
  const out = new Float32Array(3 * H * W);
  for (let c = 0; c < 3; c++) {
    for (let Y = 0; Y < H; Y++) {
      for (let X = 0; X < W; X++) {
        const cell = Math.floor(Y / 8) * w + Math.floor(X / 8);
        out[(c * H + Y) * W + X] = Math.tanh(latents[c * h * w + cell]! + 0.5 * latents[3 * h * w + cell]! + 0.01 * ((Y % 8) - (X % 8)));
      }
    }
  }
  return out;
}

describe('tile layout and blending', () => {
  it('tiles cover the axis, each full length, the last one ending at the end', () => {
    expect(tileStarts(40, 64, 16)).toEqual([0]);
    expect(tileStarts(64, 64, 16)).toEqual([0]);
    expect(tileStarts(100, 64, 16)).toEqual([0, 36]);
    expect(tileStarts(170, 96, 32)).toEqual([0, 64, 74]);
    expect(tileStarts(160, 64, 16)).toEqual([0, 48, 96]);
  });

  it('a local decoder gives the untiled image (rows and columns of tiles, a non-square latent)', () => {
    const size = { height: 23, width: 37 };
    const latents = random(4 * size.height * size.width, 3);
    const whole = localDecode(latents, size);
    for (const tiling of [{ tile: 8, overlap: 3 }, { tile: 16, overlap: 4 }, { tile: 10, overlap: 0 }]) {
      const tiled = decodeTiled(localDecode, latents, 4, size, tiling);
      expect(relativeError(tiled, whole)).toBeLessThan(1e-6);
    }
  });

  it('rejects a tiling with the overlap as big as the tile', () => {
    expect(() => decodeTiled(localDecode, new Float32Array(4 * 64), 4, { height: 8, width: 8 }, { tile: 4, overlap: 4 })).toThrow(/overlap < tile/);
  });
});

describe('tiny-a VAE decoder in tiles', () => {
  let work: string;
  let components: LoadedTfliteComponents;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'sd-tiled-decode-'));
    writeTinyATflite(work, ['clip', 'diffusion', 'decoder']);
    components = await loadTfliteComponents(work, 2);
  });
  afterAll(async () => {
    await components?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('TiledDecoder runs small latents whole and tiles big ones; tiles stay close to the whole decode', () => {
    const decoder: Decoder = components.decoder;
    const size = { height: 40, width: 48 };
    const latents = random(4 * size.height * size.width, 11, -2, 2);
    const whole = decoder.run(latents, size);
    const untiled = new TiledDecoder(decoder, size.height * size.width, { tile: 24, overlap: 8 });
    expect(untiled.run(latents, size)).toEqual(whole);
    const errors: Record<string, number> = {};
    for (const tiling of [{ tile: 24, overlap: 8 }, { tile: 32, overlap: 16 }]) {
      const tiled = new TiledDecoder(decoder, 16 * 16, tiling);
      tiled.prepare(size);
      const image = tiled.run(latents, size);
      expect(image.length).toBe(whole.length);
      errors[`${tiling.tile}/${tiling.overlap}`] = relativeError(image, whole);
    }
    console.log(`tiny-a decoder ${size.width}x${size.height} latent, tiled vs whole (max|d|/max|ref|):`, errors);
    // Bigger tiles, wider overlap: closer (group norm statistics over more of the image).
    expect(errors['32/16']!).toBeLessThan(errors['24/8']!);
    expect(errors['32/16']!).toBeLessThan(0.05);
  });
});
