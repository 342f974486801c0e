import * as fs from 'node:fs';
import { FormatError, UsageError } from '../errors.js';
import { readAt, writeAll, writeFileAtomically } from './fd-io.js';
import {
  SAFETENSORS_DTYPE_SIZE,
  bytesToFloat32,
  isSafetensorsDType,
  viewTyped,
  type SafetensorsDType,
  type SafetensorsTypedArray,
} from './safetensors-dtype.js';
import { headerLength, parseSafetensorsHeader, type SafetensorsEntry } from './safetensors-header.js';

export type { SafetensorsDType, SafetensorsTypedArray } from './safetensors-dtype.js';
export type { SafetensorsEntry } from './safetensors-header.js';

/**
 * A safetensors file opened for lazy reading: `open` reads and validates only
 * the header; each read fetches exactly the requested bytes through the file
 * descriptor, so multi-GB checkpoints never have to fit in memory.
 */
export class SafetensorsFile {
  private fd: number | undefined;

  private constructor(
    readonly path: string,
    fd: number,
    readonly entries: ReadonlyMap<string, SafetensorsEntry>,
    readonly metadata: Record<string, string>,
  ) {
    this.fd = fd;
  }

  static open(path: string): SafetensorsFile {
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (err) {
      throw new UsageError(`cannot open ${path}: ${(err as Error).message}`);
    }
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) throw new UsageError(`${path} is not a regular file`);
      const size = stat.size;
      const prefix = readAt(fd, path, 0, Math.min(8, size));
      const n = headerLength(path, prefix, size);
      const header = parseSafetensorsHeader(path, readAt(fd, path, 8, n), size);
      return new SafetensorsFile(path, fd, header.entries, header.metadata);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  entry(name: string): SafetensorsEntry {
    const e = this.entries.get(name);
    if (e === undefined) throw new FormatError(this.path, `no tensor named ${JSON.stringify(name)}`);
    return e;
  }

  /** Exactly the tensor's bytes, in a buffer of their own (aligned for any view). */
  readBytes(name: string): Uint8Array {
    const e = this.entry(name);
    return readAt(this.openFd(), this.path, e.byteOffset, e.byteLength);
  }

  /** `byteLength` bytes starting `byteStart` bytes into the tensor. */
  readRange(name: string, byteStart: number, byteLength: number): Uint8Array {
    const e = this.entry(name);
    if (
      !Number.isSafeInteger(byteStart) ||
      !Number.isSafeInteger(byteLength) ||
      byteStart < 0 ||
      byteLength < 0 ||
      byteStart + byteLength > e.byteLength
    ) {
      throw new UsageError(
        `${this.path}: range [${byteStart}, +${byteLength}) is outside tensor ${JSON.stringify(name)} (${e.byteLength} bytes)`,
      );
    }
    return readAt(this.openFd(), this.path, e.byteOffset + byteStart, byteLength);
  }

  /** The tensor in its natural typed array (I64 -> BigInt64Array, F16/BF16 -> raw Uint16Array bits). */
  readTyped(name: string): SafetensorsTypedArray {
    return viewTyped(this.entry(name).dtype, this.readBytes(name));
  }

  /** The tensor converted to float32 (floats rounded to nearest, integers and BOOL by value). */
  readFloat32(name: string): Float32Array {
    return bytesToFloat32(this.entry(name).dtype, this.readBytes(name));
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private openFd(): number {
    if (this.fd === undefined) throw new UsageError(`${this.path}: read after close()`);
    return this.fd;
  }
}

export interface TensorToWrite {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** The tensor's little-endian bytes, or a callback producing them when it is this tensor's turn. */
  data: Uint8Array | (() => Uint8Array);
}

/**
 * Writes a safetensors file in one pass: the header (computed from shapes)
 * first, then each tensor's bytes in the given order, produced lazily so only
 * one tensor needs to be in memory at a time. Tensors are contiguous from
 * offset 0; the header is padded with spaces so the data starts 8-aligned.
 */
export function writeSafetensors(path: string, tensors: TensorToWrite[], metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new UsageError(`safetensors metadata ${JSON.stringify(k)} must be a string`);
    }
    header['__metadata__'] = metadata;
  }
  const sizes: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    const size = tensorByteSize(t);
    if (t.name === '__metadata__' || Object.hasOwn(header, t.name)) {
      throw new UsageError(`safetensors tensor name ${JSON.stringify(t.name)} is reserved or used twice`);
    }
    // defineProperty: a tensor named "__proto__" must stay an ordinary key.
    Object.defineProperty(header, t.name, {
      value: { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] },
      enumerable: true,
    });
    sizes.push(size);
    offset += size;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Buffer.alloc(json.length + ((8 - ((8 + json.length) % 8)) % 8), 0x20);
  json.copy(padded);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(padded.length));

  writeFileAtomically(path, (fd) => {
    writeAll(fd, prefix);
    writeAll(fd, padded);
    tensors.forEach((t, i) => {
      const bytes = typeof t.data === 'function' ? t.data() : t.data;
      if (bytes.byteLength !== sizes[i]) {
        throw new UsageError(
          `safetensors tensor ${JSON.stringify(t.name)}: got ${bytes.byteLength} bytes, shape [${t.shape.join(', ')}] of ${t.dtype} needs ${sizes[i]}`,
        );
      }
      writeAll(fd, bytes);
    });
  });
}

function tensorByteSize(t: TensorToWrite): number {
  if (!isSafetensorsDType(t.dtype)) throw new UsageError(`safetensors tensor ${JSON.stringify(t.name)}: unknown dtype ${String(t.dtype)}`);
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new UsageError(`safetensors tensor ${JSON.stringify(t.name)}: bad shape [${t.shape.join(', ')}]`);
  }
  return t.shape.reduce((a, d) => a * d, SAFETENSORS_DTYPE_SIZE[t.dtype]);
}
