/** What the WebAssembly op files share: tensors as pointers into the kernels' memory, weights in GEMM form. */
import { UsageError } from '../../../errors.js';
import type { GemmWeightData, GemmWeights } from '../../../kernels/wasm/gemm-pack.js';
import type { KernelRuntime } from '../../../kernels/wasm/runtime.js';
import type { FusedActivation } from '../../../kernels/reference/activation.js';
import type { ConstantValue } from '../../interpreter/constant-value.js';
import type { RuntimeTensor } from '../../interpreter/runtime-tensor.js';

const copies = new WeakMap<KernelRuntime, WeakMap<ConstantValue, number>>();

/**
 * Byte offset of a tensor's float32 data in the kernels' memory. A constant
 * is copied there once per runtime (call it from prepare: copies are
 * allocated from the arena, which must not happen while a kernel runs).
 */
export function pointer(runtime: KernelRuntime, t: RuntimeTensor): number {
  if (t.constant) {
    let byRuntime = copies.get(runtime);
    if (!byRuntime) copies.set(runtime, (byRuntime = new WeakMap()));
    let ptr = byRuntime.get(t.constant);
    if (ptr === undefined) {
      const values = t.constant.float32();
      ptr = runtime.arena.alloc(Math.max(values.byteLength, 4), 64);
      runtime.arena.f32(ptr, values.length).set(values);
      byRuntime.set(t.constant, ptr);
    }
    return ptr;
  }
  const data = t.f32();
  if (data.buffer !== runtime.memory.buffer) {
    throw new UsageError(`tensor ${t.name} is not in the kernels' memory (load the interpreter with wasmInterpreterOptions)`);
  }
  return data.byteOffset;
}

/** Copies a float32 vector into the kernels' memory (prepare time only). */
export function copyIn(runtime: KernelRuntime, values: Float32Array): number {
  const ptr = runtime.arena.alloc(Math.max(values.byteLength, 4), 64);
  runtime.arena.f32(ptr, values.length).set(values);
  return ptr;
}

/** Fused activations the kernels take as a clamp. */
export const CLAMPS: Partial<Record<FusedActivation, { min: number; max: number } | undefined>> = {
  NONE: undefined,
  RELU: { min: 0, max: Infinity },
  RELU6: { min: 0, max: 6 },
  RELU_N1_TO_1: { min: -1, max: 1 },
};

/**
 * The GEMM's view of constant weights with `units` output rows, or undefined
 * for encodings it does not take. A streamed constant (read from its file on
 * each access) comes with `source`, so packed weights can drop the values.
 */
export function gemmWeights(c: ConstantValue, units: number): (GemmWeightData & Pick<GemmWeights, 'source'>) | undefined {
  if (!takesGemmWeights(c, units)) return undefined;
  const source = c.source as GemmWeights['source'];
  if (c.storageType === 'FLOAT32') return { dtype: 'float32', data: c.raw as Float32Array, source };
  if (c.storageType === 'FLOAT16') return { dtype: 'float16', data: c.raw as Uint16Array, source };
  return { dtype: 'int8', data: c.raw as Int8Array, scales: Float32Array.from(c.quantization!.scale), source };
}

/** Whether gemmWeights takes this encoding; reads no values (a streamed constant would be read from its file). */
export function takesGemmWeights(c: ConstantValue, units: number): boolean {
  if (c.storageType === 'FLOAT32' || c.storageType === 'FLOAT16') return true;
  const q = c.quantization;
  const symmetric = q !== undefined && q.zeroPoint.every((z) => z === 0);
  const perChannel = q !== undefined && (q.scale.length === 1 || (q.scale.length === units && q.quantizedDimension === 0));
  return c.storageType === 'INT8' && symmetric && perChannel;
}
