/**
 * Throughput of the float16/bfloat16 array converters on weight-like data
 * (normal distribution, std 0.05, as in a checkpoint).
 *
 *   node dist/bench/io/half-throughput.js [MILLION_ELEMENTS=16]
 */
import { parseFlagsAndPositionals, positiveNumber } from '../../src/cli/parse-flags.js';
import { runCli } from '../../src/cli/run-cli.js';
import { UsageError } from '../../src/errors.js';
import { bf16ArrayToF32, f16ArrayToF32, f32ArrayToBf16, f32ArrayToF16 } from '../../src/io/half.js';

const USAGE = 'usage: node dist/bench/io/half-throughput.js [MILLION_ELEMENTS=16]';

function main(argv: string[]): void {
  const { values, positionals } = parseFlagsAndPositionals(argv, { help: { type: 'boolean', short: 'h' } }, USAGE);
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one number (MILLION_ELEMENTS)\n${USAGE}`);
  const n = Math.round(positiveNumber('MILLION_ELEMENTS', positionals[0] ?? '16') * 1e6);
  if (n < 1) throw new UsageError(`MILLION_ELEMENTS must give at least one element, got ${positionals[0]}`);
  measure(n);
}

function measure(n: number): void {
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
}

runCli(main);
