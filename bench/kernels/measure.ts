/** Times a synchronous function with benchmark.js; reports the median sample. */
import Benchmark from 'benchmark';

export interface Timing {
  /** Median wall time of one call, ms. */
  medianMs: number;
  /** Relative margin of error of the mean, percent (benchmark.js's rme). */
  rmePercent: number;
  samples: number;
  /**
   * Process CPU time of one call (all threads), ms, over a separate run of
   * calls: on a machine shared with other work this shows the kernel's own
   * cost, which wall time mixes with waiting for a core.
   */
  cpuMs: number;
}

export function time(name: string, fn: () => void, maxTimeSeconds: number): Timing {
  fn(); // warm up: tier up to optimised code, touch the memory
  const bench = new Benchmark(name, fn, { maxTime: maxTimeSeconds, minSamples: 5, initCount: 1 });
  bench.run();
  if (bench.error) throw bench.error;
  const sample = [...bench.stats.sample].sort((x, y) => x - y);
  const mid = sample.length >> 1;
  const median = sample.length % 2 ? sample[mid]! : (sample[mid - 1]! + sample[mid]!) / 2;
  // About a third of maxTime more, counted in CPU time.
  const calls = Math.max(3, Math.round((maxTimeSeconds / 3) / median));
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i++) fn();
  const used = process.cpuUsage(start);
  return {
    medianMs: median * 1000,
    rmePercent: bench.stats.rme,
    samples: sample.length,
    cpuMs: (used.user + used.system) / 1000 / calls,
  };
}
