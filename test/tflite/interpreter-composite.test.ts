// STABLEHLO_COMPOSITE: the decomposition subgraph runs when there is no
// fast path; odml.group_norm and odml.scaled_dot_product_attention run the
// fused reference kernels, which agree with their decompositions.
import * as flexbuffers from 'flatbuffers/js/flexbuffers.js';
import { describe, expect, it } from 'vitest';
import { attention } from '../../src/kernels/reference/attention.js';
import { groupNorm } from '../../src/kernels/reference/group-norm.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';
import { relativeError } from '../support/f64-reference-ops.js';
import { addAttention, addGroupNorm } from './interpreter-graphs.js';
import { bytesOf, random } from './ops-harness.js';

const attrs = (o: Record<string, unknown>) => flexbuffers.encode(o);

/** The main graph's input has dynamic spatial dims (static shape = `shape`); the decomposition is static, as converters write it. */
function groupNormComposite(name: string, shape: [number, number, number, number], groups: number, eps: number, gamma: Float32Array, beta: Float32Array) {
  const m = new TfliteModelBuilder();
  const c = shape[3];
  const x = m.main.addInput('x', 'FLOAT32', [shape[0], -1, -1, c]);
  const g = m.main.addConstant('gamma', 'FLOAT32', [c], bytesOf(gamma));
  const b = m.main.addConstant('beta', 'FLOAT32', [c], bytesOf(beta));
  const y = m.main.addTensor('y', 'FLOAT32', shape);
  const dec = m.addSubgraph('group_norm_impl');
  const dx = dec.addInput('dx', 'FLOAT32', shape);
  const dg = dec.addInput('dg', 'FLOAT32', [c]);
  const db = dec.addInput('db', 'FLOAT32', [c]);
  dec.markOutput(addGroupNorm(dec, dx, dg, db, shape, groups, eps));
  m.main.addOperator('STABLEHLO_COMPOSITE', [x, g, b], [y], {
    name, decompositionSubgraphIndex: dec.index, compositeAttributes: attrs({ num_groups: groups, epsilon: eps, channel_axis: 3 }),
  });
  m.main.markOutput(y);
  m.addSignature('gn', { x }, { y });
  return m.toBuffer();
}

describe('odml.group_norm', () => {
  const gamma = random(6, 3, 0.5, 1.5);
  const beta = random(6, 4);
  const file = groupNormComposite('odml.group_norm', [2, 5, 3, 6], 3, 1e-5, gamma, beta);

  it('runs the fused kernel, which matches the decomposition', () => {
    const x = random(2 * 5 * 3 * 6, 5, -2, 3);
    const runner = Interpreter.load(file).getSignatureRunner();
    runner.resizeInput('x', [2, 5, 3, 6]);
    const fast = runner.invoke({ x }).y!;
    const want = groupNorm({ data: x, shape: [2, 5, 3, 6] }, { data: gamma, shape: [6] }, { data: beta, shape: [6] }, { groups: 3, eps: 1e-5 });
    expect(fast.data).toEqual(want.data);
    const slowRunner = Interpreter.load(file, { compositeFastPaths: false }).getSignatureRunner();
    slowRunner.resizeInput('x', [2, 5, 3, 6]);
    const slow = slowRunner.invoke({ x }).y!;
    expect(relativeError(slow.data as Float32Array, want.data)).toBeLessThan(1e-5);
  });

  it('resizes through the composite; a static decomposition says where it cannot follow', () => {
    const runner = Interpreter.load(file).getSignatureRunner();
    runner.resizeInput('x', [2, 4, 7, 6]);
    const x = random(2 * 4 * 7 * 6, 6);
    const out = runner.invoke({ x }).y!;
    const want = groupNorm({ data: x, shape: [2, 4, 7, 6] }, { data: gamma, shape: [6] }, { data: beta, shape: [6] }, { groups: 3, eps: 1e-5 });
    expect(out.shape).toEqual([2, 4, 7, 6]);
    expect(out.data).toEqual(want.data);
    const slow = Interpreter.load(file, { compositeFastPaths: false }).getSignatureRunner();
    slow.resizeInput('x', [2, 4, 7, 6]);
    // The decomposition is fused into FUSED_GROUP_NORM, which falls back to its original ops for shapes it cannot take.
    expect(() => slow.invoke({ x })).toThrow(/operator 0 \(STABLEHLO_COMPOSITE\): subgraph 1 .*operator 0 \(RESHAPE\), run unfused: .*cannot reshape 336 elements/);
  });

  it('runs the decomposition of a composite it does not know', () => {
    const other = groupNormComposite('acme.my_norm', [1, 2, 2, 6], 2, 1e-3, gamma, beta);
    const x = random(24, 7);
    const runner = Interpreter.load(other).getSignatureRunner();
    runner.resizeInput('x', [1, 2, 2, 6]);
    const want = groupNorm({ data: x, shape: [1, 2, 2, 6] }, { data: gamma, shape: [6] }, { data: beta, shape: [6] }, { groups: 2, eps: 1e-3 });
    expect(relativeError(runner.invoke({ x }).y!.data as Float32Array, want.data)).toBeLessThan(1e-5);
  });
});

