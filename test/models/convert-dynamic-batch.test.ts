// diffusion.tflite's dynamic batch: latents and context have shape_signature
// -1 for the batch and default shape 2, so a runtime that does not resize
// sees [2, 4, h, w] as before, and one that does runs the UNet at batch 1
// (sampling without guidance) or more. Checked on tiny-a in our interpreter
// (reference and WebAssembly kernels) and in Google's LiteRT.js, against
// the CompVis goldens and against the same rows run at batch 2.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLiteRt, type LiteRt } from '../../bench/peers/litert.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { buildComponent, checkComponents, type ConvertOptions } from '../../src/models/convert.js';
import type { Target } from '../../src/models/graph/nn.js';
import type { Precision } from '../../src/models/graph/weights.js';
import { fusedState } from '../../src/tflite/interpreter/fusion/fused-op.js';
import { Interpreter, type InterpreterOptions } from '../../src/tflite/interpreter/interpreter.js';
import type { SignatureRunner } from '../../src/tflite/interpreter/signature-runner.js';
import { wasmInterpreterOptions } from '../../src/tflite/ops/wasm/index.js';
import { TfliteFile } from '../../src/tflite/reader.js';
import type { TfliteModelBuilder } from '../../src/tflite/writer.js';
import { relativeError } from '../support/f64-reference-ops.js';
import { golden, openTinyA, relL2Error, rows, tinyAConfig } from './convert-tiny-a.js';

const config = tinyAConfig();
const checkpoint = openTinyA();
const weights = checkComponents(checkpoint, ['diffusion'], config);
const opened: Interpreter[] = [];
let rt: LiteRt | undefined;
let wasm: KernelRuntime | undefined;
afterAll(async () => {
  for (const i of opened) i.close();
  await rt?.close();
  await wasm?.close();
  checkpoint.close();
});

// tiny-a: latents [B, 4, 8, 8], context [B, 77, 32], time embedding [1 or B, 32].
const LATENT = 4 * 8 * 8;
const CONTEXT = 77 * 32;
const TEMB = 32;

function unet(precision: Precision, target: Target = 'cpu', pixels?: number): TfliteModelBuilder {
  const options: ConvertOptions = { config, precision, target, height: pixels, width: pixels };
  return buildComponent('diffusion', weights.get('diffusion')!, options).model;
}

function load(model: TfliteModelBuilder, options: InterpreterOptions = {}): SignatureRunner {
  const interp = Interpreter.load(model.toBuffer(), options);
  opened.push(interp);
  return interp.getSignatureRunner();
}

/** Batch items 0 and 1 of the golden inputs, stacked in the order `items` gives. */
function stack(items: readonly number[], temb: Float32Array): { args_0: Float32Array; args_1: Float32Array; args_2: Float32Array } {
  const pick = (all: Float32Array, size: number, perItem: boolean) => {
    const out = new Float32Array(items.length * size);
    items.forEach((item, i) => out.set(rows(all, size, item), i * size));
    return perItem ? out : all;
  };
  const perItemTemb = temb.length > TEMB;
  return { args_0: pick(golden('unet_in_latent'), LATENT, true), args_1: pick(golden('unet_in_context'), CONTEXT, true), args_2: pick(temb, TEMB, perItemTemb) };
}

/** Runs `items` (indices into the golden batch) as one batch. */
function runItems(r: SignatureRunner, items: readonly number[], temb: Float32Array): Float32Array {
  const feeds = stack(items, temb);
  r.resizeInput('args_0', [items.length, 4, 8, 8]);
  r.resizeInput('args_1', [items.length, 77, 32]);
  r.resizeInput('args_2', [feeds.args_2.length / TEMB, TEMB]);
  const out = r.invoke(feeds).output_0!;
  expect(out.shape).toEqual([items.length, 4, 8, 8]);
  return out.data as Float32Array;
}

