/**
 * Plain float64 implementations of TFLite ops, written from the op
 * definitions for clarity, not speed: the independent reference that
 * Google's runtime (and ours) is checked against in tests. Layouts are
 * TFLite's: activations NHWC, CONV_2D filters OHWI, FULLY_CONNECTED weights
 * [out, in]. A tensor is {shape, data} with row-major data.
 */

export { uniform } from './random.js';

export interface F64Tensor {
  shape: number[];
  data: Float64Array;
}

export function tensor(shape: number[], data: ArrayLike<number>): F64Tensor {
  const t = { shape: [...shape], data: Float64Array.from(data) };
  if (t.data.length !== count(shape)) throw new Error(`shape [${shape}] does not fit ${t.data.length} values`);
  return t;
}

export function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** max |actual − expected| / max |expected|: the corpus manifest's rel_diff. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs ${expected.length}`);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    maxDiff = Number.isNaN(d) ? Infinity : Math.max(maxDiff, d);
    maxRef = Math.max(maxRef, Math.abs(expected[i]!));
  }
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

export type Padding = 'SAME' | 'VALID';
export type Activation = 'NONE' | 'RELU' | 'RELU6';

function activate(x: number, act: Activation): number {
  if (act === 'RELU') return Math.max(0, x);
  if (act === 'RELU6') return Math.min(6, Math.max(0, x));
  return x;
}

/** TFLite's output size and leading pad for one spatial dim. */
function window(inSize: number, k: number, stride: number, dilation: number, padding: Padding): { out: number; pad: number } {
  const eff = (k - 1) * dilation + 1;
  const out = padding === 'SAME' ? Math.ceil(inSize / stride) : Math.ceil((inSize - eff + 1) / stride);
  const total = Math.max(0, (out - 1) * stride + eff - inSize);
  return { out, pad: padding === 'SAME' ? Math.floor(total / 2) : 0 };
}

export interface Conv2dOptions {
  stride?: [number, number];
  dilation?: [number, number];
  padding: Padding;
  activation?: Activation;
}

/** CONV_2D: input [N,H,W,C], filter [O,KH,KW,C], bias [O]. */
export function conv2d(input: F64Tensor, filter: F64Tensor, bias: F64Tensor, o: Conv2dOptions): F64Tensor {
  const [n, h, w, c] = input.shape as [number, number, number, number];
  const [oc, kh, kw, fc] = filter.shape as [number, number, number, number];
  if (fc !== c) throw new Error(`filter has ${fc} input channels, input ${c}`);
  const [sh, sw] = o.stride ?? [1, 1];
  const [dh, dw] = o.dilation ?? [1, 1];
  const y = window(h, kh, sh, dh, o.padding);
  const x = window(w, kw, sw, dw, o.padding);
  const out = new Float64Array(n * y.out * x.out * oc);
  let at = 0;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < y.out; oy++)
      for (let ox = 0; ox < x.out; ox++)
        for (let f = 0; f < oc; f++) {
          let sum = bias.data[f]!;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh + ky * dh - y.pad;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * sw + kx * dw - x.pad;
              if (ix < 0 || ix >= w) continue;
              for (let ci = 0; ci < c; ci++) {
                sum += input.data[((b * h + iy) * w + ix) * c + ci]! * filter.data[((f * kh + ky) * kw + kx) * c + ci]!;
              }
            }
          }
          out[at++] = activate(sum, o.activation ?? 'NONE');
        }
  return { shape: [n, y.out, x.out, oc], data: out };
}

/** FULLY_CONNECTED without keep_num_dims: input [..., K] flattened to [M, K], weights [N, K]. */
export function fullyConnected(input: F64Tensor, weights: F64Tensor, bias: F64Tensor | undefined): F64Tensor {
  const [units, k] = weights.shape as [number, number];
  const m = input.data.length / k;
  const out = new Float64Array(m * units);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < units; j++) {
      let sum = bias ? bias.data[j]! : 0;
      for (let p = 0; p < k; p++) sum += input.data[i * k + p]! * weights.data[j * k + p]!;
      out[i * units + j] = sum;
    }
  return { shape: [m, units], data: out };
}

