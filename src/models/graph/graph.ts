/**
 * A typed layer over the TFLite writer's SubgraphBuilder: each method adds
 * one builtin operator, infers its output shape (-1 = dynamic dimension)
 * and returns the output as a `Tensor` handle. Builders read like PyTorch's
 * forward() with a shape comment per line.
 *
 * Small constants (axes, shapes, scalars) are shared: asking twice for the
 * same values gives the same tensor.
 */
import { UsageError } from '../../errors.js';
import type { SubgraphBuilder, TfliteModelBuilder } from '../../tflite/writer.js';
import type { TensorTypeName } from '../../tflite/types.js';

export interface Tensor {
  readonly id: number;
  /** -1 marks a dimension only known at run time. */
  readonly shape: readonly number[];
  readonly type: TensorTypeName;
}

const bytesOf = (a: Float32Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** NumPy broadcasting of two shapes, with -1 for dimensions unknown at build time. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x === 1) out.push(y);
    else if (y === 1 || x === y) out.push(x);
    else if (x === -1) out.push(y);
    else if (y === -1) out.push(x);
    else throw new UsageError(`cannot broadcast [${a.join(', ')}] with [${b.join(', ')}]`);
  }
  return out;
}

export class Graph {
  private readonly shared = new Map<string, Tensor>();
  private readonly nameCounts = new Map<string, number>();
  /** Prefix of the names of the tensors added next (the module being built). */
  scope = '';

  constructor(
    readonly model: TfliteModelBuilder,
    readonly sg: SubgraphBuilder,
  ) {}

  /** Runs `body` with tensor names prefixed by `name` (a checkpoint module path). */
  within<R>(name: string, body: () => R): R {
    const saved = this.scope;
    this.scope = name;
    try {
      return body();
    } finally {
      this.scope = saved;
    }
  }

  private uniqueName(what: string): string {
    const base = this.scope ? `${this.scope}/${what}` : what;
    const n = this.nameCounts.get(base) ?? 0;
    this.nameCounts.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  }

  /** A new activation tensor named after the current scope. */
  tensor(what: string, shape: readonly number[], type: TensorTypeName = 'FLOAT32'): Tensor {
    return { id: this.sg.addTensor(this.uniqueName(what), type, shape), shape: [...shape], type };
  }

  /** `defaultShape`: the sizes a runtime that does not resize sees for the -1 dimensions (default 1). */
  input(name: string, type: TensorTypeName, shape: readonly number[], defaultShape?: readonly number[]): Tensor {
    return { id: this.sg.addInput(name, type, shape, { defaultShape }), shape: [...shape], type };
  }

  markOutput(t: Tensor, defaultShape?: readonly number[]): void {
    if (defaultShape) this.sg.setDefaultShape(t.id, defaultShape);
    this.sg.markOutput(t.id);
  }

  // ---- constants ----

  /** An INT32 constant vector (axes, shapes, paddings), shared by value. */
  int32(values: readonly number[], shape: readonly number[] = [values.length]): Tensor {
    const key = `i32:${shape.join('x')}:${values.join(',')}`;
    let t = this.shared.get(key);
    if (!t) {
      const id = this.sg.addConstant(`const_i32_${this.shared.size}`, 'INT32', shape, bytesOf(Int32Array.from(values)));
      t = { id, shape: [...shape], type: 'INT32' };
      this.shared.set(key, t);
    }
    return t;
  }

  /** A FLOAT32 constant scalar, shared by value. */
  scalar(value: number): Tensor {
    return this.floatConstant([], [value]);
  }

  /** A small FLOAT32 constant, shared by value (masks, epsilons). */
  floatConstant(shape: readonly number[], values: ArrayLike<number>): Tensor {
    const data = Float32Array.from(values);
    const key = `f32:${shape.join('x')}:${Buffer.from(data.buffer).toString('base64')}`;
    let t = this.shared.get(key);
    if (!t) {
      const id = this.sg.addConstant(`const_f32_${this.shared.size}`, 'FLOAT32', shape, bytesOf(data));
      t = { id, shape: [...shape], type: 'FLOAT32' };
      this.shared.set(key, t);
    }
    return t;
  }

