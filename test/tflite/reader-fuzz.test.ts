import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, test } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { modelInfo } from '../../src/tflite/info.js';
import { TfliteFile } from '../../src/tflite/reader.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';
import { mulberry32 } from '../support/random.js';

// Mutated .tflite files must end in a clean parse or a FormatError: never
// another exception, a hang or a huge allocation.

function ownModel(offset: boolean): Uint8Array {
  const m = new TfliteModelBuilder('fuzz');
  const x = m.main.addInput('x', 'FLOAT32', [1, 2, -1]);
  const w = m.main.addConstant('w', 'INT8', [2, 2], new Uint8Array([1, 2, 3, 4]), { quantization: { scale: [0.5, 0.25], quantizedDimension: 0 } });
  const wf = m.main.addTensor('wf', 'FLOAT32', [2, 2]);
  m.main.addOperator('DEQUANTIZE', [w], [wf]);
  const y = m.main.addTensor('y', 'FLOAT32', [1, 2, -1]);
  m.main.addOperator('BATCH_MATMUL', [x, wf], [y], { adjX: true });
  const z = m.main.addTensor('z', 'FLOAT32', [1, 2, -1]);
  m.main.addOperator('STABLEHLO_COMPOSITE', [y], [z], { name: 'c', decompositionSubgraphIndex: 1 });
  m.main.markOutput(z);
  const d = m.addSubgraph('d');
  const di = d.addInput('i', 'FLOAT32', [1, 2, -1]);
  const dz = d.addTensor('o', 'FLOAT32', [1, 2, -1]);
  d.addOperator('GELU', [di], [dz]);
  d.markOutput(dz);
  m.addSignature('run', { x }, { z });
  m.setMinRuntimeVersion('2.17.0');
  return m.toBuffer({ forceOffsetLayout: offset });
}

interface Seed {
  name: string;
  bytes: Uint8Array;
  /** Byte ranges outside constant data, where mutations hit the structure. */
  structure: [number, number][];
}

function seedOf(name: string, bytes: Uint8Array): Seed {
  const data = TfliteFile.fromBytes(bytes, name).model.buffers.filter((b) => b.size > 0).map((b) => [b.position, b.position + b.size] as const);
  data.sort((a, b) => a[0] - b[0]);
  const structure: [number, number][] = [];
  let at = 0;
  for (const [start, end] of data) {
    if (start > at) structure.push([at, start]);
    at = Math.max(at, end);
  }
  if (at < bytes.length) structure.push([at, bytes.length]);
  return { name, bytes, structure };
}

function structurePosition(seed: Seed, rand: () => number): number {
  const total = seed.structure.reduce((n, [a, b]) => n + b - a, 0);
  let k = Math.floor(rand() * total);
  for (const [a, b] of seed.structure) {
    if (k < b - a) return a + k;
    k -= b - a;
  }
  return 0;
}

function mutate(seed: Seed, rand: () => number): Uint8Array {
  const kind = Math.floor(rand() * 4);
  const pos = () => (rand() < 0.85 ? structurePosition(seed, rand) : Math.floor(rand() * seed.bytes.length));
  if (kind === 0) return seed.bytes.slice(0, Math.floor(rand() * seed.bytes.length)); // truncation
  const out = seed.bytes.slice();
  const view = new DataView(out.buffer);
  const edits = 1 + Math.floor(rand() * 4);
  for (let e = 0; e < edits; e++) {
    if (kind === 1) {
      out[pos()]! ^= 1 << Math.floor(rand() * 8); // bit flip
    } else if (kind === 2) {
      out[pos()] = Math.floor(rand() * 256); // random byte
    } else {
      const at = pos() & ~3;
      if (at + 4 > out.length) continue;
      const special = [0, 1, 0xffffffff, 0x7fffffff, 0x80000000, out.length, out.length - at, 0xffff, -4 >>> 0];
      const value = rand() < 0.5 ? special[Math.floor(rand() * special.length)]! : Math.floor(rand() * 2 ** 32);
      view.setUint32(at, value, true); // random int32 overwrite
    }
  }
  return out;
}

/** Everything a user of the reader may touch after a successful open. */
function exercise(file: TfliteFile): void {
  modelInfo(file);
  file.model.subgraphs.forEach((sg, s) => sg.tensors.forEach((_, t) => file.constantBytes(s, t)));
  file.minRuntimeVersion();
}

const CORPUS = 'test/fixtures/tflite-corpus/models';
const SMALL_CORPUS = fs.readdirSync(CORPUS).filter((f) => fs.statSync(path.join(CORPUS, f)).size < 300_000);

test('mutated corpus and own files end in a parse or a FormatError', () => {
  const seeds = [
    ...SMALL_CORPUS.map((f) => seedOf(f, new Uint8Array(fs.readFileSync(path.join(CORPUS, f))))),
    seedOf('own-inline.tflite', ownModel(false)),
    seedOf('own-offset.tflite', ownModel(true)),
  ];
  const rand = mulberry32(20260526);
  const outcomes = { parsed: 0, formatError: 0 };
  const started = Date.now();
  const CASES = 4000;
  for (let i = 0; i < CASES; i++) {
    const seed = seeds[i % seeds.length]!;
    const bytes = mutate(seed, rand);
    const name = `${seed.name}#${i}`;
    try {
      exercise(TfliteFile.fromBytes(bytes, name));
      outcomes.parsed++;
    } catch (err) {
      if (!(err instanceof FormatError)) {
        throw new Error(`case ${name}: ${err instanceof Error ? err.stack : String(err)}`);
      }
      expect(err.message.startsWith(`${name}: `)).toBe(true);
      outcomes.formatError++;
    }
  }
  // Both outcomes must occur, or the mutations are not reaching the parser.
  expect(outcomes.parsed).toBeGreaterThan(CASES / 20);
  expect(outcomes.formatError).toBeGreaterThan(CASES / 5);
  expect(Date.now() - started).toBeLessThan(20_000);
});

test('mutated files read lazily through the fd behave the same', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tflite-fuzz-'));
  try {
    const seeds = [seedOf('own-offset.tflite', ownModel(true)), seedOf('tfjs_add4.tflite', new Uint8Array(fs.readFileSync(path.join(CORPUS, 'tfjs_add4.tflite'))))];
    const rand = mulberry32(7);
    const file = path.join(dir, 'm.tflite');
    for (let i = 0; i < 300; i++) {
      const bytes = mutate(seeds[i % seeds.length]!, rand);
      fs.writeFileSync(file, bytes);
      let inMemory: string;
      try {
        inMemory = JSON.stringify(modelInfo(TfliteFile.fromBytes(bytes, file)));
      } catch (err) {
        expect(err).toBeInstanceOf(FormatError);
        inMemory = (err as Error).message;
      }
      let lazy: string;
      try {
        const f = TfliteFile.open(file, { lazy: true });
        exercise(f);
        lazy = JSON.stringify(modelInfo(f));
        f.close();
      } catch (err) {
        expect(err).toBeInstanceOf(FormatError);
        lazy = (err as Error).message;
      }
      expect(lazy).toBe(inMemory);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
