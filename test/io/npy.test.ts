import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FormatError, UsageError } from '../../src/errors.js';
import { encodeNpy, npyToFloat32, parseNpy, readNpy, readNpyFloat32, writeNpy, type NpyArray } from '../../src/io/npy.js';

const fixtures = path.join(import.meta.dirname, '..', 'fixtures');
const npyDir = path.join(fixtures, 'npy');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-npy-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Expected {
  files: Record<string, { dtype: string; shape: number[]; values: (number | string | boolean)[]; version: string }>;
  rejected: Record<string, string>;
}
const expected = JSON.parse(fs.readFileSync(path.join(npyDir, 'expected.json'), 'utf8')) as Expected;

/** A .npy file from a raw header string, version and data. */
function handMade(header: string, data: Uint8Array = new Uint8Array(0), major = 1): Uint8Array {
  const prefixLen = major === 1 ? 10 : 12;
  const out = new Uint8Array(prefixLen + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), prefixLen);
  out.set(data, prefixLen + header.length);
  return out;
}

function formatError(bytes: Uint8Array): FormatError {
  try {
    parseNpy(bytes, 'x.npy');
  } catch (err) {
    expect(err).toBeInstanceOf(FormatError);
    expect((err as FormatError).message.startsWith('x.npy: ')).toBe(true);
    return err as FormatError;
  }
  throw new Error('parsed without error');
}

describe('npy: files written by numpy', () => {
  for (const [name, want] of Object.entries(expected.files)) {
    it(`reads ${name} (format ${want.version}) as numpy wrote it`, () => {
      const file = path.join(npyDir, name);
      const arr = readNpy(file);
      expect(arr.dtype).toBe(want.dtype);
      expect(arr.shape).toEqual(want.shape);
      if (arr.dtype === 'int64') {
        expect([...(arr.data as BigInt64Array)]).toEqual(want.values.map((v) => BigInt(v as string)));
      } else if (arr.dtype === 'bool') {
        expect([...arr.data].map((v) => v === 1)).toEqual(want.values);
      } else {
        const values = want.values.map((v) => (typeof v === 'string' ? Number(v.replace('inf', 'Infinity')) : v));
        expect([...npyToFloat32(arr)]).toEqual(values.map((v) => Math.fround(v as number)));
      }
      if (want.version === '1.0' && name !== 'fortran-1d.npy') {
        // Our encoder writes byte-identical files to np.save.
        expect(Buffer.compare(encodeNpy(arr), fs.readFileSync(file))).toBe(0);
      }
    });
  }

  for (const [name, words] of Object.entries(expected.rejected)) {
    it(`refuses ${name}, saying "${words}"`, () => {
      const file = path.join(npyDir, name);
      expect(() => readNpy(file)).toThrow(FormatError);
      expect(() => readNpy(file)).toThrow(words);
      expect(() => readNpy(file)).toThrow(file);
    });
  }

  it('reads every tiny-a golden with the shape and dtype in its manifest', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(fixtures, 'tiny-a', 'manifest.json'), 'utf8')) as {
      files: Record<string, { file: string; shape: number[]; dtype: string; stats?: { mean: number; min: number; max: number } }>;
    };
    const files = Object.values(manifest.files).filter((f) => f.file.endsWith('.npy'));
    expect(files.length).toBeGreaterThan(50);
    for (const f of files) {
      const arr = readNpy(path.join(fixtures, 'tiny-a', f.file));
      expect([f.file, arr.dtype, arr.shape]).toEqual([f.file, f.dtype, f.shape]);
      if (f.stats !== undefined) {
        const data = readNpyFloat32(path.join(fixtures, 'tiny-a', f.file)).data;
        let min = Infinity;
        let max = -Infinity;
        for (const v of data) {
          min = Math.min(min, v);
          max = Math.max(max, v);
        }
        expect([min, max]).toEqual([Math.fround(f.stats.min), Math.fround(f.stats.max)]);
      }
    }
  });
});

describe('npy: round trips', () => {
  const arrays: NpyArray[] = [
    { dtype: 'float32', shape: [2, 2], data: new Float32Array([1, -2, 0.25, NaN]) },
    { dtype: 'float16', shape: [3], data: new Uint16Array([0x3c00, 0x7e00, 0x8001]) },
    { dtype: 'float64', shape: [], data: new Float64Array([Math.PI]) },
    { dtype: 'int32', shape: [1, 1, 2], data: new Int32Array([-5, 7]) },
    { dtype: 'int64', shape: [2], data: new BigInt64Array([2n ** 62n, -3n]) },
    { dtype: 'int8', shape: [2], data: new Int8Array([-128, 127]) },
    { dtype: 'uint8', shape: [0, 5], data: new Uint8Array(0) },
    { dtype: 'bool', shape: [4], data: new Uint8Array([1, 0, 0, 1]) },
  ];
  for (const arr of arrays) {
    it(`${arr.dtype} [${arr.shape.join(', ')}] survives encode/parse and write/read`, () => {
      const bytes = encodeNpy(arr);
      const headerLen = new DataView(bytes.buffer).getUint16(8, true);
      expect((10 + headerLen) % 64).toBe(0);
      expect(parseNpy(bytes)).toEqual(arr);
      const file = path.join(tmp, `${arr.dtype}.npy`);
      writeNpy(file, arr);
      expect(readNpy(file)).toEqual(arr);
    });
  }

  it('switches to format 2.0 when the header does not fit 65,535 bytes', () => {
    const arr: NpyArray = { dtype: 'uint8', shape: new Array<number>(25_000).fill(1), data: new Uint8Array([42]) };
    const bytes = encodeNpy(arr);
    expect(bytes[6]).toBe(2);
    expect((12 + new DataView(bytes.buffer).getUint32(8, true)) % 64).toBe(0);
    expect(parseNpy(bytes)).toEqual(arr);
  });

  it('rejects inconsistent arrays with a usage error', () => {
    expect(() => encodeNpy({ dtype: 'float32', shape: [3], data: new Float32Array(2) })).toThrow(UsageError);
    expect(() => encodeNpy({ dtype: 'float32', shape: [2], data: new Float64Array(2) })).toThrow(/Float32Array/);
    expect(() => encodeNpy({ dtype: 'int8', shape: [-1], data: new Int8Array(0) })).toThrow(UsageError);
  });
});

