/**
 * What every subgraph executor of one interpreter shares: the model, its
 * constants (decoded once, shared by all instances of a subgraph), the op
 * registry and the run options.
 */
import { FormatError } from '../../errors.js';
import type { TypedArray } from '../../kernels/reference/typed-tensor.js';
import type { TfliteModel } from '../model.js';
import type { KernelOverrides } from '../ops/op.js';
import type { TfliteFile } from '../reader.js';
import { elementCount, elementBytes } from '../types.js';
import { ConstantValue } from './constant-value.js';
import { typedView } from './dtype.js';
import type { TensorArenaFactory } from './tensor-arena.js';

export interface RunOptions {
  readonly threads: number;
  readonly kernels: KernelOverrides;
  readonly compositeFastPaths: boolean;
  readonly fusion: boolean;
  readonly arena: TensorArenaFactory;
  /** Constants of at least this many bytes are streamed from the file (see ConstantValue); Infinity: none. */
  readonly streamConstantsFrom: number;
}

export class LoadedModel {
  private readonly constants = new Map<string, ConstantValue | null>();

  constructor(
    readonly file: TfliteFile,
    readonly options: RunOptions,
  ) {}

  get model(): TfliteModel {
    return this.file.model;
  }

  /** The constant data of a tensor, decoded on first request; undefined for tensors without data. */
  constant(subgraph: number, tensorIndex: number): ConstantValue | undefined {
    const key = `${subgraph}:${tensorIndex}`;
    let value = this.constants.get(key);
    if (value === undefined) {
      value = this.decode(subgraph, tensorIndex);
      this.constants.set(key, value);
    }
    return value ?? undefined;
  }


  private decode(subgraph: number, tensorIndex: number): ConstantValue | null {
    const t = this.model.subgraphs[subgraph]!.tensors[tensorIndex]!;
    const stored = this.model.buffers[t.buffer]?.size ?? 0;
    if (stored === 0) return null;
    const where = `subgraph ${subgraph} tensor ${tensorIndex} (${t.name})`;
    if (t.sparse) throw new FormatError(this.file.file, `${where} is stored sparse, which the interpreter does not decode`);
    const size = elementBytes(t.type);
    const count = elementCount(t.shape);
    if (size === undefined || t.type === 'STRING') throw new FormatError(this.file.file, `${where}: constants of type ${t.type} are not supported`);
    if (stored !== count * size) {
      throw new FormatError(this.file.file, `${where}: buffer has ${stored} bytes, ${t.type} [${t.shape.join(', ')}] needs ${count * size}`);
    }
    const read = (): TypedArray => {
      const b = this.file.constantBytes(subgraph, tensorIndex)!; // the reader checked the buffer lies inside the file
      const own = b.byteOffset % 8 === 0 ? b : b.slice(); // typed views need aligned starts
      return typedView(t.type, own.buffer, own.byteOffset, count);
    };
    // Streamed: read on each use, never held (the file stays open for the interpreter's life);
    // fast kernels read the bytes straight into kernel memory (readInto).
    if (stored >= this.options.streamConstantsFrom) {
      const readInto = (byteOffset: number, out: Uint8Array): void => this.file.readConstantInto(subgraph, tensorIndex, byteOffset, out);
      return new ConstantValue(t.type, read, t.shape, t.type, t.quantization, readInto);
    }
    return new ConstantValue(t.type, read(), t.shape, t.type, t.quantization);
  }
}
