// The static memory plan: no two tensors alive at the same time overlap,
// memory is reused after a tensor's last use, RESHAPE aliases its input and
// elementwise ops write in place only into inputs that die there, and graph
// inputs are never written (kept to the end, as TFLite's planner does).
import { describe, expect, it } from 'vitest';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { planMemory, type PlanNode, type PlanTensor } from '../../src/tflite/interpreter/memory-plan.js';
import type { SubgraphExecutor } from '../../src/tflite/interpreter/subgraph-executor.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';
import { random } from './ops-harness.js';

const f32 = (bytes: number, key = `k${bytes}`): PlanTensor => ({ planned: true, bytes, layoutKey: key });

/** Lifetimes recomputed independently: [first write or -1, last read or end]; graph inputs last to the end. */
function lifetimes(tensors: number, nodes: PlanNode[], inputs: number[], outputs: number[]): Array<[number, number] | undefined> {
  const span: Array<[number, number] | undefined> = new Array(tensors).fill(undefined);
  const touch = (t: number, at: number) => {
    if (t < 0) return;
    const s = span[t];
    span[t] = s ? [Math.min(s[0], at), Math.max(s[1], at)] : [at, at];
  };
  inputs.forEach((t) => touch(t, -1));
  nodes.forEach((n, i) => [...n.inputs, ...n.outputs].forEach((t) => touch(t, i)));
  outputs.forEach((t) => touch(t, nodes.length));
  inputs.forEach((t) => touch(t, nodes.length));
  return span;
}

/** Asserts that tensors alive at the same time occupy disjoint bytes, unless the plan shares them on purpose. */
function expectNoLiveOverlap(offsets: number[], bytes: number[], span: Array<[number, number] | undefined>, shared: (a: number, b: number) => boolean) {
  for (let a = 0; a < offsets.length; a++) {
    for (let b = a + 1; b < offsets.length; b++) {
      const sa = span[a];
      const sb = span[b];
      if (!sa || !sb || offsets[a]! < 0 || offsets[b]! < 0 || shared(a, b)) continue;
      const live = sa[0] <= sb[1] && sb[0] <= sa[1];
      const overlap = offsets[a]! < offsets[b]! + bytes[b]! && offsets[b]! < offsets[a]! + bytes[a]!;
      expect(live && overlap, `tensors ${a} and ${b}`).toBe(false);
    }
  }
}

describe('planMemory', () => {
  it('reuses memory along a chain and never overlaps live tensors', () => {
    // g -> 0 -> 1 -> 2 -> 3 -> 4 from graph input g (tensor 5), with 1 also read by the last node.
    const tensors = [f32(400), f32(800), f32(400), f32(800), f32(100), f32(400)];
    const nodes: PlanNode[] = [
      { inputs: [5], outputs: [0] },
      { inputs: [0], outputs: [1] },
      { inputs: [1], outputs: [2] },
      { inputs: [2], outputs: [3] },
      { inputs: [3, 1], outputs: [4] },
    ];
    const plan = planMemory(tensors, nodes, [5], [4]);
    expectNoLiveOverlap(plan.offsets, tensors.map((t) => t.bytes), lifetimes(6, nodes, [5], [4]), () => false);
    // Aligned sizes add up to 3040 bytes; tensor 3 takes the bytes of tensor 0, dead since node 1.
    expect(plan.totalBytes).toBeLessThan(3040);
    expect(plan.offsets[3]).toBe(plan.offsets[0]);
  });

  it('aliases a reshape output with its input', () => {
    const tensors = [f32(256), f32(256, 'other'), f32(256)];
    const nodes: PlanNode[] = [
      { inputs: [0], outputs: [1], inPlace: 'alias' },
      { inputs: [1, 0], outputs: [2] },
    ];
    const plan = planMemory(tensors, nodes, [0], [2]);
    expect(plan.offsets[1]).toBe(plan.offsets[0]);
    expect(plan.offsets[2]).not.toBe(plan.offsets[0]);
  });

  it('writes elementwise results in place only over inputs that die there', () => {
    const tensors = [f32(64), f32(64), f32(64), f32(64), f32(64)];
    const nodes: PlanNode[] = [
      { inputs: [4], outputs: [0], inPlace: 'elementwise' }, // 4 is a graph input: kept, not in place
      { inputs: [0], outputs: [1], inPlace: 'elementwise' }, // 0 dies here: in place
      { inputs: [1], outputs: [2], inPlace: 'elementwise' }, // 1 is read again below: not in place
      { inputs: [2, 1], outputs: [3], inPlace: 'elementwise' },
    ];
    const plan = planMemory(tensors, nodes, [4], [3]);
    expect(plan.offsets[0]).not.toBe(plan.offsets[4]);
    expect(plan.offsets[1]).toBe(plan.offsets[0]);
    expect(plan.offsets[2]).not.toBe(plan.offsets[1]);
    expect([plan.offsets[1], plan.offsets[2]]).toContain(plan.offsets[3]);
  });

  it('does not share bytes between tensors of different layout', () => {
    const tensors = [f32(64, 'FLOAT32[16]'), f32(64, 'INT32[16]')];
    const plan = planMemory(tensors, [{ inputs: [0], outputs: [1], inPlace: 'elementwise' }], [0], [1]);
    expect(plan.offsets[0]).not.toBe(plan.offsets[1]);
  });
});

