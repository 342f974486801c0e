import { FormatError } from '../errors.js';
import type { ByteSource } from './byte-source.js';

/** A flatbuffer table found in the file, with its vtable already checked. */
export interface FbTable {
  readonly pos: number;
  readonly vtable: number;
  readonly vtableSize: number;
  readonly tableSize: number;
  /** Where this table sits in the model, for error messages ("subgraph 0 tensor 12"). */
  readonly where: string;
}

const decoder = new TextDecoder('utf-8');

/**
 * Bounds-checked flatbuffer reading: every offset, vtable and vector length
 * is checked against the file before use, so a corrupt file ends in a
 * FormatError naming the object, never in a RangeError or a huge
 * allocation. A work budget (tables, vector elements and string bytes
 * decoded; a valid file spends at most about a quarter of its size) stops
 * files whose objects are shared many times over from making decoding take
 * forever.
 */
export class FbView {
  private budget: number;

  constructor(readonly src: ByteSource) {
    this.budget = src.size / 2 + 4096;
  }

  fail(where: string, detail: string): never {
    throw new FormatError(this.src.file, where ? `${where}: ${detail}` : detail);
  }

  u8(pos: number): number {
    return this.src.view(pos, 1)[0]!;
  }
  u16(pos: number): number {
    const b = this.src.view(pos, 2);
    return b[0]! | (b[1]! << 8);
  }
  i32(pos: number): number {
    const b = this.src.view(pos, 4);
    return b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24);
  }
  u32(pos: number): number {
    return this.i32(pos) >>> 0;
  }
  f32(pos: number): number {
    const b = this.src.view(pos, 4);
    return new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);
  }
  /** Unsigned 64-bit as a number; exact below 2^53, which any file offset is. */
  u64(pos: number): number {
    return this.u32(pos) + this.u32(pos + 4) * 2 ** 32;
  }
  i64(pos: number): number {
    return this.u32(pos) + this.i32(pos + 4) * 2 ** 32;
  }

  private spend(units: number, where: string): void {
    this.budget -= units;
    if (this.budget < 0) this.fail(where, 'flatbuffer holds more objects than its size allows (shared or looping references)');
  }

  /** The table a uoffset at `ref` points to. */
  tableAt(ref: number, where: string): FbTable {
    this.inFile(ref, 4, where, 'table offset');
    const pos = ref + this.u32(ref);
    this.inFile(pos, 4, where, 'table');
    const vtable = pos - this.i32(pos);
    this.inFile(vtable, 4, where, 'vtable');
    const vtableSize = this.u16(vtable);
    const tableSize = this.u16(vtable + 2);
    if (vtableSize < 4 || vtableSize % 2 !== 0) this.fail(where, `bad vtable size ${vtableSize}`);
    if (tableSize < 4) this.fail(where, `bad table size ${tableSize}`);
    this.inFile(vtable, vtableSize, where, 'vtable');
    this.inFile(pos, tableSize, where, 'table');
    this.spend(1, where);
    return { pos, vtable, vtableSize, tableSize, where };
  }

  /** Position of field `id` of width `width` bytes, or 0 when absent. */
  field(t: FbTable, id: number, width: number): number {
    const vo = 4 + 2 * id;
    if (vo + 2 > t.vtableSize) return 0;
    const off = this.u16(t.vtable + vo);
    if (off === 0) return 0;
    if (off < 4 || off + width > t.tableSize) this.fail(t.where, `field ${id} lies outside its table`);
    return t.pos + off;
  }

  bool(t: FbTable, id: number, def: boolean): boolean {
    const p = this.field(t, id, 1);
    return p ? this.u8(p) !== 0 : def;
  }
  int8(t: FbTable, id: number, def: number): number {
    const p = this.field(t, id, 1);
    return p ? (this.u8(p) << 24) >> 24 : def;
  }
  uint8(t: FbTable, id: number, def: number): number {
    const p = this.field(t, id, 1);
    return p ? this.u8(p) : def;
  }
  int32(t: FbTable, id: number, def: number): number {
    const p = this.field(t, id, 4);
    return p ? this.i32(p) : def;
  }
  uint32(t: FbTable, id: number, def: number): number {
    const p = this.field(t, id, 4);
    return p ? this.u32(p) : def;
  }
  float32(t: FbTable, id: number, def: number): number {
    const p = this.field(t, id, 4);
    return p ? this.f32(p) : def;
  }
  uint64(t: FbTable, id: number, def: number): number {
    const p = this.field(t, id, 8);
    return p ? this.u64(p) : def;
  }

  table(t: FbTable, id: number, where: string): FbTable | undefined {
    const p = this.field(t, id, 4);
    return p ? this.tableAt(p, where) : undefined;
  }

  /** Start and length of vector field `id`, its elements `elemSize` bytes each. */
  vector(t: FbTable, id: number, elemSize: number, what: string): { start: number; length: number } | undefined {
    const p = this.field(t, id, 4);
    if (!p) return undefined;
    const at = p + this.u32(p);
    this.inFile(at, 4, t.where, what);
    const length = this.u32(at);
    this.inFile(at + 4, length * elemSize, t.where, `${what} (${length} elements)`);
    return { start: at + 4, length };
  }

  int32s(t: FbTable, id: number, what: string): number[] | undefined {
    const v = this.vector(t, id, 4, what);
    if (!v) return undefined;
    this.spend(v.length, t.where);
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.i32(v.start + 4 * i);
    return out;
  }
  float32s(t: FbTable, id: number, what: string): number[] | undefined {
    const v = this.vector(t, id, 4, what);
    if (!v) return undefined;
    this.spend(v.length, t.where);
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.f32(v.start + 4 * i);
    return out;
  }
  int64s(t: FbTable, id: number, what: string): number[] | undefined {
    const v = this.vector(t, id, 8, what);
    if (!v) return undefined;
    this.spend(v.length, t.where);
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.i64(v.start + 8 * i);
    return out;
  }
  bytes(t: FbTable, id: number, what: string): Uint8Array | undefined {
    const v = this.vector(t, id, 1, what);
    if (!v) return undefined;
    this.spend(1 + v.length / 8, t.where); // one string shared by many tables must not cost n x its size
    return this.src.copy(v.start, v.length);
  }
  string(t: FbTable, id: number, what: string): string | undefined {
    const v = this.vector(t, id, 1, what);
    if (!v) return undefined;
    this.spend(1 + v.length / 8, t.where);
    return decoder.decode(this.src.view(v.start, v.length));
  }
  /** Tables of vector field `id`; `whereOf(i)` names element i for errors. */
  tables(t: FbTable, id: number, what: string, whereOf: (i: number) => string): FbTable[] {
    const v = this.vector(t, id, 4, what);
    if (!v) return [];
    const out: FbTable[] = [];
    for (let i = 0; i < v.length; i++) out.push(this.tableAt(v.start + 4 * i, whereOf(i)));
    return out;
  }

  private inFile(pos: number, length: number, where: string, what: string): void {
    if (!(pos >= 0 && length >= 0 && pos + length <= this.src.size)) {
      this.fail(where, `${what} at byte ${pos} (${length} bytes) lies outside the file (${this.src.size} bytes)`);
    }
  }
}
