// How the pipeline opens its files on one kernel runtime (WasmModelLoader):
// one activation region for all of them, a resident-weight budget by
// precision, given to the layers that run most often per image.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import {
  FP16_RESIDENT_WEIGHT_BYTES, FP32_RESIDENT_WEIGHT_BYTES, INT8_RESIDENT_WEIGHT_BYTES, WasmModelLoader,
} from '../../src/pipeline/tflite-components.js';
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

type Precision = 'float32' | 'float16' | 'int8';

/** x [-1, d] -> FC -> y with FLOAT32, FLOAT16 (DEQUANTIZE) or per-channel INT8 weights. */
function fcFile(name: string, d: number, p: Precision): string {
  const m = new TfliteModelBuilder();
  const g = m.main;
  const x = g.addInput('x', 'FLOAT32', [-1, d]);
  const w = random(d * d, 3, -0.1, 0.1);
  let wi: number;
  if (p === 'int8') {
    wi = g.addConstant('w', 'INT8', [d, d], bytesOf(Int8Array.from(w, (v) => Math.round(v * 1270))), { quantization: { scale: new Array(d).fill(1 / 1270), quantizedDimension: 0 } });
  } else if (p === 'float16') {
    const w16 = g.addConstant('w16', 'FLOAT16', [d, d], bytesOf(new Uint16Array(d * d).fill(0x2c00))); // 1/16
    wi = g.addTensor('w', 'FLOAT32', [d, d]);
    g.addOperator('DEQUANTIZE', [w16], [wi]);
  } else {
    wi = g.addConstant('w', 'FLOAT32', [d, d], bytesOf(w));
  }
  const y = g.addTensor('y', 'FLOAT32', [-1, d]);
  g.addOperator('FULLY_CONNECTED', [x, wi], [y]);
  g.markOutput(y);
  const path = join(dir, name);
  writeFileSync(path, m.toBuffer());
  return path;
}

/** y = W x for fcFile's float32 weights, in float64. */
function fcReference(d: number, x: Float32Array): Float64Array {
  const w = random(d * d, 3, -0.1, 0.1);
  return Float64Array.from({ length: d }, (_, n) => w.subarray(n * d, n * d + d).reduce((a, v, k) => a + v * x[k]!, 0));
}

describe('WasmModelLoader', () => {
  it('sets the budget by the weights\' precision, the smallest of the files loaded', async () => {
    const rt = await runtime();
    const loader = new WasmModelLoader(rt);
    loader.load(fcFile('f32.tflite', 64, 'float32'));
    expect(rt.arena.residentWeightBudget).toBe(FP32_RESIDENT_WEIGHT_BYTES);
    loader.load(fcFile('f16.tflite', 64, 'float16'));
    expect(rt.arena.residentWeightBudget).toBe(FP16_RESIDENT_WEIGHT_BYTES);
    loader.load(fcFile('int8.tflite', 64, 'int8'));
    expect(rt.arena.residentWeightBudget).toBe(INT8_RESIDENT_WEIGHT_BYTES);
    loader.close();
    expect(INT8_RESIDENT_WEIGHT_BYTES).toBeLessThan(FP16_RESIDENT_WEIGHT_BYTES);
    expect(FP16_RESIDENT_WEIGHT_BYTES).toBeLessThan(FP32_RESIDENT_WEIGHT_BYTES);

    const fp16 = new WasmModelLoader(await runtime());
    fp16.load(fcFile('f16b.tflite', 64, 'float16'));
    expect(runtimes.at(-1)!.arena.residentWeightBudget).toBe(FP16_RESIDENT_WEIGHT_BYTES);
    fp16.close();

    const given = new WasmModelLoader(await runtime(), {}, 1 << 20);
    given.load(fcFile('int8b.tflite', 64, 'int8'));
    expect(runtimes.at(-1)!.arena.residentWeightBudget).toBe(1 << 20);
    given.close();
  });

  it('gives the budget to the UNet\'s layers, which run once per step, though the text encoder is prepared first', async () => {
    const d = 64;
    const panels = d * d * 4;
    mkdirSync(join(dir, 'priority'));
    const rt = await runtime();
    const loader = new WasmModelLoader(rt, {}, panels); // room for one of the two layers
    const clip = loader.load(fcFile('priority/clip.tflite', d, 'float32')).getSignatureRunner();
    const unet = loader.load(fcFile('priority/diffusion.tflite', d, 'float32')).getSignatureRunner();
    for (const r of [clip, unet]) r.resizeInput('x', [1, d]);
    clip.outputDetails();
    expect(rt.arena.residentWeightBytes).toBe(0); // streamed: the budget is the UNet's
    unet.outputDetails();
    expect(rt.arena.residentWeightBytes).toBe(panels);
    const x = random(d, 11);
    const want = fcReference(d, x);
    for (const r of [clip, unet, clip]) {
      const y = r.invoke({ x }).y!.data as Float32Array;
      for (let n = 0; n < d; n++) expect(y[n]).toBeCloseTo(want[n]!, 4);
    }
    loader.close();
  });

  it('plans the GEMM weight slot for the largest layer at load: layers prepared smallest first leave no smaller slot behind', async () => {
    const rt = await runtime();
    const loader = new WasmModelLoader(rt, {}, 0); // every weight streamed through the slot
    const small = loader.load(fcFile('s.tflite', 16, 'float32')).getSignatureRunner();
    const big = loader.load(fcFile('l.tflite', 256, 'float32')).getSignatureRunner();
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
    const a = loader.load(fcFile('a.tflite', 32, 'float32')).getSignatureRunner();
    const b = loader.load(fcFile('b.tflite', 48, 'float32')).getSignatureRunner();
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
