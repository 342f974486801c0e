/**
 * The TFLite interpreter:
 *
 *   const interp = Interpreter.load('decoder.tflite');
 *   const runner = interp.getSignatureRunner('decode');   // default: first signature, or subgraph 0
 *   runner.resizeInput('args_0', [1, 4, 32, 32]);           // dims the file marks -1
 *   const { output_0 } = runner.invoke({ args_0: latents }); // {dtype, shape, data}
 *   interp.close();
 *
 * Load checks that every operator of every subgraph is supported (else an
 * SdError naming each unsupported op, where it is, and the supported list),
 * decodes constants once and folds nodes whose inputs are all constant.
 */
import { SdError, UsageError } from '../../errors.js';
import type { KernelOverrides } from '../ops/op.js';
import { supportedOps } from '../ops/registry.js';
import { TfliteFile } from '../reader.js';
import { LoadedModel } from './loaded-model.js';
import { SignatureRunner } from './signature-runner.js';
import { ArrayBufferArena, type TensorArenaFactory } from './tensor-arena.js';

export interface InterpreterOptions {
  /** Threads for the kernels (default 1; the reference kernels use one). */
  threads?: number;
  /** Fast kernels by op name, replacing the reference kernels where they accept a node. */
  kernels?: KernelOverrides;
  /** Run odml.group_norm / odml.scaled_dot_product_attention composites with fused kernels (default true). */
  compositeFastPaths?: boolean;
  /** Recognise layer norm, group norm, GELU and attention subgraphs and run fused kernels (default true). */
  fusion?: boolean;
  /** Where activations live (default: a plain ArrayBuffer per subgraph). */
  arena?: TensorArenaFactory;
  /**
   * Keep no copy of big constants (1 MiB and more) in the process: read them
   * from the file whenever a kernel needs them (fast kernels pack weights per
   * run then; the OS page cache holds the file). Default: for files the
   * reader does not hold in memory (over 64 MiB).
   */
  streamWeights?: boolean;
}

/** Constants from this size up are streamed when streamWeights is on. */
export const STREAMED_CONSTANT_MIN_BYTES = 1 << 20;
/** Files bigger than this are read through the fd (src/tflite/reader.ts), so streaming costs no copy of the file. */
const STREAM_BY_DEFAULT_ABOVE = 64 * 1024 * 1024;

export class Interpreter {
  private readonly runners = new Map<string, SignatureRunner>();

  private constructor(
    private readonly loaded: LoadedModel,
    private readonly ownsFile: boolean,
  ) {}

  /** Opens a model from a path, bytes (e.g. TfliteModelBuilder.toBuffer()) or an already opened TfliteFile. */
  static load(model: string | Uint8Array | TfliteFile, options: InterpreterOptions = {}): Interpreter {
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new UsageError(`threads must be a positive integer, got ${threads}`);
    const file = typeof model === 'string' ? TfliteFile.open(model) : model instanceof Uint8Array ? TfliteFile.fromBytes(model) : model;
    try {
      checkOpsSupported(file);
      const loaded = new LoadedModel(file, {
        threads,
        kernels: options.kernels ?? {},
        compositeFastPaths: options.compositeFastPaths ?? true,
        fusion: options.fusion ?? true,
        arena: options.arena ?? (() => new ArrayBufferArena()),
        streamConstantsFrom: (options.streamWeights ?? file.fileSize > STREAM_BY_DEFAULT_ABOVE) ? STREAMED_CONSTANT_MIN_BYTES : Infinity,
      });
      const interp = new Interpreter(loaded, !(model instanceof TfliteFile));
      // Build every entry point now, so constants are decoded and folded at load.
      for (const key of interp.signatureKeys) interp.getSignatureRunner(key);
      if (interp.signatureKeys.length === 0) interp.getSignatureRunner();
      return interp;
    } catch (err) {
      if (!(model instanceof TfliteFile)) file.close();
      throw err;
    }
  }

  get file(): TfliteFile {
    return this.loaded.file;
  }

  get signatureKeys(): string[] {
    return this.loaded.model.signatures.map((s) => s.key);
  }

  /** The runner of signature `key`; without a key, the first signature, or subgraph 0 when the file has none. */
  getSignatureRunner(key?: string): SignatureRunner {
    const signatures = this.loaded.model.signatures;
    const signature = key === undefined ? signatures[0] : signatures.find((s) => s.key === key);
    if (key !== undefined && !signature) {
      const have = signatures.length ? signatures.map((s) => s.key).join(', ') : 'none';
      throw new UsageError(`${this.loaded.file.file} has no signature '${key}' (signatures: ${have})`);
    }
    const id = signature?.key ?? '';
    let runner = this.runners.get(id);
    if (!runner) {
      runner = new SignatureRunner(this.loaded, signature);
      this.runners.set(id, runner);
    }
    return runner;
  }

  close(): void {
    this.loaded.close();
    if (this.ownsFile) this.loaded.file.close();
  }
}

function checkOpsSupported(file: TfliteFile): void {
  const supported = new Set(supportedOps());
  const problems: string[] = [];
  const seen = new Set<string>();
  file.model.subgraphs.forEach((sg, s) => {
    sg.operators.forEach((op, i) => {
      if (supported.has(op.opName) || seen.has(op.opName)) return;
      seen.add(op.opName);
      problems.push(`${op.opName} (subgraph ${s}, operator ${i})`);
    });
  });
  if (problems.length > 0) {
    throw new SdError(
      `${file.file}: unsupported op${problems.length > 1 ? 's' : ''} ${problems.join(', ')}; supported ops: ${[...supported].sort().join(', ')}`,
    );
  }
}
