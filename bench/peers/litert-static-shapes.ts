import { FormatError } from '../../src/errors.js';

/**
 * LiteRT.js refuses a model whose tensors have -1 (dynamic) entries in
 * `shape_signature` ("ranked tensor type" errors). This returns a copy of
 * the .tflite bytes in which every such entry is replaced by the static size
 * from the same tensor's `shape`, patched in place (same vector length, so
 * no re-serialisation is needed). Returns the input itself when nothing is
 * dynamic.
 *
 * Only the few fields needed are walked: Model.subgraphs (field 2),
 * SubGraph.tensors (0), Tensor.shape (0) and Tensor.shape_signature (7),
 * field ids as in the upstream TFLite schema.
 */
export function withStaticShapeSignatures(bytes: Uint8Array, file = 'model'): Uint8Array {
  const fb = new FlatReader(bytes, file);
  const patches: Array<{ at: number; value: number }> = [];
  const subgraphs = fb.vectorField(fb.root(), 2, 'Model.subgraphs');
  for (let s = 0; s < subgraphs.length; s++) {
    const subgraph = fb.tableAt(subgraphs.element(s), `subgraph ${s}`);
    const tensors = fb.vectorField(subgraph, 0, `subgraph ${s} tensors`);
    for (let t = 0; t < tensors.length; t++) {
      const where = `subgraph ${s} tensor ${t}`;
      const tensor = fb.tableAt(tensors.element(t), where);
      const signature = fb.vectorField(tensor, 7, `${where} shape_signature`);
      if (signature.length === 0) continue;
      const shape = fb.vectorField(tensor, 0, `${where} shape`);
      if (shape.length !== signature.length) {
        throw new FormatError(file, `${where}: shape has ${shape.length} dims but shape_signature ${signature.length}`);
      }
      for (let d = 0; d < signature.length; d++) {
        if (fb.i32(signature.element(d)) === -1) patches.push({ at: signature.element(d), value: fb.i32(shape.element(d)) });
      }
    }
  }
  if (patches.length === 0) return bytes;
  const copy = new Uint8Array(bytes);
  const view = new DataView(copy.buffer, copy.byteOffset, copy.byteLength);
  for (const p of patches) view.setInt32(p.at, p.value, true);
  return copy;
}

interface FlatVector {
  length: number;
  /** Byte position of element i (4-byte elements: int32 or table offsets). */
  element(i: number): number;
}

/** Bounds-checked reads of flatbuffer tables and 4-byte-element vectors. */
class FlatReader {
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  root(): number {
    return this.tableAt(0, 'root table');
  }

  i32(at: number): number {
    return this.view.getInt32(at, true);
  }

  /** Follows the uoffset stored at `at` to a table and checks its vtable. */
  tableAt(at: number, what: string): number {
    const table = this.follow(at, what);
    const vtable = table - this.i32(table);
    this.need(vtable, 4, `${what} vtable`);
    this.need(vtable, this.view.getUint16(vtable, true), `${what} vtable`);
    return table;
  }

  /** A vector field with 4-byte elements; empty when the field is absent. */
  vectorField(table: number, id: number, what: string): FlatVector {
    const vtable = table - this.i32(table);
    const slot = 4 + 2 * id;
    const fieldOffset = slot + 2 <= this.view.getUint16(vtable, true) ? this.view.getUint16(vtable + slot, true) : 0;
    if (fieldOffset === 0) return { length: 0, element: () => -1 };
    const vector = this.follow(table + fieldOffset, what);
    const length = this.view.getUint32(vector, true);
    this.need(vector + 4, length * 4, what);
    return { length, element: (i) => vector + 4 + 4 * i };
  }

  private follow(at: number, what: string): number {
    this.need(at, 4, what);
    const target = at + this.view.getUint32(at, true);
    this.need(target, 4, what);
    return target;
  }

  private need(at: number, size: number, what: string): void {
    if (at < 0 || size < 0 || at + size > this.bytes.byteLength) {
      throw new FormatError(this.file, `${what} lies outside the file (bytes ${at}..${at + size} of ${this.bytes.byteLength})`);
    }
  }
}
