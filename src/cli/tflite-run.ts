/**
 * `tflite run`: runs a model on .npy inputs and writes .npy outputs.
 *
 *   npm run tflite -- run MODEL.tflite [--signature KEY] --input NAME=file.npy ...
 *       --output-dir DIR [--threads N] [--repeat N] [--profile] [--kernels wasm|reference]
 *
 * Kernels: the WebAssembly SIMD kernels where an op has one (default), on
 * --threads threads (default: every core); or only the TypeScript
 * reference kernels.
 * Inputs are named as the signature names them (or by the subgraph's input
 * tensor names when the file has no signature); an input whose .npy shape
 * differs from the model's current shape is resized to it (dims the file
 * marks -1). Each output goes to DIR/<name>.npy with characters outside
 * [A-Za-z0-9._-] replaced by '_' (a clash gets _2, _3, ...), and
 * DIR/outputs.json lists them with the time of every invocation.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { availableParallelism } from 'node:os';
import { UsageError } from '../errors.js';
import { readNpy, writeNpy, type NpyArray, type NpyDType } from '../io/npy.js';
import type { TypedArray } from '../kernels/reference/typed-tensor.js';
import { createKernelRuntime, type KernelRuntime } from '../kernels/wasm/runtime.js';
import { Interpreter, type InterpreterOptions } from '../tflite/interpreter/interpreter.js';
import { wasmInterpreterOptions } from '../tflite/ops/wasm/index.js';
import type { TensorValue } from '../tflite/interpreter/signature-runner.js';
import { formatProfile, Profiler } from '../tflite/interpreter/profiler.js';
import { outputFolder, parseFlagsAndPositionals } from './parse-flags.js';

export const RUN_USAGE = `usage: npm run tflite -- run MODEL.tflite [--signature KEY] --input NAME=file.npy ...
           --output-dir DIR [--threads N] [--repeat N] [--profile] [--kernels wasm|reference]

  --signature KEY    entry point (default: the first signature, or subgraph 0 when there is none)
  --input NAME=FILE  one per model input, by signature input name (or input tensor name)
  --output-dir DIR   where <output name>.npy files and outputs.json go (created if missing)
  --threads N        kernel threads (default: all cores)
  --kernels K        wasm (default: WebAssembly SIMD kernels where an op has one) or reference
  --repeat N         invoke N times (default 1) to time it; outputs come from the last run
  --profile          print time per op type and the slowest operators`;

export interface RunArgs {
  model: string;
  signature?: string;
  inputs: Array<{ name: string; file: string }>;
  outputDir: string;
  threads: number;
  repeat: number;
  profile: boolean;
  kernels: 'wasm' | 'reference';
}

function positiveInt(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 1e6)) throw new UsageError(`${flag} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

export function parseRunArgs(argv: string[]): RunArgs {
  const { values, positionals } = parseFlagsAndPositionals(argv, {
    signature: { type: 'string' },
    input: { type: 'string', multiple: true },
    'output-dir': { type: 'string' },
    threads: { type: 'string' },
    repeat: { type: 'string' },
    profile: { type: 'boolean' },
    kernels: { type: 'string' },
  }, RUN_USAGE);
  if (positionals.length !== 1) throw new UsageError(`run takes one MODEL.tflite\n${RUN_USAGE}`);
  if (!values['output-dir']) throw new UsageError(`--output-dir DIR is required\n${RUN_USAGE}`);
  const inputs = (values.input ?? []).map((spec) => {
    const eq = spec.indexOf('=');
    if (eq <= 0 || eq === spec.length - 1) throw new UsageError(`--input takes NAME=file.npy, got ${JSON.stringify(spec)}`);
    return { name: spec.slice(0, eq), file: spec.slice(eq + 1) };
  });
  const kernels = values.kernels ?? 'wasm';
  if (kernels !== 'wasm' && kernels !== 'reference') throw new UsageError(`--kernels must be wasm or reference, got ${JSON.stringify(kernels)}`);
  const seen = new Set<string>();
  for (const i of inputs) {
    if (seen.has(i.name)) throw new UsageError(`input ${i.name} is given twice`);
    seen.add(i.name);
  }
  return {
    model: positionals[0]!,
    signature: values.signature,
    inputs,
    outputDir: values['output-dir'],
    threads: positiveInt(values.threads, '--threads', availableParallelism()),
    repeat: positiveInt(values.repeat, '--repeat', 1),
    profile: values.profile ?? false,
    kernels,
  };
}

/** File name for an output: characters outside [A-Za-z0-9._-] become '_'. */
export function sanitizeName(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9._-]/g, '_');
  return clean === '' || clean === '.' || clean === '..' ? `_${clean}` : clean;
}

