/**
 * Issue 5's size and speed targets on the full-size SD v1.5 layout: converts
 * a random-weight SD v1.5 checkpoint (4.27 GB fp32, from make-checkpoint)
 * into all four components at fp32, fp16 and int8, each precision in a
 * fresh `npm run convert` process, and reports wall time, peak RSS (from
 * /usr/bin/time), file sizes against fp32 and the layout of each file.
 *
 *   npm run make-checkpoint -- --config sd15 --dtype fp32 --seed 1 --out /tmp/sd15-random.safetensors
 *   npm run build && node dist/bench/convert/full-size.js [options; --help lists them]
 *
 * Targets: each precision's four components in under 3 minutes with peak RSS
 * under 2 GB; fp16 files within 2% of half the fp32 size, int8 within 2% of
 * a quarter; fp32 diffusion.tflite (over 2 GB) in the offset layout.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existingFile, listOf, outputFolder, parseFlags } from '../../src/cli/parse-flags.js';
import { runCli } from '../../src/cli/run-cli.js';
import { SdError, UsageError } from '../../src/errors.js';
import { PRECISIONS } from '../../src/models/graph/weights.js';
import { TfliteFile } from '../../src/tflite/reader.js';

const COMPONENTS = ['clip', 'diffusion', 'decoder', 'encoder'];
const CLI = fileURLToPath(new URL('../../src/cli/convert.js', import.meta.url));

interface Run {
  precision: string;
  seconds: number;
  peakRssMB?: number;
  sizes: Record<string, number>;
  layouts: Record<string, string>;
}

function convert(ckpt: string, out: string, precision: string): Run {
  const dir = path.join(out, precision);
  fs.rmSync(dir, { recursive: true, force: true });
  const haveTime = fs.existsSync('/usr/bin/time');
  const node = [process.execPath, CLI, '--ckpt', ckpt, '--out', dir, '--precision', precision];
  const [cmd, ...args] = haveTime ? ['/usr/bin/time', '-f', 'peak-rss-kb %M', ...node] : node;
  const t0 = performance.now();
  const child = spawnSync(cmd!, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const seconds = (performance.now() - t0) / 1000;
  if (child.status !== 0) throw new SdError(`convert --precision ${precision} failed (${child.status}):\n${child.stderr}`);
  process.stdout.write(child.stdout);
  const rss = child.stderr.match(/peak-rss-kb (\d+)/);
  const sizes: Record<string, number> = {};
  const layouts: Record<string, string> = {};
  for (const c of COMPONENTS) {
    const file = path.join(dir, `${c}.tflite`);
    sizes[c] = fs.statSync(file).size;
    const opened = TfliteFile.open(file);
    layouts[c] = opened.model.layout;
    opened.close();
  }
  return { precision, seconds, peakRssMB: rss ? Number(rss[1]) / 1024 : undefined, sizes, layouts };
}

const USAGE = `usage: node dist/bench/convert/full-size.js [--ckpt FILE] [--out DIR] [--precisions fp32,fp16,int8] [--keep]

  --ckpt FILE        random-weight SD v1.5 checkpoint (default /tmp/sd15-random.safetensors;
                     npm run make-checkpoint -- --config sd15 --dtype fp32 --seed 1 --out FILE)
  --out DIR          where the converted files go (default: sd-convert-bench in the temp folder)
  --precisions LIST  some of ${PRECISIONS.join(', ')} (default: all)
  --keep             keep the converted files`;

runCli((argv) => {
  const values = parseFlags(argv, {
    ckpt: { type: 'string', default: '/tmp/sd15-random.safetensors' },
    out: { type: 'string', default: path.join(os.tmpdir(), 'sd-convert-bench') },
    precisions: { type: 'string', default: PRECISIONS.join(',') },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  }, USAGE);
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!fs.existsSync(values.ckpt)) throw new UsageError(`no checkpoint at ${values.ckpt}: make it with npm run make-checkpoint (see --help)`);
  existingFile('--ckpt', values.ckpt);
  const precisions = listOf('--precisions', values.precisions, PRECISIONS);
  outputFolder('--out', values.out);
  const runs = precisions.map((p) => convert(values.ckpt, values.out, p));
  const fp32 = runs.find((r) => r.precision === 'fp32');
  console.log('\nprecision  time     peak RSS   ' + COMPONENTS.map((c) => c.padEnd(24)).join(''));
  for (const r of runs) {
    const target = r.precision === 'fp16' ? 0.5 : r.precision === 'int8' ? 0.25 : 1;
    const cells = COMPONENTS.map((c) => {
      const mb = `${(r.sizes[c]! / 1e6).toFixed(1)} MB`;
      const ratio = fp32 ? r.sizes[c]! / fp32.sizes[c]! : NaN;
      const off = fp32 && target !== 1 ? ` ${((ratio / target - 1) * 100).toFixed(2)}%` : '';
      return `${mb}${off} ${r.layouts[c]}`.padEnd(24);
    });
    const rss = r.peakRssMB === undefined ? 'n/a' : `${r.peakRssMB.toFixed(0)} MB`;
    console.log(`${r.precision.padEnd(10)} ${`${r.seconds.toFixed(1)} s`.padEnd(8)} ${rss.padEnd(10)} ${cells.join('')}`);
  }
  console.log('(percentages: size against half (fp16) or a quarter (int8) of the fp32 file; then the buffer layout)');
  if (!values.keep) fs.rmSync(values.out, { recursive: true, force: true });
});
