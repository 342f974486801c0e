/**
 * Mutates valid safetensors and .npy files thousands of times (fixed seed, so
 * any failure reproduces) and checks that each case either parses into a
 * self-consistent result or fails with our FormatError naming the file and
 * the problem: never another exception, a hang or a huge allocation.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { encodeNpy, npyToFloat32, parseNpy, type NpyArray } from '../../src/io/npy.js';
import { SafetensorsFile, writeSafetensors, type SafetensorsEntry } from '../../src/io/safetensors.js';
import { mulberry32 } from '../support/random.js';

/** Longer or different runs: SD_FUZZ_ITERATIONS=100000 SD_FUZZ_SEED=5 npx vitest run test/io/fuzz.test.ts */
const ITERATIONS = Number(process.env['SD_FUZZ_ITERATIONS'] ?? 5000);
const SEED = Number(process.env['SD_FUZZ_SEED'] ?? 0);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-fuzz-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Seeded picks for the mutations. */
function makeRng(seed: number) {
  const next = mulberry32(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}
type Rng = ReturnType<typeof makeRng>;

const WEIRD_NUMBERS = [0, 1, -1, 3, 7, 8, 255, 65535, 2 ** 31, 2 ** 32, 2 ** 32 + 4, 2 ** 53, 2 ** 53 + 2, 1e300, 0.5, -0, 1e-300];
const WEIRD_VALUES: unknown[] = [...WEIRD_NUMBERS, null, true, 'F32', '', [], {}, [1, 2, 3], [[1]], 'x'.repeat(500), { a: 1 }];

function weirdValue(rng: Rng): unknown {
  return rng.next() < 0.7 ? rng.pick(WEIRD_VALUES) : Math.floor(rng.next() * 2 ** rng.int(60)) * (rng.next() < 0.2 ? -1 : 1);
}

// ---------- generic byte mutations ----------

function mutateBytes(rng: Rng, src: Uint8Array, headerEnd: number): Uint8Array {
  const b = new Uint8Array(src);
  switch (rng.int(6)) {
    case 0: // truncate
      return b.subarray(0, rng.int(b.length));
    case 1: {
      // random bytes in the header
      const n = 1 + rng.int(8);
      for (let i = 0; i < n; i++) b[rng.int(headerEnd)] = rng.int(256);
      return b;
    }
    case 2: {
      // bit flips anywhere
      const n = 1 + rng.int(4);
      for (let i = 0; i < n; i++) b[rng.int(b.length)]! ^= 1 << rng.int(8);
      return b;
    }
    case 3: {
      // insert or delete a run of bytes inside the header
      const at = rng.int(headerEnd);
      const len = 1 + rng.int(16);
      if (rng.next() < 0.5) return new Uint8Array([...b.subarray(0, at), ...b.subarray(at + len)]);
      const junk = Array.from({ length: len }, () => rng.pick([0x22, 0x2c, 0x3a, 0x5b, 0x5d, 0x7b, 0x7d, 0x30, 0x5c, 0x20, rng.int(256)]));
      return new Uint8Array([...b.subarray(0, at), ...junk, ...b.subarray(at)]);
    }
    case 4: // junk appended
      return new Uint8Array([...b, ...Array.from({ length: 1 + rng.int(64) }, () => rng.int(256))]);
    default: // replace the whole header region with random bytes
      for (let i = 0; i < headerEnd; i++) if (rng.next() < 0.3) b[i] = rng.int(256);
      return b;
  }
}

// ---------- safetensors ----------

function safetensorsSeeds(): Uint8Array[] {
  const seeds: Uint8Array[] = [];
  const f = path.join(tmp, 'seed.safetensors');
  writeSafetensors(
    f,
    [
      { name: 'w', dtype: 'F32', shape: [2, 3], data: new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer) },
      { name: 'h', dtype: 'F16', shape: [3], data: new Uint8Array(new Uint16Array([0x3c00, 0x7c00, 0x7e00]).buffer) },
      { name: 'b', dtype: 'BF16', shape: [2], data: new Uint8Array(new Uint16Array([0x3f80, 0xff80]).buffer) },
      { name: 'ids', dtype: 'I64', shape: [1, 3], data: new Uint8Array(new BigInt64Array([0n, 1n, -2n]).buffer) },
      { name: 's', dtype: 'F64', shape: [], data: new Uint8Array(new Float64Array([0.25]).buffer) },
      { name: 'z', dtype: 'I32', shape: [0, 2], data: new Uint8Array(0) },
      { name: 'm', dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
      { name: 'q', dtype: 'I8', shape: [2], data: new Uint8Array([255, 1]) },
    ],
    { format: 'pt' },
  );
  seeds.push(fs.readFileSync(f));
  // An unpadded header, as older writers produce.
  const json = Buffer.from(JSON.stringify({ a: { dtype: 'U8', shape: [3], data_offsets: [0, 3] }, c: { dtype: 'I16', shape: [2], data_offsets: [3, 7] } }));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  seeds.push(Buffer.concat([prefix, json, Buffer.from([1, 2, 3, 4, 5, 6, 7])]));
  return seeds;
}

/** Structure-aware mutation: rewrites one field of the parsed header. */
function mutateHeader(rng: Rng, src: Uint8Array): Uint8Array {
  const n = Number(Buffer.from(src).readBigUInt64LE(0));
  const header = JSON.parse(Buffer.from(src.subarray(8, 8 + n)).toString('utf8')) as Record<string, Record<string, unknown>>;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = rng.pick(names);
  const entry = header[name]!;
  let text: string | undefined;
  switch (rng.int(9)) {
    case 0:
      entry['dtype'] = rng.pick(['F8_E4M3', 'f32', 'U16', 'C64', '', 'BOOL', 'I64', 'F16', 7]);
      break;
    case 1:
      entry['shape'] = Array.from({ length: rng.int(5) }, () => weirdValue(rng));
      break;
    case 2: {
      const offsets = [...(entry['data_offsets'] as number[])];
      offsets[rng.int(2)] = weirdValue(rng) as number;
      entry['data_offsets'] = rng.next() < 0.1 ? [offsets[0]] : offsets;
      break;
    }
    case 3: // shift a tensor onto its neighbour
      entry['data_offsets'] = (entry['data_offsets'] as number[]).map((o) => o + rng.pick([-4, -2, -1, 1, 2, 4]));
      break;
    case 4:
      delete entry[rng.pick(['dtype', 'shape', 'data_offsets'])];
      break;
    case 5:
      header['__metadata__'] = rng.pick([{ k: 1 }, 'meta', [], null, { k: 'v', x: { y: 'z' } }]) as Record<string, unknown>;
      break;
    case 6: {
      // a duplicate key, which JSON.parse alone would silently resolve
      const raw = JSON.stringify(header);
      text = `${raw.slice(0, -1)},${JSON.stringify(name)}:${JSON.stringify(entry)}}`;
      break;
    }
    case 7:
      header[name] = weirdValue(rng) as Record<string, unknown>;
      break;
    default:
      entry[rng.pick(['shape', 'data_offsets', 'dtype'])] = weirdValue(rng);
  }
  const json = Buffer.from(text ?? JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([prefix, json, src.subarray(8 + n)]);
}

function mutateLength(rng: Rng, src: Uint8Array): Uint8Array {
  const b = Buffer.from(src);
  const n = b.readBigUInt64LE(0);
  b.writeBigUInt64LE(
    rng.pick([
      0n,
      1n,
      n - 1n,
      n + 1n,
      BigInt(b.length),
      BigInt(b.length - 8),
      99_999_999n,
      100_000_001n,
      2n ** 32n + n,
      2n ** 63n,
      2n ** 64n - 1n,
      BigInt(rng.int(2 ** 30)),
    ]) & (2n ** 64n - 1n),
  );
  return b;
}

function elementSize(dtype: string): number {
  return { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 }[dtype]!;
}

/** Independent checks that an accepted file's table describes real, disjoint bytes. */
function checkAccepted(file: string, st: SafetensorsFile, size: number): void {
  const ranges: [number, number][] = [];
  for (const e of st.entries.values() as IterableIterator<SafetensorsEntry>) {
    const count = e.shape.reduce((a, d) => a * d, 1);
    expect(e.byteLength).toBe(count * elementSize(e.dtype));
    expect(e.byteOffset + e.byteLength).toBeLessThanOrEqual(size);
    expect(e.byteOffset).toBeGreaterThanOrEqual(8);
    if (e.byteLength > 0) ranges.push([e.byteOffset, e.byteOffset + e.byteLength]);
    expect(st.readBytes(e.name).length).toBe(e.byteLength);
    expect(st.readFloat32(e.name).length).toBe(count);
    expect(st.readTyped(e.name).length).toBe(count);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThanOrEqual(ranges[i - 1]![1]);
  for (const v of Object.values(st.metadata)) expect(typeof v).toBe('string');
  expect(file).toBeTruthy();
}

function expectOurError(err: unknown, file: string, bytes: Uint8Array): void {
  if (!(err instanceof FormatError)) {
    throw new Error(`non-FormatError for ${Buffer.from(bytes.subarray(0, 200)).toString('latin1')}: ${String((err as Error)?.stack ?? err)}`);
  }
  expect(err.file).toBe(file);
  expect(err.message.length).toBeGreaterThan(file.length + 10);
}

describe('fuzz', () => {
  it('mutated safetensors files parse consistently or fail with a FormatError', () => {
    const rng = makeRng(20261126 + SEED);
    const seeds = safetensorsSeeds();
    const file = path.join(tmp, 'case.safetensors');
    const fd = fs.openSync(file, 'w');
    onTestFinished(() => fs.closeSync(fd));
    let accepted = 0;
    let rejected = 0;
    const messages = new Set<string>();
    for (let i = 0; i < ITERATIONS; i++) {
      const seed = rng.pick(seeds);
      const headerEnd = 8 + Number(Buffer.from(seed).readBigUInt64LE(0));
      const kind = rng.int(3);
      const bytes = kind === 0 ? mutateBytes(rng, seed, headerEnd) : kind === 1 ? mutateHeader(rng, seed) : mutateLength(rng, seed);
      // Rewrite in place: much cheaper than writeFileSync's truncate-and-write.
      fs.writeSync(fd, bytes, 0, bytes.length, 0);
      fs.ftruncateSync(fd, bytes.length);
      let st: SafetensorsFile | undefined;
      try {
        st = SafetensorsFile.open(file);
      } catch (err) {
        expectOurError(err, file, bytes);
        messages.add((err as Error).message.slice(file.length + 2).replace(/[0-9]+/g, 'N').slice(0, 40));
        rejected++;
        continue;
      }
      try {
        checkAccepted(file, st, bytes.length);
        accepted++;
      } finally {
        st.close();
      }
    }
    // The mutations must reach both outcomes and many distinct checks.
    expect(accepted).toBeGreaterThan(ITERATIONS / 50);
    expect(rejected).toBeGreaterThan(ITERATIONS / 2);
    expect(messages.size).toBeGreaterThan(15);
  });

  it('mutated .npy files parse consistently or fail with a FormatError', () => {
    const rng = makeRng(7 + SEED);
    const seedArrays: NpyArray[] = [
      { dtype: 'float32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
      { dtype: 'int64', shape: [3], data: new BigInt64Array([1n, -1n, 2n ** 40n]) },
      { dtype: 'float16', shape: [], data: new Uint16Array([0x3c00]) },
      { dtype: 'bool', shape: [0, 4], data: new Uint8Array(0) },
    ];
    const seeds = seedArrays.map(encodeNpy);
    const headerTexts = [
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
      "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 1), }",
      "{'descr': '>i4', 'fortran_order': False, 'shape': (6,), }",
      "{'descr': '<f2', 'fortran_order': False, 'shape': (12,), }",
      "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }",
      "{'descr': '|b1', 'fortran_order': False, 'shape': (99999999999, 99999999999), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551616,), }",
      "{'descr': '<i8', 'fortran_order': False, 'shape': (3,)",
    ];
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const seed = rng.pick(seeds);
      const headerEnd = 10 + new DataView(seed.buffer).getUint16(8, true);
      let bytes: Uint8Array;
      const kind = rng.int(4);
      if (kind <= 1) bytes = mutateBytes(rng, seed, headerEnd);
      else if (kind === 2) {
        // replace the header with another (possibly bad) one, keeping the data
        const text = rng.pick(headerTexts);
        const major = rng.pick([1, 2, 3]);
        const pre = major === 1 ? 10 : 12;
        bytes = new Uint8Array(pre + text.length + 1 + (seed.length - headerEnd));
        bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
        const dv = new DataView(bytes.buffer);
        if (major === 1) dv.setUint16(8, text.length + 1, true);
        else dv.setUint32(8, text.length + 1, true);
        bytes.set(Buffer.from(`${text}\n`, 'latin1'), pre);
        bytes.set(seed.subarray(headerEnd), pre + text.length + 1);
      } else {
        // a random header length
        bytes = new Uint8Array(seed);
        new DataView(bytes.buffer).setUint16(8, rng.pick([0, 1, 2, 63, 118, 119, 1000, 65535, rng.int(65536)]), true);
        if (rng.next() < 0.3) bytes[6] = rng.pick([0, 2, 3, 4, 255]);
      }
      try {
        const arr = parseNpy(bytes, 'case.npy');
        expect(arr.data.length).toBe(arr.shape.reduce((a, d) => a * d, 1));
        expect(npyToFloat32(arr).length).toBe(arr.data.length);
        accepted++;
      } catch (err) {
        expectOurError(err, 'case.npy', bytes);
        rejected++;
      }
    }
    expect(accepted).toBeGreaterThan(ITERATIONS / 50);
    expect(rejected).toBeGreaterThan(ITERATIONS / 2);
  });
});