describe('npy: malformed files', () => {
  const f32 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const two = new Uint8Array(8);
  const cases: [string, () => Uint8Array, RegExp][] = [
    ['too short', () => new Uint8Array([0x93, 0x4e]), /missing the \\x93NUMPY magic/],
    ['wrong magic', () => Buffer.from('PK\x03\x04 not numpy at all'), /missing the \\x93NUMPY magic/],
    ['version 4.0', () => { const b = handMade(f32, two); b[6] = 4; return b; }, /format version 4.0 is not supported/],
    ['version 2 without length', () => handMade('', new Uint8Array(0), 2).subarray(0, 10), /shorter than its 12-byte prefix/],
    ['header past the end', () => handMade(f32, two).subarray(0, 30), /header length 57 runs past the end of the file \(30 bytes\)/],
    ['huge v2 header length', () => { const b = handMade(f32, two, 2); new DataView(b.buffer).setUint32(8, 0xffffffff, true); return b; }, /over the 1048576-byte limit/],
    ['data too short', () => handMade(f32, two.subarray(0, 7)), /data is 7 bytes but shape \(2\) of float32 needs 8/],
    ['data too long', () => handMade(f32, new Uint8Array(9)), /data is 9 bytes but shape \(2\) of float32 needs 8/],
    ['element count past 2^53', () => handMade("{'descr': '|u1', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }"), /needs more than 2\^53/],
    ['missing shape', () => handMade("{'descr': '<f4', 'fortran_order': False, }"), /keys \["descr","fortran_order"\], expected descr, fortran_order and shape/],
    ['extra key', () => handMade("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': True}"), /expected descr, fortran_order and shape/],
    ['repeated key', () => handMade("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}"), /repeats the key 'descr'/],
    ['negative dimension', () => handMade("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"), /shape entry that is not a non-negative integer/],
    ['shape as a list', () => handMade("{'descr': '<f4', 'fortran_order': False, 'shape': [2], }"), /list value/],
    ['fortran_order not a bool', () => handMade("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", two), /not a string, True\/False or a tuple/],
    ['descr not a string', () => handMade("{'descr': (4,), 'fortran_order': False, 'shape': (2,), }", two), /descr is a tuple \(4\), expected a dtype string/],
    ['unterminated string', () => handMade("{'descr: '<f4'}"), /expected ':'|unterminated/],
    ['not a dict', () => handMade('hello'), /expected '\{' at character 0/],
    ['text after the dict', () => handMade(`${f32} junk`, two), /text after the closing brace/],
    ['unknown dtype', () => handMade("{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(4)), /dtype '<u2' is not supported \(supported: float32 '<f4'/],
    ['native byte order', () => handMade("{'descr': '=f4', 'fortran_order': False, 'shape': (2,), }", two), /byte order '='; expected '<'/],
    ['big endian', () => handMade("{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }", two), /big endian/],
    ['Fortran order', () => handMade("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2, 2), }", new Uint8Array(16)), /Fortran order; only C order/],
    ['invalid UTF-8 in a 3.0 header', () => handMade("{'descr': '\xff', 'fortran_order': False, 'shape': (), }", new Uint8Array(0), 3), /not valid UTF-8/],
  ];
  for (const [what, make, message] of cases) {
    it(`rejects ${what}`, () => {
      expect(formatError(make()).message).toMatch(message);
    });
  }

  it('accepts Fortran order when it equals C order, double quotes, L suffixes and odd spacing', () => {
    const arr = parseNpy(handMade('{"shape":(1L,2L),"fortran_order":True,"descr":"<i4"}', bytes([3, 4])));
    expect(arr).toEqual({ dtype: 'int32', shape: [1, 2], data: new Int32Array([3, 4]) });
  });

  it('reports a missing file, a folder, or an unwritable output as usage errors', () => {
    expect(() => readNpy(path.join(tmp, 'missing.npy'))).toThrow(UsageError);
    expect(() => readNpy(tmp)).toThrow(UsageError);
    const arr: NpyArray = { dtype: 'uint8', shape: [1], data: new Uint8Array(1) };
    expect(() => writeNpy(path.join(tmp, 'no-such-dir', 'x.npy'), arr)).toThrow(UsageError);
  });
});

function bytes(int32: number[]): Uint8Array {
  return new Uint8Array(new Int32Array(int32).buffer);
}
