/**
 * What hybrid int8 would cost in accuracy on a 3x3 convolution, so that an
 * int8 CONV_2D is only built where it can be both faster than the float
 * Winograd kernel and accurate (part of the `gemm-int8-accuracy` suite).
 *
 * A float64 simulation on SD-like data (SiLU of normal activations, weights
 * drawn as PyTorch's default init and quantized to int8 per output channel,
 * as the converter does), against the direct float64 convolution of the
 * dequantized int8 weights (the weight-only int8 result):
 * - direct (implicit GEMM) with each output pixel's 9·Cin input row
 *   quantized per row, as the hybrid GEMM does;
 * - Winograd F(4x4, 3x3) (the float kernel's points 0, ±1, 1/2, -2) and
 *   F(2x2, 3x3): input tiles transformed in float, each transformed row
 *   (tile, point) quantized over Cin, the transformed filter quantized
 *   symmetric per (point, output channel), integer dot products, float
 *   output transform.
 * Quantization error in the transformed domain is amplified by the output
 * transform (F(4x4)'s Aᵀ has entries up to 8), so Winograd needs many more
 * bits than the direct form for the same accuracy.
 */
/** One Winograd F(m x m, 3x3): Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A on (m+2)² input tiles. */
interface WinogradScheme {
  name: string;
  m: number;
  bt: number[][];
  g: number[][];
  at: number[][];
}

const F4: WinogradScheme = {
  name: 'F(4x4,3x3)',
  m: 4,
  bt: [[1, -1.5, -2, 1.5, 1, 0], [0, 1, -2.5, 0.5, 1, 0], [0, -1, 0.5, 2.5, 1, 0], [0, -2, -1, 2, 1, 0], [0, 0.5, -1, -0.5, 1, 0], [0, 1, -1.5, -2, 1.5, 1]],
  g: [[1, 0, 0], [-1 / 3, 1 / 3, -1 / 3], [1 / 3, 1 / 3, 1 / 3], [-16 / 15, -8 / 15, -4 / 15], [1 / 15, -2 / 15, 4 / 15], [0, 0, 1]],
  at: [[1, 1, 1, 1, 1, 0], [0, -1, 1, 0.5, -2, 0], [0, 1, 1, 0.25, 4, 0], [0, -1, 1, 0.125, -8, 1]],
};

const F2: WinogradScheme = {
  name: 'F(2x2,3x3)',
  m: 2,
  bt: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
  g: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  at: [[1, 1, 1, 0], [0, 1, -1, -1]],
};

/** The values of `v` after quantization to `bits` per row: asymmetric over [min(0, lo), max(0, hi)], or symmetric. */
function quantized(v: Float64Array, bits: number, symmetric: boolean): Float64Array {
  let lo = 0, hi = 0;
  for (const x of v) {
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  }
  const out = new Float64Array(v.length);
  if (symmetric) {
    const qmax = 2 ** (bits - 1) - 1;
    const s = Math.max(-lo, hi) / qmax || 1;
    for (let i = 0; i < v.length; i++) out[i] = Math.round(v[i]! / s) * s;
    return out;
  }
  const levels = 2 ** bits - 1;
  const s = (hi - lo) / levels || 1;
  const zp = Math.round(-lo / s);
  for (let i = 0; i < v.length; i++) out[i] = (Math.min(levels, Math.max(0, Math.round(v[i]! / s) + zp)) - zp) * s;
  return out;
}

function relativeL2(got: Float64Array, ref: Float64Array): number {
  let se = 0, sr = 0;
  for (let i = 0; i < ref.length; i++) {
    se += (got[i]! - ref[i]!) ** 2;
    sr += ref[i]! ** 2;
  }
  return Math.sqrt(se / sr);
}

interface Layer {
  size: number;
  cin: number;
  cout: number;
  /** NHWC [size, size, cin]. */
  x: Float64Array;
  /** Dequantized int8 filter, OHWI [cout, 3, 3, cin]. */
  w: Float64Array;
}

/** Uniform values in [0, 1) from a fixed seed (an LCG, as the other benchmarks). */
function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function sdLikeLayer(size: number, cin: number, cout: number): Layer {
  const rnd = uniform(7);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const x = Float64Array.from({ length: size * size * cin }, () => {
    const v = normal();
    return v / (1 + Math.exp(-v));
  });
  const bound = 1 / Math.sqrt(9 * cin); // PyTorch's default Conv2d init
  const per = 9 * cin;
  const w = new Float64Array(cout * per);
  for (let o = 0; o < cout; o++) {
    const row = Float64Array.from({ length: per }, () => (2 * rnd() - 1) * bound);
    const scale = row.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127;
    for (let i = 0; i < per; i++) w[o * per + i] = Math.round(row[i]! / scale) * scale;
  }
  return { size, cin, cout, x, w };
}

