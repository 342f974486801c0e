/**
 * One entry point of a model: a signature (inputs and outputs by the
 * signature's names) or, for files without signatures, subgraph 0 with its
 * tensors' own names.
 */
import { FormatError, UsageError } from '../../errors.js';
import type { TypedArray } from '../../kernels/reference/typed-tensor.js';
import type { TfliteSignature } from '../model.js';
import { arrayMatchesType, dtypeName } from './dtype.js';
import type { LoadedModel } from './loaded-model.js';
import type { MemoryPlan } from './memory-plan.js';
import type { RuntimeTensor } from './runtime-tensor.js';
import { SubgraphExecutor, type NodeTimer } from './subgraph-executor.js';

export interface TensorValue {
  /** NumPy-style element type: 'float32', 'int32', ... */
  dtype: string;
  shape: number[];
  /** A copy the caller owns, or a view of the arena (InvokeOptions.outputs). */
  data: TypedArray;
}

export interface TensorDetails {
  name: string;
  dtype: string;
  shape: number[];
  /** -1 marks dims resizeInput may change. */
  shapeSignature?: number[];
}

export interface InvokeOptions {
  /** Gets each node's wall time (for --profile). */
  timer?: NodeTimer;
  /**
   * 'copy': each output's data is a new array the caller owns. 'view': the
   * output's memory in the arena, as outputTensor() gives it (no copy; see
   * there for how long it holds). Default: 'copy' for invoke(inputs), 'view'
   * for invoke() without inputs.
   */
  outputs?: 'copy' | 'view';
}

export class SignatureRunner {
  readonly key: string | undefined;
  readonly executor: SubgraphExecutor;
  private readonly inputMap: Map<string, number>;
  private readonly outputMap: Map<string, RuntimeTensor>;
  /**
   * The memory plan under which each input was last written (passed to
   * invoke, or its view handed out by inputTensor). A new plan (after a
   * resize) places tensors anew, so older writes and views no longer count.
   */
  private readonly writtenUnder = new Map<string, MemoryPlan>();

  constructor(loaded: LoadedModel, signature: TfliteSignature | undefined) {
    this.key = signature?.key;
    this.executor = new SubgraphExecutor(loaded, signature?.subgraphIndex ?? 0);
    const ex = this.executor;
    if (signature) {
      this.inputMap = new Map(signature.inputs.map((e) => {
        const position = ex.inputs.findIndex((t) => t.index === e.tensorIndex);
        if (position < 0) throw new FormatError(loaded.file.file, `signature ${signature.key}: input ${e.name} (tensor ${e.tensorIndex}) is not an input of subgraph ${signature.subgraphIndex}`);
        return [e.name, position];
      }));
      this.outputMap = new Map(signature.outputs.map((e) => {
        const t = ex.outputs.find((o) => o.index === e.tensorIndex);
        if (!t) throw new FormatError(loaded.file.file, `signature ${signature.key}: output ${e.name} (tensor ${e.tensorIndex}) is not an output of subgraph ${signature.subgraphIndex}`);
        return [e.name, t];
      }));
    } else {
      this.inputMap = new Map(ex.inputs.map((t, i) => [t.name, i]));
      this.outputMap = new Map(ex.outputs.map((t) => [t.name, t]));
    }
  }

  get inputNames(): string[] {
    return [...this.inputMap.keys()];
  }

  get outputNames(): string[] {
    return [...this.outputMap.keys()];
  }

  inputDetails(): TensorDetails[] {
    return this.inputNames.map((name) => details(name, this.executor.inputs[this.inputMap.get(name)!]!));
  }

  /** Output shapes for the current input shapes. */
  outputDetails(): TensorDetails[] {
    this.executor.prepareIfNeeded();
    return [...this.outputMap].map(([name, t]) => details(name, t));
  }

  /** Sets an input's shape, as TFLite's ResizeInputTensor: dims marked -1 in the file's shape signature may change. */
  resizeInput(name: string, shape: readonly number[]): void {
    this.executor.resizeInput(this.position(name), shape);
  }

