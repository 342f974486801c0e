// Builtin-op subgraphs the way converters write the functions we fuse or
// run as composites (group norm, layer norm, attention, tanh GELU), added to
// a SubgraphBuilder. Shared by the composite and fusion tests.
import type { SubgraphBuilder } from '../../src/tflite/writer.js';
import { bytesOf } from './ops-harness.js';

let counter = 0;
const fresh = (p: string) => `${p}_${counter++}`;
const i32 = (g: SubgraphBuilder, ...v: number[]) => g.addConstant(fresh('i32'), 'INT32', [v.length], bytesOf(Int32Array.from(v)));
const scalar = (g: SubgraphBuilder, v: number) => g.addConstant(fresh('f32'), 'FLOAT32', [], bytesOf(Float32Array.of(v)));
const tensor = (g: SubgraphBuilder, shape: number[]) => g.addTensor(fresh('t'), 'FLOAT32', shape);

/** Group norm over NHWC x [n, h, w, c] in `groups` groups: the decomposition ai-edge-torch style converters emit. */
export function addGroupNorm(g: SubgraphBuilder, x: number, gamma: number, beta: number, shape: [number, number, number, number], groups: number, eps: number): number {
  const [n, h, w, c] = shape;
  const grouped = [n, h * w, groups, c / groups];
  const stats = [n, 1, groups, 1];
  const r = tensor(g, grouped);
  g.addOperator('RESHAPE', [x, i32(g, ...grouped)], [r]);
  const mean = tensor(g, stats);
  g.addOperator('MEAN', [r, i32(g, 1, 3)], [mean], { keepDims: true });
  const d = tensor(g, grouped);
  g.addOperator('SUB', [r, mean], [d]);
  const sq = tensor(g, grouped);
  g.addOperator('MUL', [d, d], [sq]);
  const v = tensor(g, stats);
  g.addOperator('MEAN', [sq, i32(g, 1, 3)], [v], { keepDims: true });
  const ve = tensor(g, stats);
  g.addOperator('ADD', [v, scalar(g, eps)], [ve]);
  const rs = tensor(g, stats);
  g.addOperator('RSQRT', [ve], [rs]);
  const nrm = tensor(g, grouped);
  g.addOperator('MUL', [d, rs], [nrm]);
  const back = tensor(g, shape);
  g.addOperator('RESHAPE', [nrm, i32(g, ...shape)], [back]);
  const scaled = tensor(g, shape);
  g.addOperator('MUL', [back, gamma], [scaled]);
  const y = tensor(g, shape);
  g.addOperator('ADD', [scaled, beta], [y]);
  return y;
}

/** Layer norm over the last axis: mean, centred square, mean, add eps, rsqrt, then scale and shift when given. */
export function addLayerNorm(g: SubgraphBuilder, x: number, gamma: number | undefined, beta: number | undefined, shape: number[], eps: number): number {
  const stats = [...shape.slice(0, -1), 1];
  const mean = tensor(g, stats);
  g.addOperator('MEAN', [x, i32(g, -1)], [mean], { keepDims: true });
  const d = tensor(g, shape);
  g.addOperator('SUB', [x, mean], [d]);
  const sq = tensor(g, shape);
  g.addOperator('SQUARED_DIFFERENCE', [x, mean], [sq]);
  const v = tensor(g, stats);
  g.addOperator('MEAN', [sq, i32(g, -1)], [v], { keepDims: true });
  const ve = tensor(g, stats);
  g.addOperator('ADD', [v, scalar(g, eps)], [ve]);
  const rs = tensor(g, stats);
  g.addOperator('RSQRT', [ve], [rs]);
  const nrm = tensor(g, shape);
  g.addOperator('MUL', [d, rs], [nrm]);
  if (gamma === undefined || beta === undefined) return nrm;
  const scaled = tensor(g, shape);
  g.addOperator('MUL', [nrm, gamma], [scaled]);
  const y = tensor(g, shape);
  g.addOperator('ADD', [scaled, beta], [y]);
  return y;
}

/**
 * Attention on BTNH q/k/v: transpose to heads-first, QK^T by BATCH_MATMUL
 * (adj_y), scale by MUL, optional additive mask by ADD, SOFTMAX, times V,
 * transpose back.
 */
