/**
 * CONV_2D on the WebAssembly GEMM, until dedicated convolution kernels
 * land: a 1x1 stride-1 filter is one GEMM over the NHWC image as [N·H·W, C]
 * rows; any other ungrouped filter (stride, dilation, SAME/VALID) gathers
 * chunks of output positions into im2col rows [kh·kw·C] in scratch memory
 * (at most CHUNK_BYTES at a time, so large images need no large buffer) and
 * multiplies each chunk. The OHWI filter [O, kh, kw, I] is the GEMM's [N, K]
 * weights as stored, packed once.
 */
import { windowAxis } from '../../../kernels/reference/padding.js';
import { gemm } from '../../../kernels/wasm/gemm.js';
import { packGemmWeights, type PackedGemm } from '../../../kernels/wasm/gemm-pack.js';
import type { KernelRuntime } from '../../../kernels/wasm/runtime.js';
import { input, optionsOf, output } from '../node-access.js';
import type { KernelOverride, Node } from '../op.js';
import { CLAMPS, gemmWeights, pointer } from './operands.js';

/** Scratch for one chunk of im2col rows. */
const CHUNK_BYTES = 8 << 20;

/** Writes im2col rows [first, first + rows) of the output positions into `col`. */
function im2col(node: Node, x: Float32Array, col: Float32Array, first: number, rows: number): void {
  const o = optionsOf(node, 'CONV_2D');
  const [, inH, inW, c] = input(node, 0).shape as [number, number, number, number];
  const [, kh, kw] = input(node, 1).shape as [number, number, number];
  const [, outH, outW] = output(node).shape as [number, number, number];
  const top = windowAxis(o.padding, inH, kh, o.strideH, o.dilationHFactor).before;
  const left = windowAxis(o.padding, inW, kw, o.strideW, o.dilationWFactor).before;
  let at = 0;
  for (let r = first; r < first + rows; r++) {
    const b = Math.floor(r / (outH * outW));
    const oy = Math.floor(r / outW) % outH;
    const ox = r % outW;
    for (let ky = 0; ky < kh; ky++) {
      const iy = oy * o.strideH - top + ky * o.dilationHFactor;
      for (let kx = 0; kx < kw; kx++) {
        const ix = ox * o.strideW - left + kx * o.dilationWFactor;
        if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) col.fill(0, at, at + c);
        else {
          const from = ((b * inH + iy) * inW + ix) * c;
          col.set(x.subarray(from, from + c), at);
        }
        at += c;
      }
    }
  }
}

export function wasmConv2d(runtime: KernelRuntime): KernelOverride {
  return {
    supports(node) {
      const o = optionsOf(node, 'CONV_2D');
      const w = node.inputs[1];
      const x = input(node, 0);
      const bias = node.inputs[2];
      return w !== undefined && w.shape[3] === x.shape[3] && !x.isConstant && o.fusedActivationFunction in CLAMPS
        && w.constant !== undefined && gemmWeights(w.constant, w.shape[0]!) !== undefined && (!bias || bias.isConstant);
    },
    prepare(node) {
      if (node.kernelState) return;
      const w = input(node, 1);
      const [units, kh, kw, depth] = w.shape as [number, number, number, number];
      const bias = node.inputs[2]?.constant?.float32();
      node.kernelState = packGemmWeights(runtime.arena, { ...gemmWeights(w.constant!, units)!, k: kh * kw * depth, n: units, layout: 'nk', bias });
    },
    run(node) {
      const o = optionsOf(node, 'CONV_2D');
      const packed = node.kernelState as PackedGemm;
      const clamp = CLAMPS[o.fusedActivationFunction as 'NONE'];
      const x = input(node, 0);
      const out = output(node);
      const [, kh, kw] = input(node, 1).shape as [number, number, number];
      const xPtr = pointer(runtime, x);
      const outPtr = pointer(runtime, out);
      const positions = out.size / packed.n;
      if (kh === 1 && kw === 1 && o.strideH === 1 && o.strideW === 1) {
        gemm(runtime, packed, { a: xPtr, c: outPtr, m: positions, clamp });
        return;
      }
      const chunk = Math.max(1, Math.min(positions, Math.floor(CHUNK_BYTES / (packed.k * 4))));
      const mark = runtime.arena.top;
      try {
        const colPtr = runtime.arena.alloc(chunk * packed.k * 4, 64);
        // Views after the allocation: it may have grown the memory.
        const xs = runtime.arena.f32(xPtr, x.size);
        const col = runtime.arena.f32(colPtr, chunk * packed.k);
        for (let first = 0; first < positions; first += chunk) {
          const rows = Math.min(chunk, positions - first);
          im2col(node, xs, col, first, rows);
          gemm(runtime, packed, { a: colPtr, c: outPtr + first * packed.n * 4, m: rows, clamp });
        }
      } finally {
        runtime.arena.reset(mark);
      }
    },
  };
}