/** Fused nodes (group norm, layer norm, attention) by name, and how many of them fell back to the plain ops at the current shapes. */
function fused(r: SignatureRunner): { counts: Record<string, number>; fallbacks: number } {
  const counts: Record<string, number> = {};
  let fallbacks = 0;
  for (const s of r.executor.steps.filter((s) => s.node.op.startsWith('FUSED_'))) {
    counts[s.node.op] = (counts[s.node.op] ?? 0) + 1;
    if (fusedState(s.node).fallback) fallbacks++;
  }
  return { counts, fallbacks };
}

/** Largest |a - b| between row `i` of a and row `j` of b (rows of one latent). */
function rowDiff(a: Float32Array, i: number, b: Float32Array, j: number): number {
  let d = 0;
  for (let k = 0; k < LATENT; k++) d = Math.max(d, Math.abs(a[i * LATENT + k]! - b[j * LATENT + k]!));
  return d;
}

describe('the signature', () => {
  const io = (file: TfliteFile, name: string) => {
    const s = file.model.signatures[0]!;
    const e = [...s.inputs, ...s.outputs].find((x) => x.name === name)!;
    const t = file.model.subgraphs[0]!.tensors[e.tensorIndex]!;
    return { shape: t.shape, signature: t.shapeSignature };
  };

  it('batch -1 in shape_signature, 2 in shape, for both targets', () => {
    const dynamic = TfliteFile.fromBytes(unet('fp32').toBuffer(), 'diffusion');
    expect(io(dynamic, 'args_0')).toEqual({ shape: [2, 4, 1, 1], signature: [-1, 4, -1, -1] });
    expect(io(dynamic, 'args_1')).toEqual({ shape: [2, 77, 32], signature: [-1, 77, 32] });
    expect(io(dynamic, 'args_2')).toEqual({ shape: [1, 32], signature: [-1, 32] });
    expect(io(dynamic, 'output_0')).toEqual({ shape: [2, 4, 1, 1], signature: [-1, 4, -1, -1] });
    const pinned = TfliteFile.fromBytes(unet('fp32', 'cpu', 64).toBuffer(), 'diffusion');
    expect(io(pinned, 'args_0')).toEqual({ shape: [2, 4, 8, 8], signature: [-1, 4, 8, 8] });
    expect(io(pinned, 'output_0')).toEqual({ shape: [2, 4, 8, 8], signature: [-1, 4, 8, 8] });
    // With the spatial sizes known, the batch alone is dynamic: every RESHAPE has one -1, no SHAPE is needed.
    expect(pinned.model.subgraphs[0]!.operators.some((o) => o.opName === 'SHAPE')).toBe(false);
    // The default fills only -1 dimensions, with sizes of at least 1.
    const model = unet('fp32');
    const latents = model.signatures[0]!.inputs[0]![1];
    expect(() => model.main.setDefaultShape(latents, [2, 3, 1, 1])).toThrow(/default shape \[2, 3, 1, 1\] does not fit \[-1, 4, -1, -1\]/);
    expect(() => model.main.setDefaultShape(latents, [0, 4, 1, 1])).toThrow(/does not fit/);
    const gpu = TfliteFile.fromBytes(unet('fp32', 'gpu', 64).toBuffer(), 'diffusion');
    expect(io(gpu, 'args_0')).toEqual({ shape: [2, 4, 8, 8], signature: [-1, 4, 8, 8] });
    expect(io(gpu, 'args_1')).toEqual({ shape: [2, 77, 32], signature: [-1, 77, 32] });
  });
});

