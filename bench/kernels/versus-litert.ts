/**
 * Our engine against Google's LiteRT.js, op by op, in one run: each case of
 * op-models.ts is one .tflite file from our writer, timed in our
 * interpreter (ours-invoke.ts; every kernel variant and thread count asked
 * for) and in LiteRT.js (bench/peers/litert-bench.ts; 1 and 2 threads),
 * shape by shape so both engines see the same machine load. Shares of peak
 * use the SIMD peak (flops cases) and copy bandwidth (memory-bound cases)
 * measured at the start of this part with the same runtime.
 */
import type { KernelVariant } from '../../src/kernels/wasm/loader.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { loadLiteRt, type LiteRt } from '../peers/litert.js';
import { timeLiteRt } from '../peers/litert-bench.js';
import { copyBandwidth } from './norms.js';
import type { OpCase } from './op-models.js';
import { timeOurs } from './ours-invoke.js';
import { measurePeak } from './peak.js';

export interface VersusOptions {
  cases: OpCase[];
  variants: KernelVariant[];
  threads: number[];
  /** benchmark.js time budget per measurement, seconds (LiteRT.js gets the same budget). */
  maxTime: number;
  /** Also run LiteRT.js (default true). */
  litert: boolean;
}

export interface RuntimePeak {
  variant: KernelVariant;
  threads: number;
  gflops: number;
  gflopsPerCpuSecond: number;
  copyGBps: number;
}

/** One engine at one thread count on one case. */
export interface EngineResult {
  /** 'ours' results carry their kernel variant. */
  engine: 'ours' | 'litert';
  variant: KernelVariant | null;
  threads: number;
  /** Median wall time of one invocation (ours: invoke(); LiteRT.js: run()), ms; null when it failed. */
  ms: number | null;
  /**
   * Ours only: the graph's steps alone, without invoke()'s input checks
   * and output views, ms. The rates and shares below are of this time for
   * ours (of `ms` for LiteRT.js). Neither `ms` copies tensors in or out
   * (ours-invoke.ts).
   */
  graphMs: number | null;
  gflops: number | null;
  gbps: number | null;
  /** Of the SIMD peak (flops) or copy bandwidth (bytes) measured with the same variant and thread count; null for LiteRT.js. */
  shareOfPeak: number | null;
  /** CPU time per invocation (ours: per graph run), all threads of the process, ms. */
  cpuMs: number | null;
  /** GFLOP (or GB) per CPU-second: speed per core when not waiting for one. */
  perCpuSecond: number | null;
  /**
   * Ours, flops cases: perCpuSecond over the peak's GFLOP per CPU-second,
   * a share of peak that other processes' load does not move (as long as
   * our threads spin little).
   */
  shareOfPeakPerCpu: number | null;
  /** Ours: benchmark.js relative margin of error, percent. */
  rmePercent: number | null;
  /** LiteRT.js: the timed runs, ms. */
  runs: number[] | null;
  /** Ours: steps after folding and fusion. */
  steps: string[] | null;
  /** Ours: memory beyond inputs and output (plan + fused-attention scratch), bytes. */
  workingBytes: number | null;
  /** Why it did not run ("fails (...)"), with the full error. */
  failure: { summary: string; error: string } | null;
}

export interface CaseResult {
  label: string;
  kind: OpCase['kind'];
  gflop: number | null;
  gbytes: number | null;
  results: EngineResult[];
}

function rates(c: OpCase, ms: number, cpuMs: number) {
  return {
    gflops: c.flops === null ? null : c.flops / ms / 1e6,
    gbps: c.bytes === null ? null : c.bytes / ms / 1e6,
    perCpuSecond: (c.flops ?? c.bytes!) / cpuMs / 1e6,
  };
}

async function withLiteRt(threads: 1 | 2, cache: Map<number, LiteRt>): Promise<LiteRt> {
  let rt = cache.get(threads);
  if (!rt) {
    rt = await loadLiteRt({ threads });
    cache.set(threads, rt);
  }
  return rt;
}

