/**
 * The `conv` benchmark suite: CONV_2D 3x3 stride 1 (SAME) at the shapes of
 * issue 4 on the WebAssembly kernels, per kernel variant and thread count:
 * the Winograd F(4x4,3x3) kernel with its filter resident (`winograd`) or
 * transformed before every call as a streamed filter is (`winograd-streamed`),
 * the implicit-GEMM kernel (what the interpreter runs for other filters)
 * with resident panels (`implicit`) or panels packed before every call
 * (`implicit-streamed`) and, for comparison, the im2col + GEMM path the
 * interpreter used before them (chunks of 8 MB). GFLOP/s are effective: the
 * direct convolution's 2·B·H·W·Cin·Cout·9 flops over the time.
 * Also prints the Winograd kernel's error at 64x64x320 on SD-like data
 * (SiLU of normal activations, PyTorch-default uniform weights) against the
 * plain reference convolution, over 16 output channels.
 *
 * Options: USAGE below (`npm run bench -- conv --help`).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { listOf, outputFile, parseFlags, positiveNumber, wholeNumber } from '../../src/cli/parse-flags.js';
import { UsageError } from '../../src/errors.js';
import { conv2d } from '../../src/kernels/reference/conv2d.js';
import { convImplicitGemm } from '../../src/kernels/wasm/conv-implicit-gemm.js';
import { gemm } from '../../src/kernels/wasm/gemm.js';
import { packGemmWeights } from '../../src/kernels/wasm/gemm-pack.js';
import { enableRelaxedSimd, type KernelVariant } from '../../src/kernels/wasm/loader.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { winogradConv3x3 } from '../../src/kernels/wasm/winograd.js';
import { packWinogradWeights } from '../../src/kernels/wasm/winograd-pack.js';
import { time, type Timing } from './measure.js';
import { MEASUREMENT_FLAGS, parseThreadList, parseVariants } from './options.js';

/** H x W x C -> C (3x3, stride 1, SAME), the CONV_2D shapes of issue 4. */
const SHAPES = ['64x64x320', '32x32x640', '16x16x1280', '8x8x1280', '128x128x512', '256x256x256', '512x512x128'];

type Method = 'winograd' | 'winograd-streamed' | 'implicit' | 'implicit-streamed' | 'im2col';
const METHODS: Method[] = ['winograd', 'winograd-streamed', 'implicit', 'implicit-streamed', 'im2col'];

interface Options {
  threads: number[];
  variants: KernelVariant[];
  shapes: string[];
  batch: number;
  methods: Method[];
  maxTime: number;
  out: string;
}

const USAGE = `usage: npm run bench -- conv [--threads 1,2] [--variant simd|relaxed|both] [--batch N]
                             [--shapes 64x64x320,16x16x2560x1280,...]
                             [--methods ${METHODS.join(',')}]
                             [--max-time SECONDS] [--out FILE]

  --threads LIST      thread counts (default 1,2)
  --variant V         kernel variant: simd, relaxed or both (default relaxed)
  --batch N           images per convolution (default 1)
  --shapes LIST       HxWxC (C in and out) or HxWxCinxCout items (default: the issue-4 shapes)
  --methods LIST      some of ${METHODS.join(', ')} (default: all)
  --max-time SECONDS  time per measurement (default 1)
  --out FILE          JSON results (default build/bench/conv.json)`;

/** `--shapes`: HxWxC or HxWxCinxCout items, every dimension >= 1. */
function parseShapes(value: string): string[] {
  const shapes = value.split(',');
  for (const s of shapes) {
    if (!/^\d+x\d+x\d+(x\d+)?$/.test(s) || s.split('x').some((d) => Number(d) < 1)) {
      throw new UsageError(`--shapes takes HxWxC or HxWxCinxCout items with every size >= 1, got ${JSON.stringify(s)}`);
    }
  }
  return shapes;
}

