/**
 * Makes the full-size random SD v1.5 checkpoint (4.27 GB in fp32) the way
 * `npm run make-checkpoint` does, and reports wall time, throughput and peak
 * RSS (tensors are produced one at a time, so RSS should stay near the
 * largest tensor, the 152 MB token embedding, plus Node's own). Then checks
 * the written tensor table against the layout and times opening it.
 *
 *   npm run build && node dist/bench/checkpoint/make-full-size.js [options; --help lists them]
 *
 * The file is kept (default /tmp/sd15-random-<dtype>.safetensors) for the
 * reader benchmarks unless --remove is given.
 */
import { rmSync, statSync } from 'node:fs';
import { oneOf, outputFile, parseFlags } from '../../src/cli/parse-flags.js';
import { runCli } from '../../src/cli/run-cli.js';
import { SafetensorsFile } from '../../src/io/safetensors.js';
import { SD15_CONFIG } from '../../src/models/config.js';
import { ldmCheckpointSpecs } from '../../src/models/ldm-layout/index.js';
import { writeRandomCheckpoint } from '../../src/models/random-checkpoint.js';

const peakRssMB = () => process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB

const USAGE = `usage: node dist/bench/checkpoint/make-full-size.js [--dtype fp32|fp16] [--out FILE] [--remove]

  --dtype D   fp32 (default) or fp16
  --out FILE  the checkpoint (default /tmp/sd15-random-<dtype>.safetensors)
  --remove    delete it at the end (default: kept for the reader benchmarks)`;

runCli((argv) => {
  const values = parseFlags(argv, {
    dtype: { type: 'string', default: 'fp32' },
    out: { type: 'string' },
    remove: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  }, USAGE);
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const precision = oneOf('--dtype', values.dtype, ['fp32', 'fp16']);
  const out = outputFile('--out', values.out ?? `/tmp/sd15-random-${precision}.safetensors`);

  const rssStart = peakRssMB();
  const t0 = performance.now();
  let lastReport = t0;
  const result = writeRandomCheckpoint(out, SD15_CONFIG, {
    seed: 0,
    precision,
    onProgress: (p) => {
      const now = performance.now();
      if (now - lastReport > 15_000) {
        lastReport = now;
        console.log(`  ${p.tensorsDone}/${p.tensorsTotal} tensors, ${(p.bytesDone / 1e9).toFixed(2)} GB, peak RSS ${peakRssMB().toFixed(0)} MB`);
      }
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const fileBytes = statSync(out).size;
  console.log(`wrote ${out}: ${result.tensorsTotal} tensors, ${fileBytes} bytes (${(fileBytes / 1e9).toFixed(3)} GB; ` +
    `header ${fileBytes - result.bytesTotal - 8} bytes) in ${seconds.toFixed(1)} s = ${(fileBytes / 1e6 / seconds).toFixed(0)} MB/s`);
  console.log(`peak RSS: ${rssStart.toFixed(0)} MB at start, ${peakRssMB().toFixed(0)} MB after writing`);

  const t1 = performance.now();
  const file = SafetensorsFile.open(out);
  const openMs = performance.now() - t1;
  const specs = ldmCheckpointSpecs(SD15_CONFIG, precision);
  const mismatches = specs.filter((s) => {
    const e = file.entries.get(s.name);
    return e === undefined || e.dtype !== s.dtype || e.shape.join(',') !== s.shape.join(',');
  });
  console.log(`table: ${file.entries.size} tensors (layout: ${specs.length}), ${mismatches.length} mismatches, opened in ${openMs.toFixed(1)} ms`);
  file.close();
  if (mismatches.length > 0 || file.entries.size !== specs.length) throw new Error(`written table differs from the layout: ${mismatches.map((s) => s.name).slice(0, 5).join(', ')}`);
  if (values.remove) rmSync(out);
});