  /** A FLOAT32 constant of zeros, shared by shape; its bytes are produced when the file is written. */
  zeros(shape: readonly number[]): Tensor {
    const key = `zeros:${shape.join('x')}`;
    let t = this.shared.get(key);
    if (!t) {
      const byteLength = 4 * shape.reduce((a, b) => a * b, 1);
      const chunk = new Uint8Array(Math.min(byteLength, 1 << 20));
      const produce = (emit: (c: Uint8Array) => void) => {
        for (let at = 0; at < byteLength; at += chunk.length) emit(chunk.subarray(0, Math.min(chunk.length, byteLength - at)));
      };
      const id = this.sg.addConstant(`zeros_${shape.join('x')}`, 'FLOAT32', shape, { byteLength, produce });
      t = { id, shape: [...shape], type: 'FLOAT32' };
      this.shared.set(key, t);
    }
    return t;
  }

  // ---- element-wise ----

  private binary(op: 'ADD' | 'SUB' | 'MUL' | 'SQUARED_DIFFERENCE' | 'MAXIMUM' | 'MINIMUM', a: Tensor, b: Tensor): Tensor {
    const y = this.tensor(op.toLowerCase(), broadcastShapes(a.shape, b.shape), a.type);
    this.sg.addOperator(op, [a.id, b.id], [y.id]);
    return y;
  }

  add(a: Tensor, b: Tensor): Tensor {
    return this.binary('ADD', a, b);
  }
  sub(a: Tensor, b: Tensor): Tensor {
    return this.binary('SUB', a, b);
  }
  mul(a: Tensor, b: Tensor): Tensor {
    return this.binary('MUL', a, b);
  }
  squaredDifference(a: Tensor, b: Tensor): Tensor {
    return this.binary('SQUARED_DIFFERENCE', a, b);
  }
  maximum(a: Tensor, b: Tensor): Tensor {
    return this.binary('MAXIMUM', a, b);
  }
  minimum(a: Tensor, b: Tensor): Tensor {
    return this.binary('MINIMUM', a, b);
  }

  private unary(op: 'LOGISTIC' | 'RSQRT' | 'EXP', x: Tensor): Tensor {
    const y = this.tensor(op.toLowerCase(), x.shape);
    this.sg.addOperator(op, [x.id], [y.id]);
    return y;
  }

  logistic(x: Tensor): Tensor {
    return this.unary('LOGISTIC', x);
  }
  rsqrt(x: Tensor): Tensor {
    return this.unary('RSQRT', x);
  }
  exp(x: Tensor): Tensor {
    return this.unary('EXP', x);
  }

  /** GELU with erf (approximate = false), as torch.nn.functional.gelu. */
  gelu(x: Tensor): Tensor {
    const y = this.tensor('gelu', x.shape);
    this.sg.addOperator('GELU', [x.id], [y.id], { approximate: false });
    return y;
  }

  softmax(x: Tensor): Tensor {
    const y = this.tensor('softmax', x.shape);
    this.sg.addOperator('SOFTMAX', [x.id], [y.id], { beta: 1 });
    return y;
  }

  /** Converts a FLOAT16 or quantized INT8 constant to FLOAT32. */
  dequantize(x: Tensor, name: string): Tensor {
    const y: Tensor = { id: this.sg.addTensor(name, 'FLOAT32', x.shape), shape: [...x.shape], type: 'FLOAT32' };
    this.sg.addOperator('DEQUANTIZE', [x.id], [y.id]);
    return y;
  }

  // ---- shape ----

