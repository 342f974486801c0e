// How the pipeline opens its files on one kernel runtime (WasmModelLoader):
// one activation region for all of them, and a smaller resident-weight
// budget once an int8 file is loaded.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RESIDENT_WEIGHT_BYTES } from '../../src/kernels/wasm/arena.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { INT8_RESIDENT_WEIGHT_BYTES, WasmModelLoader } from '../../src/pipeline/tflite-components.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';
import { bytesOf, random } from '../tflite/ops-harness.js';

let dir: string;
const runtimes: KernelRuntime[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sd-tflite-loader-'));
});
afterAll(async () => {
  for (const r of runtimes) await r.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function runtime(): Promise<KernelRuntime> {
  const r = await createKernelRuntime({ threads: 1, variant: 'simd' });
  runtimes.push(r);
  return r;
}

/** x [-1, d] -> FC -> y with FLOAT32 or per-channel INT8 weights. */
function fcFile(name: string, d: number, int8: boolean): string {
  const m = new TfliteModelBuilder();
  const g = m.main;
  const x = g.addInput('x', 'FLOAT32', [-1, d]);
  const w = random(d * d, 3, -0.1, 0.1);
  const wi = int8
    ? g.addConstant('w', 'INT8', [d, d], bytesOf(Int8Array.from(w, (v) => Math.round(v * 1270))), { quantization: { scale: new Array(d).fill(1 / 1270), quantizedDimension: 0 } })
    : g.addConstant('w', 'FLOAT32', [d, d], bytesOf(w));
  const y = g.addTensor('y', 'FLOAT32', [-1, d]);
  g.addOperator('FULLY_CONNECTED', [x, wi], [y]);
  g.markOutput(y);
  const path = join(dir, name);
  writeFileSync(path, m.toBuffer());
  return path;
}

describe('WasmModelLoader', () => {
  it('float files keep the arena budget; an int8 file lowers it to INT8_RESIDENT_WEIGHT_BYTES', async () => {
    const rt = await runtime();
    const loader = new WasmModelLoader(rt);
    loader.load(fcFile('f32.tflite', 64, false));
    expect(rt.arena.residentWeightBudget).toBe(DEFAULT_RESIDENT_WEIGHT_BYTES);
    loader.load(fcFile('int8.tflite', 64, true));
    expect(rt.arena.residentWeightBudget).toBe(INT8_RESIDENT_WEIGHT_BYTES);
    loader.close();

    const given = new WasmModelLoader(await runtime(), {}, 1 << 20);
    given.load(fcFile('int8b.tflite', 64, true));
    expect(runtimes.at(-1)!.arena.residentWeightBudget).toBe(1 << 20);
    given.close();
  });

  it('plans the GEMM weight slot for the largest layer at load: layers prepared smallest first leave no smaller slot behind', async () => {
    const rt = await runtime();
    const loader = new WasmModelLoader(rt, {}, 0); // every weight streamed through the slot
    const small = loader.load(fcFile('s.tflite', 16, false)).getSignatureRunner();
    const big = loader.load(fcFile('l.tflite', 256, false)).getSignatureRunner();
    const top = rt.arena.top;
    for (const r of [small, big]) {
      r.resizeInput('x', [1, r === small ? 16 : 256]);
      r.outputDetails();
    }
    const bigSlot = 256 * 256 * 4;
    const grown = rt.arena.top - top;
    expect(grown).toBeGreaterThanOrEqual(bigSlot);
    expect(grown).toBeLessThan(bigSlot + 16 * 16 * 4); // not a small slot and then a big one
    const x = random(256, 9);
    const y = big.invoke({ x }).y!.data as Float32Array;
    const w = random(256 * 256, 3, -0.1, 0.1);
    const want = Float32Array.from({ length: 256 }, (_, n) => w.subarray(n * 256, n * 256 + 256).reduce((a, v, k) => a + v * x[k]!, 0));
    for (let n = 0; n < 256; n++) expect(y[n]).toBeCloseTo(want[n]!, 4);
    loader.close();
  });

  it('the files share one activation region: the bigger plan, not the sum', async () => {
    const rt = await runtime();
    const loader = new WasmModelLoader(rt);
    const a = loader.load(fcFile('a.tflite', 32, false)).getSignatureRunner();
    const b = loader.load(fcFile('b.tflite', 48, false)).getSignatureRunner();
    a.resizeInput('x', [10, 32]);
    b.resizeInput('x', [200, 48]);
    const plans = [a, b].map((r) => {
      r.outputDetails();
      return r.executor.memoryPlan!.totalBytes;
    });
    expect(loader.activationBytes).toBe(Math.max(...plans));
    const x = random(200 * 48, 5);
    const y = b.invoke({ x }).y!.data as Float32Array;
    a.invoke({ x: random(10 * 32, 6) }); // overwrites the region
    expect(b.invoke({ x }).y!.data).toEqual(y);
    loader.close();
  });
});
