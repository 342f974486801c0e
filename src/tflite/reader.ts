import * as fs from 'node:fs';
import { FormatError, UsageError } from '../errors.js';
import { FileSource, MemorySource, type ByteSource } from './byte-source.js';
import { FbView } from './fb-view.js';
import type { TfliteModel } from './model.js';
import { decodeModel } from './reader-decode.js';
import { validateModel } from './reader-validate.js';

/** Files up to this size are read into memory whole; bigger ones are read lazily through the fd. */
const READ_WHOLE_LIMIT = 64 * 1024 * 1024;

/**
 * An opened, validated .tflite file: `model` is its structure; constant
 * data is read on demand (`constantBytes`), through the file descriptor for
 * big files, so opening a multi-gigabyte model costs little memory.
 */
export class TfliteFile {
  private constructor(
    private readonly src: ByteSource,
    readonly model: TfliteModel,
  ) {}

  /**
   * Opens and validates a file; throws FormatError if it is not a valid
   * .tflite. Call close() when done. `lazy` forces reading through the fd
   * whatever the file's size.
   */
  static open(path: string, options: { lazy?: boolean } = {}): TfliteFile {
    let src: ByteSource;
    try {
      const size = fs.statSync(path).size;
      const lazy = options.lazy ?? size > READ_WHOLE_LIMIT;
      src = lazy ? new FileSource(path) : new MemorySource(path, fs.readFileSync(path));
    } catch (err) {
      // A missing or unreadable path is the caller's mistake, not a bad file.
      throw new UsageError(`cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      return TfliteFile.fromSource(src);
    } catch (err) {
      src.close();
      throw err;
    }
  }

  /** Parses and validates a model held in memory; `name` appears in error messages. */
  static fromBytes(bytes: Uint8Array, name = '<memory>'): TfliteFile {
    return TfliteFile.fromSource(new MemorySource(name, bytes));
  }

  private static fromSource(src: ByteSource): TfliteFile {
    const model = decodeModel(new FbView(src));
    validateModel(model, (detail) => {
      throw new FormatError(src.file, detail);
    });
    return new TfliteFile(src, model);
  }

  get file(): string {
    return this.src.file;
  }

  get fileSize(): number {
    return this.src.size;
  }

  /** Bytes of buffer `index` (empty for no data), in a fresh, aligned buffer. */
  bufferBytes(index: number): Uint8Array {
    const b = this.model.buffers[index];
    if (!b) throw new RangeError(`buffer ${index} out of range (${this.model.buffers.length} buffers)`);
    return b.size > 0 ? this.src.copy(b.position, b.size) : new Uint8Array(0);
  }

  /** Constant data of a tensor, or undefined when it has none (activations, inputs). */
  constantBytes(subgraph: number, tensorIndex: number): Uint8Array | undefined {
    const sg = this.model.subgraphs[subgraph];
    const t = sg?.tensors[tensorIndex];
    if (!t) throw new RangeError(`no tensor ${tensorIndex} in subgraph ${subgraph}`);
    return this.model.buffers[t.buffer]!.size > 0 ? this.bufferBytes(t.buffer) : undefined;
  }

  /** Bytes of the named metadata entry, if present. */
  metadataBytes(name: string): Uint8Array | undefined {
    const m = this.model.metadata.find((entry) => entry.name === name);
    return m ? this.bufferBytes(m.buffer) : undefined;
  }

  /** `min_runtime_version` metadata as a string (upstream zero-pads it to 16 bytes). */
  minRuntimeVersion(): string | undefined {
    const bytes = this.metadataBytes('min_runtime_version');
    if (!bytes) return undefined;
    const end = bytes.indexOf(0);
    return new TextDecoder().decode(end === -1 ? bytes : bytes.subarray(0, end));
  }

  close(): void {
    this.src.close();
  }
}
