/**
 * SOFTMAX over the last axis (TFLite's beta) on the WebAssembly kernels
 * (assembly/softmax.ts): x [rows, size] -> out (may equal x).
 */
import { UsageError } from '../../errors.js';
import type { KernelRuntime } from './runtime.js';

export interface SoftmaxOperands {
  x: number;
  out: number;
  rows: number;
  size: number;
  beta?: number;
}

export function softmax(runtime: KernelRuntime, { x, out, rows, size, beta = 1 }: SoftmaxOperands): void {
  if (x % 4 !== 0 || out % 4 !== 0) throw new UsageError('softmax: x and out must be 4-byte aligned');
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(size) || size < 0) {
    throw new UsageError(`softmax: bad shape rows=${rows}, size=${size}`);
  }
  if (!Number.isFinite(beta)) throw new UsageError(`softmax: beta must be finite, got ${beta}`);
  if (rows === 0 || size === 0) return;
  runtime.pool.run('softmax', [x, out, rows, size, beta]);
}