describe('odml.scaled_dot_product_attention', () => {
  const dims = { b: 2, t: 5, s: 7, n: 3, h: 4 };
  const scale = 0.37;

  function model(withMask: boolean): Uint8Array {
    const m = new TfliteModelBuilder();
    const { b, t, s, n, h } = dims;
    const q = m.main.addInput('q', 'FLOAT32', [b, t, n, h]);
    const k = m.main.addInput('k', 'FLOAT32', [b, s, n, h]);
    const v = m.main.addInput('v', 'FLOAT32', [b, s, n, h]);
    const mask = withMask ? m.main.addInput('mask', 'FLOAT32', [b, 1, t, s]) : undefined;
    const y = m.main.addTensor('y', 'FLOAT32', [b, t, n, h]);
    const dec = m.addSubgraph('sdpa_impl');
    const dq = dec.addInput('dq', 'FLOAT32', [b, t, n, h]);
    const dk = dec.addInput('dk', 'FLOAT32', [b, s, n, h]);
    const dv = dec.addInput('dv', 'FLOAT32', [b, s, n, h]);
    const dm = withMask ? dec.addInput('dm', 'FLOAT32', [b, 1, t, s]) : undefined;
    dec.markOutput(addAttention(dec, dq, dk, dv, dm, dims, scale));
    const ins = mask === undefined ? [q, k, v] : [q, k, v, mask];
    m.main.addOperator('STABLEHLO_COMPOSITE', ins, [y], {
      name: 'odml.scaled_dot_product_attention', decompositionSubgraphIndex: dec.index, compositeAttributes: attrs({ scale }),
    });
    m.main.markOutput(y);
    return m.toBuffer();
  }

  const { b, t, s, n, h } = dims;
  const q = random(b * t * n * h, 10);
  const k = random(b * s * n * h, 11);
  const v = random(b * s * n * h, 12);
  const mask = Float32Array.from(random(b * t * s, 13), (x) => (x > 0.6 ? -Infinity : x));

  it('with a mask: fused kernel equals the reference and the decomposition', () => {
    const fast = Interpreter.load(model(true)).getSignatureRunner().invoke({ q, k, v, mask }).y!;
    const want = attention({ data: q, shape: [b, t, n, h] }, { data: k, shape: [b, s, n, h] }, { data: v, shape: [b, s, n, h] }, {
      scale, mask: { data: mask, shape: [b, 1, t, s] },
    });
    expect(fast.data).toEqual(want.data);
    const slow = Interpreter.load(model(true), { compositeFastPaths: false }).getSignatureRunner().invoke({ q, k, v, mask }).y!;
    expect(relativeError(slow.data as Float32Array, want.data)).toBeLessThan(1e-5);
  });

  it('without a mask the composite is causal (ai-edge-torch: is_causal = mask is None)', () => {
    const fast = Interpreter.load(model(false)).getSignatureRunner().invoke({ q, k, v }).y!;
    const causal = attention({ data: q, shape: [b, t, n, h] }, { data: k, shape: [b, s, n, h] }, { data: v, shape: [b, s, n, h] }, { scale, causal: true });
    expect(fast.data).toEqual(causal.data);
  });
});
