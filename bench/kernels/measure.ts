/** Times a synchronous function with benchmark.js; reports the median sample. */
import Benchmark from 'benchmark';

export interface Timing {
  /** Median time of one call, ms. */
  medianMs: number;
  /** Relative margin of error of the mean, percent (benchmark.js's rme). */
  rmePercent: number;
  samples: number;
}

export function time(name: string, fn: () => void, maxTimeSeconds: number): Timing {
  fn(); // warm up: tier up to optimised code, touch the memory
  const bench = new Benchmark(name, fn, { maxTime: maxTimeSeconds, minSamples: 5, initCount: 1 });
  bench.run();
  if (bench.error) throw bench.error;
  const sample = [...bench.stats.sample].sort((x, y) => x - y);
  const mid = sample.length >> 1;
  const median = sample.length % 2 ? sample[mid]! : (sample[mid - 1]! + sample[mid]!) / 2;
  return { medianMs: median * 1000, rmePercent: bench.stats.rme, samples: sample.length };
}
