/**
 * SLICE and STRIDED_SLICE with TFLite semantics. `stridedSliceRanges`
 * turns the op's begin/end/strides and bit masks into one (start, stride,
 * count) per input dim plus the output shape; `sliceStrided` copies them.
 *
 * Masks (bit i refers to position i of begin/end/strides):
 * - begin_mask / end_mask: ignore begin[i] / end[i], take the full range;
 * - ellipsis_mask: position i stands for as many full dims as needed;
 * - new_axis_mask: position i inserts a dim of size 1;
 * - shrink_axis_mask: take the single element begin[i] and drop the dim;
 * - offset: end[i] counts from the (resolved) begin[i].
 */
import { UsageError } from '../../errors.js';
import { stridesOf } from './tensor.js';
import { emptyTensorLike, type TypedArray, type TypedTensor } from './typed-tensor.js';

export interface DimRange {
  readonly start: number;
  readonly stride: number;
  readonly count: number;
}

export interface StridedSliceMasks {
  readonly beginMask?: number;
  readonly endMask?: number;
  readonly ellipsisMask?: number;
  readonly newAxisMask?: number;
  readonly shrinkAxisMask?: number;
  readonly offset?: boolean;
}

/** Copies the elements picked by one range per dim, in row-major order, into a tensor of `shape`. */
export function sliceStrided<T extends TypedArray>(x: TypedTensor<T>, ranges: readonly DimRange[], shape: readonly number[]): TypedTensor<T> {
  const rank = x.shape.length;
  if (ranges.length !== rank) throw new UsageError(`slice needs ${rank} ranges, got ${ranges.length}`);
  const out = emptyTensorLike(x.data, shape);
  if (out.data.length === 0) return out;
  const strides = stridesOf(x.shape);
  const src = x.data as TypedArray;
  const dst = out.data as TypedArray;
  let o = 0;
  const walk = (d: number, base: number): void => {
    const r = ranges[d]!;
    if (d === rank - 1) {
      for (let i = 0; i < r.count; i++) dst[o++] = src[base + (r.start + i * r.stride) * strides[d]!]!;
      return;
    }
    for (let i = 0; i < r.count; i++) walk(d + 1, base + (r.start + i * r.stride) * strides[d]!);
  };
  if (rank === 0) dst[0] = src[0]!;
  else walk(0, 0);
  return out;
}

/** SLICE: `size[i]` = -1 takes the rest of dim i. */
export function slice<T extends TypedArray>(x: TypedTensor<T>, begin: readonly number[], size: readonly number[]): TypedTensor<T> {
  const rank = x.shape.length;
  if (begin.length !== rank || size.length !== rank) {
    throw new UsageError(`slice of [${x.shape.join(', ')}] needs ${rank} begins and sizes, got [${begin.join(', ')}] and [${size.join(', ')}]`);
  }
  const ranges = x.shape.map((dim, i) => {
    const start = begin[i]!;
    const count = size[i] === -1 ? dim - start : size[i]!;
    if (!(start >= 0 && count >= 0 && start + count <= dim)) {
      throw new UsageError(`slice begin ${start} size ${size[i]} is outside dim ${i} of [${x.shape.join(', ')}]`);
    }
    return { start, stride: 1, count };
  });
  return sliceStrided(x, ranges, ranges.map((r) => r.count));
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}

/** Resolves STRIDED_SLICE's arguments against an input shape (TFLite's strided_slice_logic). */
export function stridedSliceRanges(
  inputShape: readonly number[],
  begin: readonly number[],
  end: readonly number[],
  strides: readonly number[],
  masks: StridedSliceMasks = {},
): { ranges: DimRange[]; outputShape: number[] } {
  const n = begin.length;
  if (end.length !== n || strides.length !== n) {
    throw new UsageError(`strided slice: begin, end and strides differ in length (${n}, ${end.length}, ${strides.length})`);
  }
  const bit = (mask: number | undefined, i: number): boolean => ((mask ?? 0) >> i) % 2 !== 0;
  // Expand ellipsis and new axes into a list of per-input-dim specs.
  const newAxes = Array.from({ length: n }, (_, i) => bit(masks.newAxisMask, i) && !bit(masks.ellipsisMask, i)).filter(Boolean).length;
  const rank = inputShape.length;
  type Spec = { kind: 'full' } | { kind: 'new' } | { kind: 'index'; i: number };
  const specs: Spec[] = [];
  let sawEllipsis = false;
  for (let i = 0; i < n; i++) {
    if (bit(masks.ellipsisMask, i)) {
      if (sawEllipsis) throw new UsageError('strided slice: more than one ellipsis');
      sawEllipsis = true;
      const explicit = n - 1 - newAxes;
      const fill = rank - explicit;
      if (fill < 0) throw new UsageError(`strided slice: ${n} specs for rank ${rank}`);
      for (let k = 0; k < fill; k++) specs.push({ kind: 'full' });
    } else if (bit(masks.newAxisMask, i)) specs.push({ kind: 'new' });
    else specs.push({ kind: 'index', i });
  }
  const consumed = specs.filter((s) => s.kind !== 'new').length;
  if (consumed > rank) throw new UsageError(`strided slice: ${consumed} dims sliced but the input [${inputShape.join(', ')}] has ${rank}`);
  for (let k = consumed; k < rank; k++) specs.push({ kind: 'full' });

  const ranges: DimRange[] = [];
  const outputShape: number[] = [];
  let d = 0;
  for (const spec of specs) {
    if (spec.kind === 'new') {
      outputShape.push(1);
      continue;
    }
    const dim = inputShape[d++]!;
    if (spec.kind === 'full') {
      ranges.push({ start: 0, stride: 1, count: dim });
      outputShape.push(dim);
      continue;
    }
    const i = spec.i;
    const stride = strides[i]!;
    if (stride === 0) throw new UsageError('strided slice: stride 0');
    if (bit(masks.shrinkAxisMask, i)) {
      let start = begin[i]!;
      if (start < 0) start += dim;
      if (!(start >= 0 && start < dim)) throw new UsageError(`strided slice: index ${begin[i]} is outside dim of size ${dim}`);
      ranges.push({ start, stride: 1, count: 1 });
      continue;
    }
    let start: number;
    let stop: number;
    if (bit(masks.beginMask, i)) start = stride > 0 ? 0 : dim - 1;
    else {
      start = begin[i]!;
      if (start < 0) start += dim;
      start = stride > 0 ? clamp(start, 0, dim) : clamp(start, -1, dim - 1);
    }
    if (bit(masks.endMask, i)) stop = stride > 0 ? dim : -1;
    else {
      stop = end[i]!;
      if (masks.offset) stop += start;
      else if (stop < 0) stop += dim;
      stop = stride > 0 ? clamp(stop, 0, dim) : clamp(stop, -1, dim - 1);
    }
    const count = stride > 0 ? Math.max(0, Math.ceil((stop - start) / stride)) : Math.max(0, Math.ceil((start - stop) / -stride));
    ranges.push({ start, stride, count });
    outputShape.push(count);
  }
  return { ranges, outputShape };
}
