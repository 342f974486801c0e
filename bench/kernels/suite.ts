/**
 * The `kernels` benchmark suite: SIMD peak, then GEMM at the issue's
 * FULLY_CONNECTED shapes, fused attention, group norm and layer norm, per
 * kernel variant and thread count. Norm rows are in GB/s against the copy
 * bandwidth measured in the same run. Then (versus-litert.ts) every shape
 * of issue 4 as a single-op .tflite run by our interpreter and by LiteRT.js
 * in the same run. Prints tables and writes JSON (default
 * build/bench/kernels.json).
 *
 * Options: USAGE below (`npm run bench -- kernels --help`).
 *
 * The relaxed-SIMD variant needs a V8 flag in Node 20; the suite sets it
 * itself so both variants are measured in one run (the library uses relaxed
 * SIMD only when the engine already supports it).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { oneOf, outputFile, parseFlags, positiveNumber } from '../../src/cli/parse-flags.js';
import { UsageError } from '../../src/errors.js';
import { enableRelaxedSimd, type KernelVariant } from '../../src/kernels/wasm/loader.js';
import { createKernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { ATTENTION_SHAPES, attentionFlops, attentionLabel, timeAttention } from './attention.js';
import { FC_SHAPES, gemmFlops, shapeLabel, timeGemm } from './gemm.js';
import {
  GROUP_NORM_SHAPES, LAYER_NORM_SHAPES, copyBandwidth, groupNormBytes, groupNormLabel, layerNormBytes, layerNormLabel,
  timeGroupNorm, timeLayerNorm,
} from './norms.js';
import { OP_CASES, QUICK_LABELS } from './op-models.js';
import { measurePeak, type Peak } from './peak.js';
import { runVersus, type CaseResult } from './versus-litert.js';
import { printVersus, speedRatio } from './versus-table.js';
import { MEASUREMENT_FLAGS, parseThreadList, parseVariants } from './options.js';

interface Options {
  threads: number[];
  variants: KernelVariant[];
  maxTime: number;
  out: string;
  raw: boolean;
  versus: boolean;
  shapes: string[] | null;
  litert: boolean;
}

const USAGE = `usage: npm run bench -- kernels [--threads 1,2] [--variant simd|relaxed|both]
                                [--max-time SECONDS] [--out FILE]
                                [--part raw|versus|all] [--shapes TEXT,...]
                                [--no-litert] [--quick]

  --threads LIST      thread counts (default 1,2)
  --variant V         kernel variant: simd, relaxed or both (default both)
  --max-time SECONDS  time per measurement (default 1)
  --out FILE          JSON results (default build/bench/kernels.json)
  --part P            raw (kernels alone), versus (single-op models vs LiteRT.js) or all (default)
  --shapes TEXT,...   versus cases whose label contains one of the texts
                      (e.g. "CONV_2D", "64x64x320")
  --no-litert         skip LiteRT.js in the versus part
  --quick             versus part only, one shape per op, relaxed variant,
                      0.3 s per measurement (flags given with it still apply)`;

/** The options, or undefined when only --help was asked. */
function parseOptions(args: string[]): Options | undefined {
  const v = parseFlags(args, {
    ...MEASUREMENT_FLAGS,
    part: { type: 'string' },
    shapes: { type: 'string' },
    'no-litert': { type: 'boolean' },
    quick: { type: 'boolean' },
  }, USAGE);
  if (v.help) return undefined;
  const quick = v.quick ?? false;
  const part = v.part === undefined ? (quick ? 'versus' : 'all') : oneOf('--part', v.part, ['raw', 'versus', 'all']);
  return {
    threads: v.threads === undefined ? [1, 2] : parseThreadList(v.threads),
    variants: v.variant !== undefined ? parseVariants(v.variant) : quick ? ['relaxed'] : ['simd', 'relaxed'],
    maxTime: v['max-time'] !== undefined ? positiveNumber('--max-time', v['max-time']) : quick ? 0.3 : 1,
    out: outputFile('--out', v.out ?? 'build/bench/kernels.json'),
    raw: part !== 'versus',
    versus: part !== 'raw',
    shapes: v.shapes !== undefined ? v.shapes.split(',') : quick ? QUICK_LABELS : null,
    litert: !(v['no-litert'] ?? false),
  };
}

interface PeakRow {
  variant: KernelVariant;
  threads: number;
  gflops: number;
  gflopsPerCpuSecond: number;
  /** Which peak loop gave the number (bench/kernels/peak.ts). */
  loop: Peak['loop'];
  /** Memory copy bandwidth (read + write) in the same run, GB/s. */
  copyGBps: number;
}

