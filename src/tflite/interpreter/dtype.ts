/**
 * Element types the interpreter holds in memory, their typed arrays and
 * the NumPy-style names the API reports ('float32', 'int32', ...).
 */
import { UsageError } from '../../errors.js';
import type { TypedArray } from '../../kernels/reference/typed-tensor.js';
import type { TensorTypeName } from '../types.js';

interface TypeInfo {
  readonly bytes: number;
  readonly dtype: string;
  readonly make: (buffer: ArrayBufferLike, byteOffset: number, length: number) => TypedArray;
  readonly is: (a: TypedArray) => boolean;
}

const TYPES: Partial<Record<TensorTypeName, TypeInfo>> = {
  FLOAT32: { bytes: 4, dtype: 'float32', make: (b, o, n) => new Float32Array(b, o, n), is: (a) => a instanceof Float32Array },
  INT32: { bytes: 4, dtype: 'int32', make: (b, o, n) => new Int32Array(b, o, n), is: (a) => a instanceof Int32Array },
  INT64: { bytes: 8, dtype: 'int64', make: (b, o, n) => new BigInt64Array(b, o, n), is: (a) => a instanceof BigInt64Array },
  INT16: { bytes: 2, dtype: 'int16', make: (b, o, n) => new Int16Array(b, o, n), is: (a) => a instanceof Int16Array },
  INT8: { bytes: 1, dtype: 'int8', make: (b, o, n) => new Int8Array(b, o, n), is: (a) => a instanceof Int8Array },
  UINT8: { bytes: 1, dtype: 'uint8', make: (b, o, n) => new Uint8Array(b, o, n), is: (a) => a instanceof Uint8Array },
  BOOL: { bytes: 1, dtype: 'bool', make: (b, o, n) => new Uint8Array(b, o, n), is: (a) => a instanceof Uint8Array },
  FLOAT16: { bytes: 2, dtype: 'float16', make: (b, o, n) => new Uint16Array(b, o, n), is: (a) => a instanceof Uint16Array },
  BFLOAT16: { bytes: 2, dtype: 'bfloat16', make: (b, o, n) => new Uint16Array(b, o, n), is: (a) => a instanceof Uint16Array },
};

/** Types an activation (a tensor computed at run time) may have. */
export const ACTIVATION_TYPES: readonly TensorTypeName[] = ['FLOAT32', 'INT32', 'INT64', 'INT16', 'INT8', 'UINT8', 'BOOL'];

function info(type: TensorTypeName): TypeInfo {
  const t = TYPES[type];
  if (!t) throw new UsageError(`tensors of type ${type} are not supported by the interpreter`);
  return t;
}

export function typeBytes(type: TensorTypeName): number {
  return info(type).bytes;
}

/** NumPy name of a tensor type: FLOAT32 -> 'float32', BOOL -> 'bool'. */
export function dtypeName(type: TensorTypeName): string {
  return TYPES[type]?.dtype ?? type.toLowerCase();
}

/** A typed array of `type` over existing memory. */
export function typedView(type: TensorTypeName, buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray {
  return info(type).make(buffer, byteOffset, length);
}

/** A fresh zero-filled typed array of `type`. */
export function allocTyped(type: TensorTypeName, length: number): TypedArray {
  const bytes = typeBytes(type);
  return typedView(type, new ArrayBuffer(Math.max(length * bytes, 0)), 0, length);
}

/** Whether a caller's array has the element type a tensor of `type` needs. */
export function arrayMatchesType(a: TypedArray, type: TensorTypeName): boolean {
  return TYPES[type]?.is(a) ?? false;
}