  /** Mean over `axes` (negative axes count from the end). */
  mean(x: Tensor, axes: readonly number[], keepDims = true): Tensor {
    const rank = x.shape.length;
    const norm = axes.map((a) => (a < 0 ? a + rank : a));
    const shape = keepDims ? x.shape.map((d, i) => (norm.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !norm.includes(i));
    const y = this.tensor('mean', shape);
    this.sg.addOperator('MEAN', [x.id, this.int32(norm).id], [y.id], { keepDims });
    return y;
  }

  /** RESHAPE to a shape given in full, with at most one -1 (inferred at run time). */
  reshape(x: Tensor, shape: readonly number[]): Tensor {
    if (shape.filter((d) => d === -1).length > 1) throw new UsageError(`reshape to [${shape.join(', ')}]: more than one -1`);
    let outShape = [...shape];
    const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    if (shape.includes(-1) && !x.shape.includes(-1)) {
      const total = x.shape.reduce((a, b) => a * b, 1);
      outShape = shape.map((d) => (d === -1 ? total / known : d));
    }
    const y = this.tensor('reshape', outShape, x.type);
    this.sg.addOperator('RESHAPE', [x.id, this.int32(shape).id], [y.id], { newShape: [...shape] });
    return y;
  }

  /**
   * RESHAPE `x` to [its batch, ...rest] (`rest` with at most one -1). When
   * both the batch and a dimension of `rest` are unknown at build time, the
   * batch comes from SHAPE at run time (RESHAPE takes one -1 only).
   */
  reshapeKeepingBatch(x: Tensor, rest: readonly number[]): Tensor {
    const n = x.shape[0]!;
    if (n !== -1) return this.reshape(x, [n, ...rest]);
    if (!rest.includes(-1)) return this.reshape(x, [-1, ...rest]);
    const batch = this.tensor('batch', [1], 'INT32');
    this.sg.addOperator('STRIDED_SLICE', [this.shapeOf(x).id, this.int32([0]).id, this.int32([1]).id, this.int32([1]).id], [batch.id]);
    const shape = this.tensor('new_shape', [1 + rest.length], 'INT32');
    this.sg.addOperator('CONCATENATION', [batch.id, this.int32(rest).id], [shape.id], { axis: 0 });
    const y = this.tensor('reshape', [-1, ...rest], x.type);
    this.sg.addOperator('RESHAPE', [x.id, shape.id], [y.id]);
    return y;
  }

  /**
   * RESHAPE `x` to the run-time shape of `like` (which has the same number
   * of elements): through SHAPE when more than one dimension is only known
   * at run time.
   */
  reshapeLike(x: Tensor, like: Tensor): Tensor {
    if (like.shape.filter((d) => d === -1).length <= 1) return this.reshape(x, like.shape);
    const y = this.tensor('reshape', like.shape, x.type);
    this.sg.addOperator('RESHAPE', [x.id, this.shapeOf(like).id], [y.id]);
    return y;
  }

  /** SHAPE: the run-time shape of `x` as INT32 [rank]. */
  shapeOf(x: Tensor): Tensor {
    const y = this.tensor('shape', [x.shape.length], 'INT32');
    // out_type spelled out: TFLite's SHAPE kernel fails without the options table.
    this.sg.addOperator('SHAPE', [x.id], [y.id], { outType: 'INT32' });
    return y;
  }

  transpose(x: Tensor, perm: readonly number[]): Tensor {
    const y = this.tensor('transpose', perm.map((p) => x.shape[p]!), x.type);
    this.sg.addOperator('TRANSPOSE', [x.id, this.int32(perm).id], [y.id]);
    return y;
  }

  /** [N, C, H, W] → [N, H, W, C] (signature inputs are NCHW, as in PyTorch). */
  nchwToNhwc(x: Tensor): Tensor {
    return this.transpose(x, [0, 2, 3, 1]);
  }

  /** [N, H, W, C] → [N, C, H, W] */
  nhwcToNchw(x: Tensor): Tensor {
    return this.transpose(x, [0, 3, 1, 2]);
  }

  concat(xs: readonly Tensor[], axis: number): Tensor {
    const rank = xs[0]!.shape.length;
    const a = axis < 0 ? axis + rank : axis;
    const shape = xs[0]!.shape.map((d, i) => {
      if (i !== a) return d;
      return xs.some((x) => x.shape[i] === -1) ? -1 : xs.reduce((s, x) => s + x.shape[i]!, 0);
    });
    const y = this.tensor('concat', shape, xs[0]!.type);
    this.sg.addOperator('CONCATENATION', xs.map((x) => x.id), [y.id], { axis: a });
    return y;
  }

  /** PAD with zeros; `pads` holds [before, after] per dimension. */
  pad(x: Tensor, pads: readonly (readonly [number, number])[]): Tensor {
    const shape = x.shape.map((d, i) => (d === -1 ? -1 : d + pads[i]![0] + pads[i]![1]));
    const y = this.tensor('pad', shape);
    this.sg.addOperator('PAD', [x.id, this.int32(pads.flat(), [pads.length, 2]).id], [y.id]);
    return y;
  }

  /** GATHER along `axis` of `params` with integer `indices`. */
  gather(params: Tensor, indices: Tensor, axis: number): Tensor {
    const shape = [...params.shape.slice(0, axis), ...indices.shape, ...params.shape.slice(axis + 1)];
    const y = this.tensor('gather', shape, params.type);
    this.sg.addOperator('GATHER', [params.id, indices.id], [y.id], { axis, batchDims: 0 });
    return y;
  }

  /** Nearest-neighbour 2x upsampling of NHWC `x` (torch's F.interpolate(scale_factor=2, mode='nearest')). */
  upsampleNearest2x(x: Tensor): Tensor {
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const twice = (d: number) => (d === -1 ? -1 : 2 * d);
    let size: Tensor;
    if (h !== -1 && w !== -1) size = this.int32([2 * h, 2 * w]);
    else {
      // size = shape(x)[1:3] * 2, computed at run time.
      const hw = this.tensor('hw', [2], 'INT32');
      this.sg.addOperator('STRIDED_SLICE', [this.shapeOf(x).id, this.int32([1]).id, this.int32([3]).id, this.int32([1]).id], [hw.id]);
      size = this.tensor('size', [2], 'INT32');
      this.sg.addOperator('MUL', [hw.id, this.int32([2, 2]).id], [size.id]);
    }
    const y = this.tensor('upsample', [n, twice(h), twice(w), c]);
    this.sg.addOperator('RESIZE_NEAREST_NEIGHBOR', [x.id, size.id], [y.id], { alignCorners: false, halfPixelCenters: false });
    return y;
  }

  // ---- dense ----

  /** x [..., in] · w[out, in]ᵀ + b → [..., out] (keep_num_dims). */
  fullyConnected(x: Tensor, w: Tensor, b: Tensor | undefined): Tensor {
    const y = this.tensor('fully_connected', [...x.shape.slice(0, -1), w.shape[0]!]);
    this.sg.addOperator('FULLY_CONNECTED', [x.id, w.id, b ? b.id : -1], [y.id], { keepNumDims: true });
    return y;
  }

  /** CONV_2D on NHWC `x` with an OHWI filter; `padding` SAME or VALID (pad explicitly for anything else). */
  conv2d(x: Tensor, w: Tensor, b: Tensor, stride: number, padding: 'SAME' | 'VALID'): Tensor {
    const [n, h, wd] = x.shape as [number, number, number];
    const [o, kh, kw] = w.shape as [number, number, number];
    const outDim = (d: number, k: number) => (d === -1 ? -1 : padding === 'SAME' ? Math.ceil(d / stride) : Math.floor((d - k) / stride) + 1);
    const y = this.tensor('conv2d', [n, outDim(h, kh), outDim(wd, kw), o]);
    this.sg.addOperator('CONV_2D', [x.id, w.id, b.id], [y.id], { padding, strideW: stride, strideH: stride });
    return y;
  }

  /** a · b (adjY: b transposed in its last two dimensions), batch dimensions broadcast. */
  batchMatmul(a: Tensor, b: Tensor, adjY: boolean): Tensor {
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const cols = adjY ? b.shape[b.shape.length - 2]! : b.shape[b.shape.length - 1]!;
    const y = this.tensor('batch_matmul', [...batch, a.shape[a.shape.length - 2]!, cols]);
    this.sg.addOperator('BATCH_MATMUL', [a.id, b.id], [y.id], { adjX: false, adjY });
    return y;
  }
}
