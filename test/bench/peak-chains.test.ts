import { describe, expect, it } from 'vitest';
import { chainModuleBytes, measureChainPeak } from '../../bench/kernels/peak-chains.js';
import { enableRelaxedSimd } from '../../src/kernels/wasm/loader.js';

const relaxedAvailable = enableRelaxedSimd();

/** What the module's loop computes: 12 chains a = a·y + x from a_i = 0.5 + i/16, then lane 0 of their sum. */
function expectedSum(iterations: number, fused: boolean): number {
  const x = Math.fround(1e-3);
  const y = Math.fround(0.999);
  let sum = 0;
  for (let i = 0; i < 12; i++) {
    let a = Math.fround(0.5 + i / 16);
    for (let n = 0; n < Math.max(1, iterations); n++) a = fused ? Math.fround(a * y + x) : Math.fround(Math.fround(a * y) + x);
    sum = i === 0 ? a : Math.fround(sum + a);
  }
  return sum;
}

function runPeak(variant: 'simd' | 'relaxed', iterations: number): number {
  const module = new WebAssembly.Module(chainModuleBytes(variant));
  return (new WebAssembly.Instance(module).exports as { peak: (n: number) => number }).peak(iterations);
}

describe('register-chain peak module', () => {
  it('computes the plain mul-then-add chains exactly', () => {
    expect(runPeak('simd', 1000)).toBe(expectedSum(1000, false));
  });

  it('computes the relaxed multiply-add chains (fused or not)', () => {
    expect(relaxedAvailable).toBe(true);
    const got = runPeak('relaxed', 1000);
    expect([expectedSum(1000, true), expectedSum(1000, false)]).toContain(got);
  });

  it('runs on two threads at once and reports positive rates', () => {
    const peak = measureChainPeak('simd', 2, 0.02);
    expect(peak.gflops).toBeGreaterThan(0);
    expect(peak.gflopsPerCpuSecond).toBeGreaterThan(0);
  });
});
