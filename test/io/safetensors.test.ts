import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FormatError, UsageError } from '../../src/errors.js';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../src/io/safetensors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-safetensors-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const fixtures = path.join(import.meta.dirname, '..', 'fixtures', 'tiny-a');

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** A file with a raw header (object or literal text), optional length override and data. */
function rawFile(name: string, header: unknown, data: Uint8Array = new Uint8Array(0), lengthField?: bigint): string {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const json = Buffer.from(text, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(lengthField ?? BigInt(json.length));
  const file = path.join(tmp, name);
  fs.writeFileSync(file, Buffer.concat([prefix, json, data]));
  return file;
}

function formatErrorOf(file: string): FormatError {
  try {
    SafetensorsFile.open(file).close();
  } catch (err) {
    expect(err).toBeInstanceOf(FormatError);
    return err as FormatError;
  }
  throw new Error(`${file} opened without error`);
}

describe('safetensors round trip', () => {
  // Values chosen so the expected float32 is known exactly, independently of the converters.
  const f16Bits = new Uint16Array([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0xfc00]); // 1, -2, 0.5, 65504, 2^-24, -inf
  const f16Values = [1, -2, 0.5, 65504, 2 ** -24, -Infinity];
  const bf16Bits = new Uint16Array([0x3f80, 0xc040, 0x4780, 0x0000]); // 1, -3, 65536, 0
  const bf16Values = [1, -3, 65536, 0];
  const i64 = new BigInt64Array([0n, -1n, 9007199254740993n, -(2n ** 63n), 77n]);

  const tensors: TensorToWrite[] = [
    { name: 'f64', dtype: 'F64', shape: [2, 2], data: bytesOf(new Float64Array([1.5, -2.25, 1e300, 0.1])) },
    { name: 'f32', dtype: 'F32', shape: [3], data: bytesOf(new Float32Array([1, -0.5, 3.25])) },
    { name: 'f16', dtype: 'F16', shape: [2, 3], data: bytesOf(f16Bits) },
    { name: 'bf16', dtype: 'BF16', shape: [4], data: bytesOf(bf16Bits) },
    { name: 'i64', dtype: 'I64', shape: [5], data: bytesOf(i64) },
    { name: 'i32', dtype: 'I32', shape: [1, 3], data: bytesOf(new Int32Array([-7, 0, 2147483647])) },
    { name: 'i16', dtype: 'I16', shape: [2], data: bytesOf(new Int16Array([-32768, 12])) },
    { name: 'i8', dtype: 'I8', shape: [3], data: bytesOf(new Int8Array([-128, 5, 127])) },
    { name: 'u8', dtype: 'U8', shape: [3], data: bytesOf(new Uint8Array([0, 200, 255])) },
    { name: 'bool', dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
    { name: 'scalar', dtype: 'F32', shape: [], data: bytesOf(new Float32Array([42])) },
    { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Uint8Array(0) },
    { name: 'odd.u8', dtype: 'U8', shape: [5], data: new Uint8Array([1, 2, 3, 4, 5]) }, // next tensor starts unaligned
    { name: 'i64.unaligned', dtype: 'I64', shape: [2], data: bytesOf(new BigInt64Array([-5n, 2n ** 40n])) },
    { name: 'ünïcode ✓', dtype: 'U8', shape: [1], data: new Uint8Array([9]) },
  ];

  it('reads back every dtype with the same bytes, shapes and values', () => {
    const file = path.join(tmp, 'all.safetensors');
    writeSafetensors(file, tensors, { format: 'pt', note: 'round trip' });
    const st = SafetensorsFile.open(file);
    try {
      expect(st.metadata).toEqual({ format: 'pt', note: 'round trip' });
      expect([...st.entries.keys()]).toEqual(tensors.map((t) => t.name));
      for (const t of tensors) {
        const e = st.entry(t.name);
        expect(e.dtype).toBe(t.dtype);
        expect(e.shape).toEqual(t.shape);
        expect(st.readBytes(t.name)).toEqual(t.data);
      }
      expect([...st.readFloat32('f64')]).toEqual([1.5, -2.25, Infinity, Math.fround(0.1)]);
      expect([...st.readFloat32('f16')]).toEqual(f16Values);
      expect([...st.readFloat32('bf16')]).toEqual(bf16Values);
      expect(st.readTyped('i64')).toEqual(i64);
      expect([...st.readFloat32('i64')]).toEqual([0, -1, 9007199254740992, -(2 ** 63), 77]);
      expect([...st.readFloat32('i32')]).toEqual([-7, 0, 2147483648]);
      expect([...st.readFloat32('i16')]).toEqual([-32768, 12]);
      expect([...st.readFloat32('i8')]).toEqual([-128, 5, 127]);
      expect([...st.readFloat32('u8')]).toEqual([0, 200, 255]);
      expect([...st.readFloat32('bool')]).toEqual([1, 0, 1]);
      expect([...st.readFloat32('scalar')]).toEqual([42]);
      expect(st.readFloat32('empty').length).toBe(0);
      expect(st.entry('i64.unaligned').byteOffset % 8).not.toBe(0);
      expect(st.readTyped('i64.unaligned')).toEqual(new BigInt64Array([-5n, 2n ** 40n]));
      expect(st.readRange('f32', 4, 8)).toEqual(bytesOf(new Float32Array([-0.5, 3.25])));
      expect(() => st.readRange('f32', 4, 9)).toThrow(UsageError);
      expect(() => st.entry('missing')).toThrow(/all\.safetensors: no tensor named "missing"/);
    } finally {
      st.close();
    }
  });

  it('writes the layout the format specifies: 8-aligned space-padded header, contiguous offsets', () => {
    const file = path.join(tmp, 'layout.safetensors');
    writeSafetensors(file, tensors);
    const raw = fs.readFileSync(file);
    const n = Number(raw.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const text = raw.subarray(8, 8 + n).toString('utf8');
    expect(text.trimEnd().length).toBeGreaterThan(n - 8); // at most 7 padding spaces
    const header = JSON.parse(text) as Record<string, { data_offsets: [number, number] }>;
    expect(header['__metadata__']).toBeUndefined();
    let end = 0;
    for (const t of tensors) {
      expect(header[t.name]!.data_offsets[0]).toBe(end);
      end = header[t.name]!.data_offsets[1];
    }
    expect(raw.length).toBe(8 + n + end);
  });

  it('calls data callbacks lazily, one at a time, in order', () => {
    const calls: string[] = [];
    const lazy = ['a', 'b', 'c'].map((name, i) => ({
      name,
      dtype: 'F32' as const,
      shape: [2],
      data: () => {
        calls.push(name);
        return bytesOf(new Float32Array([i, -i]));
      },
    }));
    const file = path.join(tmp, 'lazy.safetensors');
    writeSafetensors(file, lazy);
    expect(calls).toEqual(['a', 'b', 'c']);
    const st = SafetensorsFile.open(file);
    expect([...st.readFloat32('c')]).toEqual([2, -2]);
    st.close();
    expect(() => st.readBytes('c')).toThrow(UsageError);
  });

  it('leaves no file (and no temp file) when a tensor has the wrong byte count', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'bad-'));
    const file = path.join(dir, 'out.safetensors');
    expect(() =>
      writeSafetensors(file, [
        { name: 'ok', dtype: 'F32', shape: [1], data: new Uint8Array(4) },
        { name: 'short', dtype: 'F32', shape: [2], data: () => new Uint8Array(4) },
      ]),
    ).toThrow(/short.*got 4 bytes.*needs 8/);
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(() => writeSafetensors(file, [tensors[0]!, tensors[0]!])).toThrow(UsageError);
    expect(() => writeSafetensors(file, [{ name: '__metadata__', dtype: 'U8', shape: [0], data: new Uint8Array(0) }])).toThrow(
      UsageError,
    );
  });

  it('keeps a tensor named __proto__ as an ordinary tensor', () => {
    const file = path.join(tmp, 'proto.safetensors');
    writeSafetensors(file, [{ name: '__proto__', dtype: 'U8', shape: [2], data: new Uint8Array([7, 8]) }]);
    const st = SafetensorsFile.open(file);
    expect([...st.entries.keys()]).toEqual(['__proto__']);
    expect([...st.readBytes('__proto__')]).toEqual([7, 8]);
    st.close();
  });
});

