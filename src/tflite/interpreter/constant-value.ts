/**
 * A constant tensor's data, decoded once at load and kept in its storage
 * type: FLOAT32 as is; FLOAT16/BFLOAT16 and quantized INT8/UINT8/INT16
 * weights stay compact. `float32()` widens or dequantizes on first use and
 * caches the result; the reference kernels call it, while a fast kernel may
 * read `raw` + `quantization` and expand inside its weight packing so the
 * float32 copy is never made.
 *
 * A DEQUANTIZE whose input is constant is folded at load into a
 * ConstantValue of logical type FLOAT32 over the same compact storage.
 *
 * A streamed constant (big weights of a big file, see LoadedModel) holds no
 * bytes: `raw` reads them from the file on every access and nothing is
 * cached, so the process keeps no copy of the weights; fast kernels pack them
 * into kernel memory per run (src/kernels/wasm/gemm-pack.ts).
 */
import { bf16ArrayToF32, f16ArrayToF32 } from '../../io/half.js';
import type { TypedArray } from '../../kernels/reference/typed-tensor.js';
import type { Quantization } from '../model.js';
import type { TensorTypeName } from '../types.js';

export class ConstantValue {
  private expanded: Float32Array | undefined;

  constructor(
    /** Element type of `raw`. */
    readonly storageType: TensorTypeName,
    /** The stored values, or (streamed) a function reading them afresh from the file. */
    private readonly storage: TypedArray | (() => TypedArray),
    readonly shape: readonly number[],
    /** Type the graph sees: FLOAT32 for a folded DEQUANTIZE, else storageType. */
    readonly logicalType: TensorTypeName = storageType,
    readonly quantization?: Quantization,
    /**
     * Streamed only: reads the values into a buffer that the next such read
     * of the same model reuses (no garbage per use); `source` returns it.
     */
    private readonly transient?: () => TypedArray,
  ) {}

  /** The stored values (a fresh read from the file for a streamed constant: keep it only as long as needed). */
  get raw(): TypedArray {
    return typeof this.storage === 'function' ? this.storage() : this.storage;
  }

  /**
   * When the constant is streamed from its file: a function reading the
   * values again. What it returns may be a shared buffer that the model's
   * next streamed read overwrites: use it at once (e.g. to pack weights).
   */
  get source(): (() => TypedArray) | undefined {
    if (typeof this.storage !== 'function') return undefined;
    return this.transient ?? this.storage;
  }

  /** The same storage seen as `logicalType` (a folded DEQUANTIZE); a streamed constant stays streamed. */
  withLogicalType(logicalType: TensorTypeName): ConstantValue {
    return new ConstantValue(this.storageType, this.storage, this.shape, logicalType, this.quantization, this.transient);
  }

  /** The values the graph sees: float32 for a logical FLOAT32 constant, else the raw integers. */
  values(): TypedArray {
    return this.logicalType === 'FLOAT32' ? this.float32() : this.raw;
  }

  /** Values as float32, widened or dequantized (f = scale * (q - zero_point), per tensor or per channel). */
  float32(): Float32Array {
    const raw = this.raw;
    if (raw instanceof Float32Array) return raw;
    if (this.source) return this.expand(raw); // streamed: no cached copy either
    this.expanded ??= this.expand(raw);
    return this.expanded;
  }

  private expand(raw: TypedArray): Float32Array {
    if (this.storageType === 'FLOAT16') return f16ArrayToF32(raw as Uint16Array);
    if (this.storageType === 'BFLOAT16') return bf16ArrayToF32(raw as Uint16Array);
    const q = this.quantization;
    const out = new Float32Array(raw.length);
    if (!q || q.scale.length === 0) {
      for (let i = 0; i < out.length; i++) out[i] = Number(raw[i]!);
      return out;
    }
    // Per-channel: the channel of flat index i along quantizedDimension.
    const dim = q.scale.length > 1 ? q.quantizedDimension : -1;
    let inner = 1;
    for (let d = dim + 1; d < this.shape.length && dim >= 0; d++) inner *= this.shape[d]!;
    const channels = q.scale.length;
    for (let i = 0; i < out.length; i++) {
      const c = dim < 0 ? 0 : Math.floor(i / inner) % channels;
      out[i] = q.scale[c]! * (Number(raw[i]!) - (q.zeroPoint[c] ?? 0));
    }
    return out;
  }
}