describe('memory plan of a real graph', () => {
  function buildChain(): { bytes: Uint8Array; x: number } {
    const m = new TfliteModelBuilder();
    const g = m.main;
    const x = g.addInput('x', 'FLOAT32', [2, 9, 5]);
    let prev = x;
    const ops = ['EXP', 'TANH', 'LOGISTIC', 'SIN', 'COS'] as const;
    ops.forEach((op, i) => {
      const y = g.addTensor(`t${i}`, 'FLOAT32', [2, 9, 5]);
      g.addOperator(op, [prev], [y]);
      prev = y;
    });
    const r = g.addTensor('r', 'FLOAT32', [18, 5]);
    g.addOperator('RESHAPE', [prev, g.addConstant('s', 'INT32', [2], new Uint8Array(Int32Array.of(18, 5).buffer))], [r]);
    const sum = g.addTensor('sum', 'FLOAT32', [18, 5]);
    g.addOperator('ADD', [r, g.addConstant('one', 'FLOAT32', [5], new Uint8Array(Float32Array.of(1, 2, 3, 4, 5).buffer))], [sum]);
    g.markOutput(sum);
    return { bytes: m.toBuffer(), x };
  }

  it('runs a chain in one small arena with correct results', () => {
    const { bytes } = buildChain();
    const runner = Interpreter.load(bytes).getSignatureRunner();
    const ex: SubgraphExecutor = runner.executor;
    const x = random(90, 1);
    const out = runner.invoke({ x }).sum!;
    const want = Float32Array.from(x, (v, i) => {
      const chain = Math.cos(Math.fround(Math.sin(Math.fround(1 / (1 + Math.exp(-Math.fround(Math.tanh(Math.fround(Math.exp(v))))))))));
      return Math.fround(chain) + (i % 5) + 1;
    });
    expect(out.data).toEqual(want);
    const plan = ex.memoryPlan!;
    // Everything is elementwise or an alias: the input (kept intact) and one tensor's bytes for all the rest (360 -> 384 aligned each).
    expect(plan.totalBytes).toBe(768);
    expect(x).toEqual(runner.inputTensor('x'));
    const nodes = ex.steps.map((s) => ({ inputs: s.node.inputs.map((t) => t?.index ?? -1), outputs: s.node.outputs.map((t) => t.index) }));
    const span = lifetimes(ex.tensors.length, nodes, ex.inputs.map((t) => t.index), ex.outputs.map((t) => t.index));
    const group = new Map<number, number>();
    plan.groups.forEach((g, gi) => g.members.forEach((m) => group.set(m, gi)));
    expectNoLiveOverlap(plan.offsets, ex.tensors.map((t) => t.size * 4), span, (a, b) => group.get(a) === group.get(b));
  });

  it('keeps graph inputs intact when they are read again later', () => {
    const m = new TfliteModelBuilder();
    const g = m.main;
    const x = g.addInput('x', 'FLOAT32', [7]);
    const a = g.addTensor('a', 'FLOAT32', [7]);
    const b = g.addTensor('b', 'FLOAT32', [7]);
    g.addOperator('EXP', [x], [a]);
    g.addOperator('SUB', [a, x], [b]);
    g.markOutput(b);
    const runner = Interpreter.load(m.toBuffer()).getSignatureRunner();
    const xv = random(7, 2);
    expect(runner.invoke({ x: xv }).b!.data).toEqual(Float32Array.from(xv, (v) => Math.fround(Math.exp(v)) - v));
    expect(runner.executor.memoryPlan!.offsets[a]).not.toBe(runner.executor.memoryPlan!.offsets[x]);
  });
});
