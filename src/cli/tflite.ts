import { UsageError } from '../errors.js';
import { setUpKernels } from '../kernels/wasm/loader.js';
import { formatInfo, modelInfo } from '../tflite/info.js';
import { TfliteFile } from '../tflite/reader.js';
import { parseFlagsAndPositionals } from './parse-flags.js';
import { runCli } from './run-cli.js';
import { tfliteRun } from './tflite-run.js';

const USAGE = `usage: npm run tflite -- <command> ...

commands:
  info MODEL.tflite [--json]   signatures, subgraphs, op counts, constants and
                               buffer layout of a model (--json: one JSON object)
  run MODEL.tflite --input NAME=file.npy ... --output-dir DIR
                               run a model on .npy inputs (run --help for options)`;

function info(argv: string[]): void {
  const { values, positionals } = parseFlagsAndPositionals(argv, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (positionals.length !== 1) throw new UsageError(`info takes one MODEL.tflite\n${USAGE}`);
  const file = TfliteFile.open(positionals[0]!);
  try {
    const summary = modelInfo(file);
    process.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : `${formatInfo(summary)}\n`);
  } finally {
    file.close();
  }
}

/** Subcommands by name; each gets the arguments after its name. */
const COMMANDS: Record<string, (argv: string[]) => void | Promise<void>> = { info, run: tfliteRun };

function main(argv: string[]): void | Promise<void> {
  setUpKernels(); // relaxed SIMD unless SD_TFLITE_SIMD=plain, before any kernel is compiled
  const [name, ...rest] = argv;
  if (name === undefined) throw new UsageError(`a command is needed\n${USAGE}`);
  if (name === '--help' || name === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}\n${USAGE}`);
  return command(rest);
}

runCli(main);
