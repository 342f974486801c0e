import { bf16ArrayToF32, f16ArrayToF32 } from './half.js';

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element of each dtype we accept. */
export const SAFETENSORS_DTYPE_SIZE: Readonly<Record<SafetensorsDType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export function isSafetensorsDType(x: unknown): x is SafetensorsDType {
  return typeof x === 'string' && Object.hasOwn(SAFETENSORS_DTYPE_SIZE, x);
}

/** The natural typed array for each dtype (F16/BF16: the raw 16-bit patterns). */
export type SafetensorsTypedArray =
  | Float64Array
  | Float32Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

/**
 * Views little-endian tensor bytes as their natural typed array. `bytes` must
 * start at an offset aligned for the element size (readAt's buffers always do).
 */
export function viewTyped(dtype: SafetensorsDType, bytes: Uint8Array): SafetensorsTypedArray {
  const { buffer, byteOffset, byteLength } = bytes;
  const n = byteLength / SAFETENSORS_DTYPE_SIZE[dtype];
  switch (dtype) {
    case 'F64':
      return new Float64Array(buffer, byteOffset, n);
    case 'F32':
      return new Float32Array(buffer, byteOffset, n);
    case 'F16':
    case 'BF16':
      return new Uint16Array(buffer, byteOffset, n);
    case 'I64':
      return new BigInt64Array(buffer, byteOffset, n);
    case 'I32':
      return new Int32Array(buffer, byteOffset, n);
    case 'I16':
      return new Int16Array(buffer, byteOffset, n);
    case 'I8':
      return new Int8Array(buffer, byteOffset, n);
    case 'U8':
    case 'BOOL':
      return new Uint8Array(buffer, byteOffset, n);
  }
}

/**
 * Converts tensor bytes of any dtype to float32: floats round to nearest,
 * integers convert exactly up to 2^24 in magnitude (rounded beyond), BOOL
 * gives 0 or 1 (any non-zero byte counts as true).
 */
export function bytesToFloat32(dtype: SafetensorsDType, bytes: Uint8Array): Float32Array {
  const typed = viewTyped(dtype, bytes);
  switch (dtype) {
    case 'F32':
      return typed as Float32Array;
    case 'F16':
      return f16ArrayToF32(typed as Uint16Array);
    case 'BF16':
      return bf16ArrayToF32(typed as Uint16Array);
    case 'I64': {
      const src = typed as BigInt64Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = Number(src[i]!);
      return out;
    }
    case 'BOOL': {
      const src = typed as Uint8Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = src[i] === 0 ? 0 : 1;
      return out;
    }
    default:
      return Float32Array.from(typed as Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array);
  }
}