/** BATCH_MATMUL on rank-3 operands [B, M, K] x [B, K, N] (adj_x / adj_y transpose the last two dims); a batch of 1 broadcasts. */
export function batchMatmul(a: F64Tensor, b: F64Tensor, adjX = false, adjY = false): F64Tensor {
  const [ba, ra, ca] = a.shape as [number, number, number];
  const [bb, rb, cb] = b.shape as [number, number, number];
  const [m, k] = adjX ? [ca, ra] : [ra, ca];
  const [k2, n] = adjY ? [cb, rb] : [rb, cb];
  if (k !== k2 || (ba !== bb && ba !== 1 && bb !== 1)) throw new Error('batch_matmul shapes do not match');
  const batch = Math.max(ba, bb);
  const out = new Float64Array(batch * m * n);
  const aAt = (bi: number, i: number, p: number) => a.data[(ba === 1 ? 0 : bi) * ra * ca + (adjX ? p * ca + i : i * ca + p)]!;
  const bAt = (bi: number, p: number, j: number) => b.data[(bb === 1 ? 0 : bi) * rb * cb + (adjY ? j * cb + p : p * cb + j)]!;
  for (let bi = 0; bi < batch; bi++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) sum += aAt(bi, i, p) * bAt(bi, p, j);
        out[(bi * m + i) * n + j] = sum;
      }
  return { shape: [batch, m, n], data: out };
}

/** SOFTMAX over the last axis with TFLite's beta. */
export function softmax(x: F64Tensor, beta = 1): F64Tensor {
  const d = x.shape[x.shape.length - 1]!;
  const out = new Float64Array(x.data.length);
  for (let row = 0; row < x.data.length; row += d) {
    let max = -Infinity;
    for (let i = 0; i < d; i++) max = Math.max(max, x.data[row + i]!);
    let sum = 0;
    for (let i = 0; i < d; i++) sum += out[row + i] = Math.exp(beta * (x.data[row + i]! - max));
    for (let i = 0; i < d; i++) out[row + i]! /= sum;
  }
  return { shape: [...x.shape], data: out };
}

/** Elementwise binary op with numpy broadcasting (ADD, SUB, MUL, ...). */
export function broadcast(a: F64Tensor, b: F64Tensor, op: (x: number, y: number) => number): F64Tensor {
  const rank = Math.max(a.shape.length, b.shape.length);
  const pad = (s: number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const sa = pad(a.shape);
  const sb = pad(b.shape);
  const shape = sa.map((d, i) => {
    const e = sb[i]!;
    if (d !== e && d !== 1 && e !== 1) throw new Error(`cannot broadcast [${a.shape}] with [${b.shape}]`);
    return Math.max(d, e);
  });
  const ta = strides(sa).map((s, i) => (sa[i] === 1 ? 0 : s));
  const tb = strides(sb).map((s, i) => (sb[i] === 1 ? 0 : s));
  const out = new Float64Array(count(shape));
  const index = new Array<number>(rank).fill(0);
  for (let flat = 0; flat < out.length; flat++) {
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < rank; d++) {
      ia += index[d]! * ta[d]!;
      ib += index[d]! * tb[d]!;
    }
    out[flat] = op(a.data[ia]!, b.data[ib]!);
    for (let d = rank - 1; d >= 0 && ++index[d]! === shape[d]; d--) index[d] = 0;
  }
  return { shape, data: out };
}

export function map(x: F64Tensor, f: (v: number) => number): F64Tensor {
  return { shape: [...x.shape], data: x.data.map(f) };
}

