import * as fs from 'node:fs';
import { FormatError, UsageError } from '../errors.js';
import { writeAll, writeFileAtomically } from './fd-io.js';
import { f16ArrayToF32 } from './half.js';
import { parseNpyHeaderDict } from './npy-header.js';

/**
 * NumPy .npy files (format 1.0, 2.0 and 3.0), C order, little endian.
 * Layout: magic "\x93NUMPY", major and minor version bytes, header length
 * (uint16 LE for 1.0, uint32 LE for 2.0/3.0), a Python dict literal header,
 * then the raw array data.
 */

export type NpyDType = 'float32' | 'float16' | 'float64' | 'int32' | 'int64' | 'int8' | 'uint8' | 'bool';

export type NpyData = Float32Array | Uint16Array | Float64Array | Int32Array | BigInt64Array | Int8Array | Uint8Array;

export interface NpyArray {
  dtype: NpyDType;
  shape: number[];
  /** float16 as raw bits (Uint16Array); bool as 0/1 bytes (Uint8Array). */
  data: NpyData;
}

interface DTypeInfo {
  /** numpy's descr string, as np.save writes it. */
  descr: string;
  size: number;
  view: (buffer: ArrayBuffer, byteOffset: number, length: number) => NpyData;
  is: (data: NpyData) => boolean;
}

const DTYPES: Record<NpyDType, DTypeInfo> = {
  float32: { descr: '<f4', size: 4, view: (b, o, n) => new Float32Array(b, o, n), is: (d) => d instanceof Float32Array },
  float16: { descr: '<f2', size: 2, view: (b, o, n) => new Uint16Array(b, o, n), is: (d) => d instanceof Uint16Array },
  float64: { descr: '<f8', size: 8, view: (b, o, n) => new Float64Array(b, o, n), is: (d) => d instanceof Float64Array },
  int32: { descr: '<i4', size: 4, view: (b, o, n) => new Int32Array(b, o, n), is: (d) => d instanceof Int32Array },
  int64: { descr: '<i8', size: 8, view: (b, o, n) => new BigInt64Array(b, o, n), is: (d) => d instanceof BigInt64Array },
  int8: { descr: '|i1', size: 1, view: (b, o, n) => new Int8Array(b, o, n), is: (d) => d instanceof Int8Array },
  uint8: { descr: '|u1', size: 1, view: (b, o, n) => new Uint8Array(b, o, n), is: (d) => d instanceof Uint8Array },
  bool: { descr: '|b1', size: 1, view: (b, o, n) => new Uint8Array(b, o, n), is: (d) => d instanceof Uint8Array },
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** Headers are a few hundred bytes; this only bounds hostile files. */
const MAX_HEADER_BYTES = 1 << 20;
/** numpy aligns the start of the data to 64 bytes. */
const ALIGN = 64;

function dtypeFromDescr(file: string, descr: string): NpyDType {
  const type = descr.slice(1);
  const order = descr[0];
  for (const [name, info] of Object.entries(DTYPES) as [NpyDType, DTypeInfo][]) {
    if (info.descr.slice(1) !== type) continue;
    // Byte order does not matter for one-byte types ('|' is what numpy writes).
    if (info.size === 1 && (order === '|' || order === '<' || order === '>' || order === '=')) return name;
    if (order === '<') return name;
    if (order === '>') throw new FormatError(file, `.npy dtype '${descr}' is big endian; only little endian is supported (save with arr.astype('<${type}'))`);
    throw new FormatError(file, `.npy dtype '${descr}' has byte order '${order}'; expected '<'`);
  }
  const supported = Object.entries(DTYPES).map(([n, i]) => `${n} '${i.descr}'`).join(', ');
  throw new FormatError(file, `.npy dtype '${descr.slice(0, 40)}' is not supported (supported: ${supported})`);
}

function elementCount(shape: number[]): number | undefined {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return undefined;
  }
  return n;
}

