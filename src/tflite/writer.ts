import { UsageError } from '../errors.js';
import type { Quantization } from './model.js';
import { withDefaults, optionTableOf, type OpOptionsMap, type OpWithOptions } from './options.js';
import { writeModel, toBytes, type WriteOptions } from './writer-serialize.js';
import { builtinOpCode, elementBytes, elementCount, isBuiltinOpName, type BuiltinOpName, type TensorTypeName } from './types.js';

/**
 * Constant tensor data: bytes in memory, or a producer that emits them in
 * chunks when the file is written (so a 3.4 GB model never sits in memory).
 */
export type ConstantData = Uint8Array | { byteLength: number; produce: (emit: (chunk: Uint8Array) => void) => void };

export interface TensorExtras {
  quantization?: Partial<Quantization> & Pick<Quantization, 'scale'>;
  isVariable?: boolean;
  /** The sizes written to `shape` for the -1 dimensions (default 1 each): what a runtime that does not resize uses. */
  defaultShape?: readonly number[];
}

/** Options argument of addOperator for `op`: a partial options object (schema defaults fill the rest). */
export type OperatorOptionsArg<K extends string> = K extends OpWithOptions ? Partial<OpOptionsMap[K]> : undefined;

export interface PlannedTensor {
  name: string;
  type: TensorTypeName;
  /** Shape as given, with -1 for dynamic dimensions. */
  shape: number[];
  /** Sizes written to `shape` for the -1 dimensions of `shape` (1 where absent). */
  defaultShape?: number[];
  buffer: number;
  quantization?: Quantization;
  isVariable: boolean;
}

export interface PlannedOperator {
  opcode: number;
  inputs: number[];
  outputs: number[];
  optionsTable?: ReturnType<typeof optionTableOf>;
  options?: Record<string, unknown>;
  customOptions?: Uint8Array;
}

export interface PlannedOpcode {
  builtinCode: number;
  customCode?: string;
  version: number;
}

/** One subgraph under construction; tensor-adding methods return the new tensor's index. */
export class SubgraphBuilder {
  readonly tensors: PlannedTensor[] = [];
  readonly operators: PlannedOperator[] = [];
  readonly inputs: number[] = [];
  readonly outputs: number[] = [];

  constructor(
    private readonly model: TfliteModelBuilder,
    readonly index: number,
    readonly name: string,
  ) {}

