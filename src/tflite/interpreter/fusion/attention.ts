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
 *
 * Head transposes taken in ('BTNH'): when Q, K and V each come from a
 * TRANSPOSE of a [B, S, N, H] tensor to [B, N, S, H] (K to [B, N, H, S]
 * without adj_y) and the result goes only to the TRANSPOSE back to
 * [B, T, N, Hv], as our converter writes multi-head attention, those four
 * transposes join the region and the kernel reads and writes the
 * untransposed tensors.
 *
 * A mask that is a constant of zeros (in SD's graphs for the GPU target)
 * is dropped at prepare (scores + 0 = scores exactly), so no kernel reads it.
 */
import { attention } from '../../../kernels/reference/attention.js';
import { binary } from '../../../kernels/reference/elementwise.js';
import { broadcastShapes, sizeOf } from '../../../kernels/reference/tensor.js';
import { transpose } from '../../../kernels/reference/transpose.js';
import { input, output, setShape, store } from '../../ops/node-access.js';
import { floatOperand } from '../../ops/shared.js';
import type { ConstantValue } from '../constant-value.js';
import type { RuntimeTensor } from '../runtime-tensor.js';
import type { Step } from '../subgraph-executor.js';
import { bothOrders, constantInts, noActivation, Region, scalarConstant, type GraphIndex } from './graph-index.js';
import { fusedStep, type FusedKernel } from './fused-op.js';
import type { FusionPattern } from './pattern.js';

export interface AttentionState {
  scale: number;
  /**
   * 'BNTH': Q [..., T, H], K, V [..., S, H] as the products see them, batch
   * dims flattened, one head each. 'BTNH': the head transposes were taken
   * in: Q [B, T, N, H], K [B, S, N, H], V [B, S, N, Hv], output [B, T, N, Hv].
   */
  layout: 'BNTH' | 'BTNH';
  /** K is [..., S, H] (the first BATCH_MATMUL had adj_y) rather than [..., H, S]; always true for 'BTNH'. */
  keysRowMajor: boolean;
  /** Set at each prepare: the mask input is a constant of zeros, which kernels skip. */
  zeroMask: boolean;
}

/** Sizes of a FUSED_ATTENTION node at its current shapes (undefined: the fused kernel cannot take them). */
export interface AttentionGeometry {
  /** Leading dims: Q's batch dims ('BNTH', one head each), or [B] ('BTNH'). */
  batch: number[];
  heads: number;
  t: number;
  h: number;
  s: number;
  hv: number;
  /** The scores' shape, which the mask must broadcast to. */
  scores: number[];
  output: number[];
}

export function attentionGeometry(node: { inputs: readonly (RuntimeTensor | undefined)[] }, st: AttentionState): AttentionGeometry | undefined {
  const [q, k, v] = [0, 1, 2].map((i) => node.inputs[i]!.shape) as [number[], number[], number[]];
  const rank = q.length;
  if (rank < 2 || k.length !== rank || v.length !== rank) return undefined;
  if (st.layout === 'BTNH') {
    if (rank !== 4) return undefined;
    const [b, t, n, h] = q as [number, number, number, number];
    const [s, hv] = [k[1]!, v[3]!];
    if (k.join() !== [b, s, n, h].join() || v.join() !== [b, s, n, hv].join()) return undefined;
    return { batch: [b], heads: n, t, h, s, hv, scores: [b, n, t, s], output: [b, t, n, hv] };
  }
  const batch = q.slice(0, -2);
  if (![k, v].every((x) => x.slice(0, -2).every((d, i) => d === batch[i]))) return undefined;
  const [t, h] = q.slice(-2) as [number, number];
  const [s, h0] = (st.keysRowMajor ? k.slice(-2) : k.slice(-2).reverse()) as [number, number];
  const [vs, hv] = v.slice(-2) as [number, number];
  if (h0 !== h || vs !== s) return undefined;
  return { batch, heads: 1, t, h, s, hv, scores: [...batch, t, s], output: [...batch, t, hv] };
}

const zeroConstants = new WeakMap<ConstantValue, boolean>();

/** Whether a constant holds only zeros (±0), read from its storage without widening; remembered per constant. */
export function isZeroConstant(t: RuntimeTensor | undefined): boolean {
  const c = t?.constant;
  if (!c) return false;
  let zero = zeroConstants.get(c);
  if (zero === undefined) {
    const raw = c.raw;
    if (c.storageType === 'FLOAT16' || c.storageType === 'BFLOAT16') zero = (raw as Uint16Array).every((x) => (x & 0x7fff) === 0);
    else zero = c.float32().every((x) => x === 0);
    zeroConstants.set(c, zero);
  }
  return zero;
}

const kernel: FusedKernel<AttentionState> = {
  name: 'FUSED_ATTENTION',
  prepare(node, st) {
    if (node.inputs.slice(0, 3).some((t) => t?.type !== 'FLOAT32')) return false;
    const g = attentionGeometry(node, st);
    if (!g) return false;
    const mask = node.inputs[3];
    if (mask) {
      let shape: number[];
      try {
        shape = broadcastShapes(mask.shape, g.scores);
      } catch {
        return false;
      }
      if (shape.join() !== g.scores.join()) return false;
    }
    st.zeroMask = isZeroConstant(mask);
    setShape(output(node), g.output);
    return true;
  },
  run(node, st) {
    const g = attentionGeometry(node, st)!;
    const maskIn = st.zeroMask ? undefined : node.inputs[3];
    const qIn = floatOperand(input(node, 0)).data;
    const kIn = floatOperand(input(node, 1)).data;
    const vIn = floatOperand(input(node, 2)).data;
    if (st.layout === 'BTNH') {
      const mask = maskIn ? floatOperand(maskIn) : null;
      const out = attention({ data: qIn, shape: input(node, 0).shape }, { data: kIn, shape: input(node, 1).shape }, { data: vIn, shape: input(node, 2).shape }, { scale: st.scale, mask });
      store(output(node), { data: out.data, shape: g.output });
      return;
    }
    const b = sizeOf(g.batch);
    const q = { data: qIn, shape: [b, g.t, 1, g.h] };
    const kData = st.keysRowMajor ? kIn : transpose({ data: kIn, shape: [b, g.h, g.s] }, [0, 2, 1]).data;
    const k = { data: kData, shape: [b, g.s, 1, g.h] };
    const v = { data: vIn, shape: [b, g.s, 1, g.hv] };
    let mask = null;
    if (maskIn) {
      const full = binary('ADD', floatOperand(maskIn), { data: new Float32Array(sizeOf(g.scores)), shape: g.scores });
      mask = { data: full.data, shape: [b, 1, g.t, g.s] };
    }
    const out = attention(q, k, v, { scale: st.scale, mask });
    store(output(node), { data: out.data, shape: g.output });
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

const HEADS = [0, 2, 1, 3].join();

/** The input of a TRANSPOSE with permutation `perm` writing `t` (and takes the step). */
function transposed(region: Region, t: RuntimeTensor, perm: string): RuntimeTensor | undefined {
  const step = region.take(t, 'TRANSPOSE');
  return step && constantInts(step.node.inputs[1])?.join() === perm ? step.node.inputs[0] : undefined;
}

/**
 * The head transposes around the products ('BTNH' above): the untransposed
 * Q, K, V and the final output, or undefined (region unchanged).
 */
function headTransposes(region: Region, graph: GraphIndex, q: RuntimeTensor, k: RuntimeTensor, v: RuntimeTensor, y: RuntimeTensor, keysRowMajor: boolean) {
  return region.attempt(() => {
    const readers = graph.readersOf(y);
    const back = readers[0];
    if (readers.length !== 1 || back!.node.op !== 'TRANSPOSE' || constantInts(back!.node.inputs[1])?.join() !== HEADS) return undefined;
    const out = back!.node.outputs[0];
    if (!out || back!.node.outputs.length !== 1 || graph.isGraphOutput(y)) return undefined;
    const q0 = transposed(region, q, HEADS);
    const k0 = transposed(region, k, keysRowMajor ? HEADS : [0, 2, 3, 1].join());
    const v0 = transposed(region, v, HEADS);
    if (!q0 || !k0 || !v0) return undefined;
    region.steps.add(back!);
    return region.sealed(out) ? { q: q0, k: k0, v: v0, out } : undefined;
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
    const keysRowMajor = o1.adjY ?? false;
    const heads = headTransposes(region, graph, q, k, v, y, keysRowMajor);
    const state: AttentionState = heads
      ? { scale, layout: 'BTNH', keysRowMajor: true, zeroMask: false }
      : { scale, layout: 'BNTH', keysRowMajor, zeroMask: false };
    const operands = heads ? [heads.q, heads.k, heads.v, found.mask] : [q, k, v, found.mask];
    return { region: region.steps, step: fusedStep(kernel, state, region.steps, order, operands, heads?.out ?? y) };
  },
};