/** 3x3 SAME convolution of (possibly quantized) im2col rows: rows(p) gives the 9·cin inputs of output pixel p. */
function direct(layer: Layer, activationBits?: number): Float64Array {
  const { size, cin, cout, x, w } = layer;
  const out = new Float64Array(size * size * cout);
  const row = new Float64Array(9 * cin);
  for (let y = 0; y < size; y++) {
    for (let xx = 0; xx < size; xx++) {
      row.fill(0);
      for (let ky = 0; ky < 3; ky++) {
        for (let kx = 0; kx < 3; kx++) {
          const iy = y + ky - 1, ix = xx + kx - 1;
          if (iy < 0 || iy >= size || ix < 0 || ix >= size) continue;
          row.set(x.subarray((iy * size + ix) * cin, (iy * size + ix + 1) * cin), (ky * 3 + kx) * cin);
        }
      }
      const q = activationBits ? quantized(row, activationBits, false) : row;
      for (let o = 0; o < cout; o++) {
        let s = 0;
        for (let i = 0; i < 9 * cin; i++) s += q[i]! * w[o * 9 * cin + i]!;
        out[(y * size + xx) * cout + o] = s;
      }
    }
  }
  return out;
}

/** Hybrid Winograd: activations and transformed filter quantized as described at the top (undefined bits = float). */
function winograd(layer: Layer, f: WinogradScheme, activationBits?: number, filterBits?: number): Float64Array {
  const { size, cin, cout, x, w } = layer;
  const t = f.m + 2, points = t * t;
  // U[xi][o] over cin, quantized per (point, output channel).
  const u: Float64Array[][] = Array.from({ length: points }, () => Array.from({ length: cout }, () => new Float64Array(cin)));
  for (let o = 0; o < cout; o++) {
    for (let c = 0; c < cin; c++) {
      const g = (ky: number, kx: number) => w[((o * 3 + ky) * 3 + kx) * cin + c]!;
      for (let a = 0; a < t; a++) {
        for (let b = 0; b < t; b++) {
          let s = 0;
          for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) s += f.g[a]![ky]! * g(ky, kx) * f.g[b]![kx]!;
          u[a * t + b]![o]![c] = s;
        }
      }
    }
  }
  const uq = u.map((rows) => rows.map((r) => (filterBits ? quantized(r, filterBits, true) : r)));
  const out = new Float64Array(size * size * cout);
  const tiles = Math.ceil(size / f.m);
  const v = Array.from({ length: points }, () => new Float64Array(cin));
  const input = (iy: number, ix: number, c: number) => (iy < 0 || iy >= size || ix < 0 || ix >= size ? 0 : x[(iy * size + ix) * cin + c]!);
  for (let ty = 0; ty < tiles; ty++) {
    for (let tx = 0; tx < tiles; tx++) {
      for (let c = 0; c < cin; c++) {
        for (let a = 0; a < t; a++) {
          for (let b = 0; b < t; b++) {
            let s = 0;
            for (let i = 0; i < t; i++) for (let j = 0; j < t; j++) s += f.bt[a]![i]! * input(ty * f.m - 1 + i, tx * f.m - 1 + j, c) * f.bt[b]![j]!;
            v[a * t + b]![c] = s;
          }
        }
      }
      const vq = v.map((r) => (activationBits ? quantized(r, activationBits, false) : r));
      const mm = new Float64Array(points);
      for (let o = 0; o < cout; o++) {
        for (let xi = 0; xi < points; xi++) {
          let s = 0;
          for (let c = 0; c < cin; c++) s += vq[xi]![c]! * uq[xi]![o]![c]!;
          mm[xi] = s;
        }
        for (let p = 0; p < f.m; p++) {
          for (let q = 0; q < f.m; q++) {
            const oy = ty * f.m + p, ox = tx * f.m + q;
            if (oy >= size || ox >= size) continue;
            let s = 0;
            for (let a = 0; a < t; a++) for (let b = 0; b < t; b++) s += f.at[p]![a]! * mm[a * t + b]! * f.at[q]![b]!;
            out[(oy * size + ox) * cout + o] = s;
          }
        }
      }
    }
  }
  return out;
}

/** Prints the relative L2 of each hybrid form against the weight-only int8 convolution. */
export function winogradAccuracy(size = 16, cin = 320, cout = 32): void {
  const layer = sdLikeLayer(size, cin, cout);
  const ref = direct(layer);
  console.log(`\nHybrid int8 3x3 convolution, float64 simulation at ${size}x${size}x${cin} -> ${cout} channels (SD-like data), relative L2 vs weight-only int8:`);
  const row = (label: string, out: Float64Array) => console.log(`  ${label.padEnd(62)} ${relativeL2(out, ref).toExponential(2)}`);
  for (const bits of [7, 8, 12]) row(`direct, ${bits}-bit rows (9·Cin per output pixel)`, direct(layer, bits));
  for (const f of [F4, F2]) {
    row(`${f.name} float (transform rounding only)`, winograd(layer, f));
    for (const [a, u] of [[7, 8], [8, 8], [undefined, 8], [12, 12], [14, 14]] as const) {
      row(`${f.name} ${a ? `${a}-bit` : 'float'} transformed rows, ${u}-bit transformed filter`, winograd(layer, f, a, u));
    }
  }
}
