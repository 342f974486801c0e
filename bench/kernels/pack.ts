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
import { oneOf, parseFlags, positiveNumber } from '../../src/cli/parse-flags.js';
import { packGemmWeights, type GemmWeights, type WeightLayout } from '../../src/kernels/wasm/gemm-pack.js';
import { setUpKernels } from '../../src/kernels/wasm/loader.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { referencePackPanels } from '../../test/support/gemm-pack-reference.js';
import { time, type Timing } from './measure.js';
import { parseThreadList } from './options.js';

const USAGE = `usage: node dist/bench/kernels/pack.js [--threads 1,2] [--max-time SECONDS] [--layout nk|kn]

  --threads LIST      kernel thread counts (default 1,2)
  --max-time SECONDS  time per measurement (default 0.5)
  --layout L          weight layout: nk (default) or kn`;

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

/** Elements packed per second of wall time, and per second of process CPU time (all threads). */
interface Rate {
  wall: number;
  cpu: number;
}

interface Row {
  k: number;
  n: number;
  dtype: string;
  /** The TypeScript loop. */
  old: Rate;
  /** The kernel, by thread count. */
  kernel: Record<number, Rate>;
}

function rateOf(elements: number, t: Timing): Rate {
  return { wall: elements / (t.medianMs / 1000), cpu: elements / (t.cpuMs / 1000) };
}

/** Packs per use through two streamed handles taken in turn (so the slot never still holds the weights). */
function timeKernel(rt: KernelRuntime, w: GemmWeights, maxTime: number): Rate {
  const mark = rt.arena.top;
  const budget = rt.arena.residentWeightBudget;
  rt.arena.residentWeightBudget = 0;
  try {
    const handles = [packGemmWeights(rt, w), packGemmWeights(rt, w)];
    let turn = 0;
    return rateOf(w.k * w.n, time('kernel', () => void handles[turn++ & 1]!.ptr, maxTime));
  } finally {
    rt.arena.residentWeightBudget = budget;
    rt.arena.reset(mark);
  }
}

function timeTypeScript(rt: KernelRuntime, w: GemmWeights, maxTime: number): Rate {
  const mark = rt.arena.top;
  try {
    const floats = Math.ceil(w.n / 8) * w.k * 8;
    const out = rt.arena.f32(rt.arena.alloc(floats * 4), floats);
    return rateOf(w.k * w.n, time('typescript', () => referencePackPanels(w, out), maxTime));
  } finally {
    rt.arena.reset(mark);
  }
}

async function main(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, {
    threads: { type: 'string' },
    'max-time': { type: 'string' },
    layout: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, USAGE);
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  const threads = parseThreadList(flags.threads ?? '1,2');
  const maxTime = flags['max-time'] === undefined ? 0.5 : positiveNumber('--max-time', flags['max-time']);
  const layout: WeightLayout = oneOf('--layout', flags.layout ?? 'nk', ['nk', 'kn']);
  setUpKernels();
  const runtimes = new Map<number, KernelRuntime>();
  for (const t of new Set([...threads, 1])) runtimes.set(t, await createKernelRuntime({ threads: t }));
  try {
    const rows: Row[] = [];
    const last = threads.at(-1)!;
    const m = (r: Rate): string => `${(r.wall / 1e6).toFixed(0).padStart(5)} ${(r.cpu / 1e6).toFixed(0).padStart(5)}`;
    console.log(`layout '${layout}'; M elements per second of wall time and per CPU-second (all threads)`);
    console.log(`dtype       K     N     ts wall   cpu  ${threads.map((t) => `kernel x${t} wall   cpu`).join('  ')}  x${last}/ts wall`);
    for (const dtype of DTYPES) {
      for (const [k, n] of SHAPES) {
        const w = weights(dtype, layout, k, n);
        const row: Row = { k, n, dtype, old: timeTypeScript(runtimes.get(1)!, w, maxTime), kernel: {} };
        for (const t of threads) row.kernel[t] = timeKernel(runtimes.get(t)!, w, maxTime);
        rows.push(row);
        const kernel = threads.map((t) => `        ${m(row.kernel[t]!)}`).join('  ');
        console.log(`${dtype.padEnd(8)} ${String(k).padStart(4)} ${String(n).padStart(5)}   ${m(row.old)}  ${kernel}  ${(row.kernel[last]!.wall / row.old.wall).toFixed(1).padStart(5)}x`);
      }
    }
    // Per step: every shape weighted by its element count (total elements over total time).
    for (const dtype of DTYPES) {
      const of = rows.filter((r) => r.dtype === dtype);
      const total = of.reduce((sum, r) => sum + r.k * r.n, 0);
      const seconds = (rate: (r: Row) => number): number => (WEIGHTS_PER_STEP / total) * of.reduce((sum, r) => sum + (r.k * r.n) / rate(r), 0);
      const oldS = seconds((r) => r.old.wall);
      const newS = seconds((r) => r.kernel[last]!.wall);
      console.log(
        `${dtype}: ${WEIGHTS_PER_STEP / 1e6} M weights per step take ${oldS.toFixed(2)} s in TypeScript, ${newS.toFixed(2)} s in the kernel x${last}: ` +
          `${(oldS - newS).toFixed(2)} s saved per step (CPU time ${seconds((r) => r.old.cpu).toFixed(2)} s -> ${seconds((r) => r.kernel[last]!.cpu).toFixed(2)} s)`,
      );
    }
  } finally {
    for (const rt of runtimes.values()) await rt.close();
  }
}

runCli(main);