/** MEAN over `axes`; keepDims keeps them as size 1. */
export function mean(x: F64Tensor, axes: number[], keepDims: boolean): F64Tensor {
  const rank = x.shape.length;
  const reduced = new Set(axes.map((a) => (a + rank) % rank));
  const keptShape = x.shape.map((d, i) => (reduced.has(i) ? 1 : d));
  const sums = new Float64Array(count(keptShape));
  const inner = strides(keptShape);
  const index = new Array<number>(rank).fill(0);
  for (let flat = 0; flat < x.data.length; flat++) {
    let o = 0;
    for (let d = 0; d < rank; d++) if (!reduced.has(d)) o += index[d]! * inner[d]!;
    sums[o]! += x.data[flat]!;
    for (let d = rank - 1; d >= 0 && ++index[d]! === x.shape[d]; d--) index[d] = 0;
  }
  const n = x.data.length / sums.length;
  const shape = keepDims ? keptShape : x.shape.filter((_, i) => !reduced.has(i));
  return { shape, data: sums.map((s) => s / n) };
}

export function transpose(x: F64Tensor, perm: number[]): F64Tensor {
  const shape = perm.map((p) => x.shape[p]!);
  const inStrides = strides(x.shape);
  const out = new Float64Array(x.data.length);
  const index = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < out.length; flat++) {
    let src = 0;
    for (let d = 0; d < shape.length; d++) src += index[d]! * inStrides[perm[d]!]!;
    out[flat] = x.data[src]!;
    for (let d = shape.length - 1; d >= 0 && ++index[d]! === shape[d]; d--) index[d] = 0;
  }
  return { shape, data: out };
}

export function concatenate(parts: F64Tensor[], axis: number): F64Tensor {
  const rank = parts[0]!.shape.length;
  const ax = (axis + rank) % rank;
  const outer = count(parts[0]!.shape.slice(0, ax));
  const shape = [...parts[0]!.shape];
  shape[ax] = parts.reduce((s, p) => s + p.shape[ax]!, 0);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const chunk = count(p.shape.slice(ax));
      out.push(...p.data.subarray(o * chunk, (o + 1) * chunk));
    }
  }
  return { shape, data: Float64Array.from(out) };
}

/** RESIZE_NEAREST_NEIGHBOR on NHWC, with TFLite's align_corners / half_pixel_centers rules. */
export function resizeNearest(x: F64Tensor, outH: number, outW: number, alignCorners: boolean, halfPixelCenters: boolean): F64Tensor {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const source = (o: number, inSize: number, outSize: number) => {
    const scale = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
    const offset = halfPixelCenters ? 0.5 : 0;
    const s = (o + offset) * scale;
    const i = alignCorners ? Math.round(s) : Math.floor(s);
    return Math.min(Math.max(i, 0), inSize - 1);
  };
  const out = new Float64Array(n * outH * outW * c);
  let at = 0;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < outH; oy++)
      for (let ox = 0; ox < outW; ox++) {
        const iy = source(oy, h, outH);
        const ix = source(ox, w, outW);
        for (let ci = 0; ci < c; ci++) out[at++] = x.data[((b * h + iy) * w + ix) * c + ci]!;
      }
  return { shape: [n, outH, outW, c], data: out };
}

/** GATHER along `axis` with integer indices (any shape). */
export function gather(x: F64Tensor, indices: { shape: number[]; data: ArrayLike<number> }, axis: number): F64Tensor {
  const ax = (axis + x.shape.length) % x.shape.length;
  const outer = count(x.shape.slice(0, ax));
  const inner = count(x.shape.slice(ax + 1));
  const size = x.shape[ax]!;
  const out = new Float64Array(outer * indices.data.length * inner);
  let at = 0;
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < indices.data.length; i++) {
      const src = (o * size + indices.data[i]!) * inner;
      for (let k = 0; k < inner; k++) out[at++] = x.data[src + k]!;
    }
  return { shape: [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)], data: out };
}

export const rsqrt = (v: number): number => 1 / Math.sqrt(v);
export const logistic = (v: number): number => 1 / (1 + Math.exp(-v));

/** GELU: exact x·Φ(x), or the tanh approximation when `approximate`. */
export function gelu(v: number, approximate: boolean): number {
  if (approximate) return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
  return 0.5 * v * (1 + erf(v / Math.SQRT2));
}

/** erf to about 1e-14: Taylor series near 0, continued fraction for erfc beyond. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 100; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))
  let t = ax;
  for (let k = 80; k >= 1; k--) t = ax + k / 2 / t;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / t;
  return Math.sign(x) * (1 - erfc);
}
