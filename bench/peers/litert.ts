/**
 * Google's LiteRT.js (`@litertjs/core`, TFLite compiled to WebAssembly with
 * XNNPACK) as a peer runtime: for interop tests (do our .tflite files run in
 * Google's runtime, with the right numbers?) and as the benchmark baseline.
 *
 * LiteRT.js runs in a child process (bench/peers/litert-child.mjs), which
 * turns relaxed SIMD on for its default and threaded builds where the
 * engine needs a V8 flag for it (Node 20) and keeps LiteRT.js's
 * browser-style globals and worker threads out of the caller's process.
 *
 *   const rt = await loadLiteRt({ threads: 2 });
 *   const model = await rt.loadModel('model.tflite');
 *   const { outputs, ms } = await model.run({ args_0: x });
 *   const { ms: times } = await model.time({ args_0: x }, { warmup: 2, repeat: 10 });
 *   await rt.close();
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../src/errors.js';
import { litertGlueDir } from './litert-glue.js';
import { withStaticShapeSignatures } from './litert-static-shapes.js';

/** Element types LiteRT.js's JS Tensor accepts (it rejects INT8 and BOOL). */
export type LiteRtDtype = 'float32' | 'int32' | 'uint8';
export type LiteRtData = Float32Array | Int32Array | Uint8Array;

export interface LiteRtTensorInfo {
  name: string;
  dtype: LiteRtDtype;
  shape: number[];
}

export interface LiteRtSignature {
  /** The SignatureDef key; for a model without one, LiteRT.js's placeholder key. */
  key: string;
  inputs: LiteRtTensorInfo[];
  outputs: LiteRtTensorInfo[];
}

/** An input: bare data takes the shape the model declares. */
export type LiteRtInput = LiteRtData | { data: LiteRtData; shape?: readonly number[] };

/** Inputs by name, or by position in the signature's (or subgraph's) input order. */
export type LiteRtInputs = Record<string, LiteRtInput> | readonly LiteRtInput[];

export type LiteRtOutput = { name: string; shape: number[] } & (
  | { dtype: 'float32'; data: Float32Array }
  | { dtype: 'int32'; data: Int32Array }
  | { dtype: 'uint8'; data: Uint8Array }
);

export interface LiteRtRunResult {
  outputs: LiteRtOutput[];
  /** Wall time of LiteRT.js's `run()` in the child, ms (no transfer, no tensor set-up). */
  ms: number;
}

export interface LiteRtRunOptions {
  /** Signature key; default: the model's first signature. */
  signature?: string;
}

export interface LiteRtTimeOptions extends LiteRtRunOptions {
  /** Untimed runs first (default 1). */
  warmup?: number;
  repeat: number;
}

export interface LiteRtTiming {
  /** Wall time of each timed `run()`, ms. */
  ms: number[];
  /** CPU time of the LiteRT.js process over all timed runs (all its threads), ms. */
  cpuMs: number;
}

export interface LiteRt {
  /** Threads LiteRT.js reports using. */
  readonly threads: number;
  /** Loads and compiles a model (bytes or a file path). */
  loadModel(model: Uint8Array | string): Promise<LiteRtModel>;
  /** Ends the child process; the instance and its models are unusable after. */
  close(): Promise<void>;
}

export interface LiteRtModel {
  readonly signatures: readonly LiteRtSignature[];
  run(inputs: LiteRtInputs, options?: LiteRtRunOptions): Promise<LiteRtRunResult>;
  /**
   * Runs `warmup` + `repeat` times inside the child, timing the last `repeat`.
   * After a run, the threaded build's workers spin for up to ~0.5 s: let it
   * settle (about 1 s) before timing anything else on the same cores.
   */
  time(inputs: LiteRtInputs, options: LiteRtTimeOptions): Promise<LiteRtTiming>;
  dispose(): Promise<void>;
}

