/**
 * Measures lazy safetensors access on a big checkpoint (issue 2's targets for
 * the 4.27 GB fp32 SD v1.5 file: tensor table under 1 s, one tensor costs only
 * its own bytes, peak RSS of a table scan under 200 MB).
 *
 *   node dist/bench/io/safetensors-table.js FILE.safetensors [--tensor NAME] [--all]  (--help: usage)
 *
 * Opens the table, reads one tensor (NAME, or the largest), and with --all
 * reads every tensor one after another as a converter would. Prints timings
 * and peak RSS (process.resourceUsage().maxRSS) after each phase.
 */
import { existingFile, parseFlagsAndPositionals } from '../../src/cli/parse-flags.js';
import { runCli } from '../../src/cli/run-cli.js';
import { UsageError } from '../../src/errors.js';
import { SafetensorsFile } from '../../src/io/safetensors.js';

const MB = 1024 * 1024;

function peakRssMB(): number {
  return process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
}

function msSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const USAGE = `usage: node dist/bench/io/safetensors-table.js FILE.safetensors [--tensor NAME] [--all]

  --tensor NAME  the tensor to read (default: the largest)
  --all          then read every tensor, one after another`;

runCli((argv) => {
  const { values, positionals } = parseFlagsAndPositionals(argv, {
    tensor: { type: 'string' },
    all: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  }, USAGE);
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one FILE.safetensors, got ${positionals.length} arguments\n${USAGE}`);
  const file = existingFile('FILE.safetensors', positionals[0]!);
  const { tensor, all } = values;
  const rssStart = peakRssMB();

  let t0 = process.hrtime.bigint();
  const st = SafetensorsFile.open(file);
  let dataBytes = 0;
  let largest = '';
  for (const e of st.entries.values()) {
    dataBytes += e.byteLength;
    if (largest === '' || e.byteLength > st.entry(largest).byteLength) largest = e.name;
  }
  const tableMs = msSince(t0);
  console.log(`table: ${st.entries.size} tensors, ${(dataBytes / 1e9).toFixed(3)} GB of data, opened in ${tableMs.toFixed(1)} ms`);
  console.log(`peak RSS: ${rssStart.toFixed(1)} MB at start, ${peakRssMB().toFixed(1)} MB after the table`);

  const name = tensor ?? largest;
  const e = st.entry(name);
  t0 = process.hrtime.bigint();
  st.readBytes(name);
  const readMs = msSince(t0);
  console.log(
    `read ${JSON.stringify(name)} (${e.dtype} [${e.shape.join(', ')}], ${(e.byteLength / MB).toFixed(2)} MB) in ${readMs.toFixed(1)} ms; ` +
      `peak RSS now ${peakRssMB().toFixed(1)} MB`,
  );
  t0 = process.hrtime.bigint();
  const f32 = st.readFloat32(name);
  console.log(`readFloat32 of it: ${f32.length} values in ${msSince(t0).toFixed(1)} ms; peak RSS now ${peakRssMB().toFixed(1)} MB`);

  if (all) {
    t0 = process.hrtime.bigint();
    for (const entry of st.entries.values()) st.readFloat32(entry.name);
    const s = msSince(t0) / 1000;
    console.log(
      `read every tensor as float32 in ${s.toFixed(1)} s (${(dataBytes / 1e9 / s).toFixed(2)} GB/s); peak RSS ${peakRssMB().toFixed(1)} MB ` +
        `(largest tensor ${(st.entry(largest).byteLength / MB).toFixed(1)} MB)`,
    );
  }
  st.close();
});
