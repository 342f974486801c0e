/**
 * The plain TypeScript GEMM weight packer that src/kernels/wasm/gemm-pack.ts
 * ran on the main thread before the WebAssembly packing kernel
 * (assembly/gemm-pack.ts): the tests' reference for that kernel, and the
 * baseline of bench/kernels/pack.ts. Writes the panels of B (ceil(n / 8)
 * panels of k rows x 8 floats, zeros past N) into `out`.
 */
import type { GemmWeights } from '../../src/kernels/wasm/gemm-pack.js';

let halfTable: Float32Array | undefined;

/** float32 value of every half-precision bit pattern. */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    let value: number;
    if (exponent === 0) value = mantissa * 2 ** -24;
    else if (exponent === 31) value = mantissa ? NaN : Infinity;
    else value = (1 + mantissa / 1024) * 2 ** (exponent - 15);
    halfTable[h] = sign * value;
  }
  return halfTable;
}

/** One tight loop per encoding; int8 products are doubles rounded once by the float32 store. */
export function referencePackPanels(w: GemmWeights, out: Float32Array): void {
  const { k, n } = w;
  const kStride = w.layout === 'nk' ? 1 : n;
  const colStride = w.layout === 'nk' ? k : 1;
  const panels = Math.ceil(n / 8);
  for (let p = 0; p < panels; p++) {
    const base = p * k * 8;
    for (let j = 0; j < 8; j++) {
      const col = p * 8 + j;
      const first = col * colStride;
      if (col >= n) {
        for (let kk = 0, o = base + j; kk < k; kk++, o += 8) out[o] = 0;
        continue;
      }
      switch (w.dtype) {
        case 'float32': {
          const d = w.data;
          for (let kk = 0, i = first, o = base + j; kk < k; kk++, i += kStride, o += 8) out[o] = d[i]!;
          break;
        }
        case 'float16': {
          const d = w.data;
          const table = halfToFloatTable();
          for (let kk = 0, i = first, o = base + j; kk < k; kk++, i += kStride, o += 8) out[o] = table[d[i]!]!;
          break;
        }
        case 'int8': {
          const d = w.data;
          const scale = w.scales[w.scales.length === 1 ? 0 : col]!;
          for (let kk = 0, i = first, o = base + j; kk < k; kk++, i += kStride, o += 8) out[o] = d[i]! * scale;
          break;
        }
      }
    }
  }
}
