// Fusion: builtin-op layer norm, group norm, tanh GELU and attention become
// one fused step each, giving the reference kernels' numbers and agreeing
// with the unfused graph; regions whose intermediates are seen elsewhere
// stay unfused; shapes a fused kernel cannot take run the original ops.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { gelu } from '../../src/kernels/reference/activation.js';
import { attention } from '../../src/kernels/reference/attention.js';
import { groupNorm } from '../../src/kernels/reference/group-norm.js';
import { layerNorm } from '../../src/kernels/reference/layer-norm.js';
import type { TypedArray } from '../../src/kernels/reference/typed-tensor.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { TfliteModelBuilder, type SubgraphBuilder } from '../../src/tflite/writer.js';
import { relativeError } from '../support/f64-reference-ops.js';
import { addAttention, addGroupNorm, addGroupNormChannelStats, addLayerNorm, addTanhGelu } from './interpreter-graphs.js';
import { bytesOf, random, size } from './ops-harness.js';

/** Builds a model with `build` (which adds inputs and returns outputs) and runs it fused and unfused. */
function both(build: (g: SubgraphBuilder) => number[], feeds: Record<string, TypedArray>) {
  const m = new TfliteModelBuilder();
  m.main.markOutput(...build(m.main));
  const bytes = m.toBuffer();
  const fusedRunner = Interpreter.load(bytes).getSignatureRunner();
  const plainRunner = Interpreter.load(bytes, { fusion: false }).getSignatureRunner();
  const fused = fusedRunner.invoke(feeds);
  const plain = plainRunner.invoke(feeds);
  const name = fusedRunner.outputNames[0]!;
  return {
    ops: fusedRunner.executor.steps.map((s) => s.node.op),
    fused: fused[name]!.data as Float32Array,
    plain: plain[name]!.data as Float32Array,
    shape: fused[name]!.shape,
  };
}

const constant = (g: SubgraphBuilder, name: string, data: Float32Array) => g.addConstant(name, 'FLOAT32', [data.length], bytesOf(data));

describe('layer norm', () => {
  const shape = [2, 3, 7];
  const x = random(size(shape), 1, -2, 3);
  const gamma = random(7, 2, 0.5, 1.5);
  const beta = random(7, 3);

  it.each([true, false])('fuses (affine %s) and matches the reference and the unfused graph', (affine) => {
    const r = both((g) => {
      const xi = g.addInput('x', 'FLOAT32', shape);
      const y = affine ? addLayerNorm(g, xi, constant(g, 'g', gamma), constant(g, 'b', beta), shape, 1e-5) : addLayerNorm(g, xi, undefined, undefined, shape, 1e-5);
      return [y];
    }, { x });
    expect(r.ops).toEqual(['FUSED_LAYER_NORM']);
    const want = layerNorm({ data: x, shape }, affine ? { data: gamma, shape: [7] } : null, affine ? { data: beta, shape: [7] } : null, 1e-5);
    expect(r.fused).toEqual(want.data);
    expect(relativeError(r.plain, want.data)).toBeLessThan(1e-5);
  });

  it('stays unfused when an intermediate is also a graph output', () => {
    const r = both((g) => {
      const xi = g.addInput('x', 'FLOAT32', shape);
      const [gi, bi] = [constant(g, 'g', gamma), constant(g, 'b', beta)];
      const first = g.operators.length;
      const y = addLayerNorm(g, xi, gi, bi, shape, 1e-5);
      return [y, g.operators[first]!.outputs[0]!]; // the MEAN output, now seen outside the region
    }, { x });
    expect(r.ops).not.toContain('FUSED_LAYER_NORM');
    expect(r.fused).toEqual(r.plain);
  });
});

