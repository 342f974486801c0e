/**
 * BATCH_MATMUL with TFLite semantics: lhs [..., M, K] (or [..., K, M] with
 * adjX), rhs [..., K, N] (or [..., N, K] with adjY); the batch dims
 * broadcast with NumPy rules. Output [...batch, M, N].
 */
import { UsageError } from '../../errors.js';
import { broadcastShapes, broadcastStrides, sizeOf, stridesOf, type Tensor } from './tensor.js';

export interface BatchMatmulOptions {
  readonly adjX?: boolean;
  readonly adjY?: boolean;
}

export function batchMatmul(lhs: Tensor, rhs: Tensor, options: BatchMatmulOptions = {}): Tensor {
  if (lhs.shape.length < 2 || rhs.shape.length < 2) {
    throw new UsageError(`batch matmul needs rank >= 2, got [${lhs.shape.join(', ')}] and [${rhs.shape.join(', ')}]`);
  }
  const adjX = options.adjX ?? false;
  const adjY = options.adjY ?? false;
  const [l0, l1] = lhs.shape.slice(-2) as [number, number];
  const [r0, r1] = rhs.shape.slice(-2) as [number, number];
  const [m, k] = adjX ? [l1, l0] : [l0, l1];
  const [rk, n] = adjY ? [r1, r0] : [r0, r1];
  if (k !== rk) {
    throw new UsageError(`batch matmul inner dims differ: [${lhs.shape.join(', ')}] x [${rhs.shape.join(', ')}] (adj_x ${adjX}, adj_y ${adjY})`);
  }
  const batchShape = broadcastShapes(lhs.shape.slice(0, -2), rhs.shape.slice(0, -2));
  const lhsBatchStrides = broadcastStrides(lhs.shape.slice(0, -2), batchShape).map((s) => s * l0 * l1);
  const rhsBatchStrides = broadcastStrides(rhs.shape.slice(0, -2), batchShape).map((s) => s * r0 * r1);
  const batchIndexStrides = stridesOf(batchShape);
  // Element (row, col) of the logical M x K and K x N matrices.
  const lhsAt = (base: number, i: number, p: number): number => lhs.data[base + (adjX ? p * m + i : i * k + p)]!;
  const rhsAt = (base: number, p: number, j: number): number => rhs.data[base + (adjY ? j * k + p : p * n + j)]!;
  const batches = sizeOf(batchShape);
  const out = new Float32Array(batches * m * n);
  for (let bi = 0; bi < batches; bi++) {
    let lhsBase = 0;
    let rhsBase = 0;
    for (let d = 0; d < batchShape.length; d++) {
      const index = Math.floor(bi / batchIndexStrides[d]!) % batchShape[d]!;
      lhsBase += index * lhsBatchStrides[d]!;
      rhsBase += index * rhsBatchStrides[d]!;
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += lhsAt(lhsBase, i, p) * rhsAt(rhsBase, p, j);
        out[(bi * m + i) * n + j] = acc;
      }
    }
  }
  return { data: out, shape: [...batchShape, m, n] };
}