const NPY_TYPES: ReadonlySet<string> = new Set<NpyDType>(['float32', 'float16', 'float64', 'int32', 'int64', 'int8', 'uint8', 'bool']);

function toNpy(name: string, value: TensorValue): NpyArray {
  if (!NPY_TYPES.has(value.dtype)) throw new UsageError(`output ${name} is ${value.dtype}, which cannot be written as .npy here`);
  return { dtype: value.dtype as NpyDType, shape: value.shape, data: value.data as NpyArray['data'] };
}

export interface RunReport {
  outputs: Array<{ name: string; dtype: string; shape: number[]; file: string }>;
  invocation_ms: number[];
}

/** Runs the model as the arguments say, writes the files, and returns what outputs.json holds (plus the profile text). */
export async function runModel(args: RunArgs): Promise<{ report: RunReport; profile?: string }> {
  outputFolder('--output-dir', args.outputDir); // made first, so a bad path fails before the run
  let runtime: KernelRuntime | undefined;
  let options: InterpreterOptions = { threads: args.threads };
  if (args.kernels === 'wasm') {
    runtime = await createKernelRuntime({ threads: args.threads });
    options = wasmInterpreterOptions(runtime);
  }
  try {
    return runLoaded(args, Interpreter.load(args.model, options));
  } finally {
    await runtime?.close();
  }
}

function runLoaded(args: RunArgs, interp: Interpreter): { report: RunReport; profile?: string } {
  try {
    const runner = interp.getSignatureRunner(args.signature);
    const expected = runner.inputNames;
    for (const i of args.inputs) {
      if (!expected.includes(i.name)) throw new UsageError(`model has no input ${i.name} (inputs: ${expected.join(', ')})`);
    }
    const missing = expected.filter((n) => !args.inputs.some((i) => i.name === n));
    if (missing.length) throw new UsageError(`missing --input for ${missing.join(', ')} (inputs: ${expected.join(', ')})`);
    const feeds: Record<string, TypedArray> = {};
    for (const i of args.inputs) {
      const arr = readNpy(i.file);
      const details = runner.inputDetails().find((d) => d.name === i.name)!;
      if (arr.dtype !== details.dtype) throw new UsageError(`input ${i.name}: ${i.file} is ${arr.dtype}, the model takes ${details.dtype}`);
      if (arr.shape.length !== details.shape.length || arr.shape.some((d, k) => d !== details.shape[k])) runner.resizeInput(i.name, arr.shape);
      feeds[i.name] = arr.data as TypedArray;
    }
    const profiler = args.profile ? new Profiler() : undefined;
    const times: number[] = [];
    let result: Record<string, TensorValue> = {};
    for (let r = 0; r < args.repeat; r++) {
      const started = performance.now();
      // Inputs copied in every time (a run may reuse their bytes in place); outputs as
      // arena views, written out below after the last run, before the interpreter closes.
      result = runner.invoke(feeds, { timer: profiler?.timer(), outputs: 'view' });
      times.push(performance.now() - started);
    }
    const used = new Set<string>();
    const outputs = Object.entries(result).map(([name, value]) => {
      const base = sanitizeName(name);
      let file = `${base}.npy`;
      for (let k = 2; used.has(file); k++) file = `${base}_${k}.npy`;
      used.add(file);
      writeNpy(path.join(args.outputDir, file), toNpy(name, value));
      return { name, dtype: value.dtype, shape: value.shape, file };
    });
    const report: RunReport = { outputs, invocation_ms: times.map((t) => Math.round(t * 1000) / 1000) };
    const json = path.join(args.outputDir, 'outputs.json');
    fs.writeFileSync(`${json}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
    fs.renameSync(`${json}.tmp`, json);
    return { report, profile: profiler ? formatProfile(profiler, args.repeat) : undefined };
  } finally {
    interp.close();
  }
}

/** The `run` subcommand. */
export async function tfliteRun(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${RUN_USAGE}\n`);
    return;
  }
  const args = parseRunArgs(argv);
  const { report, profile } = await runModel(args);
  if (profile) process.stdout.write(profile);
  const ms = report.invocation_ms;
  const timing = ms.length === 1 ? `${ms[0]!.toFixed(1)} ms` : `${ms.length} runs, best ${Math.min(...ms).toFixed(1)} ms, median ${median(ms).toFixed(1)} ms`;
  process.stdout.write(`wrote ${report.outputs.length} output(s) and outputs.json to ${args.outputDir} (${timing})\n`);
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
