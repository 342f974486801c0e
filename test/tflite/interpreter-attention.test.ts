// The attention fast path: FUSED_ATTENTION takes in the head transposes
// around multi-head attention ('BTNH'), keys given as a matmul's right
// operand ([..., H, S]) run on the WebAssembly kernel (keysTransposed), and
// a constant mask of zeros is dropped (fused node and composite); all
// checked against the plain reference attention kernel.
import * as flexbuffers from 'flatbuffers/js/flexbuffers.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attention } from '../../src/kernels/reference/attention.js';
import { createKernelRuntime, type KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import type { AttentionState } from '../../src/tflite/interpreter/fusion/attention.js';
import { fusedState } from '../../src/tflite/interpreter/fusion/fused-op.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import type { SignatureRunner } from '../../src/tflite/interpreter/signature-runner.js';
import { wasmInterpreterOptions } from '../../src/tflite/ops/wasm/index.js';
import { TfliteModelBuilder, type SubgraphBuilder } from '../../src/tflite/writer.js';
import { relativeError } from '../support/f64-reference-ops.js';
import { bytesOf, random } from './ops-harness.js';

let runtime: KernelRuntime;
beforeAll(async () => {
  runtime = await createKernelRuntime({ threads: 2, variant: 'simd' });
});
afterAll(async () => {
  await runtime?.close();
});

const [b, t, s, n, h, hv] = [2, 5, 7, 3, 4, 6];
const q = random(b * t * n * h, 1);
const k = random(b * s * n * h, 2);
const v = random(b * s * n * hv, 3);
const maskValues = Float32Array.from(random(t * s, 4), (m) => (m > 0.6 ? -1e9 : m));
const scale = 0.3;

let names = 0;
const i32 = (g: SubgraphBuilder, ...x: number[]) => g.addConstant(`i32_${names++}`, 'INT32', [x.length], bytesOf(Int32Array.from(x)));
const f32 = (g: SubgraphBuilder, shape: number[]) => g.addTensor(`t${names++}`, 'FLOAT32', shape);

type MaskKind = 'none' | 'input' | 'zeros' | 'constant';

interface GraphOptions {
  mask: MaskKind;
  /** K to heads-first as [B, N, H, S] (perm 0,2,3,1) and the product without adj_y. */
  keysColumns?: boolean;
  /** V's head transpose is also a graph output (so it must stay). */
  exposeV?: boolean;
}

/** Multi-head attention on BTNH q/k/v as our converter writes it: head transposes, Q * scale, QK^T, (+ mask), SOFTMAX, times V, transpose back. */
function mhaModel(o: GraphOptions): Uint8Array {
  const m = new TfliteModelBuilder();
  const g = m.main;
  const qi = g.addInput('q', 'FLOAT32', [b, t, n, h]);
  const ki = g.addInput('k', 'FLOAT32', [b, s, n, h]);
  const vi = g.addInput('v', 'FLOAT32', [b, s, n, hv]);
  const heads = (x: number, shape: number[], perm = [0, 2, 1, 3]) => {
    const y = f32(g, shape);
    g.addOperator('TRANSPOSE', [x, i32(g, ...perm)], [y]);
    return y;
  };
  const qh = heads(qi, [b, n, t, h]);
  const kh = o.keysColumns ? heads(ki, [b, n, h, s], [0, 2, 3, 1]) : heads(ki, [b, n, s, h]);
  const vh = heads(vi, [b, n, s, hv]);
  const qs = f32(g, [b, n, t, h]);
  g.addOperator('MUL', [qh, g.addConstant('scale', 'FLOAT32', [], bytesOf(Float32Array.of(scale)))], [qs]);
  let logits = f32(g, [b, n, t, s]);
  g.addOperator('BATCH_MATMUL', [qs, kh], [logits], { adjY: !o.keysColumns });
  if (o.mask !== 'none') {
    const mask = o.mask === 'input'
      ? g.addInput('mask', 'FLOAT32', [1, 1, t, s])
      : g.addConstant('mask', 'FLOAT32', [1, 1, t, s], bytesOf(o.mask === 'zeros' ? new Float32Array(t * s) : maskValues));
    const masked = f32(g, [b, n, t, s]);
    g.addOperator('ADD', [logits, mask], [masked]);
    logits = masked;
  }
  const p = f32(g, [b, n, t, s]);
  g.addOperator('SOFTMAX', [logits], [p], { beta: 1 });
  const oh = f32(g, [b, n, t, hv]);
  g.addOperator('BATCH_MATMUL', [p, vh], [oh]);
  const y = f32(g, [b, t, n, hv]);
  g.addOperator('TRANSPOSE', [oh, i32(g, 0, 2, 1, 3)], [y]);
  if (o.exposeV) g.markOutput(y, vh);
  else g.markOutput(y);
  m.addSignature('attn', o.mask === 'input' ? { q: qi, k: ki, v: vi, mask: g.inputs.at(-1)! } : { q: qi, k: ki, v: vi }, o.exposeV ? { y, vh } : { y });
  return m.toBuffer();
}

const reference = (mask: boolean) =>
  attention({ data: q, shape: [b, t, n, h] }, { data: k, shape: [b, s, n, h] }, { data: v, shape: [b, s, n, hv] }, {
    scale, mask: mask ? { data: maskValues, shape: [1, 1, t, s] } : null,
  }).data;

function load(bytes: Uint8Array, wasm = true): { runner: SignatureRunner; wasmRun: unknown } {
  const options = wasmInterpreterOptions(runtime);
  const runner = Interpreter.load(bytes, wasm ? options : {}).getSignatureRunner();
  return { runner, wasmRun: options.kernels.FUSED_ATTENTION!.run };
}

const attentionStep = (runner: SignatureRunner) => runner.executor.steps.find((st) => st.node.op === 'FUSED_ATTENTION')!;

describe('FUSED_ATTENTION with the head transposes taken in', () => {
  it.each<[MaskKind, boolean]>([['none', false], ['input', true], ['constant', true], ['zeros', false]])('mask %s: one step on the WebAssembly kernel', (mask, masked) => {
    const { runner, wasmRun } = load(mhaModel({ mask }));
    const out = runner.invoke(mask === 'input' ? { q, k, v, mask: maskValues } : { q, k, v }).y!;
    expect(runner.executor.steps.map((st) => st.node.op)).toEqual(['FUSED_ATTENTION']);
    const step = attentionStep(runner);
    expect(step.run).toBe(wasmRun);
    expect(fusedState<AttentionState>(step.node).kernel).toMatchObject({ layout: 'BTNH', zeroMask: mask === 'zeros' });
    expect(out.shape).toEqual([b, t, n, hv]);
    expect(relativeError(out.data as Float32Array, reference(masked))).toBeLessThan(1e-6);
  });

  it('on the reference kernels too (the scale on Q moves onto the scores: rounding only)', () => {
    const { runner } = load(mhaModel({ mask: 'input' }), false);
    expect(runner.executor.steps.map((st) => st.node.op)).toEqual(['FUSED_ATTENTION']);
    expect(relativeError(runner.invoke({ q, k, v, mask: maskValues }).y!.data as Float32Array, reference(true))).toBeLessThan(1e-6);
  });

  it('takes keys transposed to [B, N, H, S] (product without adj_y)', () => {
    const { runner, wasmRun } = load(mhaModel({ mask: 'none', keysColumns: true }));
    const out = runner.invoke({ q, k, v }).y!;
    expect(runner.executor.steps.map((st) => st.node.op)).toEqual(['FUSED_ATTENTION']);
    expect(attentionStep(runner).run).toBe(wasmRun);
    expect(relativeError(out.data as Float32Array, reference(false))).toBeLessThan(1e-6);
  });

  it('leaves the transposes when one of them is seen outside', () => {
    const { runner, wasmRun } = load(mhaModel({ mask: 'none', exposeV: true }));
    const out = runner.invoke({ q, k, v });
    expect(runner.executor.steps.map((st) => st.node.op)).toEqual(['TRANSPOSE', 'TRANSPOSE', 'TRANSPOSE', 'FUSED_ATTENTION', 'TRANSPOSE']);
    expect(fusedState<AttentionState>(attentionStep(runner).node).kernel.layout).toBe('BNTH');
    expect(attentionStep(runner).run).toBe(wasmRun);
    expect(relativeError(out.y!.data as Float32Array, reference(false))).toBeLessThan(1e-6);
  });

  it('a mask of zeros is not copied into kernel memory', () => {
    // Same graph with a nonzero constant mask and with zeros: only the former costs the mask's bytes in the arena.
    const grown = (mask: MaskKind) => {
      const before = runtime.arena.top;
      const { runner } = load(mhaModel({ mask }));
      runner.invoke({ q, k, v });
      return runtime.arena.top - before;
    };
    expect(grown('constant') - grown('zeros')).toBeGreaterThanOrEqual(t * s * 4);
  });
});

describe('FUSED_ATTENTION with keys as a matmul right operand [..., H, S]', () => {
  it('runs on the WebAssembly kernel (keysTransposed), no transpose', () => {
    const [bb, tt, ss, hh, vv] = [3, 9, 11, 5, 4];
    const qd = random(bb * tt * hh, 20);
    const kd = random(bb * hh * ss, 21);
    const vd = random(bb * ss * vv, 22);
    const m = new TfliteModelBuilder();
    const g = m.main;
    const qi = g.addInput('q', 'FLOAT32', [bb, tt, hh]);
    const ki = g.addInput('k', 'FLOAT32', [bb, hh, ss]);
    const vi = g.addInput('v', 'FLOAT32', [bb, ss, vv]);
    const scores = f32(g, [bb, tt, ss]);
    g.addOperator('BATCH_MATMUL', [qi, ki], [scores]);
    const logits = f32(g, [bb, tt, ss]);
    g.addOperator('DIV', [scores, g.addConstant('d', 'FLOAT32', [], bytesOf(Float32Array.of(2)))], [logits]);
    const p = f32(g, [bb, tt, ss]);
    g.addOperator('SOFTMAX', [logits], [p], { beta: 1 });
    const o = f32(g, [bb, tt, vv]);
    g.addOperator('BATCH_MATMUL', [p, vi], [o]);
    g.markOutput(o);
    m.addSignature('attn', { q: qi, k: ki, v: vi }, { o });
    const { runner, wasmRun } = load(m.toBuffer());
    const out = runner.invoke({ q: qd, k: kd, v: vd }).o!;
    expect(runner.executor.steps.map((st) => st.node.op)).toEqual(['FUSED_ATTENTION']);
    expect(attentionStep(runner).run).toBe(wasmRun);
    // Reference: K [B, H, S] -> [B, S, 1, H] by hand.
    const kRows = new Float32Array(kd.length);
    for (let i = 0; i < bb; i++) for (let j = 0; j < hh; j++) for (let x = 0; x < ss; x++) kRows[(i * ss + x) * hh + j] = kd[(i * hh + j) * ss + x]!;
    const want = attention({ data: qd, shape: [bb, tt, 1, hh] }, { data: kRows, shape: [bb, ss, 1, hh] }, { data: vd, shape: [bb, ss, 1, vv] }, { scale: 0.5 });
    expect(out.shape).toEqual([bb, tt, vv]);
    expect(relativeError(out.data as Float32Array, want.data)).toBeLessThan(1e-6);
  });
});

describe('odml.scaled_dot_product_attention with a constant mask of zeros', () => {
  it('runs unmasked and not causal on the WebAssembly kernel, as the reference fast path', () => {
    const m = new TfliteModelBuilder();
    const g = m.main;
    const qi = g.addInput('q', 'FLOAT32', [b, t, n, h]);
    const ki = g.addInput('k', 'FLOAT32', [b, s, n, h]);
    const vi = g.addInput('v', 'FLOAT32', [b, s, n, hv]);
    const zeros = g.addConstant('zeros', 'FLOAT32', [1, 1, t, s], bytesOf(new Float32Array(t * s)));
    const y = f32(g, [b, t, n, hv]);
    const dec = m.addSubgraph('sdpa_impl');
    const dq = dec.addInput('dq', 'FLOAT32', [b, t, n, h]);
    dec.markOutput(dq); // never run: the fast path takes the composite
    g.addOperator('STABLEHLO_COMPOSITE', [qi, ki, vi, zeros], [y], {
      name: 'odml.scaled_dot_product_attention', decompositionSubgraphIndex: dec.index, compositeAttributes: flexbuffers.encode({ scale }),
    });
    g.markOutput(y);
    m.addSignature('attn', { q: qi, k: ki, v: vi }, { y });
    const bytes = m.toBuffer();
    const fast = load(bytes).runner.invoke({ q, k, v }).y!;
    expect(relativeError(fast.data as Float32Array, reference(false))).toBeLessThan(1e-6);
    expect(load(bytes, false).runner.invoke({ q, k, v }).y!.data).toEqual(reference(false));
  });
});