interface KernelRow {
  op: string;
  shape: string;
  variant: KernelVariant;
  threads: number;
  ms: number;
  /** Null for memory-bound rows (norms), which report gbps instead. */
  gflops: number | null;
  /** Memory traffic per second for memory-bound rows, GB/s. */
  gbps: number | null;
  /** Share of the SIMD peak (flops rows) or of the copy bandwidth (GB/s rows), same variant and thread count. */
  shareOfPeak: number;
  /** Process CPU time per call (all threads), ms. */
  cpuMs: number;
  /** GFLOP per CPU-second per thread: the speed a thread reaches when it has a core to itself. */
  gflopsPerCpuSecond: number | null;
  /** Scratch memory the kernel used beyond inputs and outputs (attention), bytes. */
  workspaceBytes: number | null;
  rmePercent: number;
  /**
   * The same op in LiteRT.js (a single-op model from our writer, run by
   * bench/peers/litert.ts) in the same run; null when the versus part did
   * not run that shape or LiteRT.js failed on it.
   */
  litert: { ms: number; ratio: number } | null;
}

function printTable(peaks: PeakRow[], rows: KernelRow[]): void {
  console.log('\nWebAssembly SIMD peak (the better of 8 multiply-add chains on L1 operands and 12 chains in registers; bench/kernels/peak.ts):');
  for (const p of peaks) {
    console.log(
      `  ${p.variant.padEnd(8)} ${p.threads} thread(s): ${p.gflops.toFixed(1)} GFLOP/s (${p.gflopsPerCpuSecond.toFixed(1)} GFLOP/cpu-s, ${p.loop}); copy ${p.copyGBps.toFixed(1)} GB/s`,
    );
  }
  const header = ['op', 'shape', 'variant', 'thr', 'ms', 'GFLOP/s', 'GB/s', '% peak', '±%', 'GFLOP/cpu-s', 'work MB', 'LiteRT.js ms', 'speed-up'];
  const table = rows.map((r) => [
    r.op,
    r.shape,
    r.variant,
    String(r.threads),
    r.ms.toFixed(2),
    r.gflops === null ? '—' : r.gflops.toFixed(1),
    r.gbps === null ? '—' : r.gbps.toFixed(1),
    (100 * r.shareOfPeak).toFixed(0),
    r.rmePercent.toFixed(1),
    r.gflopsPerCpuSecond === null ? '—' : r.gflopsPerCpuSecond.toFixed(1),
    r.workspaceBytes === null ? '—' : (r.workspaceBytes / 2 ** 20).toFixed(1),
    r.litert ? r.litert.ms.toFixed(2) : '—',
    r.litert ? `${r.litert.ratio.toFixed(2)}x` : '—',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${line(header)}`);
  for (const row of table) console.log(line(row));
  console.log('GFLOP/cpu-s: flops over the process CPU time (all threads), i.e. per-core speed when not waiting for a core.');
  console.log('% peak: of the SIMD peak for GFLOP/s rows, of the copy bandwidth for GB/s rows. Attention flops: 4·B·N·T·S·d.');
  console.log('LiteRT.js column: the same shape as a single-op model in LiteRT.js (table below), when the versus part ran; speed-up = its ms / this kernel\'s ms.');
}

function versusCases(options: Options) {
  if (!options.versus) return [];
  const wanted = options.shapes?.map((s) => s.toLowerCase());
  const cases = wanted ? OP_CASES.filter((c) => wanted.some((w) => c.label.toLowerCase().includes(w))) : OP_CASES;
  if (cases.length === 0) throw new UsageError(`--shapes matches no case; cases:\n  ${OP_CASES.map((c) => c.label).join('\n  ')}`);
  return cases;
}

/** The LiteRT.js measurement of the versus case with this raw kernel row's shape and thread count, if any. */
function litertOfRawRow(row: KernelRow, cases: CaseResult[]): KernelRow['litert'] {
  const label =
    row.op === 'FULLY_CONNECTED' ? `FULLY_CONNECTED ${row.shape}`
    : row.op === 'ATTENTION' ? `ATTENTION ${row.shape.split(' ').at(-1)}`
    : row.op === 'GROUP_NORM' ? `GROUP_NORM 32g ${row.shape}`
    : undefined;
  const litert = cases.find((c) => c.label === label)?.results.find((r) => r.engine === 'litert' && r.threads === row.threads);
  const ratio = speedRatio(row.ms, litert?.ms);
  return litert?.ms && ratio !== null ? { ms: litert.ms, ratio } : null;
}

export async function run(args: string[]): Promise<void> {
  const options = parseOptions(args);
  if (!options) {
    console.log(USAGE);
    return;
  }
  if (options.variants.includes('relaxed')) enableRelaxedSimd();
  const loadStart = loadavg();
  const peaks: PeakRow[] = [];
  const rows: KernelRow[] = [];
  const cases = versusCases(options);
  for (const variant of options.raw ? options.variants : []) {
    for (const threads of options.threads) {
      const rt = await createKernelRuntime({ threads, variant });
      try {
        const peak = measurePeak(rt, options.maxTime);
        const copyGBps = copyBandwidth(rt, options.maxTime);
        peaks.push({ variant, threads, ...peak, copyGBps });
        console.log(`peak ${variant} x${threads}: ${peak.gflops.toFixed(1)} GFLOP/s`);
        for (const shape of FC_SHAPES) {
          const t = timeGemm(rt, shape, options.maxTime);
          const gflops = gemmFlops(shape) / t.medianMs / 1e6;
          const row: KernelRow = {
            op: 'FULLY_CONNECTED',
            shape: shapeLabel(shape),
            variant,
            threads,
            ms: t.medianMs,
            gflops,
            gbps: null,
            shareOfPeak: gflops / peak.gflops,
            rmePercent: t.rmePercent,
            cpuMs: t.cpuMs,
            gflopsPerCpuSecond: gemmFlops(shape) / t.cpuMs / 1e6,
            workspaceBytes: null,
            litert: null,
          };
          rows.push(row);
          console.log(`  ${row.op} ${row.shape}: ${row.ms.toFixed(2)} ms, ${gflops.toFixed(1)} GFLOP/s`);
        }
        for (const shape of ATTENTION_SHAPES) {
          const t = timeAttention(rt, shape, options.maxTime);
          const gflops = attentionFlops(shape) / t.medianMs / 1e6;
          rows.push({
            op: 'ATTENTION', shape: attentionLabel(shape), variant, threads, ms: t.medianMs, gflops, gbps: null,
            shareOfPeak: gflops / peak.gflops, rmePercent: t.rmePercent, cpuMs: t.cpuMs,
            gflopsPerCpuSecond: attentionFlops(shape) / t.cpuMs / 1e6, workspaceBytes: t.workspaceBytes, litert: null,
          });
          console.log(`  ATTENTION ${attentionLabel(shape)}: ${t.medianMs.toFixed(2)} ms, ${gflops.toFixed(1)} GFLOP/s`);
        }
        const norms = [
          ...GROUP_NORM_SHAPES.map((s) => ({ op: 'GROUP_NORM', label: groupNormLabel(s), bytes: groupNormBytes(s), run: () => timeGroupNorm(rt, s, options.maxTime) })),
          ...LAYER_NORM_SHAPES.map((s) => ({ op: 'LAYER_NORM', label: layerNormLabel(s), bytes: layerNormBytes(s), run: () => timeLayerNorm(rt, s, options.maxTime) })),
        ];
        for (const norm of norms) {
          const t = norm.run();
          const gbps = norm.bytes / t.medianMs / 1e6;
          rows.push({
            op: norm.op, shape: norm.label, variant, threads, ms: t.medianMs, gflops: null, gbps,
            shareOfPeak: gbps / copyGBps, rmePercent: t.rmePercent, cpuMs: t.cpuMs,
            gflopsPerCpuSecond: null, workspaceBytes: null, litert: null,
          });
          console.log(`  ${norm.op} ${norm.label}: ${t.medianMs.toFixed(2)} ms, ${gbps.toFixed(1)} GB/s`);
        }
      } finally {
        await rt.close();
      }
    }
  }
  const versus = options.versus
    ? await runVersus({ cases, variants: options.variants, threads: options.threads, maxTime: options.maxTime, litert: options.litert }, console.log)
    : null;
  if (versus) for (const row of rows) row.litert = litertOfRawRow(row, versus.cases);
  if (options.raw) printTable(peaks, rows);
  if (versus) printVersus(versus.peaks, versus.cases, options.threads);
  const report = {
    suite: 'kernels',
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadAverage: { start: loadStart, end: loadavg() },
    peak: peaks,
    results: rows,
    /** Single-op models in our interpreter and in LiteRT.js (versus-litert.ts). */
    versus,
  };
  const out = resolve(options.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(`${out}.tmp`, out);
  console.log(`load average (1 min) ${loadStart[0]!.toFixed(2)} -> ${report.loadAverage.end[0]!.toFixed(2)}; wrote ${out}`);
}