describe.each(['fp32', 'fp16', 'int8'] as const)('%s, dynamic sizes, in our interpreter (reference kernels)', (precision) => {
  const r = load(unet(precision));
  const temb = golden('unet_in_temb'); // [1, 32]: t = 999 for every item
  let batch2: Float32Array;

  it('batch 2 gives the golden output', () => {
    batch2 = runItems(r, [0, 1], temb);
    if (precision === 'fp32') expect(relativeError(batch2, golden('unet_out'))).toBeLessThan(1e-4);
    if (precision === 'fp16') expect(relativeError(batch2, golden('unet_out'))).toBeLessThan(1e-2);
    if (precision === 'int8') expect(relL2Error(batch2, golden('unet_out'))).toBeLessThan(5e-2);
  });

  it('batch 1 and batch 3 give each item exactly its batch-2 row', () => {
    for (const item of [0, 1]) expect(rowDiff(runItems(r, [item], temb), 0, batch2, item), `batch 1, item ${item}`).toBe(0);
    // tiny-a's 61 group norms, 48 layer norms and 32 attentions stay fused at batch 1.
    expect(fused(r)).toEqual({ counts: { FUSED_GROUP_NORM: 61, FUSED_LAYER_NORM: 48, FUSED_ATTENTION: 32 }, fallbacks: 0 });
    const three = runItems(r, [1, 0, 1], temb);
    [1, 0, 1].forEach((item, i) => expect(rowDiff(three, i, batch2, item), `batch 3, row ${i}`).toBe(0));
    // And back to 2 after the resizes.
    expect(rowDiff(runItems(r, [0, 1], temb), 1, batch2, 1)).toBe(0);
  });
});

describe('fp32, one timestep per item, in our interpreter', () => {
  it('batch 1 with each item\'s own timestep gives that item\'s golden row', () => {
    const r = load(unet('fp32'));
    const temb = golden('unet_mixed_temb'); // [2, 32]
    const ref = golden('unet_mixed_out');
    for (const item of [0, 1]) {
      const got = runItems(r, [item], rows(temb, TEMB, item) as Float32Array);
      expect(relativeError(got, rows(ref, LATENT, item)), `item ${item}`).toBeLessThan(1e-4);
    }
  });

  it('pinned to 64 x 64 (no SHAPE ops): batch 1 and 3 match batch 2 exactly', () => {
    const r = load(unet('fp32', 'cpu', 64));
    const temb = golden('unet_in_temb');
    const two = runItems(r, [0, 1], temb);
    expect(relativeError(two, golden('unet_out'))).toBeLessThan(1e-4);
    expect(rowDiff(runItems(r, [1], temb), 0, two, 1)).toBe(0);
    const three = runItems(r, [0, 1, 0], temb);
    [0, 1, 0].forEach((item, i) => expect(rowDiff(three, i, two, item), `row ${i}`).toBe(0));
  });
});

describe('--target gpu (pinned to 64 x 64), in our interpreter', () => {
  it.each([true, false])('composite fast paths %s: batch 2 gives the golden output, batch 1 each item', (compositeFastPaths) => {
    const r = load(unet('fp32', 'gpu', 64), { compositeFastPaths });
    const temb = golden('unet_in_temb');
    const two = runItems(r, [0, 1], temb);
    expect(relativeError(two, golden('unet_out'))).toBeLessThan(1e-4);
    for (const item of [0, 1]) expect(rowDiff(runItems(r, [item], temb), 0, two, item), `item ${item}`).toBe(0);
  });
});

