/**
 * The `gemm-int8` benchmark suite: the hybrid int8 GEMM (activations
 * quantized per row at run time, integer dot products) against the float
 * GEMM of the same int8 weights dequantized at packing, at the
 * FULLY_CONNECTED shapes of issue 4, in the same run (so the ratios hold on
 * a loaded machine). Int8 layouts: 'i16' (dot_i16x8_s, both variants) and
 * 'u7' (relaxed int8 dot, relaxed variant). Times include the per-call row
 * quantization.
 *
 * Options: USAGE below (`npm run bench -- gemm-int8 --help`).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { outputFile, parseFlags, positiveNumber } from '../../src/cli/parse-flags.js';
import { gemm } from '../../src/kernels/wasm/gemm.js';
import { gemmInt8 } from '../../src/kernels/wasm/gemm-int8.js';
import { packGemmInt8Weights, type Int8Layout } from '../../src/kernels/wasm/gemm-int8-pack.js';
import { packGemmWeights } from '../../src/kernels/wasm/gemm-pack.js';
import { enableRelaxedSimd, type KernelVariant } from '../../src/kernels/wasm/loader.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { FC_SHAPES, gemmFlops, shapeLabel, type GemmShape } from './gemm.js';
import { time } from './measure.js';
import { MEASUREMENT_FLAGS, parseThreadList, parseVariants } from './options.js';

interface Options {
  threads: number[];
  variants: KernelVariant[];
  maxTime: number;
  out: string;
}

const USAGE = `usage: npm run bench -- gemm-int8 [--threads 1,2] [--variant simd|relaxed|both]
                                  [--max-time SECONDS] [--out FILE]

  --threads LIST      thread counts (default 1,2)
  --variant V         kernel variant: simd, relaxed or both (default both)
  --max-time SECONDS  time per measurement (default 1)
  --out FILE          JSON results (default build/bench/gemm-int8.json)`;

/** The options, or undefined when only --help was asked. */
function parseOptions(args: string[]): Options | undefined {
  const v = parseFlags(args, {
    ...MEASUREMENT_FLAGS,
  }, USAGE);
  if (v.help) return undefined;
  return {
    threads: v.threads === undefined ? [1, 2] : parseThreadList(v.threads),
    variants: v.variant === undefined ? ['simd', 'relaxed'] : parseVariants(v.variant),
    maxTime: v['max-time'] === undefined ? 1 : positiveNumber('--max-time', v['max-time']),
    out: outputFile('--out', v.out ?? 'build/bench/gemm-int8.json'),
  };
}

interface Row {
  variant: KernelVariant;
  threads: number;
  shape: string;
  method: 'float' | `int8-${Int8Layout}`;
  medianMs: number;
  cpuMs: number;
  gflops: number;
  /** Float GEMM time / this time (same variant and threads, same run). */
  speedup: number;
  /** The same in CPU time: steadier than wall time when other work shares the cores. */
  cpuSpeedup: number;
}

function lcg(n: number, seed: number, f: (u: number) => number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return f(s / 2 ** 32);
  });
}

function benchShape(rt: KernelRuntime, shape: GemmShape, maxTime: number): { method: Row['method']; medianMs: number; cpuMs: number }[] {
  const { m, k, n } = shape;
  const data = Int8Array.from(lcg(n * k, 1, (u) => Math.round(u * 254) - 127));
  const scales = Float32Array.from(lcg(n, 2, (u) => 1e-3 + 1e-2 * u));
  const bias = Float32Array.from(lcg(n, 3, (u) => u - 0.5));
  const mark = rt.arena.top;
  try {
    const a = rt.arena.alloc(m * k * 4);
    rt.arena.f32(a, m * k).set(lcg(m * k, 4, (u) => 2 * u - 1));
    const c = rt.arena.alloc(m * n * 4);
    const results: { method: Row['method']; medianMs: number; cpuMs: number }[] = [];
    const packedF = packGemmWeights(rt, { k, n, layout: 'nk', dtype: 'int8', data, scales, bias });
    const tf = time(`float ${shapeLabel(shape)}`, () => gemm(rt, packedF, { a, c, m }), maxTime);
    results.push({ method: 'float', medianMs: tf.medianMs, cpuMs: tf.cpuMs });
    const layouts: Int8Layout[] = rt.variant === 'relaxed' ? ['i16', 'u7'] : ['i16'];
    for (const layout of layouts) {
      const packed = packGemmInt8Weights(rt, { k, n, data, scales, bias }, { layout });
      const t = time(`int8 ${layout} ${shapeLabel(shape)}`, () => gemmInt8(rt, packed, { a, c, m }), maxTime);
      results.push({ method: `int8-${layout}`, medianMs: t.medianMs, cpuMs: t.cpuMs });
    }
    return results;
  } finally {
    rt.arena.reset(mark);
  }
}

export async function run(args: string[]): Promise<void> {
  const o = parseOptions(args);
  if (!o) {
    console.log(USAGE);
    return;
  }
  if (o.variants.includes('relaxed')) enableRelaxedSimd();
  console.log(`load average (1, 5, 15 min): ${loadavg().map((l) => l.toFixed(2)).join(', ')}`);
  const rows: Row[] = [];
  for (const variant of o.variants) {
    for (const threads of o.threads) {
      const rt = await createKernelRuntime({ threads, variant });
      try {
        const totals = new Map<string, { ms: number; cpuMs: number }>();
        for (const shape of FC_SHAPES) {
          const results = benchShape(rt, shape, o.maxTime);
          const floatMs = results[0]!.medianMs, floatCpuMs = results[0]!.cpuMs;
          for (const r of results) {
            const row: Row = {
              variant, threads, shape: shapeLabel(shape), method: r.method, medianMs: r.medianMs, cpuMs: r.cpuMs,
              gflops: gemmFlops(shape) / r.medianMs / 1e6, speedup: floatMs / r.medianMs, cpuSpeedup: floatCpuMs / r.cpuMs,
            };
            rows.push(row);
            const total = totals.get(r.method) ?? { ms: 0, cpuMs: 0 };
            totals.set(r.method, { ms: total.ms + r.medianMs, cpuMs: total.cpuMs + r.cpuMs });
            console.log(
              `${variant.padEnd(7)} x${threads} ${row.shape.padEnd(16)} ${row.method.padEnd(8)} ${row.medianMs.toFixed(2).padStart(9)} ms`
              + ` ${row.gflops.toFixed(1).padStart(6)} GFLOP/s (CPU ${row.cpuMs.toFixed(2)} ms)  x${row.speedup.toFixed(2)} vs float (CPU time x${row.cpuSpeedup.toFixed(2)})`,
            );
          }
        }
        const f = totals.get('float')!;
        for (const [method, t] of totals) {
          if (method === 'float') continue;
          console.log(
            `${variant.padEnd(7)} x${threads} all shapes: ${method} ${t.ms.toFixed(1)} ms vs float ${f.ms.toFixed(1)} ms: x${(f.ms / t.ms).toFixed(2)}`
            + ` (CPU time ${t.cpuMs.toFixed(1)} vs ${f.cpuMs.toFixed(1)} ms: x${(f.cpuMs / t.cpuMs).toFixed(2)})`,
          );
        }
      } finally {
        await rt.close();
      }
    }
  }
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`);
  const out = resolve(o.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, JSON.stringify({ loadavg: loadavg(), rows }, null, 2));
  renameSync(`${out}.tmp`, out);
  console.log(`wrote ${out}`);
}