/** Parses a whole .npy file held in memory; the data is copied into an array of its own. */
export function parseNpy(bytes: Uint8Array, file = '<npy bytes>'): NpyArray {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) {
    throw new FormatError(file, 'not a .npy file (missing the \\x93NUMPY magic)');
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) {
    throw new FormatError(file, `.npy format version ${major}.${minor} is not supported (expected 1.0, 2.0 or 3.0)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const prefixLen = major === 1 ? 10 : 12;
  if (bytes.length < prefixLen) throw new FormatError(file, `.npy file is ${bytes.length} bytes, shorter than its ${prefixLen}-byte prefix`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerLen > MAX_HEADER_BYTES) throw new FormatError(file, `.npy header length ${headerLen} is over the ${MAX_HEADER_BYTES}-byte limit`);
  const dataStart = prefixLen + headerLen;
  if (dataStart > bytes.length) {
    throw new FormatError(file, `.npy header length ${headerLen} runs past the end of the file (${bytes.length} bytes)`);
  }
  let text: string;
  try {
    text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(bytes.subarray(prefixLen, dataStart));
  } catch {
    throw new FormatError(file, '.npy header is not valid UTF-8');
  }
  const { descr, fortranOrder, shape } = parseNpyHeaderDict(file, text);
  const dtype = dtypeFromDescr(file, descr);
  if (fortranOrder && shape.filter((d) => d > 1).length > 1) {
    throw new FormatError(file, `.npy array of shape (${shape.join(', ')}) is in Fortran order; only C order is supported (save np.ascontiguousarray(arr))`);
  }
  const info = DTYPES[dtype];
  const count = elementCount(shape);
  const need = count === undefined ? undefined : count * info.size;
  const have = bytes.length - dataStart;
  if (need !== have) {
    throw new FormatError(
      file,
      `.npy data is ${have} bytes but shape (${shape.join(', ')}) of ${dtype} needs ${need ?? 'more than 2^53'}`,
    );
  }
  // A fresh buffer: aligned for the element type, and never a view of a
  // Node Buffer's shared pool (Buffer#slice does not copy).
  const copy = new Uint8Array(have);
  copy.set(bytes.subarray(dataStart));
  return { dtype, shape, data: info.view(copy.buffer, 0, count!) };
}

export function readNpy(path: string): NpyArray {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
  }
  return parseNpy(bytes, path);
}

/** Any numeric .npy as float32 (float16 decoded, float64 rounded, integers by value, bool 0/1). */
export function readNpyFloat32(path: string): { shape: number[]; data: Float32Array } {
  const arr = readNpy(path);
  return { shape: arr.shape, data: npyToFloat32(arr) };
}

export function npyToFloat32(arr: NpyArray): Float32Array {
  const { dtype, data } = arr;
  if (dtype === 'float32') return data as Float32Array;
  if (dtype === 'float16') return f16ArrayToF32(data as Uint16Array);
  if (dtype === 'int64') return Float32Array.from(data as BigInt64Array, (v) => Number(v));
  if (dtype === 'bool') return Float32Array.from(data as Uint8Array, (v) => (v === 0 ? 0 : 1));
  return Float32Array.from(data as Float64Array | Int32Array | Int8Array | Uint8Array);
}

/**
 * Encodes as numpy's np.save does: format 1.0 (2.0 when the header does not
 * fit 65,535 bytes), header padded with spaces and a newline so the data
 * starts at a multiple of 64 bytes.
 */
export function encodeNpy(arr: NpyArray): Uint8Array {
  const info = DTYPES[arr.dtype];
  if (info === undefined) throw new UsageError(`.npy: unknown dtype ${String(arr.dtype)}`);
  if (!info.is(arr.data)) throw new UsageError(`.npy: ${arr.dtype} data must be a ${info.view(new ArrayBuffer(0), 0, 0).constructor.name}`);
  if (!arr.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new UsageError(`.npy: bad shape [${arr.shape.join(', ')}]`);
  if (elementCount(arr.shape) !== arr.data.length) {
    throw new UsageError(`.npy: shape [${arr.shape.join(', ')}] does not match ${arr.data.length} elements`);
  }
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let dict = `{'descr': '${info.descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // numpy leaves room to rewrite the first dimension in place when appending.
  if (arr.shape.length > 0) dict += ' '.repeat(Math.max(0, 21 - String(arr.shape[0]).length));
  let major = 1;
  let prefixLen = 10;
  let total = prefixLen + dict.length + 1;
  if (Math.ceil(total / ALIGN) * ALIGN - prefixLen > 0xffff) {
    major = 2;
    prefixLen = 12;
    total = prefixLen + dict.length + 1;
  }
  const headerLen = Math.ceil(total / ALIGN) * ALIGN - prefixLen;
  const data = new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
  const out = new Uint8Array(prefixLen + headerLen + data.byteLength);
  out.set(MAGIC);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, headerLen, true);
  else view.setUint32(8, headerLen, true);
  const header = dict.padEnd(headerLen - 1, ' ') + '\n';
  for (let i = 0; i < header.length; i++) out[prefixLen + i] = header.charCodeAt(i);
  out.set(data, prefixLen + headerLen);
  return out;
}

export function writeNpy(path: string, arr: NpyArray): void {
  const bytes = encodeNpy(arr);
  writeFileAtomically(path, (fd) => writeAll(fd, bytes));
}
