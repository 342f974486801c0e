// StableDiffusion.load turns relaxed SIMD on (setUpKernels), so library
// users get the faster kernels the CLIs get; SD_TFLITE_SIMD=plain keeps it
// off. Its own file: vitest runs each file in a fresh process, where Node
// 20 starts with relaxed SIMD off.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detectWasmFeatures, SIMD_ENV } from '../../src/kernels/wasm/loader.js';
import { StableDiffusion } from '../../src/pipeline/stable-diffusion.js';
import { writeTinyATflite } from '../support/tiny-a-tflite.js';

const models = mkdtempSync(join(tmpdir(), 'sd-relaxed-'));
afterAll(() => rmSync(models, { recursive: true, force: true }));

describe('StableDiffusion.load and relaxed SIMD', () => {
  it('runs the relaxed kernels unless SD_TFLITE_SIMD=plain', async () => {
    writeTinyATflite(models, ['clip', 'diffusion', 'decoder']);
    const before = detectWasmFeatures().relaxedSimd;
    const sd = await StableDiffusion.load({ models, threads: 1 });
    await sd.close();
    expect(detectWasmFeatures().relaxedSimd).toBe(process.env[SIMD_ENV] === 'plain' ? before : true);
  });
});
