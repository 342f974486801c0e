/**
 * LiteRT.js as a benchmark peer: times one model file through the harness
 * (litert.ts) with the same statistic as our side, the median wall time of
 * `run()`, after warm-up runs. The number of timed runs follows from a
 * first timed run and a time budget (at least `minRuns`).
 *
 * A model LiteRT.js cannot load or run is a result, not an error: its
 * failure is reported with the reason it gave (allocation failures are
 * named as such), so the table says what actually happened.
 */
import type { LiteRt } from './litert.js';

export type LiteRtBenchResult =
  | {
      ok: true;
      medianMs: number;
      runs: number[];
      /** CPU time of the LiteRT.js process per run (all its threads), ms. */
      cpuMs: number;
    }
  | {
      ok: false;
      /** "fails (allocation)", or "fails (<the ERROR line LiteRT.js logged, or the error's first line>)". */
      summary: string;
      error: string;
    };

export interface LiteRtBenchOptions {
  /** Seconds of timed runs to aim for (after the first). */
  maxTimeSeconds: number;
  minRuns: number;
  maxRuns: number;
}

/** The threaded build's workers spin for up to ~0.5 s after a run (see litert.ts): wait them out. */
export const LITERT_SETTLE_MS = 1000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A short reason for the table: "fails (allocation)" when LiteRT.js said so, else the first ERROR line it logged or its message. */
export function failureSummary(message: string): string {
  const logged = /ERROR:\s*([^\n]*)/.exec(message);
  const reason = logged ? logged[1]! : message.split('\n')[0]!.replace(/^LiteRT\.js:\s*/, '');
  if (/alloc|out of memory|enlarge memory/i.test(reason)) return 'fails (allocation)';
  return `fails (${reason.slice(0, 60)})`;
}

export async function timeLiteRt(
  rt: LiteRt,
  model: Uint8Array,
  inputs: Float32Array[],
  options: LiteRtBenchOptions,
): Promise<LiteRtBenchResult> {
  let loaded;
  try {
    loaded = await rt.loadModel(model);
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    return { ok: false, summary: failureSummary(error), error };
  }
  try {
    // One untimed run (warm-up), then one timed run to size the rest.
    const first = await loaded.time(inputs, { warmup: 1, repeat: 1 });
    const estimate = first.ms[0]!;
    const repeat = Math.max(options.minRuns, Math.min(options.maxRuns, Math.round((options.maxTimeSeconds * 1000) / estimate)));
    const timed = await loaded.time(inputs, { warmup: 0, repeat });
    return { ok: true, medianMs: median(timed.ms), runs: timed.ms, cpuMs: timed.cpuMs / repeat };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    return { ok: false, summary: failureSummary(error), error };
  } finally {
    await loaded.dispose().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, LITERT_SETTLE_MS));
  }
}