describe('safetensors tiny-a fixtures', () => {
  it('the padded and the real-layout (unpadded) checkpoint hold identical tensors', () => {
    const a = SafetensorsFile.open(path.join(fixtures, 'tiny-a.safetensors'));
    const b = SafetensorsFile.open(path.join(fixtures, 'tiny-a.real-layout.safetensors'));
    try {
      const raw = fs.readFileSync(b.path);
      expect((8 + Number(raw.readBigUInt64LE(0))) % 8).not.toBe(0); // really unpadded
      expect(a.entries.size).toBe(979);
      expect([...a.entries.keys()].sort()).toEqual([...b.entries.keys()].sort());
      for (const [name, ea] of a.entries) {
        const eb = b.entry(name);
        expect([eb.dtype, eb.shape]).toEqual([ea.dtype, ea.shape]);
        expect(Buffer.compare(a.readBytes(name), b.readBytes(name))).toBe(0);
      }
      const ids = a.readTyped('cond_stage_model.transformer.text_model.embeddings.position_ids');
      expect(a.entry('cond_stage_model.transformer.text_model.embeddings.position_ids').dtype).toBe('I64');
      expect([...(ids as BigInt64Array)]).toEqual(Array.from({ length: 77 }, (_, i) => BigInt(i)));
      const alphas = b.readFloat32('alphas_cumprod');
      expect(alphas.length).toBe(1000);
      // SD's schedule: alphas_cumprod decreases from just under 1 to about 0.0047.
      expect(alphas[0]).toBeCloseTo(0.99915, 4);
      expect(alphas[999]).toBeCloseTo(0.0047, 3);
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('safetensors validation', () => {
  const f32 = (begin: number, end: number, shape = [(end - begin) / 4]) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });
  const cases: [string, () => string, RegExp][] = [
    ['zero header length', () => rawFile('e0', ''), /header length 0 is too short for a JSON object/],
    ['shorter than 8 bytes', () => { const f = path.join(tmp, 'e1'); fs.writeFileSync(f, Buffer.alloc(5)); return f; }, /5 bytes, too short/],
    ['header length past the end', () => rawFile('e2', {}, new Uint8Array(0), 1000n), /header length 1000 runs past the end of the file \(10 bytes\)/],
    ['header length over 100 MB', () => rawFile('e3', {}, new Uint8Array(0), 200_000_000n), /header length 200000000 is over the 100000000-byte limit/],
    ['huge header length', () => rawFile('e4', {}, new Uint8Array(0), 2n ** 64n - 1n), /over the 100000000-byte limit/],
    ['invalid JSON', () => rawFile('e5', '{"a": {"dtype": "F32",'), /header is not valid JSON/],
    ['not an object', () => rawFile('e7', '[1, 2]'), /header is not a JSON object/],
    ['unknown dtype', () => rawFile('e8', { w: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /tensor "w": unknown dtype "F8_E4M3"/],
    ['negative dim', () => rawFile('e9', { w: f32(0, 4, [-1]) }, new Uint8Array(4)), /tensor "w": shape \[-1\] is not an array of non-negative integers/],
    ['fractional dim', () => rawFile('e10', { w: f32(0, 4, [1.5]) }, new Uint8Array(4)), /tensor "w": shape \[1.5\]/],
    ['shape not an array', () => rawFile('e11', { w: { dtype: 'F32', shape: 4, data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor "w": shape 4/],
    ['offsets not a pair', () => rawFile('e12', { w: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] } }, new Uint8Array(8)), /tensor "w": data_offsets \[0,4,8\] is not a pair/],
    ['offsets not integers', () => rawFile('e13', { w: { dtype: 'F32', shape: [1], data_offsets: ['0', 4] } }, new Uint8Array(8)), /tensor "w": data_offsets \["0",4\] is not a pair/],
    ['offsets reversed', () => rawFile('e14', { w: f32(8, 4, [1]) }, new Uint8Array(8)), /tensor "w": data_offsets \[8, 4\] end before they begin/],
    ['offsets out of range', () => rawFile('e15', { w: f32(4, 12) }, new Uint8Array(8)), /tensor "w": data_offsets \[4, 12\] out of range \(the data section is 8 bytes\)/],
    ['length != shape x dtype', () => rawFile('e16', { w: f32(0, 8, [3]) }, new Uint8Array(8)), /tensor "w": data_offsets \[0, 8\] hold 8 bytes but shape \[3\] of F32 needs 12/],
    ['element count past 2^53', () => rawFile('e17', { w: f32(0, 8, [2 ** 30, 2 ** 30, 2 ** 30]) }, new Uint8Array(8)), /needs more than 2\^53/],
    ['overlap', () => rawFile('e18', { a: f32(0, 8), b: f32(4, 12) }, new Uint8Array(12)), /tensor "b" data_offsets \[4, 12\] overlap tensor "a" \[0, 8\]/],
    ['duplicate tensor name', () => rawFile('e19', `{"w": ${JSON.stringify(f32(0, 4))}, "w": ${JSON.stringify(f32(4, 8))}}`, new Uint8Array(8)), /header defines the key "w" twice/],
    ['duplicate name via escape', () => rawFile('e20', `{"w": ${JSON.stringify(f32(0, 4))}, "\\u0077": ${JSON.stringify(f32(4, 8))}}`, new Uint8Array(8)), /defines the key "w" twice/],
    ['duplicate field in an entry', () => rawFile('e21', '{"w": {"dtype": "F32", "dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', new Uint8Array(4)), /defines the key "dtype" twice/],
    ['metadata not an object', () => rawFile('e22', { __metadata__: 'x' }), /__metadata__ is not an object of strings/],
    ['metadata value not a string', () => rawFile('e23', { __metadata__: { epochs: 3 } }), /__metadata__ field "epochs" is not a string/],
    ['entry not an object', () => rawFile('e24', { w: [1, 2] }), /tensor "w": entry is not an object/],
  ];
  for (const [what, make, message] of cases) {
    it(`rejects ${what} with a FormatError naming the file`, () => {
      const file = make();
      const err = formatErrorOf(file);
      expect(err.file).toBe(file);
      expect(err.message.startsWith(`${file}: `)).toBe(true);
      expect(err.message).toMatch(message);
    });
  }

  it('rejects header bytes that are not UTF-8', () => {
    const file = path.join(tmp, 'utf8.safetensors');
    const json = Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]); // {"\xff":1}
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    fs.writeFileSync(file, Buffer.concat([prefix, json]));
    expect(formatErrorOf(file).message).toMatch(/header is not valid UTF-8/);
  });

  it('accepts gaps, trailing bytes, zero-size tensors inside others, and an empty table', () => {
    const file = rawFile(
      'ok1',
      { a: f32(4, 8), z: { dtype: 'F32', shape: [0], data_offsets: [6, 6] }, b: f32(12, 16) },
      bytesOf(new Float32Array([0, 1, 0, 2, 9])),
    );
    const st = SafetensorsFile.open(file);
    expect([...st.readFloat32('a')]).toEqual([1]);
    expect([...st.readFloat32('b')]).toEqual([2]);
    expect(st.readFloat32('z').length).toBe(0);
    st.close();
    const empty = SafetensorsFile.open(rawFile('ok2', {}));
    expect(empty.entries.size).toBe(0);
    empty.close();
  });

  it('reports a file cut short after it was opened', () => {
    const file = path.join(tmp, 'shrinks.safetensors');
    writeSafetensors(file, [{ name: 'w', dtype: 'F32', shape: [4], data: new Uint8Array(16) }]);
    const st = SafetensorsFile.open(file);
    fs.truncateSync(file, fs.statSync(file).size - 6);
    expect(() => st.readBytes('w')).toThrow(FormatError);
    expect(() => st.readBytes('w')).toThrow(/shrinks\.safetensors: file ends at byte \d+, expected 16 bytes/);
    st.close();
  });

  it('reports a missing file, a folder, or an unwritable output as usage errors', () => {
    expect(() => SafetensorsFile.open(path.join(tmp, 'nope.safetensors'))).toThrow(UsageError);
    expect(() => SafetensorsFile.open(tmp)).toThrow(/is not a regular file/);
    const out = path.join(tmp, 'no-such-dir', 'x.safetensors');
    expect(() => writeSafetensors(out, [])).toThrow(UsageError);
    const dir = fs.mkdtempSync(path.join(tmp, 'target-is-dir-'));
    fs.mkdirSync(path.join(dir, 'x.safetensors', 'inner'), { recursive: true });
    expect(() => writeSafetensors(path.join(dir, 'x.safetensors'), [])).toThrow(/cannot write .*x\.safetensors/);
    expect(fs.readdirSync(dir)).toEqual(['x.safetensors']); // no temp file left
  });
});

describe('safetensors past 4 GiB', () => {
  it('reads a tensor placed beyond 4 GiB in a sparse file', () => {
    const file = path.join(tmp, 'big.safetensors');
    const gap = 2 ** 32 + 12_345; // a gap "tensor" (never read whole) pushes the next one past 4 GiB
    const values = new Float32Array([1.25, -3, 7e-8, 65504, -0]);
    const header = {
      pad: { dtype: 'U8', shape: [gap], data_offsets: [0, gap] },
      far: { dtype: 'F32', shape: [5], data_offsets: [gap, gap + 20] },
    };
    const json = Buffer.from(JSON.stringify(header));
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    const fd = fs.openSync(file, 'w');
    try {
      fs.ftruncateSync(fd, 8 + json.length + gap + 20);
      fs.writeSync(fd, Buffer.concat([prefix, json]), 0, 8 + json.length, 0);
      fs.writeSync(fd, bytesOf(values), 0, 20, 8 + json.length + gap);
      fs.writeSync(fd, new Uint8Array([0xab]), 0, 1, 8 + json.length + gap - 1);
    } finally {
      fs.closeSync(fd);
    }
    const st = SafetensorsFile.open(file);
    try {
      expect(st.entry('far').byteOffset).toBeGreaterThan(2 ** 32);
      expect(st.readFloat32('far')).toEqual(values);
      expect([...st.readRange('pad', gap - 2, 2)]).toEqual([0, 0xab]);
    } finally {
      st.close();
      fs.rmSync(file);
    }
  });
});
