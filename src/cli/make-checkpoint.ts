import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../errors.js';
import { loadModelConfig, type ModelConfig } from '../models/config.js';
import type { CheckpointPrecision } from '../models/ldm-layout/index.js';
import { writeRandomCheckpoint, type RandomCheckpointProgress } from '../models/random-checkpoint.js';
import { outputFile, parseFlags } from './parse-flags.js';
import { formatBytes, ProgressBar } from './progress.js';
import { runCli } from './run-cli.js';

const USAGE = `usage: npm run make-checkpoint -- --out X.safetensors [--config sd15|FILE.json] [--dtype fp32|fp16] [--seed N]

Writes a checkpoint of RANDOM weights with exactly the tensor names, shapes and
dtypes of v1-5-pruned-emaonly.safetensors (original LDM layout, schedule buffers
and model_ema entries included), for testing without the real weights.

  --out FILE       output .safetensors file (written to a temporary name, then renamed)
  --config C       sd15 (default: Stable Diffusion v1.5, a 4.27 GB fp32 file) or a
                   model-config JSON file (missing fields take SD v1.5's values)
  --dtype D        fp32 (default) or fp16: the dtype of every float tensor
  --seed N         integer seed, 0 to 2^32-1 (default 0); a seed gives the same file`;

/** Below this size the file is written too quickly for a progress line to help. */
const PROGRESS_MIN_BYTES = 64e6;

export interface MakeCheckpointArgs {
  out: string;
  config: ModelConfig;
  configName: string;
  precision: CheckpointPrecision;
  seed: number;
}

/** Parses and checks the command line; `undefined` when only --help was asked. */
export function parseMakeCheckpointArgs(argv: string[]): MakeCheckpointArgs | undefined {
  const values = parseFlags(argv, {
    out: { type: 'string' },
    config: { type: 'string' },
    dtype: { type: 'string' },
    seed: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, USAGE);
  if (values.help) return undefined;
  if (values.out === undefined || values.out === '') throw new UsageError(`--out FILE is required\n${USAGE}`);
  outputFile('--out', values.out, { makeFolder: false });
  const dtype = values.dtype ?? 'fp32';
  if (dtype !== 'fp32' && dtype !== 'fp16') throw new UsageError(`--dtype must be fp32 or fp16, got ${JSON.stringify(dtype)}`);
  const seedText = values.seed ?? '0';
  const seed = /^\d{1,10}$/.test(seedText) ? Number(seedText) : NaN;
  if (!(seed <= 0xffffffff)) throw new UsageError(`--seed must be an integer from 0 to 4294967295, got ${JSON.stringify(seedText)}`);
  const configName = values.config ?? 'sd15';
  return { out: values.out, config: loadModelConfig(configName), configName, precision: dtype, seed };
}

function main(argv: string[]): void {
  const args = parseMakeCheckpointArgs(argv);
  if (args === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const started = performance.now();
  let bar: ProgressBar | undefined;
  let latest: RandomCheckpointProgress | undefined;
  let mbShown = 0;
  const onProgress = (p: RandomCheckpointProgress) => {
    if (p.bytesTotal < PROGRESS_MIN_BYTES) return;
    latest = p;
    bar ??= new ProgressBar({
      label: 'make-checkpoint, MB written',
      total: Math.ceil(p.bytesTotal / 1e6),
      unit: 'MB',
      detail: () => `tensors ${latest!.tensorsDone}/${latest!.tensorsTotal}`,
    });
    // The bar counts whole megabytes written.
    const mb = p.tensorsDone === p.tensorsTotal ? Math.ceil(p.bytesTotal / 1e6) : Math.floor(p.bytesDone / 1e6);
    bar.tick(mb - mbShown);
    mbShown = mb;
  };
  const done = writeRandomCheckpoint(args.out, args.config, { seed: args.seed, precision: args.precision, onProgress });
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `wrote ${args.out}: ${done.tensorsTotal} tensors, ${formatBytes(done.bytesTotal)} of tensor data ` +
      `(config ${args.configName}, ${args.precision}, seed ${args.seed}) in ${seconds.toFixed(1)} s\n`,
  );
}

// Run only as the entry point, so tests can import parseMakeCheckpointArgs.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  runCli(main);
}