describe('group norm', () => {
  it('fuses the reshape / mean / rsqrt form and matches the reference', () => {
    const shape: [number, number, number, number] = [2, 5, 3, 6];
    const x = random(size(shape), 4, -1, 2);
    const gamma = random(6, 5, 0.5, 1.5);
    const beta = random(6, 6);
    const r = both((g) => [addGroupNorm(g, g.addInput('x', 'FLOAT32', shape), constant(g, 'g', gamma), constant(g, 'b', beta), shape, 3, 1e-5)], { x });
    expect(r.ops).toEqual(['FUSED_GROUP_NORM']);
    const want = groupNorm({ data: x, shape }, { data: gamma, shape: [6] }, { data: beta, shape: [6] }, { groups: 3, eps: 1e-5 });
    expect(r.fused).toEqual(want.data);
    expect(relativeError(r.plain, want.data)).toBeLessThan(1e-5);
  });
});

describe('group norm from channel statistics (our converter), with SiLU', () => {
  const shape: [number, number, number, number] = [2, 3, 5, 8];
  const x = random(size(shape), 8, -1, 3);
  const gamma = random(8, 9, 0.5, 1.5);
  const beta = random(8, 10);

  it.each([false, true])('silu %s: one FUSED_GROUP_NORM matching the reference', (silu) => {
    const r = both((g) => [addGroupNormChannelStats(g, g.addInput('x', 'FLOAT32', shape), constant(g, 'g', gamma), constant(g, 'b', beta), shape, 4, 1e-6, silu)], { x });
    expect(r.ops).toEqual(['FUSED_GROUP_NORM']);
    const want = groupNorm({ data: x, shape }, { data: gamma, shape: [8] }, { data: beta, shape: [8] }, { groups: 4, eps: 1e-6, silu });
    expect(r.fused).toEqual(want.data);
    expect(relativeError(r.plain, want.data)).toBeLessThan(1e-5);
  });

  it('leaves the SiLU out when the norm output is also read elsewhere', () => {
    const r = both((g) => {
      const y = addGroupNormChannelStats(g, g.addInput('x', 'FLOAT32', shape), constant(g, 'g', gamma), constant(g, 'b', beta), shape, 4, 1e-6, true);
      const normOut = g.operators[g.operators.length - 2]!.inputs[0]!; // LOGISTIC's input: the norm's output
      return [y, normOut];
    }, { x });
    expect(r.ops).toEqual(['FUSED_GROUP_NORM', 'LOGISTIC', 'MUL']);
    expect(relativeError(r.fused, r.plain)).toBeLessThan(1e-5);
  });
});

describe('GELU (tanh form)', () => {
  it('fuses and matches GELU approximate', () => {
    const shape = [3, 11];
    const x = random(size(shape), 7, -4, 4);
    const r = both((g) => [addTanhGelu(g, g.addInput('x', 'FLOAT32', shape), shape)], { x });
    expect(r.ops).toEqual(['FUSED_GELU']);
    expect(r.fused).toEqual(gelu({ data: x, shape }, true).data);
    expect(relativeError(r.plain, r.fused)).toBeLessThan(1e-5);
  });

  it('is found in the corpus feed-forward block (jax-converted)', () => {
    const file = fileURLToPath(new URL('../fixtures/tflite-corpus/models/ff_block_float.tflite', import.meta.url));
    const ops = Interpreter.load(file).getSignatureRunner().executor.steps.map((s) => s.node.op);
    expect(ops).toEqual(['BATCH_MATMUL', 'FUSED_GELU', 'BATCH_MATMUL', 'MUL', 'FULLY_CONNECTED']);
  });
});

