/**
 * Throughput of the float16/bfloat16 array converters on weight-like data
 * (normal distribution, std 0.05, as in a checkpoint).
 *
 *   node dist/bench/io/half-throughput.js [MILLION_ELEMENTS=16]
 */
import { bf16ArrayToF32, f16ArrayToF32, f32ArrayToBf16, f32ArrayToF16 } from '../../src/io/half.js';

const n = Math.round(Number(process.argv[2] ?? 16) * 1e6);
const weights = new Float32Array(n);
for (let i = 0; i < n; i += 2) {
  // Box-Muller; seeded data is not needed for timing.
  const r = Math.sqrt(-2 * Math.log(1 - Math.random())) * 0.05;
  const t = 2 * Math.PI * Math.random();
  weights[i] = r * Math.cos(t);
  if (i + 1 < n) weights[i + 1] = r * Math.sin(t);
}
const f16 = f32ArrayToF16(weights);
const bf16 = f32ArrayToBf16(weights);

const cases: [string, () => unknown][] = [
  ['f32 -> f16', () => f32ArrayToF16(weights)],
  ['f16 -> f32', () => f16ArrayToF32(f16)],
  ['f32 -> bf16', () => f32ArrayToBf16(weights)],
  ['bf16 -> f32', () => bf16ArrayToF32(bf16)],
];
for (const [name, run] of cases) {
  let best = Infinity;
  for (let rep = 0; rep < 5; rep++) {
    const t0 = performance.now();
    run();
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`${name}: ${(n / best / 1e3).toFixed(0)} M elements/s (best of 5, ${(n / 1e6).toFixed(1)} M elements)`);
}