  /**
   * The input's memory in the arena, for writing it in place before invoke()
   * (no copy). The view holds until a resizeInput changes a shape: that plans
   * memory anew, and the old view then points at bytes the new plan gives
   * to other tensors (invoke() refuses to run on inputs not written since;
   * take a new view). A run never writes an input's bytes, so inputs written
   * once serve any number of invoke() calls (until another model sharing
   * the activation region, see tensor-arena.ts, runs).
   */
  inputTensor(name: string): TypedArray {
    const t = this.executor.inputs[this.position(name)]!;
    const view = this.executor.view(t);
    this.writtenUnder.set(name, this.executor.memoryPlan!);
    return view;
  }

  /**
   * The output's memory in the arena (for the current input shapes), what
   * invoke() returns as the output's data unless asked for copies. Each
   * invoke() overwrites it (and so does a run of another model sharing the
   * activation region); it holds
   * until a resizeInput changes a shape. Copy it (slice()) to keep it.
   */
  outputTensor(name: string): TypedArray {
    const t = this.outputMap.get(name);
    if (!t) throw new UsageError(`no output named '${name}' (outputs: ${this.outputNames.join(', ')})`);
    return this.executor.view(t);
  }

  /**
   * Runs the graph. invoke(inputs) copies every input in (each must be
   * given, with the element type and size of its current shape; an input
   * that already is its inputTensor() view is not copied) and returns the
   * outputs as copies. invoke() without inputs runs on what the arena holds:
   * every input must have been written through inputTensor() or an earlier
   * invoke(inputs) since the last resize; it returns the outputs as views.
   * `options.outputs` overrides either default.
   */
  invoke(inputs?: Readonly<Record<string, TypedArray>>, options: InvokeOptions = {}): Record<string, TensorValue> {
    const ex = this.executor;
    if (inputs) this.copyIn(inputs);
    ex.prepareIfNeeded();
    const stale = this.inputNames.filter((n) => this.writtenUnder.get(n) !== ex.memoryPlan);
    if (stale.length) {
      throw new UsageError(
        `input${stale.length > 1 ? 's' : ''} ${stale.join(', ')} not written for the current shapes: pass ` +
          `${stale.length > 1 ? 'them' : 'it'} to invoke(), or write through inputTensor() taken after the last resizeInput ` +
          `(an older view points at memory the new plan uses for other tensors)`,
      );
    }
    ex.run(options.timer);
    const copy = (options.outputs ?? (inputs ? 'copy' : 'view')) === 'copy';
    const result: Record<string, TensorValue> = {};
    for (const [name, t] of this.outputMap) {
      // A constant output's array is the model's own: always hand out a copy of it.
      const data = copy || t.isConstant ? t.data.slice() : t.data;
      result[name] = { dtype: dtypeName(t.type), shape: [...t.shape], data };
    }
    return result;
  }

  private copyIn(inputs: Readonly<Record<string, TypedArray>>): void {
    for (const name of Object.keys(inputs)) this.position(name);
    const ex = this.executor;
    const missing = this.inputNames.filter((n) => !(n in inputs));
    if (missing.length) throw new UsageError(`missing input${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (inputs: ${this.inputNames.join(', ')})`);
    for (const [name, position] of this.inputMap) {
      const t = ex.inputs[position]!;
      const data = inputs[name]!;
      if (!arrayMatchesType(data, t.type)) {
        throw new UsageError(`input ${name} must be ${dtypeName(t.type)} (${t.type}), got a ${data.constructor.name}`);
      }
      if (data.length !== t.size) {
        throw new UsageError(`input ${name} has ${data.length} elements, its shape [${t.shape.join(', ')}] needs ${t.size} (call resizeInput to change the shape)`);
      }
    }
    for (const [name, position] of this.inputMap) {
      const t = ex.inputs[position]!;
      const data = inputs[name]!;
      if (!sameMemory(data, this.executor.view(t))) ex.setInput(position, data as ArrayLike<number>);
      this.writtenUnder.set(name, ex.memoryPlan!);
    }
  }

  private position(name: string): number {
    const p = this.inputMap.get(name);
    if (p === undefined) throw new UsageError(`no input named '${name}' (inputs: ${this.inputNames.join(', ')})`);
    return p;
  }
}

/** Whether two arrays are the same elements of the same buffer. */
function sameMemory(a: TypedArray, b: TypedArray): boolean {
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length;
}

function details(name: string, t: RuntimeTensor): TensorDetails {
  return { name, dtype: dtypeName(t.type), shape: [...t.shape], shapeSignature: t.shapeSignature ? [...t.shapeSignature] : undefined };
}
