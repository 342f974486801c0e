// Kernel variant choice: SD_TFLITE_SIMD overrides what 'auto' resolves to,
// and a CLI's start-up (setUpKernels, in a fresh process) turns relaxed
// SIMD on unless SD_TFLITE_SIMD=plain, with detection deciding.
import { afterEach, describe, expect, it } from 'vitest';
import { chooseVariant, detectWasmFeatures, SIMD_ENV } from '../../src/kernels/wasm/loader.js';
import { runTs } from '../support/run-cli.js';

/** Runs wasm-loader-child.ts with SD_TFLITE_SIMD set to `simd` (or unset). */
async function child(simd: string | undefined): Promise<{ before: boolean; after: boolean; variant: string }> {
  const env = { ...process.env };
  if (simd === undefined) delete env[SIMD_ENV];
  else env[SIMD_ENV] = simd;
  const { status, stdout, stderr } = await runTs('test/kernels/wasm-loader-child.ts', [], env);
  if (status !== 0) throw new Error(`child exited ${status}: ${stderr}`);
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

const saved = process.env[SIMD_ENV];
afterEach(() => {
  if (saved === undefined) delete process.env[SIMD_ENV];
  else process.env[SIMD_ENV] = saved;
});

describe('SD_TFLITE_SIMD', () => {
  it('plain forces the SIMD build; relaxed needs an engine that validates it; anything else is refused', () => {
    const relaxed = detectWasmFeatures().relaxedSimd;
    process.env[SIMD_ENV] = 'plain';
    expect(chooseVariant()).toBe('simd');
    if (relaxed) expect(chooseVariant('relaxed')).toBe('relaxed'); // an explicit request wins over the variable
    process.env[SIMD_ENV] = 'relaxed';
    if (relaxed) expect(chooseVariant()).toBe('relaxed');
    else expect(() => chooseVariant()).toThrow(/relaxed SIMD/);
    process.env[SIMD_ENV] = 'fast';
    expect(() => chooseVariant()).toThrow(/SD_TFLITE_SIMD must be plain, relaxed or auto, got "fast"/);
    process.env[SIMD_ENV] = 'auto';
    expect(chooseVariant()).toBe(relaxed ? 'relaxed' : 'simd');
  });
});

describe('CLI start-up', () => {
  it('turns relaxed SIMD on when the engine can, and leaves it off with SD_TFLITE_SIMD=plain', async () => {
    const [auto, plain] = await Promise.all([child(undefined), child('plain')]);
    // Node 20 validates relaxed SIMD only once the flag is set; later engines may do so from the start.
    expect(auto.after).toBe(true);
    expect(auto.variant).toBe('relaxed');
    expect(plain.after).toBe(plain.before);
    expect(plain.variant).toBe('simd');
  });
});
