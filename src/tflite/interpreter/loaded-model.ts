/**
 * What every subgraph executor of one interpreter shares: the model, its
 * constants (decoded once, shared by all instances of a subgraph), the op
 * registry and the run options.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
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
  private shared = new Uint8Array(0);
  private fd: number | undefined;

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

  /**
   * `bytes` bytes at `position` of the file into one buffer reused by every
   * call (grown as needed): streamed weights are re-read every run, and
   * fresh buffers each time would leave gigabytes of garbage per UNet step.
   */
  private readShared(position: number, bytes: number): ArrayBuffer {
    if (this.shared.byteLength < bytes) this.shared = new Uint8Array(bytes);
    this.fd ??= openSync(this.file.file, 'r');
    for (let done = 0; done < bytes; ) {
      const n = readSync(this.fd, this.shared, done, bytes - done, position + done);
      if (n === 0) throw new FormatError(this.file.file, `file ended while reading byte ${position + done} (changed since it was opened?)`);
      done += n;
    }
    return this.shared.buffer;
  }

  /** Closes the descriptor streamed reads use (the interpreter's close calls it). */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.shared = new Uint8Array(0);
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
    // Streamed: read on each use, never held (the file stays open for the interpreter's life).
    if (stored >= this.options.streamConstantsFrom) {
      const position = this.model.buffers[t.buffer]!.position;
      const transient = (): TypedArray => typedView(t.type, this.readShared(position, stored), 0, count);
      return new ConstantValue(t.type, read, t.shape, t.type, t.quantization, existsSync(this.file.file) ? transient : undefined);
    }
    return new ConstantValue(t.type, read(), t.shape, t.type, t.quantization);
  }
}
