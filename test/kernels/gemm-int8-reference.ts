/**
 * Plain reference of the hybrid int8 GEMM (src/kernels/wasm/gemm-int8.ts),
 * shared by its kernel and op tests.
 */
import type { ActivationQuantization, Int8Layout, Int8Weights } from '../../src/kernels/wasm/gemm-int8-pack.js';

/** How activation rows are quantized (a PackedGemmInt8 has these fields). */
export interface Quantization { layout: Int8Layout; activations: ActivationQuantization; activationBits: number }

const f = Math.fround;

/** Round half to even (WebAssembly's nearest). */
function nearest(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Plain reference of the hybrid GEMM, written from its definition: per row
 * f32 scale and zero point, q = clamp(nearest(x · (1/scale)) + zp), exact
 * integer sums, then f32(acc - zp·Σw) · (scale · wscale) + bias, clamped.
 */
export function referenceInt8(
  a: Float32Array, lda: number, m: number, w: Int8Weights, packing: Quantization, clamp: [number, number] = [-Infinity, Infinity],
): Float32Array {
  const { k, n } = w;
  const sym = packing.activations === 'symmetric';
  const bits = packing.layout === 'u7' ? 7 : packing.activationBits;
  // 'u7': [0, 127] (symmetric [1, 127] around 64); 'i16': signed `bits`-bit integers (symmetric without the lowest).
  const qmax = packing.layout === 'u7' ? 127 : 2 ** (bits - 1) - 1;
  const qmin = packing.layout === 'u7' ? (sym ? 1 : 0) : sym ? -qmax : -qmax - 1;
  const half = Math.floor((qmax - qmin) / 2);
  const c = new Float32Array(m * n);
  for (let r = 0; r < m; r++) {
    let lo = 0, hi = 0;
    for (let i = 0; i < k; i++) {
      lo = Math.min(lo, a[r * lda + i]!);
      hi = Math.max(hi, a[r * lda + i]!);
    }
    let scale = sym ? f(Math.max(-lo, hi) / half) : f(f(hi - lo) / (qmax - qmin));
    if (!(scale > 0) || f(1 / scale) === Infinity) scale = 1; // all zeros, or too small to scale
    const zp = sym ? qmin + half : Math.min(qmax, Math.max(qmin, qmin - nearest(f(lo / scale))));
    const inv = f(1 / scale);
    const q = new Int32Array(k);
    for (let i = 0; i < k; i++) q[i] = Math.min(qmax, Math.max(qmin, nearest(f(a[r * lda + i]! * inv)) + zp));
    for (let col = 0; col < n; col++) {
      let acc = 0, sum = 0;
      for (let i = 0; i < k; i++) {
        acc += q[i]! * w.data[col * k + i]!;
        sum += w.data[col * k + i]!;
      }
      const ws = w.scales[w.scales.length === 1 ? 0 : col]!;
      let v = f(f(f(acc - zp * sum) * f(scale * ws)) + (w.bias ? w.bias[col]! : 0));
      v = Math.min(Math.max(v, clamp[0]), clamp[1]);
      c[r * n + col] = v;
    }
  }
  return c;
}