/** The options, or undefined when only --help was asked. */
function parseOptions(args: string[]): Options | undefined {
  const v = parseFlags(args, {
    ...MEASUREMENT_FLAGS,
    shapes: { type: 'string' },
    batch: { type: 'string' },
    methods: { type: 'string' },
  }, USAGE);
  if (v.help) return undefined;
  return {
    threads: v.threads === undefined ? [1, 2] : parseThreadList(v.threads),
    variants: v.variant === undefined ? ['relaxed'] : parseVariants(v.variant),
    shapes: v.shapes === undefined ? SHAPES : parseShapes(v.shapes),
    batch: v.batch === undefined ? 1 : wholeNumber('--batch', v.batch),
    methods: v.methods === undefined ? METHODS : listOf('--methods', v.methods, METHODS),
    maxTime: v['max-time'] === undefined ? 1 : positiveNumber('--max-time', v['max-time']),
    out: outputFile('--out', v.out ?? 'build/bench/conv.json'),
  };
}

function parseShape(s: string): { h: number; w: number; cin: number; cout: number } {
  const [h, w, cin, cout] = s.split('x').map(Number) as [number, number, number, number | undefined];
  return { h, w, cin, cout: cout ?? cin };
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
}

/** SD-like activations: SiLU of standard normal values (what a group norm + SiLU feeds a conv). */
function activations(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const z = Math.sqrt(-2 * Math.log(r())) * Math.cos(2 * Math.PI * r());
    out[i] = z / (1 + Math.exp(-z));
  }
  return out;
}

/** PyTorch's default conv init: uniform in ±1/sqrt(fan_in). */
function uniform(n: number, bound: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (2 * r() - 1) * bound);
}

interface Problem {
  batch: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  x: Float32Array;
  filter: Float32Array;
  bias: Float32Array;
}

function problem(shape: string, batch: number): Problem {
  const { h, w, cin, cout } = parseShape(shape);
  const bound = 1 / Math.sqrt(9 * cin);
  return {
    batch, h, w, cin, cout,
    x: activations(batch * h * w * cin, 1), filter: uniform(cout * 9 * cin, bound, 2), bias: uniform(cout, bound, 3),
  };
}

/** A runnable convolution of `p` on `rt` (weights packed, buffers allocated); call before timing. */
function prepare(rt: KernelRuntime, p: Problem, method: Method): { run(): void; outPtr: number } {
  const { batch, h, w, cin, cout } = p;
  const x = rt.arena.alloc(p.x.length * 4);
  rt.arena.f32(x, p.x.length).set(p.x);
  const out = rt.arena.alloc(batch * h * w * cout * 4);
  if (method === 'winograd' || method === 'winograd-streamed') {
    const streamed = method === 'winograd-streamed';
    const filter = { dtype: 'float32', data: p.filter } as const;
    const packed = packWinogradWeights(rt, { cin, cout, bias: p.bias, filter }, streamed ? 'streamed' : 'resident');
    const op = { x, out, batch, inH: h, inW: w, outH: h, outW: w, padTop: 1, padLeft: 1 };
    return {
      outPtr: out,
      run: () => {
        if (streamed) rt.arena.weightSlot(0, 'winograd').holder = undefined; // as if another layer ran in between
        winogradConv3x3(rt, packed, op);
      },
    };
  }
  const k = 9 * cin;
  const budget = rt.arena.residentWeightBudget;
  if (method === 'implicit-streamed') rt.arena.residentWeightBudget = 0;
  const packed = packGemmWeights(rt, { k, n: cout, layout: 'nk', dtype: 'float32', data: p.filter, bias: p.bias });
  rt.arena.residentWeightBudget = budget;
  if (method === 'implicit' || method === 'implicit-streamed') {
    const geometry = { batch, inH: h, inW: w, cin, outH: h, outW: w, kh: 3, kw: 3, stride: [1, 1], dilation: [1, 1], padTop: 1, padLeft: 1 } as const;
    return {
      outPtr: out,
      run: () => {
        if (method === 'implicit-streamed') rt.arena.weightSlot(0).holder = undefined;
        convImplicitGemm(rt, packed, geometry, { x, out });
      },
    };
  }
  if (batch !== 1 || cin !== cout) throw new UsageError('im2col: batch 1 and Cin = Cout only');
  const c = cin;
  const chunk = Math.max(1, Math.min(h * w, Math.floor((8 << 20) / (k * 4))));
  const col = rt.arena.alloc(chunk * k * 4);
  return {
    outPtr: out,
    run: () => {
      const xs = rt.arena.f32(x, h * w * c);
      const cols = rt.arena.f32(col, chunk * k);
      for (let first = 0; first < h * w; first += chunk) {
        const rows = Math.min(chunk, h * w - first);
        for (let r = 0; r < rows; r++) {
          const oy = Math.floor((first + r) / w), ox = (first + r) % w;
          for (let ky = 0; ky < 3; ky++) {
            for (let kx = 0; kx < 3; kx++) {
              const iy = oy + ky - 1, ix = ox + kx - 1;
              const at = (r * 9 + ky * 3 + kx) * c;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) cols.fill(0, at, at + c);
              else cols.set(xs.subarray((iy * w + ix) * c, (iy * w + ix + 1) * c), at);
            }
          }
        }
        gemm(rt, packed, { a: col, c: out + first * c * 4, m: rows });
      }
    },
  };
}