describe('attention', () => {
  const dims = { b: 2, t: 5, s: 7, n: 3, h: 4 };
  const { b, t, s, n, h } = dims;
  const q = random(b * t * n * h, 10);
  const k = random(b * s * n * h, 11);
  const v = random(b * s * n * h, 12);
  const mask = Float32Array.from(random(b * t * s, 13), (m) => (m > 0.6 ? -1e9 : m));

  it.each([true, false])('BATCH_MATMUL -> MUL -> ADD mask (%s) -> SOFTMAX -> BATCH_MATMUL fuses', (withMask) => {
    const feeds: Record<string, TypedArray> = withMask ? { q, k, v, mask } : { q, k, v };
    const r = both((g) => {
      const qi = g.addInput('q', 'FLOAT32', [b, t, n, h]);
      const ki = g.addInput('k', 'FLOAT32', [b, s, n, h]);
      const vi = g.addInput('v', 'FLOAT32', [b, s, n, h]);
      const mi = withMask ? g.addInput('mask', 'FLOAT32', [b, 1, t, s]) : undefined;
      return [addAttention(g, qi, ki, vi, mi, dims, 0.3)];
    }, feeds);
    expect(r.ops).toEqual(['FUSED_ATTENTION']); // the head transposes are taken in
    const want = attention({ data: q, shape: [b, t, n, h] }, { data: k, shape: [b, s, n, h] }, { data: v, shape: [b, s, n, h] }, {
      scale: 0.3, mask: withMask ? { data: mask, shape: [b, 1, t, s] } : null,
    });
    expect(relativeError(r.fused, want.data)).toBeLessThan(1e-6);
    expect(relativeError(r.plain, want.data)).toBeLessThan(1e-5);
  });

  it('takes in a scale applied to Q before the product (our converter writes q * scale)', () => {
    const r = both((g) => {
      const qi = g.addInput('q', 'FLOAT32', [2, 5, 4]);
      const ki = g.addInput('k', 'FLOAT32', [2, 6, 4]);
      const vi = g.addInput('v', 'FLOAT32', [2, 6, 3]);
      const qs = g.addTensor('qs', 'FLOAT32', [2, 5, 4]);
      g.addOperator('MUL', [qi, g.addConstant('s', 'FLOAT32', [], bytesOf(Float32Array.of(0.5)))], [qs]);
      const scores = g.addTensor('scores', 'FLOAT32', [2, 5, 6]);
      g.addOperator('BATCH_MATMUL', [qs, ki], [scores], { adjY: true });
      const p = g.addTensor('p', 'FLOAT32', [2, 5, 6]);
      g.addOperator('SOFTMAX', [scores], [p], { beta: 1 });
      const o = g.addTensor('o', 'FLOAT32', [2, 5, 3]);
      g.addOperator('BATCH_MATMUL', [p, vi], [o]);
      return [o];
    }, { q: random(40, 30), k: random(48, 31), v: random(36, 32) });
    expect(r.ops).toEqual(['FUSED_ATTENTION']);
    expect(relativeError(r.fused, r.plain)).toBeLessThan(1e-5);
  });

  it('takes keys as [H, S] and a DIV scale; falls back when batch dims broadcast', () => {
    for (const kBatch of [2, 1]) {
      const qd = random(2 * 5 * 4, 20);
      const kd = random(kBatch * 4 * 6, 21);
      const vd = random(kBatch * 6 * 3, 22);
      const r = both((g) => {
        const qi = g.addInput('q', 'FLOAT32', [2, 5, 4]);
        const ki = g.addInput('k', 'FLOAT32', [kBatch, 4, 6]);
        const vi = g.addInput('v', 'FLOAT32', [kBatch, 6, 3]);
        const scores = g.addTensor('scores', 'FLOAT32', [2, 5, 6]);
        g.addOperator('BATCH_MATMUL', [qi, ki], [scores]);
        const logits = g.addTensor('logits', 'FLOAT32', [2, 5, 6]);
        g.addOperator('DIV', [scores, g.addConstant('d', 'FLOAT32', [], bytesOf(Float32Array.of(2)))], [logits]);
        const p = g.addTensor('p', 'FLOAT32', [2, 5, 6]);
        g.addOperator('SOFTMAX', [logits], [p], { beta: 1 });
        const o = g.addTensor('o', 'FLOAT32', [2, 5, 3]);
        g.addOperator('BATCH_MATMUL', [p, vi], [o]);
        return [o];
      }, { q: qd, k: kd, v: vd });
      expect(r.ops).toEqual(['FUSED_ATTENTION']);
      expect(r.shape).toEqual([2, 5, 3]);
      expect(relativeError(r.fused, r.plain)).toBeLessThan(1e-5);
      if (kBatch === 1) expect(r.fused).toEqual(r.plain); // the fallback runs exactly the original ops
    }
  });
});
