/**
 * Single-op .tflite models for the engine-against-engine benchmark: each
 * case is one file from our writer, run unchanged by our interpreter and
 * by LiteRT.js, at the shapes of issue 4 (fp32, batch 1):
 *
 * - CONV_2D 3x3 SAME with bias, NHWC, OHWI filter;
 * - FULLY_CONNECTED [M, K] x [N, K]ᵀ + bias;
 * - attention as BATCH_MATMUL(MUL(Q, scale), K, adj_y) → SOFTMAX →
 *   BATCH_MATMUL(·, V) on per-head tensors [2, 8, T|S, 40] (our interpreter
 *   fuses it; LiteRT.js runs the three ops);
 * - group norm (32 groups) as the builtin-op pattern our converter writes
 *   for --target cpu (src/models/graph/README.md), which our interpreter
 *   fuses and LiteRT.js runs op by op.
 *
 * Work is counted as issue 4 does: 2·M·K·N for matrix products (conv:
 * M = H·W, K = 9·Cin), 4·B·N·T·S·d for attention, and for group norm the
 * bytes of two reads and one write of the tensor (GB/s).
 */
import { Graph, type Tensor } from '../../src/models/graph/graph.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';

export type OpKind = 'conv' | 'fc' | 'attention' | 'groupnorm';

export interface OpCase {
  kind: OpKind;
  /** Row label, e.g. "CONV_2D 3x3 64x64x320->320". */
  label: string;
  /** Floating-point operations per invocation, or null for memory-bound cases. */
  flops: number | null;
  /** Bytes moved per invocation for memory-bound cases (else null). */
  bytes: number | null;
  /** Attention shape, for the kernel's working-memory formula. */
  attention?: { keys: number; dim: number };
  /** The model file (built on demand: weights can be large). */
  model(): Uint8Array;
  /** One input per signature input, in order (deterministic values in [-0.5, 0.5)). */
  inputs(): Float32Array[];
}

/** The signature key and names both engines are called with. */
export const SIGNATURE = 'main';
export const inputName = (i: number) => `args_${i}`;

/** Deterministic values in [-0.5, 0.5): inputs use seeds 3 and up, weights (gamma) 1, biases (beta) 2. */
export function random(count: number, seed: number): Float32Array {
  const data = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 32 - 0.5;
  }
  return data;
}

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const elements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** A model of one graph over float inputs of the given shapes, with a signature naming them args_i / output_0. */
function buildModel(inputShapes: readonly (readonly number[])[], body: (g: Graph, inputs: Tensor[]) => Tensor): Uint8Array {
  const m = new TfliteModelBuilder();
  const g = new Graph(m, m.main);
  const inputs = inputShapes.map((shape, i) => g.input(inputName(i), 'FLOAT32', shape));
  const y = body(g, inputs);
  g.markOutput(y);
  m.addSignature(SIGNATURE, Object.fromEntries(inputs.map((t, i) => [inputName(i), t.id])), { output_0: y.id });
  return m.toBuffer();
}

function constant(g: Graph, name: string, shape: readonly number[], seed: number): Tensor {
  const id = g.sg.addConstant(name, 'FLOAT32', shape, bytesOf(random(elements(shape), seed)));
  return { id, shape: [...shape], type: 'FLOAT32' };
}

export function convCase(h: number, w: number, cin: number, cout: number): OpCase {
  return {
    kind: 'conv',
    label: `CONV_2D 3x3 ${h}x${w}x${cin}->${cout}`,
    flops: 2 * h * w * cout * 9 * cin,
    bytes: null,
    model: () =>
      buildModel([[1, h, w, cin]], (g, [x]) =>
        g.conv2d(x!, constant(g, 'filter', [cout, 3, 3, cin], 1), constant(g, 'bias', [cout], 2), 1, 'SAME'),
      ),
    inputs: () => [random(h * w * cin, 3)],
  };
}