  /** An activation tensor; shape may hold -1 for dynamic dimensions. */
  addTensor(name: string, type: TensorTypeName, shape: readonly number[], extras: TensorExtras = {}): number {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < -1) throw new UsageError(`tensor ${name}: bad dimension ${d} in [${shape.join(', ')}]`);
    }
    const q = extras.quantization;
    let quantization: Quantization | undefined;
    if (q) {
      const zeroPoint = q.zeroPoint ?? q.scale.map(() => 0);
      const quantizedDimension = q.quantizedDimension ?? 0;
      if (zeroPoint.length !== q.scale.length) throw new UsageError(`tensor ${name}: ${q.scale.length} scales but ${zeroPoint.length} zero points`);
      if (q.scale.length > 1 && shape[quantizedDimension] !== q.scale.length) {
        throw new UsageError(`tensor ${name}: ${q.scale.length} scales for dimension ${quantizedDimension} of [${shape.join(', ')}]`);
      }
      quantization = { scale: [...q.scale], zeroPoint: [...zeroPoint], quantizedDimension, min: q.min, max: q.max };
    }
    this.tensors.push({ name, type, shape: [...shape], buffer: 0, quantization, isVariable: extras.isVariable ?? false });
    if (extras.defaultShape) this.setDefaultShape(this.tensors.length - 1, extras.defaultShape);
    return this.tensors.length - 1;
  }

  /** Sizes written to `shape` for the tensor's -1 dimensions (shape_signature keeps -1); the others must match. */
  setDefaultShape(t: number, defaultShape: readonly number[]): void {
    this.checkTensor(t, 'tensor');
    const planned = this.tensors[t]!;
    const { shape } = planned;
    if (defaultShape.length !== shape.length || defaultShape.some((d, i) => !Number.isInteger(d) || d < 1 || (shape[i] !== -1 && d !== shape[i]))) {
      throw new UsageError(`tensor ${planned.name}: default shape [${defaultShape.join(', ')}] does not fit [${shape.join(', ')}]`);
    }
    planned.defaultShape = [...defaultShape];
  }

  /** A tensor that is also an input of this subgraph (in call order). */
  addInput(name: string, type: TensorTypeName, shape: readonly number[], extras?: TensorExtras): number {
    const t = this.addTensor(name, type, shape, extras);
    this.inputs.push(t);
    return t;
  }

  /** A constant tensor; its data must hold exactly shape x element size bytes. */
  addConstant(name: string, type: TensorTypeName, shape: readonly number[], data: ConstantData, extras?: TensorExtras): number {
    if (shape.some((d) => d < 0)) throw new UsageError(`constant ${name}: shape [${shape.join(', ')}] must be static`);
    const size = elementBytes(type);
    if (size !== undefined && data.byteLength !== elementCount(shape) * size) {
      throw new UsageError(`constant ${name}: ${data.byteLength} bytes given, ${type} [${shape.join(', ')}] needs ${elementCount(shape) * size}`);
    }
    const t = this.addTensor(name, type, shape, extras);
    this.tensors[t]!.buffer = this.model.addBuffer(data);
    return t;
  }

  /** Marks existing tensors as outputs of this subgraph (in order). */
  markOutput(...tensors: number[]): void {
    for (const t of tensors) this.checkTensor(t, 'output');
    this.outputs.push(...tensors);
  }

  /** A builtin operator; options are typed per op (see OpOptionsMap), schema defaults fill the rest. */
  addOperator<K extends BuiltinOpName>(
    op: K,
    inputs: readonly number[],
    outputs: readonly number[],
    options?: OperatorOptionsArg<K>,
    version = 1,
  ): void {
    if (!isBuiltinOpName(op)) throw new UsageError(`unknown builtin operator ${String(op)}`);
    const spec = optionTableOf(op);
    if (options !== undefined && !spec) throw new UsageError(`${op} takes no options`);
    let full: Record<string, unknown> | undefined;
    if (spec) {
      try {
        full = withDefaults(op as OpWithOptions, (options ?? {}) as Record<string, unknown>) as unknown as Record<string, unknown>;
      } catch (err) {
        throw new UsageError(err instanceof Error ? err.message : String(err));
      }
    }
    this.pushOperator({ builtinCode: builtinOpCode(op), version }, inputs, outputs, { optionsTable: spec, options: full });
  }

  /** A custom operator (`CUSTOM:<code>` when read back) with opaque options bytes. */
  addCustomOperator(customCode: string, inputs: readonly number[], outputs: readonly number[], customOptions?: Uint8Array, version = 1): void {
    this.pushOperator({ builtinCode: 32, customCode, version }, inputs, outputs, { customOptions });
  }

  private pushOperator(code: PlannedOpcode, inputs: readonly number[], outputs: readonly number[], rest: Partial<PlannedOperator>): void {
    for (const t of inputs) if (t !== -1) this.checkTensor(t, 'operator input');
    for (const t of outputs) this.checkTensor(t, 'operator output');
    this.operators.push({ opcode: this.model.opcodeIndex(code), inputs: [...inputs], outputs: [...outputs], ...rest });
  }

  private checkTensor(t: number, what: string): void {
    if (!Number.isInteger(t) || t < 0 || t >= this.tensors.length) {
      throw new UsageError(`subgraph ${this.index}: ${what} ${t} is not a tensor (subgraph has ${this.tensors.length})`);
    }
  }
}

export interface PlannedSignature {
  key: string;
  subgraphIndex: number;
  inputs: [string, number][];
  outputs: [string, number][];
}