/** Starts LiteRT.js (single-threaded build for 1 thread, threaded build for 2). */
export async function loadLiteRt({ threads }: { threads: 1 | 2 }): Promise<LiteRt> {
  if (threads !== 1 && threads !== 2) throw new UsageError(`LiteRT.js threads must be 1 or 2, got ${String(threads)}`);
  const child = new ChildConnection(threads);
  const ready = await child.ready;
  return {
    threads: ready.threads,
    loadModel: async (model) => {
      const bytes = typeof model === 'string' ? new Uint8Array(fs.readFileSync(model)) : model;
      const file = typeof model === 'string' ? model : 'model bytes';
      const reply = await child.request<LoadReply>({ op: 'load', bytes: withStaticShapeSignatures(bytes, file) });
      return new ChildModel(child, reply);
    },
    close: () => child.close(),
  };
}

interface LoadReply {
  modelId: number;
  signatures: LiteRtSignature[];
  defaultSignature: string;
}

interface PositionalInput {
  data: LiteRtData;
  shape: number[];
}

class ChildModel implements LiteRtModel {
  readonly signatures: readonly LiteRtSignature[];
  private readonly modelId: number;
  private readonly defaultSignature: string;

  constructor(
    private readonly child: ChildConnection,
    reply: LoadReply,
  ) {
    this.modelId = reply.modelId;
    this.signatures = reply.signatures;
    this.defaultSignature = reply.defaultSignature;
  }

  async run(inputs: LiteRtInputs, options: LiteRtRunOptions = {}): Promise<LiteRtRunResult> {
    const signature = this.signature(options.signature);
    return this.child.request<LiteRtRunResult>({
      op: 'run',
      modelId: this.modelId,
      signature: signature.key,
      inputs: orderInputs(signature, inputs),
    });
  }

  async time(inputs: LiteRtInputs, options: LiteRtTimeOptions): Promise<LiteRtTiming> {
    const signature = this.signature(options.signature);
    const warmup = options.warmup ?? 1;
    if (!Number.isInteger(options.repeat) || options.repeat < 1 || !Number.isInteger(warmup) || warmup < 0) {
      throw new UsageError(`time(): repeat must be a positive integer and warmup a non-negative one`);
    }
    const reply = await this.child.request<LiteRtTiming>({
      op: 'time',
      modelId: this.modelId,
      signature: signature.key,
      inputs: orderInputs(signature, inputs),
      warmup,
      repeat: options.repeat,
    });
    return { ms: reply.ms, cpuMs: reply.cpuMs };
  }

  async dispose(): Promise<void> {
    await this.child.request({ op: 'dispose', modelId: this.modelId });
  }

  private signature(key: string | undefined): LiteRtSignature {
    const wanted = key ?? this.defaultSignature;
    const found = this.signatures.find((s) => s.key === wanted);
    if (!found) {
      throw new UsageError(`no signature "${wanted}"; the model has ${this.signatures.map((s) => `"${s.key}"`).join(', ')}`);
    }
    return found;
  }
}

const DTYPE_OF = new Map<Function, LiteRtDtype>([
  [Float32Array, 'float32'],
  [Int32Array, 'int32'],
  [Uint8Array, 'uint8'],
]);

