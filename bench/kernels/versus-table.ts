/**
 * Printed tables for versus-litert.ts: a summary row per case and kernel
 * variant (ours at each thread count, LiteRT.js at each, the speed ratio
 * and the 2-thread scaling), then every measurement with its CPU time.
 */
import type { CaseResult, EngineResult, RuntimePeak } from './versus-litert.js';

function table(header: string[], rows: string[][], leftColumns: number): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)];
}

const fixed = (x: number | null | undefined, digits: number) => (x === null || x === undefined ? '—' : x.toFixed(digits));
const ms = (x: number | null) => (x === null ? '—' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const rate = (r: EngineResult) => fixed(r.gflops ?? r.gbps, 1);

/** Speed of ours relative to LiteRT.js (>1: ours is faster). */
export function speedRatio(oursMs: number | null | undefined, litertMs: number | null | undefined): number | null {
  return oursMs && litertMs ? litertMs / oursMs : null;
}

export function printVersus(peaks: RuntimePeak[], cases: CaseResult[], threads: number[]): void {
  console.log('\nWebAssembly SIMD peak and copy bandwidth, measured in this run with the same runtimes:');
  for (const p of peaks) {
    console.log(`  ${p.variant.padEnd(8)} ${p.threads} thread(s): ${p.gflops.toFixed(1)} GFLOP/s (${p.gflopsPerCpuSecond.toFixed(1)} GFLOP/cpu-s); copy ${p.copyGBps.toFixed(1)} GB/s`);
  }
  const header = ['op / shape', 'ours'];
  for (const t of threads) header.push(`${t}T invoke ms`, `${t}T graph ms`, `${t}T GF/s|GB/s`, `${t}T %pk`);
  for (const t of threads) header.push(`LiteRT ${t}T ms`);
  for (const t of threads) header.push(`x LiteRT ${t}T`);
  header.push('2T/1T ours', '2T/1T LiteRT', 'work MB');
  const rows: string[][] = [];
  const failures = new Set<string>();
  for (const c of cases) {
    const variants = [...new Set(c.results.filter((r) => r.engine === 'ours').map((r) => r.variant!))];
    const lite = (t: number) => c.results.find((r) => r.engine === 'litert' && r.threads === t);
    for (const v of variants) {
      const ours = (t: number) => c.results.find((r) => r.engine === 'ours' && r.variant === v && r.threads === t);
      const row = [c.label, v];
      for (const t of threads) {
        const r = ours(t);
        row.push(ms(r?.ms ?? null), ms(r?.graphMs ?? null), r ? rate(r) : '—', r?.shareOfPeak == null ? '—' : (100 * r.shareOfPeak).toFixed(0));
      }
      for (const t of threads) {
        const l = lite(t);
        if (l?.failure) failures.add(`${c.label}, LiteRT.js ${t} thread(s): ${l.failure.summary}`);
        row.push(!l ? '—' : l.failure ? 'fails*' : ms(l.ms));
      }
      for (const t of threads) {
        const byInvoke = speedRatio(ours(t)?.ms, lite(t)?.ms);
        const byGraph = speedRatio(ours(t)?.graphMs, lite(t)?.ms);
        row.push(byInvoke === null || byGraph === null ? '—' : `${byInvoke.toFixed(2)}|${byGraph.toFixed(2)}`);
      }
      const scale = (a?: number | null, b?: number | null) => (a && b ? `${(a / b).toFixed(2)}x` : '—');
      row.push(scale(ours(1)?.graphMs, ours(2)?.graphMs), scale(lite(1)?.ms, lite(2)?.ms));
      const work = c.kind === 'attention' ? ours(threads[0]!)?.workingBytes : undefined;
      row.push(work === undefined || work === null ? '—' : (work / 2 ** 20).toFixed(2));
      rows.push(row);
    }
  }
  console.log('\nOur interpreter (single-op .tflite, invoke(), WebAssembly kernels) against LiteRT.js on the same file:');
  for (const l of table(header, rows, 2)) console.log(l);
  for (const f of failures) console.log(`* ${f}`);
  console.log('invoke ms: SignatureRunner.invoke() on inputs already in the arena, outputs as views (no copies, as LiteRT.js run()); graph ms: the steps alone.');
  console.log('GF/s|GB/s and %pk: of the graph time; %pk of the SIMD peak (GFLOP/s rows) or copy bandwidth (GB/s rows), same variant and threads.');
  console.log('x LiteRT: speed of ours over LiteRT.js run() at that thread count, by invoke | by graph time (LiteRT.js ms / our ms; >1 is faster).');
  console.log('2T/1T: speed-up from the second thread (ours: graph time).');
  console.log('Flops are the direct algorithm\'s (conv 2·H·W·9·Cin·Cout, FC 2·M·K·N, attention 4·B·N·T·S·d): an effective rate when a kernel does less work (Winograd).');
  console.log('work MB: memory beyond inputs and output (planned intermediates + fused-attention scratch).');

  const detail: string[][] = [];
  for (const c of cases) {
    for (const r of c.results) {
      detail.push([
        c.label,
        r.engine === 'ours' ? `ours ${r.variant}` : 'LiteRT.js',
        String(r.threads),
        r.failure ? 'fails' : ms(r.ms),
        ms(r.graphMs),
        rate(r),
        fixed(r.perCpuSecond, 1),
        r.shareOfPeakPerCpu === null ? '—' : (100 * r.shareOfPeakPerCpu).toFixed(0),
        r.rmePercent === null ? (r.runs ? `${r.runs.length} runs` : '—') : `±${r.rmePercent.toFixed(1)}%`,
        r.failure ? r.failure.summary : r.steps ? r.steps.join(' ') : '—',
      ]);
    }
  }
  console.log('\nEvery measurement (median ms; per cpu-s: GFLOP or GB per CPU-second of the engine\'s process, all threads;');
  console.log('%pk/cpu-s: that over the peak\'s GFLOP per CPU-second, a share of peak the machine\'s other load does not move):');
  for (const l of table(['op / shape', 'engine', 'thr', 'ms', 'graph ms', 'GF/s|GB/s', 'per cpu-s', '%pk/cpu-s', 'spread', 'steps run (or failure)'], detail, 3)) {
    console.log(l);
  }
}