/**
 * Builds a .tflite model:
 *
 *   const m = new TfliteModelBuilder();
 *   const x = m.main.addInput('args_0', 'FLOAT32', [1, 4, -1, -1]);
 *   const w = m.main.addConstant('w', 'FLOAT32', [8, 3, 3, 4], bytes);
 *   const y = m.main.addTensor('y', 'FLOAT32', [1, 8, -1, -1]);
 *   m.main.addOperator('CONV_2D', [x, w, -1], [y], { padding: 'SAME', strideW: 1, strideH: 1 });
 *   m.main.markOutput(y);
 *   m.addSignature('decode', { args_0: x }, { output_0: y });
 *   m.writeFile('model.tflite');
 */
export class TfliteModelBuilder {
  readonly subgraphs: SubgraphBuilder[] = [];
  readonly opcodes: PlannedOpcode[] = [];
  /** Buffer 0 is the empty sentinel every data-less tensor points to. */
  readonly buffers: (ConstantData | undefined)[] = [undefined];
  readonly signatures: PlannedSignature[] = [];
  /** Metadata buffers stay inside the flatbuffer in every layout, as upstream keeps them. */
  readonly metadata: { name: string; buffer: number; data: Uint8Array }[] = [];
  private readonly opcodeKeys = new Map<string, number>();

  constructor(readonly description = 'sd-tflite') {
    this.addSubgraph('main');
  }

  /** Subgraph 0, the one a plain interpreter runs. */
  get main(): SubgraphBuilder {
    return this.subgraphs[0]!;
  }

  addSubgraph(name: string): SubgraphBuilder {
    const sg = new SubgraphBuilder(this, this.subgraphs.length, name);
    this.subgraphs.push(sg);
    return sg;
  }

  /** Named entry point; inputs/outputs map signature names to tensor indices of that subgraph, in order. */
  addSignature(key: string, inputs: Record<string, number>, outputs: Record<string, number>, subgraphIndex = 0): void {
    const sg = this.subgraphs[subgraphIndex];
    if (!sg) throw new UsageError(`signature ${key}: no subgraph ${subgraphIndex}`);
    for (const t of [...Object.values(inputs), ...Object.values(outputs)]) {
      if (!Number.isInteger(t) || t < 0 || t >= sg.tensors.length) throw new UsageError(`signature ${key}: ${t} is not a tensor of subgraph ${subgraphIndex}`);
    }
    this.signatures.push({ key, subgraphIndex, inputs: Object.entries(inputs), outputs: Object.entries(outputs) });
  }

  addMetadata(name: string, data: Uint8Array): void {
    this.buffers.push(undefined); // filled from `metadata` when serialized
    this.metadata.push({ name, buffer: this.buffers.length - 1, data: data.slice() });
  }

  /** The `min_runtime_version` metadata as upstream writes it: the version string zero-padded to 16 bytes. */
  setMinRuntimeVersion(version: string): void {
    const bytes = new TextEncoder().encode(version);
    if (bytes.length > 16) throw new UsageError(`min_runtime_version ${version} is longer than 16 bytes`);
    const padded = new Uint8Array(16);
    padded.set(bytes);
    this.addMetadata('min_runtime_version', padded);
  }

  /** Serialized model in memory (tests, small models). */
  toBuffer(options: WriteOptions = {}): Uint8Array {
    return toBytes(this, options);
  }

  /** Streams the model to `path` through a temporary file renamed at the end. */
  writeFile(path: string, options: WriteOptions = {}): void {
    writeModel(this, path, options);
  }

  /** @internal */
  addBuffer(data: ConstantData): number {
    this.buffers.push(data.byteLength > 0 ? data : undefined);
    return this.buffers.length - 1;
  }

  /** @internal Index of an operator code, added on first use. */
  opcodeIndex(code: PlannedOpcode): number {
    const key = `${code.builtinCode}/${code.customCode ?? ''}/${code.version}`;
    let index = this.opcodeKeys.get(key);
    if (index === undefined) {
      index = this.opcodes.length;
      this.opcodes.push(code);
      this.opcodeKeys.set(key, index);
    }
    return index;
  }
}
