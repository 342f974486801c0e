/**
 * Attention written as builtin ops:
 *
 *   scores = BATCH_MATMUL(Q, K)         Q [..., T, H] (or Q' * scale); K [..., S, H] with adj_y, else [..., H, S]
 *   logits = scores (* scale | / d) (+ mask)     scale a scalar constant; mask broadcasts to [..., T, S]
 *   out    = BATCH_MATMUL(SOFTMAX(logits), V)    V [..., S, Hv]
 *
 * Runs as FUSED_ATTENTION on the reference attention kernel (one head per
 * flattened batch entry), so the [T, S] score matrices of the unfused graph
 * are never stored. Needs equal batch dims on Q, K and V; otherwise (or
 * with softmax beta != 1) the original ops run.
 */
import { attention } from '../../../kernels/reference/attention.js';
import { binary } from '../../../kernels/reference/elementwise.js';
import { broadcastShapes, sizeOf } from '../../../kernels/reference/tensor.js';
import { transpose } from '../../../kernels/reference/transpose.js';
import { input, output, setShape, store } from '../../ops/node-access.js';
import { floatOperand } from '../../ops/shared.js';
import type { RuntimeTensor } from '../runtime-tensor.js';
import type { Step } from '../subgraph-executor.js';
import { bothOrders, noActivation, Region, scalarConstant } from './graph-index.js';
import { fusedStep, type FusedKernel } from './fused-op.js';
import type { FusionPattern } from './pattern.js';

export interface AttentionState {
  scale: number;
  /** K is [..., S, H] (the first BATCH_MATMUL had adj_y) rather than [..., H, S]. */
  keysRowMajor: boolean;
}

function geometry(node: { inputs: readonly (RuntimeTensor | undefined)[] }, s: AttentionState) {
  const [q, k, v] = [0, 1, 2].map((i) => node.inputs[i]!.shape);
  const rank = q!.length;
  if (rank < 2 || k!.length !== rank || v!.length !== rank) return undefined;
  const batch = q!.slice(0, -2);
  if (![k!, v!].every((x) => x.slice(0, -2).every((d, i) => d === batch[i]))) return undefined;
  const [t, h] = q!.slice(-2) as [number, number];
  const [s0, h0] = (s.keysRowMajor ? k!.slice(-2) : k!.slice(-2).reverse()) as [number, number];
  const [vs, hv] = v!.slice(-2) as [number, number];
  if (h0 !== h || vs !== s0) return undefined;
  return { batch, t, h, s: s0, hv };
}

const kernel: FusedKernel<AttentionState> = {
  name: 'FUSED_ATTENTION',
  prepare(node, s) {
    if (node.inputs.slice(0, 3).some((t) => t?.type !== 'FLOAT32')) return false;
    const g = geometry(node, s);
    if (!g) return false;
    const mask = node.inputs[3];
    const scores = [...g.batch, g.t, g.s];
    if (mask) {
      let shape: number[];
      try {
        shape = broadcastShapes(mask.shape, scores);
      } catch {
        return false;
      }
      if (shape.join() !== scores.join()) return false;
    }
    setShape(output(node), [...g.batch, g.t, g.hv]);
    return true;
  },
  run(node, s) {
    const g = geometry(node, s)!;
    const b = sizeOf(g.batch);
    const q = { data: floatOperand(input(node, 0)).data, shape: [b, g.t, 1, g.h] };
    const kIn = floatOperand(input(node, 1));
    const kData = s.keysRowMajor ? kIn.data : transpose({ data: kIn.data, shape: [b, g.h, g.s] }, [0, 2, 1]).data;
    const k = { data: kData, shape: [b, g.s, 1, g.h] };
    const v = { data: floatOperand(input(node, 2)).data, shape: [b, g.s, 1, g.hv] };
    const maskIn = node.inputs[3];
    let mask = null;
    if (maskIn) {
      const scores = [...g.batch, g.t, g.s];
      const full = binary('ADD', floatOperand(maskIn), { data: new Float32Array(sizeOf(scores)), shape: scores });
      mask = { data: full.data, shape: [b, 1, g.t, g.s] };
    }
    const out = attention(q, k, v, { scale: s.scale, mask });
    store(output(node), { data: out.data, shape: [...g.batch, g.t, g.hv] });
  },
};

/** logits = scores * scale | scores / d | scores; returns the scale and the first BATCH_MATMUL. */
function scaled(region: Region, t: RuntimeTensor | undefined): { scale: number; bmm: Step } | undefined {
  const direct = region.attempt(() => {
    const bmm = region.take(t, 'BATCH_MATMUL');
    return bmm ? { scale: 1, bmm } : undefined;
  });
  if (direct) return direct;
  return region.attempt(() => {
    const s = region.take(t, 'MUL', 'DIV');
    if (!s || !noActivation(s)) return undefined;
    const orders = s.node.op === 'MUL' ? bothOrders(s) : [[s.node.inputs[0], s.node.inputs[1]] as const];
    return region.firstOf(orders, ([scores, k]) => {
      const value = scalarConstant(k);
      const bmm = region.take(scores, 'BATCH_MATMUL');
      if (value === undefined || !bmm) return undefined;
      return { scale: s.node.op === 'MUL' ? value : 1 / value, bmm };
    });
  });
}

export const attentionPattern: FusionPattern = {
  name: 'attention',
  match(anchor, graph, order) {
    const y = anchor.node.outputs[0];
    const o2 = anchor.node.options as { adjX?: boolean; adjY?: boolean };
    if (anchor.node.op !== 'BATCH_MATMUL' || !y || o2.adjX || o2.adjY) return undefined;
    const region = new Region(graph);
    region.steps.add(anchor);
    const softmax = region.take(anchor.node.inputs[0], 'SOFTMAX');
    if (!softmax || (softmax.node.options as { beta?: number }).beta !== 1) return undefined;
    const logits = softmax.node.inputs[0];
    const unmasked = scaled(region, logits);
    const found = unmasked
      ? { ...unmasked, mask: undefined }
      : region.attempt(() => {
          const add = region.take(logits, 'ADD');
          if (!add || !noActivation(add)) return undefined;
          return region.firstOf(bothOrders(add), ([scores, mask]) => {
            const r = mask && scalarConstant(mask) === undefined ? scaled(region, scores) : undefined;
            return r ? { ...r, mask } : undefined;
          });
        });
    if (!found) return undefined;
    const o1 = found.bmm.node.options as { adjX?: boolean; adjY?: boolean };
    let [q] = found.bmm.node.inputs;
    const k = found.bmm.node.inputs[1];
    const v = anchor.node.inputs[1];
    if (o1.adjX || !q || !k || !v || !region.sealed(y)) return undefined;
    // Q scaled before the product (our converter writes q * scale): take the scale in, if nothing else reads q * scale.
    let scale = found.scale;
    const preScaled = region.attempt(() => {
      const mul = region.take(q, 'MUL');
      if (!mul || !noActivation(mul)) return undefined;
      const r = region.firstOf(bothOrders(mul), ([x, c]) => {
        const value = scalarConstant(c);
        return x && value !== undefined && x !== k && x !== v ? { x, value } : undefined;
      });
      return r && region.sealed(y) ? r : undefined;
    });
    if (preScaled) {
      q = preScaled.x;
      scale *= preScaled.value;
    }
    const state: AttentionState = { scale, keysRowMajor: o1.adjY ?? false };
    return { region: region.steps, step: fusedStep(kernel, state, region.steps, order, [q, k, v, found.mask], y) };
  },
};