describe('WebAssembly kernels', () => {
  beforeAll(async () => {
    wasm = await createKernelRuntime({ threads: 2, variant: 'simd' }); // 2: work split across threads too
  });

  it.each([
    ['fp32', 'cpu'],
    ['fp16', 'cpu'],
    ['int8', 'cpu'],
    ['fp32', 'gpu'],
  ] as const)('%s %s: batch 1 matches the reference kernels and the batch-2 rows', (precision, target) => {
    const model = unet(precision, target, target === 'gpu' ? 64 : undefined); // gpu: composites, static sizes
    const fast = load(model, wasmInterpreterOptions(wasm!));
    const reference = load(model);
    const temb = golden('unet_in_temb');
    const two = runItems(fast, [0, 1], temb);
    for (const item of [0, 1]) {
      const one = runItems(fast, [item], temb);
      const ref = runItems(reference, [item], temb);
      expect(relativeError(one, ref), `item ${item} vs reference kernels`).toBeLessThan(1e-5);
      expect(relativeError(one, rows(two, LATENT, item) as Float32Array), `item ${item} vs batch 2`).toBeLessThan(1e-6);
    }
    if (precision === 'fp32') expect(relativeError(two, golden('unet_out'))).toBeLessThan(1e-4);
  });

  it.each([false, true])('16 x 24 latents, int8 compute %s: batch 1 matches the batch-2 rows (and fp32 the reference kernels)', (int8Compute) => {
    const [h, w] = [16, 24];
    const model = unet(int8Compute ? 'int8' : 'fp32');
    const fast = load(model, wasmInterpreterOptions(wasm!, { int8Compute }));
    const latent = 4 * h * w;
    const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.731 + seed) * 1.3);
    const feeds = { args_0: values(2 * latent, 1), args_1: values(2 * CONTEXT, 2), args_2: golden('unet_in_temb') };
    const run = (r: SignatureRunner, items: readonly number[]) => {
      r.resizeInput('args_0', [items.length, 4, h, w]);
      r.resizeInput('args_1', [items.length, 77, 32]);
      const pick = (all: Float32Array, size: number) => {
        const out = new Float32Array(items.length * size);
        items.forEach((item, i) => out.set(rows(all, size, item), i * size));
        return out;
      };
      return r.invoke({ args_0: pick(feeds.args_0, latent), args_1: pick(feeds.args_1, CONTEXT), args_2: feeds.args_2 }).output_0!.data as Float32Array;
    };
    const two = run(fast, [0, 1]);
    for (const item of [0, 1]) {
      const one = run(fast, [item]);
      expect(relativeError(one, rows(two, latent, item) as Float32Array), `item ${item} vs batch 2`).toBeLessThan(1e-6);
      if (!int8Compute) expect(relativeError(one, run(load(model), [item])), `item ${item} vs reference kernels`).toBeLessThan(1e-5);
    }
  });
});

describe('LiteRT.js (static shapes only: the file is pinned to 64 x 64)', () => {
  beforeAll(async () => {
    rt = await loadLiteRt({ threads: 1 });
  });

  it.each([
    ['fp32', 'cpu'],
    ['fp16', 'cpu'],
    ['int8', 'cpu'],
    ['fp32', 'gpu'],
  ] as const)('%s %s: batch 2 as before, and batch 1 with the default batch set to 1', async (precision, target) => {
    const model = unet(precision, target, 64);
    const { args_0, args_1, args_2 } = stack([0, 1], golden('unet_in_temb'));
    const two = (await (await rt!.loadModel(model.toBuffer())).run([args_0, args_1, args_2])).outputs[0]!;
    expect(two.shape).toEqual([2, 4, 8, 8]);
    const ref = golden('unet_out');
    if (precision === 'fp32') expect(relativeError(two.data, ref)).toBeLessThan(1e-4);
    if (precision === 'fp16') expect(relativeError(two.data, ref)).toBeLessThan(1e-2);
    if (precision === 'int8') expect(relL2Error(two.data, ref)).toBeLessThan(5e-2);
    // LiteRT.js does not resize inputs, so batch 1 is the same graph with 1 written as the default batch.
    const signature = model.signatures[0]!;
    for (const [name, t] of [...signature.inputs, ...signature.outputs]) {
      if (name === 'args_0' || name === 'output_0') model.main.setDefaultShape(t, [1, 4, 8, 8]);
      if (name === 'args_1') model.main.setDefaultShape(t, [1, 77, 32]);
    }
    const batch1 = await rt!.loadModel(model.toBuffer());
    for (const item of [0, 1]) {
      const one = stack([item], golden('unet_in_temb'));
      const got = (await batch1.run([one.args_0, one.args_1, one.args_2])).outputs[0]!;
      expect(got.shape).toEqual([1, 4, 8, 8]);
      expect(relativeError(got.data, rows(two.data as Float32Array, LATENT, item)), `item ${item}`).toBeLessThan(1e-6);
    }
  });
});
