/**
 * GEMM weight packing, per use as streamed weights pack (the full-size UNet
 * packs about 860 M weights per step): the WebAssembly kernel
 * (packGemmWeights' streamed `ptr`: staging copy + packGemmPanels on all
 * threads) against the former main-thread TypeScript loop
 * (test/support/gemm-pack-reference.ts) writing into the same slot, in the
 * same run, at full-size FULLY_CONNECTED shapes, fp32 / fp16 / int8.
 * Standalone (not a bench suite):
 *
 *   npm run build && node dist/bench/kernels/pack.js [--threads 1,2] [--max-time SECONDS] [--layout nk|kn]
 */
import { runCli } from '../../src/cli/run-cli.js';
import { parseFlags } from '../../src/cli/parse-flags.js';
import { UsageError } from '../../src/errors.js';
import { packGemmWeights, type GemmWeights, type WeightLayout } from '../../src/kernels/wasm/gemm-pack.js';
import { setUpCliKernels } from '../../src/kernels/wasm/loader.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { referencePackPanels } from '../../test/support/gemm-pack-reference.js';
import { time } from './measure.js';

const USAGE = 'usage: node dist/bench/kernels/pack.js [--threads 1,2] [--max-time SECONDS] [--layout nk|kn]';

/** K inputs x N outputs of SD v1.5 UNet FULLY_CONNECTED layers (attention projections, GEGLU in and out). */
const SHAPES: Array<[number, number]> = [[320, 320], [320, 2560], [768, 640], [1280, 1280], [640, 5120], [5120, 1280], [1280, 10240]];
const DTYPES = ['float32', 'float16', 'int8'] as const;
/** Weights the full-size UNet packs per denoising step (streamed FULLY_CONNECTED and implicit-GEMM conv layers). */
const WEIGHTS_PER_STEP = 860e6;

function weights(dtype: (typeof DTYPES)[number], layout: WeightLayout, k: number, n: number): GemmWeights {
  let s = 12345;
  const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  const size = k * n;
  if (dtype === 'float32') return { k, n, layout, dtype, data: Float32Array.from({ length: size }, () => next() / 2 ** 31 - 1) };
  // Normal halves of moderate size, both signs.
  if (dtype === 'float16') return { k, n, layout, dtype, data: Uint16Array.from({ length: size }, () => (next() & 0x83ff) | 0x3000) };
  const scales = Float32Array.from({ length: n }, () => 1e-3 * (1 + next() / 2 ** 32));
  return { k, n, layout, dtype, data: Int8Array.from({ length: size }, () => (next() & 0xff) - 128), scales };
}

interface Row {
  shape: string;
  dtype: string;
  /** Elements per second (wall) of the TypeScript loop. */
  oldRate: number;
  /** Elements per second (wall) of the kernel, by thread count. */
  newRate: Record<number, number>;
}

/** Packs per use through two streamed handles taken in turn (so the slot never still holds the weights). */
function timeKernel(rt: KernelRuntime, w: GemmWeights, maxTime: number): number {
  const mark = rt.arena.top;
  const budget = rt.arena.residentWeightBudget;
  rt.arena.residentWeightBudget = 0;
  try {
    const handles = [packGemmWeights(rt, w), packGemmWeights(rt, w)];
    let turn = 0;
    const t = time('kernel', () => void handles[turn++ & 1]!.ptr, maxTime);
    return (w.k * w.n) / (t.medianMs / 1000);
  } finally {
    rt.arena.residentWeightBudget = budget;
    rt.arena.reset(mark);
  }
}

function timeTypeScript(rt: KernelRuntime, w: GemmWeights, maxTime: number): number {
  const mark = rt.arena.top;
  try {
    const floats = Math.ceil(w.n / 8) * w.k * 8;
    const out = rt.arena.f32(rt.arena.alloc(floats * 4), floats);
    const t = time('typescript', () => referencePackPanels(w, out), maxTime);
    return (w.k * w.n) / (t.medianMs / 1000);
  } finally {
    rt.arena.reset(mark);
  }
}

async function main(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, { threads: { type: 'string' }, 'max-time': { type: 'string' }, layout: { type: 'string' } }, USAGE);
  const threads = (flags.threads ?? '1,2').split(',').map(Number);
  if (!threads.every((t) => Number.isInteger(t) && t >= 1)) throw new UsageError(`--threads: bad list ${flags.threads}\n${USAGE}`);
  const maxTime = Number(flags['max-time'] ?? 0.5);
  if (!(maxTime > 0)) throw new UsageError(`--max-time must be positive\n${USAGE}`);
  const layout = (flags.layout ?? 'nk') as WeightLayout;
  if (layout !== 'nk' && layout !== 'kn') throw new UsageError(`--layout must be nk or kn\n${USAGE}`);
  setUpCliKernels();
  const runtimes = new Map<number, KernelRuntime>();
  for (const t of new Set([...threads, 1])) runtimes.set(t, await createKernelRuntime({ threads: t }));
  try {
    const rows: Row[] = [];
    console.log(`layout '${layout}', M elements/s (wall), threads ${threads.join(', ')}`);
    for (const dtype of DTYPES) {
      for (const [k, n] of SHAPES) {
        const w = weights(dtype, layout, k, n);
        const row: Row = { shape: `${k}x${n}`, dtype, oldRate: timeTypeScript(runtimes.get(1)!, w, maxTime), newRate: {} };
        for (const t of threads) row.newRate[t] = timeKernel(runtimes.get(t)!, w, maxTime);
        rows.push(row);
        const kernel = threads.map((t) => `x${t} ${(row.newRate[t]! / 1e6).toFixed(0)}`).join('  ');
        console.log(`${dtype.padEnd(8)} K=${String(k).padStart(4)} N=${String(n).padStart(5)}  ts ${(row.oldRate / 1e6).toFixed(0).padStart(5)}  kernel ${kernel}  (x${threads.at(-1)} / ts ${(row.newRate[threads.at(-1)!]! / row.oldRate).toFixed(1)}x)`);
      }
    }
    // Per-step estimate: the shapes weighted by their element counts (harmonic mean of rates).
    for (const dtype of DTYPES) {
      const of = rows.filter((r) => r.dtype === dtype);
      const elements = of.map((r) => Number(r.shape.split('x')[0]) * Number(r.shape.split('x')[1]));
      const total = elements.reduce((a, b) => a + b, 0);
      const rate = (f: (r: Row) => number): number => total / of.reduce((sum, r, i) => sum + elements[i]! / f(r), 0);
      const oldRate = rate((r) => r.oldRate);
      const t = threads.at(-1)!;
      const newRate = rate((r) => r.newRate[t]!);
      const oldS = WEIGHTS_PER_STEP / oldRate;
      const newS = WEIGHTS_PER_STEP / newRate;
      console.log(`${dtype}: ${WEIGHTS_PER_STEP / 1e6} M weights per step: TypeScript ${oldS.toFixed(2)} s, kernel x${t} ${newS.toFixed(2)} s, saves ${(oldS - newS).toFixed(2)} s per step`);
    }
  } finally {
    for (const rt of runtimes.values()) await rt.close();
  }
}

runCli(main);