export function fcCase(m: number, k: number, n: number): OpCase {
  return {
    kind: 'fc',
    label: `FULLY_CONNECTED ${m}x${k}->${n}`,
    flops: 2 * m * k * n,
    bytes: null,
    model: () => buildModel([[m, k]], (g, [x]) => g.fullyConnected(x!, constant(g, 'weights', [n, k], 1), constant(g, 'bias', [n], 2))),
    inputs: () => [random(m * k, 3)],
  };
}

export function attentionCase(batch: number, heads: number, queries: number, keys: number, dim: number): OpCase {
  const q = [batch, heads, queries, dim];
  const kv = [batch, heads, keys, dim];
  return {
    kind: 'attention',
    label: `ATTENTION ${batch}x${heads}x${queries}x${keys}x${dim}`,
    flops: 4 * batch * heads * queries * keys * dim,
    bytes: null,
    attention: { keys, dim },
    model: () =>
      buildModel([q, kv, kv], (g, [qt, kt, vt]) => {
        const scores = g.batchMatmul(g.mul(qt!, g.scalar(1 / Math.sqrt(dim))), kt!, true); // [B, N, T, S]
        return g.batchMatmul(g.softmax(scores), vt!, false); // [B, N, T, d]
      }),
    inputs: () => [random(elements(q), 3), random(elements(kv), 4), random(elements(kv), 5)],
  };
}

/** The converter's group norm pattern (src/models/graph/README.md, "Patterns"), eps 1e-5. */
function groupNormPattern(g: Graph, x: Tensor, gamma: Tensor, beta: Tensor, groups: number): Tensor {
  const c = x.shape[3]!;
  const channelGroup = g.int32(Array.from({ length: c }, (_, i) => Math.floor(i / (c / groups))));
  const groupMean = (perChannel: Tensor) => {
    const means = g.mean(g.reshape(perChannel, [1, groups, c / groups]), [2], false); // [1, G]
    return g.reshape(g.gather(means, channelGroup, 1), [1, 1, 1, c]);
  };
  const mean = groupMean(g.mean(x, [1, 2]));
  const d = g.sub(x, mean);
  const variance = groupMean(g.mean(g.mul(d, d), [1, 2]));
  const scale = g.mul(g.rsqrt(g.add(variance, g.scalar(1e-5))), gamma);
  return g.add(g.mul(d, scale), beta);
}

export function groupNormCase(h: number, w: number, c: number): OpCase {
  return {
    kind: 'groupnorm',
    label: `GROUP_NORM 32g ${h}x${w}x${c}`,
    flops: null,
    bytes: 12 * h * w * c,
    model: () =>
      buildModel([[1, h, w, c]], (g, [x]) =>
        groupNormPattern(g, x!, constant(g, 'gamma', [c], 1), constant(g, 'beta', [c], 2), 32),
      ),
    inputs: () => [random(h * w * c, 3)],
  };
}

/** Every shape of issue 4, part 7. */
export const OP_CASES: OpCase[] = [
  convCase(64, 64, 320, 320),
  convCase(32, 32, 640, 640),
  convCase(16, 16, 1280, 1280),
  convCase(8, 8, 1280, 1280),
  convCase(128, 128, 512, 512),
  convCase(256, 256, 256, 256),
  convCase(512, 512, 128, 128),
  fcCase(4096, 320, 320),
  fcCase(4096, 320, 2560),
  fcCase(1024, 640, 5120),
  fcCase(77, 768, 3072),
  fcCase(154, 768, 320),
  attentionCase(2, 8, 4096, 4096, 40),
  attentionCase(2, 8, 4096, 77, 40),
  groupNormCase(64, 64, 320),
  groupNormCase(512, 512, 128),
];

/** `--quick`: one shape of each kind, small enough for a run of a minute or two. */
export const QUICK_LABELS = [
  'CONV_2D 3x3 64x64x320->320',
  'FULLY_CONNECTED 4096x320->320',
  'ATTENTION 2x8x4096x77x40',
  'GROUP_NORM 32g 64x64x320',
];
