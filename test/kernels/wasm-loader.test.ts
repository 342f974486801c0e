import { describe, expect, it } from 'vitest';
import {
  chooseVariant,
  compileKernels,
  createSharedMemory,
  detectWasmFeatures,
  instantiateKernels,
  type KernelVariant,
} from '../../src/kernels/wasm/loader.js';
import { WasmArena } from '../../src/kernels/wasm/arena.js';

function compiles(variant: KernelVariant): boolean {
  try {
    compileKernels(variant);
    return true;
  } catch {
    return false;
  }
}

describe('kernel loader', () => {
  it('detects features consistently with what the engine compiles', () => {
    const features = detectWasmFeatures();
    expect(features.simd).toBe(true);
    expect(features.sharedMemory).toBe(true);
    expect(compiles('simd')).toBe(true);
    expect(compiles('relaxed')).toBe(features.relaxedSimd);
    expect(chooseVariant()).toBe(features.relaxedSimd ? 'relaxed' : 'simd');
    if (!features.relaxedSimd) expect(() => chooseVariant('relaxed')).toThrow(/relaxed SIMD/);
  });

  it('runs the SIMD peak kernel on shared memory with the exact sum', () => {
    const memory = createSharedMemory(2, 64);
    const arena = new WasmArena(memory, 64);
    const kernels = instantiateKernels(compileKernels(chooseVariant()), memory);
    const floats = 64;
    const buf = arena.alloc(floats * 4);
    const data = arena.f32(buf, floats);
    for (let i = 0; i < floats; i++) data[i] = (i * 7) % 5; // small integers: every sum is exact
    // Reference: each 8-float step adds (sum of its first 4 floats) * (sum of its 8 floats).
    let perSweep = 0;
    for (let p = 0; p < floats; p += 8) {
      let ys = 0;
      let xs = 0;
      for (let j = 0; j < 4; j++) ys += data[p + j]!;
      for (let j = 0; j < 8; j++) xs += data[p + j]!;
      perSweep += ys * xs;
    }
    expect(kernels.simdPeak(buf, floats, 3)).toBe(3 * perSweep);
  });
});

describe('arena', () => {
  it('aligns, grows the memory and resets to a mark', () => {
    const memory = createSharedMemory(1, 8);
    const arena = new WasmArena(memory, 8);
    const a = arena.alloc(10);
    expect(a % 64).toBe(0);
    const mark = arena.top;
    const b = arena.alloc(3 * 65536, 256);
    expect(b % 256).toBe(0);
    expect(b).toBeGreaterThanOrEqual(a + 10);
    expect(memory.buffer.byteLength).toBeGreaterThanOrEqual(b + 3 * 65536);
    arena.reset(mark);
    expect(arena.alloc(4, 4)).toBe(mark + ((4 - (mark % 4)) % 4));
    expect(() => arena.alloc(8 * 65536)).toThrow(/maximum/);
    expect(() => arena.alloc(16, 3)).toThrow(/power of two/);
  });
});