/** Checks inputs against the signature and puts them in its input order. */
function orderInputs(signature: LiteRtSignature, inputs: LiteRtInputs): PositionalInput[] {
  const where = `signature "${signature.key}"`;
  let list: LiteRtInput[];
  if (Array.isArray(inputs)) {
    list = inputs as LiteRtInput[];
    if (list.length !== signature.inputs.length) {
      throw new UsageError(`${where} takes ${signature.inputs.length} inputs, got ${list.length}`);
    }
  } else {
    const named = inputs as Record<string, LiteRtInput>;
    const expected = signature.inputs.map((i) => i.name);
    const unknown = Object.keys(named).filter((n) => !expected.includes(n));
    if (unknown.length > 0) throw new UsageError(`${where} has no input ${unknown.join(', ')}; its inputs: ${expected.join(', ')}`);
    list = signature.inputs.map((info) => {
      const input = named[info.name];
      if (input === undefined) throw new UsageError(`${where}: missing input ${info.name}`);
      return input;
    });
  }
  return list.map((input, i) => {
    const info = signature.inputs[i]!;
    const data = ArrayBuffer.isView(input) ? input : input.data;
    const shape = ArrayBuffer.isView(input) || input.shape === undefined ? info.shape : [...input.shape];
    const dtype = DTYPE_OF.get(data.constructor);
    if (dtype !== info.dtype) throw new UsageError(`${where} input ${info.name}: wants ${info.dtype} data, got ${data.constructor.name}`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (shape.some((d) => !Number.isInteger(d) || d < 0) || count !== data.length) {
      throw new UsageError(`${where} input ${info.name}: shape [${shape.join(', ')}] does not fit ${data.length} elements`);
    }
    return { data, shape };
  });
}

interface Reply {
  id: number;
  ok: boolean;
  error?: string;
  log?: string[];
}

/** The child process and its request/reply channel. */
class ChildConnection {
  readonly ready: Promise<{ threads: number }>;
  private readonly process: ChildProcess;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private exited: Error | undefined;

  constructor(threads: 1 | 2) {
    this.process = fork(childScript(), [String(threads), litertGlueDir()], {
      // No V8 flags here: Node 22 and later reject --experimental-wasm-relaxed-simd
      // (the child sets it at run time where it is needed).
      execArgv: [],
      serialization: 'advanced',
      // The child routes LiteRT.js's own logging into replies; what still
      // reaches stdout/stderr is a crash report, worth seeing as it is.
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.process.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      this.updateRef();
      if (reply.ok) waiter.resolve(reply);
      else waiter.reject(new Error(`LiteRT.js: ${reply.error}${logTail(reply.log)}`));
    });
    this.process.on('exit', (code, signal) => {
      this.exited = new Error(`LiteRT.js child process exited (${signal ?? `code ${code}`})`);
      for (const waiter of this.pending.values()) waiter.reject(this.exited);
      this.pending.clear();
    });
    this.ready = new Promise<Reply>((resolve, reject) => this.pending.set(0, { resolve, reject })).then(
      (r) => r as Reply & { threads: number },
    );
    this.updateRef();
  }

  request<T>(message: { op: string } & Record<string, unknown>): Promise<T> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    const reply = new Promise<Reply>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.updateRef();
    this.process.send({ ...message, id });
    return reply.then((r) => r as T);
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const exit = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.ref(); // wait here for the exit, even with nothing else to do
    this.process.disconnect();
    await exit;
  }

  /** Keeps the caller's process alive only while a request is in flight. */
  private updateRef(): void {
    const busy = this.pending.size > 0;
    const channel = this.process.channel as { ref(): void; unref(): void } | undefined;
    if (busy) {
      this.process.ref();
      channel?.ref();
    } else {
      this.process.unref();
      channel?.unref();
    }
  }
}

function logTail(log: string[] | undefined): string {
  const lines = (log ?? []).filter((l) => l.trim() !== '').slice(-15);
  return lines.length > 0 ? `\nLiteRT.js log:\n${lines.join('\n')}` : '';
}

/**
 * The child script is plain JavaScript and is not compiled: next to this
 * file in the sources, and under the project's bench/peers/ when this file
 * runs from dist/bench/peers/.
 */
function childScript(): string {
  for (const candidate of ['./litert-child.mjs', '../../../bench/peers/litert-child.mjs']) {
    const file = fileURLToPath(new URL(candidate, import.meta.url));
    if (fs.existsSync(file)) return file;
  }
  throw new Error(`bench/peers/litert-child.mjs not found from ${fileURLToPath(import.meta.url)}`);
}