/** max |winograd - reference| / max |reference| over the first 16 output channels. */
function winogradError(rt: KernelRuntime, p: Problem): number {
  const mark = rt.arena.top;
  try {
    const conv = prepare(rt, p, 'winograd');
    conv.run();
    const c = p.cin;
    const got = rt.arena.f32(conv.outPtr, p.h * p.w * c);
    const n = 16;
    const ref = conv2d(
      { data: p.x, shape: [1, p.h, p.w, c] },
      { data: p.filter.subarray(0, n * 9 * c), shape: [n, 3, 3, c] },
      { data: p.bias.subarray(0, n), shape: [n] },
      { padding: 'SAME' },
    ).data;
    let maxRef = 0, maxErr = 0;
    for (let i = 0; i < p.h * p.w; i++) {
      for (let o = 0; o < n; o++) {
        maxRef = Math.max(maxRef, Math.abs(ref[i * n + o]!));
        maxErr = Math.max(maxErr, Math.abs(ref[i * n + o]! - got[i * c + o]!));
      }
    }
    return maxErr / maxRef;
  } finally {
    rt.arena.reset(mark);
  }
}

interface Row {
  shape: string;
  method: Method;
  variant: KernelVariant;
  threads: number;
  ms: number;
  rmePercent: number;
  gflops: number;
  cpuMs: number;
  gflopsPerCpuSecond: number;
}

export async function run(args: string[]): Promise<void> {
  const o = parseOptions(args);
  if (!o) {
    console.log(USAGE);
    return;
  }
  enableRelaxedSimd();
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`);
  const rows: Row[] = [];
  let error: number | undefined;
  for (const variant of o.variants) {
    for (const threads of o.threads) {
      const rt = await createKernelRuntime({ threads, variant });
      try {
        if (error === undefined && o.methods.includes('winograd')) {
          error = winogradError(rt, problem('64x64x320', 1));
          console.log(`Winograd error at 64x64x320 (SD-like data, ${variant}): ${error.toExponential(2)} of max |output|`);
        }
        for (const shape of o.shapes) {
          const p = problem(shape, o.batch);
          const flops = 2 * p.batch * p.h * p.w * p.cin * p.cout * 9;
          for (const method of o.methods) {
            const mark = rt.arena.top;
            const conv = prepare(rt, p, method);
            const t: Timing = time(`${method} ${shape} x${threads}`, conv.run, o.maxTime);
            rt.arena.reset(mark);
            const row: Row = {
              shape: `${p.batch}x${p.h}x${p.w}x${p.cin}->${p.cout}`, method, variant, threads, ms: t.medianMs, rmePercent: t.rmePercent,
              gflops: flops / t.medianMs / 1e6, cpuMs: t.cpuMs, gflopsPerCpuSecond: flops / t.cpuMs / 1e6,
            };
            rows.push(row);
            console.log(
              `${row.shape.padEnd(22)} ${method.padEnd(17)} ${variant.padEnd(8)} x${threads}  ${row.ms.toFixed(1).padStart(8)} ms ` +
              `±${row.rmePercent.toFixed(1)}%  ${row.gflops.toFixed(1).padStart(6)} GFLOP/s  ${row.gflopsPerCpuSecond.toFixed(1).padStart(6)} per CPU-s`,
            );
          }
        }
      } finally {
        await rt.close();
      }
    }
  }
  const out = resolve(o.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, JSON.stringify({ loadAverage: loadavg(), winogradError64x64x320: error, rows }, null, 2));
  renameSync(`${out}.tmp`, out);
  console.log(`wrote ${out}; load average at end: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`);
}
