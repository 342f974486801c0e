/**
 * A tensor as the interpreter runs it: its current shape (set by shape
 * inference), and its data, which is either a constant decoded at load or
 * a view into the activation arena bound after memory planning.
 */
import { UsageError } from '../../errors.js';
import type { Tensor } from '../../kernels/reference/tensor.js';
import type { TypedArray, TypedTensor } from '../../kernels/reference/typed-tensor.js';
import type { Quantization } from '../model.js';
import { elementCount, type TensorTypeName } from '../types.js';
import type { ConstantValue } from './constant-value.js';

export class RuntimeTensor {
  shape: number[];
  constant: ConstantValue | undefined;
  private view: TypedArray | undefined;

  constructor(
    /** Index in its subgraph's tensor list (-1 for tensors the interpreter made up). */
    readonly index: number,
    readonly name: string,
    /** Element type the graph sees (a folded DEQUANTIZE output is FLOAT32 over compact storage). */
    readonly type: TensorTypeName,
    shape: readonly number[],
    /** Shape with -1 for dims that may change, when the file records one. */
    readonly shapeSignature?: readonly number[],
    readonly quantization?: Quantization,
  ) {
    this.shape = [...shape];
  }

  get isConstant(): boolean {
    return this.constant !== undefined;
  }

  get size(): number {
    return elementCount(this.shape);
  }

  /** The data: the constant's values, or the bound arena view. */
  get data(): TypedArray {
    if (this.constant) return this.constant.values();
    if (!this.view) throw new Error(`tensor ${this.name} has no memory bound (was the graph prepared?)`);
    return this.view;
  }

  bind(view: TypedArray | undefined): void {
    this.view = view;
  }

  f32(): Float32Array {
    const d = this.data;
    if (!(d instanceof Float32Array)) throw new UsageError(`tensor ${this.name} is ${this.type}, expected FLOAT32`);
    return d;
  }

  /** As the reference kernels take it. */
  asTensor(): Tensor {
    return { data: this.f32(), shape: this.shape };
  }

  typed(): TypedTensor {
    return { data: this.data, shape: this.shape };
  }

  /** Integer contents (INT32 or INT64), e.g. of a shape or axis tensor. */
  ints(): number[] {
    if (this.type !== 'INT32' && this.type !== 'INT64') {
      throw new UsageError(`tensor ${this.name} is ${this.type}, expected INT32 (shape, axis or index values)`);
    }
    return Array.from(this.data as ArrayLike<number | bigint>, Number);
  }

  describe(): string {
    return `${this.name} ${this.type} [${this.shape.join(', ')}]`;
  }
}
