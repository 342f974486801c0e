/**
 * Issue 3's target for big models: a .tflite over 2 GB, in the offset layout
 * (constant data after the flatbuffer), opens in under 2 s with RSS under
 * 300 MB. Writes such a file (UNet-like: 800 constants of ~2.7 MB, zeros,
 * streamed by producers), then opens it in a fresh process and reports the
 * open time and RSS before and after.
 *
 *   node dist/bench/tflite/open-large.js [FILE=<tmpdir>/sd-tflite-large.tflite] [--keep]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { outputFile, parseFlagsAndPositionals } from '../../src/cli/parse-flags.js';
import { runCli } from '../../src/cli/run-cli.js';
import { SdError, UsageError } from '../../src/errors.js';
import { modelInfo } from '../../src/tflite/info.js';
import { TfliteFile } from '../../src/tflite/reader.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';

const CONSTANTS = 800;
const CHANNELS = 336; // CONV_2D weights [336, 3, 3, 224] = 677,376 floats = 2.7 MB each
const INNER = 224;
const CHUNK = new Uint8Array(4 << 20); // zeros, emitted repeatedly

function writeLargeModel(file: string): void {
  const m = new TfliteModelBuilder('open-large bench');
  const g = m.main;
  let x = g.addInput('args_0', 'FLOAT32', [1, 64, 64, INNER]);
  const weightShape = [CHANNELS, 3, 3, INNER];
  const bytes = CHANNELS * 9 * INNER * 4;
  for (let i = 0; i < CONSTANTS; i++) {
    const w = g.addConstant(`w${i}`, 'FLOAT32', weightShape, {
      byteLength: bytes,
      produce: (emit) => {
        for (let done = 0; done < bytes; done += CHUNK.length) emit(CHUNK.subarray(0, Math.min(CHUNK.length, bytes - done)));
      },
    });
    const y = g.addTensor(`conv${i}`, 'FLOAT32', [1, 64, 64, CHANNELS]);
    g.addOperator('CONV_2D', [x, w, -1], [y], { padding: 'SAME', strideW: 1, strideH: 1 });
    const z = g.addTensor(`slice${i}`, 'FLOAT32', [1, 64, 64, INNER]);
    const begin = g.addConstant(`begin${i}`, 'INT32', [4], new Uint8Array(16));
    const size = g.addConstant(`size${i}`, 'INT32', [4], new Uint8Array(new Int32Array([1, 64, 64, INNER]).buffer));
    g.addOperator('SLICE', [y, begin, size], [z]);
    x = z;
  }
  g.markOutput(x);
  m.addSignature('run', { args_0: 0 }, { output_0: x });
  m.writeFile(file);
}

function rssMb(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

/** Child-process side: open, summarize, read one constant, report JSON. */
function measureOpen(file: string): void {
  const rssBefore = rssMb();
  const t0 = performance.now();
  const model = TfliteFile.open(file);
  const info = modelInfo(model);
  const openMs = performance.now() - t0;
  const rssOpen = rssMb();
  const t1 = performance.now();
  const one = model.constantBytes(0, 1)!;
  const readMs = performance.now() - t1;
  model.close();
  console.log(JSON.stringify({
    open_ms: Math.round(openMs), rss_before_mb: Math.round(rssBefore), rss_after_open_mb: Math.round(rssOpen),
    layout: info.buffer_layout, file_bytes: info.file_bytes, operators: info.operators, constant_bytes: info.constant_bytes,
    one_constant_bytes: one.byteLength, one_constant_read_ms: Math.round(readMs), rss_after_one_constant_mb: Math.round(rssMb()),
  }));
}

const USAGE = `usage: node dist/bench/tflite/open-large.js [FILE] [--keep]

  FILE    the large .tflite to write (default: sd-tflite-large.tflite in the temp folder)
  --keep  keep it at the end`;

function main(argv: string[]): void {
  const { values, positionals } = parseFlagsAndPositionals(argv, {
    keep: { type: 'boolean', default: false },
    // Internal: the fresh process that opens the file and reports.
    'measure-open': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, USAGE);
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values['measure-open'] !== undefined) {
    measureOpen(values['measure-open']);
    return;
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one FILE\n${USAGE}`);
  const file = outputFile('FILE', positionals[0] ?? path.join(os.tmpdir(), 'sd-tflite-large.tflite'));
  const t0 = performance.now();
  writeLargeModel(file);
  const size = fs.statSync(file).size;
  console.log(`wrote ${file}: ${(size / 2 ** 30).toFixed(2)} GiB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--measure-open', file], { encoding: 'utf8' });
  if (child.status !== 0) throw new SdError(`measuring process failed: ${child.stderr}`);
  const result = JSON.parse(child.stdout) as { open_ms: number; rss_after_open_mb: number };
  console.log(child.stdout.trim());
  console.log(`open ${result.open_ms} ms (target < 2000), RSS ${result.rss_after_open_mb} MB (target < 300): ` +
    (result.open_ms < 2000 && result.rss_after_open_mb < 300 ? 'PASS' : 'FAIL'));
  if (!values.keep) fs.rmSync(file);
}

runCli(main);
