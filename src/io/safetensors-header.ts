import { FormatError } from '../errors.js';
import { findDuplicateJsonKey } from './json-duplicate-keys.js';
import { SAFETENSORS_DTYPE_SIZE, isSafetensorsDType, type SafetensorsDType } from './safetensors-dtype.js';

/** One tensor of a safetensors file; byteOffset is absolute in the file. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  byteOffset: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
}

/** Same limit as the reference Python/Rust implementation. */
export const MAX_HEADER_BYTES = 100_000_000;

/**
 * Validates the 8-byte length prefix against the file size and returns the
 * header's byte length.
 */
export function headerLength(file: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8) {
    throw new FormatError(file, `file is ${fileSize} bytes, too short for the 8-byte safetensors header length`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new FormatError(file, `header length ${n} is over the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
  }
  if (n + 8n > BigInt(fileSize)) {
    throw new FormatError(file, `header length ${n} runs past the end of the file (${fileSize} bytes)`);
  }
  if (n < 2n) throw new FormatError(file, `header length ${n} is too short for a JSON object`);
  return Number(n);
}

/**
 * Parses and checks the JSON header of a safetensors file: every tensor has
 * a known dtype, a valid shape, and a byte range inside the data section that
 * matches shape x dtype size and overlaps no other tensor.
 */
export function parseSafetensorsHeader(file: string, headerBytes: Uint8Array, fileSize: number): SafetensorsHeader {
  const dataStart = 8 + headerBytes.byteLength;
  const dataSize = fileSize - dataStart;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new FormatError(file, 'header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FormatError(file, `header is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new FormatError(file, 'header is not a JSON object');
  }
  const record = json as Record<string, unknown>;

  const list: SafetensorsEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(record)) {
    if (name === '__metadata__') metadata = parseMetadata(file, value);
    else list.push(parseEntry(file, name, value, dataStart, dataSize));
  }
  // Checked after the structure so the scan only ever sees shallow JSON.
  const dup = findDuplicateJsonKey(text);
  if (dup !== undefined) throw new FormatError(file, `header defines the key ${short(dup)} twice`);
  // File order, so a scan over all tensors reads the disk sequentially.
  list.sort((a, b) => a.byteOffset - b.byteOffset);
  checkNoOverlap(file, list, dataStart);
  return { entries: new Map(list.map((e) => [e.name, e])), metadata };
}

function parseMetadata(file: string, value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FormatError(file, '__metadata__ is not an object of strings');
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new FormatError(file, `__metadata__ field ${short(k)} is not a string`);
  }
  // fromEntries defines own properties, so a "__proto__" key stays a plain key.
  return Object.fromEntries(Object.entries(value)) as Record<string, string>;
}

function parseEntry(file: string, name: string, value: unknown, dataStart: number, dataSize: number): SafetensorsEntry {
  const where = `tensor ${short(name)}`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FormatError(file, `${where}: entry is not an object`);
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (!isSafetensorsDType(dtype)) {
    throw new FormatError(
      file,
      `${where}: unknown dtype ${short(dtype)} (expected one of ${Object.keys(SAFETENSORS_DTYPE_SIZE).join(', ')})`,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new FormatError(file, `${where}: shape ${short(shape)} is not an array of non-negative integers`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
  ) {
    throw new FormatError(file, `${where}: data_offsets ${short(offsets)} is not a pair of non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) throw new FormatError(file, `${where}: data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataSize) {
    throw new FormatError(
      file,
      `${where}: data_offsets [${begin}, ${end}] out of range (the data section is ${dataSize} bytes)`,
    );
  }
  const expected = byteSize(shape as number[], SAFETENSORS_DTYPE_SIZE[dtype]);
  if (expected !== end - begin) {
    throw new FormatError(
      file,
      `${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${expected ?? 'more than 2^53'}`,
    );
  }
  return { name, dtype, shape: [...(shape as number[])], byteOffset: dataStart + begin, byteLength: end - begin };
}

/** Element count x element size, or undefined past 2^53. */
function byteSize(shape: number[], elementSize: number): number | undefined {
  if (shape.includes(0)) return 0;
  let n = elementSize;
  for (const d of shape) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return undefined;
  }
  return n;
}

/** `sorted` is in byteOffset order. */
function checkNoOverlap(file: string, sorted: SafetensorsEntry[], dataStart: number): void {
  // Zero-size tensors occupy no bytes, so they cannot overlap anything; skip
  // them when looking for the previous tensor that holds bytes.
  let prev: SafetensorsEntry | undefined;
  for (const cur of sorted) {
    if (cur.byteLength === 0) continue;
    if (prev !== undefined && cur.byteOffset < prev.byteOffset + prev.byteLength) {
      const range = (e: SafetensorsEntry) => `[${e.byteOffset - dataStart}, ${e.byteOffset - dataStart + e.byteLength}]`;
      throw new FormatError(
        file,
        `tensor ${short(cur.name)} data_offsets ${range(cur)} overlap tensor ${short(prev.name)} ${range(prev)}`,
      );
    }
    prev = cur;
  }
}

/** A value for an error message, cut short (it comes from an untrusted file). */
function short(value: unknown): string {
  if (value === undefined) return '(missing)';
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
