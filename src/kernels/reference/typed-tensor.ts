/**
 * A tensor of any element type, for the data-movement kernels (pad, slice,
 * concatenation, gather, ...) that must also carry int32 shapes and indices.
 * Same conventions as Tensor: dense, row-major, every result a fresh array.
 */
import { sizeOf } from './tensor.js';

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | Uint16Array
  | BigInt64Array;

export interface TypedTensor<T extends TypedArray = TypedArray> {
  readonly data: T;
  readonly shape: readonly number[];
}

/** A zero-filled array of the same element type as `like`, with `length` elements. */
export function allocLike<T extends TypedArray>(like: T, length: number): T {
  const Ctor = like.constructor as new (n: number) => T;
  return new Ctor(length);
}

/** A zero-filled tensor of `shape` with the element type of `like`. */
export function emptyTensorLike<T extends TypedArray>(like: T, shape: readonly number[]): TypedTensor<T> {
  return { data: allocLike(like, sizeOf(shape)), shape: [...shape] };
}