export async function runVersus(options: VersusOptions, log: (line: string) => void): Promise<{ peaks: RuntimePeak[]; cases: CaseResult[] }> {
  const runtimes: KernelRuntime[] = [];
  const peaks: RuntimePeak[] = [];
  const litert = new Map<number, LiteRt>();
  try {
    for (const variant of options.variants) {
      for (const threads of options.threads) {
        const rt = await createKernelRuntime({ threads, variant });
        runtimes.push(rt);
        const peak = measurePeak(rt, options.maxTime);
        peaks.push({ variant, threads, ...peak, copyGBps: copyBandwidth(rt, options.maxTime) });
        log(`peak ${variant} x${threads}: ${peak.gflops.toFixed(1)} GFLOP/s, copy ${peaks.at(-1)!.copyGBps.toFixed(1)} GB/s`);
      }
    }
    const cases: CaseResult[] = [];
    for (const c of options.cases) {
      const model = c.model();
      const inputs = c.inputs();
      const results: EngineResult[] = [];
      for (const rt of runtimes) {
        const t = timeOurs(rt, c, model, inputs, options.maxTime);
        const peak = peaks.find((p) => p.variant === rt.variant && p.threads === rt.threads)!;
        const r = rates(c, t.graph.medianMs, t.graph.cpuMs);
        results.push({
          engine: 'ours', variant: rt.variant, threads: rt.threads, ms: t.invoke.medianMs, graphMs: t.graph.medianMs, ...r,
          shareOfPeak: r.gflops !== null ? r.gflops / peak.gflops : r.gbps! / peak.copyGBps,
          shareOfPeakPerCpu: r.gflops !== null ? r.perCpuSecond / peak.gflopsPerCpuSecond : null,
          cpuMs: t.graph.cpuMs, rmePercent: t.invoke.rmePercent, runs: null, steps: t.steps, workingBytes: t.workingBytes, failure: null,
        });
        log(`  ${c.label} ours ${rt.variant} x${rt.threads}: ${t.invoke.medianMs.toFixed(2)} ms (graph ${t.graph.medianMs.toFixed(2)} ms) [${t.steps.join(', ')}]`);
      }
      if (options.litert) {
        for (const threads of options.threads) {
          if (threads !== 1 && threads !== 2) continue; // the harness runs LiteRT.js's 1- and 2-thread builds only
          const rt = await withLiteRt(threads, litert);
          const t = await timeLiteRt(rt, model, inputs, { maxTimeSeconds: options.maxTime, minRuns: 5, maxRuns: 30 });
          const base = { engine: 'litert' as const, variant: null, threads, graphMs: null, shareOfPeak: null, shareOfPeakPerCpu: null, rmePercent: null, steps: null, workingBytes: null };
          if (t.ok) {
            results.push({ ...base, ms: t.medianMs, ...rates(c, t.medianMs, t.cpuMs), cpuMs: t.cpuMs, runs: t.runs, failure: null });
            log(`  ${c.label} LiteRT.js x${threads}: ${t.medianMs.toFixed(2)} ms`);
          } else {
            results.push({ ...base, ms: null, gflops: null, gbps: null, perCpuSecond: null, cpuMs: null, runs: null, failure: { summary: t.summary, error: t.error } });
            log(`  ${c.label} LiteRT.js x${threads}: ${t.summary}`);
            if (/child process exited/.test(t.error)) litert.delete(threads); // start a fresh one for the next case
          }
        }
      }
      cases.push({ label: c.label, kind: c.kind, gflop: c.flops === null ? null : c.flops / 1e9, gbytes: c.bytes === null ? null : c.bytes / 1e9, results });
    }
    return { peaks, cases };
  } finally {
    for (const rt of runtimes) await rt.close();
    for (const rt of litert.values()) await rt.close();
  }
}
