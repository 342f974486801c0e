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
import type { RuntimeTensor } from './runtime-tensor.js';
import { SubgraphExecutor, type NodeTimer } from './subgraph-executor.js';

export interface TensorValue {
  /** NumPy-style element type: 'float32', 'int32', ... */
  dtype: string;
  shape: number[];
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
}

export class SignatureRunner {
  readonly key: string | undefined;
  readonly executor: SubgraphExecutor;
  private readonly inputMap: Map<string, number>;
  private readonly outputMap: Map<string, RuntimeTensor>;

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

  /** Runs the graph; every input must be given, with the element type and size of its current shape. */
  invoke(inputs: Readonly<Record<string, TypedArray>>, options: InvokeOptions = {}): Record<string, TensorValue> {
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
    for (const [name, position] of this.inputMap) ex.setInput(position, inputs[name]! as ArrayLike<number>);
    ex.run(options.timer);
    const result: Record<string, TensorValue> = {};
    for (const [name, t] of this.outputMap) {
      result[name] = { dtype: dtypeName(t.type), shape: [...t.shape], data: t.data.slice() };
    }
    return result;
  }

  private position(name: string): number {
    const p = this.inputMap.get(name);
    if (p === undefined) throw new UsageError(`no input named '${name}' (inputs: ${this.inputNames.join(', ')})`);
    return p;
  }
}

function details(name: string, t: RuntimeTensor): TensorDetails {
  return { name, dtype: dtypeName(t.type), shape: [...t.shape], shapeSignature: t.shapeSignature ? [...t.shapeSignature] : undefined };
}