export function addAttention(
  g: SubgraphBuilder, q: number, k: number, v: number, mask: number | undefined,
  dims: { b: number; t: number; s: number; n: number; h: number }, scale: number,
): number {
  const { b, t, s, n, h } = dims;
  const perm = i32(g, 0, 2, 1, 3);
  const qh = tensor(g, [b, n, t, h]);
  g.addOperator('TRANSPOSE', [q, perm], [qh]);
  const kh = tensor(g, [b, n, s, h]);
  g.addOperator('TRANSPOSE', [k, perm], [kh]);
  const vh = tensor(g, [b, n, s, h]);
  g.addOperator('TRANSPOSE', [v, perm], [vh]);
  const scores = tensor(g, [b, n, t, s]);
  g.addOperator('BATCH_MATMUL', [qh, kh], [scores], { adjY: true });
  let logits = tensor(g, [b, n, t, s]);
  g.addOperator('MUL', [scores, scalar(g, scale)], [logits]);
  if (mask !== undefined) {
    const masked = tensor(g, [b, n, t, s]);
    g.addOperator('ADD', [logits, mask], [masked]);
    logits = masked;
  }
  const p = tensor(g, [b, n, t, s]);
  g.addOperator('SOFTMAX', [logits], [p], { beta: 1 });
  const o = tensor(g, [b, n, t, h]);
  g.addOperator('BATCH_MATMUL', [p, vh], [o]);
  const y = tensor(g, [b, t, n, h]);
  g.addOperator('TRANSPOSE', [o, perm], [y]);
  return y;
}

/** GELU, tanh form, as jax/TF lower it: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export function addTanhGelu(g: SubgraphBuilder, x: number, shape: number[]): number {
  const x2 = tensor(g, shape);
  g.addOperator('MUL', [x, x], [x2]);
  const x3 = tensor(g, shape);
  g.addOperator('MUL', [x2, x], [x3]);
  const a = tensor(g, shape);
  g.addOperator('MUL', [x3, scalar(g, 0.044715)], [a]);
  const inner = tensor(g, shape);
  g.addOperator('ADD', [x, a], [inner]);
  const scaled = tensor(g, shape);
  g.addOperator('MUL', [inner, scalar(g, Math.sqrt(2 / Math.PI))], [scaled]);
  const th = tensor(g, shape);
  g.addOperator('TANH', [scaled], [th]);
  const one = tensor(g, shape);
  g.addOperator('ADD', [th, scalar(g, 1)], [one]);
  const half = tensor(g, shape);
  g.addOperator('MUL', [one, scalar(g, 0.5)], [half]);
  const y = tensor(g, shape);
  g.addOperator('MUL', [x, half], [y]);
  return y;
}

/**
 * Group norm from per-channel statistics (the form our converter writes so H
 * and W may stay dynamic), optionally followed by SiLU as y * LOGISTIC(y).
 */
export function addGroupNormChannelStats(
  g: SubgraphBuilder, x: number, gamma: number, beta: number, shape: [number, number, number, number], groups: number, eps: number, silu: boolean,
): number {
  const [n, , , c] = shape;
  const stat = [n, 1, 1, c];
  const channelGroup = i32(g, ...Array.from({ length: c }, (_, i) => Math.floor(i / (c / groups))));
  const groupMean = (perChannel: number) => {
    const grouped = tensor(g, [n, groups, c / groups]);
    g.addOperator('RESHAPE', [perChannel, i32(g, n, groups, c / groups)], [grouped]);
    const means = tensor(g, [n, groups]);
    g.addOperator('MEAN', [grouped, i32(g, 2)], [means], { keepDims: false });
    const spread = tensor(g, [n, c]);
    g.addOperator('GATHER', [means, channelGroup], [spread], { axis: 1 });
    const back = tensor(g, stat);
    g.addOperator('RESHAPE', [spread, i32(g, ...stat)], [back]);
    return back;
  };
  const spatialMean = (t: number) => {
    const m = tensor(g, stat);
    g.addOperator('MEAN', [t, i32(g, 1, 2)], [m], { keepDims: true });
    return m;
  };
  const mean = groupMean(spatialMean(x));
  const d = tensor(g, shape);
  g.addOperator('SUB', [x, mean], [d]);
  const sq = tensor(g, shape);
  g.addOperator('MUL', [d, d], [sq]);
  const variance = groupMean(spatialMean(sq));
  const ve = tensor(g, stat);
  g.addOperator('ADD', [variance, scalar(g, eps)], [ve]);
  const rs = tensor(g, stat);
  g.addOperator('RSQRT', [ve], [rs]);
  const scale = tensor(g, stat);
  g.addOperator('MUL', [rs, gamma], [scale]);
  const scaled = tensor(g, shape);
  g.addOperator('MUL', [d, scale], [scaled]);
  const y = tensor(g, shape);
  g.addOperator('ADD', [scaled, beta], [y]);
  if (!silu) return y;
  const sig = tensor(g, shape);
  g.addOperator('LOGISTIC', [y], [sig]);
  const out = tensor(g, shape);
  g.addOperator('MUL', [y, sig], [out]);
  return out;
}
