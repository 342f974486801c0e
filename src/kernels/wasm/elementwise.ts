/**
 * Elementwise kernels on the WebAssembly SIMD module (assembly/elementwise.ts):
 * broadcasting binary ops with a fused activation, unary math and GEGLU.
 * Tensors live in the kernels' memory (byte offsets, 4-byte aligned); the
 * output may equal an input of the same shape.
 *
 * Binary broadcasting (NumPy rules) runs as rows of the output's last axis:
 * same shape and a scalar operand are one row; a per-channel operand ([C]
 * against [..., C]) repeats one row; any other broadcast reads each row at
 * offsets from a small table built here.
 */
import { UsageError } from '../../errors.js';
import type { FusedActivation } from '../reference/activation.js';
import type { BinaryOp } from '../reference/elementwise.js';
import { broadcastShapes, broadcastStrides, sizeOf, stridesOf } from '../reference/tensor.js';
import type { KernelRuntime } from './runtime.js';

const BINARY_CODES: Record<BinaryOp, number> = { ADD: 0, SUB: 1, MUL: 2, DIV: 3, SQUARED_DIFFERENCE: 4 };
const ACTIVATION_CODES: Record<FusedActivation, number> = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4 };

export type WasmUnaryOp = 'EXP' | 'LOGISTIC' | 'TANH' | 'SILU' | 'GELU' | 'GELU_TANH' | 'ERF' | 'EXP2_NONPOSITIVE';

/** EXP2_NONPOSITIVE is the 2^x of attention's softmax (x <= 0), exposed to test its accuracy. */
const UNARY_CODES: Record<WasmUnaryOp, number> = {
  EXP: 0, LOGISTIC: 1, TANH: 2, SILU: 3, GELU: 4, GELU_TANH: 5, ERF: 6, EXP2_NONPOSITIVE: 7,
};

export interface TensorRef {
  ptr: number;
  shape: readonly number[];
}

function checkPtr(what: string, ptr: number): void {
  if (!Number.isInteger(ptr) || ptr <= 0 || ptr % 4 !== 0) throw new UsageError(`${what} must be a nonzero 4-byte aligned offset, got ${ptr}`);
}

/** Shape of `op(a, b)` under broadcasting. */
export function binaryOutputShape(a: readonly number[], b: readonly number[]): number[] {
  return broadcastShapes(a, b);
}

/**
 * out = act(a op b) with NumPy broadcasting; `out` must hold
 * binaryOutputShape(a.shape, b.shape) floats.
 */
export function binary(
  runtime: KernelRuntime, op: BinaryOp, a: TensorRef, b: TensorRef, out: number, activation: FusedActivation = 'NONE',
): void {
  const opCode = BINARY_CODES[op];
  const actCode = ACTIVATION_CODES[activation];
  if (opCode === undefined) throw new UsageError(`binary: unknown op ${String(op)}`);
  if (actCode === undefined) throw new UsageError(`binary: unsupported fused activation ${String(activation)}`);
  checkPtr('binary a', a.ptr);
  checkPtr('binary b', b.ptr);
  checkPtr('binary out', out);
  const shape = broadcastShapes(a.shape, b.shape);
  const total = sizeOf(shape);
  if (total === 0) return;
  const sizeA = sizeOf(a.shape);
  const sizeB = sizeOf(b.shape);
  const run = (rows: number, inner: number, sa: number, sb: number, aRow: number, bRow: number, offsets: number) =>
    runtime.pool.run('binary', [opCode, actCode, a.ptr, b.ptr, out, rows, inner, sa, sb, aRow, bRow, offsets]);
  if ((sizeA === total || sizeA === 1) && (sizeB === total || sizeB === 1)) {
    // Same shape (up to ones) or a scalar operand: one flat row.
    run(1, total, sizeA === 1 ? 0 : 1, sizeB === 1 ? 0 : 1, 0, 0, 0);
    return;
  }
  const inner = shape[shape.length - 1]!;
  const rows = total / inner;
  const aStrides = broadcastStrides(a.shape, shape);
  const bStrides = broadcastStrides(b.shape, shape);
  const sa = aStrides[shape.length - 1]! === 0 ? 0 : 1;
  const sb = bStrides[shape.length - 1]! === 0 ? 0 : 1;
  if (sizeA === total && sizeB === inner && sb === 1) {
    run(rows, inner, 1, 1, inner, 0, 0); // per-channel b
    return;
  }
  if (sizeB === total && sizeA === inner && sa === 1) {
    run(rows, inner, 1, 1, 0, inner, 0); // per-channel a
    return;
  }
  // General broadcast: element offsets of a and b for every output row.
  const mark = runtime.arena.top;
  try {
    const table = runtime.arena.alloc(rows * 8, 16);
    const offsets = new Int32Array(runtime.memory.buffer, table, rows * 2);
    const outer = shape.slice(0, -1);
    const outerStrides = stridesOf(outer);
    for (let r = 0; r < rows; r++) {
      let ao = 0;
      let bo = 0;
      for (let d = 0; d < outer.length; d++) {
        const index = Math.floor(r / outerStrides[d]!) % outer[d]!;
        ao += index * aStrides[d]!;
        bo += index * bStrides[d]!;
      }
      offsets[2 * r] = ao;
      offsets[2 * r + 1] = bo;
    }
    run(rows, inner, sa, sb, 0, 0, table);
  } finally {
    runtime.arena.reset(mark);
  }
}

/** out[i] = f(x[i]) for `count` floats. */
export function unary(runtime: KernelRuntime, op: WasmUnaryOp, x: number, out: number, count: number): void {
  const code = UNARY_CODES[op];
  if (code === undefined) throw new UsageError(`unary: unknown op ${String(op)}`);
  checkPtr('unary x', x);
  checkPtr('unary out', out);
  if (!Number.isInteger(count) || count < 0) throw new UsageError(`unary: bad element count ${count}`);
  if (count === 0) return;
  runtime.pool.run('unary', [code, x, out, count]);
}

/**
 * GEGLU: x [rows, 2·half] -> out [rows, half] = x[:, :half] · gelu(x[:, half:])
 * (exact erf GELU, or the tanh form when `approximate`). out must not overlap x.
 */
export function geglu(runtime: KernelRuntime, x: number, out: number, rows: number, half: number, approximate = false): void {
  checkPtr('geglu x', x);
  checkPtr('geglu out', out);
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(half) || half < 0) {
    throw new UsageError(`geglu: bad shape rows=${rows}, half=${half}`);
  }
  if (rows === 0 || half === 0) return;
  runtime.pool.run('geglu', [x, out, rows, half, approximate ? 1 : 0]);
}
